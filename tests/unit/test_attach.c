// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_attach.c - probe placement (the x86 decoder), and the probe plans
 * for Debian's glibc and allocator libraries.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "allocscope.h"
#include "attach.h"
#include "x86.h"
#include "procfs.h"
#include "test.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBGCC_S "/lib/x86_64-linux-gnu/libgcc_s.so.1"
#define LIBUNWIND "/usr/lib/x86_64-linux-gnu/libunwind.so.8"
#define JEMALLOC "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define TCMALLOC "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
#define MIMALLOC "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"

#define PLACE(...) ({ const __u8 c[] = { __VA_ARGS__ }; attach__placement_for(c, sizeof(c), AS_FN_REALLOCARRAY); })

static void placement_entry_emulated(void)
{
	ASSERT_EQ(PLACE(0x41, 0x54, 0x55), 0);			/* push %r12 */
	ASSERT_EQ(PLACE(0x55, 0x48, 0x89, 0xe5), 0);		/* push %rbp */
	ASSERT_EQ(PLACE(0xe9, 0, 0, 0, 0), 0);			/* jmp rel32 */
}

static void placement_skips_test_and_cmp(void)
{
	/* glibc free: test %rdi,%rdi; je rel32 */
	ASSERT_EQ(PLACE(0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0, 0, 0), 3);
	/* posix_memalign: cmpb $0,rip+disp32; push %r12 */
	ASSERT_EQ(PLACE(0x80, 0x3d, 1, 2, 3, 4, 0x00, 0x41, 0x54), 7);
	/* aligned_alloc: cmpb $0,rip+disp32; je rel8 */
	ASSERT_EQ(PLACE(0x80, 0x3d, 1, 2, 3, 4, 0x00, 0x74, 0x07), 7);
	/* jemalloc malloc: cmp $0x1000,%rdi; ja rel32 */
	ASSERT_EQ(PLACE(0x48, 0x81, 0xff, 0x00, 0x10, 0, 0, 0x0f, 0x87, 1, 2, 3, 4), 7);
	/* endbr64; push %rbp */
	ASSERT_EQ(PLACE(0xf3, 0x0f, 0x1e, 0xfa, 0x55), 4);
	/* mimalloc free: mov %rdi,%rcx; test %rdi,%rdi; je rel8 */
	ASSERT_EQ(PLACE(0x48, 0x89, 0xf9, 0x48, 0x85, 0xff, 0x74, 0x10), 6);
	/* tcmalloc: mov disp32(%rip),%rax; test %rax,%rax; je */
	ASSERT_EQ(PLACE(0x48, 0x8b, 0x05, 1, 2, 3, 4, 0x48, 0x85, 0xc0, 0x74, 0x10), 10);
}

#define PLACE_FOR(fn, ...) ({ const __u8 c[] = { __VA_ARGS__ }; \
				attach__placement_for(c, sizeof(c), fn); })

/* free's probe reads %rdi only: arithmetic on other registers may be skipped. */
static void placement_free_lenient(void)
{
	/* jemalloc's free: mov %rdi,%rax; mov rip,%rdx; shr $0x1a,%rax; add %fs:0,%rax;
	 * cmp 0x1b0(%rax),%rcx; jne */
	ASSERT_EQ(PLACE_FOR(AS_FN_FREE, 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 1, 2, 3, 4,
			    0x48, 0xc1, 0xe8, 0x1a, 0x64, 0x48, 0x03, 0x04, 0x25, 0, 0, 0, 0,
			    0x48, 0x3b, 0x88, 0xb0, 0x01, 0, 0, 0x0f, 0x85, 1, 2, 3, 4), 30);
	/* the same window is refused for malloc: its probe must fire once per call */
	ASSERT_EQ(PLACE_FOR(AS_FN_MALLOC, 0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 1, 2, 3, 4,
			    0x48, 0xc1, 0xe8, 0x1a, 0x0f, 0x85, 1, 2, 3, 4), 0);
	/* writing %rdx is fine for free, not for reallocarray, which reads it */
	ASSERT_EQ(PLACE_FOR(AS_FN_FREE, 0x48, 0x8b, 0x15, 1, 2, 3, 4, 0x74, 0x10), 7);
	ASSERT_EQ(PLACE_FOR(AS_FN_REALLOCARRAY, 0x48, 0x8b, 0x15, 1, 2, 3, 4, 0x74, 0x10), 0);
	/* free still refuses to write %rdi or %rsp */
	ASSERT_EQ(PLACE_FOR(AS_FN_FREE, 0x48, 0x8d, 0x7f, 0x10, 0x74, 0x10), 0);
	ASSERT_EQ(PLACE_FOR(AS_FN_FREE, 0x48, 0x83, 0xec, 0x08, 0x74, 0x10), 0);
}

