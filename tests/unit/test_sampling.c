/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_sampling.c - the in-kernel sampler's math, checked numerically.
 *
 * The BPF program counts each thread's allocated bytes down from an
 * exponential draw with mean R and samples the call that crosses zero, so
 * a call of s bytes is sampled with p(s) = 1 - exp(-s/R), and user space
 * weighs it by 1/p (Horvitz-Thompson). That is only unbiased if the integer
 * draw as_exp_gap() really is exponential, so this checks:
 *
 *  - as_exp_gap() against -ln(U) R in long double, its 64-bit limb product
 *    against 128-bit arithmetic, its mean, and P(gap < s) by exact
 *    counting over all 2^32 draws;
 *  - the kernel's integer R ln2 2^16 against the exact value;
 *  - a simulation of the kernel's countdown: HT estimates per (stack, size)
 *    are unbiased with the predicted spread, and pprof's legacy "sum per
 *    stack, then unbias with the mean size" is not;
 *  - the tolerance integration tests use for one (site, size) record of
 *    tests/workloads/sites.c, by exact binomial tails and by simulation.
 *
 * AS_SIM_RUNS=N sets the runs of the tolerance simulation (default 500);
 * a million runs measure its false-failure rate to 1e-6.
 */
#include <linux/types.h>
#include "aggregator.h"
#include "allocscope.h"
#include "test.h"

#define TWO32		4294967296.0L
#define LN2		0.693147180559945309417232121458176568L

static const __u64 rates[] = { 1000, 524288, 1ULL << 30, AS_MAX_RATE };
#define NR_RATES	(sizeof(rates) / sizeof(rates[0]))

