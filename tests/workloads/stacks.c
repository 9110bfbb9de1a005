// SPDX-License-Identifier: GPL-2.0-only
/*
 * stacks - allocations from N distinct call stacks: stack i goes through
 * left() or right() at each of its depth levels by the bits of i, then
 * mallocs and frees 32 bytes. The daemon's scale benchmark uses it.
 *   stacks N SECONDS [--once]
 * walks all N stacks again and again for SECONDS (0: until killed), or
 * with --once waits a second (a daemon makes it a target at its exec),
 * walks them once and then sleeps for SECONDS.
 */
/* cflags: -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static NOIPA void leaf(void)
{
	void *p = malloc(32);

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

static void walk(unsigned long bits, int depth);

static NOIPA void left(unsigned long bits, int depth)
{
	walk(bits, depth);
	__asm__ volatile("");	/* no tail call: the frame stays */
}

static NOIPA void right(unsigned long bits, int depth)
{
	walk(bits, depth);
	__asm__ volatile("");
}

static NOIPA void walk(unsigned long bits, int depth)
{
	if (!depth)
		leaf();
	else if (bits & 1)
		right(bits >> 1, depth - 1);
	else
		left(bits >> 1, depth - 1);
	__asm__ volatile("");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long n, i;
	int depth = 0, once;
	double secs, t0;

	if (argc < 3 || (n = strtoul(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: stacks N SECONDS [--once]\n");
		return 2;
	}
	secs = atof(argv[2]);
	once = argc > 3 && !strcmp(argv[3], "--once");
	while ((1UL << depth) < n)
		depth++;
	if (once)
		sleep(1);
	t0 = now();
	do {
		for (i = 0; i < n; i++)
			walk(i, depth);
	} while (!once && (!secs || now() - t0 < secs));
	if (once)
		sleep((unsigned int)secs);
	return 0;
}
