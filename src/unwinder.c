// SPDX-License-Identifier: GPL-2.0-only
/*
 * unwinder.c - DWARF CFI unwinding of a copied x86-64 user stack.
 *
 * libdw finds the FDE of a pc and runs its CFA program; what it hands back
 * are DWARF expressions: DW_OP_bregx for the usual "CFA = rsp + 16",
 * DW_OP_call_frame_cfa + DW_OP_plus_uconst for "saved at CFA - 16", and
 * whole expressions for PLT stubs and signal frames. They are evaluated
 * here, every memory read confined to the stack copy: the process may be
 * gone, and its stack has moved on anyway.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "elffile.h"
#include "symbolizer.h"
#include "unwinder.h"

/* DWARF register numbers of x86-64 (System V psABI, "DWARF Register Number Mapping"). */
enum {
	REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
	REG_RA,		/* the return address column, rip */
	NR_REGS
};
_Static_assert(NR_REGS == UNWIND_NR_REGS, "unwinder.h's count of DWARF registers");

#define BIT(r)		(1u << (r))
/*
 * What a call preserves: rbx, rbp, r12-r15, and rsp and rip by the CFA and
 * the return address. The rest is clobbered in every caller except one a
 * signal interrupted, whose saved context gives them all.
 */
#define CALL_REGS	(BIT(REG_RBX) | BIT(REG_RBP) | BIT(REG_RSP) | BIT(REG_R12) | \
			 BIT(REG_R13) | BIT(REG_R14) | BIT(REG_R15) | BIT(REG_RA))
#define ALL_REGS	(BIT(NR_REGS) - 1)
#define EVAL_DEPTH	16	/* deeper than any CFI expression compilers emit */
#define EVAL_STEPS	64	/* bounds loops through DW_OP_skip and DW_OP_bra */
#define NO_OFFSET	((Dwarf_Word)-1)	/* the DW_OP_call_frame_cfa libdw prepends */

struct unwinder {
	struct unwinder_stats stats;
};

struct frame_state {
	__u64 regs[NR_REGS];
	__u32 valid;		/* BIT(reg) for each register known */
};

struct stack_copy {
	const unsigned char *data;
	__u64 base;		/* the address of data[0] */
	size_t len;
};

/* An expression being evaluated against one frame. */
struct eval {
	const struct frame_state *fs;
	const struct stack_copy *st;
	__u64 cfa;
	bool have_cfa;		/* only rules for registers may use the CFA */
	bool is_value;		/* DW_OP_stack_value: the result is not an address */
	__u64 stack[EVAL_DEPTH];
	int depth;
};

/* Where an unwind stands: the frame whose caller comes next. */
struct cursor {
	struct frame_state fs;
	bool exact;		/* pc is exact (a signal interrupted it), not a return address */
	bool left_trampoline;	/* the last step left a signal trampoline's frame */
	struct elf_file *ef;	/* the file and link-time address of pc's instruction */
	__u64 vaddr;
	int located;		/* addr_space__locate() for it: 0, -ENOENT or -ENODATA */
};

static const char *const stop_names[UNWIND_STOP_NR] = {
	[UNWIND_STOP_END] = "end",
	[UNWIND_STOP_MAX] = "max",
	[UNWIND_STOP_STACK] = "stack",
	[UNWIND_STOP_UNMAPPED] = "unmapped",
	[UNWIND_STOP_NO_CFI] = "no-cfi",
	[UNWIND_STOP_BAD_CFI] = "bad-cfi",
	[UNWIND_STOP_LOOP] = "loop",
};

const char *unwind_stop__str(int reason)
{
	if (reason < 0 || reason >= UNWIND_STOP_NR)
		return "?";
	return stop_names[reason];
}

struct unwinder *unwinder__new(void)
{
	return calloc(1, sizeof(struct unwinder));
}

void unwinder__free(struct unwinder *u)
{
	free(u);
}

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *st)
{
	*st = u->stats;
}

