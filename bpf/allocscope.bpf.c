// SPDX-License-Identifier: GPL-2.0-only
/*
 * allocscope.bpf.c - byte-sampling allocation tracer.
 *
 * Every traced allocator call traps into the kernel; that trap is the cost
 * we cannot avoid. Everything else is arranged so that an unsampled call
 * costs one task-storage lookup and one subtraction:
 *
 *  - alloc_session runs at the entry of malloc, calloc, realloc, ... through
 *    a uprobe session (Linux 6.13+). It counts the requested bytes down on a
 *    per-thread countdown and returns 1 for unsampled calls, so the kernel
 *    does not even hijack the return address (no second trap). Sampled calls
 *    return 0 and the same program runs again at the return, where the
 *    pointer and a clean caller context (registers, stack) are available.
 *  - alloc_enter/alloc_exit are the same logic as a classic uprobe and
 *    uretprobe pair, for kernels without sessions.
 *  - free_enter looks the pointer up in the live map of sampled pointers;
 *    a miss is the whole cost for unsampled pointers.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "allocscope.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u32 self_tgid;
const volatile bool track_frees = true;
/* Stack bytes copied per sample for DWARF unwinding: 0, or 8 KiB..32 KiB in pages. */
const volatile __u32 stack_copy_bytes;
/* Someone reads the "seen" ring (the daemon). */
const volatile bool announce_seen;


/* Changed by user space at run time. */
__u64 sample_rate = AS_DEFAULT_RATE;
/*
 * Bumped by user space whenever sample_rate or proc_rates changes: a
 * thread looks its process's rate up again only then, so the unsampled
 * path pays one load and compare for per-process rates.
 */
__u64 rate_gen = 1;
__u64 sample_seq;
/* Count only processes in the targets map (the daemon's --targets). */
__u32 filter_tgids;

struct tstate {
	__s64 left;		/* bytes until the next sample */
	__u64 rate;		/* mean the countdown was drawn with; 0: none yet */
	__u64 gen;		/* rate_gen when want was looked up */
	__u64 want;		/* this process's rate: its own, or sample_rate */
	/*
	 * The allocator call this thread is inside of, if it is one that may
	 * call another allocator entry point (glibc's realloc(NULL, n)
	 * tail-jumps to malloc; memalign with a small alignment calls malloc;
	 * reallocarray tail-jumps to realloc). outer_ret is the return address
	 * the call left at outer_sp: while it is still there, the call has not
	 * returned (or the kernel's return trampoline, see nested()).
	 */
	__u64 outer_sp;
	__u64 outer_ret;
	__u64 outer_ip;		/* its probe's address: which function */
	/* The call whose return we asked for, identified by its stack pointer. */
	__u32 pend_fn;
	__u64 pend_sp;
	__u64 pend_ip;		/* entry address of the allocator function */
	__u64 pend_size;
	__u64 pend_rate;	/* 0: not sampled (only the old block matters) */
	__u64 pend_memptr;	/* posix_memalign's void ** */
	__u64 pend_old;		/* realloc's old pointer, if it was sampled */
	struct as_live_val pend_old_val;
	/*
	 * The caller's registers as they will be at the return: its return
	 * address and stack pointer, and the callee-saved registers (intact
	 * across the call by the ABI). A sample taken at the entry (its
	 * return is not probed) is unwound from these.
	 */
	__u64 pend_regs[AS_NR_UNWIND_REGS];
	/* The last provisional sample (see emit_regs_sample()), while it may throw. */
	__u64 prov_seq;
	__u64 prov_sp;
	__u64 prov_ret;
	__u64 woke_exec;	/* 1 + the exec whose first sample woke the reader */
	/* Traced calls not yet added to the process's "calls" entry. */
	__u64 calls_alloc;
	__u64 calls_free;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tstate);
} tstates SEC(".maps");

/*
 * A sample is assembled here and copied into the ring buffer at its real
 * length: a reserved record would have to be as large as the deepest stack
 * (127 frames, ~1 KiB) while most are 10 frames deep. Per task, not per
 * CPU: a uprobe program can be preempted, and another one on the same CPU
 * would write over a per-CPU buffer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct as_alloc_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);	/* set by user space */
	__type(key, struct as_live_key);
	__type(value, struct as_live_val);
} live SEC(".maps");

