// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_cli.c - the command-line value parsers (cli.h) and the command-line
 * overrides of the configuration (config__set()). The first byte picks
 * the parser, the rest is the value; the oracle is each parser's contract:
 * a value it accepts is in its range, one it refuses leaves *out alone; a
 * flag accepted leaves a configuration that prints and parses back.
 */
#include <string.h>

#include "cli.h"
#include "roundtrip.h"

#define PID_MAX 4194304
#define YEAR_S (365.0 * 86400)

static const char *const keys[] = {
	"listen", "export-dir", "export-interval", "retention-count", "retention-bytes",
	"sample-rate", "targets", "alloc-only", "live-max", "ringbuf-mb", "max-processes",
	"symbol-cache-mb", "labels", "watchdog", "no-such-key",
};
#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

static void bytes(const char *s, __u64 max)
{
	__u64 v = 0;

	if (!cli__parse_bytes("-r", s, max, &v))
		FUZZ_CHECK(v >= 1 && v <= max);
	else
		FUZZ_CHECK(v == 0);
}

static void seconds(const char *s)
{
	double v = 0;

	if (!cli__parse_seconds("-d", s, &v))
		FUZZ_CHECK(v > 0 && v <= YEAR_S);
	else
		FUZZ_CHECK(v == 0);
}

static void uint_pid(const char *s, unsigned long min, unsigned long max)
{
	unsigned long v = 0;
	pid_t pid = 0;

	if (!cli__parse_uint("-n", s, min, max, &v))
		FUZZ_CHECK(v >= min && v <= max);
	else
		FUZZ_CHECK(v == 0);
	if (!cli__parse_pid("-p", s, &pid))
		FUZZ_CHECK(pid >= 1 && pid <= PID_MAX);
	else
		FUZZ_CHECK(pid == 0);
}

/* A flag over the defaults: accepted, the result is valid and round-trips. */
static void set(const char *key, const char *value)
{
	struct config c;
	char err[512];

	FUZZ_CHECK(!config__defaults(&c));
	if (!config__set(&c, key, value, err, sizeof(err)))
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
	switch (op % 5) {
	case 0:
		bytes(s, op & 0x80 ? ~0ULL : 1ULL << 40);
		break;
	case 1:
		seconds(s);
		break;
	case 2:
		uint_pid(s, op & 0x80 ? 0 : 1, op & 0x40 ? ~0UL : 65535);
		break;
	default:
		set(keys[(op / 5) % NR_KEYS], s);
		break;
	}
	free(s);
	return 0;
}
