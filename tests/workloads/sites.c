/* cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer */
/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sites.c - a workload whose allocation sites and totals are known exactly.
 *
 * Every allocator call is made from its own site_* function, so the caller
 * of malloc & co. in a sampled stack names the site. The program writes what
 * it really allocated, per (site, requested size), so that a test can hold
 * a profile against the truth:
 *
 *   site<TAB>size<TAB>alloc_objects<TAB>alloc_bytes<TAB>inuse_objects<TAB>inuse_bytes
 *
 * inuse is what is still allocated at exit: only site_leak. (site_held is
 * live from the start until after --hold, then freed: a profile taken
 * during the hold sees it in use too.) Counting rules, which the tracer
 * must follow too:
 *  - realloc(old, n) that succeeds frees old and allocates n at its caller;
 *    realloc(NULL, n) only allocates n. reallocarray(p, n, m) likewise, n*m.
 *  - calloc(n, m) is n*m bytes; pvalloc(n) is n rounded up to a page;
 *    malloc(0) is one object of 0 bytes.
 *
 * usage: sites [scale] [--truth FILE] [--wait-fd N] [--fork] [--exec-self]
 *              [--hold SECONDS] [--skip SITE,...]
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * noipa (GCC) also rules out cloning (site_x.constprop.0) and identical
 * code folding, either of which would change the name a profile shows.
 */
#if defined(__clang__)
#define SITE __attribute__((noinline, used))
#else
#define SITE __attribute__((noipa, used))
#endif

/*
 * Make p escape, after the call: gcc deletes malloc/free pairs whose
 * pointer does not escape, and a site ending in "return malloc(n)" would
 * become a tail call, which drops the site's frame from the stack.
 */
static inline void keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

#define MiB		(1024 * 1024)
#define NR_THREADS	4
#define MAX_TRUTH	64

/* Default counts, scaled by argv; tests/unit/test_sampling.c mirrors them. */
enum {
	N_SMALL = 100000,	/* x 24 B, freed */
	N_BIG = 20,		/* x 1 MiB, freed */
	N_LEAK = 1000,		/* x 4 KiB, never freed */
	N_CALLOC = 10000,	/* x calloc(10, 64), freed */
	N_REALLOC = 1000,	/* rounds of 64 B .. 64 KiB growth, freed */
	N_REALLOCARRAY = 1000,	/* rounds of 4, 8, 16 x 48 B, freed */
	N_ALIGNED = 2000,	/* each of posix_memalign, aligned_alloc, memalign */
	N_VALLOC = 500,		/* each of valloc, pvalloc (5000 B) */
	N_MALLOC0 = 1000,	/* x malloc(0), freed */
	N_THREADED = 25000,	/* per thread, x 40 B, freed */
	N_HELD = 64,		/* x 32 KiB, held across the run, freed at exit */
};

struct truth {
	const char *site;
	size_t size;
	unsigned long long alloc_objects;
	unsigned long long inuse_objects;
};

static struct truth truth[MAX_TRUTH];
static int nr_truth;
static pthread_mutex_t truth_lock = PTHREAD_MUTEX_INITIALIZER;

static double scale = 1.0;
static const char *skip_list = "";
static size_t page_size;

