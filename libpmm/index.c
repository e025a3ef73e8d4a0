/*
 * index.c -- the derived name and key hashes and the free-entry stack.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so probe lengths stay short forever).  Slots hold an entry
 * index + 1; every value read from the bank is bounds-checked, so a
 * damaged index yields K_ECORRUPT, never a wild access.
 */
#include "pmm.h"

static uint64_t
name_hash(const char name[64])
{
	return pmm__hash_words(name, 8, 0x6e616d65);
}

static uint64_t
key_hash(const uint8_t key[32], uint32_t keysize)
{
	return pmm__hash_words(key, 4, keysize);
}

static int
corrupt(const char *what)
{
	return pmm__fail(K_ECORRUPT, "bank index damaged (%s)", what);
}

/* The home slot of entry idx in the name (is_key = 0) or key hash. */
static uint64_t
home_of(struct pmm__bank *b, uint32_t idx, int is_key)
{
	const struct pmm__entry *e = &b->table[idx];
	return is_key ? key_hash(e->key, e->keysize) : name_hash(e->name);
}

/* Empty slot i and shift later members of its cluster back. */
static int
slot_delete(struct pmm__bank *b, uint32_t *slots, uint64_t mask, uint64_t i,
		int is_key)
{
	uint64_t j = i;
	for (uint64_t n = 0; n < mask; n++) {
		j = (j + 1) & mask;
		uint32_t v = slots[j];
		if (v == 0)
			break;
		if (v - 1 >= b->g.max_blocks)
			return corrupt("slot out of range");
		uint64_t k = home_of(b, v - 1, is_key) & mask;
		/* move v back unless its home lies cyclically in (i, j] */
		int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			slots[i] = v;
			i = j;
		}
	}
	slots[i] = 0;
	return K_OK;
}

/* Find the entry named name (64 zero-padded bytes). */
int
pmm__name_find(struct pmm__bank *b, const char name[64], uint32_t *idx)
{
	uint64_t mask = b->g.name_slots - 1;
	uint64_t i = name_hash(name) & mask;
	for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint32_t v = b->name_slot[i];
		if (v == 0)
			return K_EUNKNOWN;
		if (v - 1 >= b->g.max_blocks)
			return corrupt("name slot out of range");
		if (memcmp(b->table[v - 1].name, name, 64) == 0) {
			*idx = v - 1;
			return K_OK;
		}
	}
	return K_EUNKNOWN;
}

/* Enter entry idx in the name hash. */
int
pmm__name_insert(struct pmm__bank *b, uint32_t idx)
{
	uint64_t mask = b->g.name_slots - 1;
	uint64_t i = home_of(b, idx, 0) & mask;
	for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		if (b->name_slot[i] == 0) {
			b->name_slot[i] = idx + 1;
			return K_OK;
		}
	}
	return corrupt("name hash full");
}

/* Take entry idx out of the name hash. */
int
pmm__name_remove(struct pmm__bank *b, uint32_t idx)
{
	uint64_t mask = b->g.name_slots - 1;
	uint64_t i = home_of(b, idx, 0) & mask;
	for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint32_t v = b->name_slot[i];
		if (v == 0)
			break;
		if (v == idx + 1)
			return slot_delete(b, b->name_slot, mask, i, 0);
	}
	return corrupt("name missing from its hash");
}

/* The slot of key's list, or the empty slot where it would go. */
static int
key_slot_of(struct pmm__bank *b, const uint8_t key[32], uint32_t keysize,
		uint64_t *slot)
{
	uint64_t mask = b->g.key_slots - 1;
	uint64_t i = key_hash(key, keysize) & mask;
	for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint32_t v = b->key_slot[i];
		*slot = i;
		if (v == 0)
			return K_EUNKNOWN;
		if (v - 1 >= b->g.max_blocks)
			return corrupt("key slot out of range");
		const struct pmm__entry *e = &b->table[v - 1];
		if (e->keysize == keysize && memcmp(e->key, key, 32) == 0)
			return K_OK;
	}
	return corrupt("key hash full");
}

/* The first entry on key's list. */
int
pmm__key_find(struct pmm__bank *b, const uint8_t key[32], uint32_t keysize,
		uint32_t *idx)
{
	uint64_t s;
	int rc = key_slot_of(b, key, keysize, &s);
	if (rc == K_OK)
		*idx = b->key_slot[s] - 1;
	return rc;
}

/* Put entry idx at the head of its key's list. */
int
pmm__key_insert(struct pmm__bank *b, uint32_t idx)
{
	const struct pmm__entry *e = &b->table[idx];
	uint64_t s;
	int rc = key_slot_of(b, e->key, e->keysize, &s);
	if (rc == K_OK) {
		uint32_t head = b->key_slot[s] - 1;
		b->knext[idx] = head + 1;
		b->kprev[head] = idx + 1;
	} else if (rc == K_EUNKNOWN) {
		b->knext[idx] = 0;
		b->ix->nkeys++;
	} else {
		return rc;
	}
	b->kprev[idx] = 0;
	b->key_slot[s] = idx + 1;
	return K_OK;
}

/* Unlink entry idx from its key's list (and drop an emptied key). */
int
pmm__key_remove(struct pmm__bank *b, uint32_t idx)
{
	uint32_t p = b->kprev[idx], n = b->knext[idx];
	if (p > b->g.max_blocks || n > b->g.max_blocks)
		return corrupt("key link out of range");
	if (n != 0)
		b->kprev[n - 1] = p;
	if (p != 0) {
		b->knext[p - 1] = n;
		return K_OK;
	}
	const struct pmm__entry *e = &b->table[idx];
	uint64_t s;
	int rc = key_slot_of(b, e->key, e->keysize, &s);
	if (rc != K_OK || b->key_slot[s] != idx + 1)
		return rc == K_ECORRUPT ? rc : corrupt("key head mismatch");
	if (n != 0) {
		b->key_slot[s] = n;
		return K_OK;
	}
	b->ix->nkeys--;
	return slot_delete(b, b->key_slot, b->g.key_slots - 1, s, 1);
}

/* Take a free entry. */
int
pmm__entry_pop(struct pmm__bank *b, uint32_t *idx)
{
	uint64_t top = b->ix->free_top;
	if (top == 0)
		return K_ETOOMUCH;
	if (top > b->g.max_blocks)
		return corrupt("free-entry stack overflows");
	uint32_t v = b->fstack[top - 1];
	if (v >= b->g.max_blocks || b->table[v].state != PMM__FREE)
		return corrupt("free-entry stack holds a bad entry");
	b->ix->free_top = top - 1;
	*idx = v;
	return K_OK;
}

/* Return a free entry. */
void
pmm__entry_push(struct pmm__bank *b, uint32_t idx)
{
	if (b->ix->free_top < b->g.max_blocks)
		b->fstack[b->ix->free_top++] = idx;
}
