/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz.h - what the libFuzzer targets share. Each target is a thin
 * LLVMFuzzerTestOneInput() around one parser of the tree, plus an oracle
 * where the parser promises something checkable; a broken promise aborts,
 * which libFuzzer reports as a crash with the input that caused it.
 */
#ifndef AS_FUZZ_H
#define AS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken promise: say which, and abort so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(fuzz_err, "%s:%d: oracle failed: %s\n", __FILE__,	\
			__LINE__, #cond);					\
		abort();							\
	}									\
} while (0)

static FILE *fuzz_err;

/*
 * The parsers print their one-line errors on stderr, millions of times in a
 * run. The sanitizers write their reports to fd 2 themselves, so replacing
 * the stdio stream silences the parsers and keeps the reports.
 */
static inline void fuzz_quiet(void)
{
	fuzz_err = stderr;
	if (getenv("FUZZ_VERBOSE"))
		return;
	stderr = fopen("/dev/null", "w");
	if (!stderr)
		stderr = fuzz_err;
}

/* data as a NUL-terminated string (a copy: libFuzzer's buffer is exactly size bytes). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = data[i];
	s[size] = '\0';
	return s;
}

/* data as a stream, as the parsers read their files; NULL for no data. */
static inline FILE *fuzz_stream(const uint8_t *data, size_t size)
{
	return size ? fmemopen((void *)data, size, "r") : NULL;
}

#endif /* AS_FUZZ_H */
