/* cflags: -fomit-frame-pointer -fasynchronous-unwind-tables */
// SPDX-License-Identifier: GPL-2.0-only
/*
 * sites_cxx.cc - the C++ allocation sites, built as Debian builds C++: no
 * frame pointers, here as in libstdc++, whose operator new calls malloc:
 * a frame-pointer walk from malloc loses the caller of operator new, so
 * only DWARF unwinding finds the site behind it.
 *
 * Each site is a noipa function called from main through a noipa driver,
 * so a correct stack reads SITE;run_SITE;main, after the frames of
 * libstdc++ the site calls (operator new itself is hidden): the leaf is
 * the site for new and new[], std::vector's or std::string's internals
 * for the others. The truth is written as sites.c writes it:
 *
 *   site<TAB>size<TAB>alloc_objects<TAB>alloc_bytes<TAB>inuse_objects<TAB>inuse_bytes
 *
 * where size is what reaches malloc: the sizes are observed, not assumed
 * (a vector's capacity after each push_back, a string's capacity + 1),
 * except the array cookie, which the Itanium C++ ABI fixes.
 *
 * usage: sites_cxx [scale] [--truth FILE] [--wait-fd N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#define SITE __attribute__((noipa, used))

/* Make p escape: gcc may delete a new/delete pair whose pointer does not. */
static inline void keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

enum {
	N_NEW = 100000,		/* x new Widget, the first N_NEW_LIVE kept */
	N_NEW_LIVE = 500,
	N_VECTOR = 2000,	/* vectors grown to VECTOR_LEN ints by push_back */
	VECTOR_LEN = 1000,
	N_STRING = 50000,	/* strings of STRING_LEN chars */
	STRING_LEN = 100,
	N_ARRAY = 20000,	/* new Tracked[ARRAY_LEN], freed */
	ARRAY_LEN = 10,
};

struct Widget {
	long v[6];
	int id;
};

/* A destructor: new[] stores the element count in a cookie before them. */
struct Tracked {
	long v[3];
	~Tracked() { keep(this); }
};

typedef std::pair<const char *, size_t> site_key;
static std::map<site_key, std::pair<unsigned long long, long long> > *truth;
static double scale = 1.0;

static void die(const char *what)
{
	fprintf(stderr, "sites_cxx: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* n allocations of size bytes at site, live of them still allocated at exit. */
static void count(const char *site, size_t size, unsigned long long n, long long live)
{
	std::pair<unsigned long long, long long> &t = (*truth)[site_key(site, size)];

	t.first += n;
	t.second += live;
}

static unsigned long scaled(unsigned long n)
{
	double v = n * scale + 0.5;

	return v < 1 ? 1 : (unsigned long)v;
}

/* The sites: one allocating expression each. */

SITE Widget *site_new(int id)
{
	Widget *w = new Widget();

	w->id = id;
	keep(w);
	return w;
}

/* Grows v to len ints; the capacities it went through go to caps. */
SITE void site_vector(std::vector<int> &v, int len, size_t *caps, int *nr_caps)
{
	size_t cap = v.capacity();
	int i;

	for (i = 0; i < len; i++) {
		v.push_back(i);
		if (v.capacity() != cap) {
			cap = v.capacity();
			caps[(*nr_caps)++] = cap;
		}
	}
	keep(v.data());
}

/* Longer than the 15 chars kept inline: allocates capacity + 1 bytes. */
SITE size_t site_string(void)
{
	std::string s(STRING_LEN, 'x');

	keep(s.data());
	return s.capacity();
}

SITE Tracked *site_new_array(void)
{
	Tracked *t = new Tracked[ARRAY_LEN];

	keep(t);
	return t;
}

/* Drivers: loop over a site, free, and count. */

SITE void run_new(void)
{
	unsigned long i, n = scaled(N_NEW), live = scaled(N_NEW_LIVE);

	for (i = 0; i < n; i++) {
		Widget *w = site_new(i);

		if (i >= live)
			delete w;	/* the first live ones leak on purpose */
	}
	count("site_new", sizeof(Widget), n, live);
}

SITE void run_vector(void)
{
	unsigned long i, n = scaled(N_VECTOR);
	size_t caps[64];
	int j, nr;

	for (i = 0; i < n; i++) {
		std::vector<int> v;

		nr = 0;
		site_vector(v, VECTOR_LEN, caps, &nr);
		/* Each new capacity was one allocation of that many ints. */
		for (j = 0; j < nr; j++)
			count("site_vector", caps[j] * sizeof(int), 1, 0);
	}
}

SITE void run_string(void)
{
	unsigned long i, n = scaled(N_STRING);
	size_t cap = 0;

	for (i = 0; i < n; i++)
		cap = site_string();
	count("site_string", cap + 1, n, 0);
}

SITE void run_new_array(void)
{
	unsigned long i, n = scaled(N_ARRAY);

	for (i = 0; i < n; i++)
		delete[] site_new_array();
	/* Itanium C++ ABI: a size_t cookie ahead of elements with a destructor. */
	count("site_new_array", ARRAY_LEN * sizeof(Tracked) + sizeof(size_t), n, 0);
}

/* Written to FILE.tmp and renamed: a reader never sees half a table. */
static void write_truth(const char *path)
{
	char tmp[4096];
	FILE *f = stdout;

	if (path) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
			errno = ENAMETOOLONG;
			die(path);
		}
		f = fopen(tmp, "w");
		if (!f)
			die(tmp);
	}
	for (auto &t : *truth)
		fprintf(f, "%s\t%zu\t%llu\t%llu\t%lld\t%lld\n", t.first.first, t.first.second,
			t.second.first, t.second.first * t.first.second, t.second.second,
			t.second.second * (long long)t.first.second);
	if (!path) {
		fflush(f);
		return;
	}
	if (fclose(f) || rename(tmp, path))
		die(path);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sites_cxx [scale] [--truth FILE] [--wait-fd N]\n"
		"  scale        multiplies every count (default 1)\n"
		"  --truth FILE where the truth goes (default $AS_TRUTH, else stdout)\n"
		"  --wait-fd N  read one byte from fd N before anything else\n");
	exit(2);
}

static void wait_for_fd(int fd)
{
	char c;
	ssize_t n;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("--wait-fd");
	close(fd);
}

int main(int argc, char **argv)
{
	const char *truth_path = getenv("AS_TRUTH");
	int i, wait_fd = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--truth") && i + 1 < argc)
			truth_path = argv[++i];
		else if (!strcmp(argv[i], "--wait-fd") && i + 1 < argc)
			wait_fd = atoi(argv[++i]);
		else if (argv[i][0] != '-' && (scale = atof(argv[i])) > 0)
			continue;
		else
			usage();
	}
	if (truth_path && !*truth_path)
		truth_path = NULL;
	/* The bookkeeping allocates before the workload starts, not during it. */
	truth = new std::map<site_key, std::pair<unsigned long long, long long> >();
	if (wait_fd >= 0)
		wait_for_fd(wait_fd);
	run_new();
	run_vector();
	run_string();
	run_new_array();
	write_truth(truth_path);
	return 0;
}
