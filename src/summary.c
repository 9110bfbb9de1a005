// SPDX-License-Identifier: GPL-2.0-only
/* summary.c - the human report of a recording. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "exporter.h"
#include "hmap.h"
#include "summary.h"
#include "symbolizer.h"

/* Fewer samples than this behind an estimate: it is noise, and marked so. */
#define FEW_SAMPLES	10

struct leaf {
	struct hnode node;
	const char *func;	/* owned by the ELF cache, alive while the agg is */
	__u16 fn;
	bool mixed;		/* reached through several allocator functions */
	double alloc_bytes, alloc_objects, inuse_bytes, inuse_objects;
	double var_alloc_bytes, var_inuse_bytes;	/* their Horvitz-Thompson variances */
	__u64 n_alloc, n_live;	/* samples behind them */
};

struct leaves {
	struct hmap map;
	struct leaf **v;
	size_t nr;
	bool inuse_exited;
	int err;
	double bytes, rooted_bytes;	/* alloc_space, and on stacks that reach main */
};

static const char *const fn_names[AS_FN_MAX] = {
	[AS_FN_MALLOC] = "malloc", [AS_FN_CALLOC] = "calloc", [AS_FN_REALLOC] = "realloc",
	[AS_FN_REALLOCARRAY] = "reallocarray", [AS_FN_POSIX_MEMALIGN] = "posix_memalign",
	[AS_FN_ALIGNED_ALLOC] = "memalign/aligned_alloc", [AS_FN_VALLOC] = "valloc",
	[AS_FN_PVALLOC] = "pvalloc", [AS_FN_NEW] = "operator new",
};

