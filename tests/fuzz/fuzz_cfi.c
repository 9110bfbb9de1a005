// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_cfi.c - the unwinder's evaluator of CFI expressions on its own, on
 * programs no compiler emits: fuzz_unwind reaches it only through the
 * rules of real files, which use a handful of operations.
 *
 * Input: a flags byte (bit 0: the CFA is known), the valid-register mask
 * (4 bytes), 17 registers and the CFA (8 bytes each), a count of
 * operations, each 1 byte of atom, 1 of encoded length and 8 + 8 of
 * operands; the rest is the stack copy, whose first byte is at the value
 * of rsp (register 7).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "unwinder.h"

#define MAX_OPS		64
#define OP_BYTES	18

struct head {
	uint8_t flags;
	uint32_t valid;
	uint64_t regs[UNWIND_NR_REGS];
	uint64_t cfa;
	uint8_t nops;
} __attribute__((packed));

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Dwarf_Op ops[MAX_OPS];
	__u64 regs[UNWIND_NR_REGS], cfa;
	struct head h;
	size_t nops, i;
	Dwarf_Word off = 0;
	__u64 out;
	bool is_value;
	int err;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	memcpy(regs, h.regs, sizeof(regs));
	cfa = h.cfa;
	data += sizeof(h);
	size -= sizeof(h);
	nops = h.nops % (MAX_OPS + 1);
	if (size < nops * OP_BYTES)
		return 0;
	/* Offsets as libdw gives them: where each operation starts in the block. */
	for (i = 0; i < nops; i++, data += OP_BYTES) {
		ops[i].atom = data[0];
		memcpy(&ops[i].number, data + 2, 8);
		memcpy(&ops[i].number2, data + 10, 8);
		ops[i].offset = off;
		off += 1 + data[1] % 16;
	}
	size -= nops * OP_BYTES;
	err = unwinder_eval(ops, nops, regs, h.valid, data, regs[7], size,
			    h.flags & 1 ? &cfa : NULL, &out, &is_value);
	FUZZ_CHECK(!err || err == -EINVAL || err == -ENODATA || err == -EFAULT);
	return 0;
}
