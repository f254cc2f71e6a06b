/*
 * pool_internal.h - the managed pool's control block, handle table and the
 * declarations shared by its files; never installed:
 *   pool.c          lifecycle, handles, alloc/free, pinning, access, pressure
 *   pool_backend.c  the raw families as backends: creation, AUTO routing
 *                   (the hot dispatch is inline below)
 *   pool_owner.c    owner records, limits, per-owner walks
 *   pool_defrag.c   compaction
 *   pool_inspect.c  metrics and mp_pool_check
 * The layout and invariants are described at the top of pool.c.
 */
#ifndef MP_POOL_INTERNAL_H
#define MP_POOL_INTERNAL_H

#include "mp_internal.h"
#include "tlsf_hot.h"

/** End of the free-slot stack, "no record" elsewhere. Slot indices are
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

/** Blocks hold at most 32 GiB: a slot keeps the usable size in 16-byte
 * granules as 32 bits (buddy rounding of a request up to this stays below
 * 2^32 granules). Pools above 32 GiB refuse larger requests with
 * LIMIT_EXCEEDED; smaller pools cannot hold such a block anyway. */
#define POOL_GRANULE_SHIFT 4u
#define POOL_MAX_REQUEST_BYTES ((uint64_t)1 << 35)

/** One handle-table entry: the part every resolve reads, 16 bytes (four
 * per cache line). A slot is fresh (index >= high_water, never touched),
 * live, free (on the free stack, generation already bumped) or retired
 * (generation used up). The backend of a block follows from its address
 * (the backends own consecutive slices of the region, see pool_backend_of).
 * The rest of the entry is its pool_slot_info, in a parallel table. A free
 * reads the slot, then the block's header at the address the slot gives (a
 * dependent load): over a tlsf_sizes TLSF the header has the sizes, and the
 * common allocation and free touch no info at all, so the table lines they
 * keep in cache are half those of one 32-byte entry (mixed_live10k,
 * 10,000 live: 0.66 misses of a 1 MiB cache per op instead of 0.90, as raw
 * TLSF's 0.65). Other backends read the info too (one more line, loaded in
 * parallel: its address follows from the index alone). */
typedef struct pool_slot {
    union {
        uint8_t *ptr;         /**< live: block start; retired: NULL */
        struct pool_slot *next; /**< free: next slot of the free stack, NULL
                                   at its end (a free reads and writes no info) */
    };
    uint64_t handle;          /**< live: the block's handle (so resolving a
                                   handle is one comparison); free: the
                                   handle last freed from it negated (bit 63
                                   set, see POOL_SLOT_FREE); retired:
                                   POOL_SLOT_RETIRED */
} pool_slot;

/** The rest of a handle-table entry (MP_Pool.infos[i] belongs to slots[i]).
 * Under MP_Pool.tlsf_sizes the block's TLSF header keeps its sizes
 * (pool_slot_sizes) and the info only its link, which, while the pool is
 * solo (pool_owner_solo), is written only for pinned blocks: then every
 * link below high_water is 0 but a live pinned block's 1, so neither the
 * common allocation nor the common free touches the info table. */
typedef struct pool_slot_info {
    size_t size_bytes;        /**< live: bytes requested, the accessible size
                                   (unused under tlsf_sizes) */
    uint32_t usable_granules; /**< live: usable bytes the backend gave (the
                                   charge) / 16 (unused under tlsf_sizes) */
    uint32_t link;            /**< live: owner index << 1 | pinned */
} pool_slot_info;

_Static_assert(sizeof(pool_slot) == 16 || sizeof(void *) != 8, "pool_slot is 16 bytes on 64-bit targets");
_Static_assert(sizeof(pool_slot_info) == 16 || sizeof(void *) != 8, "pool_slot_info is 16 bytes on 64-bit targets");

/** Set in the handle word of a free or retired slot: a free slot keeps the
 * handle last freed from it negated, 0 - h (handles are in [1, 2^53), so
 * that has bit 63 set, and is never POOL_SLOT_RETIRED, which would negate
 * handle 1: generation 0, never issued). Freeing is one negation in place;
 * taking the slot gives gen_step - word, the next generation's handle. */
