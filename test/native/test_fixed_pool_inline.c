/*
 * test_fixed_pool_inline.c - the header's inline fast path
 * (mp_fixed_pool_alloc_inline / mp_fixed_pool_free_inline) against the
 * out-of-line calls. A differential test drives two pools of one config with
 * the same seeded operations (allocations, frees, double frees, foreign,
 * interior, NULL and never-handed-out pointers, resets, stale pointers), one
 * pool only out of line, the other mixing inline and out-of-line calls at
 * random, and requires equal results (slot offsets, statuses, mp_last_error),
 * equal stats and check() == 0 on both after every step. Misuse through the
 * inline path changes nothing but its counter; thread-safe and destroyed
 * pools send every inline call out of line; under ASan a slot freed inline
 * is poisoned and a slot allocated inline is writable.
 */
#define _DEFAULT_SOURCE
#include "test_util.h"

enum { MODE_OS, MODE_REGION, MODE_IN };

typedef struct config {
    size_t object_size, capacity, alignment;
    int mode;
} config;

typedef struct made_pool {
    MP_FixedPool *pool;
    void *memory; /* caller memory of MODE_REGION / MODE_IN, or NULL */
} made_pool;

static made_pool make_pool(config c, uint32_t flags) {
    MP_FixedPoolConfig cfg = {c.object_size, c.capacity, c.alignment, flags, NULL, 0};
    made_pool m = {NULL, NULL};
    if (c.mode == MODE_OS) {
        m.pool = mp_fixed_pool_create_ex(&cfg);
    } else if (c.mode == MODE_REGION) {
        size_t align = c.alignment == 0 ? 16 : c.alignment, bytes = mp_fixed_pool_region_bytes(&cfg) + align;
        m.memory = malloc(bytes);
        cfg.region = m.memory;
        cfg.region_bytes = bytes;
        if (m.memory != NULL) m.pool = mp_fixed_pool_create_ex(&cfg);
    } else {
        size_t bytes = mp_fixed_pool_footprint(&cfg);
        m.memory = malloc(bytes);
        if (m.memory != NULL) m.pool = mp_fixed_pool_create_in(m.memory, bytes, &cfg);
    }
    return m;
}

static void drop_pool(made_pool m) {
    mp_fixed_pool_destroy(m.pool);
    free(m.memory);
}

/* The limit the inline calls of this file compare against: the high water
 * when they may run inline, 0 when they always go out of line. */
static uint32_t inline_limit_of(MP_FixedPool *pool) {
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool;
    return MP_HOT_LIMIT_(hot);
}

/* 1 when this file's inline calls really run inline on `pool` (which has
 * handed out a slot since its last reset): the limit follows the high water. */
static int inline_open(MP_FixedPool *pool) {
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool;
    return hot->high_water > 0 && inline_limit_of(pool) == hot->high_water;
}

/* ------------------------------------------------------ differential */

/* What a free is applied to: a slot offset from the base (possibly interior
 * or past the end), a pointer outside both pools, or NULL. */
typedef enum target_kind { TARGET_OFFSET, TARGET_FOREIGN, TARGET_NULL } target_kind;

typedef struct twin {
    made_pool a, b; /* a: out of line only; b: inline and out of line mixed */
    unsigned char *base_a, *base_b;
    size_t object_size, stride, capacity;
    size_t *live; /* offsets in use (the same in both pools, checked) */
    size_t live_n;
    size_t *gone; /* offsets freed or released by reset, for double/stale frees */
    size_t gone_n;
    uint64_t rng;
    long inline_calls;
} twin;

static void remember_gone(twin *t, size_t offset) {
    if (t->gone_n < 4 * t->capacity) t->gone[t->gone_n++] = offset;
}

static void twin_alloc(twin *t) {
    mp_clear_last_error();
    unsigned char *pa = mp_fixed_pool_alloc(t->a.pool);
    MP_Status why_a = mp_last_error().status;
    int use_inline = (int)(mp_test_rand(&t->rng) & 1u);
    t->inline_calls += use_inline;
    mp_clear_last_error();
    unsigned char *pb = use_inline ? mp_fixed_pool_alloc_inline(t->b.pool) : mp_fixed_pool_alloc(t->b.pool);
    MP_Status why_b = mp_last_error().status;
    CHECK((pa == NULL) == (pb == NULL));
    CHECK(why_a == why_b);
    if (pa == NULL || pb == NULL) return;
    CHECK(inline_open(t->b.pool)); /* the inline path really runs */
    size_t offset = (size_t)(pa - t->base_a);
    CHECK((size_t)(pb - t->base_b) == offset);
    mp_test_fill_pattern(pa, t->object_size, offset);
    mp_test_fill_pattern(pb, t->object_size, offset); /* under ASan: proves the inline alloc unpoisoned it */
    t->live[t->live_n++] = offset;
}

