/*
 * test_pool_property.c - differential property test of the managed pool.
 *
 * A seeded random sequence of operations (alloc, free, double free, stale
 * access, write, read, fill, copy, pin, unpin, owner limits, free_owner,
 * wrong-owner and out-of-bounds access, budgeted compaction) runs against
 * the pool and against a model that keeps a shadow copy of every block.
 * After every step: mp_pool_check() == 0, and the pool's used bytes, block
 * count and per-owner figures equal the model's. Compaction runs with a
 * budget of one byte, so each call moves at most one block, and after each
 * call every block's contents are compared with its shadow, pinned blocks
 * must not have moved, and the relocation counter must have grown by exactly
 * the blocks moved. Every strategy, each with two configurations.
 * MP_POOL_PROPERTY_STEPS overrides the steps per run (default 2500).
 */
#include "mp_test.h"

#define KIB ((size_t)1024)
#define MAX_LIVE 256
#define MAX_DEAD 64
#define OWNERS 4

typedef struct mblock {
    MP_Handle h;
    size_t size;
    size_t usable;
    uint32_t owner;
    int pinned;
    size_t pinned_offset;
    uint8_t *shadow;
} mblock;

typedef struct model {
    MP_Pool *pool;
    mblock b[MAX_LIVE];
    size_t n;
    MP_Handle dead[MAX_DEAD];
    size_t dead_n;
    size_t owner_bytes[OWNERS];
    size_t owner_blocks[OWNERS];
    size_t owner_limit[OWNERS];
    size_t used;
    size_t max_size;
    size_t min_block;
    uint64_t rng;
} model;

static size_t rnd(model *m, size_t n) { return n ? (size_t)(mp_test_rand(&m->rng) % n) : 0; }

static void bury(model *m, MP_Handle h) { m->dead[m->dead_n++ % MAX_DEAD] = h; }

static void forget(model *m, size_t i) {
    mblock *b = &m->b[i];
    m->owner_bytes[b->owner] -= b->usable;
    m->owner_blocks[b->owner]--;
    m->used -= b->usable;
    bury(m, b->h);
    free(b->shadow);
    m->b[i] = m->b[--m->n];
}

static int contents_match(model *m) {
    int bad = 0;
    uint8_t *buf = malloc(m->max_size);
    for (size_t i = 0; i < m->n && buf != NULL; i++) {
        mblock *b = &m->b[i];
        if (mp_pool_read(m->pool, b->h, 0, buf, b->size) != MP_OK || memcmp(buf, b->shadow, b->size) != 0) bad++;
        if (b->pinned) {
            size_t off;
            if (mp_pool_locate(m->pool, b->h, &off, NULL) != MP_OK || off != b->pinned_offset) bad++;
        }
    }
    free(buf);
    return bad == 0;
}

/* What a binding resolving handles through mp_pool_handle_table sees agrees
 * with mp_pool_locate: every live handle's entry holds it and its block's
 * address; no freed (or stale) handle's entry holds it. */
static int handle_table_agrees(model *m) {
    MP_PoolHandleTable t;
    if (mp_pool_handle_table(m->pool, &t) != MP_OK) return 0;
    int bad = 0;
    const uint8_t *base = mp_pool_base(m->pool);
    for (size_t i = 0; i < m->n; i++) {
        const uint8_t *e = (const uint8_t *)t.entries + (m->b[i].h & t.index_mask) * t.entry_bytes;
        uint64_t word;
        const uint8_t *addr;
        memcpy(&word, e + t.handle_offset, sizeof word);
        memcpy(&addr, e + t.address_offset, sizeof addr);
        size_t off;
        if (word != m->b[i].h || mp_pool_locate(m->pool, m->b[i].h, &off, NULL) != MP_OK || addr != base + off)
            bad++;
    }
    for (size_t i = 0; i < MAX_DEAD && i < m->dead_n; i++) {
        const uint8_t *e = (const uint8_t *)t.entries + (m->dead[i] & t.index_mask) * t.entry_bytes;
        uint64_t word;
        memcpy(&word, e + t.handle_offset, sizeof word);
        if (word == m->dead[i]) bad++;
    }
    return bad == 0;
}

