// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_value.c - the one dialect of values (src/value.h): what each kind accepts, exactly
 * what it refuses (signs, blanks, NULs, wraps, other suffixes), the ranges, and that
 * value__format() reads back as the same value.
 */
#include <errno.h>

#include "test.h"
#include "value.h"

#define MAX (~0ULL)
#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)

struct good {
	const char *s;
	__u64 v;
};

static void check_good(enum value_kind kind, const struct good *g, size_t n)
{
	size_t i;
	__u64 v;

	for (i = 0; i < n; i++) {
		v = 12345;
		ASSERT(!value__parse(kind, g[i].s, 0, MAX, &v), "'%s' refused", g[i].s);
		ASSERT(v == g[i].v, "'%s': %llu, not %llu", g[i].s, (unsigned long long)v,
		       (unsigned long long)g[i].v);
	}
}

static void check_bad(enum value_kind kind, const char *const *bad, size_t n)
{
	size_t i;
	__u64 v = 777;

	for (i = 0; i < n; i++) {
		ASSERT(value__parse(kind, bad[i], 0, MAX, &v) == -EINVAL, "'%s' accepted: %llu",
		       bad[i], (unsigned long long)v);
		ASSERT_EQ(v, 777);
	}
}

#define N(a) (sizeof(a) / sizeof(a[0]))

/* Refused by every kind. */
static const char *const never[] = {
	"", " ", "+5", "-5", " 5", "5 ", "5\t", "\t5", "5\n", "0x10", "1e3", "5,0", "five",
	"18446744073709551616", "99999999999999999999999", "4294967297x", "5 K", "٥",
};

static void test_number(void)
{
	static const struct good good[] = {
		{ "0", 0 }, { "7", 7 }, { "007", 7 }, { "4096", 4096 },
		{ "4294967296", 1ULL << 32 }, { "18446744073709551615", MAX },
	};
	static const char *const bad[] = { "5K", "2.5", "1s", "5.", ".5" };

	check_good(VALUE_NUMBER, good, N(good));
	check_bad(VALUE_NUMBER, never, N(never));
	check_bad(VALUE_NUMBER, bad, N(bad));
}

static void test_bytes(void)
{
	static const struct good good[] = {
		{ "524288", 524288 }, { "512K", 512 * KIB }, { "512k", 512 * KIB },
		{ "512KiB", 512 * KIB }, { "64m", 64 * MIB }, { "64MiB", 64 * MIB },
		{ "1G", GIB }, { "3GiB", 3 * GIB }, { "1T", TIB }, { "1t", TIB }, { "2TiB", 2 * TIB },
		{ "0K", 0 }, { "16777215T", 16777215 * TIB },
	};
	static const char *const bad[] = {
		"512KB", "512B", "512Ki", "512kib", "512KIB", "512iB", "1P", "1E", "1.5M", "K",
		"16777216T", "18446744073709551615K", "5KiBB", "5MK",
	};

	check_good(VALUE_BYTES, good, N(good));
	check_bad(VALUE_BYTES, never, N(never));
	check_bad(VALUE_BYTES, bad, N(bad));
}

static void test_duration(void)
{
	static const struct good good[] = {
		{ "0", 0 }, { "10", 10 * VALUE_NS }, { "2.5", 2500000000ULL }, { "90s", 90 * VALUE_NS },
		{ "5m", 300 * VALUE_NS }, { "1h", 3600 * VALUE_NS }, { "1.5m", 90 * VALUE_NS },
		{ "0.000000001", 1 }, { "0.1h", 360 * VALUE_NS }, { "0.999999999h", 3599999996400ULL },
		{ "18446744073.709551615", MAX }, { "2.50s", 2500000000ULL },
	};
	static const char *const bad[] = {
		"2.", ".5", "2..5", "1.0000000001", "5d", "5ms", "1 h", "1hh", "1.5.", "2.5K",
		"18446744073.709551616", "5124095576030431h", "1e9",
	};

	check_good(VALUE_DURATION, good, N(good));
	check_bad(VALUE_DURATION, never, N(never));
	check_bad(VALUE_DURATION, bad, N(bad));
}

