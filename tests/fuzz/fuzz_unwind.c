// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_unwind.c - the unwinder's CFI evaluation over a fuzzed stack copy
 * and registers, with the CFI of the real files this process maps (its
 * own code, libc, ...): the input is what the kernel side would copy.
 *
 * Input: 8 registers (ip, sp, bp, bx, r12-r15, 8 bytes each, as struct
 * unwind_regs), one byte for the number of pcs wanted, then the stack. The
 * addresses of this process move with ASLR, so the input speaks of them
 * relative to what it can know: a word 0xC0DE_MM_OOOOOOOOOO is offset O
 * into executable mapping MM, 0x57AC_OOOOOOOOOOOO is offset O into the
 * stack copy; other words are taken as they are. sp is always the start
 * of the copy.
 *
 * FUZZ_UNWIND_SEED=DIR makes the target write seeds there, taken from its
 * own stack (here, and inside libc's qsort calling back), and exit.
 */
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "fuzz.h"
#include "symbolizer.h"
#include "unwinder.h"

#define STACK_BASE	0x7ffc00000000ULL
#define MAX_STACK	16384
#define MAX_PCS		64
#define TAG_CODE	0xC0DEULL
#define TAG_STACK	0x57ACULL
#define LOW(v, bits)	((v) & ((1ULL << (bits)) - 1))

static struct symbolizer *sym;
static struct addr_space *as;
static struct unwinder *uw;
static int nr_maps;

static __u64 relocate(__u64 v)
{
	struct sym_mapping m;

	if (v >> 48 == TAG_STACK)
		return STACK_BASE + LOW(v, 48);
	if (v >> 48 != TAG_CODE || !nr_maps)
		return v;
	addr_space__mapping(as, LOW(v >> 40, 8) % nr_maps, &m);
	return m.start + LOW(v, 40) % (m.end - m.start);
}

/* The inverse, for seeds: an address of ours as the input spells it. */
static __u64 tag(__u64 v, __u64 sp, size_t len)
{
	struct sym_mapping m;

	if (v >= sp && v < sp + len)
		return TAG_STACK << 48 | (v - sp);
	for (int i = 0; i < nr_maps; i++) {
		addr_space__mapping(as, i, &m);
		if (v >= m.start && v < m.end)
			return TAG_CODE << 48 | (__u64)i << 40 | (v - m.start);
	}
	return v;
}

/* The raw stack, redzones included: ASan would call reading them a bug. */
__attribute__((no_sanitize("address")))
static __u64 stack_word(__u64 addr)
{
	return *(const volatile __u64 *)addr;
}

static void write_seed(const char *name, const ucontext_t *uc)
{
	static const int order[] = { REG_RIP, REG_RSP, REG_RBP, REG_RBX, REG_R12, REG_R13,
				     REG_R14, REG_R15 };
	const greg_t *g = uc->uc_mcontext.gregs;
	__u64 sp = g[REG_RSP], w;
	size_t len = 4096;
	char path[4096];
	unsigned char max = MAX_PCS;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", getenv("FUZZ_UNWIND_SEED"), name);
	f = fopen(path, "w");
	FUZZ_CHECK(f);
	for (int i = 0; i < 8; i++) {
		w = tag(g[order[i]], sp, len);
		fwrite(&w, 8, 1, f);
	}
	fwrite(&max, 1, 1, f);
	for (size_t off = 0; off < len; off += 8) {
		w = tag(stack_word(sp + off), sp, len);
		fwrite(&w, 8, 1, f);
	}
	FUZZ_CHECK(!fclose(f));
}

static int seed_in_qsort(const void *a, const void *b)
{
	static bool done;
	ucontext_t uc;

	if (!done) {
		done = true;
		getcontext(&uc);
		write_seed("in-qsort", &uc);
	}
	return *(const int *)a - *(const int *)b;
}

static void seeds(void)
{
	int v[] = { 3, 1, 2 };
	ucontext_t uc;

	getcontext(&uc);
	write_seed("fuzzer-init", &uc);
	qsort(v, 3, sizeof(v[0]), seed_in_qsort);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	sym = symbolizer__new(256 << 20);
	uw = unwinder__new();
	if (!sym || !uw || symbolizer__snapshot(sym, getpid(), &as))
		abort();
	nr_maps = addr_space__nr_mappings(as);
	if (getenv("FUZZ_UNWIND_SEED"))
		seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u64 stack[MAX_STACK / 8];
	struct unwind_regs r;
	__u64 w[8], pcs[MAX_PCS];
	size_t len;
	int max, n, reason = -1;

	if (size < sizeof(w) + 1)
		return 0;
	memcpy(w, data, sizeof(w));
	r = (struct unwind_regs){ relocate(w[0]), STACK_BASE, relocate(w[2]), relocate(w[3]),
				  relocate(w[4]), relocate(w[5]), relocate(w[6]), relocate(w[7]) };
	max = data[sizeof(w)] % MAX_PCS + 1;
	data += sizeof(w) + 1;
	size -= sizeof(w) + 1;
	len = size < MAX_STACK ? size : MAX_STACK;
	memcpy(stack, data, len);
	for (size_t i = 0; i < len / 8; i++)
		stack[i] = relocate(stack[i]);
	n = unwinder__unwind(uw, as, &r, stack, len, pcs, max, &reason);
	FUZZ_CHECK(n >= 1 && n <= max);
	FUZZ_CHECK(pcs[0] == r.ip);
	FUZZ_CHECK(reason >= 0 && reason < UNWIND_STOP_NR);
	FUZZ_CHECK(reason != UNWIND_STOP_MAX || n == max);
	return 0;
}
