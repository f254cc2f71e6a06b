/*
 * fitlist_tree_query.c - the searches of the fit-list free-block index
 * (fitlist_tree.h): lower bounds and cursor moves across the trees, first fit
 * through the bins' tournament and the larger blocks' bounds, the address
 * walk merging the bins for aligned first-fit requests, the largest block,
 * the visitor and the consistency check. Updates live in fitlist_tree.c.
 */
#include "fitlist_tree.h"

/* ----------------------------------------------------------------- queries */

/* The first key of the first non-empty tree >= t. */
static bool first_from(const mp_fit_index *ix, uint32_t t, mp_fit_cursor *c) {
    t = fit_nonempty_tree(ix, t, false);
    if (t == MP_FIT_NIL) return false;
    *c = (mp_fit_cursor){t, ix->trees[t].first_leaf, 0};
    return true;
}

/* The last key of the last non-empty tree <= t. */
static bool last_upto(const mp_fit_index *ix, uint32_t t, mp_fit_cursor *c) {
    t = fit_nonempty_tree(ix, t, true);
    if (t == MP_FIT_NIL) return false;
    uint32_t leaf = ix->trees[t].last_leaf;
    *c = (mp_fit_cursor){t, leaf, ix->nodes[leaf].count - 1u};
    return true;
}

bool mp_fit_index_next(const mp_fit_index *ix, mp_fit_cursor *c) {
    const mp_fit_node *n = &ix->nodes[c->leaf];
    if (c->idx + 1u < n->count) {
        c->idx++;
        return true;
    }
    if (n->next != MP_FIT_NIL) {
        c->leaf = n->next;
        c->idx = 0;
        return true;
    }
    return first_from(ix, c->tree + 1, c);
}

bool mp_fit_index_prev(const mp_fit_index *ix, mp_fit_cursor *c) {
    if (c->idx > 0) {
        c->idx--;
        return true;
    }
    uint32_t prev = ix->nodes[c->leaf].prev;
    if (prev != MP_FIT_NIL) {
        c->leaf = prev;
        c->idx = ix->nodes[prev].count - 1u;
        return true;
    }
    return c->tree > 0 && last_upto(ix, c->tree - 1, c);
}

bool mp_fit_index_lower_bound(const mp_fit_index *ix, uint32_t size, uint32_t start, mp_fit_cursor *c) {
    uint32_t ti = fit_tree_of(size);
    const mp_fit_tree *t = &ix->trees[ti];
    if (t->root != MP_FIT_NIL && ix->nodes[t->first_leaf].count > 0) {
        uint64_t k = fit_key_of(ix, ti, start, size);
        const mp_fit_node *first = &ix->nodes[t->first_leaf];
        if (first->u.keys[0] >= k) { /* a bin searched from its lowest address */
            *c = (mp_fit_cursor){ti, t->first_leaf, 0};
            return true;
        }
        uint32_t id = t->root;
        for (uint32_t d = 0; d + 1 < t->height; d++) id = ix->nodes[id].u.in.child[fit_child_idx(&ix->nodes[id], k)];
        const mp_fit_node *n = &ix->nodes[id];
        unsigned i = fit_lower_idx(n->u.keys, n->count, k);
        if (i < n->count) {
            *c = (mp_fit_cursor){ti, id, i};
            return true;
        }
        if (n->next != MP_FIT_NIL) {
            *c = (mp_fit_cursor){ti, n->next, 0};
            return true;
        }
    }
    return first_from(ix, ti + 1, c);
}

bool mp_fit_index_last(const mp_fit_index *ix, mp_fit_cursor *c) { return last_upto(ix, MP_FIT_TREES - 1, c); }

bool mp_fit_index_last_below(const mp_fit_index *ix, uint32_t size, uint32_t start, mp_fit_cursor *c) {
    if (mp_fit_index_lower_bound(ix, size, start, c)) return mp_fit_index_prev(ix, c);
    return last_upto(ix, MP_FIT_TREES - 1, c);
}

/* Pruned by the per-child bounds: at most one partial subtree per level
 * (the one holding min_key) is entered without a promised fit; a subtree
 * that broke its promise gets its bound lowered. */
