// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86.c - just enough of an x86-64 decoder to place a uprobe: which
 * instructions the kernel emulates, and which may be skipped to reach one.
 */
#include "x86.h"

/*
 * Instructions arch/x86/kernel/uprobes.c emulates instead of stepping out
 * of line: push reg (REX prefix 0x41 only), jmp, call rel32, jcc, nop
 * (push emulation since e7ed9d9bd0375, Linux 4.15).
 */
bool x86__emulated(const __u8 *c, size_t n)
{
	if (n >= 1 && ((c[0] >= 0x50 && c[0] <= 0x57) || c[0] == 0x90 || c[0] == 0xe8 ||
		       c[0] == 0xe9 || c[0] == 0xeb || (c[0] >= 0x70 && c[0] <= 0x7f)))
		return true;
	if (n >= 2 && c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57)
		return true;
	if (n >= 2 && c[0] == 0x0f && c[1] >= 0x80 && c[1] <= 0x8f)
		return true;
	return false;
}

/* Bytes of a ModRM operand (ModRM, SIB, displacement), or -1. */
static int modrm_len(const __u8 *c, size_t n)
{
	int mod = c[0] >> 6, rm = c[0] & 7;

	if (mod == 3)
		return 1;
	if (rm == 4) {		/* SIB */
		if (n < 2)
			return -1;
		if (mod == 0)
			return (c[1] & 7) == 5 ? 6 : 2;
		return mod == 1 ? 3 : 6;
	}
	if (mod == 0)
		return rm == 5 ? 5 : 1;	/* rip + disp32, or (reg) */
	return mod == 1 ? 2 : 5;
}

/* How an opcode's operands are used: what it writes, what immediate follows. */
enum op_write { W_NONE, W_RM, W_REG, W_RM_UNLESS_CMP, W_RAX };

struct op {
	__u8 opcode;
	__u8 write;
	__u8 imm;		/* bytes of immediate */
	bool modrm;
	bool lenient;		/* for free only: see x86__placement() */
};

static const struct op ops[] = {
	{ 0x84, W_NONE, 0, true, false },	/* test r/m8, r8 */
	{ 0x85, W_NONE, 0, true, false },	/* test r/m, r */
	{ 0x38, W_NONE, 0, true, false },	/* cmp */
	{ 0x39, W_NONE, 0, true, false },
	{ 0x3a, W_NONE, 0, true, false },
	{ 0x3b, W_NONE, 0, true, false },
	{ 0x80, W_RM_UNLESS_CMP, 1, true, false },	/* group 1, imm8 */
	{ 0x81, W_RM_UNLESS_CMP, 4, true, false },	/* group 1, imm32 */
	{ 0x83, W_RM_UNLESS_CMP, 1, true, false },	/* group 1, imm8 sign-extended */
	{ 0x89, W_RM, 0, true, false },			/* mov r/m, r */
	{ 0x31, W_RM, 0, true, false },			/* xor */
	{ 0x8b, W_REG, 0, true, false },		/* mov r, r/m */
	{ 0x33, W_REG, 0, true, false },		/* xor */
	{ 0xc1, W_RM, 1, true, true },			/* shifts by imm8 */
	{ 0x01, W_RM, 0, true, true },			/* add r/m, r */
	{ 0x09, W_RM, 0, true, true },			/* or */
	{ 0x21, W_RM, 0, true, true },			/* and */
	{ 0x29, W_RM, 0, true, true },			/* sub */
	{ 0x03, W_REG, 0, true, true },			/* add r, r/m */
	{ 0x0b, W_REG, 0, true, true },			/* or */
	{ 0x23, W_REG, 0, true, true },			/* and */
	{ 0x2b, W_REG, 0, true, true },			/* sub */
	{ 0x8d, W_REG, 0, true, true },			/* lea */
	{ 0x25, W_RAX, 4, false, true },		/* and eax, imm32 */
};

/* Register operands and rip-relative loads: what strict placement accepts. */
static bool strict_modrm(__u8 modrm)
{
	return (modrm >> 6) == 3 || ((modrm >> 6) == 0 && (modrm & 7) == 5);
}

/*
 * Length of an instruction that may be skipped: it falls through, and
 * writes neither the stack pointer nor a register in protect (memory it
 * may write: the probe reads registers only). -1 for anything else.
 */
static int skippable_len(const __u8 *c, size_t n, unsigned int protect, bool lenient)
{
	size_t pre = 0, i;
	int rex = 0, m, dst;

	if (n >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		return 4;	/* endbr64 */
	if (lenient && pre < n && (c[pre] == 0x64 || c[pre] == 0x65))
		pre++;		/* fs:, gs: (thread-local loads) */
	if (pre < n && (c[pre] & 0xf0) == 0x40)
		rex = c[pre++];
	if (pre + 1 >= n)
		return -1;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]) && ops[i].opcode != c[pre]; i++)
		;
	if (i == sizeof(ops) / sizeof(ops[0]) || (ops[i].lenient && !lenient))
		return -1;
	if (ops[i].modrm && !lenient && !strict_modrm(c[pre + 1]))
		return -1;
	m = ops[i].modrm ? modrm_len(c + pre + 1, n - pre - 1) : 0;
	if (m < 0 || (c[pre] == 0x8d && (c[pre + 1] >> 6) == 3))
		return -1;
	switch (ops[i].write) {
	case W_RM_UNLESS_CMP:
		if (((c[pre + 1] >> 3) & 7) == 7)
			break;
		/* fall through */
	case W_RM:
		dst = (c[pre + 1] >> 6) == 3 ? (c[pre + 1] & 7) | ((rex & 1) << 3) : -1;
		if (dst >= 0 && (protect & X86_REG(dst)))
			return -1;
		break;
	case W_REG:
		dst = ((c[pre + 1] >> 3) & 7) | ((rex & 4) << 1);
		if (protect & X86_REG(dst))
			return -1;
		break;
	case W_RAX:
		if (protect & X86_REG(X86_RAX))
			return -1;
		break;
	}
	return pre + 1 + m + ops[i].imm;
}

/*
 * Bytes to skip from code so that the probe lands on an instruction the
 * kernel emulates, or 0. lenient: a longer window of arithmetic and
 * thread-local loads (see attach__placement_for() for when that is safe).
 */
int x86__placement(const __u8 *code, size_t len, unsigned int protect, bool lenient)
{
	int step, l, max_steps = lenient ? 12 : 4;
	size_t off = 0;

	for (step = 0; step < max_steps && off < len; step++) {
		if (x86__emulated(code + off, len - off))
			return off;
		l = skippable_len(code + off, len - off, protect, lenient);
		if (l < 0)
			return 0;
		off += l;
	}
	return 0;
}
