/*
 * fitlist_tree.c - AVL tree of the free blocks of a fit-list allocator.
 *
 * Algorithm: a height-balanced (AVL) binary search tree with recursive insert
 * and remove and single/double rotations, so every search is O(log n) in the
 * worst case. Each node also keeps the largest free block of its subtree,
 * which gives the largest free block in O(1) and lets first fit descend to the
 * lowest address that fits in O(log n). Insert and remove stop rebalancing
 * ancestors as soon as a subtree keeps its root, height and maximum (the
 * ancestors cannot change then), which saves the sibling reads of the upper
 * levels.
 *
 * Memory layout: nodes live in a pool outside the region; released nodes form
 * a LIFO list through child[0], so the nodes in use stay compact (RSS and cache
 * footprint follow the number of free blocks, not the region size). Each node
 * holds its block's start and size: nothing is read from the region, so writes
 * into freed blocks cannot reach the tree.
 *
 * Order: first fit keys nodes by start; best and worst fit by (size, start),
 * so ties between equal sizes go to the lowest address.
 *
 * Invariants verified by mp_fit_tree_check: in-order keys strictly increase;
 * every height is 1 + the taller child and children differ by at most one;
 * every subtree maximum is the largest size below it; nodes and blocks are in
 * bounds; node_count nodes are reachable; reachable plus released nodes are
 * exactly the touched nodes.
 */
#include "fitlist_tree.h"

#include <stdbool.h>

/* An AVL tree of 2^31 nodes is less than 1.45 * 31 + 2 high; a deeper path
 * means a corrupted (cyclic) tree. */
#define MP_FIT_MAX_DEPTH 64

static inline uint32_t height_of(const mp_fit_tree *t, uint32_t id) {
    return id == MP_FIT_NIL ? 0 : t->nodes[id].height;
}

static inline uint32_t max_of(const mp_fit_tree *t, uint32_t id) {
    return id == MP_FIT_NIL ? 0 : t->nodes[id].subtree_max_granules;
}

static inline bool key_less(const mp_fit_tree *t, uint32_t size_a, uint32_t start_a, uint32_t size_b,
                            uint32_t start_b) {
    if (!t->by_address && size_a != size_b) return size_a < size_b;
    return start_a < start_b;
}

static inline bool node_less(const mp_fit_tree *t, uint32_t a, uint32_t b) {
    const mp_fit_node *x = &t->nodes[a], *y = &t->nodes[b];
    return key_less(t, x->size_granules, x->start_granule, y->size_granules, y->start_granule);
}

static void update(mp_fit_tree *t, uint32_t id) {
    mp_fit_node *n = &t->nodes[id];
    uint32_t hl = height_of(t, n->child[0]), hr = height_of(t, n->child[1]);
    n->height = 1 + (hl > hr ? hl : hr);
    uint32_t m = n->size_granules, ml = max_of(t, n->child[0]), mr = max_of(t, n->child[1]);
    if (ml > m) m = ml;
    if (mr > m) m = mr;
    n->subtree_max_granules = m;
}

/* Lifts the child on side `side` (0 left, 1 right) above `id`: side 0 is a
 * right rotation, side 1 a left rotation. Returns the new subtree root. */
static uint32_t rotate(mp_fit_tree *t, uint32_t id, int side) {
    uint32_t c = t->nodes[id].child[side];
    t->nodes[id].child[side] = t->nodes[c].child[!side];
    t->nodes[c].child[!side] = id;
    update(t, id);
    update(t, c);
    return c;
}

static uint32_t rebalance(mp_fit_tree *t, uint32_t id) {
    update(t, id);
    mp_fit_node *n = &t->nodes[id];
    for (int side = 0; side < 2; side++) {
        uint32_t c = n->child[side];
        if (height_of(t, c) <= height_of(t, n->child[!side]) + 1) continue;
        /* The taller child leans inwards: straighten it first (double rotation). */
        if (height_of(t, t->nodes[c].child[side]) < height_of(t, t->nodes[c].child[!side]))
            n->child[side] = rotate(t, c, !side);
        return rotate(t, id, side);
    }
    return id;
}

typedef uint32_t (*subtree_op)(mp_fit_tree *t, uint32_t root, uint32_t id);

/* Applies `op` (insert or remove of `id`) to the child of `root` on id's
 * side, then rebalances `root` only if that child subtree changed its root,
 * height or maximum (otherwise nothing above it can change). */
