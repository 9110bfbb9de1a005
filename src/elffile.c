// SPDX-License-Identifier: GPL-2.0-only
/*
 * elffile.c - ELF files: identity, segments, function symbols, and their cache.
 *
 * An elf_file keeps its fd and Elf handle open, and those of its separate
 * debug file, so that the DWARF users hang off the same object: the CFI
 * unwinders need (.eh_frame, .debug_frame) and the DWARF that gives
 * file:line and inline chains, each opened on first use and shared by every
 * process that maps the file.
 *
 * Nothing reads a file through a mapping: any local user can truncate or
 * overwrite a library a traced process maps (cp over it does), and a
 * mapped page past the new end faults with SIGBUS in whoever touches it.
 * libelf reads with ELF_C_READ instead: headers at open, each section's
 * bytes with pread() into the heap when first asked for, so a file that
 * shrinks or changes only makes a read fail, and the failure is counted
 * (elf_file__nr_errors()). Symbol tables are read on a handle of their own
 * that is ended once they are copied, so that only what lookups keep
 * (CFI, DWARF) stays on the heap with the file.
 *
 * A symbol table is built on first use: function symbols sorted by address,
 * aliases merged, names copied into one arena; C++ names are demangled on
 * first lookup and kept.
 */
#include <gelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <dwarf.h>
#include <elfutils/libdwelf.h>

#include "elffile.h"
#include "log.h"
#include "procfs.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define NO_COVER		UINT32_MAX
#define DEM_TODO		UINT32_MAX
#define DEM_SAME		(UINT32_MAX - 1)
/* libelf's descriptor and header copy for each section, roughly. */
#define LIBELF_SCN_BYTES	256
#define HTAB_MIN_BUCKETS	64
#define STAT_KEY_LEN		80
#define VERSYM_HIDDEN		0x8000	/* not the default version; glibc's <elf.h> lacks it */
#define DNAMES_MIN		64
#define CRC_CHUNK		(64 << 10)

/* libstdc++'s demangler: <cxxabi.h> is C++ only, -lstdc++ is linked. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct sym {
	__u64 start;
	__u64 end;	/* start + size; if unsized, the end of its section */
	__u32 name;	/* offset in symtab.names */
	__u32 cover;	/* the sized entry in [0, this one] that ends last, or NO_COVER */
	__u32 dem;	/* index in symtab.dem, DEM_TODO or DEM_SAME */
	__u32 sized;
};

struct symtab {
	struct sym *syms;
	size_t nr;
	char *names;
	size_t names_len;
	char **dem;	/* demangled names, as __cxa_demangle returned them */
	size_t nr_dem;
	size_t dem_bytes;
};

struct load {
	__u64 vaddr, off, filesz;
};

/* C++ linkage names from DWARF, demangled once: open addressing by name. */
struct dname {
	const char *raw;	/* in the DWARF's string data */
	char *dem;		/* NULL when it does not demangle */
};

struct dnames {
	struct dname *v;
	size_t mask;		/* slots - 1, or 0 before the first */
	size_t nr;
	size_t bytes;
};

struct hnode {
	struct hnode *next;
	const char *key;
	struct elf_file *ef;
};

struct htab {
	struct hnode **b;
	size_t mask;	/* buckets - 1 */
	size_t nr;
};

enum syms_state { SYMS_TODO, SYMS_DYNSYM, SYMS_SYMTAB, SYMS_FAILED };

struct elf_file {
	int fd;
	Elf *elf;
	bool dyn;
	bool has_symtab;
	size_t nr_scns;
	char build_id[2 * 64 + 1];
	struct load *loads;
	size_t nr_loads;
	char *root;
	char *path;
	/* The separate debug file, looked up once. */
	bool dbg_searched;
	int dbg_fd;
	Elf *dbg_elf;
	size_t dbg_nr_scns;
	char *dbg_path;	/* inside root */
	enum syms_state syms_state;
	int syms_err;
	struct symtab st;
	/* DWARF, each part opened on first use. */
	bool eh_cfi_done, dwarf_done, dbg_cfi_done;
	Dwarf_CFI *eh_cfi;	/* ours to end */
	Dwarf *dwarf;		/* on elf, or on dbg_elf when elf has no DWARF */
	Dwarf_CFI *dbg_cfi;	/* owned by dwarf */
	/* A dwz file's shared part (.gnu_debugaltlink), found by us. */
	int alt_fd;
	Elf *alt_elf;
	Dwarf *alt_dwarf;
	bool has_lines;
	size_t dwarf_bytes;	/* estimated heap behind eh_cfi and dwarf */
	void **pads;		/* padded copies of DWARF sections (pad_dwarf()) */
	size_t nr_pads;
	struct dnames dnames;
	bool failed;		/* a read failed: counted and logged once */
	/* Owned by the cache while cache is set. */
	int refs;
	struct elf_cache *cache;
	struct elf_file *lru_prev, *lru_next;	/* while unreferenced */
	struct hnode stat_node, bid_node;
	char stat_key[STAT_KEY_LEN];
	size_t charged;	/* bytes counted in cache->stats */
};

struct elf_cache {
	size_t max_bytes;
	struct htab by_stat, by_bid;
	struct elf_file *lru_head, *lru_tail;	/* unreferenced, last released first */
	struct elf_cache_stats stats;
};

static void cache_account(struct elf_file *ef);
static size_t hash_str(const char *s);

/* Every read failure of every file, process-wide: the planner's files have no cache. */
static __u64 nr_errors;

__u64 elf_file__nr_errors(void)
{
	return __atomic_load_n(&nr_errors, __ATOMIC_RELAXED);
}

/*
 * Counts and logs a file that could not be read, once per object. Logged
 * here, not by a caller: most reads happen lazily, inside a lookup of a
 * symbol, a frame or a line that has no error to return.
 */
static void file_failed(struct elf_file *ef, const char *what, int err)
{
	if (ef->failed)
		return;
	ef->failed = true;
	__atomic_fetch_add(&nr_errors, 1, __ATOMIC_RELAXED);
	pr_warn("cannot read %s%s (%s): %s\n", ef->root ?: "", ef->path ?: "an ELF file", what,
		strerror(-err));
}

/*
 * libelf reads the file with pread(), never through a mapping: see the top
 * of this file. Every handle is opened here.
 */
static Elf *elf_read(int fd)
{
	return elf_begin(fd, ELF_C_READ, NULL);
}

/* Symbol tables: reading */

/* A defined function symbol as a symbol table holds it. */
struct fsym {
	const char *name;
	__u64 value, size;
	size_t shndx;
	int bind_rank;	/* GLOBAL 2, WEAK 1, LOCAL 0 */
	bool hidden;	/* an older version: "foo@V1", or .gnu.version's hidden bit */
};

struct sym_iter {
	Elf *elf;
	Elf_Data *syms, *versyms;
	size_t strndx, i, n;
};

static Elf_Scn *find_scn(Elf *elf, Elf64_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, shdr) && shdr->sh_type == type)
			return scn;
	return NULL;
}

