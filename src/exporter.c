// SPDX-License-Identifier: GPL-2.0-only
/* exporter.c - build a pprof heap profile from the aggregator. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "allocscope.h"
#include "cli.h"
#include "elffile.h"
#include "exporter.h"
#include "hmap.h"
#include "pprof.h"
#include "summary.h"
#include "symbolizer.h"
#include "version.h"

/* Source frames kept per location: inline chains deeper than this lose middle frames. */
#define MAX_LINES	16

struct loc_node {
	struct hnode node;
	const struct agg_proc *proc;
	__u64 addr;
	__u64 id;
	const char *func;
};

/* Per process during one export: pprof mapping id per snapshot mapping. */
struct proc_ids {
	struct hnode node;
	const struct agg_proc *proc;
	__u64 *mapping;
	int nr;
};

/* A site as the export shows it, taken when the export started. */
struct export_site {
	const struct agg_site *s;
	double w_alloc;		/* its w_alloc then: the next interval's base */
	__s64 v[4];
};

struct export {
	struct pprof *pp;
	struct export_opts o;
	struct agg *agg;
	struct hmap locs;
	struct hmap procs;	/* struct proc_ids, by process */
	__u64 unknown_mapping;	/* for addresses in no known mapping */
	struct export_site *sites;
	size_t nr_sites, cap_sites, next;
	int err;
};

/* The allocator's API, and libc's copy-into-new-memory wrappers around it. */
#define RING_FULL_FRAME	"[stack not captured: ring full]"

static const char *const allocator_funcs[] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "cfree", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "__strdup", "strndup",
	"__strndup", "wcsdup",
};

bool exporter__is_allocator(const char *func)
{
	size_t i;

	if (!func)
		return false;
	/* C++ allocation entry points, however qualified (nothrow, align_val_t) */
	if (!strncmp(func, "operator new", 12) || !strncmp(func, "operator delete", 15))
		return true;
	for (i = 0; i < sizeof(allocator_funcs) / sizeof(allocator_funcs[0]); i++)
		if (!strcmp(func, allocator_funcs[i]))
			return true;
	return false;
}

void exporter__trim(const struct agg_site *s, __u32 *first, __u32 *end)
{
	struct sym_frame f;
	__u32 i, lead = 0;
	bool leading = true, known_after = false;

	*first = 0;
	*end = s->nr_pcs;
	if (!s->proc->as)
		return;
	for (i = 0; i < s->nr_pcs; i++) {
		if (addr_space__lookup(s->proc->as, s->pcs[i] - 1, &f) == -ENOENT && i) {
			*end = i;
			break;
		}
		if (leading && exporter__is_allocator(f.func)) {
			lead = i + 1;
		} else if (leading) {
			leading = false;
			known_after = f.func != NULL;
		}
	}
	if (lead < *end && known_after)
		*first = lead;
}

static bool ids_eq(const struct hnode *n, const void *key)
{
	return hmap_entry(n, struct proc_ids, node)->proc == key;
}

/* Sized when first used: a mapping read again since then is unknown to it. */
static struct proc_ids *proc_ids(struct export *x, struct agg_proc *p)
{
	__u64 h = hash_u64((__u64)(unsigned long)p);
	struct hnode *n = hmap__find(&x->procs, h, ids_eq, p);
	struct proc_ids *ids;
	int nr;

	if (n || !p->as)
		return n ? hmap_entry(n, struct proc_ids, node) : NULL;
	nr = addr_space__nr_mappings(p->as);
	ids = calloc(1, sizeof(*ids));
	if (!ids)
		return NULL;
	ids->proc = p;
	ids->mapping = calloc(nr ? nr : 1, sizeof(*ids->mapping));
	if (!ids->mapping || hmap__add(&x->procs, &ids->node, h)) {
		free(ids->mapping);
		free(ids);
		return NULL;
	}
	ids->nr = nr;
	return ids;
}

static void free_ids(struct hnode *n, void *ctx)
{
	struct proc_ids *ids = hmap_entry(n, struct proc_ids, node);

	free(ids->mapping);
	free(ids);
}

