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
 *
 * We accept connections ourselves and hand them to MHD (MHD_add_connection()), one MHD daemon
 * per listener (TCP, possibly TLS; a Unix socket): so that no client can starve the others.
 * MHD's own limits (MHD_OPTION_CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT) refuse
 * the newcomer, or stop accepting, when full: idle connections would then lock out every
 * scrape. Here a connection is "waiting" from its accept, and again from the end of each
 * answer, until its next request's headers are complete; "busy" meanwhile. When a client (an
 * address, or a user on the Unix socket) or the whole server is at its limit, the oldest
 * waiting connection is shut down to make room; only busy ones are never cut. A waiting
 * connection is also shut down at http_header_timeout whatever it sends: MHD's timeout counts
 * idleness, and a client sending a header line every few seconds is never idle.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "auth.h"
#include "http.h"
#include "log.h"

#define DEFAULT_MAX_CONNECTIONS	256
#define DEFAULT_MAX_PER_CLIENT	16
#define DEFAULT_HEADER_TIMEOUT_S 10
#define DEFAULT_IDLE_TIMEOUT_S	15
#define LISTEN_BACKLOG		512
/* Accepted per listener and http__run(): the connections shut down meanwhile close in it. */
#define ACCEPT_BATCH		64
/* Per connection: request headers and MHD's bookkeeping; answers are allocated apart. */
#define CONN_MEMORY		(16 * 1024)
#define ACCEPT_RETRY_NS		(100 * 1000000ULL)	/* after EMFILE */
#define NS			1000000000ULL
#define MAX_LISTENERS		2
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

/* What an event in h->epfd is about: its data.ptr points to one. */
enum watch_kind { WATCH_KICK, WATCH_LISTEN, WATCH_MHD, WATCH_HELD };

struct watch {
	enum watch_kind kind;
	void *obj;			/* h, listener, listener, request */
};

/* A client, for the per-client limit: an address (IPv4-mapped ones as IPv4), or a uid. */
struct client_id {
	sa_family_t family;
	unsigned char addr[16];
};

struct http_conn {
	int fd;
	struct client_id id;
	bool waiting;			/* for a request's headers: may be cut */
	bool cut;			/* shut down by us, MHD closes it */
	bool over;			/* let in over a limit, until trim() */
	__u64 since_ns;			/* waiting since */
	__u64 run;			/* h->runs when accepted */
	struct http_conn *prev, *next;	/* h->conns: waiting ones by since_ns */
};

struct listener {
	struct http *h;
	struct MHD_Daemon *mhd;
	int fd;				/* the listening socket */
	bool watched;			/* fd in h->epfd */
	const struct auth *auth;	/* requests need credentials; NULL = no */
	struct watch w_listen, w_mhd;
	char *unix_path;		/* unlinked at the end if still ours */
	dev_t dev;
	ino_t ino;
};

struct http {
	struct listener ls[MAX_LISTENERS];
	int nr_ls;
	int epfd;
	int kick;			/* eventfd: run MHD, a connection was resumed */
	struct watch w_kick;
	unsigned short port;
	struct http_route *routes;
	int nr_routes;
	struct http_request *held;	/* held requests, for http__free() */
	struct http_conn *conns, *conns_tail;
	unsigned int nr_live;		/* conns not cut */
	unsigned int max_conn, max_per_client;
	__u64 header_timeout_ns;
	__u64 accept_retry_ns;		/* after EMFILE: accept again then; 0 = no wait */
	__u64 runs;			/* http__run() calls */
	unsigned int nr_over;		/* conns let in over a limit since the last trim() */
	struct http_conn *adding;	/* in MHD_add_connection() */
	bool adding_started;
	struct http_stats st;
};

