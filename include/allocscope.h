/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * allocscope.h - the one header shared by the BPF programs and user space.
 *
 * It holds the ABI between the two sides (map keys and values, ring buffer
 * records, cookies, counters) and the integer exponential draw used by the
 * in-kernel sampler, so that the unit tests check the very code the kernel
 * runs. Fixed-width __u64-style types only: it must compile against both
 * vmlinux.h and <linux/types.h>.
 */
#ifndef ALLOCSCOPE_H
#define ALLOCSCOPE_H

#ifndef __VMLINUX_H__		/* the BPF side has the types from vmlinux.h */
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define AS_MAX_STACK		127	/* = default kernel.perf_event_max_stack */
#define AS_DEFAULT_RATE		524288	/* bytes, like Go's MemProfileRate */
#define AS_MAX_RATE		(1ULL << 40)
#define AS_PAGE_SIZE		4096
#define AS_MAX_STACK_COPY	(32 * 1024)	/* bytes of user stack per sample, at most */
#define AS_DEFAULT_STACK_COPY	(16 * 1024)
#define AS_MAX_SHED_PROCS	1024	/* processes with a rate of their own, at most */

/*
 * What a probe point is. The low byte of each uprobe's cookie; the next
 * byte is how far the probe sits past the function entry (it is moved past
 * instructions the kernel would single-step, see src/attach.c).
 */
enum as_fn {
	AS_FN_NONE = 0,
	AS_FN_MALLOC,		/* (size) */
	AS_FN_CALLOC,		/* (n, size) */
	AS_FN_REALLOC,		/* (ptr, size) */
	AS_FN_REALLOCARRAY,	/* (ptr, n, size) */
	AS_FN_POSIX_MEMALIGN,	/* (void **memptr, align, size) -> int */
	AS_FN_ALIGNED_ALLOC,	/* (align, size): aligned_alloc, memalign */
	AS_FN_VALLOC,		/* (size) */
	AS_FN_PVALLOC,		/* (size), rounded up to a page */
	AS_FN_NEW,		/* operator new and new[] (size, ...) */
	AS_FN_FREE,		/* free, cfree, operator delete (ptr, ...) */
	/*
	 * In-process unwinders (see unwind_enter in the BPF code): one that
	 * raises an exception, which ends the frames it crosses, and one that
	 * only walks the stack, after which the calls below it go on.
	 */
	AS_FN_UNWIND_THROW,	/* _Unwind_RaiseException, _Unwind_ForcedUnwind, ... */
	AS_FN_UNWIND_WALK,	/* _Unwind_Backtrace, backtrace(3), unw_init_local, ... */
	AS_FN_MAX,
};

#define AS_COOKIE(fn, delta)	((__u64)(fn) | ((__u64)(delta) << 8))
#define AS_COOKIE_FN(c)		((__u32)((c) & 0xff))
#define AS_COOKIE_DELTA(c)	((__u32)(((c) >> 8) & 0xff))
/*
 * The function's return must never be hijacked: it can throw (operator
 * new), or unwind inside (an unknown malloc, an allocator's profiler).
 * Its samples are taken at the entry and carry no pointer.
 */
#define AS_COOKIE_NORET		(1ULL << 16)

/* No allocation this large can succeed: the user address space is 2^47. */
#define AS_MAX_ALLOC_SIZE	(1ULL << 47)

enum as_event_type {
	AS_EV_ALLOC = 1,	/* struct as_alloc_event */
	AS_EV_FREE,		/* struct as_free_event */
	AS_EV_EXEC,		/* struct as_proc_event: a process exec'ed */
	AS_EV_EXIT,		/* struct as_proc_event: a process exited */
	AS_EV_SEEN,		/* struct as_proc_event, on "seen": a first sample */
	AS_EV_CANCEL,		/* struct as_cancel_event: a provisional sample threw */
};

/*
 * A sample taken at the entry of a call that may still throw (operator
 * new) is provisional: this follows it if an exception left the call, and
 * then nothing was allocated.
 */
struct as_cancel_event {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u32 pad;
	__u64 seq;
};

/*
 * Process lifecycle, for the daemon (record follows processes by ptrace):
 * on the "procs" ring, and again among the samples on "events".
 */
struct as_proc_event {
	__u32 type;
	__u32 tgid;
};

/* One sampled allocation, emitted from the return probe. */
struct as_alloc_event {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u16 fn;		/* enum as_fn, | AS_EVF_UNTRACKED */
	__u16 nr_ips;		/* valid entries in ips[] */
	__u64 seq;		/* sample id, echoed by the matching free */
	__u64 ts;		/* CLOCK_MONOTONIC ns */
	__u64 size;		/* requested bytes (n * size for calloc) */
	__u64 ptr;
	__u64 rate;		/* mean sampling gap in force when it was picked */
	__u64 alloc_ip;		/* entry address of the allocator function */
	/*
	 * The image the sample comes from: user space reads a process's
	 * mappings at its first sample, and must tell whether it has exec'ed
	 * since (then a fork child's mappings are its parent's).
	 */
	__u64 exe_ino;		/* inode of the process's executable */
	__u32 ppid;		/* its parent's tgid */
	__u32 pad;
	__u64 ips[AS_MAX_STACK];	/* user stack at return: ips[0] is the caller */
};