static __u64 mapping_id(struct export *x, struct agg_proc *p, int index)
{
	struct proc_ids *ids = proc_ids(x, p);
	struct pprof_mapping m = { 0 };
	struct sym_mapping sm;

	if (!ids || index < 0 || index >= ids->nr)
		return 0;
	if (ids->mapping[index])
		return ids->mapping[index];
	addr_space__mapping(p->as, index, &sm);
	m.start = sm.start;
	m.limit = sm.end;
	m.offset = sm.pgoff;
	m.filename = sm.path;
	m.build_id = sm.build_id;
	/*
	 * We symbolized what we could; a mapping without has_functions would
	 * make pprof try again from local files and warn when it can't. The
	 * rest is claimed only where the file's DWARF gave lines and inlines.
	 */
	m.has_functions = true;
	m.has_filenames = m.has_line_numbers = m.has_inline_frames = sm.has_lines;
	ids->mapping[index] = pprof__add_mapping(x->pp, &m);
	return ids->mapping[index];
}

/*
 * Code we could not place (a process gone before its mappings were read,
 * a library unloaded since): pprof warns about a location without a
 * mapping, and treats a name in brackets as unsymbolizable.
 */
static __u64 unknown_mapping(struct export *x)
{
	struct pprof_mapping m = { .limit = ~0ULL, .filename = "[unknown]", .has_functions = true };

	if (!x->unknown_mapping)
		x->unknown_mapping = pprof__add_mapping(x->pp, &m);
	return x->unknown_mapping;
}

struct loc_key {
	const struct agg_proc *proc;
	__u64 addr;
};

static bool loc_eq(const struct hnode *n, const void *key)
{
	const struct loc_node *l = hmap_entry(n, struct loc_node, node);
	const struct loc_key *k = key;

	return l->proc == k->proc && l->addr == k->addr;
}

/*
 * A location's lines: from DWARF, the innermost inlined function first and
 * the containing one last, each with its file and line; without DWARF, the
 * ELF symbol alone.
 */
static int location_lines(struct export *x, struct agg_proc *p, __u64 addr,
			  const struct sym_frame *f, struct pprof_line *lines)
{
	struct elf_line el[MAX_LINES];
	int i, nr, n = 0;

	nr = addr_space__lines(p->as, addr, el, MAX_LINES);
	for (i = 0; i < nr; i++) {
		if (!el[i].func)
			continue;
		lines[n].function_id = pprof__add_function(x->pp, el[i].func, el[i].raw ?: el[i].func,
							   el[i].file ?: "", 0);
		lines[n].line = el[i].line;
		if (lines[n].function_id)
			n++;
	}
	if (n || !f->func)
		return n;
	lines[0].function_id = pprof__add_function(x->pp, f->func, f->raw ?: f->func, "", 0);
	lines[0].line = 0;
	return lines[0].function_id ? 1 : 0;
}

/* The location of a code address in p, symbolized once per export. */
static struct loc_node *location(struct export *x, struct agg_proc *p, __u64 addr)
{
	struct loc_key k = { p, addr };
	__u64 h = hash_mix(hash_u64((__u64)(unsigned long)p), addr);
	struct hnode *n = hmap__find(&x->locs, h, loc_eq, &k);
	struct pprof_line lines[MAX_LINES];
	struct sym_frame f = { 0 };
	struct loc_node *l;
	__u64 map_id = 0;
	int nr_lines = 0;

	if (n)
		return hmap_entry(n, struct loc_node, node);
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	if (addr == AS_PC_RING_FULL - 1) {
		/* weight the kernel kept without a stack (tracer__drain_overflow()) */
		lines[0].function_id = pprof__add_function(x->pp, RING_FULL_FRAME, RING_FULL_FRAME,
							   "", 0);
		lines[0].line = 0;
		nr_lines = lines[0].function_id ? 1 : 0;
	} else if (p->as && !addr_space__lookup(p->as, addr, &f)) {
		map_id = mapping_id(x, p, f.map_index);
		nr_lines = location_lines(x, p, addr, &f, lines);
	}
	if (!map_id)
		map_id = unknown_mapping(x);
	l->proc = p;
	l->addr = addr;
	l->func = f.func;
	l->id = pprof__add_location(x->pp, map_id, addr, lines, nr_lines);
	if (!l->id || hmap__add(&x->locs, &l->node, h)) {
		free(l);
		return NULL;
	}
	return l;
}

