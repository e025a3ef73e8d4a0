/*
 * errors.c -- K_* codes, their texts and the per-thread detailed message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pmm.h"

static __thread char last_msg[512];

static const char *const texts[] = {
	[0] = "success",
	[-K_EFAULT] = "a required pointer is NULL",
	[-K_ENOTERM] = "name or medium not NUL-terminated within its array",
	[-K_EEMPTY] = "empty name or medium",
	[-K_ESIZE] = "size 0 and no block of that name",
	[-K_ETOOBIG] = "size larger than the whole bank",
	[-K_ENOMEM] = "no more persistent memory in the bank",
	[-K_ENOMEDIUM] = "no such medium",
	[-K_EUNKNOWN] = "no such block",
	[-K_EKEYSIZE] = "deletion key too long or empty",
	[-K_EPRIV] = "key reserved for the system",
	[-K_ESYSTEM] = "block internal to the system",
	[-K_ETOOMUCH] = "pmm.maxBlocks blocks already exist",
	[-K_ETRUNC] = "bank file truncated",
	[-K_ECORRUPT] = "bank damaged",
	[-K_EFOREIGN] = "not a bank file",
	[-K_EVERSION] = "bank of another layout version",
	[-K_EMAPPED] = "bank address already in use",
	[-K_ESYS] = "system call failed",
	[-K_ECONFIG] = "invalid configuration",
	[-K_ENOGROUP] = "HR_GROUP_KEY outside a restart group",
	[-K_EINVAL] = "invalid argument",
	[-K_EBUSY] = "bank in use",
	[-K_EMEDIA] = "block on a bad range of the medium",
};

/* The fixed text of a code. */
PMM_EXPORT const char *
pmmStrError(KnError code)
{
	/* compare before negating: -INT_MIN overflows */
	if (code > 0 || code <= -(int)(sizeof(texts) / sizeof(texts[0])) ||
			texts[-code] == NULL)
		return "unknown error code";
	return texts[-code];
}

/* The detailed message of this thread's last failure. */
PMM_EXPORT const char *
pmmErrorMsg(void)
{
	return last_msg;
}

static int
vfail(int code, int err, const char *fmt, va_list ap)
{
	int n = vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(last_msg) && err != 0)
		snprintf(last_msg + n, sizeof(last_msg) - (size_t)n, ": %s",
				strerror(err));
	return code;
}

/* Record a message for code; returns code. */
int
pmm__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(code, 0, fmt, ap);
	va_end(ap);
	return code;
}

/* Record a message with strerror(errno) appended; returns code. */
int
pmm__fail_errno(int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vfail(code, err, fmt, ap);
	va_end(ap);
	errno = err;
	return code;
}
