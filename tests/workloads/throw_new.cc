/* cflags: -fomit-frame-pointer -fasynchronous-unwind-tables */
// SPDX-License-Identifier: GPL-2.0-only
/*
 * throw_new.cc - allocation failures a C++ program handles itself: every
 * throwing operator new (plain, array, aligned) fails and the program
 * catches std::bad_alloc; every nothrow one returns nullptr. Then it makes
 * a known number of ordinary allocations. Traced, its output and exit
 * status must be what they are untraced: a return address the kernel
 * hijacked for a return probe would leave the C++ unwinder without unwind
 * info, and std::terminate would end the program.
 *
 * Two failing sizes: one beyond any address space, and one just under
 * 2^47 that the allocator has to try (and so an exception leaves a call
 * that allocscope sampled). The operators are called directly: a
 * new-expression whose result is unused may be elided.
 *
 * usage: throw_new [--wait-fd N]
 * prints "caught C nullptr N allocated A" and exits with status 7.
 *        throw_new --throws N
 * throws and catches N exceptions through 3 frames, for the benchmark
 * (what the probes on the unwinders cost), and prints "X ns/throw".
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <time.h>
#include <unistd.h>

enum { N_OK = 1000, OK_SIZE = 1000 };

static void *volatile sink;

template <typename F> static int throws(F f)
{
	try {
		sink = f();
	} catch (const std::bad_alloc &) {
		return 1;
	}
	return 0;
}

static int fail_all(size_t n, int *nulls)
{
	const std::align_val_t al{64};
	int caught = 0;

	caught += throws([n] { return ::operator new(n); });
	caught += throws([n] { return ::operator new[](n); });
	caught += throws([n, al] { return ::operator new(n, al); });
	caught += throws([n, al] { return ::operator new[](n, al); });
	*nulls += !::operator new(n, std::nothrow);
	*nulls += !::operator new[](n, std::nothrow);
	*nulls += !::operator new(n, al, std::nothrow);
	*nulls += !::operator new[](n, al, std::nothrow);
	return caught;
}

__attribute__((noinline)) static void thrower(int i)
{
	if (i >= 0)
		throw std::runtime_error("benchmark");
}

__attribute__((noinline)) static void middle(int i)
{
	thrower(i);
	__asm__ volatile("" : : : "memory");	/* not a tail call: a frame of its own */
}

static int throw_loop(long n)
{
	struct timespec a, b;
	long i, caught = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		try {
			middle((int)i);
		} catch (const std::runtime_error &) {
			caught++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f ns/throw (%ld caught)\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, caught);
	return 0;
}

int main(int argc, char **argv)
{
	static void *ok[N_OK];
	int caught = 0, nulls = 0, i;
	char c;

	if (argc == 3 && !strcmp(argv[1], "--throws"))
		return throw_loop(atol(argv[2]) > 0 ? atol(argv[2]) : 1);
	if (argc == 3 && !strcmp(argv[1], "--wait-fd") && read(atoi(argv[2]), &c, 1) != 1)
		return 2;
	caught += fail_all(~0ULL >> 4, &nulls);
	caught += fail_all(0x7ff000000000ULL, &nulls);
	for (i = 0; i < N_OK; i++)
		ok[i] = ::operator new(OK_SIZE);
	for (i = 0; i < N_OK; i++)
		::operator delete(ok[i]);
	printf("caught %d nullptr %d allocated %d\n", caught, nulls, N_OK);
	return 7;
}
