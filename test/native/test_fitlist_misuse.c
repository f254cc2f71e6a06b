/*
 * test_fitlist_misuse.c - every misuse of the fit-list API returns its
 * documented status and changes nothing but the rejected/failed counters:
 * MP_HeapStats are compared with memcmp (those two counters masked) and
 * check() stays 0.
 */
#include "mp_test.h"

#include <stdint.h>

typedef struct snapshot {
    MP_HeapStats stats;
    MP_FreeStats free_stats;
} snapshot;

static snapshot take(MP_FitList *f) {
    snapshot s;
    memset(&s, 0, sizeof s);
    mp_fitlist_stats(f, &s.stats);
    mp_fitlist_free_stats(f, &s.free_stats);
    s.stats.rejected_free_count = 0;
    s.stats.failed_alloc_count = 0;
    return s;
}

/* Nothing but the masked counters may differ between two snapshots. */
static int unchanged(MP_FitList *f, const snapshot *before) {
    snapshot now = take(f);
    return memcmp(&now, before, sizeof now) == 0 && mp_fitlist_check(f) == 0;
}

static uint64_t rejected(MP_FitList *f) {
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    return s.rejected_free_count;
}

static uint64_t failed(MP_FitList *f) {
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    return s.failed_alloc_count;
}

/* A pool with a few live and free blocks, so misuse meets real neighbours. */
static MP_FitList *busy_pool(MP_FitPolicy policy, uint8_t **live) {
    MP_FitList *f = mp_fitlist_create(8192, policy);
    if (f == NULL) return NULL;
    for (int i = 0; i < 4; i++)
        live[i] = mp_fitlist_alloc(f, (size_t)(48 + 32 * i));
    mp_fitlist_free(f, live[1]);
    return f;
}

static void double_free_returns_MP_ERR_DOUBLE_FREE_and_changes_nothing(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        uint8_t *b[4];
        MP_FitList *f = busy_pool((MP_FitPolicy)policy, b);
        REQUIRE(f != NULL && b[3] != NULL);
        snapshot before = take(f);
        CHECK_STATUS(mp_fitlist_free(f, b[1]), MP_ERR_DOUBLE_FREE);
        CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
        CHECK(unchanged(f, &before) && rejected(f) == 1);
        mp_fitlist_destroy(f);
    }
}

static void free_of_a_block_merged_into_its_left_neighbour_is_an_invalid_address(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_BEST, b);
    REQUIRE(f != NULL);
    CHECK_STATUS(mp_fitlist_free(f, b[2]), MP_OK); /* merges into b[1]'s free block */
    snapshot before = take(f);
    CHECK_STATUS(mp_fitlist_free(f, b[2]), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_fitlist_free(f, b[1]), MP_ERR_DOUBLE_FREE);
    CHECK(unchanged(f, &before) && rejected(f) == 2);
    mp_fitlist_destroy(f);
}

static void free_of_foreign_and_interior_pointers_returns_MP_ERR_INVALID_ADDRESS(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_FIRST, b);
    REQUIRE(f != NULL && b[0] != NULL);
    int on_stack = 0;
    uint8_t *base = mp_fitlist_base(f);
    void *bad[] = {NULL,     &on_stack, base - 16, base + 8192, base + 8192 + 16,
                   b[0] + 1, b[0] + 16, b[3] + 8,  b[3] + 48};
    snapshot before = take(f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_STATUS(mp_fitlist_free(f, bad[i]), MP_ERR_INVALID_ADDRESS);
    CHECK(unchanged(f, &before) && rejected(f) == sizeof bad / sizeof bad[0]);
    CHECK(mp_fitlist_usable_size(f, b[0] + 16) == 0 && mp_fitlist_usable_size(f, b[1]) == 0);
    CHECK(mp_fitlist_usable_size(f, NULL) == 0);
    mp_fitlist_destroy(f);
}

static void free_after_reset_is_refused(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_WORST, b);
    REQUIRE(f != NULL);
    CHECK_STATUS(mp_fitlist_reset(f), MP_OK);
    snapshot before = take(f);
    CHECK_STATUS(mp_fitlist_free(f, b[0]), MP_ERR_DOUBLE_FREE); /* the base starts the one free block */
    CHECK_STATUS(mp_fitlist_free(f, b[2]), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_fitlist_free(f, b[3]), MP_ERR_INVALID_ADDRESS);
    void *p = b[3];
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 10), MP_ERR_INVALID_ADDRESS);
    CHECK(p == b[3]);
    CHECK(unchanged(f, &before) && rejected(f) == 4);
    mp_fitlist_destroy(f);
}

