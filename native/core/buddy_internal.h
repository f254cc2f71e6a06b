/*
 * buddy_internal.h - the buddy allocator's control block, tag encoding, the
 * segmented index of its per-unit metadata and the block operations shared
 * by buddy.c (allocation, free), buddy_inspect.c (stats, walk, check) and
 * buddy_place.c (compaction). Never installed. The layout and invariants
 * are described at the top of buddy.c.
 */
#ifndef MP_BUDDY_INTERNAL_H
#define MP_BUDDY_INTERNAL_H

#include "mp_internal.h"

/* A unit's tag byte: 0 inside a block; at a block start START | USED or
 * CACHED (or neither: free) | order. */
#define MP_BUDDY_TAG_START 0x80u
#define MP_BUDDY_TAG_USED 0x40u
#define MP_BUDDY_TAG_CACHED 0x20u /* free, in its order's cache, not merged */
#define MP_BUDDY_TAG_ORDER 0x1fu
/* Blocks kept unmerged per order. Frees and allocations of one order walk
 * its cache count up and down at random; at either bound an operation goes
 * through the bitmaps (merge or split), ~1 / (bound + 1) of them. Measured
 * when the fast paths cost 175 instructions per op (bench/callgrind.sh,
 * mixed_live10k; 118 since): 16 cost about 6 more than 32, 64 about 3
 * fewer, while the node-json replay's footprint goes 1.79 (16) -> 1.86 (32)
 * -> 2.00 (64): unmerged blocks. */
#define MP_BUDDY_CACHE_BOUND 32u
/* Unit indices are uint32_t, so at most 2^32 - 1 units and orders 0..31. */
#define MP_BUDDY_MAX_ORDERS 32u
#define MP_BUDDY_NIL UINT32_MAX
/* At most 2^32 - 65 units: unit indices below MP_BUDDY_NIL, and every
 * metadata place (buddy_seg_layout: at most unit_count + 32 of them) below
 * 2^32, the half of a cache entry (buddy_cache_entry) that holds it. */
#define MP_BUDDY_MAX_UNITS ((size_t)UINT32_MAX - 64u)
#define MP_BUDDY_DEFAULT_MIN_BYTES 64u
/* Region size cap: keeps requested_bytes below the alignment bits of a word. */
#define MP_BUDDY_MAX_REGION_LOG2 56u
#define MP_BUDDY_ALIGN_SHIFT 58u
#define MP_BUDDY_ALIGN_MASK 0x3fu
#define MP_BUDDY_REQUESTED_MASK ((UINT64_C(1) << MP_BUDDY_ALIGN_SHIFT) - 1u)
/* Segments of the per-unit arrays: one per trailing-zero count of a unit
 * index (0..31), and one for unit 0. */
#define MP_BUDDY_SEGS 33u
/* Levels of a per-order free bitmap: 2^32 bits -> 2^26 words -> ... -> 1. */
#define MP_BUDDY_BIT_LEVELS 6u
/* Mapped regions get their base aligned to the top block, up to this. */
#define MP_BUDDY_MAP_ALIGN_MAX_BYTES ((size_t)2 << 20)
/* Alignment of the control block inside create_in memory. */
#define MP_BUDDY_CONTROL_ALIGN 16u

/* One order's free bitmap: bit i of level 0 is set iff the block of that
 * order at unit i << order is free and not cached; bit j of level l + 1 is
 * set iff word j of level l is not zero. The top level is one word. */
typedef struct mp_buddy_bits {
    uint64_t *level[MP_BUDDY_BIT_LEVELS];
    size_t words[MP_BUDDY_BIT_LEVELS];
    unsigned levels;
} mp_buddy_bits;