/*
 * Processes whose allocator may unwind inside its calls (its profiler is
 * on, or unwind_enter caught one doing it): their returns are never
 * hijacked. Set by user space and by unwind_enter.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} noret_tgids SEC(".maps");

/* Sample weight the ring buffer had no room for (struct as_ovf_key). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct as_ovf_key);
	__type(value, struct as_ovf_val);
} ovf SEC(".maps");

/* Their frame-pointer stacks, deduplicated by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, AS_OVF_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, AS_MAX_STACK * sizeof(__u64));
} stacks SEC(".maps");

/* Frees of delivered samples the ring buffer had no room for: seq -> tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} lost_frees SEC(".maps");

/*
 * Processes sampled at a rate of their own: the daemon sheds load by
 * raising the rate of the heaviest ones (each sample carries its rate,
 * so estimates stay unbiased).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_MAX_SHED_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} proc_rates SEC(".maps");

/* Processes to count when filter_tgids; children inherit it at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* set by user space */
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* Traced calls per process (what the host pays for tracing it), by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* set by user space */
	__type(key, __u32);
	__type(value, struct as_calls);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* set by user space */
} events SEC(".maps");

/*
 * Exec and exit events, apart from the samples: a reader that drains
 * samples a bounded amount per turn reads these first, so that a new
 * process becomes a target before it is gone.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} procs SEC(".maps");

/*
 * A thread's first sample in its image, announced apart from the samples:
 * a reader that lags behind "events" (busy exporting) would find a short
 * process gone before it could read its mappings. Another thread reads
 * this one and keeps them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

/*
 * Adds a thread's traced calls to its process's entry in "calls". Rare (a
 * sample, every AS_CALLS_FOLD calls, the thread's exit), so that the
 * unsampled path only increments a counter in the state it has at hand.
 * Only processes that count are folded (frees are counted before anyone
 * asks). A full map keeps the calls in the thread until its exit.
 */
static __always_inline void fold_calls(struct tstate *t, __u32 tgid, bool exiting)
{
	struct as_calls *c, zero = {};
	struct task_struct *task;

	if (!t->calls_alloc && !t->calls_free)
		return;
	if (tgid == self_tgid || (filter_tgids && !bpf_map_lookup_elem(&targets, &tgid)))
		goto done;
	c = bpf_map_lookup_elem(&calls, &tgid);
	if (!c) {
		bpf_map_update_elem(&calls, &tgid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&calls, &tgid);
	}
	if (!c) {
		if (!exiting)
			return;	/* kept: tried again at the next fold */
		stat_add(AS_STAT_DROP_CALLS, t->calls_alloc + t->calls_free);
		goto done;
	}
	__sync_fetch_and_add(&c->allocs, t->calls_alloc);
	__sync_fetch_and_add(&c->frees, t->calls_free);
	/* the process's name, not the thread's; it changes at exec */
	task = bpf_get_current_task_btf();
	BPF_CORE_READ_STR_INTO(&c->comm, task, group_leader, comm);
done:
	t->calls_alloc = 0;
	t->calls_free = 0;
}

static __always_inline void count_call(struct tstate *t, __u32 tgid, bool is_free)
{
	if (is_free)
		t->calls_free++;
	else
		t->calls_alloc++;
	/* every AS_CALLS_FOLD calls, even while a full map keeps them here */
	if (!((t->calls_alloc + t->calls_free) % AS_CALLS_FOLD))
		fold_calls(t, tgid, false);
}

/* Wake the reader only when the ring is filling up: it polls anyway. */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	return avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void announce(__u32 tgid)
{
	struct as_proc_event e = { .type = AS_EV_SEEN, .tgid = tgid };

	if (announce_seen && bpf_ringbuf_output(&seen, &e, sizeof(e), BPF_RB_FORCE_WAKEUP))
		stat_inc(AS_STAT_DROP_SEEN_RINGBUF);
}

/*
 * And for a thread's first sample in its current image: user space reads
 * a new process's mappings then, while it still lives. Per exec, since
 * task storage outlives it: a fork child's first samples come before its
 * exec, and the image that matters comes after.
 */
static __always_inline __u64 sample_wakeup(struct tstate *t, __u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 exec = BPF_CORE_READ(task, self_exec_id) + 1;

	if (t->woke_exec != exec) {
		t->woke_exec = exec;
		announce(tgid);
		return BPF_RB_FORCE_WAKEUP;
	}
	return wakeup_flags();
}

/* The mean gap this thread's process is sampled at now. */
static __always_inline __u64 proc_rate(struct tstate *t, __u32 tgid)
{
	__u64 gen = rate_gen, *r;

	if (t->gen != gen) {
		r = bpf_map_lookup_elem(&proc_rates, &tgid);
		t->want = r ? *r : sample_rate;
		t->gen = gen;
	}
	return t->want;
}

/* Decrement the countdown by one call's bytes; true if the call is sampled. */
static __always_inline bool countdown(struct tstate *t, __u64 size, __u64 rate)
{
	if (rate <= 1)
		return true;	/* exact mode: every call */
	if (t->rate != rate) {
		/* a fresh draw for a new thread or a new rate (memoryless) */
		t->rate = rate;
		t->left = as_exp_gap(bpf_get_prandom_u32(), as_rate_k(rate));
	}
	/* Zero-byte calls still make an object: sample them as one byte. */
	if (size == 0)
		size = 1;
	if (size > (1ULL << 62))
		size = 1ULL << 62;
	t->left -= (__s64)size;
	if (t->left >= 0)
		return false;
	t->left = as_exp_gap(bpf_get_prandom_u32(), as_rate_k(rate));
	return true;
}

