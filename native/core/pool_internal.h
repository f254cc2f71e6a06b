/*
 * pool_internal.h - the managed pool's control block, handle table and the
 * declarations shared by its files; never installed:
 *   pool.c          lifecycle, handles, alloc/free, pinning, access, pressure
 *   pool_backend.c  the raw families as backends: creation, AUTO routing
 *                   (the hot dispatch is inline below)
 *   pool_owner.c    owner records, limits, per-owner block lists
 *   pool_defrag.c   compaction
 *   pool_inspect.c  metrics and mp_pool_check
 * The layout and invariants are described at the top of pool.c.
 */
#ifndef MP_POOL_INTERNAL_H
#define MP_POOL_INTERNAL_H

#include "mp_internal.h"
#include "tlsf_internal.h"

/** End of a slot list (owner lists, the free-slot stack). Slot indices are
 * below max_blocks <= 2^32 - 1, so this is never an index. */
#define POOL_NIL UINT32_MAX

/** Handle layout, from the top: 8 tag bits (bits 45..52), then generation
 * and index sharing the 45 bits below: index_bits = width of max_blocks - 1,
 * generation the remaining 45 - index_bits (>= 13) bits. */
#define POOL_HANDLE_BITS 53u
#define POOL_TAG_BITS 8u
#define POOL_PAYLOAD_BITS (POOL_HANDLE_BITS - POOL_TAG_BITS)
#define POOL_MAX_BLOCKS ((size_t)UINT32_MAX)

#define POOL_MAX_BACKENDS 3u
#define POOL_DEFAULT_MIN_BLOCK_BYTES 16u
#define POOL_BASE_ALIGNMENT 16u
#define POOL_MAX_ALIGNMENT 4096u
#define POOL_MIN_POOL_BYTES 4096u
#define POOL_DEFAULT_DEFRAG_THRESHOLD 0.3
#define POOL_SLAB_DEFAULT_MAX_CLASS_BYTES 4096u

/* pool_slot.state bits */
#define POOL_SLOT_LIVE 0x1u
#define POOL_SLOT_PINNED 0x2u

/** One handle-table entry (48 bytes). A slot is fresh (index >= high_water,
 * never touched), live, free (on the free stack, generation already bumped)
 * or retired (generation used up). */
typedef struct pool_slot {
    uint8_t *ptr;        /**< block start while live */
    size_t size_bytes;   /**< bytes requested: the accessible size */
    size_t usable_bytes; /**< bytes the backend gave: the charge */
    uint64_t gen;        /**< generation of the live block, or of the next one */
    uint32_t owner_index; /**< index into MP_Pool.owners while live */
    uint32_t next;       /**< owner list while live, free stack while free */
    uint32_t prev;       /**< owner list while live */
    uint8_t state;       /**< POOL_SLOT_* bits */
    uint8_t backend;     /**< index into MP_Pool.backends while live */
    uint16_t unused;
} pool_slot;

/** One owner's record; kept until the pool is destroyed (its peak survives). */
typedef struct pool_owner {
    uint32_t id;
    uint32_t head; /**< most recent live block, POOL_NIL if none */
    MP_PoolOwnerStats stats;
} pool_owner;

typedef enum pool_backend_kind {
    POOL_BE_FITLIST = 0,
    POOL_BE_BUDDY = 1,
    POOL_BE_SLAB = 2,
    POOL_BE_TLSF = 3
} pool_backend_kind;

/** A raw family instance serving part of (or the whole) region. */
typedef struct pool_backend {
    pool_backend_kind kind;
    union {
        MP_FitList *fitlist;
        MP_Buddy *buddy;
        MP_Slab *slab;
        MP_Tlsf *tlsf;
    } u;
    uint8_t *lo;           /**< first byte a block of this backend may occupy */
    uint8_t *hi;           /**< one past the last */
    size_t max_request_bytes; /**< larger requests are never routed here */
} pool_backend;

/** Where a budgeted compaction pass stopped: the next one resumes there. */
typedef struct pool_defrag_resume {
    uintptr_t addr;       /**< first block address not visited yet in `backend` */
    uint32_t backend;     /**< backend the pass was in */
    uint32_t order;       /**< buddy: order being swept */
    bool sweep_moved;     /**< buddy: the sweep in progress moved a block */
} pool_defrag_resume;

