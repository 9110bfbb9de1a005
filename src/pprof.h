/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pprof.h - build a perftools.profiles.Profile (profile.proto) and write it gzipped.
 *
 * The builder produces what pprof, Parca and Pyroscope all accept: string_table[0] is "",
 * mapping, function and location ids are 1..N in insertion order, every id a sample or a
 * line refers to exists, strings are valid UTF-8 (invalid bytes become '?'), label keys are
 * never empty, time_nanos is always written (it defaults to the creation time) and one file
 * holds exactly one Profile.
 *
 * Adders check their arguments and leave the profile unchanged when they fail: int-returning
 * ones return -EINVAL (or -EBUSY, see below), id-returning ones return 0 and set errno. An
 * allocation failure anywhere is also remembered, and pprof__write() then fails with it (-ENOMEM)
 * instead of writing a profile that silently lacks data.
 *
 * Not thread-safe: one builder per thread, or a lock around it.
 */
#ifndef AS_PPROF_H
#define AS_PPROF_H

#include <stdbool.h>
#include <linux/types.h>

struct pprof;

struct pprof_mapping {
	__u64 start, limit, offset;	/* memory_start, memory_limit, file_offset */
	const char *filename;		/* path or pseudo name such as "[vdso]"; NULL = "" */
	const char *build_id;		/* lower-case hex of the GNU build id; NULL = "" */
	/* Set has_functions when we symbolized, or pprof will try to symbolize again. */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

/* One frame of a location; several = inlining, the first is the innermost, the last the caller. */
struct pprof_line {
	__u64 function_id;
	__s64 line;
};

/*
 * A string label if str is non-NULL (num and num_unit must then be 0 and NULL), else a numeric
 * one. pprof ignores a string label whose value is "" and a numeric label of 0 with no unit.
 */
struct pprof_label {
	const char *key;		/* non-empty */
	const char *str;
	__s64 num;
	const char *num_unit;		/* NULL: pprof takes the key as the unit */
};

struct pprof *pprof__new(void);		/* NULL and errno on failure */
void pprof__free(struct pprof *p);	/* NULL-safe */

/* The string table index of s; "" and NULL are 0. Returns 0 and sets errno on failure. */
__u64 pprof__string(struct pprof *p, const char *s);

/* Sample types come first: -EBUSY once a sample has been added. type must be non-empty. */
int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit);
void pprof__set_period(struct pprof *p, const char *type, const char *unit, __s64 period);
/* duration_nanos != 0 makes Parca treat the profile as a delta profile. */
void pprof__set_time(struct pprof *p, __s64 time_nanos, __s64 duration_nanos);
/* NULL or "" unsets it: pprof then defaults to the last sample type. */
void pprof__set_default_sample_type(struct pprof *p, const char *type);
int pprof__add_comment(struct pprof *p, const char *text);

/* Ids are 1..N in insertion order; 0 and errno on failure. */
__u64 pprof__add_mapping(struct pprof *p, const struct pprof_mapping *m);
/* Deduplicated: the same (name, system_name, filename, start_line) gives the same id. */
__u64 pprof__add_function(struct pprof *p, const char *name, const char *system_name,
			  const char *filename, __s64 start_line);
/*
 * Not deduplicated: the caller keeps its own address -> location map. mapping_id 0 = none, but
 * pprof then warns "Main binary filename not available": give every location a mapping.
 */
__u64 pprof__add_location(struct pprof *p, __u64 mapping_id, __u64 address,
			  const struct pprof_line *lines, int nr_lines);

/* location_ids leaf first; nr_values must equal the number of sample types. */
int pprof__add_sample(struct pprof *p, const __u64 *location_ids, int nr_locations,
		      const __s64 *values, int nr_values, const struct pprof_label *labels,
		      int nr_labels);

/*
 * Gzipped profile to fd, which should be an empty file or a stream of its own: pprof rejects
 * two profiles in one file. The profile is not consumed and can be written again.
 */
int pprof__write(struct pprof *p, int fd);
/* Replaces path atomically: a temporary file beside it, fsync, rename. */
int pprof__write_file(struct pprof *p, const char *path);

#endif /* AS_PPROF_H */
