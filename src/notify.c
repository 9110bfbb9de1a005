// SPDX-License-Identifier: GPL-2.0-only
/* notify.c - sd_notify(3) as systemd's own sd_notify() sends it, for our one process. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

static int notify_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	/* systemd 254+ also speaks "vsock:CID:PORT", for VMs: not for a host daemon. */
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	/* An abstract name is counted, not terminated: its length must not include a NUL. */
	if (path[0] == '@')
		sun->sun_path[0] = '\0';
	*len = offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/');
	return 0;
}

int notify__send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd, err;

	if (!path || !*path)
		return 0;
	if (!state || !*state)
		return -EINVAL;
	err = notify_addr(path, &sun, &len);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = 1;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		err = -errno;
	close(fd);
	return err;
}

int notify__sendf(const char *fmt, ...)
{
	char *state;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vasprintf(&state, fmt, ap);
	va_end(ap);
	if (err < 0)
		return -ENOMEM;
	err = notify__send(state);
	free(state);
	return err;
}

int notify__reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return notify__sendf("RELOADING=1\nMONOTONIC_USEC=%llu",
			     (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000);
}

/* A positive decimal with nothing around it; 0 otherwise. */
static unsigned long long env_ull(const char *name)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno || *end ? 0 : v;
}

__u64 notify__watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");

	/* Set for a process we forked from, or for our parent: not ours to ping. */
	if (pid && *pid && env_ull("WATCHDOG_PID") != (unsigned long long)getpid())
		return 0;
	return env_ull("WATCHDOG_USEC");
}
