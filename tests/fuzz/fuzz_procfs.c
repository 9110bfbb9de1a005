// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_procfs.c - the parsers of /proc text: maps, status (NSpid) and
 * cgroup. The first byte picks the file; for cgroup, the input's first line
 * is the cgroup asked about and the rest the file.
 */
#include <string.h>

#include "fuzz.h"
#include "procfs.h"
#include "value.h"



static bool sorted(const struct proc_maps *m)
{
	for (size_t i = 0; i < m->nr; i++)
		if (m->maps[i].start >= m->maps[i].end ||
		    (i && m->maps[i].start < m->maps[i - 1].end))
			return false;
	return true;
}

static void maps(FILE *f)
{
	struct proc_maps *m = NULL;
	const struct proc_map *pm;

	if (procfs__parse_maps(f, &m))
		return;
	for (size_t i = 0; i < m->nr; i++) {
		pm = &m->maps[i];
		FUZZ_CHECK(pm->path && !strchr(pm->path, '\n'));
		(void)proc_map__is_file(pm);
	}
	/* What the kernel writes (sorted, disjoint), the lookup finds again. */
	if (sorted(m)) {
		for (size_t i = 0; i < m->nr; i++) {
			FUZZ_CHECK(proc_maps__find(m, m->maps[i].start) == &m->maps[i]);
			FUZZ_CHECK(proc_maps__find(m, m->maps[i].end - 1) == &m->maps[i]);
		}
	}
	(void)proc_maps__find(m, 0);
	(void)proc_maps__find(m, ~0ULL);
	proc_maps__free(m);
}

static void status(FILE *f)
{
	pid_t pid = procfs_status_nspid(f, 42);

	FUZZ_CHECK(pid >= 1 && pid <= VALUE_PID_MAX);
}

static void cgroup(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	char *cg = fuzz_strndup(data, n);
	FILE *f = fuzz_stream(data + n, size - n);

	if (f) {
		(void)procfs_cgroup_in(f, cg);
		fclose(f);
	}
	free(cg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!size)
		return 0;
	if (data[0] % 3 == 2) {
		cgroup(data + 1, size - 1);
		return 0;
	}
	f = fuzz_stream(data + 1, size - 1);
	if (!f)
		return 0;
	if (data[0] % 3 == 0)
		maps(f);
	else
		status(f);
	fclose(f);
	return 0;
}
