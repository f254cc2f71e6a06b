/*
 * test_pool_misuse.c - every kind of bad input to the managed pool is refused
 * with its status and changes nothing but the rejection counters: NULL
 * arguments, forged, foreign, stale and never-issued handles, double frees
 * (also after slot reuse and free_owner), overflowing offsets and lengths,
 * NULL buffers, bad sizes and flags, the wrong owner; handles of a pool
 * created 256 pools later; compaction after an overrun into a TLSF header.
 */
#include "mp_test.h"
#include "pool_internal.h"

#define KIB ((size_t)1024)

/* Counts differences between two snapshots, ignoring the counters a refused
 * call is allowed to bump. */
static int stats_differ(const MP_PoolStats *a, const MP_PoolStats *b) {
    int diff = 0;
#define MP_CMP_(type, name, text)                                                                  \
    if (strcmp(#name, "rejected_free_count") != 0 && strcmp(#name, "rejected_access_count") != 0 && \
        strcmp(#name, "allocation_failure_count") != 0 && a->name != b->name) {                   \
        fprintf(stderr, "  stats field %s changed\n", #name);                                      \
        diff++;                                                                                    \
    }
    MP_POOL_STATS_FIELDS(MP_CMP_)
#undef MP_CMP_
    return diff;
}

typedef struct fixture {
    MP_Pool *pool;
    MP_Handle live[4];
    MP_Handle freed;
    MP_PoolStats before;
} fixture;

static int fixture_setup(fixture *f, MP_PoolStrategy strategy) {
    MP_PoolConfig cfg = {.pool_bytes = 256 * KIB, .strategy = strategy, .defrag_enabled = 1};
    f->pool = mp_pool_create_ex(&cfg);
    if (f->pool == NULL) return 0;
    for (int i = 0; i < 4; i++) {
        if (mp_pool_alloc(f->pool, 100, (uint32_t)i, 0, &f->live[i]) != MP_OK) return 0;
        if (mp_pool_fill(f->pool, f->live[i], 0, (uint8_t)(0xA0 + i), 100) != MP_OK) return 0;
    }
    if (mp_pool_alloc(f->pool, 100, 0, 0, &f->freed) != MP_OK || mp_pool_free(f->pool, f->freed) != MP_OK)
        return 0;
    return mp_pool_stats(f->pool, &f->before) == MP_OK;
}

/* The pool is as the fixture left it: stats, contents, consistency. */
static void fixture_unchanged(fixture *f) {
    MP_PoolStats now;
    CHECK_STATUS(mp_pool_stats(f->pool, &now), MP_OK);
    CHECK(stats_differ(&f->before, &now) == 0);
    for (int i = 0; i < 4; i++) {
        uint8_t buf[100];
        CHECK_STATUS(mp_pool_read(f->pool, f->live[i], 0, buf, 100), MP_OK);
        for (int j = 0; j < 100; j++) CHECK(buf[j] == (uint8_t)(0xA0 + i));
    }
    CHECK(mp_pool_check(f->pool) == 0);
}

/* Every handle-taking call refuses `h` with `expected` (free with
 * `expected_free`). */
static void all_calls_refuse(fixture *f, MP_Handle h, MP_Status expected_free, MP_Status expected) {
    MP_Pool *p = f->pool;
    uint8_t buf[8] = {0};
    size_t off = 77, size = 77;
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_free(p, h), expected_free);
    CHECK_STATUS(mp_pool_free_as(p, 0, h), expected_free);
    CHECK_STATUS(mp_pool_read(p, h, 0, buf, 8), expected);
    CHECK_STATUS(mp_pool_write(p, h, 0, buf, 8), expected);
    CHECK_STATUS(mp_pool_fill(p, h, 0, 1, 8), expected);
    CHECK_STATUS(mp_pool_copy(p, h, 0, f->live[0], 0, 8), expected);
    CHECK_STATUS(mp_pool_copy(p, f->live[0], 0, h, 0, 8), expected);
    CHECK_STATUS(mp_pool_read_as(p, 0, h, 0, buf, 8), expected);
    CHECK_STATUS(mp_pool_pin(p, h), expected);
    CHECK_STATUS(mp_pool_unpin(p, h), expected);
    CHECK_STATUS(mp_pool_locate(p, h, &off, &size), expected);
    CHECK(off == 77 && size == 77);
    CHECK_STATUS(mp_pool_block_info(p, h, &info), expected);
}

static void forged_and_out_of_range_handles_are_invalid_and_change_nothing(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_FIRST_FIT));
    MP_Pool *p = f.pool;
    MP_Handle forged[] = {0, 1, 2, 12345, (MP_Handle)1 << 53, ((MP_Handle)1 << 53) - 1, UINT64_MAX,
                          f.live[0] ^ ((MP_Handle)1 << 60), f.live[0] | ((MP_Handle)1 << 53),
                          /* right tag: beyond the slots ever used, generation 0,
                           * a future generation, a free slot's next generation */
                          pool_handle(p, 1000, 1), pool_handle(p, 0, 0), pool_handle(p, 0, 2),
                          pool_handle(p, 4, pool_slot_gen(p, &p->slots[4]))};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++)
        all_calls_refuse(&f, forged[i], MP_ERR_INVALID_HANDLE, MP_ERR_INVALID_HANDLE);
    uint64_t x = 99;
    for (int i = 0; i < 2000; i++) {
        MP_Handle h = mp_test_rand(&x) & (((MP_Handle)1 << 53) - 1);
        int is_live = 0;
        for (int j = 0; j < 4; j++) is_live |= h == f.live[j];
        if (!is_live) CHECK(mp_pool_free(p, h) != MP_OK);
    }
    fixture_unchanged(&f);
    MP_PoolStats now;
    CHECK_STATUS(mp_pool_stats(p, &now), MP_OK);
    CHECK(now.rejected_free_count >= 2 * 13 && now.rejected_access_count >= 8 * 13);
    mp_pool_destroy(p);
}

