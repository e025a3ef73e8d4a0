/*
 * errormsg.c -- per-thread error messages, pmem_errormsg() and
 * pmem_check_version().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "log.h"

static __thread char last_error[PMEM_ERRORMSG_MAX];

/* Formats the message into the thread's buffer; see errormsg.h. */
void
pmem__err(const char *fmt, ...)
{
	int oerrno = errno;
	int with_errno = fmt[0] == '!';
	va_list ap;

	if (with_errno)
		fmt++;
	va_start(ap, fmt);
	int n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);

	if (with_errno && n >= 0 && (size_t)n < sizeof(last_error)) {
		char ebuf[128];
		const char *e = strerror_r(oerrno, ebuf, sizeof(ebuf));
		snprintf(last_error + n, sizeof(last_error) - (size_t)n,
			": %s", e);
	}
	pmem__log(1, "%s", last_error);
	errno = oerrno;
}

/* Returns the calling thread's buffer. */
const char *
pmem__errormsg_get(void)
{
	return last_error;
}

/* Returns the last error message of the calling thread. */
PMEM_EXPORT const char *
pmem_errormsg(void)
{
	return last_error;
}

/* Returns NULL when this library satisfies the requested version. */
PMEM_EXPORT const char *
pmem_check_version(unsigned major_required, unsigned minor_required)
{
	if (major_required != PMEM_MAJOR_VERSION) {
		pmem__err("libpmem major version mismatch (need %u, found %u)",
			major_required, PMEM_MAJOR_VERSION);
		return last_error;
	}
	if (minor_required > PMEM_MINOR_VERSION) {
		pmem__err("libpmem minor version mismatch (need %u, found %u)",
			minor_required, PMEM_MINOR_VERSION);
		return last_error;
	}
	return NULL;
}
