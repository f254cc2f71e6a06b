/*
 * fitlist.c - fit-list allocator: first-, best- or worst-fit placement over
 * one region, splitting on allocation and coalescing physical neighbours on
 * free.
 *
 * Algorithm: free blocks are indexed by B+-trees (fitlist_tree.c): one per
 * exact size of 1..256 granules (a bin) and one for larger blocks. Best fit
 * takes the first (lowest) block of the smallest non-empty bin that fits, or
 * the (size, address) lower bound in the larger blocks' tree; worst fit the
 * first block of the largest size; first fit the lower of the lowest block of
 * any fitting bin (a tournament over the bins) and the lowest fitting block
 * of the address-keyed larger blocks' tree. A block is carved from the lowest
 * address of the chosen free block; the tail (and, for aligned requests, the
 * head) stays free. Aligned requests (> 16 bytes) try up to FL_ALIGNED_TRIES
 * candidates in policy order for an exact fit, then take the first block in
 * policy order that holds size + alignment - 16 bytes, which always fits.
 *
 * Memory layout: the region is an array of 16-byte granules; every block
 * starts on a granule, so every returned pointer is 16-byte aligned on real
 * addresses. ALL metadata is out of band, beside the control block:
 *   groups      48 bytes per 64 granules, so that looking at a block touches
 *               one cache line or two: a block-start bit per granule (plus a
 *               sentinel bit at the end; summary levels above them find the
 *               next or previous start in O(levels), so a block's size and
 *               its left neighbour cost the same whatever the sizes), a
 *               free-end bit per granule (set on the first and the last
 *               granule of each free block: "is my neighbour free" is one
 *               bit), and a nibble per granule used at used blocks only: the
 *               slack (usable - requested bytes) and, from two granules up,
 *               log2 of the alignment asked for (kept by realloc). Groups are
 *               zeroed lazily, as carving first reaches them;
 *   escapes     a small table for the used blocks whose info does not fit
 *               their nibbles (a zero-byte or over-aligned one-granule block,
 *               an alignment of 512 KiB or more);
 *   index       B+-tree nodes for the free blocks: a malloc'd pool that doubles
 *               on demand, or for create_in a fixed pool of
 *               FL_INLINE_MIN_NODES + granules / FL_INLINE_GRANULES_PER_NODE
 *               nodes. When a fixed pool cannot index a new free block, the
 *               block stays unindexed: placement then scans the bitmaps (exact
 *               but O(granules / 64)) until a rebuild of the index succeeds,
 *               which is tried whenever the free blocks have dropped by an
 *               eighth since the last failed one.
 * That is 6 bits per granule (4.7% of the region) plus the nodes (about 12
 * bytes per free block; 1.6% of the region reserved by create_in, which the
 * traces of ../shared/traces fill to at most 82%). Nothing lives in the
 * region, so writes into any block ever handed out, freed or not, can corrupt
 * only user data. Freed bytes are poisoned under ASan/valgrind.
 *
 * Invariants verified by mp_fitlist_check (fitlist_inspect.c): summary levels
 * match the block-start bits; blocks tile the region up to the sentinel; free
 * ends mark exactly the two ends of each free block; no two free blocks are
 * adjacent; the index is a valid set of B+-trees whose keys are free blocks,
 * and with the unindexed count it accounts for every free block; a used
 * block's info is decodable, escapes exactly when it must and honours its
 * alignment; the escape table holds only such blocks; the O(1) counters
 * match a walk. check(NULL) returns 1.
 *
 * Counters: realloc of NULL counts as an allocation and a reallocation; a
 * moving realloc counts only as a reallocation. A realloc refused for its
 * pointer counts in rejected_free_count, one refused for its size in
 * failed_alloc_count.
 *
 * Threads: with MP_FLAG_THREAD_SAFE every call runs under one spin lock;
 * walk() calls its callback under that lock (the callback must not call back
 * into the same instance).
 */
#include "fitlist_internal.h"

#include <stdlib.h>

/* create_in reserves one index node per this many granules (plus a few):
 * about 21 free blocks per node fill it, i.e. one free block per 48 granules
 * before placement falls back to scans. */
#define FL_INLINE_GRANULES_PER_NODE 1024u
#define FL_INLINE_MIN_NODES 4u
/* ... and escape slots for one escaping block per this many granules. */
#define FL_INLINE_GRANULES_PER_ESCAPE 2048u
#define FL_INLINE_MIN_ESCAPES 64u

