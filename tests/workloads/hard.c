/* cflags: -fomit-frame-pointer -fasynchronous-unwind-tables */
/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hard.c - allocation sites that are hard to unwind to, built as Debian
 * builds programs (no frame pointers). Every function on the way is noipa,
 * so a correct stack reads as below, cut at main. One mode per case:
 *
 *   signal   a timer's SIGPROF handler allocates while main spins:
 *            site_signal;on_signal;__restore_rt;spin;run_signal;main
 *   vdso     the same while main spins calling clock_gettime(), so most
 *            signals interrupt the vDSO: site_vdso;on_signal;__restore_rt;
 *            clock_gettime ([vdso]);clock_gettime (libc);spin_vdso;run_vdso;main
 *   jit      code written at run time into an anonymous executable page,
 *            with a frame pointer but no CFI, calls malloc; /tmp/perf-PID.map
 *            names it (and is removed at exit): jit_site;run_jit;jit;main
 *   plt      libc's strdup, called through the PLT, calls malloc through
 *            libc's own PLT: site_strdup;run_plt;plt;main. With --lib FILE,
 *            FILE is dlopen()ed and its site_lib(size_t) called too:
 *            site_lib;run_plt;plt;main
 *   threads  NR_THREADS threads: site_thread;thread_work;thread_fn;start_thread
 *
 * The truth goes out as sites.c writes it:
 *
 *   site<TAB>size<TAB>alloc_objects<TAB>alloc_bytes<TAB>inuse_objects<TAB>inuse_bytes
 *
 * Every allocation is freed: inuse is 0.
 *
 * usage: hard MODE [--truth FILE] [--wait-fd N] [--count N] [--lib FILE]
 *                  [--perf-map DIR]
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SITE		__attribute__((noipa, used))
#define NR_THREADS	8
#define MAX_TRUTH	8

/* Sizes: a signal's allocation is big: there are few of them. */
enum {
	SIGNAL_SIZE = 40000,
	JIT_SIZE = 1000,
	STRDUP_LEN = 199,	/* strdup allocates len + 1 */
	LIB_SIZE = 1000,
	THREAD_SIZE = 400,
};

/* Default counts (--count overrides): each mode takes well under a second. */
enum {
	N_SIGNAL = 300,
	N_JIT = 20000,
	N_PLT = 20000,
	N_THREAD = 5000,	/* per thread */
};

struct truth {
	const char *site;
	size_t size;
	unsigned long long n;
};

static struct truth truth[MAX_TRUTH];
static int nr_truth;
static unsigned long count_opt;
static const char *lib_path;
static const char *perf_map_dir = "/tmp";

static void die(const char *what)
{
	fprintf(stderr, "hard: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void count(const char *site, size_t size, unsigned long long n)
{
	truth[nr_truth++] = (struct truth){ site, size, n };
}

static unsigned long count_or(unsigned long n)
{
	return count_opt ? count_opt : n;
}

static inline void keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* signal and vdso: a handler that allocates while main spins. */

static volatile sig_atomic_t handled;
static unsigned long signal_target;
static void *(*volatile signal_site)(void);

SITE void *site_signal(void)
{
	void *p = malloc(SIGNAL_SIZE);

	keep(p);
	return p;
}

SITE void *site_vdso(void)
{
	void *p = malloc(SIGNAL_SIZE);

	keep(p);
	return p;
}

/*
 * malloc in a handler is only safe because the code it interrupts never
 * allocates; the count stops growing once main has what it waits for.
 */
SITE void on_signal(int sig)
{
	int saved = errno;

	if ((unsigned long)handled < signal_target) {
		free(signal_site());
		handled++;
	}
	errno = saved;
}

/*
 * A CLOCK_MONOTONIC timer: an hrtimer, so 500 us means 500 us, where
 * ITIMER_PROF only fires on scheduler ticks.
 */
static timer_t timer;

static void start_timer(void *(*site)(void), unsigned long n)
{
	struct itimerspec it = { .it_interval.tv_nsec = 500000, .it_value.tv_nsec = 500000 };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGPROF };

	signal_site = site;
	signal_target = n;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &ev, &timer) ||
	    timer_settime(timer, 0, &it, NULL))
		die("SIGPROF timer");
}

