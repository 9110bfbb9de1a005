// SPDX-License-Identifier: GPL-2.0-only
/* attach.c - which object provides malloc, and where to probe it. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocscope.h"
#include "attach.h"
#include "elffile.h"
#include "log.h"
#include "procfs.h"
#include "x86.h"

/*
 * The allocator API. Aliases (glibc's memalign is aligned_alloc) share an
 * address and get one probe: the first row wins, so keep the common names
 * first. C++ operator new/delete are probed only in objects that define
 * them together with malloc (jemalloc, tcmalloc, mimalloc); libstdc++'s
 * operator new calls malloc and is seen there.
 */
static const struct {
	const char *name;
	enum as_fn fn;
} alloc_syms[] = {
	{ "malloc", AS_FN_MALLOC },
	{ "calloc", AS_FN_CALLOC },
	{ "realloc", AS_FN_REALLOC },
	{ "reallocarray", AS_FN_REALLOCARRAY },
	{ "posix_memalign", AS_FN_POSIX_MEMALIGN },
	{ "aligned_alloc", AS_FN_ALIGNED_ALLOC },
	{ "memalign", AS_FN_ALIGNED_ALLOC },
	{ "valloc", AS_FN_VALLOC },
	{ "pvalloc", AS_FN_PVALLOC },
	{ "_Znwm", AS_FN_NEW },
	{ "_Znam", AS_FN_NEW },
	{ "_ZnwmRKSt9nothrow_t", AS_FN_NEW },
	{ "_ZnamRKSt9nothrow_t", AS_FN_NEW },
	{ "_ZnwmSt11align_val_t", AS_FN_NEW },
	{ "_ZnamSt11align_val_t", AS_FN_NEW },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", AS_FN_NEW },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", AS_FN_NEW },
	{ "free", AS_FN_FREE },
	{ "cfree", AS_FN_FREE },
	{ "_ZdlPv", AS_FN_FREE },
	{ "_ZdaPv", AS_FN_FREE },
	{ "_ZdlPvm", AS_FN_FREE },
	{ "_ZdaPvm", AS_FN_FREE },
	{ "_ZdlPvRKSt9nothrow_t", AS_FN_FREE },
	{ "_ZdaPvRKSt9nothrow_t", AS_FN_FREE },
	{ "_ZdlPvSt11align_val_t", AS_FN_FREE },
	{ "_ZdaPvSt11align_val_t", AS_FN_FREE },
	{ "_ZdlPvmSt11align_val_t", AS_FN_FREE },
	{ "_ZdaPvmSt11align_val_t", AS_FN_FREE },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", AS_FN_FREE },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", AS_FN_FREE },
};

/*
 * Where the unwinders of a process start reading its stack: exceptions
 * (libgcc's and LLVM's _Unwind_*), and walks (backtrace(3) in glibc and
 * libunwind; libunwind's unw_init_local, which unw_backtrace calls too).
 * Each must see the return addresses a sampled call left, not the
 * kernel's trampoline (see unwind_enter in bpf/allocscope.bpf.c).
 */
static const struct {
	const char *name;
	enum as_fn fn;
} unwind_syms[] = {
	{ "_Unwind_RaiseException", AS_FN_UNWIND_THROW },
	{ "_Unwind_ForcedUnwind", AS_FN_UNWIND_THROW },
	{ "_Unwind_Resume_or_Rethrow", AS_FN_UNWIND_THROW },
	{ "_Unwind_Backtrace", AS_FN_UNWIND_WALK },
	{ "backtrace", AS_FN_UNWIND_WALK },
	{ "_ULx86_64_init_local", AS_FN_UNWIND_WALK },
	{ "_ULx86_64_init_local2", AS_FN_UNWIND_WALK },
	{ "unw_init_local", AS_FN_UNWIND_WALK },
	{ "__unw_init_local", AS_FN_UNWIND_WALK },
};

/*
 * What the probe of each kind reads at its entry: those argument
 * registers, and the stack pointer (a return probe hijacks *sp).
 */