static void die(const char *what)
{
	fprintf(stderr, "sites: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A failed call would make the truth wrong: stop rather than lie. */
static void *check(void *p)
{
	if (!p) {
		errno = ENOMEM;
		die("allocation failed");
	}
	return p;
}

/* The program's own bookkeeping must not show up as an allocation site. */
static void *bookkeeping(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static struct truth *truth_slot(const char *site, size_t size)
{
	int i;

	for (i = 0; i < nr_truth; i++)
		if (truth[i].site == site && truth[i].size == size)
			return &truth[i];
	if (nr_truth == MAX_TRUTH) {
		fprintf(stderr, "sites: truth table full\n");
		exit(1);
	}
	truth[nr_truth].site = site;
	truth[nr_truth].size = size;
	return &truth[nr_truth++];
}

/* n allocations of size bytes at site, live of them still allocated. */
static void count(const char *site, size_t size, unsigned long long n,
		  long long live)
{
	struct truth *t;

	pthread_mutex_lock(&truth_lock);
	t = truth_slot(site, size);
	t->alloc_objects += n;
	t->inuse_objects += live;
	pthread_mutex_unlock(&truth_lock);
}

static unsigned long scaled(unsigned long n)
{
	double v = n * scale + 0.5;

	return v < 1 ? 1 : (unsigned long)v;
}

static int skipped(const char *site)
{
	size_t len = strlen(site);
	const char *s = skip_list;

	for (;;) {
		if (!strncmp(s, site, len) && (s[len] == ',' || !s[len]))
			return 1;
		s = strchr(s, ',');
		if (!s)
			return 0;
		s++;
	}
}

/* The sites: one allocator call each, nothing else that allocates. */

SITE void *site_small(void)
{
	void *p = malloc(24);

	keep(p);
	return p;
}

SITE void *site_big(void)
{
	void *p = malloc(MiB);

	keep(p);
	return p;
}

SITE void *site_leak(void)
{
	void *p = malloc(4096);

	keep(p);
	return p;
}

SITE void *site_calloc(void)
{
	void *p = calloc(10, 64);

	keep(p);
	return p;
}

SITE void *site_realloc(void *old, size_t size)
{
	void *p = realloc(old, size);

	keep(p);
	return p;
}

SITE void *site_reallocarray(void *old, size_t n, size_t size)
{
	void *p = reallocarray(old, n, size);

	keep(p);
	return p;
}

SITE void *site_posix_memalign(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, 200))
		p = NULL;
	keep(p);
	return p;
}

SITE void *site_aligned_alloc(void)
{
	void *p = aligned_alloc(256, 1024);

	keep(p);
	return p;
}

SITE void *site_memalign(void)
{
	void *p = memalign(128, 3000);

	keep(p);
	return p;
}

SITE void *site_valloc(void)
{
	void *p = valloc(5000);

	keep(p);
	return p;
}

SITE void *site_pvalloc(void)
{
	void *p = pvalloc(5000);

	keep(p);
	return p;
}

SITE void *site_malloc0(void)
{
	void *p = malloc(0);

	keep(p);
	return p;
}

SITE void *site_threaded(void)
{
	void *p = malloc(40);

	keep(p);
	return p;
}

SITE void *site_held(void)
{
	void *p = malloc(32768);

	keep(p);
	return p;
}

/* Drivers: loop over a site, free, and count. */

/* n calls of a fixed-size site; the first live of them are kept. */
static void **run_fixed(const char *name, void *(*site)(void), size_t size,
			unsigned long n, unsigned long live)
{
	void **keep_ptrs = NULL;
	unsigned long i;

	if (skipped(name))
		return NULL;
	if (live)
		keep_ptrs = bookkeeping(live * sizeof(*keep_ptrs));
	for (i = 0; i < n; i++) {
		void *p = check(site());

		*(volatile char *)p = 1;
		if (i < live)
			keep_ptrs[i] = p;
		else
			free(p);
	}
	count(name, size, n, live);
	return keep_ptrs;
}

static void run_malloc0(void)
{
	unsigned long i, n = scaled(N_MALLOC0);

	if (skipped("site_malloc0"))
		return;
	/* glibc returns a unique pointer for 0 bytes; NULL would be legal too */
	for (i = 0; i < n; i++)
		free(check(site_malloc0()));
	count("site_malloc0", 0, n, 0);
}

/* 64 B grown by doubling to 64 KiB: every step frees the previous size. */
static void run_realloc(void)
{
	unsigned long i, n = scaled(N_REALLOC);
	size_t size;

	if (skipped("site_realloc"))
		return;
	for (i = 0; i < n; i++) {
		char *p = check(site_realloc(NULL, 64));

		p[63] = 1;
		for (size = 128; size <= 65536; size *= 2) {
			p = check(site_realloc(p, size));
			p[size - 1] = 1;
		}
		free(p);
	}
	for (size = 64; size <= 65536; size *= 2)
		count("site_realloc", size, n, 0);
}

static void run_reallocarray(void)
{
	unsigned long i, n = scaled(N_REALLOCARRAY);
	size_t nmemb;

	if (skipped("site_reallocarray"))
		return;
	for (i = 0; i < n; i++) {
		char *p = NULL;

		for (nmemb = 4; nmemb <= 16; nmemb *= 2) {
			p = check(site_reallocarray(p, nmemb, 48));
			p[nmemb * 48 - 1] = 1;
		}
		free(p);
	}
	for (nmemb = 4; nmemb <= 16; nmemb *= 2)
		count("site_reallocarray", nmemb * 48, n, 0);
}

static void *thread_main(void *arg)
{
	unsigned long i, n = scaled(N_THREADED);

	for (i = 0; i < n; i++)
		free(check(site_threaded()));
	return NULL;
}

/* NR_THREADS threads run site_threaded at the same time. */
static void run_threaded(void)
{
	pthread_t tid[NR_THREADS];
	int i, err;

	if (skipped("site_threaded"))
		return;
	for (i = 0; i < NR_THREADS; i++) {
		err = pthread_create(&tid[i], NULL, thread_main, NULL);
		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(tid[i], NULL);
	count("site_threaded", 40, (unsigned long long)NR_THREADS * scaled(N_THREADED), 0);
}

static void free_held(void **ptrs)
{
	unsigned long i, n = scaled(N_HELD);

	if (!ptrs)
		return;
	for (i = 0; i < n; i++)
		free(ptrs[i]);
}

/* The whole workload; returns the held blocks, still allocated. */
static void **workload(void)
{
	size_t pv = (5000 + page_size - 1) / page_size * page_size;
	void **held;

	/*
	 * Held first, so it is live across every other phase; the truth says
	 * inuse at exit, and it is freed before exit.
	 */
	held = run_fixed("site_held", site_held, 32768, scaled(N_HELD), scaled(N_HELD));
	if (held)
		count("site_held", 32768, 0, -(long long)scaled(N_HELD));
	run_fixed("site_small", site_small, 24, scaled(N_SMALL), 0);
	run_fixed("site_big", site_big, MiB, scaled(N_BIG), 0);
	run_fixed("site_leak", site_leak, 4096, scaled(N_LEAK), scaled(N_LEAK));
	run_fixed("site_calloc", site_calloc, 640, scaled(N_CALLOC), 0);
	run_realloc();
	run_reallocarray();
	run_fixed("site_posix_memalign", site_posix_memalign, 200, scaled(N_ALIGNED), 0);
	run_fixed("site_aligned_alloc", site_aligned_alloc, 1024, scaled(N_ALIGNED), 0);
	run_fixed("site_memalign", site_memalign, 3000, scaled(N_ALIGNED), 0);
	run_fixed("site_valloc", site_valloc, 5000, scaled(N_VALLOC), 0);
	run_fixed("site_pvalloc", site_pvalloc, pv, scaled(N_VALLOC), 0);
	run_malloc0();
	run_threaded();
	return held;
}

/* Written to FILE.tmp and renamed: a reader never sees half a table. */
static void write_truth(const char *path)
{
	char tmp[4096];
	FILE *f = stdout;
	int i;

	if (path) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
			errno = ENAMETOOLONG;
			die(path);
		}
		f = fopen(tmp, "w");
		if (!f)
			die(tmp);
	}
	for (i = 0; i < nr_truth; i++) {
		struct truth *t = &truth[i];

		fprintf(f, "%s\t%zu\t%llu\t%llu\t%llu\t%llu\n", t->site, t->size,
			t->alloc_objects, t->alloc_objects * t->size,
			t->inuse_objects, t->inuse_objects * t->size);
	}
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
		"usage: sites [scale] [--truth FILE] [--wait-fd N] [--fork] [--exec-self]\n"
		"             [--hold SECONDS] [--skip SITE,...]\n"
		"  scale        multiplies every count (default 1)\n"
		"  --truth FILE where the truth goes (default $AS_TRUTH, else stdout);\n"
		"               a --fork child writes FILE.child\n"
		"  --wait-fd N  read one byte from fd N before anything else\n"
		"  --fork       run the workload in a child as well as here\n"
		"  --exec-self  exec this program once before the workload\n"
		"  --hold S     after the workload, sleep S seconds with the held and\n"
		"               leaked blocks still allocated, then free the held ones\n"
		"  --skip LIST  leave out these sites (e.g. site_pvalloc)\n");
	exit(2);
}

