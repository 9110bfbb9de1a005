// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_unwinder.c - DWARF unwinding of real stacks, file:line and inline chains.
 *
 * The fixtures are compiled here, at run time, as Debian compiles: -O2,
 * no frame pointers, gcc's default asynchronous unwind tables. Each one
 * replaces malloc with a probe: the malloc of one chosen size records the
 * registers its caller will see when it returns (rip = the return address,
 * rsp after the return, rbx, rbp, r12-r15), which is what the BPF side
 * captures at a sampled allocator's return, prints them and waits. The
 * test then snapshots the process's mappings, copies its stack from
 * /proc/PID/mem from rsp up (16 KiB at most, clamped to the stack
 * mapping, as the kernel side does) and unwinds that.
 *
 *   chain         main -> a -> [rec x depth] -> b -> c -> inl_alloc (forced inline) -> malloc
 *   chain_fp      the same with frame pointers: its DWARF unwind must equal its FP walk
 *   chain_strip   stripped, its DWARF in a separate file found by .gnu_debuglink
 *   chain_df      without unwind tables: .debug_frame, in the file and (chain_df_strip)
 *                 in its separate debug file
 *   chain_clang   clang's CFI, and DWARF without .debug_aranges
 *   chain sig     the chain run in a signal handler: through glibc's __restore_rt
 *   chain thread  the chain in a thread, whose stack ends in clone3
 *   vec           C++: main -> grow -> std::vector growth -> operator new (libstdc++,
 *                 no frame pointer) -> malloc
 *
 * Expected lines come from "@name" marker comments in the fixture sources.
 * Without cc and g++ every case is skipped; cases that need go say SKIP
 * without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aggregator.h"
#include "allocscope.h"
#include "elffile.h"
#include "exporter.h"
#include "procfs.h"
#include "symbolizer.h"
#include "unwinder.h"
#include "test.h"
#include "fixture.h"

#define STACK_MAX	(16 << 10)
#define MAX_PCS		64
#define MAX_LINES	8

static char tmpdir[] = "/tmp/test_unwinder.XXXXXX";
static bool have_tools, have_fixtures, have_go, have_clang;
static struct symbolizer *sym;
static struct unwinder *uw;

/*
 * The probe. report() runs inside malloc with the caller's state saved;
 * it prints it and the address of main (to find the load bias), then
 * waits to be killed, so the frames above stay as they were.
 */
static const char probe_h[] =
	"#include <signal.h>\n"
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <unistd.h>\n"
	"#ifdef __cplusplus\n"
	"extern \"C\" {\n"
	"#endif\n"
	"unsigned long capture_size;\n"
	"unsigned long cap[8];\n"
	"int main(int argc, char **argv);\n"
	"__attribute__((used)) void report(void)\n"
	"{\n"
	"	char buf[512];\n"
	"	int n;\n"
	"\n"
	"	capture_size = 0;\n"
	"	n = snprintf(buf, sizeof(buf), \"regs %lx %lx %lx %lx %lx %lx %lx %lx main %lx\\n\",\n"
	"		     cap[0], cap[1], cap[2], cap[3], cap[4], cap[5], cap[6], cap[7],\n"
	"		     (unsigned long)&main);\n"
	"	if (write(1, buf, n) != n)\n"
	"		_exit(1);\n"
	"	for (;;)\n"
	"		pause();\n"
	"}\n"
	"#ifdef __cplusplus\n"
	"}\n"
	"#endif\n"
	"__asm__(\".text\\n.globl malloc\\n.type malloc,@function\\nmalloc:\\n\"\n"
	"	\"cmpq capture_size(%rip), %rdi\\n\"\n"
	"	\"jne 1f\\n\"\n"
	"	\"movq (%rsp), %rax\\nmovq %rax, cap(%rip)\\n\"\n"
	"	\"leaq 8(%rsp), %rax\\nmovq %rax, cap+8(%rip)\\n\"\n"
	"	\"movq %rbp, cap+16(%rip)\\nmovq %rbx, cap+24(%rip)\\n\"\n"
	"	\"movq %r12, cap+32(%rip)\\nmovq %r13, cap+40(%rip)\\n\"\n"
	"	\"movq %r14, cap+48(%rip)\\nmovq %r15, cap+56(%rip)\\n\"\n"
	"	\"pushq %rdi\\ncall report\\npopq %rdi\\n\"\n"
	"	\"1: jmp __libc_malloc\\n.size malloc, .-malloc\\n\");\n";