struct http_request {
	struct http *h;			/* NULL once http__free() ran */
	struct MHD_Connection *conn;	/* NULL once MHD is done with it */
	const struct auth *auth;	/* of its listener */
	int route;			/* index in h->routes */
	int sock;			/* in h->epfd while >= 0 */
	struct watch w;
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

/*
 * A Unix socket at path with mode and group (gid -1: ours); returns its fd. A socket left
 * there by a daemon that died is replaced; anything else at path is not ours to remove.
 */
static int unix_listen(struct listener *l, const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	/*
	 * Nobody but root may connect before its mode and group are set: bind() creates it with
	 * 0777 & ~umask, and connect() needs write permission (unix(7)). The daemon has one
	 * thread that creates files, this one.
	 */
	old = umask(0777);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (!err && gid != (gid_t)-1 && chown(path, (uid_t)-1, gid))
		err = -errno;
	if (!err && (chmod(path, mode) || listen(fd, LISTEN_BACKLOG) || stat(path, &st)))
		err = -errno;
	if (err) {
		(void)unlink(path);
		close(fd);
		return err;
	}
	l->unix_path = strdup(path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (!l->unix_path) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* Removes the socket file, unless another daemon has bound its own there since. */
static void unix_unlink(struct listener *l)
{
	struct stat st;

	if (l->unix_path && !lstat(l->unix_path, &st) && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		(void)unlink(l->unix_path);
	free(l->unix_path);
	l->unix_path = NULL;
}

/* --- connections: limits, cuts, deadlines --- */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static void client_id(int fd, const struct sockaddr_storage *ss, struct client_id *id)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);

	memset(id, 0, sizeof(*id));
	id->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(id->addr, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* ":PORT" serves IPv4 as ::ffff:a.b.c.d: one client either way */
		id->family = AF_INET;
		memcpy(id->addr, &sin6->sin6_addr.s6_addr[12], 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(id->addr, &sin6->sin6_addr, 16);
	} else if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		/* Unix socket: the user (uid -1 if unknown, one client for all of those) */
		memcpy(id->addr, &cred.uid, sizeof(cred.uid));
	}
}

static void conn_link_tail(struct http *h, struct http_conn *c)
{
	c->next = NULL;
	c->prev = h->conns_tail;
	if (h->conns_tail)
		h->conns_tail->next = c;
	else
		h->conns = c;
	h->conns_tail = c;
}

static void conn_unlink(struct http *h, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->conns_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Waiting for a request again: last in line to be cut. */
static void conn_wait(struct http *h, struct http_conn *c)
{
	c->waiting = true;
	c->since_ns = now_ns();
	conn_unlink(h, c);
	conn_link_tail(h, c);
}

/* MHD sees the end of the stream and closes it (and calls on_connection()). */
static void conn_cut(struct http *h, struct http_conn *c)
{
	c->cut = true;
	h->nr_live--;
	(void)shutdown(c->fd, SHUT_RDWR);
}

/*
 * Bytes MHD has not read yet: what the client sent may complete its request. Without this, a
 * scraper's connection, its request already in the socket, could be cut by the next ones a
 * flood of idle connections brings in the same batch, before MHD ever reads it.
 */
static bool unread(int fd)
{
	int n = 0;

	return !ioctl(fd, FIONREAD, &n) && n > 0;
}

/*
 * The oldest waiting connection (of id, if not NULL) with nothing unread, or NULL. Unless
 * fresh, not one accepted since MHD last ran: its client may not have sent its request yet.
 */
static struct http_conn *oldest_waiting(struct http *h, const struct client_id *id, bool fresh)
{
	struct http_conn *c;

	for (c = h->conns; c; c = c->next)
		if (c->waiting && !c->cut && (!id || !memcmp(&c->id, id, sizeof(*id))) &&
		    (fresh || c->run != h->runs) && !unread(c->fd))
			return c;
	return NULL;
}

/* The connection to cut for a new one (that sent something already, if busy), or NULL. */
static struct http_conn *victim(struct http *h, const struct client_id *id, bool busy)
{
	struct http_conn *c = oldest_waiting(h, id, false);

	return c || !busy ? c : oldest_waiting(h, id, true);
}

static unsigned int client_conns(struct http *h, const struct client_id *id)
{
	struct http_conn *c;
	unsigned int n = 0;

	for (c = h->conns; c; c = c->next)
		n += !c->cut && !memcmp(&c->id, id, sizeof(*id));
	return n;
}

/* Some waiting connection (of id, if not NULL), unread or just accepted ones included. */
static bool any_waiting(struct http *h, const struct client_id *id)
{
	struct http_conn *c;

	for (c = h->conns; c; c = c->next)
		if (c->waiting && !c->cut && (!id || !memcmp(&c->id, id, sizeof(*id))))
			return true;
	return false;
}

/*
 * Makes room under one limit (id NULL: the server's) for a newcomer: cuts a victim, or lets
 * it in over the limit (*over) when every waiting connection may still be on its way to a
 * request (a newcomer that sent nothing yet does not displace those; trim() decides once MHD
 * has read them). False when every connection is busy.
 */
static bool room_under(struct http *h, const struct client_id *id, bool busy, bool *over)
{
	struct http_conn *c = victim(h, id, busy);

	if (c) {
		conn_cut(h, c);
		if (id)
			h->st.cut_client++;
		else
			h->st.cut_full++;
		return true;
	}
	*over |= any_waiting(h, id);
	return *over;
}

/* Room for a connection from id, fd: under its client's limit, then the server's. */
static bool make_room(struct http *h, const struct client_id *id, int fd, bool *over)
{
	bool busy = unread(fd);

	if (client_conns(h, id) >= h->max_per_client && !room_under(h, id, busy, over))
		return false;
	return h->nr_live < h->max_conn || room_under(h, NULL, busy, over);
}

/* Connections let in over a limit: under it again, now that MHD has read what was sent. */
static void trim(struct http *h)
{
	struct http_conn *c, *v;

	if (!h->nr_over)
		return;
	h->nr_over = 0;
	for (c = h->conns; c; c = c->next) {
		if (!c->over)
			continue;
		c->over = false;
		while (client_conns(h, &c->id) > h->max_per_client &&
		       (v = oldest_waiting(h, &c->id, false))) {
			conn_cut(h, v);
			h->st.cut_client++;
		}
	}
	while (h->nr_live > h->max_conn && (v = oldest_waiting(h, NULL, false))) {
		conn_cut(h, v);
		h->st.cut_full++;
	}
}

static void add_conn(struct listener *l, int fd, const struct sockaddr_storage *ss,
		     socklen_t len)
{
	struct http *h = l->h;
	struct http_conn *c = calloc(1, sizeof(*c));
	bool over = false;

	if (!c) {
		close(fd);
		h->st.refused++;
		return;
	}
	c->fd = fd;
	client_id(fd, ss, &c->id);
	if (!make_room(h, &c->id, fd, &over)) {
		close(fd);
		free(c);
		h->st.refused++;
		return;
	}
	c->waiting = true;
	c->since_ns = now_ns();
	c->run = h->runs;
	c->over = over;
	h->nr_over += over;
	conn_link_tail(h, c);
	h->nr_live++;
	h->adding = c;
	h->adding_started = false;
	/* MHD closes fd if it fails; c is freed by on_connection() if it got that far. */
	if (MHD_add_connection(l->mhd, fd, (const struct sockaddr *)ss, len) != MHD_YES &&
	    !h->adding_started) {
		conn_unlink(h, c);
		h->nr_live--;
		free(c);
		h->st.refused++;
	}
	h->adding = NULL;
}

static void listen_watch(struct listener *l, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->w_listen };

	if (l->watched == on)
		return;
	if (!epoll_ctl(l->h->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->fd, &ev))
		l->watched = on;
}

/*
 * Full of busy connections: accept nothing more (clients wait in the backlog) until one
 * ends. Out of file descriptors: the same, and try again a little later.
 */
static void accept_some(struct listener *l)
{
	struct http *h = l->h;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i, err;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (h->nr_live >= h->max_conn && !oldest_waiting(h, NULL, true)) {
			listen_watch(l, false);
			return;
		}
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			add_conn(l, fd, &ss, len);
			continue;
		}
		err = errno;
		if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
			h->st.accept_errors++;
			h->accept_retry_ns = now_ns() + ACCEPT_RETRY_NS;
			listen_watch(l, false);
		}
		if (err != ECONNABORTED && err != EINTR && err != EPROTO)
			return;
	}
}

