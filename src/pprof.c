// SPDX-License-Identifier: GPL-2.0-only
/*
 * pprof.c - a small profile.proto encoder with gzip output.
 *
 * Samples, mappings and locations are encoded as they are added, each into its own buffer,
 * already framed as fields of the top-level Profile message: a Profile is just a sequence of
 * fields, so writing is streaming those buffers through deflate, with the string table and
 * the functions (which interning must be able to look up) encoded on the way.
 *
 * Encoding reserves the exact size of a message before writing it, so the put_*() helpers
 * cannot fail and a failed add leaves no partial message behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof.h"

/* Field numbers of profile.proto */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

struct pbuf {
	__u8 *data;
	size_t len, cap;
};

/* Open addressing, linear probing; idx1 is the interned index + 1, 0 marks a free slot. */
struct hslot {
	__u32 hash;
	__u32 idx1;
};

struct htab {
	struct hslot *slots;
	size_t cap, nr;		/* cap is 0 or a power of two */
};

struct value_type {
	__u64 type, unit;
};

struct function {
	__u64 name, system_name, filename;
	__s64 start_line;
};

/* A label with its strings interned */
struct label_idx {
	__u64 key, str, unit;
	__s64 num;
};

struct pprof {
	int err;			/* sticky: see remember() */

	struct pbuf strdata;		/* the strings, each NUL-terminated */
	size_t *str_off;
	size_t nr_strings, str_cap;
	struct htab str_tab;

	struct function *funcs;
	size_t nr_funcs, func_cap;
	struct htab func_tab;

	struct value_type *sample_types;
	size_t nr_sample_types, sample_type_cap;
	__u64 *comments;
	size_t nr_comments, comment_cap;
	struct value_type period_type;
	__s64 period, time_nanos, duration_nanos;
	__u64 default_sample_type;

	struct pbuf samples, mappings, locations;	/* encoded Profile fields */
	size_t nr_samples, nr_mappings, nr_locations;

	struct pbuf scratch;		/* sanitized strings */
	struct label_idx *labels;	/* the labels of the sample being added */
	size_t label_cap;
};

/*
 * Grows the array that arr points to (arr is the address of the array pointer) to hold at least
 * need elements, doubling, so that appending is amortized O(1).
 */
static int grow(void *arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = reallocarray(*(void **)arr, ncap, size);
	if (!n)
		return -ENOMEM;
	*(void **)arr = n;
	*cap = ncap;
	return 0;
}

static int pbuf_reserve(struct pbuf *b, size_t extra)
{
	return grow(&b->data, &b->cap, b->len + extra, 1);
}

/*
 * Remembers a failure to allocate (or to index) so that pprof__write() reports it: the
 * profile may now lack a string or an entry. Returns err.
 */
static int remember(struct pprof *p, int err)
{
	if (err)
		p->err = err;
	return err;
}

/* --- hashing --- */

static __u64 mix64(__u64 h)
{
	/* MurmurHash3's finalizer: linear probing needs well-spread low bits. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static __u32 hash_bytes(const char *s, size_t len)
{
	__u64 h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (__u8)s[i]) * 0x100000001b3ULL;
	return (__u32)mix64(h);
}

static __u32 hash_function(const struct function *f)
{
	__u64 h = mix64(f->name);

	h = mix64(h ^ f->system_name);
	h = mix64(h ^ f->filename);
	return (__u32)mix64(h ^ (__u64)f->start_line);
}

static void htab_place(struct hslot *slots, size_t cap, struct hslot s)
{
	size_t i = s.hash & (cap - 1);

	while (slots[i].idx1)
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

/* Makes room for one more entry, keeping the load factor at most 1/2. */
static int htab_reserve(struct htab *h)
{
	size_t ncap = h->cap ? h->cap * 2 : 64, i;
	struct hslot *n;

	if ((h->nr + 1) * 2 <= h->cap)
		return 0;
	if (h->nr >= UINT32_MAX - 1)
		return -E2BIG;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++)
		if (h->slots[i].idx1)
			htab_place(n, ncap, h->slots[i]);
	free(h->slots);
	h->slots = n;
	h->cap = ncap;
	return 0;
}