/* Granules for `size` bytes (0 bytes takes one granule); false on overflow. */
static inline bool fl_need_granules(size_t size, size_t *need) {
    if (size > SIZE_MAX - (FL_GRANULE_BYTES - 1)) return false;
    *need = size == 0 ? 1 : (size + FL_GRANULE_BYTES - 1) >> FL_GRANULE_SHIFT;
    return true;
}

static inline size_t fl_free_bytes(const MP_FitList *f) {
    return ((size_t)f->granule_count << FL_GRANULE_SHIFT) - f->stats.bytes_in_use;
}

/* Finds the used block starting at `ptr`: MP_ERR_INVALID_ADDRESS for NULL,
 * foreign and interior pointers, MP_ERR_DOUBLE_FREE for a free block. */
static MP_Status fl_lookup_used(const MP_FitList *f, const void *ptr, size_t *g_out) {
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)f->base;
    if (ptr == NULL || p < b || ((p - b) & (FL_GRANULE_BYTES - 1)) != 0 ||
        (p - b) >> FL_GRANULE_SHIFT >= f->granule_count)
        return MP_ERR_INVALID_ADDRESS;
    size_t g = (p - b) >> FL_GRANULE_SHIFT;
    if (!fl_ready(f, g) || !fl_is_start(f, g)) return MP_ERR_INVALID_ADDRESS;
    if (fl_is_free_end(f, g)) return MP_ERR_DOUBLE_FREE;
    *g_out = g;
    return MP_OK;
}

/* ------------------------------------------------------- index bookkeeping */

static int fl_reindex_one(uint32_t start, uint32_t size, void *ctx) {
    MP_FitList *f = ctx;
    if (!mp_fit_index_insert(&f->index, start, size)) f->unindexed++;
    return 0;
}

/* Indexes every free block again from the bitmaps. */
static void fl_rebuild_index(MP_FitList *f) {
    mp_fit_index_clear(&f->index);
    f->unindexed = 0;
    fl_scan_free(f, fl_reindex_one, f);
    f->rebuild_below = f->free_blocks - f->free_blocks / 8;
}

/* --------------------------------------------------------------- placement */

/* A free block, where in it the new block goes, and (indexed) its key. */
typedef struct fl_spot {
    size_t start, size, offset;
    bool indexed;
    mp_fit_cursor at;
} fl_spot;

/* Granule offset inside the free block [start, start + size) at which `need`
 * granules aligned to `align` bytes (real address) begin; FL_NONE if none. */
static size_t fl_fit_offset(const MP_FitList *f, size_t start, size_t size, size_t need, size_t align) {
    size_t offset = 0;
    if (align > FL_GRANULE_BYTES) {
        uintptr_t addr = (uintptr_t)fl_ptr(f, start);
        if (addr > UINTPTR_MAX - (align - 1)) return FL_NONE;
        offset = (size_t)((mp_align_up_ptr(addr, align) - addr) >> FL_GRANULE_SHIFT);
    }
    if (offset > size || need > size - offset) return FL_NONE;
    return offset;
}

/* The first free block in policy order with at least `need` granules. */
static bool fl_first_candidate(MP_FitList *f, uint32_t need, mp_fit_cursor *c) {
    mp_fit_index *ix = &f->index;
    switch (f->policy) {
    case MP_FIT_FIRST:
        return mp_fit_index_first_fit(ix, need, c);
    case MP_FIT_BEST:
        return mp_fit_index_lower_bound(ix, need, 0, c);
    default: {
        /* The lowest address of the largest size: walk back from the last
         * key a few steps, else search the group's start. */
        uint32_t start, size, prev_start, prev_size;
        if (!mp_fit_index_last(ix, c)) return false;
        mp_fit_index_at(ix, *c, &start, &size);
        if (size < need) return false;
        mp_fit_cursor p = *c;
        for (int steps = 0; steps < 8; steps++) {
            if (!mp_fit_index_prev(ix, &p)) return true;
            mp_fit_index_at(ix, p, &prev_start, &prev_size);
            if (prev_size != size) return true;
            *c = p;
        }
        return mp_fit_index_lower_bound(ix, size, 0, c);
    }
    }
}

/* Best and worst fit: the free block after `c` in policy order with at
 * least `need` granules. Worst fit's order is size descending, then address
 * ascending. */
static bool fl_next_candidate(MP_FitList *f, uint32_t need, mp_fit_cursor *c) {
    mp_fit_index *ix = &f->index;
    uint32_t start, size, next_start, next_size;
    mp_fit_index_at(ix, *c, &start, &size);
    if (f->policy == MP_FIT_BEST) return mp_fit_index_next(ix, c);
    mp_fit_cursor n = *c;
    if (mp_fit_index_next(ix, &n)) {
        mp_fit_index_at(ix, n, &next_start, &next_size);
        if (next_size == size) {
            *c = n;
            return true;
        }
    }
    if (!mp_fit_index_last_below(ix, size, 0, c)) return false;
    mp_fit_index_at(ix, *c, &next_start, &next_size);
    return next_size >= need && mp_fit_index_lower_bound(ix, next_size, 0, c);
}