/* Listening again where it was stopped, once there can be room. */
static void listen_resume(struct http *h)
{
	int i;

	if (h->accept_retry_ns && now_ns() < h->accept_retry_ns)
		return;
	h->accept_retry_ns = 0;
	if (h->nr_live >= h->max_conn && !oldest_waiting(h, NULL, true))
		return;
	for (i = 0; i < h->nr_ls; i++)
		listen_watch(&h->ls[i], true);
}

/* Waiting connections past their deadline are cut (if cut); ms to the next deadline, or -1. */
static int header_deadlines(struct http *h, bool cut)
{
	__u64 now = now_ns();
	struct http_conn *c, *next;

	for (c = h->conns; c; c = next) {
		next = c->next;
		if (!c->waiting || c->cut)
			continue;
		if (c->since_ns + h->header_timeout_ns > now)
			return (c->since_ns + h->header_timeout_ns - now + 999999) / 1000000;
		if (!cut)
			return 0;
		conn_cut(h, c);
		h->st.cut_timeout++;
	}
	return -1;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
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

static struct http_request *request_new(struct listener *l, struct MHD_Connection *conn,
					const char *url)
{
	struct http *h = l->h;
	size_t n = strlen(url);
	struct http_request *req = calloc(1, sizeof(*req) + n + 1);

	if (!req)
		return NULL;
	req->h = h;
	req->conn = conn;
	req->auth = l->auth;
	req->sock = -1;
	req->w = (struct watch){ .kind = WATCH_HELD, .obj = req };
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
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.ptr = &req->w };
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

/* The request carries one of its listener's credentials (or needs none). */
static bool authorized(struct http_request *req)
{
	const char *v;
	char *user, *pass = NULL;
	bool ok;

	if (!req->auth)
		return true;
	v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION);
	if (!v)
		return false;
	/* RFC 6750 2.1; the scheme is case-insensitive (RFC 9110 11.1) */
	if (!strncasecmp(v, "Bearer ", 7))
		return auth__bearer_ok(req->auth, v + 7);
	user = MHD_basic_auth_get_username_password(req->conn, &pass);
	ok = user && pass && auth__basic_ok(req->auth, user, pass);
	if (pass)
		explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result dispatch(struct http_request *req, const char *method)
{
	struct http_route *r = &req->h->routes[req->route];
	int err;

	req->dispatched = true;
	if (!authorized(req)) {
		req->h->st.unauthorized++;
		respond_text_hdr(req, 401, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				 auth__challenge(req->auth), "Unauthorized");
	} else if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
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
	struct http_conn *c;

	if (!req) {
		/* The headers are in: busy until answered, never cut meanwhile. */
		c = conn_of(conn);
		if (c)
			c->waiting = false;
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
	struct http_conn *c = conn_of(conn);

	/* Answered (or failed): the connection may wait for another request, and be cut. */
	if (c && !c->cut)
		conn_wait(cls, c);
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
	struct http_conn *c = *socket_ctx;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_ctx = h->adding;
		h->adding_started = true;
		h->st.connections++;
		h->st.open++;
		return;
	}
	if (h->st.open)
		h->st.open--;
	if (!c)
		return;
	if (!c->cut)
		h->nr_live--;
	conn_unlink(h, c);
	free(c);
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

/* One MHD daemon for listener l: it accepts nothing itself (MHD_add_connection() feeds it). */
static struct MHD_Daemon *start_mhd(struct listener *l, const struct http_opts *o, bool tls)
{
	unsigned int timeout = o->idle_timeout_s ? o->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
	/* Cut connections count in MHD until it closes them: at most a few batches. */
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, l->h->max_conn + 4 * ACCEPT_BATCH, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, timeout, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l->h },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l->h },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_log, l->h },
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)o->tls_key },
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->tls_cert },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			     MHD_USE_NO_LISTEN_SOCKET | (tls ? MHD_USE_TLS : 0);

	return MHD_start_daemon(flags, 0, NULL, NULL, on_access, l, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
}

