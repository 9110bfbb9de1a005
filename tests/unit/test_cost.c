// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cost.c - the table of traced calls per process (src/cost.c): totals
 * that never shrink, through exits, evictions, reused pids and a full
 * table; the top list; the estimate; and the trap calibration on the real
 * kernel (src/calib.c).
 */
#include <errno.h>
#include <unistd.h>

#include "test.h"
#include "calib.h"
#include "cost.h"

static struct as_calls calls(__u64 allocs, __u64 frees, const char *comm)
{
	struct as_calls v = { .allocs = allocs, .frees = frees };

	snprintf(v.comm, sizeof(v.comm), "%s", comm);
	return v;
}

static void totals_are(struct cost *c, __u64 allocs, __u64 frees, int *ok)
{
	__u64 a, f;

	cost__totals(c, &a, &f);
	*ok = a == allocs && f == frees;
	if (!*ok)
		printf("    totals %llu, %llu; want %llu, %llu\n", (unsigned long long)a,
		       (unsigned long long)f, (unsigned long long)allocs,
		       (unsigned long long)frees);
}

/* Cumulative counts replace each other; the exit's is the last. */
static void test_update(void)
{
	struct cost *c = cost__new(16);
	struct as_calls v;
	struct cost_proc *top[4];
	int ok;

	ASSERT(c, "cost__new");
	v = calls(10, 5, "a");
	ASSERT_EQ(cost__update(c, 100, &v, false, 1), 0);
	v = calls(30, 25, "a");
	ASSERT_EQ(cost__update(c, 100, &v, false, 2), 0);
	totals_are(c, 30, 25, &ok);
	ASSERT(ok, "after two updates");
	v = calls(31, 26, "a");
	ASSERT_EQ(cost__update(c, 100, &v, true, 3), 0);
	ASSERT_EQ(cost__top(c, top, 4), 1);
	ASSERT(top[0]->exited && top[0]->allocs == 31 && top[0]->frees == 26, "the exit's count");
	ASSERT_STREQ(top[0]->comm, "a");
	cost__free(c);
}

/* A pid seen again after its exit, or with a smaller count, is a new process. */
static void test_reused_pid(void)
{
	struct cost *c = cost__new(16);
	struct cost_proc *top[4];
	struct as_calls v;
	int ok;

	v = calls(100, 90, "old");
	ASSERT_EQ(cost__update(c, 7, &v, true, 1), 0);
	v = calls(3, 2, "new");
	ASSERT_EQ(cost__update(c, 7, &v, false, 2), 0);
	totals_are(c, 103, 92, &ok);
	ASSERT(ok, "the exited one stays in the totals");
	ASSERT_EQ(cost__top(c, top, 4), 1);
	ASSERT(!top[0]->exited && top[0]->allocs == 3, "the new one has its own count");
	ASSERT_STREQ(top[0]->comm, "new");
	/* the same without an exit seen: a count that shrinks */
	v = calls(1, 1, "newer");
	ASSERT_EQ(cost__update(c, 7, &v, false, 3), 0);
	totals_are(c, 104, 93, &ok);
	ASSERT(ok, "after a shrinking count");
	cost__free(c);
}

/* Exited processes leave once logged (or at once when logging is off); totals stay. */
static void test_evict(void)
{
	struct cost *c = cost__new(16);
	struct cost_proc *top[4];
	struct as_calls v;
	int ok;

	v = calls(5, 5, "x");
	ASSERT_EQ(cost__update(c, 1, &v, true, 10), 0);
	v = calls(6, 6, "y");
	ASSERT_EQ(cost__update(c, 2, &v, false, 10), 0);
	cost__evict(c, 20, true);
	ASSERT_EQ(cost__top(c, top, 4), 2);	/* not logged yet */
	top[0]->logged_allocs = top[0]->allocs;
	top[0]->logged_frees = top[0]->frees;
	top[1]->logged_allocs = top[1]->allocs;
	top[1]->logged_frees = top[1]->frees;
	cost__evict(c, 5, true);
	ASSERT_EQ(cost__top(c, top, 4), 2);	/* updated after 5 */
	cost__evict(c, 20, true);
	ASSERT_EQ(cost__top(c, top, 4), 1);	/* the living one stays */
	ASSERT_EQ(top[0]->pid, 2);
	totals_are(c, 11, 11, &ok);
	ASSERT(ok, "after the eviction");
	v = calls(1, 0, "z");
	ASSERT_EQ(cost__update(c, 3, &v, true, 10), 0);
	cost__evict(c, 20, false);
	ASSERT_EQ(cost__top(c, top, 4), 1);
	totals_are(c, 12, 11, &ok);
	ASSERT(ok, "after an eviction without logging");
	cost__free(c);
}

/* A full table keeps no new process, but its exit still counts in the totals. */
static void test_full(void)
{
	struct cost *c = cost__new(2);
	struct as_calls v = calls(1, 1, "p");
	int ok;

	ASSERT_EQ(cost__update(c, 1, &v, false, 1), 0);
	ASSERT_EQ(cost__update(c, 2, &v, false, 1), 0);
	ASSERT_EQ(cost__update(c, 3, &v, false, 1), -ENOSPC);
	ASSERT_EQ(cost__shed(c), 0);
	v = calls(4, 3, "p");
	ASSERT_EQ(cost__update(c, 3, &v, true, 2), -ENOSPC);
	ASSERT_EQ(cost__shed(c), 1);
	totals_are(c, 6, 5, &ok);
	ASSERT(ok, "the shed one's exit is in the totals");
	cost__free(c);
}

/* The processes with the most calls, most first; ties keep any order. */
static void test_top(void)
{
	static const __u64 n[] = { 5, 50, 1, 500, 20, 0, 70 };
	struct cost *c = cost__new(16);
	struct cost_proc *top[8];
	struct as_calls v;
	unsigned int i;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		v = calls(n[i], n[i], "t");
		ASSERT_EQ(cost__update(c, 10 + i, &v, false, 1), 0);
	}
	ASSERT_EQ(cost__top(c, top, 3), 3);
	ASSERT_EQ(top[0]->allocs, 500);
	ASSERT_EQ(top[1]->allocs, 70);
	ASSERT_EQ(top[2]->allocs, 50);
	ASSERT_EQ(cost__top(c, top, 0), 0);
	ASSERT_EQ(cost__top(c, top, 8), 7);
	for (i = 1; i < 7; i++)
		ASSERT(top[i - 1]->allocs >= top[i]->allocs, "sorted at %u", i);
	cost__free(c);
}

static void test_seconds(void)
{
	struct cost *c = cost__new(1);

	ASSERT(cost__seconds(c, 1000) == 0, "no calibration: no estimate");
	cost__set_trap_ns(c, 400);
	ASSERT_NEAR(cost__seconds(c, 2500000), 1.0, 1e-12);
	ASSERT_NEAR(cost__trap_ns(c), 400, 0);
	cost__free(c);
}

/* The real trap, on this kernel: a kernel round trip, neither free nor absurd. */
static void test_calibration(void)
{
	double ns = 0;
	int err;

	if (geteuid())
		SKIP_CASE("needs root (BPF and uprobes)");
	err = calib__trap_ns(&ns);
	ASSERT(!err, "calib__trap_ns: %s", strerror(-err));
	ASSERT(ns > 10 && ns < 1e6, "%.1f ns per trap", ns);
}

int main(void)
{
	t_suite = "cost";
	RUN(test_update);
	RUN(test_reused_pid);
	RUN(test_evict);
	RUN(test_full);
	RUN(test_top);
	RUN(test_seconds);
	RUN(test_calibration);
	return TEST_EXIT();
}
