/*
 * test_fitlist_index.c - differential property test of the fit-list
 * free-block index (fitlist_tree.h) against a sorted array.
 *
 * Seeded random inserts, removes (by key and at a cursor), replaces (by key
 * and at a cursor, in place or not) and queries run on both key orders (size
 * then address for best/worst fit, bins plus an address-keyed tree for first
 * fit), with a growable node pool and with fixed pools small enough that
 * inserts fail. Blocks live in disjoint slots of 1024 granules, so sizes span
 * the bins (1..256) and the tree of larger blocks, and the trees grow several
 * levels high then shrink again (splits, borrows, merges of leaves and inner
 * nodes). After every operation the index check is 0 and the key count
 * matches; every query (lower bound, last below, cursor moves, first fit,
 * address walk, largest) is compared with the model.
 * MP_PROPERTY_STEPS overrides the operations per run.
 */
#include "mp_test.h"

#include "fitlist_tree.h"

#define SLOT 1024u
#define SLOTS 8192u /* granule_count = SLOT * SLOTS */
#define MAX_KEYS 4096

typedef struct blk {
    uint32_t start, size;
} blk;

typedef struct model {
    mp_fit_index ix;
    bool by_address;
    blk keys[MAX_KEYS];
    size_t n;
    uint64_t seed;
} model;

