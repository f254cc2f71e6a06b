/*
 * fixed_pool.c - pool of equal-sized slots: O(1) alloc and free.
 *
 * Algorithm. The region is an array of `capacity` slots, `slot_size_bytes`
 * apart (the stride: object_size rounded up to the alignment, padded as
 * below). A free slot is found in one of three places: below the
 * high-water index, the hand (one freed slot held apart) or a LIFO list of
 * free slots; or at/above the high water, never handed out since create or
 * reset (lazy init: create touches no slot, reset is O(1) plus poisoning). Alloc takes the hand, else pops the list,
 * else takes the high-water slot; free checks, then puts the slot in the
 * hand if it is empty, else on top of the list (pushing the new slot, whose
 * index free has computed anyway, not the hand's: no second pointer-to-index
 * step).
 *
 * Why a hand. A pair alloc+free of the same slot then moves one pointer
 * between the hand and the caller: the loop-carried chain is one store and
 * one load of a field at a fixed place, which the CPU forwards (or renames),
 * while the index arithmetic and the in-use test hang off it. A stack or a
 * list alone puts the multiply of pointer <-> index and a second
 * store-to-load round trip (the stack top, or the list head through `link`)
 * on that chain (scratch variants on the bench machine: 1.8-3.3 ns per pair
 * against 1.4 with the hand, floor 1.1).
 *
 * State of slot i of a single-threaded pool, out of band in `link` (one
 * uint32 per slot, the only per-slot metadata): i >= high water: never
 * handed out, link[i] meaningless (limits equal the high water, so the
 * inline free refuses such slots with its range test); else
 * link[i] == MP_FIXED_LINK_IN_USE: in use, or free in a hand;
 * otherwise free on the list, link[i] = next free index (i itself at the
 * end). So a double free is always seen: link says free, or the slot is the
 * hand. Thread-safe pools keep their own structures (below).
 *
 * Memory layout. Slots hold user data only. One metadata block (64-byte
 * aligned) holds this control block, then one uint32 per slot (`link`; on
 * a thread-safe pool the `next` links of a lock-free stack, followed by the
 * allocation bitmap, 1 = in use) and a scratch bitmap that only check()
 * writes.
 *   create     one OS mapping: slots at its page-aligned start, metadata after
 *              them at a half-page offset (so slot 0, the slot a fresh pool
 *              hands out first and a pair loop reuses, does not 4K-alias the
 *              control block), so trim's whole pages of slots never reach it;
 *   create_ex  slots in cfg->region (base aligned up inside it), metadata from
 *              aligned_alloc;
 *   create_in  metadata at the first 64-byte boundary of the caller memory,
 *              slots at the next `alignment` boundary after it.
 *
 * Stride. A power-of-two stride of MP_FIXED_PAD_MIN_STRIDE (1 KiB) or more
 * starts every slot at the same offset modulo the caches' set stride, so the
 * first lines of many slots (headers, or all a caller touches of a fresh
 * block) compete for a few cache sets: 4 KiB slots use 1/64 of an L1 or L2's
 * sets. Such a stride gets MP_FIXED_PAD_BYTES (one cache line) more, which
 * spreads consecutive slots over every set, for <= 6.25 % of the region
 * (cachegrind, 1 MiB 8-way L2 model, bench/js/gc_mixed.mjs's FixedPool
 * loop: 0.85 -> 0.05 L2 data misses per op). Not when the alignment exceeds the pad (a 64-byte pad
 * would break it): an explicit alignment > 64, e.g. 4096 for page-aligned
 * slots, keeps the power-of-two stride. slot_size_bytes reports the stride.
 *
 * Address -> slot without division. stride = d0 * 2^k with d0 odd. For the
 * offset n = ptr - base (modulo 2^W), rotr(n * inverse(d0), k) is n / stride
 * when stride divides n, and exceeds (2^W - 1) / stride >= capacity when it
 * does not (divisibility by the modular inverse, Hacker's Delight 10-17). So
 * one multiply and one rotate give the index, and `index < capacity` alone
 * rejects foreign, interior and NULL pointers, for any region size. For a
 * power-of-two stride the inverse is 1 and the rotate is the shift.
 *
 * Free of a slot at/above the high water is MP_ERR_INVALID_ADDRESS (never
 * handed out since the last reset), of a free slot below it
 * MP_ERR_DOUBLE_FREE. A pointer kept across a reset is therefore refused with
 * one of the two, unless its slot was handed out again: then it names that
 * new allocation (no allocator without per-pointer tags can tell them apart).
 *
 * Inline fast path. The control block begins with MP_FixedPoolHot (public
 * header): everything the single-threaded hand paths touch, on one cache
 * line, then what the list path adds. mp_fixed_pool_alloc_inline /
 * _free_inline in the header run those paths in the caller's code and call
 * the functions below for everything else. Its two limits gate them:
 * `inline_limit` (callers built without a sanitizer) is the high water on a
 * single-threaded pool of a library built without one, `sanitized_limit`
 * (callers built with the library's sanitizer, which poison the same way)
 * the high water on any single-threaded pool; both are 0 on thread-safe and
 * destroyed pools. This library's paths use hand[MP_FIXED_HAND]; the other
 * hand stays NULL.
 *
 * Threads. Single-threaded pools use plain loads and stores only. With
 * MP_FLAG_THREAD_SAFE free slots are a Treiber stack (no hand): `next`
 * links out of band, a 64-bit head {ABA tag:32, index:32} updated by CAS;
 * the bitmap is
 * set and cleared with atomic RMW (so two racing frees of one slot yield one
 * MP_OK and one MP_ERR_DOUBLE_FREE), the high water is claimed by CAS and
 * counters are relaxed atomics. reset, trim and check are not concurrent-safe.
 *
 * check(), stats and trim: fixed_pool_inspect.c (its comment lists the
 * invariants check() verifies).
 *
 * Sanitizers. Every slot is poisoned at create, free and reset; alloc
 * unpoisons object_size bytes (the padding up to the stride stays poisoned).
 * Destroy unpoisons the region, which may be caller memory.
 */
