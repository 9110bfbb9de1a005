/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * symbolizer.h - addresses of a process to functions.
 *
 * A snapshot of a process's executable mappings is taken while it is
 * alive, and the files behind them are opened right then (through
 * /proc/PID/map_files), so stacks stay symbolizable after the process
 * exits, is replaced by exec, or its files are deleted. ELF files are
 * shared between processes through a bounded cache keyed by build ID.
 */
#ifndef AS_SYMBOLIZER_H
#define AS_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct symbolizer;
struct addr_space;
struct proc_map;
struct proc_image;

struct sym_frame {
	const struct proc_map *map;	/* NULL when no mapping holds the address */
	int map_index;			/* index among the snapshot's mappings */
	const char *func;		/* function name (demangled); NULL if unknown */
	const char *raw;		/* symbol as in the ELF file */
};

struct sym_mapping {
	__u64 start, end, pgoff;
	const char *path;
	const char *build_id;		/* hex, "" if none */
	bool symbolized;		/* an ELF file was read for it */
	bool has_lines;			/* its file has DWARF lines: addr_space__lines() works */
};

struct elf_cache_stats;

struct symbolizer *symbolizer__new(size_t cache_bytes);
void symbolizer__free(struct symbolizer *s);
void symbolizer__cache_stats(const struct symbolizer *s, struct elf_cache_stats *st);

/* Snapshot of pid's executable mappings, files opened now. */
int symbolizer__snapshot(struct symbolizer *s, pid_t pid, struct addr_space **out);
/* The same from an image read earlier (the process may be gone); takes its maps and root. */
int symbolizer__snapshot_image(struct symbolizer *s, struct proc_image *im,
			       struct addr_space **out);
/* Re-read the mappings of a live process (a library was loaded). */
int addr_space__refresh(struct addr_space *as);
void addr_space__free(struct addr_space *as);
pid_t addr_space__pid(const struct addr_space *as);

struct elf_file;
struct elf_line;

/*
 * The ELF file mapped at a code address and the address in that file's
 * link-time terms (what symbols and CFI use). -ENOENT outside every
 * mapping, -ENODATA for a mapping whose file could not be opened.
 */
int addr_space__locate(struct addr_space *as, __u64 addr, struct elf_file **ef, __u64 *vaddr);

/* Resolves a code address (use return address - 1 for callers). */
int addr_space__lookup(struct addr_space *as, __u64 addr, struct sym_frame *out);
/*
 * The source frames of a code address (use return address - 1 for
 * callers), innermost inlined function first, the containing function
 * last: see elf_file__lines(). Returns how many (0 without DWARF for it)
 * or -ENOENT outside every mapping.
 */
int addr_space__lines(struct addr_space *as, __u64 addr, struct elf_line *out, int max);
int addr_space__nr_mappings(const struct addr_space *as);
void addr_space__mapping(const struct addr_space *as, int i, struct sym_mapping *out);

#endif /* AS_SYMBOLIZER_H */
