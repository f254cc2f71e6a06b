/*
 * buddy.c - binary buddy allocator whose whole block state lives out of band.
 *
 * Algorithm. The managed region is cut into units of min_block_bytes. A block
 * of order k spans 2^k units, starts at a unit index u that is a multiple of
 * 2^k, and its buddy starts at u ^ 2^k. Allocation looks up the smallest
 * order >= the order wanted that has a free block (one ctz over a 64-bit
 * bitmap of non-empty orders), takes that order's lowest-addressed free block
 * and splits it, filing the halves it does not keep as free; free merges the
 * block with its buddy while the buddy is one whole free block of the same
 * order. Both are O(log(max_block_bytes / min_block_bytes)).
 * A region that is not a power of two is a forest of top-level blocks: as many
 * blocks of the top order as fit, then the remainder as blocks of descending
 * powers of two (managed, not wasted). With that forest, a block of order k
 * may merge into its parent exactly when k < top_order and the parent lies
 * inside the region.
 *
 * Memory layout. Outside the region, per unit u:
 *   tag  1 byte: 0 for a unit inside a block; for the first unit of a block
 *        MP_BUDDY_TAG_START | (MP_BUDDY_TAG_USED or MP_BUDDY_TAG_CACHED, or
 *        neither for a free block) | order;
 *   word 8 bytes, meaningful at block starts only: for a used block
 *        requested_bytes | align_log2 << 58; for a cached block the next
 *        entry of its order's cache (the next block's unit and place, see
 *        buddy_cache_entry; unit MP_BUDDY_NIL ends it); unused for a free block.
 * and per order k a free bitmap (mp_buddy_bits): bit i says the block of
 * order k at unit i << k is free and not cached, with summary levels (one bit
 * per non-zero word below) so the lowest set bit is found in O(levels) and a
 * bit is set or cleared touching one word per level, never a neighbour's
 * metadata (a doubly linked list would: that was two cache misses per merge).
 * The tags and words are not indexed by u but laid out in segments by the
 * trailing zeros of u: unit u with t trailing zeros is at index u >> (t + 1)
 * of segment t (unit 0 alone in segment 32); the segments follow each other,
 * so the place of u (its segment's first place + that index) indexes both
 * the tags and the words. A block of order k starts at a
 * multiple of 2^k, so its metadata is in segments >= k, which hold only
 * unit_count / 2^k places: the metadata of large blocks is as dense as that
 * of small ones (4 KiB blocks of 16-byte units: 8 blocks' words per cache
 * line, not one), which is what keeps a free of a random live block from
 * missing the cache on its tag and word. No allocator byte lives in the
 * region, so writes into any block, live or freed, corrupt user data only.
 * Cost: 9 bytes per unit plus ~0.25 for the bitmaps (14% of the region with
 * the default 64-byte units). create/create_ex take the metadata from calloc;
 * create_in lays out [MP_Buddy | words | bitmaps | tags | region] in caller
 * memory and clears the tags and bitmaps (the words need no clearing).
 *
 * Alignment. The region base is aligned to min_block_bytes (caller regions:
 * the start is rounded up, losing less than one unit; mapped regions: to the
 * top block size, at most 2 MiB), so a block of order k sits at a real address
 * aligned to min(block bytes, base_align_bytes). alloc_aligned with an
 * alignment the base has picks an order >= log2(align) (O(log)); larger
 * alignments scan the free bitmaps for a block holding a suitably aligned
 * sub-block (O(free blocks), rare). The requested alignment is kept per block
 * so a moving realloc keeps it.
 *
 * Lazy coalescing. A freed block does not merge at once: it goes to a small
 * per-order cache (a LIFO of at most MP_BUDDY_CACHE_BOUND blocks per order,
 * linked through the blocks' words) tagged MP_BUDDY_TAG_CACHED, and the next
 * allocation of that order pops it in O(1). A free that finds its order's
 * cache full merges the block at once, as before. The caches are flushed
 * (every cached block merged, lowest order first, so the result is the
 * canonical state immediate coalescing would have reached) when an allocation
 * finds no free block of a large enough order, before an over-aligned
 * allocation scans the bitmaps, before a growing realloc gives up on growing
 * in place, in trim, free_stats and walk (which report canonical blocks), and
 * by mp_buddy_flush_cache (buddy_internal.h). reset empties them. A cached
 * block is free for every purpose: it is not counted in bytes_in_use, freeing
 * it again is MP_ERR_DOUBLE_FREE, and usable_size reports 0.
 *
 * Counters. alloc_count counts new blocks (alloc, alloc_aligned, calloc,
 * realloc of NULL), free_count successful frees; a realloc that resizes or
 * moves a block counts only in realloc_count. A realloc of an address that is
 * not a live block counts in rejected_free_count, like a refused free.
 * live_block_count is not kept but derived when read (alloc_count -
 * free_count - blocks a reset dropped), one counter fewer per operation.
 *
 * Invariants check() (buddy_inspect.c) verifies: the tags tile the region into aligned blocks
 * of order <= top_order whose inner units are tagged 0, none both used and
 * cached; no free (uncached) block has a free uncached buddy of its order
 * that it could merge with; each order's bitmap has exactly one level-0 bit
 * per free uncached block of that order (and none past the region), every
 * summary bit is set iff its word below is not zero, and the per-order
 * counts and the non-empty bitmap agree with them; every cache holds exactly
 * the blocks tagged cached of its order, at most MP_BUDDY_CACHE_BOUND,
 * without cycles, each entry naming its block's place, and its count
 * agrees; the per-order block sizes are right; used blocks record
 * requested_bytes <= block bytes; the O(1) counters equal the sums of a walk.
 */