#include "fixed_internal.h"

#include <stdlib.h>

/* Everything derived from a config before any memory is touched. */
typedef struct fixed_geometry {
    size_t object_size;
    size_t alignment;
    size_t slot_size_bytes;
    size_t capacity;
    size_t region_bytes;
    size_t bitmap_words;
    size_t stack_offset; /* offsets inside the metadata block */
    size_t bitmap_offset;
    size_t scratch_offset;
    size_t meta_bytes; /* multiple of MP_FIXED_META_ALIGN */
    uintptr_t stride_inverse;
    unsigned stride_shift;
    uint32_t flags;
} fixed_geometry;

/* ------------------------------------------------------------ geometry */

static bool fixed_add_block(size_t *offset, size_t bytes, size_t *block_offset) {
    size_t rounded;
    if (!mp_align_up_checked(bytes, MP_FIXED_META_ALIGN, &rounded)) return false;
    *block_offset = *offset;
    return mp_add_checked(*offset, rounded, offset);
}

/* Validates `cfg` and derives the geometry; on error records it and returns
 * the status. */
static MP_Status fixed_geometry_from(const MP_FixedPoolConfig *cfg, fixed_geometry *g) {
    if (cfg == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    if ((cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0 || cfg->object_size == 0 || cfg->capacity == 0 ||
        cfg->capacity > UINT32_MAX)
        return mp_fail(MP_ERR_INVALID_ARGUMENT, cfg->object_size, 0, 0);
    size_t alignment = cfg->alignment;
    if (alignment == 0) {
        alignment = cfg->object_size & (~cfg->object_size + 1); /* lowest set bit */
        if (alignment > MP_FIXED_DEFAULT_ALIGNMENT_CAP) alignment = MP_FIXED_DEFAULT_ALIGNMENT_CAP;
    } else if (!mp_is_pow2(alignment) || alignment > MP_FIXED_MAX_ALIGNMENT) {
        return mp_fail(MP_ERR_ALIGNMENT, cfg->object_size, 0, 0);
    }
    memset(g, 0, sizeof *g);
    g->object_size = cfg->object_size;
    g->alignment = alignment;
    g->capacity = cfg->capacity;
    g->flags = cfg->flags;
    if (!mp_align_up_checked(cfg->object_size, alignment, &g->slot_size_bytes))
        return mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);
    if (mp_is_pow2(g->slot_size_bytes) && g->slot_size_bytes >= MP_FIXED_PAD_MIN_STRIDE &&
        alignment <= MP_FIXED_PAD_BYTES && !mp_add_checked(g->slot_size_bytes, MP_FIXED_PAD_BYTES, &g->slot_size_bytes))
        return mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);
    if (!mp_mul_checked(g->slot_size_bytes, cfg->capacity, &g->region_bytes) ||
        g->region_bytes > (size_t)PTRDIFF_MAX)
        return mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);

    size_t odd = g->slot_size_bytes;
    while ((odd & 1u) == 0) {
        odd >>= 1;
        g->stride_shift++;
    }
    /* Newton iteration x <- x(2 - odd x) doubles the correct low bits; x = odd
     * is right to 3 bits (odd^2 = 1 mod 8), six steps cover 192 bits. */
    uintptr_t inverse = (uintptr_t)odd;
    for (int i = 0; i < 6; i++) inverse *= (uintptr_t)2 - (uintptr_t)odd * inverse;
    g->stride_inverse = inverse;

    g->bitmap_words = (cfg->capacity + 63) / 64;
    size_t stack_bytes, bitmap_bytes, offset = 0, control_offset;
    /* The allocation bitmap only for thread-safe pools (single-threaded ones
     * keep the state in `link`). */
    bool shared = (cfg->flags & MP_FLAG_THREAD_SAFE) != 0;
    if (!mp_mul_checked(cfg->capacity, sizeof(uint32_t), &stack_bytes) ||
        !mp_mul_checked(g->bitmap_words, sizeof(uint64_t), &bitmap_bytes) ||
        !fixed_add_block(&offset, sizeof(MP_FixedPool), &control_offset) ||
        !fixed_add_block(&offset, stack_bytes, &g->stack_offset) ||
        !fixed_add_block(&offset, shared ? bitmap_bytes : 0, &g->bitmap_offset) ||
        !fixed_add_block(&offset, bitmap_bytes, &g->scratch_offset))
        return mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);
    g->meta_bytes = offset;
    return MP_OK;
}

