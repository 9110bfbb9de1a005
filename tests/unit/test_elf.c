// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_elf.c - src/elf.c against what binutils says about the same files.
 *
 * The fixtures are compiled here, at run time, into a temporary directory:
 * a program built as PIE and non-PIE, a shared library, a versioned shared
 * library, stripped copies whose symbols live in separate debug files
 * (.gnu_debuglink, build-id directory, CRC without build id) and a C++
 * program. Expected values come from nm, readelf and objcopy; DWARF lines
 * from the fixture sources. Without a compiler every case is skipped.
 * (Unwinding, inline chains and libc's debug file: test_unwinder.c.)
 */
#include <gelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elffile.h"
#include "test.h"
#include "fixture.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/test_elf.XXXXXX";
static bool have_tools, have_fixtures;
static const char *libc_path = "/lib/x86_64-linux-gnu/libc.so.6";

/* noipa: no clones (gamma_site.isra.0) and no identical-code folding. */
static const char prog_c[] =
	"#include <stdlib.h>\n"
	"#define SITE __attribute__((noipa))\n"
	"SITE int alpha_site(int n) { char *p = malloc(n + 16); int r = p[0] = n; free(p);"
	" return r * 3 + 1; }\n"
	"SITE int beta_site(int n) { return alpha_site(n + 1) * 7 - n; }\n"
	"static SITE int gamma_site(int n) { return beta_site(n) ^ 0x55; }\n"
	"#ifdef VARIANT\n"
	"SITE int variant_site(int n) { return n * 11; }\n"
	"#endif\n"
	/* An unsized function, and a sized one holding a FUNC label. */
	"__asm__(\".section bare_sec,\\\"ax\\\",@progbits\\n"
	".globl outer_site\\n.type outer_site,@function\\n"
	"outer_site: nop\\nnop\\n"
	".type inner_label,@function\\ninner_label: nop\\nnop\\nret\\n"
	".size outer_site, .-outer_site\\n"
	".globl bare_site\\n.type bare_site,@function\\n"
	"bare_site: nop\\nnop\\nret\\n.text\\n\");\n"
	"int main(int argc, char **argv) { return gamma_site(argc); }\n";

static const char lib_c[] =
	"__attribute__((noipa)) int lib_site(int n) { return n * 5 + 2; }\n";

static const char dup1_c[] =
	"static __attribute__((noipa)) int dup_site(int n) { return n + 1; }\n"
	"int dup_one(int n) { return dup_site(n); }\n";
static const char dup2_c[] =
	"static __attribute__((noipa)) int dup_site(int n) { return n * 9; }\n"
	"int dup_one(int n);\n"
	"int main(int argc, char **argv) { return dup_site(argc) + dup_one(argc); }\n";

static const char ver_c[] =
	"__attribute__((noipa)) int vfn_v1(int x) { return x + 1; }\n"
	"__attribute__((noipa)) int vfn_v2(int x) { return x * 2 + 3; }\n"
	"__asm__(\".symver vfn_v1, vfn@VER_1\");\n"
	"__asm__(\".symver vfn_v2, vfn@@VER_2\");\n";
static const char ver_map[] =
	"VER_1 { global: vfn; local: *; };\nVER_2 { global: vfn; } VER_1;\n";

static const char widget_cc[] =
	"namespace ns {\n"
	"struct Widget { int n; int grow(int by); };\n"
	"__attribute__((noipa)) int Widget::grow(int by) { n += by; return n * 2; }\n"
	"}\n"
	"int main(int argc, char **) { ns::Widget w{argc}; return w.grow(3); }\n";

/* The first line of cmd's output that contains key, or false. */
static bool grep_cmd(const char *cmd, const char *key, char *line, size_t size)
{
	FILE *f = popen(cmd, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, size, f))
		found = strstr(line, key) != NULL;
	pclose(f);
	return found;
}

/* nm's value and size of a defined symbol named exactly name. */
static bool nm_sym(const char *path, bool dynamic, const char *name, __u64 *val, __u64 *size)
{
	char cmd[4200], line[1024], sym[512];
	unsigned long long v, s;
	bool found = false;
	char type;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s '%s'", dynamic ? "-D" : "", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		/* nm prints no size for unsized symbols */
		s = 0;
		if (sscanf(line, "%llx %llx %c %511s", &v, &s, &type, sym) != 4 &&
		    sscanf(line, "%llx %c %511s", &v, &type, sym) != 3)
			continue;
		if (!strcmp(sym, name)) {
			*val = v;
			*size = s;
			found = true;
		}
	}
	pclose(f);
	return found;
}

static void readelf_build_id(const char *path, char *hex, size_t size)
{
	char cmd[4200], line[1024];
	const char *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	hex[0] = '\0';
	if (grep_cmd(cmd, "Build ID: ", line, sizeof(line))) {
		p = strstr(line, "Build ID: ") + strlen("Build ID: ");
		snprintf(hex, size, "%.*s", (int)strcspn(p, " \n"), p);
	}
}

