/*
 * kernel_rec_sse2.c -- the kernels at sse2 width with a recording flush
 * (built -msse2; see kernel_rec.h).
 */
#define K_TEST_INSTANCES 1
#include "kernel_sse2.c"
#include "kernel_rec.h"

KT_RECORDING_INSTANCE
