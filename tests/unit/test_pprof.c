// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pprof.c - the profile.proto writer, read back by the reference reader, go tool pprof.
 *
 *   test_pprof               run the cases
 *   test_pprof --write PATH  write the heap-shaped sample profile to PATH (for
 *                            tests/integration/test_pprof_lib.sh)
 *
 * Cases that need `go` print SKIP when it is not installed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "pprof.h"

static char tmpdir[] = "/tmp/test_pprof.XXXXXX";
static int have_go;

/* --- the sample profile --- */

#define HEAP_TIME 1700000000123456789LL

static const char *const heap_types[][2] = {
	{ "alloc_objects", "count" },
	{ "alloc_space", "bytes" },
	{ "inuse_objects", "count" },
	{ "inuse_space", "bytes" },
};

static int add_heap_types(struct pprof *p)
{
	size_t i;
	int err;

	for (i = 0; i < 4; i++) {
		err = pprof__add_sample_type(p, heap_types[i][0], heap_types[i][1]);
		if (err)
			return err;
	}
	pprof__set_period(p, "space", "bytes", 524288);
	return 0;
}

#define STR(k, v) { .key = (k), .str = (v) }
#define NUM(k, n, u) { .key = (k), .num = (n), .num_unit = (u) }

#define CXX_NAME "std::vector<int, std::allocator<int> >::push_back(int const&)"
#define CXX_SYS "_ZNSt6vectorIiSaIiEE9push_backERKi"

/*
 * Go's heap profile shape, with what our daemon adds: an inlined frame, a C++ frame whose
 * system name differs, an unsymbolized frame, string labels and a numeric label with a unit.
 */
static struct pprof *heap_profile(void)
{
	const struct pprof_mapping app = {
		.start = 0x400000, .limit = 0x500000, .filename = "/usr/bin/app",
		.build_id = "deadbeefcafe", .has_functions = true, .has_filenames = true,
		.has_line_numbers = true, .has_inline_frames = true,
	};
	const struct pprof_mapping libc = {
		.start = 0x7f0000000000, .limit = 0x7f0000200000, .offset = 0x28000,
		.filename = "/usr/lib/x86_64-linux-gnu/libc.so.6", .build_id = "0123abcd",
		.has_functions = true,
	};
	struct pprof *p = pprof__new();
	__u64 m_app, m_libc, f_malloc, f_main, f_wrap, f_inl, f_cxx, l[6];
	struct pprof_line ln[2];

	if (!p || add_heap_types(p))
		goto fail;
	pprof__set_time(p, HEAP_TIME, 0);
	pprof__set_default_sample_type(p, "alloc_space");
	if (pprof__add_comment(p, "allocscope test profile") ||
	    pprof__add_comment(p, "second comment"))
		goto fail;
	m_app = pprof__add_mapping(p, &app);
	m_libc = pprof__add_mapping(p, &libc);
	f_malloc = pprof__add_function(p, "malloc", "malloc", "", 0);
	f_inl = pprof__add_function(p, "inline_helper", "inline_helper", "/src/app.c", 10);
	f_wrap = pprof__add_function(p, "alloc_wrapper", "alloc_wrapper", "/src/app.c", 25);
	f_main = pprof__add_function(p, "main", "main", "/src/app.c", 40);
	f_cxx = pprof__add_function(p, CXX_NAME, CXX_SYS, "/usr/include/c++/12/bits/stl_vector.h",
				    1270);
	ln[0] = (struct pprof_line){ f_malloc, 0 };
	l[1] = pprof__add_location(p, m_libc, 0x7f0000012340, ln, 1);
	ln[0] = (struct pprof_line){ f_inl, 12 };
	ln[1] = (struct pprof_line){ f_wrap, 30 };
	l[2] = pprof__add_location(p, m_app, 0x401000, ln, 2);
	ln[0] = (struct pprof_line){ f_main, 50 };
	l[3] = pprof__add_location(p, m_app, 0x402000, ln, 1);
	ln[0] = (struct pprof_line){ f_cxx, 1281 };
	l[4] = pprof__add_location(p, m_app, 0x403000, ln, 1);
	l[5] = pprof__add_location(p, m_libc, 0x7f0000099999, NULL, 0);
	if (!m_app || !m_libc || !f_malloc || !f_main || !f_wrap || !f_inl || !f_cxx ||
	    !l[1] || !l[2] || !l[3] || !l[4] || !l[5])
		goto fail;
	{
		const __u64 s1[] = { l[1], l[2], l[3] }, s2[] = { l[1], l[4], l[3] };
		const __u64 s3[] = { l[5], l[3] };
		const __s64 v1[] = { 10, 10240, 2, 2048 }, v2[] = { 5, 2560, 5, 2560 };
		const __s64 v3[] = { 1, 64, 0, 0 }, v4[] = { 3, 3072, 3, 3072 };
		const struct pprof_label lb1[] = { NUM("bytes", 1024, NULL), STR("comm", "app") };
		const struct pprof_label lb2[] = { NUM("bytes", 512, NULL) };
		const struct pprof_label lb4[] = {
			STR("comm", "app"), NUM("bytes", 1024, NULL),
			NUM("alignment", 16, "bytes"), STR("thread", "worker 1"),
		};

		if (pprof__add_sample(p, s1, 3, v1, 4, lb1, 2) ||
		    pprof__add_sample(p, s2, 3, v2, 4, lb2, 1) ||
		    pprof__add_sample(p, s3, 2, v3, 4, NULL, 0) ||
		    pprof__add_sample(p, s1, 3, v4, 4, lb4, 4))
			goto fail;
	}
	return p;
fail:
	pprof__free(p);
	return NULL;
}