/* Position of `offset` in the live list, or SIZE_MAX. */
static size_t live_pos_of(const twin *t, size_t offset) {
    for (size_t i = 0; i < t->live_n; i++)
        if (t->live[i] == offset) return i;
    return SIZE_MAX;
}

/* Frees the target in both pools; a live slot's offset must be freed. */
static void twin_free(twin *t, target_kind kind, size_t offset) {
    size_t live_pos = kind == TARGET_OFFSET ? live_pos_of(t, offset) : SIZE_MAX;
    static unsigned char foreign[64];
    unsigned char *ptr_a = kind == TARGET_OFFSET ? t->base_a + offset : kind == TARGET_FOREIGN ? foreign + 8 : NULL;
    unsigned char *ptr_b = kind == TARGET_OFFSET ? t->base_b + offset : kind == TARGET_FOREIGN ? foreign + 8 : NULL;
    if (live_pos < t->live_n) {
        CHECK(mp_test_pattern_intact(ptr_a, t->object_size, offset));
        CHECK(mp_test_pattern_intact(ptr_b, t->object_size, offset));
    }
    mp_clear_last_error();
    MP_Status got_a = mp_fixed_pool_free(t->a.pool, ptr_a);
    MP_Status why_a = mp_last_error().status;
    int use_inline = (int)(mp_test_rand(&t->rng) & 1u);
    t->inline_calls += use_inline;
    mp_clear_last_error();
    MP_Status got_b = use_inline ? mp_fixed_pool_free_inline(t->b.pool, ptr_b) : mp_fixed_pool_free(t->b.pool, ptr_b);
    MP_Status why_b = mp_last_error().status;
    CHECK(got_a == got_b);
    CHECK(why_a == why_b);
    if (got_b == MP_OK && t->stride % 8 == 0) CHECK(mp_test_is_poisoned(ptr_b)); /* whole ASan granules */
    if (live_pos < t->live_n) {
        CHECK(got_a == MP_OK);
        t->live[live_pos] = t->live[--t->live_n];
        remember_gone(t, offset);
    }
}

/* One seeded step: mostly allocations and frees of live slots, with every
 * kind of bad free and an occasional reset. */
static void twin_step(twin *t) {
    uint64_t r = mp_test_rand(&t->rng);
    unsigned what = (unsigned)(r % 100u);
    size_t pick = (size_t)(r >> 32);
    if (what < 40) {
        twin_alloc(t);
    } else if (what < 75) {
        if (t->live_n != 0) {
            twin_free(t, TARGET_OFFSET, t->live[pick % t->live_n]);
        }
    } else if (what < 83) { /* double free, or a stale pointer from before a reset */
        if (t->gone_n != 0) twin_free(t, TARGET_OFFSET, t->gone[pick % t->gone_n]);
    } else if (what < 88) { /* interior pointer of any slot, or one past the last slot */
        size_t slot = pick % (t->capacity + 1);
        size_t inside = t->stride > 1 ? 1 + (pick >> 16) % (t->stride - 1) : 0;
        twin_free(t, TARGET_OFFSET, slot * t->stride + inside);
    } else if (what < 92) { /* the start of any slot: live, free or above the high water */
        twin_free(t, TARGET_OFFSET, (pick % t->capacity) * t->stride);
    } else if (what < 95) {
        twin_free(t, TARGET_FOREIGN, 0);
    } else if (what < 98) {
        twin_free(t, TARGET_NULL, 0);
    } else if (what < 99 || t->live_n == t->capacity) {
        CHECK_STATUS(mp_fixed_pool_reset(t->a.pool), MP_OK);
        CHECK_STATUS(mp_fixed_pool_reset(t->b.pool), MP_OK);
        while (t->live_n != 0) remember_gone(t, t->live[--t->live_n]);
    }
    CHECK(mp_test_same_fixed_stats(mp_test_fixed_stats(t->a.pool), mp_test_fixed_stats(t->b.pool)));
    CHECK(mp_fixed_pool_check(t->a.pool) == 0);
    CHECK(mp_fixed_pool_check(t->b.pool) == 0);
}