struct rload {
	__u64 off, vaddr, filesz;
};

static int readelf_loads(const char *path, struct rload *l, int max)
{
	unsigned long long off, vaddr, filesz;
	char cmd[4200], line[1024];
	int n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (n < max && sscanf(line, " LOAD %llx %llx %*x %llx", &off, &vaddr, &filesz) == 3)
			l[n++] = (struct rload){ off, vaddr, filesz };
	pclose(f);
	return n;
}

static bool readelf_section(const char *path, const char *name, __u64 *addr, __u64 *size)
{
	unsigned long long a, off, s;
	char cmd[4200], line[1024], key[128], sec[128];

	snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
	snprintf(key, sizeof(key), " %s ", name);
	if (!grep_cmd(cmd, key, line, sizeof(line)) ||
	    sscanf(strchr(line, ']') + 1, "%127s %*s %llx %llx %llx", sec, &a, &off, &s) != 4)
		return false;
	*addr = a;
	*size = s;
	return true;
}

static struct elf_file *open_elf(const char *path, const char *root, const char *optpath, int *err)
{
	struct elf_open_opts opts = { .root = root, .path = optpath };
	struct elf_file *ef;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	*err = elf_file__open(fd, &opts, &ef);
	return ef;
}

#define OPEN(ef, path, root, optpath) do {						\
	int _err;									\
	ef = open_elf(path, root, optpath, &_err);					\
	ASSERT(ef, "open %s: %s", path, strerror(-_err));				\
} while (0)

#define NEED_FIXTURES() do {								\
	if (!have_tools)								\
		SKIP_CASE("cc, g++ and binutils are needed to build fixtures");		\
	if (!have_fixtures)								\
		FAIL_CASE("fixtures failed to build, see %s/build.log", tmpdir);	\
} while (0)

static bool build_fixtures(void)
{
	const char *d = tmpdir;

	if (!mkdtemp(tmpdir))
		return false;
	fx_dir = tmpdir;
	if (!write_file(fx("prog.c"), prog_c) || !write_file(fx("lib.c"), lib_c) ||
	    !write_file(fx("dup1.c"), dup1_c) || !write_file(fx("dup2.c"), dup2_c) ||
	    !write_file(fx("ver.c"), ver_c) || !write_file(fx("ver.map"), ver_map) ||
	    !write_file(fx("widget.cc"), widget_cc))
		return false;
	return !sh("(cd %s && cc -g -O2 -fPIE -pie prog.c -o prog_pie && "
		   "cc -g -O2 -fno-pie -no-pie prog.c -o prog_nopie && "
		   "cc -g -O2 -fPIC -shared lib.c -o libfix.so && "
		   "cc -g -O2 -fPIC -shared -Wl,--version-script=ver.map ver.c -o libver.so && "
		   "cc -g -O2 dup1.c dup2.c -o dup && "
		   "cc -g -O2 -c lib.c -o lib.o && "
		   "g++ -g -O2 widget.cc -o widget && "
		   /* stripped, its debug file next to it and in .debug/ */
		   "objcopy --only-keep-debug prog_pie prog.debug && "
		   "objcopy --strip-all --add-gnu-debuglink=prog.debug prog_pie prog_stripped && "
		   "mkdir -p sub/.debug && cp prog_stripped sub/ && cp prog.debug sub/.debug/ && "
		   /* stripped without a link: found by build id under a root */
		   "objcopy --strip-all prog_pie prog_nolink && "
		   "bid=$(readelf -n prog_pie | sed -n 's/.*Build ID: //p') && "
		   "dbg=usr/lib/debug/.build-id/${bid%%${bid#??}} && "
		   "mkdir -p root/$dbg badroot/$dbg && cp prog.debug root/$dbg/${bid#??}.debug && "
		   /* and one under the wrong build id */
		   "objcopy --only-keep-debug prog_nopie badroot/$dbg/${bid#??}.debug && "
		   /* no build id: the link's CRC decides; a look-alike must not pass */
		   "cc -g -O2 -Wl,--build-id=none prog.c -o prog_nobid && "
		   "objcopy --only-keep-debug prog_nobid nobid.debug && "
		   "objcopy --strip-all --add-gnu-debuglink=nobid.debug "
		   "prog_nobid nobid_stripped && "
		   "mkdir -p bad && cp nobid_stripped bad/ && "
		   "cc -g -O2 -DVARIANT -Wl,--build-id=none prog.c -o variant && "
		   "objcopy --only-keep-debug variant bad/nobid.debug && "
		   "cp prog_pie prog_copy"
		   ") >%s/build.log 2>&1", d, d);
}

