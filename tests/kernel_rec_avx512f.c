/*
 * kernel_rec_avx512f.c -- the kernels at avx512f width with a recording flush
 * (built -mavx512f; see kernel_rec.h).
 */
#define K_TEST_INSTANCES 1
#include "kernel_avx512f.c"
#include "kernel_rec.h"

KT_RECORDING_INSTANCE
