// SPDX-License-Identifier: GPL-2.0-only
/* main.c - allocscope: where programs allocate memory. */
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "tracer.h"
#include "version.h"

static const char usage[] =
	"usage: allocscope COMMAND [OPTIONS]\n"
	"\n"
	"  record     profile a process or a command, write a pprof heap profile\n"
	"  daemon     profile every process continuously, export and serve profiles\n"
	"  diff       compare two profiles per site; a CI gate on allocation growth\n"
	"  features   what this kernel supports, and which probes would be used\n"
	"\n"
	"  allocscope COMMAND --help    options of a command\n"
	"  allocscope --version\n";

int cmd_features(int argc, char **argv)
{
	bool sessions, multi, version = !strcmp(argv[0], "--version") || !strcmp(argv[0], "-V");
	int err;

	printf("allocscope %s (%s), libbpf %s\n", AS_VERSION, AS_GIT_REV, libbpf_version_string());
	if (version)
		return 0;
	fflush(stdout);
	err = tracer__probe_kernel(&sessions, &multi);
	if (err) {
		/* an unprivileged probe fails as a kernel without uprobes would: say which */
		fprintf(stderr, "allocscope: features: not permitted to load BPF programs, so the "
			"kernel cannot be probed: run as root (CAP_BPF, CAP_PERFMON)\n");
		return 1;
	}
	printf("uprobe_multi: %s\n", multi ? "yes" : "no");
	printf("uprobe sessions: %s\n", sessions ? "yes" : "no");
	printf("probes: %s\n",
	       tracer__mode_name(sessions ? TRACER_MODE_SESSION : TRACER_MODE_CLASSIC));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "daemon"))
		return cmd_daemon(argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return cmd_diff(argc - 1, argv + 1);
	if (!strcmp(argv[1], "features") || !strcmp(argv[1], "--version") ||
	    !strcmp(argv[1], "-V"))
		return cmd_features(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	fprintf(stderr, "allocscope: unknown command '%s' (see allocscope --help)\n", argv[1]);
	return 2;
}