/* Memory of the process, as far as the copy goes. Little-endian, as x86 is. */
static bool stack_read(const struct stack_copy *st, __u64 addr, size_t size, __u64 *val)
{
	__u64 off = addr - st->base;

	*val = 0;
	if (addr < st->base || off > st->len || st->len - off < size)
		return false;
	memcpy(val, st->data + off, size);
	return true;
}

static int reg_get(const struct frame_state *fs, __u64 reg, __u64 *val)
{
	if (reg >= NR_REGS || !(fs->valid & BIT(reg)))
		return -ENODATA;
	*val = fs->regs[reg];
	return 0;
}

static int push(struct eval *e, __u64 v)
{
	if (e->depth >= EVAL_DEPTH)
		return -EINVAL;
	e->stack[e->depth++] = v;
	return 0;
}

/* a is the second entry, b the top: "a - b", "a >= b" as DWARF says. */
static int binop(unsigned int atom, __u64 a, __u64 b, __u64 *r)
{
	__s64 sa = a, sb = b;

	switch (atom) {
	case DW_OP_and: *r = a & b; break;
	case DW_OP_or: *r = a | b; break;
	case DW_OP_xor: *r = a ^ b; break;
	case DW_OP_plus: *r = a + b; break;
	case DW_OP_minus: *r = a - b; break;
	case DW_OP_mul: *r = a * b; break;
	case DW_OP_div:
		if (!b || (sb == -1 && sa == INT64_MIN))
			return -EINVAL;
		*r = sa / sb;
		break;
	case DW_OP_mod:
		if (!b)
			return -EINVAL;
		*r = a % b;
		break;
	case DW_OP_shl: *r = b < 64 ? a << b : 0; break;
	case DW_OP_shr: *r = b < 64 ? a >> b : 0; break;
	case DW_OP_shra: *r = sa >> (b < 64 ? b : 63); break;
	case DW_OP_eq: *r = a == b; break;
	case DW_OP_ne: *r = a != b; break;
	case DW_OP_lt: *r = sa < sb; break;
	case DW_OP_le: *r = sa <= sb; break;
	case DW_OP_gt: *r = sa > sb; break;
	case DW_OP_ge: *r = sa >= sb; break;
	default: return -EINVAL;
	}
	return 0;
}

/* Operations on the top one or two entries. */
static int eval_stack_op(struct eval *e, const Dwarf_Op *op)
{
	__u64 *s = e->stack, t;
	int d = e->depth;

	switch (op->atom) {
	case DW_OP_dup:
		return d < 1 ? -EINVAL : push(e, s[d - 1]);
	case DW_OP_over:
		return d < 2 ? -EINVAL : push(e, s[d - 2]);
	case DW_OP_pick:
		return op->number >= (__u64)d ? -EINVAL : push(e, s[d - 1 - op->number]);
	case DW_OP_drop:
		if (d < 1)
			return -EINVAL;
		e->depth--;
		return 0;
	case DW_OP_swap:
		if (d < 2)
			return -EINVAL;
		t = s[d - 1];
		s[d - 1] = s[d - 2];
		s[d - 2] = t;
		return 0;
	case DW_OP_rot:
		if (d < 3)
			return -EINVAL;
		t = s[d - 1];
		s[d - 1] = s[d - 2];
		s[d - 2] = s[d - 3];
		s[d - 3] = t;
		return 0;
	}
	return -EINVAL;
}

static int eval_unop(struct eval *e, const Dwarf_Op *op)
{
	__u64 *top;

	if (e->depth < 1)
		return -EINVAL;
	top = &e->stack[e->depth - 1];
	switch (op->atom) {
	case DW_OP_deref:
		return stack_read(e->st, *top, 8, top) ? 0 : -EFAULT;
	case DW_OP_deref_size:
		if (op->number < 1 || op->number > 8)
			return -EINVAL;
		return stack_read(e->st, *top, op->number, top) ? 0 : -EFAULT;
	case DW_OP_plus_uconst:
		*top += op->number;
		return 0;
	case DW_OP_abs:
		*top = (__s64)*top < 0 ? -*top : *top;
		return 0;
	case DW_OP_neg:
		*top = -*top;
		return 0;
	case DW_OP_not:
		*top = ~*top;
		return 0;
	}
	return -EINVAL;
}