/* splitmix64: small, fast, and good enough for Monte Carlo. */
static __u64 rng_next(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 rng_u32(__u64 *s)
{
	return rng_next(s) >> 32;
}

/* What the kernel runs: as_rate_k() from the shared header. */
static __u64 kernel_k(__u64 rate)
{
	return as_rate_k(rate);
}

/* -log2(U) in Q32, exactly as as_exp_gap() forms it. */
static __u64 neg_log2_q32(__u32 u)
{
	return (32ULL << 32) - as_log2_q32(u ? u : 1);
}

/* -ln(U) R, the gap as_exp_gap() approximates. */
static long double exact_gap(__u32 u, __u64 rate)
{
	return -logl((u ? u : 1) / TWO32) * rate;
}

/* Probability that a call of s bytes is sampled; 0 bytes count as 1. */
static double p_sample(double s, double rate)
{
	return -expm1(-(s > 1 ? s : 1) / rate);
}

/* u values where a draw is most likely to go wrong. */
static int edge_u(__u32 *u, int max)
{
	int n = 0, i;

	for (i = 0; i <= 4096 && n < max; i++)
		u[n++] = i;
	for (i = 1; i < 32 && n + 3 <= max; i++) {
		u[n++] = (1U << i) - 1;
		u[n++] = 1U << i;
		u[n++] = (1U << i) + 1;
	}
	if (n + 3 <= max) {
		u[n++] = 0x7fffffff;
		u[n++] = 0x80000000;
		u[n++] = 0xffffffff;
	}
	return n;
}

/*
 * For every u the test looks at: edge values, the 2^18 largest u (tiny
 * gaps, where small allocations are decided) and 2^18 random ones.
 */
#define DENSE	(1 << 18)
#define NR_U	(5000 + 2 * DENSE)

static int test_u(__u32 *u)
{
	__u64 seed = 1;
	int n = edge_u(u, 5000), i;

	for (i = 0; i < DENSE; i++)
		u[n++] = 0xffffffffU - i;
	for (i = 0; i < DENSE; i++)
		u[n++] = rng_u32(&seed);
	return n;
}

static void test_rate_k(void)
{
	__u64 seed = 7, r;
	long double want;
	double worst = 0, rel;
	int i;

	for (i = 0; i < 20000; i++) {
		/* powers of two, powers of ten, and random rates up to 2^40 */
		if (i < 35)
			r = 64ULL << i;
		else if (i < 45)
			r = (__u64)powl(10, i - 35 + 2);
		else
			r = 64 + rng_next(&seed) % (AS_MAX_RATE - 63);
		if (r > AS_MAX_RATE)
			continue;
		want = roundl(r * LN2 * 65536);
		rel = fabsl(kernel_k(r) - want) / want;
		ASSERT(rel < 1e-6, "R=%llu k=%llu want %.0Lf", (unsigned long long)r,
		       (unsigned long long)kernel_k(r), want);
		worst = fmax(worst, rel);
	}
	/* below 64 B the truncation is still within one unit of k */
	for (r = 2; r < 64; r++)
		ASSERT(fabsl(kernel_k(r) - r * LN2 * 65536) <= 1, "R=%llu", (unsigned long long)r);
	printf("    k = R*45426 + (R*6136 >> 16): worst relative error %.2g for R >= 64\n", worst);
}

/* log2 by repeated squaring: a few Q32 units low at most, never high. */
static void test_log2_q32(void)
{
	static __u32 u[NR_U];
	int n = test_u(u), i;
	long double err, worst = 0;

	for (i = 0; i < n; i++) {
		if (!u[i])
			continue;
		err = log2l(u[i]) * TWO32 - (long double)as_log2_q32(u[i]);
		ASSERT(err > -1e-6 && err < 8, "u=%u err %.3Lf Q32 units", u[i], err);
		worst = fmaxl(worst, err);
	}
	printf("    log2_q32: at most %.2Lf Q32 units low\n", worst);
}

/*
 * The limbs must add up to the exact floor(e k / 2^48) of the 93-bit
 * product (e <= 2^37, k < 2^56). Flooring the middle and the low limb
 * separately loses their carry, which makes gaps a byte short; once
 * k >= 2^32 (R >= 94549, the default included) that is a byte out of the
 * few that decide whether a small call right after a draw is sampled.
 */
static void test_exp_gap_product(void)
{
	static __u32 u[NR_U];
	int n = test_u(u), i, r;

	for (r = 0; r < (int)NR_RATES; r++) {
		__u64 k = kernel_k(rates[r]);

		for (i = 0; i < n; i++) {
			__u64 e = neg_log2_q32(u[i]), gap = as_exp_gap(u[i], k);
			unsigned __int128 want = ((unsigned __int128)e * k) >> 48;
			long double ld = (long double)e * k / (TWO32 * 65536);

			ASSERT(e <= 1ULL << 37, "u=%u", u[i]);
			ASSERT(fabsl(ld - gap) < 3, "R=%llu u=%u: overflow? %llu vs %.1Lf",
			       (unsigned long long)rates[r], u[i], (unsigned long long)gap, ld);
			ASSERT(gap == want, "R=%llu u=%u: limbs give %llu, (e*k)>>48 is %llu",
			       (unsigned long long)rates[r], u[i], (unsigned long long)gap,
			       (unsigned long long)want);
		}
	}
}

/* Against -ln(U) R: off by the floor, the log2 rounding and k's rounding. */
static void test_exp_gap_exact(void)
{
	static __u32 u[NR_U];
	int n = test_u(u), i, r;

	for (r = 0; r < (int)NR_RATES; r++) {
		__u64 rate = rates[r], k = kernel_k(rate);
		long double worst = 0, max_gap = 0;

		for (i = 0; i < n; i++) {
			long double want = exact_gap(u[i], rate);
			long double got = as_exp_gap(u[i], k);
			long double tol = 2 + 1e-9L * want + 8 * rate / TWO32;

			ASSERT(fabsl(got - want) <= tol, "R=%llu u=%u: %.1Lf vs %.3Lf",
			       (unsigned long long)rate, u[i], got, want);
			worst = fmaxl(worst, fabsl(got - want) - 1e-9L * want);
			max_gap = fmaxl(max_gap, got);
		}
		/* the largest draw, u = 1, is 32 ln2 R = 22.2 R */
		ASSERT(max_gap <= 22.2L * rate, "R=%llu", (unsigned long long)rate);
		printf("    R=%-13llu |gap - (-ln U) R| <= %.2Lf B + 1e-9 gap\n",
		       (unsigned long long)rate, worst);
	}
}

/*
 * Mean gap over a uniform grid of 2^20 u (the midpoints of equal strata:
 * a sample without sampling noise). The integer floor costs half a byte.
 */
static void test_exp_gap_mean(void)
{
	long double sum;
	int i, r;

	for (r = 0; r < (int)NR_RATES; r++) {
		__u64 k = kernel_k(rates[r]);

		sum = 0;
		for (i = 0; i < 1 << 20; i++)
			sum += as_exp_gap(((__u32)i << 12) | 0x800, k);
		sum = sum / (1 << 20) / rates[r];
		printf("    R=%-13llu mean gap / R = %.7Lf\n",
		       (unsigned long long)rates[r], sum);
		ASSERT_NEAR(sum, 1, 1e-3);
	}
}

/*
 * How many of the 2^32 draws give a gap < s. gap(u) is non-increasing in
 * u (log2 by squaring is monotone, so is a floor of a product), so the
 * draws that sample s bytes are the u above a threshold: find it, and
 * check monotony around it.
 */
static __u64 count_below(__u64 k, __u64 s)
{
	__u64 lo = 1, hi = 0xffffffffULL, mid, u;

	if (as_exp_gap(hi, k) >= s)
		return 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (as_exp_gap(mid, k) < s)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (u = lo > 65536 ? lo - 65536 : 1; u < lo + 65536 && u <= 0xffffffffULL; u++)
		if ((as_exp_gap(u, k) < s) != (u >= lo))
			return ~0ULL;
	return (1ULL << 32) - lo;
}

/*
 * P(gap < s) = 1 - exp(-s/R) is the chance that a call of s bytes right
 * after a draw is sampled: every call that follows a sampled one, such as
 * a small allocation after a large one. Within 0.1%, or 2 draws of 2^32
 * where a 32-bit draw cannot resolve the probability (s/R below ~2^-21).
 */
static void test_exp_gap_cdf(void)
{
	int r, j, bad = 0;

	for (r = 0; r < (int)NR_RATES; r++) {
		__u64 rate = rates[r], k = kernel_k(rate);
		__u64 sizes[] = { 8, 48, 256, 4096, rate / 2, rate };

		for (j = 0; j < 6; j++) {
			long double want = -expm1l(-(long double)sizes[j] / rate) * TWO32;
			__u64 got = count_below(k, sizes[j]);

			ASSERT(got != ~0ULL, "R=%llu s=%llu: not monotone",
			       (unsigned long long)rate, (unsigned long long)sizes[j]);
			if (fabsl(got - want) <= 1e-3L * want + 2)
				continue;
			printf("    R=%llu s=%llu: P(gap < s) is %.5Lf of 1 - exp(-s/R)\n",
			       (unsigned long long)rate, (unsigned long long)sizes[j], got / want);
			bad++;
		}
	}
	ASSERT(!bad, "%d (R, s) off by more than 0.1%%", bad);
}

/*
 * The kernel's countdown (countdown() in bpf/allocscope.bpf.c): a fresh
 * draw for a new thread, max(size, 1) off per call, and a call that takes
 * it below zero is sampled and starts a fresh draw (the overshoot is
 * dropped, which the exponential's memorylessness allows).
 */
struct countdown {
	__s64 left;
	__u64 k;
	__u64 *rng;
};

static void countdown_init(struct countdown *c, __u64 rate, __u64 *rng)
{
	c->k = kernel_k(rate);
	c->rng = rng;
	c->left = as_exp_gap(rng_u32(rng), c->k);
}

/* n calls of size bytes; returns how many were sampled. */
static __u64 countdown_run(struct countdown *c, __u64 size, __u64 n)
{
	__s64 left = c->left, dec = size ? size : 1;
	__u64 sampled = 0;

	while (n--) {
		left -= dec;
		if (left < 0) {
			left = as_exp_gap(rng_u32(c->rng), c->k);
			sampled++;
		}
	}
	c->left = left;
	return sampled;
}

/*
 * A workload with a known truth: calls of one size from one stack per
 * record. Records of one stack share a site number. Sampling is
 * memoryless, so the order of calls does not matter; records run in
 * interleaved rounds only to mix sizes on one countdown.
 */
struct rec {
	int site;
	__u64 size;
	__u64 count;		/* calls per run */
	int stream;		/* the thread (countdown) it runs on */
	__u64 sampled;		/* this run */
};

#define MAX_STREAMS	8

static void run_workload(struct rec *recs, int nr, int rounds, __u64 rate, __u64 *rng)
{
	struct countdown c[MAX_STREAMS];
	int i, r;

	for (i = 0; i < MAX_STREAMS; i++)
		countdown_init(&c[i], rate, rng);
	for (i = 0; i < nr; i++)
		recs[i].sampled = 0;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nr; i++) {
			__u64 n = recs[i].count / rounds;

			if (r == rounds - 1)
				n += recs[i].count % rounds;
			recs[i].sampled += countdown_run(&c[recs[i].stream], recs[i].size, n);
		}
	}
}