static int sym_iter__init(struct sym_iter *it, Elf *elf, Elf64_Word type)
{
	GElf_Shdr shdr, vshdr;
	Elf_Scn *scn, *vscn;

	memset(it, 0, sizeof(*it));
	if (!elf)
		return -EIO;	/* a handle of its own could not be had */
	scn = find_scn(elf, type, &shdr);
	if (!scn || !shdr.sh_entsize)
		return -ENOENT;
	it->syms = elf_getdata(scn, NULL);
	/* The names too, now: elf_strptr() failing later would just skip symbols. */
	if (!it->syms || !elf_getdata(elf_getscn(elf, shdr.sh_link), NULL))
		return -EIO;
	it->elf = elf;
	it->strndx = shdr.sh_link;
	it->n = shdr.sh_size / shdr.sh_entsize;
	/* .gnu.version parallels .dynsym: it tells "free" from the old "cfree@GLIBC_2.2.5". */
	vscn = find_scn(elf, SHT_GNU_versym, &vshdr);
	if (vscn && vshdr.sh_link == elf_ndxscn(scn))
		it->versyms = elf_getdata(vscn, NULL);
	return 0;
}

static int bind_rank(int bind)
{
	return bind == STB_GLOBAL || bind == STB_GNU_UNIQUE ? 2 : bind == STB_WEAK;
}

static bool sym_iter__next(struct sym_iter *it, struct fsym *fs)
{
	GElf_Versym vs;
	GElf_Sym sym;
	const char *at;
	int type;

	while (++it->i < it->n) {	/* entry 0 is the null symbol */
		if (!gelf_getsym(it->syms, it->i, &sym))
			return false;
		type = GELF_ST_TYPE(sym.st_info);
		/* ABS, COMMON and XINDEX (files of 65280+ sections) hold no code we map. */
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE || !sym.st_value)
			continue;
		fs->name = elf_strptr(it->elf, it->strndx, sym.st_name);
		if (!fs->name || !*fs->name)
			continue;
		fs->value = sym.st_value;
		fs->size = sym.st_size;
		fs->shndx = sym.st_shndx;
		fs->bind_rank = bind_rank(GELF_ST_BIND(sym.st_info));
		at = strchr(fs->name, '@');
		fs->hidden = at && at[1] != '@';
		if (it->versyms && gelf_getversym(it->versyms, it->i, &vs) && (vs & VERSYM_HIDDEN))
			fs->hidden = true;
		return true;
	}
	return false;
}

/* Symbol tables: building */

/* A candidate entry, before aliases merge. */
struct cand {
	__u64 start, end;
	const char *name;
	__u32 len;
	__u8 bind_rank, hidden, under, sized;
};

/* Where an unsized symbol's reach ends: its section's end, or itself if outside it. */
static __u64 section_end(Elf *elf, size_t shndx, __u64 addr)
{
	Elf_Scn *scn = elf_getscn(elf, shndx);
	GElf_Shdr shdr;

	if (!scn || !gelf_getshdr(scn, &shdr) || addr < shdr.sh_addr ||
	    addr - shdr.sh_addr >= shdr.sh_size)
		return addr;
	return shdr.sh_addr + shdr.sh_size;
}

static void cand_fill(struct cand *c, Elf *elf, const struct fsym *fs)
{
	c->start = fs->value;
	c->sized = fs->size != 0;
	c->end = c->sized ? fs->value + fs->size : section_end(elf, fs->shndx, fs->value);
	c->name = fs->name;
	c->len = strlen(fs->name);
	/* GLOBAL and WEAK alike: glibc's calloc is WEAK, its __libc_calloc GLOBAL. */
	c->bind_rank = fs->bind_rank != 0;
	c->hidden = fs->hidden;
	c->under = strspn(fs->name, "_") & 0xff;
}

/*
 * By address; at one address the best name first: exported (GLOBAL or WEAK)
 * over LOCAL, the default version, fewer leading underscores ("malloc" over
 * "__libc_malloc"), shorter, then alphabetical, so the choice is stable.
 */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->bind_rank != b->bind_rank)
		return b->bind_rank - a->bind_rank;
	if (a->hidden != b->hidden)
		return a->hidden - b->hidden;
	if (a->under != b->under)
		return a->under - b->under;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* The best name keeps its place; an alias may only lend it a size it lacks. */
static void cand_merge(struct cand *keep, const struct cand *alias)
{
	if (alias->sized && (!keep->sized || alias->end > keep->end)) {
		keep->end = alias->end;
		keep->sized = 1;
	}
}

