// SPDX-License-Identifier: GPL-2.0-only
/* cli.c - option values: bytes, seconds, pids. */
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

int cli__parse_bytes(const char *opt, const char *s, __u64 max, __u64 *out)
{
	unsigned long long v, mult = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || !v || v > max / mult)
		goto bad;
	*out = v * mult;
	return 0;
bad:
	fprintf(stderr, "allocscope: %s: '%s' is not a byte count from 1 to %llu\n", opt, s,
		(unsigned long long)max);
	return -EINVAL;
}

int cli__parse_seconds(const char *opt, const char *s, double *out)
{
	double v, mult = 1;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		goto bad;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	if (*end || !(v > 0) || v * mult > 365.0 * 86400)
		goto bad;
	*out = v * mult;
	return 0;
bad:
	fprintf(stderr, "allocscope: %s: '%s' is not a positive duration (seconds, or 5m, 1h)\n",
		opt, s);
	return -EINVAL;
}

int cli__parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end || errno || *s == '-' || v < min || v > max) {
		fprintf(stderr, "allocscope: %s: '%s' is not a number from %lu to %lu\n", opt, s,
			min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int cli__parse_pid(const char *opt, const char *s, pid_t *out)
{
	unsigned long v;
	int err = cli__parse_uint(opt, s, 1, 4194304, &v);

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