static void stop_timer(void)
{
	timer_delete(timer);
	signal(SIGPROF, SIG_IGN);
}

/* Spins without calling anything: the handler interrupts this function. */
SITE void spin(void)
{
	while ((unsigned long)handled < signal_target)
		;
}

/* Spins in the vDSO's clock_gettime, which the handler then interrupts. */
SITE void spin_vdso(void)
{
	struct timespec ts;

	while ((unsigned long)handled < signal_target)
		clock_gettime(CLOCK_MONOTONIC, &ts);
}

SITE void run_signal(void)
{
	unsigned long n = count_or(N_SIGNAL);

	start_timer(site_signal, n);
	spin();
	stop_timer();
	count("site_signal", SIGNAL_SIZE, n);
}

SITE void run_vdso(void)
{
	unsigned long n = count_or(N_SIGNAL);

	start_timer(site_vdso, n);
	spin_vdso();
	stop_timer();
	count("site_vdso", SIGNAL_SIZE, n);
}

/* jit: a function written at run time, with a frame but without CFI. */

/*
 *	push %rbp; mov %rsp,%rbp
 *	mov $JIT_SIZE,%edi
 *	movabs $malloc,%rax
 *	call *%rax
 *	leave; ret
 * With the push, the stack is 16-byte aligned at the call, as the ABI wants.
 */
static size_t jit_emit(unsigned char *code, void *target)
{
	unsigned char *p = code;
	unsigned int size = JIT_SIZE;
	unsigned long addr = (unsigned long)target;

	*p++ = 0x55;
	*p++ = 0x48; *p++ = 0x89; *p++ = 0xe5;
	*p++ = 0xbf; memcpy(p, &size, 4); p += 4;
	*p++ = 0x48; *p++ = 0xb8; memcpy(p, &addr, 8); p += 8;
	*p++ = 0xff; *p++ = 0xd0;
	*p++ = 0xc9;
	*p++ = 0xc3;
	return p - code;
}

/*
 * As perf reads it: "START SIZE name", hex, one symbol a line. Written
 * without stdio, which would allocate: the map exists before the first
 * allocation does.
 */
static void write_perf_map(const char *path, void *code, size_t len)
{
	char line[128];
	int fd, n;

	n = snprintf(line, sizeof(line), "%lx %zx jit_site\n", (unsigned long)code, len);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	if (write(fd, line, n) != n || close(fd))
		die(path);
}

static void *(*jit_fn)(void);
static char perf_map[4096];

SITE void run_jit(void *(*fn)(void), unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *p = fn();

		if (!p)
			die("jit_site");
		free(p);
	}
}


/* Before --wait-fd: the code and its perf map are there when tracing starts. */
static void jit_prepare(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *code;
	size_t len;

	code = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		die("mmap");
	len = jit_emit(code, malloc);
	if (mprotect(code, page, PROT_READ | PROT_EXEC))
		die("mprotect");
	snprintf(perf_map, sizeof(perf_map), "%s/perf-%d.map", perf_map_dir, getpid());
	write_perf_map(perf_map, code, len);
	jit_fn = (void *(*)(void))code;
}

SITE void jit(void)
{
	unsigned long n = count_or(N_JIT);

	run_jit(jit_fn, n);
	count("jit_site", JIT_SIZE, n);
	/* Short-lived JITs clean up; a profiler must have read the map by now. */
	unlink(perf_map);
}

/* plt: allocations inside libc, and in a library loaded at run time. */

SITE char *site_strdup(const char *s)
{
	char *p = strdup(s);

	keep(p);
	return p;
}