static unsigned int probe_reads(enum as_fn fn)
{
	switch (fn) {
	case AS_FN_CALLOC:
	case AS_FN_REALLOC:
		return X86_REG(X86_RSP) | X86_REG(X86_RDI) | X86_REG(X86_RSI);
	case AS_FN_REALLOCARRAY:
		return X86_REG(X86_RSP) | X86_REG(X86_RDI) | X86_REG(X86_RSI) | X86_REG(X86_RDX);
	case AS_FN_POSIX_MEMALIGN:
		return X86_REG(X86_RSP) | X86_REG(X86_RDI) | X86_REG(X86_RDX);
	case AS_FN_ALIGNED_ALLOC:
		return X86_REG(X86_RSP) | X86_REG(X86_RSI);
	case AS_FN_UNWIND_THROW:
	case AS_FN_UNWIND_WALK:
		return X86_REG(X86_RSP);
	default:	/* malloc, valloc, pvalloc, new, free */
		return X86_REG(X86_RSP) | X86_REG(X86_RDI);
	}
}

/*
 * Code that jumps into the skipped instructions (a loop back to the top,
 * another function's shared tail) reaches the probe too. For free that is
 * harmless: the probe only looks the pointer up, and a second sighting
 * misses. An allocation probe must fire once per call, so its window stays
 * short and plain (register moves, compares, rip-relative loads).
 * jemalloc's free needs the lenient window: nine instructions of address
 * arithmetic before its first branch.
 */
int attach__placement_for(const __u8 *code, size_t len, enum as_fn fn)
{
	return x86__placement(code, len, probe_reads(fn), fn == AS_FN_FREE);
}

static bool in_probes(const struct probe *p, int n, __u64 off)
{
	int i;

	for (i = 0; i < n; i++)
		if (p[i].offset - AS_COOKIE_DELTA(p[i].cookie) == off)
			return true;
	return false;
}

static bool have_offset(const struct probe_target *t, __u64 off)
{
	return in_probes(t->allocs, t->nr_allocs, off) || in_probes(t->frees, t->nr_frees, off) ||
	       in_probes(t->unwinds, t->nr_unwinds, off);
}

/* The list a probe of kind fn goes in, or NULL when it is full. */
static struct probe *next_probe(struct probe_target *t, enum as_fn fn)
{
	if (fn == AS_FN_UNWIND_THROW || fn == AS_FN_UNWIND_WALK)
		return t->nr_unwinds < AS_MAX_UNWIND_PROBES ? &t->unwinds[t->nr_unwinds++] : NULL;
	if (fn == AS_FN_FREE)
		return &t->frees[t->nr_frees++];
	return &t->allocs[t->nr_allocs++];
}

static void plan_symbol(struct elf_file *ef, struct probe_target *t, const char *name,
			enum as_fn fn, bool dynamic_only)
{
	__u64 vaddr, size, off;
	__u8 code[64];
	ssize_t n;
	int delta;
	struct probe *p;

	if (elf_file__find_func(ef, name, dynamic_only, &vaddr, &size) ||
	    elf_file__vaddr_to_offset(ef, vaddr, &off) || have_offset(t, off))
		return;
	n = elf_file__read(ef, off, code, size && size < sizeof(code) ? size : sizeof(code));
	delta = n > 0 ? attach__placement_for(code, n, fn) : 0;
	p = next_probe(t, fn);
	if (!p)
		return;
	p->offset = off + delta;
	p->cookie = AS_COOKIE(fn, delta);
	p->name = name;
	pr_debug("probe %s+%d at %s:%#llx\n", p->name, delta, t->display,
		 (unsigned long long)p->offset);
}

/* Which allocator an object is, by a symbol only it defines. */
static enum alloc_kind allocator_kind(struct elf_file *ef)
{
	static const struct {
		const char *sym;
		enum alloc_kind kind;
	} marks[] = {
		{ "__libc_malloc", ALLOC_GLIBC },
		{ "mallctl", ALLOC_JEMALLOC },
		{ "tc_malloc", ALLOC_TCMALLOC },
		{ "mi_malloc", ALLOC_MIMALLOC },
	};
	__u64 vaddr, size;
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (!elf_file__find_func(ef, marks[i].sym, false, &vaddr, &size))
			return marks[i].kind;
	return ALLOC_UNKNOWN;
}

/*
 * The probes whose returns must never be hijacked (see unwind_enter in
 * bpf/allocscope.bpf.c): an allocator library's throwing operator new,
 * which throws std::bad_alloc through its caller's frame, and every entry
 * point of a malloc we do not know (an interposer such as heaptrack's, or
 * a program's own, may unwind inside it). glibc's and the allocator
 * libraries' C functions throw nothing and call no program code; their
 * nothrow operator new catches what the program's new_handler throws
 * before it reaches the caller, and returns nullptr, which only its
 * return shows.
 */
