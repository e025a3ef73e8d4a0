/*
 * libpmem.h -- the libpmem 1.x programming interface (binary drop-in for
 * PMDK's libpmem.so.1, symbol version LIBPMEM_1.0).
 *
 * See libpmem(7).  <pmem.h> adds the original 0.8 calls on top of this one.
 */
#ifndef LIBPMEM_H
#define LIBPMEM_H 1

#include <stddef.h>
#include <stdint.h>
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
/* SNIA NVM.PM.FILE.MAP with copy-on-write: a private mapping (LIBPMEM_SNIA_1.0) */
#define PMEM_FILE_PRIVATE	(1 << 16)

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
 * The SNIA NVM Programming Model's NVM.PM.FILE mode beyond libpmem 1.x
 * (symbol version LIBPMEM_SNIA_1.0): the attributes of a mapping,
 * flush-and-verify, error events and bad blocks.  See libpmem(7), "SNIA
 * NVM.PM.FILE compliance".  Define PMEM_NO_SNIA_API to leave them out.
 */
#ifndef PMEM_NO_SNIA_API
/* Where a store is durable once it has left the CPU pipeline. */
#define PMEM_DOMAIN_NONE		0 /* page cache (msync) or private */
#define PMEM_DOMAIN_MEMORY_CONTROLLER	1 /* ADR: after a flush and drain */
#define PMEM_DOMAIN_CPU_CACHE		2 /* eADR: at once */

/* The NVM.PM.FILE attributes of a mapped range; see pmem_get_attrs(3). */
struct pmem_attrs {
	size_t size;	/* in: sizeof(struct pmem_attrs); out: bytes filled */
	size_t interrupted_store_atomicity;	/* bytes */
	int persistence_domain;			/* PMEM_DOMAIN_* */
	int optimized_flush_capable;
	int optimized_flush_and_verify_capable;
	int deep_flush_capable;
	int map_copy_on_write_capable;
	int copy_on_write;			/* this mapping is private */
	int error_event_capable;
	size_t fundamental_error_range;		/* bytes */
	size_t fundamental_error_range_offset;	/* addr to first boundary */
};
int pmem_get_attrs(const void *addr, size_t len, struct pmem_attrs *attrs);

/* NVM.PM.FILE.OPTIMIZED_FLUSH_AND_VERIFY; see pmem_persist_verify(3). */
int pmem_persist_verify(const void *addr, size_t len, size_t *bad_offp);

/* NVM.PM.FILE.GET_ERROR_EVENT_INFO; see pmem_error_event_register(3). */
#define PMEM_ERROR_EVENT_AR	1 /* action required: poison was consumed */
#define PMEM_ERROR_EVENT_AO	2 /* action optional: poison found, unused */
#define PMEM_ERROR_EVENT_PATH_MAX 4096
struct pmem_error_event {
	int kind;		/* PMEM_ERROR_EVENT_AR or _AO */
	pid_t tid;		/* the thread the signal went to */
	void *fault_addr;	/* si_addr */
	void *addr;		/* first byte of the lost range */
	size_t len;		/* length of the lost range (1 << si_addr_lsb) */
	off_t offset;		/* file offset of addr */
	dev_t dev;		/* the file's device and inode */
	ino_t ino;
	unsigned long dropped;	/* events lost before this one (queue full) */
	char path[PMEM_ERROR_EVENT_PATH_MAX];	/* the file as mapped */
};
typedef void pmem_error_event_fn(const struct pmem_error_event *ev,
	void *arg);
int pmem_error_event_register(pmem_error_event_fn *fn, void *arg);
int pmem_error_event_unregister(void);
int pmem_error_event_get(struct pmem_error_event *ev);

/* Known bad ranges of a file or Device DAX; see pmem_badblocks_get(3). */
struct pmem_badblock {
	uint64_t offset;	/* bytes from the start of the file */
	uint64_t length;	/* bytes */
};
ssize_t pmem_badblocks_get(const char *path, struct pmem_badblock *bbs,
	size_t nbbs);
int pmem_badblocks_clear(const char *path, const struct pmem_badblock *bbs,
	size_t nbbs);
#endif

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
