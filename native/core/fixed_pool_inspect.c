/*
 * fixed_pool_inspect.c - the fixed pool's read-side calls and trim: stats
 * (counters, partly derived), owns, base, check and trim. The algorithm and
 * the layout are described in fixed_pool.c.
 *
 * Invariants that check() verifies (returns how many are violated):
 *   magic intact; base aligned; high_water <= capacity;
 *   single-threaded: limits equal the high water (or 0 where closed); the
 *   other hand NULL; the hand, if any, a slot start below the high water
 *   marked in use; links marked in use == allocated + (hand ? 1 : 0); free
 *   list: every entry < high_water, not marked in use, listed once, and
 *   length == free_length <= high_water - (hand ? 1 : 0);
 *   thread-safe: no bitmap bit at/above high_water; popcount(bitmap) ==
 *   allocated; free list entries < high_water, bit clear, listed once,
 *   length == high_water - allocated;
 *   allocated <= allocated_peak <= capacity (single-threaded pools derive
 *   allocated, alloc_count and the peak from the high water, free_length,
 *   the hand and free_count; thread-safe pools count them and must keep
 *   alloc_count == free_count + allocated + released).
 *
 */
#include "fixed_internal.h"

/* The six counters: relaxed loads on a thread-safe pool, partly derived on a
 * single-threaded one (see the control block). */
fixed_counters mp_fixed_read_counters(const MP_FixedPool *p) {
    fixed_counters c;
    if (p->is_thread_safe) {
        const fixed_shared *s = &p->shared;
        c.allocated = atomic_load_explicit(&s->allocated, memory_order_relaxed);
        c.allocated_peak = atomic_load_explicit(&s->allocated_peak, memory_order_relaxed);
        c.alloc_count = atomic_load_explicit(&s->alloc_count, memory_order_relaxed);
        c.free_count = atomic_load_explicit(&s->free_count, memory_order_relaxed);
        c.failed_alloc_count = atomic_load_explicit(&s->failed_alloc_count, memory_order_relaxed);
        c.rejected_free_count = atomic_load_explicit(&s->rejected_free_count, memory_order_relaxed);
    } else {
        c.allocated = (size_t)p->hot.high_water - p->hot.free_length - (p->hot.hand[MP_FIXED_HAND] != NULL);
        c.allocated_peak = p->hot.high_water; /* see the control block */
        c.free_count = p->hot.free_count;
        c.alloc_count = p->hot.free_count + c.allocated + p->reset_released_count;
        c.failed_alloc_count = p->failed_alloc_count;
        c.rejected_free_count = p->rejected_free_count;
    }
    return c;
}

