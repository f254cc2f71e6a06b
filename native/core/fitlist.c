/*
 * fitlist.c - fit-list allocator: first-, best- or worst-fit placement over
 * one region, splitting on allocation and coalescing physical neighbours on
 * free.
 *
 * Algorithm: free blocks are indexed by an AVL tree (fitlist_tree.c). First
 * fit orders it by address and finds the lowest block that fits with subtree
 * maxima; best fit orders it by (size, address) and takes the lower bound of
 * the request; worst fit takes the largest block (lowest address among equal
 * sizes). All three are O(log n). A block is carved from the lowest address of
 * the chosen free block; the tail (and, for aligned requests, the head) stays
 * free. Aligned requests (> 16 bytes) try up to FL_ALIGNED_TRIES candidates in
 * policy order for an exact fit, then take the first block in policy order that
 * holds size + alignment - 16 bytes, which always fits.
 *
 * Memory layout: the region is an array of 16-byte granules; every block
 * starts on a granule, so every returned pointer is 16-byte aligned on real
 * addresses. ALL metadata is out of band, in arrays beside the control block:
 *   tags[g]      non-zero only at a block's first granule: START, USED, slack
 *                (usable - requested bytes, 0..16) and log2 of the alignment
 *                the block was allocated with (kept by realloc);
 *   boundary[g]  out-of-band boundary tags. At a block's last granule: its
 *                size. At its first granule: its size if used, its tree node
 *                if free (the node holds the size). The block ending at
 *                granule e starts at e if tags[e] has START (a one-granule
 *                block), else at e + 1 - boundary[e]: O(1) neighbours;
 *   nodes[]      pool of AVL nodes, one per free block, (granules + 1) / 2
 *                of them (free blocks are never adjacent).
 * Metadata reserves 18 bytes per 16-byte granule; from calloc it is touched
 * lazily: tags and boundaries near block edges, nodes for live free blocks.
 * Since nothing lives in the region, writes into any block ever handed out,
 * freed or not, can corrupt only user data. Freed bytes are poisoned under
 * ASan/valgrind.
 *
 * Invariants verified by mp_fitlist_check: blocks tile the region exactly;
 * each block's first granule has START and its boundary tags agree; interior
 * granules have no tag; no two free blocks are adjacent; every free block's
 * node names it and every tree node is a free block's; the tree is ordered
 * and balanced; a used block is exactly the granules its requested bytes
 * need and honours its recorded alignment; the O(1) counters match a walk.
 * check(NULL) returns 1.
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
#include "fitlist_tree.h"
#include "mp_internal.h"

#include <stdlib.h>

#define FL_GRANULE_BYTES 16u
#define FL_GRANULE_SHIFT 4u
/* Largest region (32 GiB): sizes and node indices stay in 31 bits. */
#define FL_MAX_GRANULES (1u << 31)
/* Candidates tried for an exact aligned fit before the padded search. */
#define FL_ALIGNED_TRIES 16

#define FL_TAG_START 0x1u
#define FL_TAG_USED 0x2u
#define FL_TAG_SLACK_SHIFT 2u
#define FL_TAG_SLACK_MASK 0x1Fu
#define FL_TAG_ALIGN_SHIFT 8u
#define FL_TAG_ALIGN_MASK 0x3Fu
#define FL_TAG_KNOWN_BITS 0x3F7Fu

typedef enum fl_region_kind {
    FL_REGION_MAPPED = 0, /* mapped by us: unmapped on destroy, trim releases pages */
    FL_REGION_CALLER = 1, /* cfg->region: caller memory, metadata from malloc */
    FL_REGION_INSIDE = 2  /* create_in: everything inside caller memory */
} fl_region_kind;

struct MP_FitList {
    uint8_t *base;        /* first granule, 16-byte aligned */
    size_t granule_count; /* granules in the region */
    uint32_t *boundary;
    uint16_t *tags;
    mp_fit_tree tree;
    MP_FitPolicy policy;
    uint32_t flags;
    fl_region_kind region_kind;
    void *metadata_alloc; /* malloc'd block holding this struct, or NULL */
    MP_HeapStats stats;
    mp_lock lock;
};

