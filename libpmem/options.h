/*
 * options.h -- the environment variables that steer libpmem, read once.
 */
#ifndef PMEM_OPTIONS_H
#define PMEM_OPTIONS_H 1

#include <stddef.h>
#include <stdint.h>

/* A tri-state setting: unset, forced off (0) or forced on (1). */
enum pmem__tri { PMEM_TRI_UNSET = -1, PMEM_TRI_OFF = 0, PMEM_TRI_ON = 1 };

struct pmem__options {
	int no_clwb;		/* PMEM_NO_CLWB=1 */
	int no_clflushopt;	/* PMEM_NO_CLFLUSHOPT=1 */
	enum pmem__tri no_flush;	/* PMEM_NO_FLUSH=0|1 */
	int no_movnt;		/* PMEM_NO_MOVNT=1 */
	int no_generic_memcpy;	/* PMEM_NO_GENERIC_MEMCPY=1 */
	size_t movnt_threshold;	/* PMEM_MOVNT_THRESHOLD=n */
	int movnt_threshold_set;	/* ... was given */
	int no_avx;		/* PMEM_AVX=0 */
	int no_avx512f;		/* PMEM_AVX512F=0 */
	uintptr_t mmap_hint;	/* PMEM_MMAP_HINT=hex, 0 when unset */
	int calibrate;		/* PMEM_FLUSH_CALIBRATE=1 turns it on */
	int calibrated;		/* not from the environment: the flush
				 * instruction the load-time measurement
				 * found fastest, or -1 */
	int log_level;		/* PMEM_LOG_LEVEL=n */
	const char *log_file;	/* PMEM_LOG_FILE=path */
	const char *sysfs_root;	/* PMEM_SYSFS_ROOT=dir (a fake tree, tests) */
};

#define PMEM_MOVNT_THRESHOLD_DEFAULT 256

/*
 * Fills *o from an environment lookup function (secure_getenv in the
 * library, a table in tests).
 */
void pmem__options_read(struct pmem__options *o,
	char *(*get)(const char *name));

#endif /* PMEM_OPTIONS_H */
