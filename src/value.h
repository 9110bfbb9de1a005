/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * value.h - the one dialect of values: command-line options, configuration keys and HTTP
 * parameters all read numbers, byte counts, durations and process ids with these functions.
 *
 *   number    decimal digits: "0", "4096", "007"
 *   bytes     a number, optionally followed by K, M, G or T (either case; binary: 1K = 1024),
 *             optionally followed by "iB": "524288", "512K", "512KiB", "64m", "1T"
 *   duration  a number with an optional fraction of up to 9 digits, optionally followed by
 *             s, m or h; kept in nanoseconds: "10", "2.5", "90s", "1.5m", "1h"
 *   pid       a number from 1 to VALUE_PID_MAX
 *
 * Strict: no sign, no blank anywhere, no base prefix, no exponent, nothing after the value;
 * a value with an embedded NUL (an HTTP parameter's "%00") is refused by the callers that can
 * see one (value__parse_n()); a value beyond 2^64 - 1 or outside [min, max] is refused, never
 * wrapped.
 */
#ifndef AS_VALUE_H
#define AS_VALUE_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#define VALUE_PID_MAX	4194304		/* the kernel's PID_MAX_LIMIT (include/linux/threads.h) */
#define VALUE_NS	1000000000ULL	/* a duration of one second */

enum value_kind {
	VALUE_NUMBER,
	VALUE_BYTES,
	VALUE_DURATION,		/* in nanoseconds */
};

/* s as kind into *out: 0, -EINVAL (not in the dialect) or -ERANGE (outside [min, max]). */
int value__parse(enum value_kind kind, const char *s, __u64 min, __u64 max, __u64 *out);
/* The same for len bytes at s, which may hold a NUL (then -EINVAL). */
int value__parse_n(enum value_kind kind, const char *s, size_t len, __u64 min, __u64 max,
		   __u64 *out);
/* A process id: value__parse() of a number from 1 to VALUE_PID_MAX. */
int value__pid(const char *s, pid_t *out);

/*
 * v written so that value__parse() of it gives v back: bytes with the largest exact suffix
 * from M up (524288 stays 524288, 1048576 is 1M), durations in seconds with the fraction
 * needed ("60", "2.5", "0.000000001"). Returns what snprintf() returns.
 */
int value__format(enum value_kind kind, __u64 v, char *buf, size_t len);
/*
 * What a value of kind in [min, max] is, for messages after "'S' is not ":
 * "a byte count from 1 to 1T (K, M, G, T suffixes)". Returns what snprintf() returns.
 */
int value__explain(enum value_kind kind, __u64 min, __u64 max, char *buf, size_t len);

#endif /* AS_VALUE_H */