/* Running mean and variance (Welford), for estimates across runs. */
struct runstat {
	double n, mean, m2;
};

static void stat_add(struct runstat *s, double x)
{
	double d = x - s->mean;

	s->n++;
	s->mean += d / s->n;
	s->m2 += d * (x - s->mean);
}

static double stat_sd(const struct runstat *s)
{
	return s->n > 1 ? sqrt(s->m2 / (s->n - 1)) : 0;
}

#define SIM_RATE	65536
#define SIM_RUNS	400
#define SIM_SITES	5

/* site 4 is one stack that allocates both 48 B and 2 MiB */
static struct rec sim_recs[] = {
	{ 0, 16, 1640000, 0, 0 },
	{ 1, 4096, 8000, 0, 0 },
	{ 2, SIM_RATE, 400, 0, 0 },
	{ 3, 4 * SIM_RATE, 1000, 0, 0 },
	{ 4, 48, 600000, 0, 0 },
	{ 4, 2 << 20, 100, 0, 0 },
};

#define NR_SIM_RECS	(int)(sizeof(sim_recs) / sizeof(sim_recs[0]))

struct site_stats {
	double truth_bytes, truth_objects, var_bytes, var_objects;
	struct runstat bytes, objects, legacy_bytes, legacy_objects;
};