static bool first_fit_at(mp_fit_index *ix, uint32_t id, uint32_t need, uint64_t min_key, mp_fit_cursor *c) {
    const mp_fit_node *n = &ix->nodes[id];
    if (n->is_leaf) {
        for (unsigned i = min_key ? fit_lower_idx(n->u.keys, n->count, min_key) : 0; i < n->count; i++) {
            if ((uint32_t)n->u.keys[i] >= need) {
                *c = (mp_fit_cursor){MP_FIT_BINS, id, i};
                return true;
            }
        }
    } else {
        for (unsigned i = min_key ? fit_child_idx(n, min_key) : 0; i < n->count; i++)
            if (n->u.in.max[i] >= need && first_fit_at(ix, n->u.in.child[i], need, min_key, c)) return true;
    }
    if (min_key == 0) mp_fit_index_tighten(ix, id); /* searched whole: its bound lied */
    return false;
}

/* The lowest block of the tree of larger blocks with at least need granules. */
static bool big_first_fit(mp_fit_index *ix, uint32_t need, mp_fit_cursor *c) {
    const mp_fit_tree *t = &ix->trees[MP_FIT_BINS];
    if (t->root == MP_FIT_NIL || ix->nodes[t->root].max_size < need) return false;
    if (need <= MP_FIT_BINS) { /* every larger block fits */
        *c = (mp_fit_cursor){MP_FIT_BINS, t->first_leaf, 0};
        return true;
    }
    return first_fit_at(ix, t->root, need, 0, c);
}

bool mp_fit_index_first_fit(mp_fit_index *ix, uint32_t need, mp_fit_cursor *c) {
    /* The suffix minimum of the tournament over bins need..MP_FIT_BINS. */
    uint64_t best = UINT64_MAX;
    if (need <= MP_FIT_BINS) {
        size_t i = MP_FIT_BINS + need - 1;
        best = ix->lowest[i];
        for (; i > 1; i >>= 1)
            if (!(i & 1) && ix->lowest[i + 1] < best) best = ix->lowest[i + 1];
    }
    mp_fit_cursor big;
    bool have_big = big_first_fit(ix, need, &big);
    if (have_big && (best == UINT64_MAX || (uint32_t)(ix->nodes[big.leaf].u.keys[big.idx] >> 32) < best >> 9)) {
        *c = big;
        return true;
    }
    if (best == UINT64_MAX) return false;
    uint32_t b = (uint32_t)(best & 511u);
    *c = (mp_fit_cursor){b, ix->trees[b].first_leaf, 0};
    return true;
}

/* The walk's heap is ordered by start; entries are one per tree. */
static void walk_push(mp_fit_walk *w, uint32_t start, mp_fit_cursor at) {
    uint32_t i = w->count++;
    while (i > 0 && w->heap[(i - 1) / 2].start > start) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i].start = start;
    w->heap[i].at = at;
}

void mp_fit_index_walk_init(mp_fit_index *ix, uint32_t need, mp_fit_walk *w) {
    w->need = need;
    w->count = 0;
    for (uint32_t b = fit_nonempty_tree(ix, need <= MP_FIT_BINS ? need - 1 : MP_FIT_BINS, false); b < MP_FIT_BINS;
         b = fit_nonempty_tree(ix, b + 1, false)) {
        mp_fit_cursor at = {b, ix->trees[b].first_leaf, 0};
        walk_push(w, (uint32_t)ix->nodes[at.leaf].u.keys[0], at);
    }
    mp_fit_cursor big;
    if (big_first_fit(ix, need, &big)) walk_push(w, (uint32_t)(ix->nodes[big.leaf].u.keys[big.idx] >> 32), big);
}

bool mp_fit_index_walk_next(mp_fit_index *ix, mp_fit_walk *w, mp_fit_cursor *c) {
    if (w->count == 0) return false;
    *c = w->heap[0].at;
    uint32_t start = w->heap[0].start;
    /* Pop, then push the tree's next fitting block after it. */
    uint32_t last = --w->count, i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= w->count) break;
        if (child + 1 < w->count && w->heap[child + 1].start < w->heap[child].start) child++;
        if (w->heap[child].start >= w->heap[last].start) break;
        w->heap[i] = w->heap[child];
        i = child;
    }
    w->heap[i] = w->heap[last];
    mp_fit_cursor next = *c;
    if (c->tree < MP_FIT_BINS) {
        const mp_fit_node *n = &ix->nodes[next.leaf];
        if (next.idx + 1u < n->count) {
            next.idx++;
        } else if (n->next != MP_FIT_NIL) {
            next.leaf = n->next;
            next.idx = 0;
        } else {
            return true;
        }
        walk_push(w, (uint32_t)ix->nodes[next.leaf].u.keys[next.idx], next);
    } else if (w->need > MP_FIT_BINS ? first_fit_at(ix, ix->trees[MP_FIT_BINS].root, w->need, (uint64_t)(start + 1) << 32, &next)
                                     : mp_fit_index_next(ix, &next) && next.tree == MP_FIT_BINS) {
        walk_push(w, (uint32_t)(ix->nodes[next.leaf].u.keys[next.idx] >> 32), next);
    }
    return true;
}

