// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_http.c - the embedded HTTP server, driven the way the daemon drives it: one epoll loop
 * in this thread, real TCP clients written here on plain sockets.
 *
 * The clients are non-blocking: the loop runs the server until a client has what it waits for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "auth.h"
#include "http.h"

#define MAX_CLIENTS 32
#define PPROF_HEAP "/debug/pprof/heap"

struct client {
	int fd;
	char buf[16384];
	size_t len;
	bool eof;
};

/* A parsed response: pointers into the client's buffer. */
struct resp {
	int status;
	char *headers;		/* "Name: value\r\n"..., NUL-terminated */
	char *body;
	size_t body_len;
};

/* What a case holds; case_done() frees it whether the case passed or not. */
static struct {
	struct http *h;
	int ep;
	struct client c[MAX_CLIENTS];
	struct http_request *held[MAX_CLIENTS];
	int nr_held;
	int gone_calls;
	bool answer_in_gone, drop_in_gone;
	char seen_seconds[32], seen_debug[32];
	size_t seen_seconds_len;
	bool seen_gc;
	int slice_ms;		/* the longest a loop turn waits */
} f;

static void case_init(void)
{
	int i;

	memset(&f, 0, sizeof(f));
	f.ep = -1;
	f.slice_ms = 10;
	for (i = 0; i < MAX_CLIENTS; i++)
		f.c[i].fd = -1;
}

static void case_done(void)
{
	int i;

	http__free(f.h);
	/* What is still held outlives the server: completing it frees it. */
	for (i = 0; i < f.nr_held; i++)
		if (f.held[i])
			http__respond(f.held[i], 200, NULL, "", 0, NULL);
	for (i = 0; i < MAX_CLIENTS; i++)
		if (f.c[i].fd >= 0)
			close(f.c[i].fd);
	if (f.ep >= 0)
		close(f.ep);
	case_init();
}

#define RUN_CASE(fn) do {	\
	case_init();		\
	RUN(fn);		\
	case_done();		\
} while (0)

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* --- handlers --- */

static int h_heap(struct http_request *req, void *ctx)
{
	static const char body[] = "\x1f\x8b profile bytes";

	return http__respond(req, 200, "application/octet-stream", body, sizeof(body) - 1,
			     "Content-Disposition", "attachment; filename=\"heap\"", NULL);
}

static int h_query(struct http_request *req, void *ctx)
{
	const char *s = http_request__query_n(req, "seconds", &f.seen_seconds_len);
	const char *d = http_request__query(req, "debug");

	snprintf(f.seen_seconds, sizeof(f.seen_seconds), "%s", s ? s : "(null)");
	snprintf(f.seen_debug, sizeof(f.seen_debug), "%s", d ? d : "(null)");
	f.seen_gc = http_request__query(req, "gc") != NULL;
	return http__respond(req, 200, "text/plain", "ok", 2, NULL);
}

static int h_bad(struct http_request *req, void *ctx)
{
	return http__respond_error(req, 400, "invalid value for \"seconds\" - must be a positive "
				   "integer");
}

static int h_fail(struct http_request *req, void *ctx)
{
	return -ENOMEM;
}

static void on_gone(struct http_request *req, void *ctx)
{
	int i = (long)ctx;

	f.gone_calls++;
	if (f.answer_in_gone && f.held[i] == req) {
		f.held[i] = NULL;
		http__respond(req, 200, NULL, "", 0, NULL);
	}
	if (f.drop_in_gone && f.held[i] == req) {
		f.held[i] = NULL;
		http__drop(req);
	}
}

static int h_hold(struct http_request *req, void *ctx)
{
	int i = f.nr_held, err;

	if (i == MAX_CLIENTS)
		return -ENOSPC;
	err = http__suspend(req, on_gone, (void *)(long)i);
	if (!err)
		f.held[f.nr_held++] = req;
	return err;
}

/* Echoes ?id=N, so that concurrent clients can check they got their own answer. */
static int h_echo(struct http_request *req, void *ctx)
{
	const char *id = http_request__query(req, "id");
	char body[64];
	int n = snprintf(body, sizeof(body), "id=%s", id ? id : "");

	return http__respond(req, 200, "text/plain", body, n, NULL);
}

/* --- the loop and the clients --- */

static int start(const char *listen, const struct http_opts *opts)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err = http__new(listen, opts, &f.h);

	if (err)
		return err;
	err = http__route(f.h, PPROF_HEAP, h_heap, NULL) ?:
	      http__route(f.h, "/query", h_query, NULL) ?:
	      http__route(f.h, "/bad", h_bad, NULL) ?:
	      http__route(f.h, "/fail", h_fail, NULL) ?:
	      http__route(f.h, "/hold", h_hold, NULL) ?:
	      http__route(f.h, "/echo", h_echo, NULL);
	if (err)
		return err;
	f.ep = epoll_create1(EPOLL_CLOEXEC);
	if (f.ep < 0 || epoll_ctl(f.ep, EPOLL_CTL_ADD, http__fd(f.h), &ev))
		return -errno;
	return 0;
}

/* One turn of the daemon's loop, waiting at most max_ms. */
static int loop_once(int max_ms)
{
	struct epoll_event ev;
	int t = http__timeout_ms(f.h);

	if (t < 0 || t > max_ms)
		t = max_ms;
	if (epoll_wait(f.ep, &ev, 1, t) < 0 && errno != EINTR)
		return -errno;
	return http__run(f.h);
}