static void sim_truth(struct site_stats *st)
{
	int i;

	for (i = 0; i < NR_SIM_RECS; i++) {
		struct rec *r = &sim_recs[i];
		double s = r->size, p = p_sample(s, SIM_RATE), q = 1 - p;

		st[r->site].truth_bytes += r->count * s;
		st[r->site].truth_objects += r->count;
		st[r->site].var_bytes += r->count * s * s * q / p;
		st[r->site].var_objects += r->count * q / p;
	}
}

/* One run's estimates: HT per (stack, size), and the legacy per stack. */
static void sim_estimate(struct site_stats *st)
{
	double ht_b[SIM_SITES] = { 0 }, ht_o[SIM_SITES] = { 0 };
	double raw_b[SIM_SITES] = { 0 }, raw_o[SIM_SITES] = { 0 };
	int i;

	for (i = 0; i < NR_SIM_RECS; i++) {
		struct rec *r = &sim_recs[i];
		double p = p_sample(r->size, SIM_RATE);

		ht_o[r->site] += r->sampled / p;
		ht_b[r->site] += r->sampled * (double)r->size / p;
		raw_o[r->site] += r->sampled;
		raw_b[r->site] += r->sampled * (double)r->size;
	}
	for (i = 0; i < SIM_SITES; i++) {
		/* scaleHeapSample() in Go's runtime/pprof and google/pprof */
		double scale = raw_o[i] ? 1 / p_sample(raw_b[i] / raw_o[i], SIM_RATE) : 0;

		stat_add(&st[i].bytes, ht_b[i]);
		stat_add(&st[i].objects, ht_o[i]);
		stat_add(&st[i].legacy_bytes, raw_b[i] * scale);
		stat_add(&st[i].legacy_objects, raw_o[i] * scale);
	}
}

static struct site_stats sim_stats[SIM_SITES];
static int sim_done;

static void sim_run(void)
{
	__u64 rng = 2024;
	int run;

	if (sim_done++)
		return;
	sim_truth(sim_stats);
	for (run = 0; run < SIM_RUNS; run++) {
		run_workload(sim_recs, NR_SIM_RECS, 100, SIM_RATE, &rng);
		sim_estimate(sim_stats);
	}
}

