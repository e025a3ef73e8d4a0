/*
 * kernel_avx512f.c -- the copy kernels with 64-byte AVX-512F stores
 * (built -mavx512f).  The logic is kernel.h's, shared with the SSE2 and
 * AVX2 builds that run on every x86-64 machine.
 */
#include <immintrin.h>

#define KVEC __m512i
#define KW 64
#define KLOADU(p) _mm512_loadu_si512((const void *)(p))
#define KSTORE(p, v) _mm512_store_si512((void *)(p), (v))
#define KSTREAM(p, v) _mm512_stream_si512((void *)(p), (v))
#define KSET1(c) _mm512_set1_epi8(c)
#define KISA avx512f

#include "kernel.h"