#define POOL_SLOT_FREE ((uint64_t)1 << 63)
/** The handle word of a retired slot (every generation was used). */
#define POOL_SLOT_RETIRED UINT64_MAX

MP_INLINE bool pool_slot_live(const pool_slot *s) { return (s->handle & POOL_SLOT_FREE) == 0; }
MP_INLINE uint32_t pool_info_owner(const pool_slot_info *i) { return i->link >> 1; }
MP_INLINE bool pool_info_pinned(const pool_slot_info *i) { return (i->link & 1u) != 0; }
MP_INLINE size_t pool_info_usable(const pool_slot_info *i) { return (size_t)i->usable_granules << POOL_GRANULE_SHIFT; }

/** One owner's record; kept until the pool is destroyed (its peak survives). */
/** One owner's record; kept until the pool is destroyed (its peak survives).
 * stats.block_count is not kept: it is alloc_count - free_count, filled in
 * when the stats are read. While the pool has exactly one record ("solo"),
 * its bytes_in_use, bytes_in_use_peak, alloc_count and free_count are not
 * kept either (they stay 0): they equal the pool's used_bytes,
 * peak_used_bytes, alloc_count and free_count, which stand in for them
 * (pool_owner_counters); pool_owner_get copies them into the record when a
 * second record appears. Owners keep no list of their blocks: the rare
 * per-owner walks (free_owner, owner_blocks) scan the handle table. */
