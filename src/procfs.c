// SPDX-License-Identifier: GPL-2.0-only
/* procfs.c - /proc/PID/{maps,map_files,root,status,cgroup,comm,exe,environ}. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "procfs.h"
#include "value.h"

#define DELETED_SUFFIX " (deleted)"

static int maps_push(struct proc_maps *m, size_t *cap, const struct proc_map *pm)
{
	struct proc_map *n;

	if (m->nr == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		n = realloc(m->maps, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->maps = n;
	}
	m->maps[m->nr++] = *pm;
	return 0;
}

/* One line: "start-end perms pgoff maj:min ino   path". Path offsets into strings. */
static int parse_line(const char *line, struct proc_map *pm, size_t *path_off, size_t *path_len)
{
	char perms[8];
	int pos = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   (uint64_t *)&pm->start, (uint64_t *)&pm->end, perms, (uint64_t *)&pm->pgoff,
		   &pm->dev_major, &pm->dev_minor, (uint64_t *)&pm->ino, &pos) < 7)
		return -EINVAL;
	pm->exec = perms[2] == 'x';
	*path_off = pos;
	*path_len = strcspn(line + pos, "\n");
	pm->deleted = false;
	if (*path_len > strlen(DELETED_SUFFIX) &&
	    !strncmp(line + pos + *path_len - strlen(DELETED_SUFFIX), DELETED_SUFFIX,
		     strlen(DELETED_SUFFIX))) {
		*path_len -= strlen(DELETED_SUFFIX);
		pm->deleted = true;
	}
	return 0;
}

/*
 * Paths are first collected as offsets into a growing string block and
 * turned into pointers at the end, when the block no longer moves.
 */
int procfs__parse_maps(FILE *f, struct proc_maps **out)
{
	struct proc_maps *m = calloc(1, sizeof(*m));
	size_t cap = 0, str_len = 0, str_cap = 0, off, len, i;
	char *line = NULL, *s;
	size_t line_cap = 0;
	struct proc_map pm;
	int err = 0;

	if (!m)
		return -ENOMEM;
	while (getline(&line, &line_cap, f) > 0) {
		if (parse_line(line, &pm, &off, &len))
			continue;
		if (str_len + len + 1 > str_cap) {
			str_cap = (str_len + len + 1) * 2;
			s = realloc(m->strings, str_cap);
			if (!s) {
				err = -ENOMEM;
				goto out;
			}
			m->strings = s;
		}
		memcpy(m->strings + str_len, line + off, len);
		m->strings[str_len + len] = '\0';
		pm.path = (const char *)(uintptr_t)str_len;
		str_len += len + 1;
		err = maps_push(m, &cap, &pm);
		if (err)
			goto out;
	}
	for (i = 0; i < m->nr; i++)
		m->maps[i].path = m->strings + (uintptr_t)m->maps[i].path;
out:
	free(line);
	if (err) {
		proc_maps__free(m);
		return err;
	}
	*out = m;
	return 0;
}

/* /proc/PID/NAME for reading. */
static FILE *proc_fopen(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return fopen(path, "re");
}

int procfs__read_maps(pid_t pid, struct proc_maps **out)
{
	FILE *f;
	int err;

	f = proc_fopen(pid, "maps");
	if (!f)
		return -errno;
	err = procfs__parse_maps(f, out);
	fclose(f);
	/* A process that exited between open and read leaves an empty file. */
	if (!err && !(*out)->nr) {
		proc_maps__free(*out);
		*out = NULL;
		return -ESRCH;
	}
	return err;
}

void proc_maps__free(struct proc_maps *m)
{
	if (!m)
		return;
	free(m->maps);
	free(m->strings);
	free(m);
}

const struct proc_map *proc_maps__find(const struct proc_maps *m, __u64 addr)
{
	size_t lo = 0, hi = m ? m->nr : 0, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (addr < m->maps[mid].start)
			hi = mid;
		else if (addr >= m->maps[mid].end)
			lo = mid + 1;
		else
			return &m->maps[mid];
	}
	return NULL;
}