/* h->epfd holds the kick eventfd, each listener's socket and MHD epoll fd, held sockets. */
static int watch_fd(struct http *h, int fd, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The next listener, on fd (or -errno: its error), taken: its MHD daemon, watched. */
static int listener_start(struct http *h, int fd, bool tcp, const struct http_opts *o)
{
	struct listener *l = &h->ls[h->nr_ls++];
	bool tls = tcp && o->tls_cert && o->tls_key;
	const union MHD_DaemonInfo *di;

	l->h = h;
	l->auth = tcp ? o->auth : NULL;
	l->w_listen = (struct watch){ .kind = WATCH_LISTEN, .obj = l };
	l->w_mhd = (struct watch){ .kind = WATCH_MHD, .obj = l };
	if (fd < 0)
		return fd;
	l->fd = fd;
	if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS))
		return -EPROTONOSUPPORT;
	l->mhd = start_mhd(l, o, tls);
	if (!l->mhd)
		return errno ? -errno : -EIO;
	di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di)
		return -EIO;
	listen_watch(l, true);
	return l->watched ? watch_fd(h, di->epoll_fd, &l->w_mhd) : -errno;
}

static int http_init(struct http *h, const struct http_opts *o)
{
	int i;

	h->epfd = h->kick = -1;
	for (i = 0; i < MAX_LISTENERS; i++)
		h->ls[i].fd = -1;
	h->max_conn = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	h->max_per_client = o->max_per_client ? o->max_per_client : DEFAULT_MAX_PER_CLIENT;
	h->header_timeout_ns = (o->header_timeout_s ? o->header_timeout_s :
				DEFAULT_HEADER_TIMEOUT_S) * NS;
	h->w_kick = (struct watch){ .kind = WATCH_KICK, .obj = h };
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0)
		return -errno;
	h->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->kick < 0)
		return -errno;
	return watch_fd(h, h->kick, &h->w_kick) ?: http__route(h, NULL, not_found, NULL);
}

