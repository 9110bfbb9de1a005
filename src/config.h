/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - the daemon's configuration: one table of keys (src/config.c) drives the file
 * parser, the command-line overrides, the defaults and the printed configuration.
 *
 * File syntax (allocscope.conf(5)): "key = value" lines; blank lines; comments from a '#' at
 * the start of a line or after a blank; values optionally in double quotes (then \" and \\
 * escape, and '#' is literal). Unknown keys, bad values and a key given twice are errors,
 * reported as "FILE:LINE: message"; parsing stops at the first.
 *
 * The usual sequence, at start and again on SIGHUP (into a fresh struct, swapped in only if
 * everything succeeds):
 *
 *	config__defaults(&c);
 *	config__load(path, &c, err, sizeof(err));	   file values over defaults
 *	config__set(&c, "sample-rate", optarg, ...);	   each command-line flag over both
 *	config__validate(&c, err, sizeof(err));
 *
 * Functions that fail leave what they had parsed so far in cfg: it stays valid to free.
 */
#ifndef AS_CONFIG_H
#define AS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

#define CONFIG_DEFAULT_PATH	"/etc/allocscope/allocscope.conf"
#define CONFIG_MAX_TARGETS	256
#define CONFIG_COMM_LEN		16	/* TASK_COMM_LEN: 15 characters */
#define CONFIG_LISTEN_NONE	"none"	/* listen: no TCP endpoint */

enum config_target_kind {
	CONFIG_TARGET_PID,	/* "pid:N" */
	CONFIG_TARGET_CGROUP,	/* "cgroup:PATH": cgroup v2, as "/system.slice/x.service" */
	CONFIG_TARGET_EXE,	/* "exe:PATH": an executable, absolute */
	CONFIG_TARGET_COMM,	/* "comm:NAME": 1 to 15 characters */
};

struct config_target {
	enum config_target_kind kind;
	pid_t pid;		/* CONFIG_TARGET_PID */
	char *arg;		/* the others: PATH or NAME */
};

/* Sample labels ("labels" key), as a mask. */
enum config_label {
	CONFIG_LABEL_PID = 1 << 0,
	CONFIG_LABEL_COMM = 1 << 1,
	CONFIG_LABEL_EXE = 1 << 2,
};

struct config {
	char *listen;			/* HTTP endpoint, "ADDR:PORT" (http__check_listen()), "none" */
	char *listen_unix;		/* "": none */
	unsigned int listen_unix_mode;
	char *listen_unix_group;	/* "": the daemon's */
	char *http_auth_file;		/* "": none */
	char *tls_cert_file, *tls_key_file;	/* "": plain HTTP */
	unsigned int http_max_connections;
	unsigned int http_max_connections_per_client;
	__u64 http_header_timeout_ns;
	__u64 http_idle_timeout_ns;
	char *export_dir;		/* absolute */
	__u64 export_interval_ns;	/* 0: no periodic exports */
	unsigned int retention_count;	/* exported profiles kept */
	__u64 retention_bytes;		/* their total size */
	__u64 sample_rate;		/* bytes; 1 = every allocation */
	struct config_target *targets;	/* nr_targets == 0: every process ("all") */
	unsigned int nr_targets;
	bool alloc_only;
	unsigned int live_max;		/* live map entries */
	unsigned int ringbuf_mb;
	unsigned int max_processes;	/* processes tracked at once */
	unsigned int symbol_cache_mb;
	unsigned int max_sites;		/* aggregator sites kept at once */
	__u64 exited_keep_ns;		/* exited processes stay this long, at least */
	__u64 shed_max_rate;		/* load shedding raises rates up to this */
	unsigned int labels;		/* enum config_label mask */
	bool watchdog;			/* ping systemd's watchdog when it asks */
	unsigned int cost_top;		/* processes with their own cost series in /metrics */
	__u64 cost_log_interval_ns;	/* between cost lines in the log; 0: none */
};

/* Sets every key to its default (cfg need not be initialized). 0 or -ENOMEM. */
int config__defaults(struct config *cfg);
/* Frees what cfg owns; cfg can then be reused. NULL-safe. */
void config__free(struct config *cfg);

/*
 * Reads "key = value" lines from f into cfg. name is the file name in messages. Returns 0, or
 * -EINVAL with "NAME:LINE: message" in err, -ENOMEM, or -EIO if reading f failed.
 */
int config__parse(FILE *f, const char *name, struct config *cfg, char *err, size_t errlen);
/* config__parse() of the file at path; cannot open: -errno and "PATH: strerror". */
int config__load(const char *path, struct config *cfg, char *err, size_t errlen);
/*
 * Sets one key, for command-line overrides: key as in the file, or with '-' for '_'
 * ("sample-rate"). Returns 0, or -EINVAL (unknown key, bad value) with "KEY: message" in err,
 * KEY as given.
 */
int config__set(struct config *cfg, const char *key, const char *value, char *err,
		size_t errlen);
/* Checks every key against its limits (for a cfg built or changed by hand). 0 or -EINVAL. */
int config__validate(const struct config *cfg, char *err, size_t errlen);

/*
 * Writes cfg in the file's syntax, every key in table order; with help, each is preceded by
 * its description as "# " lines and followed by a blank line. The output parses back to cfg.
 */
void config__print(const struct config *cfg, FILE *f, bool help);
/* The description and the default of key (NULL if unknown key); for --help and docs. */
const char *config__help(const char *key, const char **def);

#endif /* AS_CONFIG_H */
