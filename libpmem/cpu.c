/*
 * cpu.c -- CPUID and XCR0: which flush and copy instructions may be used.
 */
#include <cpuid.h>
#include <stdint.h>
#include <string.h>

#include "cpu.h"

#define XCR0_SSE	(1u << 1)
#define XCR0_AVX	(1u << 2)
#define XCR0_OPMASK	(1u << 5)
#define XCR0_ZMM_HI256	(1u << 6)
#define XCR0_HI16_ZMM	(1u << 7)

/* Reads extended control register 0; valid only when OSXSAVE is set. */
static uint64_t
xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* See cpu.h.  AVX is usable only when the OS saves its state (XCR0). */
void
pmem__cpu_detect(struct pmem__cpu *c)
{
	unsigned a, b, cx, d;
	unsigned max;

	memset(c, 0, sizeof(*c));
	max = (unsigned)__get_cpuid_max(0, NULL);
	if (max == 0)
		return;

	__cpuid(0, a, b, cx, d);
	memcpy(c->vendor, &b, 4);
	memcpy(c->vendor + 4, &d, 4);
	memcpy(c->vendor + 8, &cx, 4);

	__cpuid(1, a, b, cx, d);
	c->clflush = (d >> 19) & 1;
	c->sse2 = (d >> 26) & 1;
	int cpu_avx = (cx >> 28) & 1;
	int osxsave = (cx >> 27) & 1;

	uint64_t xcr0 = osxsave ? xgetbv0() : 0;
	c->os_avx = (xcr0 & (XCR0_SSE | XCR0_AVX)) == (XCR0_SSE | XCR0_AVX);
	c->os_avx512 = c->os_avx && (xcr0 & (XCR0_OPMASK | XCR0_ZMM_HI256 |
		XCR0_HI16_ZMM)) == (XCR0_OPMASK | XCR0_ZMM_HI256 |
		XCR0_HI16_ZMM);
	c->avx = cpu_avx && c->os_avx;

	if (max >= 7) {
		__cpuid_count(7, 0, a, b, cx, d);
		c->clflushopt = (b >> 23) & 1;
		c->clwb = (b >> 24) & 1;
		c->avx2 = c->avx && ((b >> 5) & 1);
		c->avx512f = c->os_avx512 && ((b >> 16) & 1);
	}
}
