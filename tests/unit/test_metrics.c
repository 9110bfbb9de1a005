// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_metrics.c - the Prometheus text format builder: exact pages, escaping, refusals, and a
 * reader written here from the format's rules (and promtool's, when it is installed) that
 * every page must pass.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "test.h"
#include "metrics.h"

static struct metrics *m;

static void case_done(void)
{
	metrics__free(m);
	m = NULL;
}

#define RUN_CASE(fn) do {	\
	RUN(fn);		\
	case_done();		\
} while (0)

/* The page as a string (static buffer). */
static const char *page(void)
{
	static char text[8192];
	const char *data;
	size_t len;

	if (metrics__output(m, &data, &len) || len >= sizeof(text))
		return NULL;
	memcpy(text, data, len);
	text[len] = '\0';
	return text;
}

/* --- a reader of the format, from its specification --- */

static bool is_name(const char **p, bool colons)
{
	const char *s = *p;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
	      (colons && *s == ':')))
		return false;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
	       *s == '_' || (colons && *s == ':'))
		s++;
	*p = s;
	return true;
}

/* A quoted label value: only \\, \" and \n escapes, no raw newline. */
static bool is_label_value(const char **p)
{
	const char *s = *p;

	if (*s++ != '"')
		return false;
	for (; *s != '"'; s++) {
		if (!*s || *s == '\n')
			return false;
		if (*s == '\\' && (s[1] == '\\' || s[1] == '"' || s[1] == 'n'))
			s++;
		else if (*s == '\\')
			return false;
	}
	*p = s + 1;
	return true;
}

static bool is_value(const char *s)
{
	char *end;

	if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
		return true;
	strtod(s, &end);
	return end != s && !*end;
}

/* A sample line "name{l="v",...} value": its metric name into name. */
static const char *check_sample(const char *line, char *name, size_t size)
{
	const char *p = line, *start;
	char seen[16][64];
	int nr = 0, i;

	if (!is_name(&p, true))
		return "bad metric name";
	snprintf(name, size, "%.*s", (int)(p - line), line);
	if (*p == '{') {
		p++;
		while (*p != '}') {
			start = p;
			if (!is_name(&p, false) || *p++ != '=' || !is_label_value(&p))
				return "bad label";
			for (i = 0; i < nr; i++)
				if (!strncmp(seen[i], start, strcspn(start, "=")) &&
				    !seen[i][strcspn(start, "=")])
					return "repeated label";
			if (nr < 16)
				snprintf(seen[nr++], 64, "%.*s", (int)strcspn(start, "="), start);
			if (*p == ',')
				p++;
			else if (*p != '}')
				return "bad label list";
		}
		p++;
	}
	if (*p++ != ' ' || !is_value(p))
		return "bad value";
	return NULL;
}

/*
 * Checks a page: lines end with \n; comments are HELP or TYPE (once per name, before its
 * samples); every family's samples are together; names, labels, values well formed.
 * Returns NULL or what is wrong, with the line in where.
 */
static const char *check_page(const char *text, char *where, size_t size)
{
	char names[64][128], line[1024], name[128], cur[128] = "";
	bool help = false, type = false, samples = false;
	int nr_names = 0, i;
	const char *p = text, *e, *err;

	while (*p) {
		e = strchr(p, '\n');
		if (!e)
			return "no final newline";
		snprintf(line, sizeof(line), "%.*s", (int)(e - p), p);
		snprintf(where, size, "%s", line);
		p = e + 1;
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			const char *q = line + 7;

			if (!is_name(&q, true) || *q != ' ')
				return "bad comment";
			snprintf(name, sizeof(name), "%.*s", (int)(q - line - 7), line + 7);
			if (line[2] == 'T' && strcmp(q + 1, "counter") && strcmp(q + 1, "gauge") &&
			    strcmp(q + 1, "untyped") && strcmp(q + 1, "histogram") &&
			    strcmp(q + 1, "summary"))
				return "bad type";
		} else if (line[0] == '#') {
			continue;
		} else if ((err = check_sample(line, name, sizeof(name)))) {
			return err;
		}
		if (strcmp(name, cur)) {
			/* A new family: never seen before. */
			for (i = 0; i < nr_names; i++)
				if (!strcmp(names[i], name))
					return "family split or repeated";
			if (nr_names < 64)
				snprintf(names[nr_names++], 128, "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
			help = type = samples = false;
		}
		/* One HELP and one TYPE per family, the TYPE before the first sample. */
		if (!strncmp(line, "# HELP ", 7)) {
			if (help)
				return "second HELP";
			help = true;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			if (type || samples)
				return "second TYPE, or TYPE after samples";
			type = true;
		} else {
			samples = true;
		}
	}
	return NULL;
}

