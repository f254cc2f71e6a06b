/*
 * fitlist_tree.c - the B+-trees indexing the free blocks of a fit-list
 * allocator: node pool, insert, remove, replace, rebalancing and the bounds
 * and tournament they keep (layout and API: fitlist_tree.h; searches and the
 * check: fitlist_tree_query.c).
 *
 * Algorithm: B+-trees of 64-bit keys. Leaves hold up to 29 sorted keys and
 * are chained in key order; inner nodes hold up to 15 children and the
 * classic separators (every key of child i+1 is >= seps[i], every key of
 * child i is below it). Insert splits full nodes bottom-up (a leaf appended to
 * at the very end of its tree keeps its keys and starts a new leaf, so
 * ascending inserts fill leaves completely); remove borrows from or merges
 * with a sibling when a node falls below a third of its capacity. Replacing a
 * key by one that keeps its place in key order rewrites it in place, moving a
 * separator if needed. Every node links to its parent, so a key found by a
 * search is removed or replaced where it is, without a second descent; the
 * common cases (a leaf with room, a key leaving a leaf that stays full
 * enough) touch one leaf and take no stack frame for paths.
 *
 * Bins: one tree per exact size of 1..MP_FIT_BINS granules and one for larger
 * sizes, in that order; a bitmap of non-empty trees turns "smallest size >=
 * need" into a bit scan, and since a bin holds one size, its lowest address
 * is its first key. An emptied bin keeps its leaf while the pool has spare
 * nodes (a fixed pool takes them back when it runs short), so bins that
 * empty and refill all the time cost no node traffic. First fit adds a
 * tournament tree over the bins' lowest addresses: the lowest block of any
 * bin >= need is a suffix minimum (8 steps), compared with the lowest fitting
 * block of the larger-block tree.
 *
 * Maxima: the address-keyed tree of larger blocks (first fit) keeps in every node an upper
 * bound of the largest block size below it (max_size), mirrored per child in
 * its parent (max[]), so first fit skips whole subtrees without reading them.
 * Insert and growth raise the bounds on their path; shrinking and removal
 * leave them (still upper bounds), so carving a block costs no maxima work. A
 * search that enters a subtree whose bound promised a fit and finds none
 * lowers that bound to the exact value on the way out (amortised: a stale
 * bound is paid for once); mp_fit_index_largest tightens the bounds it needs.
 * Splits, borrows and merges recompute the two nodes they touch.
 *
 * Memory layout: nodes live in a pool outside the region, handed out from
 * [0, nodes_touched) and recycled through a list of released nodes, so the
 * memory touched follows the number of free blocks, not the region size.
 *
 * Invariants verified by mp_fit_index_check (fitlist_tree_query.c): see the
 * header.
 */
#include "fitlist_tree.h"

#include <stdlib.h>
#include <string.h>

#define LEAF_MIN 9u  /* about a third of MP_FIT_LEAF_KEYS */
#define INNER_MIN 5u /* a third of MP_FIT_INNER_CHILDREN */

#if defined(__GNUC__)
#define MP_FIT_NOINLINE __attribute__((noinline)) /* slow paths stay out of the hot ones */
#else
#define MP_FIT_NOINLINE
#endif

_Static_assert(sizeof(mp_fit_node) == 256, "an index node is four cache lines");

typedef struct fit_path {
    uint32_t node[MP_FIT_MAX_HEIGHT]; /* node[0] root .. node[height - 1] leaf */
    uint32_t idx[MP_FIT_MAX_HEIGHT];  /* child taken at each inner level */
} fit_path;

/* The index of child `id` in its parent. */
static unsigned slot_of(const mp_fit_node *parent, uint32_t id) {
    unsigned i = 0;
    while (parent->u.in.child[i] != id) i++;
    return i;
}

static inline void mark_tree(mp_fit_index *ix, uint32_t t, bool nonempty) {
    if (nonempty)
        ix->nonempty[t >> 6] |= (uint64_t)1 << (t & 63);
    else
        ix->nonempty[t >> 6] &= ~((uint64_t)1 << (t & 63));
}