/* The candidates of an aligned request in policy order (first fit merges
 * the bins by address). */
typedef struct fl_candidates {
    uint32_t need;
    bool first;
    mp_fit_walk walk;
} fl_candidates;

static bool fl_candidates_next(MP_FitList *f, fl_candidates *it, bool started, mp_fit_cursor *c) {
    if (it->first) {
        if (!started) mp_fit_index_walk_init(&f->index, it->need, &it->walk);
        return mp_fit_index_walk_next(&f->index, &it->walk, c);
    }
    return started ? fl_next_candidate(f, it->need, c) : fl_first_candidate(f, it->need, c);
}

/* The documented search over the index: an exact aligned fit among the first
 * FL_ALIGNED_TRIES candidates, else the first block of need + align - 16
 * bytes. */
static bool fl_choose_indexed(MP_FitList *f, size_t need, size_t align, fl_spot *out) {
    mp_fit_cursor c;
    uint32_t start, size;
    if (align <= FL_GRANULE_BYTES) { /* the first candidate fits at offset 0 */
        if (!fl_first_candidate(f, (uint32_t)need, &c)) return false;
        mp_fit_index_at(&f->index, c, &start, &size);
        *out = (fl_spot){start, size, 0, true, c};
        return true;
    }
    fl_candidates it; /* about 4 KiB: a heap over the bins for first fit */
    it.need = (uint32_t)need;
    it.first = f->policy == MP_FIT_FIRST;
    bool have = fl_candidates_next(f, &it, false, &c);
    for (int tries = 0; have && tries < FL_ALIGNED_TRIES; tries++) {
        mp_fit_index_at(&f->index, c, &start, &size);
        size_t offset = fl_fit_offset(f, start, size, need, align);
        if (offset != FL_NONE) {
            *out = (fl_spot){start, size, offset, true, c};
            return true;
        }
        have = fl_candidates_next(f, &it, true, &c);
    }
    size_t padded = need + (align >> FL_GRANULE_SHIFT) - 1;
    if (!have || padded > f->granule_count || !fl_first_candidate(f, (uint32_t)padded, &c)) return false;
    mp_fit_index_at(&f->index, c, &start, &size);
    *out = (fl_spot){start, size, fl_fit_offset(f, start, size, need, align), true, c};
    return true;
}

/* The same search over a scan of the bitmaps, for when some free blocks are
 * unindexed: collects the first FL_ALIGNED_TRIES candidates in policy order. */
typedef struct fl_collect {
    MP_FitPolicy policy;
    uint32_t need;
    size_t count;
    size_t max;
    fl_spot found[FL_ALIGNED_TRIES];
} fl_collect;

static bool fl_policy_before(MP_FitPolicy policy, size_t start, size_t size, const fl_spot *b) {
    if (policy == MP_FIT_BEST && size != b->size) return size < b->size;
    if (policy == MP_FIT_WORST && size != b->size) return size > b->size;
    return start < b->start;
}

static int fl_collect_one(uint32_t start, uint32_t size, void *ctx) {
    fl_collect *c = ctx;
    if (size < c->need) return 0;
    size_t at = c->count;
    while (at > 0 && fl_policy_before(c->policy, start, size, &c->found[at - 1])) at--;
    if (at == c->max) return 0;
    if (c->count < c->max) c->count++;
    memmove(&c->found[at + 1], &c->found[at], (c->count - 1 - at) * sizeof(fl_spot));
    c->found[at] = (fl_spot){start, size, 0, false, {0, 0, 0}};
    /* Address order is scan order: first fit is done once the list is full. */
    return c->policy == MP_FIT_FIRST && c->count == c->max;
}

