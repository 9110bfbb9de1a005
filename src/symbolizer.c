// SPDX-License-Identifier: GPL-2.0-only
/*
 * symbolizer.c - process address spaces over a shared ELF cache.
 *
 * Code without a file is named too: the vDSO from a copy of our own (one
 * image per kernel), JIT code from the perf map its runtime writes
 * (/tmp/perf-PID.map, as perf reads it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "log.h"
#include "procfs.h"
#include "symbolizer.h"

/* A perf map bigger than this is read only this far: a runaway JIT's log. */
#define PERF_MAP_MAX	(64 << 20)

struct symbolizer {
	struct elf_cache *cache;
	struct elf_file *vdso;		/* a copy of our own vDSO; NULL if unreadable */
	__u64 vdso_size;		/* the size of our [vdso] mapping */
	bool vdso_done;
};

/* A function of JIT code, as a perf map names it. */
struct jit_sym {
	__u64 start, end;
	size_t name;			/* offset in jit_map.names */
	size_t line;			/* the later line wins for the same start */
};

struct jit_map {
	struct jit_sym *syms;		/* sorted by start, one per start */
	size_t nr, syms_cap;
	char *names;
	size_t names_len, names_cap;
};

struct addr_space {
	struct symbolizer *sym;
	pid_t pid;
	struct proc_maps *maps;		/* executable mappings only */
	struct elf_file **files;	/* per mapping; NULL if it could not be opened */
	struct jit_map *jit;		/* the process's perf map; NULL if none */
	char root[64];			/* prefix for debug files: "" on the host */
	int root_fd;			/* a kept image's root (its pid is gone), or -1 */
	bool kept;			/* from a kept image: never read again */
};

struct symbolizer *symbolizer__new(size_t cache_bytes)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cache = elf_cache__new(cache_bytes);
	if (!s->cache) {
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	elf_file__put(s->vdso);
	elf_cache__free(s->cache);
	free(s);
}

void symbolizer__cache_stats(const struct symbolizer *s, struct elf_cache_stats *st)
{
	elf_cache__stats(s->cache, st);
}

/* Debug files of a process in another mount namespace are under its root. */
static void pick_root(pid_t pid, char *root, size_t len)
{
	if (procfs__own_root(pid))
		root[0] = '\0';
	else
		snprintf(root, len, "/proc/%d/root", pid);
}

/* Keeps executable mappings: files, the vDSO, and code without a file (JIT). */
static void keep_exec(struct proc_maps *m)
{
	size_t i, j = 0;

	for (i = 0; i < m->nr; i++)
		if (m->maps[i].exec)
			m->maps[j++] = m->maps[i];
	m->nr = j;
}

/* The vDSO */

/* The size of our own [vdso] mapping at base: the whole image. */
static int own_vdso_size(unsigned long base, __u64 *size)
{
	const struct proc_map *pm;
	struct proc_maps *m;
	int err;

	err = procfs__read_maps(getpid(), &m);
	if (err)
		return err;
	pm = proc_maps__find(m, base);
	err = -ENOENT;
	if (pm && pm->start == base && !strcmp(pm->path, "[vdso]")) {
		*size = pm->end - pm->start;
		err = 0;
	}
	proc_maps__free(m);
	return err;
}

/*
 * The kernel maps one vDSO image into every process of an ABI, so ours,
 * copied once into a memfd, names and unwinds everyone's. It is linked at
 * 0 (older kernels: at a fixed address) and mapped from offset 0, so its
 * ELF vaddrs follow from the mapping as a file's do. Its debug file, if
 * the kernel's debug package put one under the host's
 * /usr/lib/debug/.build-id, is found by build id.
 */
static struct elf_file *vdso_get(struct symbolizer *s)
{
	struct elf_open_opts opts = { .root = "" };
	unsigned long base;
	__u64 size;
	int fd;

	if (s->vdso_done)
		return s->vdso;
	s->vdso_done = true;
	base = getauxval(AT_SYSINFO_EHDR);
	if (!base || own_vdso_size(base, &size))
		return NULL;
	fd = memfd_create("vdso", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (write(fd, (const void *)base, size) != (ssize_t)size) {
		close(fd);
		return NULL;
	}
	if (elf_file__open(fd, &opts, &s->vdso)) {
		pr_debug("cannot read our own vDSO\n");
		return NULL;
	}
	elf_file__load_symbols(s->vdso);
	s->vdso_size = size;
	return s->vdso;
}

/* Another image than ours (a 32-bit process) stays unnamed. */
static struct elf_file *open_vdso(struct addr_space *as, const struct proc_map *pm)
{
	struct elf_file *ef = vdso_get(as->sym);