static int cands_collect(Elf *elf, Elf64_Word type, struct cand **out, size_t *nr)
{
	struct sym_iter it;
	struct fsym fs;
	struct cand *c;
	size_t n = 0;
	int err;

	err = sym_iter__init(&it, elf, type);
	if (err)
		return err;
	c = calloc(it.n ?: 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	while (sym_iter__next(&it, &fs))
		cand_fill(&c[n++], elf, &fs);
	*out = c;
	*nr = n;
	return 0;
}

/* Sorts, merges aliases in place; returns how many remain and their names' size. */
static size_t cands_dedup(struct cand *c, size_t n, size_t *names_len)
{
	size_t i, j, kept = 0;

	qsort(c, n, sizeof(*c), cand_cmp);
	*names_len = 0;
	for (i = 0; i < n; i = j) {
		c[kept] = c[i];
		for (j = i + 1; j < n && c[j].start == c[kept].start; j++)
			cand_merge(&c[kept], &c[j]);
		*names_len += c[kept++].len + 1;
	}
	return kept;
}

static void symtab__fill(struct symtab *st, const struct cand *c)
{
	__u32 cover = NO_COVER, off = 0;
	struct sym *s;
	size_t i;

	for (i = 0; i < st->nr; i++) {
		s = &st->syms[i];
		s->start = c[i].start;
		s->end = c[i].end;
		s->sized = c[i].sized;
		s->name = off;
		s->dem = DEM_TODO;
		memcpy(st->names + off, c[i].name, c[i].len + 1);
		off += c[i].len + 1;
		if (s->sized && (cover == NO_COVER || s->end > st->syms[cover].end))
			cover = i;
		s->cover = cover;
	}
}

/* 0, -ENOENT if elf has no such table or no functions in it, or -errno. */
static int symtab__build(struct symtab *st, Elf *elf, Elf64_Word type)
{
	struct cand *c;
	size_t n, names_len;
	int err;

	err = cands_collect(elf, type, &c, &n);
	if (err)
		return err;
	n = cands_dedup(c, n, &names_len);
	err = -ENOENT;
	if (!n)
		goto out;
	err = -E2BIG;
	if (n >= DEM_SAME || names_len > UINT32_MAX)
		goto out;
	err = -ENOMEM;
	st->syms = calloc(n, sizeof(*st->syms));
	st->names = malloc(names_len);
	if (!st->syms || !st->names)
		goto out;
	st->nr = n;
	st->names_len = names_len;
	symtab__fill(st, c);
	err = 0;
out:
	if (err) {
		free(st->syms);
		free(st->names);
		memset(st, 0, sizeof(*st));
	}
	free(c);
	return err;
}

/*
 * A handle of its own on fd for one pass over a symbol table: libelf keeps
 * the sections a handle read until elf_end(). NULL when the file no longer
 * has the nr_scns sections it had at open (cut or overwritten since).
 */
static Elf *elf_pass(int fd, size_t nr_scns)
{
	Elf *elf = elf_read(fd);
	GElf_Shdr sh;
	size_t n;

	if (elf && (elf_kind(elf) != ELF_K_ELF || elf_getshdrnum(elf, &n) || n != nr_scns ||
		    (n && !gelf_getshdr(elf_getscn(elf, n - 1), &sh)))) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

/* The table read on a handle of its own, ended once it is copied. */
static int symtab_from(struct symtab *st, int fd, size_t nr_scns, Elf64_Word type)
{
	Elf *elf = elf_pass(fd, nr_scns);
	int err;

	err = elf ? symtab__build(st, elf, type) : -EIO;
	elf_end(elf);
	return err;
}

static void symtab__free(struct symtab *st)
{
	size_t i;

	for (i = 0; i < st->nr_dem; i++)
		free(st->dem[i]);
	free(st->dem);
	free(st->syms);
	free(st->names);
}

/* Symbol tables: lookup */

static struct sym *symtab__find(const struct symtab *st, __u64 addr)
{
	size_t lo = 0, hi = st->nr, mid;
	struct sym *s, *c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &st->syms[lo - 1];
	if (s->sized && addr < s->end)
		return s;
	/* A sized function can enclose later symbols, e.g. local labels typed FUNC. */
	if (s->cover != NO_COVER) {
		c = &st->syms[s->cover];
		if (addr < c->end)
			return c;
	}
	return !s->sized && addr < s->end ? s : NULL;
}

/* A C++ name demangled, any "@VERSION" suffix kept; NULL for other names. */
static char *demangle(const char *raw)
{
	char *base, *d, *out = NULL;
	const char *at;
	int status;

	if (strncmp(raw, "_Z", 2))
		return NULL;
	at = strchr(raw, '@');
	if (!at)
		return __cxa_demangle(raw, NULL, NULL, &status);
	base = strndup(raw, at - raw);
	if (!base)
		return NULL;
	d = __cxa_demangle(base, NULL, NULL, &status);
	if (d && asprintf(&out, "%s%s", d, at) < 0)
		out = NULL;
	free(d);
	free(base);
	return out;
}

/* Keeps d, growing the array at powers of two; its index or -ENOMEM. */
static long symtab__keep_dem(struct symtab *st, char *d)
{
	char **v = st->dem;

	if (!(st->nr_dem & (st->nr_dem - 1))) {
		v = realloc(st->dem, (st->nr_dem ? 2 * st->nr_dem : 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		st->dem = v;
	}
	v[st->nr_dem] = d;
	st->dem_bytes += strlen(d) + 1 + sizeof(*v);
	return st->nr_dem++;
}

static const char *symtab__name(struct symtab *st, struct sym *s)
{
	const char *raw = st->names + s->name;
	long idx;
	char *d;

	if (s->dem == DEM_TODO) {
		s->dem = DEM_SAME;
		d = demangle(raw);
		idx = d ? symtab__keep_dem(st, d) : -ENOENT;
		if (idx >= 0)
			s->dem = idx;
		else
			free(d);
	}
	return s->dem == DEM_SAME ? raw : st->dem[s->dem];
}

/* Separate debug files */

/* len bytes of id in lowercase hex: hex holds 2 * len + 1. */
static void hex_of(const unsigned char *id, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 0xf];
	}
	hex[2 * len] = '\0';
}

static void read_build_id(Elf *elf, char *hex, size_t size)
{
	const void *id;
	ssize_t len;

	len = dwelf_elf_gnu_build_id(elf, &id);
	if (len < 0 || (size_t)len * 2 >= size)
		len = 0;
	hex_of(id, len, hex);
}

/* The CRC32 of the whole file, read in chunks: elf_rawfile() would copy it all. */
static bool crc_matches(int fd, GElf_Word crc)
{
	unsigned char *buf = malloc(CRC_CHUNK);
	uLong sum = crc32_z(0, NULL, 0);
	off_t off = 0;
	ssize_t n;

	if (!buf)
		return false;
	while ((n = pread(fd, buf, CRC_CHUNK, off)) > 0) {
		sum = crc32_z(sum, buf, n);
		off += n;
	}
	free(buf);
	return !n && sum == crc;
}

/*
 * Takes the file at path (inside root) as ef's debug file if it has a
 * .symtab and is ef's: same build id or, if either lacks one and crc is
 * given, the debuglink's CRC32 of the whole file. Build ids are compared
 * first because the CRC means reading the whole file.
 */
static int check_extents(Elf *elf, const GElf_Ehdr *eh, size_t nr_scns, __u64 size);

/* A debug file must hold what its headers say, as the file itself must. */
static int debug_extents(Elf *elf, int fd)
{
	struct stat st;
	GElf_Ehdr eh;
	size_t n;

	if (fstat(fd, &st))
		return -errno;
	if (!gelf_getehdr(elf, &eh) || elf_getshdrnum(elf, &n))
		return -EIO;
	return check_extents(elf, &eh, n, st.st_size);
}

static int debug_try(struct elf_file *ef, const char *path, const GElf_Word *crc)
{
	char bid[sizeof(ef->build_id)];
	GElf_Shdr shdr;
	Elf *elf;
	int fd, err;

	fd = procfs__open_file_in_root(ef->root, path);
	if (fd < 0)
		return fd;
	err = -ENOENT;
	elf = elf_read(fd);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !find_scn(elf, SHT_SYMTAB, &shdr))
		goto out_close;
	err = debug_extents(elf, fd);
	if (err) {
		file_failed(ef, path, err);
		goto out_close;
	}
	read_build_id(elf, bid, sizeof(bid));
	if (*bid && *ef->build_id)
		err = strcmp(bid, ef->build_id) ? -ESTALE : 0;
	else
		err = crc && crc_matches(fd, *crc) ? 0 : -ESTALE;
	if (err) {
		pr_debug("elf: %s%s does not match its file, ignoring\n", ef->root, path);
		goto out_close;
	}
	ef->dbg_path = strdup(path);
	if (!ef->dbg_path) {
		err = -ENOMEM;
		goto out_close;
	}
	ef->dbg_fd = fd;
	ef->dbg_elf = elf;
	if (elf_getshdrnum(elf, &ef->dbg_nr_scns))
		ef->dbg_nr_scns = 0;
	pr_debug("elf: symbols of %s from %s%s\n", ef->path ?: ef->build_id, ef->root, path);
	return 0;
out_close:
	elf_end(elf);
	close(fd);
	return err;
}

static int debug_by_build_id(struct elf_file *ef)
{
	const char *bid = ef->build_id;
	char path[PATH_MAX];

	if (strlen(bid) < 4)
		return -ENOENT;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	return debug_try(ef, path, NULL);
}

/* .gnu_debuglink: next to the file, in its .debug/, under /usr/lib/debug. */
static int debug_by_link(struct elf_file *ef)
{
	static const char *const fmts[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
	const char *link, *slash;
	char path[PATH_MAX];
	GElf_Word crc;
	size_t i;
	int dir;

	link = dwelf_elf_gnu_debuglink(ef->elf, &crc);
	if (!link || strchr(link, '/') || !ef->path || !(slash = strrchr(ef->path, '/')))
		return -ENOENT;
	dir = slash - ef->path;
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		if (snprintf(path, sizeof(path), fmts[i], dir, ef->path, link) >= (int)sizeof(path))
			continue;
		if (!debug_try(ef, path, &crc))
			return 0;
	}
	return -ENOENT;
}

/* The separate debug file, looked up once; NULL if not found. */
static Elf *debug_elf(struct elf_file *ef)
{
	if (!ef->dbg_searched) {
		ef->dbg_searched = true;
		if (debug_by_build_id(ef))
			debug_by_link(ef);
	}
	return ef->dbg_elf;
}

/* The debug file's handle for symbols: NULL if the file has its own .symtab. */
static Elf *elf_file_debug(struct elf_file *ef)
{
	return ef->has_symtab ? NULL : debug_elf(ef);
}

/* A section called name whose bytes are in the file (not NOBITS, as in debug files). */
/* The bytes of the sections called name whose bytes are in the file. */
static __u64 section_bytes(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	const char *sname;
	GElf_Shdr shdr;
	size_t strndx;
	__u64 n = 0;

	if (elf_getshdrstrndx(elf, &strndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		sname = elf_strptr(elf, strndx, shdr.sh_name);
		if (sname && !strcmp(sname, name))
			n += shdr.sh_size;
	}
	return n;
}

static bool has_section(Elf *elf, const char *name)
{
	return section_bytes(elf, name) != 0;
}

/* Built with -g and not stripped: the file is its own debug file. */
static bool has_own_dwarf(struct elf_file *ef)
{
	return has_section(ef->elf, ".debug_info") || has_section(ef->elf, ".debug_frame");
}

/* The file that holds ef's DWARF; NULL if none does. */
static Elf *dwarf_elf(struct elf_file *ef)
{
	return has_own_dwarf(ef) ? ef->elf : debug_elf(ef);
}

/* elf_file */

static int read_loads(struct elf_file *ef)
{
	GElf_Phdr ph;
	size_t i, n;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	ef->loads = calloc(n ?: 1, sizeof(*ef->loads));
	if (!ef->loads)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, i, &ph))
			return -ENOEXEC;
		if (ph.p_type == PT_LOAD)
			ef->loads[ef->nr_loads++] = (struct load){ .vaddr = ph.p_vaddr,
				.off = ph.p_offset, .filesz = ph.p_filesz };
	}
	return 0;
}