MP_Status mp_fixed_pool_stats(const MP_FixedPool *pool, MP_FixedPoolStats *out) {
    if (pool == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fixed_counters c = mp_fixed_read_counters(pool);
    out->allocated = c.allocated;
    out->capacity = pool->capacity;
    out->object_size = pool->hot.object_size;
    out->slot_size_bytes = pool->hot.slot_size_bytes;
    out->alignment = pool->alignment;
    out->allocated_peak = c.allocated_peak;
    out->alloc_count = c.alloc_count;
    out->free_count = c.free_count;
    out->failed_alloc_count = c.failed_alloc_count;
    out->rejected_free_count = c.rejected_free_count;
    out->region_bytes = pool->region_bytes;
    return MP_OK;
}

int mp_fixed_pool_owns(const MP_FixedPool *pool, const void *ptr) {
    if (pool == NULL) return 0;
    uintptr_t index = fixed_index_of(pool, ptr);
    return index < pool->capacity && fixed_slot_in_use(pool, index);
}

void *mp_fixed_pool_base(const MP_FixedPool *pool) { return pool == NULL ? NULL : pool->hot.base; }

/* ------------------------------------------------------------------ check */

/* Counts a free-list entry that breaks the invariants; marks visited
 * entries in the scratch bitmap, so a repeated entry (or a cycle) is caught
 * once. */
static size_t fixed_check_free_entry(const MP_FixedPool *p, uint32_t index, uint32_t hw, bool *stop) {
    if (index >= hw) {
        *stop = true; /* a wild link: following it would leave the pool */
        return 1;
    }
    uint64_t bit = fixed_bit(index);
    uint64_t *seen = &p->check_scratch[index >> 6];
    if (*seen & bit) {
        *stop = true; /* a repeat: on a linked list it is a cycle */
        return 1;
    }
    *seen |= bit;
    return fixed_slot_in_use(p, index) ? 1 : 0;
}

/* Walks the free list and returns the violations found; `*length`
 * receives the number of entries walked. */
static size_t fixed_check_free_list(const MP_FixedPool *p, uint32_t hw, size_t *length) {
    size_t violations = 0, n = 0;
    bool stop = false;
    memset(p->check_scratch, 0, (((size_t)hw + 63) / 64) * sizeof(uint64_t));
    if (!p->is_thread_safe) {
        uint32_t index = p->hot.head;
        while (index != MP_FIXED_LINK_NONE && !stop) {
            violations += fixed_check_free_entry(p, index, hw, &stop);
            n++;
            if (stop) break;
            /* A listed slot marked in use was counted above; its link ends the walk. */
            index = p->hot.link[index] == index ? MP_FIXED_LINK_NONE : p->hot.link[index];
        }
    } else {
        uint32_t index = (uint32_t)atomic_load_explicit(&p->shared.head, memory_order_acquire);
        while (index != MP_FIXED_NIL && !stop) {
            violations += fixed_check_free_entry(p, index, hw, &stop);
            n++;
            if (!stop) index = atomic_load_explicit(&p->next[index], memory_order_relaxed);
        }
    }
    *length = n;
    return violations;
}

/* Single-threaded: the limits, the hands and the in-use marks. */
static size_t fixed_check_plain(const MP_FixedPool *p, uint32_t hw, size_t allocated, size_t *free_slots) {
    size_t violations = 0, marked = 0;
    uint32_t open_limit = p->inline_open ? hw : 0;
    violations += p->hot.sanitized_limit != open_limit;
    violations += p->hot.inline_limit != (MP_FIXED_SANITIZER == MP_SANITIZER_NONE ? open_limit : 0);
    violations += p->hot.hand[!MP_FIXED_HAND] != NULL;
    const uint8_t *hand = p->hot.hand[MP_FIXED_HAND];
    if (hand != NULL) {
        uintptr_t index = fixed_index_of(p, hand);
        violations += index >= hw || p->hot.link[index] != MP_FIXED_LINK_IN_USE;
        *free_slots += 1;
    }
    for (uint32_t i = 0; i < hw; i++) marked += p->hot.link[i] == MP_FIXED_LINK_IN_USE;
    violations += marked != allocated + (hand != NULL);
    return violations;
}

size_t mp_fixed_pool_check(const MP_FixedPool *pool) {
    if (pool == NULL) return 1;
    if (pool->magic != MP_FIXED_MAGIC) return 1;
    size_t violations = 0;
    uint32_t hw = fixed_high_water(pool);
    fixed_counters c = mp_fixed_read_counters(pool);
    if (((uintptr_t)pool->hot.base & (pool->alignment - 1)) != 0) violations++;
    if (hw > pool->capacity) return violations + 1; /* every walk below depends on it */

    size_t free_slots = 0; /* listed, plus the hand */
    if (pool->is_thread_safe) {
        size_t words = ((size_t)pool->capacity + 63) / 64, popcount = 0, stray_bits = 0;
        for (size_t w = 0; w < words; w++) {
            uint64_t bits = atomic_load_explicit(&pool->shared_bits[w], memory_order_relaxed);
            size_t first = w * 64;
            uint64_t live_mask = first + 64 <= hw ? ~(uint64_t)0 : first >= hw ? 0 : fixed_bit(hw) - 1;
            stray_bits += (bits & ~live_mask) != 0;
            popcount += (size_t)__builtin_popcountll(bits & live_mask);
        }
        violations += stray_bits != 0;
        violations += popcount != c.allocated;
        violations += c.alloc_count != c.free_count + c.allocated + pool->reset_released_count;
    } else {
        violations += fixed_check_plain(pool, hw, c.allocated, &free_slots);
    }

    size_t length = 0;
    violations += fixed_check_free_list(pool, hw, &length);
    violations += length + free_slots + c.allocated != hw;
    violations += !pool->is_thread_safe && length != pool->hot.free_length;
    violations += c.allocated > c.allocated_peak || c.allocated_peak > pool->capacity;
    return violations;
}

/* ------------------------------------------------------------------- trim */

/* True when slots [first, last] are all free. */
static bool fixed_range_is_free(const MP_FixedPool *p, size_t first, size_t last) {
    for (size_t i = first; i <= last; i++)
        if (fixed_slot_in_use(p, i)) return false;
    return true;
}

MP_Status mp_fixed_pool_trim(MP_FixedPool *pool, size_t *released_bytes) {
    if (released_bytes != NULL) *released_bytes = 0;
    if (pool == NULL || released_bytes == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    if (pool->owner != FIXED_OWNS_MAPPING) return MP_OK;
    size_t page = mp_os_page_size(), stride = pool->hot.slot_size_bytes, released = 0;
    size_t run_start = 0, run_bytes = 0; /* a run of consecutive releasable pages */
    /* The base is page aligned: page i covers [i * page, (i + 1) * page). */
    for (size_t at = 0; at + page <= pool->region_bytes; at += page) {
        if (fixed_range_is_free(pool, at / stride, (at + page - 1) / stride)) {
            if (run_bytes == 0) run_start = at;
            run_bytes += page;
            continue;
        }
        if (run_bytes != 0) released += mp_os_release_pages(pool->hot.base + run_start, run_bytes);
        run_bytes = 0;
    }
    if (run_bytes != 0) released += mp_os_release_pages(pool->hot.base + run_start, run_bytes);
    *released_bytes = released;
    return MP_OK;
}
