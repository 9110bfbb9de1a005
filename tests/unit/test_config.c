// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - the daemon's configuration: defaults, every value type, the file syntax,
 * each error message exactly, command-line precedence, targets, bounds, printing that reads
 * back, and the shipped example file and man page against the key table.
 *
 * Run from the source tree (tests/run.sh does) for the example file and man page cases.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "test.h"
#include "config.h"
#include "value.h"

#define ERRLEN 512
#define RATE_ERR "is not a byte count from 1 to 1T (K, M, G, T suffixes)"
#define INTERVAL_ERR "is not a duration from 1 to 86400 seconds (2.5, 90s, 5m, 1h), or 0"
#define LISTEN_ERR "is not ADDR:PORT, [ADDR6]:PORT, :PORT or none"

static struct config c, c2;
static char err[ERRLEN];
static char *printed, *printed2;

static void case_done(void)
{
	config__free(&c);
	config__free(&c2);
	free(printed);
	free(printed2);
	printed = printed2 = NULL;
	err[0] = '\0';
}

#define RUN_CASE(fn) do {	\
	RUN(fn);		\
	case_done();		\
} while (0)

/* config__parse() of text, named "t.conf" in messages. */
static int parse_text(const char *text, struct config *cfg)
{
	/* fmemopen() may refuse a size of 0. */
	FILE *f = *text ? fmemopen((void *)text, strlen(text), "r") : fmemopen("\n", 1, "r");
	int ret;

	if (!f)
		return -errno;
	ret = config__parse(f, "t.conf", cfg, err, sizeof(err));
	fclose(f);
	return ret;
}

/* config__print() into a malloc'd string. */
static char *print_config(const struct config *cfg, bool help)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	config__print(cfg, f, help);
	fclose(f);
	return s;
}

static const char default_text[] =
	"listen = 127.0.0.1:6060\n"
	"listen_unix = \"\"\n"
	"listen_unix_mode = 0660\n"
	"listen_unix_group = \"\"\n"
	"http_auth_file = \"\"\n"
	"tls_cert_file = \"\"\n"
	"tls_key_file = \"\"\n"
	"http_max_connections = 256\n"
	"http_max_connections_per_client = 16\n"
	"http_header_timeout = 10\n"
	"http_idle_timeout = 15\n"
	"export_dir = /var/lib/allocscope/profiles\n"
	"export_interval = 60\n"
	"retention_count = 60\n"
	"retention_bytes = 256M\n"
	"sample_rate = 524288\n"
	"targets = all\n"
	"alloc_only = no\n"
	"live_max = 262144\n"
	"ringbuf_mb = 16\n"
	"max_processes = 4096\n"
	"symbol_cache_mb = 256\n"
	"max_sites = 262144\n"
	"exited_keep = 120\n"
	"shed_max_rate = 64M\n"
	"labels = pid,comm,exe\n"
	"watchdog = yes\n"
	"cost_top = 10\n"
	"cost_log_interval = 60\n";

static void test_defaults(void)
{
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_STREQ(c.listen, "127.0.0.1:6060");
	/* No Unix socket, no credentials, no TLS: empty strings, not NULL. */
	ASSERT_STREQ(c.listen_unix, "");
	ASSERT_EQ(c.listen_unix_mode, 0660);
	ASSERT_STREQ(c.listen_unix_group, "");
	ASSERT_STREQ(c.http_auth_file, "");
	ASSERT_STREQ(c.tls_cert_file, "");
	ASSERT_STREQ(c.tls_key_file, "");
	ASSERT_EQ(c.http_max_connections, 256);
	ASSERT_EQ(c.http_max_connections_per_client, 16);
	ASSERT_EQ(c.http_header_timeout_ns, 10 * VALUE_NS);
	ASSERT_EQ(c.http_idle_timeout_ns, 15 * VALUE_NS);
	ASSERT_STREQ(c.export_dir, "/var/lib/allocscope/profiles");
	ASSERT_EQ(c.export_interval_ns, 60 * VALUE_NS);
	ASSERT_EQ(c.retention_count, 60);
	ASSERT_EQ(c.retention_bytes, 256ULL << 20);
	ASSERT_EQ(c.sample_rate, 524288);
	ASSERT_EQ(c.nr_targets, 0);
	ASSERT(c.targets == NULL, "targets");
	ASSERT_EQ(c.alloc_only, false);
	ASSERT_EQ(c.live_max, 262144);
	ASSERT_EQ(c.ringbuf_mb, 16);
	ASSERT_EQ(c.max_processes, 4096);
	ASSERT_EQ(c.symbol_cache_mb, 256);
	ASSERT_EQ(c.max_sites, 262144);
	ASSERT_EQ(c.exited_keep_ns, 120 * VALUE_NS);
	ASSERT_EQ(c.shed_max_rate, 64ULL << 20);
	ASSERT_EQ(c.labels, CONFIG_LABEL_PID | CONFIG_LABEL_COMM | CONFIG_LABEL_EXE);
	ASSERT_EQ(c.watchdog, true);
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), 0);
	printed = print_config(&c, false);
	ASSERT_STREQ(printed, default_text);
	/* An empty file, or one of comments only, changes nothing. */
	ASSERT_EQ(parse_text("", &c), 0);
	ASSERT_EQ(parse_text("# nothing\n\n   \n\t# indented\n", &c), 0);
	printed2 = print_config(&c, false);
	ASSERT_STREQ(printed2, default_text);
}

