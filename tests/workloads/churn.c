// SPDX-License-Identifier: GPL-2.0-only
/*
 * churn - a tight malloc/free loop of mixed sizes, reporting nanoseconds
 * per malloc+free pair: the worst case for a tracer, and the benchmark's
 * unit. Each thread runs the loop on its own.
 *   churn [PAIRS] [THREADS] [--wait-fd N] [--pace US]
 * prints "<ns per pair> ns/pair <threads> threads <pairs> pairs".
 * --pace US sleeps US microseconds after each pair: a process that goes on
 * allocating, gently, until a test has seen it.
 */
/* cflags: -fno-omit-frame-pointer */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long pairs = 1000000;
static long pace_us;

static __attribute__((noinline)) void *churn_site(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* Sizes cycle through 16..4111 bytes: small and medium blocks, like a server's. */
static void *loop(void *arg)
{
	long i;

	for (i = 0; i < pairs; i++) {
		free(churn_site(16 + (i * 7919 & 4095)));
		if (pace_us)
			usleep(pace_us);
	}
	return arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int threads = 1, i, pos = 0, wait_fd = -1;
	pthread_t tid[64];
	double t0, t;
	char c;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wait-fd") && i + 1 < argc)
			wait_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pace") && i + 1 < argc)
			pace_us = atol(argv[++i]);
		else if (pos++ == 0)
			pairs = atol(argv[i]);
		else
			threads = atoi(argv[i]);
	}
	if (pairs <= 0 || threads < 1 || threads > 64 || pace_us < 0) {
		fprintf(stderr, "usage: churn [PAIRS] [THREADS 1-64] [--wait-fd N] [--pace US]\n");
		return 2;
	}
	if (wait_fd >= 0 && read(wait_fd, &c, 1) < 0)
		return 1;
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, loop, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t = now() - t0;
	printf("%.1f ns/pair %d threads %ld pairs\n", t * 1e9 / pairs, threads, pairs);
	return 0;
}