static void placement_refuses_unsafe(void)
{
	/* sub $8,%rsp: moves the stack pointer the return probe relies on */
	ASSERT_EQ(PLACE(0x48, 0x83, 0xec, 0x08, 0x55), 0);
	/* mov %rax,%rdi: overwrites the first argument */
	ASSERT_EQ(PLACE(0x48, 0x89, 0xc7, 0x55), 0);
	/* mov (%rip),%rsi: overwrites the second argument */
	ASSERT_EQ(PLACE(0x48, 0x8b, 0x35, 1, 2, 3, 4, 0x55), 0);
	/* test with a memory operand through a base register: not decoded */
	ASSERT_EQ(PLACE(0x48, 0x85, 0x07, 0x55), 0);
	/* truncated: nothing safe to conclude */
	ASSERT_EQ(PLACE(0x48, 0x85), 0);
	/* four skippable instructions and still no emulated one */
	ASSERT_EQ(PLACE(0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff, 0x48, 0x85, 0xff,
			0x48, 0x85, 0xff), 0);
}

static const struct probe *find_probe(const struct probe_target *t, const char *name)
{
	int i;

	for (i = 0; i < t->nr_allocs; i++)
		if (!strcmp(t->allocs[i].name, name))
			return &t->allocs[i];
	for (i = 0; i < t->nr_frees; i++)
		if (!strcmp(t->frees[i].name, name))
			return &t->frees[i];
	for (i = 0; i < t->nr_unwinds; i++)
		if (!strcmp(t->unwinds[i].name, name))
			return &t->unwinds[i];
	return NULL;
}

static bool noret(const struct probe_target *t, const char *name)
{
	const struct probe *p = find_probe(t, name);

	return p && (p->cookie & AS_COOKIE_NORET);
}

static int plan(const char *path, struct probe_target *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return attach__plan_file(fd, path, path, true, t);
}

/* Is the probe for name on an instruction the kernel emulates? */
static bool emulated(const struct probe_target *t, const char *path, const char *name)
{
	const struct probe *p = find_probe(t, name);
	int fd = open(path, O_RDONLY);
	__u8 code[16];
	bool ok;

	ok = p && pread(fd, code, sizeof(code), p->offset) == sizeof(code) &&
	     x86__emulated(code, sizeof(code));
	close(fd);
	return ok;
}