/* HT per (stack, size): mean within 1% of the truth, sd as predicted. */
static void test_sim_unbiased(void)
{
	int i;

	sim_run();
	for (i = 0; i < SIM_SITES; i++) {
		struct site_stats *s = &sim_stats[i];
		double sd_b = stat_sd(&s->bytes), sd_o = stat_sd(&s->objects);

		printf("    site %d: bytes %+.3f%% (sd %.4g, predicted %.4g), "
		       "objects %+.3f%% (sd %.4g, predicted %.4g)\n", i,
		       100 * (s->bytes.mean / s->truth_bytes - 1), sd_b, sqrt(s->var_bytes),
		       100 * (s->objects.mean / s->truth_objects - 1), sd_o,
		       sqrt(s->var_objects));
		ASSERT_NEAR(s->bytes.mean / s->truth_bytes, 1, 0.01);
		ASSERT_NEAR(s->objects.mean / s->truth_objects, 1, 0.01);
		ASSERT_NEAR(sd_b / sqrt(s->var_bytes), 1, 0.15);
		ASSERT_NEAR(sd_o / sqrt(s->var_objects), 1, 0.15);
	}
}

/*
 * Summing a stack's samples first and unbiasing with the mean size (what
 * pprof does for legacy heap profiles) is badly off for a stack with two
 * sizes: the 2 MiB calls make the mean size look certain to be sampled.
 * This is why samples are kept per (stack, size).
 */
static void test_sim_legacy_biased(void)
{
	struct site_stats *s = &sim_stats[4];
	double bytes, objects;

	sim_run();
	bytes = s->legacy_bytes.mean / s->truth_bytes - 1;
	objects = s->legacy_objects.mean / s->truth_objects - 1;
	printf("    mixed stack, sum then unbias: bytes %+.1f%%, objects %+.2f%%\n",
	       100 * bytes, 100 * objects);
	ASSERT(bytes < -0.05, "bytes %+.3f", bytes);
	ASSERT(objects < -0.9, "objects %+.3f", objects);
	ASSERT_NEAR(s->bytes.mean / s->truth_bytes, 1, 0.01);
}

/*
 * The bound a per-site integration check should accept, in the estimate's
 * unit (bytes or objects), given sd = sqrt(N u^2 (1-p)/p) and the weight
 * of one sample w = u/p, u = s for bytes and 1 for objects:
 *  - 4 sd for the bulk of the distribution;
 *  - up to 3 sample weights for the skew of a small count (a site with a
 *    few samples, or with a few misses): "4 sd" alone fails far more
 *    often than a normal's 6e-5 there;
 *  - but at most 300 sd, so that the slack does not loosen a record that
 *    is all but deterministic (N p (1-p) < 1e-4: 1 MiB calls at R = 4 KiB
 *    are always sampled, and one lost sample must fail);
 *  - and 1 for rounding at export.
 */
static double as_tolerance(double sd, double w)
{
	return 4 * sd + fmin(3 * w, 300 * sd) + 1;
}

static double bare_tolerance(double sd, double w)
{
	return 4 * sd + 1;
}

/* tests/workloads/sites.c at scale 1: keep in step with its N_* counts. */
struct site_rec {
	const char *site;
	__u64 size;
	__u64 count;
};

static const struct site_rec sites[] = {
	{ "site_held", 32768, 64 },
	{ "site_small", 24, 100000 },
	{ "site_big", 1 << 20, 20 },
	{ "site_leak", 4096, 1000 },
	{ "site_calloc", 640, 10000 },
	{ "site_realloc", 64, 1000 },
	{ "site_realloc", 128, 1000 },
	{ "site_realloc", 256, 1000 },
	{ "site_realloc", 512, 1000 },
	{ "site_realloc", 1024, 1000 },
	{ "site_realloc", 2048, 1000 },
	{ "site_realloc", 4096, 1000 },
	{ "site_realloc", 8192, 1000 },
	{ "site_realloc", 16384, 1000 },
	{ "site_realloc", 32768, 1000 },
	{ "site_realloc", 65536, 1000 },
	{ "site_reallocarray", 192, 1000 },
	{ "site_reallocarray", 384, 1000 },
	{ "site_reallocarray", 768, 1000 },
	{ "site_posix_memalign", 200, 2000 },
	{ "site_aligned_alloc", 1024, 2000 },
	{ "site_memalign", 3000, 2000 },
	{ "site_valloc", 5000, 500 },
	{ "site_pvalloc", 8192, 500 },
	{ "site_malloc0", 0, 1000 },
	{ "site_threaded", 40, 100000 },	/* 4 threads x 25000 */
};