/* chain SIZE [DEPTH [sig|thread]] */
static const char chain_c[] =
	"#include <pthread.h>\n"
	"#include \"probe.h\"\n"
	"#ifdef __clang__\n"
	"#define NOINLINE __attribute__((noinline))\n"
	"#else\n"
	"#define NOINLINE __attribute__((noipa))\n"
	"#endif\n"
	"\n"
	"static inline __attribute__((always_inline)) char *inl_alloc(unsigned long n)\n"
	"{\n"
	"	return malloc(n); /* @inl */\n"
	"}\n"
	"\n"
	"NOINLINE char *c(unsigned long n)\n"
	"{\n"
	"	char *p = inl_alloc(n); /* @c */\n"
	"	p[0] = 1;\n"
	"	return p;\n"
	"}\n"
	"\n"
	"NOINLINE int b(unsigned long n)\n"
	"{\n"
	"	char *p = c(n); /* @b */\n"
	"	return p[0] + 1;\n"
	"}\n"
	"\n"
	"NOINLINE int rec(int depth, unsigned long n)\n"
	"{\n"
	"	int r = depth ? rec(depth - 1, n) : b(n); /* @rec */\n"
	"	__asm__ volatile(\"\" : \"+r\"(r));\n"
	"	return r * 3;\n"
	"}\n"
	"\n"
	"NOINLINE int a(unsigned long n, int depth)\n"
	"{\n"
	"	int r = depth ? rec(depth - 1, n) : b(n); /* @a */\n"
	"	__asm__ volatile(\"\" : \"+r\"(r));\n"
	"	return r + 2;\n"
	"}\n"
	"\n"
	"volatile int sink;\n"
	"\n"
	"NOINLINE void on_signal(int sig)\n"
	"{\n"
	"	sink = a(capture_size, 0); /* @on_signal */\n"
	"}\n"
	"\n"
	"NOINLINE void *thread_fn(void *arg)\n"
	"{\n"
	"	sink = a(capture_size, 0); /* @thread */\n"
	"	return arg;\n"
	"}\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	pthread_t t;\n"
	"\n"
	"	capture_size = strtoul(argv[1], NULL, 0);\n"
	"	if (argc > 3 && argv[3][0] == 't') {\n"
	"		pthread_create(&t, NULL, thread_fn, NULL);\n"
	"		return pthread_join(t, NULL);\n"
	"	}\n"
	"	if (argc > 3) {\n"
	"		signal(SIGUSR1, on_signal);\n"
	"		sink = raise(SIGUSR1); /* @raise */\n"
	"		return 0;\n"
	"	}\n"
	"	return a(capture_size, argc > 2 ? atoi(argv[2]) : 0) == 7; /* @main */\n"
	"}\n";

/* vec SIZE: the vector's fourth growth allocates 4 * sizeof(S) = 4052 bytes. */
static const char vec_cc[] =
	"#include <vector>\n"
	"#include \"probe.h\"\n"
	"\n"
	"struct S {\n"
	"	char b[1013];\n"
	"};\n"
	"\n"
	"__attribute__((noipa)) int grow(std::vector<S> &v, int n)\n"
	"{\n"
	"	for (int i = 0; i < n; i++)\n"
	"		v.push_back(S()); /* @push */\n"
	"	return v.size();\n"
	"}\n"
	"\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	std::vector<S> v;\n"
	"\n"
	"	capture_size = strtoul(argv[1], NULL, 0);\n"
	"	return grow(v, 8) == 3; /* @cmain */\n"
	"}\n";

#define CHAIN_SIZE	"12345"
#define VEC_SIZE	"4052"

struct sample {
	pid_t pid;
	struct unwind_regs regs;
	__u64 main_addr;	/* &main in the process */
	unsigned char *stack;
	size_t len;
	struct addr_space *as;
	__u64 pcs[MAX_PCS];
	int nr, reason;
};

/* The line of the "@name" marker comment in src. */
static int marker_line(const char *src, const char *name)
{
	char key[64];
	const char *m, *p;
	int line = 1;

	snprintf(key, sizeof(key), "/* @%s */", name);
	m = strstr(src, key);
	if (!m)
		return -1;
	for (p = src; p < m; p++)
		line += *p == '\n';
	return line;
}

static bool build_fixtures(void)
{
	if (!mkdtemp(tmpdir))
		return false;
	fx_dir = tmpdir;
	if (!write_file(fx("probe.h"), probe_h) || !write_file(fx("chain.c"), chain_c) ||
	    !write_file(fx("vec.cc"), vec_cc))
		return false;
	return !sh("(cd %s && cc -g -O2 chain.c -o chain && "
		   "cc -g -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer "
		   "chain.c -o chain_fp && "
		   "objcopy --only-keep-debug chain chain.debug && "
		   "objcopy --strip-all --add-gnu-debuglink=chain.debug chain chain_strip && "
		   "cc -g -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables "
		   "chain.c -o chain_df && "
		   "objcopy --only-keep-debug chain_df chain_df.debug && "
		   "objcopy --strip-all --add-gnu-debuglink=chain_df.debug chain_df chain_df_strip && "
		   "g++ -g -O2 vec.cc -o vec && "
		   "{ test %d = 0 || clang -g -O2 chain.c -o chain_clang; }"
		   ") >%s/build.log 2>&1", tmpdir, have_clang, tmpdir);
}

