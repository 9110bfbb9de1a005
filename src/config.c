// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - the key table, its value types, and the file syntax.
 *
 * Each key's default is written as text and parsed by the key's own parser, so defaults obey
 * the same limits as the file, and config__print() of the defaults is what the docs show.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "http.h"
#include "value.h"

#define MIB (1ULL << 20)
#define TIB (1ULL << 40)
#define CGROUP_ROOT "/sys/fs/cgroup"

struct key;

/*
 * A value type: parse text into cfg, check a value already there, print it, free it. String
 * types share those and differ in what value() accepts.
 */
struct type {
	int (*parse)(const struct key *k, struct config *cfg, const char *s, char *err,
		     size_t len);
	int (*check)(const struct key *k, const struct config *cfg, char *err, size_t len);
	void (*print)(const struct key *k, const struct config *cfg, FILE *f);
	void (*free)(const struct key *k, struct config *cfg);
	int (*value)(const struct key *k, const char *s, char *err, size_t len);
	enum value_kind kind;		/* numbers */
	bool wide;			/* numbers: a __u64 field, else unsigned int */
};

struct key {
	const char *name;
	const struct type *type;
	size_t off;			/* offsetof(struct config, ...) */
	const char *def;
	__u64 min, max;
	bool or_zero;			/* numbers: 0 too, outside [min, max] */
	const char *help;
};

#define FIELD(cfg, k, t) ((t *)((char *)(cfg) + (k)->off))

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && len)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A line break, say, in a value set from the command line would not print back as one line. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