static void test_build_id(void)
{
	const char *files[] = { "prog_pie", "prog_nopie", "libfix.so", "widget", "prog_nobid" };
	struct elf_file *ef;
	char want[256];
	size_t i;

	NEED_FIXTURES();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		readelf_build_id(fx(files[i]), want, sizeof(want));
		OPEN(ef, fx(files[i]), "", NULL);
		ASSERT_STREQ(elf_file__build_id(ef), want);
		elf_file__free(ef);
	}
	ASSERT(strlen(want) == 0, "prog_nobid has a build id");
	readelf_build_id(libc_path, want, sizeof(want));
	OPEN(ef, libc_path, "", NULL);
	ASSERT(strlen(want) == 40, "libc build id \"%s\"", want);
	ASSERT_STREQ(elf_file__build_id(ef), want);
	elf_file__free(ef);
}

static void test_is_dyn(void)
{
	struct elf_file *ef;

	NEED_FIXTURES();
	OPEN(ef, fx("prog_pie"), "", NULL);
	ASSERT(elf_file__is_dyn(ef), "PIE is ET_DYN");
	elf_file__free(ef);
	OPEN(ef, fx("prog_nopie"), "", NULL);
	ASSERT(!elf_file__is_dyn(ef), "non-PIE is ET_EXEC");
	elf_file__free(ef);
	OPEN(ef, fx("libfix.so"), "", NULL);
	ASSERT(elf_file__is_dyn(ef), "shared library is ET_DYN");
	elf_file__free(ef);
}

/* find_func(name) agrees with nm, in .symtab (and .dynsym if exported). */
static void check_func(const char *file, const char *name, bool exported)
{
	__u64 want, want_size, vaddr = 0, size = 0;
	struct elf_file *ef;
	int err;

	ASSERT(nm_sym(fx(file), false, name, &want, &want_size), "nm %s %s", file, name);
	OPEN(ef, fx(file), "", NULL);
	err = elf_file__find_func(ef, name, false, &vaddr, &size);
	ASSERT(!err, "%s:%s: %d", file, name, err);
	ASSERT_EQ(vaddr, want);
	ASSERT_EQ(size, want_size);
	err = elf_file__find_func(ef, name, true, &vaddr, &size);
	ASSERT(exported ? !err : err == -ENOENT, "%s:%s dynamic: %d", file, name, err);
	if (exported)
		ASSERT_EQ(vaddr, want);
	elf_file__free(ef);
}

static void test_find_func(void)
{
	struct elf_file *ef;
	__u64 vaddr, size;

	NEED_FIXTURES();
	check_func("prog_pie", "alpha_site", false);
	if (t_case_failed)
		return;
	check_func("prog_pie", "beta_site", false);
	check_func("prog_pie", "gamma_site", false);
	check_func("prog_nopie", "alpha_site", false);
	check_func("prog_nopie", "gamma_site", false);
	check_func("libfix.so", "lib_site", true);
	check_func("widget", "_ZN2ns6Widget4growEi", false);
	if (t_case_failed)
		return;
	OPEN(ef, fx("prog_pie"), "", NULL);
	ASSERT_EQ(elf_file__find_func(ef, "alpha", false, &vaddr, &size), -ENOENT);
	ASSERT_EQ(elf_file__find_func(ef, "no_such_site", false, &vaddr, &size), -ENOENT);
	elf_file__free(ef);
	/* Two static dup_site: neither can be the answer. */
	OPEN(ef, fx("dup"), "", NULL);
	ASSERT_EQ(elf_file__find_func(ef, "dup_site", false, &vaddr, &size), -ENOTUNIQ);
	elf_file__free(ef);
}

static void check_offsets(const char *file, const char *fn)
{
	struct rload l[16];
	struct elf_file *ef;
	__u64 vaddr, size, off, back;
	int i, n;

	n = readelf_loads(fx(file), l, 16);
	ASSERT(n >= 2, "%s: %d PT_LOADs", file, n);
	OPEN(ef, fx(file), "", NULL);
	for (i = 0; i < n; i++) {
		if (!l[i].filesz)
			continue;
		ASSERT(!elf_file__vaddr_to_offset(ef, l[i].vaddr, &off), "LOAD %d", i);
		ASSERT_EQ(off, l[i].off);
		ASSERT(!elf_file__vaddr_to_offset(ef, l[i].vaddr + l[i].filesz - 1, &off), "end");
		ASSERT_EQ(off, l[i].off + l[i].filesz - 1);
		ASSERT(!elf_file__offset_to_vaddr(ef, l[i].off, &back), "LOAD %d", i);
		ASSERT_EQ(back, l[i].vaddr);
	}
	ASSERT(!elf_file__find_func(ef, fn, false, &vaddr, &size), "%s", fn);
	for (i = 0; i < n; i++)
		if (vaddr >= l[i].vaddr && vaddr < l[i].vaddr + l[i].filesz)
			break;
	ASSERT(i < n, "%s in no PT_LOAD", fn);
	ASSERT(!elf_file__vaddr_to_offset(ef, vaddr, &off), "%s", fn);
	ASSERT_EQ(off, vaddr - l[i].vaddr + l[i].off);
	ASSERT(!elf_file__offset_to_vaddr(ef, off, &back), "%s", fn);
	ASSERT_EQ(back, vaddr);
	ASSERT_EQ(elf_file__vaddr_to_offset(ef, 1ULL << 60, &off), -ENOENT);
	ASSERT_EQ(elf_file__offset_to_vaddr(ef, 1ULL << 40, &back), -ENOENT);
	elf_file__free(ef);
}

