/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86.h - the part of x86-64 decoding that probe placement needs.
 */
#ifndef AS_X86_H
#define AS_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* x86-64 register numbers, as in ModRM, and masks of them. */
enum x86_reg { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI };
#define X86_REG(r) (1U << (r))

/* True if the kernel emulates the instruction at code (no single-step). */
bool x86__emulated(const __u8 *code, size_t len);

/*
 * How many bytes to skip so that a probe lands on the first instruction
 * the kernel emulates (push, jmp, jcc, call, nop), or 0 when the entry
 * itself is emulated or nothing safe can be skipped. Skipped instructions
 * fall through and write neither the stack pointer nor a register in
 * protect (an X86_REG() mask); lenient allows more of them, and
 * arithmetic, for a probe that tolerates firing twice.
 */
int x86__placement(const __u8 *code, size_t len, unsigned int protect, bool lenient);

#endif /* AS_X86_H */