bool proc_map__is_file(const struct proc_map *m)
{
	return m->ino && m->path[0] == '/';
}

/* O_RDONLY through an O_PATH fd that is a regular file; consumes pfd. */
static int reopen_regular(int pfd, struct stat *st)
{
	char self[64];
	int fd;

	if (fstat(pfd, st)) {
		fd = -errno;
	} else if (!S_ISREG(st->st_mode)) {
		fd = -ENOEXEC;
	} else {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		fd = open(self, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	close(pfd);
	return fd;
}

int procfs__open_under(const char *root, const struct proc_map *m)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (m->deleted)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s%s", root, m->path);
	/* The path is the process's to replace: with a FIFO, or a link to a device. */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fd = reopen_regular(fd, &st);
	if (fd < 0)
		return fd;
	/* The path may name another file by now (replaced on upgrade). */
	if (st.st_ino != m->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int procfs__open_mapped(pid_t pid, const struct proc_map *m)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
		 (uint64_t)m->start, (uint64_t)m->end);
	/* A process may map a device it can open: opening it again can act. */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		return reopen_regular(fd, &st);
	if (m->deleted)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	return procfs__open_under(path, m);
}

int procfs__mapped_path(pid_t pid, const struct proc_map *m, char *buf, size_t len)
{
	struct stat st;

	snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, (uint64_t)m->start,
		 (uint64_t)m->end);
	if (!stat(buf, &st) && st.st_ino == m->ino)
		return 0;
	if (m->deleted)
		return -ENOENT;
	snprintf(buf, len, "/proc/%d/root%s", pid, m->path);
	if (stat(buf, &st))
		return -errno;
	return st.st_ino == m->ino ? 0 : -ESTALE;
}

int procfs__open_in_root(const char *root, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int dfd, fd;

	if (!root || !*root) {
		fd = open(path, flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	/* Before Linux 5.6, or under valgrind: absolute symlinks then escape root. */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dfd, path + strspn(path, "/"), flags | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

int procfs__open_file_in_root(const char *root, const char *path)
{
	struct stat st;
	int pfd = procfs__open_in_root(root, path, O_PATH);

	return pfd < 0 ? pfd : reopen_regular(pfd, &st);
}

/*
 * The initial PID namespace has a fixed inode number, PROC_PID_INIT_INO
 * (0xEFFFFFFC, include/linux/proc_ns.h): every other one gets a fresh one.
 */
#define PROC_PID_INIT_INO	0xEFFFFFFCU

int procfs__host_pidns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	return st.st_ino == PROC_PID_INIT_INO;
}

pid_t procfs_status_nspid(FILE *f, pid_t pid)
{
	char *line = NULL, *p, *end;
	size_t cap = 0;
	pid_t nspid = pid;
	long v;

	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		/*
		 * One pid per nested namespace, outermost first. What is not a
		 * pid (a bad line, one that would wrap pid_t) ends the list.
		 */
		for (p = line + 6; (v = strtol(p, &end, 10)) > 0 && v <= VALUE_PID_MAX && end != p;
		     p = end)
			nspid = v;
		break;
	}
	free(line);
	return nspid;
}

pid_t procfs__nspid(pid_t pid)
{
	FILE *f = proc_fopen(pid, "status");
	pid_t nspid;

	if (!f)
		return pid;
	nspid = procfs_status_nspid(f, pid);
	fclose(f);
	return nspid;
}

bool procfs_cgroup_in(FILE *f, const char *cgroup)
{
	size_t len = strlen(cgroup), cap = 0;
	char *line = NULL, *cg;
	bool in = false;

	while (!in && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3))
			continue;
		cg = line + 3;
		cg[strcspn(cg, "\n")] = '\0';
		in = !strncmp(cg, cgroup, len) && (cg[len] == '\0' || cg[len] == '/' || len == 1);
	}
	free(line);
	return in;
}