static void test_offsets(void)
{
	unsigned char buf[8];
	struct elf_file *ef;
	struct stat st;

	NEED_FIXTURES();
	check_offsets("prog_pie", "alpha_site");
	check_offsets("prog_nopie", "alpha_site");
	check_offsets("libfix.so", "lib_site");
	if (t_case_failed)
		return;
	OPEN(ef, fx("prog_pie"), "", NULL);
	ASSERT_EQ(elf_file__read(ef, 0, buf, 4), 4);
	ASSERT(!memcmp(buf, ELFMAG, SELFMAG), "ELF magic");
	ASSERT(!stat(fx("prog_pie"), &st), "stat");
	ASSERT_EQ(elf_file__read(ef, st.st_size - 2, buf, sizeof(buf)), 2);
	ASSERT_EQ(elf_file__read(ef, st.st_size, buf, sizeof(buf)), 0);
	elf_file__free(ef);
}

/* alpha_site from its first to its last byte, and not one past. */
static void check_symbolize(const char *file, const char *name)
{
	__u64 vaddr, size, start, probes[4];
	const char *got, *raw;
	struct elf_file *ef;
	int i;

	ASSERT(nm_sym(fx(file), false, name, &vaddr, &size), "nm %s", name);
	ASSERT(size > 2, "%s size %llu", name, (unsigned long long)size);
	probes[0] = vaddr;
	probes[1] = vaddr + 1;
	probes[2] = vaddr + size / 2;
	probes[3] = vaddr + size - 1;
	OPEN(ef, fx(file), "", NULL);
	for (i = 0; i < 4; i++) {
		start = 0;
		got = elf_file__symbolize(ef, probes[i], &start, &raw);
		ASSERT_STREQ(got, name);
		ASSERT_STREQ(raw, name);
		ASSERT_EQ(start, vaddr);
	}
	got = elf_file__symbolize(ef, vaddr + size, NULL, NULL);
	ASSERT(!got || strcmp(got, name), "%s past its end", name);
	ASSERT(elf_file__has_debug_symbols(ef), "%s has .symtab", file);
	elf_file__free(ef);
}

static void test_symbolize(void)
{
	NEED_FIXTURES();
	check_symbolize("prog_pie", "alpha_site");
	check_symbolize("prog_pie", "beta_site");
	check_symbolize("prog_pie", "gamma_site");
	check_symbolize("prog_nopie", "alpha_site");
	check_symbolize("prog_nopie", "gamma_site");
	check_symbolize("libfix.so", "lib_site");
}

/* Unsized symbols reach the next symbol or their section's end, no further. */
static void test_unsized(void)
{
	__u64 outer, bare, inner, sec, sec_size, size;
	struct elf_file *ef;
	const char *got;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("prog_pie"), false, "outer_site", &outer, &size), "outer_site");
	ASSERT(nm_sym(fx("prog_pie"), false, "bare_site", &bare, &size), "bare_site");
	ASSERT_EQ(size, 0);
	ASSERT(readelf_section(fx("prog_pie"), "bare_sec", &sec, &sec_size), "bare_sec");
	ASSERT_EQ(bare + 3, sec + sec_size);
	inner = outer + 2;
	OPEN(ef, fx("prog_pie"), "", NULL);
	ASSERT_STREQ(elf_file__symbolize(ef, inner + 1, NULL, NULL), "outer_site");
	ASSERT_STREQ(elf_file__symbolize(ef, bare, NULL, NULL), "bare_site");
	ASSERT_STREQ(elf_file__symbolize(ef, bare + 2, NULL, NULL), "bare_site");
	got = elf_file__symbolize(ef, sec + sec_size, NULL, NULL);
	ASSERT(!got || strcmp(got, "bare_site"), "bare_site past its section: %s", got);
	elf_file__free(ef);
}

/* A stripped file symbolizes static functions through its debug file. */
static void check_debug_file(const char *file, const char *root, const char *optpath)
{
	__u64 vaddr, size, got_vaddr;
	struct elf_file *ef;

	ASSERT(nm_sym(fx("prog_pie"), false, "gamma_site", &vaddr, &size), "gamma_site");
	OPEN(ef, file, root, optpath);
	ASSERT(elf_file__has_debug_symbols(ef), "%s: no debug file found", file);
	ASSERT_STREQ(elf_file__symbolize(ef, vaddr + size - 1, NULL, NULL), "gamma_site");
	ASSERT(!elf_file__find_func(ef, "gamma_site", false, &got_vaddr, &size), "find");
	ASSERT_EQ(got_vaddr, vaddr);
	ASSERT_EQ(elf_file__find_func(ef, "gamma_site", true, &got_vaddr, &size), -ENOENT);
	elf_file__free(ef);
}

