/*
 * tlsf_cache.c - the front cache of TLSF: layout, flush and check. The hot
 * push and pop are inline in tlsf_internal.h (tlsf_cache_push,
 * tlsf_cache_pop), used by free and alloc in tlsf.c, and in tlsf_hot.h as
 * the register-light fast paths tlsf_alloc_front and tlsf_free_front (same
 * validation; they only decline where tlsf_cache_pop/push would do more).
 *
 * Why. A coalescing free touches the block, both physical neighbours and
 * their list neighbours, and an alloc pops a list head and splits it: six to
 * eight cache lines per free + alloc pair on a large heap. The cache keeps
 * recently freed blocks aside instead, so a free writes only its own header
 * and an alloc of a recently freed size reads and writes only the header of
 * the block it returns (plus the slot arrays in the control block).
 *
 * Layout. Classes are the TLSF list indices of block sizes under
 * TLSF_CACHE_MAX_BLOCK_BYTES (8 KiB; at most 160 classes). Class c keeps up
 * to TLSF_CACHE_DEPTH granule indices (link indices, as in the lists) in
 * cache_slots[c * TLSF_CACHE_DEPTH ..], the most recent last, and their
 * number in cache_count[c]; all in the control block, nothing in the heap
 * but the cached flag in each block's header. The total size of cached
 * blocks (headers included, tlsf_cache_bytes) never exceeds
 * cache_budget_bytes; what is left of the budget is kept (cache_room_bytes),
 * as that is what a free compares with. A free that would exceed it, or
 * finds its class full, coalesces as usual.
 *
 * A cached block. Its header keeps its size and previous-free flag, gains
 * TLSF_W_CACHED and loses the free, alignment and slack bits; the tag covers
 * it like any header. For its neighbours and the free lists it is a used
 * block: nothing merges with it and its successor's previous-free flag stays
 * clear, which is why caching and uncaching write nothing else. For every
 * observer it is free: free_stats and walk report it as free, usable_size is
 * 0, free and realloc of it fail with MP_ERR_DOUBLE_FREE, and the counters
 * (bytes_in_use, free_count, ...) count it as freed.
 *
 * Hostile writes. Slots live in the control block; the header a slot names
 * is validated (tag, cached flag, bounds, size of the slot's class) before
 * the block is handed out or flushed, so a corrupted cached header makes
 * that alloc or flush fail with MP_ERR_CORRUPTION instead of being followed.
 *
 * Flush hands every cached block to the coalescing free path (it validates
 * both neighbours as a free does). It runs when an allocation finds no room
 * (the allocation is then retried), in trim, and before the managed pool
 * compacts; reset drops the cache with everything else.
 *
 * Fast paths (tlsf_hot.h) read the class of a size from a table and compare
 * with precomputed limits and class bounds (tlsf_fast in the control block),
 * all derived from the configuration when the instance is built.
 *
 * Invariants (tlsf_cache_check, part of mp_tlsf_check): counts within the
 * depth and zero past the class count (one entry past the last class too);
 * the fast-path fields equal what the configuration derives; every slot names the header of a
 * block carrying the cached flag, of a size of the slot's class, and no two
 * slots the same block; every block carrying the cached flag is named by a
 * slot; the budget minus cache_room_bytes is the sum of their sizes.
 */
#include "tlsf_internal.h"

#include <stdlib.h>

size_t tlsf_cache_layout(unsigned sl_log2, unsigned fl_count, size_t budget_bytes, unsigned *classes) {
    *classes = 0;
    if (budget_bytes == 0) return 0;
    tlsf_env e;
    memset(&e, 0, sizeof e);
    e.sl_log2 = sl_log2;
    e.fl_shift = sl_log2 + TLSF_GRANULE_LOG2;
    e.linear_below = (size_t)1 << e.fl_shift;
    unsigned n = tlsf_list_index(&e, TLSF_CACHE_MAX_BLOCK_BYTES);
    unsigned lists = fl_count << sl_log2;
    *classes = n < lists ? n : lists;
    return (size_t)*classes * TLSF_CACHE_DEPTH * sizeof(uint32_t);
}

/* The smallest block size of list `idx` (see tlsf_mapping). */
static size_t tlsf_list_start(const tlsf_env *e, unsigned idx) {
    unsigned fl = idx >> e->sl_log2, sl = idx & ((1u << e->sl_log2) - 1u);
    if (fl == 0) return (size_t)sl << TLSF_GRANULE_LOG2;
    unsigned l = e->fl_shift + fl - 1u;
    return ((size_t)1 << l) + ((size_t)sl << (l - e->sl_log2));
}

