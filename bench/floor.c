// SPDX-License-Identifier: GPL-2.0-only
/*
 * floor.c - the benchmark's physical floor: EMPTY BPF programs on the very
 * probe points allocscope uses, found the way allocscope finds them
 * (attach__plan_exec/attach__plan_pid from liballocscope.a), filtered by
 * process in the kernel, attached the way allocscope attaches them
 * (uprobe_multi links through a raw BPF_LINK_CREATE, as src/tracer.c).
 *
 *   floor MODE -p PID           until PID exits
 *   floor MODE -- CMD [ARGS]    probes in place before CMD's first instruction
 *
 * MODE:
 *   alloc        (a) every allocation entry point, uprobe session, program
 *                    returns 1: one trap per call, no return probe
 *   free-entry   (b) (a) + free at free's first instruction (the naive
 *                    placement: glibc's "test %rdi,%rdi" is single-stepped)
 *   free-placed  (c) (a) + free where allocscope puts it (glibc: free+3, a jcc
 *                    the kernel emulates)
 *   classic      (d) perf-event uprobe + uretprobe on the allocation entry
 *                    points, free as in (c): allocscope --probes classic
 *   alloc-multi  (e) as (a) through a plain uprobe_multi link instead of a
 *                    session (no return handling at all)
 *
 * It prints "attached" on stderr once every probe is in place, and nothing
 * else: the workload measures its own time. With a command, its exit
 * status becomes ours.
 *
 *   floor getppid N             the machine's plain kernel round trip: N
 *                               getppid() calls, "<ns> ns/syscall"
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "allocscope.h"
#include "attach.h"
#include "floor.skel.h"
#include "tracer.h"

enum mode { M_ALLOC, M_FREE_ENTRY, M_FREE_PLACED, M_CLASSIC, M_ALLOC_MULTI };

static const char *const mode_names[] = {
	[M_ALLOC] = "alloc",
	[M_FREE_ENTRY] = "free-entry",
	[M_FREE_PLACED] = "free-placed",
	[M_CLASSIC] = "classic",
	[M_ALLOC_MULTI] = "alloc-multi",
};

static void usage(void)
{
	fprintf(stderr, "usage: floor alloc|free-entry|free-placed|classic|alloc-multi\n"
			"             (-p PID | -- CMD [ARGS...])\n"
			"       floor getppid N\n");
	exit(2);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int multi_link(int prog_fd, __u32 type, const char *path, const __u64 *offsets, int cnt,
		      pid_t pid)
{
	/* the fd is kept open until we exit */
	return cnt ? tracer__uprobe_multi_link(prog_fd, type, path, offsets, NULL, cnt, pid) : 0;
}

static int perf_link(struct bpf_program *prog, bool ret, const char *path, __u64 off, pid_t pid)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret);

	return bpf_program__attach_uprobe_opts(prog, pid, path, off, &o) ? 0 : -errno;
}

static int attach_target(struct floor_bpf *s, enum mode m, const struct probe_target *t,
			 pid_t pid)
{
	__u64 off[AS_MAX_PROBES];
	int i, err = 0;

	for (i = 0; i < t->nr_allocs; i++)
		off[i] = t->allocs[i].offset;
	switch (m) {
	case M_CLASSIC:
		for (i = 0; i < t->nr_allocs && !err; i++) {
			err = perf_link(s->progs.floor_perf, false, t->path, off[i], pid);
			err = err ?: perf_link(s->progs.floor_perf, true, t->path, off[i], pid);
		}
		break;
	case M_ALLOC_MULTI:
		err = multi_link(bpf_program__fd(s->progs.floor_multi), AS_BPF_TRACE_UPROBE_MULTI,
				 t->path, off, t->nr_allocs, pid);
		break;
	default:
		err = multi_link(bpf_program__fd(s->progs.floor_session),
				 AS_BPF_TRACE_UPROBE_SESSION, t->path, off, t->nr_allocs, pid);
		break;
	}
	if (err < 0)
		return err;
	if (m == M_ALLOC || m == M_ALLOC_MULTI)
		return 0;
	for (i = 0; i < t->nr_frees; i++) {
		off[i] = t->frees[i].offset;
		if (m == M_FREE_ENTRY)
			off[i] -= AS_COOKIE_DELTA(t->frees[i].cookie);
	}
	err = multi_link(bpf_program__fd(s->progs.floor_multi), AS_BPF_TRACE_UPROBE_MULTI, t->path,
			 off, t->nr_frees, pid);
	return err < 0 ? err : 0;
}

