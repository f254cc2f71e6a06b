/*
 * fitlist_tree.h - the free-block index of the fit-list allocator (fitlist.c),
 * implemented in fitlist_tree.c; never installed.
 *
 * B+-trees of free blocks, each named by its (start, size) in 16-byte
 * granules and packed into one 64-bit key. Blocks of 1..MP_FIT_BINS granules
 * live in one tree per exact size (a bin) keyed by (size, start), i.e. by
 * address; larger blocks live in one more tree, keyed by (size, start) for
 * best and worst fit (sizes ascending, lowest address first among equal
 * sizes) or by (start, size) for first fit, where every node also keeps an
 * upper bound of the largest block below it. A bitmap of non-empty trees
 * finds the smallest fitting bin in O(1); concatenated in size order the
 * trees read as one (size, start) order. For first fit, a tournament tree
 * over the bins' lowest addresses finds the lowest block of any size >= need
 * in O(log MP_FIT_BINS). Nodes are 256-byte records from one pool outside the
 * region (a fixed array, or a malloc'd one that doubles on demand); the trees
 * never read the region. An insert that finds no node for its splits fails
 * and changes nothing: the allocator then treats the block as unindexed.
 */
#ifndef MP_FITLIST_TREE_H
#define MP_FITLIST_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_FIT_NIL UINT32_MAX
#define MP_FIT_LEAF_KEYS 29u      /* keys per leaf */
#define MP_FIT_INNER_CHILDREN 15u /* children per inner node */
#define MP_FIT_MAX_HEIGHT 24u     /* far above what 2^31 keys need */

typedef struct mp_fit_node {
    uint16_t count;    /**< keys (leaf) or children (inner) */
    uint16_t is_leaf;
    uint32_t parent;   /**< MP_FIT_NIL for the root */
    uint32_t next;     /**< leaf: next leaf in key order; released: next released node */
    uint32_t prev;     /**< leaf: previous leaf in key order */
    uint32_t max_size; /**< address-keyed trees: at least the largest block size in this subtree */
    uint32_t unused;
    union {
        uint64_t keys[MP_FIT_LEAF_KEYS]; /**< leaf: ascending keys */
        struct {
            uint64_t seps[MP_FIT_INNER_CHILDREN - 1]; /**< keys of child i+1 are >= seps[i] > keys of child i */
            uint32_t child[MP_FIT_INNER_CHILDREN];
            uint32_t max[MP_FIT_INNER_CHILDREN]; /**< address-keyed: a copy of child[i]'s max_size */
        } in;
    } u;
} mp_fit_node;

/** One B+-tree of the index. */
typedef struct mp_fit_tree {
    uint32_t root;   /**< MP_FIT_NIL when empty */
    uint32_t height; /**< 0 when empty, 1 when the root is a leaf */
    uint32_t first_leaf, last_leaf;
} mp_fit_tree;

#define MP_FIT_BINS 256u /**< size-keyed: exact-size trees for 1..MP_FIT_BINS granules */
#define MP_FIT_TREES (MP_FIT_BINS + 1u)

typedef struct mp_fit_index {
    mp_fit_node *nodes;      /**< node_capacity nodes, touched lazily */
    uint32_t node_capacity;
    uint32_t nodes_touched;  /**< nodes [0, nodes_touched) were handed out once */
    uint32_t released_head;  /**< released nodes, linked through `next` */
    uint32_t released_count;
    uint32_t granule_count;  /**< blocks lie inside [0, granule_count) (for check) */
    size_t key_count;
    bool by_address;         /**< true: keys (start, size) (first fit) */
    bool growable;           /**< nodes come from malloc and may be reallocated */
    uint64_t nonempty[(MP_FIT_TREES + 63) / 64]; /**< bit t: trees[t] holds keys */
    mp_fit_tree trees[MP_FIT_TREES]; /**< bins for sizes 1.., then larger sizes */
    /** First fit: a tournament over the bins; leaf MP_FIT_BINS + b holds
     * (lowest start of bin b) << 9 | b, UINT64_MAX when empty; node i holds
     * the minimum of nodes 2i and 2i + 1. */
    uint64_t lowest[2 * MP_FIT_BINS];
} mp_fit_index;

/** A position in key order: a tree, a leaf and an index in it. Any change to
 * the index invalidates it. */
typedef struct mp_fit_cursor {
    uint32_t tree;
    uint32_t leaf;
    uint32_t idx;
} mp_fit_cursor;