static void test_every_key(void)
{
	static const char text[] =
		"listen = [::1]:7070\n"
		"listen_unix = /run/allocscope/http.sock\n"
		"listen_unix_mode = 0600\n"
		"listen_unix_group = prof-readers\n"
		"http_auth_file = /etc/allocscope/credentials\n"
		"tls_cert_file = /etc/allocscope/cert.pem\n"
		"tls_key_file = /etc/allocscope/key.pem\n"
		"http_max_connections = 1000\n"
		"http_max_connections_per_client = 4\n"
		"http_header_timeout = 2s\n"
		"http_idle_timeout = 1m\n"
		"export_dir = /srv/profiles\n"
		"export_interval = 5m\n"
		"retention_count = 10\n"
		"retention_bytes = 1G\n"
		"sample_rate = 4K\n"
		"targets = pid:42,comm:nginx\n"
		"alloc_only = on\n"
		"live_max = 1000\n"
		"ringbuf_mb = 64\n"
		"max_processes = 100\n"
		"symbol_cache_mb = 32\n"
		"max_sites = 5000\n"
		"exited_keep = 5s\n"
		"shed_max_rate = 1G\n"
		"labels = comm\n"
		"watchdog = FALSE\n";

	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(parse_text(text, &c), 0);
	ASSERT_STREQ(c.listen, "[::1]:7070");
	ASSERT_STREQ(c.listen_unix, "/run/allocscope/http.sock");
	ASSERT_EQ(c.listen_unix_mode, 0600);
	ASSERT_STREQ(c.listen_unix_group, "prof-readers");
	ASSERT_STREQ(c.http_auth_file, "/etc/allocscope/credentials");
	ASSERT_STREQ(c.tls_cert_file, "/etc/allocscope/cert.pem");
	ASSERT_STREQ(c.tls_key_file, "/etc/allocscope/key.pem");
	ASSERT_EQ(c.http_max_connections, 1000);
	ASSERT_EQ(c.http_max_connections_per_client, 4);
	ASSERT_EQ(c.http_header_timeout_ns, 2 * VALUE_NS);
	ASSERT_EQ(c.http_idle_timeout_ns, 60 * VALUE_NS);
	ASSERT_STREQ(c.export_dir, "/srv/profiles");
	ASSERT_EQ(c.export_interval_ns, 300 * VALUE_NS);
	ASSERT_EQ(c.retention_count, 10);
	ASSERT_EQ(c.retention_bytes, 1ULL << 30);
	ASSERT_EQ(c.sample_rate, 4096);
	ASSERT_EQ(c.nr_targets, 2);
	ASSERT_EQ(c.alloc_only, true);
	ASSERT_EQ(c.live_max, 1000);
	ASSERT_EQ(c.ringbuf_mb, 64);
	ASSERT_EQ(c.max_processes, 100);
	ASSERT_EQ(c.symbol_cache_mb, 32);
	ASSERT_EQ(c.max_sites, 5000);
	ASSERT_EQ(c.exited_keep_ns, 5 * VALUE_NS);
	ASSERT_EQ(c.shed_max_rate, 1ULL << 30);
	ASSERT_EQ(c.labels, CONFIG_LABEL_COMM);
	ASSERT_EQ(c.watchdog, false);
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), 0);

	/* Suffix spellings and the other boolean words. */
	ASSERT_EQ(parse_text("export_interval = 2h\nretention_bytes = 512m\n"
			     "sample_rate = 1k\nalloc_only = 0\nwatchdog = True\n"
			     "labels = none\n", &c), 0);
	ASSERT_EQ(c.export_interval_ns, 7200 * VALUE_NS);
	ASSERT_EQ(c.retention_bytes, 512ULL << 20);
	ASSERT_EQ(c.sample_rate, 1024);
	ASSERT_EQ(c.alloc_only, false);
	ASSERT_EQ(c.watchdog, true);
	ASSERT_EQ(c.labels, 0);
	ASSERT_EQ(parse_text("export_interval = 90s\nlabels = \"\"\nsample_rate = 1T\n", &c), 0);
	ASSERT_EQ(c.export_interval_ns, 90 * VALUE_NS);
	ASSERT_EQ(c.labels, 0);
	ASSERT_EQ(c.sample_rate, 1ULL << 40);
	ASSERT_EQ(parse_text("labels = exe , pid\n", &c), 0);
	ASSERT_EQ(c.labels, CONFIG_LABEL_EXE | CONFIG_LABEL_PID);
}