/* First fit: refreshes bin b's leaf of the tournament and the minima above
 * it, up to the first that does not change. */
static inline void bin_changed(mp_fit_index *ix, uint32_t b) {
    if (!ix->by_address || b >= MP_FIT_BINS) return;
    const mp_fit_tree *t = &ix->trees[b];
    const mp_fit_node *first = t->root == MP_FIT_NIL ? NULL : &ix->nodes[t->first_leaf];
    uint64_t v = first == NULL || first->count == 0 ? UINT64_MAX : ((uint64_t)(uint32_t)first->u.keys[0] << 9) | b;
    uint64_t *lowest = ix->lowest;
    size_t i = MP_FIT_BINS + b;
    if (lowest[i] == v) return;
    lowest[i] = v;
    for (; i > 1; i >>= 1) {
        uint64_t sibling = lowest[i ^ 1], m = v < sibling ? v : sibling;
        if (lowest[i >> 1] == m) return;
        lowest[i >> 1] = v = m;
    }
}

/* ---------------------------------------------------------------- node pool */

void mp_fit_index_init(mp_fit_index *ix, mp_fit_node *nodes, uint32_t node_capacity, uint32_t granule_count,
                       bool by_address, bool growable) {
    ix->nodes = nodes;
    ix->node_capacity = node_capacity;
    ix->granule_count = granule_count;
    ix->by_address = by_address;
    ix->growable = growable;
    mp_fit_index_clear(ix);
}

void mp_fit_index_clear(mp_fit_index *ix) {
    ix->nodes_touched = 0;
    ix->released_head = MP_FIT_NIL;
    ix->released_count = 0;
    ix->key_count = 0;
    memset(ix->nonempty, 0, sizeof ix->nonempty);
    for (uint32_t t = 0; t < MP_FIT_TREES; t++)
        ix->trees[t] = (mp_fit_tree){MP_FIT_NIL, 0, MP_FIT_NIL, MP_FIT_NIL};
    for (uint32_t i = 0; i < 2 * MP_FIT_BINS; i++) ix->lowest[i] = UINT64_MAX;
}

void mp_fit_index_release(mp_fit_index *ix) {
    if (ix->growable) free(ix->nodes);
    ix->nodes = NULL;
    ix->node_capacity = 0;
    mp_fit_index_clear(ix);
}

static void give_node(mp_fit_index *ix, uint32_t id) {
    ix->nodes[id].next = ix->released_head;
    ix->released_head = id;
    ix->released_count++;
}

/* Makes sure `k` nodes can be taken; a growable pool doubles (at most to
 * MP_FIT_NIL - 1 nodes). May move the pool: take node pointers afterwards. */
static bool reserve(mp_fit_index *ix, uint32_t k) {
    uint32_t available = ix->released_count + (ix->node_capacity - ix->nodes_touched);
    if (available >= k) return true;
    if (!ix->growable) {
        /* Give back the leaves that emptied bins kept, then try again. */
        for (uint32_t b = 0; b < MP_FIT_BINS; b++) {
            mp_fit_tree *t = &ix->trees[b];
            if (t->root == MP_FIT_NIL || ix->nodes[t->root].count != 0) continue;
            give_node(ix, t->root);
            *t = (mp_fit_tree){MP_FIT_NIL, 0, MP_FIT_NIL, MP_FIT_NIL};
        }
        return ix->released_count + (ix->node_capacity - ix->nodes_touched) >= k;
    }
    uint64_t want = (uint64_t)ix->node_capacity * 2, least = (uint64_t)ix->nodes_touched + k;
    if (want < 8) want = 8;
    if (want < least) want = least;
    if (want > MP_FIT_NIL - 1u) want = MP_FIT_NIL - 1u;
    if (want < least) return false;
    mp_fit_node *grown = realloc(ix->nodes, (size_t)want * sizeof(mp_fit_node));
    if (grown == NULL) return false;
    ix->nodes = grown;
    ix->node_capacity = (uint32_t)want;
    return true;
}