static void run_twin(config c, uint64_t seed, int steps) {
    twin t;
    memset(&t, 0, sizeof t);
    t.a = make_pool(c, 0);
    t.b = make_pool(c, 0);
    t.live = malloc(c.capacity * sizeof(size_t));
    t.gone = malloc(4 * c.capacity * sizeof(size_t));
    int made = t.a.pool != NULL && t.b.pool != NULL && t.live != NULL && t.gone != NULL;
    CHECK(made);
    if (made) {
        t.base_a = mp_fixed_pool_base(t.a.pool);
        t.base_b = mp_fixed_pool_base(t.b.pool);
        t.object_size = c.object_size;
        t.stride = mp_test_fixed_stats(t.a.pool).slot_size_bytes;
        t.capacity = c.capacity;
        t.rng = seed;
        int failures_before = mp_test_failures_;
        for (int i = 0; i < steps && mp_test_failures_ == failures_before; i++) twin_step(&t);
        if (mp_test_failures_ != failures_before)
            fprintf(stderr, "differential: object %zu capacity %zu mode %d seed %" PRIu64 "\n", c.object_size,
                    c.capacity, c.mode, seed);
        CHECK(t.inline_calls > steps / 4);
    }
    free(t.live);
    free(t.gone);
    drop_pool(t.a);
    drop_pool(t.b);
}