static void test_syntax(void)
{
	static const char text[] =
		"# a comment\n"
		"  \n"
		"\texport_dir\t=\t\"/var/lib/x # not a comment\"   # a comment\n"
		"listen=127.0.0.1:1 # comment\n"
		"targets = comm:a#b\r\n"
		"   sample_rate   =   8K   \n"
		"labels = pid # and a comment\n"
		"retention_count = \"7\"\n";

	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(parse_text(text, &c), 0);
	ASSERT_STREQ(c.export_dir, "/var/lib/x # not a comment");
	ASSERT_STREQ(c.listen, "127.0.0.1:1");
	ASSERT_EQ(c.nr_targets, 1);
	ASSERT_STREQ(c.targets[0].arg, "a#b");
	ASSERT_EQ(c.sample_rate, 8192);
	ASSERT_EQ(c.labels, CONFIG_LABEL_PID);
	ASSERT_EQ(c.retention_count, 7);
	/* Escapes in quotes; blanks kept inside them. */
	ASSERT_EQ(parse_text("export_dir = \"/a \\\"b\\\" \\\\c \"\n", &c), 0);
	ASSERT_STREQ(c.export_dir, "/a \"b\" \\c ");
	/* A backslash before anything else is itself. */
	ASSERT_EQ(parse_text("export_dir = \"/a\\nb\"\n", &c), 0);
	ASSERT_STREQ(c.export_dir, "/a\\nb");
	/* No final newline. */
	ASSERT_EQ(parse_text("ringbuf_mb = 8", &c), 0);
	ASSERT_EQ(c.ringbuf_mb, 8);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "foo = 1\n", "t.conf:1: unknown key 'foo'" },
		{ "\n# c\nsample_rate = 0\n",
		  "t.conf:3: sample_rate: '0' " RATE_ERR },
		{ "sample_rate =\n",
		  "t.conf:1: sample_rate: '' " RATE_ERR },
		{ "sample_rate = 1Q\n",
		  "t.conf:1: sample_rate: '1Q' " RATE_ERR },
		{ "sample-rate = 1\n", "t.conf:1: unknown key 'sample-rate'" },
		{ "listen\n", "t.conf:1: expected 'key = value'" },
		{ "= 5\n", "t.conf:1: expected 'key = value'" },
		{ "listen 127.0.0.1:1\n", "t.conf:1: expected 'key = value'" },
		{ "export_dir = \"/x\n", "t.conf:1: unterminated quoted value" },
		{ "export_dir = \"/x\" y\n", "t.conf:1: unexpected text after the quoted value" },
		{ "ringbuf_mb = 1\nlive_max = 5\nringbuf_mb = 2\n",
		  "t.conf:3: ringbuf_mb: set twice (first on line 1)" },
		{ "export_interval = 2d\n", "t.conf:1: export_interval: '2d' " INTERVAL_ERR },
		{ "export_interval = 25h\n", "t.conf:1: export_interval: '25h' " INTERVAL_ERR },
		{ "export_interval = 0.5\n", "t.conf:1: export_interval: '0.5' " INTERVAL_ERR },
		{ "export_interval = +5\n", "t.conf:1: export_interval: '+5' " INTERVAL_ERR },
		{ "sample_rate = 512KB\n", "t.conf:1: sample_rate: '512KB' " RATE_ERR },
		{ "sample_rate = \" 5\"\n", "t.conf:1: sample_rate: ' 5' " RATE_ERR },
		{ "retention_count = 4294967297\n",
		  "t.conf:1: retention_count: '4294967297' is not a number from 1 to 1000000" },
		{ "retention_count = 0\n",
		  "t.conf:1: retention_count: '0' is not a number from 1 to 1000000" },
		{ "retention_count = -1\n",
		  "t.conf:1: retention_count: '-1' is not a number from 1 to 1000000" },
		{ "retention_count = 1e3\n",
		  "t.conf:1: retention_count: '1e3' is not a number from 1 to 1000000" },
		{ "retention_count = 5M\n",
		  "t.conf:1: retention_count: '5M' is not a number from 1 to 1000000" },
		{ "live_max = 67108865\n",
		  "t.conf:1: live_max: '67108865' is not a number from 1 to 67108864" },
		{ "alloc_only = maybe\n",
		  "t.conf:1: alloc_only: 'maybe' is not yes or no (true, false, on, off, 1, 0)" },
		{ "export_dir = relative/dir\n",
		  "t.conf:1: export_dir: 'relative/dir' is not an absolute path" },
		{ "export_dir = \"\"\n", "t.conf:1: export_dir: '' is not an absolute path" },
		{ "listen = localhost\n", "t.conf:1: listen: 'localhost' " LISTEN_ERR },
		{ "listen = example.com:80\n", "t.conf:1: listen: 'example.com:80' " LISTEN_ERR },
		{ "listen = \"\"\n", "t.conf:1: listen: '' " LISTEN_ERR },
		{ "listen_unix = run/x.sock\n",
		  "t.conf:1: listen_unix: 'run/x.sock' is not an absolute path" },
		{ "listen_unix_mode = 0800\n",
		  "t.conf:1: listen_unix_mode: '0800' is not an octal mode from 0000 to 0777" },
		{ "listen_unix_mode = 1660\n",
		  "t.conf:1: listen_unix_mode: '1660' is not an octal mode from 0000 to 0777" },
		{ "listen_unix_mode = rw\n",
		  "t.conf:1: listen_unix_mode: 'rw' is not an octal mode from 0000 to 0777" },
		{ "listen_unix_mode = -1\n",
		  "t.conf:1: listen_unix_mode: '-1' is not an octal mode from 0000 to 0777" },
		{ "listen_unix_group = \"a b\"\n",
		  "t.conf:1: listen_unix_group: 'a b' is not a group name" },
		{ "listen_unix_group = -x\n",
		  "t.conf:1: listen_unix_group: '-x' is not a group name" },
		{ "http_auth_file = creds\n",
		  "t.conf:1: http_auth_file: 'creds' is not an absolute path" },
		{ "tls_key_file = key.pem\n",
		  "t.conf:1: tls_key_file: 'key.pem' is not an absolute path" },
		{ "http_max_connections = 0\n",
		  "t.conf:1: http_max_connections: '0' is not a number from 1 to 16384" },
		{ "http_max_connections_per_client = 16385\n",
		  "t.conf:1: http_max_connections_per_client: '16385' is not a number from 1 to "
		  "16384" },
		{ "http_header_timeout = 0\n", "t.conf:1: http_header_timeout: '0' is not a "
		  "duration from 1 to 300 seconds (2.5, 90s, 5m, 1h)" },
		{ "http_idle_timeout = 2h\n", "t.conf:1: http_idle_timeout: '2h' is not a "
		  "duration from 1 to 3600 seconds (2.5, 90s, 5m, 1h)" },
		{ "labels = pid,tid\n",
		  "t.conf:1: labels: 'tid' is not a label (pid, comm, exe; or none)" },
		{ "labels = pid,,comm\n",
		  "t.conf:1: labels: '' is not a label (pid, comm, exe; or none)" },
		{ "labels = pid,pid\n", "t.conf:1: labels: 'pid' given twice" },
		{ "watchdog = yes\nwatchdog = no\n",
		  "t.conf:2: watchdog: set twice (first on line 1)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config__free(&c);
		ASSERT_EQ(config__defaults(&c), 0);
		err[0] = '\0';
		ASSERT(parse_text(cases[i].text, &c) == -EINVAL, "accepted: %s", cases[i].text);
		ASSERT_STREQ(err, cases[i].msg);
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "ringbuf_mb = 8\nlive_max = 1\0 2\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	ASSERT(f, "fmemopen");
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(config__parse(f, "t.conf", &c, err, sizeof(err)), -EINVAL);
	fclose(f);
	ASSERT_STREQ(err, "t.conf:2: NUL byte in line");
	/* What came before the error is kept: the caller discards the whole struct. */
	ASSERT_EQ(c.ringbuf_mb, 8);
}