bool procfs__in_cgroup(pid_t pid, const char *cgroup)
{
	FILE *f = proc_fopen(pid, "cgroup");
	bool in;

	if (!f)
		return false;
	in = procfs_cgroup_in(f, cgroup);
	fclose(f);
	return in;
}

static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return n;
}

int procfs__comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_small(path, buf, len);
	if (n < 0)
		return n;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int procfs__exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if ((size_t)n > strlen(DELETED_SUFFIX) &&
	    !strcmp(buf + n - strlen(DELETED_SUFFIX), DELETED_SUFFIX))
		buf[n - strlen(DELETED_SUFFIX)] = '\0';
	return 0;
}

int procfs__environ(pid_t pid, char ***envp)
{
	size_t len = 0, cap = 4096, nr = 0, i;
	char path[64], *data = NULL, *n, **vec;
	ssize_t got;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = realloc(data, cap + 1);
		if (!n) {
			err = -ENOMEM;
			goto out;
		}
		data = n;
		got = read(fd, data + len, cap - len);
		if (got < 0) {
			err = -errno;
			goto out;
		}
		if (!got)
			break;
		len += got;
		if (len == cap)
			cap *= 2;
	}
	data[len] = '\0';
	for (i = 0; i < len; i++)
		nr += !data[i];
	/* The vector and the strings live in one allocation: free(*envp). */
	vec = malloc((nr + 1) * sizeof(*vec) + len + 1);
	if (!vec) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(vec + nr + 1, data, len + 1);
	for (i = 0, n = (char *)(vec + nr + 1); i < nr; i++) {
		vec[i] = n;
		n += strlen(n) + 1;
	}
	vec[nr] = NULL;
	*envp = vec;
out:
	free(data);
	close(fd);
	return err;
}

bool procfs__alive(pid_t pid)
{
	return !kill(pid, 0) || errno == EPERM;
}

__u64 procfs__exe_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return stat(path, &st) ? 0 : st.st_ino;
}

static bool same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * A container may mount over a directory of ours, or have its files where
 * we have none: the same root directory is not enough, the mount namespace
 * must be ours too.
 */
bool procfs__own_root(pid_t pid)
{
	char path[64], ns[64];

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", pid);
	return same_inode("/", path) && same_inode("/proc/self/ns/mnt", ns);
}

void proc_image__free(struct proc_image *im)
{
	if (!im)
		return;
	proc_maps__free(im->maps);
	if (im->root_fd >= 0)
		close(im->root_fd);
	free(im->exe);
	free(im);
}

/* Reads everything, then checks that the process did not exec meanwhile. */
static int read_image(pid_t pid, struct proc_image *im)
{
	char path[64], exe[PATH_MAX];
	int err;

	err = procfs__read_maps(pid, &im->maps);
	if (err)
		return err;
	if (!procfs__own_root(pid)) {
		snprintf(path, sizeof(path), "/proc/%d/root", pid);
		im->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (im->root_fd < 0)
			return -errno;
	}
	if (procfs__comm(pid, im->comm, sizeof(im->comm)) || procfs__exe(pid, exe, sizeof(exe)))
		return -ESRCH;
	im->exe = strdup(exe);
	if (!im->exe)
		return -ENOMEM;
	return procfs__exe_ino(pid) == im->exe_ino ? 0 : -ESRCH;
}

int procfs__image(pid_t pid, struct proc_image **out)
{
	struct proc_image *im = calloc(1, sizeof(*im));
	int err;

	if (!im)
		return -ENOMEM;
	im->pid = pid;
	im->root_fd = -1;
	im->exe_ino = procfs__exe_ino(pid);
	err = im->exe_ino ? read_image(pid, im) : -ESRCH;
	if (err) {
		proc_image__free(im);
		return err;
	}
	*out = im;
	return 0;
}