/* Records carry only nr_ips frames. */
#define AS_ALLOC_EVENT_SIZE(nr) \
	(__builtin_offsetof(struct as_alloc_event, ips) + (nr) * sizeof(__u64))

/* The live map was full: the sample counts in alloc_*, not in inuse_*. */
#define AS_EVF_UNTRACKED	0x8000
/* A struct as_stack_copy follows the full struct as_alloc_event. */
#define AS_EVF_STACK		0x4000
/* Taken at the entry of a call that may throw: an AS_EV_CANCEL may follow. */
#define AS_EVF_PROVISIONAL	0x2000
#define AS_EVF_MASK		0xff

/*
 * What user space needs to unwind without frame pointers, taken at the
 * return of the allocator call: the caller's instruction pointer and
 * stack pointer, its callee-saved registers (intact after the return),
 * and the top of its stack, clamped to the stack's mapping.
 */
enum as_reg {
	AS_REG_IP, AS_REG_SP, AS_REG_BP, AS_REG_BX,
	AS_REG_R12, AS_REG_R13, AS_REG_R14, AS_REG_R15,
	AS_NR_UNWIND_REGS,
};

/*
 * data mirrors the stack page by page, starting at the page that holds
 * the stack pointer, so that the BPF program copies whole pages at fixed
 * offsets (bounds the verifier can check): data[skip] is the byte at
 * regs[AS_REG_SP], and len bytes from there are valid.
 */
struct as_stack_copy {
	__u64 regs[AS_NR_UNWIND_REGS];
	__u32 skip;
	__u32 len;
	__u8 data[];
};

/* A sampled pointer was freed (or moved by realloc). */
struct as_free_event {
	__u32 type;
	__u32 tgid;
	__u64 seq;
	__u64 ptr;
};

struct as_live_key {
	__u32 tgid;
	__u32 pad;
	__u64 ptr;
};

struct as_live_val {
	__u64 seq;		/* 0: its sample is in the overflow map, as ovf_* */
	__u64 size;
	__u64 rate;
	__u64 ovf_ret;
	__s32 ovf_stack;
	__u32 ovf_fn;
};

/*
 * The ring buffer was full: a sample's weight is kept in the kernel, per
 * (process, stack, size, rate), and user space drains it into the same
 * sites (tracer__drain_overflow()). stack is an id in the "stacks" map
 * (frame pointers), or < 0 when none could be kept; ret, when set, is the
 * caller (a sample taken at the entry: the stack's first frame is the
 * allocator's, and its caller is missing from it).
 */
struct as_ovf_key {
	__u32 tgid;
	__s32 stack;
	__u32 fn;
	__u32 pad;
	__u64 ret;
	__u64 size;
	__u64 rate;
};

struct as_ovf_val {
	__u64 allocs;		/* samples */
	__u64 frees;		/* of those, freed (tracked ones) */
};

#define AS_OVF_STACKS		4096	/* frame-pointer stacks kept for them */
/* The frame of a sample whose stack could not be kept: no code lives at 1. */
#define AS_PC_RING_FULL		1ULL

/*
 * Traced calls of one process (the "calls" map, by tgid): every probed
 * call, sampled or not, each one a trap. A thread counts its own in its
 * state and adds them here at a sample, every AS_CALLS_FOLD calls, and
 * when it exits.
 */
struct as_calls {
	__u64 allocs;		/* calls of allocation functions */
	__u64 frees;		/* calls of free functions */
	char comm[16];		/* the process's name at the last fold */
};

#define AS_CALLS_FOLD	4096
#define AS_CALLS_FOLD_SAMPLED	64	/* at a sample, from this many on */