static bool beyond(__u64 off, __u64 len, __u64 size)
{
	return off > size || len > size - off;
}

/*
 * Whether the file holds every byte its headers promise: a file cut short
 * (truncated, or still being copied) is refused now rather than failing in
 * the middle of a lookup. The headers are read and kept from here on.
 */
static int check_extents(Elf *elf, const GElf_Ehdr *eh, size_t nr_scns, __u64 size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	/* libelf counts no sections when their table does not fit the file. */
	if ((eh->e_shnum && nr_scns != eh->e_shnum) ||
	    (nr_scns && beyond(eh->e_shoff, (__u64)nr_scns * eh->e_shentsize, size)))
		return -EIO;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -EIO;
		if (sh.sh_type != SHT_NOBITS && beyond(sh.sh_offset, sh.sh_size, size))
			return -EIO;
	}
	return 0;
}

static int elf_file_init(struct elf_file *ef, const struct elf_open_opts *opts)
{
	struct stat st;
	GElf_Shdr shdr;
	GElf_Ehdr eh;
	size_t i;
	int err;

	ef->root = strdup(opts && opts->root ? opts->root : "");
	ef->path = opts && opts->path ? strdup(opts->path) : NULL;
	if (!ef->root || (opts && opts->path && !ef->path))
		return -ENOMEM;
	if (fstat(ef->fd, &st))
		return -errno;
	/* A FIFO or a device would block or never end: only files are ELF files. */
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	ef->elf = elf_read(ef->fd);
	if (!ef->elf)
		return -EIO;
	if (elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh) ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || elf_getshdrnum(ef->elf, &ef->nr_scns))
		return -ENOEXEC;
	err = check_extents(ef->elf, &eh, ef->nr_scns, st.st_size);
	if (err)
		return err;
	ef->dyn = eh.e_type == ET_DYN;
	ef->has_symtab = find_scn(ef->elf, SHT_SYMTAB, &shdr) != NULL;
	read_build_id(ef->elf, ef->build_id, sizeof(ef->build_id));
	err = read_loads(ef);
	for (i = 0; !err && i < ef->nr_loads; i++)
		if (beyond(ef->loads[i].off, ef->loads[i].filesz, st.st_size))
			err = -EIO;
	return err;
}

static void dnames__free(struct dnames *t);
static void alt_close(struct elf_file *ef);

static void elf_file_destroy(struct elf_file *ef)
{
	symtab__free(&ef->st);
	dnames__free(&ef->dnames);
	/* The DWARF handles read their Elf's data: end them first. */
	dwarf_cfi_end(ef->eh_cfi);
	dwarf_end(ef->dwarf);
	alt_close(ef);
	while (ef->nr_pads)
		free(ef->pads[--ef->nr_pads]);
	free(ef->pads);
	elf_end(ef->dbg_elf);
	if (ef->dbg_fd >= 0)
		close(ef->dbg_fd);
	elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef->dbg_path);
	free(ef->loads);
	free(ef->root);
	free(ef->path);
	free(ef);
}

int elf_file__open(int fd, const struct elf_open_opts *opts, struct elf_file **out)
{
	struct elf_file *ef;
	int err;

	*out = NULL;
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		close(fd);
		return -ENOMEM;
	}
	ef->fd = fd;
	ef->dbg_fd = -1;
	ef->alt_fd = -1;
	ef->refs = 1;
	err = elf_file_init(ef, opts);
	if (err) {
		if (err != -ENOMEM)
			file_failed(ef, "open", err);
		elf_file_destroy(ef);
		return err;
	}
	*out = ef;
	return 0;
}

void elf_file__free(struct elf_file *ef)
{
	elf_file__put(ef);
}

const char *elf_file__build_id(const struct elf_file *ef)
{
	return ef->build_id;
}

bool elf_file__is_dyn(const struct elf_file *ef)
{
	return ef->dyn;
}