/* Builds the control block at `meta` (64-byte aligned, g->meta_bytes long)
 * over the slot region at `base`. `meta_is_zero` skips clearing the bitmap
 * when the memory is known to be zero (fresh mapping: keeps create lazy). */
static MP_FixedPool *fixed_init(uint8_t *meta, uint8_t *base, const fixed_geometry *g, fixed_owner owner,
                                bool meta_is_zero) {
    MP_FixedPool *p = (MP_FixedPool *)(void *)meta;
    memset(p, 0, sizeof *p);
    p->hot.base = base;
    p->check_scratch = (uint64_t *)(void *)(meta + g->scratch_offset);
    p->hot.slot_size_bytes = g->slot_size_bytes;
    p->hot.stride_inverse = g->stride_inverse;
    p->hot.stride_shift = (uint8_t)g->stride_shift;
    p->capacity = (uint32_t)g->capacity;
    p->is_thread_safe = (g->flags & MP_FLAG_THREAD_SAFE) != 0;
    p->owner = (uint8_t)owner;
    p->hot.object_size = g->object_size;
    p->alignment = g->alignment;
    p->region_bytes = g->region_bytes;
    p->magic = MP_FIXED_MAGIC;
    p->hot.sanitizer = MP_FIXED_SANITIZER;
    if (p->is_thread_safe) {
        /* The inline limits stay 0: the header's calls always go out of line. */
        p->next = (_Atomic uint32_t *)(void *)(meta + g->stack_offset);
        p->shared_bits = (_Atomic uint64_t *)(void *)(meta + g->bitmap_offset);
        atomic_init(&p->shared.head, (uint64_t)MP_FIXED_NIL);
        atomic_init(&p->shared.high_water, 0u);
        atomic_init(&p->shared.allocated, (size_t)0);
        atomic_init(&p->shared.allocated_peak, (size_t)0);
        atomic_init(&p->shared.alloc_count, (uint64_t)0);
        atomic_init(&p->shared.free_count, (uint64_t)0);
        atomic_init(&p->shared.failed_alloc_count, (uint64_t)0);
        atomic_init(&p->shared.rejected_free_count, (uint64_t)0);
        for (size_t w = 0; w < g->bitmap_words && !meta_is_zero; w++) atomic_init(&p->shared_bits[w], 0u);
    } else {
        /* Links need no init: those below the high water are written when
         * their slot is first taken, the limits (0 now) refuse the others. */
        p->hot.link = (uint32_t *)(void *)(meta + g->stack_offset);
        p->hot.head = MP_FIXED_LINK_NONE;
        p->inline_open = 1;
    }
    MP_POISON(base, g->region_bytes);
    return p;
}

