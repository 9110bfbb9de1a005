// SPDX-License-Identifier: GPL-2.0-only
/* target.c - start and follow the traced processes (ptrace), or watch one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target.h"

struct target {
	pid_t root;
	bool traced;		/* started under ptrace; else watched by pidfd */
	bool quiet;
	bool done;
	int status;		/* wait status of root */
	int pidfd;
	pid_t *known;		/* traced processes seen so far */
	int nr_known;
	int cap_known;
};

static bool known(const struct target *t, pid_t pid)
{
	int i;

	for (i = 0; i < t->nr_known; i++)
		if (t->known[i] == pid)
			return true;
	return false;
}

static int remember(struct target *t, pid_t pid)
{
	pid_t *n;

	if (t->nr_known == t->cap_known) {
		t->cap_known = t->cap_known ? t->cap_known * 2 : 16;
		n = realloc(t->known, t->cap_known * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->known = n;
	}
	t->known[t->nr_known++] = pid;
	return 0;
}

static void forget(struct target *t, pid_t pid)
{
	int i;

	for (i = 0; i < t->nr_known; i++) {
		if (t->known[i] == pid) {
			t->known[i] = t->known[--t->nr_known];
			return;
		}
	}
}

/* The child: wait for the tracer, then exec; report a failed exec by errno. */
static void __attribute__((noreturn)) child(char *const argv[], int go, int errfd)
{
	sigset_t none;
	char c;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (read(go, &c, 1) != 1)
		_exit(127);	/* the tracer went away */
	execvp(argv[0], argv);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int seize(pid_t pid, bool inherit)
{
	long opts = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;

	if (inherit)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	return ptrace(PTRACE_SEIZE, pid, 0, opts) ? -errno : 0;
}

/*
 * Releases the child and learns whether its exec worked (0) or failed
 * (-errno, the child reaped).
 */
static int release(pid_t pid, int go, int errfd)
{
	ssize_t n;
	int e = 0;

	if (write(go, "g", 1) != 1) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		return -e;
	}
	/* Closed by a successful exec (O_CLOEXEC), or carries its errno. */
	do {
		n = read(errfd, &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	if (n == sizeof(e)) {
		waitpid(pid, NULL, __WALL);
		return -e;
	}
	return 0;
}

int target__spawn(char *const argv[], bool inherit, struct target **out)
{
	int go[2] = { -1, -1 }, errp[2] = { -1, -1 }, err;
	struct target *t;
	pid_t pid;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pidfd = -1;
	t->traced = true;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (!pid)
		child(argv, go[0], errp[1]);
	close(errp[1]);
	errp[1] = -1;
	t->root = pid;
	err = seize(pid, inherit);
	err = err ?: remember(t, pid);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		goto out;
	}
	err = release(pid, go[1], errp[0]);
out:
	close(go[0]);
	close(go[1]);
	close(errp[0]);
	close(errp[1]);
	if (err) {
		target__free(t);
		return err;
	}
	*out = t;
	return 0;
}

int target__watch(pid_t pid, struct target **out)
{
	struct target *t;
	int fd;

	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	t->root = pid;
	t->pidfd = fd;
	*out = t;
	return 0;
}

void target__free(struct target *t)
{
	if (!t)
		return;
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t->known);
	free(t);
}

int target__fd(const struct target *t)
{
	return t->pidfd;
}

static void emit(struct target *t, target_event_fn fn, void *ctx, enum target_event_type type,
		 pid_t pid)
{
	struct target_event ev = { .type = type, .pid = pid };

	if (!t->quiet)
		fn(ctx, &ev);
}

static void resume(pid_t pid, int sig)
{
	ptrace(PTRACE_CONT, pid, 0, sig);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_stop(struct target *t, pid_t pid, int status, target_event_fn fn, void *ctx)
{
	int ev = status >> 16, sig = WSTOPSIG(status);

	switch (ev) {
	case PTRACE_EVENT_EXEC:
		emit(t, fn, ctx, TARGET_EXEC, pid);
		resume(pid, 0);
		break;
	case PTRACE_EVENT_EXIT:
		emit(t, fn, ctx, TARGET_EXIT, pid);
		resume(pid, 0);
		break;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		resume(pid, 0);	/* the child reports itself */
		break;
	case PTRACE_EVENT_STOP:
		if (!known(t, pid)) {
			/* a new child, auto-attached, before its first instruction */
			remember(t, pid);
			emit(t, fn, ctx, TARGET_FORK, pid);
			resume(pid, 0);
		} else if (is_stop_signal(sig)) {
			/* a group-stop: stay stopped until SIGCONT, as without us */
			ptrace(PTRACE_LISTEN, pid, 0, 0);
		} else {
			resume(pid, 0);
		}
		break;
	default:
		resume(pid, sig);	/* deliver the signal it was stopped for */
		break;
	}
}

static int handle_watched(struct target *t, target_event_fn fn, void *ctx)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (t->done || poll(&p, 1, 0) <= 0)
		return 0;
	t->done = true;
	emit(t, fn, ctx, TARGET_GONE, t->root);
	return 0;
}

int target__handle(struct target *t, target_event_fn fn, void *ctx)
{
	int status;
	pid_t pid;

	if (!t->traced)
		return handle_watched(t, fn, ctx);
	while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
		if (WIFSTOPPED(status)) {
			on_stop(t, pid, status, fn, ctx);
			continue;
		}
		forget(t, pid);
		emit(t, fn, ctx, TARGET_GONE, pid);
		if (pid == t->root) {
			t->done = true;
			t->status = status;
		}
	}
	return pid < 0 && errno != ECHILD ? -errno : 0;
}

void target__quiet(struct target *t)
{
	t->quiet = true;
}

pid_t target__pid(const struct target *t)
{
	return t->root;
}

bool target__done(const struct target *t)
{
	return t->done;
}

int target__exit_code(const struct target *t)
{
	if (!t->traced)
		return 0;
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return 1;
}

void target__signal(struct target *t, int sig)
{
	kill(t->root, sig);
}