static bool fl_choose_scanned(const MP_FitList *f, size_t need, size_t align, fl_spot *out) {
    fl_collect c = {f->policy, (uint32_t)need, 0, FL_ALIGNED_TRIES, {{0, 0, 0, false, {0, 0, 0}}}};
    fl_scan_free(f, fl_collect_one, &c);
    for (size_t i = 0; i < c.count; i++) {
        size_t offset = fl_fit_offset(f, c.found[i].start, c.found[i].size, need, align);
        if (offset != FL_NONE) {
            *out = (fl_spot){c.found[i].start, c.found[i].size, offset, false, {0, 0, 0}};
            return true;
        }
    }
    size_t padded = need + (align >> FL_GRANULE_SHIFT) - 1;
    if (c.count < FL_ALIGNED_TRIES || padded > f->granule_count) return false;
    fl_collect p = {f->policy, (uint32_t)padded, 0, 1, {{0, 0, 0, false, {0, 0, 0}}}};
    fl_scan_free(f, fl_collect_one, &p);
    if (p.count == 0) return false;
    *out = (fl_spot){p.found[0].start, p.found[0].size,
                     fl_fit_offset(f, p.found[0].start, p.found[0].size, need, align), false, {0, 0, 0}};
    return true;
}

static bool fl_choose(MP_FitList *f, size_t need, size_t align, fl_spot *out) {
    if (MP_UNLIKELY(f->unindexed > 0)) {
        if (f->free_blocks < f->rebuild_below) fl_rebuild_index(f);
        if (f->unindexed > 0) return fl_choose_scanned(f, need, align, out);
    }
    return fl_choose_indexed(f, need, align, out);
}

/* ------------------------------------------------------ carving and merging */

static inline void fl_count_in_use(MP_FitList *f, size_t usable_bytes, size_t requested) {
    f->stats.bytes_in_use += usable_bytes;
    f->stats.bytes_requested += requested;
    if (f->stats.bytes_in_use > f->stats.bytes_in_use_peak) f->stats.bytes_in_use_peak = f->stats.bytes_in_use;
}

/* Turns `need` granules at s->offset inside the free block s into a used
 * block with info `in`; the head and tail left over stay free. */
static void fl_carve(MP_FitList *f, const fl_spot *s, size_t need, size_t requested, fl_info in) {
    size_t g = s->start + s->offset, end = s->start + s->size;
    size_t head = s->offset, tail = end - g - need;
    fl_prepare(f, g + need);
    /* The free block's key lives on as the head, else as the tail; a key the
     * search found is changed where it is. */
    size_t keep_start = head > 0 ? s->start : g + need, keep_size = head > 0 ? head : tail;
    if (keep_size == 0) {
        if (s->indexed)
            mp_fit_index_remove_at(&f->index, s->at);
        else
            fl_ix_del(f, s->start, s->size);
    } else if (s->indexed) {
        if (!(mp_fit_index_replace_at(&f->index, s->at, (uint32_t)keep_start, (uint32_t)keep_size) &
              MP_FIT_NEW_ADDED))
            fl_note_unindexed(f);
    } else {
        fl_ix_move(f, s->start, s->size, keep_start, keep_size);
    }
    if (head > 0 && tail > 0) fl_ix_add(f, g + need, tail);
    /* The old block's free ends go, the head's and the tail's come. The group
     * array is read once: stores through it could alias *f. */
    fl_group *gr = f->groups;
    gr[s->start >> 6].free_ends &= ~fl_bitmask(s->start);
    gr[(end - 1) >> 6].free_ends &= ~fl_bitmask(end - 1);
    if (head > 0) {
        fl_start_set(f, g);
        gr[s->start >> 6].free_ends |= fl_bitmask(s->start);
        gr[(g - 1) >> 6].free_ends |= fl_bitmask(g - 1);
    }
    if (tail > 0) {
        fl_start_set(f, g + need);
        gr[(g + need) >> 6].free_ends |= fl_bitmask(g + need);
        gr[(end - 1) >> 6].free_ends |= fl_bitmask(end - 1);
        if (head > 0) f->free_blocks++;
    } else if (head == 0) {
        f->free_blocks--;
    }
    fl_info_write(f, g, need, in);
    MP_UNPOISON(fl_ptr(f, g), need << FL_GRANULE_SHIFT);
    f->stats.live_block_count++;
    fl_count_in_use(f, need << FL_GRANULE_SHIFT, requested);
}

/* Places `size` bytes aligned to `align` (a power of two); returns the block's
 * granule, or FL_NONE with the reason in *status. Counts nothing on failure. */
static size_t fl_take(MP_FitList *f, size_t size, size_t align, MP_Status *status) {
    size_t need;
    if (!fl_need_granules(size, &need)) {
        *status = MP_ERR_SIZE_OVERFLOW;
        return FL_NONE;
    }
    *status = MP_ERR_OUT_OF_MEMORY;
    if (need > f->granule_count) return FL_NONE;
    if (align < FL_GRANULE_BYTES) align = FL_GRANULE_BYTES;
    fl_info in = {(unsigned)((need << FL_GRANULE_SHIFT) - size), mp_log2_floor(align)};
    if (fl_info_escapes(need, in) && !fl_escape_reserve(&f->escapes)) return FL_NONE;
    fl_spot s;
    if (!fl_choose(f, need, align, &s)) return FL_NONE;
    fl_carve(f, &s, need, size, in);
    return s.start + s.offset;
}