typedef struct pool_owner {
    uint32_t id;
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
    /* What mp_pool_alloc / mp_pool_free read, in two cache lines (the pool
     * is allocated 64-byte aligned). The first holds what they only read:
     * set at create, and for a pool without MP_FLAG_THREAD_SAFE rewritten by
     * pool_fast_refresh; a thread-safe pool never writes them after create
     * (the fast paths read them before taking the lock). */
    _Alignas(64) MP_Tlsf *tlsf_only; /**< the backend when it is one TLSF and the alignment
                             is TLSF's own 16: the hot paths inline its
                             alloc and free (tlsf_hot.h); the pool keeps its
                             counters (TLSF_FLAG_OWNER_COUNTS) and every
                             allocation and free goes through
                             tlsf_alloc_owned / tlsf_free_owned */
    pool_slot *slots;           /**< the handle table, mapped for index_mask + 1
                                     entries (every index a handle can carry) */
    size_t fast_alloc_sizes;    /**< sizes 1 .. fast_alloc_sizes may take the
                                     fast path of owner fast_alloc_owner:
                                     max_request_bytes capped to the requests
                                     TLSF's front cache serves (pool_fast_sizes,
                                     so TLSF's own limit is not compared again)
                                     while the pool is not thread-safe, has one
                                     owner record and a fast_owner; else 0 */
    uint32_t fast_alloc_owner;  /**< fast_owner while fast_alloc_sizes is not 0,
                                     else 0: 32 bits, so the owner and the flags
                                     are tested in one comparison */
    uint64_t fast_free_end;     /**< last_gen_handle while the pool is not
                                     thread-safe, tlsf_sizes, has one owner
                                     record and nothing pinned, else 0: handles
                                     below it may take mp_pool_free's fast path
                                     (which tests this before it reads a slot;
                                     the table is mapped for every index, and a
                                     fresh slot, above high_water, is zero: it
                                     matches only handle 0, and its NULL block
                                     makes TLSF's fast free decline) */
    uint64_t index_mask;
    uint64_t gen_step;          /**< 1 << index_bits: h + gen_step is the next generation,
                                     gen_step - word a free slot's next handle */
    uint64_t last_gen_handle;   /**< pool_handle(0, gen_max): a handle of this pool at or
                                     above it has the last generation */

    /* The second line: what they write, and the pressure band. Order: the
     * fields an allocation updates (used, requested, free_top, alloc) are
     * never neighbours, nor are those a free updates (used, requested,
     * free_top, free): read-only or cold fields sit between them. Else the
     * compiler may update two with one 16-byte load, which cannot be
     * forwarded from the two 8-byte stores of the operation before it and
     * waits for them to reach the cache. The bytes in use are kept
     * relative to the band [pressure_down_bytes, pressure_down_bytes +
     * pressure_span_bytes) that keeps the pressure level and the peak (the
     * band ends at the level's upper threshold or at peak + 1, whichever is
     * lower): band_used_bytes = used - pressure_down_bytes (pool_used_bytes
     * adds them up). An allocation compares it once with the span, which
     * also catches a new peak; a free subtracts and tests the borrow (used
     * fell below the band); pool_pressure_update moves the band and the
     * peak and rebases the count. */
    _Alignas(64) size_t band_used_bytes;
    size_t pressure_down_bytes;
    size_t requested_bytes;
    size_t pressure_span_bytes;
    pool_slot *free_top;        /**< stack of free slots, NULL when empty */
    size_t peak_used_bytes;
    uint64_t alloc_count;
    uint64_t free_count;

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
    bool tag_held;              /**< `tag` is this pool's alone (pool.c: pool_tag_take) */
    uint32_t flags;
    MP_PoolStrategy strategy;
    unsigned index_bits;
    uint64_t gen_max;           /**< last usable generation; gen_max + 1 marks retired */
    uint64_t tag;               /**< this pool's handle tag, < 2^POOL_TAG_BITS */
    unsigned backend_count;
    bool tlsf_sizes;    /**< tlsf_only, and min_block_bytes is at most TLSF's
                             smallest usable size: the pool asks TLSF for
                             exactly the requested size, so a block's header
                             holds its usable and requested sizes (usable -
                             slack == size_bytes, kept across moves) and a
                             free takes them from there, not from the info */
    pool_backend backends[POOL_MAX_BACKENDS];

    /* handle table: mapped at full capacity, touched up to high_water;
     * slots and infos are parallel tables in one mapping */
    pool_slot_info *infos;
    size_t slots_map_bytes;
    uint32_t high_water;        /**< slots below were used at least once */

    /* owners: dense records plus an open-addressing index id -> record */
    pool_owner *owners;
    uint32_t owner_count;
    uint32_t owner_capacity;
    uint32_t *owner_hash;       /**< owner_hash_size entries, POOL_NIL = empty */
    uint32_t owner_hash_size;   /**< power of two, > 2 * owner_count */
    uint32_t owner_cache_id;    /**< last owner looked up ... */
    uint32_t owner_cache_index; /**< ... and its record, POOL_NIL if none */
    uint64_t fast_owner;        /**< owner_cache_id while mp_pool_alloc's fast path
                                     may serve it (pool_fast_ok), else UINT64_MAX
                                     (no owner id) */
    /* O(1) counters (the O(1) fields of MP_PoolStats; the hot ones are in
     * the second line above); the live block count is alloc_count -
     * free_count (pool_live_count) */
    size_t retired_count;
    uint64_t alloc_failure_count;
    uint64_t rejected_free_count;
    size_t pinned_count;
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

    /* pressure: the level (its band is in the second line) */
    MP_PressureLevel pressure_level;
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

/** Requested and usable bytes of the live block in slot `idx`: from its
 * info, or under tlsf_sizes from its TLSF header, validated as a free
 * validates it. False (nothing set) if that header does not validate (it
 * was overwritten: MP_ERR_CORRUPTION). */
MP_INLINE bool pool_slot_sizes(const MP_Pool *p, uint32_t idx, size_t *size, size_t *usable) {
    if (p->tlsf_sizes) {
        uint8_t *b;
        uint64_t w0;
        if (tlsf_used_block(&p->tlsf_only->env, p->slots[idx].ptr, &b, &w0) != MP_OK) return false;
        tlsf_w_sizes(w0, usable, size);
        return true;
    }
    *size = p->infos[idx].size_bytes;
    *usable = pool_info_usable(&p->infos[idx]);
    return true;
}

/** The info of slot `idx`. */
MP_INLINE pool_slot_info *pool_info_at(const MP_Pool *p, uint32_t idx) { return &p->infos[idx]; }

/** The info of slot `s`. */
MP_INLINE pool_slot_info *pool_info_of(const MP_Pool *p, const pool_slot *s) { return &p->infos[s - p->slots]; }

/** Bytes in use (MP_PoolStats.used_bytes): usable bytes of the live blocks.
 * Wrapping arithmetic: right also while band_used_bytes has wrapped. */
MP_INLINE size_t pool_used_bytes(const MP_Pool *p) { return p->pressure_down_bytes + p->band_used_bytes; }

/** Blocks allocated and not freed since. */
MP_INLINE size_t pool_live_count(const MP_Pool *p) { return (size_t)(p->alloc_count - p->free_count); }

/** True while the pool has one owner record, whose counters the pool's stand for. */
MP_INLINE bool pool_owner_solo(const MP_Pool *p) { return p->owner_count == 1; }

/** What fast_alloc_sizes holds: the largest size both the pool accepts
 * and tlsf_alloc_front may be asked for; 0 without a single TLSF. */
MP_INLINE size_t pool_fast_sizes(const MP_Pool *p) {
    if (p->tlsf_only == NULL) return 0;
    size_t sizes = p->tlsf_only->fast.alloc_sizes;
    return sizes < p->max_request_bytes ? sizes : p->max_request_bytes;
}

/** Recomputes fast_alloc_owner, fast_free_end and fast_alloc_sizes from what
 * they summarize: call after any change of fast_owner, owner_count or
 * pinned_count. A thread-safe pool's stay 0, 0 and 0 from create
 * on, never written again: mp_pool_alloc / mp_pool_free read them before
 * taking the lock. */
MP_INLINE void pool_fast_refresh(MP_Pool *p) {
    if (p->flags & MP_FLAG_THREAD_SAFE) return;
    bool single = pool_owner_solo(p);
    bool fast = single && p->fast_owner != UINT64_MAX;
    p->fast_alloc_owner = fast ? (uint32_t)p->fast_owner : 0;
    p->fast_alloc_sizes = fast ? pool_fast_sizes(p) : 0;
    p->fast_free_end = single && p->tlsf_sizes && p->pinned_count == 0 ? p->last_gen_handle : 0;
}

/** The stats of owner record `oi` as reported: the solo record's counters
 * from the pool's, the block count derived. */
MP_INLINE MP_PoolOwnerStats pool_owner_counters(const MP_Pool *p, uint32_t oi) {
    MP_PoolOwnerStats s = p->owners[oi].stats;
    if (pool_owner_solo(p)) {
        s.bytes_in_use = pool_used_bytes(p);
        s.bytes_in_use_peak = p->peak_used_bytes;
        s.alloc_count = p->alloc_count;
        s.free_count = p->free_count;
    }
    s.block_count = (size_t)(s.alloc_count - s.free_count);
    return s;
}

/* ------------------------------------------------------------------ handles */

MP_INLINE MP_Handle pool_handle(const MP_Pool *p, uint32_t index, uint64_t gen) {
    return (p->tag << POOL_PAYLOAD_BITS) | (gen << p->index_bits) | (uint64_t)index;
}

MP_INLINE uint64_t pool_handle_gen(const MP_Pool *p, MP_Handle h) { return (h >> p->index_bits) & p->gen_max; }

/** The generation of slot `s`: of its live block, or of the next one while
 * free (one above the last freed); gen_max + 1 once retired. */
MP_INLINE uint64_t pool_slot_gen(const MP_Pool *p, const pool_slot *s) {
    if (s->handle == POOL_SLOT_RETIRED) return p->gen_max + 1u;
    if (pool_slot_live(s)) return pool_handle_gen(p, s->handle);
    return pool_handle_gen(p, 0u - s->handle) + 1u;
}

/** Resolves `h` to a live slot index. MP_OK; MP_ERR_DOUBLE_FREE when `h` was
 * issued by this pool and its block freed since (stale); MP_ERR_INVALID_HANDLE
 * for handles never issued (forged, foreign, above 2^53). O(1). */
MP_INLINE MP_Status pool_resolve(const MP_Pool *p, MP_Handle h, uint32_t *index) {
    uint64_t idx = h & p->index_mask;
    if (MP_UNLIKELY(idx >= p->high_water)) return MP_ERR_INVALID_HANDLE;
    /* One comparison: a live slot holds exactly the handle it issued (tag,
     * generation, index); free and retired slots have bit 63 set, which no
     * handle has. */
    const pool_slot *s = &p->slots[idx];
    if (MP_LIKELY(s->handle == h)) {
        *index = (uint32_t)idx;
        return MP_OK;
    }
    /* Generations only grow, by one per free: every generation of this pool
     * below the slot's current one (live, free or retired) was handed out and
     * freed. Generation 0 is never issued; anything above 2^53 is no handle. */
    uint64_t gen = pool_handle_gen(p, h);
    bool ours = (h >> POOL_PAYLOAD_BITS) == p->tag && h == pool_handle(p, (uint32_t)idx, gen);
    return ours && gen != 0 && gen < pool_slot_gen(p, s) ? MP_ERR_DOUBLE_FREE : MP_ERR_INVALID_HANDLE;
}

/* ----------------------------------------------------------------- pressure */

/** Recomputes the pressure level after used_bytes left its band. Callers
 * compare the level before and after an operation and report a change with
 * pool_pressure_notify once the lock is released (several changes within one
 * operation are reported as their net effect). */
void pool_pressure_update(MP_Pool *p);

/** True if the bytes in use left their band: the current level's, capped
 * at the peak (so a new peak also leaves it); below it band_used_bytes has
 * wrapped around. */
MP_INLINE bool pool_pressure_left_band(const MP_Pool *p) { return p->band_used_bytes >= p->pressure_span_bytes; }

MP_INLINE void pool_pressure_check(MP_Pool *p) {
    if (MP_UNLIKELY(pool_pressure_left_band(p))) pool_pressure_update(p);
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
    if (p->tlsf_only != NULL) return tlsf_free_owned(p->tlsf_only, ptr);
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
MP_INLINE size_t pool_tlsf_usable_fresh(const uint8_t *ptr) {
    tlsf_hdr h = tlsf_hdr_read(ptr - TLSF_HDR_BYTES);
    return tlsf_bytes(h.size_granules) - TLSF_HDR_BYTES;
}

MP_INLINE size_t pool_be_usable_fresh(const MP_Pool *p, unsigned bi, const uint8_t *ptr) {
    if (p->backends[bi].kind == POOL_BE_TLSF) return pool_tlsf_usable_fresh(ptr);
    return pool_be_usable(p, bi, ptr);
}

/** Allocates from the backend the request routes to (falling back to the
 * other tiers under AUTO); sets `*bi`. NULL when none has room. */
MP_INLINE void *pool_be_take(const MP_Pool *p, size_t request_bytes, unsigned *bi) {
    if (MP_LIKELY(p->tlsf_only != NULL)) {
        *bi = 0;
        return tlsf_alloc_owned(p->tlsf_only, request_bytes).ptr;
    }
    if (MP_LIKELY(p->backend_count == 1)) {
        *bi = 0;
        return pool_be_alloc(p, 0, request_bytes);
    }
    return pool_be_take_auto(p, request_bytes, bi);
}

/** The backend holding the block at `ptr`: the backends own consecutive
 * slices of the region in index order. */
MP_INLINE unsigned pool_backend_of(const MP_Pool *p, const uint8_t *ptr) {
    if (MP_LIKELY(p->backend_count == 1)) return 0;
    return ptr < p->backends[1].lo ? 0u : ptr < p->backends[2].lo ? 1u : 2u;
}

/* -------------------------------------------------------------- pool_owner.c */

/** True if mp_pool_alloc's fast path may serve owner record `idx`: the pool
 * is one TLSF at its own alignment whose smallest block covers
 * min_block_bytes, and the owner has no limit. */
MP_INLINE bool pool_fast_ok(const MP_Pool *p, uint32_t idx) {
    return p->tlsf_sizes && p->owners[idx].stats.limit_bytes == 0;
}

/** Makes record `idx` (owner `id`) the cached one; see MP_Pool.fast_owner. */
MP_INLINE void pool_owner_cache_set(MP_Pool *p, uint32_t id, uint32_t idx) {
    p->owner_cache_id = id;
    p->owner_cache_index = idx;
    p->fast_owner = pool_fast_ok(p, idx) ? (uint64_t)id : UINT64_MAX;
    pool_fast_refresh(p);
}

/** Index of owner `id`'s record, or POOL_NIL. O(1) expected. */
uint32_t pool_owner_find(const MP_Pool *p, uint32_t id);
/** Index of owner `id`'s record, created if missing; MP_ERR_OUT_OF_MEMORY if
 * it cannot be created (nothing changed). */
MP_Status pool_owner_get(MP_Pool *p, uint32_t id, uint32_t *index);
void pool_owners_destroy(MP_Pool *p);

/* ------------------------------------------------------------------ freeing */

/** Frees the live block at `ptr` with its backend (any but a tlsf_sizes
 * TLSF); nothing changes on error. Out of line: it keeps the TLSF free path
 * short. */
MP_Status pool_be_release(const MP_Pool *p, uint8_t *ptr);

/** The part of a free that needs slot `idx`'s link (pool not solo, or some
 * block pinned): the owner's charge (`usable` bytes) and the pin count;
 * leaves the link 0 (the solo tlsf_sizes pool's invariant, see
 * pool_slot_info). */
void pool_release_link(MP_Pool *p, uint32_t idx, size_t usable);

/** Counts the release of a block of `usable` bytes (`requested` asked for);
 * true if the bytes in use fell below their band (band_used_bytes wrapped:
 * the subtraction's borrow). */
MP_INLINE bool pool_count_release(MP_Pool *p, size_t usable, size_t requested) {
    p->requested_bytes -= requested;
    p->free_count++;
    return __builtin_sub_overflow(p->band_used_bytes, usable, &p->band_used_bytes);
}

/** Pushes slot `s`, live with a generation left, on the free stack, its
 * handle negated (not live; see POOL_SLOT_FREE). */
MP_INLINE void pool_slot_push(MP_Pool *p, pool_slot *s) {
    s->handle = 0u - s->handle;
    s->next = p->free_top;
    p->free_top = s;
}

/** Frees the live block in slot `idx`: backend free, owner and pool
 * accounting, generation bump (or retirement). Pressure is checked by callers.
 * A backend refusal (corruption) is returned with nothing changed. */
MP_INLINE MP_Status pool_release_slot(MP_Pool *p, uint32_t idx) {
    pool_slot *s = &p->slots[idx];
    size_t usable, requested;
    MP_Status st;
    /* Over a TLSF whose headers hold the sizes, the common free (one owner
     * record, nothing pinned) reads no info: one line of the table, then the
     * block's header, as a raw TLSF free reads the header alone. */
    if (MP_LIKELY(p->tlsf_sizes)) {
        st = tlsf_free_sized(p->tlsf_only, s->ptr, &usable, &requested);
    } else {
        st = pool_be_release(p, s->ptr);
        usable = pool_info_usable(pool_info_at(p, idx));
        requested = pool_info_at(p, idx)->size_bytes;
    }
    if (MP_UNLIKELY(st != MP_OK)) return MP_ERR_CORRUPTION;
    if (MP_UNLIKELY(!pool_owner_solo(p) || p->pinned_count != 0)) pool_release_link(p, idx, usable);
    pool_count_release(p, usable, requested);
    /* Past gen_max the slot is retired (every generation was used) instead
     * of going back on the free stack. */
    if (MP_UNLIKELY(s->handle >= p->last_gen_handle)) {
        s->ptr = NULL;
        s->handle = POOL_SLOT_RETIRED;
        p->retired_count++;
    } else {
        pool_slot_push(p, s);
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
