/*
 * buddy_inspect.c - the buddy allocator's read-side entry points: O(1)
 * stats, free_stats, walk, trim (they report canonical blocks, so they flush
 * the caches first) and check(), which verifies every invariant listed at
 * the top of buddy.c against the tags, words, bitmaps and caches, counting
 * violations without changing anything.
 */
#include "buddy_internal.h"

/* ------------------------------------------------------ statistics and walks */

MP_Status mp_buddy_stats(const MP_Buddy *b, MP_HeapStats *out) {
    if (b == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    buddy_lock(b);
    *out = b->stats;
    out->live_block_count = buddy_live_blocks(b);
    buddy_unlock(b);
    return MP_OK;
}

/* Flushes the caches of an allocator the caller passed as const: flushing
 * changes no observable state (the same bytes are free), it only merges
 * cached blocks so the figures describe canonical blocks. The allocator is
 * never in read-only memory (the library creates it). */
static void buddy_cache_flush_const(const MP_Buddy *b) {
    buddy_cache_flush((MP_Buddy *)(uintptr_t)b);
}

/* O(orders + cached blocks): the per-order counts of the free bitmaps are
 * kept; the caches are flushed first. */
MP_Status mp_buddy_free_stats(const MP_Buddy *b, MP_FreeStats *out) {
    if (b == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_FreeStats fs = {0, 0, 0, 0.0};
    buddy_lock(b);
    buddy_cache_flush_const(b);
    for (unsigned k = 0; k <= b->top_order; k++) {
        fs.free_block_count += b->free_block_counts[k];
        fs.free_bytes += b->free_block_counts[k] * buddy_block_bytes(b, k);
    }
    fs.largest_free_block_bytes = buddy_largest_free_bytes(b);
    buddy_unlock(b);
    if (fs.free_bytes != 0) fs.fragmentation = 1.0 - (double)fs.largest_free_block_bytes / (double)fs.free_bytes;
    *out = fs;
    return MP_OK;
}

/* Calls fn for every block in address order (caches flushed first), under
 * the lock: fn must not call into this allocator. MP_ERR_CORRUPTION if the
 * entries do not tile the region. */
MP_Status mp_buddy_walk(const MP_Buddy *b, MP_WalkFn fn, void *ctx) {
    if (b == NULL || fn == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_Status status = MP_OK;
    buddy_lock(b);
    buddy_cache_flush_const(b);
    for (size_t u = 0; u < b->unit_count;) {
        uint8_t tag = buddy_tag_at(b, u);
        unsigned order = buddy_tag_order(tag);
        if ((tag & MP_BUDDY_TAG_START) == 0 || order > b->top_order) {
            status = MP_ERR_CORRUPTION;
            break;
        }
        if (fn(buddy_addr(b, u), buddy_block_bytes(b, order), (tag & MP_BUDDY_TAG_USED) != 0, ctx) != 0) break;
        u += buddy_units(order);
    }
    buddy_unlock(b);
    return status == MP_OK ? MP_OK : mp_fail(status, 0, 0, 0);
}

/* Gives back the whole pages inside a run of free units. */
static size_t buddy_release_run(const MP_Buddy *b, size_t first_unit, size_t unit_count) {
    if (unit_count == 0) return 0;
    return mp_os_release_pages(buddy_addr(b, first_unit), unit_count << b->min_log2);
}

/* O(blocks): coalesces address-adjacent free blocks (neighbours that are not
 * buddies too) and releases the whole pages inside each run. */
MP_Status mp_buddy_trim(MP_Buddy *b, size_t *released_bytes) {
    if (b == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t released = 0;
    buddy_lock(b);
    buddy_cache_flush(b);
    if (b->map_ptr != NULL) {
        size_t run_start = 0, run_units = 0;
        for (size_t u = 0; u < b->unit_count;) {
            uint8_t tag = buddy_tag_at(b, u);
            if ((tag & MP_BUDDY_TAG_START) == 0) break; /* corrupt; check() reports it */
            size_t units = buddy_units(buddy_tag_order(tag));
            if ((tag & MP_BUDDY_TAG_USED) != 0) {
                released += buddy_release_run(b, run_start, run_units);
                run_units = 0;
            } else {
                if (run_units == 0) run_start = u;
                run_units += units;
            }
            u += units;
        }
        released += buddy_release_run(b, run_start, run_units);
    }
    buddy_unlock(b);
    if (released_bytes != NULL) *released_bytes = released;
    return MP_OK;
}

/* ---------------------------------------------------------------------- check */

typedef struct mp_buddy_tally {
    size_t free_counts[MP_BUDDY_MAX_ORDERS];
    size_t cached_counts[MP_BUDDY_MAX_ORDERS];
    size_t used_bytes;
    size_t used_blocks;
    size_t requested_bytes;
} mp_buddy_tally;

/* Walks the tags; counts blocks that break the tiling or could have merged. */
static size_t buddy_check_tags(const MP_Buddy *b, mp_buddy_tally *t) {
    size_t bad = 0;
    for (size_t u = 0; u < b->unit_count;) {
        uint8_t tag = buddy_tag_at(b, u);
        unsigned order = buddy_tag_order(tag);
        size_t units = buddy_units(order);
        if ((tag & MP_BUDDY_TAG_START) == 0 || order > b->top_order || (u & (units - 1)) != 0 ||
            u + units > b->unit_count || (tag & (MP_BUDDY_TAG_USED | MP_BUDDY_TAG_CACHED)) ==
                                             (MP_BUDDY_TAG_USED | MP_BUDDY_TAG_CACHED)) {
            bad++;
            u++;
            continue;
        }
        for (size_t v = u + 1; v < u + units; v++) bad += buddy_tag_at(b, v) != 0;
        if ((tag & MP_BUDDY_TAG_USED) != 0) {
            uint64_t requested = *buddy_word_ptr(b, u) & MP_BUDDY_REQUESTED_MASK;
            bad += requested > buddy_block_bytes(b, order);
            t->used_bytes += buddy_block_bytes(b, order);
            t->used_blocks++;
            t->requested_bytes += (size_t)requested;
        } else if ((tag & MP_BUDDY_TAG_CACHED) != 0) {
            t->cached_counts[order]++;
        } else {
            t->free_counts[order]++;
            size_t parent = u & ~(2 * units - 1);
            bad += order < b->top_order && parent + 2 * units <= b->unit_count &&
                   buddy_tag_at(b, u ^ units) == buddy_tag(order, false);
        }
        u += units;
    }
    return bad;
}

/* Checks one order's bitmap: every level-0 bit names a free, uncached block
 * of order k inside the region, as many as the walk counted; every upper bit
 * is set iff its word below is not zero; no bit lies past a level's end. */
static size_t buddy_check_order_bits(const MP_Buddy *b, unsigned k, size_t walk_count) {
    const mp_buddy_bits *fb = &b->free_bits[k];
    size_t bad = 0, set = 0, places = b->unit_count >> k;
    uint8_t want = buddy_tag(k, false);
    for (size_t j = 0; j < fb->words[0]; j++) {
        for (uint64_t w = fb->level[0][j]; w != 0; w &= w - 1) {
            size_t i = j * 64u + buddy_ctz64(w);
            set++;
            bad += i >= places || buddy_tag_at(b, i << k) != want;
        }
    }
    bad += set != walk_count;
    for (unsigned l = 1; l < fb->levels; l++) {
        for (size_t j = 0; j < fb->words[l]; j++) {
            uint64_t expect = 0;
            for (size_t c = 0; c < 64u && j * 64u + c < fb->words[l - 1]; c++)
                expect |= (uint64_t)(fb->level[l - 1][j * 64u + c] != 0) << c;
            bad += fb->level[l][j] != expect;
        }
    }
    bad += fb->levels == 0 || fb->words[fb->levels - 1] != 1;
    return bad;
}

/* Checks every order's bitmap against the walk, the per-order counts and the
 * non-empty bitmap. */
static size_t buddy_check_bits(const MP_Buddy *b, const mp_buddy_tally *t) {
    size_t bad = 0;
    for (unsigned k = 0; k < MP_BUDDY_MAX_ORDERS; k++) {
        bool nonempty = ((b->nonempty_orders >> k) & 1u) != 0;
        bad += nonempty != (b->free_block_counts[k] != 0);
        bad += b->free_block_counts[k] != t->free_counts[k];
        if (k <= b->top_order) bad += buddy_check_order_bits(b, k, t->free_counts[k]);
    }
    return bad;
}

/* Follows every cache; counts foreign members, entries whose place is not
 * their unit's, cycles, overfull caches and disagreements with the tag walk
 * and the counts. */
static size_t buddy_check_caches(const MP_Buddy *b, const mp_buddy_tally *t) {
    size_t bad = 0;
    for (unsigned k = 0; k < MP_BUDDY_MAX_ORDERS; k++) {
        uint8_t want = (uint8_t)(MP_BUDDY_TAG_START | MP_BUDDY_TAG_CACHED | k);
        size_t steps = 0;
        for (uint64_t e = b->cache_heads[k]; buddy_entry_unit(e) != MP_BUDDY_NIL; steps++) {
            size_t v = buddy_entry_unit(e);
            if (v >= b->unit_count || buddy_entry_place(e) != buddy_place(b, v) ||
                buddy_tag_at(b, v) != want || steps == t->cached_counts[k]) {
                bad++;
                break;
            }
            e = *buddy_word_ptr(b, v);
        }
        bad += steps != t->cached_counts[k];
        bad += b->cache_counts[k] != t->cached_counts[k];
        bad += b->cache_counts[k] > MP_BUDDY_CACHE_BOUND;
        bad += b->order_bytes[k] != (k <= b->top_order ? buddy_block_bytes(b, k) : 0);
    }
    return bad;
}

size_t mp_buddy_check(const MP_Buddy *b) {
    if (b == NULL) return 1;
    mp_buddy_tally t;
    memset(&t, 0, sizeof t);
    buddy_lock(b);
    size_t bad = buddy_check_tags(b, &t) + buddy_check_bits(b, &t) + buddy_check_caches(b, &t);
    bad += ((uintptr_t)b->base & (((uintptr_t)1 << b->min_log2) - 1)) != 0;
    bad += b->stats.region_bytes != b->region_bytes;
    bad += b->stats.bytes_in_use != t.used_bytes;
    bad += buddy_live_blocks(b) != t.used_blocks;
    bad += b->stats.live_block_count != 0; /* derived when read, never kept */
    bad += b->stats.bytes_requested != t.requested_bytes;
    bad += b->stats.bytes_in_use_peak < b->stats.bytes_in_use;
    buddy_unlock(b);
    return bad;
}