#define NEED_FIXTURES() do {								\
	if (!have_tools)								\
		SKIP_CASE("cc, g++ and binutils are needed to build fixtures");		\
	if (!have_fixtures)								\
		FAIL_CASE("fixtures failed to build, see %s/build.log", tmpdir);	\
} while (0)

/* Copies the stack from sp up, clamped to its mapping, as the BPF side does. */
static int copy_stack(struct sample *s)
{
	const struct proc_map *pm;
	struct proc_maps *maps;
	char path[64];
	ssize_t n;
	int fd, err;

	err = procfs__read_maps(s->pid, &maps);
	if (err)
		return err;
	pm = proc_maps__find(maps, s->regs.sp);
	s->len = pm ? pm->end - s->regs.sp : 0;
	proc_maps__free(maps);
	if (s->len > STACK_MAX)
		s->len = STACK_MAX;
	s->stack = malloc(STACK_MAX);
	snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!s->stack || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	n = pread(fd, s->stack, s->len, s->regs.sp);
	close(fd);
	return n == (ssize_t)s->len ? 0 : -EIO;
}

static int read_report(struct sample *s, int fd)
{
	unsigned long long v[9];
	char line[512];
	FILE *f = fdopen(fd, "r");
	bool ok;

	if (!f)
		return -errno;
	ok = fgets(line, sizeof(line), f) &&
	     sscanf(line, "regs %llx %llx %llx %llx %llx %llx %llx %llx main %llx", &v[0], &v[1],
		    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9;
	fclose(f);
	if (!ok)
		return -EPROTO;
	s->regs = (struct unwind_regs){ .ip = v[0], .sp = v[1], .bp = v[2], .bx = v[3],
		.r12 = v[4], .r13 = v[5], .r14 = v[6], .r15 = v[7] };
	s->main_addr = v[8];
	return 0;
}

/* Runs a fixture up to its probe, then snapshots and copies; unwinds. */
static int take(struct sample *s, const char *prog, const char *a1, const char *a2,
		const char *a3)
{
	char *const argv[] = { (char *)prog, (char *)a1, (char *)a2, (char *)a3, NULL };
	int fds[2], err;

	memset(s, 0, sizeof(*s));
	if (pipe(fds))
		return -errno;
	s->pid = t_fork();
	if (s->pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (!s->pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		execv(fx(prog), argv);
		_exit(127);
	}
	close(fds[1]);
	err = read_report(s, fds[0]);
	if (!err)
		err = symbolizer__snapshot(sym, s->pid, &s->as);
	if (!err)
		err = copy_stack(s);
	if (!err)
		s->nr = unwinder__unwind(uw, s->as, &s->regs, s->stack, s->len, s->pcs, MAX_PCS,
					 &s->reason);
	return err;
}

static void release(struct sample *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	free(s->stack);
	addr_space__free(s->as);
	memset(s, 0, sizeof(*s));
}

/* The sample of the running case: RUN_CASE() kills its fixture whatever the outcome. */
static struct sample cur;

#define TAKE(prog, a1, a2, a3) do {							\
	int _err = take(&cur, prog, a1, a2, a3);					\
	if (_err)									\
		FAIL_CASE("sample of %s: %s", prog, strerror(-_err));			\
} while (0)

#define RUN_CASE(fn) do {								\
	RUN(fn);									\
	release(&cur);									\
} while (0)

/* The function of a return address, as the symbol table says. */
static const char *func_at(struct addr_space *as, __u64 pc)
{
	struct sym_frame f;

	return addr_space__lookup(as, pc - 1, &f) ? NULL : f.func;
}

static void print_stack(const struct sample *s)
{
	int i;

	printf("    %d frames, stopped: %s\n", s->nr, unwind_stop__str(s->reason));
	for (i = 0; i < s->nr; i++)
		printf("      #%d 0x%llx %s\n", i, (unsigned long long)s->pcs[i],
		       func_at(s->as, s->pcs[i]) ?: "?");
}

