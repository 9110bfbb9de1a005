/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hmap.h - an intrusive chained hash map.
 *
 * Entries embed a struct hnode and carry their own key; the map only
 * stores the 64-bit hash, and lookups compare keys through a callback.
 * It grows at load 1 and never shrinks.
 */
#ifndef AS_HMAP_H
#define AS_HMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <linux/types.h>

struct hnode {
	struct hnode *next;
	__u64 hash;
};

struct hmap {
	struct hnode **buckets;
	size_t nr;
	size_t cap;		/* power of two, or 0 */
};

#define hmap_entry(node, type, member) \
	((type *)((char *)(node) - offsetof(type, member)))

/* splitmix64's finalizer: a good spread for integer keys. */
static inline __u64 hash_u64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline __u64 hash_mix(__u64 h, __u64 v)
{
	return hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/* A string's hash (FNV-1a, 64 bits). */
static inline __u64 hash_str(const char *s)
{
	__u64 h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static inline int hmap__grow(struct hmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct hnode **b = calloc(cap, sizeof(*b)), *n, *next;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (cap - 1)];
			b[n->hash & (cap - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->cap = cap;
	return 0;
}

static inline int hmap__add(struct hmap *m, struct hnode *n, __u64 hash)
{
	struct hnode **b;

	if (m->nr >= m->cap && hmap__grow(m))
		return -ENOMEM;
	n->hash = hash;
	b = &m->buckets[hash & (m->cap - 1)];
	n->next = *b;
	*b = n;
	m->nr++;
	return 0;
}

/* First node with this hash for which eq(node, key) holds. */
static inline struct hnode *hmap__find(const struct hmap *m, __u64 hash,
				       bool (*eq)(const struct hnode *, const void *),
				       const void *key)
{
	struct hnode *n;

	if (!m->cap)
		return NULL;
	for (n = m->buckets[hash & (m->cap - 1)]; n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

static inline void hmap__del(struct hmap *m, struct hnode *node)
{
	struct hnode **p;

	if (!m->cap)
		return;
	for (p = &m->buckets[node->hash & (m->cap - 1)]; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			m->nr--;
			return;
		}
	}
}

/* Visits every node; fn may not add, but may remove the node it gets. */
static inline void hmap__each(struct hmap *m, void (*fn)(struct hnode *, void *), void *ctx)
{
	struct hnode *n, *next;
	size_t i;

	for (i = 0; i < m->cap; i++) {
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			fn(n, ctx);
		}
	}
}

static inline void hmap__release(struct hmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nr = m->cap = 0;
}

#endif /* AS_HMAP_H */