#include "buddy_internal.h"

#include <stdlib.h>

typedef struct mp_buddy_geometry {
    unsigned min_log2;
    unsigned top_order;
    size_t unit_count;
} mp_buddy_geometry;

/* ------------------------------------------------------------- small helpers */

/* Index of the lowest set bit of a non-zero order mask (orders < 32). */
MP_INLINE unsigned buddy_lowest_order(uint64_t mask) { return mp_log2_floor((size_t)(mask & (~mask + 1))); }

/* Order of the smallest block holding `bytes`; > top_order when none does. */
MP_INLINE unsigned buddy_order_for(const MP_Buddy *b, size_t bytes) {
    if (bytes <= ((size_t)1 << b->min_log2)) return 0;
    return mp_log2_floor(bytes - 1) + 1 - b->min_log2;
}

MP_INLINE size_t buddy_min_bytes(const MP_BuddyConfig *cfg) {
    return cfg->min_block_bytes != 0 ? cfg->min_block_bytes : MP_BUDDY_DEFAULT_MIN_BYTES;
}

/* Why a size above the top block fails: its rounding would overflow, or the
 * region is too small. */
MP_INLINE MP_Status buddy_too_large_status(size_t size) {
    return size > SIZE_MAX / 2 ? MP_ERR_SIZE_OVERFLOW : MP_ERR_OUT_OF_MEMORY;
}

/* ------------------------------------------------------------- free bitmaps */

/* Sets bit `i` of a bitmap and, while the word it lands in was empty, the
 * word's bit one level up. */
static void buddy_bits_set(mp_buddy_bits *fb, size_t i) {
    for (unsigned l = 0; l < fb->levels; l++) {
        uint64_t *w = &fb->level[l][i >> 6];
        uint64_t old = *w;
        *w = old | (UINT64_C(1) << (i & 63u));
        if (old != 0) return;
        i >>= 6;
    }
}

/* Clears bit `i` and, while its word becomes empty, the word's bit above. */
static void buddy_bits_clear(mp_buddy_bits *fb, size_t i) {
    for (unsigned l = 0; l < fb->levels; l++) {
        uint64_t *w = &fb->level[l][i >> 6];
        *w &= ~(UINT64_C(1) << (i & 63u));
        if (*w != 0) return;
        i >>= 6;
    }
}

/* The lowest set bit at or above `i`; MP_BUDDY_NIL if none. O(levels). */
static size_t buddy_bits_next(const mp_buddy_bits *fb, size_t i) {
    unsigned l = 0;
    for (;; l++) {
        if (l == fb->levels || (i >> 6) >= fb->words[l]) return MP_BUDDY_NIL;
        uint64_t w = fb->level[l][i >> 6] & (~UINT64_C(0) << (i & 63u));
        if (w != 0) {
            i = (i & ~(size_t)63) + (size_t)buddy_ctz64(w);
            break;
        }
        i = (i >> 6) + 1;
    }
    while (l-- > 0) i = (i << 6) + (size_t)buddy_ctz64(fb->level[l][i]);
    return i;
}

/* Files the free block of `order` at `unit` as free and uncached: its tag,
 * its bitmap bit, the per-order count and the non-empty bit. */
static void buddy_list_push(MP_Buddy *b, unsigned order, size_t unit) {
    buddy_bits_set(&b->free_bits[order], unit >> order);
    b->nonempty_orders |= UINT64_C(1) << order;
    b->free_block_counts[order]++;
    *buddy_tag_ptr(b, unit) = buddy_tag(order, false);
}

/* Takes a free block off its order's bitmap; its tag is left for the
 * caller to rewrite. No neighbour's metadata is touched. */
static void buddy_list_remove(MP_Buddy *b, unsigned order, size_t unit) {
    buddy_bits_clear(&b->free_bits[order], unit >> order);
    if (--b->free_block_counts[order] == 0) b->nonempty_orders &= ~(UINT64_C(1) << order);
}

/* Takes the free block of order `from` at `unit` off its list and splits it
 * down to order `order`, keeping the piece that starts at `target` (a unit
 * inside the block, aligned to 2^order) and pushing every other half. */
void buddy_carve(MP_Buddy *b, unsigned from, size_t unit, unsigned order, size_t target) {
    buddy_list_remove(b, from, unit);
    while (from > order) {
        from--;
        size_t half = buddy_units(from);
        if (target >= unit + half) {
            buddy_list_push(b, from, unit);
            unit += half;
        } else {
            buddy_list_push(b, from, unit + half);
        }
    }
}

/* Marks the block of `order` at `unit` used; callers unpoison the bytes
 * that are new to the user (all of them, or only the grown part, so valgrind
 * keeps knowing which bytes a resized block has defined). */
MP_INLINE uint64_t buddy_used_word(size_t requested, unsigned align_log2) {
    return (uint64_t)requested | ((uint64_t)align_log2 << MP_BUDDY_ALIGN_SHIFT);
}

void buddy_mark_used(MP_Buddy *b, size_t unit, unsigned order, size_t requested, unsigned align_log2) {
    *buddy_tag_ptr(b, unit) = buddy_tag(order, true);
    *buddy_word_ptr(b, unit) = buddy_used_word(requested, align_log2);
}

