// SPDX-License-Identifier: GPL-2.0-only
/* calib.c - time the uprobe trap in a child process (see calib.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calib.h"
#include "procfs.h"
#include "tracer.h"

#define CALIB_CALLS	20000	/* per timed loop: ~8 ms at 400 ns a trap */
#define CALIB_ROUNDS	5	/* the fastest of these: a busy host only adds time */

/*
 * The probed function: it starts with a push, which the kernel emulates
 * (no single-step), like the instructions allocscope probes in allocators.
 * In assembly, so that no compiler decides what its first instruction is.
 */
void as_calib_target(void);
__asm__(".pushsection .text\n"
	".type as_calib_target, @function\n"
	"as_calib_target:\n"
	"\tpush %rbp\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size as_calib_target, .-as_calib_target\n"
	".popsection\n");

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The child: a timed loop per byte read from go, its ns written to res. */
static void __attribute__((noreturn)) child(int go, int res)
{
	__u64 t0, ns;
	char c;
	int i;

	while (read(go, &c, 1) == 1) {
		t0 = now_ns();
		for (i = 0; i < CALIB_CALLS; i++)
			as_calib_target();
		ns = now_ns() - t0;
		if (write(res, &ns, sizeof(ns)) != sizeof(ns))
			break;
	}
	_exit(0);
}

static int time_loop(int go, int res, __u64 *ns)
{
	if (write(go, "x", 1) != 1 || read(res, ns, sizeof(*ns)) != sizeof(*ns))
		return -EIO;
	return 0;
}

/* The file offset of as_calib_target in our executable, as mapped. */
static int target_offset(__u64 *off)
{
	__u64 addr = (__u64)(uintptr_t)as_calib_target;
	const struct proc_map *m;
	struct proc_maps *maps;
	int err;

	err = procfs__read_maps(getpid(), &maps);
	if (err)
		return err;
	m = proc_maps__find(maps, addr);
	err = m && m->exec ? 0 : -ENOENT;
	if (!err)
		*off = addr - m->start + m->pgoff;
	proc_maps__free(maps);
	return err;
}

/* Rounds of one loop without the probe and one with it, in child pid. */
static int measure(int prog, __u64 off, pid_t pid, int go, int res, double *ns)
{
	__u64 plain = ~0ULL, traced = ~0ULL, t;
	int i, link, err = 0;

	for (i = 0; i < CALIB_ROUNDS && !err; i++) {
		err = time_loop(go, res, &t);
		plain = t < plain ? t : plain;
		link = tracer__uprobe_multi_link(prog, AS_BPF_TRACE_UPROBE_MULTI, "/proc/self/exe",
						 &off, NULL, 1, pid);
		if (link < 0)
			return link == -EINVAL ? -EOPNOTSUPP : link;
		err = err ?: time_loop(go, res, &t);
		traced = t < traced ? t : traced;
		close(link);
	}
	if (err)
		return err;
	if (traced <= plain)
		return -ERANGE;	/* nothing measurable: not a plausible trap */
	*ns = (double)(traced - plain) / CALIB_CALLS;
	return 0;
}

int calib__trap_ns(double *ns)
{
	int go[2] = { -1, -1 }, res[2] = { -1, -1 }, prog, err, status;
	__u64 off;
	pid_t pid;

	err = target_offset(&off);
	if (err)
		return err;
	prog = tracer__empty_prog(AS_BPF_TRACE_UPROBE_MULTI);
	if (prog < 0)
		return -EOPNOTSUPP;
	if (pipe2(go, O_CLOEXEC) || pipe2(res, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (!pid)
		child(go[0], res[1]);
	err = measure(prog, off, pid, go[1], res[0], ns);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
out:
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	close(prog);
	return err;
}
