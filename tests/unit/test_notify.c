// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_notify.c - sd_notify without libsystemd: a socket of ours plays systemd, at a path and
 * in the abstract namespace, and checks what arrives and from whom (SO_PASSCRED, as systemd).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "notify.h"

static char tmpdir[] = "/tmp/test_notify.XXXXXX";
static int rx = -1;

static void case_done(void)
{
	if (rx >= 0)
		close(rx);
	rx = -1;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

#define RUN_CASE(fn) do {	\
	RUN(fn);		\
	case_done();		\
} while (0)

/* Binds rx to name ("@..." = abstract) and points NOTIFY_SOCKET at it. */
static int listen_at(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int one = 1;

	rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0)
		return -errno;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if (bind(rx, (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) + n) ||
	    setsockopt(rx, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		return -errno;
	setenv("NOTIFY_SOCKET", name, 1);
	return 0;
}

/* One datagram into buf; its sender's pid into *pid. */
static int receive(char *buf, size_t size, pid_t *pid)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(rx, &msg, MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*pid = 0;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			*pid = ((struct ucred *)CMSG_DATA(c))->pid;
	return n;
}

static void test_abstract(void)
{
	char name[64], buf[256];
	pid_t pid;

	snprintf(name, sizeof(name), "@allocscope/test_notify/%d", getpid());
	ASSERT_EQ(listen_at(name), 0);
	ASSERT_EQ(notify__send("READY=1"), 1);
	ASSERT_EQ(receive(buf, sizeof(buf), &pid), 7);
	ASSERT_STREQ(buf, "READY=1");
	ASSERT_EQ(pid, getpid());
	ASSERT_EQ(notify__send("STATUS=serving\nWATCHDOG=1"), 1);
	ASSERT(receive(buf, sizeof(buf), &pid) > 0, "nothing received");
	ASSERT_STREQ(buf, "STATUS=serving\nWATCHDOG=1");
}

static void test_path(void)
{
	char path[128], buf[256];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/notify", tmpdir);
	ASSERT_EQ(listen_at(path), 0);
	ASSERT_EQ(notify__sendf("STATUS=%d targets, %s", 3, "exporting"), 1);
	ASSERT(receive(buf, sizeof(buf), &pid) > 0, "nothing received");
	ASSERT_STREQ(buf, "STATUS=3 targets, exporting");
	ASSERT_EQ(pid, getpid());
	ASSERT_EQ(notify__send("STOPPING=1"), 1);
	ASSERT(receive(buf, sizeof(buf), &pid) > 0, "nothing received");
	ASSERT_STREQ(buf, "STOPPING=1");
	unlink(path);
}

static void test_reloading(void)
{
	unsigned long long usec, now;
	char name[64], buf[256];
	struct timespec ts;
	pid_t pid;

	snprintf(name, sizeof(name), "@allocscope/test_notify/reload/%d", getpid());
	ASSERT_EQ(listen_at(name), 0);
	ASSERT_EQ(notify__reloading(), 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
	ASSERT(receive(buf, sizeof(buf), &pid) > 0, "nothing received");
	ASSERT_EQ(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	ASSERT(usec <= now && now - usec < 1000000, "MONOTONIC_USEC=%llu, now %llu", usec, now);
	ASSERT(!strchr(strchr(buf, '\n') + 1, '\n'), "trailing newline: '%s'", buf);
}

static void test_unset(void)
{
	ASSERT_EQ(notify__send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ASSERT_EQ(notify__send("READY=1"), 0);
}

static void test_errors(void)
{
	char path[200];

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	ASSERT_EQ(notify__send("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ASSERT_EQ(notify__send("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	ASSERT_EQ(notify__send("READY=1"), -EINVAL);
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	setenv("NOTIFY_SOCKET", path, 1);
	ASSERT_EQ(notify__send("READY=1"), -EINVAL);
	/* Nobody listens. */
	snprintf(path, sizeof(path), "%s/nobody", tmpdir);
	setenv("NOTIFY_SOCKET", path, 1);
	ASSERT_EQ(notify__send("READY=1"), -ENOENT);
	snprintf(path, sizeof(path), "@allocscope/test_notify/nobody/%d", getpid());
	setenv("NOTIFY_SOCKET", path, 1);
	ASSERT_EQ(notify__send("READY=1"), -ECONNREFUSED);
	ASSERT_EQ(notify__send(""), -EINVAL);
}

static void test_watchdog(void)
{
	static const char *const bad[] = { "", "abc", "-5", "10x", " 10", "0",
					   "99999999999999999999999" };
	char pid[32];
	size_t i;

	ASSERT_EQ(notify__watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ASSERT_EQ(notify__watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_EQ(notify__watchdog_usec(), 30000000);
	/* For another process (we were forked by the one systemd watches). */
	snprintf(pid, sizeof(pid), "%d", getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_EQ(notify__watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "junk", 1);
	ASSERT_EQ(notify__watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "", 1);
	ASSERT_EQ(notify__watchdog_usec(), 30000000);
	unsetenv("WATCHDOG_PID");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		ASSERT(notify__watchdog_usec() == 0, "WATCHDOG_USEC='%s' accepted", bad[i]);
	}
}

int main(void)
{
	t_suite = "notify";
	if (!mkdtemp(tmpdir)) {
		printf("FAIL notify/setup: %s\n", strerror(errno));
		return 1;
	}
	RUN_CASE(test_abstract);
	RUN_CASE(test_path);
	RUN_CASE(test_reloading);
	RUN_CASE(test_unset);
	RUN_CASE(test_errors);
	RUN_CASE(test_watchdog);
	rmdir(tmpdir);
	return TEST_EXIT();
}