struct opts {
	const char *truth;
	int wait_fd;
	int fork;
	int exec_self;
	double hold;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	o->truth = getenv("AS_TRUTH");
	o->wait_fd = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--fork")) {
			o->fork = 1;
		} else if (!strcmp(a, "--exec-self")) {
			o->exec_self = 1;
		} else if (!v && a[0] == '-' && a[1] == '-') {
			usage();
		} else if (!strcmp(a, "--truth")) {
			o->truth = argv[++i];
		} else if (!strcmp(a, "--wait-fd")) {
			o->wait_fd = atoi(argv[++i]);
		} else if (!strcmp(a, "--hold")) {
			o->hold = atof(argv[++i]);
		} else if (!strcmp(a, "--skip")) {
			skip_list = argv[++i];
		} else if (a[0] != '-' && (scale = atof(a)) > 0) {
			continue;
		} else {
			usage();
		}
	}
	if (o->truth && !*o->truth)
		o->truth = NULL;
	if (o->fork && !o->truth) {
		fprintf(stderr, "sites: --fork needs a truth file\n");
		exit(2);
	}
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
	close(fd);	/* not inherited by the exec'd image or the child */
}

/* The same command line, without --exec-self and the --wait-fd done. */
static void exec_self(int argc, char **argv)
{
	char **nargv = bookkeeping((argc + 1) * sizeof(*nargv));
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--exec-self"))
			continue;
		if (!strcmp(argv[i], "--wait-fd")) {
			i++;
			continue;
		}
		nargv[n++] = argv[i];
	}
	execv("/proc/self/exe", nargv);
	die("exec /proc/self/exe");
}

