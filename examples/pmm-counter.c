/*
 * pmm-counter -- a counter that outlives its process: each run retrieves
 * the block "demo.counter" (allocating it, zero-filled, the first time),
 * adds one, persists it and prints it with the block's address, which is
 * the same in every run.
 */
#include <libpmem.h>
#include <pmm/chPmm.h>
#include <stdint.h>
#include <stdio.h>

int
main(void)
{
	PmmName name = { "RAM", "demo.counter" };
	uint64_t *counter;
	KnError rc = pmmAllocate((VmAddr *)&counter, &name, sizeof(*counter),
			"DEMO", sizeof("DEMO"));
	if (rc != K_OK) {
		fprintf(stderr, "pmm-counter: %s (%s)\n", pmmStrError(rc),
				pmmErrorMsg());
		return 1;
	}
	++*counter;
	pmem_persist(counter, sizeof(*counter));
	printf("run %llu: counter at %p\n", (unsigned long long)*counter,
			(void *)counter);
	return 0;
}