/* Takes a reserved node. */
static uint32_t take_node(mp_fit_index *ix) {
    uint32_t id = ix->released_head;
    if (id != MP_FIT_NIL) {
        ix->released_head = ix->nodes[id].next;
        ix->released_count--;
    } else {
        id = ix->nodes_touched++;
    }
    ix->nodes[id].max_size = 0; /* kept 0 by size-keyed trees */
    ix->nodes[id].parent = MP_FIT_NIL;
    return id;
}


/* Fills the path from the root of t to the leaf whose key range holds k. */
static uint32_t descend(const mp_fit_index *ix, const mp_fit_tree *t, uint64_t k, fit_path *p) {
    uint32_t id = t->root;
    for (uint32_t d = 0; d + 1 < t->height; d++) {
        const mp_fit_node *n = &ix->nodes[id];
        unsigned i = fit_child_idx(n, k);
        p->node[d] = id;
        p->idx[d] = i;
        id = n->u.in.child[i];
    }
    p->node[t->height - 1] = id;
    return id;
}

/* ------------------------------------------------------------------ insert */

/* Hangs `right` (split off `left`, separated by `sep`) into the parent at
 * level d of the path, splitting it in turn when full; d < 0 grows a root. */
static void insert_into_parent(mp_fit_index *ix, mp_fit_tree *t, const fit_path *p, int d, uint32_t left,
                               uint64_t sep, uint32_t right) {
    mp_fit_node *nodes = ix->nodes;
    if (d < 0) {
        uint32_t r = take_node(ix);
        mp_fit_node *n = &nodes[r];
        n->is_leaf = 0;
        n->count = 2;
        n->u.in.child[0] = left;
        n->u.in.child[1] = right;
        n->u.in.seps[0] = sep;
        n->u.in.max[0] = nodes[left].max_size;
        n->u.in.max[1] = nodes[right].max_size;
        n->max_size = n->u.in.max[0] > n->u.in.max[1] ? n->u.in.max[0] : n->u.in.max[1];
        nodes[left].parent = nodes[right].parent = r;
        t->root = r;
        t->height++;
        return;
    }
    uint32_t pid = p->node[d];
    mp_fit_node *pn = &nodes[pid];
    unsigned i = p->idx[d], c = pn->count;
    if (c < MP_FIT_INNER_CHILDREN) {
        memmove(&pn->u.in.seps[i + 1], &pn->u.in.seps[i], (c - 1 - i) * sizeof(uint64_t));
        memmove(&pn->u.in.child[i + 2], &pn->u.in.child[i + 1], (c - 1 - i) * sizeof(uint32_t));
        memmove(&pn->u.in.max[i + 2], &pn->u.in.max[i + 1], (c - 1 - i) * sizeof(uint32_t));
        pn->u.in.seps[i] = sep;
        pn->u.in.child[i + 1] = right;
        pn->u.in.max[i] = nodes[left].max_size;
        pn->u.in.max[i + 1] = nodes[right].max_size;
        pn->count = (uint16_t)(c + 1);
        nodes[right].parent = pid;
        return;
    }
    /* Full: lay the 16 children out in order, keep 8, move 8 to a new node
     * and pass the separator between them up. */
    uint64_t seps[MP_FIT_INNER_CHILDREN];
    uint32_t child[MP_FIT_INNER_CHILDREN + 1], max[MP_FIT_INNER_CHILDREN + 1];
    for (unsigned j = 0, k = 0; j <= c; j++) {
        if (j == i + 1) {
            child[j] = right;
            max[j] = nodes[right].max_size;
            continue;
        }
        child[j] = pn->u.in.child[k];
        max[j] = j == i ? nodes[left].max_size : pn->u.in.max[k];
        k++;
    }
    for (unsigned j = 0, k = 0; j < c; j++) seps[j] = j == i ? sep : pn->u.in.seps[k++];
    const unsigned keep = (MP_FIT_INNER_CHILDREN + 1) / 2, moved = MP_FIT_INNER_CHILDREN + 1 - keep;
    uint32_t rid = take_node(ix);
    mp_fit_node *rn = &nodes[rid];
    rn->is_leaf = 0;
    rn->count = (uint16_t)moved;
    memcpy(pn->u.in.child, child, keep * sizeof(uint32_t));
    memcpy(pn->u.in.max, max, keep * sizeof(uint32_t));
    memcpy(pn->u.in.seps, seps, (keep - 1) * sizeof(uint64_t));
    pn->count = (uint16_t)keep;
    memcpy(rn->u.in.child, child + keep, moved * sizeof(uint32_t));
    memcpy(rn->u.in.max, max + keep, moved * sizeof(uint32_t));
    memcpy(rn->u.in.seps, seps + keep, (moved - 1) * sizeof(uint64_t));
    for (unsigned j = 0; j < keep; j++) nodes[child[j]].parent = pid;
    for (unsigned j = 0; j < moved; j++) nodes[child[keep + j]].parent = rid;
    if (t == &ix->trees[MP_FIT_BINS] && ix->by_address) {
        pn->max_size = fit_compute_max(pn);
        rn->max_size = fit_compute_max(rn);
    }
    insert_into_parent(ix, t, p, d - 1, pid, seps[keep - 1], rid);
}

