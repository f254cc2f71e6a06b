/*
 * pool_owner.c - owners of a managed pool: records, limits, per-owner block
 * lists, freeing everything of one owner.
 *
 * Layout: owners[] holds one record per owner id ever seen, in creation
 * order (indices are stable: slots store them). owner_hash[] is an open-
 * addressing index (linear probing, power-of-two size, at most half full)
 * from id to record index; records are never removed, so probing needs no
 * tombstones. The last id looked up is cached, which makes the allocation
 * path of a single-owner workload hash-free.
 *
 * Blocks of an owner. A live slot names its owner's record (pool_slot_info.link);
 * owners keep no list of their blocks, so allocation and free touch no other
 * slot. The two per-owner walks, mp_pool_free_owner and mp_pool_owner_blocks,
 * scan the handle table instead: O(high_water) (slots ever used), in slot
 * order. A record's block count is alloc_count - free_count.
 *
 * Invariants (checked by mp_pool_check): every record is found through the
 * index under its id; the live slots naming a record number alloc_count -
 * free_count and their usable bytes sum to bytes_in_use; bytes_in_use <=
 * bytes_in_use_peak.
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
        if (p->owner_count == 1) {
            /* Solo no more: the pool's counters stood for the first record's. */
            MP_PoolOwnerStats *first = &p->owners[0].stats;
            first->bytes_in_use = pool_used_bytes(p);
            first->bytes_in_use_peak = p->peak_used_bytes;
            first->alloc_count = p->alloc_count;
            first->free_count = p->free_count;
        }
        idx = p->owner_count++;
        memset(&p->owners[idx], 0, sizeof p->owners[idx]);
        p->owners[idx].id = id;
        pool_owner_hash_insert(p->owner_hash, p->owner_hash_size, p->owners, idx);
    }
    pool_owner_cache_set(p, id, idx);
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
    if (idx != POOL_NIL) {
        *out = pool_owner_counters(pool, idx);
    } else {
        memset(out, 0, sizeof *out);
    }
    pool_unlock(pool);
    return MP_OK;
}

MP_Status mp_pool_set_owner_limit(MP_Pool *pool, uint32_t owner, size_t limit_bytes) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uint32_t idx;
    pool_lock(pool);
    MP_Status st = pool_owner_get(pool, owner, &idx);
    if (st == MP_OK) {
        pool->owners[idx].stats.limit_bytes = limit_bytes;
        pool_owner_cache_set(pool, owner, idx); /* a limit takes the owner off the fast path */
    }
    pool_unlock(pool);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

void pool_release_link(MP_Pool *p, uint32_t idx, size_t usable) {
    pool_slot_info *info = pool_info_at(p, idx);
    uint32_t link = info->link;
    if (!pool_owner_solo(p)) {
        pool_owner *o = &p->owners[link >> 1];
        o->stats.bytes_in_use -= usable;
        o->stats.free_count++;
    }
    if (link & 1u) {
        p->pinned_count--;
        pool_fast_refresh(p);
    }
    info->link = 0;
}

MP_Status mp_pool_free_owner(MP_Pool *pool, uint32_t owner, size_t *freed_blocks) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t freed = 0;
    MP_Status st = MP_OK;
    pool_lock(pool);
    MP_PressureLevel before = pool->pressure_level;
    uint32_t idx = pool_owner_find(pool, owner);
    if (idx != POOL_NIL) {
        /* A release only changes its own slot, so the scan can go on; it
         * stops early once the owner has no block left. */
        for (uint32_t i = 0; i < pool->high_water && pool_owner_counters(pool, idx).block_count != 0; i++) {
            if (pool_slot_live(&pool->slots[i]) && pool_info_owner(pool_info_at(pool, i)) == idx) {
                st = pool_release_slot(pool, i);
                if (st != MP_OK) break;
                freed++;
            }
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
        /* The count is known up front: the scan stops once `out` is full. */
        size_t blocks = pool_owner_counters(pool, idx).block_count;
        size_t wanted = capacity < blocks ? capacity : blocks;
        for (uint32_t i = 0, k = 0; i < pool->high_water && k < wanted; i++) {
            const pool_slot *s = &pool->slots[i];
            if (pool_slot_live(s) && pool_info_owner(pool_info_at(pool, i)) == idx) out[k++] = s->handle;
        }
        n = blocks;
    }
    pool_unlock(pool);
    *total = n;
    return MP_OK;
}