static void test_debuglink(void)
{
	struct elf_file *ef;
	__u64 vaddr, size;

	NEED_FIXTURES();
	check_debug_file(fx("prog_stripped"), "", fx("prog_stripped"));
	check_debug_file(fx("sub/prog_stripped"), "", fx("sub/prog_stripped"));
	check_debug_file(fx("prog_nolink"), fx("root"), NULL);
	check_debug_file(fx("prog_nolink"), fx("root"), "/no/such/dir/prog");
	if (t_case_failed)
		return;
	OPEN(ef, fx("prog_nolink"), fx("badroot"), NULL);
	ASSERT(!elf_file__has_debug_symbols(ef), "a debug file with the wrong build id was used");
	elf_file__free(ef);
	/* Without a path the link cannot be followed; the build-id dir is elsewhere. */
	OPEN(ef, fx("prog_stripped"), "", NULL);
	ASSERT(!elf_file__has_debug_symbols(ef), "debug file without a path");
	ASSERT(nm_sym(fx("prog_pie"), false, "alpha_site", &vaddr, &size), "alpha_site");
	ASSERT(!elf_file__symbolize(ef, vaddr, NULL, NULL), "alpha_site is not exported");
	elf_file__free(ef);
}

static void test_debuglink_crc(void)
{
	struct elf_file *ef;
	__u64 vaddr, size;

	NEED_FIXTURES();
	OPEN(ef, fx("nobid_stripped"), "", fx("nobid_stripped"));
	ASSERT_STREQ(elf_file__build_id(ef), "");
	ASSERT(elf_file__has_debug_symbols(ef), "CRC should match");
	ASSERT(nm_sym(fx("prog_nobid"), false, "gamma_site", &vaddr, &size), "gamma_site");
	ASSERT_STREQ(elf_file__symbolize(ef, vaddr, NULL, NULL), "gamma_site");
	elf_file__free(ef);
	/* Same link name, other contents. */
	OPEN(ef, fx("bad/nobid_stripped"), "", fx("bad/nobid_stripped"));
	ASSERT(!elf_file__has_debug_symbols(ef), "a debug file with the wrong CRC was used");
	ASSERT(!elf_file__symbolize(ef, vaddr, NULL, NULL), "symbolized from the wrong file");
	elf_file__free(ef);
}

static void test_cxx(void)
{
	const char *mangled = "_ZN2ns6Widget4growEi", *raw, *got;
	__u64 vaddr, size, start;
	struct elf_file *ef;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("widget"), false, mangled, &vaddr, &size), "nm");
	OPEN(ef, fx("widget"), "", NULL);
	got = elf_file__symbolize(ef, vaddr + 1, &start, &raw);
	ASSERT_STREQ(got, "ns::Widget::grow(int)");
	ASSERT_STREQ(raw, mangled);
	ASSERT_EQ(start, vaddr);
	/* The cached string comes back. */
	ASSERT(elf_file__symbolize(ef, vaddr, NULL, NULL) == got, "demangled twice");
	ASSERT_STREQ(elf_file__symbolize(ef, vaddr, NULL, NULL), "ns::Widget::grow(int)");
	elf_file__free(ef);
}

/* Debian's libc has only .dynsym (its .symtab is in libc6-dbg, if installed). */
static void test_libc(void)
{
	const char *fns[] = { "malloc", "free", "calloc", "realloc" };
	__u64 want, want_size, vaddr, size, any;
	char versioned[64];
	struct elf_file *ef;
	size_t i;

	if (!have_tools || access(libc_path, R_OK))
		SKIP_CASE("needs binutils and %s", libc_path);
	OPEN(ef, libc_path, "", libc_path);
	ASSERT(elf_file__is_dyn(ef), "libc is ET_DYN");
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		snprintf(versioned, sizeof(versioned), "%s@@GLIBC_2.2.5", fns[i]);
		ASSERT(nm_sym(libc_path, true, versioned, &want, &want_size), "nm %s", versioned);
		ASSERT(!elf_file__find_func(ef, fns[i], true, &vaddr, &size), "%s", fns[i]);
		ASSERT_EQ(vaddr, want);
		ASSERT_EQ(size, want_size);
		ASSERT(!elf_file__find_func(ef, fns[i], false, &any, &size), "%s", fns[i]);
		ASSERT_EQ(any, want);
		/* The exported name wins over __libc_malloc, __malloc, cfree... */
		ASSERT_STREQ(elf_file__symbolize(ef, vaddr + 1, NULL, NULL), fns[i]);
	}
	elf_file__free(ef);
}

