/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * roundtrip.h - config.h's promise, for the targets that build configurations
 * (from a file: fuzz_config; from flags: fuzz_cli): config__print() of a
 * valid configuration parses back to an equal one that prints the same.
 */
#ifndef AS_FUZZ_ROUNDTRIP_H
#define AS_FUZZ_ROUNDTRIP_H

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "config.h"

static inline bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static inline bool targets_eq(const struct config *a, const struct config *b)
{
	const struct config_target *x, *y;

	if (a->nr_targets != b->nr_targets)
		return false;
	for (unsigned int i = 0; i < a->nr_targets; i++) {
		x = &a->targets[i];
		y = &b->targets[i];
		if (x->kind != y->kind ||
		    (x->kind == CONFIG_TARGET_PID ? x->pid != y->pid : !str_eq(x->arg, y->arg)))
			return false;
	}
	return true;
}

/*
 * Field by field: the printed text alone would hide a value that prints wrong both times.
 * A key added to struct config goes here too.
 */
static inline bool config_eq(const struct config *a, const struct config *b)
{
	return str_eq(a->listen, b->listen) && str_eq(a->listen_unix, b->listen_unix) &&
	       a->listen_unix_mode == b->listen_unix_mode &&
	       str_eq(a->listen_unix_group, b->listen_unix_group) &&
	       str_eq(a->http_auth_file, b->http_auth_file) &&
	       str_eq(a->tls_cert_file, b->tls_cert_file) &&
	       str_eq(a->tls_key_file, b->tls_key_file) &&
	       a->http_max_connections == b->http_max_connections &&
	       a->http_max_connections_per_client == b->http_max_connections_per_client &&
	       a->http_header_timeout_ns == b->http_header_timeout_ns &&
	       a->http_idle_timeout_ns == b->http_idle_timeout_ns &&
	       str_eq(a->export_dir, b->export_dir) &&
	       a->export_interval_ns == b->export_interval_ns &&
	       a->retention_count == b->retention_count &&
	       a->retention_bytes == b->retention_bytes && a->sample_rate == b->sample_rate &&
	       targets_eq(a, b) && a->alloc_only == b->alloc_only &&
	       a->live_max == b->live_max && a->ringbuf_mb == b->ringbuf_mb &&
	       a->max_processes == b->max_processes &&
	       a->symbol_cache_mb == b->symbol_cache_mb && a->labels == b->labels &&
	       a->watchdog == b->watchdog;
}

static inline char *print(const struct config *cfg, bool help)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	FUZZ_CHECK(f);
	config__print(cfg, f, help);
	FUZZ_CHECK(!fclose(f));
	return s;
}

/* text parses over the defaults, into cfg; 0 or what config__parse() says. */
static inline int parse(const char *text, size_t len, struct config *cfg, char *err, size_t errlen)
{
	FILE *f;
	int ret;

	FUZZ_CHECK(!config__defaults(cfg));
	f = fuzz_stream((const uint8_t *)text, len);
	if (!f)
		return 0;
	ret = config__parse(f, "fuzz", cfg, err, errlen);
	fclose(f);
	return ret;
}

/* a is valid and prints as what parses back to it; with help too. */
static inline void check_roundtrip(const struct config *a)
{
	struct config b;
	char err[512], *p1, *p2, *p3;

	FUZZ_CHECK(!config__validate(a, err, sizeof(err)));
	p1 = print(a, false);
	if (parse(p1, strlen(p1), &b, err, sizeof(err))) {
		fprintf(fuzz_err, "printed:\n%s\nre-parse: %s\n", p1, err);
		FUZZ_CHECK(!"the printed configuration parses back");
	}
	FUZZ_CHECK(config_eq(a, &b));
	p2 = print(&b, false);
	FUZZ_CHECK(!strcmp(p1, p2));
	/* With help, the comments are all that is added. */
	config__free(&b);
	p3 = print(a, true);
	FUZZ_CHECK(!parse(p3, strlen(p3), &b, err, sizeof(err)) && config_eq(a, &b));
	config__free(&b);
	free(p1);
	free(p2);
	free(p3);
}

#endif /* AS_FUZZ_ROUNDTRIP_H */