struct MP_Pool {
    /* geometry and configuration, fixed at create */
    uint8_t *region;            /**< region start (mp_pool_base) */
    size_t total_bytes;         /**< pool_bytes */
    size_t min_block_bytes;
    size_t max_request_bytes;   /**< requests above fail with LIMIT_EXCEEDED */
    size_t alignment;
    size_t auto_small_max_bytes;
    size_t auto_medium_max_bytes;
    size_t max_blocks;
    double defrag_threshold;
    bool defrag_enabled;
    bool region_mapped;         /**< region came from mp_os_map */
    uint32_t flags;
    MP_PoolStrategy strategy;
    unsigned index_bits;
    uint64_t index_mask;
    uint64_t gen_max;           /**< last usable generation; gen_max + 1 marks retired */
    uint64_t tag;               /**< this pool's handle tag, < 2^POOL_TAG_BITS */
    unsigned backend_count;
    pool_backend backends[POOL_MAX_BACKENDS];

    /* handle table: mapped at full capacity, touched up to high_water */
    pool_slot *slots;
    size_t slots_map_bytes;
    uint32_t high_water;        /**< slots below were used at least once */
    uint32_t free_head;         /**< stack of free slots */

    /* owners: dense records plus an open-addressing index id -> record */
    pool_owner *owners;
    uint32_t owner_count;
    uint32_t owner_capacity;
    uint32_t *owner_hash;       /**< owner_hash_size entries, POOL_NIL = empty */
    uint32_t owner_hash_size;   /**< power of two, > 2 * owner_count */
    uint32_t owner_cache_id;    /**< last owner looked up ... */
    uint32_t owner_cache_index; /**< ... and its record, POOL_NIL if none */

    /* O(1) counters (the O(1) fields of MP_PoolStats) */
    size_t used_bytes;
    size_t requested_bytes;
    size_t live_count;
    size_t pinned_count;
    size_t peak_used_bytes;
    size_t retired_count;
    uint64_t alloc_count;
    uint64_t free_count;
    uint64_t alloc_failure_count;
    uint64_t rejected_free_count;
    uint64_t rejected_access_count;
    uint64_t defrag_count;
    uint64_t auto_defrag_count;
    uint64_t relocation_count;
    uint64_t bytes_moved_total;
    pool_defrag_resume defrag_resume; /**< where a budgeted pass stopped */
    uint64_t futile_defrag_free_count; /**< free_count when an automatic pass last
                                            failed to make room; no new pass until
                                            something is freed */
    MP_DefragResult last_auto_defrag; /**< what the latest automatic pass did */
    MP_AutoDefragFn auto_defrag_fn;
    void *auto_defrag_ctx;

    /* pressure: the level and the used_bytes band [down, up) that keeps it */
    MP_PressureLevel pressure_level;
    size_t pressure_down_bytes;
    size_t pressure_up_bytes;
    size_t pressure_threshold_bytes[3]; /**< used_bytes at 60%, 80%, 95% */
    MP_PressureFn pressure_fn;
    void *pressure_ctx;

    mp_lock lock;
};

/* ------------------------------------------------------------------ locking */

MP_INLINE void pool_lock(const MP_Pool *p) {
    if (p->flags & MP_FLAG_THREAD_SAFE) mp_lock_acquire(&((MP_Pool *)p)->lock);
}

MP_INLINE void pool_unlock(const MP_Pool *p) {
    if (p->flags & MP_FLAG_THREAD_SAFE) mp_lock_release(&((MP_Pool *)p)->lock);
}

/* ------------------------------------------------------------------ handles */

MP_INLINE MP_Handle pool_handle(const MP_Pool *p, uint32_t index, uint64_t gen) {
    return (p->tag << POOL_PAYLOAD_BITS) | (gen << p->index_bits) | (uint64_t)index;
}

/** Resolves `h` to a live slot index. MP_OK; MP_ERR_DOUBLE_FREE when `h` was
 * issued by this pool and its block freed since (stale); MP_ERR_INVALID_HANDLE
 * for handles never issued (forged, foreign, above 2^53). O(1). */
MP_INLINE MP_Status pool_resolve(const MP_Pool *p, MP_Handle h, uint32_t *index) {
    if (MP_UNLIKELY((h >> POOL_PAYLOAD_BITS) != p->tag)) return MP_ERR_INVALID_HANDLE;
    uint64_t idx = h & p->index_mask;
    uint64_t gen = (h >> p->index_bits) & p->gen_max;
    if (MP_UNLIKELY(idx >= p->high_water || gen == 0)) return MP_ERR_INVALID_HANDLE;
    const pool_slot *s = &p->slots[idx];
    if (MP_LIKELY(gen == s->gen && (s->state & POOL_SLOT_LIVE))) {
        *index = (uint32_t)idx;
        return MP_OK;
    }
    /* Generations only grow, by one per free: every generation below the
     * slot's current one was handed out and freed. */
    return gen < s->gen ? MP_ERR_DOUBLE_FREE : MP_ERR_INVALID_HANDLE;
}

