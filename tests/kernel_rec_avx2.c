/*
 * kernel_rec_avx2.c -- the kernels at avx2 width with a recording flush
 * (built -mavx2; see kernel_rec.h).
 */
#define K_TEST_INSTANCES 1
#include "kernel_avx2.c"
#include "kernel_rec.h"

KT_RECORDING_INSTANCE
