/*
 * machine.c -- what the running machine has: CPU features (CPUID and
 * XCR0), the last-level cache size, the plain non-temporal copy and fill
 * that give the machine's limit, and the configurations it can run.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <immintrin.h>

#include "bench.h"

size_t
bench_sizes(int quick, size_t *sizes)
{
	static const size_t full[] = {
		64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10,
		2 << 20, 8 << 20, 64 << 20,
	};
	static const size_t few[] = { 64, 4 << 10, 64 << 10, 2 << 20 };
	const size_t *list = quick ? few : full;
	size_t n = quick ? sizeof(few) / sizeof(few[0]) :
		sizeof(full) / sizeof(full[0]);
	memcpy(sizes, list, n * sizeof(*list));
	return n;
}

const char *
bench_size_str(size_t size, char *buf)
{
	if (size >= (1 << 20) && size % (1 << 20) == 0)
		sprintf(buf, "%zuM", size >> 20);
	else if (size >= (1 << 10) && size % (1 << 10) == 0)
		sprintf(buf, "%zuK", size >> 10);
	else
		sprintf(buf, "%zu", size);
	return buf;
}

/* XCR0, or 0 when the OS has not enabled XSAVE. */
static uint64_t
xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

void
bench_cpu_detect(struct bench_cpu *cpu)
{
	unsigned a, b, c, d;
	memset(cpu, 0, sizeof(*cpu));
	unsigned max = (unsigned)__get_cpuid_max(0, NULL);
	if (max >= 1) {
		__cpuid(1, a, b, c, d);
		cpu->clflush = (d >> 19) & 1;
		cpu->sse2 = (d >> 26) & 1;
		int osxsave = (c >> 27) & 1;
		uint64_t x = osxsave ? xcr0() : 0;
		int os_avx = (x & 0x6) == 0x6;
		int os_avx512 = os_avx && (x & 0xe0) == 0xe0;
		cpu->avx = ((c >> 28) & 1) && os_avx;
		if (max >= 7) {
			__cpuid_count(7, 0, a, b, c, d);
			cpu->avx2 = cpu->avx && ((b >> 5) & 1);
			cpu->avx512f = os_avx512 && ((b >> 16) & 1);
			cpu->clflushopt = (b >> 23) & 1;
			cpu->clwb = (b >> 24) & 1;
		}
	}
	snprintf(cpu->model, sizeof(cpu->model), "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		char *v = strchr(line, ':');
		if (v == NULL)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(cpu->model, sizeof(cpu->model), "%s", v);
		break;
	}
	fclose(f);
}

size_t
bench_llc_size(void)
{
	/* sysfs first: in a VM, CPUID (and so sysconf) may exaggerate it */
	size_t best = 0;
	for (int i = 0; i < 8; i++) {
		char path[96], buf[32];
		snprintf(path, sizeof(path),
			"/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			break;
		if (fgets(buf, sizeof(buf), f) != NULL) {
			char *end;
			unsigned long long v = strtoull(buf, &end, 10);
			if (*end == 'K')
				v <<= 10;
			else if (*end == 'M')
				v <<= 20;
			if (v > best)
				best = (size_t)v;
		}
		fclose(f);
	}
	if (best == 0) {
		long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
		best = v > 0 ? (size_t)v : 0;
	}
	if (best == 0)
		best = 32 << 20;
	if (best > (256 << 20))
		best = 256 << 20;
	return best;
}

/* ------------------------------------------------ the machine's limit */

__attribute__((target("avx2")))
static void
nt_copy_avx2(char *d, const char *s, size_t len)
{
	for (; len >= 128; len -= 128, d += 128, s += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(s + 64));
		__m256i e = _mm256_loadu_si256((const __m256i *)(s + 96));
		_mm256_stream_si256((__m256i *)d, a);
		_mm256_stream_si256((__m256i *)(d + 32), b);
		_mm256_stream_si256((__m256i *)(d + 64), c);
		_mm256_stream_si256((__m256i *)(d + 96), e);
	}
	for (; len >= 32; len -= 32, d += 32, s += 32)
		_mm256_stream_si256((__m256i *)d,
			_mm256_loadu_si256((const __m256i *)s));
	_mm_sfence();
}

__attribute__((target("avx2")))
static void
nt_fill_avx2(char *d, int c, size_t len)
{
	__m256i v = _mm256_set1_epi8((char)c);
	for (; len >= 128; len -= 128, d += 128) {
		_mm256_stream_si256((__m256i *)d, v);
		_mm256_stream_si256((__m256i *)(d + 32), v);
		_mm256_stream_si256((__m256i *)(d + 64), v);
		_mm256_stream_si256((__m256i *)(d + 96), v);
	}
	for (; len >= 32; len -= 32, d += 32)
		_mm256_stream_si256((__m256i *)d, v);
	_mm_sfence();
}

static void
nt_copy_sse2(char *d, const char *s, size_t len)
{
	for (; len >= 64; len -= 64, d += 64, s += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
		_mm_stream_si128((__m128i *)d, a);
		_mm_stream_si128((__m128i *)(d + 16), b);
		_mm_stream_si128((__m128i *)(d + 32), c);
		_mm_stream_si128((__m128i *)(d + 48), e);
	}
	_mm_sfence();
}