/* Writes s as a value: in quotes when it would not read back as itself without. */
static void print_string(FILE *f, const char *s)
{
	size_t n = strlen(s);

	if (n && !strpbrk(s, "\"\\#") && s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' &&
	    s[n - 1] != '\t') {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* --- strings: paths and listen addresses --- */

static int set_string(const struct key *k, struct config *cfg, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	free(*FIELD(cfg, k, char *));
	*FIELD(cfg, k, char *) = copy;
	return 0;
}

static int check_path_value(const struct key *k, const char *s, char *err, size_t len)
{
	if (s && has_control(s))
		return fail(err, len, "%s: a control character in the value", k->name);
	if (!s || s[0] != '/')
		return fail(err, len, "%s: '%s' is not an absolute path", k->name, s ? s : "");
	return 0;
}

static int check_listen_value(const struct key *k, const char *s, char *err, size_t len)
{
	if (!s || (strcmp(s, CONFIG_LISTEN_NONE) && http__check_listen(s)))
		return fail(err, len, "%s: '%s' is not ADDR:PORT, [ADDR6]:PORT, :PORT or none",
			    k->name, s ? s : "");
	return 0;
}

/* "" (none) or an absolute path. */
static int check_opt_path_value(const struct key *k, const char *s, char *err, size_t len)
{
	return s && !*s ? 0 : check_path_value(k, s, err, len);
}

/* "" or a user or group name as useradd(8) takes it: what getgrnam() can look up. */
static int check_name_value(const struct key *k, const char *s, char *err, size_t len)
{
	size_t n = s ? strlen(s) : 0;

	if (!s || n > 32 || (n && (s[0] == '-' ||
		  s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")])))
		return fail(err, len, "%s: '%s' is not a group name", k->name, s ? s : "");
	return 0;
}

static int parse_string(const struct key *k, struct config *cfg, const char *s, char *err,
			size_t len)
{
	return k->type->value(k, s, err, len) ?: set_string(k, cfg, s);
}

static int check_string(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	return k->type->value(k, *FIELD(cfg, k, char *), err, len);
}

static void print_string_key(const struct key *k, const struct config *cfg, FILE *f)
{
	print_string(f, *FIELD(cfg, k, char *) ?: "");
}

static void free_string(const struct key *k, struct config *cfg)
{
	free(*FIELD(cfg, k, char *));
	*FIELD(cfg, k, char *) = NULL;
}

#define STRING_TYPE(check_value) { \
	.parse = parse_string, .check = check_string, .print = print_string_key, \
	.free = free_string, .value = check_value, \
}
static const struct type t_path = STRING_TYPE(check_path_value);
static const struct type t_opt_path = STRING_TYPE(check_opt_path_value);
static const struct type t_listen = STRING_TYPE(check_listen_value);
static const struct type t_name = STRING_TYPE(check_name_value);

/* --- numbers: plain, durations, bytes (value.h) --- */

/* A number held in an unsigned int field, or a __u64 one. */
static __u64 get_num(const struct key *k, const struct config *cfg)
{
	return k->type->wide ? *FIELD(cfg, k, __u64) : *FIELD(cfg, k, unsigned int);
}

static int num_problem(const struct key *k, const char *shown, char *err, size_t len)
{
	char what[128];

	value__explain(k->type->kind, k->min, k->max, what, sizeof(what));
	return fail(err, len, "%s: %s is not %s%s", k->name, shown, what,
		    k->or_zero ? ", or 0" : "");
}

static int parse_num(const struct key *k, struct config *cfg, const char *s, char *err,
		     size_t len)
{
	char shown[256];
	__u64 v;

	if (value__parse(k->type->kind, s, 0, ~0ULL, &v) ||
	    ((v || !k->or_zero) && (v < k->min || v > k->max))) {
		snprintf(shown, sizeof(shown), "'%s'", s);
		return num_problem(k, shown, err, len);
	}
	if (k->type->wide)
		*FIELD(cfg, k, __u64) = v;
	else
		*FIELD(cfg, k, unsigned int) = v;
	return 0;
}

/* A file mode, in octal as chmod(1) takes it. */
static int parse_mode(const struct key *k, struct config *cfg, const char *s, char *err,
		      size_t len)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (*s < '0' || *s > '7' || *end || errno || v < k->min || v > k->max)
		return fail(err, len, "%s: '%s' is not an octal mode from %04llo to %04llo",
			    k->name, s, (unsigned long long)k->min, (unsigned long long)k->max);
	*FIELD(cfg, k, unsigned int) = v;
	return 0;
}

static int check_mode(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	unsigned int v = *FIELD(cfg, k, unsigned int);

	if (v < k->min || v > k->max)
		return fail(err, len, "%s: %04o is not a mode from %04llo to %04llo", k->name, v,
			    (unsigned long long)k->min, (unsigned long long)k->max);
	return 0;
}

static void print_mode(const struct key *k, const struct config *cfg, FILE *f)
{
	fprintf(f, "%04o", *FIELD(cfg, k, unsigned int));
}

static const struct type t_mode = {
	.parse = parse_mode, .check = check_mode, .print = print_mode,
};

static int check_num(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	__u64 v = get_num(k, cfg);
	char shown[32];

	if ((!v && k->or_zero) || (v >= k->min && v <= k->max))
		return 0;
	value__format(k->type->kind, v, shown, sizeof(shown));
	return num_problem(k, shown, err, len);
}

static void print_num(const struct key *k, const struct config *cfg, FILE *f)
{
	char buf[32];

	value__format(k->type->kind, get_num(k, cfg), buf, sizeof(buf));
	fputs(buf, f);
}

static const struct type t_uint = {
	.parse = parse_num, .check = check_num, .print = print_num, .kind = VALUE_NUMBER,
};
static const struct type t_duration = {
	.parse = parse_num, .check = check_num, .print = print_num, .kind = VALUE_DURATION, .wide = true,
};
static const struct type t_bytes = {
	.parse = parse_num, .check = check_num, .print = print_num, .kind = VALUE_BYTES, .wide = true,
};

/* --- booleans --- */

static int parse_bool(const struct key *k, struct config *cfg, const char *s, char *err,
		      size_t len)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*FIELD(cfg, k, bool) = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return fail(err, len, "%s: '%s' is not yes or no (true, false, on, off, 1, 0)", k->name,
		    s);
}

static int check_bool(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	return 0;
}

static void print_bool(const struct key *k, const struct config *cfg, FILE *f)
{
	fputs(*FIELD(cfg, k, bool) ? "yes" : "no", f);
}

static const struct type t_bool = {
	.parse = parse_bool, .check = check_bool, .print = print_bool,
};

/* --- lists: labels and targets --- */

static const char *const label_names[] = { "pid", "comm", "exe" };
#define NR_LABELS 3

/* Calls fn on each comma-separated item of s, blanks around it trimmed; stops on error. */
static int for_each_item(const char *s, int (*fn)(const char *item, void *ctx), void *ctx)
{
	char *copy = strdup(s), *item, *next, *end;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (item = copy; item && !err; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		err = fn(item, ctx);
	}
	free(copy);
	return err;
}

struct list_ctx {
	const struct key *k;
	char *err;
	size_t len;
	unsigned int mask;			/* labels */
	struct config_target *v;		/* targets */
	unsigned int nr;
};

static int add_label(const char *item, void *p)
{
	struct list_ctx *c = p;
	int i;

	for (i = 0; i < NR_LABELS; i++) {
		if (strcmp(item, label_names[i]))
			continue;
		if (c->mask & (1U << i))
			return fail(c->err, c->len, "%s: '%s' given twice", c->k->name, item);
		c->mask |= 1U << i;
		return 0;
	}
	return fail(c->err, c->len, "%s: '%s' is not a label (pid, comm, exe; or none)",
		    c->k->name, item);
}

static int parse_labels(const struct key *k, struct config *cfg, const char *s, char *err,
			size_t len)
{
	struct list_ctx c = { .k = k, .err = err, .len = len };
	int ret = 0;

	if (*s && strcmp(s, "none"))
		ret = for_each_item(s, add_label, &c);
	if (!ret)
		*FIELD(cfg, k, unsigned int) = c.mask;
	return ret;
}

static int check_labels(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	unsigned int mask = *FIELD(cfg, k, unsigned int);

	if (mask & ~((1U << NR_LABELS) - 1))
		return fail(err, len, "%s: unknown labels in mask %#x", k->name, mask);
	return 0;
}

static void print_labels(const struct key *k, const struct config *cfg, FILE *f)
{
	unsigned int mask = *FIELD(cfg, k, unsigned int);
	const char *sep = "";
	int i;

	if (!mask)
		fputs("none", f);
	for (i = 0; i < NR_LABELS; i++) {
		if (mask & (1U << i)) {
			fprintf(f, "%s%s", sep, label_names[i]);
			sep = ",";
		}
	}
}

static const struct type t_labels = {
	.parse = parse_labels, .check = check_labels, .print = print_labels,
};

static const char *const target_kinds[] = { "pid", "cgroup", "exe", "comm" };

/* The argument of a target of kind: NULL if fine, else why not. */
static const char *target_problem(enum config_target_kind kind, const char *arg)
{
	size_t n = strlen(arg);
	pid_t pid;

	if (has_control(arg))
		return "a control character";
	switch (kind) {
	case CONFIG_TARGET_PID:
		return value__pid(arg, &pid) ? "not a process id" : NULL;
	case CONFIG_TARGET_CGROUP:
		/* "/a /" would be "/a ", which a list item cannot end with: it would not print back */
		if (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
			return "a path ending in a blank";
		/* fall through */
	case CONFIG_TARGET_EXE:
		return arg[0] == '/' ? NULL : "not an absolute path";
	case CONFIG_TARGET_COMM:
		if (!*arg || strlen(arg) >= CONFIG_COMM_LEN)
			return "not a name of 1 to 15 characters";
		return NULL;
	}
	return "unknown kind";
}

static bool under_cgroup_root(const char *arg)
{
	size_t root = strlen(CGROUP_ROOT);

	return !strncmp(arg, CGROUP_ROOT, root) && (!arg[root] || arg[root] == '/');
}

/* "/sys/fs/cgroup/a/b/" and "/a/b" are one cgroup: keep the path below the root. */
static char *cgroup_path(const char *arg)
{
	size_t n;

	if (under_cgroup_root(arg))
		arg += strlen(CGROUP_ROOT);
	n = strlen(arg);
	while (n > 1 && arg[n - 1] == '/')
		n--;
	return n ? strndup(arg, n) : strdup("/");
}

/* The kind "KIND:..." names, or -1. */
static int target_kind(const char *item, const char *colon)
{
	size_t n = colon - item;
	int kind;

	for (kind = 0; colon && kind < 4; kind++)
		if (strlen(target_kinds[kind]) == n && !strncmp(item, target_kinds[kind], n))
			return kind;
	return -1;
}

static int add_target(const char *item, void *p)
{
	struct list_ctx *c = p;
	const char *colon = strchr(item, ':'), *why;
	struct config_target *t = &c->v[c->nr];
	int kind = target_kind(item, colon);

	if (!*item)
		return fail(c->err, c->len, "%s: empty target", c->k->name);
	if (!strcmp(item, "all"))
		return fail(c->err, c->len, "%s: 'all' cannot be combined with other targets",
			    c->k->name);
	if (kind < 0)
		return fail(c->err, c->len, "%s: '%s' is not pid:N, cgroup:PATH, exe:PATH or "
			    "comm:NAME", c->k->name, item);
	t->kind = kind;
	if (kind == CONFIG_TARGET_PID)
		why = value__pid(colon + 1, &t->pid) ? "not a process id" : NULL;
	else if (!(t->arg = kind == CONFIG_TARGET_CGROUP ? cgroup_path(colon + 1) :
							   strdup(colon + 1)))
		return -ENOMEM;
	else
		why = target_problem(kind, t->arg);
	if (why) {
		free(t->arg);
		t->arg = NULL;
		return fail(c->err, c->len, "%s: '%s': %s", c->k->name, item, why);
	}
	c->nr++;
	return 0;
}

static void free_targets_array(struct config_target *v, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		free(v[i].arg);
	free(v);
}

static int parse_targets(const struct key *k, struct config *cfg, const char *s, char *err,
			 size_t len)
{
	struct list_ctx c = { .k = k, .err = err, .len = len };
	unsigned int n = 1;
	const char *p;
	int ret;

	if (!strcmp(s, "all")) {
		free_targets_array(cfg->targets, cfg->nr_targets);
		cfg->targets = NULL;
		cfg->nr_targets = 0;
		return 0;
	}
	for (p = s; *p; p++)
		n += *p == ',';
	if (n > CONFIG_MAX_TARGETS)
		return fail(err, len, "%s: more than %d targets", k->name, CONFIG_MAX_TARGETS);
	c.v = calloc(n, sizeof(*c.v));
	if (!c.v)
		return -ENOMEM;
	ret = for_each_item(s, add_target, &c);
	if (ret) {
		free_targets_array(c.v, c.nr);
		return ret;
	}
	free_targets_array(cfg->targets, cfg->nr_targets);
	cfg->targets = c.v;
	cfg->nr_targets = c.nr;
	return 0;
}

static int check_targets(const struct key *k, const struct config *cfg, char *err, size_t len)
{
	const struct config_target *t;
	char pid[16];
	unsigned int i;

	if (cfg->nr_targets > CONFIG_MAX_TARGETS || (cfg->nr_targets && !cfg->targets))
		return fail(err, len, "%s: %u targets", k->name, cfg->nr_targets);
	for (i = 0; i < cfg->nr_targets; i++) {
		t = &cfg->targets[i];
		snprintf(pid, sizeof(pid), "%d", t->pid);
		if ((unsigned int)t->kind > CONFIG_TARGET_COMM ||
		    (t->kind != CONFIG_TARGET_PID && !t->arg) ||
		    target_problem(t->kind, t->kind == CONFIG_TARGET_PID ? pid : t->arg))
			return fail(err, len, "%s: target %u is invalid", k->name, i + 1);
	}
	return 0;
}

static void print_targets(const struct key *k, const struct config *cfg, FILE *f)
{
	const struct config_target *t;
	char *s = NULL;
	size_t n = 0;
	unsigned int i;
	FILE *m;

	if (!cfg->nr_targets) {
		fputs("all", f);
		return;
	}
	/* Built whole first: print_string() decides on quotes for the whole value. */
	m = open_memstream(&s, &n);
	if (!m)
		return;
	for (i = 0; i < cfg->nr_targets; i++) {
		t = &cfg->targets[i];
		fprintf(m, "%s%s:", i ? "," : "", target_kinds[t->kind]);
		if (t->kind == CONFIG_TARGET_PID)
			fprintf(m, "%d", t->pid);
		/* A cgroup "/sys/fs/cgroup/x" below the root must not read back as "/x". */
		else if (t->kind == CONFIG_TARGET_CGROUP && under_cgroup_root(t->arg))
			fprintf(m, "%s%s", CGROUP_ROOT, t->arg);
		else
			fputs(t->arg, m);
	}
	if (!fclose(m))
		print_string(f, s);
	free(s);
}

static void free_targets(const struct key *k, struct config *cfg)
{
	free_targets_array(cfg->targets, cfg->nr_targets);
	cfg->targets = NULL;
	cfg->nr_targets = 0;
}

static const struct type t_targets = {
	.parse = parse_targets, .check = check_targets, .print = print_targets, .free = free_targets,
};

/* --- the keys --- */

#define OFF(field) offsetof(struct config, field)

static const struct key keys[] = {
	{ "listen", &t_listen, OFF(listen), "127.0.0.1:6060", 0, 0, false,
	  "Address of the HTTP endpoint (/debug/pprof/allocs, /debug/pprof/heap, /metrics): "
	  "ADDR:PORT, [ADDR6]:PORT, :PORT for every address, or none (listen_unix only). It "
	  "serves profiles of every target process to whoever can connect, unless "
	  "http_auth_file is set: keep it on the loopback unless a firewall guards it." },
	{ "listen_unix", &t_opt_path, OFF(listen_unix), "", 0, 0, false,
	  "Also serve on a Unix socket at this absolute path (e.g. /run/allocscope/http.sock); "
	  "empty: no. Who may connect is decided by listen_unix_mode and listen_unix_group; no "
	  "credentials asked." },
	{ "listen_unix_mode", &t_mode, OFF(listen_unix_mode), "0660", 0, 0777, false,
	  "Mode of the Unix socket, octal; connecting needs write permission." },
	{ "listen_unix_group", &t_name, OFF(listen_unix_group), "", 0, 0, false,
	  "Group of the Unix socket; empty: the daemon's (root)." },
	{ "http_auth_file", &t_opt_path, OFF(http_auth_file), "", 0, 0, false,
	  "File of credentials that TCP requests must present, one per line: 'bearer TOKEN' or "
	  "'basic USER:PASSWORD'. It must be readable by its owner only, or the daemon does not "
	  "start. Empty: none asked." },
	{ "tls_cert_file", &t_opt_path, OFF(tls_cert_file), "", 0, 0, false,
	  "PEM certificate (chain) of the TCP endpoint: with tls_key_file, it serves HTTPS. "
	  "Empty: plain HTTP." },
	{ "tls_key_file", &t_opt_path, OFF(tls_key_file), "", 0, 0, false,
	  "PEM private key of tls_cert_file, readable by its owner only." },
	{ "http_max_connections", &t_uint, OFF(http_max_connections), "256", 1, 16384, false,
	  "Connections open at once, all clients; beyond, the oldest idle one is closed." },
	{ "http_max_connections_per_client", &t_uint, OFF(http_max_connections_per_client), "16",
	  1, 16384, false,
	  "Connections open at once from one address (or one user on the Unix socket); beyond, "
	  "its oldest idle one is closed, or the new one if none is idle." },
	{ "http_header_timeout", &t_duration, OFF(http_header_timeout_ns), "10", VALUE_NS,
	  300 * VALUE_NS, false,
	  "Seconds a connection has, from its start or its previous answer, to send a complete "
	  "request header." },
	{ "http_idle_timeout", &t_duration, OFF(http_idle_timeout_ns), "15", VALUE_NS,
	  3600 * VALUE_NS, false,
	  "Seconds without progress after which a connection is closed, while a request is "
	  "read or answered." },
	{ "export_dir", &t_path, OFF(export_dir), "/var/lib/allocscope/profiles", 0, 0, false,
	  "Directory of the periodic profiles, <kind>-<UTC time>.pb.gz." },
	{ "export_interval", &t_duration, OFF(export_interval_ns), "60", VALUE_NS, 86400 * VALUE_NS,
	  true, "Seconds between two exported profiles (also 2.5, 90s, 5m, 1h); 0 disables "
	  "exports." },
	{ "retention_count", &t_uint, OFF(retention_count), "60", 1, 1000000, false,
	  "Exported profiles kept at most; the oldest go first." },
	{ "retention_bytes", &t_bytes, OFF(retention_bytes), "256M", MIB, TIB, false,
	  "Total size of the exported profiles kept at most (K, M, G, T suffixes)." },
	{ "sample_rate", &t_bytes, OFF(sample_rate), "524288", 1, TIB, false,
	  "Mean bytes allocated between two samples (K, M, G, T suffixes), like Go's "
	  "MemProfileRate; 1 records every allocation." },
	{ "targets", &t_targets, OFF(targets), "all", 0, 0, false,
	  "Processes to profile: all, or a comma-separated list of pid:N, cgroup:PATH (cgroup v2, "
	  "below /sys/fs/cgroup or relative to it), exe:PATH (the executable) and comm:NAME (the "
	  "process name, 15 characters at most)." },
	{ "alloc_only", &t_bool, OFF(alloc_only), "no", 0, 0, false,
	  "Do not probe free() nor track live memory: cheaper, and profiles have only alloc_*." },
	{ "live_max", &t_uint, OFF(live_max), "262144", 1, 1 << 26, false,
	  "Sampled allocations tracked as live at once; beyond, they count in alloc_* only." },
	{ "ringbuf_mb", &t_uint, OFF(ringbuf_mb), "16", 1, 1024, false,
	  "Size of the kernel to user space buffer, MiB; samples that do not fit are dropped "
	  "and counted." },
	{ "max_processes", &t_uint, OFF(max_processes), "4096", 1, VALUE_PID_MAX, false,
	  "Processes tracked at once; beyond, new processes are not profiled (and counted)." },
	{ "symbol_cache_mb", &t_uint, OFF(symbol_cache_mb), "256", 1, 65536, false,
	  "Memory for symbol tables of the binaries and libraries seen, MiB." },
	{ "max_sites", &t_uint, OFF(max_sites), "262144", 1, 1 << 26, false,
	  "(process, stack, size) sites kept at once; samples of new sites beyond are dropped "
	  "and counted." },
	{ "exited_keep", &t_duration, OFF(exited_keep_ns), "120", VALUE_NS, 86400 * VALUE_NS,
	  true, "Seconds an exited process stays in memory and served, at least (and two export "
	  "intervals); its memory goes back to the system then." },
	{ "shed_max_rate", &t_bytes, OFF(shed_max_rate), "64M", 1, TIB, false,
	  "Largest mean gap between samples that load shedding gives a process when samples "
	  "come faster than they are read; not above sample_rate: no shedding." },
	{ "labels", &t_labels, OFF(labels), "pid,comm,exe", 0, 0, false,
	  "Labels on each sample: any of pid, comm, exe, or none. Without pid, the stacks of "
	  "different processes add up." },
	{ "watchdog", &t_bool, OFF(watchdog), "yes", 0, 0, false,
	  "Ping systemd's watchdog when the unit sets WatchdogSec=." },
	{ "cost_top", &t_uint, OFF(cost_top), "10", 0, 1000, false,
	  "Processes with series of their own in /metrics for their traced calls and the "
	  "estimated time of their traps: the ones with the most calls; 0 for totals only." },
	{ "cost_log_interval", &t_duration, OFF(cost_log_interval_ns), "60", VALUE_NS,
	  86400 * VALUE_NS, true,
	  "Seconds between two lines per process in the verbose log (-v): its traced calls "
	  "since the last line and the estimated time of their traps; 0 for none." },
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

/* key with '-' as '_' too; NULL if unknown. */
static const struct key *find_key(const char *name)
{
	size_t i, j;

	for (i = 0; i < NR_KEYS; i++) {
		const char *k = keys[i].name;

		for (j = 0; k[j]; j++)
			if (name[j] != k[j] && !(name[j] == '-' && k[j] == '_'))
				break;
		if (!k[j] && !name[j])
			return &keys[i];
	}
	return NULL;
}

/* Parses value into cfg; messages name the key as the user wrote it. */
static int set_key(const struct key *k, const char *shown, struct config *cfg,
		   const char *value, char *err, size_t len)
{
	struct key named = *k;

	named.name = shown;
	return k->type->parse(&named, cfg, value, err, len);
}

int config__defaults(struct config *cfg)
{
	size_t i;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NR_KEYS; i++) {
		err = keys[i].type->parse(&keys[i], cfg, keys[i].def, NULL, 0);
		if (err)
			return err;
	}
	return 0;
}

void config__free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NR_KEYS; i++)
		if (keys[i].type->free)
			keys[i].type->free(&keys[i], cfg);
}

int config__set(struct config *cfg, const char *key, const char *value, char *err,
		size_t errlen)
{
	const struct key *k = find_key(key);

	if (!k)
		return fail(err, errlen, "%s: unknown key", key);
	return set_key(k, key, cfg, value, err, errlen);
}

int config__validate(const struct config *cfg, char *err, size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < NR_KEYS; i++) {
		ret = keys[i].type->check(&keys[i], cfg, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* --- the file --- */

/* A quoted value at q (past the quote), unescaped in place. NULL or what is wrong. */
static const char *unquote(char *q, char **value, char **rest)
{
	char *w;

	for (w = *value = q; *q != '"'; q++) {
		if (!*q)
			return "unterminated quoted value";
		if (*q == '\\' && (q[1] == '"' || q[1] == '\\'))
			q++;
		*w++ = *q;
	}
	*rest = q + 1;
	*w = '\0';
	return NULL;
}

/*
 * Splits "key = value # comment" in place: *key NULL for a blank or comment line. Returns NULL
 * or what is wrong with the line.
 */
static const char *split_line(char *line, char **key, char **value)
{
	char *p = line + strspn(line, " \t"), *q, *rest;
	const char *why;

	*key = NULL;
	if (!*p || *p == '#')
		return NULL;
	q = p + strcspn(p, " \t=");
	rest = q + strspn(q, " \t");
	if (q == p || *rest != '=')
		return "expected 'key = value'";
	*q = '\0';
	*key = p;
	q = rest + 1;
	q += strspn(q, " \t");
	if (*q == '"') {
		why = unquote(q + 1, value, &rest);
		if (why)
			return why;
		rest += strspn(rest, " \t");
		return *rest && *rest != '#' ? "unexpected text after the quoted value" : NULL;
	}
	/* A '#' starts a comment after a blank only: "comm:a#b" is a value. */
	*value = q;
	for (p = q; *p && !(*p == '#' && (p[-1] == ' ' || p[-1] == '\t')); p++)
		;
	while (p > q && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	*p = '\0';
	return NULL;
}

static int parse_line(char *line, unsigned int *seen, unsigned int nr, struct config *cfg,
		      char *msg, size_t len)
{
	const struct key *k;
	char *key, *value;
	const char *why = split_line(line, &key, &value);

	if (why)
		return fail(msg, len, "%s", why);
	if (!key)
		return 0;
	k = find_key(key);
	if (!k || strcmp(k->name, key))
		return fail(msg, len, "unknown key '%s'", key);
	if (seen[k - keys])
		return fail(msg, len, "%s: set twice (first on line %u)", key, seen[k - keys]);
	seen[k - keys] = nr;
	return set_key(k, k->name, cfg, value, msg, len);
}

int config__parse(FILE *f, const char *name, struct config *cfg, char *err, size_t errlen)
{
	unsigned int seen[NR_KEYS] = { 0 }, nr = 0;
	char *line = NULL, msg[512];
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	while (!ret && (n = getline(&line, &cap, f)) >= 0) {
		nr++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (strlen(line) != (size_t)n)
			ret = fail(msg, sizeof(msg), "NUL byte in line");
		else
			ret = parse_line(line, seen, nr, cfg, msg, sizeof(msg));
		if (ret)
			fail(err, errlen, "%s:%u: %s", name, nr,
			     ret == -EINVAL ? msg : strerror(-ret));
	}
	free(line);
	if (!ret && ferror(f)) {
		fail(err, errlen, "%s: read error", name);
		ret = -EIO;
	}
	return ret;
}

int config__load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		ret = -errno;
		fail(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = config__parse(f, path, cfg, err, errlen);
	fclose(f);
	return ret;
}

/* --- printing --- */

/* help as "# " lines of at most about 78 columns. */
static void print_comment(FILE *f, const char *help)
{
	const char *p = help, *brk;
	int n;

	while (*p) {
		n = strlen(p);
		if (n > 76) {
			for (brk = p + 76; brk > p && *brk != ' '; brk--)
				;
			n = brk > p ? brk - p : 76;
		}
		fprintf(f, "# %.*s\n", n, p);
		p += n;
		p += strspn(p, " ");
	}
}

void config__print(const struct config *cfg, FILE *f, bool help)
{
	size_t i;

	for (i = 0; i < NR_KEYS; i++) {
		if (help)
			print_comment(f, keys[i].help);
		fprintf(f, "%s = ", keys[i].name);
		keys[i].type->print(&keys[i], cfg, f);
		fputs(help && i + 1 < NR_KEYS ? "\n\n" : "\n", f);
	}
}

const char *config__help(const char *key, const char **def)
{
	const struct key *k = find_key(key);

	if (!k)
		return NULL;
	if (def)
		*def = k->def;
	return k->help;
}