/* The exact largest size below node id; tightens the bounds it passes. */
static uint32_t exact_max(mp_fit_index *ix, uint32_t id) {
    mp_fit_node *n = &ix->nodes[id];
    if (n->is_leaf) return n->max_size = fit_compute_max(n);
    /* The child with the highest bound first: once its exact value is at
     * least every other bound, it is the answer. */
    for (;;) {
        unsigned best = 0;
        for (unsigned i = 1; i < n->count; i++)
            if (n->u.in.max[i] > n->u.in.max[best]) best = i;
        uint32_t m = exact_max(ix, n->u.in.child[best]);
        n = &ix->nodes[id];
        if (m == n->u.in.max[best]) return n->max_size = m;
        n->u.in.max[best] = m;
    }
}

uint32_t mp_fit_index_largest(mp_fit_index *ix) {
    const mp_fit_tree *big = &ix->trees[MP_FIT_BINS];
    if (big->root != MP_FIT_NIL) {
        if (ix->by_address) return exact_max(ix, big->root);
        const mp_fit_node *last = &ix->nodes[big->last_leaf];
        return (uint32_t)(last->u.keys[last->count - 1u] >> 32);
    }
    uint32_t b = fit_nonempty_tree(ix, MP_FIT_BINS - 1, true);
    return b == MP_FIT_NIL ? 0 : b + 1;
}