/** Prepares an empty index over `nodes` (nothing of it is read). A growable
 * index owns `nodes` (malloc'd, may be NULL with capacity 0). O(1). */
void mp_fit_index_init(mp_fit_index *ix, mp_fit_node *nodes, uint32_t node_capacity, uint32_t granule_count,
                       bool by_address, bool growable);
/** Forgets every key; the node pool is kept for reuse. O(1). */
void mp_fit_index_clear(mp_fit_index *ix);
/** Frees the nodes of a growable index. */
void mp_fit_index_release(mp_fit_index *ix);

/** Indexes the free block [start, start + size), which must not be indexed
 * yet; false (nothing changed) when no node is left for the splits. O(log n). */
bool mp_fit_index_insert(mp_fit_index *ix, uint32_t start, uint32_t size);
/** Removes the block; false if it was not indexed. O(log n). */
bool mp_fit_index_remove(mp_fit_index *ix, uint32_t start, uint32_t size);
/** Removes the key at `c`. O(1) amortised (rebalancing climbs parent links). */
void mp_fit_index_remove_at(mp_fit_index *ix, mp_fit_cursor c);
/** Results of the replace calls, as bits. */
#define MP_FIT_OLD_FOUND 1 /**< the old block was indexed (and is gone) */
#define MP_FIT_NEW_ADDED 2 /**< the new block is indexed */
/** Replaces the block (start, size) by (new_start, new_size), in place when
 * key order allows (always for first fit when no other free block lies
 * between the two starts). Returns MP_FIT_OLD_FOUND | MP_FIT_NEW_ADDED bits.
 * O(log n). */
unsigned mp_fit_index_replace(mp_fit_index *ix, uint32_t start, uint32_t size, uint32_t new_start,
                              uint32_t new_size);
/** mp_fit_index_replace of the key at `c` (the old block is always found). */
unsigned mp_fit_index_replace_at(mp_fit_index *ix, mp_fit_cursor c, uint32_t new_start, uint32_t new_size);

/** Start and size of the key at `c` (which must be valid). */
static inline void mp_fit_index_at(const mp_fit_index *ix, mp_fit_cursor c, uint32_t *start, uint32_t *size) {
    uint64_t k = ix->nodes[c.leaf].u.keys[c.idx];
    bool by_address = ix->by_address && c.tree == MP_FIT_BINS;
    *start = by_address ? (uint32_t)(k >> 32) : (uint32_t)k;
    *size = by_address ? (uint32_t)k : (uint32_t)(k >> 32);
}
/** Moves to the next (prev) key in key order; false at the end. O(1). */
bool mp_fit_index_next(const mp_fit_index *ix, mp_fit_cursor *c);
bool mp_fit_index_prev(const mp_fit_index *ix, mp_fit_cursor *c);
/** The first block whose (size, start) is >= (size, start), in the size
 * order of the trees (for first fit only within a bin). O(1) for a bin size
 * and start 0, else O(log n). */
bool mp_fit_index_lower_bound(const mp_fit_index *ix, uint32_t size, uint32_t start, mp_fit_cursor *c);
/** The last block in (size, start) order (size-keyed): the largest block at
 * the highest address among equal sizes. O(1). */
bool mp_fit_index_last(const mp_fit_index *ix, mp_fit_cursor *c);
/** The last block whose (size, start) is below (size, start) (size-keyed). */
bool mp_fit_index_last_below(const mp_fit_index *ix, uint32_t size, uint32_t start, mp_fit_cursor *c);
/** Address-keyed: the lowest free block with at least `need` granules.
 * O(log n). */
bool mp_fit_index_first_fit(mp_fit_index *ix, uint32_t need, mp_fit_cursor *c);

/** Address-keyed: the free blocks with at least `need` granules in address
 * order, merged from the bins and the tree of larger blocks. */
typedef struct mp_fit_walk {
    uint32_t need;
    uint32_t count; /* heap entries */
    struct {
        uint32_t start;
        mp_fit_cursor at;
    } heap[MP_FIT_TREES];
} mp_fit_walk;
/** Starts a walk. O(MP_FIT_BINS). */
void mp_fit_index_walk_init(mp_fit_index *ix, uint32_t need, mp_fit_walk *w);
/** The next block of the walk; false when none is left. O(log n). */
bool mp_fit_index_walk_next(mp_fit_index *ix, mp_fit_walk *w, mp_fit_cursor *c);

/** Largest block in granules, 0 when empty. O(1). */
uint32_t mp_fit_index_largest(mp_fit_index *ix);