/* Per-CPU counters in the "stats" map; every drop has a reason here. */
enum as_stat {
	AS_STAT_SAMPLES,	/* sampled allocations emitted */
	AS_STAT_FREES,		/* frees of sampled pointers emitted */
	AS_STAT_DROP_RINGBUF,	/* ring buffer full: sample lost */
	AS_STAT_DROP_FREE_RINGBUF,	/* ring buffer full: free lost */
	AS_STAT_DROP_LIVE_FULL,	/* live map full: sample not tracked for inuse */
	AS_STAT_DROP_NO_TSTATE,	/* no per-thread state: call not counted */
	AS_STAT_STACK_ERR,	/* bpf_get_stack failed: sample has no stack */
	AS_STAT_NESTED,		/* allocator call nested in another, counted once */
	AS_STAT_FAILED,		/* sampled call returned NULL: nothing counted */
	AS_STAT_DROP_PROC_RINGBUF,	/* ring buffer full: exec/exit event lost */
	AS_STAT_DROP_TARGETS_FULL,	/* targets map full: a forked child not counted */
	AS_STAT_DROP_SEEN_RINGBUF,	/* "seen" ring full: a first sample not announced */
	AS_STAT_NORET,		/* sampled at the entry, return not probed: not in inuse */
	AS_STAT_UNWOUND,	/* provisional sample cancelled: the call threw */
	AS_STAT_HIJACK_SEEN,	/* an unwinder met a probed return: process now NORET */
	AS_STAT_DROP_CANCEL_RINGBUF,	/* ring buffer full: a cancel lost */
	AS_STAT_SMALL_RECORD,	/* ring buffer too full for a stack copy: frame pointers */
	AS_STAT_OVERFLOW,	/* ring buffer full: weight kept in the overflow map */
	AS_STAT_OVERFLOW_NOSTACK,	/* ... without a stack (stacks map full) */
	AS_STAT_OVERFLOW_FREE,	/* ring buffer full: a free kept in lost_frees */
	AS_STAT_DROP_OVERFLOW,	/* overflow or lost_frees map full: weight lost */
	AS_STAT_DROP_MARK_RINGBUF,	/* ring buffer full: exec/exit among the samples lost */
	AS_STAT_DROP_CALLS,	/* calls map full: an exited thread's calls, not counted */
	AS_STAT_MAX,
};

/*
 * Sampling math. A thread's countdown of "bytes until the next sample" is
 * drawn from an exponential distribution with mean R, which makes every
 * byte sampled independently with probability 1/R, so an allocation of s
 * bytes is sampled with probability 1 - exp(-s/R) (see
 * ../shared/reference/sampling-math.md, section 2).
 *
 * -ln(U) for U = u / 2^32 is ln2 * (32 - log2(u)). log2 is computed exactly
 * to 32 fraction bits by repeated squaring: no table, no floating point,
 * a bounded loop the verifier accepts, and no bias for small gaps (the
 * absolute error near U -> 1 is what decides whether tiny allocations are
 * sampled; a 256-entry table under-samples them by 0.25%).
 */

/* log2(u) in Q32 fixed point, for u > 0. */
static __always_inline __u64 as_log2_q32(__u32 u)
{
	__u32 v = u;
	__u64 x, frac = 0;
	int msb = 0, i;

	if (v >= 1U << 16) { msb += 16; v >>= 16; }
	if (v >= 1U << 8) { msb += 8; v >>= 8; }
	if (v >= 1U << 4) { msb += 4; v >>= 4; }
	if (v >= 1U << 2) { msb += 2; v >>= 2; }
	if (v >= 1U << 1) { msb += 1; }

	/* mantissa in [1, 2) as Q31 */
	x = (__u64)u << (31 - msb);
	for (i = 0; i < 32; i++) {
		x = (x * x) >> 31;
		frac <<= 1;
		if (x >= 1ULL << 32) {
			x >>= 1;
			frac |= 1;
		}
	}
	return ((__u64)msb << 32) | frac;
}

/*
 * An exponential gap with mean R, from one uniform 32-bit draw u.
 * k = round(R * ln2 * 2^16), precomputed in user space (as_rate_k()).
 * Returns (32 - log2 u) * R * ln2 = -ln(u / 2^32) * R, in bytes; at most
 * about 22 R. The 128-bit product is assembled from 32-bit limbs.
 */
static __always_inline __u64 as_exp_gap(__u32 u, __u64 k)
{
	__u64 e, e0, e1, k0, k1;

	if (!u)
		u = 1;
	e = (32ULL << 32) - as_log2_q32(u);	/* -log2(U), Q32, <= 2^37 */
	e1 = e >> 32;
	e0 = e & 0xffffffffULL;
	k1 = k >> 32;
	k0 = k & 0xffffffffULL;
	/*
	 * floor(e * k / 2^48). The low product's high half joins the middle
	 * sum before the shift: flooring the two parts apart drops a carry
	 * and shortens gaps by a byte, which over-samples tiny allocations
	 * (by 11% for 1-byte ones at R = 512 KiB). Largest term < 2^58.
	 */
	return ((e1 * k1) << 16) + ((e1 * k0 + e0 * k1 + ((e0 * k0) >> 32)) >> 16);
}

/* k for as_exp_gap(): R * ln2 * 2^16, with ln2 * 2^16 = 45426.0936. */
static __always_inline __u64 as_rate_k(__u64 rate)
{
	return rate * 45426 + ((rate * 6136) >> 16);
}

#endif /* ALLOCSCOPE_H */
