/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test.h - a minimal unit-test harness.
 *
 * Each case prints one line that tests/run.sh counts:
 *   PASS suite/case | FAIL suite/case | SKIP suite/case: why
 * A failing assertion prints where and why, and ends the case.
 */
#ifndef AS_TEST_H
#define AS_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char *t_suite = "unit";
static int t_case_failed, t_case_skipped;
static int t_passed, t_failed, t_skipped;

#define FAIL_CASE(fmt, ...) do {						\
	printf("    %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);	\
	t_case_failed = 1;							\
	return;									\
} while (0)

#define ASSERT(cond, fmt, ...) do {						\
	if (!(cond))								\
		FAIL_CASE("%s: " fmt, #cond, ##__VA_ARGS__);			\
} while (0)

#define ASSERT_EQ(a, b) do {							\
	unsigned long long _a = (unsigned long long)(a);			\
	unsigned long long _b = (unsigned long long)(b);			\
	if (_a != _b)								\
		FAIL_CASE("%s == %s: %llu != %llu", #a, #b, _a, _b);		\
} while (0)

#define ASSERT_STREQ(a, b) do {							\
	const char *_a = (a), *_b = (b);					\
	if (!_a || !_b || strcmp(_a, _b))					\
		FAIL_CASE("%s == %s: \"%s\" != \"%s\"", #a, #b,			\
			  _a ? _a : "(null)", _b ? _b : "(null)");		\
} while (0)

/* |a - b| <= tol */
#define ASSERT_NEAR(a, b, tol) do {						\
	double _a = (a), _b = (b), _t = (tol);				\
	if (!(fabs(_a - _b) <= _t))						\
		FAIL_CASE("%s ~= %s: %.9g vs %.9g (tolerance %.3g)",		\
			  #a, #b, _a, _b, _t);					\
} while (0)

#define SKIP_CASE(fmt, ...) do {						\
	printf("SKIP %s/%s: " fmt "\n", t_suite, t_name, ##__VA_ARGS__);	\
	t_case_skipped = 1;							\
	return;									\
} while (0)

static const char *t_name;

/*
 * fork() for a test's helper process: the child is killed when the test
 * dies, however it dies (its time-out, ^C), so that no helper outlives a run
 * of the test. Its parent may be gone before prctl(): then it goes at once.
 */
static inline pid_t t_fork(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent))
		_exit(127);
	return pid;
}

static inline void t_run(const char *name, void (*fn)(void))
{
	t_name = name;
	t_case_failed = t_case_skipped = 0;
	fflush(stdout);
	fn();
	if (t_case_skipped) {
		t_skipped++;
	} else if (t_case_failed) {
		printf("FAIL %s/%s\n", t_suite, name);
		t_failed++;
	} else {
		printf("PASS %s/%s\n", t_suite, name);
		t_passed++;
	}
	fflush(stdout);
}

#define RUN(fn) t_run(#fn, fn)
#define TEST_EXIT() (t_failed ? 1 : 0)

#endif /* AS_TEST_H */
