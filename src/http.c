// SPDX-License-Identifier: GPL-2.0-only
/*
 * http.c - libmicrohttpd in external epoll mode: exact-path routes, Go-shaped errors, requests
 * the caller can hold.
 *
 * http__fd() is an epoll set of our own holding MHD's epoll fd, an eventfd and, while requests
 * are held, their sockets. MHD does not read a suspended connection, so it would not see its
 * client leave: we watch for the hang-up ourselves (EPOLLRDHUP) and then resume the connection
 * so that MHD closes it and frees its slot. And MHD does not wake an external loop when a
 * connection is resumed (its ITC serves internal threads only): the eventfd does.
 *
 * A request is freed when both MHD is done with it (closed) and the caller no longer holds it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "http.h"
#include "log.h"

#define DEFAULT_MAX_CONNECTIONS	64
#define DEFAULT_TIMEOUT_S	30
#define LISTEN_BACKLOG		64
#define ERROR_CONTENT_TYPE	"text/plain; charset=utf-8"
#define OTHER_PATH		"other"

struct http_count {
	unsigned int status;
	__u64 n;
};

struct http_route {
	char *path;			/* NULL for routes[0], the fallback */
	http_handler_fn fn;
	void *ctx;
	struct http_count *counts;
	int nr_counts;
};

struct http {
	struct MHD_Daemon *mhd;
	int epfd;
	int kick;			/* eventfd: run MHD, a connection was resumed */
	unsigned short port;
	struct http_route *routes;
	int nr_routes;
	struct http_request *held;	/* held requests, for http__free() */
	struct http_stats st;
};

struct http_request {
	struct http *h;			/* NULL once http__free() ran */
	struct MHD_Connection *conn;	/* NULL once MHD is done with it */
	int route;			/* index in h->routes */
	int sock;			/* in h->epfd while >= 0 */
	bool dispatched, in_handler, answered, held, gone, closed;
	http_gone_fn on_gone;
	void *gone_ctx;
	struct http_request *prev, *next;	/* in h->held */
	char path[];
};

struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool any;			/* all addresses, IPv6 and IPv4 */
};

/* --- listen addresses --- */

static int parse_port(const char *s, unsigned short *port)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

static void addr_any4(struct listen_addr *la, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;

	memset(la, 0, sizeof(*la));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	la->len = sizeof(*sin);
}

static int parse_host(const char *host, unsigned short port, struct listen_addr *la)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	size_t n = strlen(host);
	char v6[INET6_ADDRSTRLEN];

	if (!*host || !strcmp(host, "[::]")) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		la->any = true;
	} else if (host[0] == '[') {
		if (n < 3 || n - 2 >= sizeof(v6) || host[n - 1] != ']')
			return -EINVAL;
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, v6, &sin6->sin6_addr) != 1)
			return -EINVAL;
	} else {
		if (!strcmp(host, "localhost"))
			host = "127.0.0.1";
		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
	}
	if (sin->sin_family == AF_INET) {
		sin->sin_port = htons(port);
		la->len = sizeof(*sin);
	} else {
		sin6->sin6_port = htons(port);
		la->len = sizeof(*sin6);
	}
	return 0;
}

static int parse_listen(const char *listen, struct listen_addr *la)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	char host[INET6_ADDRSTRLEN + 2];
	unsigned short port;
	size_t n;

	memset(la, 0, sizeof(*la));
	if (!colon || parse_port(colon + 1, &port))
		return -EINVAL;
	n = colon - listen;
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, n);
	host[n] = '\0';
	return parse_host(host, port, la);
}

int http__check_listen(const char *listen)
{
	struct listen_addr la;

	return parse_listen(listen, &la);
}

