// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_cli.c - the one dialect of values (value.h), as the command line
 * reads it (cli.h), and the command-line overrides of the configuration
 * (config__set()). The first byte picks the parser and its range, the rest
 * is the value. The oracle is each contract: an accepted value is in its
 * range and value__format() writes it so that it parses back to itself; a
 * value holding a NUL is refused; a flag accepted leaves a configuration
 * that prints and parses back (roundtrip.h).
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "roundtrip.h"
#include "value.h"

static const char *const keys[] = {
	"listen", "export-dir", "export-interval", "retention-count", "retention-bytes",
	"sample-rate", "targets", "alloc-only", "live-max", "ringbuf-mb", "max-processes",
	"symbol-cache-mb", "labels", "watchdog", "no-such-key", "listen-unix",
	"listen-unix-mode", "listen-unix-group", "http-auth-file", "tls-cert-file",
	"tls-key-file", "http-max-connections", "http-max-connections-per-client",
	"http-header-timeout", "http-idle-timeout",
};
#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Ranges the callers use, and the widest. */
static const __u64 ranges[][2] = {
	{ 1, 1ULL << 40 }, { 0, 86400 }, { 1, VALUE_PID_MAX }, { 0, ~0ULL },
};
#define NR_RANGES (sizeof(ranges) / sizeof(ranges[0]))

static void value(unsigned int op, const char *s, size_t len)
{
	enum value_kind kind = op % 3;
	__u64 min = ranges[op / 3 % NR_RANGES][0], max = ranges[op / 3 % NR_RANGES][1], v, w;
	char buf[64];
	int err;

	err = value__parse_n(kind, s, len, min, max, &v);
	FUZZ_CHECK(!err || err == -EINVAL || err == -ERANGE);
	if (strlen(s) != len)
		FUZZ_CHECK(err == -EINVAL);
	if (strlen(s) == len)
		FUZZ_CHECK(!err == !cli__parse_value("-r", kind, s, min, max, &w));
	if (err)
		return;
	FUZZ_CHECK(v >= min && v <= max);
	FUZZ_CHECK(value__format(kind, v, buf, sizeof(buf)) < (int)sizeof(buf));
	FUZZ_CHECK(!value__parse(kind, buf, min, max, &w) && w == v);
}

static void pid(const char *s)
{
	pid_t p = 0;

	if (!cli__parse_pid("-p", s, &p))
		FUZZ_CHECK(p >= 1 && p <= VALUE_PID_MAX);
}

/* A flag over the defaults: accepted, the result is valid and round-trips. */
static void set(const char *key, const char *v)
{
	struct config c;
	char err[512];

	FUZZ_CHECK(!config__defaults(&c));
	if (!config__set(&c, key, v, err, sizeof(err)))
		check_roundtrip(&c);
	else
		FUZZ_CHECK(!strncmp(err, key, strlen(key)));
	config__free(&c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int op;
	char *s;

	if (!size)
		return 0;
	op = data[0];
	s = fuzz_strndup(data + 1, size - 1);
	switch (op % 4) {
	case 0:
	case 1:
		value(op / 4, s, size - 1);
		break;
	case 2:
		pid(s);
		break;
	default:
		set(keys[(op / 4) % NR_KEYS], s);
		break;
	}
	free(s);
	return 0;
}