/* The first frames are the names in want; the stack ends in _start. */
static bool stack_is(struct sample *s, const char *const *want, int nr)
{
	const char *got;
	int i;

	for (i = 0; i < nr; i++) {
		got = i < s->nr ? func_at(s->as, s->pcs[i]) : NULL;
		if (!got || strcmp(got, want[i])) {
			printf("    frame %d: want %s, got %s\n", i, want[i], got ?: "?");
			print_stack(s);
			return false;
		}
	}
	if (s->reason != UNWIND_STOP_END || strcmp(func_at(s->as, s->pcs[s->nr - 1]) ?: "", "_start")) {
		printf("    the stack should end in _start\n");
		print_stack(s);
		return false;
	}
	return true;
}

/* Index of the first frame of function name at or after from; -1 if none. */
static int frame_of(struct sample *s, const char *name, int from)
{
	const char *got;
	int i;

	for (i = from; i < s->nr; i++) {
		got = func_at(s->as, s->pcs[i]);
		if (got && !strcmp(got, name))
			return i;
	}
	return -1;
}

/* Whether libc's symbols (libc6-dbg) are installed: frames such as __restore_rt need them. */
static bool have_libc_debug(void)
{
	struct elf_open_opts opts = { .root = "", .path = "/lib/x86_64-linux-gnu/libc.so.6" };
	static int has = -1;
	struct elf_file *ef;
	int fd;

	if (has >= 0)
		return has;
	has = 0;
	fd = open(opts.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elf_file__open(fd, &opts, &ef))
		return false;
	has = elf_file__has_debug_symbols(ef);
	elf_file__free(ef);
	return has;
}

static void test_chain(void)
{
	static const char *const want[] = { "c", "b", "a", "main", "__libc_start_call_main" };

	NEED_FIXTURES();
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	ASSERT(stack_is(&cur, want, have_libc_debug() ? 5 : 4), "c <- b <- a <- main");
}

/* A line's function, file and number. */
#define ASSERT_FRAME(l, fn, file_suffix, ln) do {					\
	ASSERT_STREQ((l).func, fn);							\
	ASSERT(ends_with((l).file, file_suffix), "file %s, want *%s", (l).file,		\
	       file_suffix);								\
	ASSERT_EQ((l).line, ln);							\
} while (0)

static void check_chain_lines(struct sample *s)
{
	struct elf_line l[MAX_LINES];
	int n;

	n = addr_space__lines(s->as, s->pcs[0] - 1, l, MAX_LINES);
	ASSERT_EQ(n, 2);
	ASSERT_FRAME(l[0], "inl_alloc", "/chain.c", marker_line(chain_c, "inl"));
	ASSERT_FRAME(l[1], "c", "/chain.c", marker_line(chain_c, "c"));
	n = addr_space__lines(s->as, s->pcs[1] - 1, l, MAX_LINES);
	ASSERT_EQ(n, 1);
	ASSERT_FRAME(l[0], "b", "/chain.c", marker_line(chain_c, "b"));
	n = addr_space__lines(s->as, s->pcs[2] - 1, l, MAX_LINES);
	ASSERT_EQ(n, 1);
	ASSERT_FRAME(l[0], "a", "/chain.c", marker_line(chain_c, "a"));
	n = addr_space__lines(s->as, s->pcs[3] - 1, l, MAX_LINES);
	ASSERT_EQ(n, 1);
	ASSERT_FRAME(l[0], "main", "/chain.c", marker_line(chain_c, "main"));
	/* Only the innermost max - 1 inlined frames and the containing function fit. */
	n = addr_space__lines(s->as, s->pcs[0] - 1, l, 1);
	ASSERT_EQ(n, 1);
	ASSERT_FRAME(l[0], "c", "/chain.c", marker_line(chain_c, "c"));
}

static int mapping_of(struct addr_space *as, __u64 pc, struct sym_mapping *m)
{
	int i;

	for (i = 0; i < addr_space__nr_mappings(as); i++) {
		addr_space__mapping(as, i, m);
		if (pc >= m->start && pc < m->end)
			return i;
	}
	return -1;
}

static void test_lines(void)
{
	struct elf_line l[MAX_LINES];
	struct sym_mapping m;
	int n, i;

	NEED_FIXTURES();
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	check_chain_lines(&cur);
	if (t_case_failed)
		return;
	ASSERT(mapping_of(cur.as, cur.pcs[0], &m) >= 0 && m.has_lines, "fixture has lines");
	/* Debian's libc: lines from the compressed DWARF of its debug file. */
	i = frame_of(&cur, "__libc_start_call_main", 0);
	if (i < 0 || !have_libc_debug())
		return;
	n = addr_space__lines(cur.as, cur.pcs[i] - 1, l, MAX_LINES);
	ASSERT(n >= 1, "libc has lines");
	ASSERT_STREQ(l[n - 1].func, "__libc_start_call_main");
	ASSERT(ends_with(l[n - 1].file, "/libc_start_call_main.h") && l[n - 1].line > 0,
	       "libc at %s:%d", l[n - 1].file, l[n - 1].line);
	ASSERT(mapping_of(cur.as, cur.pcs[i], &m) >= 0 && m.has_lines, "libc mapping has lines");
}

