// SPDX-License-Identifier: GPL-2.0-only
/* symbolizer.c - process address spaces over a shared ELF cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "log.h"
#include "procfs.h"
#include "symbolizer.h"

struct symbolizer {
	struct elf_cache *cache;
};

struct addr_space {
	struct symbolizer *sym;
	pid_t pid;
	struct proc_maps *maps;		/* executable file mappings only */
	struct elf_file **files;	/* per mapping; NULL if it could not be opened */
	char root[64];			/* prefix for debug files: "" on the host */
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
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (!stat("/", &ours) && !stat(path, &theirs) && ours.st_dev == theirs.st_dev &&
	    ours.st_ino == theirs.st_ino)
		root[0] = '\0';
	else
		snprintf(root, len, "%s", path);
}

/* Keeps executable mappings; the vDSO and anonymous code stay as "no file". */
static void keep_exec(struct proc_maps *m)
{
	size_t i, j = 0;

	for (i = 0; i < m->nr; i++)
		if (m->maps[i].exec)
			m->maps[j++] = m->maps[i];
	m->nr = j;
}

static struct elf_file *open_file(struct addr_space *as, const struct proc_map *pm)
{
	struct elf_open_opts opts = { .root = as->root, .path = pm->path };
	struct elf_file *ef;
	int fd;

	if (!proc_map__is_file(pm))
		return NULL;
	fd = procfs__open_mapped(as->pid, pm);
	if (fd < 0) {
		pr_debug("pid %d: cannot open %s: %s\n", as->pid, pm->path, strerror(-fd));
		return NULL;
	}
	if (elf_cache__get(as->sym->cache, fd, &opts, &ef))
		return NULL;
	/*
	 * Symbols (and separate debug files, found under the process's root)
	 * are read now: a container's root is gone once its process exits.
	 */
	elf_file__load_symbols(ef);
	return ef;
}

/*
 * Reads the maps and opens the files behind them. Files already cached
 * (by build id) are not read again: the cache hands back its copy.
 */
static int load(struct addr_space *as)
{
	struct proc_maps *maps;
	struct elf_file **files;
	size_t i;
	int err;

	err = procfs__read_maps(as->pid, &maps);
	if (err)
		return err;
	keep_exec(maps);
	files = calloc(maps->nr ? maps->nr : 1, sizeof(*files));
	if (!files) {
		proc_maps__free(maps);
		return -ENOMEM;
	}
	for (i = 0; i < maps->nr; i++)
		files[i] = open_file(as, &maps->maps[i]);
	as->maps = maps;
	as->files = files;
	return 0;
}

static void unload(struct addr_space *as)
{
	size_t i;

	for (i = 0; as->maps && i < as->maps->nr; i++)
		elf_file__put(as->files[i]);
	free(as->files);
	proc_maps__free(as->maps);
	as->files = NULL;
	as->maps = NULL;
}

int symbolizer__snapshot(struct symbolizer *s, pid_t pid, struct addr_space **out)
{
	struct addr_space *as = calloc(1, sizeof(*as));
	int err;

	if (!as)
		return -ENOMEM;
	as->sym = s;
	as->pid = pid;
	pick_root(pid, as->root, sizeof(as->root));
	err = load(as);
	if (err) {
		free(as);
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
	unload(&old);
	return 0;
}

void addr_space__free(struct addr_space *as)
{
	if (!as)
		return;
	unload(as);
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
	out->path = pm->path[0] ? pm->path : "[anon]";
	out->build_id = as->files[i] ? elf_file__build_id(as->files[i]) : "";
	out->symbolized = as->files[i] != NULL;
	out->has_lines = as->files[i] && elf_file__has_lines(as->files[i]);
}
