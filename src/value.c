// SPDX-License-Identifier: GPL-2.0-only
/* value.c - numbers, byte counts, durations and pids in one strict dialect (value.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "value.h"

#define U64_MAX (~0ULL)

/* Decimal digits at *s (at least one), advancing *s; -EINVAL past 2^64 - 1. */
static int digits(const char **s, __u64 *out)
{
	const char *p = *s;
	__u64 v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (U64_MAX - (*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

/* v * mult + add, or -EINVAL on overflow. */
static int scale(__u64 v, __u64 mult, __u64 add, __u64 *out)
{
	if (v > (U64_MAX - add) / mult)
		return -EINVAL;
	*out = v * mult + add;
	return 0;
}

static int parse_bytes(const char *s, __u64 *out)
{
	static const char units[] = "KMGT";
	const char *u;
	__u64 v = 0;	/* digits() leaves it alone when it fails: *out is set either way */
	int err = digits(&s, &v);

	*out = v;
	if (err || !*s)
		return err;
	u = strchr(units, *s & ~0x20);
	if (!u || !*u)
		return -EINVAL;
	s++;
	if (!strcmp(s, "iB"))
		s += 2;
	return *s ? -EINVAL : scale(v, 1ULL << (10 * (u - units + 1)), 0, out);
}

/* The fraction after '.', as nanoseconds of one unit; 1 to 9 digits. */
static int fraction(const char **s, __u64 *out)
{
	const char *p = *s;
	__u64 f = 0, mult = VALUE_NS;
	int n;

	for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
		if (n == 9)
			return -EINVAL;
		mult /= 10;
		f += (p[n] - '0') * mult;
	}
	if (!n)
		return -EINVAL;
	*s = p + n;
	*out = f;
	return 0;
}

static int parse_duration(const char *s, __u64 *out)
{
	__u64 v, frac = 0, unit = 1;
	int err = digits(&s, &v);

	if (!err && *s == '.')
		s++, err = fraction(&s, &frac);
	if (err)
		return err;
	if (*s == 's' || *s == 'm' || *s == 'h')
		unit = *s == 's' ? 1 : *s == 'm' ? 60 : 3600, s++;
	if (*s)
		return -EINVAL;
	/* frac < 1e9, unit <= 3600: frac * unit fits */
	return scale(v, unit * VALUE_NS, frac * unit, out);
}

int value__parse(enum value_kind kind, const char *s, __u64 min, __u64 max, __u64 *out)
{
	const char *p = s;
	__u64 v = 0;
	int err;

	switch (kind) {
	case VALUE_NUMBER:
		err = digits(&p, &v) ?: (*p ? -EINVAL : 0);
		break;
	case VALUE_BYTES:
		err = parse_bytes(s, &v);
		break;
	case VALUE_DURATION:
		err = parse_duration(s, &v);
		break;
	default:
		err = -EINVAL;
	}
	if (err)
		return err;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int value__parse_n(enum value_kind kind, const char *s, size_t len, __u64 min, __u64 max,
		   __u64 *out)
{
	if (strnlen(s, len) != len)
		return -EINVAL;
	return value__parse(kind, s, min, max, out);
}

int value__pid(const char *s, pid_t *out)
{
	__u64 v;
	int err = value__parse(VALUE_NUMBER, s, 1, VALUE_PID_MAX, &v);

	if (!err)
		*out = v;
	return err;
}

static int format_duration(__u64 v, char *buf, size_t len)
{
	__u64 frac = v % VALUE_NS;
	int n = 9;

	if (!frac)
		return snprintf(buf, len, "%llu", (unsigned long long)(v / VALUE_NS));
	while (!(frac % 10))
		frac /= 10, n--;
	return snprintf(buf, len, "%llu.%0*llu", (unsigned long long)(v / VALUE_NS), n,
			(unsigned long long)frac);
}

int value__format(enum value_kind kind, __u64 v, char *buf, size_t len)
{
	static const char units[] = "TGM";
	int i;

	if (kind == VALUE_DURATION)
		return format_duration(v, buf, len);
	for (i = 0; kind == VALUE_BYTES && v && i < 3; i++) {
		unsigned int shift = 10 * (4 - i);

		if (!(v & ((1ULL << shift) - 1)))
			return snprintf(buf, len, "%llu%c", (unsigned long long)(v >> shift),
					units[i]);
	}
	return snprintf(buf, len, "%llu", (unsigned long long)v);
}

int value__explain(enum value_kind kind, __u64 min, __u64 max, char *buf, size_t len)
{
	char lo[32], hi[32];

	value__format(kind, min, lo, sizeof(lo));
	value__format(kind, max, hi, sizeof(hi));
	switch (kind) {
	case VALUE_BYTES:
		return snprintf(buf, len, "a byte count from %s to %s (K, M, G, T suffixes)", lo,
				hi);
	case VALUE_DURATION:
		return snprintf(buf, len, "a duration from %s to %s seconds (2.5, 90s, 5m, 1h)", lo,
				hi);
	default:
		return snprintf(buf, len, "a number from %s to %s", lo, hi);
	}
}
