/*
 * bank_image.c -- preparing a fuzz input as a bank file: the boot id
 * placeholder, the live locks, and checksums recomputed on request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "bank_image.h"
#include "pmm.h"

#define OWNER_DIED 0x40000000	/* FUTEX_OWNER_DIED in a robust lock word */

_Static_assert(sizeof(FUZZ_BOOT_HERE) <= PMM__BOOT_ID, "placeholder fits");

/* A fresh robust, process-shared mutex, as pmm__lock_init makes one. */
void
fuzz_lock_set(pthread_mutex_t *m, int owner_died)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
#ifdef __GLIBC__
	/* what the kernel leaves when a holder dies: the next locker gets
	 * EOWNERDEAD and recovers */
	if (owner_died)
		m->__data.__lock = OWNER_DIED;
#else
	(void)owner_died;
#endif
}

/* Whether a lock word says its holder died. */
int
fuzz_lock_owner_died(const pthread_mutex_t *m)
{
#ifdef __GLIBC__
	return (m->__data.__lock & OWNER_DIED) != 0;
#else
	(void)m;
	return 0;
#endif
}

/* Replace the placeholder by this boot's id and tame the live locks. */
void
fuzz_image_prepare(unsigned char *img, size_t size)
{
	struct pmm__hdr h;
	char here[PMM__BOOT_ID], mark[PMM__BOOT_ID] = FUZZ_BOOT_HERE;
	if (size < sizeof(h))
		return;
	memcpy(&h, img, sizeof(h));
	pmm__boot_id(here);
	/* the real id counts too: a hostile lock must not hang the target */
	if (memcmp(h.boot_id, mark, sizeof(mark)) != 0 &&
			memcmp(h.boot_id, here, sizeof(here)) != 0)
		return;
	memcpy(h.boot_id, here, sizeof(here));
	/* every arena's, used or not (the opener initialises them all),
	 * and the keys' */
	for (unsigned a = 0; a < PMM__ARENAS; a++)
		fuzz_lock_set(&h.arena[a].lock,
				fuzz_lock_owner_died(&h.arena[a].lock));
	fuzz_lock_set(&h.keys.lock, fuzz_lock_owner_died(&h.keys.lock));
	memcpy(img, &h, sizeof(h));
}

/* Give entry i of the table at off a checksum that matches, if used. */
static int
fix_entry(unsigned char *img, uint64_t off, uint64_t i)
{
	struct pmm__entry e;
	memcpy(&e, img + off, sizeof(e));
	if (e.state != PMM__USED || e.checksum == pmm__entry_checksum(&e, i))
		return 0;
	e.checksum = pmm__entry_checksum(&e, i);
	memcpy(img + off, &e, sizeof(e));
	return 1;
}

/* Recompute every checksum an image carries; 1 if any changed. */
int
fuzz_image_fix_checksums(unsigned char *img, size_t size)
{
	struct pmm__hdr h;
	struct pmm__geom g;
	int changed = 0;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, img, sizeof(h));
	if (h.checksum != pmm__hdr_checksum(&h)) {
		h.checksum = pmm__hdr_checksum(&h);
		changed = 1;
	}
	if (h.log.valid != 0 && h.log.checksum != pmm__log_checksum(&h.log)) {
		h.log.checksum = pmm__log_checksum(&h.log);
		changed = 1;
	}
	memcpy(img, &h, sizeof(h));
	/* the table lies where the header's tunables put it, if it fits */
	if (pmm__geom_compute(h.bank_size, h.max_blocks, h.page_size, &g) !=
			K_OK || g.table_off + g.max_blocks *
			sizeof(struct pmm__entry) > size)
		return changed;
	for (uint64_t i = 0; i < g.max_blocks; i++)
		changed |= fix_entry(img, g.table_off +
				i * sizeof(struct pmm__entry), i);
	return changed;
}

/* Replace the whole content of fd by the image. */
int
fuzz_image_write(int fd, const unsigned char *img, size_t size)
{
	if (ftruncate(fd, 0) != 0)
		return -1;
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(fd, img + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* See bank_image.h. */
int
fuzz_image_here(int fd)
{
	struct pmm__hdr h;
	struct stat st;
	char here[PMM__BOOT_ID];
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 0;		/* too short to be a bank: as it is */
	pmm__boot_id(here);
	if (h.file_dev != 0 || h.file_ino != 0 ||
			memcmp(h.boot_id, here, sizeof(here)) != 0)
		return 0;
	if (fstat(fd, &st) != 0)
		return -1;
	uint64_t id[2] = { (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	_Static_assert(offsetof(struct pmm__hdr, file_ino) ==
			offsetof(struct pmm__hdr, file_dev) + 8, "dev, then ino");
	off_t at = (off_t)offsetof(struct pmm__hdr, file_dev);
	return pwrite(fd, id, sizeof(id), at) == (ssize_t)sizeof(id) ? 0 : -1;
}