/* Puts the block of `order` at `unit` (tag already cleared) on the free
 * lists, merging it with its buddies as far as they are free and uncached. */
static void buddy_merge_push(MP_Buddy *b, size_t unit, unsigned order) {
    while (order < b->top_order) {
        size_t size_units = buddy_units(order);
        size_t parent = unit & ~(2 * size_units - 1);
        if (parent + 2 * size_units > b->unit_count) break;
        size_t buddy = unit ^ size_units;
        if (buddy_tag_at(b, buddy) != buddy_tag(order, false)) break;
        buddy_list_remove(b, order, buddy);
        *buddy_tag_ptr(b, buddy) = 0;
        unit = parent;
        order++;
    }
    buddy_list_push(b, order, unit);
}

/* Returns the used block of `order` at `unit` to the free bitmaps at once. */
void buddy_release(MP_Buddy *b, size_t unit, unsigned order) {
    MP_POISON(buddy_addr(b, unit), buddy_block_bytes(b, order));
    *buddy_tag_ptr(b, unit) = 0;
    buddy_merge_push(b, unit, order);
}

/* ------------------------------------------------------------------ caches */

/* The cache is a LIFO: the block a free pushes is the next one an
 * allocation of its order hands out, and callers write a new block first
 * thing. Fetching its first line now (a hint: nothing is written, the region
 * stays free of allocator bytes) overlaps that cache miss with the work
 * between the free and that allocation instead of stalling the caller's
 * first store (on mixed_live10k, whose loop writes each new block's first
 * byte, ~3 of ~24 ns per op). */
MP_INLINE void buddy_prefetch_for_write(const void *p) {
#if defined(__GNUC__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
}

/* Pops the newest cached block of `order`; its tag and word (`*m`) still
 * say cached, for the caller to rewrite. */
MP_INLINE size_t buddy_cache_pop(MP_Buddy *b, unsigned order, buddy_meta *m) {
    uint64_t head = b->cache_heads[order];
    *m = buddy_meta_of_place(b, buddy_entry_place(head));
    b->cache_heads[order] = *m->word;
    b->cache_counts[order]--;
    return buddy_entry_unit(head);
}

/* Pops the newest cached block of `order` and marks it used. */
MP_INLINE size_t buddy_cache_take(MP_Buddy *b, unsigned order, size_t requested, unsigned align_log2) {
    buddy_meta m;
    size_t unit = buddy_cache_pop(b, order, &m);
    *m.tag = buddy_tag(order, true);
    *m.word = buddy_used_word(requested, align_log2);
    MP_UNPOISON(buddy_addr(b, unit), buddy_block_bytes(b, order));
    return unit;
}

/* Files the used block of `order` at `unit` (address `ptr`, metadata `m`)
 * in its order's cache, which has room. Its tag, START | USED | order,
 * becomes START | CACHED | order by flipping the two state bits. */
MP_INLINE void buddy_cache_push(MP_Buddy *b, void *ptr, size_t unit, buddy_meta m, unsigned order) {
    MP_POISON(ptr, buddy_block_bytes(b, order));
    buddy_prefetch_for_write(ptr);
    *m.tag = (uint8_t)(*m.tag ^ (MP_BUDDY_TAG_USED | MP_BUDDY_TAG_CACHED));
    *m.word = b->cache_heads[order];
    b->cache_heads[order] = buddy_cache_entry(unit, m.place);
    b->cache_counts[order]++;
}

/* Returns the used block of `order` at `unit` to its order's cache, or,
 * when that is full, to the free bitmaps with merging. */
MP_INLINE void buddy_release_lazy(MP_Buddy *b, void *ptr, size_t unit, buddy_meta m, unsigned order) {
    if (MP_UNLIKELY(b->cache_counts[order] >= MP_BUDDY_CACHE_BOUND)) {
        buddy_release(b, unit, order);
        return;
    }
    buddy_cache_push(b, ptr, unit, m, order);
}

/* Merges every cached block, lowest order first: a block whose buddy is
 * still cached stops merging, and merges when that buddy is flushed, so the
 * result is the canonical state. O(cached blocks * orders). */
MP_COLD void buddy_cache_flush(MP_Buddy *b) {
    for (unsigned k = 0; k <= b->top_order; k++) {
        while (b->cache_counts[k] != 0) {
            buddy_meta m;
            size_t unit = buddy_cache_pop(b, k, &m);
            *m.tag = 0;
            buddy_merge_push(b, unit, k);
        }
    }
}

void mp_buddy_flush_cache(MP_Buddy *b) {
    if (b == NULL) return;
    buddy_lock(b);
    buddy_cache_flush(b);
    buddy_unlock(b);
}

/* The unit at `ptr`'s offset from the base, rotated right rather than
 * shifted: an offset that is not a multiple of the unit size keeps its low
 * bits as the top bits of the result, above any unit index (unit_count <<
 * min_log2 = region_bytes fits in a size_t), and an address below the base
 * wraps past the region. So `unit < unit_count` alone says `ptr` is a unit
 * start inside the region: one rotate and one compare (gcc and clang emit
 * `ror` for this form) instead of a bound, a mask test and a shift. */
MP_INLINE size_t buddy_unit_rotated(const MP_Buddy *b, const void *ptr) {
    const unsigned width = (unsigned)(sizeof(size_t) * 8u);
    size_t offset = (size_t)((uintptr_t)ptr - (uintptr_t)b->base);
    unsigned s = b->min_log2;
    return (offset >> s) | (offset << ((width - s) & (width - 1u)));
}