static void
nt_fill_sse2(char *d, int c, size_t len)
{
	__m128i v = _mm_set1_epi8((char)c);
	for (; len >= 64; len -= 64, d += 64) {
		_mm_stream_si128((__m128i *)d, v);
		_mm_stream_si128((__m128i *)(d + 16), v);
		_mm_stream_si128((__m128i *)(d + 32), v);
		_mm_stream_si128((__m128i *)(d + 48), v);
	}
	_mm_sfence();
}

static int
have_avx2(void)
{
	static int known = -1;
	if (known < 0) {
		struct bench_cpu c;
		bench_cpu_detect(&c);
		known = c.avx2;
	}
	return known;
}

void *
bench_nt_copy(void *dst, const void *src, size_t len)
{
	if (have_avx2())
		nt_copy_avx2(dst, src, len);
	else
		nt_copy_sse2(dst, src, len);
	return dst;
}

void *
bench_nt_fill(void *dst, int c, size_t len)
{
	if (have_avx2())
		nt_fill_avx2(dst, c, len);
	else
		nt_fill_sse2(dst, c, len);
	return dst;
}

const char *
bench_nt_name(void)
{
	return have_avx2() ? "avx2-stream" : "sse2-stream";
}

/* ---------------------------------------------------- configurations */

/* Appends one configuration. */
static void
add(struct bench_config *cfg, size_t *n, const char *name,
	const char *flush, const char *isa, const char *const *env,
	int flush_rows, int matrix, int limit)
{
	struct bench_config *c = &cfg[(*n)++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->flush, sizeof(c->flush), "%s", flush);
	snprintf(c->isa, sizeof(c->isa), "%s", isa);
	for (int i = 0; i < BENCH_MAX_ENV && env[i] != NULL; i++)
		c->env[i] = env[i];
	c->flush_rows = flush_rows;
	c->matrix = matrix;
	c->limit = limit;
}

size_t
bench_configs(const struct bench_cpu *cpu, struct bench_config *cfg,
	FILE *skipped)
{
	/*
	 * Each instruction is forced: the better ones disabled and, for our
	 * library, its load-time choice among the allowed ones turned off
	 * (PMEM_FLUSH_CALIBRATE=0, a variable PMDK ignores).
	 */
	static const struct {
		const char *name;
		const char *env[BENCH_MAX_ENV + 1];
	} flushes[] = {
		{ "clwb", { "PMEM_FLUSH_CALIBRATE=0", NULL } },
		{ "clflushopt", { "PMEM_NO_CLWB=1", "PMEM_FLUSH_CALIBRATE=0",
			NULL } },
		{ "clflush", { "PMEM_NO_CLWB=1", "PMEM_NO_CLFLUSHOPT=1",
			"PMEM_FLUSH_CALIBRATE=0" } },
		{ "none", { "PMEM_NO_FLUSH=1", NULL } },
	}, isas[] = {
		{ "avx512f", { NULL } },
		{ "avx", { "PMEM_AVX512F=0", NULL } },
		{ "sse2", { "PMEM_AVX512F=0", "PMEM_AVX=0", NULL } },
		{ "generic", { "PMEM_NO_MOVNT=1", NULL } },
	};
	static const char *const no_env[] = { NULL };
	const int fl_has[] = { cpu->clwb, cpu->clflushopt, cpu->clflush, 1 };
	const int isa_has[] = { cpu->avx512f, cpu->avx, cpu->sse2, 1 };
	int best_isa = -1;
	for (int i = 0; i < 4 && best_isa < 0; i++)
		if (isa_has[i])
			best_isa = i;

	size_t n = 0;
	/* the default: no variable, each library's own choices; everything */
	add(cfg, &n, "auto", "auto", isas[best_isa].name, no_env, 1, 1, 1);
	/* our opt-in load-time flush choice (PMDK ignores the variable) */
	static const char *const calibrated_env[] = {
		"PMEM_FLUSH_CALIBRATE=1", NULL };
	add(cfg, &n, "calibrated", "calibrated", isas[best_isa].name,
		calibrated_env, 1, 0, 0);
	for (int i = 0; i < 4; i++) {
		if (!fl_has[i]) {
			if (skipped != NULL)
				fprintf(skipped, "skipped: flush path %s (the "
					"CPU has no %s instruction)\n",
					flushes[i].name, flushes[i].name);
			continue;
		}
		add(cfg, &n, flushes[i].name, flushes[i].name,
			isas[best_isa].name, flushes[i].env, 1, 0, 0);
	}
	for (int i = 0; i < 4; i++) {
		if (i == best_isa)
			continue;
		if (!isa_has[i]) {
			if (skipped != NULL)
				fprintf(skipped, "skipped: copy path %s (the "
					"CPU or OS has no %s)\n", isas[i].name,
					isas[i].name);
			continue;
		}
		char name[32];
		snprintf(name, sizeof(name), "isa-%s", isas[i].name);
		add(cfg, &n, name, "auto", isas[i].name, isas[i].env, 0, 1,
			0);
	}
	return n;
}

const char *
bench_priority_flush(const struct bench_cpu *cpu)
{
	return cpu->clwb ? "clwb" : cpu->clflushopt ? "clflushopt" :
		cpu->clflush ? "clflush" : "none";
}