static bool name_matches(const char *sym, const char *name, size_t len)
{
	return !strncmp(sym, name, len) && (sym[len] == '\0' || sym[len] == '@');
}

static int find_func_in(Elf *elf, Elf64_Word type, const char *name, __u64 *vaddr, __u64 *size)
{
	__u64 best_vaddr = 0, best_size = 0;
	size_t len = strlen(name);
	int rank, best = -1, err;
	bool tie = false;
	struct sym_iter it;
	struct fsym fs;

	err = sym_iter__init(&it, elf, type);
	if (err)
		return err;
	while (sym_iter__next(&it, &fs)) {
		if (!name_matches(fs.name, name, len))
			continue;
		rank = (fs.hidden ? 0 : 4) + fs.bind_rank;
		if (rank == best && fs.value != best_vaddr)
			tie = true;
		if (rank <= best)
			continue;
		best = rank;
		tie = false;
		best_vaddr = fs.value;
		best_size = fs.size;
	}
	if (best < 0)
		return -ENOENT;
	if (tie)
		return -ENOTUNIQ;
	*vaddr = best_vaddr;
	*size = best_size;
	return 0;
}

/* Searches fd's table of that type on a handle of its own: see the top of this file. */
static int find_func_fd(struct elf_file *ef, int fd, size_t nr_scns, Elf64_Word type,
			const char *name, __u64 *vaddr, __u64 *size)
{
	Elf *elf = elf_pass(fd, nr_scns);
	int err;

	err = find_func_in(elf, type, name, vaddr, size);
	elf_end(elf);
	if (err == -EIO)
		file_failed(ef, "symbols", err);
	return err;
}

int elf_file__find_func(struct elf_file *ef, const char *name, bool dynamic_only,
			__u64 *vaddr, __u64 *size)
{
	int err;

	if (!dynamic_only && ef->has_symtab) {
		err = find_func_fd(ef, ef->fd, ef->nr_scns, SHT_SYMTAB, name, vaddr, size);
		if (err != -ENOENT)
			return err;
	}
	err = find_func_fd(ef, ef->fd, ef->nr_scns, SHT_DYNSYM, name, vaddr, size);
	if (err != -ENOENT || dynamic_only || !elf_file_debug(ef))
		return err;
	return find_func_fd(ef, ef->dbg_fd, ef->dbg_nr_scns, SHT_SYMTAB, name, vaddr, size);
}

