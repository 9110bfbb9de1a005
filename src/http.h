/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * http.h - a small HTTP server, on libmicrohttpd, that lives inside the caller's event loop.
 *
 * Nothing here starts a thread: handlers run in the thread that calls http__run(), so they may
 * touch state that is not thread-safe. The caller adds http__fd() to its epoll set (EPOLLIN) and,
 * on every turn of its loop:
 *
 *	timeout = min(its own timeout, http__timeout_ms(h))	(-1 means none)
 *	epoll_wait(..., timeout)
 *	http__run(h)		whatever woke it: the call is cheap and never blocks
 *
 * Requests are GET or HEAD (anything else gets 405) on exact paths (http__route()); unknown paths
 * get 404. Every response carries X-Content-Type-Options: nosniff; errors have Go's
 * net/http/pprof shape (text/plain; charset=utf-8, X-Go-Pprof: 1, the message and a newline),
 * so pprof, Parca and Alloy report them as they report a Go program's.
 *
 * A handler answers at once with http__respond*(), or defers the answer with http__suspend():
 * the caller then holds the request, the connection waits without blocking anything, and the
 * caller completes it later from its loop with http__respond*() (or http__drop()). A held
 * request whose client disconnects is reported (callback and http_request__gone()); completing
 * it is still required, and safe.
 *
 * Not thread-safe: every call from the thread that calls http__run().
 */
#ifndef AS_HTTP_H
#define AS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct http;
struct http_request;

struct auth;

/*
 * Limits (0 = the default): a connection is "waiting" from its accept, and again from the end
 * of each answer, until its next request's headers are complete. When a client or the server
 * is at its limit, a new connection cuts the oldest waiting one (not one whose request may be
 * on its way: then it is let in over the limit, restored once those were read); if all are
 * busy, a client's new connection is refused, and the server stops accepting (they wait in
 * the backlog).
 */
struct http_opts {
	unsigned int max_connections;	/* open at once, held requests included; 0 = 256 */
	unsigned int max_per_client;	/* from one address, or one user on the Unix socket; 16 */
	unsigned int header_timeout_s;	/* waiting connections are cut after; 0 = 10 */
	unsigned int idle_timeout_s;	/* closed after this long without progress; 0 = 15 */
	const char *unix_path;		/* also serve on this Unix socket; NULL = no */
	mode_t unix_mode;		/* its mode */
	gid_t unix_gid;			/* its group; (gid_t)-1 = the process's */
	const char *tls_cert, *tls_key;	/* PEM text, both or none: TCP over TLS */
	const struct auth *auth;	/* TCP requests need one of these; NULL = none. Kept. */
};

/*
 * Answers req: with http__respond*() (now, or later after http__suspend()). Returning a negative
 * errno without having answered makes the server answer 500 with strerror()'s text. After
 * http__suspend(), return 0.
 */
typedef int (*http_handler_fn)(struct http_request *req, void *ctx);
/* A held request's client went away; req stays valid until completed (http__drop()). */
typedef void (*http_gone_fn)(struct http_request *req, void *ctx);
/* Requests answered on path with status, count times; path "other" = unrouted paths. */
typedef void (*http_count_fn)(const char *path, unsigned int status, __u64 count, void *ctx);

struct http_stats {
	__u64 connections;		/* accepted since the start */
	unsigned int open;		/* connections open now */
	unsigned int held;		/* requests suspended and not yet completed */
	__u64 gone;			/* held requests whose client went away */
	__u64 cut_client;		/* waiting connections cut: their client at its limit */
	__u64 cut_full;			/* ... the server at its limit */
	__u64 cut_timeout;		/* ... no complete request headers in time */
	__u64 refused;			/* connections closed at once: their client's all busy */
	__u64 accept_errors;		/* accept() out of file descriptors or memory */
	__u64 unauthorized;		/* requests answered 401 */
};