static int accounting_matches(model *m) {
    MP_PoolStats st;
    if (mp_pool_stats(m->pool, &st) != MP_OK) return 0;
    int ok = st.used_bytes == m->used && st.allocated_block_count == m->n;
    for (uint32_t o = 0; o < OWNERS; o++) {
        MP_PoolOwnerStats os;
        ok &= mp_pool_owner_stats(m->pool, o, &os) == MP_OK;
        ok &= os.bytes_in_use == m->owner_bytes[o] && os.block_count == m->owner_blocks[o];
        ok &= os.limit_bytes == m->owner_limit[o];
        ok &= m->owner_limit[o] == 0 || os.bytes_in_use <= m->owner_limit[o] || os.limit_failure_count > 0;
    }
    return ok;
}

static size_t pick_size(model *m) {
    size_t r = rnd(m, 10), s;
    if (r < 6)
        s = 1 + rnd(m, 256);
    else if (r < 9)
        s = 257 + rnd(m, 3840);
    else
        s = 4097 + rnd(m, 28 * KIB);
    return s > m->max_size ? 1 + rnd(m, m->max_size) : s;
}

static void op_alloc(model *m) {
    if (m->n == MAX_LIVE) return;
    size_t size = pick_size(m);
    uint32_t owner = (uint32_t)rnd(m, OWNERS);
    int pinned = rnd(m, 10) == 0;
    MP_Handle h = 0;
    MP_Status st = mp_pool_alloc(m->pool, size, owner, pinned ? MP_ALLOC_PINNED : 0, &h);
    if (st != MP_OK) {
        CHECK(st == MP_ERR_OUT_OF_MEMORY || (st == MP_ERR_LIMIT_EXCEEDED && m->owner_limit[owner] != 0));
        CHECK(h == 0);
        return;
    }
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(m->pool, h, &info), MP_OK);
    CHECK(info.size_bytes == size && info.owner == owner && info.pinned == pinned);
    CHECK(info.usable_bytes >= size && info.usable_bytes >= m->min_block);
    mblock *b = &m->b[m->n++];
    b->h = h;
    b->size = size;
    b->usable = info.usable_bytes;
    b->owner = owner;
    b->pinned = pinned;
    b->pinned_offset = info.offset;
    b->shadow = malloc(size);
    for (size_t i = 0; i < size; i++) b->shadow[i] = (uint8_t)mp_test_rand(&m->rng);
    CHECK_STATUS(mp_pool_write(m->pool, h, 0, b->shadow, size), MP_OK);
    m->owner_bytes[owner] += b->usable;
    m->owner_blocks[owner]++;
    m->used += b->usable;
    CHECK(m->owner_limit[owner] == 0 || m->owner_bytes[owner] <= m->owner_limit[owner]);
}

static void op_free(model *m) {
    if (m->n == 0) return;
    size_t i = rnd(m, m->n);
    CHECK_STATUS(mp_pool_free(m->pool, m->b[i].h), MP_OK);
    forget(m, i);
}

static void op_stale(model *m) {
    if (m->dead_n == 0) return;
    MP_Handle h = m->dead[rnd(m, m->dead_n < MAX_DEAD ? m->dead_n : MAX_DEAD)];
    uint8_t x;
    CHECK_STATUS(mp_pool_read(m->pool, h, 0, &x, 1), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_free(m->pool, h), MP_ERR_DOUBLE_FREE);
}

/* A random range [off, off + len) of block i. */
static void pick_range(model *m, size_t i, size_t *off, size_t *len) {
    *off = rnd(m, m->b[i].size);
    *len = 1 + rnd(m, m->b[i].size - *off);
}