/* ------------------------------------------------------------- small helpers */

static inline void fl_lock(const MP_FitList *f) {
    if (f->flags & MP_FLAG_THREAD_SAFE) mp_lock_acquire(&((MP_FitList *)f)->lock);
}

static inline void fl_unlock(const MP_FitList *f) {
    if (f->flags & MP_FLAG_THREAD_SAFE) mp_lock_release(&((MP_FitList *)f)->lock);
}

static inline uint8_t *fl_ptr(const MP_FitList *f, size_t g) { return f->base + (g << FL_GRANULE_SHIFT); }

static inline bool fl_is_free_start(const MP_FitList *f, size_t g) {
    return (f->tags[g] & (FL_TAG_START | FL_TAG_USED)) == FL_TAG_START;
}

static inline size_t fl_slack(uint16_t tag) { return (tag >> FL_TAG_SLACK_SHIFT) & FL_TAG_SLACK_MASK; }

static inline unsigned fl_align_log2(uint16_t tag) { return (tag >> FL_TAG_ALIGN_SHIFT) & FL_TAG_ALIGN_MASK; }

static inline uint16_t fl_used_tag(size_t slack, unsigned align_log2) {
    return (uint16_t)(FL_TAG_START | FL_TAG_USED | (slack << FL_TAG_SLACK_SHIFT) |
                      ((size_t)align_log2 << FL_TAG_ALIGN_SHIFT));
}

static inline const mp_fit_node *fl_node(const MP_FitList *f, size_t g) {
    return &f->tree.nodes[f->boundary[g]];
}

/* Granules of the block starting at g. */
static inline size_t fl_size(const MP_FitList *f, size_t g) {
    return (f->tags[g] & FL_TAG_USED) ? f->boundary[g] : fl_node(f, g)->size_granules;
}

/* First granule of the block whose last granule is `last`. */
static inline size_t fl_start_ending_at(const MP_FitList *f, size_t last) {
    return (f->tags[last] & FL_TAG_START) ? last : last + 1 - f->boundary[last];
}

/* Makes [g, g + size) a used block with `tag`. */
static inline void fl_set_used(MP_FitList *f, size_t g, size_t size, uint16_t tag) {
    f->tags[g] = tag;
    f->boundary[g] = (uint32_t)size;
    f->boundary[g + size - 1] = (uint32_t)size;
}

/* Makes [g, g + size) one free block indexed by the tree. */
static void fl_add_free(MP_FitList *f, size_t g, size_t size) {
    f->tags[g] = FL_TAG_START;
    f->boundary[g + size - 1] = (uint32_t)size;
    f->boundary[g] = mp_fit_tree_insert(&f->tree, (uint32_t)g, (uint32_t)size);
}

/* Turns the free block at `from` into the free block [g, g + size), keeping
 * its node; [g, g + size) must overlap the old block. The caller rewrites or
 * clears the tag at `from` when g differs. */
static void fl_move_free(MP_FitList *f, size_t from, size_t g, size_t size) {
    uint32_t node = f->boundary[from];
    mp_fit_tree_resize(&f->tree, node, (uint32_t)g, (uint32_t)size);
    f->tags[g] = FL_TAG_START;
    f->boundary[g + size - 1] = (uint32_t)size;
    f->boundary[g] = node;
}

/* Takes the free block at g out of the tree; returns its granules. The caller
 * rewrites or clears its tag. */
static size_t fl_remove_free(MP_FitList *f, size_t g) {
    size_t size = fl_node(f, g)->size_granules;
    mp_fit_tree_remove(&f->tree, f->boundary[g]);
    return size;
}

/* Granules for `size` bytes (0 bytes takes one granule); false on overflow. */
static inline bool fl_need_granules(size_t size, size_t *need) {
    if (size > SIZE_MAX - (FL_GRANULE_BYTES - 1)) return false;
    *need = size == 0 ? 1 : (size + FL_GRANULE_BYTES - 1) >> FL_GRANULE_SHIFT;
    return true;
}

static inline size_t fl_free_bytes(const MP_FitList *f) {
    return (f->granule_count << FL_GRANULE_SHIFT) - f->stats.bytes_in_use;
}

