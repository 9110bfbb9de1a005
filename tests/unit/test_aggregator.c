// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_aggregator.c - the aggregator's bookkeeping: weights, sites keyed by
 * (process, stack, size), frees, process images across exec and pid reuse,
 * snapshots, eviction.
 */
#include <errno.h>

#include "aggregator.h"
#include "allocscope.h"
#include "test.h"

static const __u64 stack_a[] = { 0x1000, 0x2000, 0x3000 };
static const __u64 stack_b[] = { 0x1100, 0x2000, 0x3000 };

struct sum {
	int sites;
	double alloc, live;
	const struct agg_proc *proc;
};

static void sum_site(const struct agg_site *s, void *ctx)
{
	struct sum *m = ctx;

	if (m->proc && s->proc != m->proc)
		return;
	m->sites++;
	m->alloc += s->w_alloc;
	m->live += agg_site__live(s);
}

static struct sum sum_of(struct agg *a, const struct agg_proc *p)
{
	struct sum m = { .proc = p };

	agg__for_each_site(a, sum_site, &m);
	return m;
}

static void weights(void)
{
	ASSERT_NEAR(agg__weight(100, 1), 1.0, 0);
	ASSERT_NEAR(agg__weight(4096, 4096), 1.0 / (1.0 - exp(-1.0)), 1e-12);
	/* zero-byte calls are sampled as one byte */
	ASSERT_NEAR(agg__weight(0, 524288), agg__weight(1, 524288), 0);
	/* a huge allocation is always sampled: weight 1 */
	ASSERT_NEAR(agg__weight(1ULL << 40, 524288), 1.0, 1e-12);
}

static void sites_and_frees(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 100);
	struct sum m;

	ASSERT(a && p, "no aggregator");
	ASSERT(!agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true), "add");
	ASSERT(!agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 2, true), "add");
	ASSERT(!agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 128, 1, 3, true), "add");
	ASSERT(!agg__add_alloc(a, p, stack_b, 3, AS_FN_MALLOC, 0, 64, 1, 4, false), "add");
	m = sum_of(a, NULL);
	/* one site per (stack, size) */
	ASSERT_EQ(m.sites, 3);
	ASSERT_NEAR(m.alloc, 4, 0);
	/* the untracked sample counts in alloc, not in live */
	ASSERT_NEAR(m.live, 3, 0);
	agg__add_free(a, 2);
	agg__add_free(a, 2);	/* twice: the second is unknown */
	agg__add_free(a, 99);	/* never sampled */
	m = sum_of(a, NULL);
	ASSERT_NEAR(m.live, 2, 0);
	ASSERT_EQ(agg__nr_live(a), 2);
	agg__free(a);
}

static void exec_and_pid_reuse(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p1 = agg__proc(a, 200), *p2, *p3;

	agg__add_alloc(a, p1, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true);
	/* exec: a new image, the old one kept for its data */
	agg__proc_exec(a, 200, 5);
	p2 = agg__proc(a, 200);
	ASSERT(p2 != p1 && p1->replaced && p2->gen == p1->gen + 1, "no new image after exec");
	agg__add_alloc(a, p2, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 2, true);
	ASSERT_EQ(sum_of(a, p1).sites, 1);
	ASSERT_EQ(sum_of(a, p2).sites, 1);
	/* the process exits: finding it does not make a new one */
	agg__find_proc(a, 200)->exited = true;
	ASSERT(agg__find_proc(a, 200) == p2, "find made a new image");
	/* a later sample with that pid is another process */
	p3 = agg__proc(a, 200);
	ASSERT(p3 != p2 && !p3->exited && p3->gen == p2->gen + 1, "pid reuse not seen");
	ASSERT_EQ(agg__nr_procs(a), 3);
	agg__free(a);
}

static void find_stack_a(const struct agg_site *s, void *ctx)
{
	if (s->pcs[0] == stack_a[0])
		*(const struct agg_site **)ctx = s;
}

