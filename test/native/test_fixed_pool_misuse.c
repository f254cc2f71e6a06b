/*
 * test_fixed_pool_misuse.c - every bad input returns its documented status
 * (or NULL with mp_last_error set) and changes nothing: stats are equal
 * before and after except the one misuse counter, and check() stays 0.
 * Free misuse runs on plain and thread-safe pools alike.
 */
#define _DEFAULT_SOURCE
#include "test_util.h"

/* create_ex(cfg) must fail with `expected`; footprint and region_bytes
 * must call the same config invalid. */
static void expect_create_fails(MP_FixedPoolConfig cfg, MP_Status expected, int line) {
    mp_clear_last_error();
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    if (pool != NULL || mp_last_error().status != expected) {
        fprintf(stderr, "line %d: create_ex gave %p, %s; expected NULL, %s\n", line, (void *)pool,
                mp_status_str(mp_last_error().status), mp_status_str(expected));
        CHECK(pool == NULL && mp_last_error().status == expected);
        mp_fixed_pool_destroy(pool);
        return;
    }
    if (cfg.region == NULL) {
        CHECK(mp_fixed_pool_footprint(&cfg) == 0);
        CHECK(mp_fixed_pool_region_bytes(&cfg) == 0);
        unsigned char memory[4096];
        CHECK(mp_fixed_pool_create_in(memory, sizeof memory, &cfg) == NULL);
    }
}

static void invalid_configs_fail_creation_with_their_status(void) {
    MP_FixedPoolConfig ok = {64, 16, 0, 0, NULL, 0};
    MP_FixedPoolConfig c;
    c = ok, c.object_size = 0, expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
    c = ok, c.capacity = 0, expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
#if SIZE_MAX > UINT32_MAX
    c = ok, c.capacity = (size_t)UINT32_MAX + 1, expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
#endif
    c = ok, c.capacity = SIZE_MAX, expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
    c = ok, c.object_size = SIZE_MAX, expect_create_fails(c, MP_ERR_SIZE_OVERFLOW, __LINE__);
    c = ok, c.object_size = SIZE_MAX - 14, expect_create_fails(c, MP_ERR_SIZE_OVERFLOW, __LINE__);
    c = ok, c.object_size = SIZE_MAX / 8, c.capacity = 16;
    expect_create_fails(c, MP_ERR_SIZE_OVERFLOW, __LINE__);
    c = ok, c.object_size = (size_t)PTRDIFF_MAX / 2 + 16, c.capacity = 2;
    expect_create_fails(c, MP_ERR_SIZE_OVERFLOW, __LINE__);
    c = ok, c.alignment = 3, expect_create_fails(c, MP_ERR_ALIGNMENT, __LINE__);
    c = ok, c.alignment = 48, expect_create_fails(c, MP_ERR_ALIGNMENT, __LINE__);
    c = ok, c.alignment = 8192, expect_create_fails(c, MP_ERR_ALIGNMENT, __LINE__);
    c = ok, c.alignment = SIZE_MAX, expect_create_fails(c, MP_ERR_ALIGNMENT, __LINE__);
    c = ok, c.flags = 0x2, expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
    c = ok, c.flags = MP_FLAG_THREAD_SAFE | 0x80000000u;
    expect_create_fails(c, MP_ERR_INVALID_ARGUMENT, __LINE__);
}

