// SPDX-License-Identifier: GPL-2.0-only
/*
 * metrics.c - the Prometheus text format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define MAX_LABELS 16

struct metrics {
	char *buf;
	size_t len, cap;
	int err;			/* -ENOMEM, once it happened */
	char **families;		/* names written: a second family of one name is refused */
	int nr_families;
};

struct metrics *metrics__new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void metrics__free(struct metrics *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < m->nr_families; i++)
		free(m->families[i]);
	free(m->families);
	free(m->buf);
	free(m);
}

static void put(struct metrics *m, const char *s, size_t n)
{
	size_t cap;
	char *buf;

	if (m->err)
		return;
	if (m->len + n > m->cap) {
		cap = m->cap ? m->cap : 4096;
		while (cap < m->len + n)
			cap *= 2;
		buf = realloc(m->buf, cap);
		if (!buf) {
			m->err = -ENOMEM;
			return;
		}
		m->buf = buf;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
}

static void puts_(struct metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Help texts escape \ and newline; label values " too. */
static void put_escaped(struct metrics *m, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;

	while (n) {
		k = utf8_len(p, n);
		if (!k) {
			put(m, "?", 1);
			k = 1;
		} else if (*p == '\\')
			put(m, "\\\\", 2);
		else if (*p == '\n')
			put(m, "\\n", 2);
		else if (*p == '"' && quote)
			put(m, "\\\"", 2);
		else
			put(m, (const char *)p, k);
		p += k;
		n -= k;
	}
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64) as the Go client writes it: shortest exact. */
static void put_value(struct metrics *m, double v)
{
	char s[32];

	if (isnan(v)) {
		puts_(m, "NaN");
	} else if (isinf(v)) {
		puts_(m, v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
		puts_(m, s);
	}
}

static bool valid_name(const char *s, bool colons)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || (colons && *p == ':')))
			return false;
	return true;
}

static int remember(struct metrics *m, const char *name)
{
	char **f;
	int i;

	for (i = 0; i < m->nr_families; i++)
		if (!strcmp(m->families[i], name))
			return -EINVAL;
	f = realloc(m->families, (m->nr_families + 1) * sizeof(*f));
	if (!f)
		return m->err = -ENOMEM;
	m->families = f;
	f[m->nr_families] = strdup(name);
	if (!f[m->nr_families])
		return m->err = -ENOMEM;
	m->nr_families++;
	return 0;
}

int metrics__family(struct metrics *m, const char *name, enum metrics_type type,
		    const char *help)
{
	static const char *const types[] = { "counter", "gauge", "untyped" };
	int err;

	if (!valid_name(name, true) || (unsigned int)type > METRICS_UNTYPED)
		return -EINVAL;
	err = remember(m, name);
	if (err)
		return err;
	if (help) {
		puts_(m, "# HELP ");
		puts_(m, name);
		put(m, " ", 1);
		put_escaped(m, help, false);
		put(m, "\n", 1);
	}
	puts_(m, "# TYPE ");
	puts_(m, name);
	put(m, " ", 1);
	puts_(m, types[type]);
	put(m, "\n", 1);
	return 0;
}

/* Reads name, value pairs up to NULL into labels; checks them. Returns their number. */
static int read_labels(va_list ap, const char *labels[][2])
{
	const char *name;
	int n = 0, i;

	while ((name = va_arg(ap, const char *))) {
		if (n == MAX_LABELS || !valid_name(name, false) || !strncmp(name, "__", 2))
			return -EINVAL;
		labels[n][0] = name;
		labels[n][1] = va_arg(ap, const char *);
		if (!labels[n][1])
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (!strcmp(labels[i][0], name))
				return -EINVAL;
		n++;
	}
	return n;
}

static int vsample(struct metrics *m, double value, va_list ap)
{
	const char *labels[MAX_LABELS][2];
	int n = read_labels(ap, labels), i;

	if (n < 0 || !m->nr_families)
		return -EINVAL;
	puts_(m, m->families[m->nr_families - 1]);
	for (i = 0; i < n; i++) {
		put(m, i ? "," : "{", 1);
		puts_(m, labels[i][0]);
		put(m, "=\"", 2);
		put_escaped(m, labels[i][1], true);
		put(m, "\"", 1);
	}
	if (n)
		put(m, "}", 1);
	put(m, " ", 1);
	put_value(m, value);
	put(m, "\n", 1);
	return m->err;
}

int metrics__sample(struct metrics *m, double value, ...)
{
	va_list ap;
	int err;

	va_start(ap, value);
	err = vsample(m, value, ap);
	va_end(ap);
	return err;
}

int metrics__counter(struct metrics *m, const char *name, const char *help, double value)
{
	return metrics__family(m, name, METRICS_COUNTER, help) ?: metrics__sample(m, value, NULL);
}

int metrics__gauge(struct metrics *m, const char *name, const char *help, double value)
{
	return metrics__family(m, name, METRICS_GAUGE, help) ?: metrics__sample(m, value, NULL);
}

int metrics__build_info(struct metrics *m, const char *version, const char *revision)
{
	int err = metrics__family(m, "allocscope_build_info", METRICS_GAUGE,
				  "A metric with a constant '1' value labeled by version and "
				  "revision from which allocscope was built.");

	return err ?: metrics__sample(m, 1, "version", version ? version : "",
				      "revision", revision ? revision : "", NULL);
}

int metrics__output(const struct metrics *m, const char **data, size_t *len)
{
	if (m->err)
		return m->err;
	*data = m->buf ? m->buf : "";
	*len = m->len;
	return 0;
}
