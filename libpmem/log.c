/*
 * log.c -- the log: PMEM_LOG_LEVEL and PMEM_LOG_FILE, and PMDK 2.1's
 * pmem_log_set_function(), pmem_log_set_threshold() and
 * pmem_log_get_threshold().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "log.h"

/* Internal levels from 5 up are DEBUG; 16 is the highest anyone uses. */
#define LOG_LEVEL_ALL 16

int pmem__log_level;
static FILE *log_file;
static int thresholds[2] = { PMEM_LOG_LEVEL_WARNING, PMEM_LOG_LEVEL_HARK };
static pmem_log_function *log_fn;	/* NULL: the default function */
static __thread int in_log;	/* a log function that logs is not re-entered */

/* The public level of an internal one. */
static enum pmem_log_level
public_level(int level)
{
	if (level <= 1)
		return PMEM_LOG_LEVEL_ERROR;
	if (level >= 5)
		return PMEM_LOG_LEVEL_DEBUG;
	return (enum pmem_log_level)(PMEM_LOG_LEVEL_ERROR + level - 1);
}

/* The highest internal level a public threshold lets through. */
static int
internal_level(enum pmem_log_level t)
{
	if (t >= PMEM_LOG_LEVEL_DEBUG)
		return LOG_LEVEL_ALL;
	if (t < PMEM_LOG_LEVEL_ERROR)
		return 0;
	return (int)t - PMEM_LOG_LEVEL_ERROR + 1;
}

/* Opens the log; a name ending in '-' gets the pid appended ("log-42"). */
static void
open_file(const char *file)
{
	char path[4096];
	size_t n = strlen(file);
	if (n > 0 && file[n - 1] == '-')
		snprintf(path, sizeof(path), "%s%d", file, (int)getpid());
	else
		snprintf(path, sizeof(path), "%s", file);

	log_file = fopen(path, "a");
	if (log_file == NULL)
		fprintf(stderr, "<libpmem>: cannot open log file %s: %s\n",
			path, strerror(errno));
	else
		setvbuf(log_file, NULL, _IOLBF, 0);
}

/* See log.h. */
void
pmem__log_init(int level, const char *file)
{
	if (level > 0) {
		enum pmem_log_level t = public_level(level);
		thresholds[PMEM_LOG_THRESHOLD_AUX] = t;
		if (t > PMEM_LOG_LEVEL_WARNING)
			thresholds[PMEM_LOG_THRESHOLD] = t;
	}
	pmem__log_level = internal_level(thresholds[PMEM_LOG_THRESHOLD]);
	if (level > 0 && file != NULL && file[0] != '\0')
		open_file(file);
}

/* Closes the log file if one was opened. */
void
pmem__log_fini(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
}

/*
 * The default function: the message, with its internal level, to the
 * log file or stderr when the auxiliary threshold lets it through.
 */
static void
default_write(int level, const char *line)
{
	int aux = __atomic_load_n(&thresholds[PMEM_LOG_THRESHOLD_AUX],
		__ATOMIC_RELAXED);
	if ((int)public_level(level) > aux)
		return;
	fprintf(log_file ? log_file : stderr, "<libpmem>: <%d> %s\n",
		level, line);
}

/* See log.h. */
void
pmem__log_write(int level, const char *file, unsigned line,
	const char *func, const char *fmt, ...)
{
	if (in_log)
		return;
	in_log = 1;
	int oerrno = errno;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pmem_log_function *fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
	if (fn == NULL) {
		default_write(level, msg);
	} else {
		const char *base = strrchr(file, '/');
		fn(public_level(level), base ? base + 1 : file, line, func,
			msg);
	}
	errno = oerrno;
	in_log = 0;
}

/* Chooses the function that gets every message; NULL: the default. */
PMEM_EXPORT int
pmem_log_set_function(pmem_log_function *log_function)
{
	__atomic_store_n(&log_fn, log_function, __ATOMIC_RELEASE);
	return 0;
}

/* 1 if t names a threshold, else 0 with errno and the message set. */
static int
threshold_ok(enum pmem_log_threshold t, const char *who)
{
	if ((unsigned)t <= PMEM_LOG_THRESHOLD_AUX)
		return 1;
	pmem__err("%s: no threshold %d (PMEM_LOG_THRESHOLD or "
		"PMEM_LOG_THRESHOLD_AUX)", who, (int)t);
	errno = EINVAL;
	return 0;
}

/* Sets a threshold; returns 0, or 1 with errno EINVAL. */
PMEM_EXPORT int
pmem_log_set_threshold(enum pmem_log_threshold threshold,
	enum pmem_log_level value)
{
	if (!threshold_ok(threshold, "pmem_log_set_threshold"))
		return 1;
	if ((unsigned)value > PMEM_LOG_LEVEL_DEBUG) {
		pmem__err("pmem_log_set_threshold: no level %d "
			"(PMEM_LOG_LEVEL_HARK to PMEM_LOG_LEVEL_DEBUG)",
			(int)value);
		errno = EINVAL;
		return 1;
	}
	__atomic_store_n(&thresholds[threshold], (int)value,
		__ATOMIC_RELAXED);
	if (threshold == PMEM_LOG_THRESHOLD)
		__atomic_store_n(&pmem__log_level, internal_level(value),
			__ATOMIC_RELAXED);
	return 0;
}

/* Reads a threshold; returns 0, or 1 with errno EINVAL. */
PMEM_EXPORT int
pmem_log_get_threshold(enum pmem_log_threshold threshold,
	enum pmem_log_level *value)
{
	if (!threshold_ok(threshold, "pmem_log_get_threshold"))
		return 1;
	if (value == NULL) {
		pmem__err("pmem_log_get_threshold: value is NULL");
		errno = EINVAL;
		return 1;
	}
	*value = (enum pmem_log_level)__atomic_load_n(&thresholds[threshold],
		__ATOMIC_RELAXED);
	return 0;
}