static void test_targets(void)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "pid:0", "targets: 'pid:0': not a process id" },
		{ "pid:-1", "targets: 'pid:-1': not a process id" },
		{ "pid:4194305", "targets: 'pid:4194305': not a process id" },
		{ "pid:12ab", "targets: 'pid:12ab': not a process id" },
		{ "pid:", "targets: 'pid:': not a process id" },
		{ "comm:", "targets: 'comm:': not a name of 1 to 15 characters" },
		{ "comm:1234567890123456",
		  "targets: 'comm:1234567890123456': not a name of 1 to 15 characters" },
		{ "exe:bin/x", "targets: 'exe:bin/x': not an absolute path" },
		{ "cgroup:system.slice", "targets: 'cgroup:system.slice': not an absolute path" },
		{ "foo:bar",
		  "targets: 'foo:bar' is not pid:N, cgroup:PATH, exe:PATH or comm:NAME" },
		{ "nginx", "targets: 'nginx' is not pid:N, cgroup:PATH, exe:PATH or comm:NAME" },
		{ "PID:1", "targets: 'PID:1' is not pid:N, cgroup:PATH, exe:PATH or comm:NAME" },
		{ "all,pid:1", "targets: 'all' cannot be combined with other targets" },
		{ "pid:1,all", "targets: 'all' cannot be combined with other targets" },
		{ "pid:1,,pid:2", "targets: empty target" },
		{ "pid:1,", "targets: empty target" },
		{ "", "targets: empty target" },
	};
	char spec[4096], *p;
	size_t i;

	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(config__set(&c, "targets", " pid:42, comm:nginx ,exe:/usr/bin/redis-server,"
			      "cgroup:/system.slice/x.service,comm:123456789012345", err,
			      sizeof(err)), 0);
	ASSERT_EQ(c.nr_targets, 5);
	ASSERT_EQ(c.targets[0].kind, CONFIG_TARGET_PID);
	ASSERT_EQ(c.targets[0].pid, 42);
	ASSERT(c.targets[0].arg == NULL, "pid with an arg");
	ASSERT_EQ(c.targets[1].kind, CONFIG_TARGET_COMM);
	ASSERT_STREQ(c.targets[1].arg, "nginx");
	ASSERT_EQ(c.targets[2].kind, CONFIG_TARGET_EXE);
	ASSERT_STREQ(c.targets[2].arg, "/usr/bin/redis-server");
	ASSERT_EQ(c.targets[3].kind, CONFIG_TARGET_CGROUP);
	ASSERT_STREQ(c.targets[3].arg, "/system.slice/x.service");
	ASSERT_STREQ(c.targets[4].arg, "123456789012345");
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), 0);

	/* cgroupfs paths and relative-to-root paths name the same cgroup. */
	ASSERT_EQ(config__set(&c, "targets", "cgroup:/sys/fs/cgroup/system.slice/,"
			      "cgroup:/sys/fs/cgroup,cgroup:/,cgroup:/sys/fs/cgroupfoo", err,
			      sizeof(err)), 0);
	ASSERT_EQ(c.nr_targets, 4);
	ASSERT_STREQ(c.targets[0].arg, "/system.slice");
	ASSERT_STREQ(c.targets[1].arg, "/");
	ASSERT_STREQ(c.targets[2].arg, "/");
	ASSERT_STREQ(c.targets[3].arg, "/sys/fs/cgroupfoo");

	ASSERT_EQ(config__set(&c, "targets", "all", err, sizeof(err)), 0);
	ASSERT_EQ(c.nr_targets, 0);
	ASSERT(c.targets == NULL, "targets after all");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(config__set(&c, "targets", "pid:7", err, sizeof(err)), 0);
		ASSERT(config__set(&c, "targets", bad[i].spec, err, sizeof(err)) == -EINVAL,
		       "accepted: '%s'", bad[i].spec);
		ASSERT_STREQ(err, bad[i].msg);
		/* A refused value leaves the previous one. */
		ASSERT_EQ(c.nr_targets, 1);
		ASSERT_EQ(c.targets[0].pid, 7);
	}

	/* At most CONFIG_MAX_TARGETS. */
	for (p = spec, i = 0; i < CONFIG_MAX_TARGETS; i++)
		p += sprintf(p, "%spid:%zu", i ? "," : "", i + 1);
	ASSERT_EQ(config__set(&c, "targets", spec, err, sizeof(err)), 0);
	ASSERT_EQ(c.nr_targets, CONFIG_MAX_TARGETS);
	strcat(spec, ",pid:9999");
	ASSERT_EQ(config__set(&c, "targets", spec, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "targets: more than 256 targets");
	ASSERT_EQ(c.nr_targets, CONFIG_MAX_TARGETS);
}