/* Stripped: .eh_frame stays for the unwind, the lines come from the debuglink. */
static void test_stripped(void)
{
	static const char *const want[] = { "c", "b", "a", "main" };

	NEED_FIXTURES();
	TAKE("chain_strip", CHAIN_SIZE, NULL, NULL);
	ASSERT(stack_is(&cur, want, 4), "the stripped chain");
	check_chain_lines(&cur);
}

/* Code built without unwind tables has only .debug_frame, with -g. */
static void test_debug_frame(void)
{
	static const char *const want[] = { "c", "b", "a", "main" };
	struct unwinder_stats before, after;

	NEED_FIXTURES();
	unwinder__stats(uw, &before);
	TAKE("chain_df", CHAIN_SIZE, NULL, NULL);
	ASSERT(stack_is(&cur, want, 4), "the chain by .debug_frame");
	release(&cur);
	/* Stripped, .debug_frame is in the debug file only. */
	TAKE("chain_df_strip", CHAIN_SIZE, NULL, NULL);
	ASSERT(stack_is(&cur, want, 4), "the chain by the debug file's .debug_frame");
	check_chain_lines(&cur);
	unwinder__stats(uw, &after);
	ASSERT_EQ(after.fp_frames, before.fp_frames);
}

/* clang: its CFI, and DWARF without .debug_aranges (the CUs' ranges are walked). */
static void test_clang(void)
{
	static const char *const want[] = { "c", "b", "a", "main" };

	NEED_FIXTURES();
	if (!have_clang)
		SKIP_CASE("clang is not installed");
	TAKE("chain_clang", CHAIN_SIZE, NULL, NULL);
	ASSERT(stack_is(&cur, want, 4), "clang's chain");
	check_chain_lines(&cur);
}

/* With frame pointers, the DWARF unwind and the FP walk agree up to main's caller. */
static void test_fp_equal(void)
{
	__u64 fp[MAX_PCS], bp, off;
	int n = 0, i, main_at;

	NEED_FIXTURES();
	TAKE("chain_fp", CHAIN_SIZE, "3", NULL);
	fp[n++] = cur.regs.ip;
	for (bp = cur.regs.bp; n < MAX_PCS; n++) {
		off = bp - cur.regs.sp;
		if (bp < cur.regs.sp || off + 16 > cur.len)
			break;
		memcpy(&fp[n], cur.stack + off + 8, 8);
		memcpy(&bp, cur.stack + off, 8);
	}
	/* c, b, rec x 3, a, main */
	main_at = frame_of(&cur, "main", 0);
	if (main_at != 6 || n < main_at + 2)
		print_stack(&cur);
	ASSERT(main_at == 6 && n >= main_at + 2, "main at %d, %d frames by rbp", main_at, n);
	for (i = 0; i <= main_at + 1; i++)
		ASSERT(fp[i] == cur.pcs[i], "frame %d: DWARF 0x%llx, FP 0x%llx", i,
		       (unsigned long long)cur.pcs[i], (unsigned long long)fp[i]);
}

#define GROW "grow(std::vector<S, std::allocator<S> >&, int)"

/* Through libstdc++'s operator new, which has no frame pointer. */
static void test_cxx_vector(void)
{
	struct elf_line l[MAX_LINES];
	const char *caller;
	int n, grow_at;

	NEED_FIXTURES();
	TAKE("vec", VEC_SIZE, NULL, NULL);
	grow_at = frame_of(&cur, GROW, 1);
	if (strcmp(func_at(cur.as, cur.pcs[0]) ?: "", "operator new(unsigned long)") ||
	    grow_at < 1 || frame_of(&cur, "main", grow_at) != grow_at + 1 ||
	    cur.reason != UNWIND_STOP_END) {
		print_stack(&cur);
		FAIL_CASE("operator new <- ... <- grow <- main");
	}
	/* The allocator's inlined layers, then the function that holds them. */
	caller = func_at(cur.as, cur.pcs[1]);
	n = addr_space__lines(cur.as, cur.pcs[1] - 1, l, MAX_LINES);
	if (n < 2 || !ends_with(l[0].file, "/new_allocator.h") || !l[0].line ||
	    strcmp(l[n - 1].func, caller ?: "")) {
		printf("    %s: %d lines\n", caller, n);
		for (grow_at = 0; grow_at < n; grow_at++)
			printf("      %s %s:%d\n", l[grow_at].func, l[grow_at].file, l[grow_at].line);
		FAIL_CASE("inline chain of the vector's allocation");
	}
	n = addr_space__lines(cur.as, cur.pcs[frame_of(&cur, GROW, 1)] - 1, l, MAX_LINES);
	ASSERT(n >= 1, "grow has lines");
	ASSERT_FRAME(l[n - 1], GROW, "/vec.cc", marker_line(vec_cc, "push"));
	ASSERT_STREQ(l[n - 1].raw, "_Z4growRSt6vectorI1SSaIS0_EEi");
}