int elf_file__vaddr_to_offset(const struct elf_file *ef, __u64 vaddr, __u64 *off)
{
	const struct load *l;
	size_t i;

	for (i = 0; i < ef->nr_loads; i++) {
		l = &ef->loads[i];
		if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*off = l->off + (vaddr - l->vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__offset_to_vaddr(const struct elf_file *ef, __u64 off, __u64 *vaddr)
{
	const struct load *l;
	size_t i;

	for (i = 0; i < ef->nr_loads; i++) {
		l = &ef->loads[i];
		if (off >= l->off && off - l->off < l->filesz) {
			*vaddr = l->vaddr + (off - l->off);
			return 0;
		}
	}
	return -ENOENT;
}

ssize_t elf_file__read(const struct elf_file *ef, __u64 off, void *buf, size_t len)
{
	ssize_t n;

	if (off > INT64_MAX)
		return -EINVAL;
	n = pread(ef->fd, buf, len, off);
	return n < 0 ? -errno : n;
}

int elf_file__load_symbols(struct elf_file *ef)
{
	int err;

	if (ef->syms_state != SYMS_TODO)
		return ef->syms_err;
	ef->syms_state = SYMS_SYMTAB;
	/*
	 * The debug file is looked up now for DWARF too, even with a .symtab:
	 * a container's root is gone once its process exits.
	 */
	if (!has_own_dwarf(ef))
		debug_elf(ef);
	err = ef->has_symtab ? symtab_from(&ef->st, ef->fd, ef->nr_scns, SHT_SYMTAB) : -ENOENT;
	if (err == -ENOENT && elf_file_debug(ef))
		err = symtab_from(&ef->st, ef->dbg_fd, ef->dbg_nr_scns, SHT_SYMTAB);
	if (err == -ENOENT) {
		ef->syms_state = SYMS_DYNSYM;
		err = symtab_from(&ef->st, ef->fd, ef->nr_scns, SHT_DYNSYM);
	}
	if (err == -ENOENT)
		err = 0;
	if (err == -EIO)
		file_failed(ef, "symbols", err);
	if (err)
		ef->syms_state = SYMS_FAILED;
	ef->syms_err = err;
	cache_account(ef);
	return err;
}

bool elf_file__has_debug_symbols(struct elf_file *ef)
{
	return !elf_file__load_symbols(ef) && ef->syms_state == SYMS_SYMTAB;
}

const char *elf_file__symbolize(struct elf_file *ef, __u64 vaddr, __u64 *start,
				const char **raw_name)
{
	size_t dem_bytes = ef->st.dem_bytes;
	const char *name;
	struct sym *s;

	if (elf_file__load_symbols(ef))
		return NULL;
	s = symtab__find(&ef->st, vaddr);
	if (!s)
		return NULL;
	if (start)
		*start = s->start;
	if (raw_name)
		*raw_name = ef->st.names + s->name;
	name = symtab__name(&ef->st, s);
	if (ef->st.dem_bytes != dem_bytes)
		cache_account(ef);
	return name;
}

/* DWARF: call frame information */

Dwarf_CFI *elf_file__eh_cfi(struct elf_file *ef)
{
	__u64 size;

	if (ef->eh_cfi_done)
		return ef->eh_cfi;
	ef->eh_cfi_done = true;
	/*
	 * Only through the section: without one, libdw sizes .eh_frame from
	 * PT_GNU_EH_FRAME with elf_rawfile(), which on our handles reads the
	 * whole file into the heap.
	 */
	size = section_bytes(ef->elf, ".eh_frame");
	if (!size)
		return NULL;
	ef->eh_cfi = dwarf_getcfi_elf(ef->elf);
	if (!ef->eh_cfi) {
		file_failed(ef, ".eh_frame", -EIO);
		return NULL;
	}
	/* Its bytes, read now, and the CIEs and FDEs libdw interns: up to as much again. */
	ef->dwarf_bytes += 2 * size + section_bytes(ef->elf, ".eh_frame_hdr");
	cache_account(ef);
	return ef->eh_cfi;
}

/*
 * Heap the DWARF will take: dwarf_begin_elf() reads every .debug_* section
 * (compressed ones inflated), pad_dwarf() copies it, plus about a quarter
 * of that for libdw's tables of the units, lines and names it reads.
 */
static size_t dwarf_estimate(Elf *elf)
{
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr shdr;
	GElf_Chdr chdr;
	size_t n = 0, strndx;

	if (!elf || elf_getshdrstrndx(elf, &strndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, strndx, shdr.sh_name);
		if (!name || strncmp(name, ".debug_", 7))
			continue;
		/* inflated, read, and its padded copy (pad_dwarf()) */
		if ((shdr.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &chdr))
			n += 2 * chdr.ch_size + chdr.ch_size / 4;
		else
			n += 2 * shdr.sh_size + shdr.sh_size / 4;
	}
	return n;
}

/*
 * libdw 0.188 reads some strings of DWARF sections with strlen(), unbounded
 * (file and directory names in a .debug_line header): over a section that
 * libelf read into a buffer of its exact size, garbage without a NUL reads
 * past it, into the heap (found by tests/fuzz/fuzz_elf). Mapped, it read
 * the rest of the file instead. So each .debug_* section, inflated if it
 * was compressed, is handed to libdw as a copy followed by zeroes.
 */
#define DWARF_PAD	64

static int pad_section(struct elf_file *ef, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data;
	void *buf, **v;

	if ((shdr->sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return 0;	/* libdw cannot read it either */
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || !data->d_size)
		return 0;
	v = realloc(ef->pads, (ef->nr_pads + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ef->pads = v;
	buf = calloc(1, data->d_size + DWARF_PAD);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, data->d_buf, data->d_size);
	data->d_buf = buf;	/* libelf frees its own buffer, not d_buf */
	ef->pads[ef->nr_pads++] = buf;
	return 0;
}

static int pad_dwarf(struct elf_file *ef, Elf *elf)
{
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr shdr;
	size_t strndx;
	int err;

	if (elf_getshdrstrndx(elf, &strndx))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, strndx, shdr.sh_name);
		if (name && !strncmp(name, ".debug_", 7) && (err = pad_section(ef, scn, &shdr)))
			return err;
	}
	return 0;
}

/* Opens a dwz file found under root at path; 0 or -errno. */
static int alt_try(struct elf_file *ef, const char *path, const char *bid)
{
	char got[sizeof(ef->build_id)];
	int fd;

	fd = procfs__open_file_in_root(ef->root, path);
	if (fd < 0)
		return fd;
	ef->alt_fd = fd;
	ef->alt_elf = elf_read(fd);
	if (!ef->alt_elf)
		return -EIO;
	read_build_id(ef->alt_elf, got, sizeof(got));
	if (strcmp(got, bid))
		return -ESTALE;
	if (pad_dwarf(ef, ef->alt_elf))
		return -ENOMEM;
	ef->alt_dwarf = dwarf_begin_elf(ef->alt_elf, DWARF_C_READ, NULL);
	return ef->alt_dwarf ? 0 : -EIO;
}

static void alt_close(struct elf_file *ef)
{
	dwarf_end(ef->alt_dwarf);
	elf_end(ef->alt_elf);
	if (ef->alt_fd >= 0)
		close(ef->alt_fd);
	ef->alt_dwarf = NULL;
	ef->alt_elf = NULL;
	ef->alt_fd = -1;
}

/*
 * The shared part of a dwz-compressed DWARF (.gnu_debugaltlink), looked up
 * here under root, by build id and then by the link's path: libdw would
 * open it itself, mapped (dwarf_begin() uses ELF_C_READ_MMAP) and outside
 * the process's root. 0 when there is no link or it is set; -ENOENT when
 * it is not found, and then the DWARF must not be used: libdw would go
 * looking for it on the first DIE that refers to it.
 */
static int dwarf_set_alt(struct elf_file *ef, Dwarf *dw)
{
	char bid[sizeof(ef->build_id)], path[PATH_MAX];
	const char *name;
	const void *id;
	ssize_t len;

	len = dwelf_dwarf_gnu_debugaltlink(dw, &name, &id);
	if (!len)
		return 0;
	if (len < 2 || (size_t)len * 2 >= sizeof(bid))
		return -ENOENT;
	hex_of(id, len, bid);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	if (alt_try(ef, path, bid)) {
		alt_close(ef);
		if (*name != '/' || alt_try(ef, name, bid)) {
			alt_close(ef);
			return -ENOENT;
		}
	}
	dwarf_setalt(dw, ef->alt_dwarf);
	ef->dwarf_bytes += dwarf_estimate(ef->alt_elf);
	return 0;
}

/*
 * Split DWARF (.dwo and .dwp files) libdw opens on its own, mapped, from
 * paths the file names (any directory at all): the DWARF of a file with
 * skeleton units is not used. Listing units reads no DIEs of theirs.
 */
static bool has_skeletons(Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	uint8_t type;

	while (!dwarf_get_units(dw, cu, &cu, NULL, &type, NULL, NULL))
		if (type == DW_UT_skeleton)
			return true;
	return false;
}

/* elf's DWARF, with its dwz part; NULL if there is none or it cannot be used safely. */
static Dwarf *dwarf_open(struct elf_file *ef, Elf *elf)
{
	Dwarf *dw = pad_dwarf(ef, elf) ? NULL : dwarf_begin_elf(elf, DWARF_C_READ, NULL);

	if (!dw) {
		/* Sections were there to read: they could not be. */
		if (has_section(elf, ".debug_info") || has_section(elf, ".debug_frame"))
			file_failed(ef, "DWARF", -EIO);
		return NULL;
	}
	if (dwarf_set_alt(ef, dw) || has_skeletons(dw)) {
		pr_debug("elf: DWARF of %s%s refers to other files, not used\n", ef->root,
			 ef->path ?: ef->build_id);
		dwarf_end(dw);
		return NULL;
	}
	return dw;
}

/*
 * The file's DWARF, opened once. libdw (since 0.165) inflates SHF_COMPRESSED
 * sections itself, as Debian's debug files have them. In a cache, DWARF
 * that alone would take more than the cache's budget is not read.
 */
static Dwarf *elf_file_dwarf(struct elf_file *ef)
{
	Elf *elf;
	size_t est;

	if (ef->dwarf_done)
		return ef->dwarf;
	ef->dwarf_done = true;
	elf = dwarf_elf(ef);
	if (!elf)
		return NULL;
	est = dwarf_estimate(elf);
	if (ef->cache && est > ef->cache->max_bytes) {
		ef->cache->stats.oversized++;
		pr_debug("elf: DWARF of %s%s would take %zu MiB, not read\n", ef->root,
			 ef->path ?: ef->build_id, est >> 20);
		return NULL;
	}
	ef->dwarf = dwarf_open(ef, elf);
	if (!ef->dwarf)
		return NULL;
	ef->has_lines = has_section(elf, ".debug_line") && has_section(elf, ".debug_info");
	ef->dwarf_bytes += est;
	cache_account(ef);
	return ef->dwarf;
}

Dwarf_CFI *elf_file__debug_cfi(struct elf_file *ef)
{
	Elf *elf;

	if (ef->dbg_cfi_done)
		return ef->dbg_cfi;
	ef->dbg_cfi_done = true;
	/* Look before opening: x86-64 code rarely has .debug_frame, and DWARF is big. */
	elf = dwarf_elf(ef);
	if (elf && has_section(elf, ".debug_frame") && elf_file_dwarf(ef))
		ef->dbg_cfi = dwarf_getcfi(ef->dwarf);
	return ef->dbg_cfi;
}

/* DWARF: source lines and inline chains */

static void dnames__free(struct dnames *t)
{
	size_t i;

	for (i = 0; t->v && i <= t->mask; i++)
		free(t->v[i].dem);
	free(t->v);
}

/* Doubles the slots; false if that fails. */
static bool dnames__grow(struct dnames *t)
{
	size_t i, j, nr = t->v ? 2 * (t->mask + 1) : DNAMES_MIN;
	struct dname *v = calloc(nr, sizeof(*v));

	if (!v)
		return false;
	for (i = 0; t->v && i <= t->mask; i++) {
		if (!t->v[i].raw)
			continue;
		for (j = hash_str(t->v[i].raw) & (nr - 1); v[j].raw; j = (j + 1) & (nr - 1))
			;
		v[j] = t->v[i];
	}
	t->bytes += (nr - (t->v ? t->mask + 1 : 0)) * sizeof(*v);
	free(t->v);
	t->v = v;
	t->mask = nr - 1;
	return true;
}

/* raw demangled, kept for the file's life; raw itself if it is not a C++ name. */
static const char *dnames__get(struct dnames *t, const char *raw)
{
	struct dname *d;
	size_t i;

	if (strncmp(raw, "_Z", 2))
		return raw;
	if ((!t->v || 2 * (t->nr + 1) > t->mask + 1) && !dnames__grow(t))
		return raw;
	for (i = hash_str(raw) & t->mask; t->v[i].raw; i = (i + 1) & t->mask)
		if (!strcmp(t->v[i].raw, raw))
			return t->v[i].dem ?: raw;
	d = &t->v[i];
	d->raw = raw;
	d->dem = demangle(raw);
	t->nr++;
	if (d->dem)
		t->bytes += strlen(d->dem) + 1;
	return d->dem ?: raw;
}

/*
 * The CU that holds vaddr, through .debug_aranges; files without them (clang
 * emits none by default) have their CUs' ranges walked.
 */
static bool find_cu(Dwarf *dw, __u64 vaddr, Dwarf_Die *cu)
{
	Dwarf_Aranges *ar;
	Dwarf_Off off = 0, next;
	size_t hsize, nr = 0;

	if (dwarf_addrdie(dw, vaddr, cu))
		return true;
	if (dwarf_getaranges(dw, &ar, &nr) == 0 && nr)
		return false;
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, vaddr) > 0)
			return true;
		off = next;
	}
	return false;
}

