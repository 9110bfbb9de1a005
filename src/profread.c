// SPDX-License-Identifier: GPL-2.0-only
/*
 * profread.c - a pprof profile, read back. The encoding is protobuf's
 * (protobuf.dev/programming-guides/encoding): varints, and
 * length-delimited messages; repeated scalars packed or not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profread.h"

#define MAX_INFLATED	(1ULL << 30)	/* a profile larger than this is refused */

struct pb {
	const __u8 *p, *end;
};

struct id_ref {
	__u64 id;
	__u64 ref;		/* a string index (functions), or a first line (locations) */
	__u32 nr;		/* lines of a location */
};

struct prof_data {
	__u8 *inflated;
	struct pb *strings;
	size_t nr_strings;
	char **cstrings;
	struct id_ref *funcs, *locs;
	size_t nr_funcs, nr_locs;
	__u64 *line_funcs;		/* every location's lines' function ids */
	size_t nr_line_funcs;
	__u32 max_lines;		/* of one location, at least 1 */
	struct pb *raw;			/* the samples, still encoded */
	size_t nr_raw;
};

/* --- protobuf ------------------------------------------------------------ */

static int pb_varint(struct pb *b, __u64 *v)
{
	int shift;

	*v = 0;
	for (shift = 0; shift < 64 && b->p < b->end; shift += 7) {
		__u8 c = *b->p++;

		*v |= (__u64)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -EINVAL;
}

static int pb_tag(struct pb *b, __u32 *field, __u32 *wire)
{
	__u64 v;

	if (pb_varint(b, &v) || !(v >> 3) || v >> 35)
		return -EINVAL;
	*field = v >> 3;
	*wire = v & 7;
	return 0;
}

/* A length-delimited field (wire type 2). */
static int pb_sub(struct pb *b, struct pb *sub)
{
	__u64 len;

	if (pb_varint(b, &len) || len > (__u64)(b->end - b->p))
		return -EINVAL;
	sub->p = b->p;
	sub->end = b->p + len;
	b->p += len;
	return 0;
}

static int pb_skip(struct pb *b, __u32 wire)
{
	struct pb sub;
	__u64 v;

	switch (wire) {
	case 0:
		return pb_varint(b, &v);
	case 1:
	case 5:
		if ((size_t)(b->end - b->p) < (wire == 1 ? 8u : 4u))
			return -EINVAL;
		b->p += wire == 1 ? 8 : 4;
		return 0;
	case 2:
		return pb_sub(b, &sub);
	}
	return -EINVAL;
}

/* A repeated varint field, packed (wire 2) or one value (wire 0): calls fn. */
static int pb_each_varint(struct pb *b, __u32 wire, int (*fn)(__u64, void *), void *ctx)
{
	struct pb sub;
	__u64 v;
	int err;

	if (wire == 0)
		return pb_varint(b, &v) ?: fn(v, ctx);
	if (wire != 2 || pb_sub(b, &sub))
		return -EINVAL;
	while (sub.p < sub.end)
		if ((err = pb_varint(&sub, &v)) || (err = fn(v, ctx)))
			return err;
	return 0;
}

/* --- gzip ---------------------------------------------------------------- */

static int gunzip(const void *buf, size_t len, __u8 **out, size_t *out_len)
{
	z_stream z = { .next_in = (Bytef *)buf, .avail_in = len };
	size_t cap = len * 4 + 4096, n = 0;
	__u8 *o = NULL, *t;
	int zr = Z_OK;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	while (zr != Z_STREAM_END) {
		if (cap > MAX_INFLATED || !(t = realloc(o, cap)))
			break;
		o = t;
		z.next_out = o + n;
		z.avail_out = cap - n;
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
		if (zr == Z_OK && z.avail_out)
			break;	/* input ended before the stream did */
		cap *= 2;
	}
	inflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(o);
		return -EINVAL;
	}
	*out = o;
	*out_len = n;
	return 0;
}

/* --- the profile --------------------------------------------------------- */