static void glibc_plan(void)
{
	struct probe_target t;
	const struct probe *p;

	ASSERT(!plan(LIBC, &t), "no plan for %s", LIBC);
	p = find_probe(&t, "malloc");
	ASSERT(p, "malloc not probed");
	ASSERT_EQ(AS_COOKIE_FN(p->cookie), AS_FN_MALLOC);
	ASSERT_EQ(AS_COOKIE_DELTA(p->cookie), 0);
	p = find_probe(&t, "free");
	ASSERT(p, "free not probed");
	ASSERT_EQ(AS_COOKIE_FN(p->cookie), AS_FN_FREE);
	/* free starts with test %rdi,%rdi, which would be single-stepped */
	ASSERT_EQ(AS_COOKIE_DELTA(p->cookie), 3);
	p = find_probe(&t, "posix_memalign");
	ASSERT(p && AS_COOKIE_DELTA(p->cookie) == 7, "posix_memalign not moved past cmpb");
	/* memalign is aligned_alloc's alias: one probe for both */
	ASSERT(find_probe(&t, "aligned_alloc"), "aligned_alloc not probed");
	ASSERT(!find_probe(&t, "memalign"), "memalign probed twice");
	ASSERT(find_probe(&t, "reallocarray") && find_probe(&t, "calloc") &&
	       find_probe(&t, "realloc") && find_probe(&t, "valloc") && find_probe(&t, "pvalloc"),
	       "an allocation function is missing");
	/* glibc has no operator new: libstdc++'s calls malloc */
	ASSERT(!find_probe(&t, "_Znwm"), "operator new in libc?");
	/*
	 * Every glibc entry point but reallocarray (mov; mul %rdx writes an
	 * argument register first) gets the cheap, emulated probe.
	 */
	ASSERT(emulated(&t, LIBC, "malloc") && emulated(&t, LIBC, "calloc") &&
	       emulated(&t, LIBC, "realloc") && emulated(&t, LIBC, "free") &&
	       emulated(&t, LIBC, "posix_memalign") && emulated(&t, LIBC, "aligned_alloc") &&
	       emulated(&t, LIBC, "valloc") && emulated(&t, LIBC, "pvalloc"),
	       "a glibc probe is single-stepped");
	ASSERT_EQ(AS_COOKIE_DELTA(find_probe(&t, "reallocarray")->cookie), 0);
	/* glibc's allocation functions throw nothing: their returns may be probed */
	ASSERT_EQ(t.kind, ALLOC_GLIBC);
	ASSERT(!noret(&t, "malloc") && !noret(&t, "realloc"), "glibc malloc marked noret");
	/* and backtrace(3) is where glibc's in-process unwinding starts */
	p = find_probe(&t, "backtrace");
	ASSERT(p && AS_COOKIE_FN(p->cookie) == AS_FN_UNWIND_WALK, "backtrace not probed");
}

/* Where exceptions and stack walks start: never met by a hijacked return. */
static void unwinder_plan(void)
{
	struct probe_target t;

	ASSERT(!plan(LIBGCC_S, &t), "no plan for %s", LIBGCC_S);
	ASSERT_EQ(t.nr_allocs, 0);
	ASSERT_EQ(t.nr_frees, 0);
	ASSERT(!probe_target__allocates(&t), "libgcc_s taken for an allocator");
	ASSERT_EQ(AS_COOKIE_FN(find_probe(&t, "_Unwind_RaiseException")->cookie),
		  AS_FN_UNWIND_THROW);
	ASSERT_EQ(AS_COOKIE_FN(find_probe(&t, "_Unwind_ForcedUnwind")->cookie),
		  AS_FN_UNWIND_THROW);
	ASSERT_EQ(AS_COOKIE_FN(find_probe(&t, "_Unwind_Backtrace")->cookie), AS_FN_UNWIND_WALK);
	if (access(LIBUNWIND, R_OK))
		SKIP_CASE("%s not installed", LIBUNWIND);
	ASSERT(!plan(LIBUNWIND, &t), "no plan for %s", LIBUNWIND);
	ASSERT(find_probe(&t, "_ULx86_64_init_local"), "libunwind's unw_init_local not probed");
}

static void allocator_lib_plans(void)
{
	const char *libs[] = { JEMALLOC, TCMALLOC, MIMALLOC };
	struct probe_target t;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (access(libs[i], R_OK))
			SKIP_CASE("%s not installed", libs[i]);
		ASSERT(!plan(libs[i], &t), "no plan for %s", libs[i]);
		ASSERT(find_probe(&t, "malloc") && find_probe(&t, "free"), "%s", libs[i]);
		/* they define operator new themselves: it must be probed there */
		ASSERT(find_probe(&t, "_Znwm"), "%s: no operator new", libs[i]);
		/* and its return never: it throws std::bad_alloc to its caller */
		ASSERT(noret(&t, "_Znwm") && noret(&t, "_ZnwmSt11align_val_t"),
		       "%s: throwing operator new's return probed", libs[i]);
		ASSERT(!noret(&t, "malloc") && !noret(&t, "_ZnwmRKSt9nothrow_t"),
		       "%s: malloc or nothrow new never probed at the return", libs[i]);
		ASSERT(t.kind != ALLOC_UNKNOWN, "%s: an allocator we do not know", libs[i]);
	}
	/* moved past cmp/mov/test onto a jcc: no single-step */
	ASSERT(!plan(JEMALLOC, &t) && emulated(&t, JEMALLOC, "malloc"), "jemalloc malloc");
	/* nine instructions of address arithmetic, then its first branch */
	ASSERT(emulated(&t, JEMALLOC, "free"), "jemalloc free");
	ASSERT_EQ(AS_COOKIE_DELTA(find_probe(&t, "free")->cookie), 48);
	ASSERT(!plan(TCMALLOC, &t) && emulated(&t, TCMALLOC, "malloc") &&
	       emulated(&t, TCMALLOC, "free"), "tcmalloc malloc/free");
	ASSERT(!plan(MIMALLOC, &t) && emulated(&t, MIMALLOC, "free"), "mimalloc free");
	/* mimalloc's malloc moves %rdi to %rsi first: the probe must stay at the entry */
	ASSERT_EQ(AS_COOKIE_DELTA(find_probe(&t, "malloc")->cookie), 0);
}

