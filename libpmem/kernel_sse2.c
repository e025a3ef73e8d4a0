/*
 * kernel_sse2.c -- the copy kernels with 16-byte SSE2 stores (built -msse2).
 */
#include <emmintrin.h>

#define KVEC __m128i
#define KW 16
#define KLOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define KSTORE(p, v) _mm_store_si128((__m128i *)(void *)(p), (v))
#define KSTREAM(p, v) _mm_stream_si128((__m128i *)(void *)(p), (v))
#define KSET1(c) _mm_set1_epi8(c)
#define KISA sse2

#include "kernel.h"