/*
 * One symbolized mapping. pprof warns on stderr about a location without a mapping ("Main
 * binary filename not available.") and about mappings it cannot find to symbolize.
 */
static __u64 add_app_mapping(struct pprof *p)
{
	const struct pprof_mapping m = { .start = 0x400000, .limit = 0x500000,
					 .filename = "/usr/bin/app", .has_functions = true };

	return pprof__add_mapping(p, &m);
}

/* What heap_profile() must read back as, in raw_samples()' format. */
static const char heap_expected[] =
	"10 10240 2 2048|comm:[app] bytes:[1024]|malloc;inline_helper;alloc_wrapper;main\n"
	"5 2560 5 2560|bytes:[512]|malloc;" CXX_NAME ";main\n"
	"1 64 0 0||0x7f0000099999;main\n"
	"3 3072 3 3072|comm:[app] thread:[worker 1] alignment:[16 bytes] bytes:[1024]|"
	"malloc;inline_helper;alloc_wrapper;main\n";

/* --- running go tool pprof --- */

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	char *buf = NULL;
	struct stat st;
	ssize_t n = 0;

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st))
		buf = malloc(st.st_size + 1);
	if (buf)
		n = read(fd, buf, st.st_size);
	close(fd);
	if (!buf || n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Runs `go tool pprof ARGS FILE`; its stdout and stderr land in *out and *err. */
static int pprof_run(const char *args, const char *file, char **out, char **err)
{
	char cmd[4096];
	int rc;

	snprintf(cmd, sizeof(cmd), "cd %s && go tool pprof %s %s >%s/out 2>%s/err", tmpdir, args,
		 file, tmpdir, tmpdir);
	rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s/out", tmpdir);
	*out = read_file(cmd, NULL);
	snprintf(cmd, sizeof(cmd), "%s/err", tmpdir);
	*err = read_file(cmd, NULL);
	return rc;
}

static char *path_in_tmp(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		return NULL;
	return path;
}

/* --- reading -raw output ---
 *
 * Samples:
 * alloc_objects/count alloc_space/bytes[dflt] ...
 *          10      10240 ...: 1 2 3            values, then location ids leaf first
 *                 comm:[app]                    16 spaces: string labels, then numeric ones
 * Locations
 *      2: 0x401000 M=1 inline_helper /src/app.c:12 s=10
 *              alloc_wrapper /src/app.c:30 s=25 13 spaces: the next (outer) inlined line
 * Mappings
 */

/* The function name of "NAME FILE:LINE s=START[(SYSTEM_NAME)]": FILE has no space. */
static char *frame_name(const char *s)
{
	const char *start = NULL, *q, *colon, *sp;

	for (q = strstr(s, " s="); q; q = strstr(q + 1, " s="))
		start = q;
	if (!start)
		return strdup(s);
	for (colon = start; colon > s && *colon != ':'; colon--)
		;
	for (sp = colon; sp > s && *sp != ' '; sp--)
		;
	return strndup(s, sp - s);
}

static char **split_lines(char *text, size_t *nr)
{
	char **lines = NULL, *save = NULL, *l;
	size_t n = 0, cap = 0;

	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		lines[n++] = l;
	}
	*nr = n;
	return lines;
}