/* ----------------------------------------------------------------- pressure */

/** Recomputes the pressure level after used_bytes left its band. Callers
 * compare the level before and after an operation and report a change with
 * pool_pressure_notify once the lock is released (several changes within one
 * operation are reported as their net effect). */
void pool_pressure_update(MP_Pool *p);

MP_INLINE void pool_pressure_check(MP_Pool *p) {
    if (MP_UNLIKELY(p->used_bytes >= p->pressure_up_bytes || p->used_bytes < p->pressure_down_bytes))
        pool_pressure_update(p);
}

/** Calls the pressure callback, if any; outside the lock. */
void pool_pressure_notify(MP_Pool *p, MP_PressureLevel old_level, MP_PressureLevel new_level);

/* ------------------------------------------------------------ pool_backend.c */

/** Creates the backends of `p` over its region from the validated `cfg`. */
MP_Status pool_backends_create(MP_Pool *p, const MP_PoolConfig *cfg);
void pool_backends_destroy(MP_Pool *p);
/** AUTO: allocates from the tier the request routes to, then the fallbacks. */
void *pool_be_take_auto(const MP_Pool *p, size_t request_bytes, unsigned *bi);

/* mp_<family>_<verb>(instance, ...) for a backend's family. The families
 * share their verbs (same verb, same meaning), so one dispatch serves every
 * call; POOL_BE_CALL0 is for verbs without further arguments. Inline: a
 * branch costs less than a call through a table. */
