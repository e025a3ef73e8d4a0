/*
 * bank_image.h -- turning fuzz inputs (bank file images) into the file
 * pmm__bank_open() reads, shared by the fuzz target and the corpus
 * generator so that both see a seed the same way.
 */
#ifndef PMM_FUZZ_BANK_IMAGE_H
#define PMM_FUZZ_BANK_IMAGE_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A seed stands for "this boot" with this placeholder in its boot id, so
 * the committed corpus means the same on every machine and after every
 * reboot; any other boot id (zeroes, another machine's) is a reboot.
 */
#define FUZZ_BOOT_HERE "fuzz:this-boot"

/* The address every seed records (slot 0 of libpmm's bank slots). */
#define FUZZ_BASE 0x120000000000ULL

/* Read this machine's boot id as libpmm does (zero-padded). */

/* A fresh robust, process-shared mutex; locked by a dead holder if asked. */
void fuzz_lock_set(pthread_mutex_t *m, int owner_died);

/* Whether a bank mutex says its holder died (the kernel's mark). */
int fuzz_lock_owner_died(const pthread_mutex_t *m);

/*
 * Make an image of size bytes ready to be a bank file.  A "this boot"
 * image gets the real boot id and fresh robust mutexes (the arenas' and
 * the keys'), whose lock words keep only the owner-died bits of the
 * image's: the locks of a live bank
 * is shared with other processes and is outside what a bank file can be
 * checked for (a hostile one can hang the opener, like a live holder).
 */
void fuzz_image_prepare(unsigned char *img, size_t size);

/*
 * Recompute the header, redo-record and used-entry checksums, so that a
 * mutated field reaches the checks behind them.  1 if anything changed.
 */
int fuzz_image_fix_checksums(unsigned char *img, size_t size);

/* Write size bytes of img as the whole content of the file fd. */
int fuzz_image_write(int fd, const unsigned char *img, size_t size);

/*
 * After fuzz_image_write: a "this boot" image whose file identity is the
 * seeds' placeholder (0) gets the identity of the file fd, as if its
 * index had been built there; without it every image would be a copy to
 * libpmm, which rebuilds a copy's index, and the index's own damage
 * would never reach an ordinary open.  0, or -1 with errno.
 */
int fuzz_image_here(int fd);

#endif /* PMM_FUZZ_BANK_IMAGE_H */