/* The default version wins: vfn@@VER_2 over vfn@VER_1, memcpy@@GLIBC_2.14 over 2.2.5. */
static void test_versioned(void)
{
	__u64 v1, v2, want, size, vaddr;
	struct elf_file *ef;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("libver.so"), true, "vfn@VER_1", &v1, &size), "vfn@VER_1");
	ASSERT(nm_sym(fx("libver.so"), true, "vfn@@VER_2", &v2, &size), "vfn@@VER_2");
	OPEN(ef, fx("libver.so"), "", NULL);
	ASSERT(!elf_file__find_func(ef, "vfn", true, &vaddr, &size), "vfn dynamic");
	ASSERT_EQ(vaddr, v2);
	ASSERT(!elf_file__find_func(ef, "vfn", false, &vaddr, &size), "vfn");
	ASSERT_EQ(vaddr, v2);
	ASSERT(!elf_file__find_func(ef, "vfn@VER_1", false, &vaddr, &size), "vfn@VER_1");
	ASSERT_EQ(vaddr, v1);
	ASSERT_STREQ(elf_file__symbolize(ef, v1, NULL, NULL), "vfn@VER_1");
	ASSERT_STREQ(elf_file__symbolize(ef, v2, NULL, NULL), "vfn@@VER_2");
	elf_file__free(ef);

	ASSERT(nm_sym(libc_path, true, "memcpy@@GLIBC_2.14", &want, &size), "memcpy");
	OPEN(ef, libc_path, "", NULL);
	ASSERT(!elf_file__find_func(ef, "memcpy", true, &vaddr, &size), "memcpy");
	ASSERT_EQ(vaddr, want);
	elf_file__free(ef);
}

static void test_not_elf(void)
{
	__u64 before = elf_file__nr_errors();
	struct elf_file *ef = NULL;
	int fd, err;

	NEED_FIXTURES();
	ef = open_elf(fx("prog.c"), "", NULL, &err);
	ASSERT(!ef && err == -ENOEXEC, "source file: %d", err);
	ef = open_elf(fx("lib.o"), "", NULL, &err);
	ASSERT(!ef && err == -ENOEXEC, "relocatable: %d", err);
	/* Not a file: a FIFO would block every read. */
	ASSERT(!sh("rm -f %s && mkfifo %s", fx("fifo"), fx("fifo")), "mkfifo");
	fd = open(fx("fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT(fd >= 0, "open fifo: %s", strerror(errno));
	ASSERT_EQ(elf_file__open(fd, NULL, &ef), -ENOEXEC);
	ASSERT_EQ(elf_file__nr_errors() - before, 3);
}

/*
 * Runs a case in a child, so that a signal (SIGBUS from a file mapped and
 * cut under us) fails that case rather than ending the suite.
 */
static void in_child(void (*body)(void))
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		body();
		fflush(stdout);
		_exit(t_case_failed || t_case_skipped ? 1 : 0);
	}
	ASSERT(waitpid(pid, &st, 0) == pid, "waitpid");
	ASSERT(!WIFSIGNALED(st), "killed by signal %d", WTERMSIG(st));
	ASSERT(WIFEXITED(st) && !WEXITSTATUS(st), "the case failed in its child");
}

/* A copy of a fixture to cut or overwrite: "scratch". */
static const char *scratch(const char *name)
{
	const char *path = fx("scratch");

	return sh("cp %s %s", fx(name), path) ? NULL : path;
}

/* Cut anywhere, a file is refused at open, with the error counted. */
static void test_truncated(void)
{
	static const char *const cuts[] = { "-1", "-4096", "3000", "40", "0" };
	static const int want[] = { -EIO, -EIO, -EIO, -ENOEXEC, -ENOEXEC };
	__u64 before = elf_file__nr_errors();
	struct elf_file *ef;
	const char *path;
	size_t i;
	int err;

	NEED_FIXTURES();
	for (i = 0; i < ARRAY_SIZE(cuts); i++) {
		path = scratch("prog_pie");
		ASSERT(path && !sh("truncate -s %s %s", cuts[i], path), "cut %s", cuts[i]);
		ef = open_elf(path, "", NULL, &err);
		ASSERT(!ef, "cut %s: opened", cuts[i]);
		ASSERT(err == want[i], "cut %s: %d, want %d", cuts[i], err, want[i]);
	}
	ASSERT_EQ(elf_file__nr_errors() - before, ARRAY_SIZE(cuts));
}

/*
 * Cut after it was opened: what was not read yet fails, counted once for
 * the object; what was read (its symbols) still answers.
 */
static void shrinks_body(void)
{
	struct elf_file *ef, *loaded;
	__u64 before, vaddr, size, v, s;
	char buf[16];

	ASSERT(nm_sym(fx("prog_pie"), false, "alpha_site", &vaddr, &size), "alpha_site");
	ASSERT(!sh("cp %s %s && cp %s %s", fx("prog_pie"), fx("cut1"), fx("prog_pie"),
		   fx("cut2")), "copies");
	OPEN(ef, fx("cut1"), "", NULL);
	OPEN(loaded, fx("cut2"), "", NULL);
	ASSERT(!elf_file__load_symbols(loaded), "symbols before the cut");
	before = elf_file__nr_errors();
	ASSERT(!sh("truncate -s 0 %s && truncate -s 4096 %s", fx("cut1"), fx("cut2")), "cut");
	ASSERT_EQ(elf_file__load_symbols(ef), -EIO);
	ASSERT(!elf_file__symbolize(ef, vaddr, NULL, NULL), "a symbol from nothing");
	ASSERT_EQ(elf_file__find_func(ef, "alpha_site", false, &v, &s), -EIO);
	ASSERT(!elf_file__eh_cfi(ef), "CFI from nothing");
	ASSERT(!elf_file__has_lines(ef), "lines from nothing");
	ASSERT_EQ(elf_file__read(ef, 0, buf, sizeof(buf)), 0);
	ASSERT_EQ(elf_file__nr_errors() - before, 1);
	ASSERT_STREQ(elf_file__symbolize(loaded, vaddr, NULL, NULL), "alpha_site");
	ASSERT(!elf_file__has_lines(loaded), "lines from a cut file");
	ASSERT_EQ(elf_file__nr_errors() - before, 2);
	elf_file__free(ef);
	elf_file__free(loaded);
}