/* Fills names[id] with the frames of each location, leaf first, joined by ';'. */
static size_t parse_locations(char **lines, size_t nr, size_t i, char ***names_out)
{
	char **names = NULL, *name, *addr, *q;
	size_t nr_names = 0, id = 0;

	for (; i < nr && strcmp(lines[i], "Mappings"); i++) {
		if (!strncmp(lines[i], "             ", 13)) {
			name = frame_name(lines[i] + 13);
		} else {
			id = strtoull(lines[i], &q, 10);
			addr = q + 2;			/* after ": " */
			q = strchr(addr, ' ');
			*q++ = '\0';
			if (!strncmp(q, "M=", 2))
				q = strchr(q, ' ') + 1;
			if (!strncmp(q, "[F] ", 4))
				q += 4;
			/* a location without lines is printed as its address alone */
			name = *q ? frame_name(q) : strdup(addr);
			if (id >= nr_names) {
				size_t n = 2 * id + 1;

				names = realloc(names, n * sizeof(*names));
				memset(names + nr_names, 0, (n - nr_names) * sizeof(*names));
				nr_names = n;
			}
		}
		if (id < nr_names && names[id]) {
			q = names[id];
			if (asprintf(&names[id], "%s;%s", q, name) < 0)
				names[id] = NULL;
			free(q);
			free(name);
		} else if (id < nr_names) {
			names[id] = name;
		} else {
			free(name);
		}
	}
	*names_out = names;
	return nr_names;
}

/* The words of s, separated by sep; with names, each word is a location id to resolve. */
static void put_words(FILE *out, char *s, const char *sep, char **names, size_t nr_names)
{
	char *save = NULL, *w;
	size_t id;
	int n = 0;

	for (w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save), n++) {
		id = strtoull(w, NULL, 10);
		if (names)
			w = id < nr_names && names[id] ? names[id] : "?";
		fprintf(out, "%s%s", n ? sep : "", w);
	}
}

/* "values|labels|stack" per sample: values single-spaced, labels as printed, stack leaf first. */
static char *raw_samples(const char *raw)
{
	char *text = strdup(raw), **lines, **names = NULL, *buf = NULL, *ids;
	size_t nr, i, j, s, nr_names = 0, len;
	FILE *out;

	lines = split_lines(text, &nr);
	for (i = 0; i < nr; i++)
		if (!strcmp(lines[i], "Locations"))
			nr_names = parse_locations(lines, nr, i + 1, &names);
	out = open_memstream(&buf, &len);
	for (s = 0; s < nr && strcmp(lines[s], "Samples:"); s++)
		;
	/* s + 1 is the sample type line */
	for (i = s + 2; i < nr && strcmp(lines[i], "Locations"); i = j) {
		ids = strchr(lines[i], ':');
		*ids++ = '\0';
		put_words(out, lines[i], " ", NULL, 0);
		fputs("|", out);
		for (j = i + 1; j < nr && !strncmp(lines[j], "                ", 16); j++)
			fprintf(out, "%s%s", j > i + 1 ? " " : "", lines[j] + 16);
		fputs("|", out);
		put_words(out, ids, ";", names, nr_names);
		fputs("\n", out);
	}
	fclose(out);
	for (i = 0; i < nr_names; i++)
		free(names[i]);
	free(names);
	free(lines);
	free(text);
	return buf;
}

/* --- cases --- */

/* The line, whole, is one of the lines of text. */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *q;

	for (q = strstr(text, line); q; q = strstr(q + 1, line))
		if ((q == text || q[-1] == '\n') && (q[len] == '\n' || !q[len]))
			return true;
	return false;
}

#define ASSERT_LINE(text, line) ASSERT(has_line(text, line), "no line \"%s\" in:\n%s", line, text)

/* Reads path with `go tool pprof ARGS`: it must succeed and print nothing on stderr. */
#define READ_CLEAN(args, path, out) do {						\
	char *_err = NULL;								\
	int _rc = pprof_run(args, path, &(out), &_err);					\
	bool _clean = _err && !*_err;							\
	if (_rc || !_clean || !(out)) {							\
		printf("    go tool pprof %s: status %d, stderr:\n%s\n", args, _rc,	\
		       _err ? _err : "(none)");						\
		free(_err);								\
		FAIL_CASE("go tool pprof %s %s failed", args, path);			\
	}										\
	free(_err);									\
} while (0)

/* What a case allocates; an assertion returns early, RUN_CASE() frees these after it. */
static char *g_path, *g_out, *g_samples;
static struct pprof *g_p;

/* Frees what a case allocated, whether it passed or not: see RUN_CASE(). */
static void case_done(void)
{
	pprof__free(g_p);
	free(g_path);
	free(g_out);
	free(g_samples);
	g_p = NULL;
	g_path = g_out = g_samples = NULL;
}