static void client_read(struct client *c)
{
	ssize_t n;

	while (!c->eof && c->len < sizeof(c->buf) - 1) {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
		if (n > 0)
			c->len += n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->eof = true;
		else
			break;
	}
	c->buf[c->len] = '\0';
}

/* Runs the loop until every client in [0, n) reached EOF, or ms passed. */
static bool pump_until_eof(int n, int ms)
{
	long end = now_ms() + ms;
	bool all;
	int i;

	do {
		if (loop_once(f.slice_ms))
			return false;
		all = true;
		for (i = 0; i < n; i++) {
			client_read(&f.c[i]);
			all &= f.c[i].eof;
		}
	} while (!all && now_ms() < end);
	return all;
}

/* Runs the loop for ms, reading clients [0, n). */
static void pump_for(int n, int ms)
{
	long end = now_ms() + ms;
	int i;

	while (now_ms() < end) {
		loop_once(10);
		for (i = 0; i < n; i++)
			client_read(&f.c[i]);
	}
}

static int client_connect_to(int i, int family, const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(http__port(f.h));
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(http__port(f.h));
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Completes in the kernel's backlog: the server accepts it in a later loop turn. */
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -errno;
	}
	f.c[i].fd = fd;
	return 0;
}

/* Client i from source address src (a 127.0.0.0/8 address: another client), or on a Unix socket. */
static int client_connect_from(int i, const char *src, const char *unix_path)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(http__port(f.h)) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	fd = socket(unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	inet_pton(AF_INET, src ? src : "127.0.0.1", &from.sin_addr);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", unix_path ? unix_path : "");
	if (unix_path ? connect(fd, (struct sockaddr *)&sun, sizeof(sun)) :
	    bind(fd, (struct sockaddr *)&from, sizeof(from)) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -errno;
	}
	f.c[i].fd = fd;
	return 0;
}

static int client_send(int i, const char *fmt, ...)
{
	char req[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	return send(f.c[i].fd, req, n, MSG_NOSIGNAL) == n ? 0 : -EIO;
}

/* Client i: METHOD TARGET HTTP/1.1 with Connection: close. */
static int client_request(int i, const char *method, const char *target)
{
	int err = client_connect_to(i, AF_INET, "127.0.0.1");

	return err ?: client_send(i, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
				  method, target);
}

static int parse_resp(struct client *c, struct resp *r)
{
	char *eoh = strstr(c->buf, "\r\n\r\n");
	char *eol = strstr(c->buf, "\r\n");

	memset(r, 0, sizeof(*r));
	if (!eoh || sscanf(c->buf, "HTTP/1.1 %d ", &r->status) != 1)
		return -EINVAL;
	eoh[2] = '\0';			/* headers end with their last "\r\n" */
	r->headers = eol + 2;
	r->body = eoh + 4;
	r->body_len = c->len - (r->body - c->buf);
	return 0;
}

/* The value of header name (case-insensitive), in a static buffer; NULL if absent. */
static const char *header(const struct resp *r, const char *name)
{
	static char value[256];
	size_t n = strlen(name);
	const char *p;

	for (p = r->headers; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			snprintf(value, sizeof(value), "%.*s", (int)strcspn(p, "\r"), p);
			return value;
		}
	}
	return NULL;
}

/* One request on client 0, to the end: 0 and *r, or -errno. */
static int fetch(const char *method, const char *target, struct resp *r)
{
	int err;

	f.c[0].len = 0;
	f.c[0].eof = false;
	if (f.c[0].fd >= 0)
		close(f.c[0].fd);
	f.c[0].fd = -1;
	err = client_request(0, method, target);
	if (err)
		return err;
	if (!pump_until_eof(1, 5000))
		return -ETIMEDOUT;
	return parse_resp(&f.c[0], r);
}

#define ASSERT_HEADER(r, name, want) do {					\
	const char *_v = header(r, name);					\
	ASSERT(_v && !strcmp(_v, want), "%s: '%s', want '%s'", name,		\
	       _v ? _v : "(none)", want);					\
} while (0)

#define ASSERT_GO_ERROR(r, code, msg) do {					\
	ASSERT_EQ((r)->status, code);						\
	ASSERT_HEADER(r, "Content-Type", "text/plain; charset=utf-8");		\
	ASSERT_HEADER(r, "X-Go-Pprof", "1");					\
	ASSERT_HEADER(r, "X-Content-Type-Options", "nosniff");		\
	ASSERT_STREQ((r)->body, msg "\n");					\
} while (0)

/* --- cases --- */