/* A handler's stack: c, b, a, on_signal, __restore_rt, raise's innards, main. */
static void test_signal(void)
{
	static const char *const want[] = { "c", "b", "a", "on_signal" };
	struct unwinder_stats before, after;
	struct elf_line l[MAX_LINES];
	int main_at, n;

	NEED_FIXTURES();
	unwinder__stats(uw, &before);
	TAKE("chain", CHAIN_SIZE, "0", "sig");
	unwinder__stats(uw, &after);
	ASSERT(stack_is(&cur, want, 4), "on_signal's chain");
	ASSERT_EQ(after.signal_frames, before.signal_frames + 1);
	main_at = frame_of(&cur, "main", 4);
	if (main_at < 0)
		print_stack(&cur);
	ASSERT(main_at > 4, "main after the signal frame");
	if (have_libc_debug() && strcmp(func_at(cur.as, cur.pcs[4]) ?: "", "__restore_rt")) {
		print_stack(&cur);
		FAIL_CASE("frame 4 should be __restore_rt");
	}
	n = addr_space__lines(cur.as, cur.pcs[main_at] - 1, l, MAX_LINES);
	ASSERT(n >= 1, "main has lines");
	ASSERT_FRAME(l[n - 1], "main", "/chain.c", marker_line(chain_c, "raise"));
}

/* A thread's stack ends where clone3's CFI leaves rip undefined. */
static void test_thread(void)
{
	static const char *const want[] = { "c", "b", "a", "thread_fn" };
	const char *last;
	int i;

	NEED_FIXTURES();
	TAKE("chain", CHAIN_SIZE, "0", "thread");
	for (i = 0; i < 4; i++)
		ASSERT_STREQ(func_at(cur.as, cur.pcs[i]), want[i]);
	if (cur.reason != UNWIND_STOP_END)
		print_stack(&cur);
	ASSERT_EQ(cur.reason, UNWIND_STOP_END);
	last = func_at(cur.as, cur.pcs[cur.nr - 1]);
	if (have_libc_debug())
		ASSERT(last && strstr(last, "clone"), "the last frame is %s", last);
}

/* nm's value and size of a symbol. */
static bool nm_sym(const char *path, const char *name, __u64 *val, __u64 *size)
{
	char cmd[4200], line[512], sym[256];
	unsigned long long v, sz;
	bool found = false;
	char type;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm -S '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %llx %c %255s", &v, &sz, &type, sym) == 4 &&
		    !strcmp(sym, name)) {
			*val = v;
			*size = sz;
			found = true;
		}
	pclose(f);
	return found;
}

static bool plt_vaddr(const char *path, __u64 *vaddr)
{
	char cmd[4200], line[512];
	unsigned long long a;
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " .plt ") &&
		    sscanf(strstr(line, " .plt ") + 6, " PROGBITS %llx", &a) == 1) {
			*vaddr = a;
			found = true;
		}
	pclose(f);
	return found;
}

/* The runtime address of a link-time one in chain: main tells the load bias. */
static __u64 chain_addr(__u64 vaddr)
{
	__u64 main_vaddr = 0, size;

	nm_sym(fx("chain"), "main", &main_vaddr, &size);
	return vaddr + cur.main_addr - main_vaddr;
}

/*
 * Unwinds from regs and a stack made of words pushed below the sample's
 * copy: the first frame is new, the others must be the sample's.
 */
static void check_same_tail(struct unwind_regs *r, const __u64 *words, int nr_words,
			    int *fp_frames)
{
	struct unwinder_stats before, after;
	__u64 pcs[MAX_PCS];
	unsigned char *stack;
	int n, reason, i;

	*fp_frames = -1;
	stack = malloc(cur.len + 8 * nr_words);
	ASSERT(stack, "malloc");
	if (nr_words)	/* words may be NULL: memcpy() from NULL is undefined even for 0 */
		memcpy(stack, words, 8 * nr_words);
	memcpy(stack + 8 * nr_words, cur.stack, cur.len);
	r->sp = cur.regs.sp - 8 * nr_words;
	unwinder__stats(uw, &before);
	n = unwinder__unwind(uw, cur.as, r, stack, cur.len + 8 * nr_words, pcs, MAX_PCS, &reason);
	unwinder__stats(uw, &after);
	free(stack);
	*fp_frames = after.fp_frames - before.fp_frames;
	ASSERT_EQ(reason, cur.reason);
	ASSERT_EQ(n, cur.nr + (nr_words > 0));
	ASSERT_EQ(pcs[0], r->ip);
	for (i = 1; i < cur.nr; i++)
		ASSERT(pcs[n - i] == cur.pcs[cur.nr - i], "frame %d from the end", i);
}

