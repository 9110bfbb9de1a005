/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli.h - the commands, and the parsing of option values they share.
 * A bad value is reported in one line naming the option.
 */
#ifndef AS_CLI_H
#define AS_CLI_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "value.h"

/*
 * value__parse() of an option's value (value.h: the one dialect of the command line, the
 * configuration and HTTP); refused: "allocscope: OPT: 'S' is not ..." and -EINVAL.
 */
int cli__parse_value(const char *opt, enum value_kind kind, const char *s, __u64 min,
		     __u64 max, __u64 *out);
/* A process id, 1 to VALUE_PID_MAX, as cli__parse_value(). */
int cli__parse_pid(const char *opt, const char *s, pid_t *out);
/* Exits 2 after "allocscope: OPT: MESSAGE". */
void cli__bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * For a command's event loop: blocks the signals in sigs (0-terminated),
 * ignores SIGPIPE, and makes a signalfd for them and an epoll set that
 * watches it and extra_fd (if >= 0). Returns 0 or -errno.
 */
int cli__event_fds(const int *sigs, int extra_fd, int *sigfd, int *epfd);
/* Adds fd to epfd for reading. */
int cli__epoll_add(int epfd, int fd);

__u64 cli__now_ns(void);	/* CLOCK_MONOTONIC */
__u64 cli__wall_ns(void);	/* CLOCK_REALTIME */

int cmd_record(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif /* AS_CLI_H */
