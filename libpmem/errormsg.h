/*
 * errormsg.h -- the per-thread "last error" message behind pmem_errormsg().
 */
#ifndef PMEM_ERRORMSG_H
#define PMEM_ERRORMSG_H 1

#define PMEM_ERRORMSG_MAX 256

/*
 * Records a message for pmem_errormsg() and logs it at level 1.
 * A format starting with '!' appends ": strerror(errno)".  errno is kept.
 */
void pmem__err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The calling thread's message buffer. */
const char *pmem__errormsg_get(void);

#endif /* PMEM_ERRORMSG_H */