void summary__bytes(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void count(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f M", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1f K", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

/* The function that called the allocator, as the profile's leaf shows it. */
static const char *leaf_func(const struct agg_site *s)
{
	struct sym_frame f;
	__u32 first, end;

	exporter__trim(s, &first, &end);
	if (first >= end || !s->proc->as ||
	    addr_space__lookup(s->proc->as, s->pcs[first] - 1, &f))
		return NULL;
	return f.func;
}

static bool leaf_eq(const struct hnode *n, const void *key)
{
	return !strcmp(hmap_entry(n, struct leaf, node)->func, key);
}

static struct leaf *get_leaf(struct leaves *l, const char *func)
{
	__u64 h = hash_str(func);
	struct hnode *n = hmap__find(&l->map, h, leaf_eq, func);
	struct leaf *lf, **v;

	if (n)
		return hmap_entry(n, struct leaf, node);
	lf = calloc(1, sizeof(*lf));
	v = realloc(l->v, (l->nr + 1) * sizeof(*v));
	if (!lf || !v || hmap__add(&l->map, &lf->node, h)) {
		free(lf);
		if (v)
			l->v = v;
		return NULL;
	}
	l->v = v;
	l->v[l->nr++] = lf;
	lf->func = func;
	return lf;
}

/*
 * Whether the stack reaches main or a thread's start: a frame-pointer walk
 * through code built without them ends early, and the bytes it leaves out
 * of their callers are what the summary must not call exact.
 */
static bool rooted(const struct agg_site *s)
{
	static const char *const roots[] = {
		"main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
		"clone", "clone3", "__clone", "__clone3",
	};
	struct sym_frame f;
	__u32 first, end;
	size_t i;

	exporter__trim(s, &first, &end);
	if (first >= end || !s->proc->as ||
	    addr_space__lookup(s->proc->as, s->pcs[end - 1] - 1, &f) || !f.func)
		return false;
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(f.func, roots[i]))
			return true;
	return false;
}

static void add_rooted(const struct agg_site *s, void *ctx)
{
	double *b = ctx, bytes = s->w_alloc * (double)s->size;

	b[0] += bytes;
	if (rooted(s))
		b[1] += bytes;
}

double summary__cut_share(struct agg *a)
{
	double b[2] = { 0 };

	agg__for_each_site(a, add_rooted, b);
	return b[0] > 0 ? 1 - b[1] / b[0] : 0;
}

static void add_site(const struct agg_site *s, void *ctx)
{
	struct leaves *l = ctx;
	const char *func = leaf_func(s);
	double live = s->w_alloc - s->w_free - s->w_untracked, sz = (double)s->size;
	double v_live = agg_site__live_var(s);
	struct leaf *lf;

	if (s->proc->exited && !l->inuse_exited)
		live = v_live = 0;
	l->bytes += s->w_alloc * sz;
	if (rooted(s))
		l->rooted_bytes += s->w_alloc * sz;
	lf = get_leaf(l, func ? func : "[unknown]");
	if (!lf) {
		l->err = 1;
		return;
	}
	if (lf->alloc_objects && lf->fn != s->fn)
		lf->mixed = true;
	lf->fn = s->fn;
	lf->alloc_bytes += s->w_alloc * s->size;
	lf->alloc_objects += s->w_alloc;
	lf->inuse_bytes += live > 0 ? live * s->size : 0;
	lf->inuse_objects += live > 0 ? live : 0;
	lf->var_alloc_bytes += s->v_alloc * sz * sz;
	lf->var_inuse_bytes += live > 0 ? v_live * sz * sz : 0;
	lf->n_alloc += s->n_alloc;
	if (live > 0)
		lf->n_live += s->n_alloc - s->n_free;
}

/* " ± 3%" for an estimate and its variance, "" when exact; "~" marks noise. */
static void error_of(double est, double var, __u64 n, bool sampled, char *buf, size_t len)
{
	if (!sampled || est <= 0)
		snprintf(buf, len, "       ");
	else
		snprintf(buf, len, " ±%4.0f%%%s", 100.0 * sqrt(var) / est, n < FEW_SAMPLES ? "~" : " ");
}

static int by_alloc(const void *a, const void *b)
{
	double x = (*(struct leaf **)a)->alloc_bytes, y = (*(struct leaf **)b)->alloc_bytes;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_inuse(const void *a, const void *b)
{
	double x = (*(struct leaf **)a)->inuse_bytes, y = (*(struct leaf **)b)->inuse_bytes;

	return x < y ? 1 : x > y ? -1 : 0;
}

static void print_top(FILE *f, struct leaves *l, bool inuse, double total, int top,
		      bool sampled)
{
	char b[32], c[32], e[32];
	size_t i;

	qsort(l->v, l->nr, sizeof(*l->v), inuse ? by_inuse : by_alloc);
	fprintf(f, "  top sites by %s:\n", inuse ? "inuse_space" : "alloc_space");
	for (i = 0; i < l->nr && (int)i < top; i++) {
		struct leaf *lf = l->v[i];
		double bytes = inuse ? lf->inuse_bytes : lf->alloc_bytes;
		const char *via = lf->mixed ? "several" : fn_names[lf->fn & 0xff];

		if (bytes <= 0 && i)
			break;
		summary__bytes(bytes, b, sizeof(b));
		count(inuse ? lf->inuse_objects : lf->alloc_objects, c, sizeof(c));
		error_of(bytes, inuse ? lf->var_inuse_bytes : lf->var_alloc_bytes,
			 inuse ? lf->n_live : lf->n_alloc, sampled, e, sizeof(e));
		fprintf(f, "    %10s%s %5.1f%% %10s obj  %s (%s)\n", b, e,
			total > 0 ? 100.0 * bytes / total : 0.0, c, lf->func, via ? via : "?");
	}
}

static void free_leaves(struct leaves *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	hmap__release(&l->map);
}

/*
 * What kind of figures these are, in words that are true: "exact" only
 * when every allocation was recorded with a stack that reaches main,
 * "unbiased" only when no sample was lost.
 */
static void print_kind(FILE *f, const struct summary_opts *o, const struct leaves *l)
{
	double cut = l->bytes > 0 ? 100.0 * (1 - l->rooted_bytes / l->bytes) : 0;

	if (o->rate <= 1 && !o->dropped && cut < SUMMARY_EXACT_CUT)
		fprintf(f, "  exact: every allocation recorded, with its stack\n");
	else if (o->rate <= 1)
		fprintf(f, "  every allocation sampled (rate 1), but not exact: %llu samples lost, %.1f%% of the bytes on stacks that end before main\n",
			(unsigned long long)o->dropped, cut);
	else if (!o->dropped)
		fprintf(f, "  sampled: 1 sample per %llu bytes on average; figures are unbiased estimates, ± one standard error (~: fewer than %d samples, noise)\n",
			(unsigned long long)o->rate, FEW_SAMPLES);
	else
		fprintf(f, "  sampled: 1 sample per %llu bytes on average; %llu samples lost: figures are low by about that share\n",
			(unsigned long long)o->rate, (unsigned long long)o->dropped);
	if (cut >= 0.05 && (o->rate > 1 || cut < SUMMARY_EXACT_CUT))
		fprintf(f, "  stacks: %.1f%% of the bytes on stacks that end before main (frame pointers missing, or the stack copy too short)\n",
			cut);
}

static void print_totals(FILE *f, const struct agg_totals *t, const struct summary_opts *o,
			 const struct leaves *l, const double inuse[3])
{
	double secs = o->duration_ns / 1e9;
	char b[32], c[32], r[32], e[32];
	bool sampled = o->rate > 1;

	fprintf(f, "allocscope: wrote %s (%.2f s, %llu process%s, %s probes)\n", o->output, secs,
		(unsigned long long)t->procs, t->procs == 1 ? "" : "es", o->probes);
	print_kind(f, o, l);
	summary__bytes(t->alloc_bytes, b, sizeof(b));
	count(t->alloc_objects, c, sizeof(c));
	summary__bytes(secs > 0 ? t->alloc_bytes / secs : 0, r, sizeof(r));
	error_of(t->alloc_bytes, t->var_alloc_bytes, t->samples, sampled, e, sizeof(e));
	fprintf(f, "  allocated %s%s in %s objects (%s/s)\n", b, sampled ? e : "", c, r);
	if (!o->alloc_only) {
		summary__bytes(inuse[0], b, sizeof(b));
		count(inuse[1], c, sizeof(c));
		error_of(inuse[0], inuse[2], FEW_SAMPLES, sampled, e, sizeof(e));
		fprintf(f, "  live at end %s%s in %s objects\n", b, sampled ? e : "", c);
	}
	fprintf(f, "  %llu samples, %llu dropped", (unsigned long long)t->samples,
		(unsigned long long)o->dropped);
	if (o->untracked)
		fprintf(f, ", %llu not tracked for inuse (live map full)",
			(unsigned long long)o->untracked);
	fputc('\n', f);
	if (o->entry_only && !o->alloc_only)
		fprintf(f, "  %llu samples are in alloc_* but not inuse_*: taken at the entry of calls whose return is not probed (%s)\n",
			(unsigned long long)o->entry_only, SUMMARY_NORET_WHY);
	if (o->threw)
		fprintf(f, "  %llu sampled calls threw std::bad_alloc or another exception: nothing allocated, not counted\n",
			(unsigned long long)o->threw);
	if (o->overflowed || o->small_records)
		fprintf(f, "  degraded, not lost (ring buffer full): %llu samples kept in the kernel with frame-pointer stacks (%llu without any stack), %llu sent with frame-pointer stacks instead of a stack copy\n",
			(unsigned long long)o->overflowed, (unsigned long long)o->overflow_nostack,
			(unsigned long long)o->small_records);
	if (o->file_errors)
		fprintf(f, "  %llu file%s could not be read (not ELF, truncated or changed): frames in them may be unnamed\n",
			(unsigned long long)o->file_errors, o->file_errors == 1 ? "" : "s");
}

void summary__print(FILE *f, struct agg *a, const struct summary_opts *o)
{
	struct leaves l = { .inuse_exited = o->inuse_exited };
	double inuse[3] = { 0 };	/* bytes, objects, variance of bytes */
	struct agg_totals t;
	size_t i;

	agg__totals(a, &t);
	agg__for_each_site(a, add_site, &l);
	for (i = 0; i < l.nr; i++) {
		inuse[0] += l.v[i]->inuse_bytes;
		inuse[1] += l.v[i]->inuse_objects;
		inuse[2] += l.v[i]->var_inuse_bytes;
	}
	print_totals(f, &t, o, &l, inuse);
	if (l.nr) {
		print_top(f, &l, false, t.alloc_bytes, o->top, o->rate > 1);
		if (!o->alloc_only && inuse[0] > 0)
			print_top(f, &l, true, inuse[0], o->top, o->rate > 1);
	}
	free_leaves(&l);
}