/* Frees the used block [g, g + n) with info `in`, coalescing with free
 * neighbours; updates the live counters. */
static void fl_release(MP_FitList *f, size_t g, size_t n, fl_info in) {
    f->stats.bytes_in_use -= n << FL_GRANULE_SHIFT;
    f->stats.bytes_requested -= (n << FL_GRANULE_SHIFT) - in.slack;
    f->stats.live_block_count--;
    fl_info_drop(f, g, n);
    MP_POISON(fl_ptr(f, g), n << FL_GRANULE_SHIFT);
    fl_group *gr = f->groups;
    size_t lo = g, hi = g + n, left_size = 0, right_size = 0;
    bool left = g > 0 && (gr[(g - 1) >> 6].free_ends & fl_bitmask(g - 1)) != 0;
    bool right = hi < f->granule_count && (gr[hi >> 6].free_ends & fl_bitmask(hi)) != 0;
    if (left) {
        lo = fl_prev_start(f, g - 1);
        left_size = g - lo;
    }
    if (right) right_size = fl_block_size(f, hi);
    /* A free neighbour's key absorbs the block (the left one if both are). */
    if (left) {
        if (right) fl_ix_del(f, hi, right_size);
        fl_ix_move(f, lo, left_size, lo, left_size + n + right_size);
        fl_start_clear(f, g);
        gr[(g - 1) >> 6].free_ends &= ~fl_bitmask(g - 1);
        f->free_blocks -= right;
    } else if (right) {
        fl_ix_move(f, hi, right_size, g, n + right_size);
    } else {
        fl_ix_add(f, g, n);
        f->free_blocks++;
    }
    if (right) {
        fl_start_clear(f, hi);
        gr[hi >> 6].free_ends &= ~fl_bitmask(hi);
    }
    gr[lo >> 6].free_ends |= fl_bitmask(lo);
    gr[(hi + right_size - 1) >> 6].free_ends |= fl_bitmask(hi + right_size - 1);
}

/* ------------------------------------------------------------ construction */

typedef struct fl_layout {
    size_t granules, groups;
    unsigned levels;
    size_t words[FL_SUMMARY_LEVELS];
    size_t summary_offset[FL_SUMMARY_LEVELS];
    size_t groups_offset;
    size_t escape_slots, escapes_offset; /* create_in only */
    size_t node_capacity, nodes_offset;  /* create_in only */
    size_t zeroed_end;                   /* [summary_offset[0], zeroed_end) must start zero */
    size_t metadata_bytes;
} fl_layout;

/* Validates `cfg` (region ignored) and lays out the metadata: control block,
 * summary levels, escape slots (create_in), groups and index nodes
 * (create_in). Only the summaries and escape slots are zeroed up front. */
