#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

/* What bench/classify and bench/ack share: a monotonic clock in
   microseconds and percentiles of a sample. */

#include "array.h"

#include <time.h>

ARRAY_DEFINE_TYPE(bench_double, double);

static inline double bench_now_usecs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline int bench_double_cmp(const double *a, const double *b)
{
	return *a < *b ? -1 : (*a > *b);
}

/* The pct-th percentile (sorts times); 0 for an empty sample. */
static inline double bench_percentile(ARRAY_TYPE(bench_double) *times,
				      unsigned int pct)
{
	const double *t;
	unsigned int count;

	if (array_count(times) == 0)
		return 0;
	array_sort(times, bench_double_cmp);
	t = array_get(times, &count);
	return t[count * pct / 100];
}

#endif
