/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unwinder.h - a user stack from a register set and a copy of the stack,
 * through the DWARF call frame information of the files mapped there.
 *
 * Debian builds glibc, libstdc++ and most programs without frame pointers,
 * so the kernel's frame-pointer walk skips or invents callers; .eh_frame,
 * which even stripped files keep, describes every frame instead. The
 * kernel side copies the registers and the top of the stack at the return
 * of a sampled allocator call, and the stack is unwound here, as perf
 * --call-graph dwarf does.
 *
 * CFI is parsed by libdw once per ELF file (elf_file__eh_cfi()), shared by
 * every process through the ELF cache; the rules it gives are evaluated
 * here against the stack copy alone, never the live process.
 *
 * Not thread-safe: one unwinder per thread, and the ELF cache is not
 * thread-safe either.
 */
#ifndef AS_UNWINDER_H
#define AS_UNWINDER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <elfutils/libdw.h>

struct addr_space;
struct unwinder;

/*
 * The registers an unwind starts from. At the return of a call the
 * caller-saved ones are clobbered; these are the caller's own: ip is the
 * return address (inside the caller), sp is after the return.
 */
struct unwind_regs {
	__u64 ip, sp, bp, bx, r12, r13, r14, r15;
};

/* Why an unwind stopped. */
enum unwind_stop {
	UNWIND_STOP_END,	/* the outermost frame: CFI leaves its return address undefined, or it is 0 */
	UNWIND_STOP_MAX,	/* pcs was full */
	UNWIND_STOP_STACK,	/* a read fell outside the stack copy */
	UNWIND_STOP_UNMAPPED,	/* a pc outside every executable mapping */
	UNWIND_STOP_NO_CFI,	/* no CFI for a pc, and no frame pointer into the copy */
	UNWIND_STOP_BAD_CFI,	/* a rule we cannot evaluate, or one needing a register we lost */
	UNWIND_STOP_LOOP,	/* the stack pointer did not move up */
	UNWIND_STOP_NR
};

/* A short name for a reason ("end", "max", "stack", ...). */
const char *unwind_stop__str(int reason);

struct unwinder_stats {
	__u64 unwinds;
	__u64 frames;			/* caller frames found (pcs[0] is not one) */
	__u64 fp_frames;		/* ... of them by the frame-pointer rule */
	__u64 signal_frames;		/* ... of them interrupted by a signal */
	__u64 stops[UNWIND_STOP_NR];
};

/* NULL and errno on failure. */
struct unwinder *unwinder__new(void);
void unwinder__free(struct unwinder *u);	/* NULL is fine */

/*
 * Unwinds from regs through the stack copy (stack[0] is the byte at
 * regs->sp, len bytes), with the CFI of the ELF files in as. Writes up to
 * max pcs: pcs[0] = regs->ip, then one per caller frame, each a return
 * address, as the kernel's stacks are (symbolize pc - 1). A frame a signal
 * interrupted has an exact pc, not a return address: it is written as
 * pc + 1 so that pc - 1 still lands in its instruction; so is the signal
 * trampoline (glibc's __restore_rt), which a handler "returns" to at its
 * first byte, and which would otherwise look like the function before it.
 *
 * CFI is looked up at pc - 1 for every frame, the first included: regs->ip
 * is a return address too. A frame without any CFI (JIT code, hand-written
 * assembly) falls back to the frame-pointer rule if rbp points into the
 * copy. Signal frames (CIE augmentation 'S', as glibc's __restore_rt has)
 * restore every register from the saved context when the copy holds it.
 *
 * Returns the number of pcs written (>= 1), or -EINVAL if max < 1; the
 * reason it stopped (enum unwind_stop) goes to *reason if not NULL.
 * Allocates nothing of its own; libdw allocates a frame per lookup.
 */
int unwinder__unwind(struct unwinder *u, struct addr_space *as, const struct unwind_regs *regs,
		     const void *stack, size_t len, __u64 *pcs, int max, int *reason);

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *st);

/*
 * Internal, for the fuzz target of the evaluator (tests/fuzz/fuzz_cfi.c): evaluates the
 * DWARF expression ops as a CFI rule would be, against registers regs (DWARF numbering,
 * rax to r15 then the return address; valid has bit N for each one known), a stack copy
 * of len bytes whose first is at base, and the CFA if cfa is not NULL. Returns 0 with the
 * result in *out (an address to load from, or a value if *is_value), or -EINVAL (a rule
 * it cannot evaluate), -ENODATA (a register not known), -EFAULT (a read outside the copy).
 */
#define UNWIND_NR_REGS	17
int unwinder_eval(const Dwarf_Op *ops, size_t nops, const __u64 *regs, __u32 valid,
		  const void *stack, __u64 base, size_t len, const __u64 *cfa, __u64 *out,
		  bool *is_value);

#endif /* AS_UNWINDER_H */