static const char *die_linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	return name ?: dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
}

/*
 * The frame of a function scope at file:line. Names come through
 * DW_AT_abstract_origin and DW_AT_specification (dwarf_diename() follows
 * them too), so an inlined or out-of-line C++ member gets its full name.
 */
static bool line_fill(struct elf_file *ef, Dwarf_Die *fn, const char *file, int line,
		      struct elf_line *out)
{
	const char *link = die_linkage_name(fn);

	out->raw = link ?: dwarf_diename(fn);
	out->func = link ? dnames__get(&ef->dnames, link) : out->raw;
	out->file = file;
	out->line = line;
	return out->func != NULL;
}

/* Where an inlined instance was inlined: DW_AT_call_file/call_line in its own CU's terms. */
static void call_site(Dwarf_Die *inl, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word idx, ln;
	Dwarf_Die cu;
	size_t nr;

	*file = NULL;
	*line = 0;
	if (!dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &ln))
		*line = ln;
	/* The inlined instance may sit in a dwz partial unit: its own line table counts. */
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &idx) ||
	    !dwarf_diecu(inl, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nr) ||
	    idx >= nr)
		return;
	*file = dwarf_filesrc(files, idx, NULL, NULL);
}

/* Walks the scopes at vaddr, innermost first; the subprogram ends the chain. */
static int lines_from_scopes(struct elf_file *ef, Dwarf_Die *scopes, int nr_scopes,
			     const char *file, int line, struct elf_line *out, int max)
{
	int i, tag, nr = 0;

	for (i = 0; i < nr_scopes; i++) {
		tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		/*
		 * Past max - 1, only the containing function still gets a slot;
		 * it keeps it even unnamed (the symbol table may name it).
		 */
		if (tag == DW_TAG_subprogram) {
			line_fill(ef, &scopes[i], file, line, &out[nr++]);
			break;
		}
		if (nr < max - 1 && line_fill(ef, &scopes[i], file, line, &out[nr]))
			nr++;
		call_site(&scopes[i], &file, &line);
	}
	return nr;
}

/*
 * The concrete scopes around vaddr, innermost first, up to the CU.
 * dwarf_getscopes() continues past an inlined instance into the scopes
 * of its abstract origin (where inl() was defined, not where it was
 * inlined), so only its innermost scope is kept, and that DIE's own
 * parents are walked.
 */
static int innermost_scopes(Dwarf_Die *cu, __u64 vaddr, Dwarf_Die **scopes)
{
	Dwarf_Die *first = NULL, inner;
	int n;

	n = dwarf_getscopes(cu, vaddr, &first);
	if (n <= 0) {
		free(first);
		return n;
	}
	inner = first[0];
	free(first);
	return dwarf_getscopes_die(&inner, scopes);
}

int elf_file__lines(struct elf_file *ef, __u64 vaddr, struct elf_line *out, int max)
{
	Dwarf_Die cu, *scopes = NULL;
	const char *file = NULL;
	Dwarf_Line *dl;
	Dwarf *dw;
	int nr_scopes, nr, line = 0;

	if (max <= 0)
		return -EINVAL;
	dw = elf_file_dwarf(ef);
	if (!dw || !find_cu(dw, vaddr, &cu))
		return 0;
	dl = dwarf_getsrc_die(&cu, vaddr);
	if (dl) {
		file = dwarf_linesrc(dl, NULL, NULL);
		dwarf_lineno(dl, &line);
	}
	nr_scopes = innermost_scopes(&cu, vaddr, &scopes);
	nr = nr_scopes > 0 ? lines_from_scopes(ef, scopes, nr_scopes, file, line, out, max) : 0;
	free(scopes);
	/* Assembly has lines but no subprogram DIEs: the ELF symbol names it. */
	if (!nr && dl) {
		out->func = elf_file__symbolize(ef, vaddr, NULL, &out->raw);
		out->file = file;
		out->line = line;
		nr = out->func ? 1 : 0;
	}
	if (nr && !out[nr - 1].func)
		out[nr - 1].func = elf_file__symbolize(ef, vaddr, NULL, &out[nr - 1].raw);
	if (ef->dnames.bytes)
		cache_account(ef);
	return nr;
}

bool elf_file__has_lines(struct elf_file *ef)
{
	return elf_file_dwarf(ef) && ef->has_lines;
}

/* The cache */