/* Opens a gap at pos in a leaf with room and puts k there. */
static inline void leaf_put(mp_fit_node *n, unsigned pos, uint64_t k) {
    unsigned moved = n->count - pos;
    if (moved > 6)
        memmove(&n->u.keys[pos + 1], &n->u.keys[pos], moved * sizeof(uint64_t));
    else
        for (unsigned j = n->count; j > pos; j--) n->u.keys[j] = n->u.keys[j - 1];
    n->u.keys[pos] = k;
    n->count++;
}

static MP_FIT_NOINLINE bool insert_slow(mp_fit_index *ix, uint32_t ti, uint32_t start, uint32_t size);

bool mp_fit_index_insert(mp_fit_index *ix, uint32_t start, uint32_t size) {
    uint32_t ti = fit_tree_of(size);
    const mp_fit_tree *t = &ix->trees[ti];
    if (t->root == MP_FIT_NIL) return insert_slow(ix, ti, start, size);
    /* Descend (raising first fit's bounds); a leaf with room takes the key,
     * a full one needs the slow path and its splits. */
    uint64_t k = fit_key_of(ix, ti, start, size);
    bool addr = fit_addr_tree(ix, ti);
    mp_fit_node *nodes = ix->nodes, *n = &nodes[t->root];
    for (uint32_t d = 1; d < t->height; d++) {
        unsigned i = fit_child_idx(n, k);
        if (addr) {
            if (n->u.in.max[i] < size) n->u.in.max[i] = size;
            if (n->max_size < size) n->max_size = size;
        }
        n = &nodes[n->u.in.child[i]];
    }
    /* The leaf's bound too, even if the slow path then finds no node: a
     * looser bound is still a bound, a parent's copy must match it. */
    if (addr && n->max_size < size) n->max_size = size;
    if (n->count == MP_FIT_LEAF_KEYS) return insert_slow(ix, ti, start, size);
    if (n->count == 0) mark_tree(ix, ti, true); /* a bin's kept empty leaf */
    unsigned pos = fit_lower_idx(n->u.keys, n->count, k);
    leaf_put(n, pos, k);
    ix->key_count++;
    if (pos == 0) bin_changed(ix, ti);
    return true;
}