static MP_Status fl_plan(const MP_FitListConfig *cfg, size_t region_bytes, bool inline_pools, fl_layout *out) {
    if (cfg == NULL) return MP_ERR_INVALID_ARGUMENT;
    if ((unsigned)cfg->policy > (unsigned)MP_FIT_WORST || (cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0)
        return MP_ERR_INVALID_ARGUMENT;
    size_t granules = region_bytes >> FL_GRANULE_SHIFT;
    if (granules == 0 || granules > FL_MAX_GRANULES) return MP_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->granules = granules;
    out->groups = (granules + 1 + 63) / 64;
    size_t at = mp_align_up(sizeof(MP_FitList), 64), words = out->groups;
    do {
        words = (words + 63) / 64;
        out->words[out->levels] = words;
        out->summary_offset[out->levels++] = at;
        at += words * sizeof(uint64_t);
    } while (words > 1);
    if (inline_pools) {
        size_t slots = FL_INLINE_MIN_ESCAPES;
        while (slots < granules / FL_INLINE_GRANULES_PER_ESCAPE) slots *= 2;
        out->escape_slots = slots;
        out->escapes_offset = at;
        at += slots * sizeof(uint64_t);
    }
    out->zeroed_end = at;
    out->groups_offset = at = mp_align_up(at, 64);
    at = mp_align_up(at + out->groups * sizeof(fl_group), 64);
    if (inline_pools) {
        out->node_capacity = FL_INLINE_MIN_NODES + granules / FL_INLINE_GRANULES_PER_NODE;
        out->nodes_offset = at;
        at += out->node_capacity * sizeof(mp_fit_node);
    }
    out->metadata_bytes = mp_align_up(at, 16);
    return MP_OK;
}

/* Builds the allocator in `metadata` (64-byte aligned, layout `l`) over the
 * granules at `base`. */
static MP_FitList *fl_build(void *metadata, const fl_layout *l, uint8_t *base, const MP_FitListConfig *cfg,
                            fl_region_kind kind) {
    uint8_t *m = metadata;
    MP_FitList *f = metadata;
    memset(f, 0, sizeof *f);
    memset(m + l->summary_offset[0], 0, l->zeroed_end - l->summary_offset[0]);
    f->base = base;
    f->granule_count = (uint32_t)l->granules;
    f->group_count = (uint32_t)l->groups;
    f->policy = cfg->policy;
    f->flags = cfg->flags;
    f->region_kind = kind;
    f->groups = (fl_group *)(m + l->groups_offset);
    f->summary_levels = l->levels;
    for (unsigned k = 0; k < l->levels; k++) {
        f->summary[k] = (uint64_t *)(m + l->summary_offset[k]);
        f->summary_words[k] = (uint32_t)l->words[k];
    }
    /* The groups of the last granule and of the sentinel are set up now; the
     * rest as carving reaches them. */
    f->end_groups = (uint32_t)((l->granules - 1) >> 6);
    memset(&f->groups[f->end_groups], 0, (l->groups - f->end_groups) * sizeof(fl_group));
    fl_prepare(f, 0);
    bool inline_pools = l->node_capacity != 0;
    f->escapes = (fl_escapes){inline_pools ? (uint64_t *)(m + l->escapes_offset) : NULL,
                              (uint32_t)l->escape_slots, 0, !inline_pools};
    mp_fit_index_init(&f->index, inline_pools ? (mp_fit_node *)(m + l->nodes_offset) : NULL,
                      (uint32_t)l->node_capacity, f->granule_count, cfg->policy == MP_FIT_FIRST, !inline_pools);
    f->stats.region_bytes = l->granules << FL_GRANULE_SHIFT;
    mp_lock_init(&f->lock);
    fl_start_set(f, l->granules); /* the sentinel */
    fl_start_set(f, 0);
    fl_free_end_set(f, 0);
    fl_free_end_set(f, l->granules - 1);
    f->free_blocks = 1;
    fl_ix_add(f, 0, l->granules);
    MP_POISON(base, l->granules << FL_GRANULE_SHIFT);
    return f;
}

MP_FitList *mp_fitlist_create(size_t region_bytes, MP_FitPolicy policy) {
    MP_FitListConfig cfg = {region_bytes, policy, 0, NULL};
    return mp_fitlist_create_ex(&cfg);
}

MP_FitList *mp_fitlist_create_ex(const MP_FitListConfig *cfg) {
    uint8_t *base = NULL;
    size_t region_bytes = cfg ? cfg->region_bytes : 0;
    if (cfg != NULL && cfg->region != NULL) {
        /* Caller memory: manage the 16-byte aligned granules inside it. */
        uintptr_t p = (uintptr_t)cfg->region, aligned = mp_align_up_ptr(p, FL_GRANULE_BYTES);
        if (aligned - p > region_bytes || aligned < p)
            region_bytes = 0;
        else
            region_bytes -= aligned - p;
        base = (uint8_t *)aligned;
    }
    fl_layout l;
    MP_Status st = fl_plan(cfg, region_bytes, false, &l);
    if (st != MP_OK) {
        mp_fail(st, region_bytes, 0, 0);
        return NULL;
    }
    void *metadata = malloc(l.metadata_bytes + 63); /* aligned to 64 below */
    if (metadata == NULL) {
        mp_fail(MP_ERR_OUT_OF_MEMORY, l.metadata_bytes, 0, 0);
        return NULL;
    }
    fl_region_kind kind = FL_REGION_CALLER;
    if (base == NULL) {
        kind = FL_REGION_MAPPED;
        base = mp_os_map(l.granules << FL_GRANULE_SHIFT);
        if (base == NULL) {
            free(metadata);
            mp_fail(MP_ERR_OUT_OF_MEMORY, region_bytes, 0, 0);
            return NULL;
        }
    }
    MP_FitList *f = fl_build((void *)mp_align_up_ptr((uintptr_t)metadata, 64), &l, base, cfg, kind);
    f->metadata_alloc = metadata;
    return f;
}

size_t mp_fitlist_footprint(const MP_FitListConfig *cfg) {
    fl_layout l;
    if (fl_plan(cfg, cfg ? cfg->region_bytes : 0, true, &l) != MP_OK) return 0;
    /* Up to 63 bytes to align the metadata, then the granules right after. */
    return 63 + l.metadata_bytes + (l.granules << FL_GRANULE_SHIFT);
}

MP_FitList *mp_fitlist_create_in(void *memory, size_t size, const MP_FitListConfig *cfg) {
    fl_layout l;
    MP_Status st = fl_plan(cfg, cfg ? cfg->region_bytes : 0, true, &l);
    if (st == MP_OK && (memory == NULL || size < mp_fitlist_footprint(cfg))) st = MP_ERR_INVALID_ARGUMENT;
    if (st != MP_OK) {
        mp_fail(st, size, 0, 0);
        return NULL;
    }
    uint8_t *metadata = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, 64);
    return fl_build(metadata, &l, metadata + l.metadata_bytes, cfg, FL_REGION_INSIDE);
}