static uint32_t descend(mp_fit_tree *t, uint32_t root, uint32_t id, subtree_op op) {
    mp_fit_node *n = &t->nodes[root];
    int side = node_less(t, id, root) ? 0 : 1;
    uint32_t child = n->child[side];
    uint32_t old_height = height_of(t, child), old_max = max_of(t, child);
    uint32_t new_child = op(t, child, id);
    n->child[side] = new_child;
    if (new_child == child && height_of(t, new_child) == old_height && max_of(t, new_child) == old_max)
        return root;
    return rebalance(t, root);
}

void mp_fit_tree_init(mp_fit_tree *t, mp_fit_node *nodes, uint32_t node_capacity, uint32_t granule_count,
                      int by_address) {
    t->nodes = nodes;
    t->node_capacity = node_capacity;
    t->granule_count = granule_count;
    t->root = MP_FIT_NIL;
    t->node_count = 0;
    t->unused_head = MP_FIT_NIL;
    t->nodes_touched = 0;
    t->by_address = by_address;
}

static uint32_t insert_at(mp_fit_tree *t, uint32_t root, uint32_t id) {
    return root == MP_FIT_NIL ? id : descend(t, root, id, insert_at);
}

/* Makes `id` a leaf for the block [start, start + size) and inserts it. */
static void insert_leaf(mp_fit_tree *t, uint32_t id, uint32_t start, uint32_t size) {
    mp_fit_node *n = &t->nodes[id];
    n->child[0] = n->child[1] = MP_FIT_NIL;
    n->start_granule = start;
    n->size_granules = size;
    n->subtree_max_granules = size;
    n->height = 1;
    t->root = insert_at(t, t->root, id);
}

uint32_t mp_fit_tree_insert(mp_fit_tree *t, uint32_t start, uint32_t size) {
    uint32_t id = t->unused_head;
    if (id != MP_FIT_NIL)
        t->unused_head = t->nodes[id].child[0];
    else
        id = t->nodes_touched++;
    insert_leaf(t, id, start, size);
    t->node_count++;
    return id;
}

/* Detaches the leftmost node of the subtree at `root` into *min_id. */
static uint32_t remove_min(mp_fit_tree *t, uint32_t root, uint32_t *min_id) {
    if (t->nodes[root].child[0] == MP_FIT_NIL) {
        *min_id = root;
        return t->nodes[root].child[1];
    }
    t->nodes[root].child[0] = remove_min(t, t->nodes[root].child[0], min_id);
    return rebalance(t, root);
}

static uint32_t remove_at(mp_fit_tree *t, uint32_t root, uint32_t id) {
    if (root == MP_FIT_NIL) return MP_FIT_NIL;
    mp_fit_node *n = &t->nodes[root];
    if (root == id) {
        if (n->child[0] == MP_FIT_NIL) return n->child[1];
        if (n->child[1] == MP_FIT_NIL) return n->child[0];
        uint32_t successor;
        uint32_t right = remove_min(t, n->child[1], &successor);
        t->nodes[successor].child[0] = n->child[0];
        t->nodes[successor].child[1] = right;
        return rebalance(t, successor);
    }
    return descend(t, root, id, remove_at);
}

void mp_fit_tree_remove(mp_fit_tree *t, uint32_t node) {
    t->root = remove_at(t, t->root, node);
    t->node_count--;
    t->nodes[node].child[0] = t->unused_head;
    t->unused_head = node;
}

/* Recomputes the maxima from `id` up to `root` along the search path; stops
 * updating once a subtree maximum is unchanged. Returns whether it changed. */
static bool refresh_path(mp_fit_tree *t, uint32_t root, uint32_t id) {
    mp_fit_node *n = &t->nodes[root];
    uint32_t old_max = n->subtree_max_granules;
    if (root != id && !refresh_path(t, node_less(t, id, root) ? n->child[0] : n->child[1], id)) return false;
    update(t, root);
    return n->subtree_max_granules != old_max;
}

void mp_fit_tree_resize(mp_fit_tree *t, uint32_t node, uint32_t start, uint32_t size) {
    mp_fit_node *n = &t->nodes[node];
    if (t->by_address) {
        n->start_granule = start;
        n->size_granules = size;
        refresh_path(t, t->root, node);
        return;
    }
    t->root = remove_at(t, t->root, node);
    insert_leaf(t, node, start, size);
}

uint32_t mp_fit_tree_largest(const mp_fit_tree *t) { return max_of(t, t->root); }

/* Pruned by subtree maxima: the walk follows the path to min_start and enters
 * at most one whole subtree known to hold a fit, hence O(log n). */