/* File over defaults, command line over file; messages name the option as given. */
static void test_overrides(void)
{
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(parse_text("sample_rate = 1M\nlisten = 127.0.0.1:7000\nexport_interval = 30\n",
			     &c), 0);
	ASSERT_EQ(config__set(&c, "sample-rate", "2M", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "export_interval", "0", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "export-dir", "/tmp/p", err, sizeof(err)), 0);
	ASSERT_EQ(c.sample_rate, 2ULL << 20);
	ASSERT_EQ(c.export_interval_ns, 0);
	ASSERT_STREQ(c.export_dir, "/tmp/p");
	ASSERT_STREQ(c.listen, "127.0.0.1:7000");	/* from the file */
	ASSERT_EQ(c.ringbuf_mb, 16);			/* the default */

	ASSERT_EQ(config__set(&c, "sample-rate", "0", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "sample-rate: '0' " RATE_ERR);
	ASSERT_EQ(c.sample_rate, 2ULL << 20);
	ASSERT_EQ(config__set(&c, "listen", "nowhere", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "listen: 'nowhere' " LISTEN_ERR);
	/* No TCP at all: for a Unix socket only. */
	ASSERT_EQ(config__set(&c, "listen", "none", err, sizeof(err)), 0);
	ASSERT_STREQ(c.listen, "none");
	ASSERT_EQ(config__set(&c, "listen", "127.0.0.1:7000", err, sizeof(err)), 0);
	ASSERT_STREQ(c.listen, "127.0.0.1:7000");
	ASSERT_EQ(config__set(&c, "nope", "1", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "nope: unknown key");
	ASSERT_EQ(config__set(&c, "sample-rat", "1", err, sizeof(err)), -EINVAL);
	ASSERT_EQ(config__set(&c, "sample-rates", "1", err, sizeof(err)), -EINVAL);
	/* A file value set on the command line too is no "set twice": not the file's concern. */
	ASSERT_EQ(config__set(&c, "sample_rate", "3M", err, sizeof(err)), 0);
	ASSERT_EQ(c.sample_rate, 3ULL << 20);
}

static void test_bounds(void)
{
	static const struct {
		const char *key, *min, *max, *below, *above;
	} cases[] = {
		{ "export_interval", "0", "86400", NULL, "86401" },
		{ "retention_count", "1", "1000000", "0", "1000001" },
		{ "retention_bytes", "1M", "1T", "1048575", "1099511627777" },
		{ "sample_rate", "1", "1099511627776", "0", "1025G" },
		{ "live_max", "1", "67108864", "0", "67108865" },
		{ "ringbuf_mb", "1", "1024", "0", "1025" },
		{ "max_processes", "1", "4194304", "0", "4194305" },
		{ "max_sites", "1", "67108864", "0", "67108865" },
		{ "exited_keep", "0", "86400", NULL, "86401" },
		{ "shed_max_rate", "1", "1099511627776", "0", "1025G" },
		{ "symbol_cache_mb", "1", "65536", "0", "65537" },
		{ "listen_unix_mode", "0", "0777", NULL, "01000" },
		{ "http_max_connections", "1", "16384", "0", "16385" },
		{ "http_max_connections_per_client", "1", "16384", "0", "16385" },
		{ "http_header_timeout", "1", "5m", "0", "301" },
		{ "http_idle_timeout", "1", "1h", "0", "3601" },
	};
	size_t i;

	ASSERT_EQ(config__defaults(&c), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT(!config__set(&c, cases[i].key, cases[i].min, err, sizeof(err)), "%s", err);
		ASSERT(!config__set(&c, cases[i].key, cases[i].max, err, sizeof(err)), "%s", err);
		ASSERT(!cases[i].below ||
		       config__set(&c, cases[i].key, cases[i].below, err, sizeof(err)) == -EINVAL,
		       "%s = %s accepted", cases[i].key, cases[i].below);
		ASSERT(config__set(&c, cases[i].key, cases[i].above, err, sizeof(err)) == -EINVAL,
		       "%s = %s accepted", cases[i].key, cases[i].above);
	}
	/* Overflows are refused, not wrapped. */
	ASSERT_EQ(config__set(&c, "sample_rate", "18446744073709551615K", err, sizeof(err)),
		  -EINVAL);
	ASSERT_EQ(config__set(&c, "sample_rate", "99999999999999999999999", err, sizeof(err)),
		  -EINVAL);
	ASSERT_EQ(config__set(&c, "live_max", "4294967297", err, sizeof(err)), -EINVAL);
	ASSERT_EQ(config__set(&c, "export_interval", "99999999999999999h", err, sizeof(err)),
		  -EINVAL);
}

static void test_validate(void)
{
	ASSERT_EQ(config__defaults(&c), 0);
	c.live_max = 0;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "live_max: 0 is not a number from 1 to 67108864");
	c.live_max = 1;
	c.sample_rate = (1ULL << 40) + 1;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "sample_rate: 1099511627777 " RATE_ERR);
	c.sample_rate = 1;
	free(c.export_dir);
	c.export_dir = NULL;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "export_dir: '' is not an absolute path");
	ASSERT_EQ(config__set(&c, "export_dir", "/x", err, sizeof(err)), 0);
	c.labels = 1 << 5;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	c.labels = 0;
	ASSERT_EQ(config__set(&c, "targets", "pid:1,comm:x", err, sizeof(err)), 0);
	c.targets[1].arg[0] = '\0';
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "targets: target 2 is invalid");
	c.targets[1].arg[0] = 'x';
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), 0);
	c.listen_unix_mode = 01777;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "listen_unix_mode: 1777 is not a mode from 0000 to 0777");
	c.listen_unix_mode = 0600;
	free(c.http_auth_file);
	c.http_auth_file = NULL;
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "http_auth_file: '' is not an absolute path");
	ASSERT_EQ(config__set(&c, "http_auth_file", "", err, sizeof(err)), 0);
	ASSERT_EQ(config__validate(&c, err, sizeof(err)), 0);
}