/** Calls fn(start, size, ctx) for every key, tree by tree (bins by size, then
 * the larger blocks); stops at and returns the first non-zero result. O(n). */
int mp_fit_index_visit(const mp_fit_index *ix, int (*fn)(uint32_t start, uint32_t size, void *ctx), void *ctx);

/** Number of violated invariants: node bounds and counts, parent links, key
 * order inside nodes and against separators, equal leaf depth, maxima, each
 * tree's leaf chain, keys in the right bin, the non-empty bitmap, key_count,
 * block bounds, and that reachable plus released nodes are exactly the
 * touched ones. Terminates on any corruption (bounded depth and visits).
 * O(n). */
size_t mp_fit_index_check(const mp_fit_index *ix);


/* ------------------------------------------------ shared by fitlist_tree*.c */

/** Recomputes the first-fit bound of node id from what lies below it, then
 * its ancestors', stopping where nothing changes. */
void mp_fit_index_tighten(mp_fit_index *ix, uint32_t id);

/* Whether tree t is keyed by (start, size): first fit's tree of larger blocks. */
static inline bool fit_addr_tree(const mp_fit_index *ix, uint32_t t) { return ix->by_address && t == MP_FIT_BINS; }

static inline uint64_t fit_key_of(const mp_fit_index *ix, uint32_t t, uint32_t start, uint32_t size) {
    return fit_addr_tree(ix, t) ? (uint64_t)start << 32 | size : (uint64_t)size << 32 | start;
}

static inline uint32_t fit_key_size(const mp_fit_index *ix, uint32_t t, uint64_t k) {
    return fit_addr_tree(ix, t) ? (uint32_t)k : (uint32_t)(k >> 32);
}

static inline uint32_t fit_key_start(const mp_fit_index *ix, uint32_t t, uint64_t k) {
    return fit_addr_tree(ix, t) ? (uint32_t)(k >> 32) : (uint32_t)k;
}

/* The tree holding blocks of `size` granules. */
static inline uint32_t fit_tree_of(uint32_t size) { return size <= MP_FIT_BINS ? size - 1 : MP_FIT_BINS; }

/* Index of the first of the n sorted keys that is >= k (branch-free steps). */
static inline unsigned fit_lower_idx(const uint64_t *keys, unsigned n, uint64_t k) {
    const uint64_t *base = keys;
    while (n > 1) {
        unsigned half = n >> 1;
        base += half & (0u - (unsigned)(base[half - 1] < k));
        n -= half;
    }
    return (unsigned)(base - keys) + (n == 1 && *base < k);
}

/* The child of inner node n whose key range holds k: the separators <= k. */
static inline unsigned fit_child_idx(const mp_fit_node *n, uint64_t k) {
    const uint64_t *seps = n->u.in.seps, *base = seps;
    unsigned len = n->count - 1u;
    while (len > 1) {
        unsigned half = len >> 1;
        base += half & (0u - (unsigned)(base[half - 1] <= k));
        len -= half;
    }
    return (unsigned)(base - seps) + (len == 1 && *base <= k);
}

static inline uint32_t fit_compute_max(const mp_fit_node *n) {
    uint32_t m = 0;
    if (n->is_leaf) {
        for (unsigned i = 0; i < n->count; i++)
            if ((uint32_t)n->u.keys[i] > m) m = (uint32_t)n->u.keys[i];
    } else {
        for (unsigned i = 0; i < n->count; i++)
            if (n->u.in.max[i] > m) m = n->u.in.max[i];
    }
    return m;
}

/* The first non-empty tree >= t (<= t when `down`), or MP_FIT_NIL. */
static inline uint32_t fit_nonempty_tree(const mp_fit_index *ix, uint32_t t, bool down) {
    const unsigned words = (MP_FIT_TREES + 63) / 64;
    if (t >= MP_FIT_TREES) return MP_FIT_NIL;
    unsigned w = t >> 6;
    uint64_t m = down ? ix->nonempty[w] & (~(uint64_t)0 >> (63 - (t & 63))) : ix->nonempty[w] & (~(uint64_t)0 << (t & 63));
    for (;;) {
        if (m != 0) return (w << 6) + (unsigned)(down ? 63 - __builtin_clzll(m) : __builtin_ctzll(m));
        if (down ? w == 0 : w + 1 >= words) return MP_FIT_NIL;
        w = down ? w - 1 : w + 1;
        m = ix->nonempty[w];
    }
}

#endif /* MP_FITLIST_TREE_H */
