/*
 * pmem-info -- prints the CPU features libpmem dispatches on, the
 * environment overrides in force and the paths chosen.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpmem.h"
#include "calibrate.h"
#include "dax.h"
#include "ops.h"

/* Prints the usage text. */
static void
usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--json]\n"
		"Prints the CPU features libpmem uses and the flush and copy\n"
		"paths it chose, after the PMEM_* environment overrides, and\n"
		"the path of the libpmem.so.1 that programs linked with -lpmem\n"
		"load here.\n",
		prog);
}

/* The environment variables reported, in the order printed. */
static const char *const vars[] = {
	"PMEM_NO_CLWB", "PMEM_NO_CLFLUSHOPT", "PMEM_NO_FLUSH",
	"PMEM_NO_MOVNT", "PMEM_MOVNT_THRESHOLD", "PMEM_AVX", "PMEM_AVX512F",
	"PMEM_NO_GENERIC_MEMCPY", "PMEM_IS_PMEM_FORCE", "PMEM_MMAP_HINT",
	"PMEM_FLUSH_CALIBRATE", "PMEM_LOG_LEVEL", "PMEM_LOG_FILE",
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/*
 * Which libpmem.so.1 a program that links -lpmem loads here, found the
 * way the dynamic loader finds it (LD_LIBRARY_PATH, the ldconfig cache,
 * the default paths).  pmem-info carries its own copy of the library's
 * code, so this is the only way to tell a user which one programs run.
 */
struct loaded {
	char path[4096];	/* empty: no libpmem.so.1 can be loaded */
	int ours;		/* it has this project's 0.8 calls */
	char error[512];	/* dlerror() when it cannot be loaded */
};

/* Loads libpmem.so.1 as a program would and says where it came from. */
static void
find_loaded(struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	void *h = dlopen("libpmem.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(l->error, sizeof(l->error), "%s", e ? e : "unknown");
		return;
	}
	void *sym = dlsym(h, "pmem_is_pmem");
	Dl_info info;
	if (sym != NULL && dladdr(sym, &info) && info.dli_fname != NULL) {
		char *real = realpath(info.dli_fname, NULL);
		snprintf(l->path, sizeof(l->path), "%s",
			real ? real : info.dli_fname);
		free(real);
	}
	/* PMDK's libpmem has no 0.8 API: pmem_map@LIBPMEM_0.8 is ours */
	l->ours = dlvsym(h, "pmem_map", "LIBPMEM_0.8") != NULL;
	dlclose(h);
}

/* The movnt threshold as a person reads it. */
static void
print_threshold(size_t t)
{
	if (t == SIZE_MAX)
		printf("movnt threshold: none (nothing is streamed: "
			"flushing is off)\n");
	else
		printf("movnt threshold: %zu\n", t);
}

/* Prints one JSON string, escaping what JSON requires. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Prints everything as text. */
static void
print_text(const struct pmem__cpu *c, const struct pmem__ops *o,
	const struct loaded *l)
{
	if (l->path[0] != '\0')
		printf("libpmem.so.1:   %s (%s)\n", l->path, l->ours ?
			"this project's" : "not this project's: PMDK's?");
	else
		printf("libpmem.so.1:   none loadable (%s)\n", l->error);
	printf("cpu:            %s\n", c->vendor);
	printf("features:       clflush=%d clflushopt=%d clwb=%d sse2=%d "
		"avx=%d avx2=%d avx512f=%d\n", c->clflush, c->clflushopt,
		c->clwb, c->sse2, c->avx, c->avx2, c->avx512f);
	printf("os state:       avx=%d avx512=%d (XCR0)\n", c->os_avx,
		c->os_avx512);
	printf("flush:          %s%s\n", pmem__flush_kind_name(o->flush_kind),
		o->flush_skipped ? " (skipped: pmem_flush does nothing)" : "");
	printf("deep flush:     %s\n", pmem__flush_kind_name(o->flush_kind));
	if (pmem__calib.done) {
		printf("calibration:    %.0f us; ns to persist 1 / 16 fresh "
			"lines:", pmem__calib.elapsed_ns / 1000);
		for (int k = PMEM_FLUSH_CLFLUSH; k <= PMEM_FLUSH_CLWB; k++)
			if (pmem__calib.ns[k][0] > 0 || pmem__calib.ns[k][1] > 0)
				printf(" %s %.0f / %.0f",
					pmem__flush_kind_name(k),
					pmem__calib.ns[k][0],
					pmem__calib.ns[k][1]);
		printf("\n");
	} else {
		printf("calibration:    off (PMEM_FLUSH_CALIBRATE=1 not "
			"set, or one candidate)\n");
	}
	printf("drain:          %s\n", o->drain_name);
	printf("memmove:        %s\n", o->memmove_name);
	printf("memset:         %s\n", o->memset_name);
	print_threshold(o->movnt_threshold);
	printf("auto flush:     %d%s\n", o->auto_flush,
		o->auto_flush == 1 ? " (eADR)" : "");
	printf("dax backend:    %s\n", pmem__dax_backend);
	for (size_t i = 0; i < NVARS; i++) {
		const char *v = getenv(vars[i]);
		if (v != NULL)
			printf("env:            %s=%s\n", vars[i], v);
	}
}

/* Prints everything as one JSON object. */
static void
print_json(const struct pmem__cpu *c, const struct pmem__ops *o,
	const struct loaded *l)
{
	printf("{\"library\":");
	if (l->path[0] != '\0')
		json_str(l->path);
	else
		printf("null");
	printf(",\"library_ours\":%s,\"cpu\":", l->ours ? "true" : "false");
	json_str(c->vendor);
	printf(",\"features\":{\"clflush\":%d,\"clflushopt\":%d,\"clwb\":%d,"
		"\"sse2\":%d,\"avx\":%d,\"avx2\":%d,\"avx512f\":%d,"
		"\"os_avx\":%d,\"os_avx512\":%d}", c->clflush, c->clflushopt,
		c->clwb, c->sse2, c->avx, c->avx2, c->avx512f, c->os_avx,
		c->os_avx512);
	printf(",\"flush\":\"%s\",\"flush_skipped\":%s,\"drain\":\"%s\"",
		pmem__flush_kind_name(o->flush_kind),
		o->flush_skipped ? "true" : "false", o->drain_name);
	printf(",\"memmove\":\"%s\",\"memset\":\"%s\","
		"\"movnt_threshold\":", o->memmove_name, o->memset_name);
	/* null: nothing is streamed (SIZE_MAX internally) */
	if (o->movnt_threshold == SIZE_MAX)
		printf("null");
	else
		printf("%zu", o->movnt_threshold);
	printf(",\"auto_flush\":%d,\"dax_backend\":\"%s\"",
		o->auto_flush, pmem__dax_backend);
	printf(",\"calibration\":{\"measured\":%s,\"elapsed_ns\":%.0f",
		pmem__calib.done ? "true" : "false", pmem__calib.elapsed_ns);
	for (int k = PMEM_FLUSH_CLFLUSH; k <= PMEM_FLUSH_CLWB; k++)
		printf(",\"%s\":[%.0f,%.0f]", pmem__flush_kind_name(k),
			pmem__calib.ns[k][0], pmem__calib.ns[k][1]);
	printf("}");
	printf(",\"env\":{");
	int first = 1;
	for (size_t i = 0; i < NVARS; i++) {
		const char *v = getenv(vars[i]);
		if (v == NULL)
			continue;
		printf("%s\"%s\":", first ? "" : ",", vars[i]);
		json_str(v);
		first = 0;
	}
	printf("}}\n");
}

int
main(int argc, char *argv[])
{
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "-h") == 0 ||
				strcmp(argv[i], "--help") == 0) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", argv[0],
				argv[i]);
			usage(stderr, argv[0]);
			return 1;
		}
	}
	pmem__init();
	struct loaded l;
	find_loaded(&l);
	if (json)
		print_json(&pmem__cpu_info, &pmem__ops, &l);
	else
		print_text(&pmem__cpu_info, &pmem__ops, &l);
	return ferror(stdout) ? 1 : 0;
}