/* One operation that is not a branch. */
static int eval_op(struct eval *e, const Dwarf_Op *op)
{
	unsigned int a = op->atom;
	__u64 v;
	int err;

	if (a >= DW_OP_lit0 && a <= DW_OP_lit31)
		return push(e, a - DW_OP_lit0);
	if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
		err = reg_get(e->fs, a - DW_OP_breg0, &v);
		return err ?: push(e, v + op->number);
	}
	switch (a) {
	case DW_OP_bregx:
		err = reg_get(e->fs, op->number, &v);
		return err ?: push(e, v + op->number2);
	/* libdw has sign-extended the signed constants already. */
	case DW_OP_const1u: case DW_OP_const1s: case DW_OP_const2u: case DW_OP_const2s:
	case DW_OP_const4u: case DW_OP_const4s: case DW_OP_const8u: case DW_OP_const8s:
	case DW_OP_constu: case DW_OP_consts:
		return push(e, op->number);
	case DW_OP_call_frame_cfa:
		return e->have_cfa ? push(e, e->cfa) : -EINVAL;
	case DW_OP_stack_value:
		e->is_value = true;
		return 0;
	case DW_OP_nop:
		return 0;
	case DW_OP_deref: case DW_OP_deref_size: case DW_OP_plus_uconst:
	case DW_OP_abs: case DW_OP_neg: case DW_OP_not:
		return eval_unop(e, op);
	case DW_OP_dup: case DW_OP_over: case DW_OP_pick: case DW_OP_drop:
	case DW_OP_swap: case DW_OP_rot:
		return eval_stack_op(e, op);
	}
	if (e->depth < 2)
		return -EINVAL;
	err = binop(a, e->stack[e->depth - 2], e->stack[e->depth - 1], &v);
	if (!err)
		e->stack[--e->depth - 1] = v;
	return err;
}

/* The index of the op at byte offset target; nops when it is the end. */
static size_t branch_target(const Dwarf_Op *ops, size_t nops, const Dwarf_Op *op)
{
	Dwarf_Word target = op->offset + 3 + op->number;
	size_t i;

	for (i = 0; i < nops; i++)
		if (ops[i].offset == target)
			return i;
	return nops;
}

/*
 * Evaluates ops. The result is an address to load from, or a value if
 * e->is_value says so. A lone DW_OP_regN / DW_OP_regx ("in register N")
 * yields that register's value.
 */
static int eval(struct eval *e, const Dwarf_Op *ops, size_t nops, __u64 *out)
{
	size_t i = 0;
	int err, steps = 0;
	__u64 cond;

	e->depth = 0;
	e->is_value = false;
	if (nops == 1 && (ops[0].atom == DW_OP_regx ||
			  (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31))) {
		e->is_value = true;
		return reg_get(e->fs, ops[0].atom == DW_OP_regx ? ops[0].number :
			       (Dwarf_Word)(ops[0].atom - DW_OP_reg0), out);
	}
	while (i < nops) {
		if (++steps > EVAL_STEPS)
			return -EINVAL;
		if (ops[i].atom == DW_OP_skip || ops[i].atom == DW_OP_bra) {
			if (ops[i].offset == NO_OFFSET)
				return -EINVAL;
			cond = 1;
			if (ops[i].atom == DW_OP_bra) {
				if (e->depth < 1)
					return -EINVAL;
				cond = e->stack[--e->depth];
			}
			i = cond ? branch_target(ops, nops, &ops[i]) : i + 1;
			continue;
		}
		err = eval_op(e, &ops[i++]);
		if (err)
			return err;
	}
	if (!e->depth)
		return -EINVAL;
	*out = e->stack[e->depth - 1];
	return 0;
}

