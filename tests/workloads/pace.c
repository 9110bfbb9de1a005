// SPDX-License-Identifier: GPL-2.0-only
/*
 * pace - allocate at a given rate for a while, the load of the daemon's
 * load tests: malloc/free pairs of mixed sizes (16 to 16 + N - 1 bytes,
 * N = 4096 unless --sizes says) from one site, pace_site, paced in 10 ms
 * slices, with a number of 64-byte blocks held until exit.
 *   pace MB_PER_S SECONDS [--delay MS] [--hold N] [--linger MS] [--sizes N]
 * MB_PER_S 0 is as fast as it can; SECONDS 0 is until killed. --delay
 * waits before the first allocation, --linger after the last one.
 */
/* cflags: -fno-omit-frame-pointer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __attribute__((noinline)) void *pace_site(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

/* malloc/free pairs until that many bytes were allocated. */
static long sizes = 4096;

static double slice(double bytes, unsigned long *i)
{
	double done = 0;
	size_t n;

	do {
		/* 7919 is prime: every size in turn, in a scattered order */
		n = 16 + (*i * 7919 % sizes);
		free(pace_site(n));
		done += n;
		(*i)++;
	} while (done < bytes);
	return done;
}

int main(int argc, char **argv)
{
	long delay = 0, hold = 0, linger = 0, k;
	double mbps, secs, t0, t, total = 0;
	unsigned long i = 0;
	void **held;
	int a;

	if (argc < 3)
		goto usage;
	mbps = atof(argv[1]);
	secs = atof(argv[2]);
	for (a = 3; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--delay"))
			delay = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--hold"))
			hold = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--linger"))
			linger = atol(argv[a + 1]);
		else if (!strcmp(argv[a], "--sizes"))
			sizes = atol(argv[a + 1]);
		else
			goto usage;
	}
	if (a != argc || mbps < 0 || secs < 0 || hold < 0 || sizes < 1 || sizes % 7919 == 0)
		goto usage;
	sleep_ms(delay);
	held = calloc(hold ? hold : 1, sizeof(*held));
	for (k = 0; held && k < hold; k++)
		held[k] = pace_site(64);
	t0 = now();
	while (!secs || (t = now()) - t0 < secs) {
		if (mbps)	/* ahead of the schedule: wait for it */
			while (total > mbps * 1e6 * (now() - t0))
				sleep_ms(10);
		total += slice(mbps ? mbps * 1e4 : 1 << 20, &i);
	}
	sleep_ms(linger);
	return 0;
usage:
	fprintf(stderr,
		"usage: pace MB_PER_S SECONDS [--delay MS] [--hold N] [--linger MS] [--sizes N]\n");
	return 2;
}