static int listen_socket(const struct listen_addr *la)
{
	int one = 1, zero = 0, fd, err;

	fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restarted daemon must not wait for its predecessor's TIME_WAIT connections. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto out_close;
	/* ":PORT" serves IPv4 too, as Go's listener does, whatever net.ipv6.bindv6only says. */
	if (la->any && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		goto out_close;
	if (bind(fd, (const struct sockaddr *)&la->ss, la->len) || listen(fd, LISTEN_BACKLOG))
		goto out_close;
	return fd;
out_close:
	err = -errno;
	close(fd);
	return err;
}

static int bind_listen(const char *listen, unsigned short *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct listen_addr la;
	int fd, err;

	err = parse_listen(listen, &la);
	if (err)
		return err;
	fd = listen_socket(&la);
	/* A kernel without IPv6 (ipv6.disable=1) still serves ":PORT", on IPv4. */
	if (fd == -EAFNOSUPPORT && la.any) {
		addr_any4(&la, ntohs(((struct sockaddr_in6 *)&la.ss)->sin6_port));
		fd = listen_socket(&la);
	}
	if (fd < 0)
		return fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						  ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* --- requests --- */

/* Resumed connections wait for MHD_run(): make http__fd() readable so that it comes soon. */
static void kick(struct http *h)
{
	__u64 one = 1;

	if (h)
		(void)!write(h->kick, &one, sizeof(one));
}

static void resume(struct http_request *req)
{
	MHD_resume_connection(req->conn);
	kick(req->h);
}

static void count(struct http_request *req, unsigned int status)
{
	struct http_route *r;
	struct http_count *c;
	int i;

	if (!req->h)
		return;
	r = &req->h->routes[req->route];
	for (i = 0; i < r->nr_counts; i++) {
		if (r->counts[i].status == status) {
			r->counts[i].n++;
			return;
		}
	}
	/* Out of memory, the count is lost: not worth failing a request for. */
	c = realloc(r->counts, (r->nr_counts + 1) * sizeof(*c));
	if (!c)
		return;
	r->counts = c;
	c[r->nr_counts++] = (struct http_count){ .status = status, .n = 1 };
}

static int find_route(const struct http *h, const char *path)
{
	int i;

	for (i = 1; i < h->nr_routes; i++)
		if (!strcmp(h->routes[i].path, path))
			return i;
	return 0;
}

static struct http_request *request_new(struct http *h, struct MHD_Connection *conn,
					const char *url)
{
	size_t n = strlen(url);
	struct http_request *req = calloc(1, sizeof(*req) + n + 1);

	if (!req)
		return NULL;
	req->h = h;
	req->conn = conn;
	req->sock = -1;
	req->route = find_route(h, url);
	memcpy(req->path, url, n + 1);
	return req;
}

static void request_unwatch(struct http_request *req)
{
	if (req->sock < 0)
		return;
	if (req->h)
		(void)epoll_ctl(req->h->epfd, EPOLL_CTL_DEL, req->sock, NULL);
	req->sock = -1;
}

static void request_hold(struct http_request *req)
{
	struct http *h = req->h;

	req->held = true;
	req->prev = NULL;
	req->next = h->held;
	if (h->held)
		h->held->prev = req;
	h->held = req;
	h->st.held++;
}

static void request_release(struct http_request *req)
{
	struct http *h = req->h;

	req->held = false;
	if (!h)
		return;
	if (req->prev)
		req->prev->next = req->next;
	else
		h->held = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	h->st.held--;
}

/* A held request's client left (or MHD closed it): tell the caller, who still holds it. */
static void request_gone(struct http_request *req)
{
	if (!req->held || req->gone)
		return;
	req->gone = true;
	if (req->h)
		req->h->st.gone++;
	request_unwatch(req);
	/* Let MHD close it now rather than when the caller answers: it uses a connection slot. */
	if (!req->closed)
		resume(req);
	/* Last: the callback may answer req, which may free it. */
	if (req->on_gone)
		req->on_gone(req, req->gone_ctx);
}

static struct MHD_Response *response_new(const void *body, size_t len, const char *content_type)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return NULL;
	/* net/http/pprof sets it on every response: browsers must not guess a profile's type. */
	if (MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    (content_type && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						     content_type) != MHD_YES)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static int response_add_headers(struct MHD_Response *resp, va_list ap)
{
	const char *name, *value;

	while ((name = va_arg(ap, const char *))) {
		value = va_arg(ap, const char *);
		if (!value || MHD_add_response_header(resp, name, value) != MHD_YES)
			return -EINVAL;
	}
	return 0;
}

/*
 * Queues resp (consumed; NULL when building it failed with err) for req. A held request is
 * released here, answered or not: without an answer, MHD calls on_access() again once
 * resumed, and on_access() then closes the connection.
 */
static int request_answer(struct http_request *req, unsigned int status,
			  struct MHD_Response *resp, int err)
{
	bool held = req->held;

	if (!err && req->answered)
		err = -EALREADY;
	if (held) {
		request_release(req);
		if (req->gone)
			err = -ECONNRESET;
	}
	if (!err && MHD_queue_response(req->conn, status, resp) != MHD_YES)
		err = -EIO;
	if (!err) {
		req->answered = true;
		count(req, status);
	}
	if (resp)
		MHD_destroy_response(resp);
	if (held && !req->gone) {
		request_unwatch(req);
		resume(req);
	}
	if (held && req->closed)
		free(req);
	return err;
}

int http__respond(struct http_request *req, unsigned int status, const char *content_type,
		  const void *body, size_t len, ...)
{
	struct MHD_Response *resp = response_new(body, len, content_type);
	int err = resp ? 0 : -ENOMEM;
	va_list ap;

	va_start(ap, len);
	if (resp)
		err = response_add_headers(resp, ap);
	va_end(ap);
	return request_answer(req, status, resp, err);
}

/* Go's http.Error() as net/http/pprof's serveError() calls it; one extra header if name. */
static int respond_text(struct http_request *req, unsigned int status, const char *name,
			const char *value, const char *fmt, va_list ap)
{
	struct MHD_Response *resp = NULL;
	char *msg, *body;
	int n;

	n = vasprintf(&msg, fmt, ap);
	if (n < 0)
		return request_answer(req, status, NULL, -ENOMEM);
	/* http.Error() ends the message with a newline. */
	body = realloc(msg, n + 2);
	if (body) {
		body[n] = '\n';
		resp = response_new(body, n + 1, ERROR_CONTENT_TYPE);
		msg = body;
	}
	free(msg);
	if (resp && (MHD_add_response_header(resp, "X-Go-Pprof", "1") != MHD_YES ||
		     (name && MHD_add_response_header(resp, name, value) != MHD_YES))) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	return request_answer(req, status, resp, resp ? 0 : -ENOMEM);
}

int http__respond_error(struct http_request *req, unsigned int status, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = respond_text(req, status, NULL, NULL, fmt, ap);
	va_end(ap);
	return err;
}

static int respond_text_hdr(struct http_request *req, unsigned int status, const char *name,
			    const char *value, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = respond_text(req, status, name, value, fmt, ap);
	va_end(ap);
	return err;
}

int http__suspend(struct http_request *req, http_gone_fn on_gone, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.ptr = req };
	const union MHD_ConnectionInfo *ci;

	if (!req->in_handler || req->answered || req->held)
		return -EINVAL;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return -EIO;
	/* MHD stops reading a suspended connection: watch it ourselves to see the client leave. */
	if (epoll_ctl(req->h->epfd, EPOLL_CTL_ADD, ci->connect_fd, &ev))
		return -errno;
	req->sock = ci->connect_fd;
	req->on_gone = on_gone;
	req->gone_ctx = ctx;
	MHD_suspend_connection(req->conn);
	request_hold(req);
	return 0;
}

void http__drop(struct http_request *req)
{
	if (req->held)
		request_answer(req, 0, NULL, -ECONNABORTED);
}

const char *http_request__path(const struct http_request *req)
{
	return req->path;
}

const char *http_request__query_n(const struct http_request *req, const char *key,
				  size_t *len)
{
	const char *value = NULL;

	*len = 0;
	if (!req->conn || req->gone)
		return NULL;
	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key),
					  &value, len) != MHD_YES)
		return NULL;
	if (!value)
		*len = 0;
	return value ? value : "";
}