/* The slot holding an entry equal to key, or the free slot where it belongs. */
static struct hslot *htab_probe(const struct htab *h, __u32 hash,
				bool (*eq)(const struct pprof *p, size_t idx, const void *key),
				const struct pprof *p, const void *key)
{
	size_t mask = h->cap - 1, i;

	for (i = hash & mask;; i = (i + 1) & mask) {
		struct hslot *s = &h->slots[i];

		if (!s->idx1 || (s->hash == hash && eq(p, s->idx1 - 1, key)))
			return s;
	}
}

/* --- strings --- */

struct str_key {
	const char *s;
	size_t len;
};

static const char *str_at(const struct pprof *p, size_t i)
{
	return (const char *)p->strdata.data + p->str_off[i];
}

static size_t str_len(const struct pprof *p, size_t i)
{
	size_t end = i + 1 < p->nr_strings ? p->str_off[i + 1] : p->strdata.len;

	return end - p->str_off[i] - 1;
}

static bool str_eq(const struct pprof *p, size_t idx, const void *key)
{
	const struct str_key *k = key;

	return str_len(p, idx) == k->len && !memcmp(str_at(p, idx), k->s, k->len);
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), 0 if there is none. */
static size_t utf8_seq(const __u8 *s, size_t n)
{
	__u8 c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : lo;	/* overlong */
		hi = c == 0xed ? 0x9f : hi;	/* surrogates */
	} else {
		len = 4;
		lo = c == 0xf0 ? 0x90 : lo;	/* overlong */
		hi = c == 0xf4 ? 0x8f : hi;	/* above U+10FFFF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static bool utf8_valid(const char *s, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = utf8_seq((const __u8 *)s + i, len - i);
		if (!n)
			return false;
	}
	return true;
}

/* Copies s into the scratch buffer with each byte that starts no valid sequence as '?'. */
static int utf8_sanitize(struct pprof *p, const char *s, size_t len)
{
	char *out;
	size_t i, n;
	int err;

	p->scratch.len = 0;
	err = pbuf_reserve(&p->scratch, len);
	if (err)
		return err;
	out = (char *)p->scratch.data;
	for (i = 0; i < len; i += n) {
		n = utf8_seq((const __u8 *)s + i, len - i);
		if (n) {
			memcpy(out + i, s + i, n);
		} else {
			out[i] = '?';
			n = 1;
		}
	}
	p->scratch.len = len;
	return 0;
}

static int str_append(struct pprof *p, const char *s, size_t len)
{
	int err;

	err = grow(&p->str_off, &p->str_cap, p->nr_strings + 1, sizeof(*p->str_off));
	if (!err)
		err = pbuf_reserve(&p->strdata, len + 1);
	if (err)
		return err;
	p->str_off[p->nr_strings++] = p->strdata.len;
	memcpy(p->strdata.data + p->strdata.len, s, len);
	p->strdata.data[p->strdata.len + len] = '\0';
	p->strdata.len += len + 1;
	return 0;
}

static int str_intern(struct pprof *p, const char *s, __u64 *idx)
{
	struct str_key k = { .s = s ? s : "", .len = s ? strlen(s) : 0 };
	struct hslot *slot;
	__u32 hash;
	int err;

	if (!utf8_valid(k.s, k.len)) {
		err = utf8_sanitize(p, k.s, k.len);
		if (err)
			return remember(p, err);
		k.s = (const char *)p->scratch.data;
	}
	err = htab_reserve(&p->str_tab);
	if (err)
		return remember(p, err);
	hash = hash_bytes(k.s, k.len);
	slot = htab_probe(&p->str_tab, hash, str_eq, p, &k);
	if (!slot->idx1) {
		err = str_append(p, k.s, k.len);
		if (err)
			return remember(p, err);
		slot->hash = hash;
		slot->idx1 = p->nr_strings;
		p->str_tab.nr++;
	}
	*idx = slot->idx1 - 1;
	return 0;
}

__u64 pprof__string(struct pprof *p, const char *s)
{
	__u64 idx;
	int err;

	err = str_intern(p, s, &idx);
	if (err) {
		errno = -err;
		return 0;
	}
	return idx;
}

/* --- protobuf encoding --- */

static size_t varint_size(__u64 v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* proto3: a scalar field equal to 0 is not written. All our field numbers fit a 1-byte tag. */
static size_t uint_size(__u64 v)
{
	return v ? 1 + varint_size(v) : 0;
}

static size_t len_size(size_t len)
{
	return 1 + varint_size(len) + len;
}

static size_t packed_size(const __u64 *v, size_t n)
{
	size_t size = 0, i;

	for (i = 0; i < n; i++)
		size += varint_size(v[i]);
	return size;
}

static void put_varint(struct pbuf *b, __u64 v)
{
	while (v >= 0x80) {
		b->data[b->len++] = (__u8)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (__u8)v;
}

static void put_uint(struct pbuf *b, int field, __u64 v)
{
	if (!v)
		return;
	put_varint(b, (__u64)field << 3 | WIRE_VARINT);
	put_varint(b, v);
}

static void put_len(struct pbuf *b, int field, size_t len)
{
	put_varint(b, (__u64)field << 3 | WIRE_LEN);
	put_varint(b, len);
}

static void put_packed(struct pbuf *b, int field, const __u64 *v, size_t n)
{
	size_t i;

	if (!n)
		return;
	put_len(b, field, packed_size(v, n));
	for (i = 0; i < n; i++)
		put_varint(b, v[i]);
}

static size_t value_type_size(const struct value_type *vt)
{
	return uint_size(vt->type) + uint_size(vt->unit);
}

/* Reserves and writes a ValueType message as the given field. */
static int put_value_type(struct pbuf *b, int field, const struct value_type *vt)
{
	size_t size = value_type_size(vt);
	int err;

	err = pbuf_reserve(b, len_size(size));
	if (err)
		return err;
	put_len(b, field, size);
	put_uint(b, 1, vt->type);
	put_uint(b, 2, vt->unit);
	return 0;
}

/* --- building --- */

struct pprof *pprof__new(void)
{
	struct pprof *p = calloc(1, sizeof(*p));
	struct timespec ts;
	__u64 idx;

	if (!p)
		return NULL;
	/* Parca and Pyroscope take time_nanos as the sample time, so it is never left 0. */
	clock_gettime(CLOCK_REALTIME, &ts);
	p->time_nanos = (__s64)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (str_intern(p, "", &idx)) {
		pprof__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void pprof__free(struct pprof *p)
{
	if (!p)
		return;
	free(p->strdata.data);
	free(p->str_off);
	free(p->str_tab.slots);
	free(p->funcs);
	free(p->func_tab.slots);
	free(p->sample_types);
	free(p->comments);
	free(p->samples.data);
	free(p->mappings.data);
	free(p->locations.data);
	free(p->scratch.data);
	free(p->labels);
	free(p);
}

static int value_type_intern(struct pprof *p, const char *type, const char *unit,
			     struct value_type *vt)
{
	int err;

	err = str_intern(p, type, &vt->type);
	if (!err)
		err = str_intern(p, unit, &vt->unit);
	return err;
}

int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit)
{
	struct value_type vt;
	int err;

	if (!type || !*type)
		return -EINVAL;
	/* Every sample must have one value per type. */
	if (p->nr_samples)
		return -EBUSY;
	err = value_type_intern(p, type, unit, &vt);
	if (!err)
		err = grow(&p->sample_types, &p->sample_type_cap, p->nr_sample_types + 1,
			   sizeof(vt));
	if (err)
		return remember(p, err);
	p->sample_types[p->nr_sample_types++] = vt;
	return 0;
}

void pprof__set_period(struct pprof *p, const char *type, const char *unit, __s64 period)
{
	struct value_type vt;

	if (value_type_intern(p, type, unit, &vt))
		return;
	p->period_type = vt;
	p->period = period;
}

void pprof__set_time(struct pprof *p, __s64 time_nanos, __s64 duration_nanos)
{
	p->time_nanos = time_nanos;
	p->duration_nanos = duration_nanos;
}

void pprof__set_default_sample_type(struct pprof *p, const char *type)
{
	__u64 idx;

	if (!str_intern(p, type, &idx))
		p->default_sample_type = idx;
}

int pprof__add_comment(struct pprof *p, const char *text)
{
	__u64 idx;
	int err;

	err = str_intern(p, text, &idx);
	if (!err)
		err = grow(&p->comments, &p->comment_cap, p->nr_comments + 1, sizeof(idx));
	if (err)
		return remember(p, err);
	p->comments[p->nr_comments++] = idx;
	return 0;
}

__u64 pprof__add_mapping(struct pprof *p, const struct pprof_mapping *m)
{
	__u64 id = p->nr_mappings + 1, file, build_id;
	struct pbuf *b = &p->mappings;
	size_t size;
	int err;

	if (!m) {
		errno = EINVAL;
		return 0;
	}
	err = str_intern(p, m->filename, &file);
	if (!err)
		err = str_intern(p, m->build_id, &build_id);
	if (err)
		goto fail;
	size = uint_size(id) + uint_size(m->start) + uint_size(m->limit) + uint_size(m->offset) +
	       uint_size(file) + uint_size(build_id) + uint_size(m->has_functions) +
	       uint_size(m->has_filenames) + uint_size(m->has_line_numbers) +
	       uint_size(m->has_inline_frames);
	err = pbuf_reserve(b, len_size(size));
	if (err)
		goto fail;
	put_len(b, PROFILE_MAPPING, size);
	put_uint(b, 1, id);
	put_uint(b, 2, m->start);
	put_uint(b, 3, m->limit);
	put_uint(b, 4, m->offset);
	put_uint(b, 5, file);
	put_uint(b, 6, build_id);
	put_uint(b, 7, m->has_functions);
	put_uint(b, 8, m->has_filenames);
	put_uint(b, 9, m->has_line_numbers);
	put_uint(b, 10, m->has_inline_frames);
	p->nr_mappings++;
	return id;
fail:
	errno = -remember(p, err);
	return 0;
}

static bool func_eq(const struct pprof *p, size_t idx, const void *key)
{
	return !memcmp(&p->funcs[idx], key, sizeof(struct function));
}

__u64 pprof__add_function(struct pprof *p, const char *name, const char *system_name,
			  const char *filename, __s64 start_line)
{
	struct function f = { .start_line = start_line };
	struct hslot *slot;
	__u32 hash;
	int err;

	err = str_intern(p, name, &f.name);
	if (!err)
		err = str_intern(p, system_name, &f.system_name);
	if (!err)
		err = str_intern(p, filename, &f.filename);
	if (!err)
		err = htab_reserve(&p->func_tab);
	if (err)
		goto fail;
	hash = hash_function(&f);
	slot = htab_probe(&p->func_tab, hash, func_eq, p, &f);
	if (slot->idx1)
		return slot->idx1;
	err = grow(&p->funcs, &p->func_cap, p->nr_funcs + 1, sizeof(f));
	if (err)
		goto fail;
	p->funcs[p->nr_funcs++] = f;
	slot->hash = hash;
	slot->idx1 = p->nr_funcs;
	p->func_tab.nr++;
	return p->nr_funcs;
fail:
	errno = -remember(p, err);
	return 0;
}

static size_t line_size(const struct pprof_line *l)
{
	return uint_size(l->function_id) + uint_size((__u64)l->line);
}

__u64 pprof__add_location(struct pprof *p, __u64 mapping_id, __u64 address,
			  const struct pprof_line *lines, int nr_lines)
{
	__u64 id = p->nr_locations + 1;
	struct pbuf *b = &p->locations;
	size_t size;
	int i, err;

	if (mapping_id > p->nr_mappings || nr_lines < 0 || (nr_lines && !lines))
		goto inval;
	size = uint_size(id) + uint_size(mapping_id) + uint_size(address);
	for (i = 0; i < nr_lines; i++) {
		if (!lines[i].function_id || lines[i].function_id > p->nr_funcs)
			goto inval;
		size += len_size(line_size(&lines[i]));
	}
	err = pbuf_reserve(b, len_size(size));
	if (err) {
		errno = -remember(p, err);
		return 0;
	}
	put_len(b, PROFILE_LOCATION, size);
	put_uint(b, 1, id);
	put_uint(b, 2, mapping_id);
	put_uint(b, 3, address);
	for (i = 0; i < nr_lines; i++) {
		put_len(b, 4, line_size(&lines[i]));
		put_uint(b, 1, lines[i].function_id);
		put_uint(b, 2, (__u64)lines[i].line);
	}
	p->nr_locations++;
	return id;
inval:
	errno = EINVAL;
	return 0;
}

static size_t label_size(const struct label_idx *l)
{
	return uint_size(l->key) + uint_size(l->str) + uint_size((__u64)l->num) +
	       uint_size(l->unit);
}

static bool label_valid(const struct pprof_label *l)
{
	if (!l->key || !*l->key)
		return false;
	/* profile.proto: at most one of str and num, and num_unit only with num */
	return !l->str || (!l->num && !l->num_unit);
}

/* Interns the labels' strings into p->labels. */
static int labels_intern(struct pprof *p, const struct pprof_label *labels, int nr)
{
	struct label_idx *li;
	int i, err;

	err = grow(&p->labels, &p->label_cap, nr, sizeof(*li));
	for (i = 0; !err && i < nr; i++) {
		li = &p->labels[i];
		li->num = labels[i].num;
		err = str_intern(p, labels[i].key, &li->key);
		if (!err)
			err = str_intern(p, labels[i].str, &li->str);
		if (!err)
			err = str_intern(p, labels[i].num_unit, &li->unit);
	}
	return remember(p, err);
}

static bool sample_valid(const struct pprof *p, const __u64 *location_ids, int nr_locations,
			 const __s64 *values, int nr_values, const struct pprof_label *labels,
			 int nr_labels)
{
	int i;

	if (!p->nr_sample_types || nr_values < 0 || (size_t)nr_values != p->nr_sample_types ||
	    !values || nr_locations < 0 || (nr_locations && !location_ids) || nr_labels < 0 ||
	    (nr_labels && !labels))
		return false;
	for (i = 0; i < nr_locations; i++)
		if (!location_ids[i] || location_ids[i] > p->nr_locations)
			return false;
	for (i = 0; i < nr_labels; i++)
		if (!label_valid(&labels[i]))
			return false;
	return true;
}

int pprof__add_sample(struct pprof *p, const __u64 *location_ids, int nr_locations,
		      const __s64 *values, int nr_values, const struct pprof_label *labels,
		      int nr_labels)
{
	/* int64 values are encoded as their two's complement: same bits as __u64. */
	const __u64 *uvalues = (const __u64 *)values;
	struct pbuf *b = &p->samples;
	size_t size;
	int i, err;

	if (!sample_valid(p, location_ids, nr_locations, values, nr_values, labels, nr_labels))
		return -EINVAL;
	err = labels_intern(p, labels, nr_labels);
	if (err)
		return err;
	size = len_size(packed_size(uvalues, nr_values));
	if (nr_locations)
		size += len_size(packed_size(location_ids, nr_locations));
	for (i = 0; i < nr_labels; i++)
		size += len_size(label_size(&p->labels[i]));
	err = pbuf_reserve(b, len_size(size));
	if (err)
		return remember(p, err);
	put_len(b, PROFILE_SAMPLE, size);
	put_packed(b, 1, location_ids, nr_locations);
	put_packed(b, 2, uvalues, nr_values);
	for (i = 0; i < nr_labels; i++) {
		const struct label_idx *l = &p->labels[i];

		put_len(b, 3, label_size(l));
		put_uint(b, 1, l->key);
		put_uint(b, 2, l->str);
		put_uint(b, 3, (__u64)l->num);
		put_uint(b, 4, l->unit);
	}
	p->nr_samples++;
	return 0;
}

/* --- writing --- */

#define GZ_CHUNK (64 * 1024)

struct gz_writer {
	z_stream zs;
	int fd;
	struct pbuf enc;	/* functions and strings are encoded here a chunk at a time */
	__u8 out[GZ_CHUNK];
};

static int write_all(int fd, const __u8 *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= n;
	}
	return 0;
}

/* Deflates data into the file; Z_FINISH also ends the gzip stream. */
static int gz_deflate(struct gz_writer *w, const void *data, size_t len, int flush)
{
	int ret, err;

	/* avail_in is a uInt: feed huge buffers in pieces */
	while (len > UINT_MAX) {
		err = gz_deflate(w, data, UINT_MAX / 2, Z_NO_FLUSH);
		if (err)
			return err;
		data = (const __u8 *)data + UINT_MAX / 2;
		len -= UINT_MAX / 2;
	}
	w->zs.next_in = (Bytef *)data;
	w->zs.avail_in = (uInt)len;
	do {
		w->zs.next_out = w->out;
		w->zs.avail_out = sizeof(w->out);
		ret = deflate(&w->zs, flush);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		err = write_all(w->fd, w->out, sizeof(w->out) - w->zs.avail_out);
		if (err)
			return err;
	} while (w->zs.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

/* Deflates what is encoded once there is at least threshold bytes of it. */
static int gz_flush_enc(struct gz_writer *w, size_t threshold)
{
	int err;

	if (!w->enc.len || w->enc.len < threshold)
		return 0;
	err = gz_deflate(w, w->enc.data, w->enc.len, Z_NO_FLUSH);
	w->enc.len = 0;
	return err;
}

static int write_sample_types(struct pprof *p, struct gz_writer *w)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < p->nr_sample_types; i++)
		err = put_value_type(&w->enc, PROFILE_SAMPLE_TYPE, &p->sample_types[i]);
	return err ? err : gz_flush_enc(w, 0);
}

static size_t function_size(const struct function *f, __u64 id)
{
	return uint_size(id) + uint_size(f->name) + uint_size(f->system_name) +
	       uint_size(f->filename) + uint_size((__u64)f->start_line);
}

static int write_functions(struct pprof *p, struct gz_writer *w)
{
	size_t i, size;
	int err;

	for (i = 0; i < p->nr_funcs; i++) {
		const struct function *f = &p->funcs[i];

		size = function_size(f, i + 1);
		err = pbuf_reserve(&w->enc, len_size(size));
		if (err)
			return err;
		put_len(&w->enc, PROFILE_FUNCTION, size);
		put_uint(&w->enc, 1, i + 1);
		put_uint(&w->enc, 2, f->name);
		put_uint(&w->enc, 3, f->system_name);
		put_uint(&w->enc, 4, f->filename);
		put_uint(&w->enc, 5, (__u64)f->start_line);
		err = gz_flush_enc(w, GZ_CHUNK);
		if (err)
			return err;
	}
	return gz_flush_enc(w, 0);
}

static int write_strings(struct pprof *p, struct gz_writer *w)
{
	size_t i, len;
	int err;

	/* Index 0 is "" and is written too: string_table[0] must be present. */
	for (i = 0; i < p->nr_strings; i++) {
		len = str_len(p, i);
		err = pbuf_reserve(&w->enc, len_size(len));
		if (err)
			return err;
		put_len(&w->enc, PROFILE_STRING_TABLE, len);
		memcpy(w->enc.data + w->enc.len, str_at(p, i), len);
		w->enc.len += len;
		err = gz_flush_enc(w, GZ_CHUNK);
		if (err)
			return err;
	}
	return gz_flush_enc(w, 0);
}

/* The scalar fields that follow the tables, and the end of the gzip stream. */
static int write_tail(struct pprof *p, struct gz_writer *w)
{
	struct pbuf *b = &w->enc;
	size_t size;
	int err;

	size = 1 + varint_size((__u64)p->time_nanos) + uint_size((__u64)p->duration_nanos) +
	       len_size(value_type_size(&p->period_type)) + uint_size((__u64)p->period) +
	       len_size(packed_size(p->comments, p->nr_comments)) +
	       uint_size(p->default_sample_type);

	err = pbuf_reserve(b, size);
	if (err)
		return err;
	/* Written even when 0: readers must see a time. */
	put_varint(b, PROFILE_TIME_NANOS << 3 | WIRE_VARINT);
	put_varint(b, (__u64)p->time_nanos);
	put_uint(b, PROFILE_DURATION_NANOS, (__u64)p->duration_nanos);
	if (p->period_type.type || p->period_type.unit) {
		put_len(b, PROFILE_PERIOD_TYPE, value_type_size(&p->period_type));
		put_uint(b, 1, p->period_type.type);
		put_uint(b, 2, p->period_type.unit);
	}
	put_uint(b, PROFILE_PERIOD, (__u64)p->period);
	put_packed(b, PROFILE_COMMENT, p->comments, p->nr_comments);
	put_uint(b, PROFILE_DEFAULT_SAMPLE_TYPE, p->default_sample_type);
	err = gz_deflate(w, b->data, b->len, Z_FINISH);
	b->len = 0;
	return err;
}

static int write_profile(struct pprof *p, struct gz_writer *w)
{
	int err;

	err = write_sample_types(p, w);
	if (!err)
		err = gz_deflate(w, p->samples.data, p->samples.len, Z_NO_FLUSH);
	if (!err)
		err = gz_deflate(w, p->mappings.data, p->mappings.len, Z_NO_FLUSH);
	if (!err)
		err = gz_deflate(w, p->locations.data, p->locations.len, Z_NO_FLUSH);
	if (!err)
		err = write_functions(p, w);
	if (!err)
		err = write_strings(p, w);
	if (!err)
		err = write_tail(p, w);
	return err;
}

int pprof__write(struct pprof *p, int fd)
{
	struct gz_writer *w;
	int ret, err;

	if (p->err)
		return p->err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	/* windowBits 15 + 16: a gzip header and trailer. BEST_SPEED, as Go's runtime does. */
	ret = deflateInit2(&w->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (ret != Z_OK) {
		free(w);
		return -ENOMEM;
	}
	err = write_profile(p, w);
	deflateEnd(&w->zs);
	free(w->enc.data);
	free(w);
	return err;
}

/* Creates a new file beside path; mode 0666 so that the umask decides, as for any file. */
static int tmp_create(const char *path, char **tmp)
{
	static unsigned int seq;
	struct timespec ts;
	unsigned long n;
	int fd, i;

	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = (unsigned long)ts.tv_nsec ^ __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
		if (asprintf(tmp, "%s.tmp.%d.%lx", path, getpid(), n) < 0)
			return -ENOMEM;
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			return fd;
		fd = -errno;
		free(*tmp);
		*tmp = NULL;
		if (fd != -EEXIST)
			return fd;
	}
	return -EEXIST;
}

/*
 * fsync of the directory makes the rename itself durable. The new file is complete and in
 * place whatever happens here, so a failure is not reported.
 */
static void dir_sync(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int pprof__write_file(struct pprof *p, const char *path)
{
	char *tmp = NULL;
	int fd, err;

	if (p->err)
		return p->err;
	fd = tmp_create(path, &tmp);
	if (fd < 0)
		return fd;
	err = pprof__write(p, fd);
	if (!err && fsync(fd))
		err = -errno;
	/* close() can report a deferred write error (NFS) */
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	else
		dir_sync(path);
	free(tmp);
	return err;
}