int http__new(const char *listen, const struct http_opts *opts, struct http **out)
{
	static const struct http_opts none;
	const struct http_opts *o = opts ? opts : &none;
	struct http *h;
	int err;

	if (!listen && !o->unix_path)
		return -EINVAL;
	if (listen && (err = http__check_listen(listen)))
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = http_init(h, o);
	if (!err && listen)
		err = listener_start(h, bind_listen(listen, &h->port), true, o);
	if (!err && o->unix_path)
		err = listener_start(h, unix_listen(&h->ls[h->nr_ls], o->unix_path, o->unix_mode,
						    o->unix_gid), false, o);
	if (err) {
		http__free(h);
		return err;
	}
	*out = h;
	return 0;
}

static void listener_free(struct listener *l)
{
	if (l->mhd)
		MHD_stop_daemon(l->mhd);
	if (l->fd >= 0)
		close(l->fd);
	unix_unlink(l);
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
	for (i = 0; i < h->nr_ls; i++)
		listener_free(&h->ls[i]);
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

/* The earlier of two timeouts in ms, -1 being none. */
static int earlier(int a, int b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

int http__timeout_ms(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	__u64 now;
	int i, t = header_deadlines(h, false);

	for (i = 0; i < h->nr_ls; i++)
		if (MHD_get_timeout(h->ls[i].mhd, &ms) == MHD_YES)
			t = earlier(t, ms > INT_MAX ? INT_MAX : (int)ms);
	if (h->accept_retry_ns) {
		now = now_ns();
		t = earlier(t, h->accept_retry_ns > now ?
			       (int)((h->accept_retry_ns - now + 999999) / 1000000) : 0);
	}
	return t;
}

static void on_event(struct watch *w)
{
	struct http *h;
	__u64 kicks;

	switch (w->kind) {
	case WATCH_KICK:
		h = w->obj;
		(void)!read(h->kick, &kicks, sizeof(kicks));
		break;
	case WATCH_LISTEN:
		accept_some(w->obj);
		break;
	case WATCH_MHD:
		break;		/* MHD_run() below, whatever woke us */
	case WATCH_HELD:
		request_gone(w->obj);
		break;
	}
}

int http__run(struct http *h)
{
	struct epoll_event ev[16];
	int i, n, err = 0;

	listen_resume(h);
	do {
		n = epoll_wait(h->epfd, ev, 16, 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (i = 0; i < n; i++)
			on_event(ev[i].data.ptr);
	} while (n == 16);
	header_deadlines(h, true);
	for (i = 0; i < h->nr_ls; i++)
		if (MHD_run(h->ls[i].mhd) != MHD_YES)
			err = -EIO;
	h->runs++;		/* what was accepted so far has been read, if it sent anything */
	trim(h);
	return err;
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