/* Insert into an empty tree or through splits. */
static bool insert_slow(mp_fit_index *ix, uint32_t ti, uint32_t start, uint32_t size) {
    uint64_t k = fit_key_of(ix, ti, start, size);
    bool addr = fit_addr_tree(ix, ti);
    mp_fit_tree *t = &ix->trees[ti];
    if (t->root == MP_FIT_NIL) {
        if (!reserve(ix, 1)) return false;
        uint32_t id = take_node(ix);
        mp_fit_node *n = &ix->nodes[id];
        n->is_leaf = 1;
        n->count = 1;
        n->next = n->prev = MP_FIT_NIL;
        n->u.keys[0] = k;
        n->max_size = addr ? size : 0;
        t->root = t->first_leaf = t->last_leaf = id;
        t->height = 1;
        ix->key_count++;
        mark_tree(ix, ti, true);
        bin_changed(ix, ti);
        return true;
    }
    fit_path p;
    uint32_t leaf = descend(ix, t, k, &p);
    /* One node per full node on the path, plus a new root if all are full. */
    uint32_t splits = 0;
    for (int d = (int)t->height - 1; d >= 0; d--) {
        const mp_fit_node *n = &ix->nodes[p.node[d]];
        if (n->count < (n->is_leaf ? MP_FIT_LEAF_KEYS : MP_FIT_INNER_CHILDREN)) break;
        splits += d == 0 ? 2 : 1;
    }
    if (!reserve(ix, splits)) return false;
    mp_fit_node *nodes = ix->nodes;
    if (addr) {
        for (uint32_t d = 0; d + 1 < t->height; d++) {
            mp_fit_node *n = &nodes[p.node[d]];
            if (n->u.in.max[p.idx[d]] < size) n->u.in.max[p.idx[d]] = size;
            if (n->max_size < size) n->max_size = size;
        }
        if (nodes[leaf].max_size < size) nodes[leaf].max_size = size;
    }
    ix->key_count++;
    mp_fit_node *n = &nodes[leaf];
    unsigned pos = fit_lower_idx(n->u.keys, n->count, k);
    if (n->count < MP_FIT_LEAF_KEYS) {
        leaf_put(n, pos, k);
        if (pos == 0) bin_changed(ix, ti);
        return true;
    }
    uint32_t rid = take_node(ix);
    mp_fit_node *r = &nodes[rid];
    r->is_leaf = 1;
    if (pos == MP_FIT_LEAF_KEYS && n->next == MP_FIT_NIL) {
        r->count = 1; /* appending at the end: keep the full leaf full */
        r->u.keys[0] = k;
    } else {
        const unsigned mid = (MP_FIT_LEAF_KEYS + 1) / 2;
        r->count = (uint16_t)(MP_FIT_LEAF_KEYS - mid);
        memcpy(r->u.keys, n->u.keys + mid, r->count * sizeof(uint64_t));
        n->count = (uint16_t)mid;
        mp_fit_node *into = pos <= mid ? n : r;
        unsigned at = pos <= mid ? pos : pos - mid;
        memmove(&into->u.keys[at + 1], &into->u.keys[at], (into->count - at) * sizeof(uint64_t));
        into->u.keys[at] = k;
        into->count++;
    }
    r->prev = leaf;
    r->next = n->next;
    if (n->next != MP_FIT_NIL)
        nodes[n->next].prev = rid;
    else
        t->last_leaf = rid;
    n->next = rid;
    if (addr) {
        n->max_size = fit_compute_max(n);
        r->max_size = fit_compute_max(r);
    }
    insert_into_parent(ix, t, &p, (int)t->height - 2, leaf, r->u.keys[0], rid);
    if (pos == 0) bin_changed(ix, ti);
    return true;
}

/* ------------------------------------------------------------------ remove */

/* Recomputes the bound of node id from what lies below it, then its
 * ancestors', stopping where nothing changes. */
void mp_fit_index_tighten(mp_fit_index *ix, uint32_t id) {
    for (;;) {
        mp_fit_node *n = &ix->nodes[id];
        uint32_t m = fit_compute_max(n);
        if (m == n->max_size) return;
        n->max_size = m;
        if (n->parent == MP_FIT_NIL) return;
        mp_fit_node *p = &ix->nodes[n->parent];
        p->u.in.max[slot_of(p, id)] = m;
        id = n->parent;
    }
}