void tlsf_fast_derive(const MP_Tlsf *t, tlsf_fast *f) {
    const tlsf_env *e = &t->env;
    memset(f, 0, sizeof *f);
    size_t max_bs = 0, first_uncached = TLSF_CACHE_MAX_BLOCK_BYTES;
    for (unsigned g = 0; g < TLSF_CACHE_SIZE_SLOTS; g++) {
        size_t size = (size_t)g << TLSF_GRANULE_LOG2;
        f->class_of[g] =
            (uint8_t)tlsf_list_index(e, size < TLSF_MIN_BLOCK_BYTES ? TLSF_MIN_BLOCK_BYTES : size);
        if (size < TLSF_MIN_BLOCK_BYTES) continue;
        if (f->class_of[g] < t->cache_classes) {
            max_bs = size;
        } else if (first_uncached == TLSF_CACHE_MAX_BLOCK_BYTES) {
            first_uncached = size;
        }
    }
    for (unsigned c = 0; c < TLSF_CACHE_MAX_CLASSES + 2u; c++)
        f->class_start[c] = c <= t->cache_classes ? tlsf_list_start(e, c) : SIZE_MAX;
    /* The waste grows with the block size and falls with the request's: the
     * largest block of class c against the smallest request of class c - 1. */
    for (unsigned c = 1; c < t->cache_classes; c++) {
        size_t bs_min =
            f->class_start[c - 1] < TLSF_MIN_BLOCK_BYTES ? TLSF_MIN_BLOCK_BYTES : f->class_start[c - 1];
        size_t size_max = f->class_start[c + 1] - TLSF_HDR_BYTES;
        f->checks_waste[c] = size_max >= bs_min && tlsf_cache_waste_too_big(size_max, bs_min);
    }
    f->free_sizes = first_uncached - TLSF_MIN_BLOCK_BYTES;
    if (t->flags & MP_FLAG_THREAD_SAFE) return;
    f->free_span = t->blocks_bytes >> TLSF_GRANULE_LOG2;
    f->free_base = (uintptr_t)e->first + TLSF_HDR_BYTES;
    /* A request of req bytes takes a block of tlsf_block_bytes_for(req) =
     * req + 16 rounded up (at least 32) bytes, of a class that grows with it. */
    if (max_bs != 0) {
        size_t req = max_bs - TLSF_HDR_BYTES;
        f->alloc_sizes = req < t->max_request_bytes ? req : t->max_request_bytes;
    }
}

/* The top block of class c with its header validated as cached, or NULL. */
static uint8_t *tlsf_cache_top(const MP_Tlsf *t, unsigned c, uint64_t *w0) {
    const tlsf_env *e = &t->env;
    uint32_t index = t->cache_slots[c * TLSF_CACHE_DEPTH + t->cache_count[c] - 1u];
    uint32_t next;
    if (!tlsf_index_ok(e, index)) return NULL;
    uint8_t *b = tlsf_block_at(e, index);
    if (!tlsf_hdr_load_next(e, b, w0, &next) || !tlsf_cached_hdr_ok(t, b, *w0, c)) return NULL;
    return b;
}

MP_Status tlsf_cache_flush_locked(MP_Tlsf *t) {
    for (unsigned c = 0; c < t->cache_classes; c++) {
        while (t->cache_count[c] != 0) {
            uint64_t w0;
            size_t usable, requested;
            uint8_t *b = tlsf_cache_top(t, c, &w0);
            if (b == NULL) return MP_ERR_CORRUPTION;
            MP_Status st = tlsf_release_block(t, b, w0, &usable, &requested);
            if (st != MP_OK) return st;
            t->cache_count[c]--;
            t->cache_room_bytes += tlsf_w_bytes(w0);
        }
    }
    return MP_OK;
}

MP_Status tlsf_cache_flush(MP_Tlsf *t) {
    TLSF_LOCK(t);
    MP_Status st = tlsf_cache_flush_locked(t);
    TLSF_UNLOCK(t);
    return st;
}

/* ------------------------------------------------------------------ check */

static int tlsf_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Every slot as (block index << 32 | class), sorted; counts violations of
 * the counts into *bad. */
static size_t tlsf_cache_entries(const MP_Tlsf *t, uint64_t *entries, size_t *bad) {
    size_t n = 0;
    for (unsigned c = 0; c < TLSF_CACHE_MAX_CLASSES + 1u; c++) {
        unsigned count = t->cache_count[c];
        if (count > TLSF_CACHE_DEPTH || (c >= t->cache_classes && count != 0)) {
            (*bad)++;
            continue;
        }
        for (unsigned i = 0; i < count; i++)
            entries[n++] = (uint64_t)t->cache_slots[c * TLSF_CACHE_DEPTH + i] << 32 | c;
    }
    qsort(entries, n, sizeof *entries, tlsf_cmp_u64);
    for (size_t i = 1; i < n; i++)
        if ((entries[i] >> 32) == (entries[i - 1] >> 32)) (*bad)++; /* one block, two slots */
    return n;
}

size_t tlsf_cache_check(const MP_Tlsf *t) {
    const tlsf_env *e = &t->env;
    uint64_t entries[TLSF_CACHE_MAX_CLASSES * TLSF_CACHE_DEPTH];
    size_t bad = 0, cursor = 0, cached_bytes = 0;
    size_t n = tlsf_cache_entries(t, entries, &bad);
    /* Physical walk, merged with the sorted slots. A walk stopped by an
     * invalid header is reported by mp_tlsf_check's own walk; the slots not
     * reached then count here too. */
    for (uint8_t *b = e->first; b != e->sentinel;) {
        uint64_t w0;
        if (!tlsf_hdr_load(e, b, &w0) || !tlsf_fits_heap(e, b, tlsf_w_size(w0))) break;
        uint64_t index = tlsf_index_of(e, b);
        for (; cursor < n && (entries[cursor] >> 32) < index; cursor++) bad++; /* not a block start */
        bool slotted = cursor < n && (entries[cursor] >> 32) == index;
        if (w0 & TLSF_W_CACHED) {
            if (!slotted || !tlsf_cached_hdr_ok(t, b, w0, (unsigned)(entries[cursor] & 0xFFFFFFFFu))) bad++;
            cached_bytes += tlsf_w_bytes(w0);
        } else if (slotted) {
            bad++; /* a slot names a block that is not cached */
        }
        while (cursor < n && (entries[cursor] >> 32) == index) cursor++;
        b += tlsf_w_bytes(w0);
    }
    bad += n - cursor;
    if (t->cache_room_bytes > t->cache_budget_bytes || cached_bytes != tlsf_cache_bytes(t)) bad++;
    if (t->cache_classes > TLSF_CACHE_MAX_CLASSES) bad++;
    tlsf_fast fast;
    tlsf_fast_derive(t, &fast);
    if (memcmp(&fast, &t->fast, sizeof fast) != 0) bad++;
    return bad;
}