static void site_values(const struct export *x, const struct agg_site *s, __s64 v[4])
{
	double alloc = s->w_alloc, live = agg_site__live(s), alloc0, live0;
	bool gone0;

	if ((s->proc->exited || s->proc->replaced) && !x->o.inuse_exited)
		live = 0;
	if (x->o.values == EXPORT_INTERVAL) {
		alloc -= s->w_alloc_base;
	} else if (x->o.values == EXPORT_SINCE) {
		agg_snap__get(x->o.since, s, &alloc0, &live0, &gone0);
		if (gone0 && !x->o.inuse_exited)
			live0 = 0;	/* the same rule as for now */
		alloc -= alloc0;
		live -= live0;	/* a net change: may be negative, as in Go */
	}
	v[0] = llround(alloc);
	v[1] = llround(alloc * (double)s->size);
	v[2] = llround(live);
	v[3] = llround(live * (double)s->size);
}

static int site_labels(const struct export *x, const struct agg_site *s, struct pprof_label *l,
		       char *pid)
{
	int n = 0;

	unsigned int mask = x->o.label_mask ?: ~0U;

	l[n++] = (struct pprof_label){ .key = "bytes", .num = (__s64)s->size };
	if (!x->o.proc_labels)
		return n;
	snprintf(pid, 16, "%d", s->proc->pid);
	if (mask & EXPORT_LABEL_PID)
		l[n++] = (struct pprof_label){ .key = "pid", .str = pid };
	if ((mask & EXPORT_LABEL_COMM) && s->proc->comm[0])
		l[n++] = (struct pprof_label){ .key = "comm", .str = s->proc->comm };
	if ((mask & EXPORT_LABEL_EXE) && s->proc->exe)
		l[n++] = (struct pprof_label){ .key = "exe", .str = s->proc->exe };
	return n;
}

/* What the profile will show of a site, taken now: later samples wait for the next one. */
static void take_site(const struct agg_site *s, void *ctx)
{
	struct export *x = ctx;
	struct export_site *es, *n;

	if (x->err || (x->o.pid && s->proc->pid != x->o.pid))
		return;
	if (x->nr_sites == x->cap_sites) {
		x->cap_sites = x->cap_sites ? x->cap_sites * 2 : 1024;
		n = realloc(x->sites, x->cap_sites * sizeof(*n));
		if (!n) {
			x->err = -ENOMEM;
			return;
		}
		x->sites = n;
	}
	es = &x->sites[x->nr_sites];
	es->s = s;
	es->w_alloc = s->w_alloc;
	site_values(x, s, es->v);
	/* an interval export moves the base of every site, shown or not */
	if (es->v[0] || es->v[1] || es->v[2] || es->v[3] || x->o.values == EXPORT_INTERVAL)
		x->nr_sites++;
}

static void export_site(struct export *x, const struct export_site *es)
{
	const struct agg_site *s = es->s;
	__u64 ids[AS_MAX_STACK];
	struct pprof_label labels[4];
	struct loc_node *l;
	char pid[16];
	__u32 i, first, end;
	int n = 0, nl;

	if (!es->v[0] && !es->v[1] && !es->v[2] && !es->v[3])
		return;
	exporter__trim(s, &first, &end);
	for (i = first; i < end && n < AS_MAX_STACK; i++) {
		/* return addresses: look up the call instruction */
		l = location(x, s->proc, s->pcs[i] - 1);
		if (!l) {
			x->err = -ENOMEM;
			return;
		}
		ids[n++] = l->id;
	}
	nl = site_labels(x, s, labels, pid);
	x->err = pprof__add_sample(x->pp, ids, n, es->v, x->o.alloc_only ? 2 : 4, labels, nl);
}

static void add_header(struct export *x)
{
	const struct export_opts *o = &x->o;
	int i;

	pprof__add_sample_type(x->pp, "alloc_objects", "count");
	pprof__add_sample_type(x->pp, "alloc_space", "bytes");
	if (!o->alloc_only) {
		pprof__add_sample_type(x->pp, "inuse_objects", "count");
		pprof__add_sample_type(x->pp, "inuse_space", "bytes");
	}
	pprof__set_period(x->pp, "space", "bytes", (__s64)o->period);
	pprof__set_time(x->pp, o->time_nanos, o->duration_nanos);
	if (o->default_type)
		pprof__set_default_sample_type(x->pp, o->default_type);
	for (i = 0; i < o->nr_comments; i++)
		pprof__add_comment(x->pp, o->comments[i]);
}

__u64 exporter__samples_dropped(const __u64 *st)
{
	return st[AS_STAT_DROP_RINGBUF] + st[AS_STAT_DROP_NO_TSTATE] + st[AS_STAT_DROP_OVERFLOW];
}