	if (!ef || pm->end - pm->start != as->sym->vdso_size)
		return NULL;
	return elf_file__get(ef);
}

/* JIT code: perf maps */

/* Code a perf map may name: anonymous, or in a file that is not ELF (a memfd). */
static bool jit_candidate(const struct proc_map *pm, const struct elf_file *ef)
{
	return !ef && (pm->path[0] != '[' || !strncmp(pm->path, "[anon:", 6));
}

static void jit_map__free(struct jit_map *m)
{
	if (!m)
		return;
	free(m->syms);
	free(m->names);
	free(m);
}

static int jit_sym_cmp(const void *pa, const void *pb)
{
	const struct jit_sym *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Sorted by start; of the lines for one start (code replaced), the last is kept. */
static void jit_map__sort(struct jit_map *m)
{
	size_t i, j = 0;

	qsort(m->syms, m->nr, sizeof(*m->syms), jit_sym_cmp);
	for (i = 0; i < m->nr; i++) {
		if (j && m->syms[j - 1].start == m->syms[i].start)
			j--;
		m->syms[j++] = m->syms[i];
	}
	m->nr = j;
}

/* One "START SIZE name" line, the numbers in hex; false for anything else. */
static bool jit_line_parse(const char *line, __u64 *start, __u64 *size, const char **name,
			   size_t *len)
{
	char *end;

	*start = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return false;
	line = end + 1;
	*size = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || !*size || *start + *size < *start)
		return false;
	*name = end + 1;
	*len = strcspn(*name, "\n");
	return *len > 0;
}

static int jit_map__add(struct jit_map *m, __u64 start, __u64 size, const char *name,
			size_t len)
{
	struct jit_sym *v;
	char *n;

	if (m->nr == m->syms_cap) {
		v = realloc(m->syms, (m->syms_cap ? 2 * m->syms_cap : 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->syms = v;
		m->syms_cap = m->syms_cap ? 2 * m->syms_cap : 64;
	}
	if (m->names_len + len + 1 > m->names_cap) {
		n = realloc(m->names, 2 * (m->names_len + len + 1));
		if (!n)
			return -ENOMEM;
		m->names = n;
		m->names_cap = 2 * (m->names_len + len + 1);
	}
	memcpy(m->names + m->names_len, name, len);
	m->names[m->names_len + len] = '\0';
	m->syms[m->nr] = (struct jit_sym){ start, start + size, m->names_len, m->nr };
	m->nr++;
	m->names_len += len + 1;
	return 0;
}

static int jit_map__parse(struct jit_map *m, FILE *f)
{
	size_t line_cap = 0, total = 0, len;
	__u64 start, size;
	const char *name;
	char *line = NULL;
	ssize_t n;
	int err = 0;

	while (!err && total < PERF_MAP_MAX && (n = getline(&line, &line_cap, f)) > 0) {
		total += n;
		if (jit_line_parse(line, &start, &size, &name, &len))
			err = jit_map__add(m, start, size, name, len);
	}
	free(line);
	if (!err)
		jit_map__sort(m);
	return err;
}

/*
 * The perf map of a process, inside its mount namespace and under the pid
 * it knows itself by: /tmp/perf-NSPID.map under /proc/PID/root. Only a
 * regular file of the process's owner (or root) is believed: anyone can
 * write to /tmp.
 */
static int jit_map__read(pid_t pid, struct jit_map **out)
{
	char proc_dir[32], root[64], path[64];
	struct stat st, proc;
	struct jit_map *m;
	FILE *f;
	int fd, err;

	snprintf(proc_dir, sizeof(proc_dir), "/proc/%d", pid);
	snprintf(root, sizeof(root), "%s/root", proc_dir);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", procfs__nspid(pid));
	fd = procfs__open_in_root(root, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	/* /proc/PID belongs to the process's effective uid. */
	if (fstat(fd, &st) || stat(proc_dir, &proc) || !S_ISREG(st.st_mode) ||
	    (st.st_uid && st.st_uid != proc.st_uid)) {
		close(fd);
		return -EPERM;
	}
	m = calloc(1, sizeof(*m));
	f = m ? fdopen(fd, "re") : NULL;
	if (!f) {
		free(m);
		close(fd);
		return -ENOMEM;
	}
	err = jit_map__parse(m, f);
	fclose(f);
	if (err) {
		jit_map__free(m);
		return err;
	}
	*out = m;
	return 0;
}

/* The number of symbols that start at or below addr. */
static size_t jit_map__upper(const struct jit_map *m, __u64 addr)
{
	size_t lo = 0, hi = m->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *jit_map__find(const struct jit_map *m, __u64 addr)
{
	size_t i = m ? jit_map__upper(m, addr) : 0;

	return i && addr < m->syms[i - 1].end ? m->names + m->syms[i - 1].name : NULL;
}

/* Whether any symbol lies in [start, end). */
static bool jit_map__covers(const struct jit_map *m, __u64 start, __u64 end)
{
	size_t i = m ? jit_map__upper(m, end - 1) : 0;

	return i && m->syms[i - 1].end > start;
}

/* Reads the perf map if some code has no file to name it. */
static struct jit_map *load_jit(struct addr_space *as, struct proc_maps *maps,
				struct elf_file **files)
{
	struct jit_map *m = NULL;
	size_t i;
	int err;

	for (i = 0; i < maps->nr && !jit_candidate(&maps->maps[i], files[i]); i++)
		;
	if (i == maps->nr)
		return NULL;
	err = jit_map__read(as->pid, &m);
	if (err && err != -ENOENT)
		pr_debug("pid %d: no perf map: %s\n", as->pid, strerror(-err));
	return m;
}

/* Mappings */

static struct elf_file *open_file(struct addr_space *as, const struct proc_map *pm)
{
	struct elf_open_opts opts = { .root = as->root, .path = pm->path };
	struct elf_file *ef;
	int fd;

	if (!strcmp(pm->path, "[vdso]"))
		return open_vdso(as, pm);
	if (!proc_map__is_file(pm))
		return NULL;
	fd = as->kept ? procfs__open_under(as->root, pm) : procfs__open_mapped(as->pid, pm);
	if (fd < 0) {
		pr_debug("pid %d: cannot open %s: %s\n", as->pid, pm->path, strerror(-fd));
		return NULL;
	}
	/* A file that cannot be read was counted and logged by the cache. */
	if (elf_cache__get(as->sym->cache, fd, &opts, &ef))
		return NULL;
	pr_debug("pid %d: opened %s\n", as->pid, pm->path);
	/*
	 * Symbols (and separate debug files, found under the process's root)
	 * are read now: a container's root is gone once its process exits.
	 */
	elf_file__load_symbols(ef);
	return ef;
}

/*
 * Opens the files behind the maps. Files already cached (by build id) are
 * not read again: the cache hands back its copy.
 */
static int load_maps(struct addr_space *as, struct proc_maps *maps)
{
	struct elf_file **files;
	size_t i;

	keep_exec(maps);
	files = calloc(maps->nr ? maps->nr : 1, sizeof(*files));
	if (!files) {
		proc_maps__free(maps);
		return -ENOMEM;
	}
	for (i = 0; i < maps->nr; i++)
		files[i] = open_file(as, &maps->maps[i]);
	as->jit = as->kept ? NULL : load_jit(as, maps, files);
	as->maps = maps;
	as->files = files;
	return 0;
}

static int load(struct addr_space *as)
{
	struct proc_maps *maps;
	int err;

	if (as->kept)
		return -ESRCH;
	err = procfs__read_maps(as->pid, &maps);
	return err ?: load_maps(as, maps);
}

static void unload(struct addr_space *as)
{
	size_t i;

	for (i = 0; as->maps && i < as->maps->nr; i++)
		elf_file__put(as->files[i]);
	free(as->files);
	proc_maps__free(as->maps);
	jit_map__free(as->jit);
	as->files = NULL;
	as->maps = NULL;
	as->jit = NULL;
}

static struct addr_space *addr_space__new(struct symbolizer *s, pid_t pid)
{
	struct addr_space *as = calloc(1, sizeof(*as));

	if (!as)
		return NULL;
	as->sym = s;
	as->pid = pid;
	as->root_fd = -1;
	return as;
}

int symbolizer__snapshot(struct symbolizer *s, pid_t pid, struct addr_space **out)
{
	struct addr_space *as = addr_space__new(s, pid);
	int err;

	if (!as)
		return -ENOMEM;
	pick_root(pid, as->root, sizeof(as->root));
	err = load(as);
	if (err) {
		free(as);
		return err;
	}
	*out = as;
	return 0;
}

/*
 * The process may be gone: its files are opened by path under its root,
 * held open in the image (a container's root directory outlives it).
 */
int symbolizer__snapshot_image(struct symbolizer *s, struct proc_image *im,
			       struct addr_space **out)
{
	struct addr_space *as = addr_space__new(s, im->pid);
	int err;

	if (!as)
		return -ENOMEM;
	as->kept = true;
	as->root_fd = im->root_fd;
	im->root_fd = -1;
	if (as->root_fd >= 0)
		snprintf(as->root, sizeof(as->root), "/proc/self/fd/%d", as->root_fd);
	err = load_maps(as, im->maps);
	im->maps = NULL;
	if (err) {
		addr_space__free(as);
		return err;
	}
	*out = as;
	return 0;
}

int addr_space__refresh(struct addr_space *as)
{
	struct addr_space old = *as;
	int err;

	err = load(as);
	if (err) {
		*as = old;	/* keep what we had: the process may be gone */
		return err;
	}
	/* A JIT may remove its perf map at exit: the code it named stays named. */
	if (!as->jit) {
		as->jit = old.jit;
		old.jit = NULL;
	}
	unload(&old);
	return 0;
}

void addr_space__free(struct addr_space *as)
{
	if (!as)
		return;
	unload(as);
	if (as->root_fd >= 0)
		close(as->root_fd);
	free(as);
}

pid_t addr_space__pid(const struct addr_space *as)
{
	return as->pid;
}

int addr_space__locate(struct addr_space *as, __u64 addr, struct elf_file **ef, __u64 *vaddr)
{
	const struct proc_map *pm = proc_maps__find(as->maps, addr);

	if (!pm)
		return -ENOENT;
	*ef = as->files[pm - as->maps->maps];
	if (!*ef || elf_file__offset_to_vaddr(*ef, addr - pm->start + pm->pgoff, vaddr))
		return -ENODATA;
	return 0;
}

int addr_space__lookup(struct addr_space *as, __u64 addr, struct sym_frame *out)
{
	const struct proc_map *pm = proc_maps__find(as->maps, addr);
	struct elf_file *ef;
	__u64 vaddr, start;

	memset(out, 0, sizeof(*out));
	if (!pm)
		return -ENOENT;
	out->map = pm;
	out->map_index = pm - as->maps->maps;
	ef = as->files[out->map_index];
	if (jit_candidate(pm, ef)) {
		out->func = out->raw = jit_map__find(as->jit, addr);
		return 0;
	}
	if (!ef || elf_file__offset_to_vaddr(ef, addr - pm->start + pm->pgoff, &vaddr))
		return 0;
	out->func = elf_file__symbolize(ef, vaddr, &start, &out->raw);
	return 0;
}

int addr_space__lines(struct addr_space *as, __u64 addr, struct elf_line *out, int max)
{
	struct elf_file *ef;
	__u64 vaddr;
	int err;

	err = addr_space__locate(as, addr, &ef, &vaddr);
	if (err)
		return err == -ENODATA ? 0 : err;
	return elf_file__lines(ef, vaddr, out, max);
}

int addr_space__nr_mappings(const struct addr_space *as)
{
	return as->maps ? as->maps->nr : 0;
}

void addr_space__mapping(const struct addr_space *as, int i, struct sym_mapping *out)
{
	const struct proc_map *pm = &as->maps->maps[i];

	out->start = pm->start;
	out->end = pm->end;
	out->pgoff = pm->pgoff;
	out->path = pm->path;
	/* pprof leaves names in brackets alone: it does not look for such files. */
	if (!pm->path[0])
		out->path = jit_map__covers(as->jit, pm->start, pm->end) ? "[jit]" : "[anon]";
	out->build_id = as->files[i] ? elf_file__build_id(as->files[i]) : "";
	out->symbolized = as->files[i] != NULL;
	out->has_lines = as->files[i] && elf_file__has_lines(as->files[i]);
}