static void op_write_read_fill(model *m, int kind) {
    if (m->n == 0) return;
    size_t i = rnd(m, m->n), off, len;
    pick_range(m, i, &off, &len);
    mblock *b = &m->b[i];
    uint8_t *buf = malloc(len);
    if (kind == 0) {
        for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)mp_test_rand(&m->rng);
        CHECK_STATUS(mp_pool_write_as(m->pool, b->owner, b->h, off, buf, len), MP_OK);
        memcpy(b->shadow + off, buf, len);
    } else if (kind == 1) {
        CHECK_STATUS(mp_pool_read(m->pool, b->h, off, buf, len), MP_OK);
        CHECK(memcmp(buf, b->shadow + off, len) == 0);
    } else {
        uint8_t v = (uint8_t)rnd(m, 256);
        CHECK_STATUS(mp_pool_fill(m->pool, b->h, off, v, len), MP_OK);
        memset(b->shadow + off, v, len);
    }
    free(buf);
}

static void op_copy(model *m) {
    if (m->n == 0) return;
    mblock *d = &m->b[rnd(m, m->n)], *s = &m->b[rnd(m, m->n)];
    size_t max = d->size < s->size ? d->size : s->size;
    size_t len = 1 + rnd(m, max);
    size_t doff = rnd(m, d->size - len + 1), soff = rnd(m, s->size - len + 1);
    CHECK_STATUS(mp_pool_copy(m->pool, d->h, doff, s->h, soff, len), MP_OK);
    memmove(d->shadow + doff, s->shadow + soff, len);
}

static void op_pin(model *m) {
    if (m->n == 0) return;
    mblock *b = &m->b[rnd(m, m->n)];
    if (b->pinned) {
        CHECK_STATUS(mp_pool_unpin(m->pool, b->h), MP_OK);
        b->pinned = 0;
    } else {
        CHECK_STATUS(mp_pool_pin(m->pool, b->h), MP_OK);
        CHECK_STATUS(mp_pool_locate(m->pool, b->h, &b->pinned_offset, NULL), MP_OK);
        b->pinned = 1;
    }
}

static void op_limit(model *m) {
    uint32_t o = (uint32_t)rnd(m, OWNERS);
    size_t limit = rnd(m, 3) == 0 ? 0 : m->owner_bytes[o] + rnd(m, 16 * KIB);
    CHECK_STATUS(mp_pool_set_owner_limit(m->pool, o, limit), MP_OK);
    m->owner_limit[o] = limit;
}

static void op_free_owner(model *m) {
    uint32_t o = (uint32_t)rnd(m, OWNERS);
    size_t expected = m->owner_blocks[o], freed = 0;
    CHECK_STATUS(mp_pool_free_owner(m->pool, o, &freed), MP_OK);
    CHECK(freed == expected);
    for (size_t i = m->n; i-- > 0;)
        if (m->b[i].owner == o) forget(m, i);
}

static void op_defragment(model *m) {
    for (int pass = 0; pass < 40; pass++) {
        uint64_t before = mp_pool_relocation_count(m->pool);
        MP_DefragResult r;
        CHECK_STATUS(mp_pool_defragment(m->pool, 1, &r), MP_OK);
        CHECK(r.blocks_moved <= 1);
        CHECK(mp_pool_relocation_count(m->pool) == before + r.blocks_moved);
        CHECK(contents_match(m));
        CHECK(mp_pool_check(m->pool) == 0);
        if (r.complete) break;
    }
}

static void op_refused_access(model *m) {
    if (m->n == 0) return;
    mblock *b = &m->b[rnd(m, m->n)];
    uint8_t x[2];
    CHECK_STATUS(mp_pool_read_as(m->pool, b->owner + 1, b->h, 0, x, 1), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_read(m->pool, b->h, b->size, x, 1), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_free_as(m->pool, b->owner + 1, b->h), MP_ERR_PROTECTION);
}

