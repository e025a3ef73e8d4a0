/*
 * source.h -- which source tree a benchmark ran from (both benchmarks).
 */
#ifndef BENCH_SOURCE_H
#define BENCH_SOURCE_H 1

#include <stddef.h>

/* The short commit of the tree at srcdir, "-dirty" if it has changes
 * (untracked files count when untracked is set); "unknown" without git. */
void bench_git_commit(const char *srcdir, int untracked, char *buf,
	size_t len);

#endif /* BENCH_SOURCE_H */
