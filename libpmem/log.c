/*
 * log.c -- the debug log (PMEM_LOG_LEVEL, PMEM_LOG_FILE).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int pmem__log_level;
static FILE *log_file;

/* Opens the log; a name ending in '-' gets the pid appended ("log-42"). */
void
pmem__log_init(int level, const char *file)
{
	pmem__log_level = level;
	if (level <= 0 || file == NULL || file[0] == '\0')
		return;

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

/* Closes the log file if one was opened. */
void
pmem__log_fini(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
	pmem__log_level = 0;
}

/* Writes one log line; errno is preserved for the caller. */
void
pmem__log_write(int level, const char *fmt, ...)
{
	int oerrno = errno;
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(log_file ? log_file : stderr, "<libpmem>: <%d> %s\n",
		level, line);
	errno = oerrno;
}