static void mark_noret(struct probe_target *t)
{
	struct probe *p;
	int i;

	for (i = 0; i < t->nr_allocs; i++) {
		p = &t->allocs[i];
		if (t->kind == ALLOC_UNKNOWN ||
		    (AS_COOKIE_FN(p->cookie) == AS_FN_NEW && !strstr(p->name, "nothrow")))
			p->cookie |= AS_COOKIE_NORET;
	}
}

int attach__plan_file(int fd, const char *path, const char *display, bool dynamic_only,
		      struct probe_target *t)
{
	struct elf_open_opts opts = { .root = "", .path = display };
	struct elf_file *ef;
	__u64 vaddr, size;
	bool has_malloc;
	struct stat st;
	size_t i;
	int err;

	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = elf_file__open(fd, &opts, &ef);
	if (err)
		return err;
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->display, sizeof(t->display), "%s", display);
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	has_malloc = !elf_file__find_func(ef, "malloc", dynamic_only, &vaddr, &size);
	for (i = 0; has_malloc && i < sizeof(alloc_syms) / sizeof(alloc_syms[0]); i++)
		plan_symbol(ef, t, alloc_syms[i].name, alloc_syms[i].fn, dynamic_only);
	if (!probe_target__allocates(t))
		t->nr_allocs = 0;	/* a malloc without free is no allocator we know */
	t->kind = allocator_kind(ef);
	mark_noret(t);
	for (i = 0; i < sizeof(unwind_syms) / sizeof(unwind_syms[0]); i++)
		plan_symbol(ef, t, unwind_syms[i].name, unwind_syms[i].fn, dynamic_only);
	elf_file__free(ef);
	return probe_target__allocates(t) || t->nr_unwinds ? 0 : -ENOENT;
}

static int targets_push(struct probe_target **targets, int *nr, const struct probe_target *t)
{
	struct probe_target *n = realloc(*targets, (*nr + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	n[(*nr)++] = *t;
	*targets = n;
	return 0;
}

static bool is_glibc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

/*
 * The shared object malloc binds to: with in_order, the first one that
 * exports it (load order); else any over glibc (an allocator library is
 * mapped to replace it). -1 if there is none.
 */
static int pick_provider(const struct probe_target *shared, int nr_shared, bool in_order)
{
	int i;

	for (i = 0; i < nr_shared && !in_order; i++)
		if (probe_target__allocates(&shared[i]) && !is_glibc(shared[i].display))
			return i;
	for (i = 0; i < nr_shared; i++)
		if (probe_target__allocates(&shared[i]))
			return i;
	return -1;
}

/*
 * Picks the providers among the mapped objects: the executable when it
 * exports malloc; else the executable if it has a private malloc, plus the
 * shared object malloc binds to. Every other object is probed for its
 * unwinders only.
 */
static int choose_providers(struct probe_target *exe, bool exe_exports,
			    struct probe_target *shared, int nr_shared, bool in_order,
			    struct probe_target **targets, int *nr)
{
	int i, pick = exe_exports ? -1 : pick_provider(shared, nr_shared, in_order), err = 0;
	bool provided = exe_exports || pick >= 0 || (exe && probe_target__allocates(exe));

	*targets = NULL;
	*nr = 0;
	if (!provided)
		return -ENOENT;
	if (exe)
		err = targets_push(targets, nr, exe);
	for (i = 0; i < nr_shared && !err; i++) {
		if (i != pick) {
			shared[i].nr_allocs = shared[i].nr_frees = 0;
			if (!shared[i].nr_unwinds)
				continue;
		}
		err = targets_push(targets, nr, &shared[i]);
	}
	return err;
}

/*
 * The executable's own malloc, if any. An exported one is everybody's
 * malloc; a private one (a static binary, or an allocator linked in with
 * hidden symbols) serves only the executable's own calls. fd is consumed.
 */
static int plan_exe(int fd, const char *path, const char *display, struct probe_target *t,
		    bool *exports)
{
	int dfd = dup(fd);

	*exports = dfd >= 0 && !attach__plan_file(dfd, path, display, true, t) &&
		   probe_target__allocates(t);
	if (*exports) {
		close(fd);
		return 0;
	}
	return attach__plan_file(fd, path, display, false, t);
}

static bool seen_file(const struct proc_maps *m, size_t upto, const struct proc_map *pm)
{
	size_t i;

	for (i = 0; i < upto; i++)
		if (m->maps[i].ino == pm->ino && m->maps[i].dev_major == pm->dev_major &&
		    m->maps[i].dev_minor == pm->dev_minor && m->maps[i].exec)
			return true;
	return false;
}

/* The executable: the mapping whose inode is /proc/PID/exe's. */
static bool is_exe_map(const struct proc_map *pm, const struct stat *exe)
{
	return pm->ino == exe->st_ino;
}

/* pid's mappings, and its executable's identity (zeroes if unreadable). */
static int read_maps(pid_t pid, struct proc_maps **maps, struct stat *exe)
{
	char path[64];
	int err;

	err = procfs__read_maps(pid, maps);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, exe))
		memset(exe, 0, sizeof(*exe));
	return 0;
}