#define NR_SITES	(int)(sizeof(sites) / sizeof(sites[0]))
#define NR_THREADS	4

/* sd and sample weight of an HT estimate; unit is s (bytes) or 1 (objects). */
static void ht_sd(double n, double unit, double s, double rate, double *sd, double *w)
{
	double p = p_sample(s, rate), q = exp(-(s > 1 ? s : 1) / rate);

	*sd = sqrt(n * unit * unit * q / p);
	*w = unit / p;
}

/*
 * P(|n w - N unit| > tol) for n ~ Binomial(N, p), summed over the n
 * within 20 sd + 40 of the mean (the rest is far below 1e-12).
 */
static double false_failure(double N, double unit, double s, double rate,
			    double (*tol_fn)(double, double))
{
	double p = p_sample(s, rate), lq = -(s > 1 ? s : 1) / rate;
	double sd, w, tol, sig = sqrt(N * p * exp(lq)), f = 0, k;
	double lo = fmax(0, floor(N * p - 20 * sig - 40));
	double hi = fmin(N, ceil(N * p + 20 * sig + 40));

	ht_sd(N, unit, s, rate, &sd, &w);
	tol = tol_fn(sd, w);
	if (exp(lq) == 0)	/* p == 1: every call is sampled */
		return fabs(N * w - N * unit) > tol;
	for (k = lo; k <= hi; k++) {
		if (fabs(k * w - N * unit) <= tol)
			continue;
		f += exp(lgamma(N + 1) - lgamma(k + 1) - lgamma(N - k + 1) +
			 k * log(p) + (N - k) * lq);
	}
	return f;
}

/* Exact false-failure rates of the bound for every sites.c record. */
static void test_tolerance_exact(void)
{
	static const __u64 trates[] = { 4096, 65536 };
	int r, i, m;

	for (r = 0; r < 2; r++) {
		double worst = 0, worst_bare = 0, sum = 0;
		const char *wname = "", *bname = "";

		for (i = 0; i < NR_SITES; i++) {
			for (m = 0; m < 2; m++) {
				double unit = m ? 1 : sites[i].size, f, fb;

				if (!unit)
					continue;	/* 0-byte calls: 0 bytes */
				f = false_failure(sites[i].count, unit, sites[i].size,
						  trates[r], as_tolerance);
				fb = false_failure(sites[i].count, unit, sites[i].size,
						   trates[r], bare_tolerance);
				sum += f;
				if (f > worst)
					worst = f, wname = sites[i].site;
				if (fb > worst_bare)
					worst_bare = fb, bname = sites[i].site;
				ASSERT(f < 1e-4, "R=%llu %s %llu B %s: %.3g",
				       (unsigned long long)trates[r], sites[i].site,
				       (unsigned long long)sites[i].size,
				       m ? "objects" : "bytes", f);
			}
		}
		printf("    R=%-5llu worst record %.2g (%s), all records %.2g; "
		       "4 sd + 1 alone: worst %.2g (%s)\n",
		       (unsigned long long)trates[r], worst, wname, sum, worst_bare, bname);
	}
}

/* A check of one record or one whole site: what a test would compare. */
struct check {
	const char *site;
	__u64 size;
	int whole;		/* all sizes of the site, not one */
	double truth_b, truth_o, tol_b, tol_o, bare_b, bare_o;
	__u64 fail, fail_bare;
};

#define MAX_CHECKS	64

static void set_check(struct check *c, double vb, double wb, double vo, double wo)
{
	c->tol_b = as_tolerance(sqrt(vb), wb);
	c->bare_b = bare_tolerance(sqrt(vb), wb);
	c->tol_o = as_tolerance(sqrt(vo), wo);
	c->bare_o = bare_tolerance(sqrt(vo), wo);
}

