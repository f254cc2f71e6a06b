/*
 * pool.c - the managed pool (mp_pool): blocks named by generation-checked
 * handles, charged to owners, pinnable and movable by compaction, on top of
 * any raw family (pool_backend.c). This file: layout, handles, lifecycle,
 * pressure, allocation and free; pinning and access by handle are in
 * pool_access.c, owners in pool_owner.c, compaction in pool_defrag.c,
 * check and stats in pool_inspect.c.
 *
 * Memory layout. The region (caller memory or one OS mapping) holds only the
 * backends' blocks. Everything else is out of band on the native heap:
 *   slots[]   the handle table, two parallel tables of max_blocks entries
 *   infos[]   of 16 bytes in one mapping (slots from half a page into it:
 *             POOL_SLOTS_COLOR_BYTES; infos from the next page on plus
 *             POOL_INFOS_COLOR_BYTES), touched lazily: entries [0,
 *             high_water) have been used; free slots form a stack through
 *             their `next`. A live slot holds its block's address and
 *             handle (what resolving a handle reads), its info the requested
 *             size, usable size in granules and owner index plus pin bit;
 *             its backend follows from the address. Over a single TLSF at
 *             its own alignment (MP_Pool.tlsf_sizes) the block's validated
 *             TLSF header keeps both sizes instead (TLSF records the usable
 *             size and usable - requested as slack, and keeps them across
 *             moves), and the info only the link, written for pinned blocks
 *             or once a second owner appears: the common allocation and
 *             free of such a pool touch one 16-byte slot and the block's
 *             header, as raw TLSF touches the header. An access reads the
 *             size from the header it validates; an overwritten header makes
 *             it MP_ERR_CORRUPTION, never an access past the block. Owners
 *             keep no list of their blocks; per-owner walks scan the table
 *             (pool_owner.c);
 *   owners[]  one record per owner id ever seen (pool_owner.c), found through
 *             an open-addressing hash index and a one-entry cache.
 *
 * Handles. handle = tag << 45 | generation << index_bits | index, below 2^53.
 * The tag (8 bits, not held by another live pool) makes handles of up to 256
 * pools alive at once mutually foreign. A slot's generation starts at 1 and
 * grows by one each time its block is freed, so the generations below the
 * current one are exactly those handed out and freed: a handle whose
 * generation is below the slot's is stale, and freeing it is a double free,
 * however often the slot was reused since. When a generation would exceed
 * 2^(45 - index_bits) - 1 the slot is retired instead of reused, so a handle
 * value is never issued twice and double free is always detected. The cost:
 * a pool can issue max_blocks * (2^(45 - index_bits) - 1) >= 2^44 - max_blocks
 * handles over its life (1.7e13: ten days of nonstop churn at 50 ns per
 * allocation); retired slots are counted in the stats, and allocation fails
 * with LIMIT_EXCEEDED once every slot is live or retired. A live slot keeps
 * its handle itself, so resolving a handle is one comparison (tag, generation
 * and index at once); a free slot keeps the last one negated.
 *
 * Charging. A request of n bytes asks the backend for max(n, min_block_bytes)
 * and is charged the usable size the backend reports, to the pool
 * (used_bytes) and to its owner; the owner's limit is checked against that
 * charge under the same lock that applies it. Accesses are bounded by n.
 * Derived rather than kept: the live block count (alloc_count - free_count),
 * each owner's block count, and while the pool has a single owner record its
 * bytes, peak and counts (the pool's; see pool_internal.h).
 *
 * Fast path. mp_pool_alloc serves the common case inline: one TLSF backend at
 * TLSF's own alignment, the cached owner without a limit (one comparison
 * with MP_Pool.fast_owner), a slot left. Over a single TLSF backend
 * (MP_Pool.tlsf_only) alloc and free compile TLSF's paths inline
 * (tlsf_hot.h: TLSF still validates every header it reads) and the pool's
 * counters are the only ones kept: that backend does not count blocks
 * (TLSF_FLAG_OWNER_COUNTS), and mp_pool_check compares a walk of its heap
 * with the pool's counters. Everything else takes the general path. Pools
 * without MP_FLAG_THREAD_SAFE run a copy of the hot paths with no lock
 * tests, and before it, in mp_pool_alloc / mp_pool_free themselves, the
 * commonest case written for few live values (no calls, a few register
 * saves): the only owner record, no flags and nothing pinned, a slot from
 * the free stack or back onto it, and a block from or into TLSF's front
 * cache (tlsf_alloc_front, tlsf_free_front). Each tests one precomputed
 * field per condition it can (fast_alloc_owner, fast_alloc_sizes: the
 * pool's and TLSF's size limits in one; fast_free_end: the handles below
 * the last generation, or none; the free stack's top is a slot pointer, so
 * neither path converts an index). Declining changes nothing, and the out-of-line
 * pool_alloc_entry / pool_free_entry run the operation from the start.
 *
 * Pressure. used_bytes / total_bytes gives low < 60% <= medium < 80% <= high
 * < 95% <= critical. The pool keeps the band of used_bytes that keeps the
 * current level and the peak (its upper end is peak + 1 if that is lower),
 * and the bytes in use relative to its lower end: an allocation compares
 * once with the band's span (a new level or a new peak), a free tests the
 * borrow of its subtraction; a level change is reported to the callback
 * after the lock is released.
 *
 * Invariants (mp_pool_check, pool_inspect.c): every live slot names a live
 * backend block of its recorded usable size (under tlsf_sizes: a valid used
 * TLSF header), inside the region and its backend's slice, aligned, holding
 * its own handle, no two slots the same block, and the backends hold no
 * other used block; free slots hold their last handle negated (a
 * generation below the last) and form one acyclic stack; live + free + retired =
 * high_water; per owner, the live slots naming it match its (derived) block
 * count and bytes; the O(1) counters equal the sums of the table (and, over
 * a single TLSF, the used blocks and usable bytes of its heap); the owner
 * cache, fast-path keys (fast_alloc_owner, fast_alloc_sizes,
 * fast_free_end), the pressure level and its band match their sources; a solo
 * tlsf_sizes pool's slots that are not live have link 0.
 *
 * Threads: with MP_FLAG_THREAD_SAFE every call runs under one spin lock
 * (backends are single-threaded under it); the pressure and automatic
 * compaction callbacks run after the lock is released.
 */
