// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_shed.c - load shedding's decisions: which processes get a raised
 * rate and when, how far, what is counted, and the way back down.
 */
#include "shed.h"
#include "test.h"

#define BASE	4096ULL
#define MAX	(BASE * 64)
#define SEC	1000000000ULL

struct kernel {
	__u64 rate[8];		/* by pid, 0: the configured one */
	int calls;
};

static int set_rate(void *ctx, pid_t tgid, __u64 rate)
{
	struct kernel *k = ctx;

	k->rate[tgid] = rate;
	k->calls++;
	return 0;
}

/* One second: n1 samples of pid 1, n2 of pid 2, turns left with a backlog or not. */
static void second(struct shed *s, __u64 *now, int n1, int n2, bool backlog)
{
	int i;

	for (i = 0; i < n1; i++)
		shed__sample(s, 1, BASE);
	for (i = 0; i < n2; i++)
		shed__sample(s, 2, BASE);
	for (i = 0; i < 10; i++)
		shed__turn(s, backlog, backlog ? 20000000 : 1000000);
	*now += SEC;
	shed__tick(s, *now, 0);
}

static void raises_heaviest(void)
{
	struct kernel k = { 0 };
	struct shed *s = shed__new(set_rate, &k, BASE, MAX);
	struct shed_stats st;
	__u64 now = 1;
	int i;

	shed__tick(s, now, 0);
	second(s, &now, 1000, 10, true);
	/* the heavy one only: pid 2 has less than a quarter of the samples */
	ASSERT_EQ(k.rate[1], BASE * 4);
	ASSERT_EQ(k.rate[2], 0);
	/* the ring still holds samples at the old rate: a window passes */
	second(s, &now, 1000, 10, true);
	ASSERT_EQ(k.rate[1], BASE * 4);
	for (i = 0; i < 5; i++)
		second(s, &now, 1000, 10, true);
	/* a step every other window, up to the limit, no further */
	ASSERT_EQ(k.rate[1], MAX);
	shed__stats(s, &st);
	ASSERT_EQ(st.raised, 4);
	ASSERT_EQ(st.procs, 2);
	ASSERT_EQ(st.max_rate, MAX);
	/* at the limit, the next heaviest goes up */
	ASSERT_EQ(k.rate[2], BASE * 4);
	shed__free(s);
}

static void counts_what_is_shed(void)
{
	struct kernel k = { 0 };
	struct shed *s = shed__new(set_rate, &k, BASE, MAX);
	struct shed_stats st;

	/* a sample at 4 R stands for 3 the configured rate would have taken too */
	shed__sample(s, 1, BASE * 4);
	shed__sample(s, 1, BASE);
	shed__stats(s, &st);
	ASSERT_EQ(st.shed_samples, 3);
	shed__free(s);
}

static void comes_back_down(void)
{
	struct kernel k = { 0 };
	struct shed *s = shed__new(set_rate, &k, BASE, MAX);
	struct shed_stats st;
	__u64 now = 1;
	int i;

	shed__tick(s, now, 0);
	second(s, &now, 1000, 0, true);
	ASSERT_EQ(k.rate[1], BASE * 4);
	/* calm: the window to settle and 5, then half, then 5 more, then the configured rate */
	for (i = 0; i < 6; i++)
		second(s, &now, 10, 0, false);
	ASSERT_EQ(k.rate[1], BASE * 2);
	for (i = 0; i < 5; i++)
		second(s, &now, 10, 0, false);
	ASSERT_EQ(k.rate[1], 0);
	shed__stats(s, &st);
	ASSERT_EQ(st.lowered, 2);
	ASSERT_EQ(st.procs, 0);
	ASSERT_EQ(st.max_rate, BASE);
	shed__free(s);
}

static void drops_and_exits(void)
{
	struct kernel k = { 0 };
	struct shed *s = shed__new(set_rate, &k, BASE, MAX);
	struct shed_stats st;
	__u64 now = 1;

	shed__tick(s, now, 5);
	/* no backlog, but the ring dropped samples: overloaded */
	shed__sample(s, 3, BASE);
	now += SEC;
	shed__tick(s, now, 6);
	ASSERT_EQ(k.rate[3], BASE * 4);
	shed__exit(s, 3);
	shed__stats(s, &st);
	ASSERT_EQ(st.procs, 0);
	/* a new configured rate: every process back to it */
	k.calls = 0;
	second(s, &now, 0, 0, false);
	second(s, &now, 100, 0, true);
	ASSERT_EQ(k.rate[1], BASE * 4);
	shed__configure(s, BASE * 2, MAX);
	ASSERT_EQ(k.rate[1], 0);
	shed__free(s);
}

static void disabled(void)
{
	struct kernel k = { 0 };
	struct shed *s = shed__new(set_rate, &k, BASE, BASE);
	__u64 now = 1;

	shed__tick(s, now, 0);
	second(s, &now, 1000, 0, true);
	second(s, &now, 1000, 0, true);
	ASSERT_EQ(k.calls, 0);
	shed__free(s);
}

int main(void)
{
	t_suite = "shed";
	RUN(raises_heaviest);
	RUN(counts_what_is_shed);
	RUN(comes_back_down);
	RUN(drops_and_exits);
	RUN(disabled);
	return TEST_EXIT();
}
