// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_elf.c - the ELF reader (elffile.h) on an arbitrary file: open it,
 * look its functions up, symbolize, map addresses, read its CFI and DWARF
 * lines, as the symbolizer, the attach planner and the unwinder do. The
 * file is a memfd holding the input, so every read goes through the same
 * fd calls as a file on disk. Separate debug files are looked up under a
 * root that does not exist: the host's files are not part of the input.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "elffile.h"

#define MAX_LINES 8

static const struct elf_open_opts opts = { .root = "/nonexistent", .path = "/lib/fuzz.so" };

/* Addresses worth asking about: the input's first words, and around 0. */
static __u64 probe(const uint8_t *data, size_t size, int i)
{
	__u64 v = 0;

	if (size >= (size_t)(i + 1) * 8)
		memcpy(&v, data + size - (i + 1) * 8, 8);
	return i < 4 ? v : (__u64)(i - 4) * 0x1000;
}

static void lookups(struct elf_file *ef, const uint8_t *data, size_t size)
{
	struct elf_line lines[MAX_LINES];
	Dwarf_Frame *frame;
	const char *raw;
	__u64 v, s, off;
	char buf[64];
	int n;

	(void)elf_file__build_id(ef);
	(void)elf_file__is_dyn(ef);
	(void)elf_file__find_func(ef, "malloc", false, &v, &s);
	(void)elf_file__find_func(ef, "free", true, &v, &s);
	FUZZ_CHECK(elf_file__load_symbols(ef) != -ENOENT);
	(void)elf_file__has_debug_symbols(ef);
	for (int i = 0; i < 8; i++) {
		v = probe(data, size, i);
		if (!elf_file__vaddr_to_offset(ef, v, &off)) {
			/* An offset no file reaches is -EINVAL: a p_offset is the file's word. */
			FUZZ_CHECK(elf_file__read(ef, off, buf, sizeof(buf)) <= (ssize_t)sizeof(buf));
			(void)elf_file__offset_to_vaddr(ef, off, &s);
		}
		(void)elf_file__offset_to_vaddr(ef, v, &s);
		(void)elf_file__symbolize(ef, v, &s, &raw);
		if (elf_file__eh_cfi(ef) && !dwarf_cfi_addrframe(elf_file__eh_cfi(ef), v, &frame))
			free(frame);
		if (elf_file__debug_cfi(ef) &&
		    !dwarf_cfi_addrframe(elf_file__debug_cfi(ef), v, &frame))
			free(frame);
		if (elf_file__has_lines(ef)) {
			n = elf_file__lines(ef, v, lines, MAX_LINES);
			FUZZ_CHECK(n <= MAX_LINES);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file *ef;
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	if (elf_file__open(fd, &opts, &ef))
		return 0;
	lookups(ef, data, size);
	elf_file__free(ef);
	return 0;
}
