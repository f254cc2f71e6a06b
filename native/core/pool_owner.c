/*
 * pool_owner.c - owners of a managed pool: records, limits, per-owner block
 * lists, freeing everything of one owner.
 *
 * Layout: owners[] holds one record per owner id ever seen, in creation
 * order (indices are stable: slots store them). owner_hash[] is an open-
 * addressing index (linear probing, power-of-two size, at most half full)
 * from id to record index; records are never removed, so probing needs no
 * tombstones. The last id looked up is cached, which makes the allocation
 * path of a single-owner workload hash-free. Each record heads the doubly
 * linked list of its live slots (pool.c links and unlinks).
 *
 * Invariants (checked by mp_pool_check): every record is found through the
 * index under its id; each list holds exactly the record's live slots, whose
 * usable bytes sum to bytes_in_use and whose count is block_count;
 * bytes_in_use <= bytes_in_use_peak.
 */
#include "pool_internal.h"

#include <stdlib.h>

#define POOL_OWNER_INITIAL_CAPACITY 8u
#define POOL_OWNER_MAX_COUNT (UINT32_MAX / 4u)

static uint32_t pool_owner_hash_of(uint32_t id, uint32_t hash_size) {
    uint32_t x = id * 0x9E3779B1u; /* Fibonacci hashing, high bits folded down */
    x ^= x >> 16;
    return x & (hash_size - 1u);
}

uint32_t pool_owner_find(const MP_Pool *p, uint32_t id) {
    if (p->owner_hash_size == 0) return POOL_NIL;
    uint32_t mask = p->owner_hash_size - 1u;
    for (uint32_t h = pool_owner_hash_of(id, p->owner_hash_size);; h = (h + 1u) & mask) {
        uint32_t idx = p->owner_hash[h];
        if (idx == POOL_NIL || p->owners[idx].id == id) return idx;
    }
}

static void pool_owner_hash_insert(uint32_t *hash, uint32_t hash_size, const pool_owner *owners, uint32_t idx) {
    uint32_t h = pool_owner_hash_of(owners[idx].id, hash_size);
    while (hash[h] != POOL_NIL) h = (h + 1u) & (hash_size - 1u);
    hash[h] = idx;
}

/* Makes room for one more record: grows the array and, when it would pass
 * half full, the index. Nothing changes visibly on failure. */
static MP_Status pool_owner_reserve(MP_Pool *p) {
    if (p->owner_count >= POOL_OWNER_MAX_COUNT) return MP_ERR_LIMIT_EXCEEDED;
    if (p->owner_count == p->owner_capacity) {
        uint32_t cap = p->owner_capacity ? p->owner_capacity * 2u : POOL_OWNER_INITIAL_CAPACITY;
        pool_owner *grown = realloc(p->owners, (size_t)cap * sizeof *grown);
        if (grown == NULL) return MP_ERR_OUT_OF_MEMORY;
        p->owners = grown;
        p->owner_capacity = cap;
    }
    if (2u * (p->owner_count + 1u) > p->owner_hash_size) {
        uint32_t size = p->owner_hash_size ? p->owner_hash_size * 2u : 2u * POOL_OWNER_INITIAL_CAPACITY;
        uint32_t *hash = malloc((size_t)size * sizeof *hash);
        if (hash == NULL) return MP_ERR_OUT_OF_MEMORY;
        memset(hash, 0xFF, (size_t)size * sizeof *hash);
        for (uint32_t i = 0; i < p->owner_count; i++) pool_owner_hash_insert(hash, size, p->owners, i);
        free(p->owner_hash);
        p->owner_hash = hash;
        p->owner_hash_size = size;
    }
    return MP_OK;
}

MP_Status pool_owner_get(MP_Pool *p, uint32_t id, uint32_t *index) {
    uint32_t idx = pool_owner_find(p, id);
    if (idx == POOL_NIL) {
        MP_Status st = pool_owner_reserve(p);
        if (st != MP_OK) return st;
        idx = p->owner_count++;
        memset(&p->owners[idx], 0, sizeof p->owners[idx]);
        p->owners[idx].id = id;
        p->owners[idx].head = POOL_NIL;
        pool_owner_hash_insert(p->owner_hash, p->owner_hash_size, p->owners, idx);
    }
    p->owner_cache_id = id;
    p->owner_cache_index = idx;
    *index = idx;
    return MP_OK;
}

void pool_owners_destroy(MP_Pool *p) {
    free(p->owners);
    free(p->owner_hash);
    p->owners = NULL;
    p->owner_hash = NULL;
}

MP_Status mp_pool_owner_stats(const MP_Pool *pool, uint32_t owner, MP_PoolOwnerStats *out) {
    if (pool == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    pool_lock(pool);
    uint32_t idx = pool_owner_find(pool, owner);
    if (idx != POOL_NIL)
        *out = pool->owners[idx].stats;
    else
        memset(out, 0, sizeof *out);
    pool_unlock(pool);
    return MP_OK;
}

MP_Status mp_pool_set_owner_limit(MP_Pool *pool, uint32_t owner, size_t limit_bytes) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uint32_t idx;
    pool_lock(pool);
    MP_Status st = pool_owner_get(pool, owner, &idx);
    if (st == MP_OK) pool->owners[idx].stats.limit_bytes = limit_bytes;
    pool_unlock(pool);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

MP_Status mp_pool_free_owner(MP_Pool *pool, uint32_t owner, size_t *freed_blocks) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t freed = 0;
    MP_Status st = MP_OK;
    pool_lock(pool);
    MP_PressureLevel before = pool->pressure_level;
    uint32_t idx = pool_owner_find(pool, owner);
    if (idx != POOL_NIL) {
        /* Each release unlinks the list head, so the loop walks the list. */
        while (st == MP_OK && pool->owners[idx].head != POOL_NIL) {
            st = pool_release_slot(pool, pool->owners[idx].head);
            freed += st == MP_OK ? 1u : 0u;
        }
        pool_pressure_check(pool);
    }
    MP_PressureLevel after = pool->pressure_level;
    pool_unlock(pool);
    if (after != before) pool_pressure_notify(pool, before, after);
    if (freed_blocks != NULL) *freed_blocks = freed;
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

MP_Status mp_pool_owner_blocks(const MP_Pool *pool, uint32_t owner, MP_Handle *out, size_t capacity,
                               size_t *total) {
    if (pool == NULL || total == NULL || (out == NULL && capacity != 0))
        return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t n = 0;
    pool_lock(pool);
    uint32_t idx = pool_owner_find(pool, owner);
    if (idx != POOL_NIL) {
        for (uint32_t s = pool->owners[idx].head; s != POOL_NIL; s = pool->slots[s].next, n++)
            if (n < capacity) out[n] = pool_handle(pool, s, pool->slots[s].gen);
    }
    pool_unlock(pool);
    *total = n;
    return MP_OK;
}