static inline size_t fl_largest_free_bytes(const MP_FitList *f) {
    return (size_t)mp_fit_tree_largest(&f->tree) << FL_GRANULE_SHIFT;
}

/* Finds the used block starting at `ptr`: MP_ERR_INVALID_ADDRESS for NULL,
 * foreign and interior pointers, MP_ERR_DOUBLE_FREE for a free block. */
static MP_Status fl_lookup_used(const MP_FitList *f, const void *ptr, size_t *g_out) {
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)f->base;
    if (ptr == NULL || p < b || ((p - b) & (FL_GRANULE_BYTES - 1)) != 0 ||
        (p - b) >> FL_GRANULE_SHIFT >= f->granule_count)
        return MP_ERR_INVALID_ADDRESS;
    size_t g = (p - b) >> FL_GRANULE_SHIFT;
    if (!(f->tags[g] & FL_TAG_START)) return MP_ERR_INVALID_ADDRESS;
    if (!(f->tags[g] & FL_TAG_USED)) return MP_ERR_DOUBLE_FREE;
    *g_out = g;
    return MP_OK;
}

/* --------------------------------------------------------------- placement */

/* Granule offset inside the free block [start, start + size) at which `need`
 * granules aligned to `align` bytes (real address) begin; SIZE_MAX if none. */
static size_t fl_fit_offset(const MP_FitList *f, size_t start, size_t size, size_t need, size_t align) {
    size_t offset = 0;
    if (align > FL_GRANULE_BYTES) {
        uintptr_t addr = (uintptr_t)fl_ptr(f, start);
        if (addr > UINTPTR_MAX - (align - 1)) return SIZE_MAX;
        offset = (size_t)((mp_align_up_ptr(addr, align) - addr) >> FL_GRANULE_SHIFT);
    }
    if (offset > size || need > size - offset) return SIZE_MAX;
    return offset;
}

/* The node of the first free block in policy order with at least `need`
 * granules. */
static uint32_t fl_first_candidate(const MP_FitList *f, uint32_t need) {
    const mp_fit_tree *t = &f->tree;
    switch (f->policy) {
    case MP_FIT_FIRST:
        return mp_fit_tree_first_fit(t, need, 0);
    case MP_FIT_BEST:
        return mp_fit_tree_lower_bound(t, need, 0);
    default: {
        uint32_t largest = mp_fit_tree_largest(t);
        return largest < need ? MP_FIT_NIL : mp_fit_tree_lower_bound(t, largest, 0);
    }
    }
}

/* The node after `cur` in policy order with at least `need` granules.
 * Worst fit's order is size descending, then address ascending. */
static uint32_t fl_next_candidate(const MP_FitList *f, uint32_t cur, uint32_t need) {
    const mp_fit_tree *t = &f->tree;
    uint32_t size = t->nodes[cur].size_granules, start = t->nodes[cur].start_granule;
    if (f->policy == MP_FIT_FIRST) return mp_fit_tree_first_fit(t, need, start + 1);
    uint32_t next = mp_fit_tree_lower_bound(t, size, start + 1);
    if (f->policy == MP_FIT_BEST) return next;
    if (next != MP_FIT_NIL && t->nodes[next].size_granules == size) return next;
    uint32_t smaller = mp_fit_tree_last_below(t, size, 0);
    if (smaller == MP_FIT_NIL || t->nodes[smaller].size_granules < need) return MP_FIT_NIL;
    return mp_fit_tree_lower_bound(t, t->nodes[smaller].size_granules, 0);
}

/* Turns `need` granules at `offset` inside the free block at `start` into a
 * used block; the head and tail left over stay free. Updates the live
 * counters. */
