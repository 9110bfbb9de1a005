// SPDX-License-Identifier: GPL-2.0-only
/* ingest.c - ring buffer records into the aggregator. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "allocscope.h"
#include "ingest.h"
#include "procfs.h"
#include "symbolizer.h"

void ingest__snapshot(struct ingest *in, struct agg_proc *p)
{
	char exe[PATH_MAX];

	if (p->as || p->exited || symbolizer__snapshot(in->sym, p->pid, &p->as))
		return;
	procfs__comm(p->pid, p->comm, sizeof(p->comm));
	if (!procfs__exe(p->pid, exe, sizeof(exe)))
		p->exe = strdup(exe);
}

/* An address outside every known mapping: a library loaded since. */
static void refresh_if_unknown(struct agg_proc *p, __u64 pc)
{
	struct sym_frame f;

	if (!p->exited && addr_space__lookup(p->as, pc, &f) == -ENOENT)
		addr_space__refresh(p->as);
}

static struct agg_proc *sample_proc(struct ingest *in, __u32 tgid)
{
	struct agg_proc *p;

	if (in->max_procs && agg__nr_procs(in->agg) >= in->max_procs &&
	    !agg__has_proc(in->agg, tgid)) {
		in->dropped_procs++;
		return NULL;
	}
	p = agg__proc(in->agg, tgid);
	if (!p)
		in->errors++;
	return p;
}

static void ingest_alloc(struct ingest *in, const struct as_alloc_event *e)
{
	bool tracked = !(e->fn & AS_EVF_UNTRACKED) && !in->alloc_only;
	struct agg_proc *p = sample_proc(in, e->tgid);

	if (!p)
		return;
	if (!p->as)
		ingest__snapshot(in, p);
	else
		refresh_if_unknown(p, e->ips[0]);
	if (agg__add_alloc(in->agg, p, e->ips, e->nr_ips, e->fn & AS_EVF_MASK, e->alloc_ip,
			   e->size, e->rate, e->seq, tracked))
		in->errors++;
}

int ingest__record(struct ingest *in, const void *data, size_t size)
{
	const struct as_alloc_event *e = data;

	if (size < sizeof(__u32) * 2)
		return 0;
	switch (e->type) {
	case AS_EV_ALLOC:
		if (size < AS_ALLOC_EVENT_SIZE(0) || e->nr_ips > AS_MAX_STACK ||
		    size < AS_ALLOC_EVENT_SIZE(e->nr_ips))
			return 0;
		ingest_alloc(in, e);
		break;
	case AS_EV_FREE:
		if (size < sizeof(struct as_free_event))
			return 0;
		agg__add_free(in->agg, ((const struct as_free_event *)data)->seq);
		break;
	case AS_EV_EXEC:
	case AS_EV_EXIT:
		if (size < sizeof(struct as_proc_event))
			return 0;
		break;
	default:
		return 0;
	}
	return e->type;
}