struct MP_Buddy {
    unsigned char *base;     /* region start, aligned to the unit size */
    size_t region_bytes;     /* unit_count << min_log2 */
    size_t unit_count;       /* units of min_block_bytes in the region */
    size_t base_align_bytes; /* largest power of two dividing base */
    /* What the fast paths of mp_buddy_free and mp_buddy_alloc compare with:
     * unit_count and top_order + 1, or 0 for a thread-safe allocator, so
     * that one compare also sends it to the locked slow paths. */
    size_t fast_unit_limit;
    unsigned fast_order_limit;
    unsigned min_log2;       /* log2(min_block_bytes) */
    unsigned top_order;      /* order of the largest block */
    size_t seg_first[MP_BUDDY_SEGS]; /* first place of each segment: buddy_place() */
    uint8_t *tags;                   /* tag of each place, seg_count bytes */
    size_t seg_count;                /* places; the words follow: buddy_words() */
    uint64_t nonempty_orders; /* bit k set iff order k has a free, uncached block */
    size_t free_block_counts[MP_BUDDY_MAX_ORDERS];
    /* Per order, what the fast paths touch: arrays of 8-byte elements, so
     * each is one load or store indexed by the order, no address arithmetic. */
    uint64_t cache_heads[MP_BUDDY_MAX_ORDERS]; /* LIFO of cached blocks: an entry (buddy_cache_entry) */
    size_t cache_counts[MP_BUDDY_MAX_ORDERS];  /* blocks in each cache */
    size_t order_bytes[MP_BUDDY_MAX_ORDERS];   /* bytes of a block of each order; 0 above top_order */
    MP_HeapStats stats;        /* live_block_count is derived when read: buddy_live_blocks */
    uint64_t retired_blocks;   /* live blocks that reset dropped */
    void *map_ptr; /* non-NULL when the region was mapped here */
    size_t map_bytes;
    bool metadata_on_heap;
    bool thread_safe;
    mp_lock lock;
    mp_buddy_bits free_bits[MP_BUDDY_MAX_ORDERS];
};

MP_INLINE size_t buddy_units(unsigned order) { return (size_t)1 << order; }

MP_INLINE size_t buddy_block_bytes(const MP_Buddy *b, unsigned order) {
    return (size_t)1 << (order + b->min_log2);
}

/* Live blocks: every block counted in alloc_count is either freed (counted
 * in free_count), dropped by a reset, or live; the fast paths keep one
 * counter fewer. */
MP_INLINE size_t buddy_live_blocks(const MP_Buddy *b) {
    return (size_t)(b->stats.alloc_count - b->stats.free_count - b->retired_blocks);
}

MP_INLINE unsigned char *buddy_addr(const MP_Buddy *b, size_t unit) {
    return b->base + (unit << b->min_log2);
}

MP_INLINE uint8_t buddy_tag(unsigned order, bool used) {
    return (uint8_t)(MP_BUDDY_TAG_START | (used ? MP_BUDDY_TAG_USED : 0u) | order);
}

/* Index of the lowest set bit of a non-zero word. */
MP_INLINE unsigned buddy_ctz64(uint64_t w) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(w);
#else
    unsigned r = 0;
    while ((w & 1u) == 0) {
        w >>= 1;
        r++;
    }
    return r;
#endif
}

/* Unit u's tag and word live in the segment of its trailing-zero count t,
 * at index u >> (t + 1) (unit 0 in segment 32), so the metadata of blocks of
 * order k, whose units are multiples of 2^k, fills segments >= k densely
 * (buddy.c, "Memory layout"). The segments are consecutive: the place of u
 * indexes both the tags and the words. */
MP_INLINE unsigned buddy_seg(size_t u) { return buddy_ctz64((uint64_t)u | (UINT64_C(1) << 32)); }

MP_INLINE size_t buddy_place(const MP_Buddy *b, size_t u) {
    unsigned t = buddy_seg(u);
    return b->seg_first[t] + ((u >> t) >> 1);
}

/* The words start right after the control block (buddy.c, "Memory layout"):
 * a fixed offset from `b`, so a word costs no load of a base pointer. */
MP_INLINE uint64_t *buddy_words(const MP_Buddy *b) { return (uint64_t *)(uintptr_t)(const void *)(b + 1); }

MP_INLINE uint8_t *buddy_tag_ptr(const MP_Buddy *b, size_t u) { return b->tags + buddy_place(b, u); }

MP_INLINE uint64_t *buddy_word_ptr(const MP_Buddy *b, size_t u) { return buddy_words(b) + buddy_place(b, u); }

/* One unit's metadata place and both things there, its segment looked up once. */
typedef struct buddy_meta {
    size_t place;
    uint8_t *tag;
    uint64_t *word;
} buddy_meta;

MP_INLINE buddy_meta buddy_meta_of_place(const MP_Buddy *b, size_t place) {
    buddy_meta m = {place, b->tags + place, buddy_words(b) + place};
    return m;
}

MP_INLINE buddy_meta buddy_meta_at(const MP_Buddy *b, size_t u) {
    return buddy_meta_of_place(b, buddy_place(b, u));
}