/* Raises max_size to at least `size` from node id up. */
static void raise_maxima(mp_fit_index *ix, uint32_t id, uint32_t size) {
    mp_fit_node *n = &ix->nodes[id];
    if (n->max_size < size) n->max_size = size;
    while (n->parent != MP_FIT_NIL) {
        mp_fit_node *p = &ix->nodes[n->parent];
        unsigned at = slot_of(p, id);
        if (p->u.in.max[at] >= size) return;
        p->u.in.max[at] = size;
        if (p->max_size < size) p->max_size = size;
        id = n->parent;
        n = p;
    }
}

/* Moves one key or child from a sibling with spare ones into the underfull
 * child (left child li of parent pn, or its right neighbour). */
static void borrow(mp_fit_index *ix, bool addr, mp_fit_node *pn, unsigned li, bool from_left) {
    mp_fit_node *l = &ix->nodes[pn->u.in.child[li]], *r = &ix->nodes[pn->u.in.child[li + 1]];
    if (l->is_leaf) {
        if (from_left) {
            memmove(&r->u.keys[1], &r->u.keys[0], r->count * sizeof(uint64_t));
            r->u.keys[0] = l->u.keys[--l->count];
            r->count++;
        } else {
            l->u.keys[l->count++] = r->u.keys[0];
            memmove(&r->u.keys[0], &r->u.keys[1], (--r->count) * sizeof(uint64_t));
        }
        pn->u.in.seps[li] = r->u.keys[0];
    } else if (from_left) {
        unsigned lc = l->count;
        memmove(&r->u.in.child[1], &r->u.in.child[0], r->count * sizeof(uint32_t));
        memmove(&r->u.in.max[1], &r->u.in.max[0], r->count * sizeof(uint32_t));
        memmove(&r->u.in.seps[1], &r->u.in.seps[0], (r->count - 1u) * sizeof(uint64_t));
        r->u.in.child[0] = l->u.in.child[lc - 1];
        r->u.in.max[0] = l->u.in.max[lc - 1];
        r->u.in.seps[0] = pn->u.in.seps[li];
        pn->u.in.seps[li] = l->u.in.seps[lc - 2];
        ix->nodes[r->u.in.child[0]].parent = pn->u.in.child[li + 1];
        l->count--;
        r->count++;
    } else {
        unsigned lc = l->count;
        l->u.in.child[lc] = r->u.in.child[0];
        l->u.in.max[lc] = r->u.in.max[0];
        l->u.in.seps[lc - 1] = pn->u.in.seps[li];
        pn->u.in.seps[li] = r->u.in.seps[0];
        ix->nodes[l->u.in.child[lc]].parent = pn->u.in.child[li];
        memmove(&r->u.in.child[0], &r->u.in.child[1], (r->count - 1u) * sizeof(uint32_t));
        memmove(&r->u.in.max[0], &r->u.in.max[1], (r->count - 1u) * sizeof(uint32_t));
        memmove(&r->u.in.seps[0], &r->u.in.seps[1], (r->count - 2u) * sizeof(uint64_t));
        l->count++;
        r->count--;
    }
    if (addr) {
        l->max_size = fit_compute_max(l);
        r->max_size = fit_compute_max(r);
        pn->u.in.max[li] = l->max_size;
        pn->u.in.max[li + 1] = r->max_size;
    }
}

