/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * profread.h - reads a pprof profile (gzipped or not) back: enough of
 * profile.proto (github.com/google/pprof, proto/profile.proto) for the
 * commands that look at profiles: sample types, period, comments, and
 * each sample's values, stack (function names, leaf first) and numeric
 * "bytes" label.
 */
#ifndef AS_PROFREAD_H
#define AS_PROFREAD_H

#include <stddef.h>
#include <linux/types.h>

struct prof_sample {
	const __s64 *values;		/* one per sample type */
	const char **funcs;		/* function names, leaf first ("?" if none) */
	__u32 nr_funcs;
	__s64 bytes;			/* the "bytes" label, 0 if none */
};

struct profile {
	char **types;			/* sample types, as "alloc_space" */
	int nr_types;
	__s64 period;
	__s64 time_nanos, duration_nanos;
	char **comments;
	int nr_comments;
	struct prof_sample *samples;
	size_t nr_samples;
	struct prof_data *data;		/* what the above point into */
};

/* Parses len bytes of a profile (gzip is detected). -EINVAL if malformed. */
int profile__parse(const void *buf, size_t len, struct profile **out);
/* profile__parse() of a file; -errno if it cannot be read. */
int profile__read(const char *path, struct profile **out);
void profile__free(struct profile *p);
/* The index of a sample type, or -1. */
int profile__type(const struct profile *p, const char *name);

#endif /* AS_PROFREAD_H */
