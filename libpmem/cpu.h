/*
 * cpu.h -- the CPU features libpmem dispatches on.
 */
#ifndef PMEM_CPU_H
#define PMEM_CPU_H 1

struct pmem__cpu {
	int clflush;
	int clflushopt;
	int clwb;
	int sse2;
	int avx;	/* CPUID says AVX and the OS saves YMM state (XCR0) */
	int avx2;	/* as above, plus the AVX2 bit */
	int avx512f;	/* CPUID says AVX-512F and XCR0 has opmask/ZMM state */
	int os_avx;	/* XCR0 enables SSE and AVX state */
	int os_avx512;	/* XCR0 enables opmask, ZMM_Hi256 and Hi16_ZMM */
	char vendor[13];
};

/* Reads CPUID and XCR0 into *c. */
void pmem__cpu_detect(struct pmem__cpu *c);

#endif /* PMEM_CPU_H */
