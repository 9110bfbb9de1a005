// SPDX-License-Identifier: GPL-2.0-only
/*
 * diff.c - allocscope diff: per site, the objects and bytes of two
 * profiles and their change, and a gate for CI. A site is the function
 * that called the allocator (the leaf: allocscope hides allocator frames).
 *
 * A sampled estimate has a variance, and two runs of the same workload
 * differ by noise: a change counts only when it exceeds Z standard
 * deviations of the difference. From a profile alone the variance is
 * recovered per sample: its value of V objects of s bytes at period R
 * stands for n = V/w samples of weight w = 1/(1 - exp(-s/R)), whose
 * Horvitz-Thompson variance is n w (w - 1) = V (w - 1) objects. Exact
 * profiles (period 1) have none: every change counts, as allocs/op does.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hmap.h"
#include "profread.h"

#define Z	3.0	/* standard deviations a change must exceed */

struct site {
	struct hnode node;
	const char *name;
	double v[2][2];		/* [base, new][objects, bytes] */
	double var[2][2];
};

struct diff {
	struct hmap sites;
	struct site **v;
	size_t nr;
	struct site total;
};

static bool site_eq(const struct hnode *n, const void *key)
{
	return !strcmp(hmap_entry(n, struct site, node)->name, key);
}

static struct site *get_site(struct diff *d, const char *name)
{
	__u64 h = hash_str(name);
	struct hnode *n = hmap__find(&d->sites, h, site_eq, name);
	struct site *s, **v;

	if (n)
		return hmap_entry(n, struct site, node);
	s = calloc(1, sizeof(*s));
	v = realloc(d->v, (d->nr + 1) * sizeof(*v));
	if (v)
		d->v = v;
	if (!s || !v || hmap__add(&d->sites, &s->node, h)) {
		free(s);
		return NULL;
	}
	s->name = name;
	d->v[d->nr++] = s;
	return s;
}

/* Objects' variance behind one sample's value (see the top of the file). */
static double sample_var(double objects, __s64 size, __s64 period)
{
	double w;

	if (period <= 1 || objects <= 0)
		return 0;
	w = 1.0 / -expm1(-(double)(size > 0 ? size : 1) / (double)period);
	return objects * (w - 1);
}

static void add_value(struct site *s, int which, double o, double b, double var_o, double sz)
{
	s->v[which][0] += o;
	s->v[which][1] += b;
	s->var[which][0] += var_o;
	s->var[which][1] += var_o * sz * sz;
}

static int add_profile(struct diff *d, const struct profile *p, int which, const int idx[2])
{
	size_t i;

	for (i = 0; i < p->nr_samples; i++) {
		const struct prof_sample *ps = &p->samples[i];
		double o = ps->values[idx[0]], b = ps->values[idx[1]];
		double var = sample_var(o, ps->bytes, p->period);
		struct site *s = get_site(d, ps->nr_funcs ? ps->funcs[0] : "?");

		if (!s)
			return -ENOMEM;
		add_value(s, which, o, b, var, (double)ps->bytes);
		add_value(&d->total, which, o, b, var, (double)ps->bytes);
	}
	return 0;
}

/* Whether k (0 objects, 1 bytes) grew by more than pct, beyond the noise. */
static bool grew(const struct site *s, int k, double pct)
{
	double delta = s->v[1][k] - s->v[0][k], sd = sqrt(s->var[0][k] + s->var[1][k]);

	if (delta <= Z * sd)
		return false;
	return s->v[0][k] <= 0 || 100 * delta / s->v[0][k] > pct;
}

static int by_change(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a, *y = *(struct site *const *)b;
	double dx = fabs(x->v[1][1] - x->v[0][1]), dy = fabs(y->v[1][1] - y->v[0][1]);

	return dx < dy ? 1 : dx > dy ? -1 : strcmp(x->name, y->name);
}

