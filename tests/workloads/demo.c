/* cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer */
/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * demo.c - a toy request handler for `make demo` to profile.
 *
 * It serves made-up requests for a few seconds. Each request allocates in
 * three obvious places:
 *
 *   read_request()   a 16 KiB buffer for the raw request, freed after it
 *   parse_headers()  a small struct per header line, freed after it
 *   cache_insert()   a 4-12 KiB response cached per URL: never evicted, and
 *                    the URL space keeps growing, so this is a slow leak
 *
 * A profile should show read_request() on top of alloc_space, and
 * cache_insert() alone growing in inuse_space.
 *
 * usage: demo [seconds]   (default 2.5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REQUEST_BUF	16384
#define CACHE_BUCKETS	4096

/* Keep these as named frames: no inlining, no .isra/.constprop clones. */
#if defined(__clang__)
#define FRAME __attribute__((noinline))
#else
#define FRAME __attribute__((noipa))
#endif
struct header {
	struct header *next;
	char *name;
	char *value;
};

struct cache_entry {
	struct cache_entry *next;
	char url[64];
	size_t len;
	char body[];
};

static struct cache_entry *cache[CACHE_BUCKETS];
static unsigned long cache_entries, cache_hits;
static unsigned long long rng = 0x2545f4914f6cdd1dULL;

/* Deterministic, so every recording of the demo looks the same. */
static unsigned long next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "Receive" a request: most URLs are popular, a few are new forever. */
static FRAME char *read_request(unsigned long id)
{
	char *buf = malloc(REQUEST_BUF);
	unsigned long page = next_random() % 8 ? next_random() % 64 : id;

	if (!buf)
		return NULL;
	snprintf(buf, REQUEST_BUF,
		 "GET /page/%lu HTTP/1.1\nHost: demo\nUser-Agent: toy\n"
		 "Accept: */*\nX-Request-Id: %lu\n\n", page, id);
	return buf;
}

static FRAME struct header *parse_headers(const char *req)
{
	struct header *list = NULL, *h;
	const char *line = strchr(req, '\n'), *colon, *end;

	while (line && line[1] != '\n' && line[1]) {
		line++;
		colon = strchr(line, ':');
		end = strchr(line, '\n');
		if (!colon || !end || colon > end)
			break;
		h = malloc(sizeof(*h));
		if (!h)
			break;
		h->name = strndup(line, colon - line);
		h->value = strndup(colon + 2, end - colon - 2);
		h->next = list;
		list = h;
		line = end;
	}
	return list;
}

static void free_headers(struct header *h)
{
	struct header *next;

	for (; h; h = next) {
		next = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
}

static unsigned long hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % CACHE_BUCKETS;
}

static struct cache_entry *cache_lookup(const char *url)
{
	struct cache_entry *e;

	for (e = cache[hash(url)]; e; e = e->next)
		if (!strcmp(e->url, url))
			return e;
	return NULL;
}

/* The leak: nothing ever evicts, and new URLs keep arriving. */
static FRAME struct cache_entry *cache_insert(const char *url)
{
	size_t len = 4096 + next_random() % 8192;
	struct cache_entry *e = malloc(sizeof(*e) + len);
	unsigned long b = hash(url);

	if (!e)
		return NULL;
	snprintf(e->url, sizeof(e->url), "%s", url);
	memset(e->body, 'x', len);
	e->len = len;
	e->next = cache[b];
	cache[b] = e;
	cache_entries++;
	return e;
}

static void handle_request(unsigned long id)
{
	char *req = read_request(id), url[64] = "";
	struct header *headers;

	if (!req)
		return;
	sscanf(req, "GET %63s", url);
	headers = parse_headers(req);
	if (cache_lookup(url))
		cache_hits++;
	else
		cache_insert(url);
	free_headers(headers);
	free(req);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.5;
	struct timespec idle = { 0, 100 * 1000 };	/* between requests */
	double end = now() + seconds;
	unsigned long id;

	for (id = 0; now() < end; id++) {
		handle_request(id);
		nanosleep(&idle, NULL);
	}
	printf("demo: %lu requests, %lu cache hits, %lu cached pages (never freed)\n",
	       id, cache_hits, cache_entries);
	return 0;
}