int attach__plan_pid(pid_t pid, struct probe_target **targets, int *nr)
{
	struct probe_target *shared = NULL, t, exe_t, *exe = NULL;
	bool exe_exports = false;
	struct proc_maps *maps;
	char path[PATH_MAX];
	int nr_shared = 0, err, fd;
	struct stat exe_st;
	size_t i;

	err = read_maps(pid, &maps, &exe_st);
	if (err)
		return err;
	for (i = 0; i < maps->nr; i++) {
		const struct proc_map *pm = &maps->maps[i];
		bool is_exe = is_exe_map(pm, &exe_st);

		if (!pm->exec || !proc_map__is_file(pm) || seen_file(maps, i, pm))
			continue;
		fd = procfs__open_mapped(pid, pm);
		if (fd < 0 || procfs__mapped_path(pid, pm, path, sizeof(path))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (is_exe) {
			if (!plan_exe(fd, path, pm->path, &exe_t, &exe_exports))
				exe = &exe_t;
			continue;
		}
		if (attach__plan_file(fd, path, pm->path, true, &t))
			continue;
		err = targets_push(&shared, &nr_shared, &t);
		if (err)
			goto out;
	}
	err = choose_providers(exe, exe_exports, shared, nr_shared, false, targets, nr);
out:
	free(shared);
	proc_maps__free(maps);
	return err;
}

/* PT_INTERP of an executable, or "" for a static one. */
static int read_interp(const char *exe, char *buf, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i, err = 0;

	buf[0] = '\0';
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		err = -ENOEXEC;
		goto out;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph)) {
			err = -ENOEXEC;
			goto out;
		}
		if (ph.p_type != PT_INTERP || !ph.p_filesz || ph.p_filesz >= len)
			continue;
		if (pread(fd, buf, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz)
			err = -ENOEXEC;
		else
			buf[ph.p_filesz - 1] = '\0';
		break;
	}
out:
	close(fd);
	return err;
}

/* One library path from a line of "ld.so --list" output, or NULL. */
static char *list_line_path(char *line)
{
	char *p = strstr(line, "=> "), *end;

	p = p ? p + 3 : line + strspn(line, " \t");
	if (*p != '/')
		return NULL;
	end = strstr(p, " (");
	if (end)
		*end = '\0';
	else
		p[strcspn(p, "\n")] = '\0';
	return p;
}

/* Runs "<root>/<interp> --list <exe>" in the process's environment. */
static FILE *run_loader_list(pid_t pid, const char *interp, pid_t *child)
{
	char loader[PATH_MAX], exe[64], **envp = NULL;
	char *argv[] = { loader, "--list", exe, NULL };
	posix_spawn_file_actions_t fa;
	int pfd[2], err;
	FILE *f = NULL;

	/* a cut path would run another file: none at all then */
	if (snprintf(loader, sizeof(loader), "/proc/%d/root%s", pid, interp) >= (int)sizeof(loader))
		return NULL;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (procfs__environ(pid, &envp) || pipe2(pfd, O_CLOEXEC))
		goto out;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(child, loader, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		goto out;
	}
	f = fdopen(pfd[0], "r");
out:
	free(envp);
	return f;
}

static int plan_listed(pid_t pid, FILE *f, struct probe_target *exe, bool exe_exports,
		       struct probe_target **targets, int *nr)
{
	struct probe_target *shared = NULL, t;
	char *line = NULL, *lib, path[PATH_MAX];
	size_t cap = 0;
	int nr_shared = 0, fd, err = 0;