/*
 * Where a return address goes when the kernel hijacks it for a return
 * probe: uprobe_get_trampoline_vaddr() in kernel/events/uprobes.c.
 */
static __always_inline __u64 uretprobe_trampoline(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
}

/*
 * Is this call made from inside the outer allocator call recorded in t?
 * A deeper stack pointer with the outer call's return address still in
 * place means the outer call has not returned yet. A tail call arrives
 * with the very same stack pointer and return address, but in another
 * function (jemalloc's new[] jumps to its new, both probed): the same
 * function there is the next call from the same site.
 *
 * The slot holds the kernel's return trampoline instead when a return
 * probe hijacked it: ours (a watched call, or every call with classic
 * uretprobes), or another session on the same uprobe, since the kernel
 * skips the hijack only when every consumer's entry asks it to.
 */
static __always_inline bool nested(struct tstate *t, __u64 sp, __u64 ip)
{
	__u64 ret = 0;

	if (sp < t->outer_sp || (sp == t->outer_sp && ip != t->outer_ip)) {
		if (!bpf_probe_read_user(&ret, sizeof(ret), (void *)t->outer_sp) &&
		    (ret == t->outer_ret || ret == uretprobe_trampoline()))
			return true;
	}
	t->outer_sp = 0;
	return false;
}

static __always_inline bool may_nest(__u32 fn)
{
	return fn == AS_FN_REALLOC || fn == AS_FN_REALLOCARRAY ||
	       fn == AS_FN_POSIX_MEMALIGN || fn == AS_FN_ALIGNED_ALLOC ||
	       fn == AS_FN_VALLOC || fn == AS_FN_PVALLOC || fn == AS_FN_NEW;
}

/*
 * n * m, or ~0 on overflow (the call fails and counts nothing). Written
 * with 32-bit limbs: clang turns "m > ~0 / n" into a 128-bit multiply that
 * the BPF backend cannot emit.
 */
static __always_inline __u64 mul_size(__u64 n, __u64 m)
{
	__u64 n1 = n >> 32, m1 = m >> 32, cross, lo, prod;

	if (n1 && m1)
		return ~0ULL;
	cross = n1 * (m & 0xffffffffULL) + m1 * (n & 0xffffffffULL);
	if (cross >> 32)
		return ~0ULL;
	lo = (n & 0xffffffffULL) * (m & 0xffffffffULL);
	prod = (cross << 32) + lo;
	return prod < lo ? ~0ULL : prod;
}

