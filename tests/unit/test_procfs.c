// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_procfs.c - a process's image, read while it lives, names its code
 * after it is gone: what the daemon's keeper thread relies on when the
 * main thread reads a short process's samples late.
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
	pid = fork();
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
	ASSERT_STREQ(im->comm, "test_procfs");
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

int main(void)
{
	t_suite = "procfs";
	sym = symbolizer__new(64 << 20);
	if (!sym) {
		printf("FAIL procfs/setup: out of memory\n");
		return 1;
	}
	RUN(test_gone_named);
	RUN(test_gone_named_other_ns);
	RUN(test_gone_before);
	symbolizer__free(sym);
	return TEST_EXIT();
}
