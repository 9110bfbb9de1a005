/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tracer.h - the BPF side, loaded and attached.
 *
 * The only module that knows the skeleton. It picks the cheapest probe
 * mechanism the kernel offers (uprobe sessions on 6.13+: one trap per
 * unsampled allocation; else a uprobe + uretprobe pair), attaches probe
 * targets to processes, and hands ring buffer records to a callback.
 */
#ifndef AS_TRACER_H
#define AS_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "allocscope.h"

struct probe_target;
struct tracer;

enum tracer_mode {
	TRACER_MODE_AUTO,
	TRACER_MODE_SESSION,	/* uprobe_multi session + uprobe_multi free */
	TRACER_MODE_CLASSIC,	/* perf-event uprobe + uretprobe */
};

/*
 * Returns 0 to go on. A negative value stops the current poll or consume,
 * which returns it; the record it was given counts as read (libbpf's
 * ringbuf_process_ring() stores the consumer position past it first), so
 * a reader can bound its work per call and resume where it stopped.
 */
typedef int (*tracer_event_fn)(void *ctx, const void *data, size_t size);

struct tracer_opts {
	__u64 sample_rate;	/* mean bytes between samples; 1 = every call */
	bool alloc_only;	/* no free probes, no live set */
	__u32 live_max;		/* capacity of the live map */
	__u32 ringbuf_bytes;	/* power of two */
	__u32 stack_bytes;	/* stack copied per sample: 0, or pages from 8 KiB to 32 KiB */
	bool proc_events;	/* exec/exit events of every process (the daemon) */
	tracer_event_fn proc_fn;	/* with proc_events: gets them first, apart from samples */
	bool filter_tgids;	/* count only processes set with tracer__set_target() */
	__u32 max_targets;	/* capacity of the targets and calls maps */
	enum tracer_mode mode;
};

/* -ENOSYS/-EPERM/-EOPNOTSUPP with a reason in *why for an unfit kernel. */
int tracer__new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx,
		struct tracer **out, const char **why);
void tracer__free(struct tracer *tr);

/* Probes one object, filtered to process pid (0: every process). */
int tracer__attach(struct tracer *tr, const struct probe_target *t, pid_t pid);
/* Drops every link that filters on pid (after it exited). */
void tracer__detach_pid(struct tracer *tr, pid_t pid);

/* An fd that becomes readable when records are waiting (for epoll). */
int tracer__fd(const struct tracer *tr);
/*
 * Hands every waiting record to the callbacks ("procs" first); returns how
 * many, or what a callback returned to stop.
 */
int tracer__consume(struct tracer *tr);

/*
 * Sample weight the ring buffer had no room for, kept in the kernel per
 * (process, stack, size, rate) (struct as_ovf_key): pcs as a sample's,
 * caller first, or the one frame AS_PC_RING_FULL when no stack was kept.
 */
struct tracer_ovf {
	pid_t tgid;
	__u16 fn;
	__u64 size, rate;
	__u64 allocs, frees;
	const __u64 *pcs;
	__u32 nr_pcs;
};

struct tracer_drain_ops {
	void (*overflow)(void *ctx, const struct tracer_ovf *o);
	void (*lost_free)(void *ctx, __u64 seq);	/* a free the ring had no room for */
};

/* Takes both out of the kernel's maps. Returns how many entries, or -errno. */
int tracer__drain_overflow(struct tracer *tr, const struct tracer_drain_ops *ops, void *ctx);
int tracer__poll(struct tracer *tr, int timeout_ms);

/*
 * The "seen" ring (proc_events only): a process's first sample in an
 * image, for a reader on another thread, whose only calls these are.
 */
int tracer__watch_seen(struct tracer *tr, tracer_event_fn fn, void *ctx);
int tracer__poll_seen(struct tracer *tr, int timeout_ms);

int tracer__set_rate(struct tracer *tr, __u64 rate);
/*
 * tgid's own mean gap between samples (0: the global rate again), at most
 * AS_MAX_SHED_PROCS processes at once (-E2BIG beyond). Its threads take it
 * at their next allocation call.
 */
int tracer__set_proc_rate(struct tracer *tr, pid_t tgid, __u64 rate);
/* Count only the processes set with tracer__set_target(), or all. */
void tracer__set_filter(struct tracer *tr, bool on);
/* With the filter on: count tgid (and the children it forks from now on), or stop. */
int tracer__set_target(struct tracer *tr, pid_t tgid, bool on);
/* Never hijack tgid's allocator returns (attach__unwinds_inside()), or again allow it. */
int tracer__set_noret(struct tracer *tr, pid_t tgid, bool on);
void tracer__stats(struct tracer *tr, __u64 stats[AS_STAT_MAX]);
enum tracer_mode tracer__mode(const struct tracer *tr);
const char *tracer__mode_name(enum tracer_mode mode);
int tracer__nr_links(const struct tracer *tr);

/*
 * Traced calls per process (struct as_calls): every entry as it is now, or
 * one process's, taken out of the map (after it exited). A process's
 * entry is cumulative from its first traced call; a thread adds its calls
 * to it now and then, and when it exits (tracer_opts.proc_events).
 */
typedef void (*tracer_calls_fn)(pid_t tgid, const struct as_calls *c, void *ctx);
int tracer__each_calls(struct tracer *tr, tracer_calls_fn fn, void *ctx);
int tracer__take_calls(struct tracer *tr, pid_t tgid, struct as_calls *out);

/*
 * Deletes the live map entries of processes for which gone() says so
 * (they exited: their frees will never come). Returns how many went.
 */
int tracer__purge_live(struct tracer *tr, bool (*gone)(pid_t tgid, void *ctx), void *ctx);

/*
 * enum bpf_attach_type values Debian 12's UAPI header (Linux 6.1) lacks,
 * from the kernel's BTF; libbpf 1.1 cannot attach either.
 */
#define AS_BPF_TRACE_UPROBE_MULTI	48	/* Linux 6.6 */
#define AS_BPF_TRACE_UPROBE_SESSION	57	/* Linux 6.13 */

/*
 * A uprobe_multi link (raw BPF_LINK_CREATE): prog at each file offset of
 * path, filtered to process pid (0: all). cookies may be NULL. Returns the
 * link fd (closing it detaches) or -errno.
 */
int tracer__uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, pid_t pid);

/* A program that returns 0, for attach_type; its fd or -errno. */
int tracer__empty_prog(__u32 attach_type);

/*
 * Which probe mechanisms this kernel supports (for `allocscope features`). Returns 0, or
 * -EPERM when not permitted to load BPF programs: then nothing is known of the kernel.
 */
int tracer__probe_kernel(bool *sessions, bool *multi);

#endif /* AS_TRACER_H */
