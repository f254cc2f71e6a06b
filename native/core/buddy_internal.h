/*
 * buddy_internal.h - the buddy allocator's control block, tag encoding and
 * the block operations shared by buddy.c (allocation, free, check) and
 * buddy_place.c (compaction). Never installed. The layout and invariants
 * are described at the top of buddy.c.
 */
#ifndef MP_BUDDY_INTERNAL_H
#define MP_BUDDY_INTERNAL_H

#include "mp_internal.h"

#define MP_BUDDY_TAG_START 0x80u
#define MP_BUDDY_TAG_USED 0x40u
#define MP_BUDDY_TAG_CACHED 0x20u /* free, in its order's cache, not merged */
#define MP_BUDDY_TAG_ORDER 0x1fu
/* Blocks kept unmerged per order: enough to absorb the free/alloc jitter of
 * mixed workloads, small enough that a flush stays short. */
#define MP_BUDDY_CACHE_BOUND 16u
/* Unit indices are uint32_t, so at most 2^32 - 1 units and orders 0..31. */
#define MP_BUDDY_MAX_ORDERS 32u
#define MP_BUDDY_NIL UINT32_MAX
#define MP_BUDDY_MAX_UNITS ((size_t)UINT32_MAX)
#define MP_BUDDY_DEFAULT_MIN_BYTES 64u
/* Region size cap: keeps requested_bytes below the alignment bits of a slot. */
#define MP_BUDDY_MAX_REGION_LOG2 56u
#define MP_BUDDY_ALIGN_SHIFT 58u
#define MP_BUDDY_REQUESTED_MASK ((UINT64_C(1) << MP_BUDDY_ALIGN_SHIFT) - 1u)
/* Mapped regions get their base aligned to the top block, up to this. */
#define MP_BUDDY_MAP_ALIGN_MAX_BYTES ((size_t)2 << 20)
/* Alignment of the control block inside create_in memory. */
#define MP_BUDDY_CONTROL_ALIGN 16u

typedef union mp_buddy_slot {
    struct {
        uint32_t next;
        uint32_t prev;
    } link;             /* free block start: its order's list neighbours */
    uint64_t used_word; /* used block start: requested | align_log2 << 58 */
} mp_buddy_slot;

struct MP_Buddy {
    unsigned char *base;     /* region start, aligned to the unit size */
    size_t region_bytes;     /* unit_count << min_log2 */
    size_t unit_count;       /* units of min_block_bytes in the region */
    size_t base_align_bytes; /* largest power of two dividing base */
    unsigned min_log2;       /* log2(min_block_bytes) */
    unsigned top_order;      /* order of the largest block */
    uint8_t *tags;
    mp_buddy_slot *slots;
    uint64_t nonempty_orders; /* bit k set iff free list k is not empty */
    uint32_t heads[MP_BUDDY_MAX_ORDERS];
    size_t free_block_counts[MP_BUDDY_MAX_ORDERS];
    uint32_t cache_heads[MP_BUDDY_MAX_ORDERS]; /* LIFO of cached blocks per order */
    uint32_t cache_counts[MP_BUDDY_MAX_ORDERS];
    size_t cached_block_count; /* sum of cache_counts */
    MP_HeapStats stats;
    void *map_ptr; /* non-NULL when the region was mapped here */
    size_t map_bytes;
    bool metadata_on_heap;
    bool thread_safe;
    mp_lock lock;
};

MP_INLINE size_t buddy_units(unsigned order) { return (size_t)1 << order; }

MP_INLINE size_t buddy_block_bytes(const MP_Buddy *b, unsigned order) {
    return (size_t)1 << (order + b->min_log2);
}

MP_INLINE unsigned char *buddy_addr(const MP_Buddy *b, size_t unit) {
    return b->base + (unit << b->min_log2);
}

MP_INLINE uint8_t buddy_tag(unsigned order, bool used) {
    return (uint8_t)(MP_BUDDY_TAG_START | (used ? MP_BUDDY_TAG_USED : 0u) | order);
}

MP_INLINE unsigned buddy_tag_order(uint8_t tag) { return tag & MP_BUDDY_TAG_ORDER; }

/** Takes the free block of order `from` at `unit` off its list and splits it
 * down to `order`, keeping the piece that starts at `target`. */
void buddy_carve(MP_Buddy *b, unsigned from, size_t unit, unsigned order, size_t target);
/** Marks the block of `order` at `unit` used (tag and used word). */
void buddy_mark_used(MP_Buddy *b, size_t unit, unsigned order, size_t requested, unsigned align_log2);
/** Returns the used block of `order` at `unit` to the free lists at once
 * (never to the cache), merging it with its free, uncached buddies. */
void buddy_release(MP_Buddy *b, size_t unit, unsigned order);

/** Merges every block held in the per-order free caches (buddy.c, "Lazy
 * coalescing") so the free lists describe the canonical buddy state: no free
 * block has a free buddy of its order. Takes the allocator's lock; callers
 * must not hold it. Needed before anything that reasons about free blocks by
 * tag (compaction: a cached block is tagged free but is on no list). O(cached
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