/* The tag of a used block start has both of these bits; anything below
 * (inner unit, free or cached block) does not. */
#define MP_BUDDY_TAG_USED_START (MP_BUDDY_TAG_START | MP_BUDDY_TAG_USED)

/* Resolves `ptr` to the unit of a used block: MP_ERR_INVALID_ADDRESS for
 * anything that is not a block start, MP_ERR_DOUBLE_FREE for a free one. */
MP_INLINE MP_Status buddy_find(const MP_Buddy *b, const void *ptr, size_t *unit, buddy_meta *meta) {
    size_t u = buddy_unit_rotated(b, ptr);
    if (u >= b->unit_count) return MP_ERR_INVALID_ADDRESS;
    buddy_meta m = buddy_meta_at(b, u);
    uint8_t tag = *m.tag;
    if ((tag & MP_BUDDY_TAG_START) == 0) return MP_ERR_INVALID_ADDRESS;
    if ((tag & MP_BUDDY_TAG_USED) == 0) return MP_ERR_DOUBLE_FREE;
    *unit = u;
    *meta = m;
    return MP_OK;
}

MP_Status buddy_lookup(const MP_Buddy *b, const void *ptr, size_t *unit) {
    buddy_meta m;
    return buddy_find(b, ptr, unit, &m);
}

/* ---------------------------------------------------------------- allocation */

/* Finds a free block of `order` whose real address is a multiple of `align`
 * when the base does not guarantee it: scans the free bitmaps of every order
 * >= `order` for a block holding such a sub-block. O(free blocks). */
static size_t buddy_take_aligned_slow(MP_Buddy *b, unsigned order, size_t align) {
    size_t block_bytes = buddy_block_bytes(b, order);
    for (unsigned j = order; j <= b->top_order; j++) {
        size_t candidate_bytes = buddy_block_bytes(b, j);
        const mp_buddy_bits *fb = &b->free_bits[j];
        for (size_t i = buddy_bits_next(fb, 0); i != MP_BUDDY_NIL; i = buddy_bits_next(fb, i + 1)) {
            size_t v = i << j;
            uintptr_t start = (uintptr_t)buddy_addr(b, v);
            size_t skip_bytes = (size_t)((align - (start & (align - 1))) & (align - 1));
            if ((skip_bytes & (block_bytes - 1)) != 0) continue;
            if (skip_bytes > candidate_bytes - block_bytes) continue;
            size_t target = v + (skip_bytes >> b->min_log2);
            buddy_carve(b, j, v, order, target);
            return target;
        }
    }
    return MP_BUDDY_NIL;
}

/* Allocates a block for `size` bytes at a real address that is a multiple of
 * `align` (a power of two; 1 = no requirement) without touching counters.
 * Returns the unit or MP_BUDDY_NIL with *status set. */
static size_t buddy_take(MP_Buddy *b, size_t size, size_t align, MP_Status *status) {
    unsigned order = buddy_order_for(b, size);
    if (MP_UNLIKELY(order > b->top_order)) {
        *status = buddy_too_large_status(size);
        return MP_BUDDY_NIL;
    }
    unsigned align_log2 = mp_log2_floor(align);
    size_t unit;
    if (MP_LIKELY(align <= b->base_align_bytes && align_log2 <= b->top_order + b->min_log2)) {
        unsigned align_order = buddy_order_for(b, align);
        if (align_order > order) order = align_order;
        if (MP_LIKELY(b->cache_counts[order] != 0)) {
            return buddy_cache_take(b, order, size, align_log2);
        }
        uint64_t candidates = b->nonempty_orders >> order;
        if (MP_UNLIKELY(candidates == 0)) {
            buddy_cache_flush(b);
            candidates = b->nonempty_orders >> order;
        }
        if (MP_UNLIKELY(candidates == 0)) {
            *status = MP_ERR_OUT_OF_MEMORY;
            return MP_BUDDY_NIL;
        }
        unsigned from = order + buddy_lowest_order(candidates);
        unit = buddy_bits_next(&b->free_bits[from], 0) << from;
        buddy_carve(b, from, unit, order, unit);
    } else {
        uintptr_t base = (uintptr_t)b->base;
        size_t first_aligned_offset = (size_t)((align - (base & (align - 1))) & (align - 1));
        if ((align > b->base_align_bytes && buddy_block_bytes(b, order) > b->base_align_bytes) ||
            first_aligned_offset >= b->region_bytes) {
            /* No address of the region is aligned, or blocks larger than the
             * base alignment sit at offsets whose residue modulo `align` can
             * never be the one needed. */
            *status = MP_ERR_ALIGNMENT;
            return MP_BUDDY_NIL;
        }
        buddy_cache_flush(b);
        unit = buddy_take_aligned_slow(b, order, align);
        if (unit == MP_BUDDY_NIL) {
            *status = MP_ERR_OUT_OF_MEMORY;
            return MP_BUDDY_NIL;
        }
    }
    buddy_mark_used(b, unit, order, size, align_log2);
    MP_UNPOISON(buddy_addr(b, unit), buddy_block_bytes(b, order));
    return unit;
}

static void buddy_count_in_use(MP_Buddy *b, size_t block_bytes, size_t requested) {
    b->stats.bytes_in_use += block_bytes;
    b->stats.bytes_requested += requested;
    if (b->stats.bytes_in_use > b->stats.bytes_in_use_peak) b->stats.bytes_in_use_peak = b->stats.bytes_in_use;
}