const char *http_request__query(const struct http_request *req, const char *key)
{
	size_t len;

	return http_request__query_n(req, key, &len);
}

bool http_request__gone(const struct http_request *req)
{
	return req->gone;
}

/* --- MHD callbacks --- */

static int not_found(struct http_request *req, void *ctx)
{
	/* Go's pprof handler owns /debug/pprof/ and names what it lacks; its ServeMux the rest. */
	if (!strncmp(req->path, "/debug/pprof/", 13))
		return http__respond_error(req, 404, "Unknown profile");
	return http__respond_error(req, 404, "404 page not found");
}

static enum MHD_Result dispatch(struct http_request *req, const char *method)
{
	struct http_route *r = &req->h->routes[req->route];
	int err;

	req->dispatched = true;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		respond_text_hdr(req, 405, MHD_HTTP_HEADER_ALLOW, "GET, HEAD",
				 "Method Not Allowed");
	} else {
		req->in_handler = true;
		err = r->fn(req, r->ctx);
		req->in_handler = false;
		if (!req->answered && !req->held)
			http__respond_error(req, 500, "%s",
					    err ? strerror(-err) : "handler did not answer");
	}
	/* Not answered even so (no memory): closing the connection is all that is left. */
	return req->answered || req->held ? MHD_YES : MHD_NO;
}