/* Exact, or sampled, and how far the values can be trusted. */
static void note_rate(char *buf, size_t len, __u64 rate, const struct export_losses *l)
{
	unsigned long long r = rate, lost = exporter__samples_dropped(l->st);
	bool exact = r <= 1 && !lost && l->cut_pct < SUMMARY_EXACT_CUT;
	char cut[96] = "";

	if (l->cut_pct >= 0)
		snprintf(cut, sizeof(cut), exact ? "; %.2f%% %s" : ", %.1f%% %s", l->cut_pct,
			 "of the bytes on stacks that end before main");
	if (exact)
		snprintf(buf, len, "exact: every allocation recorded%s (sample rate 1)%s",
			 l->cut_pct >= 0 ? " with its stack" : "", cut);
	else if (r <= 1)
		snprintf(buf, len, "not exact: every allocation sampled (rate 1), %llu samples lost%s",
			 lost, cut);
	else
		snprintf(buf, len,
			 "sampled: Poisson byte sampling, mean %llu bytes between samples; values are %s estimates: each (stack, size) sample of s bytes counts 1/(1-exp(-s/%llu)) objects; n samples behind a value give it a relative standard error of about 1/sqrt(n) (allocscope's summary prints each site's)",
			 r, lost ? "low (samples lost)" : "unbiased", r);
}

/* What was kept in a degraded form, and what was lost. */
static void note_losses(struct export_notes *n, const struct export_losses *l)
{
	const __u64 *st = l->st;
	char procs[64] = "";

	if (l->max_procs)
		snprintf(procs, sizeof(procs), ", %llu processes not tracked (max_processes)",
			 (unsigned long long)l->procs);
	snprintf(n->text[2], sizeof(n->text[2]),
		 "degraded, not lost (ring buffer full): %llu samples kept in the kernel with frame-pointer stacks (%llu without any stack, under [stack not captured: ring full]), %llu frees kept there, %llu samples with frame-pointer stacks instead of a stack copy",
		 (unsigned long long)st[AS_STAT_OVERFLOW],
		 (unsigned long long)st[AS_STAT_OVERFLOW_NOSTACK],
		 (unsigned long long)st[AS_STAT_OVERFLOW_FREE],
		 (unsigned long long)st[AS_STAT_SMALL_RECORD]);
	snprintf(n->text[3], sizeof(n->text[3]),
		 "dropped: %llu samples (ring buffer and overflow map full), %llu frees (ring buffer and overflow map full), %llu calls (no thread state), %llu samples not in inuse (live map full), %llu (out of memory)%s",
		 (unsigned long long)(st[AS_STAT_DROP_RINGBUF] + st[AS_STAT_DROP_OVERFLOW]),
		 (unsigned long long)st[AS_STAT_DROP_FREE_RINGBUF],
		 (unsigned long long)st[AS_STAT_DROP_NO_TSTATE],
		 (unsigned long long)st[AS_STAT_DROP_LIVE_FULL], (unsigned long long)l->oom, procs);
	snprintf(n->text[4], sizeof(n->text[4]),
		 "not in inuse: %llu samples taken at the entry (%s); %llu sampled calls threw (not counted)",
		 (unsigned long long)(st[AS_STAT_NORET] - l->cancelled), SUMMARY_NORET_WHY,
		 (unsigned long long)l->cancelled);
}

void exporter__notes(struct export_opts *o, struct export_notes *n, const char *probes,
		     const struct export_losses *l)
{
	note_rate(n->text[0], sizeof(n->text[0]), o->period, l);
	snprintf(n->text[1], sizeof(n->text[1]), "allocscope %s, %s probes%s", AS_VERSION,
		 probes, o->alloc_only ? ", alloc-only (no free tracking)" : "");
	note_losses(n, l);
	for (n->nr = 0; n->nr < EXPORT_NOTES; n->nr++)
		n->ptr[n->nr] = n->text[n->nr];
	o->comments = n->ptr;
	o->nr_comments = n->nr;
}

static void free_loc(struct hnode *n, void *ctx)
{
	free(hmap_entry(n, struct loc_node, node));
}

int exporter__start(struct agg *a, const struct export_opts *o, struct export **out)
{
	struct export *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->o = *o;
	x->agg = a;
	x->pp = pprof__new();
	if (!x->pp) {
		free(x);
		return -ENOMEM;
	}
	add_header(x);
	agg__for_each_site(a, take_site, x);
	/* the sites stay, with their stacks and processes, until the export ends */
	agg__hold(a);
	*out = x;
	return 0;
}