/*
 * The sum over all sizes of the site starting at sites[i]: variances add,
 * the slack takes the largest sample weight.
 */
static void site_check(struct check *c, int i, __u64 rate)
{
	double sd, w, vb = 0, vo = 0, wb = 0, wo = 0;
	const char *name = sites[i].site;

	*c = (struct check){ .site = name, .whole = 1 };
	for (; i < NR_SITES && !strcmp(sites[i].site, name); i++) {
		c->truth_b += (double)sites[i].count * sites[i].size;
		c->truth_o += sites[i].count;
		ht_sd(sites[i].count, sites[i].size, sites[i].size, rate, &sd, &w);
		vb += sd * sd;
		wb = fmax(wb, w);
		ht_sd(sites[i].count, 1, sites[i].size, rate, &sd, &w);
		vo += sd * sd;
		wo = fmax(wo, w);
	}
	set_check(c, vb, wb, vo, wo);
}

/* A check per (site, size), and one per site that has several sizes. */
static int build_checks(struct check *ck, __u64 rate)
{
	int n = 0, i;

	for (i = 0; i < NR_SITES; i++) {
		const struct site_rec *s = &sites[i];
		double sdb, wb, sdo, wo;

		ck[n] = (struct check){ .site = s->site, .size = s->size };
		ck[n].truth_b = (double)s->count * s->size;
		ck[n].truth_o = s->count;
		ht_sd(s->count, s->size, s->size, rate, &sdb, &wb);
		ht_sd(s->count, 1, s->size, rate, &sdo, &wo);
		set_check(&ck[n++], sdb * sdb, wb, sdo * sdo, wo);
		if ((!i || strcmp(sites[i - 1].site, s->site)) &&
		    i + 1 < NR_SITES && !strcmp(sites[i + 1].site, s->site))
			site_check(&ck[n++], i, rate);
	}
	return n;
}

/* One simulated traced run of sites.c, graded by every check. */
static void sites_run(struct check *ck, int nck, __u64 rate, __u64 *rng)
{
	struct rec recs[NR_SITES + NR_THREADS];
	double est_b[NR_SITES], est_o[NR_SITES];
	int i, j, n = 0;

	for (i = 0; i < NR_SITES; i++) {
		int threaded = !strcmp(sites[i].site, "site_threaded");
		int t, nt = threaded ? NR_THREADS : 1;

		for (t = 0; t < nt; t++)
			recs[n++] = (struct rec){ i, sites[i].size, sites[i].count / nt,
						  threaded ? 1 + t : 0, 0 };
	}
	run_workload(recs, n, 1, rate, rng);
	memset(est_b, 0, sizeof(est_b));
	memset(est_o, 0, sizeof(est_o));
	for (i = 0; i < n; i++) {
		double p = p_sample(recs[i].size, rate);

		est_o[recs[i].site] += recs[i].sampled / p;
		est_b[recs[i].site] += recs[i].sampled * (double)recs[i].size / p;
	}
	for (j = 0; j < nck; j++) {
		double b = 0, o = 0;
		int bad, bad_bare;

		for (i = 0; i < NR_SITES; i++) {
			if (strcmp(sites[i].site, ck[j].site) ||
			    (!ck[j].whole && sites[i].size != ck[j].size))
				continue;
			b += est_b[i];
			o += est_o[i];
		}
		bad = fabs(b - ck[j].truth_b) > ck[j].tol_b ||
		      fabs(o - ck[j].truth_o) > ck[j].tol_o;
		bad_bare = fabs(b - ck[j].truth_b) > ck[j].bare_b ||
			   fabs(o - ck[j].truth_o) > ck[j].bare_o;
		ck[j].fail += bad;
		ck[j].fail_bare += bad_bare;
	}
}

static void print_check(const struct check *c)
{
	printf("      %s", c->site);
	if (c->whole)
		printf(" (all sizes)");
	else
		printf(" %llu B", (unsigned long long)c->size);
	printf(": failed %llu times\n", (unsigned long long)c->fail);
}

/*
 * The same, by simulating the kernel's countdown over whole runs of
 * sites.c. The default runs only show the gross failures of "4 sd" alone;
 * AS_SIM_RUNS=1000000 measures the bound's rate to about 1e-6.
 */