size_t mp_fixed_pool_region_bytes(const MP_FixedPoolConfig *cfg) {
    fixed_geometry g;
    return fixed_geometry_from(cfg, &g) == MP_OK ? g.region_bytes : 0;
}

/* Caller memory for create_in: worst-case slack to the 64-byte metadata
 * boundary and then to the slot alignment, metadata, slots. */
static bool fixed_footprint_of(const fixed_geometry *g, size_t *out) {
    size_t slack = (g->alignment > MP_FIXED_META_ALIGN ? g->alignment : MP_FIXED_META_ALIGN) - 1;
    size_t sum;
    return mp_add_checked(g->meta_bytes, g->region_bytes, &sum) && mp_add_checked(sum, slack, out);
}

size_t mp_fixed_pool_footprint(const MP_FixedPoolConfig *cfg) {
    fixed_geometry g;
    size_t bytes;
    if (fixed_geometry_from(cfg, &g) != MP_OK) return 0;
    if (!fixed_footprint_of(&g, &bytes)) {
        mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);
        return 0;
    }
    return bytes;
}

/* ------------------------------------------------------------- creation */

static MP_FixedPool *fixed_create_mapped(const fixed_geometry *g) {
    /* Half a page past the slots' end modulo the page: slot 0 (page aligned)
     * and the control block must not share their low 12 address bits, or a
     * store into slot 0 stalls the next load of the hot state (4K aliasing:
     * 4 -> 13 ns per out-of-line pair when the region is a page multiple). */
    size_t page = mp_os_page_size();
    size_t meta_at = mp_align_up(g->region_bytes, MP_FIXED_META_ALIGN), total;
    size_t in_page = meta_at & (page - 1);
    if (in_page < page / 4 || in_page >= page - page / 4) meta_at += (page / 2 - in_page) & (page - 1);
    if (!mp_add_checked(meta_at, g->meta_bytes, &total)) {
        mp_fail(MP_ERR_SIZE_OVERFLOW, g->object_size, 0, 0);
        return NULL;
    }
    uint8_t *map = mp_os_map(total);
    if (map == NULL) {
        mp_fail(MP_ERR_OUT_OF_MEMORY, total, 0, 0);
        return NULL;
    }
    MP_FixedPool *p = fixed_init(map + meta_at, map, g, FIXED_OWNS_MAPPING, true);
    p->mapping = map;
    p->mapping_bytes = total;
    return p;
}