SITE void run_plt(void *(*lib_site)(size_t), unsigned long n)
{
	static char str[STRDUP_LEN + 1];
	unsigned long i;

	memset(str, 'x', STRDUP_LEN);
	for (i = 0; i < n; i++) {
		free(site_strdup(str));
		if (lib_site)
			free(lib_site(LIB_SIZE));
	}
}

SITE void plt(void)
{
	unsigned long n = count_or(N_PLT);
	void *(*lib_site)(size_t) = NULL;
	void *h;

	if (lib_path) {
		h = dlopen(lib_path, RTLD_NOW);
		if (!h || !(lib_site = (void *(*)(size_t))dlsym(h, "site_lib"))) {
			fprintf(stderr, "hard: %s: %s\n", lib_path, dlerror());
			exit(1);
		}
	}
	run_plt(lib_site, n);
	count("site_strdup", STRDUP_LEN + 1, n);
	if (lib_site)
		count("site_lib", LIB_SIZE, n);
}

/* threads */

SITE void *site_thread(void)
{
	void *p = malloc(THREAD_SIZE);

	keep(p);
	return p;
}

SITE void thread_work(unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		free(site_thread());
}

SITE void *thread_fn(void *arg)
{
	thread_work(*(unsigned long *)arg);
	return NULL;
}

SITE void threads(void)
{
	unsigned long n = count_or(N_THREAD);
	pthread_t tid[NR_THREADS];
	int i, err;

	for (i = 0; i < NR_THREADS; i++) {
		err = pthread_create(&tid[i], NULL, thread_fn, &n);
		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(tid[i], NULL);
	count("site_thread", THREAD_SIZE, NR_THREADS * n);
}

static void write_truth(const char *path)
{
	char tmp[4096];
	FILE *f = stdout;
	int i;

	if (path) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		f = fopen(tmp, "w");
		if (!f)
			die(tmp);
	}
	for (i = 0; i < nr_truth; i++)
		fprintf(f, "%s\t%zu\t%llu\t%llu\t0\t0\n", truth[i].site, truth[i].size,
			truth[i].n, truth[i].n * truth[i].size);
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
		"usage: hard MODE [--truth FILE] [--wait-fd N] [--count N] [--lib FILE]\n"
		"                 [--perf-map DIR]\n"
		"  MODE           signal, vdso, jit, plt or threads\n"
		"  --truth FILE   where the truth goes (default stdout)\n"
		"  --wait-fd N    read one byte from fd N before anything else\n"
		"  --count N      allocations per site (per thread for threads)\n"
		"  --lib FILE     plt: also call site_lib(size_t) of this library\n"
		"  --perf-map DIR jit: where perf-PID.map goes (default /tmp)\n");
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

static const struct {
	const char *name;
	void (*prepare)(void);
	void (*run)(void);
} modes[] = {
	{ "signal", NULL, run_signal },
	{ "vdso", NULL, run_vdso },
	{ "jit", jit_prepare, jit },
	{ "plt", NULL, plt },
	{ "threads", NULL, threads },
};

int main(int argc, char **argv)
{
	const char *truth_path = NULL;
	int i, wait_fd = -1;
	size_t m;

	if (argc < 2)
		usage();
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(argv[1], modes[m].name))
			break;
	if (m == sizeof(modes) / sizeof(modes[0]))
		usage();
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--truth"))
			truth_path = argv[i + 1];
		else if (!strcmp(argv[i], "--wait-fd"))
			wait_fd = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--count"))
			count_opt = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--lib"))
			lib_path = argv[i + 1];
		else if (!strcmp(argv[i], "--perf-map"))
			perf_map_dir = argv[i + 1];
		else
			usage();
	}
	if (i != argc)
		usage();
	if (modes[m].prepare)
		modes[m].prepare();
	if (wait_fd >= 0)
		wait_for_fd(wait_fd);
	modes[m].run();
	write_truth(truth_path);
	return 0;
}