static void test_heap_roundtrip(void)
{
	if (!have_go)
		SKIP_CASE("go is not installed");
	g_p = heap_profile();
	g_path = path_in_tmp("heap.pb.gz");
	ASSERT(g_p, "heap_profile: %s", strerror(errno));
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-raw", g_path, g_out);
	g_samples = raw_samples(g_out);
	ASSERT(!strcmp(g_samples, heap_expected), "samples:\n%s\nexpected:\n%s", g_samples,
	       heap_expected);
	ASSERT_LINE(g_out, "Comment: allocscope test profile");
	ASSERT_LINE(g_out, "Comment: second comment");
	ASSERT_LINE(g_out, "PeriodType: space bytes");
	ASSERT_LINE(g_out, "Period: 524288");
	ASSERT_LINE(g_out, "Time: 2023-11-14 22:13:20.123456789 +0000 UTC");
	ASSERT(!strstr(g_out, "Duration:"), "duration_nanos was not set:\n%s", g_out);
	/* default_sample_type shows only as a [dflt] mark on the sample types line */
	ASSERT_LINE(g_out, "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count "
			   "inuse_space/bytes");
	ASSERT_LINE(g_out, "1: 0x400000/0x500000/0x0 /usr/bin/app deadbeefcafe [FN][FL][LN][IN]");
	ASSERT_LINE(g_out, "2: 0x7f0000000000/0x7f0000200000/0x28000 "
			   "/usr/lib/x86_64-linux-gnu/libc.so.6 0123abcd [FN]");
	/* system_name differs from name only for the C++ frame */
	ASSERT_LINE(g_out, "     4: 0x403000 M=1 " CXX_NAME " /usr/include/c++/12/bits/stl_vector.h"
			   ":1281 s=1270(" CXX_SYS ")");
	ASSERT_LINE(g_out, "     2: 0x401000 M=1 inline_helper /src/app.c:12 s=10");
	ASSERT_LINE(g_out, "             alloc_wrapper /src/app.c:30 s=25");
}

static void test_top_totals(void)
{
	if (!have_go)
		SKIP_CASE("go is not installed");
	g_p = heap_profile();
	g_path = path_in_tmp("top.pb.gz");
	ASSERT(g_p, "heap_profile: %s", strerror(errno));
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-top -unit=B -nodefraction=0 -sample_index=alloc_space", g_path, g_out);
	ASSERT_LINE(g_out, "Type: alloc_space");
	ASSERT_LINE(g_out, "Showing nodes accounting for 15936B, 100% of 15936B total");
	ASSERT_LINE(g_out, "    15872B 99.60% 99.60%     15872B 99.60%  malloc");
	ASSERT_LINE(g_out, "         0     0%   100%     13312B 83.53%  inline_helper (inline)");
	free(g_out);
	g_out = NULL;
	READ_CLEAN("-top -unit=B -nodefraction=0 -sample_index=inuse_space", g_path, g_out);
	ASSERT_LINE(g_out, "Type: inuse_space");
	ASSERT_LINE(g_out, "Showing nodes accounting for 7680B, 100% of 7680B total");
	free(g_out);
	g_out = NULL;
	READ_CLEAN("-top -nodefraction=0 -sample_index=alloc_objects", g_path, g_out);
	ASSERT_LINE(g_out, "Showing nodes accounting for 19, 100% of 19 total");
	/* the unsymbolized frame is named after its mapping */
	ASSERT_LINE(g_out, "         1  5.26%   100%          1  5.26%  [libc.so.6]");
}

/* Without default_sample_type pprof uses the last sample type; time_nanos defaults to now. */
static void test_defaults(void)
{
	const __s64 v[] = { 1, 2, 3, 4 };
	struct pprof_line ln = { 0, 1 };
	struct timespec ts;
	char year[16];
	__u64 loc;

	if (!have_go)
		SKIP_CASE("go is not installed");
	g_p = pprof__new();
	g_path = path_in_tmp("defaults.pb.gz");
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(add_heap_types(g_p), 0);
	ASSERT_EQ(add_app_mapping(g_p), 1);
	ln.function_id = pprof__add_function(g_p, "main", "main", "m.c", 1);
	loc = pprof__add_location(g_p, 1, 0x401000, &ln, 1);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, NULL, 0), 0);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-raw", g_path, g_out);
	ASSERT_LINE(g_out, "alloc_objects/count alloc_space/bytes inuse_objects/count "
			   "inuse_space/bytes");
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(year, sizeof(year), "Time: %Y-", gmtime(&ts.tv_sec));
	ASSERT(strstr(g_out, year), "no \"%s\" in:\n%s", year, g_out);
	g_samples = raw_samples(g_out);
	ASSERT_STREQ(g_samples, "1 2 3 4||main\n");
	free(g_out);
	g_out = NULL;
	READ_CLEAN("-top -unit=B", g_path, g_out);
	ASSERT_LINE(g_out, "Type: inuse_space");

	/* duration_nanos: -raw prints it with %.4v, e.g. "10s" or "1.23" for 1.234567s */
	pprof__set_time(g_p, HEAP_TIME, 10 * 1000000000LL);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	free(g_out);
	g_out = NULL;
	READ_CLEAN("-raw", g_path, g_out);
	ASSERT_LINE(g_out, "Duration: 10s");
}