/* Requested bytes of a call, and the block it reallocates (if any). */
static __always_inline __u64 call_size(struct pt_regs *ctx, __u32 fn, __u64 *old)
{
	switch (fn) {
	case AS_FN_MALLOC:
	case AS_FN_VALLOC:
	case AS_FN_NEW:
		return PT_REGS_PARM1(ctx);
	case AS_FN_PVALLOC:
		return (PT_REGS_PARM1(ctx) + AS_PAGE_SIZE - 1) & ~(__u64)(AS_PAGE_SIZE - 1);
	case AS_FN_CALLOC:
		return mul_size(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
	case AS_FN_REALLOC:
		*old = PT_REGS_PARM1(ctx);
		return PT_REGS_PARM2(ctx);
	case AS_FN_REALLOCARRAY:
		*old = PT_REGS_PARM1(ctx);
		return mul_size(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
	case AS_FN_POSIX_MEMALIGN:
		return PT_REGS_PARM3(ctx);
	case AS_FN_ALIGNED_ALLOC:
		return PT_REGS_PARM2(ctx);
	}
	return ~0ULL;
}

/* One more sample (or free) of k's weight in the overflow map. */
static __always_inline void ovf_add(const struct as_ovf_key *k, bool freed)
{
	struct as_ovf_val zero = {}, *v;

	v = bpf_map_lookup_elem(&ovf, k);
	if (!v) {
		bpf_map_update_elem(&ovf, k, &zero, BPF_NOEXIST);	/* or a racer did */
		v = bpf_map_lookup_elem(&ovf, k);
	}
	if (!v) {
		stat_inc(AS_STAT_DROP_OVERFLOW);
		return;
	}
	__sync_fetch_and_add(freed ? &v->frees : &v->allocs, 1);
}

static __always_inline void emit_free(__u32 tgid, __u64 seq, __u64 ptr)
{
	struct as_free_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		/* user space still subtracts it, later: never a live block that is not */
		if (bpf_map_update_elem(&lost_frees, &seq, &tgid, BPF_ANY)) {
			stat_inc(AS_STAT_DROP_FREE_RINGBUF);
			stat_inc(AS_STAT_DROP_OVERFLOW);
		} else {
			stat_inc(AS_STAT_OVERFLOW_FREE);
		}
		return;
	}
	e->type = AS_EV_FREE;
	e->tgid = tgid;
	e->seq = seq;
	e->ptr = ptr;
	bpf_ringbuf_submit(e, wakeup_flags());
	stat_inc(AS_STAT_FREES);
}

/* A tracked block went: its sample's weight leaves inuse, wherever it went. */
static __always_inline void free_sample(__u32 tgid, const struct as_live_val *v, __u64 ptr)
{
	struct as_ovf_key k = { .tgid = tgid, .stack = v->ovf_stack, .fn = v->ovf_fn,
				.ret = v->ovf_ret, .size = v->size, .rate = v->rate };

	if (v->seq)
		emit_free(tgid, v->seq, ptr);
	else
		ovf_add(&k, true);
}

/*
 * realloc moves a sampled block: take it out of the live set now, before
 * the allocator can hand the address to another thread, and decide at the
 * return whether it was freed (success) or is still live (failure).
 */
static __always_inline bool take_old(struct tstate *t, __u32 tgid, __u64 old)
{
	struct as_live_key key = { .tgid = tgid, .ptr = old };
	struct as_live_val *v;

	if (!track_frees || !old)
		return false;
	v = bpf_map_lookup_elem(&live, &key);
	if (!v)
		return false;
	t->pend_old_val = *v;
	if (bpf_map_delete_elem(&live, &key))
		return false;
	t->pend_old = old;
	return true;
}

static __always_inline void settle_old(struct tstate *t, __u32 tgid, __u64 ptr)
{
	struct as_live_key key = { .tgid = tgid, .ptr = t->pend_old };

	if (!ptr && t->pend_size) {
		/* realloc failed: the old block is still there */
		bpf_map_update_elem(&live, &key, &t->pend_old_val, BPF_ANY);
	} else {
		free_sample(tgid, &t->pend_old_val, t->pend_old);
	}
	t->pend_old = 0;
}

/* Tracks the sampled pointer for inuse; false if the live map is full. */
static __always_inline bool track(__u32 tgid, __u64 ptr, const struct as_alloc_event *e)
{
	struct as_live_key key = { .tgid = tgid, .ptr = ptr };
	struct as_live_val val, *stale;

	/* An address already in the set was freed where we could not see it. */
	stale = bpf_map_lookup_elem(&live, &key);
	if (stale)
		free_sample(tgid, stale, ptr);
	__builtin_memset(&val, 0, sizeof(val));
	val.seq = e->seq;
	val.size = e->size;
	val.rate = e->rate;
	if (bpf_map_update_elem(&live, &key, &val, BPF_ANY)) {
		stat_inc(AS_STAT_DROP_LIVE_FULL);
		return false;
	}
	return true;
}

/* The sample's header: what the entry recorded, and the process's image. */
static __always_inline void fill_head(struct tstate *t, __u64 pid_tgid, __u64 ptr,
				      struct as_alloc_event *e)
{
	struct task_struct *task;

	e->type = AS_EV_ALLOC;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->fn = t->pend_fn;
	e->seq = __sync_fetch_and_add(&sample_seq, 1) + 1;
	e->ts = bpf_ktime_get_ns();
	e->size = t->pend_size;
	e->ptr = ptr;
	e->rate = t->pend_rate;
	e->alloc_ip = t->pend_ip;
	task = bpf_get_current_task_btf();
	e->exe_ino = BPF_CORE_READ(task, mm, exe_file, f_inode, i_ino);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
}

/* The sample's header and frame-pointer stack; the caller fills the rest. */
static __always_inline void fill_alloc(struct pt_regs *ctx, struct tstate *t, __u64 pid_tgid,
				       __u64 ptr, struct as_alloc_event *e)
{
	long n;

	fill_head(t, pid_tgid, ptr, e);
	/* At the return the caller's frame is intact: ips[0] is the caller. */
	n = bpf_get_stack(ctx, e->ips, sizeof(e->ips), BPF_F_USER_STACK);
	if (n <= 0) {
		stat_inc(AS_STAT_STACK_ERR);
		e->ips[0] = PT_REGS_IP(ctx);
		n = sizeof(e->ips[0]);
	}
	e->nr_ips = n / sizeof(e->ips[0]);
	/* The pointer is not the caller's yet: no free can race this. */
	if (track_frees && !track(e->tgid, ptr, e))
		e->fn |= AS_EVF_UNTRACKED;
}

/*
 * The ring buffer is full: the sample's weight goes to the overflow map
 * with a frame-pointer stack, and its live block with it (seq 0), so that
 * its free is subtracted there too. ret: the caller, for a sample taken at
 * the entry (the kernel's walk from there starts in the allocator and
 * skips it). No weight is lost unless that map is full too.
 */
static __always_inline void overflow(struct pt_regs *ctx, struct tstate *t, __u32 tgid,
				     __u64 ptr, __u64 ret)
{
	struct as_ovf_key k = { .tgid = tgid, .fn = t->pend_fn, .ret = ret,
				.size = t->pend_size, .rate = t->pend_rate };
	struct as_live_key lk = { .tgid = tgid, .ptr = ptr };
	struct as_live_val lv = { .size = k.size, .rate = k.rate, .ovf_ret = ret };

	k.stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (k.stack < 0) {
		k.stack = -1;
		stat_inc(AS_STAT_OVERFLOW_NOSTACK);
	}
	ovf_add(&k, false);
	stat_inc(AS_STAT_OVERFLOW);
	if (!track_frees || !ptr)
		return;
	lv.ovf_stack = k.stack;
	lv.ovf_fn = k.fn;
	if (bpf_map_update_elem(&live, &lk, &lv, BPF_ANY))
		stat_inc(AS_STAT_DROP_LIVE_FULL);
}

/* A frame-pointer sample: built per task, sent at its length. */
static __always_inline void emit_alloc(struct pt_regs *ctx, struct tstate *t,
				       __u64 pid_tgid, __u64 ptr)
{
	struct as_alloc_event *e;
	__u64 len;

	e = bpf_task_storage_get(&scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		overflow(ctx, t, pid_tgid >> 32, ptr, 0);
		return;
	}
	fill_alloc(ctx, t, pid_tgid, ptr, e);
	len = AS_ALLOC_EVENT_SIZE((__u64)e->nr_ips);
	if (len > sizeof(*e))
		len = sizeof(*e);	/* a bound the verifier can see */
	if (bpf_ringbuf_output(&events, e, len, sample_wakeup(t, pid_tgid >> 32))) {
		overflow(ctx, t, pid_tgid >> 32, e->fn & AS_EVF_UNTRACKED ? 0 : ptr, 0);
		return;
	}
	stat_inc(AS_STAT_SAMPLES);
}

/*
 * Copies the stack from sp up, page by page: bpf_probe_read_user() fails
 * whole on a fault, and the stack's mapping ends on a page boundary, so
 * the first failing page is where it ends. Returns the bytes from sp.
 */
static __always_inline __u32 copy_stack(struct as_stack_copy *c, __u64 sp)
{
	__u64 page = sp & ~(__u64)(AS_PAGE_SIZE - 1), off;
	__u32 skip = sp & (AS_PAGE_SIZE - 1);
	int i;

	c->skip = skip;
	if (bpf_probe_read_user(c->data + skip, AS_PAGE_SIZE - skip, (void *)sp))
		return 0;
	for (i = 1; i < AS_MAX_STACK_COPY / AS_PAGE_SIZE; i++) {
		off = (__u64)i * AS_PAGE_SIZE;
		if (off > stack_copy_bytes - AS_PAGE_SIZE)
			break;
		if (bpf_probe_read_user(c->data + off, AS_PAGE_SIZE, (void *)(page + off)))
			break;
	}
	return i * AS_PAGE_SIZE - skip;
}

/* Fills a stack copy from registers as they are (or will be) at a return. */
static __always_inline void fill_copy(struct as_stack_copy *c, const __u64 *regs)
{
	int i;

	for (i = 0; i < AS_NR_UNWIND_REGS; i++)
		c->regs[i] = regs[i];
	c->len = copy_stack(c, regs[AS_REG_SP]);
}

/* A sample for DWARF unwinding: registers and the top of the stack too. */
static __always_inline void emit_alloc_copy(struct pt_regs *ctx, struct tstate *t,
					    __u64 pid_tgid, __u64 ptr)
{
	__u64 regs[AS_NR_UNWIND_REGS];
	struct as_alloc_event *e;
	struct as_stack_copy *c;

	e = bpf_ringbuf_reserve(&events, sizeof(*e) + sizeof(*c) + stack_copy_bytes, 0);
	if (!e) {
		/* a smaller record still fits, with frame pointers only */
		stat_inc(AS_STAT_SMALL_RECORD);
		emit_alloc(ctx, t, pid_tgid, ptr);
		return;
	}
	fill_alloc(ctx, t, pid_tgid, ptr, e);
	e->fn |= AS_EVF_STACK;
	c = (void *)(e + 1);
	regs[AS_REG_IP] = PT_REGS_IP(ctx);
	regs[AS_REG_SP] = PT_REGS_SP(ctx);
	regs[AS_REG_BP] = ctx->bp;
	regs[AS_REG_BX] = ctx->bx;
	regs[AS_REG_R12] = ctx->r12;
	regs[AS_REG_R13] = ctx->r13;
	regs[AS_REG_R14] = ctx->r14;
	regs[AS_REG_R15] = ctx->r15;
	fill_copy(c, regs);
	bpf_ringbuf_submit(e, sample_wakeup(t, pid_tgid >> 32));
	stat_inc(AS_STAT_SAMPLES);
}

/* The caller's frame-pointer stack, from its registers at the return. */
static __always_inline __u16 fp_walk(__u64 *ips, const __u64 *regs)
{
	__u64 bp = regs[AS_REG_BP], frame[2];
	__u16 n = 1;
	int i;

	ips[0] = regs[AS_REG_IP];
	for (i = 1; i < AS_MAX_STACK; i++) {
		if (!bp || (bp & 7) || bpf_probe_read_user(frame, sizeof(frame), (void *)bp) ||
		    !frame[1])
			break;
		ips[i] = frame[1];
		n = i + 1;
		if (frame[0] <= bp)
			break;
		bp = frame[0];
	}
	return n;
}

/*
 * A sample from the registers saved at the entry (t->pend_regs), without
 * a pointer: in alloc_*, not in inuse_*. A provisional one (the call may
 * still throw) is remembered, for unwind_enter to cancel.
 */
static __always_inline void fill_regs_sample(struct tstate *t, __u64 pid_tgid,
					     bool provisional, struct as_alloc_event *e)
{
	fill_head(t, pid_tgid, 0, e);
	e->nr_ips = fp_walk(e->ips, t->pend_regs);
	e->fn |= AS_EVF_UNTRACKED;
	if (provisional) {
		e->fn |= AS_EVF_PROVISIONAL;
		t->prov_seq = e->seq;
		t->prov_sp = t->pend_sp;
		t->prov_ret = t->pend_regs[AS_REG_IP];
	}
	stat_inc(AS_STAT_NORET);
	stat_inc(AS_STAT_SAMPLES);
}

static __always_inline void emit_regs_sample(struct pt_regs *ctx, struct tstate *t,
					     __u64 pid_tgid, bool provisional)
{
	__u64 wake = sample_wakeup(t, pid_tgid >> 32);
	struct as_alloc_event *e;

	if (stack_copy_bytes) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e) + sizeof(struct as_stack_copy) +
					stack_copy_bytes, 0);
		if (e) {
			fill_regs_sample(t, pid_tgid, provisional, e);
			e->fn |= AS_EVF_STACK;
			fill_copy((void *)(e + 1), t->pend_regs);
			bpf_ringbuf_submit(e, wake);
			return;
		}
		/* a smaller record still fits, with frame pointers only */
		stat_inc(AS_STAT_SMALL_RECORD);
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_regs_sample(t, pid_tgid, provisional, e);
		bpf_ringbuf_submit(e, wake);
		return;
	}
	/* a provisional one cannot be cancelled there: it is counted */
	overflow(ctx, t, pid_tgid >> 32, 0, t->pend_regs[AS_REG_IP]);
}

