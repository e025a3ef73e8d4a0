/*
 * pmm_fill -- allocates named blocks with deletion keys, for the pmmctl
 * test: pmm_fill [-m MEDIUM] NAME=SIZE[,KEY]...
 *
 * KEY is "TEXT" or "str:TEXT" (the text and its NUL, as sizeof passes
 * it), "raw:TEXT" (no NUL), "hex:HEX" (binary), "group" (HR_GROUP_KEY,
 * which needs HRCTL_GROUP) or "sys:TEXT" (a key reserved for the system,
 * allowed only to the library's own callers: the way to make a system
 * block).  Prints "NAME 0xADDRESS" for each block, in order.  With -w,
 * it then waits for a line on standard input and retrieves every block
 * again (size 0), printing the same lines: a program that keeps its bank
 * mapped while pmmctl replaces the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hr/hr.h"
#include "pmm.h"

/* Decode pairs of hex digits; -1 if s is not that. */
static int
unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			return -1;
		out[i / 2] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* Turn a KEY argument into the bytes and size pmmAllocate takes. */
static int
parse_key(char *key, uint8_t *buf, size_t cap, const void **k, size_t *ks,
		unsigned *flags)
{
	if (strcmp(key, "group") == 0) {
		*k = HR_GROUP_KEY;
		*ks = HR_GROUP_KEYSIZE;
	} else if (strncmp(key, "hex:", 4) == 0) {
		if (unhex(key + 4, buf, cap, ks) != 0) {
			fprintf(stderr, "pmm_fill: bad hex key %s\n", key + 4);
			return -1;
		}
		*k = buf;
	} else if (strncmp(key, "raw:", 4) == 0) {
		*k = key + 4;
		*ks = strlen(key + 4);
	} else if (strncmp(key, "sys:", 4) == 0) {
		*k = key + 4;
		*ks = strlen(key + 4) + 1;
		*flags = PMM__F_SYSTEM;
	} else {
		if (strncmp(key, "str:", 4) == 0)
			key += 4;
		*k = key;
		*ks = strlen(key) + 1;
	}
	return 0;
}

/* Allocate the block one NAME=SIZE[,KEY] argument describes. */
static int
fill_one(const char *medium, char *arg)
{
	char *eq = strrchr(arg, '=');
	if (eq == NULL) {
		fprintf(stderr, "pmm_fill: %s: want NAME=SIZE[,KEY]\n", arg);
		return -1;
	}
	*eq = 0;
	char *size = eq + 1, *key = strchr(size, ',');
	if (key != NULL)
		*key++ = 0;
	PmmName name;
	memset(&name, 0, sizeof(name));
	snprintf(name.medium, sizeof(name.medium), "%s", medium);
	snprintf(name.name, sizeof(name.name), "%s", arg);
	uint8_t kbuf[64];
	const void *k = NULL;
	size_t ks = 0;
	unsigned flags = 0;
	if (key != NULL && parse_key(key, kbuf, sizeof(kbuf), &k, &ks,
				&flags) != 0)
		return -1;
	VmAddr addr;
	int rc = flags != 0 ?
		pmm__allocate(&addr, &name, strtoull(size, NULL, 0), k, ks,
				flags) :
		pmmAllocate(&addr, &name, strtoull(size, NULL, 0), k, ks);
	if (rc != K_OK) {
		fprintf(stderr, "pmm_fill: %s: %s (%s)\n", name.name,
				pmmStrError(rc), pmmErrorMsg());
		return -1;
	}
	/* the block is the caller's: prove it is mapped and writable */
	((volatile char *)addr)[0] = 1;
	printf("%s 0x%lx\n", name.name, addr);
	return 0;
}

/* Retrieve the block of one NAME=... argument (already split). */
static int
retrieve_one(const char *medium, const char *arg)
{
	PmmName name;
	VmAddr addr;
	memset(&name, 0, sizeof(name));
	snprintf(name.medium, sizeof(name.medium), "%s", medium);
	snprintf(name.name, sizeof(name.name), "%s", arg);
	int rc = pmmAllocate(&addr, &name, 0, NULL, 0);
	if (rc != K_OK) {
		fprintf(stderr, "pmm_fill: %s: %s (%s)\n", name.name,
				pmmStrError(rc), pmmErrorMsg());
		return -1;
	}
	printf("%s 0x%lx\n", name.name, addr);
	return 0;
}

/* Allocate every block the arguments describe (then, with -w, wait and
 * retrieve them). */
int
main(int argc, char *argv[])
{
	const char *medium = "RAM";
	int i = 1, wait = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
			medium = argv[++i];
		else if (strcmp(argv[i], "-w") == 0)
			wait = 1;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: pmm_fill [-m MEDIUM] [-w] NAME=SIZE[,KEY]...\n");
		return 2;
	}
	int first = i;
	for (; i < argc; i++)
		if (fill_one(medium, argv[i]) != 0)
			return 1;
	if (!wait)
		return 0;
	char line[16];
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	for (i = first; i < argc; i++)
		if (retrieve_one(medium, argv[i]) != 0)
			return 1;
	return 0;
}