static void test_ranges(void)
{
	__u64 v = 0;
	pid_t pid = 0;

	ASSERT_EQ(value__parse(VALUE_NUMBER, "0", 1, 10, &v), -ERANGE);
	ASSERT_EQ(value__parse(VALUE_NUMBER, "11", 1, 10, &v), -ERANGE);
	ASSERT_EQ(value__parse(VALUE_NUMBER, "10", 1, 10, &v), 0);
	ASSERT_EQ(v, 10);
	ASSERT_EQ(value__parse(VALUE_BYTES, "1025G", 1, TIB, &v), -ERANGE);
	ASSERT_EQ(value__parse(VALUE_DURATION, "0.5", VALUE_NS, 60 * VALUE_NS, &v), -ERANGE);
	/* pids: no 32-bit wrap, PID_MAX_LIMIT the top */
	ASSERT_EQ(value__pid("4194304", &pid), 0);
	ASSERT_EQ(pid, 4194304);
	ASSERT_EQ(value__pid("4194305", &pid), -ERANGE);
	ASSERT_EQ(value__pid("0", &pid), -ERANGE);
	ASSERT_EQ(value__pid("4294967297", &pid), -ERANGE);	/* 1 + 2^32 */
	ASSERT_EQ(value__pid("99999999", &pid), -ERANGE);
	ASSERT_EQ(value__pid("+5", &pid), -EINVAL);
	ASSERT_EQ(pid, 4194304);
}

/* An HTTP parameter is a length: "5%00" decodes to "5" and a NUL, which is not "5". */
static void test_embedded_nul(void)
{
	__u64 v = 0;

	ASSERT_EQ(value__parse_n(VALUE_NUMBER, "5\0" "7", 3, 0, MAX, &v), -EINVAL);
	ASSERT_EQ(value__parse_n(VALUE_NUMBER, "5\0", 2, 0, MAX, &v), -EINVAL);
	ASSERT_EQ(value__parse_n(VALUE_NUMBER, "57", 2, 0, MAX, &v), 0);
	ASSERT_EQ(v, 57);
}

static void check_roundtrip(enum value_kind kind, __u64 v, const char *want)
{
	char buf[64];
	__u64 back = 0;

	value__format(kind, v, buf, sizeof(buf));
	ASSERT(!want || !strcmp(buf, want), "%llu: '%s', not '%s'", (unsigned long long)v, buf,
	       want);
	ASSERT(!value__parse(kind, buf, 0, MAX, &back), "'%s' refused", buf);
	ASSERT(back == v, "'%s' reads back as %llu, not %llu", buf, (unsigned long long)back,
	       (unsigned long long)v);
}

static void test_format_roundtrip(void)
{
	static const __u64 odd[] = { 0, 1, 7, 999, 1023, 1024, 524288, MIB, MIB + 1, 3 * GIB,
				     TIB, 5 * TIB + MIB, MAX, MAX - 1, 1ULL << 63 };
	__u64 x = 88172645463325252ULL;
	size_t i;
	int k;

	check_roundtrip(VALUE_BYTES, 524288, "524288");
	check_roundtrip(VALUE_BYTES, 1536 * KIB, "1572864");
	check_roundtrip(VALUE_BYTES, 3 * GIB, "3G");
	check_roundtrip(VALUE_BYTES, TIB, "1T");
	check_roundtrip(VALUE_BYTES, 256 * MIB, "256M");
	check_roundtrip(VALUE_DURATION, 60 * VALUE_NS, "60");
	check_roundtrip(VALUE_DURATION, 2500000000ULL, "2.5");
	check_roundtrip(VALUE_DURATION, 1, "0.000000001");
	check_roundtrip(VALUE_DURATION, MAX, "18446744073.709551615");
	check_roundtrip(VALUE_NUMBER, MAX, "18446744073709551615");
	for (k = VALUE_NUMBER; k <= VALUE_DURATION; k++) {
		for (i = 0; i < N(odd); i++)
			check_roundtrip(k, odd[i], NULL);
		for (i = 0; i < 10000; i++) {	/* xorshift: values of every size */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			check_roundtrip(k, x >> (i % 64), NULL);
			if (t_case_failed)
				return;
		}
	}
}

static void test_explain(void)
{
	char buf[128];

	value__explain(VALUE_BYTES, 1, TIB, buf, sizeof(buf));
	ASSERT_STREQ(buf, "a byte count from 1 to 1T (K, M, G, T suffixes)");
	value__explain(VALUE_DURATION, VALUE_NS, 86400 * VALUE_NS, buf, sizeof(buf));
	ASSERT_STREQ(buf, "a duration from 1 to 86400 seconds (2.5, 90s, 5m, 1h)");
	value__explain(VALUE_NUMBER, 0, 1000, buf, sizeof(buf));
	ASSERT_STREQ(buf, "a number from 0 to 1000");
}

int main(void)
{
	t_suite = "value";
	RUN(test_number);
	RUN(test_bytes);
	RUN(test_duration);
	RUN(test_ranges);
	RUN(test_embedded_nul);
	RUN(test_format_roundtrip);
	RUN(test_explain);
	return TEST_EXIT();
}