static void test_shrinks(void)
{
	NEED_FIXTURES();
	in_child(shrinks_body);
}

static int cache_get(struct elf_cache *c, const char *path, struct elf_file **ef)
{
	struct elf_open_opts opts = { .root = "", .path = path };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return elf_cache__get(c, fd, &opts, ef);
}

static void test_cache_identity(void)
{
	struct elf_file *a, *b, *copy, *other, *bad;
	struct elf_cache_stats st;
	struct elf_cache *c;

	NEED_FIXTURES();
	c = elf_cache__new(64 << 20);
	ASSERT(c, "new");
	ASSERT(!cache_get(c, fx("prog_pie"), &a), "get");
	ASSERT(!cache_get(c, fx("prog_pie"), &b), "get");
	ASSERT(a == b, "two fds of one file, two objects");
	/* Another inode, same build id. */
	ASSERT(!cache_get(c, fx("prog_copy"), &copy), "get copy");
	ASSERT(copy == a, "same build id, two objects");
	ASSERT(!cache_get(c, fx("prog_nopie"), &other), "get");
	ASSERT(other != a, "different files, one object");
	ASSERT_EQ(cache_get(c, fx("prog.c"), &bad), -ENOEXEC);
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.hits, 2);
	ASSERT_EQ(st.misses, 2);
	ASSERT_EQ(st.files, 2);
	elf_file__put(a);
	elf_file__put(b);
	elf_file__put(copy);
	elf_file__put(other);
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.evictions, 0);
	elf_cache__free(c);
}

/* Unreferenced files go at once under a tiny budget; referenced ones stay usable. */
static void test_cache_tiny(void)
{
	struct elf_cache_stats st;
	struct elf_file *a, *b;
	struct elf_cache *c;
	__u64 vaddr, size;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("prog_pie"), false, "alpha_site", &vaddr, &size), "alpha_site");
	c = elf_cache__new(1);
	ASSERT(c, "new");
	ASSERT(!cache_get(c, fx("prog_pie"), &a), "get");
	ASSERT(!cache_get(c, fx("libfix.so"), &b), "get");
	ASSERT(!elf_file__load_symbols(a) && !elf_file__load_symbols(b), "load");
	elf_cache__stats(c, &st);
	ASSERT(st.bytes > 1, "bytes %llu", (unsigned long long)st.bytes);
	ASSERT_EQ(st.evictions, 0);
	elf_file__put(b);
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.evictions, 1);
	ASSERT_EQ(st.files, 1);
	ASSERT_STREQ(elf_file__symbolize(a, vaddr, NULL, NULL), "alpha_site");
	elf_file__put(a);
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.evictions, 2);
	ASSERT_EQ(st.files, 0);
	ASSERT_EQ(st.bytes, 0);
	ASSERT(!cache_get(c, fx("prog_pie"), &a), "get");
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.misses, 3);
	/* Outlives its cache. */
	elf_cache__free(c);
	ASSERT_STREQ(elf_file__symbolize(a, vaddr, NULL, NULL), "alpha_site");
	elf_file__put(a);
}

/* The bytes one file with loaded symbols costs. */
static __u64 file_bytes(const char *name)
{
	struct elf_cache *c = elf_cache__new(SIZE_MAX);
	struct elf_cache_stats st = { 0 };
	struct elf_file *ef;

	if (c && !cache_get(c, fx(name), &ef)) {
		elf_file__load_symbols(ef);
		elf_cache__stats(c, &st);
		elf_file__put(ef);
	}
	elf_cache__free(c);
	return st.bytes;
}

static void get_loaded_put(struct elf_cache *c, const char *name)
{
	struct elf_file *ef;

	if (!cache_get(c, fx(name), &ef)) {
		elf_file__load_symbols(ef);
		elf_file__put(ef);
	}
}