int exporter__step(struct export *x, __u64 budget_ns)
{
	__u64 until = cli__now_ns() + budget_ns;

	while (!x->err && x->next < x->nr_sites) {
		/* a site's first symbolization may read a file's DWARF: the clock after each */
		export_site(x, &x->sites[x->next++]);
		if (cli__now_ns() >= until)
			break;
	}
	return x->err ?: x->next == x->nr_sites;
}

struct pprof *exporter__profile(struct export *x)
{
	return x->pp;
}

void exporter__end(struct export *x, bool commit)
{
	size_t i;

	if (!x)
		return;
	if (commit && !x->err && x->o.values == EXPORT_INTERVAL)
		for (i = 0; i < x->nr_sites; i++)
			agg_site__set_base(x->sites[i].s, x->sites[i].w_alloc);
	agg__unhold(x->agg);
	hmap__each(&x->locs, free_loc, NULL);
	hmap__release(&x->locs);
	hmap__each(&x->procs, free_ids, NULL);
	hmap__release(&x->procs);
	pprof__free(x->pp);
	free(x->sites);
	free(x);
}

int exporter__build(struct agg *a, const struct export_opts *o, struct pprof **out)
{
	struct export *x;
	int err;

	err = exporter__start(a, o, &x);
	if (err)
		return err;
	err = exporter__step(x, ~0ULL >> 1);
	if (err >= 0) {
		*out = x->pp;
		x->pp = NULL;
	}
	exporter__end(x, err >= 0);
	return err < 0 ? err : 0;
}

int exporter__write(struct agg *a, const struct export_opts *o, const char *path)
{
	struct pprof *pp;
	int err;

	err = exporter__build(a, o, &pp);
	if (err)
		return err;
	err = pprof__write_file(pp, path);
	pprof__free(pp);
	return err;
}

int exporter__dir_path(const char *dir, const char *kind, __s64 time_nanos, char *buf,
		       size_t len)
{
	time_t secs = time_nanos / 1000000000;
	struct tm tm;
	char stamp[32];
	int n;

	if (!gmtime_r(&secs, &tm))
		return -EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	n = snprintf(buf, len, "%s/%s-%s.%03dZ.pb.gz", dir, kind, stamp,
		     (int)(time_nanos / 1000000 % 1000));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct export_file {
	char name[256];
	const char *stamp;	/* the time part of name, for ordering */
	__u64 bytes;
};

/* <kind>-<stamp>.pb.gz, as exporter__dir_path() makes them. */
static const char *profile_stamp(const char *name)
{
	const char *dash = strchr(name, '-');
	size_t len = strlen(name);

	if (!dash || len < 7 || strcmp(name + len - 6, ".pb.gz") || !strchr(dash, 'T'))
		return NULL;
	return dash + 1;
}

static int by_stamp(const void *a, const void *b)
{
	return strcmp(((const struct export_file *)a)->stamp, ((const struct export_file *)b)->stamp);
}

static int list_profiles(const char *dir, struct export_file **out, size_t *nr)
{
	struct export_file *v = NULL, *n;
	size_t cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	*nr = 0;
	*out = NULL;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!profile_stamp(de->d_name) || strlen(de->d_name) >= sizeof(v->name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (*nr == cap) {
			cap = cap ? cap * 2 : 64;
			n = realloc(v, cap * sizeof(*v));
			if (!n)
				break;
			v = n;
		}
		snprintf(v[*nr].name, sizeof(v->name), "%s", de->d_name);
		v[*nr].bytes = st.st_size;
		(*nr)++;
	}
	closedir(d);
	*out = v;
	return 0;
}

int exporter__retain(const char *dir, unsigned long max_files, __u64 max_bytes)
{
	struct export_file *v = NULL;
	__u64 total = 0;
	size_t nr, i;
	char path[PATH_MAX];
	int err, gone = 0;

	err = list_profiles(dir, &v, &nr);
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		v[i].stamp = profile_stamp(v[i].name);
		total += v[i].bytes;
	}
	qsort(v, nr, sizeof(*v), by_stamp);
	for (i = 0; i < nr && (nr - i > max_files || total > max_bytes); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		if (unlink(path) && errno != ENOENT)
			continue;
		total -= v[i].bytes;
		gone++;
	}
	free(v);
	return gone;
}