static void fl_carve(MP_FitList *f, size_t start, size_t offset, size_t need, size_t requested,
                     unsigned align_log2) {
    size_t size = fl_node(f, start)->size_granules;
    size_t g = start + offset, tail = size - offset - need;
    /* The free block's node lives on as the head, else as the tail. */
    if (offset > 0) {
        fl_move_free(f, start, start, offset);
        if (tail > 0) fl_add_free(f, g + need, tail);
    } else if (tail > 0) {
        fl_move_free(f, start, g + need, tail);
    } else {
        fl_remove_free(f, start);
    }
    fl_set_used(f, g, need, fl_used_tag((need << FL_GRANULE_SHIFT) - requested, align_log2));
    MP_UNPOISON(fl_ptr(f, g), need << FL_GRANULE_SHIFT);
    f->stats.bytes_in_use += need << FL_GRANULE_SHIFT;
    f->stats.bytes_requested += requested;
    f->stats.live_block_count++;
    if (f->stats.bytes_in_use > f->stats.bytes_in_use_peak)
        f->stats.bytes_in_use_peak = f->stats.bytes_in_use;
}

/* Places `size` bytes aligned to `align` (a power of two); returns the block's
 * granule, or SIZE_MAX with the reason in *status. Counts nothing on failure. */
static size_t fl_take(MP_FitList *f, size_t size, size_t align, MP_Status *status) {
    size_t need;
    if (!fl_need_granules(size, &need)) {
        *status = MP_ERR_SIZE_OVERFLOW;
        return SIZE_MAX;
    }
    *status = MP_ERR_OUT_OF_MEMORY;
    if (need > f->granule_count) return SIZE_MAX;
    if (align < FL_GRANULE_BYTES) align = FL_GRANULE_BYTES;
    unsigned align_log2 = mp_log2_floor(align);
    const mp_fit_node *nodes = f->tree.nodes;
    uint32_t cand = fl_first_candidate(f, (uint32_t)need);
    for (int tries = 0; cand != MP_FIT_NIL && tries < FL_ALIGNED_TRIES; tries++) {
        size_t start = nodes[cand].start_granule;
        size_t offset = fl_fit_offset(f, start, nodes[cand].size_granules, need, align);
        if (offset != SIZE_MAX) {
            fl_carve(f, start, offset, need, size, align_log2);
            return start + offset;
        }
        cand = fl_next_candidate(f, cand, (uint32_t)need);
    }
    /* Any block of need + align_granules - 1 granules holds an aligned fit. */
    size_t padded = need + (align >> FL_GRANULE_SHIFT) - 1;
    if (cand == MP_FIT_NIL || padded > f->granule_count) return SIZE_MAX;
    cand = fl_first_candidate(f, (uint32_t)padded);
    if (cand == MP_FIT_NIL) return SIZE_MAX;
    size_t start = nodes[cand].start_granule;
    size_t offset = fl_fit_offset(f, start, nodes[cand].size_granules, need, align);
    fl_carve(f, start, offset, need, size, align_log2);
    return start + offset;
}

/* Frees the used block at `g`, coalescing with free neighbours; updates the
 * live counters. */
static void fl_release(MP_FitList *f, size_t g) {
    size_t size = f->boundary[g];
    f->stats.bytes_in_use -= size << FL_GRANULE_SHIFT;
    f->stats.bytes_requested -= (size << FL_GRANULE_SHIFT) - fl_slack(f->tags[g]);
    f->stats.live_block_count--;
    MP_POISON(fl_ptr(f, g), size << FL_GRANULE_SHIFT);
    size_t left = g > 0 ? fl_start_ending_at(f, g - 1) : g, right = g + size;
    bool left_free = g > 0 && fl_is_free_start(f, left);
    bool right_free = right < f->granule_count && fl_is_free_start(f, right);
    /* A free neighbour's node absorbs the block (the left one if both are). */
    if (left_free) {
        size_t total = fl_node(f, left)->size_granules + size;
        if (right_free) {
            total += fl_remove_free(f, right);
            f->tags[right] = 0;
        }
        f->tags[g] = 0;
        fl_move_free(f, left, left, total);
    } else if (right_free) {
        fl_move_free(f, right, g, size + fl_node(f, right)->size_granules);
        f->tags[right] = 0;
    } else {
        fl_add_free(f, g, size);
    }
}

/* ------------------------------------------------------------ construction */

typedef struct fl_layout {
    size_t granules;
    size_t node_capacity;
    size_t nodes_offset, boundary_offset, tags_offset, metadata_bytes;
} fl_layout;

/* Validates `cfg` (region ignored) and computes the metadata layout: the
 * control block, the node pool, the boundary tags and the tag array, each at
 * a 16-byte offset. */
