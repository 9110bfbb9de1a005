// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_image.c - a process's image, read while it lives, names its code
 * after it is gone: what the daemon's keeper relies on when the main
 * thread reads a short process's samples late; and the keeper's table.
 *
 * The processes are forks of this test, parked in parked_child(); their
 * code is this binary's, so the address of parked_child must be named
 * parked_child once they have exited and been reaped.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper.h"
#include "procfs.h"
#include "symbolizer.h"
#include "test.h"

static struct symbolizer *sym;

static __attribute__((noinline, noreturn)) void parked_child(int ready, bool own_ns)
{
	char c = own_ns && unshare(CLONE_NEWNS) ? 'e' : 'r';

	if (write(ready, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* A parked fork, ready when this returns; own_ns: in a mount namespace of its own. */
static pid_t park(bool own_ns)
{
	int fds[2];
	pid_t pid;
	char c = 0;

	if (pipe(fds))
		return -1;
	pid = t_fork();
	if (!pid)
		parked_child(fds[1], own_ns);
	if (pid > 0 && (read(fds[0], &c, 1) != 1 || c != 'r')) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	close(fds[1]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void check_gone_named(bool own_ns)
{
	__u64 pc = (__u64)(unsigned long)parked_child + 1;
	struct proc_image *im = NULL;
	struct addr_space *as = NULL, *live = NULL;
	struct sym_frame f;
	struct stat st;
	pid_t pid;
	int err;

	pid = park(own_ns);
	ASSERT(pid > 0, "park: %s", strerror(errno));
	err = procfs__image(pid, &im);
	reap(pid);
	ASSERT(!err, "image: %s", strerror(-err));
	ASSERT(!stat("/proc/self/exe", &st), "stat");
	ASSERT_EQ(im->exe_ino, st.st_ino);
	ASSERT_STREQ(im->comm, "test_image");
	ASSERT(own_ns ? im->root_fd >= 0 : im->root_fd < 0, "root fd %d", im->root_fd);
	/* gone: reading it now fails, the image still works */
	ASSERT(symbolizer__snapshot(sym, pid, &live) < 0, "pid %d still readable", pid);
	err = symbolizer__snapshot_image(sym, im, &as);
	proc_image__free(im);
	ASSERT(!err, "snapshot: %s", strerror(-err));
	err = addr_space__lookup(as, pc, &f);
	addr_space__free(as);
	ASSERT(!err, "lookup: %s", strerror(-err));
	ASSERT_STREQ(f.func, "parked_child");
}

static void test_gone_named(void)
{
	check_gone_named(false);
}

/* Its files are opened under its root, held open: a container's is gone with it. */
static void test_gone_named_other_ns(void)
{
	check_gone_named(true);
}

/* A process gone before it was read has no image: an error, not an empty one. */
static void test_gone_before(void)
{
	struct proc_image *im = NULL;
	pid_t pid = park(false);

	ASSERT(pid > 0, "park");
	reap(pid);
	ASSERT_EQ(procfs__image(pid, &im), -ESRCH);
	ASSERT(!im, "image");
}

static __u64 own_ino(void)
{
	struct stat st;

	return stat("/proc/self/exe", &st) ? 0 : st.st_ino;
}

/* Read once however many threads announce it; taken once; named once gone. */
static void test_keeper_take(void)
{
	__u64 pc = (__u64)(unsigned long)parked_child + 1;
	struct proc_image *im = NULL, *again;
	struct addr_space *as = NULL;
	struct keeper_stats st;
	struct keeper *k = NULL;
	struct sym_frame f;
	pid_t pid;
	int err;

	ASSERT(!keeper__new(NULL, &k), "keeper");
	pid = park(false);
	if (pid > 0) {
		keeper__read(k, pid);
		keeper__read(k, pid);
		reap(pid);
		im = keeper__take(k, pid, own_ino());
		again = keeper__take(k, pid, own_ino());
	}
	keeper__stats(k, &st);
	keeper__free(k);
	ASSERT(pid > 0, "park");
	ASSERT(im && !again, "taken: %p, again: %p", (void *)im, (void *)again);
	ASSERT_EQ(st.kept, 1);
	err = symbolizer__snapshot_image(sym, im, &as);
	proc_image__free(im);
	ASSERT(!err, "snapshot: %s", strerror(-err));
	err = addr_space__lookup(as, pc, &f);
	addr_space__free(as);
	ASSERT(!err && f.func && !strcmp(f.func, "parked_child"), "named %s", f.func);
}

/* Asked for before it was read: the main thread read it itself, no need to keep it. */
static void test_keeper_tombstone(void)
{
	struct proc_image *im = NULL;
	struct keeper_stats st;
	struct keeper *k = NULL;
	pid_t pid;

	ASSERT(!keeper__new(NULL, &k), "keeper");
	pid = park(false);
	if (pid > 0) {
		im = keeper__take(k, pid, own_ino());
		keeper__read(k, pid);
		reap(pid);
	}
	keeper__stats(k, &st);
	keeper__free(k);
	ASSERT(pid > 0, "park");
	ASSERT(!im, "an image before any was read");
	ASSERT_EQ(st.kept, 0);
}

/* Bounded: one more process than slots evicts the oldest image, counted. */
static void test_keeper_evicts(void)
{
	struct proc_image *first, *last;
	pid_t pids[KEEPER_SLOTS + 1];
	struct keeper_stats st;
	struct keeper *k = NULL;
	int i, n;

	ASSERT(!keeper__new(NULL, &k), "keeper");
	for (n = 0; n <= KEEPER_SLOTS && (pids[n] = park(false)) > 0; n++)
		keeper__read(k, pids[n]);
	keeper__stats(k, &st);
	last = n ? keeper__take(k, pids[n - 1], own_ino()) : NULL;
	first = keeper__take(k, pids[0], own_ino());
	keeper__free(k);
	for (i = 0; i < n; i++)
		reap(pids[i]);
	proc_image__free(last);
	proc_image__free(first);
	ASSERT_EQ(n, KEEPER_SLOTS + 1);
	ASSERT(!first && last, "first %p, last %p", (void *)first, (void *)last);
	ASSERT_EQ(st.kept, KEEPER_SLOTS + 1);
	ASSERT_EQ(st.evicted, 1);
}

int main(void)
{
	t_suite = "image";
	sym = symbolizer__new(64 << 20);
	if (!sym) {
		printf("FAIL image/setup: out of memory\n");
		return 1;
	}
	RUN(test_gone_named);
	RUN(test_gone_named_other_ns);
	RUN(test_gone_before);
	RUN(test_keeper_take);
	RUN(test_keeper_tombstone);
	RUN(test_keeper_evicts);
	symbolizer__free(sym);
	return TEST_EXIT();
}