static void test_tolerance_sim(void)
{
	static const __u64 trates[] = { 4096, 65536 };
	const char *env = getenv("AS_SIM_RUNS");
	long runs = env ? atol(env) : 500, run;
	struct check ck[MAX_CHECKS];
	__u64 rng = 99;
	int r, j, nck;

	for (r = 0; r < 2; r++) {
		__u64 fail = 0, fail_bare = 0, worst = 0, worst_bare = 0;

		nck = build_checks(ck, trates[r]);
		for (run = 0; run < runs; run++)
			sites_run(ck, nck, trates[r], &rng);
		for (j = 0; j < nck; j++) {
			fail += ck[j].fail;
			fail_bare += ck[j].fail_bare;
			worst = ck[j].fail > worst ? ck[j].fail : worst;
			worst_bare = ck[j].fail_bare > worst_bare ? ck[j].fail_bare : worst_bare;
			if (env && ck[j].fail)
				print_check(&ck[j]);
		}
		printf("    R=%-5llu %ld runs x %d checks: bound failed %llu times "
		       "(worst check %.2g/run), 4 sd + 1 alone %llu (worst %.2g/run)\n",
		       (unsigned long long)trates[r], runs, nck, (unsigned long long)fail,
		       (double)worst / runs, (unsigned long long)fail_bare,
		       (double)worst_bare / runs);
		/* expected about nck * runs * 4e-5: 1 in 500 runs */
		ASSERT(fail <= 5 + 3e-4 * nck * runs, "%llu failures", (unsigned long long)fail);
		ASSERT(fail_bare > fail, "4 sd + 1 should fail more");
	}
}

/*
 * What the summary prints: a site's estimate ± its standard error, from
 * the variance the aggregator keeps (each sample of weight w adds
 * w (w - 1)). The interval estimate ± 1.96 se must cover the truth in
 * about 95% of runs: at least 90 of 100, for a leaf of one size and for
 * one mixing a small and a large size (sites summed, as the summary does).
 */
struct cover_site {
	struct rec recs[2];
	int nr;
};

static bool covers(struct cover_site *c, __u64 rate, __u64 *rng)
{
	struct agg *a = agg__new();
	struct agg_proc *p = agg__proc(a, 1);
	__u64 pcs[1] = { 0x1234 }, seq = 0, n;
	struct agg_totals t;
	double truth = 0;
	int i;

	run_workload(c->recs, c->nr, 10, rate, rng);
	for (i = 0; i < c->nr; i++) {
		truth += (double)c->recs[i].count * c->recs[i].size;
		for (n = 0; n < c->recs[i].sampled; n++)
			agg__add_alloc(a, p, pcs, 1, AS_FN_MALLOC, 0, c->recs[i].size, rate, ++seq,
				       false);
	}
	agg__totals(a, &t);
	agg__free(a);
	return fabs(t.alloc_bytes - truth) <= 1.96 * sqrt(t.var_alloc_bytes);
}

static void test_se_coverage(void)
{
	struct cover_site sites[] = {
		{ { { 0, 512, 20000, 0, 0 } }, 1 },
		{ { { 0, 64, 100000, 0, 0 }, { 0, 100000, 60, 0, 0 } }, 2 },
	};
	__u64 rng = 7;
	int i, run, hit;

	for (i = 0; i < 2; i++) {
		for (run = hit = 0; run < 100; run++)
			hit += covers(&sites[i], 65536, &rng);
		printf("    leaf %d: 95%% interval covered the truth in %d of 100 runs\n", i, hit);
		ASSERT(hit >= 90, "covered %d of 100", hit);
		ASSERT(hit < 100 || i, "an interval that always covers is too wide");
	}
}

int main(void)
{
	t_suite = "sampling";
	RUN(test_rate_k);
	RUN(test_log2_q32);
	RUN(test_exp_gap_product);
	RUN(test_exp_gap_exact);
	RUN(test_exp_gap_mean);
	RUN(test_exp_gap_cdf);
	RUN(test_sim_unbiased);
	RUN(test_sim_legacy_biased);
	RUN(test_tolerance_exact);
	RUN(test_tolerance_sim);
	RUN(test_se_coverage);
	return TEST_EXIT();
}
