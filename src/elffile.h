/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * elffile.h - one ELF file mapped by traced processes (its identity, segments
 * and function symbols), and a bounded cache of them shared by all processes.
 *
 * Addresses here are the file's link-time virtual addresses (st_value,
 * p_vaddr), not runtime ones: turn a runtime IP into a file offset with its
 * mapping (ip - start + pgoff), then into a vaddr with
 * elf_file__offset_to_vaddr().
 *
 * Nothing here is thread-safe but elf_file__nr_errors(): one thread owns a
 * cache and its files.
 */

#ifndef AS_ELFFILE_H
#define AS_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include <elfutils/libdw.h>

struct elf_file;
struct elf_cache;

struct elf_open_opts {
	/*
	 * Prefix under which separate debug files are looked up, resolved as
	 * if it were "/" (symlinks cannot leave it): "" or NULL for the host,
	 * "/proc/PID/root" for a process in another mount namespace. Symbols
	 * load lazily, so it must stay valid as long as the file may be
	 * symbolized: a process's root vanishes when it exits, while
	 * "/proc/self/fd/N" of an O_PATH fd on that root does not.
	 */
	const char *root;
	/* The file's absolute path inside root, for .gnu_debuglink; may be NULL. */
	const char *path;
};

/*
 * Opens the ET_EXEC or ET_DYN file behind fd, which it owns from now on,
 * even on failure. Reads the program headers and build id; symbol tables
 * load on first use. Returns 0 or -errno (-ENOEXEC: not such an ELF file).
 */
int elf_file__open(int fd, const struct elf_open_opts *opts, struct elf_file **out);
/* Frees a file from elf_file__open(), like elf_file__put(). NULL is fine. */
void elf_file__free(struct elf_file *ef);

/*
 * Files that could not be read, process-wide and from any thread: not ELF,
 * shorter than their headers say, or truncated or overwritten while read.
 * Files are read with pread(), never mapped, so that is all a file changed
 * under us can do. Each failure is counted and logged (a warning) once per
 * opened object; later lookups in it just find less.
 */
__u64 elf_file__nr_errors(void);

/* GNU build id in lowercase hex, "" if the file has none. */
const char *elf_file__build_id(const struct elf_file *ef);
/* ET_DYN (PIE or shared library: loaded at a bias) rather than ET_EXEC. */
bool elf_file__is_dyn(const struct elf_file *ef);

/*
 * A defined STT_FUNC or STT_GNU_IFUNC symbol called name: "malloc" also
 * matches "malloc@@GLIBC_2.2.5" and "malloc@GLIBC_2.2.5" in .symtab, and
 * the default version wins over older ones (in .dynsym too). Searches
 * .symtab, then .dynsym, then the separate debug file's .symtab;
 * dynamic_only searches .dynsym only (exported functions). Among equal
 * candidates GLOBAL beats WEAK beats LOCAL. For an IFUNC the address is the
 * resolver's. Returns 0, -ENOENT, or -ENOTUNIQ when the best candidates are
 * equally good but at different addresses (two static functions).
 */
int elf_file__find_func(struct elf_file *ef, const char *name, bool dynamic_only,
			__u64 *vaddr, __u64 *size);

/* Through the PT_LOAD whose file bytes hold it; 0 or -ENOENT. */
int elf_file__vaddr_to_offset(const struct elf_file *ef, __u64 vaddr, __u64 *off);
int elf_file__offset_to_vaddr(const struct elf_file *ef, __u64 off, __u64 *vaddr);
/* Up to len bytes of the file at off: the count read (0 at EOF) or -errno. */
ssize_t elf_file__read(const struct elf_file *ef, __u64 off, void *buf, size_t len);

/*
 * Loads the function symbols now rather than on the first lookup: .symtab;
 * without one, the .symtab of the separate debug file under root
 * (/usr/lib/debug/.build-id/xx/rest.debug, then .gnu_debuglink in the
 * file's directory, its .debug/ and /usr/lib/debug/<dir>/; it must match
 * the build id or, without build ids, the link's CRC32); else .dynsym.
 * Returns 0 or -errno (not -ENOENT: no symbols is an empty table); a
 * failure is remembered, not retried.
 */
int elf_file__load_symbols(struct elf_file *ef);
/* Whether the symbols came from a .symtab (own or debug file), not .dynsym. */
bool elf_file__has_debug_symbols(struct elf_file *ef);

