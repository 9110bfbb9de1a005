/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics.h - build a page in the Prometheus text exposition format, version 0.0.4.
 *
 * A page is a sequence of families; a family is "# HELP", "# TYPE" and its samples, all
 * together (Prometheus rejects a family split in two, or named twice):
 *
 *	metrics__family(m, "allocscope_http_requests_total", METRICS_COUNTER, "HTTP requests.");
 *	metrics__sample(m, 3, "path", "/debug/pprof/heap", "code", "200", NULL);
 *
 * Names are checked ([a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]* and not "__"),
 * label values and help texts escaped (\\, \", \n), and invalid UTF-8 bytes replaced with '?'.
 * A bad call returns -EINVAL and leaves the page unchanged. Running out of memory is
 * remembered, and metrics__output() then fails with -ENOMEM rather than serve half a page.
 *
 * Not thread-safe.
 */
#ifndef AS_METRICS_H
#define AS_METRICS_H

#include <stddef.h>

/* What /metrics answers with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,	/* name it *_total: Prometheus' convention */
	METRICS_GAUGE,
	METRICS_UNTYPED,
};

struct metrics;

struct metrics *metrics__new(void);	/* NULL and errno on failure */
void metrics__free(struct metrics *m);	/* NULL-safe */

/* Starts a family. -EINVAL: bad name, or a family of that name exists already. */
int metrics__family(struct metrics *m, const char *name, enum metrics_type type,
		    const char *help);
/*
 * A sample of the current family: its value, then its labels as name, value pairs, then NULL.
 * -EINVAL: no family yet, a bad or repeated label name, a NULL label value.
 */
int metrics__sample(struct metrics *m, double value, ...) __attribute__((sentinel));
/* A family with one sample without labels. */
int metrics__counter(struct metrics *m, const char *name, const char *help, double value);
int metrics__gauge(struct metrics *m, const char *name, const char *help, double value);
/* allocscope_build_info{version="...",revision="..."} 1, as Prometheus' own *_build_info. */
int metrics__build_info(struct metrics *m, const char *version, const char *revision);

/* The page so far (not NUL-terminated: use *len). Returns 0 or -ENOMEM (see above). */
int metrics__output(const struct metrics *m, const char **data, size_t *len);

#endif /* AS_METRICS_H */