/* A cache entry (a cache head, or a cached block's word: the next one) names
 * a cached block by its place (low half) and its unit (high half;
 * MP_BUDDY_NIL ends the cache), so popping it needs no segment lookup. */
#define MP_BUDDY_CACHE_END ((uint64_t)MP_BUDDY_NIL << 32)

MP_INLINE uint64_t buddy_cache_entry(size_t unit, size_t place) {
    return (uint64_t)place | ((uint64_t)unit << 32);
}

MP_INLINE size_t buddy_entry_unit(uint64_t entry) { return (size_t)(entry >> 32); }

MP_INLINE size_t buddy_entry_place(uint64_t entry) { return (uint32_t)entry; }

/* The tag of unit `u`: 0 inside a block. */
MP_INLINE uint8_t buddy_tag_at(const MP_Buddy *b, size_t u) { return *buddy_tag_ptr(b, u); }

MP_INLINE unsigned buddy_tag_order(uint8_t tag) { return tag & MP_BUDDY_TAG_ORDER; }

MP_INLINE void buddy_lock(const MP_Buddy *b) {
    if (b->thread_safe) mp_lock_acquire((mp_lock *)&b->lock);
}

MP_INLINE void buddy_unlock(const MP_Buddy *b) {
    if (b->thread_safe) mp_lock_release((mp_lock *)&b->lock);
}

/* Bytes of the largest free (uncached) block; 0 if none. */
MP_INLINE size_t buddy_largest_free_bytes(const MP_Buddy *b) {
    if (b->nonempty_orders == 0) return 0;
    return buddy_block_bytes(b, mp_log2_floor((size_t)b->nonempty_orders)); /* orders < 32 */
}

/** Takes the free block of order `from` at `unit` off its bitmap and splits it
 * down to `order`, keeping the piece that starts at `target`. */
void buddy_carve(MP_Buddy *b, unsigned from, size_t unit, unsigned order, size_t target);
/** Marks the block of `order` at `unit` used (tag, and the word: requested
 * bytes and alignment record). */
void buddy_mark_used(MP_Buddy *b, size_t unit, unsigned order, size_t requested, unsigned align_log2);
/** Returns the used block of `order` at `unit` to the free bitmaps at once
 * (never to the cache), merging it with its free, uncached buddies. */
void buddy_release(MP_Buddy *b, size_t unit, unsigned order);

/** mp_buddy_flush_cache without the lock: the caller holds it. */
void buddy_cache_flush(MP_Buddy *b);
/** Merges every block held in the per-order free caches (buddy.c, "Lazy
 * coalescing") so the free bitmaps describe the canonical buddy state: no free
 * block has a free buddy of its order. Takes the allocator's lock; callers
 * must not hold it. Needed before anything that reasons about free blocks by
 * tag (compaction: a cached block is tagged free but is in no bitmap). O(cached
 * blocks * orders); a no-op on NULL or when nothing is cached. */
void mp_buddy_flush_cache(MP_Buddy *b);
/** Resolves `ptr` to the unit of a used block: MP_ERR_INVALID_ADDRESS for
 * anything that is not a block start, MP_ERR_DOUBLE_FREE for a free one. */
MP_Status buddy_lookup(const MP_Buddy *b, const void *ptr, size_t *unit);

/* buddy_place.c: compaction. */

/** Per order k, a unit below which no free block of order >= k can take a
 * block of order k (a lower bound kept by mp_buddy_move_lower; a hint only:
 * every candidate is checked against the tags). */
typedef struct buddy_packer {
    size_t cursor[MP_BUDDY_MAX_ORDERS];
} buddy_packer;

/** Starts a compaction sweep: every cursor at unit 0. */
void mp_buddy_packer_init(buddy_packer *pk);

/** Moves the used block at `ptr` into the lowest free block of its order or
 * larger below it whose address is a multiple of `align` (split down to the
 * block's order), copying `copy_bytes`; the old place is freed and merges.
 * `*moved_to` is the new address, or `ptr` when no such free block exists.
 * Size, requested bytes and alignment record are kept, counters unchanged.
 * MP_ERR_INVALID_ADDRESS if `ptr` is not a used block (nothing changed).
 * Amortised O(blocks / moves) per call over a sweep in order of sizes. */
MP_Status mp_buddy_move_lower(MP_Buddy *b, buddy_packer *pk, void *ptr, size_t align, size_t copy_bytes,
                              void **moved_to);

#endif /* MP_BUDDY_INTERNAL_H */
