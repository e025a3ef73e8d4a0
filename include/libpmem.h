/*
 * libpmem.h -- the libpmem 1.x programming interface (binary drop-in for
 * PMDK's libpmem.so.1, symbol version LIBPMEM_1.0).
 *
 * See libpmem(7).  <pmem.h> adds the original 0.8 calls on top of this one.
 */
#ifndef LIBPMEM_H
#define LIBPMEM_H 1

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest persistent-memory partition unit; kept for source compatibility. */
#define PMEM_MIN_PART ((size_t)(1024 * 1024 * 2))

/* Flags of pmem_map_file(). */
#define PMEM_FILE_CREATE	(1 << 0)
#define PMEM_FILE_EXCL		(1 << 1)
#define PMEM_FILE_SPARSE	(1 << 2)
#define PMEM_FILE_TMPFILE	(1 << 3)

void *pmem_map_file(const char *path, size_t len, int flags, mode_t mode,
	size_t *mapped_lenp, int *is_pmemp);
int pmem_unmap(void *addr, size_t len);
int pmem_is_pmem(const void *addr, size_t len);

void pmem_persist(const void *addr, size_t len);
int pmem_msync(const void *addr, size_t len);
int pmem_has_auto_flush(void);
void pmem_flush(const void *addr, size_t len);
void pmem_deep_flush(const void *addr, size_t len);
int pmem_deep_drain(const void *addr, size_t len);
int pmem_deep_persist(const void *addr, size_t len);
void pmem_drain(void);
int pmem_has_hw_drain(void);

void *pmem_memmove_persist(void *pmemdest, const void *src, size_t len);
void *pmem_memcpy_persist(void *pmemdest, const void *src, size_t len);
void *pmem_memset_persist(void *pmemdest, int c, size_t len);
void *pmem_memmove_nodrain(void *pmemdest, const void *src, size_t len);
void *pmem_memcpy_nodrain(void *pmemdest, const void *src, size_t len);
void *pmem_memset_nodrain(void *pmemdest, int c, size_t len);

/* Flags of pmem_memmove(), pmem_memcpy() and pmem_memset(). */
#define PMEM_F_MEM_NODRAIN	(1U << 0)
#define PMEM_F_MEM_NONTEMPORAL	(1U << 1)
#define PMEM_F_MEM_TEMPORAL	(1U << 2)
#define PMEM_F_MEM_WC		(1U << 3)
#define PMEM_F_MEM_WB		(1U << 4)
#define PMEM_F_MEM_NOFLUSH	(1U << 5)
#define PMEM_F_MEM_VALID_FLAGS (PMEM_F_MEM_NODRAIN | \
				PMEM_F_MEM_NONTEMPORAL | \
				PMEM_F_MEM_TEMPORAL | \
				PMEM_F_MEM_WC | \
				PMEM_F_MEM_WB | \
				PMEM_F_MEM_NOFLUSH)

void *pmem_memmove(void *pmemdest, const void *src, size_t len,
	unsigned flags);
void *pmem_memcpy(void *pmemdest, const void *src, size_t len,
	unsigned flags);
void *pmem_memset(void *pmemdest, int c, size_t len, unsigned flags);

#define PMEM_MAJOR_VERSION 1
#define PMEM_MINOR_VERSION 1

const char *pmem_check_version(unsigned major_required,
	unsigned minor_required);
const char *pmem_errormsg(void);

/*
 * Logging, as in PMDK 2.1 (same LIBPMEM_1.0 symbols): the messages of the
 * library go to a function the program may replace; see
 * pmem_log_set_function(3) and pmem_log_set_threshold(3).
 */
enum pmem_log_level {
	PMEM_LOG_LEVEL_HARK,	/* shown whatever the threshold */
	PMEM_LOG_LEVEL_FATAL,	/* the library cannot go on */
	PMEM_LOG_LEVEL_ERROR,	/* a call failed */
	PMEM_LOG_LEVEL_WARNING,	/* a call went on, maybe not as expected */
	PMEM_LOG_LEVEL_NOTICE,	/* choices and mappings, a few per run */
	PMEM_LOG_LEVEL_INFO,	/* more detail */
	PMEM_LOG_LEVEL_DEBUG	/* everything */
};

enum pmem_log_threshold {
	PMEM_LOG_THRESHOLD,	/* less severe messages are not generated */
	PMEM_LOG_THRESHOLD_AUX	/* for the log function's own use */
};

int pmem_log_set_threshold(enum pmem_log_threshold threshold,
	enum pmem_log_level value);
int pmem_log_get_threshold(enum pmem_log_threshold threshold,
	enum pmem_log_level *value);

typedef void pmem_log_function(enum pmem_log_level level,
	const char *file_name, unsigned line_no, const char *function_name,
	const char *message);

#define PMEM_LOG_USE_DEFAULT_FUNCTION (NULL)

int pmem_log_set_function(pmem_log_function *log_function);

/*
 * The 0.8 API called pmem_persist() with a third, unused "flags" argument.
 * From C99 and C++11 on, both spellings reach the one exported function: a
 * call with three arguments goes through an inline wrapper that drops the
 * flags, so code written to either API compiles against either header.
 * Each argument appears once in the expansion, so it is expanded and
 * evaluated once.  Any other number of arguments fails to compile: the
 * variable declared here is never defined, and calling it is an error
 * that names the rule.  Taking the address of pmem_persist is unaffected
 * (the macro is function-like); <pmem.h> gives the name the 0.8 type.
 * C89 and C++98 have no variadic macros: there the header declares the
 * 1.x prototype only, as PMDK's does.
 */
#if (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L) || \
	(defined(__cplusplus) && __cplusplus >= 201103L)
extern int pmem__persist_takes_2_or_3_arguments;
static inline void
pmem__persist_flags(const void *addr, size_t len, int flags)
{
	(void)flags;
	pmem_persist(addr, len);
}
#define PMEM__PERSIST_PICK(a1, a2, a3, name, ...) name
#define PMEM__PERSIST(addr, len, flags, ...) \
	PMEM__PERSIST_PICK(__VA_ARGS__, \
		pmem__persist_takes_2_or_3_arguments, \
		pmem__persist_flags, pmem__persist_flags, \
		pmem__persist_takes_2_or_3_arguments)(addr, len, flags)
#define pmem_persist(...) PMEM__PERSIST(__VA_ARGS__, 0, \
	pmem__persist_takes_2_or_3_arguments())
#endif

#ifdef __cplusplus
}
#endif

#endif /* LIBPMEM_H */

/*
 * The calls only the 0.8 API had (symbol version LIBPMEM_0.8), declared
 * here too so that a 0.8 program compiles with either header; see
 * pmem_map(3).  Define PMEM_NO_0_8_API to leave them out of <libpmem.h>;
 * <pmem.h> (which defines PMEM_H and includes this file again) always
 * gets them.  This part lies outside the include guard so that the second
 * inclusion can add them, and is declared once, for -Wredundant-decls.
 */
#if (!defined(PMEM_NO_0_8_API) || defined(PMEM_H)) && \
	!defined(PMEM__0_8_DECLARED)
#define PMEM__0_8_DECLARED 1
#ifdef __cplusplus
extern "C" {
#endif
void *pmem_map(int fd, size_t len);
void pmem_flush_cache(void *addr, size_t len, int flags);
void pmem_fence(void);
void pmem_drain_pm_stores(void);
void pmem_msync_mode(void);
void pmem_fit_mode(void);
#ifdef __cplusplus
}
#endif
#endif
