// SPDX-License-Identifier: GPL-2.0-only
/*
 * stall_thread - hold one thread of another process still while a command
 * runs, the way a long export holds the daemon's main thread: ptrace stops
 * that thread alone, its process's other threads go on.
 *   stall_thread TID CMD [ARGS...]
 * Prints the command's pid on stdout (the command's stdout goes to stderr)
 * and exits with its status once the thread runs again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "stall_thread: %s: %s\n", what, strerror(errno));
	exit(2);
}

int main(int argc, char **argv)
{
	pid_t tid, child;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: stall_thread TID CMD [ARGS...]\n");
		return 2;
	}
	tid = atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		die("ptrace");
	if (waitpid(tid, &status, __WALL) < 0)
		die("waitpid");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		dup2(2, 1);
		execvp(argv[2], argv + 2);
		die(argv[2]);
	}
	printf("%d\n", child);
	fflush(stdout);
	if (waitpid(child, &status, 0) < 0)
		die("waitpid");
	if (ptrace(PTRACE_DETACH, tid, 0, 0))
		die("ptrace detach");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