static void test_get(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT(http__port(f.h) != 0, "no port");
	ASSERT_EQ(fetch("GET", PPROF_HEAP, &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_HEADER(&r, "Content-Type", "application/octet-stream");
	ASSERT_HEADER(&r, "Content-Disposition", "attachment; filename=\"heap\"");
	ASSERT_HEADER(&r, "X-Content-Type-Options", "nosniff");
	ASSERT_HEADER(&r, "Content-Length", "16");
	ASSERT_EQ(r.body_len, 16);
	ASSERT(!memcmp(r.body, "\x1f\x8b profile bytes", 16), "body");
	ASSERT(!header(&r, "X-Go-Pprof"), "X-Go-Pprof on a success");

	/* A GET with a body: served, the body ignored. */
	ASSERT_EQ(client_connect_to(1, AF_INET, "127.0.0.1"), 0);
	ASSERT_EQ(client_send(1, "GET /echo?id=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
			      "Content-Length: 3\r\n\r\nabc"), 0);
	f.c[0].eof = true;
	ASSERT(pump_until_eof(2, 5000), "no answer to a GET with a body");
	ASSERT_EQ(parse_resp(&f.c[1], &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_STREQ(r.body, "id=4");
}

static void test_head(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("HEAD", PPROF_HEAP, &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_HEADER(&r, "Content-Type", "application/octet-stream");
	ASSERT_HEADER(&r, "Content-Length", "16");
	ASSERT_EQ(r.body_len, 0);
}

static void test_query(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("GET", "/query?seconds=5&debug&seconds=7", &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_STREQ(f.seen_seconds, "5");
	ASSERT_STREQ(f.seen_debug, "");
	ASSERT(!f.seen_gc, "gc present");
	ASSERT_EQ(fetch("GET", "/query?seconds=%31%30", &r), 0);
	ASSERT_STREQ(f.seen_seconds, "10");
	ASSERT_STREQ(f.seen_debug, "(null)");
}

/* "%00" decodes to a NUL inside the value: its length says so, for value__parse_n(). */
static void test_query_nul(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("GET", "/query?seconds=5%00", &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_STREQ(f.seen_seconds, "5");
	ASSERT_EQ(f.seen_seconds_len, 2);
	ASSERT_EQ(fetch("GET", "/query?seconds=5%007", &r), 0);
	ASSERT_EQ(f.seen_seconds_len, 3);
	ASSERT_EQ(fetch("GET", "/query?seconds=%2B5", &r), 0);
	ASSERT_STREQ(f.seen_seconds, "+5");
	ASSERT_EQ(f.seen_seconds_len, 2);
	ASSERT_EQ(fetch("GET", "/query?seconds", &r), 0);
	ASSERT_STREQ(f.seen_seconds, "");
	ASSERT_EQ(f.seen_seconds_len, 0);
}

static void test_not_found(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("GET", "/debug/pprof/nope", &r), 0);
	ASSERT_GO_ERROR(&r, 404, "Unknown profile");
	ASSERT_EQ(fetch("GET", PPROF_HEAP "/", &r), 0);
	ASSERT_GO_ERROR(&r, 404, "Unknown profile");
	ASSERT_EQ(fetch("GET", "/", &r), 0);
	ASSERT_GO_ERROR(&r, 404, "404 page not found");
	ASSERT_EQ(fetch("HEAD", "/nope", &r), 0);
	ASSERT_EQ(r.status, 404);
	ASSERT_EQ(r.body_len, 0);
}

static void test_method(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("POST", PPROF_HEAP, &r), 0);
	ASSERT_GO_ERROR(&r, 405, "Method Not Allowed");
	ASSERT_HEADER(&r, "Allow", "GET, HEAD");
	ASSERT_EQ(fetch("DELETE", "/nope", &r), 0);
	ASSERT_EQ(r.status, 405);

	/* With a body, which the server must not wait for. */
	ASSERT_EQ(client_connect_to(1, AF_INET, "127.0.0.1"), 0);
	ASSERT_EQ(client_send(1, "POST /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
			      "Content-Length: 5\r\n\r\nhello"), 0);
	ASSERT(pump_until_eof(2, 5000), "no answer to a POST with a body");
	ASSERT_EQ(parse_resp(&f.c[1], &r), 0);
	ASSERT_EQ(r.status, 405);
	ASSERT_EQ(f.nr_held, 0);
}

static void test_errors(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("GET", "/bad", &r), 0);
	ASSERT_GO_ERROR(&r, 400, "invalid value for \"seconds\" - must be a positive integer");
	/* A handler that fails without answering. */
	ASSERT_EQ(fetch("GET", "/fail", &r), 0);
	ASSERT_GO_ERROR(&r, 500, "Cannot allocate memory");
}

/* Two requests on one connection, one after the other, as Go's client sends them. */
static void test_keepalive(void)
{
	struct resp r;
	long end;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(client_connect_to(0, AF_INET, "127.0.0.1"), 0);
	ASSERT_EQ(client_send(0, "GET /echo?id=1 HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	for (end = now_ms() + 5000; !strstr(f.c[0].buf, "id=1") && now_ms() < end;) {
		loop_once(10);
		client_read(&f.c[0]);
	}
	ASSERT(!f.c[0].eof, "connection closed after the first answer");
	ASSERT_EQ(parse_resp(&f.c[0], &r), 0);
	ASSERT(!header(&r, "Connection"), "Connection: %s", header(&r, "Connection"));
	f.c[0].len = 0;
	ASSERT_EQ(client_send(0, "GET /echo?id=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
		  0);
	ASSERT(pump_until_eof(1, 5000), "no EOF");
	ASSERT_EQ(parse_resp(&f.c[0], &r), 0);
	ASSERT_STREQ(r.body, "id=2");
}

static void test_suspend(void)
{
	struct http_stats st;
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(client_request(0, "GET", "/hold?seconds=30"), 0);
	pump_for(1, 300);
	ASSERT_EQ(f.nr_held, 1);
	ASSERT_EQ(f.c[0].len, 0);
	http__stats(f.h, &st);
	ASSERT_EQ(st.held, 1);
	/* The loop serves others meanwhile. */
	ASSERT_EQ(client_request(1, "GET", "/echo?id=7"), 0);
	ASSERT(pump_until_eof(2, 300) == false && f.c[1].eof, "other request not served");
	ASSERT(strstr(f.c[1].buf, "id=7"), "other answer: %s", f.c[1].buf);

	/* Completed from the loop, later: the query is no longer needed. */
	ASSERT_EQ(http__respond(f.held[0], 200, "application/octet-stream", "delta", 5,
				"Content-Disposition", "attachment; filename=\"heap-delta\"", NULL),
		  0);
	f.held[0] = NULL;
	ASSERT(pump_until_eof(1, 5000), "held request not answered");
	ASSERT_EQ(parse_resp(&f.c[0], &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_HEADER(&r, "Content-Disposition", "attachment; filename=\"heap-delta\"");
	ASSERT_STREQ(r.body, "delta");
	http__stats(f.h, &st);
	ASSERT_EQ(st.held, 0);
	ASSERT_EQ(st.gone, 0);
	ASSERT_EQ(f.gone_calls, 0);
}

static void test_suspend_error(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(client_request(0, "GET", "/hold"), 0);
	pump_for(1, 100);
	ASSERT_EQ(f.nr_held, 1);
	ASSERT_EQ(http__respond_error(f.held[0], 500, "collection failed: %s", "boom"), 0);
	f.held[0] = NULL;
	ASSERT(pump_until_eof(1, 5000), "held request not answered");
	ASSERT_EQ(parse_resp(&f.c[0], &r), 0);
	ASSERT_GO_ERROR(&r, 500, "collection failed: boom");
}

/* The client leaves while its request is held: we are told, and completing it is safe. */
static void test_suspend_gone(void)
{
	struct http_stats st;
	long end;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(client_request(0, "GET", "/hold"), 0);
	pump_for(1, 100);
	ASSERT_EQ(f.nr_held, 1);
	close(f.c[0].fd);
	f.c[0].fd = -1;
	for (end = now_ms() + 5000; !f.gone_calls && now_ms() < end;)
		loop_once(10);
	ASSERT_EQ(f.gone_calls, 1);
	ASSERT(http_request__gone(f.held[0]), "not gone");
	ASSERT(http_request__query(f.held[0], "seconds") == NULL, "query of a gone request");
	ASSERT_STREQ(http_request__path(f.held[0]), "/hold");
	/* MHD closes the connection without waiting for our answer. */
	for (end = now_ms() + 5000; now_ms() < end;) {
		loop_once(10);
		http__stats(f.h, &st);
		if (!st.open)
			break;
	}
	ASSERT_EQ(st.open, 0);
	ASSERT_EQ(st.gone, 1);
	ASSERT_EQ(st.held, 1);
	ASSERT_EQ(http__respond(f.held[0], 200, NULL, "late", 4, NULL), -ECONNRESET);
	f.held[0] = NULL;
	http__stats(f.h, &st);
	ASSERT_EQ(st.held, 0);
	ASSERT_EQ(f.gone_calls, 1);
}

/* Gone and answered at once, before MHD closed the connection; the callback answers. */
static void test_suspend_gone_answer_in_callback(void)
{
	struct http_stats st;
	long end;
	int i;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	f.answer_in_gone = true;
	for (i = 0; i < 3; i++)
		ASSERT_EQ(client_request(i, "GET", "/hold"), 0);
	pump_for(3, 100);
	ASSERT_EQ(f.nr_held, 3);
	for (i = 0; i < 3; i++) {
		/* A client that half-closes is gone too, as net/http sees it. */
		if (i == 1)
			shutdown(f.c[i].fd, SHUT_WR);
		else
			close(f.c[i].fd), f.c[i].fd = -1;
	}
	for (end = now_ms() + 5000; f.gone_calls < 3 && now_ms() < end;)
		loop_once(10);
	ASSERT_EQ(f.gone_calls, 3);
	for (i = 0; i < 3; i++)
		ASSERT(f.held[i] == NULL, "request %d not answered in its callback", i);
	pump_for(3, 100);
	http__stats(f.h, &st);
	ASSERT_EQ(st.held, 0);
	ASSERT_EQ(st.open, 0);
	ASSERT(f.c[1].eof && f.c[1].len == 0, "half-closed client got an answer");
}

/* Held requests given up: the live one's client sees the connection close, unanswered. */
static void test_drop(void)
{
	struct http_stats st;
	long end;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	f.drop_in_gone = true;
	ASSERT_EQ(client_request(0, "GET", "/hold"), 0);
	ASSERT_EQ(client_request(1, "GET", "/hold"), 0);
	pump_for(2, 100);
	ASSERT_EQ(f.nr_held, 2);
	http__drop(f.held[0]);
	f.held[0] = NULL;
	f.c[1].eof = true;
	ASSERT(pump_until_eof(2, 5000), "dropped request's connection not closed");
	ASSERT_EQ(f.c[0].len, 0);
	close(f.c[1].fd);
	f.c[1].fd = -1;
	for (end = now_ms() + 5000; now_ms() < end; loop_once(10)) {
		http__stats(f.h, &st);
		if (!st.open && !st.held)
			break;
	}
	ASSERT_EQ(f.gone_calls, 1);
	ASSERT(f.held[1] == NULL, "not dropped in its callback");
	ASSERT_EQ(st.held, 0);
	ASSERT_EQ(st.open, 0);
}

/*
 * Requests held when the server is freed - live, gone but not yet closed by MHD, gone and
 * closed: completing them afterwards is safe, and nobody is called back.
 */
static void test_free_with_held(void)
{
	struct http_stats st;
	long end;
	int i;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(client_request(i, "GET", "/hold"), 0);
	pump_for(3, 100);
	ASSERT_EQ(f.nr_held, 3);
	close(f.c[2].fd);
	f.c[2].fd = -1;
	for (end = now_ms() + 5000; now_ms() < end; loop_once(10)) {
		http__stats(f.h, &st);
		if (st.open == 2)
			break;
	}
	ASSERT_EQ(f.gone_calls, 1);
	ASSERT_EQ(st.open, 2);
	close(f.c[1].fd);
	f.c[1].fd = -1;
	usleep(50000);		/* the hang-up is there, but nobody ran the loop */
	http__free(f.h);
	f.h = NULL;
	ASSERT_EQ(f.gone_calls, 1);
	for (i = 0; i < 3; i++)
		ASSERT(http_request__gone(f.held[i]), "%d not gone after http__free()", i);
	ASSERT_EQ(http__respond(f.held[0], 200, NULL, "x", 1, NULL), -ECONNRESET);
	ASSERT_EQ(http__respond_error(f.held[1], 503, "shutting down"), -ECONNRESET);
	ASSERT_EQ(http__respond(f.held[2], 200, NULL, "x", 1, NULL), -ECONNRESET);
	f.held[0] = f.held[1] = f.held[2] = NULL;
	client_read(&f.c[0]);
	ASSERT(f.c[0].eof && !f.c[0].len, "client of a freed server not closed");
}

/*
 * Every event wakes the loop by itself: a new request, an answer given from outside the loop,
 * a client leaving. The loop here sleeps as long as http__timeout_ms() allows (with 30 s
 * connection timeouts), so a missed wake-up shows as a delay.
 */
static void test_wakeups(void)
{
	long t0, end;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	f.slice_ms = 3000;
	t0 = now_ms();
	ASSERT_EQ(client_request(0, "GET", "/echo?id=1"), 0);
	ASSERT(pump_until_eof(1, 5000), "not answered");
	ASSERT(now_ms() - t0 < 1000, "answered after %ld ms", now_ms() - t0);

	ASSERT_EQ(client_request(1, "GET", "/hold"), 0);
	ASSERT_EQ(client_request(2, "GET", "/hold"), 0);
	while (f.nr_held < 2 && now_ms() - t0 < 5000)
		loop_once(f.slice_ms);
	ASSERT_EQ(f.nr_held, 2);
	t0 = now_ms();
	ASSERT_EQ(http__respond(f.held[0], 200, NULL, "", 0, NULL), 0);
	f.held[0] = NULL;
	f.c[0].eof = f.c[2].eof = true;
	ASSERT(pump_until_eof(3, 5000), "held request not answered");
	ASSERT(now_ms() - t0 < 1000, "held request answered after %ld ms", now_ms() - t0);

	t0 = now_ms();
	close(f.c[2].fd);
	f.c[2].fd = -1;
	for (end = t0 + 5000; !f.gone_calls && now_ms() < end;)
		loop_once(f.slice_ms);
	ASSERT_EQ(f.gone_calls, 1);
	ASSERT(now_ms() - t0 < 1000, "gone seen after %ld ms", now_ms() - t0);
	ASSERT_EQ(http__timeout_ms(f.h) > 1000 || http__timeout_ms(f.h) == -1, 1);
}

static void test_concurrent(void)
{
	/* All from 127.0.0.1: more than one client's default share. */
	struct http_opts o = { .max_per_client = 32 };
	struct resp r;
	char want[16];
	int i, j;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	/* Odd clients are held, even ones answered at once, all in flight together. */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(client_connect_to(i, AF_INET, "127.0.0.1"), 0);
		ASSERT_EQ(client_send(i, "GET /%s?id=%d HTTP/1.1\r\nHost: t\r\n"
				      "Connection: close\r\n\r\n", i % 2 ? "hold" : "echo", i), 0);
	}
	pump_for(20, 300);
	ASSERT_EQ(f.nr_held, 10);
	for (i = 0; i < 20; i += 2)
		ASSERT(f.c[i].eof, "client %d not answered", i);
	for (i = 1; i < 20; i += 2)
		ASSERT(!f.c[i].len, "held client %d answered", i);
	/* Completed in reverse order, each with the id its own request carried. */
	for (j = f.nr_held - 1; j >= 0; j--) {
		int n = snprintf(want, sizeof(want), "held=%d", j);

		ASSERT_EQ(http__respond(f.held[j], 200, "text/plain", want, n, NULL), 0);
		f.held[j] = NULL;
	}
	ASSERT(pump_until_eof(20, 5000), "not every client answered");
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(parse_resp(&f.c[i], &r), 0);
		ASSERT_EQ(r.status, 200);
		snprintf(want, sizeof(want), "id=%d", i);
		if (!(i % 2))
			ASSERT_STREQ(r.body, want);
		else
			ASSERT(!strncmp(r.body, "held=", 5), "client %d: %s", i, r.body);
	}
}

static void test_connection_limit(void)
{
	struct http_opts o = { .max_connections = 2 };
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	ASSERT_EQ(client_request(0, "GET", "/hold"), 0);
	ASSERT_EQ(client_request(1, "GET", "/hold"), 0);
	pump_for(2, 100);
	ASSERT_EQ(f.nr_held, 2);
	/* A third client is not served while two connections are open... */
	ASSERT_EQ(client_request(2, "GET", "/echo?id=3"), 0);
	pump_for(3, 300);
	ASSERT(!strstr(f.c[2].buf, "id=3"), "served beyond the limit");
	ASSERT(!f.c[2].eof, "closed beyond the limit: MHD should leave it in the backlog");
	/* ...and is, once one of them ends. */
	ASSERT_EQ(http__respond(f.held[0], 200, NULL, "", 0, NULL), 0);
	f.held[0] = NULL;
	f.c[1].eof = true;
	ASSERT(pump_until_eof(3, 5000), "not answered after a slot freed");
	ASSERT_EQ(parse_resp(&f.c[2], &r), 0);
	ASSERT_STREQ(r.body, "id=3");
}

/* A client at its limit: its oldest idle connection makes room; another client is apart. */
static void test_per_client_cut(void)
{
	struct http_opts o = { .max_per_client = 2 };
	struct http_stats st;
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	ASSERT_EQ(client_connect_from(0, NULL, NULL), 0);
	ASSERT_EQ(client_connect_from(1, NULL, NULL), 0);
	ASSERT_EQ(client_connect_from(2, "127.0.0.2", NULL), 0);
	ASSERT_EQ(client_connect_from(3, "127.0.0.2", NULL), 0);
	pump_for(4, 100);
	ASSERT_EQ(client_connect_from(4, NULL, NULL), 0);
	ASSERT_EQ(client_send(4, "GET /echo?id=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
		  0);
	pump_for(5, 300);
	ASSERT(f.c[4].eof, "the newcomer was not answered");
	ASSERT_EQ(parse_resp(&f.c[4], &r), 0);
	ASSERT_STREQ(r.body, "id=4");
	ASSERT(f.c[0].eof && !f.c[0].len, "the oldest idle connection was not closed");
	ASSERT(!f.c[1].eof && !f.c[2].eof && !f.c[3].eof, "another connection was closed");
	http__stats(f.h, &st);
	ASSERT_EQ(st.cut_client, 1);
	ASSERT_EQ(st.cut_full, 0);
}

/*
 * Connections whose requests may be on their way (bytes unread) are not cut for a newcomer:
 * it is let in over the limit, and the limit restored, oldest first, once MHD read them.
 */
static void test_per_client_over(void)
{
	struct http_opts o = { .max_per_client = 2 };
	struct http_stats st;
	int i, open = 0;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	/* all three in the kernel's backlog before the server's first turn */
	ASSERT_EQ(client_connect_from(0, NULL, NULL), 0);
	ASSERT_EQ(client_send(0, "GET /echo HTTP/1.1\r\n"), 0);
	ASSERT_EQ(client_connect_from(1, NULL, NULL), 0);
	ASSERT_EQ(client_send(1, "GET /echo HTTP/1.1\r\n"), 0);
	ASSERT_EQ(client_connect_from(2, NULL, NULL), 0);
	pump_for(3, 300);
	http__stats(f.h, &st);
	ASSERT_EQ(st.refused, 0);
	ASSERT_EQ(st.cut_client, 1);
	for (i = 0; i < 3; i++)
		open += !f.c[i].eof;
	ASSERT_EQ(open, 2);
	ASSERT(f.c[0].eof, "not the oldest was cut");
}

/* A client whose connections are all busy: its newcomer is refused, others are served. */
static void test_per_client_busy(void)
{
	struct http_opts o = { .max_per_client = 2 };
	struct http_stats st;
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	ASSERT_EQ(client_request(0, "GET", "/hold"), 0);
	ASSERT_EQ(client_request(1, "GET", "/hold"), 0);
	pump_for(2, 100);
	ASSERT_EQ(f.nr_held, 2);
	ASSERT_EQ(client_request(2, "GET", "/echo?id=2"), 0);
	ASSERT_EQ(client_connect_from(3, "127.0.0.2", NULL), 0);
	ASSERT_EQ(client_send(3, "GET /echo?id=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
		  0);
	pump_for(4, 300);
	ASSERT(f.c[2].eof && !f.c[2].len, "a third connection of a busy client was served");
	ASSERT(f.c[3].eof, "another client was not served");
	ASSERT_EQ(parse_resp(&f.c[3], &r), 0);
	ASSERT_STREQ(r.body, "id=3");
	ASSERT_EQ(f.nr_held, 2);
	http__stats(f.h, &st);
	ASSERT_EQ(st.refused, 1);
}

/* A header line every 200 ms keeps MHD's idle timeout away, not the header deadline. */
static void test_header_deadline(void)
{
	struct http_opts o = { .header_timeout_s = 1, .idle_timeout_s = 30 };
	struct http_stats st;
	long t0 = now_ms(), t;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	ASSERT_EQ(client_connect_from(0, NULL, NULL), 0);
	ASSERT_EQ(client_send(0, "GET /echo HTTP/1.1\r\n"), 0);
	while (!f.c[0].eof && now_ms() - t0 < 5000) {
		(void)client_send(0, "X-Slow: 1\r\n");
		pump_for(1, 200);
	}
	t = now_ms() - t0;
	ASSERT(f.c[0].eof, "a slow client was not cut in 5 s");
	ASSERT(t >= 900, "cut after %ld ms, before its deadline", t);
	http__stats(f.h, &st);
	ASSERT_EQ(st.cut_timeout, 1);
}

/* Credentials: 401 with a challenge without them; a bearer token or basic auth with. */
static void test_auth(void)
{
	char path[] = "/tmp/test_http_auth.XXXXXX", msg[256];
	static const char creds[] = "# x\nbearer tok3n\nbasic alice:pw\n";
	struct http_opts o = { 0 };
	struct auth *a = NULL;
	struct resp r;
	int fd = mkstemp(path), i;
	static const struct {
		const char *hdr;
		int status;
	} cases[] = {
		{ "", 401 },
		{ "Authorization: Bearer tok3n\r\n", 200 },
		{ "Authorization: Bearer tok3\r\n", 401 },
		{ "Authorization: Bearer tok3nn\r\n", 401 },
		{ "Authorization: Basic YWxpY2U6cHc=\r\n", 200 },		/* alice:pw */
		{ "Authorization: Basic YWxpY2U6cHg=\r\n", 401 },		/* alice:px */
		{ "Authorization: Basic tok3n\r\n", 401 },
	};

	ASSERT(fd >= 0, "mkstemp");
	ASSERT_EQ(write(fd, creds, sizeof(creds) - 1), (ssize_t)sizeof(creds) - 1);
	close(fd);
	/* mkstemp makes it 0600: a mode others can read is refused */
	chmod(path, 0640);
	ASSERT_EQ(auth__load(path, &a, msg, sizeof(msg)), -EPERM);
	ASSERT(strstr(msg, "chmod 600"), "%s", msg);
	chmod(path, 0600);
	ASSERT_EQ(auth__load(path, &a, msg, sizeof(msg)), 0);
	unlink(path);
	o.auth = a;
	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		memset(&f.c[i], 0, sizeof(f.c[i]));
		ASSERT_EQ(client_connect_from(i, NULL, NULL), 0);
		ASSERT_EQ(client_send(i, "GET /echo?id=%d HTTP/1.1\r\nHost: t\r\n%s"
				      "Connection: close\r\n\r\n", i, cases[i].hdr), 0);
		ASSERT(pump_until_eof(i + 1, 5000), "case %d not answered", i);
		ASSERT_EQ(parse_resp(&f.c[i], &r), 0);
		ASSERT(r.status == cases[i].status, "case %d: %d, want %d", i, r.status,
		       cases[i].status);
		if (r.status == 401)
			ASSERT_HEADER(&r, "WWW-Authenticate", "Basic realm=\"allocscope\", "
				      "charset=\"UTF-8\"");
	}
	http__free(f.h);
	f.h = NULL;
	auth__free(a);
}

/* A Unix socket with its mode, served without credentials, removed at the end. */
static void test_unix_socket(void)
{
	char dir[] = "/tmp/test_http_unix.XXXXXX", path[64];
	struct http_opts o = { .unix_mode = 0600, .unix_gid = (gid_t)-1 };
	struct stat st;
	struct resp r;

	ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/s", dir);
	o.unix_path = path;
	ASSERT_EQ(start(NULL, &o), 0);
	ASSERT_EQ(http__port(f.h), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT(S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0600, "mode %o", st.st_mode);
	ASSERT_EQ(client_connect_from(0, NULL, path), 0);
	ASSERT_EQ(client_send(0, "GET /echo?id=u HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
		  0);
	ASSERT(pump_until_eof(1, 5000), "not answered on the Unix socket");
	ASSERT_EQ(parse_resp(&f.c[0], &r), 0);
	ASSERT_STREQ(r.body, "id=u");
	http__free(f.h);
	f.h = NULL;
	ASSERT(stat(path, &st) && errno == ENOENT, "socket left behind");
	/* not a socket there: not ours to replace */
	ASSERT_EQ(mkdir(path, 0700), 0);
	ASSERT_EQ(start(NULL, &o), -EEXIST);
	rmdir(path);
	rmdir(dir);
}

static void test_timeout(void)
{
	struct http_opts o = { .idle_timeout_s = 1 };
	long t0;

	ASSERT_EQ(start("127.0.0.1:0", &o), 0);
	ASSERT_EQ(client_connect_to(0, AF_INET, "127.0.0.1"), 0);
	ASSERT_EQ(client_send(0, "GET /echo HTTP/1.1\r\n"), 0);	/* and never ends it */
	t0 = now_ms();
	ASSERT(pump_until_eof(1, 5000), "idle connection not closed");
	ASSERT(now_ms() - t0 >= 900, "closed after %ld ms", now_ms() - t0);
	/* Held requests do not time out. */
	ASSERT_EQ(client_request(1, "GET", "/hold"), 0);
	pump_for(2, 1800);
	ASSERT_EQ(f.nr_held, 1);
	ASSERT(!f.c[1].eof, "held request timed out");
}

static void test_counts_cb(const char *path, unsigned int status, __u64 n, void *ctx)
{
	char *out = ctx;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%s %u %llu;", path, status, (unsigned long long)n);
}

static void test_counts(void)
{
	struct http_stats st;
	char out[512] = "";
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(fetch("GET", PPROF_HEAP, &r), 0);
	ASSERT_EQ(fetch("HEAD", PPROF_HEAP "?x=1", &r), 0);
	ASSERT_EQ(fetch("POST", PPROF_HEAP, &r), 0);
	ASSERT_EQ(fetch("GET", "/nope", &r), 0);
	ASSERT_EQ(fetch("GET", "/bad", &r), 0);
	http__for_each_count(f.h, test_counts_cb, out);
	ASSERT_STREQ(out, "other 404 1;" PPROF_HEAP " 200 2;" PPROF_HEAP " 405 1;/bad 400 1;");
	http__stats(f.h, &st);
	ASSERT_EQ(st.connections, 5);
}

static void test_addresses(void)
{
	static const char *const bad[] = {
		"", "6060", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:+80", "127.0.0.1:80x", "::1:6060", "[::1]", "[::1:6060", "[]:80",
		"example.com:80", "1.2.3:80", "[127.0.0.1]:80",
	};
	static const char *const good[] = {
		"127.0.0.1:6060", "0.0.0.0:0", "[::1]:6060", "[::]:80", ":6060", ":0",
		"localhost:6060", "[fe80::1]:65535",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT(http__check_listen(bad[i]) == -EINVAL, "'%s' accepted", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ASSERT(http__check_listen(good[i]) == 0, "'%s' refused", good[i]);
	ASSERT_EQ(http__new("127.0.0.1", NULL, &f.h), -EINVAL);
	ASSERT(f.h == NULL, "out set on failure");
	/* TEST-NET-1 is on no interface of this machine. */
	ASSERT_EQ(http__new("192.0.2.1:0", NULL, &f.h), -EADDRNOTAVAIL);
}

static void test_port_in_use(void)
{
	struct http *second = NULL;
	char addr[32];

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", http__port(f.h));
	ASSERT_EQ(http__new(addr, NULL, &second), -EADDRINUSE);
	ASSERT(second == NULL, "out set on failure");
}

static bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));

	if (fd >= 0)
		close(fd);
	return ok;
}

/* ":PORT" serves IPv4 and IPv6; "[::1]:PORT" IPv6 only. */
static void test_any_address(void)
{
	struct resp r;
	int i;

	if (!have_ipv6())
		SKIP_CASE("no IPv6 loopback");
	ASSERT_EQ(start(":0", NULL), 0);
	ASSERT_EQ(client_connect_to(1, AF_INET, "127.0.0.1"), 0);
	ASSERT_EQ(client_connect_to(2, AF_INET6, "::1"), 0);
	for (i = 1; i <= 2; i++)
		ASSERT_EQ(client_send(i, "GET /echo?id=%d HTTP/1.1\r\nHost: t\r\n"
				      "Connection: close\r\n\r\n", i), 0);
	f.c[0].eof = true;
	ASSERT(pump_until_eof(3, 5000), "not answered");
	for (i = 1; i <= 2; i++) {
		ASSERT_EQ(parse_resp(&f.c[i], &r), 0);
		ASSERT_EQ(r.status, 200);
	}
	http__free(f.h);
	f.h = NULL;
	close(f.ep);
	f.ep = -1;
	ASSERT_EQ(start("[::1]:0", NULL), 0);
	ASSERT_EQ(client_connect_to(3, AF_INET, "127.0.0.1"), -ECONNREFUSED);
	ASSERT_EQ(client_connect_to(3, AF_INET6, "::1"), 0);
	ASSERT_EQ(client_send(3, "GET " PPROF_HEAP " HTTP/1.0\r\n\r\n"), 0);
	for (i = 0; i < 3; i++)
		f.c[i].eof = true;
	ASSERT(pump_until_eof(4, 5000), "not answered on ::1");
	ASSERT_EQ(parse_resp(&f.c[3], &r), 0);
	ASSERT_EQ(r.status, 200);
}

static void test_route_replace(void)
{
	struct resp r;

	ASSERT_EQ(start("127.0.0.1:0", NULL), 0);
	ASSERT_EQ(http__route(f.h, "relative", h_echo, NULL), -EINVAL);
	ASSERT_EQ(http__route(f.h, PPROF_HEAP, h_bad, NULL), 0);
	ASSERT_EQ(http__route(f.h, NULL, h_echo, NULL), 0);
	ASSERT_EQ(fetch("GET", PPROF_HEAP, &r), 0);
	ASSERT_EQ(r.status, 400);
	ASSERT_EQ(fetch("GET", "/anything?id=9", &r), 0);
	ASSERT_EQ(r.status, 200);
	ASSERT_STREQ(r.body, "id=9");
}

int main(void)
{
	t_suite = "http";
	RUN_CASE(test_get);
	RUN_CASE(test_head);
	RUN_CASE(test_query);
	RUN_CASE(test_query_nul);
	RUN_CASE(test_not_found);
	RUN_CASE(test_method);
	RUN_CASE(test_errors);
	RUN_CASE(test_keepalive);
	RUN_CASE(test_suspend);
	RUN_CASE(test_suspend_error);
	RUN_CASE(test_suspend_gone);
	RUN_CASE(test_suspend_gone_answer_in_callback);
	RUN_CASE(test_drop);
	RUN_CASE(test_free_with_held);
	RUN_CASE(test_wakeups);
	RUN_CASE(test_concurrent);
	RUN_CASE(test_connection_limit);
	RUN_CASE(test_timeout);
	RUN_CASE(test_per_client_cut);
	RUN_CASE(test_per_client_over);
	RUN_CASE(test_per_client_busy);
	RUN_CASE(test_header_deadline);
	RUN_CASE(test_auth);
	RUN_CASE(test_unix_socket);
	RUN_CASE(test_counts);
	RUN_CASE(test_addresses);
	RUN_CASE(test_port_in_use);
	RUN_CASE(test_any_address);
	RUN_CASE(test_route_replace);
	return TEST_EXIT();
}