MP_COLD static void *buddy_alloc_failed(MP_Buddy *b, MP_Status status, size_t size) {
    b->stats.failed_alloc_count++;
    mp_fail(status, size, b->region_bytes - b->stats.bytes_in_use, buddy_largest_free_bytes(b));
    return NULL;
}

/* Counts the new block of `order` at `unit` and returns its address. */
MP_INLINE void *buddy_count_alloc(MP_Buddy *b, size_t unit, unsigned order, size_t size) {
    buddy_count_in_use(b, b->order_bytes[order], size);
    b->stats.alloc_count++; /* and one more live block: buddy_live_blocks */
    return buddy_addr(b, unit);
}

/* The body of every allocating entry point, under the lock. */
static void *buddy_alloc_locked(MP_Buddy *b, size_t size, size_t align) {
    MP_Status status = MP_OK;
    size_t unit = buddy_take(b, size, align, &status);
    if (MP_UNLIKELY(unit == MP_BUDDY_NIL)) return buddy_alloc_failed(b, status, size);
    return buddy_count_alloc(b, unit, buddy_tag_order(buddy_tag_at(b, unit)), size);
}

/* mp_buddy_alloc when the fast path below does not apply (a thread-safe
 * allocator, an empty cache, bad arguments): out of line, so the fast path
 * calls nothing and saves no registers. */
