// SPDX-License-Identifier: GPL-2.0-only
/*
 * drip - a light, steady allocator for tests that need a live target: a
 * block of 4 to 8 KiB every millisecond, for ever.
 *   drip
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __attribute__((noinline)) void drip_site(size_t n)
{
	char *p = malloc(n);

	if (p)
		memset(p, 1, 64);
	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

int main(void)
{
	long i;

	for (i = 0;; i++) {
		drip_site(4096 + (i * 7919 & 4095));
		usleep(1000);
	}
}