static void stale_handles_are_invalid_and_freeing_them_is_a_double_free(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_TLSF));
    all_calls_refuse(&f, f.freed, MP_ERR_DOUBLE_FREE, MP_ERR_INVALID_HANDLE);
    fixture_unchanged(&f);
    /* After the slot is reused the old handle is still a double free. */
    MP_Handle reuse;
    CHECK_STATUS(mp_pool_alloc(f.pool, 30, 9, 0, &reuse), MP_OK);
    CHECK_STATUS(mp_pool_free(f.pool, f.freed), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_pool_free(f.pool, reuse), MP_OK);
    /* And after free_owner every handle of the owner is. */
    CHECK_STATUS(mp_pool_free_owner(f.pool, 2, NULL), MP_OK);
    CHECK_STATUS(mp_pool_free(f.pool, f.live[2]), MP_ERR_DOUBLE_FREE);
    CHECK(mp_pool_check(f.pool) == 0);
    mp_pool_destroy(f.pool);
}

static void handles_of_another_pool_are_invalid_even_with_the_same_slot(void) {
    fixture a, b;
    REQUIRE(fixture_setup(&a, MP_STRATEGY_BUDDY));
    REQUIRE(fixture_setup(&b, MP_STRATEGY_BUDDY));
    for (int i = 0; i < 4; i++) all_calls_refuse(&a, b.live[i], MP_ERR_INVALID_HANDLE, MP_ERR_INVALID_HANDLE);
    fixture_unchanged(&a);
    fixture_unchanged(&b);
    mp_pool_destroy(a.pool);
    mp_pool_destroy(b.pool);
}

/* Pools alive at the same time never share a tag, however many pools were
 * created and destroyed in between: a counter alone would give the pool
 * created 256 pools after `a` a's tag, and a's handles would resolve in it
 * (same strategy and size, so the same slots and generations). */