static void inline_and_out_of_line_calls_mixed_give_identical_results_stats_and_check(void) {
    static const config configs[] = {
        {64, 200, 0, MODE_OS},    {24, 130, 8, MODE_OS}, {100, 77, 4, MODE_REGION}, {7, 300, 1, MODE_IN},
        {48, 1, 16, MODE_OS},     {40, 65, 8, MODE_IN},  {3000, 9, 0, MODE_REGION},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        for (uint64_t seed = 1; seed <= 3; seed++) run_twin(configs[i], seed * 0x51ED270B27u + i, 3000);
}

/* ----------------------------------------------------------- misuse */

/* Frees `ptr` inline and expects `expected`, mp_last_error == expected and
 * the stats unchanged except one more rejected free. */
static void expect_inline_free_refused(MP_FixedPool *pool, void *ptr, MP_Status expected, int line) {
    MP_FixedPoolStats before = mp_test_fixed_stats(pool);
    mp_clear_last_error();
    MP_Status got = mp_fixed_pool_free_inline(pool, ptr);
    MP_FixedPoolStats after = mp_test_fixed_stats(pool);
    if (got != expected || mp_last_error().status != expected) {
        fprintf(stderr, "line %d: inline free gave %s (last error %s), expected %s\n", line, mp_status_str(got),
                mp_status_str(mp_last_error().status), mp_status_str(expected));
        CHECK(got == expected && mp_last_error().status == expected);
    }
    before.rejected_free_count++;
    CHECK(mp_test_same_fixed_stats(before, after));
    CHECK(mp_fixed_pool_check(pool) == 0);
}

static void inline_free_refuses_double_foreign_interior_null_and_unissued_pointers(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(64, 8);
    REQUIRE(pool != NULL);
    unsigned char *base = mp_fixed_pool_base(pool);
    unsigned char *p = mp_fixed_pool_alloc_inline(pool), *q = mp_fixed_pool_alloc_inline(pool);
    REQUIRE(p == base && q == base + 64);
    REQUIRE(inline_open(pool));
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, p), MP_OK);
    CHECK(mp_test_is_poisoned(p));
    expect_inline_free_refused(pool, p, MP_ERR_DOUBLE_FREE, __LINE__); /* p is in the hand */
    expect_inline_free_refused(pool, q + 1, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_inline_free_refused(pool, q + 63, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_inline_free_refused(pool, base + 8 * 64, MP_ERR_INVALID_ADDRESS, __LINE__); /* one past the end */
    expect_inline_free_refused(pool, base - 64, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_inline_free_refused(pool, base + 5 * 64, MP_ERR_INVALID_ADDRESS, __LINE__); /* above the high water */
    unsigned char foreign[128];
    expect_inline_free_refused(pool, foreign + 64, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_inline_free_refused(pool, NULL, MP_ERR_INVALID_ADDRESS, __LINE__);
    CHECK(mp_fixed_pool_owns(pool, q) == 1 && mp_fixed_pool_owns(pool, p) == 0);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, q), MP_OK);
    expect_inline_free_refused(pool, p, MP_ERR_DOUBLE_FREE, __LINE__); /* p is still in the hand */
    expect_inline_free_refused(pool, q, MP_ERR_DOUBLE_FREE, __LINE__); /* q is on the list */
    MP_FixedPoolStats s = mp_test_fixed_stats(pool);
    CHECK(s.allocated == 0 && s.alloc_count == 2 && s.free_count == 2 && s.rejected_free_count == 10);
    mp_fixed_pool_destroy(pool);
}

static void inline_calls_on_a_null_pool_fail_like_the_out_of_line_calls(void) {
    mp_clear_last_error();
    CHECK(mp_fixed_pool_alloc_inline(NULL) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    int x = 0;
    mp_clear_last_error();
    CHECK_STATUS(mp_fixed_pool_free_inline(NULL, &x), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

static void pointers_from_before_a_reset_are_refused_inline(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(32, 16);
    REQUIRE(pool != NULL);
    unsigned char *slot[4];
    for (int i = 0; i < 4; i++) REQUIRE((slot[i] = mp_fixed_pool_alloc_inline(pool)) != NULL);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, slot[1]), MP_OK);
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    expect_inline_free_refused(pool, slot[0], MP_ERR_INVALID_ADDRESS, __LINE__); /* high water is 0 */
    /* Two slots handed out again: slot[2] is above the new high water, slot[1]
     * below it but free after this free. */
    unsigned char *again0 = mp_fixed_pool_alloc_inline(pool), *again1 = mp_fixed_pool_alloc_inline(pool);
    CHECK(again0 == slot[0] && again1 == slot[1]);
    expect_inline_free_refused(pool, slot[2], MP_ERR_INVALID_ADDRESS, __LINE__);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, again1), MP_OK);
    expect_inline_free_refused(pool, slot[1], MP_ERR_DOUBLE_FREE, __LINE__);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, again0), MP_OK);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void inline_alloc_exhausts_like_the_out_of_line_call(void) {
    enum { CAP = 5 };
    MP_FixedPool *pool = mp_fixed_pool_create(16, CAP);
    REQUIRE(pool != NULL);
    void *got[CAP];
    for (int round = 0; round < 2; round++) { /* round 1 serves the slots from the free stack */
        for (int i = 0; i < CAP; i++) CHECK((got[i] = mp_fixed_pool_alloc_inline(pool)) != NULL);
        mp_clear_last_error();
        CHECK(mp_fixed_pool_alloc_inline(pool) == NULL);
        CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        for (int i = 0; i < CAP; i++) CHECK_STATUS(mp_fixed_pool_free_inline(pool, got[i]), MP_OK);
    }
    MP_FixedPoolStats s = mp_test_fixed_stats(pool);
    CHECK(s.failed_alloc_count == 2 && s.alloc_count == 2 * CAP && s.free_count == 2 * CAP);
    CHECK(s.allocated == 0 && s.allocated_peak == CAP);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* The peak is derived (it equals the high water): check it stays exact when
 * slots come back from the stack. */
static void stats_stay_exact_through_inline_calls(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(48, 32);
    REQUIRE(pool != NULL);
    void *a = mp_fixed_pool_alloc_inline(pool), *b = mp_fixed_pool_alloc_inline(pool);
    void *c = mp_fixed_pool_alloc_inline(pool);
    REQUIRE(a != NULL && b != NULL && c != NULL);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, a), MP_OK);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, c), MP_OK);
    void *d = mp_fixed_pool_alloc_inline(pool), *e = mp_fixed_pool_alloc_inline(pool);
    CHECK(d == a && e == c); /* the hand first, then the list */
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, e), MP_OK);
    MP_FixedPoolStats s = mp_test_fixed_stats(pool);
    CHECK(s.allocated == 2 && s.allocated_peak == 3 && s.alloc_count == 5 && s.free_count == 3);
    CHECK(s.failed_alloc_count == 0 && s.rejected_free_count == 0);
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    s = mp_test_fixed_stats(pool);
    CHECK(s.allocated == 0 && s.allocated_peak == 0 && s.alloc_count == 5 && s.free_count == 3);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* ------------------------------------------- pools that stay out of line */