/* Slots in cfg->region at its first `alignment` boundary. A region that is
 * too small after that alignment fails with MP_ERR_ALIGNMENT when an aligned
 * region of the same size would have fitted, else MP_ERR_INVALID_ARGUMENT. */
static MP_FixedPool *fixed_create_over_region(const fixed_geometry *g, void *region, size_t region_bytes) {
    uintptr_t start = (uintptr_t)region;
    size_t pad = (size_t)(mp_align_up_ptr(start, g->alignment) - start);
    if (region_bytes < g->region_bytes || region_bytes - g->region_bytes < pad) {
        MP_Status why = region_bytes >= g->region_bytes ? MP_ERR_ALIGNMENT : MP_ERR_INVALID_ARGUMENT;
        mp_fail(why, g->region_bytes, region_bytes, 0);
        return NULL;
    }
    uint8_t *meta = aligned_alloc(MP_FIXED_META_ALIGN, g->meta_bytes);
    if (meta == NULL) {
        mp_fail(MP_ERR_OUT_OF_MEMORY, g->meta_bytes, 0, 0);
        return NULL;
    }
    MP_FixedPool *p = fixed_init(meta, (uint8_t *)region + pad, g, FIXED_OWNS_METADATA, false);
    p->mapping = meta;
    return p;
}

MP_FixedPool *mp_fixed_pool_create_ex(const MP_FixedPoolConfig *cfg) {
    fixed_geometry g;
    if (fixed_geometry_from(cfg, &g) != MP_OK) return NULL;
    return cfg->region != NULL ? fixed_create_over_region(&g, cfg->region, cfg->region_bytes)
                               : fixed_create_mapped(&g);
}

MP_FixedPool *mp_fixed_pool_create(size_t object_size, size_t capacity) {
    MP_FixedPoolConfig cfg = {object_size, capacity, 0, 0, NULL, 0};
    return mp_fixed_pool_create_ex(&cfg);
}

MP_FixedPool *mp_fixed_pool_create_in(void *memory, size_t size, const MP_FixedPoolConfig *cfg) {
    fixed_geometry g;
    size_t need;
    if (fixed_geometry_from(cfg, &g) != MP_OK) return NULL;
    if (!fixed_footprint_of(&g, &need)) {
        mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->object_size, 0, 0);
        return NULL;
    }
    if (memory == NULL || size < need) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, need, size, 0);
        return NULL;
    }
    uint8_t *meta = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, MP_FIXED_META_ALIGN);
    uint8_t *base = (uint8_t *)mp_align_up_ptr((uintptr_t)(meta + g.meta_bytes), g.alignment);
    return fixed_init(meta, base, &g, FIXED_IN_CALLER, false);
}

void mp_fixed_pool_destroy(MP_FixedPool *pool) {
    if (pool == NULL) return;
    fixed_owner owner = (fixed_owner)pool->owner;
    void *mapping = pool->mapping;
    size_t mapping_bytes = pool->mapping_bytes;
    MP_UNPOISON(pool->hot.base, pool->region_bytes);
    pool->magic = 0;
    pool->inline_open = 0; /* caller memory survives: send inline calls out of line */
    pool->hot.inline_limit = 0;
    pool->hot.sanitized_limit = 0;
    pool->hot.hand[0] = pool->hot.hand[1] = NULL;
    if (owner == FIXED_OWNS_MAPPING) {
        mp_os_unmap(mapping, mapping_bytes);
    } else if (owner == FIXED_OWNS_METADATA) {
        free(mapping);
    }
}

/* Sets the high water of a single-threaded pool and the inline limits that
 * follow it. */
