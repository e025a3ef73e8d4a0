/*
 * options.c -- reads every environment variable of libpmem in one place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* 1 when the variable is set and begins with want ('0' or '1'). */
static int
is(char *(*get)(const char *), const char *name, char want)
{
	const char *v = get(name);
	return v != NULL && v[0] == want;
}

/* Parses an unsigned number; returns 0 and leaves *out when malformed. */
static int
parse_num(const char *s, int base, unsigned long long *out)
{
	char *end;
	if (s == NULL || *s == '\0' || *s == '-')
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

/* See options.h. */
void
pmem__options_read(struct pmem__options *o, char *(*get)(const char *name))
{
	unsigned long long v;

	memset(o, 0, sizeof(*o));
	o->no_clwb = is(get, "PMEM_NO_CLWB", '1');
	o->no_clflushopt = is(get, "PMEM_NO_CLFLUSHOPT", '1');
	o->no_flush = is(get, "PMEM_NO_FLUSH", '1') ? PMEM_TRI_ON :
		is(get, "PMEM_NO_FLUSH", '0') ? PMEM_TRI_OFF : PMEM_TRI_UNSET;
	o->no_movnt = is(get, "PMEM_NO_MOVNT", '1');
	o->no_generic_memcpy = is(get, "PMEM_NO_GENERIC_MEMCPY", '1');
	o->no_avx = is(get, "PMEM_AVX", '0');
	o->no_avx512f = is(get, "PMEM_AVX512F", '0');
	o->calibrate = is(get, "PMEM_FLUSH_CALIBRATE", '1');
	o->calibrated = -1;

	o->movnt_threshold = PMEM_MOVNT_THRESHOLD_DEFAULT;
	if (parse_num(get("PMEM_MOVNT_THRESHOLD"), 10, &v)) {
		o->movnt_threshold = (size_t)v;
		o->movnt_threshold_set = 1;
	}

	if (parse_num(get("PMEM_MMAP_HINT"), 16, &v))
		o->mmap_hint = (uintptr_t)v;

	if (parse_num(get("PMEM_LOG_LEVEL"), 10, &v))
		o->log_level = v > 16 ? 16 : (int)v;
	o->log_file = get("PMEM_LOG_FILE");
	o->sysfs_root = get("PMEM_SYSFS_ROOT");
}