int unwinder_eval(const Dwarf_Op *ops, size_t nops, const __u64 *regs, __u32 valid,
		  const void *stack, __u64 base, size_t len, const __u64 *cfa, __u64 *out,
		  bool *is_value)
{
	struct frame_state fs = { .valid = valid };
	struct stack_copy st = { .data = stack, .base = base, .len = len };
	struct eval e = { .fs = &fs, .st = &st, .cfa = cfa ? *cfa : 0, .have_cfa = cfa };
	int err;

	memcpy(fs.regs, regs, sizeof(fs.regs));
	err = eval(&e, ops, nops, out);
	*is_value = e.is_value;
	return err;
}

/* What an error of eval() ends an unwind with. */
static int eval_stop(int err)
{
	return err == -EFAULT ? UNWIND_STOP_STACK : UNWIND_STOP_BAD_CFI;
}

/*
 * The caller's value of reg under frame's rule. A register whose rule
 * fails (its slot outside the copy, say) is merely unknown in the caller:
 * only a frame that needs it later has to stop.
 */
static int caller_reg(Dwarf_Frame *frame, struct eval *e, int reg, __u64 *val)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	__u64 v;
	int err;

	if (dwarf_frame_register(frame, reg, mem, &ops, &nops))
		return -EINVAL;
	if (!nops) {	/* ops == mem: undefined; NULL: same value */
		if (ops)
			return -ENOENT;
		/* A frame cannot return to itself (libdw's ABI default for rip). */
		return reg == REG_RA ? -EINVAL : reg_get(e->fs, reg, val);
	}
	err = eval(e, ops, nops, &v);
	if (err)
		return err;
	if (!e->is_value && !stack_read(e->st, v, 8, &v))
		return -EFAULT;
	*val = v;
	return 0;
}

/* One step by CFI: next is the caller's state; returns a stop reason or -1 to go on. */
static int step_cfi(Dwarf_Frame *frame, const struct frame_state *cur, struct frame_state *next,
		    const struct stack_copy *st, bool *signal)
{
	struct eval e = { .fs = cur, .st = st };
	Dwarf_Op *ops;
	size_t nops;
	__u32 wanted;
	int ra, reg, err;

	ra = dwarf_frame_info(frame, NULL, NULL, signal);
	if (ra != REG_RA || dwarf_frame_cfa(frame, &ops, &nops) || !nops)
		return UNWIND_STOP_BAD_CFI;
	err = eval(&e, ops, nops, &e.cfa);
	if (err)
		return eval_stop(err);
	e.have_cfa = true;
	next->valid = 0;
	wanted = *signal ? ALL_REGS : CALL_REGS;
	for (reg = 0; reg < NR_REGS; reg++) {
		if (!(wanted & BIT(reg)))
			continue;
		err = caller_reg(frame, &e, reg, &next->regs[reg]);
		if (!err)
			next->valid |= BIT(reg);
		else if (reg == REG_RA)
			return err == -ENOENT ? UNWIND_STOP_END : eval_stop(err);
	}
	/* The CFA is by definition the caller's sp, unless a rule says otherwise. */
	if (!(next->valid & BIT(REG_RSP))) {
		next->regs[REG_RSP] = e.cfa;
		next->valid |= BIT(REG_RSP);
	}
	return -1;
}

/*
 * The frame-pointer rule, for code without CFI: push %rbp; mov %rsp,%rbp.
 * The callee-saved registers other than rbp are lost: nothing says where
 * such a frame kept them.
 */
static int step_fp(const struct frame_state *cur, struct frame_state *next,
		   const struct stack_copy *st)
{
	__u64 bp = cur->regs[REG_RBP];

	if (!(cur->valid & BIT(REG_RBP)) || bp < cur->regs[REG_RSP] || (bp & 7) ||
	    !stack_read(st, bp, 8, &next->regs[REG_RBP]) ||
	    !stack_read(st, bp + 8, 8, &next->regs[REG_RA]))
		return UNWIND_STOP_NO_CFI;
	next->regs[REG_RSP] = bp + 16;
	next->valid = BIT(REG_RBP) | BIT(REG_RA) | BIT(REG_RSP);
	return -1;
}