/*
 * c stopped inside a PLT stub it called: before the stub's push (CFA =
 * rsp + 8) and after it (rsp + 16), as the linker's CFA expression for
 * .plt says: breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus.
 * ip is taken as a return address: pc - 1 is the instruction.
 */
static void test_plt(void)
{
	struct unwind_regs r;
	__u64 plt, words[2];
	int fp;

	NEED_FIXTURES();
	ASSERT(plt_vaddr(fx("chain"), &plt), ".plt of chain");
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	plt = chain_addr(plt) + 16;		/* the first entry after PLT0 */
	r = cur.regs;
	r.ip = plt + 6;				/* in jmp *GOT: nothing pushed yet */
	words[0] = cur.regs.ip;
	check_same_tail(&r, words, 1, &fp);
	if (t_case_failed)
		return;
	r = cur.regs;
	r.ip = plt + 12;			/* in jmp PLT0, after push $n */
	words[0] = 5;
	words[1] = cur.regs.ip;
	check_same_tail(&r, words, 2, &fp);
	ASSERT_EQ(fp, 0);
}

/* Code without CFI: the padding after c. rbp decides whether the FP rule can go on. */
static void test_no_cfi(void)
{
	struct unwind_regs r;
	__u64 c, size, pcs[4];
	int n, reason, fp;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("chain"), "c", &c, &size), "nm c");
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	r = cur.regs;
	r.ip = chain_addr(c + size) + 1;
	r.bp = 0;
	n = unwinder__unwind(uw, cur.as, &r, cur.stack, cur.len, pcs, 4, &reason);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(reason, UNWIND_STOP_NO_CFI);
	/* c's frame is sp .. sp + 16, b's return address at sp + 8: as if rbp framed it. */
	r.bp = cur.regs.sp;
	check_same_tail(&r, NULL, 0, &fp);
	ASSERT_EQ(fp, 1);
}