static struct floor_bpf *load(enum mode m)
{
	struct floor_bpf *s = floor_bpf__open();
	bool classic = m == M_CLASSIC;
	int err;

	if (!s)
		return NULL;
	bpf_program__set_autoload(s->progs.floor_session, !classic && m != M_ALLOC_MULTI);
	bpf_program__set_autoload(s->progs.floor_perf, classic);
	err = bpf_program__set_expected_attach_type(s->progs.floor_session,
						   AS_BPF_TRACE_UPROBE_SESSION);
	err = err ?: bpf_program__set_expected_attach_type(s->progs.floor_multi,
							  AS_BPF_TRACE_UPROBE_MULTI);
	err = err ?: floor_bpf__load(s);
	if (err) {
		floor_bpf__destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static int attach_all(struct floor_bpf *s, enum mode m, pid_t pid, bool exec)
{
	struct probe_target *t = NULL;
	int nr = 0, i, err;

	err = exec ? attach__plan_exec(pid, &t, &nr) : attach__plan_pid(pid, &t, &nr);
	for (i = 0; !err && i < nr; i++)
		err = attach_target(s, m, &t[i], pid);
	free(t);
	return err;
}

/* Starts CMD stopped right after its exec, like allocscope record -- CMD. */
static pid_t start_cmd(char **argv)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "floor: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (!WIFSTOPPED(st)) {
		errno = ECHILD;
		return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -ECHILD;
	}
	return pid;
}

static int wait_cmd(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void wait_pid(pid_t pid)
{
	struct pollfd p = { .events = POLLIN };

	p.fd = syscall(SYS_pidfd_open, pid, 0);
	if (p.fd >= 0) {
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		return;
	}
	while (!kill(pid, 0) || errno == EPERM)
		usleep(100000);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int syscall_cost(long n)
{
	double t0 = now();
	long i;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	printf("%.1f ns/syscall\n", (now() - t0) * 1e9 / n);
	return 0;
}

int main(int argc, char **argv)
{
	enum mode m = M_ALLOC;
	struct floor_bpf *s;
	pid_t pid = 0;
	char **cmd = NULL;
	size_t i;
	int err;

	if (argc == 3 && !strcmp(argv[1], "getppid") && atol(argv[2]) > 0)
		return syscall_cost(atol(argv[2]));
	if (argc < 3)
		usage();
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(argv[1], mode_names[i]))
			break;
	if (i == sizeof(mode_names) / sizeof(mode_names[0]))
		usage();
	m = i;
	if (!strcmp(argv[2], "-p") && argc == 4)
		pid = atoi(argv[3]);
	else if (!strcmp(argv[2], "--") && argc > 3)
		cmd = argv + 3;
	if (pid <= 0 && !cmd)
		usage();

	libbpf_set_print(libbpf_quiet);
	s = load(m);
	if (!s) {
		fprintf(stderr, "floor: cannot load the BPF programs: %s\n", strerror(errno));
		return 1;
	}
	if (cmd) {
		pid = start_cmd(cmd);
		if (pid < 0) {
			fprintf(stderr, "floor: cannot start %s: %s\n", cmd[0], strerror(-pid));
			return 1;
		}
	}
	err = attach_all(s, m, pid, cmd != NULL);
	if (err) {
		fprintf(stderr, "floor: cannot probe process %d: %s\n", pid, strerror(-err));
		if (cmd)
			kill(pid, SIGKILL);
		return 1;
	}
	fprintf(stderr, "attached\n");
	if (!cmd) {
		wait_pid(pid);
		return 0;
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return wait_cmd(pid);
}
