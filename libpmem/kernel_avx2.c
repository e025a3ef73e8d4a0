/*
 * kernel_avx2.c -- the copy kernels with 32-byte AVX stores (built -mavx2).
 */
#include <immintrin.h>

#define KVEC __m256i
#define KW 32
#define KLOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define KSTORE(p, v) _mm256_store_si256((__m256i *)(void *)(p), (v))
#define KSTREAM(p, v) _mm256_stream_si256((__m256i *)(void *)(p), (v))
#define KSET1(c) _mm256_set1_epi8(c)
#define KISA avx2

#include "kernel.h"