static void bad_alignment_returns_null_with_MP_ERR_ALIGNMENT(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_FIRST, b);
    REQUIRE(f != NULL);
    snapshot before = take(f);
    static const size_t aligns[] = {0, 3, 24, 48, 4095, SIZE_MAX};
    for (size_t i = 0; i < 6; i++) {
        mp_clear_last_error();
        CHECK(mp_fitlist_alloc_aligned(f, 16, aligns[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    }
    CHECK(unchanged(f, &before) && failed(f) == 6);
    mp_fitlist_destroy(f);
}

static void overflowing_sizes_fail_cleanly(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_BEST, b);
    REQUIRE(f != NULL);
    memset(b[0], 0x3C, 48);
    snapshot before = take(f);
    static const size_t overflow[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 14};
    for (size_t i = 0; i < 3; i++) {
        CHECK(mp_fitlist_alloc(f, overflow[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_SIZE_OVERFLOW);
        CHECK(mp_fitlist_calloc(f, overflow[i]) == NULL);
        CHECK(mp_fitlist_alloc_aligned(f, overflow[i], 4096) == NULL);
        CHECK(mp_last_error().status == MP_ERR_SIZE_OVERFLOW);
        void *p = b[0];
        CHECK_STATUS(mp_fitlist_realloc(f, &p, overflow[i]), MP_ERR_SIZE_OVERFLOW);
        CHECK(p == b[0] && b[0][0] == 0x3C && b[0][47] == 0x3C);
    }
    static const size_t too_big[] = {SIZE_MAX - 15, SIZE_MAX / 2, 8193, 8192};
    for (size_t i = 0; i < 4; i++) {
        CHECK(mp_fitlist_alloc(f, too_big[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        CHECK(mp_fitlist_alloc_aligned(f, too_big[i], (size_t)1 << 40) == NULL);
        void *p = b[0];
        CHECK_STATUS(mp_fitlist_realloc(f, &p, too_big[i]), MP_ERR_OUT_OF_MEMORY);
        CHECK(p == b[0] && b[0][0] == 0x3C && b[0][47] == 0x3C);
    }
    /* Alignments far beyond the region fail without overflowing. */
    CHECK(mp_fitlist_alloc_aligned(f, 16, (size_t)1 << (sizeof(size_t) * 8 - 1)) == NULL);
    CHECK(unchanged(f, &before) && failed(f) == 3 * 4 + 4 * 3 + 1);
    mp_fitlist_destroy(f);
}

static void realloc_of_a_free_block_returns_MP_ERR_DOUBLE_FREE(void) {
    uint8_t *b[4];
    MP_FitList *f = busy_pool(MP_FIT_FIRST, b);
    REQUIRE(f != NULL);
    snapshot before = take(f);
    void *p = b[1];
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 10), MP_ERR_DOUBLE_FREE);
    CHECK(p == b[1]);
    p = b[0] + 16;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 10), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_fitlist_realloc(f, NULL, 10), MP_ERR_INVALID_ARGUMENT);
    CHECK(unchanged(f, &before) && rejected(f) == 2);
    mp_fitlist_destroy(f);
}

static void null_instance_is_refused_everywhere(void) {
    void *p = NULL;
    MP_HeapStats s;
    MP_FreeStats fs;
    size_t released = 5;
    CHECK(mp_fitlist_alloc(NULL, 16) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fitlist_alloc_aligned(NULL, 16, 16) == NULL);
    CHECK(mp_fitlist_calloc(NULL, 16) == NULL);
    CHECK_STATUS(mp_fitlist_realloc(NULL, &p, 16), MP_ERR_INVALID_ARGUMENT);
    CHECK(p == NULL);
    CHECK_STATUS(mp_fitlist_free(NULL, &p), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fitlist_usable_size(NULL, &p) == 0);
    CHECK_STATUS(mp_fitlist_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fitlist_stats(NULL, &s), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fitlist_free_stats(NULL, &fs), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fitlist_walk(NULL, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_fitlist_check(NULL) == 1);
    CHECK(mp_fitlist_base(NULL) == NULL);
    CHECK_STATUS(mp_fitlist_trim(NULL, &released), MP_ERR_INVALID_ARGUMENT);
    CHECK(released == 5);
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    CHECK_STATUS(mp_fitlist_stats(f, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fitlist_free_stats(f, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_fitlist_walk(f, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_fitlist_destroy(f);
}

static void pointers_into_the_never_carved_part_return_MP_ERR_INVALID_ADDRESS(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        MP_FitList *f = mp_fitlist_create(1 << 20, (MP_FitPolicy)policy);
        REQUIRE(f != NULL);
        uint8_t *p = mp_fitlist_alloc(f, 100), *base = mp_fitlist_base(f);
        REQUIRE(p != NULL);
        snapshot before = take(f);
        /* Inside the one free block that was never carved: its metadata is
         * set up lazily and must read as "no block starts here". */
        void *bad[] = {base + (512 << 10), base + (1 << 20) - 16, base + (1 << 20) - 1024, base + 4096};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK_STATUS(mp_fitlist_free(f, bad[i]), MP_ERR_INVALID_ADDRESS);
            CHECK(mp_fitlist_usable_size(f, bad[i]) == 0);
            void *q = bad[i];
            CHECK_STATUS(mp_fitlist_realloc(f, &q, 10), MP_ERR_INVALID_ADDRESS);
        }
        CHECK(unchanged(f, &before) && rejected(f) == 2 * sizeof bad / sizeof bad[0]);
        mp_fitlist_destroy(f);
    }
}

static void bad_configs_are_refused_with_MP_ERR_INVALID_ARGUMENT(void) {
    static _Alignas(16) uint8_t region[256];
    MP_FitListConfig bad[] = {
        {0, MP_FIT_FIRST, 0, NULL},
        {15, MP_FIT_BEST, 0, NULL},
        {4096, (MP_FitPolicy)3, 0, NULL},
        {4096, (MP_FitPolicy)-1, 0, NULL},
        {4096, MP_FIT_FIRST, 0x80, NULL},
        {(size_t)1 << 36, MP_FIT_WORST, 0, NULL}, /* beyond 32 GiB */
        {15, MP_FIT_FIRST, 0, region},
        {20, MP_FIT_FIRST, 0, region + 1}, /* 5 bytes left after aligning the base */
        {10, MP_FIT_FIRST, 0, region + 1}, /* nothing left after aligning the base */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_clear_last_error();
        CHECK(mp_fitlist_create_ex(&bad[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
        if (bad[i].region == NULL) CHECK(mp_fitlist_footprint(&bad[i]) == 0);
    }
    CHECK(mp_fitlist_create(0, MP_FIT_FIRST) == NULL);
    CHECK(mp_fitlist_create_ex(NULL) == NULL);
    CHECK(mp_fitlist_footprint(NULL) == 0);
    MP_FitListConfig ok = {4096, MP_FIT_FIRST, 0, NULL};
    CHECK(mp_fitlist_create_in(NULL, 1 << 20, &ok) == NULL);
    CHECK(mp_fitlist_create_in(region, sizeof region, &ok) == NULL);
    CHECK(mp_fitlist_create_in(region, sizeof region, NULL) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

MP_TEST_MAIN(TEST_CASE(double_free_returns_MP_ERR_DOUBLE_FREE_and_changes_nothing),
             TEST_CASE(free_of_a_block_merged_into_its_left_neighbour_is_an_invalid_address),
             TEST_CASE(free_of_foreign_and_interior_pointers_returns_MP_ERR_INVALID_ADDRESS),
             TEST_CASE(free_after_reset_is_refused),
             TEST_CASE(bad_alignment_returns_null_with_MP_ERR_ALIGNMENT),
             TEST_CASE(overflowing_sizes_fail_cleanly),
             TEST_CASE(realloc_of_a_free_block_returns_MP_ERR_DOUBLE_FREE),
             TEST_CASE(null_instance_is_refused_everywhere),
             TEST_CASE(pointers_into_the_never_carved_part_return_MP_ERR_INVALID_ADDRESS),
             TEST_CASE(bad_configs_are_refused_with_MP_ERR_INVALID_ARGUMENT))