/* Delta profiles have negative values: int64 on the wire, as 10-byte varints. */
static void test_negative_values(void)
{
	const __s64 v[] = { -2, -128, INT64_MIN, INT64_MAX };
	struct pprof_line ln = { 0, -1 };
	__u64 loc;

	if (!have_go)
		SKIP_CASE("go is not installed");
	g_p = pprof__new();
	g_path = path_in_tmp("negative.pb.gz");
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(add_heap_types(g_p), 0);
	ln.function_id = pprof__add_function(g_p, "f", "f", "f.c", -5);
	loc = pprof__add_location(g_p, add_app_mapping(g_p), 0x401000, &ln, 1);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, NULL, 0), 0);
	pprof__set_time(g_p, -1000000000LL, 0);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-raw", g_path, g_out);
	g_samples = raw_samples(g_out);
	ASSERT_STREQ(g_samples, "-2 -128 -9223372036854775808 9223372036854775807||f\n");
	ASSERT_LINE(g_out, "     1: 0x401000 M=1 f f.c:-1 s=-5");
	ASSERT_LINE(g_out, "Time: 1969-12-31 23:59:59 +0000 UTC");
}

static void test_intern(void)
{
	char buf[32];
	__u64 first, idx;
	int i;

	g_p = pprof__new();
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(pprof__string(g_p, ""), 0);
	ASSERT_EQ(pprof__string(g_p, NULL), 0);
	ASSERT_EQ(pprof__string(g_p, "a"), 1);
	ASSERT_EQ(pprof__string(g_p, "b"), 2);
	ASSERT_EQ(pprof__string(g_p, "a"), 1);
	ASSERT_EQ(pprof__add_sample_type(g_p, "alloc_space", "bytes"), 0);
	ASSERT_EQ(pprof__string(g_p, "alloc_space"), 3);
	ASSERT_EQ(pprof__string(g_p, "bytes"), 4);
	/* many strings: sequential indices, each found again */
	first = pprof__string(g_p, "s0");
	for (i = 1; i < 100000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ASSERT_EQ(pprof__string(g_p, buf), first + i);
	}
	for (i = 0; i < 100000; i += 7) {
		snprintf(buf, sizeof(buf), "s%d", i);
		idx = pprof__string(g_p, buf);
		ASSERT_EQ(idx, first + i);
	}
	ASSERT_EQ(pprof__string(g_p, "a"), 1);
}

static void test_function_dedup(void)
{
	g_p = pprof__new();
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(pprof__add_function(g_p, "f", "f", "a.c", 1), 1);
	ASSERT_EQ(pprof__add_function(g_p, "f", "f", "a.c", 1), 1);
	ASSERT_EQ(pprof__add_function(g_p, "f", "f", "a.c", 2), 2);
	ASSERT_EQ(pprof__add_function(g_p, "f", "f", "b.c", 1), 3);
	ASSERT_EQ(pprof__add_function(g_p, "f", "_Z1fv", "a.c", 1), 4);
	ASSERT_EQ(pprof__add_function(g_p, "g", NULL, NULL, 0), 5);
	ASSERT_EQ(pprof__add_function(g_p, "g", "", "", 0), 5);
	/* equal once sanitized */
	ASSERT_EQ(pprof__add_function(g_p, "h\xff", "h?", "a.c", 0), 6);
	ASSERT_EQ(pprof__add_function(g_p, "h?", "h\xfe", "a.c", 0), 6);
	ASSERT_EQ(pprof__add_function(g_p, "f", "f", "a.c", 1), 1);
}