/* Where and why unwinds stop short. */
static void test_stops(void)
{
	struct unwind_regs r;
	__u64 pcs[4];
	int n, reason;

	NEED_FIXTURES();
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	ASSERT(cur.nr > 4, "%d frames", cur.nr);
	/* c's frame is sp .. sp + 16: the copy has b's return address, not a's. */
	n = unwinder__unwind(uw, cur.as, &cur.regs, cur.stack, 16, pcs, 4, &reason);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(reason, UNWIND_STOP_STACK);
	ASSERT_EQ(pcs[1], cur.pcs[1]);
	n = unwinder__unwind(uw, cur.as, &cur.regs, NULL, 0, pcs, 4, &reason);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(reason, UNWIND_STOP_STACK);
	n = unwinder__unwind(uw, cur.as, &cur.regs, cur.stack, cur.len, pcs, 3, &reason);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(reason, UNWIND_STOP_MAX);
	ASSERT_EQ(unwinder__unwind(uw, cur.as, &cur.regs, cur.stack, cur.len, pcs, 0, NULL),
		  -EINVAL);
	r = cur.regs;
	r.ip = 0x10;
	n = unwinder__unwind(uw, cur.as, &r, cur.stack, cur.len, pcs, 4, &reason);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(reason, UNWIND_STOP_UNMAPPED);
	ASSERT_STREQ(unwind_stop__str(UNWIND_STOP_END), "end");
	ASSERT_STREQ(unwind_stop__str(-1), "?");
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Printed, not asserted: valgrind makes it meaningless. */
static void test_perf(void)
{
	struct elf_line l[MAX_LINES];
	double t0, t1, t2, per_unwind;
	__u64 pcs[MAX_PCS];
	int i, j, iters = 0;

	NEED_FIXTURES();
	TAKE("chain", CHAIN_SIZE, "10", NULL);
	ASSERT(cur.nr >= 15 && cur.reason == UNWIND_STOP_END, "%d frames, %s", cur.nr,
	       unwind_stop__str(cur.reason));
	t0 = now_us();
	do {
		for (i = 0; i < 100; i++)
			unwinder__unwind(uw, cur.as, &cur.regs, cur.stack, cur.len, pcs, MAX_PCS,
					 NULL);
		iters += 100;
	} while (now_us() - t0 < 200000);
	per_unwind = (now_us() - t0) / iters;
	/* The first lookup opens (and inflates) each file's DWARF. */
	for (i = 0; i < cur.nr; i++)
		addr_space__lines(cur.as, cur.pcs[i] - 1, l, MAX_LINES);
	t1 = now_us();
	for (j = 0; j < 10; j++)
		for (i = 0; i < cur.nr; i++)
			addr_space__lines(cur.as, cur.pcs[i] - 1, l, MAX_LINES);
	t2 = now_us();
	printf("    unwind: %.2f us per %d-frame sample; lines: %.1f us per frame\n",
	       per_unwind, cur.nr, (t2 - t1) / (10 * cur.nr));
}

/* The exporter's Locations carry the inline chain, files and lines; go tool pprof agrees. */
static void test_pprof_lines(void)
{
	struct export_opts o = { .period = 1, .alloc_only = true };
	char path[4200], cmd[8400], want[4200], line[1024];
	bool inl = false, outer = false;
	struct agg_proc *p;
	struct agg *a;
	int err;
	FILE *f;

	NEED_FIXTURES();
	if (!have_go)
		SKIP_CASE("go is needed to read the profile");
	TAKE("chain", CHAIN_SIZE, NULL, NULL);
	a = agg__new();
	ASSERT(a, "agg");
	p = agg__proc(a, cur.pid);
	p->as = cur.as;		/* the aggregator frees it */
	cur.as = NULL;
	err = agg__add_alloc(a, p, cur.pcs, cur.nr, AS_FN_MALLOC, 0, 64, 1, 1, true);
	snprintf(path, sizeof(path), "%s/chain.pb.gz", tmpdir);
	if (!err)
		err = exporter__write(a, &o, path);
	agg__free(a);
	ASSERT(!err, "export: %s", strerror(-err));
	snprintf(cmd, sizeof(cmd), "cd %s && go tool pprof -raw %s 2>%s/pprof.err", tmpdir, path,
		 tmpdir);
	f = popen(cmd, "r");
	ASSERT(f, "go tool pprof");
	/* "     1: 0x... M=1 inl_alloc /tmp/.../chain.c:6 s=0", then c where it inlined it. */
	snprintf(want, sizeof(want), " inl_alloc %s/chain.c:%d s=0\n", tmpdir,
		 marker_line(chain_c, "inl"));
	while (fgets(line, sizeof(line), f)) {
		if (!inl && strstr(line, want)) {
			inl = true;
			snprintf(want, sizeof(want), " c %s/chain.c:%d s=0\n", tmpdir,
				 marker_line(chain_c, "c"));
			outer = fgets(line, sizeof(line), f) && strstr(line, want) &&
				!strstr(line, "M=");
		}
	}
	ASSERT(!pclose(f), "go tool pprof -raw failed");
	snprintf(cmd, sizeof(cmd), "test ! -s %s/pprof.err", tmpdir);
	ASSERT(!system(cmd), "go tool pprof printed warnings: see %s/pprof.err", tmpdir);
	ASSERT(inl && outer, "inl_alloc inlined in c, with lines (inl %d, outer %d)", inl, outer);
}

int main(void)
{
	t_suite = "unwinder";
	have_tools = !sh("(command -v cc && command -v g++ && command -v objcopy && "
			 "command -v nm && command -v readelf) >/dev/null 2>&1");
	have_go = !sh("command -v go >/dev/null 2>&1");
	have_clang = !sh("command -v clang >/dev/null 2>&1");
	have_fixtures = have_tools && build_fixtures();
	sym = symbolizer__new(256 << 20);
	uw = unwinder__new();
	if (!sym || !uw) {
		printf("FAIL unwinder/setup: %s\n", strerror(errno));
		return 1;
	}
	RUN_CASE(test_chain);
	RUN_CASE(test_lines);
	RUN_CASE(test_stripped);
	RUN_CASE(test_debug_frame);
	RUN_CASE(test_clang);
	RUN_CASE(test_fp_equal);
	RUN_CASE(test_cxx_vector);
	RUN_CASE(test_signal);
	RUN_CASE(test_thread);
	RUN_CASE(test_plt);
	RUN_CASE(test_no_cfi);
	RUN_CASE(test_stops);
	RUN_CASE(test_perf);
	RUN_CASE(test_pprof_lines);
	unwinder__free(uw);
	symbolizer__free(sym);
	if (have_fixtures && !t_failed)
		sh("rm -rf %s", tmpdir);
	return TEST_EXIT();
}
