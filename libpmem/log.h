/*
 * log.h -- the library's log: messages go to the function the program set
 * with pmem_log_set_function(), or to the default one, which writes to
 * PMEM_LOG_FILE or stderr.
 *
 * Internal levels are PMDK 1.x's numbers (1 errors, 2 warnings, 3 load
 * choices and mappings, 4 and up tracing); the public levels of
 * <libpmem.h> are PMDK 2.1's.  Level n maps to ERROR, WARNING, NOTICE,
 * INFO, then DEBUG for 5 and up.
 */
#ifndef PMEM_LOG_H
#define PMEM_LOG_H 1

/*
 * The highest internal level the main threshold lets through (a cache of
 * PMEM_LOG_THRESHOLD, so that a message below it costs one load).
 */
extern int pmem__log_level;

/*
 * Sets both thresholds from PMEM_LOG_LEVEL (0: the defaults, WARNING and
 * HARK) and opens PMEM_LOG_FILE; called once by the constructor.
 */
void pmem__log_init(int level, const char *file);

/* Closes the log file; called by the destructor. */
void pmem__log_fini(void);

/*
 * Formats one message and hands it to the log function in force;
 * errno is preserved for the caller.
 */
void pmem__log_write(int level, const char *file, unsigned line,
	const char *func, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define pmem__log(level, ...) do { \
	if (__atomic_load_n(&pmem__log_level, __ATOMIC_RELAXED) >= (level)) \
		pmem__log_write((level), __FILE__, __LINE__, __func__, \
			__VA_ARGS__); \
} while (0)

#endif /* PMEM_LOG_H */