void mp_fitlist_destroy(MP_FitList *f) {
    if (f == NULL) return;
    size_t region_bytes = (size_t)f->granule_count << FL_GRANULE_SHIFT;
    /* Caller memory must come back usable; mapped memory must not leave
     * poisoned shadow behind for a later mapping at the same address. */
    MP_UNPOISON(f->base, region_bytes);
    if (f->region_kind == FL_REGION_MAPPED) mp_os_unmap(f->base, region_bytes);
    mp_fit_index_release(&f->index);
    if (f->escapes.growable) free(f->escapes.slots);
    free(f->metadata_alloc);
}

/* -------------------------------------------------------------- allocation */

static void *fl_alloc_common(MP_FitList *f, size_t size, size_t align, bool zero) {
    if (f == NULL) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    fl_lock(f);
    MP_Status st = MP_ERR_ALIGNMENT;
    size_t g = mp_is_pow2(align) ? fl_take(f, size, align, &st) : FL_NONE;
    if (g == FL_NONE) {
        f->stats.failed_alloc_count++;
        size_t available = fl_free_bytes(f), largest = fl_largest_free(f) << FL_GRANULE_SHIFT;
        fl_unlock(f);
        mp_fail(st, size, available, largest);
        return NULL;
    }
    f->stats.alloc_count++;
    uint8_t *p = fl_ptr(f, g);
    if (zero) memset(p, 0, fl_block_size(f, g) << FL_GRANULE_SHIFT); /* the whole usable size */
    fl_unlock(f);
    return p;
}

void *mp_fitlist_alloc(MP_FitList *f, size_t size) { return fl_alloc_common(f, size, FL_GRANULE_BYTES, false); }

void *mp_fitlist_alloc_aligned(MP_FitList *f, size_t size, size_t align) {
    return fl_alloc_common(f, size, align, false);
}

void *mp_fitlist_calloc(MP_FitList *f, size_t size) { return fl_alloc_common(f, size, FL_GRANULE_BYTES, true); }

MP_Status mp_fitlist_free(MP_FitList *f, void *ptr) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    size_t g;
    MP_Status st = fl_lookup_used(f, ptr, &g);
    if (st == MP_OK) {
        size_t n = fl_block_size(f, g);
        fl_release(f, g, n, fl_info_read(f, g, n));
        f->stats.free_count++;
    } else {
        f->stats.rejected_free_count++;
    }
    fl_unlock(f);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

/* Resizes the used block [g, g + n) to `need` granules holding `size` bytes
 * without moving it; false if the right neighbour cannot supply the growth
 * (nothing changed then). An escaping `in` needs a reserved escape slot. */
static bool fl_resize_in_place(MP_FitList *f, size_t g, size_t n, size_t need, size_t size, fl_info old,
                               fl_info in) {
    size_t right = g + n;
    bool right_free = right < f->granule_count && fl_is_free_end(f, right);
    size_t right_size = right_free ? fl_block_size(f, right) : 0;
    if (need > n) {
        if (!right_free || right_size < need - n) return false;
        size_t rest = right_size - (need - n);
        fl_prepare(f, g + need);
        if (rest > 0) {
            fl_ix_move(f, right, right_size, g + need, rest);
            fl_start_set(f, g + need);
            fl_free_end_set(f, g + need);
        } else {
            fl_ix_del(f, right, right_size);
            fl_free_end_clear(f, right + right_size - 1);
            f->free_blocks--;
        }
        fl_start_clear(f, right);
        fl_free_end_clear(f, right);
        MP_UNPOISON(fl_ptr(f, right), (need - n) << FL_GRANULE_SHIFT);
    } else if (need < n) {
        /* The freed tail joins a free right neighbour, or becomes one. */
        if (right_free) {
            fl_ix_move(f, right, right_size, g + need, n - need + right_size);
            fl_start_clear(f, right);
            fl_free_end_clear(f, right);
            fl_free_end_set(f, right + right_size - 1); /* it was both ends of a one-granule block */
        } else {
            fl_ix_add(f, g + need, n - need);
            fl_free_end_set(f, right - 1);
            f->free_blocks++;
        }
        fl_start_set(f, g + need);
        fl_free_end_set(f, g + need);
        MP_POISON(fl_ptr(f, g + need), (n - need) << FL_GRANULE_SHIFT);
    }
    fl_info_drop(f, g, n);
    fl_info_write(f, g, need, in);
    f->stats.bytes_in_use -= n << FL_GRANULE_SHIFT;
    f->stats.bytes_requested -= (n << FL_GRANULE_SHIFT) - old.slack;
    fl_count_in_use(f, need << FL_GRANULE_SHIFT, size);
    return true;
}