/*
 * MHD calls this when the headers are in (*con_cls NULL), then with each piece of the body,
 * then once the request is complete, then again after a resume if it has no answer.
 */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct http_request *req = *con_cls;
	bool allowed = !strcmp(method, MHD_HTTP_METHOD_GET) ||
		       !strcmp(method, MHD_HTTP_METHOD_HEAD);

	if (!req) {
		req = request_new(cls, conn, url);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		/* Not for a body we would not read: answer now (MHD then closes). */
		if (!allowed)
			return dispatch(req, method);
		/* Answering before the request is complete would cost the keep-alive. */
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;	/* a body: we do not use it */
		return MHD_YES;
	}
	if (!req->dispatched)
		return dispatch(req, method);
	/* Resumed without an answer: the client left, or answering failed. Close. */
	return req->answered ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

	if (!req)
		return;
	*con_cls = NULL;
	req->closed = true;
	req->conn = NULL;
	if (req->held)
		request_gone(req);
	else
		free(req);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		h->st.connections++;
		h->st.open++;
	} else if (h->st.open) {
		h->st.open--;
	}
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_debug("http: %s%s", msg, msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* --- the server --- */

static struct MHD_Daemon *start_mhd(struct http *h, int fd, const struct http_opts *opts)
{
	unsigned int max_conn = opts && opts->max_connections ? opts->max_connections :
								 DEFAULT_MAX_CONNECTIONS;
	unsigned int timeout = opts && opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;

	return MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
				NULL, NULL, on_access, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				MHD_OPTION_CONNECTION_LIMIT, max_conn,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
				MHD_OPTION_END);
}

/* h->epfd: MHD's epoll fd (data NULL), the kick eventfd (data h), held sockets (their req). */
static int watch_mhd(struct http *h)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (!di)
		return -EIO;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0)
		return -errno;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev))
		return -errno;
	h->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->kick < 0)
		return -errno;
	ev.data.ptr = h;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->kick, &ev))
		return -errno;
	return 0;
}

int http__new(const char *listen, const struct http_opts *opts, struct http **out)
{
	struct http *h;
	int fd, err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->epfd = h->kick = -1;
	err = http__route(h, NULL, not_found, NULL);
	if (err)
		goto out_free;
	fd = bind_listen(listen, &h->port);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	h->mhd = start_mhd(h, fd, opts);
	if (!h->mhd) {
		err = errno ? -errno : -EIO;
		/* Whether MHD closed the socket it failed with is not documented: check. */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		goto out_free;
	}
	err = watch_mhd(h);
	if (err)
		goto out_free;
	*out = h;
	return 0;
out_free:
	http__free(h);
	return err;
}

void http__free(struct http *h)
{
	struct http_request *req;
	int i;

	if (!h)
		return;
	/*
	 * MHD must not be stopped with suspended connections: resume them, as gone. Those
	 * gone already were resumed then, or closed since.
	 */
	for (req = h->held; req; req = req->next) {
		if (req->gone)
			continue;
		req->gone = true;
		request_unwatch(req);
		MHD_resume_connection(req->conn);
	}
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	/* What the caller still holds outlives h. */
	while ((req = h->held)) {
		h->held = req->next;
		req->h = NULL;
		req->conn = NULL;
		req->closed = true;
	}
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->kick >= 0)
		close(h->kick);
	for (i = 0; i < h->nr_routes; i++) {
		free(h->routes[i].path);
		free(h->routes[i].counts);
	}
	free(h->routes);
	free(h);
}

int http__route(struct http *h, const char *path, http_handler_fn fn, void *ctx)
{
	struct http_route *r;
	int i = path ? find_route(h, path) : 0;

	if (!fn || (path && path[0] != '/'))
		return -EINVAL;
	if (i || (!path && h->nr_routes)) {
		h->routes[i].fn = fn;
		h->routes[i].ctx = ctx;
		return 0;
	}
	r = realloc(h->routes, (h->nr_routes + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	h->routes = r;
	r += h->nr_routes;
	*r = (struct http_route){ .fn = fn, .ctx = ctx };
	if (path && !(r->path = strdup(path)))
		return -ENOMEM;
	h->nr_routes++;
	return 0;
}

int http__fd(const struct http *h)
{
	return h->epfd;
}

int http__timeout_ms(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int http__run(struct http *h)
{
	struct epoll_event ev[16];
	__u64 kicks;
	int i, n;

	do {
		n = epoll_wait(h->epfd, ev, 16, 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == h)
				(void)!read(h->kick, &kicks, sizeof(kicks));
			else if (ev[i].data.ptr)
				request_gone(ev[i].data.ptr);
		}
	} while (n == 16);
	return MHD_run(h->mhd) == MHD_YES ? 0 : -EIO;
}

unsigned short http__port(const struct http *h)
{
	return h->port;
}

void http__stats(const struct http *h, struct http_stats *st)
{
	*st = h->st;
}

void http__for_each_count(const struct http *h, http_count_fn fn, void *ctx)
{
	const struct http_route *r;
	int i, j;

	for (i = 0; i < h->nr_routes; i++) {
		r = &h->routes[i];
		for (j = 0; j < r->nr_counts; j++)
			fn(r->path ? r->path : OTHER_PATH, r->counts[j].status, r->counts[j].n,
			   ctx);
	}
}