/* What the caller's registers will be at the return (see struct tstate). */
static __always_inline void save_regs(struct pt_regs *ctx, struct tstate *t)
{
	__u64 sp = PT_REGS_SP(ctx);

	if (bpf_probe_read_user(&t->pend_regs[AS_REG_IP], sizeof(__u64), (void *)sp))
		t->pend_regs[AS_REG_IP] = 0;
	t->pend_regs[AS_REG_SP] = sp + 8;
	t->pend_regs[AS_REG_BP] = ctx->bp;
	t->pend_regs[AS_REG_BX] = ctx->bx;
	t->pend_regs[AS_REG_R12] = ctx->r12;
	t->pend_regs[AS_REG_R13] = ctx->r13;
	t->pend_regs[AS_REG_R14] = ctx->r14;
	t->pend_regs[AS_REG_R15] = ctx->r15;
}

/*
 * A call whose return must not be hijacked (AS_COOKIE_NORET, or its
 * process in noret_tgids): its sample is taken at the entry, from the
 * caller's registers (intact until the return) and without the pointer,
 * and what it moves is settled now. Returns 1: the return is not probed.
 */
static __always_inline int entry_sample(struct pt_regs *ctx, struct tstate *t)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (t->pend_old) {
		/* realloc nearly always succeeds: its old block is gone */
		free_sample(pid_tgid >> 32, &t->pend_old_val, t->pend_old);
		t->pend_old = 0;
	}
	if (t->pend_rate && t->pend_size >= AS_MAX_ALLOC_SIZE) {
		stat_inc(AS_STAT_FAILED);	/* it cannot succeed */
	} else if (t->pend_rate) {
		save_regs(ctx, t);
		emit_regs_sample(ctx, t, pid_tgid, t->pend_fn == AS_FN_NEW);
	}
	t->pend_fn = 0;
	return 1;
}