#define ASSERT_VALID_PAGE(text) do {						\
	char _where[1024] = "";							\
	const char *_err = check_page(text, _where, sizeof(_where));		\
	ASSERT(!_err, "%s at '%s'", _err, _where);				\
} while (0)

/* --- cases --- */

static void test_page(void)
{
	const char *want =
		"# HELP allocscope_http_requests_total HTTP requests answered, by path and "
		"status.\n"
		"# TYPE allocscope_http_requests_total counter\n"
		"allocscope_http_requests_total{path=\"/debug/pprof/heap\",code=\"200\"} 3\n"
		"allocscope_http_requests_total{path=\"other\",code=\"404\"} 1\n"
		"# HELP allocscope_live_bytes Bytes sampled as still allocated.\n"
		"# TYPE allocscope_live_bytes gauge\n"
		"allocscope_live_bytes 1048576\n"
		"# HELP allocscope_samples_total Samples received.\n"
		"# TYPE allocscope_samples_total counter\n"
		"allocscope_samples_total 0\n"
		"# TYPE allocscope_plain untyped\n"
		"allocscope_plain{a=\"\"} 1.5\n"
		"# HELP allocscope_build_info A metric with a constant '1' value labeled by "
		"version and revision from which allocscope was built.\n"
		"# TYPE allocscope_build_info gauge\n"
		"allocscope_build_info{version=\"0.1.0\",revision=\"abc1234\"} 1\n";

	m = metrics__new();
	ASSERT(m, "metrics__new");
	ASSERT_EQ(metrics__family(m, "allocscope_http_requests_total", METRICS_COUNTER,
				  "HTTP requests answered, by path and status."), 0);
	ASSERT_EQ(metrics__sample(m, 3, "path", "/debug/pprof/heap", "code", "200", NULL), 0);
	ASSERT_EQ(metrics__sample(m, 1, "path", "other", "code", "404", NULL), 0);
	ASSERT_EQ(metrics__gauge(m, "allocscope_live_bytes", "Bytes sampled as still allocated.",
				 1048576), 0);
	ASSERT_EQ(metrics__counter(m, "allocscope_samples_total", "Samples received.", 0), 0);
	ASSERT_EQ(metrics__family(m, "allocscope_plain", METRICS_UNTYPED, NULL), 0);
	ASSERT_EQ(metrics__sample(m, 1.5, "a", "", NULL), 0);
	ASSERT_EQ(metrics__build_info(m, "0.1.0", "abc1234"), 0);
	ASSERT_STREQ(page(), want);
	ASSERT_VALID_PAGE(page());
	ASSERT_STREQ(METRICS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

static void test_empty(void)
{
	const char *data = NULL;
	size_t len = 1;

	m = metrics__new();
	ASSERT(m, "metrics__new");
	ASSERT_EQ(metrics__output(m, &data, &len), 0);
	ASSERT_EQ(len, 0);
	ASSERT(data != NULL, "NULL data");
}

static void test_escaping(void)
{
	const char *want =
		"# HELP x_total back\\\\slash \"quotes\" and\\nnewline\n"
		"# TYPE x_total counter\n"
		"x_total{v=\"a\\\\b \\\"q\\\" c\\nd\"} 1\n"
		"x_total{v=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b\"} 2\n"
		"x_total{v=\"bad ? ? ??? end\"} 3\n";

	m = metrics__new();
	ASSERT(m, "metrics__new");
	ASSERT_EQ(metrics__family(m, "x_total", METRICS_COUNTER,
				  "back\\slash \"quotes\" and\nnewline"), 0);
	ASSERT_EQ(metrics__sample(m, 1, "v", "a\\b \"q\" c\nd", NULL), 0);
	/* Valid UTF-8 stays; comm names are bytes, and invalid ones must not reach the page. */
	ASSERT_EQ(metrics__sample(m, 2, "v", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b", NULL), 0);
	ASSERT_EQ(metrics__sample(m, 3, "v", "bad \xff \xc0 \xed\xa0\x80 end", NULL), 0);
	ASSERT_STREQ(page(), want);
	ASSERT_VALID_PAGE(page());
}

static void test_values(void)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" }, { -3, "-3" }, { 0.1, "0.1" }, { 1.0 / 3, "0.33333333333333331" },
		{ 9007199254740992.0, "9007199254740992" }, { 1e21, "1e+21" },
		{ 18446744073709551615.0, "1.8446744073709552e+19" }, { 4096, "4096" },
		{ NAN, "NaN" }, { INFINITY, "+Inf" }, { -INFINITY, "-Inf" },
	};
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics__free(m);
		m = metrics__new();
		ASSERT(m, "metrics__new");
		ASSERT_EQ(metrics__gauge(m, "g", NULL, cases[i].v), 0);
		snprintf(want, sizeof(want), "# TYPE g gauge\ng %s\n", cases[i].text);
		ASSERT_STREQ(page(), want);
		ASSERT_VALID_PAGE(page());
	}
}

static void test_refusals(void)
{
	static const char *const bad_names[] = { "", "1abc", "a-b", "a b", "é", "a.b" };
	static const char *const bad_labels[] = { "", "__name__", "__x", "1a", "a:b", "a-b" };
	const char *before;
	size_t i;

	m = metrics__new();
	ASSERT(m, "metrics__new");
	ASSERT_EQ(metrics__sample(m, 1, NULL), -EINVAL);	/* no family yet */
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		ASSERT(metrics__family(m, bad_names[i], METRICS_GAUGE, "h") == -EINVAL,
		       "family '%s' accepted", bad_names[i]);
	ASSERT_EQ(metrics__family(m, NULL, METRICS_GAUGE, "h"), -EINVAL);
	ASSERT_EQ(metrics__family(m, "ok", (enum metrics_type)7, "h"), -EINVAL);
	ASSERT_STREQ(page(), "");
	ASSERT_EQ(metrics__family(m, "ns:sub_total", METRICS_COUNTER, "h"), 0);
	before = strdup(page());
	for (i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++)
		ASSERT(metrics__sample(m, 1, bad_labels[i], "v", NULL) == -EINVAL,
		       "label '%s' accepted", bad_labels[i]);
	ASSERT_EQ(metrics__sample(m, 1, "a", "1", "b", "2", "a", "3", NULL), -EINVAL);
	ASSERT_EQ(metrics__sample(m, 1, "a", NULL, NULL), -EINVAL);
	ASSERT_EQ(metrics__family(m, "ns:sub_total", METRICS_GAUGE, "again"), -EINVAL);
	ASSERT_STREQ(page(), before);
	free((void *)before);
	ASSERT_EQ(metrics__sample(m, 1, "a", "1", NULL), 0);
	ASSERT_VALID_PAGE(page());
}

/* The reader itself: it must catch what Prometheus rejects, or the cases above prove nothing. */
static void test_reader(void)
{
	static const char *const bad[] = {
		"a 1",						/* no newline */
		"a{b=\"c} 1\n",					/* unterminated value */
		"a{b=\"\\t\"} 1\n",				/* unknown escape */
		"a{b=\"1\",b=\"2\"} 1\n",			/* repeated label */
		"a one\n",					/* bad value */
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",	/* split family */
		"# TYPE a gauge\n# TYPE a counter\n",		/* repeated */
		"# HELP a x\n# HELP a y\n",			/* repeated */
		"a 1\n# TYPE a gauge\n",				/* TYPE too late */
		"# TYPE a level\n",				/* bad type */
		"1a 1\n",
	};
	char where[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT(check_page(bad[i], where, sizeof(where)), "accepted: %s", bad[i]);
	ASSERT(!check_page("# HELP a h\n# TYPE a gauge\na{b=\"\\\\\\\"\\n\"} -Inf\n", where,
			   sizeof(where)), "refused a valid page");
}

/* promtool, when installed, has the last word. */
static void test_promtool(void)
{
	char cmd[] = "promtool check metrics >/dev/null 2>&1";
	FILE *p;

	if (system("command -v promtool >/dev/null 2>&1"))
		SKIP_CASE("promtool is not installed; the reader above checked the format");
	m = metrics__new();
	ASSERT(m, "metrics__new");
	ASSERT_EQ(metrics__family(m, "allocscope_http_requests_total", METRICS_COUNTER,
				  "HTTP requests."), 0);
	ASSERT_EQ(metrics__sample(m, 3, "path", "/a\"b\\c\nd", "code", "200", NULL), 0);
	ASSERT_EQ(metrics__build_info(m, "0.1.0", "abc"), 0);
	p = popen(cmd, "w");
	ASSERT(p, "popen");
	fputs(page(), p);
	ASSERT_EQ(pclose(p), 0);
}

int main(void)
{
	t_suite = "metrics";
	RUN_CASE(test_page);
	RUN_CASE(test_empty);
	RUN_CASE(test_escaping);
	RUN_CASE(test_values);
	RUN_CASE(test_refusals);
	RUN_CASE(test_reader);
	RUN_CASE(test_promtool);
	return TEST_EXIT();
}