/*
 * Checks a listen address: "ADDR:PORT" (IPv4), "[ADDR6]:PORT", ":PORT" (all addresses, IPv6 and
 * IPv4), "localhost:PORT" (127.0.0.1). Addresses are numeric; PORT is 0..65535 (0: any free
 * port). Returns 0 or -EINVAL.
 */
int http__check_listen(const char *listen);

/*
 * Binds listen (see http__check_listen(); NULL = no TCP) and opts->unix_path, and starts
 * serving; opts NULL = defaults. Returns 0 and *out, or -EINVAL (bad address, or nothing to
 * listen on), -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EEXIST (not a socket at unix_path),
 * -EPROTONOSUPPORT (TLS, and libmicrohttpd built without it), -ENOMEM, ...
 */
int http__new(const char *listen, const struct http_opts *opts, struct http **out);
/*
 * Closes every connection and frees h (NULL-safe). Requests still held stay valid: the caller
 * completes them afterwards as usual (http__respond*() returns -ECONNRESET, or http__drop())
 * and is not called back for them.
 */
void http__free(struct http *h);

/* Serves path (exact match, no query string) with fn; path NULL replaces the 404 handler. */
int http__route(struct http *h, const char *path, http_handler_fn fn, void *ctx);

int http__fd(const struct http *h);		/* for the caller's epoll: EPOLLIN */
/* The longest the caller may wait before calling http__run(), in ms; -1 = no limit. */
int http__timeout_ms(struct http *h);
/* Accepts, reads, calls handlers, writes, notices gone clients. Returns 0 or -errno. */
int http__run(struct http *h);
/* The bound TCP port (useful with port 0); 0 without TCP. */
unsigned short http__port(const struct http *h);

void http__stats(const struct http *h, struct http_stats *st);
void http__for_each_count(const struct http *h, http_count_fn fn, void *ctx);

/* The decoded path, without the query string; valid as long as req. */
const char *http_request__path(const struct http_request *req);
/*
 * A query parameter: its decoded value, "" if it has none ("?debug"), NULL if absent. The first
 * one wins when repeated (as Go's FormValue). Valid until req is answered; NULL once gone: copy
 * what a held request needs later.
 */
const char *http_request__query(const struct http_request *req, const char *key);
/* The same, and the decoded length in *len: more than strlen() when it holds a "%00". */
const char *http_request__query_n(const struct http_request *req, const char *key,
				  size_t *len);
/* True once a held request's client went away. */
bool http_request__gone(const struct http_request *req);

/*
 * Answers req with status, body (copied: the caller keeps its buffer) and headers: pairs of
 * name, value, then NULL. content_type NULL = none. Works for a request in its handler and for
 * a held one (which it releases: req is invalid after the call, whatever it returns).
 * Returns 0; -ECONNRESET for a held request whose client is gone; -EALREADY if req was
 * answered already; -EINVAL for a header MHD refuses; -ENOMEM.
 */
int http__respond(struct http_request *req, unsigned int status, const char *content_type,
		  const void *body, size_t len, ...) __attribute__((sentinel));
/* As http__respond(), with Go's error shape: text/plain, X-Go-Pprof: 1, the message + "\n". */
int http__respond_error(struct http_request *req, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Defers the answer: the connection is parked (no timeout, no thread) until the caller
 * completes req with http__respond*() or http__drop() - exactly once, whatever happens
 * meanwhile. If the client disconnects first, on_gone(req, ctx) is called (from http__run();
 * on_gone may be NULL) and http_request__gone() turns true; on_gone may complete req itself,
 * typically with http__drop(). Only from req's handler.
 * Returns 0, -EINVAL (not in the handler, or answered already) or -errno.
 */
int http__suspend(struct http_request *req, http_gone_fn on_gone, void *ctx);
/*
 * Completes a held request without an answer: a client still there sees the connection
 * close. For requests whose client is gone, or that the caller gives up on. req is invalid
 * after the call.
 */
void http__drop(struct http_request *req);

#endif /* AS_HTTP_H */
