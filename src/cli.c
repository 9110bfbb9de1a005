// SPDX-License-Identifier: GPL-2.0-only
/* cli.c - what the commands share: option values, clocks, the event loop's fds. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>

#include "cli.h"

void cli__bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("allocscope: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

int cli__parse_value(const char *opt, enum value_kind kind, const char *s, __u64 min,
		     __u64 max, __u64 *out)
{
	char what[128];

	if (!value__parse(kind, s, min, max, out))
		return 0;
	value__explain(kind, min, max, what, sizeof(what));
	fprintf(stderr, "allocscope: %s: '%s' is not %s\n", opt, s, what);
	return -EINVAL;
}

int cli__parse_pid(const char *opt, const char *s, pid_t *out)
{
	__u64 v;
	int err = cli__parse_value(opt, VALUE_NUMBER, s, 1, VALUE_PID_MAX, &v);

	if (!err)
		*out = v;
	return err;
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u64 cli__now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

__u64 cli__wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int cli__epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int cli__event_fds(const int *sigs, int extra_fd, int *sigfd, int *epfd)
{
	sigset_t set;
	int err;

	sigemptyset(&set);
	while (*sigs)
		sigaddset(&set, *sigs++);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	*sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sigfd < 0)
		return -errno;
	*epfd = epoll_create1(EPOLL_CLOEXEC);
	if (*epfd < 0)
		return -errno;
	err = cli__epoll_add(*epfd, *sigfd);
	if (!err && extra_fd >= 0)
		err = cli__epoll_add(*epfd, extra_fd);
	return err;
}
