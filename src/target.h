/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * target.h - the processes a recording follows.
 *
 * "record -- CMD" starts CMD under ptrace (PTRACE_SEIZE), which stops it
 * right after its exec, before its dynamic loader runs, so the probes are
 * in place before its first instruction; children it forks and images it
 * execs are stopped the same way, and each process is stopped once more
 * before it exits, while its mappings can still be read. The stops are
 * invisible to the processes' real parents. "record -p PID" watches a
 * running process through a pidfd and does not follow its children.
 */
#ifndef AS_TARGET_H
#define AS_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

enum target_event_type {
	TARGET_EXEC,	/* pid runs a new image; its loader has not run yet */
	TARGET_FORK,	/* pid is a new child, a copy of its parent */
	TARGET_EXIT,	/* pid is about to exit; its mappings are still there */
	TARGET_GONE,	/* pid has exited */
};

struct target_event {
	enum target_event_type type;
	pid_t pid;
};

/* Called while the process is stopped; it resumes afterwards. */
typedef void (*target_event_fn)(void *ctx, const struct target_event *ev);

struct target;

/* Starts argv[0] (PATH search); inherit: follow its children. */
int target__spawn(char *const argv[], bool inherit, struct target **out);
/* Watches an existing process. -ESRCH if there is none. */
int target__watch(pid_t pid, struct target **out);
void target__free(struct target *t);

/* An fd that becomes readable on events (-1: wait for SIGCHLD instead). */
int target__fd(const struct target *t);
/* Handles every pending event. */
int target__handle(struct target *t, target_event_fn fn, void *ctx);
/* Stops reporting events; processes keep running, followed no more. */
void target__quiet(struct target *t);

pid_t target__pid(const struct target *t);
bool target__done(const struct target *t);
/* Exit code of the started command: its status, or 128 + signal. */
int target__exit_code(const struct target *t);
void target__signal(struct target *t, int sig);

#endif /* AS_TARGET_H */