static size_t elf_file_bytes(const struct elf_file *ef)
{
	size_t n = sizeof(*ef) + ef->nr_loads * sizeof(*ef->loads);

	n += (ef->nr_scns + ef->dbg_nr_scns) * LIBELF_SCN_BYTES;
	n += ef->st.nr * sizeof(*ef->st.syms) + ef->st.names_len + ef->st.dem_bytes;
	n += ef->dwarf_bytes + ef->dnames.bytes;
	return n;
}

static void cache_account(struct elf_file *ef)
{
	size_t bytes;

	if (!ef->cache)
		return;
	bytes = elf_file_bytes(ef);
	ef->cache->stats.bytes -= ef->charged;
	ef->cache->stats.bytes += bytes;
	ef->charged = bytes;
}

static size_t hash_str(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int htab__init(struct htab *h)
{
	h->b = calloc(HTAB_MIN_BUCKETS, sizeof(*h->b));
	h->mask = HTAB_MIN_BUCKETS - 1;
	h->nr = 0;
	return h->b ? 0 : -ENOMEM;
}

static struct elf_file *htab__find(const struct htab *h, const char *key)
{
	struct hnode *n;

	for (n = h->b[hash_str(key) & h->mask]; n; n = n->next)
		if (!strcmp(n->key, key))
			return n->ef;
	return NULL;
}

/* Doubles the buckets when full; keeps the old ones if that fails. */
static void htab__grow(struct htab *h)
{
	size_t i, nr = 2 * (h->mask + 1);
	struct hnode **b, *n, *next;

	b = calloc(nr, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i <= h->mask; i++) {
		for (n = h->b[i]; n; n = next) {
			next = n->next;
			n->next = b[hash_str(n->key) & (nr - 1)];
			b[hash_str(n->key) & (nr - 1)] = n;
		}
	}
	free(h->b);
	h->b = b;
	h->mask = nr - 1;
}

static void htab__add(struct htab *h, struct hnode *n)
{
	struct hnode **head;

	if (h->nr > h->mask)
		htab__grow(h);
	head = &h->b[hash_str(n->key) & h->mask];
	n->next = *head;
	*head = n;
	h->nr++;
}

static void htab__del(struct htab *h, struct hnode *n)
{
	struct hnode **p;

	for (p = &h->b[hash_str(n->key) & h->mask]; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			h->nr--;
			return;
		}
	}
}

static void lru_push(struct elf_cache *c, struct elf_file *ef)
{
	ef->lru_prev = NULL;
	ef->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = ef;
	else
		c->lru_tail = ef;
	c->lru_head = ef;
}

static void lru_del(struct elf_cache *c, struct elf_file *ef)
{
	if (ef->lru_prev)
		ef->lru_prev->lru_next = ef->lru_next;
	else
		c->lru_head = ef->lru_next;
	if (ef->lru_next)
		ef->lru_next->lru_prev = ef->lru_prev;
	else
		c->lru_tail = ef->lru_prev;
	ef->lru_prev = ef->lru_next = NULL;
}

struct elf_cache *elf_cache__new(size_t max_bytes)
{
	struct elf_cache *c = calloc(1, sizeof(*c));

	if (!c || htab__init(&c->by_stat) || htab__init(&c->by_bid)) {
		if (c) {
			free(c->by_stat.b);
			free(c);
		}
		errno = ENOMEM;
		return NULL;
	}
	c->max_bytes = max_bytes;
	return c;
}

void elf_cache__free(struct elf_cache *c)
{
	struct hnode *n, *next;
	size_t i;

	if (!c)
		return;
	for (i = 0; i <= c->by_stat.mask; i++) {
		for (n = c->by_stat.b[i]; n; n = next) {
			next = n->next;
			/* A file in use lives on uncached: its last put frees it. */
			n->ef->cache = NULL;
			if (!n->ef->refs)
				elf_file_destroy(n->ef);
		}
	}
	free(c->by_stat.b);
	free(c->by_bid.b);
	free(c);
}

static int stat_key(int fd, char *key, size_t size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	snprintf(key, size, "%llx:%llx:%llx:%llx.%lx", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	return 0;
}

static struct elf_file *cache_ref(struct elf_cache *c, struct elf_file *ef)
{
	c->stats.hits++;
	if (!ef->refs++)
		lru_del(c, ef);
	return ef;
}

static void cache_insert(struct elf_cache *c, struct elf_file *ef, const char *key)
{
	ef->cache = c;
	snprintf(ef->stat_key, sizeof(ef->stat_key), "%s", key);
	ef->stat_node = (struct hnode){ .key = ef->stat_key, .ef = ef };
	htab__add(&c->by_stat, &ef->stat_node);
	if (*ef->build_id) {
		ef->bid_node = (struct hnode){ .key = ef->build_id, .ef = ef };
		htab__add(&c->by_bid, &ef->bid_node);
	}
	c->stats.misses++;
	c->stats.files++;
	cache_account(ef);
}

/* Drops least recently released files while over budget; files in use stay. */
static void cache_evict(struct elf_cache *c)
{
	struct elf_file *ef;

	while (c->stats.bytes > c->max_bytes && (ef = c->lru_tail)) {
		lru_del(c, ef);
		htab__del(&c->by_stat, &ef->stat_node);
		if (*ef->build_id)
			htab__del(&c->by_bid, &ef->bid_node);
		c->stats.bytes -= ef->charged;
		c->stats.files--;
		c->stats.evictions++;
		elf_file_destroy(ef);
	}
}

int elf_cache__get(struct elf_cache *c, int fd, const struct elf_open_opts *opts,
		   struct elf_file **out)
{
	char key[STAT_KEY_LEN];
	struct elf_file *ef, *hit;
	int err;

	*out = NULL;
	err = stat_key(fd, key, sizeof(key));
	if (err) {
		close(fd);
		return err;
	}
	/* The same inode: no need to parse it again. */
	hit = htab__find(&c->by_stat, key);
	if (hit) {
		close(fd);
		*out = cache_ref(c, hit);
		return 0;
	}
	err = elf_file__open(fd, opts, &ef);
	if (err)
		return err;
	/* The same contents under another inode, e.g. in another container. */
	hit = *ef->build_id ? htab__find(&c->by_bid, ef->build_id) : NULL;
	if (hit) {
		elf_file__free(ef);
		*out = cache_ref(c, hit);
		return 0;
	}
	cache_insert(c, ef, key);
	cache_evict(c);
	*out = ef;
	return 0;
}

void elf_file__put(struct elf_file *ef)
{
	if (!ef || --ef->refs > 0)
		return;
	if (!ef->cache) {
		elf_file_destroy(ef);
		return;
	}
	lru_push(ef->cache, ef);
	cache_evict(ef->cache);
}

struct elf_file *elf_file__get(struct elf_file *ef)
{
	if (!ef->refs++ && ef->cache)
		lru_del(ef->cache, ef);
	return ef;
}

void elf_cache__stats(const struct elf_cache *c, struct elf_cache_stats *st)
{
	*st = c->stats;
}