static void handles_of_a_pool_created_256_pools_later_are_still_foreign(void) {
    fixture a, b;
    REQUIRE(fixture_setup(&a, MP_STRATEGY_BUDDY));
    for (int i = 0; i < 255; i++) {
        MP_Pool *between = mp_pool_create(4 * KIB, MP_STRATEGY_FIRST_FIT);
        REQUIRE(between != NULL);
        mp_pool_destroy(between);
    }
    REQUIRE(fixture_setup(&b, MP_STRATEGY_BUDDY));
    for (int i = 0; i < 4; i++) {
        all_calls_refuse(&a, b.live[i], MP_ERR_INVALID_HANDLE, MP_ERR_INVALID_HANDLE);
        all_calls_refuse(&b, a.live[i], MP_ERR_INVALID_HANDLE, MP_ERR_INVALID_HANDLE);
    }
    fixture_unchanged(&a);
    fixture_unchanged(&b);
    mp_pool_destroy(a.pool);
    mp_pool_destroy(b.pool);
}

/* An overrun past the end of a block of a TLSF pool into the next block's
 * header (as a JavaScript view written past its block's end) and then a
 * compaction pass: the pass must find the bad header before it detaches the
 * free lists. It used to detach them, move the blocks below the bad header,
 * fail to rebuild the lists past it, and leave the free blocks there
 * unlisted with their old links; a later free merging with one of them
 * followed those links and wrote a list link into a live block that had
 * moved over an old free block (here g's free wrote into b's bytes 4..7). */
static void compaction_after_an_overrun_into_a_tlsf_header_leaves_live_blocks_intact(void) {
    MP_PoolConfig cfg = {.pool_bytes = 256 * KIB, .strategy = MP_STRATEGY_TLSF};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    /* In address order: a, f1, b, x, c, f2, d, g, f3, e. Blocks f1, f2, f3
     * and g have 9000 bytes (above the front cache, so their frees merge);
     * f1, f3, f2 are freed in that order onto one list: f2 -> f3 -> f1, so
     * f3's previous link names f2 and its next link f1. The pass moves b
     * down over f1 and stops at x, whose successor c has the bad header. */
    MP_Handle a, f1, b, x, c, f2, d, g, f3, e;
    REQUIRE(mp_pool_alloc(p, 100, 0, 0, &a) == MP_OK && mp_pool_alloc(p, 9000, 0, 0, &f1) == MP_OK);
    REQUIRE(mp_pool_alloc(p, 100, 0, 0, &b) == MP_OK && mp_pool_alloc(p, 100, 0, 0, &x) == MP_OK);
    REQUIRE(mp_pool_alloc(p, 100, 0, 0, &c) == MP_OK);
    REQUIRE(mp_pool_alloc(p, 9000, 0, 0, &f2) == MP_OK && mp_pool_alloc(p, 100, 0, 0, &d) == MP_OK);
    REQUIRE(mp_pool_alloc(p, 9000, 0, 0, &g) == MP_OK);
    REQUIRE(mp_pool_alloc(p, 9000, 0, 0, &f3) == MP_OK && mp_pool_alloc(p, 100, 0, 0, &e) == MP_OK);
    CHECK_STATUS(mp_pool_free(p, f1), MP_OK);
    CHECK_STATUS(mp_pool_free(p, f3), MP_OK);
    CHECK_STATUS(mp_pool_free(p, f2), MP_OK);
    uint8_t pattern[100], back[100];
    for (int i = 0; i < 100; i++) pattern[i] = (uint8_t)(i + 1);
    CHECK_STATUS(mp_pool_write(p, b, 0, pattern, 100), MP_OK);
    size_t c_offset, c_size;
    CHECK_STATUS(mp_pool_locate(p, c, &c_offset, &c_size), MP_OK);
    uint8_t *c_header = (uint8_t *)mp_pool_base(p) + c_offset - 16;
    MP_UNPOISON(c_header, 16);
    memset(c_header, 0x5A, 16);
    CHECK(mp_pool_check(p) > 0);
    MP_PoolStats before, after;
    CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
    MP_Status st = mp_pool_defragment(p, 0, NULL);
    CHECK_STATUS(st, MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_pool_stats(p, &after), MP_OK);
    CHECK(stats_differ(&before, &after) == 0); /* refused before moving anything */
    st = mp_pool_free(p, g); /* merges with f3: OK, or refused */
    CHECK(st == MP_OK || st == MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_pool_read(p, b, 0, back, 100), MP_OK);
    CHECK(memcmp(back, pattern, 100) == 0);
    mp_pool_destroy(p);
}