/* Entry of an allocation function. Returns 0 to ask for the return. */
static __always_inline int alloc_entry(struct pt_regs *ctx, __u64 cookie)
{
	__u32 fn = AS_COOKIE_FN(cookie);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 sp = PT_REGS_SP(ctx), size, old = 0;
	struct tstate *t;
	bool sampled, moved;
	__u64 rate;

	if (tgid == self_tgid || (filter_tgids && !bpf_map_lookup_elem(&targets, &tgid)))
		return 1;
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t) {
		stat_inc(AS_STAT_DROP_NO_TSTATE);
		return 1;
	}
	count_call(t, tgid, false);
	if (t->outer_sp && nested(t, sp, PT_REGS_IP(ctx))) {
		stat_inc(AS_STAT_NESTED);
		return 1;
	}
	size = call_size(ctx, fn, &old);
	if (size == ~0ULL)
		return 1;
	rate = proc_rate(t, tgid);
	sampled = countdown(t, size, rate);
	/* at --sample-rate 1 every call is a sample: not a fold each */
	if (sampled && t->calls_alloc + t->calls_free >= AS_CALLS_FOLD_SAMPLED)
		fold_calls(t, tgid, false);
	moved = take_old(t, tgid, old);
	if (may_nest(fn) &&
	    !bpf_probe_read_user(&t->outer_ret, sizeof(t->outer_ret), (void *)sp)) {
		t->outer_sp = sp;
		t->outer_ip = PT_REGS_IP(ctx);
	}
	if (!sampled && !moved)
		return 1;

	t->pend_fn = fn;
	t->pend_sp = sp;
	t->pend_ip = PT_REGS_IP(ctx) - AS_COOKIE_DELTA(cookie);
	t->pend_size = size;
	t->pend_rate = sampled ? (rate ?: 1) : 0;
	t->pend_memptr = fn == AS_FN_POSIX_MEMALIGN ? PT_REGS_PARM1(ctx) : 0;
	/* without frees to track, no pointer is needed: no return either */
	if (!track_frees || (cookie & AS_COOKIE_NORET) || bpf_map_lookup_elem(&noret_tgids, &tgid))
		return entry_sample(ctx, t);
	return 0;
}