static void test_utf8(void)
{
	static const char *const cases[][2] = {
		{ "a\xff" "b", "a?b" },
		{ "\x80" "abc", "?abc" },
		{ "\xc0\xaf", "??" },			/* overlong '/' */
		{ "\xe0\x80\xaf", "???" },		/* overlong, 3 bytes */
		{ "\xed\xa0\x80", "???" },		/* a UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", "????" },		/* above U+10FFFF */
		{ "\xe2\x9c", "??" },			/* truncated U+2713 */
		{ "\xe2\x9c\x93\xe2", "\xe2\x9c\x93?" },
		{ "\xf0\x9d\x84", "???" },		/* truncated U+1D11E */
		{ "\xf8\x88\x80\x80\x80", "?????" },	/* 5-byte form */
	};
	static const char *const valid[] = {
		"h\xc3\xa9llo", "\xe2\x9c\x93", "\xf0\x9d\x84\x9e", "\xef\xbf\xbd",
		"\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", "\x7f",
	};
	char q[16];
	size_t i;

	g_p = pprof__new();
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 bad = pprof__string(g_p, cases[i][0]);

		ASSERT(bad && bad == pprof__string(g_p, cases[i][1]), "case %zu: \"%s\"", i,
		       cases[i][1]);
	}
	/* valid strings are kept: they differ from their all-'?' form */
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		memset(q, '?', strlen(valid[i]));
		q[strlen(valid[i])] = '\0';
		ASSERT(pprof__string(g_p, valid[i]) != pprof__string(g_p, q), "valid %zu", i);
	}
}

/* What pprof reads from invalid UTF-8 is what we replaced it with. */
static void test_utf8_roundtrip(void)
{
	const struct pprof_label lb[] = { STR("k\xff", "v\xfe") };
	const __s64 v = 7;
	struct pprof_line ln = { 0, 3 };
	__u64 loc;

	if (!have_go)
		SKIP_CASE("go is not installed");
	g_p = pprof__new();
	g_path = path_in_tmp("utf8.pb.gz");
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(pprof__add_sample_type(g_p, "alloc_space", "bytes"), 0);
	ln.function_id = pprof__add_function(g_p, "bad\xffname", "bad\xffname", "f\xc0.c", 1);
	loc = pprof__add_location(g_p, add_app_mapping(g_p), 0x401000, &ln, 1);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, &v, 1, lb, 1), 0);
	ASSERT_EQ(pprof__add_comment(g_p, "caf\xe9"), 0);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-raw", g_path, g_out);
	g_samples = raw_samples(g_out);
	ASSERT_STREQ(g_samples, "7|k?:[v?]|bad?name\n");
	ASSERT_LINE(g_out, "     1: 0x401000 M=1 bad?name f?.c:3 s=1");
	ASSERT_LINE(g_out, "Comment: caf?");
}

static void test_errors(void)
{
	const struct pprof_label no_key[] = { STR("", "v") }, null_key[] = { NUM(NULL, 1, NULL) };
	const struct pprof_label str_num[] = { { .key = "k", .str = "v", .num = 1 } };
	const struct pprof_label str_unit[] = { { .key = "k", .str = "v", .num_unit = "b" } };
	const struct pprof_line bad0 = { 0, 1 }, bad2 = { 2, 1 };
	const __s64 v[] = { 1, 2, 3, 4, 5 };
	__u64 loc, f, ids[] = { 1, 0 };
	struct pprof_line ln;

	g_p = pprof__new();
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	ASSERT_EQ(pprof__add_sample(g_p, NULL, 0, v, 0, NULL, 0), -EINVAL);	/* no types */
	ASSERT_EQ(pprof__add_sample_type(g_p, NULL, "count"), -EINVAL);
	ASSERT_EQ(pprof__add_sample_type(g_p, "", "count"), -EINVAL);
	ASSERT_EQ(add_heap_types(g_p), 0);
	f = pprof__add_function(g_p, "main", "main", "m.c", 1);
	ASSERT_EQ(f, 1);
	ln = (struct pprof_line){ f, 2 };
	errno = 0;
	ASSERT_EQ(pprof__add_location(g_p, 1, 0x10, &ln, 1), 0);	/* no mapping 1 */
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(add_app_mapping(g_p), 1);
	ASSERT_EQ(pprof__add_location(g_p, 2, 0x10, &ln, 1), 0);
	errno = 0;
	ASSERT_EQ(pprof__add_location(g_p, 0, 0x10, &bad0, 1), 0);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(pprof__add_location(g_p, 0, 0x10, &bad2, 1), 0);
	ASSERT_EQ(pprof__add_location(g_p, 0, 0x10, NULL, 1), 0);
	ASSERT_EQ(pprof__add_location(g_p, 0, 0x10, &ln, -1), 0);
	errno = 0;
	ASSERT_EQ(pprof__add_mapping(g_p, NULL), 0);
	ASSERT_EQ(errno, EINVAL);
	/* failures used no id */
	loc = pprof__add_location(g_p, 1, 0x401000, &ln, 1);
	ASSERT_EQ(loc, 1);

	ASSERT_EQ(pprof__add_sample(g_p, &ids[1], 1, v, 4, NULL, 0), -EINVAL);	/* id 0 */
	ids[1] = 2;
	ASSERT_EQ(pprof__add_sample(g_p, ids, 2, v, 4, NULL, 0), -EINVAL);	/* no location 2 */
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 3, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 5, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, NULL, 4, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, NULL, 1, v, 4, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, -1, v, 4, NULL, 0), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, NULL, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, no_key, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, null_key, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, str_num, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, str_unit, 1), -EINVAL);
	ASSERT_EQ(pprof__add_sample(g_p, &loc, 1, v, 4, NULL, 0), 0);
	ASSERT_EQ(pprof__add_sample_type(g_p, "late", "count"), -EBUSY);

	/* and the profile is still whole */
	if (!have_go)
		return;
	g_path = path_in_tmp("errors.pb.gz");
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	READ_CLEAN("-raw", g_path, g_out);
	g_samples = raw_samples(g_out);
	ASSERT_STREQ(g_samples, "1 2 3 4||main\n");
}