static void fixed_set_high_water(MP_FixedPool *p, uint32_t hw) {
    p->hot.high_water = hw;
    if (p->inline_open) {
        p->hot.sanitized_limit = hw;
        p->hot.inline_limit = MP_FIXED_SANITIZER == MP_SANITIZER_NONE ? hw : 0;
    }
}

/* ------------------------------------------------ single-threaded paths */

/* Index of a free slot taken from the hand, the list or the high water,
 * marked in use and counted; MP_FIXED_NIL when every slot is in use. */
MP_INLINE uint32_t fixed_take_plain(MP_FixedPool *p) {
    uint32_t index;
    uint8_t *hand = p->hot.hand[MP_FIXED_HAND];
    if (MP_LIKELY(hand != NULL)) {
        p->hot.hand[MP_FIXED_HAND] = NULL; /* its link already says in use */
        index = (uint32_t)fixed_index_of(p, hand);
    } else if (p->hot.head != MP_FIXED_LINK_NONE) {
        index = p->hot.head;
        uint32_t next = p->hot.link[index];
        p->hot.head = next == index ? MP_FIXED_LINK_NONE : next;
        p->hot.link[index] = MP_FIXED_LINK_IN_USE;
        p->hot.free_length--;
    } else {
        uint32_t hw = p->hot.high_water;
        if (MP_UNLIKELY(hw == p->capacity)) return MP_FIXED_NIL;
        index = hw;
        p->hot.link[index] = MP_FIXED_LINK_IN_USE;
        fixed_set_high_water(p, hw + 1);
    }
    return index;
}

/* Puts free slot `index` on top of the list. */
MP_INLINE void fixed_push_plain(MP_FixedPool *p, uint32_t index) {
    p->hot.link[index] = p->hot.head == MP_FIXED_LINK_NONE ? index : p->hot.head;
    p->hot.head = index;
    p->hot.free_length++;
}

/* --------------------------------------------------- thread-safe paths */

MP_INLINE uint64_t fixed_head_with(uint64_t old_head, uint32_t index) {
    return (((old_head >> 32) + 1) << 32) | index; /* bump the ABA tag */
}

