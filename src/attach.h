/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h - where to put the probes.
 *
 * A process allocates through one object: the executable itself when it
 * defines malloc (static binaries), else the first shared object in symbol
 * search order that exports malloc (a preloaded or linked jemalloc,
 * tcmalloc, mimalloc), else glibc. A probe_target lists that object's
 * allocator entry points and, for each, the probe's file offset: moved
 * past leading instructions the kernel would single-step, onto the first
 * one it emulates, when that is safe. The objects that hold an in-process
 * unwinder (libgcc_s, libunwind, glibc's backtrace) are targets too, with
 * only those entry points.
 */
#ifndef AS_ATTACH_H
#define AS_ATTACH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "allocscope.h"

#define AS_MAX_PROBES 48
#define AS_MAX_UNWIND_PROBES 16

struct probe {
	__u64 offset;		/* file offset of the probed instruction */
	__u64 cookie;		/* AS_COOKIE(fn, delta) */
	const char *name;	/* the symbol (static storage) */
};

/* Allocators whose code we know: which of their returns may be hijacked. */
enum alloc_kind {
	ALLOC_UNKNOWN,		/* a program's or an interposer's own malloc */
	ALLOC_GLIBC,
	ALLOC_JEMALLOC,
	ALLOC_TCMALLOC,
	ALLOC_MIMALLOC,
};

struct probe_target {
	char path[PATH_MAX];	/* a path the kernel can open the file by */
	char display[PATH_MAX];	/* the path as the process sees it */
	__u64 dev;		/* st_dev of the file, for deduplication */
	__u64 ino;
	enum alloc_kind kind;
	int nr_allocs;
	int nr_frees;
	int nr_unwinds;
	struct probe allocs[AS_MAX_PROBES];
	struct probe frees[AS_MAX_PROBES];
	/* in-process unwinders' entry points: see unwind_enter in the BPF code */
	struct probe unwinds[AS_MAX_UNWIND_PROBES];
};

/* Whether t serves allocations (else it only holds unwinder entry points). */
static inline bool probe_target__allocates(const struct probe_target *t)
{
	return t->nr_frees > 0;
}

/*
 * Where a function's probe goes: past leading instructions the kernel
 * would single-step, onto the first one it emulates (x86__placement()),
 * protecting only what a probe of kind fn reads. Bytes to skip, or 0.
 */
int attach__placement_for(const __u8 *code, size_t len, enum as_fn fn);

/*
 * Probe plan for one ELF object: its allocator functions if it defines
 * malloc, and the entry points of the in-process unwinders it holds
 * (exported ones only when dynamic_only). fd is consumed. -ENOENT if it
 * defines neither.
 */
int attach__plan_file(int fd, const char *path, const char *display, bool dynamic_only,
		      struct probe_target *t);

/* The provider objects of a running process. *targets is malloc'ed. */
int attach__plan_pid(pid_t pid, struct probe_target **targets, int *nr);

/*
 * The provider objects a process that has just exec'ed (stopped before its
 * dynamic loader ran) will use: asks its loader for the load order, like
 * ldd, with the process's own environment (LD_PRELOAD, LD_LIBRARY_PATH).
 */
int attach__plan_exec(pid_t pid, struct probe_target **targets, int *nr);

/*
 * For system-wide tracing: the allocator objects among pid's executable
 * mappings that seen() does not know yet (by device and inode): every
 * shared object that exports malloc, and the executable if it has a
 * malloc of its own. seen() is asked once per object and may record it.
 * *targets is malloc'ed; *nr may be 0.
 */
typedef bool (*attach_seen_fn)(__u64 dev, __u64 ino, void *ctx);
int attach__discover(pid_t pid, attach_seen_fn seen, void *ctx, struct probe_target **targets,
		     int *nr);

/*
 * Whether pid's environment turns on a profiler that unwinds inside
 * allocator calls (jemalloc's prof, gperftools'): then none of its
 * allocator returns may be hijacked (tracer__set_noret()).
 */
bool attach__unwinds_inside(pid_t pid);

#endif /* AS_ATTACH_H */
