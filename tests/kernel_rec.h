/*
 * kernel_rec.h -- the kernel template (libpmem/kernel.h) instantiated at
 * one ISA's width with a recording line "flush", for test_kernel.  Each
 * tests/kernel_rec_<isa>.c includes the library's own libpmem/
 * kernel_<isa>.c (its vector macros) with K_TEST_INSTANCES, then
 * KT_RECORDING_INSTANCE; it is built with that ISA's flags, apart from
 * the test's main, which runs it only on a CPU that has the ISA.
 */
#ifndef PMEM_TEST_KERNEL_REC_H
#define PMEM_TEST_KERNEL_REC_H 1

#include <stddef.h>

/* Records one line flush (test_kernel.c). */
void kt_record(const void *line);

/* One ISA's recording memmove and memset, and its vector width. */
struct kt_kernels {
	void (*memmove)(void *dst, const void *src, size_t len,
		unsigned flags);
	void (*memset)(void *dst, int c, size_t len, unsigned flags);
	unsigned width;
};

extern const struct kt_kernels kt_sse2, kt_avx2, kt_avx512f;

#define KT_RECORDING_INSTANCE \
static void \
kt_line(const void *p) \
{ \
	kt_record(p); \
} \
K_INSTANCE(rec, kt_line, 1) \
const struct kt_kernels K_CAT(kt_, KISA, ) = { \
	K_CAT(memmove_, KISA, _rec), K_CAT(memset_, KISA, _rec), KW };

#endif /* PMEM_TEST_KERNEL_REC_H */