/* Return of an allocation function whose entry asked for it. */
static __always_inline void alloc_return(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 ptr = PT_REGS_RC(ctx);
	struct tstate *t;

	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, 0);
	if (!t)
		return;
	if (t->outer_sp && PT_REGS_SP(ctx) == t->outer_sp + 8)
		t->outer_sp = 0;	/* the outer call is over */
	if (!t->pend_fn || PT_REGS_SP(ctx) != t->pend_sp + 8)
		return;	/* not the call we asked for */
	if (t->pend_fn == AS_FN_POSIX_MEMALIGN) {
		if ((int)ptr != 0 ||
		    bpf_probe_read_user(&ptr, sizeof(ptr), (void *)t->pend_memptr))
			ptr = 0;
	}
	if (t->pend_old)
		settle_old(t, pid_tgid >> 32, ptr);
	if (t->pend_rate) {
		if (ptr && stack_copy_bytes)
			emit_alloc_copy(ctx, t, pid_tgid, ptr);
		else if (ptr)
			emit_alloc(ctx, t, pid_tgid, ptr);
		else
			stat_inc(AS_STAT_FAILED);
	}
	t->pend_fn = 0;
}

/*
 * Uprobe session (attach type BPF_TRACE_UPROBE_SESSION): one program for
 * entry and return. The session kfuncs changed their prototypes in Linux
 * 7.0, so the return is told apart without them: at the entry the
 * instruction pointer is the probe address, at the return it is the
 * caller's return address.
 */
SEC("uprobe")
int alloc_session(struct pt_regs *ctx)
{
	if (PT_REGS_IP(ctx) != bpf_get_func_ip(ctx)) {
		alloc_return(ctx);
		return 0;
	}
	return alloc_entry(ctx, bpf_get_attach_cookie(ctx));
}