static MP_NOINLINE void *buddy_alloc_slow(MP_Buddy *b, size_t size) {
    if (MP_UNLIKELY(b == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    buddy_lock(b);
    void *p = buddy_alloc_locked(b, size, 1); /* a cached block first, as the fast path */
    buddy_unlock(b);
    return p;
}

void *mp_buddy_alloc(MP_Buddy *b, size_t size) {
    if (MP_LIKELY(b != NULL)) {
        /* buddy_order_for without its branch: the bit length of
         * (size - 1) >> min_log2, as floor(log2(2x + 1)); size 0 wraps to an
         * order past the top and takes the slow path, which gives it order 0. */
        unsigned order = mp_log2_floor((((size - 1) >> b->min_log2) << 1) + 1u);
        if (MP_LIKELY(order < b->fast_order_limit && b->cache_counts[order] != 0))
            return buddy_count_alloc(b, buddy_cache_take(b, order, size, 0), order, size);
    }
    return buddy_alloc_slow(b, size);
}

void *mp_buddy_alloc_aligned(MP_Buddy *b, size_t size, size_t align) {
    if (MP_UNLIKELY(b == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    buddy_lock(b);
    void *p = mp_is_pow2(align) ? buddy_alloc_locked(b, size, align)
                                : buddy_alloc_failed(b, MP_ERR_ALIGNMENT, size);
    buddy_unlock(b);
    return p;
}

void *mp_buddy_calloc(MP_Buddy *b, size_t size) {
    void *p = mp_buddy_alloc(b, size);
    if (p != NULL) memset(p, 0, mp_buddy_usable_size(b, p)); /* all of it: see the header */
    return p;
}

/* Counts the free of the used block of `order` whose word is `word` (one
 * live block fewer: buddy_live_blocks). */
MP_INLINE void buddy_count_free(MP_Buddy *b, uint64_t word, unsigned order) {
    b->stats.bytes_in_use -= b->order_bytes[order];
    b->stats.bytes_requested -= (size_t)(word & MP_BUDDY_REQUESTED_MASK);
    b->stats.free_count++;
}

/* mp_buddy_free when the fast path below does not apply (a thread-safe
 * allocator, a full cache, a refused pointer). */
static MP_NOINLINE MP_Status buddy_free_slow(MP_Buddy *b, void *ptr) {
    if (b == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    buddy_lock(b);
    size_t unit = 0;
    buddy_meta m = {0, NULL, NULL};
    MP_Status status = buddy_find(b, ptr, &unit, &m);
    if (MP_LIKELY(status == MP_OK)) {
        unsigned order = buddy_tag_order(*m.tag);
        uint64_t word = *m.word;
        buddy_release_lazy(b, ptr, unit, m, order);
        buddy_count_free(b, word, order);
    } else {
        b->stats.rejected_free_count++;
    }
    buddy_unlock(b);
    return status == MP_OK ? MP_OK : mp_fail(status, 0, 0, 0);
}

MP_Status mp_buddy_free(MP_Buddy *b, void *ptr) {
    if (MP_LIKELY(b != NULL)) {
        size_t unit = buddy_unit_rotated(b, ptr);
        if (MP_LIKELY(unit < b->fast_unit_limit)) {
            buddy_meta m = buddy_meta_at(b, unit);
            uint8_t tag = *m.tag;
            unsigned order = buddy_tag_order(tag);
            /* A used block start; the slow path sorts out what else it is. */
            if (MP_LIKELY(tag >= MP_BUDDY_TAG_USED_START && b->cache_counts[order] < MP_BUDDY_CACHE_BOUND)) {
                uint64_t word = *m.word;
                buddy_cache_push(b, ptr, unit, m, order);
                buddy_count_free(b, word, order);
                return MP_OK;
            }
        }
    }
    return buddy_free_slow(b, ptr);
}

size_t mp_buddy_usable_size(const MP_Buddy *b, const void *ptr) {
    if (b == NULL) return 0;
    buddy_lock(b);
    size_t unit = 0;
    size_t bytes = 0;
    if (buddy_lookup(b, ptr, &unit) == MP_OK) bytes = buddy_block_bytes(b, buddy_tag_order(buddy_tag_at(b, unit)));
    buddy_unlock(b);
    return bytes;
}

/* ------------------------------------------------------------------- realloc */

/* True if the used block of `order` at `unit` can become a block of
 * `new_order` by absorbing the free upper buddies of every level. */
static bool buddy_can_grow_in_place(const MP_Buddy *b, size_t unit, unsigned order, unsigned new_order) {
    if ((unit & (buddy_units(new_order) - 1)) != 0) return false;
    if (unit + buddy_units(new_order) > b->unit_count) return false;
    for (unsigned j = order; j < new_order; j++) {
        if (buddy_tag_at(b, unit + buddy_units(j)) != buddy_tag(j, false)) return false;
    }
    return true;
}

/* Resizes the used block at `unit`; *ptr is moved only on success. */
static MP_Status buddy_resize_locked(MP_Buddy *b, void **ptr, size_t unit, size_t size) {
    buddy_meta m = buddy_meta_at(b, unit);
    uint64_t word = *m.word;
    unsigned order = buddy_tag_order(*m.tag);
    size_t old_requested = (size_t)(word & MP_BUDDY_REQUESTED_MASK);
    unsigned align_log2 = (unsigned)(word >> MP_BUDDY_ALIGN_SHIFT) & MP_BUDDY_ALIGN_MASK;
    size_t old_bytes = buddy_block_bytes(b, order);
    unsigned new_order = buddy_order_for(b, size);
    if (new_order > b->top_order) {
        MP_Status status = buddy_too_large_status(size);
        buddy_alloc_failed(b, status, size);
        return status;
    }
    size_t new_unit = unit;
    if (new_order <= order) {
        /* Shrink: give back the upper halves; none can merge (their buddies
         * are parts of this block). */
        for (unsigned j = order; j-- > new_order;) {
            size_t half = unit + buddy_units(j);
            MP_POISON(buddy_addr(b, half), buddy_block_bytes(b, j));
            buddy_list_push(b, j, half);
        }
        buddy_mark_used(b, unit, new_order, size, align_log2);
    } else if (buddy_can_grow_in_place(b, unit, order, new_order) ||
               (buddy_cache_flush(b), buddy_can_grow_in_place(b, unit, order, new_order))) {
        for (unsigned j = order; j < new_order; j++) {
            size_t half = unit + buddy_units(j);
            buddy_list_remove(b, j, half);
            *buddy_tag_ptr(b, half) = 0;
        }
        buddy_mark_used(b, unit, new_order, size, align_log2);
        MP_UNPOISON(buddy_addr(b, unit) + old_bytes, buddy_block_bytes(b, new_order) - old_bytes);
    } else {
        MP_Status status = MP_OK;
        new_unit = buddy_take(b, size, (size_t)1 << align_log2, &status);
        if (new_unit == MP_BUDDY_NIL) {
            buddy_alloc_failed(b, status, size);
            return status;
        }
        new_order = buddy_tag_order(buddy_tag_at(b, new_unit)); /* alignment may raise it */
        memcpy(buddy_addr(b, new_unit), buddy_addr(b, unit), old_bytes);
        buddy_release(b, unit, order);
    }
    b->stats.bytes_in_use -= old_bytes;
    b->stats.bytes_requested -= old_requested;
    buddy_count_in_use(b, buddy_block_bytes(b, new_order), size);
    b->stats.realloc_count++;
    *ptr = buddy_addr(b, new_unit);
    return MP_OK;
}

MP_Status mp_buddy_realloc(MP_Buddy *b, void **ptr, size_t size) {
    if (b == NULL || ptr == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    buddy_lock(b);
    MP_Status status;
    if (*ptr == NULL) {
        void *p = buddy_alloc_locked(b, size, 1);
        status = p != NULL ? MP_OK : mp_last_error().status;
        if (p != NULL) {
            b->stats.realloc_count++;
            *ptr = p;
        }
    } else {
        size_t unit = 0;
        status = buddy_lookup(b, *ptr, &unit);
        if (status == MP_OK) {
            status = buddy_resize_locked(b, ptr, unit, size);
        } else {
            b->stats.rejected_free_count++;
            mp_fail(status, size, 0, 0);
        }
    }
    buddy_unlock(b);
    return status;
}

/* ------------------------------------------------------------------ creation */

/* Validates the block sizes of `cfg` for a region of `usable_bytes` starting
 * at a unit-aligned base and derives the geometry. */
static MP_Status buddy_geometry_for(const MP_BuddyConfig *cfg, size_t usable_bytes, mp_buddy_geometry *g) {
    if ((cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0) return MP_ERR_INVALID_ARGUMENT;
    size_t min_bytes = buddy_min_bytes(cfg);
    if (!mp_is_pow2(min_bytes) || min_bytes < 16) return MP_ERR_INVALID_ARGUMENT;
    unsigned min_log2 = mp_log2_floor(min_bytes);
    size_t units = usable_bytes >> min_log2;
    if (units == 0 || units > MP_BUDDY_MAX_UNITS) return MP_ERR_INVALID_ARGUMENT;
    unsigned units_log2 = mp_log2_floor(units);
    if (units_log2 + min_log2 > MP_BUDDY_MAX_REGION_LOG2) return MP_ERR_INVALID_ARGUMENT;
    unsigned top_order = units_log2;
    if (cfg->max_block_bytes != 0) {
        if (!mp_is_pow2(cfg->max_block_bytes) || cfg->max_block_bytes < min_bytes) return MP_ERR_INVALID_ARGUMENT;
        top_order = mp_log2_floor(cfg->max_block_bytes) - min_log2;
        if (top_order > units_log2) return MP_ERR_INVALID_ARGUMENT; /* larger than the region */
    }
    g->min_log2 = min_log2;
    g->top_order = top_order;
    g->unit_count = units;
    return MP_OK;
}

/* Words of every order's free bitmap, all levels (order k: one bit per
 * place of a block of order k, then one bit per word below, up to a single
 * word). With `b`, also points each level into `store`. */
static size_t buddy_bits_layout(size_t unit_count, unsigned top_order, MP_Buddy *b, uint64_t *store) {
    size_t total = 0;
    for (unsigned k = 0; k <= top_order; k++) {
        size_t bits = unit_count >> k;
        unsigned l = 0;
        for (;;) {
            size_t words = (bits + 63u) / 64u;
            if (b != NULL) {
                b->free_bits[k].level[l] = store + total;
                b->free_bits[k].words[l] = words;
            }
            total += words;
            l++;
            if (words == 1) break;
            bits = words;
        }
        if (b != NULL) b->free_bits[k].levels = l;
    }
    return total;
}

/* Places of the per-unit arrays laid out in segments: segment t < 32 holds
 * the units < unit_count whose index has t trailing zeros, at u >> (t + 1);
 * segment 32 holds unit 0. With `b`, also records where each segment starts.
 * At most unit_count + 32. */
static size_t buddy_seg_layout(size_t unit_count, MP_Buddy *b) {
    size_t total = 0;
    for (unsigned t = 0; t < MP_BUDDY_SEGS; t++) {
        size_t places;
        if (t == MP_BUDDY_SEGS - 1)
            places = 1;
        else
            places = ((size_t)1 << t) < unit_count ? ((unit_count - 1) >> t >> 1) + 1 : 0;
        if (b != NULL) b->seg_first[t] = total;
        total += places;
    }
    return total;
}

/* Bytes of the control block, the words, the bitmaps and the tags (in that
 * order); 0 on overflow. */
static size_t buddy_metadata_bytes(const mp_buddy_geometry *g) {
    size_t places = buddy_seg_layout(g->unit_count, NULL);
    size_t words, total;
    if (!mp_add_checked(places, buddy_bits_layout(g->unit_count, g->top_order, NULL, NULL), &words)) return 0;
    if (!mp_mul_checked(words, sizeof(uint64_t), &total)) return 0;
    if (!mp_add_checked(total, places, &total)) return 0;
    if (!mp_add_checked(total, sizeof(MP_Buddy), &total)) return 0;
    return total;
}

/* Frees every block: tags and bitmaps cleared (unless `zeroed` says they
 * are; words need no clearing: they mean something at block starts only),
 * the forest of top-level blocks filed free, the region poisoned, the
 * counters that describe live blocks zeroed. */
static void buddy_reset_state(MP_Buddy *b, bool zeroed) {
    if (!zeroed) {
        memset(b->tags, 0, b->seg_count);
        for (unsigned k = 0; k <= b->top_order; k++) {
            const mp_buddy_bits *fb = &b->free_bits[k];
            for (unsigned l = 0; l < fb->levels; l++) memset(fb->level[l], 0, fb->words[l] * sizeof(uint64_t));
        }
    }
    for (unsigned k = 0; k < MP_BUDDY_MAX_ORDERS; k++) {
        b->order_bytes[k] = k <= b->top_order ? buddy_block_bytes(b, k) : 0;
        b->free_block_counts[k] = 0;
        b->cache_heads[k] = MP_BUDDY_CACHE_END;
        b->cache_counts[k] = 0;
    }
    b->nonempty_orders = 0;
    size_t full_units = (b->unit_count >> b->top_order) << b->top_order;
    size_t remainder = b->unit_count - full_units;
    for (unsigned k = 0; k < b->top_order; k++) {
        if ((remainder >> k) & 1u) buddy_list_push(b, k, full_units + (remainder & ~(2 * buddy_units(k) - 1)));
    }
    for (size_t u = 0; u < full_units; u += buddy_units(b->top_order)) buddy_list_push(b, b->top_order, u);
    MP_POISON(b->base, b->region_bytes);
    b->stats.bytes_in_use = 0;
    b->stats.bytes_in_use_peak = 0;
    b->stats.bytes_requested = 0;
    b->retired_blocks = b->stats.alloc_count - b->stats.free_count; /* no live block left */
}

static void buddy_init(MP_Buddy *b, const mp_buddy_geometry *g, unsigned char *base, uint32_t flags, bool zeroed) {
    b->base = base;
    b->min_log2 = g->min_log2;
    b->top_order = g->top_order;
    b->unit_count = g->unit_count;
    b->region_bytes = g->unit_count << g->min_log2;
    uintptr_t base_addr = (uintptr_t)base;
    b->base_align_bytes = (size_t)(base_addr & (~base_addr + 1));
    b->seg_count = buddy_seg_layout(g->unit_count, NULL);
    uint64_t *bit_words = buddy_words(b) + b->seg_count;
    b->tags = (uint8_t *)(bit_words + buddy_bits_layout(g->unit_count, g->top_order, b, bit_words));
    buddy_seg_layout(g->unit_count, b);
    b->thread_safe = (flags & MP_FLAG_THREAD_SAFE) != 0;
    b->fast_unit_limit = b->thread_safe ? 0 : g->unit_count;
    b->fast_order_limit = b->thread_safe ? 0 : g->top_order + 1;
    mp_lock_init(&b->lock);
    memset(&b->stats, 0, sizeof b->stats);
    b->stats.region_bytes = b->region_bytes;
    buddy_reset_state(b, zeroed);
}

MP_Buddy *mp_buddy_create_ex(const MP_BuddyConfig *cfg) {
    if (cfg == NULL) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
        return NULL;
    }
    mp_buddy_geometry g;
    unsigned char *base = NULL;
    void *map_ptr = NULL;
    size_t map_bytes = 0;
    MP_Status status;
    if (cfg->region != NULL) {
        size_t min_bytes = buddy_min_bytes(cfg);
        uintptr_t start = (uintptr_t)cfg->region;
        uintptr_t aligned = mp_is_pow2(min_bytes) ? mp_align_up_ptr(start, min_bytes) : start;
        size_t slack = (size_t)(aligned - start);
        status = buddy_geometry_for(cfg, cfg->region_bytes > slack ? cfg->region_bytes - slack : 0, &g);
        base = (unsigned char *)aligned;
    } else {
        status = buddy_geometry_for(cfg, cfg->region_bytes, &g);
        if (status == MP_OK) {
            size_t region_bytes = g.unit_count << g.min_log2;
            size_t top_bytes = (size_t)1 << (g.top_order + g.min_log2);
            size_t align = top_bytes < MP_BUDDY_MAP_ALIGN_MAX_BYTES ? top_bytes : MP_BUDDY_MAP_ALIGN_MAX_BYTES;
            if (align < ((size_t)1 << g.min_log2)) align = (size_t)1 << g.min_log2;
            size_t page = mp_os_page_size();
            if (!mp_add_checked(region_bytes, align > page ? align - page : 0, &map_bytes)) {
                status = MP_ERR_SIZE_OVERFLOW;
            } else if ((map_ptr = mp_os_map(map_bytes)) == NULL) {
                status = MP_ERR_OUT_OF_MEMORY;
            } else {
                base = (unsigned char *)mp_align_up_ptr((uintptr_t)map_ptr, align);
            }
        }
    }
    if (status != MP_OK) {
        mp_fail(status, cfg->region_bytes, 0, 0);
        return NULL;
    }
    size_t meta_bytes = buddy_metadata_bytes(&g);
    MP_Buddy *b = meta_bytes != 0 ? calloc(1, meta_bytes) : NULL;
    if (b == NULL) {
        mp_os_unmap(map_ptr, map_bytes);
        mp_fail(MP_ERR_OUT_OF_MEMORY, meta_bytes, 0, 0);
        return NULL;
    }
    b->map_ptr = map_ptr;
    b->map_bytes = map_bytes;
    b->metadata_on_heap = true;
    buddy_init(b, &g, base, cfg->flags, true);
    return b;
}

MP_Buddy *mp_buddy_create(size_t region_bytes, size_t min_block_bytes) {
    MP_BuddyConfig cfg = {region_bytes, min_block_bytes, 0, 0, NULL};
    return mp_buddy_create_ex(&cfg);
}

size_t mp_buddy_footprint(const MP_BuddyConfig *cfg) {
    mp_buddy_geometry g;
    if (cfg == NULL || buddy_geometry_for(cfg, cfg->region_bytes, &g) != MP_OK) return 0;
    size_t meta = buddy_metadata_bytes(&g);
    size_t unit_bytes = (size_t)1 << g.min_log2;
    size_t total;
    /* Worst-case slack: aligning the control block, then the region. */
    if (meta == 0 || !mp_add_checked(meta, MP_BUDDY_CONTROL_ALIGN - 1 + unit_bytes - 1, &total) ||
        !mp_add_checked(total, g.unit_count << g.min_log2, &total)) {
        return 0;
    }
    return total;
}

MP_Buddy *mp_buddy_create_in(void *memory, size_t size, const MP_BuddyConfig *cfg) {
    size_t need = mp_buddy_footprint(cfg);
    if (memory == NULL || need == 0 || size < need) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, need, size, 0);
        return NULL;
    }
    mp_buddy_geometry g = {0, 0, 0};
    buddy_geometry_for(cfg, cfg->region_bytes, &g); /* succeeds: the footprint was computed */
    uintptr_t control = mp_align_up_ptr((uintptr_t)memory, MP_BUDDY_CONTROL_ALIGN);
    MP_Buddy *b = (MP_Buddy *)control;
    memset(b, 0, sizeof *b);
    uintptr_t base = mp_align_up_ptr(control + buddy_metadata_bytes(&g), (uintptr_t)1 << g.min_log2);
    buddy_init(b, &g, (unsigned char *)base, cfg->flags, false);
    return b;
}

void mp_buddy_destroy(MP_Buddy *b) {
    if (b == NULL) return;
    MP_UNPOISON(b->base, b->region_bytes);
    void *map_ptr = b->map_ptr;
    size_t map_bytes = b->map_bytes;
    if (b->metadata_on_heap) free(b);
    mp_os_unmap(map_ptr, map_bytes);
}

void *mp_buddy_base(const MP_Buddy *b) { return b != NULL ? b->base : NULL; }

MP_Status mp_buddy_reset(MP_Buddy *b) {
    if (b == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    buddy_lock(b);
    buddy_reset_state(b, false);
    buddy_unlock(b);
    return MP_OK;
}