/* Only the file itself is left in dir. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return d ? n : -1;
}

static void test_write_file(void)
{
	char *dir = path_in_tmp("wf"), *a = NULL, *b = NULL;
	size_t alen, blen;
	struct stat st;
	int fd;

	g_p = heap_profile();
	g_path = path_in_tmp("wf/out.pb.gz");
	ASSERT(g_p && dir && g_path, "setup");
	ASSERT_EQ(mkdir(dir, 0755), 0);
	umask(022);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	ASSERT_EQ(count_entries(dir), 1);
	ASSERT_EQ(stat(g_path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0644);
	/* gzip, and the same bytes when written again over the old file */
	a = read_file(g_path, &alen);
	ASSERT(a && alen > 20, "read %s", g_path);
	ASSERT_EQ((__u8)a[0], 0x1f);
	ASSERT_EQ((__u8)a[1], 0x8b);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	ASSERT_EQ(count_entries(dir), 1);
	b = read_file(g_path, &blen);
	ASSERT(b && alen == blen && !memcmp(a, b, alen), "rewrite differs");
	/* pprof__write() to an fd writes the same */
	free(b);
	b = NULL;
	fd = open(g_path, O_WRONLY | O_TRUNC);
	ASSERT(fd >= 0, "open: %s", strerror(errno));
	ASSERT_EQ(pprof__write(g_p, fd), 0);
	close(fd);
	b = read_file(g_path, &blen);
	ASSERT(b && alen == blen && !memcmp(a, b, alen), "pprof__write differs");
	free(g_path);
	g_path = path_in_tmp("wf/nodir/out.pb.gz");
	ASSERT_EQ(pprof__write_file(g_p, g_path), -ENOENT);
	ASSERT_EQ(count_entries(dir), 1);
	/* a write error reaches the caller */
	fd = open("/dev/null", O_RDONLY);
	ASSERT(fd >= 0, "open /dev/null: %s", strerror(errno));
	ASSERT_EQ(pprof__write(g_p, fd), -EBADF);
	close(fd);
	free(dir);
	free(a);
	free(b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BIG_FUNCS 20000
#define BIG_SAMPLES 50000
#define BIG_DEPTH 8

static __u64 big_loc(int sample, int depth)
{
	return (sample * 7ULL + depth * 2503ULL) % BIG_FUNCS + 1;
}

/* 20k functions and locations, 50k samples, ~100k strings */
static int big_profile(struct pprof *p)
{
	const struct pprof_mapping m = { .start = 0x400000, .limit = 0x800000,
					 .filename = "/usr/bin/big", .has_functions = true };
	char name[32], sys[32], file[32], trace[16];
	struct pprof_line ln;
	__u64 ids[BIG_DEPTH];
	__s64 v[4];
	int i, d, err;

	err = add_heap_types(p);
	if (err || pprof__add_mapping(p, &m) != 1)
		return err ? err : -EINVAL;
	for (i = 0; i < BIG_FUNCS; i++) {
		snprintf(name, sizeof(name), "fn_%05d", i);
		snprintf(sys, sizeof(sys), "_Z5fn_%05dv", i);
		snprintf(file, sizeof(file), "/src/file_%d.c", i % 100);
		ln.function_id = pprof__add_function(p, name, sys, file, i);
		ln.line = i + 1;
		if (pprof__add_location(p, 1, 0x400000 + i * 16ULL, &ln, 1) != (__u64)i + 1)
			return -EINVAL;
	}
	for (i = 0; i < BIG_SAMPLES; i++) {
		const struct pprof_label lb[] = { STR("trace", trace), NUM("bytes", 64, NULL) };

		for (d = 0; d < BIG_DEPTH; d++)
			ids[d] = big_loc(i, d);
		v[0] = v[2] = 1;
		v[1] = v[3] = 64;
		snprintf(trace, sizeof(trace), "t%06d", i);
		err = pprof__add_sample(p, ids, BIG_DEPTH, v, 4, lb, 2);
		if (err)
			return err;
	}
	return 0;
}

static void test_large(void)
{
	char expect[512];
	double t0, t1;
	size_t n = 0;
	char *q;
	int d, len;

	g_p = pprof__new();
	g_path = path_in_tmp("large.pb.gz");
	ASSERT(g_p, "pprof__new: %s", strerror(errno));
	t0 = now_s();
	ASSERT_EQ(big_profile(g_p), 0);
	ASSERT_EQ(pprof__write_file(g_p, g_path), 0);
	t1 = now_s();
	printf("    large: built and wrote in %.3f s\n", t1 - t0);
	/* generous: valgrind runs this too */
	ASSERT(t1 - t0 < 20, "took %.1f s", t1 - t0);
	if (!have_go)
		return;
	READ_CLEAN("-raw", g_path, g_out);
	g_samples = raw_samples(g_out);
	for (q = g_samples; (q = strchr(q, '\n')); q++)
		n++;
	ASSERT_EQ(n, BIG_SAMPLES);
	len = snprintf(expect, sizeof(expect), "1 64 1 64|trace:[t012345] bytes:[64]|");
	for (d = 0; d < BIG_DEPTH; d++)
		len += snprintf(expect + len, sizeof(expect) - len, "%sfn_%05llu", d ? ";" : "",
				(unsigned long long)big_loc(12345, d) - 1);
	ASSERT(has_line(g_samples, expect), "no sample \"%s\"", expect);
	free(g_out);
	g_out = NULL;
	READ_CLEAN("-top -unit=B -nodecount=1 -sample_index=alloc_space", g_path, g_out);
	ASSERT(strstr(g_out, " of 3200000B total\n"), "total:\n%s", g_out);
	ASSERT_LINE(g_out, "Type: alloc_space");
}

static void cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		printf("    could not remove %s\n", tmpdir);
}