/* Merges child li + 1 of parent pn into child li and drops it. */
static void merge(mp_fit_index *ix, mp_fit_tree *t, mp_fit_node *pn, unsigned li) {
    uint32_t lid = pn->u.in.child[li], rid = pn->u.in.child[li + 1];
    mp_fit_node *l = &ix->nodes[lid], *r = &ix->nodes[rid];
    if (l->is_leaf) {
        memcpy(&l->u.keys[l->count], r->u.keys, r->count * sizeof(uint64_t));
        l->next = r->next;
        if (r->next != MP_FIT_NIL)
            ix->nodes[r->next].prev = lid;
        else
            t->last_leaf = lid;
    } else {
        l->u.in.seps[l->count - 1u] = pn->u.in.seps[li];
        memcpy(&l->u.in.seps[l->count], r->u.in.seps, (r->count - 1u) * sizeof(uint64_t));
        memcpy(&l->u.in.child[l->count], r->u.in.child, r->count * sizeof(uint32_t));
        memcpy(&l->u.in.max[l->count], r->u.in.max, r->count * sizeof(uint32_t));
        for (unsigned j = 0; j < r->count; j++) ix->nodes[r->u.in.child[j]].parent = lid;
    }
    l->count = (uint16_t)(l->count + r->count);
    if (l->max_size < r->max_size) l->max_size = r->max_size;
    unsigned c = pn->count;
    memmove(&pn->u.in.seps[li], &pn->u.in.seps[li + 1], (c - 2u - li) * sizeof(uint64_t));
    memmove(&pn->u.in.child[li + 1], &pn->u.in.child[li + 2], (c - 2u - li) * sizeof(uint32_t));
    memmove(&pn->u.in.max[li + 1], &pn->u.in.max[li + 2], (c - 2u - li) * sizeof(uint32_t));
    pn->u.in.max[li] = l->max_size;
    pn->count--;
    give_node(ix, rid);
}

/* Refills underfull nodes bottom-up from a sibling or merges them, from the
 * leaf of c (which just lost a key), then shrinks the root. */
static MP_FIT_NOINLINE void rebalance(mp_fit_index *ix, mp_fit_cursor c) {
    mp_fit_tree *t = &ix->trees[c.tree];
    for (uint32_t id = c.leaf; id != t->root;) {
        mp_fit_node *n = &ix->nodes[id];
        unsigned min = n->is_leaf ? LEAF_MIN : INNER_MIN;
        if (n->count >= min) break;
        mp_fit_node *pn = &ix->nodes[n->parent];
        unsigned at = slot_of(pn, id), li = at > 0 ? at - 1 : 0;
        if (ix->nodes[pn->u.in.child[at > 0 ? at - 1 : at + 1]].count > min) {
            borrow(ix, fit_addr_tree(ix, c.tree), pn, li, at > 0);
            break;
        }
        id = n->parent;
        merge(ix, t, pn, li);
    }
    mp_fit_node *root = &ix->nodes[t->root];
    if (!root->is_leaf && root->count == 1) {
        uint32_t old = t->root;
        t->root = root->u.in.child[0];
        ix->nodes[t->root].parent = MP_FIT_NIL;
        t->height--;
        give_node(ix, old);
    } else if (root->is_leaf && root->count == 0) {
        give_node(ix, t->root);
        *t = (mp_fit_tree){MP_FIT_NIL, 0, MP_FIT_NIL, MP_FIT_NIL};
        mark_tree(ix, c.tree, false);
    }
    bin_changed(ix, c.tree);
}

void mp_fit_index_remove_at(mp_fit_index *ix, mp_fit_cursor c) {
    mp_fit_node *n = &ix->nodes[c.leaf];
    unsigned moved = n->count - 1u - c.idx;
    if (moved > 6)
        memmove(&n->u.keys[c.idx], &n->u.keys[c.idx + 1], moved * sizeof(uint64_t));
    else
        for (unsigned j = c.idx + 1u; j < n->count; j++) n->u.keys[j - 1] = n->u.keys[j];
    n->count--;
    ix->key_count--;
    if (n->count >= LEAF_MIN || (c.leaf == ix->trees[c.tree].root && n->count > 0)) {
        if (c.idx == 0) bin_changed(ix, c.tree);
        return;
    }
    /* An emptied bin keeps its leaf while nodes are plentiful: bins empty
     * and refill all the time, and a kept leaf makes both cheap. */
    if (n->count == 0 && c.tree < MP_FIT_BINS && c.leaf == ix->trees[c.tree].root &&
        (ix->growable || ix->released_count + (ix->node_capacity - ix->nodes_touched) >= 16)) {
        mark_tree(ix, c.tree, false);
        bin_changed(ix, c.tree);
        return;
    }
    rebalance(ix, c);
}