static void overflowing_offsets_and_lengths_are_out_of_bounds(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_SLAB));
    MP_Pool *p = f.pool;
    MP_Handle h = f.live[1];
    uint8_t buf[16];
    size_t bad[][2] = {{SIZE_MAX, 1}, {1, SIZE_MAX}, {SIZE_MAX, SIZE_MAX}, {101, 0}, {100, 1},
                       {50, 51},      {0, 101},       {SIZE_MAX - 50, 100}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t off = bad[i][0], len = bad[i][1];
        CHECK_STATUS(mp_pool_read(p, h, off, buf, len), MP_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mp_pool_write(p, h, off, buf, len), MP_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mp_pool_fill(p, h, off, 0, len), MP_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mp_pool_copy(p, h, off, f.live[2], 0, len), MP_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mp_pool_copy(p, f.live[2], 0, h, off, len), MP_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mp_pool_write_as(p, 1, h, off, buf, len), MP_ERR_OUT_OF_BOUNDS);
    }
    fixture_unchanged(&f);
    mp_pool_destroy(p);
}

static void null_buffers_with_a_length_are_invalid_arguments(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_AUTO));
    CHECK_STATUS(mp_pool_read(f.pool, f.live[0], 0, NULL, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_write(f.pool, f.live[0], 0, NULL, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_read(f.pool, f.live[0], 0, NULL, 0), MP_OK);
    CHECK_STATUS(mp_pool_write(f.pool, f.live[0], 100, NULL, 0), MP_OK);
    fixture_unchanged(&f);
    mp_pool_destroy(f.pool);
}

static void wrong_owner_is_refused_with_protection_and_nothing_changes(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_BEST_FIT));
    MP_Pool *p = f.pool;
    uint8_t buf[8] = {0};
    CHECK_STATUS(mp_pool_free_as(p, 1, f.live[0]), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_write_as(p, 1, f.live[0], 0, buf, 8), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_fill_as(p, 3, f.live[0], 0, 0, 8), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_copy_as(p, 1, f.live[1], 0, f.live[0], 0, 8), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_copy_as(p, 0, f.live[1], 0, f.live[0], 0, 8), MP_ERR_PROTECTION);
    fixture_unchanged(&f);
    MP_PoolStats now;
    CHECK_STATUS(mp_pool_stats(p, &now), MP_OK);
    CHECK(now.rejected_free_count == f.before.rejected_free_count + 1);
    CHECK(now.rejected_access_count == f.before.rejected_access_count + 4);
    mp_pool_destroy(p);
}