static void null_config_and_null_memory_are_invalid_arguments(void) {
    mp_clear_last_error();
    CHECK(mp_fixed_pool_create_ex(NULL) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fixed_pool_footprint(NULL) == 0);
    CHECK(mp_fixed_pool_region_bytes(NULL) == 0);
    unsigned char memory[8192];
    CHECK(mp_fixed_pool_create_in(memory, sizeof memory, NULL) == NULL);
    MP_FixedPoolConfig cfg = {16, 4, 0, 0, NULL, 0};
    mp_clear_last_error();
    CHECK(mp_fixed_pool_create_in(NULL, sizeof memory, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fixed_pool_create(0, 10) == NULL);
    CHECK(mp_fixed_pool_create(10, 0) == NULL);
}

static void memory_smaller_than_needed_is_refused(void) {
    MP_FixedPoolConfig cfg = {32, 32, 0, 0, NULL, 0};
    size_t footprint = mp_fixed_pool_footprint(&cfg);
    REQUIRE(footprint != 0);
    unsigned char *memory = malloc(footprint);
    REQUIRE(memory != NULL);
    mp_clear_last_error();
    CHECK(mp_fixed_pool_create_in(memory, footprint - 1, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_last_error().requested_bytes == footprint);
    free(memory);

    static _Alignas(64) unsigned char region[32 * 32];
    cfg.region = region;
    cfg.region_bytes = sizeof region - 1;
    mp_clear_last_error();
    CHECK(mp_fixed_pool_create_ex(&cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

static void address_space_sized_pool_fails_with_out_of_memory(void) {
    /* 2^60 bytes of slots do not overflow but cannot be mapped. */
    mp_clear_last_error();
    MP_FixedPool *pool = mp_fixed_pool_create((size_t)1 << 40, (size_t)1 << 20);
    CHECK(pool == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
}

static void largest_capacity_is_accepted_by_the_size_queries(void) {
    MP_FixedPoolConfig cfg = {1, UINT32_MAX, 0, 0, NULL, 0};
    CHECK(mp_fixed_pool_region_bytes(&cfg) == UINT32_MAX);
    CHECK(mp_fixed_pool_footprint(&cfg) > (size_t)UINT32_MAX * 5);
}

static void null_pool_is_an_invalid_argument_everywhere(void) {
    mp_clear_last_error();
    CHECK(mp_fixed_pool_alloc(NULL) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    int x;
    CHECK_STATUS(mp_fixed_pool_free(NULL, &x), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fixed_pool_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    MP_FixedPoolStats s;
    CHECK_STATUS(mp_fixed_pool_stats(NULL, &s), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fixed_pool_owns(NULL, &x) == 0);
    CHECK(mp_fixed_pool_check(NULL) != 0);
    CHECK(mp_fixed_pool_base(NULL) == NULL);
    uint32_t offsets[2] = {0, 0};
    CHECK(mp_fixed_pool_alloc_many(NULL, offsets, 2) == 0);
    size_t done = 5;
    CHECK_STATUS(mp_fixed_pool_free_many(NULL, offsets, 2, &done), MP_ERR_INVALID_ARGUMENT);
    CHECK(done == 0);
    size_t released = 5;
    CHECK_STATUS(mp_fixed_pool_trim(NULL, &released), MP_ERR_INVALID_ARGUMENT);
    CHECK(released == 0);
    mp_fixed_pool_destroy(NULL);
}

static void null_out_parameters_are_invalid_arguments_and_change_nothing(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(16, 4);
    REQUIRE(pool != NULL);
    MP_FixedPoolStats before = mp_test_fixed_stats(pool);
    CHECK_STATUS(mp_fixed_pool_stats(pool, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fixed_pool_trim(pool, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fixed_pool_alloc_many(pool, NULL, 3) == 0);
    CHECK_STATUS(mp_fixed_pool_free_many(pool, NULL, 3, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_test_same_fixed_stats(before, mp_test_fixed_stats(pool)));
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* free(ptr) must return `expected`, set the last error, count one rejected
 * free and change nothing else. */
static void expect_free_refused(MP_FixedPool *pool, const void *ptr, MP_Status expected, int line) {
    MP_FixedPoolStats before = mp_test_fixed_stats(pool);
    mp_clear_last_error();
    MP_Status got = mp_fixed_pool_free(pool, (void *)(uintptr_t)ptr);
    MP_FixedPoolStats after = mp_test_fixed_stats(pool);
    before.rejected_free_count++;
    if (got != expected || mp_last_error().status != expected || !mp_test_same_fixed_stats(before, after) ||
        mp_fixed_pool_check(pool) != 0) {
        fprintf(stderr, "line %d: free(%p) gave %s, expected %s\n", line, ptr, mp_status_str(got),
                mp_status_str(expected));
        CHECK(got == expected && mp_last_error().status == expected);
        CHECK(mp_test_same_fixed_stats(before, after));
        CHECK(mp_fixed_pool_check(pool) == 0);
    }
}

static void bad_frees_are_refused_with_their_status(uint32_t flags) {
    MP_FixedPoolConfig cfg = {24, 10, 0, flags, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    MP_FixedPool *other = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL && other != NULL);
    char *base = mp_fixed_pool_base(pool);
    char *p[4];
    for (int i = 0; i < 4; i++) p[i] = mp_fixed_pool_alloc(pool);
    char *foreign_slot = mp_fixed_pool_alloc(other);
    int on_stack = 0;
    char *heap = malloc(24);
    REQUIRE(heap != NULL);

    expect_free_refused(pool, NULL, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, &on_stack, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, heap, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, foreign_slot, MP_ERR_INVALID_ADDRESS, __LINE__);
    for (int off = 1; off < 24; off++)
        expect_free_refused(pool, p[1] + off, MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, (void *)((uintptr_t)base - 24), MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, (void *)((uintptr_t)base + 24 * 10), MP_ERR_INVALID_ADDRESS, __LINE__);
    expect_free_refused(pool, (void *)(uintptr_t)UINTPTR_MAX, MP_ERR_INVALID_ADDRESS, __LINE__);
    /* slot 7 was never handed out: at/above the high water */
    expect_free_refused(pool, base + 24 * 7, MP_ERR_INVALID_ADDRESS, __LINE__);

    CHECK_STATUS(mp_fixed_pool_free(pool, p[2]), MP_OK);
    expect_free_refused(pool, p[2], MP_ERR_DOUBLE_FREE, __LINE__);
    uint32_t again = (uint32_t)(p[2] - base);
    size_t done = 9;
    CHECK_STATUS(mp_fixed_pool_free_many(pool, &again, 1, &done), MP_ERR_DOUBLE_FREE);
    CHECK(done == 0);

    /* After a reset every old pointer is refused: above the new high water it
     * is INVALID_ADDRESS, below it (and free) DOUBLE_FREE. */
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    for (int i = 0; i < 4; i++) expect_free_refused(pool, p[i], MP_ERR_INVALID_ADDRESS, __LINE__);
    void *q0 = mp_fixed_pool_alloc(pool), *q1 = mp_fixed_pool_alloc(pool);
    CHECK(q0 == p[0] && q1 == p[1]);
    CHECK_STATUS(mp_fixed_pool_free(pool, q1), MP_OK);
    expect_free_refused(pool, p[1], MP_ERR_DOUBLE_FREE, __LINE__);
    expect_free_refused(pool, p[3], MP_ERR_INVALID_ADDRESS, __LINE__);

    MP_FixedPoolStats s = mp_test_fixed_stats(pool);
    CHECK(s.rejected_free_count == 4 + 23 + 4 + 1 + 1 + 4 + 2);
    free(heap);
    mp_fixed_pool_destroy(other);
    mp_fixed_pool_destroy(pool);
}

static void bad_frees_are_refused_on_a_plain_pool(void) { bad_frees_are_refused_with_their_status(0); }
static void bad_frees_are_refused_on_a_thread_safe_pool(void) {
    bad_frees_are_refused_with_their_status(MP_FLAG_THREAD_SAFE);
}

static void free_many_refuses_offsets_that_are_not_slot_starts(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(40, 4);
    REQUIRE(pool != NULL);
    uint32_t offsets[4];
    REQUIRE(mp_fixed_pool_alloc_many(pool, offsets, 4) == 4);
    static const uint32_t bad[] = {1, 39, 41, 160, 4000, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        MP_FixedPoolStats before = mp_test_fixed_stats(pool);
        size_t done = 9;
        CHECK_STATUS(mp_fixed_pool_free_many(pool, &bad[i], 1, &done), MP_ERR_INVALID_ADDRESS);
        CHECK(done == 0);
        before.rejected_free_count++;
        CHECK(mp_test_same_fixed_stats(before, mp_test_fixed_stats(pool)));
    }
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void alloc_on_a_full_pool_counts_a_failure_and_changes_nothing_else(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(8, 2);
    REQUIRE(pool != NULL);
    mp_fixed_pool_alloc(pool);
    mp_fixed_pool_alloc(pool);
    MP_FixedPoolStats before = mp_test_fixed_stats(pool);
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    uint32_t offsets[3];
    CHECK(mp_fixed_pool_alloc_many(pool, offsets, 3) == 0);
    before.failed_alloc_count += 2;
    CHECK(mp_test_same_fixed_stats(before, mp_test_fixed_stats(pool)));
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

MP_TEST_MAIN(TEST_CASE(invalid_configs_fail_creation_with_their_status),
             TEST_CASE(null_config_and_null_memory_are_invalid_arguments),
             TEST_CASE(memory_smaller_than_needed_is_refused),
             TEST_CASE(address_space_sized_pool_fails_with_out_of_memory),
             TEST_CASE(largest_capacity_is_accepted_by_the_size_queries),
             TEST_CASE(null_pool_is_an_invalid_argument_everywhere),
             TEST_CASE(null_out_parameters_are_invalid_arguments_and_change_nothing),
             TEST_CASE(bad_frees_are_refused_on_a_plain_pool),
             TEST_CASE(bad_frees_are_refused_on_a_thread_safe_pool),
             TEST_CASE(free_many_refuses_offsets_that_are_not_slot_starts),
             TEST_CASE(alloc_on_a_full_pool_counts_a_failure_and_changes_nothing_else))