/*
 * The function containing vaddr (subtract 1 from return addresses first):
 * its name demangled (C++), its raw name in *raw_name and its start in
 * *start (either may be NULL). A sized symbol must cover vaddr; an unsized
 * one covers up to the next symbol or the end of its section. NULL if none
 * does. The strings live as long as the reference on ef.
 */
const char *elf_file__symbolize(struct elf_file *ef, __u64 vaddr, __u64 *start,
				const char **raw_name);

/*
 * Call frame information for unwinding, parsed on first use and kept with
 * the file, so that every process mapping it shares one parse and its
 * cached FDEs. eh_cfi is the file's own .eh_frame (found through
 * .eh_frame_hdr; stripping keeps it, and it covers nearly all code);
 * debug_cfi is .debug_frame, in the file or its separate debug file, which
 * only code built without unwind tables has. NULL if there is none. Both
 * are valid as long as the reference on ef.
 */
Dwarf_CFI *elf_file__eh_cfi(struct elf_file *ef);
Dwarf_CFI *elf_file__debug_cfi(struct elf_file *ef);

/* One source frame of a code address. */
struct elf_line {
	/*
	 * Demangled (C++), else as DWARF has it; for code DWARF names no
	 * function for (assembly), the ELF symbol's. NULL if nothing names it.
	 */
	const char *func;
	const char *raw;	/* linkage (mangled) name, else the same as func */
	const char *file;	/* source file as DWARF spells it; NULL if unknown */
	int line;		/* 0 if unknown */
};

/*
 * Whether the file has DWARF line tables, its own or its separate debug
 * file's: then elf_file__lines() knows file names, lines and inlining.
 * Opens the DWARF on first use (decompressing SHF_COMPRESSED sections:
 * about 10 MiB for Debian's libc), which the cache accounts for.
 */
bool elf_file__has_lines(struct elf_file *ef);

/*
 * The source frames of the code at vaddr (subtract 1 from return addresses
 * first), innermost first, as pprof wants them: the functions inlined
 * there, each at its line, then the function that contains vaddr, at the
 * line where the next inner one was inlined (or at vaddr's own line). When
 * there are more than max, the innermost max - 1 and the containing
 * function are kept. Returns how many were written, 0 when no DWARF covers
 * vaddr, or -errno. The strings live as long as the reference on ef.
 */
int elf_file__lines(struct elf_file *ef, __u64 vaddr, struct elf_line *out, int max);

struct elf_cache_stats {
	__u64 hits;		/* elf_cache__get() found the file cached */
	__u64 misses;		/* ... opened it */
	__u64 evictions;	/* files dropped to stay under max_bytes */
	__u64 files;		/* cached now, referenced or not */
	__u64 bytes;		/* their estimated memory */
	__u64 oversized;	/* files whose DWARF alone exceeds max_bytes: not read */
};

/*
 * A cache of files keyed by build id, or by (dev, ino, size, mtime) for files
 * without one. max_bytes bounds the estimated memory of cached files and
 * their symbol tables; files in use are never evicted, so it can be
 * exceeded while they are; DWARF that alone would exceed it is not read
 * (counted in oversized). Each cached file holds an fd, one more for a
 * debug file and one more for its dwz file. NULL with errno set on failure.
 */
struct elf_cache *elf_cache__new(size_t max_bytes);
/* Files still referenced stay valid and are freed by their last put. */
void elf_cache__free(struct elf_cache *c);

/*
 * A referenced file for fd's contents: the cached one (fd is closed) or a
 * new one opened with opts and cached (fd is kept). It looks for the same
 * inode first, which needs no parsing, then for the same build id, so that
 * copies of a library in several containers are cached once; a cached file
 * keeps the opts it was first opened with. fd is owned from now on, even on
 * failure. Returns 0 or -errno as elf_file__open() does.
 */
int elf_cache__get(struct elf_cache *c, int fd, const struct elf_open_opts *opts,
		   struct elf_file **out);
/*
 * Drops a reference. A cached file becomes evictable, least recently
 * released first; an uncached one is freed. NULL is fine.
 */
void elf_file__put(struct elf_file *ef);
/* Takes another reference on a file the caller holds; returns it. */
struct elf_file *elf_file__get(struct elf_file *ef);
void elf_cache__stats(const struct elf_cache *c, struct elf_cache_stats *st);

#endif /* AS_ELFFILE_H */
