/*
 * log.h -- the debug log selected by PMEM_LOG_LEVEL and PMEM_LOG_FILE.
 */
#ifndef PMEM_LOG_H
#define PMEM_LOG_H 1

/* The level in force; 0 until pmem__log_init() ran or when logging is off. */
extern int pmem__log_level;

/* Opens the log named by the options; called once by the constructor. */
void pmem__log_init(int level, const char *file);

/* Closes the log file; called by the destructor. */
void pmem__log_fini(void);

/* Writes one line prefixed "<libpmem>: " when level <= the level in force. */
void pmem__log_write(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pmem__log(level, ...) do { \
	if (pmem__log_level >= (level)) \
		pmem__log_write((level), __VA_ARGS__); \
} while (0)

#endif /* PMEM_LOG_H */