static uint32_t first_fit_at(const mp_fit_tree *t, uint32_t id, uint32_t need, uint32_t min_start) {
    if (id == MP_FIT_NIL || t->nodes[id].subtree_max_granules < need) return MP_FIT_NIL;
    const mp_fit_node *n = &t->nodes[id];
    if (n->start_granule >= min_start) {
        uint32_t found = first_fit_at(t, n->child[0], need, min_start);
        if (found != MP_FIT_NIL) return found;
        if (n->size_granules >= need) return id;
    }
    return first_fit_at(t, n->child[1], need, min_start);
}

uint32_t mp_fit_tree_first_fit(const mp_fit_tree *t, uint32_t need, uint32_t min_start) {
    return first_fit_at(t, t->root, need, min_start);
}

uint32_t mp_fit_tree_lower_bound(const mp_fit_tree *t, uint32_t size, uint32_t start) {
    uint32_t found = MP_FIT_NIL;
    for (uint32_t id = t->root; id != MP_FIT_NIL;) {
        const mp_fit_node *n = &t->nodes[id];
        if (key_less(t, n->size_granules, n->start_granule, size, start)) {
            id = n->child[1];
        } else {
            found = id;
            id = n->child[0];
        }
    }
    return found;
}

uint32_t mp_fit_tree_last_below(const mp_fit_tree *t, uint32_t size, uint32_t start) {
    uint32_t found = MP_FIT_NIL;
    for (uint32_t id = t->root; id != MP_FIT_NIL;) {
        const mp_fit_node *n = &t->nodes[id];
        if (key_less(t, n->size_granules, n->start_granule, size, start)) {
            found = id;
            id = n->child[1];
        } else {
            id = n->child[0];
        }
    }
    return found;
}

static int visit_at(const mp_fit_tree *t, uint32_t id, int (*fn)(const mp_fit_node *, void *), void *ctx) {
    if (id == MP_FIT_NIL) return 0;
    int r = visit_at(t, t->nodes[id].child[0], fn, ctx);
    if (r == 0) r = fn(&t->nodes[id], ctx);
    if (r == 0) r = visit_at(t, t->nodes[id].child[1], fn, ctx);
    return r;
}

int mp_fit_tree_visit(const mp_fit_tree *t, int (*fn)(const mp_fit_node *node, void *ctx), void *ctx) {
    return visit_at(t, t->root, fn, ctx);
}

typedef struct check_state {
    size_t violations;
    uint32_t visited;
    uint32_t prev; /* previous node in key order */
} check_state;

/* Returns the height it computed for the subtree (0 if empty or cut off). */
static uint32_t check_at(const mp_fit_tree *t, uint32_t id, unsigned depth, check_state *s,
                         uint32_t *max_out) {
    *max_out = 0;
    if (id == MP_FIT_NIL) return 0;
    if (depth > MP_FIT_MAX_DEPTH || id >= t->nodes_touched || s->visited >= t->node_count) {
        s->violations++;
        return 0;
    }
    s->visited++;
    const mp_fit_node *n = &t->nodes[id];
    if (n->size_granules == 0 || n->start_granule >= t->granule_count ||
        n->size_granules > t->granule_count - n->start_granule)
        s->violations++;
    uint32_t max_left, max_right;
    uint32_t hl = check_at(t, n->child[0], depth + 1, s, &max_left);
    if (s->prev != MP_FIT_NIL && !node_less(t, s->prev, id)) s->violations++;
    s->prev = id;
    uint32_t hr = check_at(t, n->child[1], depth + 1, s, &max_right);
    uint32_t h = 1 + (hl > hr ? hl : hr);
    if (n->height != h || hl > hr + 1 || hr > hl + 1) s->violations++;
    uint32_t m = n->size_granules;
    if (max_left > m) m = max_left;
    if (max_right > m) m = max_right;
    if (n->subtree_max_granules != m) s->violations++;
    *max_out = m;
    return h;
}

size_t mp_fit_tree_check(const mp_fit_tree *t) {
    check_state s = {0, 0, MP_FIT_NIL};
    uint32_t max;
    if (t->nodes_touched > t->node_capacity) return 1;
    check_at(t, t->root, 0, &s, &max);
    if (s.visited != t->node_count) s.violations++;
    uint32_t released = 0;
    for (uint32_t id = t->unused_head; id != MP_FIT_NIL; id = t->nodes[id].child[0]) {
        if (id >= t->nodes_touched || released >= t->nodes_touched) {
            s.violations++;
            break;
        }
        released++;
    }
    if (released + t->node_count != t->nodes_touched) s.violations++;
    return s.violations;
}
