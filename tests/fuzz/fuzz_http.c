// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_http.c - what parses the HTTP side's text: listen addresses
 * (http__check_listen(), the "listen" key) and request targets, path and
 * query string, through the real server (libmicrohttpd in the daemon's
 * external epoll mode) over a loopback connection, the handler reading
 * the parameters the daemon's profile handler reads, with the parser it
 * reads them with (value__parse_n()). The first byte picks which; the rest is the text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "http.h"
#include "value.h"

static struct http *h;
static int handled;

/* Read as serve.c reads ?seconds= and ?pid=: a "%00" inside is refused, never cut at. */
static void check_param(const struct http_request *req, const char *key)
{
	size_t len;
	const char *v = http_request__query_n(req, key, &len);
	__u64 n;
	int err;

	if (!v)
		return;
	FUZZ_CHECK(strlen(v) <= len && len < 65536);
	FUZZ_CHECK(http_request__query(req, key) == v);
	err = value__parse_n(VALUE_NUMBER, v, len, 1, VALUE_PID_MAX, &n);
	if (strlen(v) != len)
		FUZZ_CHECK(err == -EINVAL);
	if (!err)
		FUZZ_CHECK(n >= 1 && n <= VALUE_PID_MAX);
}

static int handler(struct http_request *req, void *ctx)
{
	handled++;
	FUZZ_CHECK(http_request__path(req)[0] == '/');
	check_param(req, "seconds");
	check_param(req, "pid");
	check_param(req, "debug");
	return http__respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static int connect_to(unsigned short port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	FUZZ_CHECK(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FUZZ_CHECK(!connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	return fd;
}

/* Sends "GET TARGET HTTP/1.0", then runs the server until it closes the connection. */
static void request(const uint8_t *target, size_t len)
{
	static const char pre[] = "GET ", post[] = " HTTP/1.0\r\nHost: x\r\n\r\n";
	struct pollfd p[2];
	char buf[4096];
	int fd = connect_to(http__port(h)), turns = 0;

	FUZZ_CHECK(write(fd, pre, 4) == 4);
	FUZZ_CHECK(write(fd, target, len) == (ssize_t)len);
	FUZZ_CHECK(write(fd, post, sizeof(post) - 1) == sizeof(post) - 1);
	shutdown(fd, SHUT_WR);
	for (;;) {
		FUZZ_CHECK(!http__run(h));
		p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = http__fd(h), .events = POLLIN };
		FUZZ_CHECK(poll(p, 2, 100) >= 0);
		if ((p[0].revents & (POLLIN | POLLHUP)) && read(fd, buf, sizeof(buf)) <= 0)
			break;
		/* MHD answers or closes within a few turns; 100 s of them is a hang. */
		FUZZ_CHECK(++turns < 1000);
	}
	close(fd);
	FUZZ_CHECK(!http__run(h));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if (http__new("127.0.0.1:0", NULL, &h) || http__route(h, "/debug/pprof/heap", handler, NULL))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (!size)
		return 0;
	if (data[0] & 1) {
		s = fuzz_strndup(data + 1, size - 1);
		(void)http__check_listen(s);
		free(s);
		return 0;
	}
	/* A request line is one line: keep CR and LF out so that it stays one request. */
	for (size_t i = 1; i < size; i++)
		if (data[i] == '\r' || data[i] == '\n')
			return 0;
	request(data + 1, size - 1);
	return 0;
}
