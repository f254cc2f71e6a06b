/*
 * buddy_internal.h - library-internal entry points of the buddy allocator
 * (not exported, not in the public header).
 */
#ifndef MP_BUDDY_INTERNAL_H
#define MP_BUDDY_INTERNAL_H

#include "memory_pool_core.h"

/* Merges every block held in the per-order free caches (buddy.c, "Lazy
 * coalescing") so the free lists describe the canonical buddy state: no free
 * block has a free buddy of its order. Takes the allocator's lock; callers
 * must not hold it. Needed before anything that reasons about free blocks by
 * address (compaction, hole search). O(cached blocks * orders); a no-op on
 * NULL or when nothing is cached. */
void mp_buddy_flush_cache(MP_Buddy *b);

#endif
