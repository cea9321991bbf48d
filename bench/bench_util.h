/*
 * Helpers shared by the in-process benchmarks: a clock in nanoseconds and a qsort comparison of
 * doubles (for medians and best-of-N). Header only.
 */
#ifndef MMSP_BENCH_UTIL_H
#define MMSP_BENCH_UTIL_H

#include <time.h>

/* Clock c (CLOCK_THREAD_CPUTIME_ID for CPU time, CLOCK_MONOTONIC for wall time) in ns. */
static inline double bench_clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* This thread's CPU time in ns. */
static inline double bench_cpu_ns(void)
{
    return bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