/* The index's cursor order: (size, start) for size-keyed indexes. */
static int by_size(const void *a, const void *b) {
    const blk *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_start(const void *a, const void *b) {
    const blk *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void resort(model *m) { qsort(m->keys, m->n, sizeof(blk), m->by_address ? by_start : by_size); }

static size_t find_slot(const model *m, uint32_t slot) {
    for (size_t i = 0; i < m->n; i++)
        if (m->keys[i].start / SLOT == slot) return i;
    return SIZE_MAX;
}

/* A block inside `slot`: mostly bin sizes, sometimes larger ones. */
static blk random_block(model *m, uint32_t slot) {
    uint32_t size = 1 + (uint32_t)(mp_test_rand(&m->seed) % (mp_test_rand(&m->seed) % 3 ? 300 : SLOT - 1));
    uint32_t start = slot * SLOT + (uint32_t)(mp_test_rand(&m->seed) % (SLOT - size + 1));
    return (blk){start, size};
}

static void drop(model *m, size_t i) {
    m->keys[i] = m->keys[--m->n];
    resort(m);
}

static size_t position(const model *m, uint32_t start, uint32_t size) {
    for (size_t i = 0; i < m->n; i++)
        if (m->keys[i].start == start && m->keys[i].size == size) return i;
    return SIZE_MAX;
}

static int seen_all;
static int visit_one(uint32_t start, uint32_t size, void *ctx) {
    if (position(ctx, start, size) == SIZE_MAX) seen_all = 0;
    return 0;
}

/* Replaces the block at model index i through cursor c (or by key). */
static void replace(model *m, size_t i, const mp_fit_cursor *c) {
    blk old = m->keys[i], nb = random_block(m, old.start / SLOT);
    unsigned r = c ? mp_fit_index_replace_at(&m->ix, *c, nb.start, nb.size)
                   : mp_fit_index_replace(&m->ix, old.start, old.size, nb.start, nb.size);
    CHECK(r & MP_FIT_OLD_FOUND);
    if (r & MP_FIT_NEW_ADDED) {
        m->keys[i] = nb;
        resort(m);
    } else {
        drop(m, i);
    }
}

/* Removes, replaces or keeps the block a query found at cursor c. */
static void change_found(model *m, size_t i, const mp_fit_cursor *c) {
    uint64_t what = mp_test_rand(&m->seed) % 3;
    if (what == 0) {
        mp_fit_index_remove_at(&m->ix, *c);
        drop(m, i);
    } else if (what == 1) {
        replace(m, i, c);
    }
}

static void query_size_keyed(model *m) {
    uint32_t need = 1 + (uint32_t)(mp_test_rand(&m->seed) % SLOT);
    uint32_t start = (uint32_t)(mp_test_rand(&m->seed) % (SLOT * SLOTS));
    size_t expect = m->n;
    for (size_t i = 0; i < m->n; i++) {
        if (m->keys[i].size > need || (m->keys[i].size == need && m->keys[i].start >= start)) {
            expect = i;
            break;
        }
    }
    mp_fit_cursor c;
    uint32_t s, z;
    bool found = mp_fit_index_lower_bound(&m->ix, need, start, &c);
    CHECK(found == (expect < m->n));
    if (found) {
        mp_fit_index_at(&m->ix, c, &s, &z);
        CHECK(s == m->keys[expect].start && z == m->keys[expect].size);
        mp_fit_cursor walk = c;
        for (size_t j = expect + 1; j < m->n && j < expect + 40; j++) {
            CHECK(mp_fit_index_next(&m->ix, &walk));
            mp_fit_index_at(&m->ix, walk, &s, &z);
            CHECK(s == m->keys[j].start && z == m->keys[j].size);
        }
    }
    found = mp_fit_index_last_below(&m->ix, need, start, &c);
    CHECK(found == (expect > 0));
    if (found) {
        mp_fit_index_at(&m->ix, c, &s, &z);
        CHECK(s == m->keys[expect - 1].start && z == m->keys[expect - 1].size);
    }
    CHECK(mp_fit_index_largest(&m->ix) == (m->n ? m->keys[m->n - 1].size : 0));
    if (expect < m->n) { /* and change the block found, where it is */
        mp_fit_index_lower_bound(&m->ix, need, start, &c);
        change_found(m, expect, &c);
    }
}

static void query_address_keyed(model *m) {
    uint32_t need = 1 + (uint32_t)(mp_test_rand(&m->seed) % SLOT), largest = 0;
    size_t expect = m->n;
    for (size_t i = 0; i < m->n; i++) {
        if (m->keys[i].size >= need && expect == m->n) expect = i;
        if (m->keys[i].size > largest) largest = m->keys[i].size;
    }
    CHECK(mp_fit_index_largest(&m->ix) == largest);
    mp_fit_cursor c;
    uint32_t s, z;
    bool found = mp_fit_index_first_fit(&m->ix, need, &c);
    CHECK(found == (expect < m->n));
    if (!found) return;
    mp_fit_index_at(&m->ix, c, &s, &z);
    CHECK(s == m->keys[expect].start && z == m->keys[expect].size);
    if (mp_test_rand(&m->seed) % 4 == 0) {
        static mp_fit_walk walk;
        mp_fit_index_walk_init(&m->ix, need, &walk);
        size_t j = 0, steps = 0;
        mp_fit_cursor w;
        while (steps < 50 && mp_fit_index_walk_next(&m->ix, &walk, &w)) {
            while (j < m->n && m->keys[j].size < need) j++;
            mp_fit_index_at(&m->ix, w, &s, &z);
            CHECK(j < m->n && s == m->keys[j].start && z == m->keys[j].size);
            j++;
            steps++;
        }
        if (steps < 50) {
            while (j < m->n && m->keys[j].size < need) j++;
            CHECK(j == m->n); /* the walk saw every fitting block */
        }
    }
    change_found(m, expect, &c);
}

static void step(model *m, size_t target) {
    uint64_t r = mp_test_rand(&m->seed) % 100;
    bool growing = m->n < target;
    if (r < (growing ? 70u : 5u) || m->n == 0) {
        uint32_t slot = (uint32_t)(mp_test_rand(&m->seed) % SLOTS);
        if (find_slot(m, slot) != SIZE_MAX || m->n == MAX_KEYS) return;
        blk b = random_block(m, slot);
        if (mp_fit_index_insert(&m->ix, b.start, b.size)) {
            m->keys[m->n++] = b;
            resort(m);
        }
    } else if (r < (growing ? 75u : 80u)) {
        size_t i = (size_t)(mp_test_rand(&m->seed) % m->n);
        CHECK(mp_fit_index_remove(&m->ix, m->keys[i].start, m->keys[i].size));
        CHECK(!mp_fit_index_remove(&m->ix, m->keys[i].start, m->keys[i].size + 1));
        drop(m, i);
    } else if (r < (growing ? 85u : 90u)) {
        replace(m, (size_t)(mp_test_rand(&m->seed) % m->n), NULL);
    } else if (m->by_address) {
        query_address_keyed(m);
    } else {
        query_size_keyed(m);
    }
}

static size_t steps(void) {
    const char *env = getenv("MP_PROPERTY_STEPS");
    long n = env ? strtol(env, NULL, 10) : 0;
    return n > 0 ? (size_t)n * 4 : 16000;
}

/* Runs the model with `capacity` fixed nodes (0: growable), growing to
 * thousands of keys and shrinking back twice. */
static void run(bool by_address, uint32_t capacity, uint64_t seed) {
    static model m;
    static mp_fit_node nodes[256];
    memset(&m, 0, sizeof m);
    m.by_address = by_address;
    m.seed = seed;
    mp_fit_index_init(&m.ix, capacity ? nodes : NULL, capacity, SLOT * SLOTS, by_address, capacity == 0);
    int before = mp_test_failures_;
    size_t total = steps(), ops = 0, most = 0;
    uint32_t tallest = 0;
    for (size_t i = 0; i < total && mp_test_failures_ == before; i++, ops++) {
        step(&m, (i / (total / 4)) % 2 ? 40 : 3000);
        CHECK(mp_fit_index_check(&m.ix) == 0 && m.ix.key_count == m.n);
        if (m.n > most) most = m.n;
        for (uint32_t t = 0; t < MP_FIT_TREES; t++)
            if (m.ix.trees[t].height > tallest) tallest = m.ix.trees[t].height;
        if (i % 64 == 0) {
            seen_all = 1;
            mp_fit_index_visit(&m.ix, visit_one, &m);
            CHECK(seen_all);
        }
    }
    /* A growable pool must have grown trees of three levels and shrunk them. */
    CHECK(capacity != 0 || (most > 1000 && tallest >= 3 && m.n < 100));
    if (mp_test_failures_ != before)
        fprintf(stderr, "  (by_address %d, capacity %u, seed %" PRIu64 ", op %zu)\n", by_address, capacity, seed, ops);
    mp_fit_index_release(&m.ix);
}

static void size_keyed_index_matches_a_sorted_array(void) {
    run(false, 0, 1);
    run(false, 0, 0xB17);
}

static void address_keyed_index_matches_a_sorted_array(void) {
    run(true, 0, 2);
    run(true, 0, 0xF1257);
}

static void indexes_with_too_few_nodes_refuse_inserts_and_stay_consistent(void) {
    run(false, 256, 3);
    run(true, 256, 4);
    run(false, 3, 5);
    run(true, 1, 6);
}

/* Ascending inserts split leaves at the end (the full leaf stays full, the
 * new one holds one key); removing such a lone key empties a leaf that is
 * not the root, which must rebalance, not pass for an empty bin. */
static void ascending_inserts_then_removals_keep_every_bin_consistent(void) {
    for (int by_address = 0; by_address < 2; by_address++) {
        static mp_fit_index ix;
        mp_fit_index_init(&ix, NULL, 0, SLOT * SLOTS, by_address != 0, true);
        for (uint32_t i = 0; i < 4 * MP_FIT_LEAF_KEYS + 1; i++) CHECK(mp_fit_index_insert(&ix, i * SLOT, 7));
        const mp_fit_tree *bin = &ix.trees[6];
        CHECK(bin->height == 2 && ix.nodes[bin->last_leaf].count == 1);
        CHECK(mp_fit_index_remove(&ix, 4 * MP_FIT_LEAF_KEYS * SLOT, 7));
        CHECK(mp_fit_index_check(&ix) == 0 && ix.key_count == 4 * MP_FIT_LEAF_KEYS);
        mp_fit_cursor c;
        CHECK(by_address ? mp_fit_index_first_fit(&ix, 7, &c) : mp_fit_index_lower_bound(&ix, 7, 0, &c));
        for (uint32_t i = 0; i < 4 * MP_FIT_LEAF_KEYS; i++) CHECK(mp_fit_index_remove(&ix, i * SLOT, 7));
        CHECK(mp_fit_index_check(&ix) == 0 && ix.key_count == 0);
        CHECK(by_address ? !mp_fit_index_first_fit(&ix, 7, &c) : !mp_fit_index_lower_bound(&ix, 7, 0, &c));
        CHECK(mp_fit_index_insert(&ix, 3 * SLOT, 7) && mp_fit_index_check(&ix) == 0);
        CHECK(by_address ? mp_fit_index_first_fit(&ix, 7, &c) : mp_fit_index_lower_bound(&ix, 7, 0, &c));
        mp_fit_index_release(&ix);
    }
}

MP_TEST_MAIN(TEST_CASE(size_keyed_index_matches_a_sorted_array), TEST_CASE(address_keyed_index_matches_a_sorted_array),
             TEST_CASE(indexes_with_too_few_nodes_refuse_inserts_and_stay_consistent),
             TEST_CASE(ascending_inserts_then_removals_keep_every_bin_consistent))