MP_Status mp_fitlist_realloc(MP_FitList *f, void **ptr, size_t size) {
    if (f == NULL || ptr == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    fl_lock(f);
    MP_Status st = MP_OK;
    size_t g = FL_NONE, need = 0;
    if (*ptr == NULL) {
        g = fl_take(f, size, FL_GRANULE_BYTES, &st);
        if (g != FL_NONE) f->stats.alloc_count++;
    } else if ((st = fl_lookup_used(f, *ptr, &g)) != MP_OK) {
        f->stats.rejected_free_count++;
        fl_unlock(f);
        return mp_fail(st, size, 0, 0);
    } else if (!fl_need_granules(size, &need)) {
        st = MP_ERR_SIZE_OVERFLOW;
        g = FL_NONE;
    } else {
        size_t n = fl_block_size(f, g);
        fl_info old = fl_info_read(f, g, n), in = {(unsigned)((need << FL_GRANULE_SHIFT) - size), old.align_log2};
        st = MP_ERR_OUT_OF_MEMORY;
        if (fl_info_escapes(need, in) && !fl_escape_reserve(&f->escapes)) {
            g = FL_NONE;
        } else if (!fl_resize_in_place(f, g, n, need, size, old, in)) {
            size_t old_g = g, peak = f->stats.bytes_in_use_peak;
            g = fl_take(f, size, (size_t)1 << old.align_log2, &st);
            if (g != FL_NONE) {
                memcpy(fl_ptr(f, g), fl_ptr(f, old_g), n << FL_GRANULE_SHIFT);
                fl_release(f, old_g, n, old);
            }
            /* The peak counts states callers can see, not old and new at once. */
            f->stats.bytes_in_use_peak = peak > f->stats.bytes_in_use ? peak : f->stats.bytes_in_use;
        }
    }
    if (g == FL_NONE) {
        f->stats.failed_alloc_count++;
        size_t available = fl_free_bytes(f), largest = fl_largest_free(f) << FL_GRANULE_SHIFT;
        fl_unlock(f);
        return mp_fail(st, size, available, largest);
    }
    f->stats.realloc_count++;
    *ptr = fl_ptr(f, g);
    fl_unlock(f);
    return MP_OK;
}

size_t mp_fitlist_usable_size(const MP_FitList *f, const void *ptr) {
    if (f == NULL) return 0;
    fl_lock(f);
    size_t g, usable = 0;
    if (fl_lookup_used(f, ptr, &g) == MP_OK) usable = fl_block_size(f, g) << FL_GRANULE_SHIFT;
    fl_unlock(f);
    return usable;
}

MP_Status mp_fitlist_reset(MP_FitList *f) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    /* Clears every block's bits (O(blocks)), then one free block again. */
    for (size_t g = 0, next; g < f->granule_count; g = next) {
        next = fl_next_start(f, g + 1);
        if (fl_is_free_end(f, g)) {
            fl_free_end_clear(f, g);
            fl_free_end_clear(f, next - 1);
        }
        if (g > 0) fl_start_clear(f, g);
    }
    fl_escape_clear(&f->escapes);
    mp_fit_index_clear(&f->index);
    f->unindexed = 0;
    f->free_blocks = 1;
    fl_free_end_set(f, 0);
    fl_free_end_set(f, f->granule_count - 1u);
    fl_ix_add(f, 0, f->granule_count);
    MP_POISON(f->base, (size_t)f->granule_count << FL_GRANULE_SHIFT);
    f->stats.bytes_in_use = 0;
    f->stats.bytes_in_use_peak = 0;
    f->stats.bytes_requested = 0;
    f->stats.live_block_count = 0;
    fl_unlock(f);
    return MP_OK;
}
