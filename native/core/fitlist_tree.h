/*
 * fitlist_tree.h - the free-block index of the fit-list allocator (fitlist.c),
 * implemented in fitlist_tree.c; never installed.
 *
 * One node per free block, from a pool of nodes outside the region. A node
 * records the block's start and size (in 16-byte granules), so the tree never
 * reads the region or the allocator's tables. Nodes are named by their index
 * in the pool; MP_FIT_NIL names none.
 */
#ifndef MP_FITLIST_TREE_H
#define MP_FITLIST_TREE_H

#include <stddef.h>
#include <stdint.h>

#define MP_FIT_NIL UINT32_MAX

typedef struct mp_fit_node {
    uint32_t child[2];             /**< left (0) and right (1) children;
                                        child[0] links unused nodes */
    uint32_t start_granule;        /**< first granule of the free block */
    uint32_t size_granules;        /**< granules in the free block */
    uint32_t subtree_max_granules; /**< largest free block in this subtree */
    uint32_t height;               /**< AVL height, 1 for a leaf */
} mp_fit_node;

typedef struct mp_fit_tree {
    mp_fit_node *nodes;     /**< node_capacity entries, touched lazily */
    uint32_t node_capacity; /**< most free blocks the region can hold */
    uint32_t granule_count; /**< granules in the region (for check) */
    uint32_t root;          /**< MP_FIT_NIL when empty */
    uint32_t node_count;    /**< free blocks in the tree */
    uint32_t unused_head;   /**< released nodes, linked through `left` */
    uint32_t nodes_touched; /**< nodes [0, nodes_touched) were handed out once */
    int by_address;         /**< 1: keyed by start (first fit);
                                 0: keyed by (size, start) (best, worst fit) */
} mp_fit_tree;

/** Prepares an empty tree over `nodes` (nothing of it is read). O(1). */
void mp_fit_tree_init(mp_fit_tree *t, mp_fit_node *nodes, uint32_t node_capacity, uint32_t granule_count,
                      int by_address);
/** Indexes the free block [start, start + size); returns its node. The
 * caller guarantees a free node (at most node_capacity free blocks). O(log n). */
uint32_t mp_fit_tree_insert(mp_fit_tree *t, uint32_t start, uint32_t size);
/** Removes `node` from the tree and returns it to the pool. O(log n). */
void mp_fit_tree_remove(mp_fit_tree *t, uint32_t node);
/** Changes the block of `node` to [start, start + size) and keeps the node.
 * For address-keyed trees the new start must keep the node's place in key
 * order (no other free block starts in between): only the subtree maxima on
 * its path are refreshed. O(log n). */
void mp_fit_tree_resize(mp_fit_tree *t, uint32_t node, uint32_t start, uint32_t size);
/** Largest free block in granules, 0 when empty. O(1). */
uint32_t mp_fit_tree_largest(const mp_fit_tree *t);

/** Address-keyed trees: the lowest free block at or after `min_start` with at
 * least `need` granules, or MP_FIT_NIL. O(log n). */
uint32_t mp_fit_tree_first_fit(const mp_fit_tree *t, uint32_t need, uint32_t min_start);
/** Size-keyed trees: the smallest block whose (size, start) is at least
 * (size, start), or MP_FIT_NIL. O(log n). */
uint32_t mp_fit_tree_lower_bound(const mp_fit_tree *t, uint32_t size, uint32_t start);
/** Size-keyed trees: the largest block whose (size, start) is below
 * (size, start), or MP_FIT_NIL. O(log n). */
uint32_t mp_fit_tree_last_below(const mp_fit_tree *t, uint32_t size, uint32_t start);

/** Calls fn(node, ctx) for every free block in key order; stops at and
 * returns the first non-zero result. O(n). */
int mp_fit_tree_visit(const mp_fit_tree *t, int (*fn)(const mp_fit_node *node, void *ctx), void *ctx);

/** Number of violated invariants: key order, AVL heights and balance,
 * subtree maxima, index and block bounds, node_count, and that reachable plus
 * released nodes account for every touched node. Terminates on a corrupted
 * tree (bounded depth and visits). O(n). */
size_t mp_fit_tree_check(const mp_fit_tree *t);

#endif /* MP_FITLIST_TREE_H */