static void run(MP_PoolStrategy strategy, int variant, uint64_t seed, int steps) {
    model m;
    memset(&m, 0, sizeof m);
    m.rng = seed;
    MP_PoolConfig cfg = {.pool_bytes = 512 * KIB, .strategy = strategy, .defrag_enabled = 1};
    if (variant == 1) {
        cfg.alignment = 64;
        cfg.min_block_bytes = 48;
        cfg.defrag_threshold = 0.1;
        cfg.flags = MP_FLAG_THREAD_SAFE;
    }
    m.min_block = cfg.min_block_bytes ? cfg.min_block_bytes : 16;
    m.max_size = strategy == MP_STRATEGY_SLAB ? 4096 : 32 * KIB;
    m.pool = mp_pool_create_ex(&cfg);
    REQUIRE(m.pool != NULL);
    int failures_before = mp_test_failures_;
    for (int step = 0; step < steps && mp_test_failures_ == failures_before; step++) {
        size_t r = rnd(&m, 100);
        if (r < 34 && m.n < MAX_LIVE * 3 / 4)
            op_alloc(&m);
        else if (r < 55)
            op_free(&m);
        else if (r < 59)
            op_stale(&m);
        else if (r < 75)
            op_write_read_fill(&m, (int)(r % 3));
        else if (r < 79)
            op_copy(&m);
        else if (r < 84)
            op_pin(&m);
        else if (r < 86)
            op_limit(&m);
        else if (r < 87)
            op_free_owner(&m);
        else if (r < 92)
            op_defragment(&m);
        else
            op_refused_access(&m);
        CHECK(mp_pool_check(m.pool) == 0);
        CHECK(accounting_matches(&m));
        if (variant == 0) CHECK(handle_table_agrees(&m));
        if (step % 100 == 0) CHECK(contents_match(&m));
        if (mp_test_failures_ != failures_before)
            fprintf(stderr, "strategy %d variant %d seed %" PRIu64 ": first failure at step %d\n", (int)strategy,
                    variant, seed, step);
    }
    CHECK(contents_match(&m));
    while (m.n > 0) op_free(&m);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(m.pool, &st), MP_OK);
    CHECK(st.used_bytes == 0 && st.allocated_block_count == 0 && st.requested_bytes == 0);
    CHECK(mp_pool_check(m.pool) == 0);
    mp_pool_destroy(m.pool);
}

static int steps_per_run(void) {
    const char *env = getenv("MP_POOL_PROPERTY_STEPS");
    long v = env ? strtol(env, NULL, 10) : 0;
    return v > 0 ? (int)v : 2500;
}

#define STRATEGY_PROPERTY(name, strategy)                                     \
    static void name(void) {                                                  \
        for (int variant = 0; variant < 2; variant++)                         \
            run(strategy, variant, 0xC0FFEEu + (uint64_t)strategy * 17u + (uint64_t)variant, steps_per_run()); \
    }

STRATEGY_PROPERTY(first_fit_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_FIRST_FIT)
STRATEGY_PROPERTY(best_fit_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_BEST_FIT)
STRATEGY_PROPERTY(worst_fit_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_WORST_FIT)
STRATEGY_PROPERTY(buddy_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_BUDDY)
STRATEGY_PROPERTY(slab_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_SLAB)
STRATEGY_PROPERTY(tlsf_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_TLSF)
STRATEGY_PROPERTY(auto_pool_matches_the_model_and_compacts_with_contents_intact, MP_STRATEGY_AUTO)

MP_TEST_MAIN(TEST_CASE(first_fit_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(best_fit_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(worst_fit_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(buddy_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(slab_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(tlsf_pool_matches_the_model_and_compacts_with_contents_intact),
             TEST_CASE(auto_pool_matches_the_model_and_compacts_with_contents_intact))