static MP_Status fl_plan(const MP_FitListConfig *cfg, size_t region_bytes, fl_layout *out) {
    if (cfg == NULL) return MP_ERR_INVALID_ARGUMENT;
    if ((unsigned)cfg->policy > (unsigned)MP_FIT_WORST || (cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0)
        return MP_ERR_INVALID_ARGUMENT;
    size_t granules = region_bytes >> FL_GRANULE_SHIFT;
    if (granules == 0 || granules > FL_MAX_GRANULES) return MP_ERR_INVALID_ARGUMENT;
    out->granules = granules;
    out->node_capacity = (granules + 1) / 2;
    out->nodes_offset = mp_align_up(sizeof(MP_FitList), 16);
    out->boundary_offset = out->nodes_offset + mp_align_up(out->node_capacity * sizeof(mp_fit_node), 16);
    out->tags_offset = out->boundary_offset + mp_align_up(granules * sizeof(uint32_t), 16);
    out->metadata_bytes = out->tags_offset + mp_align_up(granules * sizeof(uint16_t), 16);
    return MP_OK;
}

/* Builds the allocator in `metadata` (16-byte aligned, layout `l`) over the
 * granules at `base`. `tags_zeroed`: the tag array is already zero. */
static MP_FitList *fl_build(void *metadata, const fl_layout *l, bool tags_zeroed, uint8_t *base,
                            const MP_FitListConfig *cfg, fl_region_kind kind) {
    MP_FitList *f = metadata;
    memset(f, 0, sizeof *f);
    f->base = base;
    f->granule_count = l->granules;
    f->boundary = (uint32_t *)((uint8_t *)metadata + l->boundary_offset);
    f->tags = (uint16_t *)((uint8_t *)metadata + l->tags_offset);
    f->policy = cfg->policy;
    f->flags = cfg->flags;
    f->region_kind = kind;
    f->stats.region_bytes = l->granules << FL_GRANULE_SHIFT;
    mp_lock_init(&f->lock);
    if (!tags_zeroed) memset(f->tags, 0, l->granules * sizeof(uint16_t));
    mp_fit_tree_init(&f->tree, (mp_fit_node *)((uint8_t *)metadata + l->nodes_offset),
                     (uint32_t)l->node_capacity, (uint32_t)l->granules, cfg->policy == MP_FIT_FIRST);
    fl_add_free(f, 0, l->granules);
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
    MP_Status st = fl_plan(cfg, region_bytes, &l);
    if (st != MP_OK) {
        mp_fail(st, region_bytes, 0, 0);
        return NULL;
    }
    void *metadata = calloc(1, l.metadata_bytes);
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
    MP_FitList *f = fl_build(metadata, &l, true, base, cfg, kind);
    f->metadata_alloc = metadata;
    return f;
}

size_t mp_fitlist_footprint(const MP_FitListConfig *cfg) {
    fl_layout l;
    if (fl_plan(cfg, cfg ? cfg->region_bytes : 0, &l) != MP_OK) return 0;
    /* Up to 15 bytes to align the metadata, then the granules right after. */
    return (FL_GRANULE_BYTES - 1) + l.metadata_bytes + (l.granules << FL_GRANULE_SHIFT);
}

MP_FitList *mp_fitlist_create_in(void *memory, size_t size, const MP_FitListConfig *cfg) {
    fl_layout l;
    MP_Status st = fl_plan(cfg, cfg ? cfg->region_bytes : 0, &l);
    if (st == MP_OK && (memory == NULL || size < mp_fitlist_footprint(cfg))) st = MP_ERR_INVALID_ARGUMENT;
    if (st != MP_OK) {
        mp_fail(st, size, 0, 0);
        return NULL;
    }
    uint8_t *metadata = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, FL_GRANULE_BYTES);
    return fl_build(metadata, &l, false, metadata + l.metadata_bytes, cfg, FL_REGION_INSIDE);
}