	while (!err && getline(&line, &cap, f) > 0) {
		lib = list_line_path(line);
		if (!lib)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, lib);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || attach__plan_file(fd, path, lib, true, &t))
			continue;
		err = targets_push(&shared, &nr_shared, &t);
	}
	/* the first one in load order is what malloc binds to */
	if (!err)
		err = choose_providers(exe, exe_exports, shared, nr_shared, true, targets, nr);
	free(line);
	free(shared);
	return err;
}

int attach__plan_exec(pid_t pid, struct probe_target **targets, int *nr)
{
	struct probe_target exe_t, *exe = NULL;
	char exe_path[64], interp[PATH_MAX];
	bool exe_exports;
	pid_t child;
	FILE *f;
	int fd, err, st;

	snprintf(exe_path, sizeof(exe_path), "/proc/%d/exe", pid);
	err = read_interp(exe_path, interp, sizeof(interp));
	if (err)
		return err;
	fd = open(exe_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!plan_exe(fd, exe_path, exe_path, &exe_t, &exe_exports)) {
		exe = &exe_t;
		procfs__exe(pid, exe_t.display, sizeof(exe_t.display));
		if (exe_exports || !interp[0])
			return choose_providers(exe, exe_exports || probe_target__allocates(exe), NULL, 0,
						true, targets, nr);
	}
	if (!interp[0])
		return -ENOENT;	/* static, without a malloc of its own */
	f = run_loader_list(pid, interp, &child);
	if (!f)
		return -ENOEXEC;
	err = plan_listed(pid, f, exe, false, targets, nr);
	fclose(f);
	waitpid(child, &st, 0);
	return err;
}

static bool map_seen(const struct proc_map *pm, attach_seen_fn seen, void *ctx)
{
	return seen(makedev(pm->dev_major, pm->dev_minor), pm->ino, ctx);
}

/* One executable mapping of pid: a probe target if it provides malloc. */
static int discover_one(pid_t pid, const struct proc_map *pm, bool is_exe,
			struct probe_target **targets, int *nr)
{
	struct probe_target t;
	char path[PATH_MAX];
	int fd;

	fd = procfs__open_mapped(pid, pm);
	if (fd < 0)
		return 0;	/* gone, or not ours to read: the next scan retries */
	if (procfs__mapped_path(pid, pm, path, sizeof(path))) {
		close(fd);
		return 0;
	}
	if (attach__plan_file(fd, path, pm->path, !is_exe, &t))
		return 0;
	return targets_push(targets, nr, &t);
}

int attach__discover(pid_t pid, attach_seen_fn seen, void *ctx, struct probe_target **targets,
		     int *nr)
{
	struct proc_maps *maps;
	struct stat exe_st;
	size_t i;
	int err = 0;

	*targets = NULL;
	*nr = 0;
	err = read_maps(pid, &maps, &exe_st);
	if (err)
		return err;
	for (i = 0; i < maps->nr && !err; i++) {
		const struct proc_map *pm = &maps->maps[i];

		if (!pm->exec || !proc_map__is_file(pm) || seen_file(maps, i, pm) ||
		    map_seen(pm, seen, ctx))
			continue;
		err = discover_one(pid, pm, is_exe_map(pm, &exe_st), targets, nr);
	}
	proc_maps__free(maps);
	return err;
}

/* NAME=VALUE in envp, whose value contains what (any value if what is NULL). */
static bool env_has(char **envp, const char *name, const char *what)
{
	size_t len = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, len) && (*envp)[len] == '=')
			return !what || strstr(*envp + len + 1, what);
	return false;
}

/*
 * Profilers that unwind inside allocator calls, turned on by the
 * environment: jemalloc's (opt.prof, from MALLOC_CONF or the prefixed
 * build's _RJEM_MALLOC_CONF; /etc/malloc.conf is not read), and
 * gperftools' heap profiler, heap checker and CPU profiler (a SIGPROF
 * handler that unwinds wherever the thread is, malloc included).
 */
bool attach__unwinds_inside(pid_t pid)
{
	static const char *const gperf[] = { "HEAPPROFILE", "HEAPCHECK", "CPUPROFILE" };
	char **envp = NULL;
	bool on;
	size_t i;

	if (procfs__environ(pid, &envp))
		return false;
	on = env_has(envp, "MALLOC_CONF", "prof:true") ||
	     env_has(envp, "_RJEM_MALLOC_CONF", "prof:true");
	for (i = 0; i < sizeof(gperf) / sizeof(gperf[0]) && !on; i++)
		on = env_has(envp, gperf[i], NULL);
	free(envp);
	return on;
}
