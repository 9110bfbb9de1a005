/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * procfs.h - what /proc says about a process.
 *
 * Files a process maps are opened through /proc/PID/map_files or
 * /proc/PID/root, never by their host path: in a container (or after the
 * file was replaced or deleted) the host path is a different file or none.
 */
#ifndef AS_PROCFS_H
#define AS_PROCFS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

struct proc_map {
	__u64 start;
	__u64 end;
	__u64 pgoff;
	__u64 ino;
	__u32 dev_major;
	__u32 dev_minor;
	bool exec;
	bool deleted;		/* maps said " (deleted)" */
	const char *path;	/* as in maps, without " (deleted)"; "" if anonymous */
};

struct proc_maps {
	struct proc_map *maps;	/* sorted by start */
	size_t nr;
	char *strings;		/* backing store of the paths */
};

/* Parses maps text; keeps every mapping (the caller filters). */
int procfs__parse_maps(FILE *f, struct proc_maps **out);
int procfs__read_maps(pid_t pid, struct proc_maps **out);
void proc_maps__free(struct proc_maps *m);
const struct proc_map *proc_maps__find(const struct proc_maps *m, __u64 addr);
/* A file mapping backed by a regular file (not [vdso], [heap], anon...). */
bool proc_map__is_file(const struct proc_map *m);

/*
 * Opens the file behind a mapping, O_RDONLY|O_CLOEXEC, if it is a regular
 * file (-ENOEXEC otherwise: a process may map a device): map_files first
 * (works for deleted files and other mount namespaces), then
 * /proc/PID/root/PATH, whose inode must match the mapping.
 */
int procfs__open_mapped(pid_t pid, const struct proc_map *m);
/* Opens root + the mapping's path, if the inode there is still the mapping's. */
int procfs__open_under(const char *root, const struct proc_map *m);
/* Writes a path through which the kernel can open the mapped file. */
int procfs__mapped_path(pid_t pid, const struct proc_map *m, char *buf, size_t len);

/*
 * Opens path inside root as if root were "/" (symlinks, absolute ones too,
 * cannot lead out of it): "" or NULL is the host's root, "/proc/PID/root"
 * a process's, in its mount namespace. flags as for open(2); O_CLOEXEC is
 * added. Returns the fd or -errno.
 */
int procfs__open_in_root(const char *root, const char *path, int flags);
/*
 * The same, O_RDONLY, for a regular file only (-ENOEXEC otherwise): it is
 * looked at through O_PATH first, since opening a FIFO blocks and opening
 * a device can act (a watchdog device arms on open), and paths next to a
 * traced program are anyone's to make.
 */
int procfs__open_file_in_root(const char *root, const char *path);
/* 1 if we run in the host's (the initial) PID namespace, 0 if not, -errno if unknown. */
int procfs__host_pidns(void);
/* pid as the process itself knows it: the last NSpid of its status; pid if unknown. */
pid_t procfs__nspid(pid_t pid);
/*
 * The process's cgroup v2 path (the "0::" line of /proc/PID/cgroup) is
 * cgroup or below it; cgroup as config.h keeps it ("/" for the root).
 */
bool procfs__in_cgroup(pid_t pid, const char *cgroup);

int procfs__comm(pid_t pid, char *buf, size_t len);
int procfs__exe(pid_t pid, char *buf, size_t len);
/* The process's environment as a NULL-terminated vector in one block. */
int procfs__environ(pid_t pid, char ***envp);
bool procfs__alive(pid_t pid);
/* The inode of the process's executable; 0 if it is gone. */
__u64 procfs__exe_ino(pid_t pid);
/* The process sees our root directory, in our mount namespace. */
bool procfs__own_root(pid_t pid);

/*
 * What naming a process's stacks needs, read while it lives and usable
 * after it is gone: its mappings, and its root directory held open when it
 * is not ours (a container's files are reachable through it).
 */
struct proc_image {
	pid_t pid;
	__u64 exe_ino;		/* the image these mappings belong to */
	struct proc_maps *maps;
	int root_fd;		/* O_PATH; -1 when its root is ours */
	char comm[16];
	char *exe;
};

int procfs__image(pid_t pid, struct proc_image **out);
void proc_image__free(struct proc_image *im);

/*
 * The parsers behind procfs__nspid() and procfs__in_cgroup(), on the text
 * of /proc/PID/status and /proc/PID/cgroup: internal, for the fuzz targets
 * (tests/fuzz/fuzz_procfs.c) as procfs__parse_maps() is for maps.
 */
pid_t procfs_status_nspid(FILE *f, pid_t pid);
bool procfs_cgroup_in(FILE *f, const char *cgroup);

#endif /* AS_PROCFS_H */