static int grow(void *pv, size_t nr, size_t size)
{
	void **p = pv, *n;

	if (nr & (nr - 1))
		return 0;	/* capacity is the next power of two */
	n = realloc(*p, (nr ? nr * 2 : 16) * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct id_ref *find_id(const struct id_ref *v, size_t n, __u64 id)
{
	struct id_ref key = { .id = id };

	return bsearch(&key, v, n, sizeof(*v), cmp_id);
}

static int add_line_func(__u64 v, void *ctx)
{
	struct prof_data *d = ctx;

	if (grow(&d->line_funcs, d->nr_line_funcs, sizeof(__u64)))
		return -ENOMEM;
	d->line_funcs[d->nr_line_funcs++] = v;
	return 0;
}

/* Line: function_id = 1. */
static int parse_line(struct prof_data *d, struct pb *b)
{
	__u32 f, w;
	__u64 v;

	while (b->p < b->end) {
		if (pb_tag(b, &f, &w))
			return -EINVAL;
		if (f == 1 && w == 0) {
			if (pb_varint(b, &v) || add_line_func(v, d))
				return -EINVAL;
		} else if (pb_skip(b, w)) {
			return -EINVAL;
		}
	}
	return 0;
}

/* Location: id = 1, line = 4. */
static int parse_location(struct prof_data *d, struct pb *b)
{
	struct id_ref r = { .ref = d->nr_line_funcs };
	struct pb sub;
	__u32 f, w;
	size_t before;

	while (b->p < b->end) {
		if (pb_tag(b, &f, &w))
			return -EINVAL;
		if (f == 1 && w == 0) {
			if (pb_varint(b, &r.id))
				return -EINVAL;
		} else if (f == 4 && w == 2) {
			before = d->nr_line_funcs;
			if (pb_sub(b, &sub) || parse_line(d, &sub))
				return -EINVAL;
			r.nr += d->nr_line_funcs - before;
		} else if (pb_skip(b, w)) {
			return -EINVAL;
		}
	}
	if (grow(&d->locs, d->nr_locs, sizeof(r)))
		return -ENOMEM;
	d->locs[d->nr_locs++] = r;
	return 0;
}

/* Function: id = 1, name = 2. */
static int parse_function(struct prof_data *d, struct pb *b)
{
	struct id_ref r = { 0 };
	__u32 f, w;

	while (b->p < b->end) {
		if (pb_tag(b, &f, &w))
			return -EINVAL;
		if ((f == 1 || f == 2) && w == 0) {
			if (pb_varint(b, f == 1 ? &r.id : &r.ref))
				return -EINVAL;
		} else if (pb_skip(b, w)) {
			return -EINVAL;
		}
	}
	if (grow(&d->funcs, d->nr_funcs, sizeof(r)))
		return -ENOMEM;
	d->funcs[d->nr_funcs++] = r;
	return 0;
}

/* --- samples, decoded once every table is known --------------------------- */

struct sample_ctx {
	struct profile *p;
	struct prof_data *d;
	struct prof_sample *s;
	size_t nr_values, cap_frames;
	const char **frames;
	__s64 *values;
	int nr_locs;
};

static const char *str(const struct prof_data *d, __u64 i)
{
	return i < d->nr_strings ? d->cstrings[i] : "";
}

static int add_frames(__u64 loc_id, void *ctx)
{
	struct sample_ctx *c = ctx;
	const struct id_ref *l = find_id(c->d->locs, c->d->nr_locs, loc_id), *f;
	__u32 i, n = l && l->nr ? l->nr : 1;

	for (i = 0; i < n; i++) {
		if (c->s->nr_funcs >= c->cap_frames)
			return -EINVAL;
		f = l && l->nr ? find_id(c->d->funcs, c->d->nr_funcs, c->d->line_funcs[l->ref + i])
			       : NULL;
		c->frames[c->s->nr_funcs++] = f && *str(c->d, f->ref) ? str(c->d, f->ref) : "?";
	}
	return 0;
}

static int add_value(__u64 v, void *ctx)
{
	struct sample_ctx *c = ctx;

	if (c->nr_values < (size_t)c->p->nr_types)
		c->values[c->nr_values++] = (__s64)v;
	return 0;
}

/* Label: key = 1, num = 3: only the numeric "bytes" label is kept. */
static int decode_label(struct sample_ctx *c, struct pb *b)
{
	__u64 key = 0, num = 0;
	__u32 f, w;

	while (b->p < b->end) {
		if (pb_tag(b, &f, &w))
			return -EINVAL;
		if ((f == 1 || f == 3) && w == 0) {
			if (pb_varint(b, f == 1 ? &key : &num))
				return -EINVAL;
		} else if (pb_skip(b, w)) {
			return -EINVAL;
		}
	}
	if (!strcmp(str(c->d, key), "bytes"))
		c->s->bytes = (__s64)num;
	return 0;
}

static int count_loc(__u64 v, void *ctx)
{
	(void)v;
	((struct sample_ctx *)ctx)->nr_locs++;
	return 0;
}

/* One block per sample: its values, then its frames. */
static int sample_block(struct sample_ctx *c, struct pb b)
{
	__u32 f, w;

	c->nr_locs = 0;
	while (b.p < b.end) {
		if (pb_tag(&b, &f, &w))
			return -EINVAL;
		if (f == 1 ? pb_each_varint(&b, w, count_loc, c) : pb_skip(&b, w))
			return -EINVAL;
	}
	c->cap_frames = (size_t)c->nr_locs * c->d->max_lines;
	c->values = calloc(1, c->p->nr_types * sizeof(__s64) + c->cap_frames * sizeof(char *));
	if (!c->values)
		return -ENOMEM;
	c->frames = (const char **)(c->values + c->p->nr_types);
	return 0;
}

static int decode_sample(struct sample_ctx *c, struct pb b)
{
	struct pb sub;
	__u32 f, w;
	int err;

	err = sample_block(c, b);
	if (err)
		return err;
	c->s->funcs = c->frames;
	c->s->values = c->values;
	c->nr_values = 0;
	while (b.p < b.end) {
		if (pb_tag(&b, &f, &w))
			return -EINVAL;
		if (f == 1 && pb_each_varint(&b, w, add_frames, c))
			return -EINVAL;
		else if (f == 2 && pb_each_varint(&b, w, add_value, c))
			return -EINVAL;
		else if (f == 3 && (w != 2 || pb_sub(&b, &sub) || decode_label(c, &sub)))
			return -EINVAL;
		else if (f > 3 && pb_skip(&b, w))
			return -EINVAL;
	}
	return 0;
}

/* --- the top level --------------------------------------------------------- */

static int add_string(struct prof_data *d, struct pb *b)
{
	struct pb sub;

	if (pb_sub(b, &sub) || grow(&d->strings, d->nr_strings, sizeof(sub)))
		return -EINVAL;
	d->strings[d->nr_strings++] = sub;
	return 0;
}

static int add_raw(struct prof_data *d, struct pb *b)
{
	struct pb sub;

	if (pb_sub(b, &sub) || grow(&d->raw, d->nr_raw, sizeof(sub)))
		return -EINVAL;
	d->raw[d->nr_raw++] = sub;
	return 0;
}

/* ValueType: type = 1 (a string index); resolved once strings are known. */
static int add_type(struct profile *p, struct pb *b)
{
	struct pb sub;
	__u64 type = 0;
	__u32 f, w;

	if (pb_sub(b, &sub))
		return -EINVAL;
	while (sub.p < sub.end) {
		if (pb_tag(&sub, &f, &w))
			return -EINVAL;
		if (f == 1 && w == 0 ? pb_varint(&sub, &type) : pb_skip(&sub, w))
			return -EINVAL;
	}
	if (grow(&p->types, p->nr_types, sizeof(char *)))
		return -ENOMEM;
	p->types[p->nr_types++] = (char *)(uintptr_t)type;
	return 0;
}

static int add_comment(__u64 v, void *ctx)
{
	struct profile *p = ctx;

	if (grow(&p->comments, p->nr_comments, sizeof(char *)))
		return -ENOMEM;
	p->comments[p->nr_comments++] = (char *)(uintptr_t)v;
	return 0;
}

static int parse_top(struct profile *p, struct prof_data *d, struct pb b)
{
	struct pb sub;
	__u32 f, w;
	__u64 v;
	int err = 0;

	while (!err && b.p < b.end) {
		if (pb_tag(&b, &f, &w))
			return -EINVAL;
		if (w == 2 && (f == 4 || f == 5)) {
			err = pb_sub(&b, &sub) ?: f == 4 ? parse_location(d, &sub)
						       : parse_function(d, &sub);
		} else if (w == 2 && f == 1) {
			err = add_type(p, &b);
		} else if (w == 2 && f == 2) {
			err = add_raw(d, &b);
		} else if (w == 2 && f == 6) {
			err = add_string(d, &b);
		} else if (f == 13) {
			err = pb_each_varint(&b, w, add_comment, p);
		} else if (w == 0 && (f == 9 || f == 10 || f == 12)) {
			err = pb_varint(&b, &v);
			*(f == 9 ? &p->time_nanos : f == 10 ? &p->duration_nanos : &p->period) = v;
		} else {
			err = pb_skip(&b, w);
		}
	}
	return err;
}

/* Strings as C strings; types and comments from indexes to them. */
static int resolve(struct profile *p, struct prof_data *d)
{
	size_t i;

	d->cstrings = calloc(d->nr_strings + 1, sizeof(char *));
	if (!d->cstrings)
		return -ENOMEM;
	for (i = 0; i < d->nr_strings; i++) {
		d->cstrings[i] = strndup((const char *)d->strings[i].p,
					 d->strings[i].end - d->strings[i].p);
		if (!d->cstrings[i])
			return -ENOMEM;
	}
	for (i = 0; i < (size_t)p->nr_types; i++)
		p->types[i] = (char *)str(d, (uintptr_t)p->types[i]);
	for (i = 0; i < (size_t)p->nr_comments; i++)
		p->comments[i] = (char *)str(d, (uintptr_t)p->comments[i]);
	qsort(d->funcs, d->nr_funcs, sizeof(*d->funcs), cmp_id);
	qsort(d->locs, d->nr_locs, sizeof(*d->locs), cmp_id);
	d->max_lines = 1;
	for (i = 0; i < d->nr_locs; i++)
		if (d->locs[i].nr > d->max_lines)
			d->max_lines = d->locs[i].nr;
	return 0;
}

static int decode_samples(struct profile *p, struct prof_data *d)
{
	struct sample_ctx c = { .p = p, .d = d };
	size_t i;
	int err;

	p->samples = calloc(d->nr_raw + 1, sizeof(*p->samples));
	if (!p->samples)
		return -ENOMEM;
	for (i = 0; i < d->nr_raw; i++) {
		c.s = &p->samples[i];
		err = decode_sample(&c, d->raw[i]);
		p->nr_samples = i + 1;
		if (err)
			return err;
	}
	return 0;
}

int profile__parse(const void *buf, size_t len, struct profile **out)
{
	struct profile *p = calloc(1, sizeof(*p));
	const __u8 *b = buf;
	size_t n = len;
	int err = -ENOMEM;

	if (!p || !(p->data = calloc(1, sizeof(*p->data))))
		goto fail;
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		err = gunzip(buf, len, &p->data->inflated, &n);
		if (err)
			goto fail;
		b = p->data->inflated;
	}
	err = parse_top(p, p->data, (struct pb){ b, b + n });
	err = err ?: resolve(p, p->data);
	err = err ?: decode_samples(p, p->data);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	profile__free(p);
	return err == -ENOMEM ? err : -EINVAL;
}

int profile__read(const char *path, struct profile **out)
{
	FILE *f = fopen(path, "rb");
	__u8 *buf = NULL, *t;
	size_t n = 0, cap = 0, r;
	int err;

	if (!f)
		return -errno;
	do {
		if (n == cap) {
			t = cap > MAX_INFLATED ? NULL : realloc(buf, cap = cap * 2 + 65536);
			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			buf = t;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	err = ferror(f) ? -EIO : profile__parse(buf, n, out);
out:
	free(buf);
	fclose(f);
	return err;
}

void profile__free(struct profile *p)
{
	struct prof_data *d;
	size_t i;

	if (!p)
		return;
	d = p->data;
	for (i = 0; i < p->nr_samples; i++)
		free((void *)p->samples[i].values);
	for (i = 0; d && d->cstrings && i < d->nr_strings; i++)
		free(d->cstrings[i]);
	if (d) {
		free(d->cstrings);
		free(d->strings);
		free(d->funcs);
		free(d->locs);
		free(d->line_funcs);
		free(d->raw);
		free(d->inflated);
		free(d);
	}
	free(p->samples);
	free(p->types);
	free(p->comments);
	free(p);
}

int profile__type(const struct profile *p, const char *name)
{
	int i;

	for (i = 0; i < p->nr_types; i++)
		if (!strcmp(p->types[i], name))
			return i;
	return -1;
}