/* Over budget, the least recently released file goes first. */
static void test_cache_lru(void)
{
	struct elf_cache_stats st;
	struct elf_cache *c;
	__u64 a, b, d;

	NEED_FIXTURES();
	a = file_bytes("prog_pie");
	b = file_bytes("libfix.so");
	d = file_bytes("widget");
	ASSERT(a && b && d, "sizes %llu %llu %llu", (unsigned long long)a,
	       (unsigned long long)b, (unsigned long long)d);
	c = elf_cache__new(a + (b > d ? b : d));
	ASSERT(c, "new");
	get_loaded_put(c, "prog_pie");
	get_loaded_put(c, "libfix.so");
	get_loaded_put(c, "prog_pie");	/* now libfix.so is the oldest */
	get_loaded_put(c, "widget");
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.evictions, 1);
	ASSERT_EQ(st.files, 2);
	ASSERT_EQ(st.bytes, a + d);
	get_loaded_put(c, "prog_pie");
	elf_cache__stats(c, &st);
	ASSERT_EQ(st.hits, 2);
	ASSERT_EQ(st.misses, 3);
	elf_cache__free(c);
}

/* A file's one source frame at vaddr: function, raw name, file and line. */
static void check_line(struct elf_file *ef, __u64 vaddr, const char *func, const char *raw,
		       const char *file, int line)
{
	struct elf_line l[4];
	int n;

	ASSERT(elf_file__has_lines(ef), "no DWARF lines");
	n = elf_file__lines(ef, vaddr, l, 4);
	ASSERT_EQ(n, 1);
	ASSERT_STREQ(l[0].func, func);
	ASSERT_STREQ(l[0].raw, raw);
	ASSERT(ends_with(l[0].file, file), "file %s, want *%s", l[0].file, file);
	ASSERT_EQ(l[0].line, line);
}

/* DWARF lines and CFI: in the file, through its debug file, and what the cache pays. */
static void test_dwarf(void)
{
	struct elf_cache_stats before, after;
	struct elf_line l[4];
	struct elf_cache *c;
	struct elf_file *ef;
	__u64 vaddr, size;

	NEED_FIXTURES();
	ASSERT(nm_sym(fx("prog_pie"), false, "alpha_site", &vaddr, &size), "alpha_site");
	OPEN(ef, fx("prog_pie"), "", NULL);
	check_line(ef, vaddr, "alpha_site", "alpha_site", "/prog.c", 3);
	ASSERT_EQ(elf_file__lines(ef, vaddr, l, 0), -EINVAL);
	ASSERT(elf_file__eh_cfi(ef), "prog_pie has .eh_frame");
	ASSERT(elf_file__eh_cfi(ef) == elf_file__eh_cfi(ef), "CFI parsed twice");
	ASSERT(!elf_file__debug_cfi(ef), "gcc emits no .debug_frame with unwind tables");
	elf_file__free(ef);
	OPEN(ef, fx("prog_stripped"), "", fx("prog_stripped"));
	check_line(ef, vaddr, "alpha_site", "alpha_site", "/prog.c", 3);
	ASSERT(elf_file__eh_cfi(ef), "stripping keeps .eh_frame");
	elf_file__free(ef);
	OPEN(ef, fx("prog_nolink"), "", NULL);
	ASSERT(!elf_file__has_lines(ef), "lines without DWARF");
	ASSERT_EQ(elf_file__lines(ef, vaddr, l, 4), 0);
	elf_file__free(ef);
	ASSERT(nm_sym(fx("widget"), false, "_ZN2ns6Widget4growEi", &vaddr, &size), "grow");
	OPEN(ef, fx("widget"), "", NULL);
	check_line(ef, vaddr, "ns::Widget::grow(int)", "_ZN2ns6Widget4growEi", "/widget.cc", 3);
	elf_file__free(ef);
	/* An open DWARF is charged to the cache. */
	c = elf_cache__new(SIZE_MAX);
	ASSERT(c && !cache_get(c, fx("widget"), &ef), "get");
	elf_file__load_symbols(ef);
	elf_cache__stats(c, &before);
	ASSERT(elf_file__lines(ef, vaddr, l, 4) == 1, "lines");
	elf_cache__stats(c, &after);
	ASSERT(after.bytes > before.bytes, "DWARF is free: %llu bytes",
	       (unsigned long long)after.bytes);
	elf_file__put(ef);
	elf_cache__free(c);
}

int main(void)
{
	t_suite = "elf";
	have_tools = !sh("(command -v cc && command -v g++ && command -v objcopy && "
			 "command -v nm && command -v readelf) >/dev/null 2>&1");
	have_fixtures = have_tools && build_fixtures();
	RUN(test_build_id);
	RUN(test_is_dyn);
	RUN(test_find_func);
	RUN(test_offsets);
	RUN(test_symbolize);
	RUN(test_unsized);
	RUN(test_debuglink);
	RUN(test_debuglink_crc);
	RUN(test_cxx);
	RUN(test_dwarf);
	RUN(test_libc);
	RUN(test_versioned);
	RUN(test_not_elf);
	RUN(test_truncated);
	RUN(test_shrinks);
	RUN(test_cache_identity);
	RUN(test_cache_tiny);
	RUN(test_cache_lru);
	if (have_fixtures && !t_failed)
		sh("rm -rf %s", tmpdir);
	return TEST_EXIT();
}