static void bad_allocations_change_nothing_but_the_failure_count(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_WORST_FIT));
    MP_Pool *p = f.pool;
    MP_Handle h = 4242;
    CHECK_STATUS(mp_pool_alloc(p, 0, 0, 0, &h), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0x2, &h), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_alloc(p, SIZE_MAX, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(mp_pool_alloc(p, SIZE_MAX / 2, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(mp_pool_alloc(p, 300 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK(h == 4242);
    CHECK_STATUS(mp_pool_set_owner_limit(p, 0, 1), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 1, 0, 0, &h), MP_ERR_LIMIT_EXCEEDED);
    CHECK(h == 4242);
    MP_PoolStats now;
    CHECK_STATUS(mp_pool_stats(p, &now), MP_OK);
    CHECK(now.allocation_failure_count == f.before.allocation_failure_count + 6);
    CHECK_STATUS(mp_pool_set_owner_limit(p, 0, 0), MP_OK);
    fixture_unchanged(&f);
    mp_pool_destroy(p);
}

static void null_pool_and_null_outputs_are_refused(void) {
    MP_Handle h = 0;
    uint8_t buf[4];
    MP_PoolStats st;
    MP_PoolOwnerStats os;
    MP_PoolBlockInfo info;
    size_t total;
    CHECK_STATUS(mp_pool_alloc(NULL, 8, 0, 0, &h), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_free(NULL, 1), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_free_as(NULL, 0, 1), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_read(NULL, 1, 0, buf, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_write(NULL, 1, 0, buf, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_fill(NULL, 1, 0, 0, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_copy(NULL, 1, 0, 1, 0, 4), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_locate(NULL, 1, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_block_info(NULL, 1, &info), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_pin(NULL, 1), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_unpin(NULL, 1), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_owner_stats(NULL, 0, &os), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_set_owner_limit(NULL, 0, 1), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_free_owner(NULL, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_owner_blocks(NULL, 0, NULL, 0, &total), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_defragment(NULL, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_stats(NULL, &st), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_set_pressure_callback(NULL, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_pool_check(NULL) != 0);
    CHECK(mp_pool_relocation_count(NULL) == 0);
    CHECK(mp_pool_base(NULL) == NULL);
    CHECK(mp_pool_pressure_level(NULL) == MP_PRESSURE_LOW);
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_FIRST_FIT));
    CHECK_STATUS(mp_pool_alloc(f.pool, 8, 0, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_stats(f.pool, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_owner_stats(f.pool, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_block_info(f.pool, f.live[0], NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_owner_blocks(f.pool, 0, NULL, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_owner_blocks(f.pool, 0, NULL, 3, &total), MP_ERR_INVALID_ARGUMENT);
    fixture_unchanged(&f);
    mp_pool_destroy(f.pool);
}

static void double_free_after_defragment_moved_the_block_is_still_detected(void) {
    fixture f;
    REQUIRE(fixture_setup(&f, MP_STRATEGY_FIRST_FIT));
    MP_Pool *p = f.pool;
    CHECK_STATUS(mp_pool_free(p, f.live[0]), MP_OK);
    MP_DefragResult r;
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.blocks_moved == 3);
    CHECK_STATUS(mp_pool_free(p, f.live[0]), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_pool_free(p, f.freed), MP_ERR_DOUBLE_FREE);
    for (int i = 1; i < 4; i++) CHECK_STATUS(mp_pool_free(p, f.live[i]), MP_OK);
    for (int i = 1; i < 4; i++) CHECK_STATUS(mp_pool_free(p, f.live[i]), MP_ERR_DOUBLE_FREE);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* One owner over TLSF: mp_pool_free's fast path compares a handle only with
 * fast_free_end (the table is mapped for every index), not with high_water. Handle
 * 0, handles of fresh slots above high_water (zero: handle 0, no block) and
 * of the last slot are still INVALID_HANDLE, a stale one a DOUBLE_FREE, and
 * nothing changes but the rejected count. */
static void fast_free_refuses_fresh_slots_and_handle_zero(void) {
    MP_Pool *p = mp_pool_create(256 * KIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    MP_Handle live, freed;
    REQUIRE(mp_pool_alloc(p, 100, 0, 0, &live) == MP_OK && mp_pool_alloc(p, 100, 0, 0, &freed) == MP_OK);
    CHECK_STATUS(mp_pool_free(p, freed), MP_OK);
    CHECK(p->fast_free_end == p->last_gen_handle && p->high_water == 2);
    uint32_t last = (uint32_t)(p->max_blocks - 1);
    MP_Handle bad[] = {0, pool_handle(p, 2, 0), pool_handle(p, 2, 1), pool_handle(p, 7, 1),
                       pool_handle(p, last, 1), pool_handle(p, last, 0)};
    MP_PoolStats before, now;
    CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_STATUS(mp_pool_free(p, bad[i]), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_free(p, freed), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_pool_stats(p, &now), MP_OK);
    CHECK(now.rejected_free_count == before.rejected_free_count + sizeof bad / sizeof bad[0] + 1);
    now.rejected_free_count = before.rejected_free_count;
    CHECK(stats_differ(&before, &now) == 0);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free(p, live), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void count_pressure_calls(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    (void)pool, (void)old_level, (void)new_level;
    ++*(int *)ctx;
}

/* What the fast paths read is derived and checked: the free stack's top (a
 * slot pointer), a free slot's negated last handle, fast_free_end,
 * fast_alloc_owner, and the pressure band (bytes in use kept relative to
 * its lower end, its span capped at peak + 1). A new peak leaves the band
 * and is recorded without a pressure callback; mp_pool_check finds each
 * field off by one. */
static void fast_path_fields_are_derived_and_checked(void) {
    MP_Pool *p = mp_pool_create(256 * KIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    int calls = 0;
    CHECK_STATUS(mp_pool_set_pressure_callback(p, count_pressure_calls, &calls), MP_OK);
    MP_Handle a, b, c;
    MP_PoolStats st;
    REQUIRE(mp_pool_alloc(p, 1000, 7, 0, &a) == MP_OK);
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    size_t first_peak = st.peak_usage_bytes;
    CHECK(first_peak == st.used_bytes && first_peak >= 1000);
    CHECK(p->pressure_down_bytes == 0 && p->pressure_span_bytes == first_peak + 1);
    CHECK(p->fast_alloc_owner == 7 && p->fast_free_end == p->last_gen_handle);
    CHECK_STATUS(mp_pool_free(p, a), MP_OK);
    CHECK(p->free_top == &p->slots[a & p->index_mask] && p->free_top->handle == 0u - a);
    CHECK_STATUS(mp_pool_alloc(p, 100, 7, 0, &b), MP_OK);
    CHECK(b == a + p->gen_step); /* the same slot, the next generation */
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.peak_usage_bytes == first_peak && st.used_bytes < first_peak);
    CHECK_STATUS(mp_pool_alloc(p, 1000, 7, 0, &c), MP_OK); /* a new peak */
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.peak_usage_bytes == st.used_bytes && st.peak_usage_bytes > first_peak);
    CHECK(p->pressure_span_bytes == st.peak_usage_bytes + 1);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_LOW && calls == 0);
    CHECK_STATUS(mp_pool_free(p, b), MP_OK);
    CHECK(mp_pool_check(p) == 0);

    p->pressure_span_bytes++;
    CHECK(mp_pool_check(p) > 0);
    p->pressure_span_bytes--;
    p->peak_used_bytes++;
    CHECK(mp_pool_check(p) > 0);
    p->peak_used_bytes--;
    size_t in_band = p->band_used_bytes;
    p->band_used_bytes = p->pressure_span_bytes; /* above the band */
    CHECK(mp_pool_check(p) > 0);
    p->band_used_bytes = in_band;
    p->fast_free_end--;
    CHECK(mp_pool_check(p) > 0);
    p->fast_free_end++;
    p->fast_alloc_owner++;
    CHECK(mp_pool_check(p) > 0);
    p->fast_alloc_owner--;
    p->free_top->handle -= 1u; /* the negation of another slot's handle */
    CHECK(mp_pool_check(p) > 0);
    p->free_top->handle += 1u;
    pool_slot *top = p->free_top;
    p->free_top = p->slots + p->high_water; /* a fresh slot, not on the stack */
    CHECK(mp_pool_check(p) > 0);
    p->free_top = top;
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free(p, c), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

MP_TEST_MAIN(TEST_CASE(forged_and_out_of_range_handles_are_invalid_and_change_nothing),
             TEST_CASE(fast_path_fields_are_derived_and_checked),
             TEST_CASE(stale_handles_are_invalid_and_freeing_them_is_a_double_free),
             TEST_CASE(fast_free_refuses_fresh_slots_and_handle_zero),
             TEST_CASE(handles_of_another_pool_are_invalid_even_with_the_same_slot),
             TEST_CASE(handles_of_a_pool_created_256_pools_later_are_still_foreign),
             TEST_CASE(overflowing_offsets_and_lengths_are_out_of_bounds),
             TEST_CASE(null_buffers_with_a_length_are_invalid_arguments),
             TEST_CASE(wrong_owner_is_refused_with_protection_and_nothing_changes),
             TEST_CASE(bad_allocations_change_nothing_but_the_failure_count),
             TEST_CASE(null_pool_and_null_outputs_are_refused),
             TEST_CASE(double_free_after_defragment_moved_the_block_is_still_detected),
             TEST_CASE(compaction_after_an_overrun_into_a_tlsf_header_leaves_live_blocks_intact))