/* What config__print() writes reads back as the same configuration, with help or not. */
static void test_print_roundtrip(void)
{
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(config__set(&c, "export_dir", "/srv/a \"b\" #c\\d ", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "targets", "comm:x #y,exe:/opt/my app/bin,pid:3", err,
			      sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "retention_bytes", "3G", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "sample_rate", "1536K", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "labels", "none", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "alloc_only", "true", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "listen_unix_mode", "640", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "listen_unix", "/run/a b/s", err, sizeof(err)), 0);
	ASSERT_EQ(config__set(&c, "listen", "none", err, sizeof(err)), 0);
	printed = print_config(&c, false);
	ASSERT(printed, "print");
	ASSERT(strstr(printed, "listen_unix_mode = 0640\n"), "%s", printed);
	ASSERT(strstr(printed, "listen_unix = /run/a b/s\n"), "%s", printed);
	ASSERT(strstr(printed, "listen_unix_group = \"\"\n"), "%s", printed);
	ASSERT(strstr(printed, "retention_bytes = 3G\n"), "%s", printed);
	ASSERT(strstr(printed, "sample_rate = 1572864\n"), "%s", printed);
	ASSERT(strstr(printed, "labels = none\n"), "%s", printed);
	ASSERT(strstr(printed, "export_dir = \"/srv/a \\\"b\\\" #c\\\\d \"\n"), "%s", printed);

	ASSERT_EQ(config__defaults(&c2), 0);
	ASSERT(!parse_text(printed, &c2), "%s", err);
	printed2 = print_config(&c2, false);
	ASSERT_STREQ(printed2, printed);
	ASSERT_STREQ(c2.export_dir, "/srv/a \"b\" #c\\d ");
	ASSERT_STREQ(c2.targets[0].arg, "x #y");

	free(printed2);
	config__free(&c2);
	free(printed);
	printed = print_config(&c, true);
	ASSERT(printed && strstr(printed, "\n# Mean bytes allocated between two samples"), "%s",
	       printed);
	ASSERT_EQ(config__defaults(&c2), 0);
	ASSERT(!parse_text(printed, &c2), "%s", err);
	printed2 = print_config(&c2, false);
	free(printed);
	printed = print_config(&c, false);
	ASSERT_STREQ(printed2, printed);
}