static void hold(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9),
	};

	if (seconds <= 0)
		return;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	char child_truth[4096];
	struct opts o = { 0 };
	pid_t child = 0;
	void **held;
	int status;

	parse_args(argc, argv, &o);
	page_size = sysconf(_SC_PAGESIZE);
	if (o.wait_fd >= 0)
		wait_for_fd(o.wait_fd);
	if (o.exec_self)
		exec_self(argc, argv);
	if (o.fork) {
		fflush(NULL);
		child = fork();
		if (child < 0)
			die("fork");
		if (!child) {
			if (snprintf(child_truth, sizeof(child_truth), "%s.child",
				     o.truth) >= (int)sizeof(child_truth)) {
				errno = ENAMETOOLONG;
				die(o.truth);
			}
			o.truth = child_truth;
		}
	}

	held = workload();
	/*
	 * Written before the hold, so that a test can wait for the file to
	 * know the hold has begun. It says inuse at exit: during the hold
	 * site_held is live too (its inuse = its alloc).
	 */
	write_truth(o.truth);
	hold(o.hold);
	free_held(held);

	if (child > 0 && (waitpid(child, &status, 0) != child ||
			  !WIFEXITED(status) || WEXITSTATUS(status))) {
		fprintf(stderr, "sites: the --fork child failed\n");
		return 1;
	}
	return 0;
}