int mp_fit_index_visit(const mp_fit_index *ix, int (*fn)(uint32_t start, uint32_t size, void *ctx), void *ctx) {
    for (uint32_t t = 0; t < MP_FIT_TREES; t++) {
        for (uint32_t id = ix->trees[t].first_leaf; id != MP_FIT_NIL; id = ix->nodes[id].next) {
            const mp_fit_node *n = &ix->nodes[id];
            for (unsigned i = 0; i < n->count; i++) {
                int r = fn(fit_key_start(ix, t, n->u.keys[i]), fit_key_size(ix, t, n->u.keys[i]), ctx);
                if (r != 0) return r;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------- check */

typedef struct check_state {
    const mp_fit_tree *tree;
    uint32_t tree_id;
    size_t violations;
    size_t keys;
    uint32_t visited;
    uint32_t expect_leaf; /* the leaf the chain says comes next */
    uint32_t prev_leaf;
} check_state;

/* Checks the subtree at id, whose keys must lie in [lo, hi) (has_lo/has_hi:
 * whether each bound exists); returns its exact largest block size. */
static uint32_t check_at(const mp_fit_index *ix, uint32_t id, uint32_t parent, uint32_t depth, bool has_lo,
                         uint64_t lo, bool has_hi, uint64_t hi, check_state *s) {
    const uint32_t height = s->tree->height;
    if (id >= ix->nodes_touched || s->visited >= ix->nodes_touched || depth >= height) {
        s->violations++;
        return 0;
    }
    s->visited++;
    const mp_fit_node *n = &ix->nodes[id];
    if (n->parent != parent) s->violations++;
    uint32_t m = 0;
    if (n->is_leaf) {
        if (depth + 1u != height || n->count == 0 || n->count > MP_FIT_LEAF_KEYS) {
            s->violations++;
            return 0;
        }
        if (id != s->expect_leaf || n->prev != s->prev_leaf) s->violations++;
        s->prev_leaf = id;
        s->expect_leaf = n->next;
        for (unsigned i = 0; i < n->count; i++) {
            uint64_t k = n->u.keys[i];
            uint32_t start = fit_key_start(ix, s->tree_id, k), size = fit_key_size(ix, s->tree_id, k);
            if ((i > 0 && k <= n->u.keys[i - 1]) || (has_lo && k < lo) || (has_hi && k >= hi)) s->violations++;
            if (size == 0 || start >= ix->granule_count || size > ix->granule_count - start) s->violations++;
            if (fit_tree_of(size == 0 ? 1 : size) != s->tree_id) s->violations++;
            if (size > m) m = size;
        }
        s->keys += n->count;
    } else {
        if (depth + 1u >= height || n->count < 2 || n->count > MP_FIT_INNER_CHILDREN) {
            s->violations++;
            return 0;
        }
        for (unsigned i = 0; i < n->count; i++) {
            bool child_has_lo = i > 0 || has_lo, child_has_hi = i + 1u < n->count || has_hi;
            uint64_t child_lo = i > 0 ? n->u.in.seps[i - 1] : lo, child_hi = i + 1u < n->count ? n->u.in.seps[i] : hi;
            if (i > 0 && ((has_lo && child_lo < lo) || (has_hi && child_lo >= hi) ||
                          (i > 1 && child_lo <= n->u.in.seps[i - 2])))
                s->violations++;
            uint32_t cm =
                check_at(ix, n->u.in.child[i], id, depth + 1, child_has_lo, child_lo, child_has_hi, child_hi, s);
            if (fit_addr_tree(ix, s->tree_id) &&
                (n->u.in.max[i] != ix->nodes[n->u.in.child[i]].max_size || n->u.in.max[i] < cm))
                s->violations++;
            if (cm > m) m = cm;
        }
    }
    if (fit_addr_tree(ix, s->tree_id) && n->max_size < m) s->violations++;
    return m;
}

size_t mp_fit_index_check(const mp_fit_index *ix) {
    if (ix->nodes_touched > ix->node_capacity || ix->released_count > ix->nodes_touched) return 1;
    check_state s = {NULL, 0, 0, 0, 0, MP_FIT_NIL, MP_FIT_NIL};
    for (uint32_t ti = 0; ti < MP_FIT_TREES; ti++) {
        const mp_fit_tree *t = &ix->trees[ti];
        bool marked = (ix->nonempty[ti >> 6] >> (ti & 63)) & 1u;
        if (t->root == MP_FIT_NIL) {
            if (t->height != 0 || t->first_leaf != MP_FIT_NIL || t->last_leaf != MP_FIT_NIL || marked)
                s.violations++;
            continue;
        }
        if (!marked && ti < MP_FIT_BINS && t->root < ix->nodes_touched && s.visited < ix->nodes_touched) {
            /* An emptied bin that kept its leaf. */
            const mp_fit_node *n = &ix->nodes[t->root];
            if (t->height != 1 || !n->is_leaf || n->count != 0 || n->parent != MP_FIT_NIL ||
                t->first_leaf != t->root || t->last_leaf != t->root || n->next != MP_FIT_NIL || n->prev != MP_FIT_NIL)
                s.violations++;
            s.visited++;
            continue;
        }
        if (!marked || t->height == 0 || t->height > MP_FIT_MAX_HEIGHT) {
            s.violations++;
            continue;
        }
        s.tree = t;
        s.tree_id = ti;
        s.expect_leaf = t->first_leaf;
        s.prev_leaf = MP_FIT_NIL;
        check_at(ix, t->root, MP_FIT_NIL, 0, false, 0, false, 0, &s);
        if (s.expect_leaf != MP_FIT_NIL || s.prev_leaf != t->last_leaf) s.violations++;
    }
    if (s.keys != ix->key_count) s.violations++;
    /* First fit's tournament: each bin's lowest start, and the minima above. */
    for (uint32_t i = 2 * MP_FIT_BINS - 1; ix->by_address && i >= 1; i--) {
        uint64_t expect;
        if (i >= MP_FIT_BINS) {
            const mp_fit_tree *t = &ix->trees[i - MP_FIT_BINS];
            expect = t->root == MP_FIT_NIL || t->first_leaf >= ix->nodes_touched || ix->nodes[t->first_leaf].count == 0
                         ? UINT64_MAX
                         : ((uint64_t)(uint32_t)ix->nodes[t->first_leaf].u.keys[0] << 9) | (i - MP_FIT_BINS);
        } else {
            expect = ix->lowest[2 * i] < ix->lowest[2 * i + 1] ? ix->lowest[2 * i] : ix->lowest[2 * i + 1];
        }
        if (ix->lowest[i] != expect) s.violations++;
    }
    uint32_t released = 0;
    for (uint32_t id = ix->released_head; id != MP_FIT_NIL; id = ix->nodes[id].next) {
        if (id >= ix->nodes_touched || released >= ix->nodes_touched) {
            s.violations++;
            break;
        }
        released++;
    }
    if (released != ix->released_count || s.visited + released != ix->nodes_touched) s.violations++;
    return s.violations;
}
