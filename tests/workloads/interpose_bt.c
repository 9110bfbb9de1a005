/* cflags: -rdynamic */
// SPDX-License-Identifier: GPL-2.0-only
/*
 * interpose_bt.c - a program that interposes malloc (forwarding to
 * glibc's __libc_malloc and friends) and, for one marked size, walks its
 * own stack with backtrace(3) from inside its malloc, as heap profilers
 * and leak checkers do. It prints the functions of that walk: traced, they
 * must be the ones it finds untraced. A return address hijacked for a
 * return probe would end the walk at the kernel's trampoline.
 *
 * usage: interpose_bt [--wait-fd N]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARK_SIZE	12345
#define MAX_FRAMES	64

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static void *frames[MAX_FRAMES];
static int nr_frames = -1;
static __thread int walking;

void *malloc(size_t n)
{
	/* backtrace() loads libgcc_s at its first call, which allocates */
	if (n == MARK_SIZE && !walking) {
		walking = 1;
		nr_frames = backtrace(frames, MAX_FRAMES);
		walking = 0;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

__attribute__((noinline)) void *level3(void)
{
	return malloc(MARK_SIZE);
}

__attribute__((noinline)) void *level2(void)
{
	void *p = level3();

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) void *level1(void)
{
	void *p = level2();

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

int main(int argc, char **argv)
{
	Dl_info info;
	char c;
	int i;

	if (argc == 3 && !strcmp(argv[1], "--wait-fd") && read(atoi(argv[2]), &c, 1) != 1)
		return 2;
	free(level1());
	printf("%d frames:", nr_frames);
	for (i = 0; i < nr_frames; i++)
		printf(" %s", dladdr(frames[i], &info) && info.dli_sname ? info.dli_sname : "?");
	printf("\n");
	return 0;
}