/* go needs a home and a cache; TZ=UTC makes -raw print times in UTC. */
static int setup(void)
{
	char path[256];

	if (!mkdtemp(tmpdir))
		return -errno;
	setenv("HOME", tmpdir, 1);
	snprintf(path, sizeof(path), "%s/gocache", tmpdir);
	setenv("GOCACHE", path, 1);
	setenv("PPROF_TMPDIR", tmpdir, 1);
	setenv("GOTOOLCHAIN", "local", 1);
	setenv("TZ", "UTC", 1);
	unsetenv("GOFLAGS");
	unsetenv("PPROF_BINARY_PATH");
	have_go = !system("command -v go >/dev/null 2>&1");
	return 0;
}

static int write_sample(const char *path)
{
	struct pprof *p = heap_profile();
	int err;

	if (!p) {
		perror("heap_profile");
		return 1;
	}
	err = pprof__write_file(p, path);
	pprof__free(p);
	if (err)
		fprintf(stderr, "%s: %s\n", path, strerror(-err));
	return !!err;
}

#define RUN_CASE(fn) do {	\
	RUN(fn);		\
	case_done();		\
} while (0)

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write"))
		return write_sample(argv[2]);
	t_suite = "pprof";
	if (setup()) {
		printf("FAIL pprof/setup: %s\n", strerror(errno));
		return 1;
	}
	RUN_CASE(test_intern);
	RUN_CASE(test_function_dedup);
	RUN_CASE(test_utf8);
	RUN_CASE(test_errors);
	RUN_CASE(test_write_file);
	RUN_CASE(test_heap_roundtrip);
	RUN_CASE(test_top_totals);
	RUN_CASE(test_defaults);
	RUN_CASE(test_utf8_roundtrip);
	RUN_CASE(test_negative_values);
	RUN_CASE(test_large);
	cleanup();
	return TEST_EXIT();
}