#include "pool_internal.h"
/* The slot table starts this far into its mapping. Both it and the region
 * are page aligned otherwise, so slot 0 and the region's first block share
 * their address bits below 4 KiB, and a load from one right after a store to
 * the other waits as if dependent (4K aliasing): it made an alloc + free
 * pair of 64 B take 33 ns instead of 20 (bench fixed64_pair, pool:tlsf). */
#define POOL_SLOTS_COLOR_BYTES ((size_t)2048)
/* The info table starts on the page after the slot table, this far into
 * it: slot i and info i (written together by an allocation, read together
 * by a free) then differ by 1 KiB in their address bits below 4 KiB, and
 * neither table shares them with the region's start. */
#define POOL_INFOS_COLOR_BYTES ((size_t)3072)
#define POOL_PAGE_BYTES ((size_t)4096)

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic uint32_t pool_tag_counter;
/* The tags of live pools, one bit each. A counter alone would hand a live
 * pool's tag to the pool created 2^POOL_TAG_BITS creations later, and the
 * handles of the two would resolve in each other. */
static _Atomic uint64_t pool_tags_live[(1u << POOL_TAG_BITS) / 64u];

/* Takes the first tag not in use from the counter on (round robin: a
 * released tag comes back as late as possible) and marks it live; with
 * every tag in use (more than 2^POOL_TAG_BITS pools alive) shares the
 * counter's tag and sets *held to false. One step per live pool at most. */
static uint64_t pool_tag_take(bool *held) {
    uint32_t mask = (1u << POOL_TAG_BITS) - 1u;
    uint32_t start = atomic_fetch_add_explicit(&pool_tag_counter, 1u, memory_order_relaxed);
    for (uint32_t i = 0; i <= mask; i++) {
        uint32_t tag = (start + i) & mask;
        uint64_t bit = (uint64_t)1 << (tag & 63u);
        if ((atomic_fetch_or_explicit(&pool_tags_live[tag >> 6], bit, memory_order_relaxed) & bit) == 0) {
            *held = true;
            return tag;
        }
    }
    *held = false;
    return start & mask;
}

static void pool_tag_release(const MP_Pool *p) {
    if (p->tag_held)
        atomic_fetch_and_explicit(&pool_tags_live[p->tag >> 6], ~((uint64_t)1 << (p->tag & 63u)),
                                  memory_order_relaxed);
}

/* The alloc path turns the validated flags into slot state and pin count by
 * arithmetic. */
_Static_assert(MP_ALLOC_PINNED == 1u, "MP_ALLOC_PINNED must be the only flag, bit 0");

/* Pressure thresholds: percent of total_bytes where medium, high and
 * critical begin. */
static const size_t pool_pressure_percent[3] = {60, 80, 95};

/* ----------------------------------------------------------------- pressure */

/* The upper end of the band of `level`: its upper threshold, or one past
 * the peak if that is lower (peak <= total_bytes: no overflow). */
static size_t pool_pressure_up(const MP_Pool *p, unsigned level) {
    size_t up = level == 3 ? SIZE_MAX : p->pressure_threshold_bytes[level];
    return up < p->peak_used_bytes + 1u ? up : p->peak_used_bytes + 1u;
}

/* ceil(total * pct / 100) without overflow. */
static size_t pool_percent_of(size_t total, size_t pct) {
    return total / 100 * pct + ((total % 100) * pct + 99) / 100;
}

void pool_pressure_update(MP_Pool *p) {
    size_t used = pool_used_bytes(p);
    if (used > p->peak_used_bytes) p->peak_used_bytes = used;
    unsigned level = 0;
    while (level < 3 && used >= p->pressure_threshold_bytes[level]) level++;
    p->pressure_down_bytes = level == 0 ? 0 : p->pressure_threshold_bytes[level - 1];
    p->pressure_span_bytes = pool_pressure_up(p, level) - p->pressure_down_bytes;
    p->band_used_bytes = used - p->pressure_down_bytes;
    p->pressure_level = (MP_PressureLevel)level;
}