static void no_malloc_is_enoent(void)
{
	struct probe_target t;

	/* libm defines no malloc */
	ASSERT_EQ(plan("/lib/x86_64-linux-gnu/libm.so.6", &t), -ENOENT);
}

/* Under make sanitize, ASan's runtime comes first in the search order and defines malloc. */
#ifdef __SANITIZE_ADDRESS__
#define SELF_PROVIDER "libasan.so"
#else
#define SELF_PROVIDER "libc.so.6"
#endif

static void plan_self(void)
{
	struct probe_target *t = NULL;
	int nr = 0, i, providers = 0;

	ASSERT(!attach__plan_pid(getpid(), &t, &nr), "no plan for ourselves");
	/* libc provides; the others (libgcc_s: we link libstdc++) hold unwinders only */
	for (i = 0; i < nr; i++) {
		if (!probe_target__allocates(&t[i])) {
			ASSERT(t[i].nr_unwinds, "%s: nothing to probe", t[i].display);
			continue;
		}
		providers++;
		ASSERT(strstr(t[i].display, SELF_PROVIDER), "provider is %s", t[i].display);
	}
	ASSERT_EQ(providers, 1);
	free(t);
}

static void parse_maps_fixture(void)
{
	const char *text =
		"55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234   /usr/bin/prog\n"
		"55d0c0a02000-55d0c0a08000 r-xp 00002000 fd:01 1234   /usr/bin/prog\n"
		"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
		"7f1000026000-7f100017b000 r-xp 00026000 fd:01 777    /usr/lib/libc.so.6 (deleted)\n"
		"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0      [vdso]\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	const struct proc_map *m;
	struct proc_maps *maps;

	ASSERT(!procfs__parse_maps(f, &maps), "parse failed");
	fclose(f);
	ASSERT_EQ(maps->nr, 5);
	m = proc_maps__find(maps, 0x55d0c0a03000);
	ASSERT(m && m->exec && m->pgoff == 0x2000 && m->ino == 1234, "wrong mapping");
	ASSERT_STREQ(m->path, "/usr/bin/prog");
	m = proc_maps__find(maps, 0x7f1000030000);
	ASSERT(m && m->deleted && m->dev_major == 0xfd && m->dev_minor == 1, "deleted lib");
	ASSERT_STREQ(m->path, "/usr/lib/libc.so.6");
	ASSERT(!proc_map__is_file(proc_maps__find(maps, 0x7ffd00000010)), "vdso is not a file");
	ASSERT(!proc_maps__find(maps, 0x1000), "found an unmapped address");
	ASSERT(!proc_maps__find(maps, 0x55d0c0a08000), "end is exclusive");
	proc_maps__free(maps);
}

int main(void)
{
	t_suite = "attach";
	RUN(placement_entry_emulated);
	RUN(placement_skips_test_and_cmp);
	RUN(placement_refuses_unsafe);
	RUN(placement_free_lenient);
	RUN(glibc_plan);
	RUN(allocator_lib_plans);
	RUN(no_malloc_is_enoent);
	RUN(unwinder_plan);
	RUN(plan_self);
	RUN(parse_maps_fixture);
	return TEST_EXIT();
}
