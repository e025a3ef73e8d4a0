/*
 * calibrate.h -- measures, at load, which allowed flush instruction makes
 * dirty lines durable fastest on this CPU.
 */
#ifndef PMEM_CALIBRATE_H
#define PMEM_CALIBRATE_H 1

#include "cpu.h"
#include "ops.h"
#include "options.h"

#define PMEM_CALIB_SIZES 2	/* 1 line and 16 lines */

struct pmem__calibration {
	int done;			/* measured (more than one candidate) */
	double ns[4][PMEM_CALIB_SIZES];	/* by flush kind; 0 = not measured */
	enum pmem__flush_kind chosen;
	double elapsed_ns;		/* what the measurement cost */
};

extern struct pmem__calibration pmem__calib;

/*
 * Times a persist (flush + its drain) of 1 and of 16 freshly dirtied
 * lines with each flush instruction the CPU has and the options allow;
 * the minimum of several repetitions counts.  Returns an instruction that
 * is much faster for one line and not much slower for 16 than the
 * priority choice (clwb > clflushopt > clflush), or the priority choice
 * itself, also when only one is allowed or PMEM_FLUSH_CALIBRATE=1 was not
 * set.
 */
enum pmem__flush_kind pmem__calibrate_flush(const struct pmem__cpu *cpu,
	const struct pmem__options *opt, struct pmem__calibration *out);

#endif /* PMEM_CALIBRATE_H */
