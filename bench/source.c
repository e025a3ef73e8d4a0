/*
 * source.c -- which source tree a benchmark ran from.
 */
#include <stdio.h>
#include <string.h>

#include "source.h"

/* See source.h. */
void
bench_git_commit(const char *srcdir, int untracked, char *buf, size_t len)
{
	char cmd[4200], c[64];
	snprintf(buf, len, "unknown");
	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse --short HEAD 2>/dev/null",
		srcdir);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	if (fgets(c, sizeof(c), p) != NULL && c[0] != '\0') {
		c[strcspn(c, "\n")] = '\0';
		snprintf(buf, len, "%s", c);
	}
	pclose(p);
	snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain "
		"--untracked-files=%s 2>/dev/null", srcdir,
		untracked ? "normal" : "no");
	p = popen(cmd, "r");
	if (p == NULL)
		return;
	if (fgets(c, sizeof(c), p) != NULL && strcmp(buf, "unknown") != 0)
		strncat(buf, "-dirty", len - strlen(buf) - 1);
	pclose(p);
}