/* Classic uprobe + uretprobe. Perf-event uprobes must return 0. */
SEC("uprobe")
int alloc_enter(struct pt_regs *ctx)
{
	alloc_entry(ctx, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int alloc_exit(struct pt_regs *ctx)
{
	alloc_return(ctx);
	return 0;
}

/* A free is a traced call too: counted in the thread's state (see fold_calls). */
static __always_inline void count_free(__u32 tgid)
{
	struct tstate *t;

	if (tgid == self_tgid)
		return;
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		count_call(t, tgid, true);
}

SEC("uprobe")
int free_enter(struct pt_regs *ctx)
{
	struct as_live_key key = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.ptr = PT_REGS_PARM1(ctx),
	};
	struct as_live_val *v, val;

	count_free(key.tgid);
	v = bpf_map_lookup_elem(&live, &key);
	if (!v)
		return 0;
	val = *v;
	if (bpf_map_delete_elem(&live, &key))
		return 0;	/* a concurrent double free got it first */
	free_sample(key.tgid, &val, key.ptr);
	return 0;
}

/*
 * In-process unwinders. Until a sampled call returns, the kernel keeps its
 * return address replaced by the uretprobe trampoline (prepare_uretprobe()
 * in kernel/events/uprobes.c), where an unwinder finds no unwind info: an
 * exception thrown through it ends in std::terminate, and backtrace(3),
 * libunwind or jemalloc's profiler stop there. The return address cannot
 * be put back for them: bpf_probe_write_user() is refused under kernel
 * lockdown (integrity mode, as on this kernel and on Secure Boot hosts).
 * So the functions that can throw or unwind inside are never hijacked
 * (AS_COOKIE_NORET, noret_tgids), and the unwinders' entry points are
 * probed to finish what that leaves open:
 *  - an exception leaving a provisional sample's call cancels it: nothing
 *    was allocated (operator new threw std::bad_alloc);
 *  - an unwinder running inside a hijacked call means a function we took
 *    for safe is not: counted, and its process is never hijacked again.
 */
static __always_inline bool slot_holds(__u64 slot, __u64 want)
{
	__u64 v;

	return !bpf_probe_read_user(&v, sizeof(v), (void *)slot) && v == want;
}

static __always_inline void emit_cancel(struct tstate *t, __u64 pid_tgid)
{
	struct as_cancel_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(AS_STAT_DROP_CANCEL_RINGBUF);
		return;
	}
	e->type = AS_EV_CANCEL;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->pad = 0;
	e->seq = t->prov_seq;
	bpf_ringbuf_submit(e, wakeup_flags());
	stat_inc(AS_STAT_UNWOUND);
}

SEC("uprobe")
int unwind_enter(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx);
	__u32 tgid = pid_tgid >> 32;
	struct tstate *t;
	__u8 one = 1;

	if (tgid == self_tgid || (filter_tgids && !bpf_map_lookup_elem(&targets, &tgid)))
		return 0;
	t = bpf_task_storage_get(&tstates, bpf_get_current_task_btf(), 0, 0);
	if (!t)
		return 0;
	/* in flight: below its frame, with its return address still in place */
	if (AS_COOKIE_FN(bpf_get_attach_cookie(ctx)) == AS_FN_UNWIND_THROW && t->prov_seq &&
	    sp < t->prov_sp && slot_holds(t->prov_sp, t->prov_ret)) {
		emit_cancel(t, pid_tgid);
		t->prov_seq = 0;
	}
	if (t->pend_fn && sp < t->pend_sp && slot_holds(t->pend_sp, uretprobe_trampoline())) {
		stat_inc(AS_STAT_HIJACK_SEEN);
		bpf_map_update_elem(&noret_tgids, &tgid, &one, BPF_ANY);
	}
	return 0;
}

static __always_inline void emit_proc_to(void *ring, __u32 type, __u32 tgid, __u64 flags,
					 __u32 drop)
{
	struct as_proc_event *e;

	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		stat_inc(drop);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	bpf_ringbuf_submit(e, flags);
}

/*
 * Twice: on "procs", read first, so that the daemon makes a new process a
 * target (and reads its mappings) while it still lives; and among the
 * samples, where it marks which image the samples before and after it
 * belong to.
 */
static __always_inline void emit_proc(__u32 type, __u32 tgid)
{
	if (tgid == self_tgid)
		return;
	emit_proc_to(&procs, type, tgid, BPF_RB_FORCE_WAKEUP, AS_STAT_DROP_PROC_RINGBUF);
	emit_proc_to(&events, type, tgid, wakeup_flags(), AS_STAT_DROP_MARK_RINGBUF);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	emit_proc(AS_EV_EXEC, p->tgid);
	return 0;
}

/* A thread's last calls, before its state goes with it. */
static __always_inline void fold_exiting(struct task_struct *p)
{
	struct tstate *t = bpf_task_storage_get(&tstates, p, 0, 0);

	if (t)
		fold_calls(t, p->tgid, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid;

	fold_exiting(p);
	if (!group_dead)
		return 0;	/* a thread, not the process */
	if (filter_tgids)
		bpf_map_delete_elem(&targets, &tgid);
	bpf_map_delete_elem(&noret_tgids, &tgid);
	/* a reused pid must not inherit a shed rate (its threads look it up afresh) */
	bpf_map_delete_elem(&proc_rates, &tgid);
	emit_proc(AS_EV_EXIT, tgid);
	return 0;
}

/* A child of a target is a target: decided here, before it runs. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (!filter_tgids || ptgid == ctgid || !bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY))
		stat_inc(AS_STAT_DROP_TARGETS_FULL);
	return 0;
}