static void print_row(const struct site *s, bool gate)
{
	double d = s->v[1][1] - s->v[0][1];
	char pct[32];

	if (s->v[0][1] > 0)
		snprintf(pct, sizeof(pct), "%+.1f%%", 100 * d / s->v[0][1]);
	else
		snprintf(pct, sizeof(pct), "%s", s->v[1][1] > 0 ? "new" : "-");
	printf("%14.0f %14.0f %14.0f %14.0f %+14.0f %8s %s%s\n", s->v[0][0], s->v[0][1],
	       s->v[1][0], s->v[1][1], d, pct, gate ? "! " : "", s->name);
}

/* The types to compare: TYPE's objects and bytes ("alloc_" or "inuse_"). */
static int pick_types(const struct profile *p, const char *type, int idx[2])
{
	char name[64];
	const char *under = strchr(type, '_');
	int n = under ? (int)(under - type) : (int)strlen(type);

	snprintf(name, sizeof(name), "%.*s_objects", n, type);
	idx[0] = profile__type(p, name);
	snprintf(name, sizeof(name), "%.*s_space", n, type);
	idx[1] = profile__type(p, name);
	return idx[0] < 0 || idx[1] < 0 ? -ENOENT : 0;
}

static void usage_exit(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: allocscope diff [--sample-index TYPE] [--fail-over PCT] BASE NEW\n"
		"  per site (the allocator's caller): objects and bytes in BASE and NEW, and the\n"
		"  change. Exits 1 when the total or a site grew by more than PCT percent in\n"
		"  objects or bytes, beyond %.0f standard deviations of sampling noise.\n"
		"  --sample-index TYPE  alloc_space (default) or inuse_space, or their _objects\n",
		Z);
	exit(status);
}

static int load(const char *path, struct profile **p)
{
	int err = profile__read(path, p);

	if (err)
		fprintf(stderr, "allocscope: %s: %s\n", path,
			err == -EINVAL ? "not a pprof profile" : strerror(-err));
	return err;
}

static int report(struct diff *d, double pct)
{
	bool fail = false, g;
	size_t i;

	qsort(d->v, d->nr, sizeof(*d->v), by_change);
	printf("%14s %14s %14s %14s %14s %8s %s\n", "base objects", "base bytes", "new objects",
	       "new bytes", "change bytes", "", "site");
	g = pct >= 0 && (grew(&d->total, 0, pct) || grew(&d->total, 1, pct));
	fail |= g;
	d->total.name = "(total)";
	print_row(&d->total, g);
	for (i = 0; i < d->nr; i++) {
		g = pct >= 0 && (grew(d->v[i], 0, pct) || grew(d->v[i], 1, pct));
		fail |= g;
		print_row(d->v[i], g);
	}
	if (pct >= 0)
		printf("%s: %s by more than %g%% beyond the noise\n", fail ? "FAIL" : "ok",
		       fail ? "the total or a site (!) grew" : "nothing grew", pct);
	return fail ? 1 : 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sample-index", required_argument, NULL, 's' },
		{ "fail-over", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *type = "alloc_space";
	struct profile *base = NULL, *new = NULL;
	struct diff d = { 0 };
	int c, idx[2][2], rc = 2;
	double pct = -1;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's')
			type = optarg;
		else if (c == 'f' && ((pct = strtod(optarg, &end)) < 0 || *end || end == optarg))
			cli__bad_usage("--fail-over: '%s' is not a percentage", optarg);
		else if (c == 'h')
			usage_exit(0);
		else if (c != 'f')
			usage_exit(2);
	}
	if (argc - optind != 2)
		usage_exit(2);
	if (load(argv[optind], &base) || load(argv[optind + 1], &new))
		goto out;
	if (pick_types(base, type, idx[0]) || pick_types(new, type, idx[1])) {
		fprintf(stderr, "allocscope: sample type %s is not in both profiles\n", type);
		goto out;
	}
	if (add_profile(&d, base, 0, idx[0]) || add_profile(&d, new, 1, idx[1])) {
		fprintf(stderr, "allocscope: out of memory\n");
		goto out;
	}
	rc = report(&d, pct);
out:
	while (d.nr)
		free(d.v[--d.nr]);
	free(d.v);
	hmap__release(&d.sites);
	profile__free(base);
	profile__free(new);
	return rc;
}