/* Finds the key (start, size). */
static bool find(const mp_fit_index *ix, uint32_t start, uint32_t size, mp_fit_cursor *c) {
    uint32_t ti = fit_tree_of(size);
    const mp_fit_tree *t = &ix->trees[ti];
    if (t->root == MP_FIT_NIL) return false;
    uint64_t k = fit_key_of(ix, ti, start, size);
    uint32_t id = t->root;
    for (uint32_t d = 0; d + 1 < t->height; d++) id = ix->nodes[id].u.in.child[fit_child_idx(&ix->nodes[id], k)];
    const mp_fit_node *n = &ix->nodes[id];
    unsigned i = fit_lower_idx(n->u.keys, n->count, k);
    if (i == n->count || n->u.keys[i] != k) return false;
    *c = (mp_fit_cursor){ti, id, i};
    return true;
}

bool mp_fit_index_remove(mp_fit_index *ix, uint32_t start, uint32_t size) {
    mp_fit_cursor c;
    if (!find(ix, start, size, &c)) return false;
    mp_fit_index_remove_at(ix, c);
    return true;
}

/* ----------------------------------------------------------------- replace */

unsigned mp_fit_index_replace_at(mp_fit_index *ix, mp_fit_cursor c, uint32_t new_start, uint32_t new_size) {
    mp_fit_node *nodes = ix->nodes, *n = &nodes[c.leaf];
    unsigned i = c.idx;
    uint64_t k = n->u.keys[i], nk = fit_key_of(ix, c.tree, new_start, new_size);
    uint32_t size = fit_key_size(ix, c.tree, k);
    /* In place when the new key stays in its tree, between its neighbours. */
    bool in_place;
    if (fit_tree_of(new_size) != c.tree)
        in_place = false;
    else if (nk < k)
        in_place = i > 0 ? n->u.keys[i - 1] < nk
                         : n->prev == MP_FIT_NIL || nodes[n->prev].u.keys[nodes[n->prev].count - 1u] < nk;
    else
        in_place = i + 1u < n->count ? nk < n->u.keys[i + 1] : n->next == MP_FIT_NIL || nk < nodes[n->next].u.keys[0];
    if (!in_place) {
        mp_fit_index_remove_at(ix, c);
        return MP_FIT_OLD_FOUND | (mp_fit_index_insert(ix, new_start, new_size) ? MP_FIT_NEW_ADDED : 0);
    }
    n->u.keys[i] = nk;
    /* The separator bounding this leaf on the moving side must still admit nk:
     * it is in the lowest ancestor where the path does not hug that side. */
    bool low_edge = i == 0 && nk < k, high_edge = i + 1u == n->count && nk > k;
    for (uint32_t id = c.leaf; (low_edge || high_edge) && nodes[id].parent != MP_FIT_NIL; id = nodes[id].parent) {
        mp_fit_node *p = &nodes[nodes[id].parent];
        unsigned at = slot_of(p, id);
        if (low_edge && at > 0) {
            if (p->u.in.seps[at - 1] > nk) p->u.in.seps[at - 1] = nk;
            break;
        }
        if (high_edge && at + 1u < p->count) {
            if (p->u.in.seps[at] <= nk) p->u.in.seps[at] = nodes[n->next].u.keys[0]; /* above nk, not below it */
            break;
        }
    }
    if (fit_addr_tree(ix, c.tree) && new_size > size) raise_maxima(ix, c.leaf, new_size);
    if (i == 0 && c.leaf == ix->trees[c.tree].first_leaf) bin_changed(ix, c.tree);
    return MP_FIT_OLD_FOUND | MP_FIT_NEW_ADDED;
}

unsigned mp_fit_index_replace(mp_fit_index *ix, uint32_t start, uint32_t size, uint32_t new_start,
                              uint32_t new_size) {
    mp_fit_cursor c;
    if (!find(ix, start, size, &c)) return mp_fit_index_insert(ix, new_start, new_size) ? MP_FIT_NEW_ADDED : 0;
    return mp_fit_index_replace_at(ix, c, new_start, new_size);
}