void mp_fitlist_destroy(MP_FitList *f) {
    if (f == NULL) return;
    size_t region_bytes = f->granule_count << FL_GRANULE_SHIFT;
    /* Caller memory must come back usable; mapped memory must not leave
     * poisoned shadow behind for a later mapping at the same address. */
    MP_UNPOISON(f->base, region_bytes);
    if (f->region_kind == FL_REGION_MAPPED) mp_os_unmap(f->base, region_bytes);
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
    size_t g = mp_is_pow2(align) ? fl_take(f, size, align, &st) : SIZE_MAX;
    if (g == SIZE_MAX) {
        f->stats.failed_alloc_count++;
        size_t available = fl_free_bytes(f), largest = fl_largest_free_bytes(f);
        fl_unlock(f);
        mp_fail(st, size, available, largest);
        return NULL;
    }
    f->stats.alloc_count++;
    uint8_t *p = fl_ptr(f, g);
    if (zero) memset(p, 0, (size_t)f->boundary[g] << FL_GRANULE_SHIFT);
    fl_unlock(f);
    return p;
}

void *mp_fitlist_alloc(MP_FitList *f, size_t size) {
    return fl_alloc_common(f, size, FL_GRANULE_BYTES, false);
}

void *mp_fitlist_alloc_aligned(MP_FitList *f, size_t size, size_t align) {
    return fl_alloc_common(f, size, align, false);
}

void *mp_fitlist_calloc(MP_FitList *f, size_t size) {
    return fl_alloc_common(f, size, FL_GRANULE_BYTES, true);
}

MP_Status mp_fitlist_free(MP_FitList *f, void *ptr) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    size_t g;
    MP_Status st = fl_lookup_used(f, ptr, &g);
    if (st == MP_OK) {
        fl_release(f, g);
        f->stats.free_count++;
    } else {
        f->stats.rejected_free_count++;
    }
    fl_unlock(f);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

/* Resizes the used block at `g` to `size` bytes without moving it; false if
 * the right neighbour cannot supply the growth (nothing changed then). */
static bool fl_resize_in_place(MP_FitList *f, size_t g, size_t size, size_t need) {
    size_t cur = f->boundary[g], right = g + cur;
    uint16_t tag = f->tags[g];
    if (need > cur) {
        if (right >= f->granule_count || !fl_is_free_start(f, right) ||
            fl_node(f, right)->size_granules < need - cur)
            return false;
        size_t rest = fl_node(f, right)->size_granules - (need - cur);
        if (rest > 0)
            fl_move_free(f, right, g + need, rest);
        else
            fl_remove_free(f, right);
        f->tags[right] = 0;
        MP_UNPOISON(fl_ptr(f, right), (need - cur) << FL_GRANULE_SHIFT);
    } else if (need < cur) {
        /* The freed tail joins a free right neighbour, or becomes one. */
        if (right < f->granule_count && fl_is_free_start(f, right)) {
            fl_move_free(f, right, g + need, cur - need + fl_node(f, right)->size_granules);
            f->tags[right] = 0;
        } else {
            fl_add_free(f, g + need, cur - need);
        }
        MP_POISON(fl_ptr(f, g + need), (cur - need) << FL_GRANULE_SHIFT);
    }
    size_t old_requested = (cur << FL_GRANULE_SHIFT) - fl_slack(tag);
    fl_set_used(f, g, need, fl_used_tag((need << FL_GRANULE_SHIFT) - size, fl_align_log2(tag)));
    f->stats.bytes_in_use = f->stats.bytes_in_use - (cur << FL_GRANULE_SHIFT) + (need << FL_GRANULE_SHIFT);
    f->stats.bytes_requested = f->stats.bytes_requested - old_requested + size;
    if (f->stats.bytes_in_use > f->stats.bytes_in_use_peak)
        f->stats.bytes_in_use_peak = f->stats.bytes_in_use;
    return true;
}