static void snapshots(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 300);
	struct agg_snap *snap;
	const struct agg_site *site = NULL;
	double alloc0, live0;
	bool gone;

	agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true);
	snap = agg__snapshot(a);
	ASSERT(snap, "no snapshot");
	agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 2, true);
	agg__add_alloc(a, p, stack_b, 3, AS_FN_MALLOC, 0, 64, 1, 3, true);
	agg__add_free(a, 1);
	/* sites stay while a snapshot holds them */
	p->exited = true;
	p->exported = true;
	p->exit_ns = 1;
	ASSERT_EQ(agg__evict_exited(a, 100), 0);
	agg__for_each_site(a, find_stack_a, &site);
	ASSERT(site, "site gone");
	agg_snap__get(snap, site, &alloc0, &live0, &gone);
	ASSERT_NEAR(alloc0, 1, 0);
	ASSERT_NEAR(live0, 1, 0);
	ASSERT(!gone, "the process was alive at the snapshot");
	agg_snap__free(a, snap);
	/* now it goes, with its sites and its live samples */
	ASSERT_EQ(agg__evict_exited(a, 100), 1);
	ASSERT_EQ(agg__nr_sites(a), 0);
	ASSERT_EQ(agg__nr_live(a), 0);
	agg__add_free(a, 2);	/* a late free of an evicted sample is ignored */
	agg__free(a);
}

static void eviction_waits(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 400);

	agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true);
	p->exited = true;
	p->exit_ns = 50;
	/* not exported yet: stays */
	ASSERT_EQ(agg__evict_exited(a, 100), 0);
	agg__mark_exported(a);
	/* exported, but exited after the cut-off: stays */
	ASSERT_EQ(agg__evict_exited(a, 40), 0);
	ASSERT_EQ(agg__evict_exited(a, 100), 1);
	ASSERT_EQ(agg__nr_procs(a), 0);
	agg__free(a);
}

/* max_sites keeps the sites there are, counts what it drops; the live cap tracks no more. */
static void limits(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 500);
	struct agg_limit_stats st;
	struct sum m = { 0 };

	agg__set_limits(a, 2, 3);
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true), 0);
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 32, 1, 2, true), 0);
	/* a third site: dropped, counted with its bytes */
	ASSERT_EQ(agg__add_alloc(a, p, stack_b, 3, AS_FN_MALLOC, 0, 64, 1, 3, true), -ENOSPC);
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 16, 1, 4, true), -ENOSPC);
	/* the sites there are still count */
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 5, true), 0);
	/* a fourth tracked sample: over the live cap, alloc_* only */
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 6, true), 0);
	agg__limit_stats(a, &st);
	ASSERT_EQ(st.site_drops, 2);
	ASSERT(st.site_drop_bytes == 64 + 16, "dropped bytes %f", st.site_drop_bytes);
	ASSERT_EQ(st.live_full, 1);
	ASSERT_EQ(agg__nr_sites(a), 2);
	ASSERT_EQ(agg__nr_live(a), 3);
	agg__for_each_site(a, sum_site, &m);
	ASSERT(m.alloc == 4 && m.live == 3, "alloc %f live %f", m.alloc, m.live);
	/* a free makes room again */
	agg__add_free(a, 1);
	ASSERT_EQ(agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 7, true), 0);
	ASSERT_EQ(agg__nr_live(a), 3);
	agg__free(a);
}

/* An export in progress holds the sites: eviction waits for it. */
static void hold(void)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 600);

	agg__add_alloc(a, p, stack_a, 3, AS_FN_MALLOC, 0, 64, 1, 1, true);
	p->exited = true;
	p->exit_ns = 50;
	agg__mark_exited_exported(a);
	agg__hold(a);
	ASSERT_EQ(agg__evict_exited(a, 100), 0);
	agg__unhold(a);
	ASSERT_EQ(agg__evict_exited(a, 100), 1);
	agg__free(a);
}

int main(void)
{
	t_suite = "aggregator";
	RUN(weights);
	RUN(sites_and_frees);
	RUN(exec_and_pid_reuse);
	RUN(snapshots);
	RUN(eviction_waits);
	RUN(limits);
	RUN(hold);
	return TEST_EXIT();
}