/* The values of the command line are the values of the file (src/value.h): one dialect. */
static void test_one_dialect(void)
{
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(config__set(&c, "sample-rate", "512KiB", err, sizeof(err)), 0);
	ASSERT_EQ(c.sample_rate, 512ULL << 10);
	ASSERT_EQ(config__set(&c, "sample-rate", "1T", err, sizeof(err)), 0);
	ASSERT_EQ(c.sample_rate, 1ULL << 40);
	ASSERT_EQ(config__set(&c, "export-interval", "2.5", err, sizeof(err)), 0);
	ASSERT_EQ(c.export_interval_ns, 2500000000ULL);
	printed = print_config(&c, false);
	ASSERT(strstr(printed, "export_interval = 2.5\n"), "%s", printed);
	ASSERT(strstr(printed, "sample_rate = 1T\n"), "%s", printed);
	ASSERT_EQ(config__set(&c, "export-interval", "1.5m", err, sizeof(err)), 0);
	ASSERT_EQ(c.export_interval_ns, 90 * VALUE_NS);
	ASSERT_EQ(config__set(&c, "targets", "pid:+5", err, sizeof(err)), -EINVAL);
	ASSERT_EQ(config__set(&c, "targets", "pid:4294967297", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "targets: 'pid:4294967297': not a process id");
}

/*
 * Every value a key accepts prints as text that parses back to what prints the same: for
 * each key, values near its edges (blanks, quotes, '#', slashes, suffixes, control
 * characters); a refused one is fine, one that changes on the way back is not.
 */
static void test_roundtrip_every_value(void)
{
	static const struct {
		const char *key, *value;
	} cases[] = {
		{ "targets", "cgroup:/a /" }, { "targets", "cgroup:/a\t/" },
		{ "targets", "cgroup:/a /b/" }, { "targets", "cgroup:/sys/fs/cgroup/ a/" },
		{ "targets", "cgroup://" }, { "targets", "cgroup:/sys/fs/cgroup//" },
		{ "targets", "comm: a" }, { "targets", "comm:a\"b" }, { "targets", "comm:#a" },
		{ "targets", "comm:a\\" }, { "targets", "comm:\"" }, { "targets", "exe:/a b/c" },
		{ "targets", "exe:/a\nb" }, { "targets", "comm:a\rb" }, { "targets", "comm:a\r" },
		{ "targets", "pid:007" }, { "targets", "exe:/x,comm:y" },
		{ "export_dir", "/a\nb" }, { "export_dir", "/a\r" }, { "export_dir", "/a\t" },
		{ "export_dir", "/ a" }, { "export_dir", "/a #b" }, { "export_dir", "/a\\" },
		{ "export_dir", "/\"" }, { "export_dir", "/a\x7f" },
		{ "listen", "[::1]:0" }, { "listen", ":6060" },
		{ "export_interval", "2.5" }, { "export_interval", "0.000000001" },
		{ "export_interval", "86399.999999999" }, { "export_interval", "1.5m" },
		{ "export_interval", "0" }, { "sample_rate", "1536K" }, { "sample_rate", "1T" },
		{ "sample_rate", "1023" }, { "retention_bytes", "1048577" },
		{ "labels", "exe,pid" }, { "labels", "" }, { "alloc_only", "ON" },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		case_done();
		ASSERT_EQ(config__defaults(&c), 0);
		ret = config__set(&c, cases[i].key, cases[i].value, err, sizeof(err));
		if (ret == -EINVAL)
			continue;
		ASSERT(!ret, "%s = '%s': %d", cases[i].key, cases[i].value, ret);
		printed = print_config(&c, false);
		ASSERT_EQ(config__defaults(&c2), 0);
		ASSERT(!parse_text(printed, &c2), "%s = '%s' printed as unparsable: %s\n%s",
		       cases[i].key, cases[i].value, err, printed);
		printed2 = print_config(&c2, false);
		ASSERT(!strcmp(printed, printed2), "%s = '%s' changed on the way back:\n%s---\n%s",
		       cases[i].key, cases[i].value, printed, printed2);
	}
	/* The case of issue 10: refused, with a reason. */
	ASSERT_EQ(config__set(&c, "targets", "cgroup:/a /", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "targets: 'cgroup:/a /': a path ending in a blank");
}

static void test_load(void)
{
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);

	ASSERT(fd >= 0, "mkstemp");
	ASSERT(write(fd, "sample_rate = 64K\nbogus = 1\n", 28) == 28, "write");
	close(fd);
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT_EQ(config__load(path, &c, err, sizeof(err)), -EINVAL);
	ASSERT(!strncmp(err, path, strlen(path)), "%s", err);
	ASSERT_STREQ(err + strlen(path), ":2: unknown key 'bogus'");
	ASSERT_EQ(c.sample_rate, 65536);
	unlink(path);
	ASSERT_EQ(config__load(path, &c, err, sizeof(err)), -ENOENT);
	ASSERT_STREQ(err + strlen(path), ": No such file or directory");
}

static void test_help(void)
{
	const char *def = NULL;

	ASSERT(config__help("sample_rate", &def), "no help");
	ASSERT_STREQ(def, "524288");
	ASSERT(config__help("export-interval", &def), "no help for the flag spelling");
	ASSERT_STREQ(def, "60");
	ASSERT(config__help("nope", &def) == NULL, "help for an unknown key");
}

/* Every key of the table, as printed with its default: "key = value" lines. */
static int default_lines(char lines[][128], int max)
{
	char *p, *e;
	int n = 0;

	if (config__defaults(&c2))
		return -1;
	printed2 = print_config(&c2, false);
	for (p = printed2; p && *p && n < max; p = e + 1) {
		e = strchr(p, '\n');
		snprintf(lines[n++], 128, "%.*s", (int)(e - p), p);
	}
	return n;
}

/* systemd/allocscope.conf shows every key, commented out, with its default. */
static void test_example_file(void)
{
	char lines[32][128], *text = NULL, *p, *e;
	FILE *f = fopen("systemd/allocscope.conf", "r");
	size_t cap = 0;
	int n, i;

	if (!f)
		SKIP_CASE("systemd/allocscope.conf not found: run from the source tree");
	ASSERT(getdelim(&text, &cap, '\0', f) > 0, "read");
	fclose(f);
	/* As shipped, all commented: the defaults. */
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT(!parse_text(text, &c), "%s", err);
	printed = print_config(&c, false);
	ASSERT_STREQ(printed, default_text);
	/* Uncommented, the same. */
	for (p = text; *p; p = e + 1) {
		e = strchr(p, '\n');
		if (!e)
			break;
		if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z' && strstr(p, " = ") < e)
			p[0] = ' ';
	}
	config__free(&c);
	ASSERT_EQ(config__defaults(&c), 0);
	ASSERT(!parse_text(text, &c), "%s", err);
	free(printed);
	printed = print_config(&c, false);
	ASSERT_STREQ(printed, default_text);
	n = default_lines(lines, 32);
	for (i = 0; i < n; i++) {
		char want[160];

		snprintf(want, sizeof(want), "\n %.127s\n", lines[i]);
		ASSERT(strstr(text, want), "missing '#%s'", lines[i]);
	}
	free(text);
}

/* allocscope.conf(5) documents every key, with its default. */
static void test_man_page(void)
{
	char lines[32][128], *text = NULL, want[160];
	FILE *f = fopen("docs/allocscope.conf.5", "r");
	size_t cap = 0;
	int n, i;

	if (!f)
		SKIP_CASE("docs/allocscope.conf.5 not found: run from the source tree");
	ASSERT(getdelim(&text, &cap, '\0', f) > 0, "read");
	fclose(f);
	n = default_lines(lines, 32);
	for (i = 0; i < n; i++) {
		char *eq = strstr(lines[i], " = ");

		*eq = '\0';
		snprintf(want, sizeof(want), "\n.BI %s \" = \"", lines[i]);
		if (!strstr(text, want))
			break;
		/* troff escapes '-' in the default. */
		snprintf(want, sizeof(want), "Default: \\fB%s\\fR", eq + 3);
		if (!strstr(text, want))
			break;
	}
	ASSERT(i == n, "key '%s' or its default not documented as '%s'", lines[i], want);
	free(text);
}

int main(void)
{
	t_suite = "config";
	RUN_CASE(test_defaults);
	RUN_CASE(test_every_key);
	RUN_CASE(test_syntax);
	RUN_CASE(test_errors);
	RUN_CASE(test_nul_byte);
	RUN_CASE(test_targets);
	RUN_CASE(test_overrides);
	RUN_CASE(test_bounds);
	RUN_CASE(test_validate);
	RUN_CASE(test_print_roundtrip);
	RUN_CASE(test_one_dialect);
	RUN_CASE(test_roundtrip_every_value);
	RUN_CASE(test_load);
	RUN_CASE(test_help);
	RUN_CASE(test_example_file);
	RUN_CASE(test_man_page);
	return TEST_EXIT();
}