#define POOL_BE_CALL(be, verb, ...)                                              \
    ((be)->kind == POOL_BE_TLSF    ? mp_tlsf_##verb((be)->u.tlsf, __VA_ARGS__)   \
     : (be)->kind == POOL_BE_SLAB  ? mp_slab_##verb((be)->u.slab, __VA_ARGS__)   \
     : (be)->kind == POOL_BE_BUDDY ? mp_buddy_##verb((be)->u.buddy, __VA_ARGS__) \
                                   : mp_fitlist_##verb((be)->u.fitlist, __VA_ARGS__))
#define POOL_BE_CALL0(be, verb)                                     \
    ((be)->kind == POOL_BE_TLSF    ? mp_tlsf_##verb((be)->u.tlsf)   \
     : (be)->kind == POOL_BE_SLAB  ? mp_slab_##verb((be)->u.slab)   \
     : (be)->kind == POOL_BE_BUDDY ? mp_buddy_##verb((be)->u.buddy) \
                                   : mp_fitlist_##verb((be)->u.fitlist))

/** Allocates `request_bytes` with the pool's alignment from backend `bi`. */
MP_INLINE void *pool_be_alloc(const MP_Pool *p, unsigned bi, size_t request_bytes) {
    const pool_backend *be = &p->backends[bi];
    return p->alignment > POOL_BASE_ALIGNMENT ? POOL_BE_CALL(be, alloc_aligned, request_bytes, p->alignment)
                                              : POOL_BE_CALL(be, alloc, request_bytes);
}

MP_INLINE MP_Status pool_be_free(const MP_Pool *p, unsigned bi, void *ptr) {
    return POOL_BE_CALL(&p->backends[bi], free, ptr);
}

/** Usable bytes of a live block of backend `bi` (0 if it is not one). */
MP_INLINE size_t pool_be_usable(const MP_Pool *p, unsigned bi, const void *ptr) {
    return POOL_BE_CALL(&p->backends[bi], usable_size, ptr);
}

MP_INLINE MP_Status pool_be_free_stats(const MP_Pool *p, unsigned bi, MP_FreeStats *out) {
    return POOL_BE_CALL(&p->backends[bi], free_stats, out);
}

MP_INLINE MP_Status pool_be_stats(const MP_Pool *p, unsigned bi, MP_HeapStats *out) {
    return POOL_BE_CALL(&p->backends[bi], stats, out);
}

MP_INLINE size_t pool_be_check(const MP_Pool *p, unsigned bi) { return POOL_BE_CALL0(&p->backends[bi], check); }

/** Usable bytes of a block backend `bi` returned just now. For TLSF this
 * decodes the size from the block header through tlsf_internal.h instead of
 * mp_tlsf_usable_size, whose full validation (tag, bounds) of a header TLSF
 * wrote a moment ago costs as much as a third of the pool's own overhead;
 * mp_pool_check compares every recorded size with mp_tlsf_usable_size. */
MP_INLINE size_t pool_be_usable_fresh(const MP_Pool *p, unsigned bi, const uint8_t *ptr) {
    if (p->backends[bi].kind == POOL_BE_TLSF) {
        tlsf_hdr h = tlsf_hdr_read(ptr - TLSF_HDR_BYTES);
        return tlsf_bytes(h.size_granules) - TLSF_HDR_BYTES;
    }
    return pool_be_usable(p, bi, ptr);
}

/** Allocates from the backend the request routes to (falling back to the
 * other tiers under AUTO); sets `*bi`. NULL when none has room. */
MP_INLINE void *pool_be_take(const MP_Pool *p, size_t request_bytes, unsigned *bi) {
    if (MP_LIKELY(p->backend_count == 1)) {
        *bi = 0;
        return pool_be_alloc(p, 0, request_bytes);
    }
    return pool_be_take_auto(p, request_bytes, bi);
}

/* -------------------------------------------------------------- pool_owner.c */

/** Index of owner `id`'s record, or POOL_NIL. O(1) expected. */
uint32_t pool_owner_find(const MP_Pool *p, uint32_t id);
/** Index of owner `id`'s record, created if missing; MP_ERR_OUT_OF_MEMORY if
 * it cannot be created (nothing changed). */
MP_Status pool_owner_get(MP_Pool *p, uint32_t id, uint32_t *index);
void pool_owners_destroy(MP_Pool *p);

MP_INLINE void pool_owner_link(MP_Pool *p, pool_owner *o, uint32_t idx) {
    pool_slot *s = &p->slots[idx];
    s->prev = POOL_NIL;
    s->next = o->head;
    if (o->head != POOL_NIL) p->slots[o->head].prev = idx;
    o->head = idx;
}

MP_INLINE void pool_owner_unlink(MP_Pool *p, pool_owner *o, uint32_t idx) {
    pool_slot *s = &p->slots[idx];
    if (s->prev != POOL_NIL)
        p->slots[s->prev].next = s->next;
    else
        o->head = s->next;
    if (s->next != POOL_NIL) p->slots[s->next].prev = s->prev;
}

/* ------------------------------------------------------------------ freeing */

/** Frees the live block in slot `idx`: backend free, owner and pool
 * accounting, generation bump (or retirement). Pressure is checked by callers.
 * A backend refusal (corruption) is returned with nothing changed. */
MP_INLINE MP_Status pool_release_slot(MP_Pool *p, uint32_t idx) {
    pool_slot *s = &p->slots[idx];
    MP_Status st = pool_be_free(p, s->backend, s->ptr);
    if (MP_UNLIKELY(st != MP_OK)) return MP_ERR_CORRUPTION;
    pool_owner *o = &p->owners[s->owner_index];
    pool_owner_unlink(p, o, idx);
    o->stats.bytes_in_use -= s->usable_bytes;
    o->stats.block_count--;
    o->stats.free_count++;
    p->used_bytes -= s->usable_bytes;
    p->requested_bytes -= s->size_bytes;
    p->live_count--;
    p->pinned_count -= (s->state & POOL_SLOT_PINNED) ? 1u : 0u;
    p->free_count++;
    s->ptr = NULL;
    s->state = 0;
    if (MP_UNLIKELY(s->gen == p->gen_max)) {
        s->gen = p->gen_max + 1u; /* retired: every generation was used */
        p->retired_count++;
    } else {
        s->gen++;
        s->next = p->free_head;
        p->free_head = idx;
    }
    return MP_OK;
}

/* ------------------------------------------------------------- pool_defrag.c */

/** One compaction pass under the lock; `from_start` ignores the resume cursor. */
MP_Status pool_defrag_locked(MP_Pool *p, size_t budget_bytes, bool from_start, MP_DefragResult *out);

/* ------------------------------------------------------------ pool_inspect.c */

/** Free figures summed over the backends (walk). */
typedef struct pool_free_figures {
    size_t free_bytes;
    size_t free_block_count;
    size_t largest_free_block_bytes;
    double fragmentation; /**< 1 - largest / free, 0 if nothing is free */
} pool_free_figures;

void pool_free_figures_get(const MP_Pool *p, pool_free_figures *out);

/** A live block by address, for passes that visit blocks in address order. */
typedef struct pool_block_ref {
    uintptr_t addr;
    uint32_t slot;
} pool_block_ref;

/** The live blocks sorted by address (malloc'd; the caller frees it) and
 * their number in `*count`. NULL with `*count` 0 if there are none; NULL with
 * `*count` non-zero if memory ran out. O(high_water + n) (a radix sort of
 * the 16-byte granule offsets, 11 bits a pass). */
pool_block_ref *pool_sorted_blocks(const MP_Pool *p, size_t *count);

#endif /* MP_POOL_INTERNAL_H */