MP_COLD void pool_pressure_notify(MP_Pool *p, MP_PressureLevel old_level, MP_PressureLevel new_level) {
    pool_lock(p);
    MP_PressureFn fn = p->pressure_fn;
    void *ctx = p->pressure_ctx;
    pool_unlock(p);
    if (fn != NULL) fn(p, old_level, new_level, ctx);
}

MP_PressureLevel mp_pool_pressure_level(const MP_Pool *pool) {
    if (pool == NULL) return MP_PRESSURE_LOW;
    pool_lock(pool);
    MP_PressureLevel level = pool->pressure_level;
    pool_unlock(pool);
    return level;
}

MP_Status mp_pool_set_pressure_callback(MP_Pool *pool, MP_PressureFn fn, void *ctx) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    pool_lock(pool);
    pool->pressure_fn = fn;
    pool->pressure_ctx = ctx;
    pool_unlock(pool);
    return MP_OK;
}

/* ---------------------------------------------------------------- lifecycle */

/* Validates `cfg` and fills the configuration fields of `p`. */
static MP_Status pool_configure(MP_Pool *p, const MP_PoolConfig *cfg) {
    if (cfg->pool_bytes < POOL_MIN_POOL_BYTES || (unsigned)cfg->strategy > MP_STRATEGY_AUTO)
        return MP_ERR_INVALID_ARGUMENT;
    if ((cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0) return MP_ERR_INVALID_ARGUMENT;
    if (cfg->region != NULL && ((uintptr_t)cfg->region & (POOL_BASE_ALIGNMENT - 1)) != 0)
        return MP_ERR_ALIGNMENT;
    size_t align = cfg->alignment < POOL_BASE_ALIGNMENT ? POOL_BASE_ALIGNMENT : cfg->alignment;
    if (cfg->alignment != 0 && !mp_is_pow2(cfg->alignment)) return MP_ERR_ALIGNMENT;
    if (align > POOL_MAX_ALIGNMENT) return MP_ERR_ALIGNMENT;
    double threshold = cfg->defrag_threshold == 0.0 ? POOL_DEFAULT_DEFRAG_THRESHOLD : cfg->defrag_threshold;
    if (!(threshold > 0.0 && threshold <= 1.0)) return MP_ERR_INVALID_ARGUMENT;
    p->min_block_bytes = cfg->min_block_bytes ? cfg->min_block_bytes : POOL_DEFAULT_MIN_BLOCK_BYTES;
    if (p->min_block_bytes > cfg->pool_bytes) return MP_ERR_INVALID_ARGUMENT;
    p->max_request_bytes = cfg->max_block_bytes ? cfg->max_block_bytes : SIZE_MAX;
    if (p->max_request_bytes < p->min_block_bytes && cfg->max_block_bytes != 0) return MP_ERR_INVALID_ARGUMENT;
    /* A block is never larger than the pool, so only pools above the slots'
     * 32 GiB block limit need the cap. */
    if ((uint64_t)cfg->pool_bytes > POOL_MAX_REQUEST_BYTES && (uint64_t)p->max_request_bytes > POOL_MAX_REQUEST_BYTES)
        p->max_request_bytes = (size_t)POOL_MAX_REQUEST_BYTES;
    p->auto_small_max_bytes = cfg->auto_small_max_bytes ? cfg->auto_small_max_bytes : 256u;
    p->auto_medium_max_bytes = cfg->auto_medium_max_bytes ? cfg->auto_medium_max_bytes : 65536u;
    if (p->auto_small_max_bytes >= p->auto_medium_max_bytes) return MP_ERR_INVALID_ARGUMENT;
    size_t max_blocks = cfg->max_blocks ? cfg->max_blocks : cfg->pool_bytes / p->min_block_bytes;
    if (max_blocks > POOL_MAX_BLOCKS) {
        if (cfg->max_blocks != 0) return MP_ERR_INVALID_ARGUMENT;
        max_blocks = POOL_MAX_BLOCKS;
    }
    p->max_blocks = max_blocks;
    p->index_bits = max_blocks <= 1 ? 1u : mp_log2_floor(max_blocks - 1) + 1u;
    p->index_mask = ((uint64_t)1 << p->index_bits) - 1u;
    p->gen_max = ((uint64_t)1 << (POOL_PAYLOAD_BITS - p->index_bits)) - 1u;
    p->total_bytes = cfg->pool_bytes;
    p->alignment = align;
    p->strategy = cfg->strategy;
    p->defrag_enabled = cfg->defrag_enabled != 0;
    p->defrag_threshold = threshold;
    p->flags = cfg->flags;
    p->pressure_fn = cfg->pressure_fn;
    p->pressure_ctx = cfg->pressure_ctx;
    p->auto_defrag_fn = cfg->auto_defrag_fn;
    p->auto_defrag_ctx = cfg->auto_defrag_ctx;
    return MP_OK;
}

MP_Pool *mp_pool_create_ex(const MP_PoolConfig *cfg) {
    if (cfg == NULL) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
        return NULL;
    }
    /* 64-byte aligned: the fast paths' fields fill the first two lines. */
    MP_Pool *p = aligned_alloc(64, sizeof *p); /* a multiple of 64: the struct's alignment */
    if (p == NULL) {
        mp_fail(MP_ERR_OUT_OF_MEMORY, sizeof *p, 0, 0);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    MP_Status st = pool_configure(p, cfg);
    if (st != MP_OK) {
        free(p);
        mp_fail(st, cfg->pool_bytes, 0, 0);
        return NULL;
    }
    mp_lock_init(&p->lock);
    p->tag = pool_tag_take(&p->tag_held);
    p->gen_step = (uint64_t)1 << p->index_bits;
    p->last_gen_handle = pool_handle(p, 0, p->gen_max);
    p->owner_cache_index = POOL_NIL;
    p->fast_owner = UINT64_MAX;
    p->fast_alloc_owner = 0; /* no owner record yet: pool_fast_refresh */
    p->fast_free_end = 0;
    p->fast_alloc_sizes = 0;
    p->futile_defrag_free_count = UINT64_MAX;
    for (unsigned i = 0; i < 3; i++)
        p->pressure_threshold_bytes[i] = pool_percent_of(p->total_bytes, pool_pressure_percent[i]);
    p->pressure_span_bytes = pool_pressure_up(p, 0); /* level 0: the band starts at 0 */
    /* Slots for every index a handle can carry (index_mask + 1 <= 2 *
     * max_blocks, mapped lazily): mp_pool_free's fast path reads the slot
     * of any handle below fast_free_end without comparing its index. */
    size_t infos_at = mp_align_up(POOL_SLOTS_COLOR_BYTES + ((size_t)p->index_mask + 1u) * sizeof(pool_slot),
                                  POOL_PAGE_BYTES) +
                      POOL_INFOS_COLOR_BYTES;
    p->slots_map_bytes = infos_at + p->max_blocks * sizeof(pool_slot_info);
    p->slots = mp_os_map(p->slots_map_bytes);
    st = p->slots != NULL ? MP_OK : MP_ERR_OUT_OF_MEMORY;
    if (st == MP_OK) {
        p->infos = (pool_slot_info *)((uint8_t *)p->slots + infos_at);
        p->slots = (pool_slot *)((uint8_t *)p->slots + POOL_SLOTS_COLOR_BYTES);
    }
    if (st == MP_OK) {
        p->region = cfg->region;
        if (p->region == NULL) {
            p->region = mp_os_map(p->total_bytes);
            p->region_mapped = true;
            if (p->region == NULL) st = MP_ERR_OUT_OF_MEMORY;
        }
    }
    if (st == MP_OK) st = pool_backends_create(p, cfg);
    if (st != MP_OK) {
        if (p->region_mapped && p->region != NULL) mp_os_unmap(p->region, p->total_bytes);
        if (p->slots != NULL) mp_os_unmap((uint8_t *)p->slots - POOL_SLOTS_COLOR_BYTES, p->slots_map_bytes);
        pool_tag_release(p);
        free(p);
        mp_fail(st, cfg->pool_bytes, 0, 0);
        return NULL;
    }
    pool_fast_refresh(p); /* fast_alloc_sizes depends on the backend */
    return p;
}

MP_Pool *mp_pool_create(size_t pool_bytes, MP_PoolStrategy strategy) {
    MP_PoolConfig cfg = {.pool_bytes = pool_bytes, .strategy = strategy, .defrag_enabled = 1};
    return mp_pool_create_ex(&cfg);
}

void mp_pool_destroy(MP_Pool *pool) {
    if (pool == NULL) return;
    pool_backends_destroy(pool);
    pool_owners_destroy(pool);
    mp_os_unmap((uint8_t *)pool->slots - POOL_SLOTS_COLOR_BYTES, pool->slots_map_bytes);
    if (pool->region_mapped) mp_os_unmap(pool->region, pool->total_bytes);
    pool_tag_release(pool);
    free(pool);
}

void *mp_pool_base(const MP_Pool *pool) { return pool != NULL ? pool->region : NULL; }

/* --------------------------------------------------------------- allocation */

/* What mp_pool_alloc reports once the lock is released: the pressure level
 * before the call, plus POOL_SIGNAL_AUTO_DEFRAG if the call ran an automatic
 * pass (whose result is then in `pass`). The flag lives in the word the hot
 * path already compares with the level after the call, so noticing a pass
 * costs the common case nothing. */
#define POOL_SIGNAL_AUTO_DEFRAG 0x100u
typedef struct pool_alloc_signal {
    unsigned level;
    MP_DefragResult pass;
} pool_alloc_signal;

/* The allocation failed in every backend: compact if enabled and worthwhile
 * (enough free bytes, fragmentation at or above the threshold, and something
 * was freed since the last automatic pass that did not help: without a free
 * the free space only shrank, so another pass cannot do better), then retry
 * once. Returns the block or NULL with `*figures` describing the free space. */
MP_COLD static void *pool_alloc_slow(MP_Pool *p, size_t request, unsigned *bi, pool_free_figures *figures,
                                     pool_alloc_signal *signal) {
    pool_free_figures_get(p, figures);
    if (!p->defrag_enabled || figures->free_bytes < request || figures->fragmentation < p->defrag_threshold ||
        p->free_count == p->futile_defrag_free_count)
        return NULL;
    p->auto_defrag_count++;
    memset(&p->last_auto_defrag, 0, sizeof p->last_auto_defrag); /* stays zero if the pass cannot start */
    MP_Status st = pool_defrag_locked(p, 0, true, &p->last_auto_defrag);
    signal->level |= POOL_SIGNAL_AUTO_DEFRAG;
    signal->pass = p->last_auto_defrag;
    if (st != MP_OK) return NULL;
    void *ptr = pool_be_take(p, request, bi);
    if (ptr == NULL) {
        p->futile_defrag_free_count = p->free_count;
        pool_free_figures_get(p, figures);
    }
    return ptr;
}

MP_COLD static MP_Status pool_alloc_refused(MP_Pool *p, MP_Status st, size_t size, pool_owner *o) {
    p->alloc_failure_count++;
    if (st == MP_ERR_LIMIT_EXCEEDED && o != NULL) o->stats.limit_failure_count++;
    return mp_fail(st, size, p->total_bytes - pool_used_bytes(p), 0);
}

/* The part of an allocation into slot `idx` that writes its info: the
 * sizes unless tlsf_sizes, the link (owner record `oi`, pin flag), and the
 * owner's counters when the pool is not solo. Out of line: the common
 * allocation of a solo tlsf_sizes pool writes no info. */
static MP_NOINLINE void pool_commit_info(MP_Pool *p, uint32_t idx, uint32_t oi, size_t size, size_t usable,
                                         uint32_t flags) {
    pool_slot_info *info = pool_info_at(p, idx);
    if (!p->tlsf_sizes) {
        info->size_bytes = size;
        info->usable_granules = (uint32_t)(usable >> POOL_GRANULE_SHIFT);
    }
    info->link = oi << 1 | flags; /* flags is 0 or MP_ALLOC_PINNED (1) */
    if (!pool_owner_solo(p)) {
        pool_owner *o = &p->owners[oi];
        o->stats.bytes_in_use += usable;
        if (o->stats.bytes_in_use > o->stats.bytes_in_use_peak) o->stats.bytes_in_use_peak = o->stats.bytes_in_use;
        o->stats.alloc_count++;
    }
}

/* Takes the top slot of the free stack (not empty) for the block at `ptr`:
 * its handle, the slot in *slot. */
MP_INLINE MP_Handle pool_slot_pop(MP_Pool *p, uint8_t *ptr, pool_slot **slot) {
    pool_slot *s = p->free_top;
    *slot = s;
    p->free_top = s->next;
    MP_Handle h = p->gen_step - s->handle; /* -word = the last handle, plus a generation */
    s->ptr = ptr;
    s->handle = h;
    return h;
}

/* Counts a new block of `usable` bytes (`size` asked for); true if
 * used_bytes left its pressure band, upwards (used only grew): a new level
 * or a new peak, which the caller's pool_pressure_update records. */
MP_INLINE bool pool_count_alloc(MP_Pool *p, size_t size, size_t usable) {
    size_t used = p->band_used_bytes + usable;
    p->band_used_bytes = used;
    p->requested_bytes += size;
    p->alloc_count++;
    return used >= p->pressure_span_bytes;
}

/* Takes a slot for the block `ptr` just allocated (the caller checked one
 * is left), charges it to owner record `oi` and the pool and stores the new
 * handle in `*out`. True if the bytes in use left their pressure band (the
 * caller then updates the level and the peak). */
MP_INLINE bool pool_commit(MP_Pool *p, uint32_t oi, uint8_t *ptr, size_t size, size_t usable, uint32_t flags,
                           MP_Handle *out) {
    uint32_t idx;
    MP_Handle h;
    if (MP_LIKELY(p->free_top != NULL)) {
        pool_slot *s;
        h = pool_slot_pop(p, ptr, &s);
        idx = (uint32_t)(s - p->slots);
    } else {
        idx = p->high_water++;
        h = pool_handle(p, idx, 1);
        p->slots[idx].ptr = ptr;
        p->slots[idx].handle = h;
    }
    /* Under tlsf_sizes the header keeps the sizes, and a solo pool's
     * unpinned block has link 0 already (see pool_slot_info). */
    if (MP_UNLIKELY(!p->tlsf_sizes || flags != 0 || !pool_owner_solo(p)))
        pool_commit_info(p, idx, oi, size, usable, flags);
    if (MP_UNLIKELY(flags != 0)) {
        p->pinned_count += flags;
        pool_fast_refresh(p);
    }
    *out = h;
    return pool_count_alloc(p, size, usable);
}

/* True if a slot is left for one more block. */
MP_INLINE bool pool_slot_left(const MP_Pool *p) { return p->free_top != NULL || p->high_water != p->max_blocks; }

/* The general allocation, lock held. `retry_only`: the fast path's
 * allocation from the TLSF backend failed just now, so only the slow path
 * (compaction, failure report) is left. */
static MP_Status pool_alloc_locked(MP_Pool *p, size_t size, uint32_t owner, uint32_t flags, MP_Handle *out,
                                   pool_alloc_signal *signal, bool retry_only) {
    /* size - 1 wraps for 0, so one comparison catches both bad sizes. */
    if (MP_UNLIKELY(size - 1 >= p->max_request_bytes || (flags & ~MP_ALLOC_PINNED) != 0)) {
        MP_Status st = size == 0 || (flags & ~MP_ALLOC_PINNED) != 0 ? MP_ERR_INVALID_ARGUMENT : MP_ERR_LIMIT_EXCEEDED;
        return pool_alloc_refused(p, st, size, NULL);
    }
    uint32_t oi = p->owner_cache_index;
    if (MP_UNLIKELY(oi == POOL_NIL || p->owner_cache_id != owner)) {
        MP_Status st = pool_owner_get(p, owner, &oi);
        if (st != MP_OK) return pool_alloc_refused(p, st, size, NULL);
    }
    pool_owner *o = &p->owners[oi];
    size_t request = size < p->min_block_bytes ? p->min_block_bytes : size;
    size_t limit = o->stats.limit_bytes;
    size_t in_use = 0; /* the owner's bytes in use, read only when it has a limit */
    if (MP_UNLIKELY(limit != 0)) {
        in_use = pool_owner_solo(p) ? pool_used_bytes(p) : o->stats.bytes_in_use;
        if (in_use > limit || request > limit - in_use) return pool_alloc_refused(p, MP_ERR_LIMIT_EXCEEDED, size, o);
    }
    if (MP_UNLIKELY(!pool_slot_left(p))) return pool_alloc_refused(p, MP_ERR_LIMIT_EXCEEDED, size, o);
    unsigned bi = 0;
    /* tlsf_sizes: TLSF gets the size itself (the same block as for
     * `request`), so the block's header records it. */
    size_t ask = p->tlsf_sizes ? size : request;
    uint8_t *ptr = retry_only ? NULL : pool_be_take(p, ask, &bi);
    if (MP_UNLIKELY(ptr == NULL)) {
        pool_free_figures f;
        ptr = pool_alloc_slow(p, ask, &bi, &f, signal);
        if (ptr == NULL) {
            p->alloc_failure_count++;
            return mp_fail(MP_ERR_OUT_OF_MEMORY, size, f.free_bytes, f.largest_free_block_bytes);
        }
    }
    size_t usable = pool_be_usable_fresh(p, bi, ptr);
    if (MP_UNLIKELY(limit != 0 && usable > limit - in_use)) {
        pool_be_free(p, bi, ptr);
        return pool_alloc_refused(p, MP_ERR_LIMIT_EXCEEDED, size, o);
    }
    if (pool_commit(p, oi, ptr, size, usable, flags, out)) pool_pressure_update(p);
    return MP_OK;
}

/* Runs the callbacks of an allocation, outside the lock: the automatic
 * pass's first (it happened first), then the pressure change. */
MP_COLD static void pool_alloc_notify(MP_Pool *p, const pool_alloc_signal *signal, MP_PressureLevel after) {
    if (signal->level & POOL_SIGNAL_AUTO_DEFRAG) {
        pool_lock(p);
        MP_AutoDefragFn fn = p->auto_defrag_fn;
        void *ctx = p->auto_defrag_ctx;
        pool_unlock(p);
        if (fn != NULL) fn(p, &signal->pass, ctx);
    }
    MP_PressureLevel before = (MP_PressureLevel)(signal->level & ~POOL_SIGNAL_AUTO_DEFRAG);
    if (after != before) pool_pressure_notify(p, before, after);
}

/* The bytes in use left their band (a new level, or a new peak) during an
 * operation that succeeded: recomputes the level, the peak and the band,
 * releases the lock and reports a level change. */
MP_COLD static MP_NOINLINE MP_Status pool_unlock_after_band_left(MP_Pool *p) {
    MP_PressureLevel before = p->pressure_level;
    pool_pressure_update(p);
    MP_PressureLevel after = p->pressure_level;
    pool_unlock(p);
    if (after != before) pool_pressure_notify(p, before, after);
    return MP_OK;
}

/* The general path of mp_pool_alloc: lock held on entry, released here. */
static MP_NOINLINE MP_Status pool_alloc_general(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags,
                                                MP_Handle *out, bool retry_only) {
    pool_alloc_signal signal;
    signal.level = (unsigned)pool->pressure_level;
    MP_Status st = pool_alloc_locked(pool, size, owner, flags, out, &signal, retry_only);
    unsigned after = (unsigned)pool->pressure_level;
    pool_unlock(pool);
    if (MP_UNLIKELY(after != signal.level)) pool_alloc_notify(pool, &signal, (MP_PressureLevel)after);
    return st;
}

/* Lock and unlock on the hot paths, compiled once with and once without
 * (`locked` is a constant there); cold paths use pool_lock/pool_unlock. */
MP_INLINE void pool_lock_if(MP_Pool *p, bool locked) {
    if (locked) mp_lock_acquire(&p->lock);
}

MP_INLINE void pool_unlock_if(MP_Pool *p, bool locked) {
    if (locked) mp_lock_release(&p->lock);
}

/* The fast path covers the common case: one TLSF backend at its own
 * alignment and the cached owner without a limit (both in one comparison
 * with fast_owner), a valid size and flags, a slot left. Anything else, and
 * a failed TLSF allocation, goes the general way. */
MP_INLINE MP_Status pool_alloc_body(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags, MP_Handle *out,
                                    bool locked) {
    pool_lock_if(pool, locked);
    if (MP_UNLIKELY((uint64_t)owner != pool->fast_owner || size - 1 >= pool->max_request_bytes ||
                    flags > MP_ALLOC_PINNED || !pool_slot_left(pool)))
        return pool_alloc_general(pool, size, owner, flags, out, false);
    /* fast_owner implies min_block_bytes <= TLSF's smallest usable size, so
     * `size` gets the same block as max(size, min_block_bytes) would. */
    tlsf_grant g = tlsf_alloc_owned(pool->tlsf_only, size);
    /* The owner and its record are the cached ones: reloaded rather than kept
     * across the call (fewer registers to save). */
    if (MP_UNLIKELY(g.ptr == NULL)) return pool_alloc_general(pool, size, pool->owner_cache_id, flags, out, true);
    if (MP_UNLIKELY(pool_commit(pool, pool->owner_cache_index, g.ptr, size, g.usable_bytes, flags, out)))
        return pool_unlock_after_band_left(pool);
    pool_unlock_if(pool, locked);
    return MP_OK;
}

static MP_NOINLINE MP_Status pool_alloc_locked_body(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags,
                                                    MP_Handle *out) {
    return pool_alloc_body(pool, size, owner, flags, out, true);
}

/* mp_pool_alloc when its fast path below declines: out of line, so the
 * fast path calls nothing and saves no registers. */
static MP_NOINLINE MP_Status pool_alloc_entry(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags,
                                              MP_Handle *out) {
    if (MP_UNLIKELY(pool == NULL || out == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    if (pool->flags & MP_FLAG_THREAD_SAFE) return pool_alloc_locked_body(pool, size, owner, flags, out);
    return pool_alloc_body(pool, size, owner, flags, out, false);
}

/* The commit of mp_pool_alloc's fast path: pool_commit's info-free case
 * (solo owner record, no flags) with a slot from the free stack. */
MP_INLINE MP_Status pool_fast_commit(MP_Pool *pool, uint8_t *ptr, size_t size, size_t usable,
                                     MP_Handle *out) {
    pool_slot *s;
    *out = pool_slot_pop(pool, ptr, &s);
    /* No lock is held: the fast paths run only without MP_FLAG_THREAD_SAFE. */
    if (MP_UNLIKELY(pool_count_alloc(pool, size, usable))) return pool_unlock_after_band_left(pool);
    return MP_OK;
}

/* mp_pool_alloc's fast path once TLSF's front cache declined: everything
 * else it tested still holds (no flags, the fast owner, the only record, a
 * free slot, no lock), so only TLSF's full allocation is left, then the
 * same commit; if that fails too, the general path's retry. */
static MP_NOINLINE MP_Status pool_alloc_declined(MP_Pool *pool, size_t size, bool missed, MP_Handle *out) {
    /* A clean miss (tlsf_alloc_front) goes straight to the list search. */
    tlsf_grant g = missed ? tlsf_alloc_owned_from(pool->tlsf_only, size, 0) : tlsf_alloc_owned(pool->tlsf_only, size);
    if (MP_UNLIKELY(g.ptr == NULL)) return pool_alloc_general(pool, size, pool->fast_alloc_owner, 0, out, true);
    return pool_fast_commit(pool, g.ptr, size, g.usable_bytes, out);
}

/* The commonest allocation in the fewest registers: a pool without
 * MP_FLAG_THREAD_SAFE, the fast owner (one TLSF backend holding the sizes,
 * the cached owner, no limit), the only owner record, no flags, a free slot
 * on the stack, and a block from TLSF's front cache (tlsf_alloc_front). That
 * is pool_alloc_body with pool_commit's info-free case; anything else,
 * having changed nothing, runs pool_alloc_entry from the start. */
MP_Status mp_pool_alloc(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags, MP_Handle *out) {
    if (MP_LIKELY(pool != NULL && out != NULL) &&
        MP_LIKELY(((owner ^ pool->fast_alloc_owner) | flags) == 0 && size - 1 < pool->fast_alloc_sizes &&
                  pool->free_top != NULL)) {
        size_t usable;
        bool missed = false;
        uint8_t *ptr = tlsf_alloc_front(pool->tlsf_only, size, &usable, &missed);
        if (MP_LIKELY(ptr != NULL)) return pool_fast_commit(pool, ptr, size, usable, out);
        return pool_alloc_declined(pool, size, missed, out);
    }
    return pool_alloc_entry(pool, size, owner, flags, out);
}

MP_INLINE MP_Status pool_free_body(MP_Pool *pool, bool check_owner, uint32_t owner, MP_Handle handle, bool locked) {
    uint32_t idx;
    pool_lock_if(pool, locked);
    MP_Status st = pool_resolve(pool, handle, &idx);
    if (MP_LIKELY(st == MP_OK) && check_owner && pool->owners[pool_info_owner(pool_info_at(pool, idx))].id != owner)
        st = MP_ERR_PROTECTION;
    if (MP_LIKELY(st == MP_OK)) st = pool_release_slot(pool, idx);
    if (MP_UNLIKELY(st != MP_OK)) {
        pool->rejected_free_count++;
        pool_unlock_if(pool, locked);
        return mp_fail(st, 0, 0, 0);
    }
    if (MP_UNLIKELY(pool_pressure_left_band(pool))) return pool_unlock_after_band_left(pool);
    pool_unlock_if(pool, locked);
    return MP_OK;
}

static MP_NOINLINE MP_Status pool_free_locked_body(MP_Pool *pool, bool check_owner, uint32_t owner,
                                                   MP_Handle handle) {
    return pool_free_body(pool, check_owner, owner, handle, true);
}

MP_INLINE MP_Status pool_free_common(MP_Pool *pool, bool check_owner, uint32_t owner, MP_Handle handle) {
    if (MP_UNLIKELY(pool == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    if (pool->flags & MP_FLAG_THREAD_SAFE) return pool_free_locked_body(pool, check_owner, owner, handle);
    return pool_free_body(pool, check_owner, owner, handle, false);
}

/* The end of mp_pool_free's fast path: the block in slot `s` (of `usable`
 * bytes, `requested` asked for) is back in TLSF; counts it and puts the
 * slot on the free stack. */
MP_INLINE MP_Status pool_free_finish(MP_Pool *pool, pool_slot *s, size_t usable, size_t requested) {
    /* The bytes in use only fell: only the band's lower end can be passed. */
    pool_slot_push(pool, s);
    if (MP_UNLIKELY(pool_count_release(pool, usable, requested))) return pool_unlock_after_band_left(pool);
    return MP_OK;
}

/* mp_pool_free's fast path once TLSF's front cache declined the block of
 * slot `s`, which tlsf_free_front validated (at `b`, header word `w0`):
 * everything else it tested still holds (the live slot of the handle with
 * a generation left, the only record, nothing pinned, no lock), so only
 * TLSF's coalescing free is left; neighbours it refuses are counted as the
 * general path counts them (rejected_free_count, MP_ERR_CORRUPTION). */
static MP_NOINLINE MP_Status pool_free_validated(MP_Pool *pool, pool_slot *s, uint8_t *b, uint64_t w0) {
    size_t usable, requested;
    if (MP_UNLIKELY(tlsf_release_at(pool->tlsf_only, b, w0, &usable, &requested) != MP_OK)) {
        pool->rejected_free_count++;
        return mp_fail(MP_ERR_CORRUPTION, 0, 0, 0);
    }
    return pool_free_finish(pool, s, usable, requested);
}

/* mp_pool_free when its fast path below declines. */
static MP_NOINLINE MP_Status pool_free_entry(MP_Pool *pool, MP_Handle handle) {
    return pool_free_common(pool, false, 0, handle);
}

/* The commonest free in the fewest registers: a pool without
 * MP_FLAG_THREAD_SAFE over one TLSF holding the sizes, the only owner
 * record, nothing pinned (so no link to clear), the live slot of `handle`
 * with a generation left, and a block TLSF's front cache takes
 * (tlsf_free_front; a valid block it does not take goes straight to
 * TLSF's coalescing free). That is pool_release_slot's common case; anything else,
 * having changed nothing, runs pool_free_entry from the start. */
MP_Status mp_pool_free(MP_Pool *pool, MP_Handle handle) {
    /* fast_free_end is compared first: it is 0 for a thread-safe pool, whose
     * slots must not be read before the lock is taken. */
    if (MP_LIKELY(pool != NULL && handle < pool->fast_free_end)) {
        pool_slot *s = &pool->slots[handle & pool->index_mask];
        size_t usable, requested;
        uint8_t *b;
        uint64_t w0;
        if (MP_LIKELY(s->handle == handle)) {
            tlsf_front_free r = tlsf_free_front(pool->tlsf_only, s->ptr, &b, &w0, &usable, &requested);
            if (MP_LIKELY(r == TLSF_FREE_CACHED)) return pool_free_finish(pool, s, usable, requested);
            /* Validated once: the coalescing free needs no second look. A
             * refused block runs the general path, which reports it. */
            if (r == TLSF_FREE_VALIDATED) return pool_free_validated(pool, s, b, w0);
        }
    }
    return pool_free_entry(pool, handle);
}

MP_Status mp_pool_free_as(MP_Pool *pool, uint32_t owner, MP_Handle handle) {
    return pool_free_common(pool, true, owner, handle);
}