static void a_thread_safe_pool_sends_every_inline_call_out_of_line(void) {
    MP_FixedPoolConfig cfg = {24, 10, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool;
    CHECK(hot->inline_limit == 0 && hot->sanitized_limit == 0 && inline_limit_of(pool) == 0);
    void *slots[10];
    for (int i = 0; i < 10; i++) CHECK((slots[i] = mp_fixed_pool_alloc_inline(pool)) != NULL);
    CHECK(mp_fixed_pool_alloc_inline(pool) == NULL);
    for (int i = 0; i < 10; i += 2) CHECK_STATUS(mp_fixed_pool_free_inline(pool, slots[i]), MP_OK);
    expect_inline_free_refused(pool, slots[0], MP_ERR_DOUBLE_FREE, __LINE__);
    expect_inline_free_refused(pool, (unsigned char *)slots[1] + 3, MP_ERR_INVALID_ADDRESS, __LINE__);
    CHECK(mp_fixed_pool_alloc_inline(pool) == slots[8]);
    MP_FixedPoolStats s = mp_test_fixed_stats(pool);
    CHECK(s.allocated == 6 && s.alloc_count == 11 && s.free_count == 5 && s.failed_alloc_count == 1);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void destroy_closes_the_inline_path_of_a_pool_in_caller_memory(void) {
    MP_FixedPoolConfig cfg = {32, 16, 0, 0, NULL, 0};
    size_t bytes = mp_fixed_pool_footprint(&cfg);
    void *memory = malloc(bytes);
    REQUIRE(memory != NULL);
    MP_FixedPool *pool = mp_fixed_pool_create_in(memory, bytes, &cfg);
    REQUIRE(pool != NULL);
    void *p = mp_fixed_pool_alloc_inline(pool), *q = mp_fixed_pool_alloc_inline(pool);
    CHECK(p != NULL && q != NULL && inline_open(pool));
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, p), MP_OK); /* p waits in the hand */
    mp_fixed_pool_destroy(pool);
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool; /* the caller memory is still ours */
    CHECK(hot->inline_limit == 0 && hot->sanitized_limit == 0);
    CHECK(hot->hand[0] == NULL && hot->hand[1] == NULL);
    free(memory);
}

/* The hot state is the documented prefix of every control block. */
static void the_hot_state_describes_the_pool(void) {
    MP_FixedPoolConfig cfg = {24, 100, 8, 0, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    const MP_FixedPoolHot *hot = (const MP_FixedPoolHot *)(const void *)pool;
    CHECK(hot->base == mp_fixed_pool_base(pool));
    CHECK(hot->slot_size_bytes == 24 && hot->object_size == 24 && hot->stride_shift == 3);
    CHECK((uintptr_t)3 * hot->stride_inverse == 1); /* 24 = 3 * 2^3 */
    CHECK(hot->sanitizer == MP_SANITIZER_HERE_);
    CHECK(hot->high_water == 0 && hot->head == MP_FIXED_LINK_NONE && MP_HOT_HAND_(hot) == NULL);
    unsigned char *p = mp_fixed_pool_alloc_inline(pool), *q = mp_fixed_pool_alloc_inline(pool);
    CHECK(p != NULL && q == p + 24 && hot->high_water == 2 && hot->free_length == 0);
    CHECK(hot->link[0] == MP_FIXED_LINK_IN_USE && hot->link[1] == MP_FIXED_LINK_IN_USE);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, p), MP_OK);
    CHECK(MP_HOT_HAND_(hot) == p && hot->link[0] == MP_FIXED_LINK_IN_USE && hot->free_count == 1);
    CHECK_STATUS(mp_fixed_pool_free_inline(pool, q), MP_OK); /* the hand is taken: q goes on the list */
    CHECK(MP_HOT_HAND_(hot) == p && hot->head == 1 && hot->link[1] == 1 && hot->free_length == 1);
    CHECK(hot->free_count == 2);
    CHECK(mp_fixed_pool_alloc_inline(pool) == p && MP_HOT_HAND_(hot) == NULL);
    CHECK(mp_fixed_pool_alloc_inline(pool) == q && hot->head == MP_FIXED_LINK_NONE);
    CHECK(hot->link[1] == MP_FIXED_LINK_IN_USE && hot->free_length == 0 && hot->free_count == 2);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

MP_TEST_MAIN(TEST_CASE(inline_and_out_of_line_calls_mixed_give_identical_results_stats_and_check),
             TEST_CASE(inline_free_refuses_double_foreign_interior_null_and_unissued_pointers),
             TEST_CASE(inline_calls_on_a_null_pool_fail_like_the_out_of_line_calls),
             TEST_CASE(pointers_from_before_a_reset_are_refused_inline),
             TEST_CASE(inline_alloc_exhausts_like_the_out_of_line_call),
             TEST_CASE(stats_stay_exact_through_inline_calls),
             TEST_CASE(a_thread_safe_pool_sends_every_inline_call_out_of_line),
             TEST_CASE(destroy_closes_the_inline_path_of_a_pool_in_caller_memory),
             TEST_CASE(the_hot_state_describes_the_pool))