MP_Status mp_fitlist_realloc(MP_FitList *f, void **ptr, size_t size) {
    if (f == NULL || ptr == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    fl_lock(f);
    MP_Status st = MP_OK;
    size_t g = SIZE_MAX, need = 0;
    if (*ptr == NULL) {
        g = fl_take(f, size, FL_GRANULE_BYTES, &st);
        if (g != SIZE_MAX) f->stats.alloc_count++;
    } else if ((st = fl_lookup_used(f, *ptr, &g)) != MP_OK) {
        f->stats.rejected_free_count++;
        fl_unlock(f);
        return mp_fail(st, size, 0, 0);
    } else if (!fl_need_granules(size, &need)) {
        st = MP_ERR_SIZE_OVERFLOW;
        g = SIZE_MAX;
    } else if (!fl_resize_in_place(f, g, size, need)) {
        size_t old = g, old_bytes = (size_t)f->boundary[old] << FL_GRANULE_SHIFT;
        size_t peak = f->stats.bytes_in_use_peak;
        g = fl_take(f, size, (size_t)1 << fl_align_log2(f->tags[old]), &st);
        if (g != SIZE_MAX) {
            memcpy(fl_ptr(f, g), fl_ptr(f, old), old_bytes);
            fl_release(f, old);
        }
        /* The peak counts states callers can see, not old and new at once. */
        f->stats.bytes_in_use_peak = peak > f->stats.bytes_in_use ? peak : f->stats.bytes_in_use;
    }
    if (g == SIZE_MAX) {
        f->stats.failed_alloc_count++;
        size_t available = fl_free_bytes(f), largest = fl_largest_free_bytes(f);
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
    if (fl_lookup_used(f, ptr, &g) == MP_OK) usable = (size_t)f->boundary[g] << FL_GRANULE_SHIFT;
    fl_unlock(f);
    return usable;
}

MP_Status mp_fitlist_reset(MP_FitList *f) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    /* Clears every block's tag (O(blocks)), then one free block again. */
    for (size_t g = 0, size; g < f->granule_count && (size = fl_size(f, g)) != 0; g += size)
        f->tags[g] = 0;
    mp_fit_tree_init(&f->tree, f->tree.nodes, f->tree.node_capacity, (uint32_t)f->granule_count,
                     f->policy == MP_FIT_FIRST);
    fl_add_free(f, 0, f->granule_count);
    MP_POISON(f->base, f->granule_count << FL_GRANULE_SHIFT);
    f->stats.bytes_in_use = 0;
    f->stats.bytes_in_use_peak = 0;
    f->stats.bytes_requested = 0;
    f->stats.live_block_count = 0;
    fl_unlock(f);
    return MP_OK;
}

/* ------------------------------------------------------------ introspection */

MP_Status mp_fitlist_stats(const MP_FitList *f, MP_HeapStats *out) {
    if (f == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    *out = f->stats;
    fl_unlock(f);
    return MP_OK;
}

static int fl_count_free(const mp_fit_node *node, void *ctx) {
    MP_FreeStats *s = ctx;
    s->free_bytes += (size_t)node->size_granules << FL_GRANULE_SHIFT;
    s->free_block_count++;
    return 0;
}

MP_Status mp_fitlist_free_stats(const MP_FitList *f, MP_FreeStats *out) {
    if (f == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_FreeStats s = {0, 0, 0, 0.0};
    fl_lock(f);
    mp_fit_tree_visit(&f->tree, fl_count_free, &s);
    s.largest_free_block_bytes = fl_largest_free_bytes(f);
    fl_unlock(f);
    if (s.free_bytes > 0) s.fragmentation = 1.0 - (double)s.largest_free_block_bytes / (double)s.free_bytes;
    *out = s;
    return MP_OK;
}

MP_Status mp_fitlist_walk(const MP_FitList *f, MP_WalkFn fn, void *ctx) {
    if (f == NULL || fn == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    for (size_t g = 0, size; g < f->granule_count && (size = fl_size(f, g)) != 0; g += size)
        if (fn(fl_ptr(f, g), size << FL_GRANULE_SHIFT, (f->tags[g] & FL_TAG_USED) != 0, ctx) != 0) break;
    fl_unlock(f);
    return MP_OK;
}

/* A tree node must be the node of the free block it names. */
static int fl_check_node(const mp_fit_node *node, void *ctx) {
    const MP_FitList *f = ctx;
    size_t g = node->start_granule;
    return fl_is_free_start(f, g) && fl_node(f, g) == node ? 0 : 1;
}

/* Violations in the block at g (size `size`, known to fit the region). */
static size_t fl_check_block(const MP_FitList *f, size_t g, size_t size, bool prev_free, MP_HeapStats *sum) {
    size_t v = 0;
    uint16_t tag = f->tags[g];
    /* A one-granule free block's only boundary slot names its node. */
    if (((tag & FL_TAG_USED) || size > 1) && f->boundary[g + size - 1] != size) v++;
    for (size_t i = g + 1; i < g + size; i++) {
        if (f->tags[i] != 0) {
            v++;
            break;
        }
    }
    if (!(tag & FL_TAG_USED)) {
        if (prev_free) v++;
        if (tag != FL_TAG_START) v++;
        return v;
    }
    size_t bytes = size << FL_GRANULE_SHIFT, slack = fl_slack(tag);
    unsigned align_log2 = fl_align_log2(tag);
    size_t need = 0;
    /* A used block is exactly as many granules as its requested bytes need. */
    if (slack > FL_GRANULE_BYTES || !fl_need_granules(bytes - slack, &need) || need != size) v++;
    if (align_log2 < FL_GRANULE_SHIFT || align_log2 >= sizeof(uintptr_t) * 8 ||
        ((uintptr_t)fl_ptr(f, g) & (((uintptr_t)1 << align_log2) - 1)) != 0)
        v++;
    if ((tag & ~FL_TAG_KNOWN_BITS) != 0) v++;
    sum->bytes_in_use += bytes;
    sum->bytes_requested += bytes - slack;
    sum->live_block_count++;
    return v;
}

size_t mp_fitlist_check(const MP_FitList *f) {
    if (f == NULL) return 1;
    fl_lock(f);
    size_t v = 0, free_blocks = 0, g = 0;
    MP_HeapStats sum;
    memset(&sum, 0, sizeof sum);
    bool prev_free = false;
    while (g < f->granule_count) {
        uint16_t tag = f->tags[g];
        bool named = (tag & FL_TAG_USED) ||
                     (f->boundary[g] < f->tree.nodes_touched && fl_node(f, g)->start_granule == g);
        size_t size = named ? fl_size(f, g) : 0;
        if (!(tag & FL_TAG_START) || size == 0 || size > f->granule_count - g) {
            v++; /* the tiling is broken: nothing after g can be trusted */
            break;
        }
        v += fl_check_block(f, g, size, prev_free, &sum);
        prev_free = !(f->tags[g] & FL_TAG_USED);
        free_blocks += prev_free;
        g += size;
    }
    size_t tree_violations = mp_fit_tree_check(&f->tree);
    v += tree_violations;
    if (tree_violations == 0 && mp_fit_tree_visit(&f->tree, fl_check_node, (void *)f) != 0) v++;
    if (free_blocks != f->tree.node_count) v++;
    if (sum.bytes_in_use != f->stats.bytes_in_use) v++;
    if (sum.bytes_requested != f->stats.bytes_requested) v++;
    if (sum.live_block_count != f->stats.live_block_count) v++;
    if (f->stats.bytes_in_use_peak < f->stats.bytes_in_use) v++;
    if (f->stats.region_bytes != f->granule_count << FL_GRANULE_SHIFT) v++;
    fl_unlock(f);
    return v;
}

void *mp_fitlist_base(const MP_FitList *f) { return f ? f->base : NULL; }

typedef struct fl_trim_ctx {
    const MP_FitList *f;
    size_t released_bytes;
} fl_trim_ctx;

static int fl_release_free_pages(const mp_fit_node *node, void *ctx) {
    fl_trim_ctx *t = ctx;
    t->released_bytes += mp_os_release_pages(fl_ptr(t->f, node->start_granule),
                                             (size_t)node->size_granules << FL_GRANULE_SHIFT);
    return 0;
}

MP_Status mp_fitlist_trim(MP_FitList *f, size_t *released_bytes) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_trim_ctx t = {f, 0};
    fl_lock(f);
    /* Only memory we mapped goes back to the OS; caller memory is theirs. */
    if (f->region_kind == FL_REGION_MAPPED) mp_fit_tree_visit(&f->tree, fl_release_free_pages, &t);
    fl_unlock(f);
    if (released_bytes != NULL) *released_bytes = t.released_bytes;
    return MP_OK;
}