/* The FDE's row for vaddr, from .eh_frame or else .debug_frame; NULL if neither has one. */
static Dwarf_Frame *find_frame(struct elf_file *ef, __u64 vaddr)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_CFI *cfi;

	cfi = elf_file__eh_cfi(ef);
	if (cfi && !dwarf_cfi_addrframe(cfi, vaddr, &frame))
		return frame;
	cfi = elf_file__debug_cfi(ef);
	if (cfi && !dwarf_cfi_addrframe(cfi, vaddr, &frame))
		return frame;
	return NULL;
}

static void cursor_locate(struct cursor *c, struct addr_space *as)
{
	__u64 pc = c->fs.regs[REG_RA];

	/* A return address is one past its call, which may end the function. */
	c->located = addr_space__locate(as, c->exact ? pc : pc - 1, &c->ef, &c->vaddr);
}

/* Moves c to its caller; returns a stop reason, or -1 when there is a caller. */
static int cursor_step(struct unwinder *u, struct cursor *c, struct addr_space *as,
		       const struct stack_copy *st)
{
	struct frame_state next;
	Dwarf_Frame *frame;
	bool signal = false, by_fp;
	int stop;

	if (c->located == -ENOENT)
		return UNWIND_STOP_UNMAPPED;
	frame = c->located ? NULL : find_frame(c->ef, c->vaddr);
	by_fp = !frame;
	if (frame) {
		stop = step_cfi(frame, &c->fs, &next, st, &signal);
		free(frame);
	} else {
		stop = step_fp(&c->fs, &next, st);
	}
	if (stop >= 0)
		return stop;
	if (!next.regs[REG_RA])
		return UNWIND_STOP_END;
	/* Each caller's frame lies above its callee's, except across a signal (sigaltstack). */
	if (!signal && next.regs[REG_RSP] <= c->fs.regs[REG_RSP])
		return UNWIND_STOP_LOOP;
	c->fs = next;
	c->exact = signal;
	c->left_trampoline = signal;
	cursor_locate(c, as);
	if (c->located == -ENOENT)
		return UNWIND_STOP_UNMAPPED;
	u->stats.fp_frames += by_fp;
	u->stats.signal_frames += signal;
	return -1;
}

static void cursor_init(struct cursor *c, struct addr_space *as, const struct unwind_regs *r)
{
	struct frame_state *fs = &c->fs;

	memset(c, 0, sizeof(*c));
	fs->regs[REG_RA] = r->ip;
	fs->regs[REG_RSP] = r->sp;
	fs->regs[REG_RBP] = r->bp;
	fs->regs[REG_RBX] = r->bx;
	fs->regs[REG_R12] = r->r12;
	fs->regs[REG_R13] = r->r13;
	fs->regs[REG_R14] = r->r14;
	fs->regs[REG_R15] = r->r15;
	fs->valid = BIT(REG_RA) | BIT(REG_RSP) | BIT(REG_RBP) | BIT(REG_RBX) | BIT(REG_R12) |
		    BIT(REG_R13) | BIT(REG_R14) | BIT(REG_R15);
	cursor_locate(c, as);
}

int unwinder__unwind(struct unwinder *u, struct addr_space *as, const struct unwind_regs *regs,
		     const void *stack, size_t len, __u64 *pcs, int max, int *reason)
{
	struct stack_copy st = { .data = stack, .base = regs->sp, .len = stack ? len : 0 };
	struct cursor c;
	int n = 0, stop;

	if (max < 1)
		return -EINVAL;
	cursor_init(&c, as, regs);
	pcs[n++] = regs->ip;
	for (;;) {
		if (n >= max) {
			stop = UNWIND_STOP_MAX;
			break;
		}
		stop = cursor_step(u, &c, as, &st);
		if (stop >= 0)
			break;
		/*
		 * A handler "returns" to the trampoline's first byte: pc - 1
		 * would be the function before it. pcs[0] stays regs->ip.
		 */
		if (c.left_trampoline && n > 1)
			pcs[n - 1]++;
		pcs[n++] = c.fs.regs[REG_RA] + c.exact;
	}
	u->stats.unwinds++;
	u->stats.frames += n - 1;
	u->stats.stops[stop]++;
	if (reason)
		*reason = stop;
	return n;
}