static uint32_t fixed_take_shared(MP_FixedPool *p) {
    fixed_shared *s = &p->shared;
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    uint32_t index;
    for (;;) {
        index = (uint32_t)head;
        if (index != MP_FIXED_NIL) {
            /* A stale `next` (the slot was popped meanwhile) is harmless:
             * the tag has moved and the CAS fails. */
            uint32_t next = atomic_load_explicit(&p->next[index], memory_order_relaxed);
            if (atomic_compare_exchange_weak_explicit(&s->head, &head, fixed_head_with(head, next),
                                                      memory_order_acquire, memory_order_acquire))
                break;
            continue;
        }
        uint32_t hw = atomic_load_explicit(&s->high_water, memory_order_relaxed);
        while (hw < p->capacity &&
               !atomic_compare_exchange_weak_explicit(&s->high_water, &hw, hw + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
        }
        if (hw < p->capacity) {
            index = hw;
            break;
        }
        /* The high water only grows: if the stack is still empty now, every
         * slot was in use at this moment. */
        head = atomic_load_explicit(&s->head, memory_order_acquire);
        if ((uint32_t)head == MP_FIXED_NIL) return MP_FIXED_NIL;
    }
    /* Relaxed is enough: whoever frees this slot got the pointer through a
     * happens-before edge, and RMWs on one word see its latest value. */
    atomic_fetch_or_explicit(&p->shared_bits[index >> 6], fixed_bit(index), memory_order_relaxed);
    size_t allocated = atomic_fetch_add_explicit(&s->allocated, 1, memory_order_relaxed) + 1;
    size_t peak = atomic_load_explicit(&s->allocated_peak, memory_order_relaxed);
    while (allocated > peak && !atomic_compare_exchange_weak_explicit(&s->allocated_peak, &peak, allocated,
                                                                      memory_order_relaxed,
                                                                      memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&s->alloc_count, 1, memory_order_relaxed);
    return index;
}

static void fixed_push_shared(MP_FixedPool *p, uint32_t index) {
    fixed_shared *s = &p->shared;
    /* Counted out before the slot can be popped again (and counted in only
     * after a pop): `allocated` never exceeds the slots really in use, so
     * neither does the peak. */
    atomic_fetch_sub_explicit(&s->allocated, 1, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&p->next[index], (uint32_t)head, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&s->head, &head, fixed_head_with(head, index),
                                                    memory_order_release, memory_order_relaxed));
    atomic_fetch_add_explicit(&s->free_count, 1, memory_order_relaxed);
}

/* ------------------------------------------------------- alloc and free */

static MP_COLD uint32_t fixed_exhausted(MP_FixedPool *p, size_t requested_bytes) {
    if (p->is_thread_safe) {
        atomic_fetch_add_explicit(&p->shared.failed_alloc_count, 1, memory_order_relaxed);
    } else {
        p->failed_alloc_count++;
    }
    mp_fail(MP_ERR_OUT_OF_MEMORY, requested_bytes, 0, 0);
    return MP_FIXED_NIL;
}

MP_INLINE uint32_t fixed_take(MP_FixedPool *p) {
    uint32_t index = MP_LIKELY(!p->is_thread_safe) ? fixed_take_plain(p) : fixed_take_shared(p);
    return MP_LIKELY(index != MP_FIXED_NIL) ? index : fixed_exhausted(p, p->hot.object_size);
}

void *mp_fixed_pool_alloc(MP_FixedPool *pool) {
    if (MP_UNLIKELY(pool == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
        return NULL;
    }
    uint8_t *slot = pool->hot.hand[MP_FIXED_HAND]; /* NULL on thread-safe pools */
    if (MP_LIKELY(slot != NULL)) {
        pool->hot.hand[MP_FIXED_HAND] = NULL; /* no index arithmetic: its link already says in use */
    } else {
        uint32_t index = fixed_take(pool);
        if (MP_UNLIKELY(index == MP_FIXED_NIL)) return NULL;
        slot = pool->hot.base + (size_t)index * pool->hot.slot_size_bytes;
    }
    MP_UNPOISON(slot, pool->hot.object_size);
    return slot;
}

static MP_COLD MP_Status fixed_reject(MP_FixedPool *p, uintptr_t index) {
    MP_Status why = index < fixed_high_water(p) ? MP_ERR_DOUBLE_FREE : MP_ERR_INVALID_ADDRESS;
    if (p->is_thread_safe) {
        atomic_fetch_add_explicit(&p->shared.rejected_free_count, 1, memory_order_relaxed);
    } else {
        p->rejected_free_count++;
    }
    return mp_fail(why, 0, 0, 0);
}

/* Frees slot `index` (any value; >= capacity is refused), which starts at
 * `slot` when index < capacity. */
MP_INLINE MP_Status fixed_release(MP_FixedPool *p, uintptr_t index, uint8_t *slot) {
    if (MP_UNLIKELY(index >= p->capacity)) return fixed_reject(p, UINTPTR_MAX);
    uint64_t bit = fixed_bit(index);
    if (MP_LIKELY(!p->is_thread_safe)) {
        uint8_t *hand = p->hot.hand[MP_FIXED_HAND];
        if (MP_UNLIKELY(index >= p->hot.high_water || p->hot.link[index] != MP_FIXED_LINK_IN_USE || slot == hand))
            return fixed_reject(p, index);
        MP_POISON(slot, p->hot.slot_size_bytes);
        p->hot.free_count++;
        if (MP_LIKELY(hand == NULL))
            p->hot.hand[MP_FIXED_HAND] = slot;
        else
            fixed_push_plain(p, (uint32_t)index);
        return MP_OK;
    }
    uint64_t old = atomic_fetch_and_explicit(&p->shared_bits[index >> 6], ~bit, memory_order_relaxed);
    if (MP_UNLIKELY((old & bit) == 0)) return fixed_reject(p, index);
    MP_POISON(slot, p->hot.slot_size_bytes); /* before the push: after it, another thread may own the slot */
    fixed_push_shared(p, (uint32_t)index);
    return MP_OK;
}

MP_Status mp_fixed_pool_free(MP_FixedPool *pool, void *ptr) {
    if (MP_UNLIKELY(pool == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    return fixed_release(pool, fixed_index_of(pool, ptr), (uint8_t *)ptr);
}

/* Batch calls hand out 32-bit byte offsets, so they serve only pools whose
 * last slot starts below 4 GiB; larger pools get MP_ERR_UNSUPPORTED. A short
 * batch counts as one failed allocation. */
size_t mp_fixed_pool_alloc_many(MP_FixedPool *pool, uint32_t *out, size_t n) {
    if (pool == NULL || (out == NULL && n != 0)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
        return 0;
    }
    if (pool->region_bytes - pool->hot.slot_size_bytes > UINT32_MAX) {
        mp_fail(MP_ERR_UNSUPPORTED, pool->region_bytes, 0, 0);
        return 0;
    }
    size_t done = 0;
    for (; done < n; done++) {
        uint32_t index = MP_LIKELY(!pool->is_thread_safe) ? fixed_take_plain(pool) : fixed_take_shared(pool);
        if (MP_UNLIKELY(index == MP_FIXED_NIL)) {
            fixed_exhausted(pool, (n - done) * pool->hot.object_size);
            break;
        }
        size_t offset = (size_t)index * pool->hot.slot_size_bytes;
        MP_UNPOISON(pool->hot.base + offset, pool->hot.object_size);
        out[done] = (uint32_t)offset;
    }
    return done;
}

MP_Status mp_fixed_pool_free_many(MP_FixedPool *pool, const uint32_t *offsets, size_t n, size_t *done) {
    if (done != NULL) *done = 0;
    if (pool == NULL || (offsets == NULL && n != 0)) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
        MP_Status status = fixed_release(pool, fixed_index_of_offset(pool, offsets[i]), pool->hot.base + offsets[i]);
        if (status != MP_OK) return status;
        if (done != NULL) *done = i + 1;
    }
    return MP_OK;
}

/* ------------------------------------------------------ whole-pool calls */

MP_Status mp_fixed_pool_reset(MP_FixedPool *pool) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uint32_t hw = fixed_high_water(pool);
    if (pool->is_thread_safe) {
        size_t words = ((size_t)hw + 63) / 64;
        fixed_shared *s = &pool->shared;
        uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
        for (size_t w = 0; w < words; w++)
            atomic_store_explicit(&pool->shared_bits[w], 0, memory_order_relaxed);
        pool->reset_released_count += atomic_load_explicit(&s->allocated, memory_order_relaxed);
        atomic_store_explicit(&s->head, fixed_head_with(head, MP_FIXED_NIL), memory_order_release);
        atomic_store_explicit(&s->high_water, 0u, memory_order_relaxed);
        atomic_store_explicit(&s->allocated, (size_t)0, memory_order_relaxed);
        atomic_store_explicit(&s->allocated_peak, (size_t)0, memory_order_relaxed);
    } else {
        pool->reset_released_count += (size_t)pool->hot.high_water - pool->hot.free_length -
                                      (pool->hot.hand[MP_FIXED_HAND] != NULL);
        pool->hot.hand[MP_FIXED_HAND] = NULL;
        pool->hot.head = MP_FIXED_LINK_NONE;
        pool->hot.free_length = 0;
        fixed_set_high_water(pool, 0);
    }
    MP_POISON(pool->hot.base, (size_t)hw * pool->hot.slot_size_bytes);
    return MP_OK;
}
