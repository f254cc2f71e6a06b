/*
 * test_buddy_misuse.c - every misuse of the buddy allocator returns its
 * documented status and changes nothing: MP_HeapStats are compared byte for
 * byte before and after (except the rejected/failed counters, which must
 * grow by exactly one) and check() stays 0.
 */
#include <stdint.h>

#include "mp_test.h"

typedef enum counter { COUNTER_NONE, COUNTER_FAILED_ALLOC, COUNTER_REJECTED_FREE } counter;

static MP_HeapStats snapshot(const MP_Buddy *b) {
    MP_HeapStats st;
    memset(&st, 0, sizeof st);
    CHECK_STATUS(mp_buddy_stats(b, &st), MP_OK);
    return st;
}

/* Checks that only `which` moved, by one, since `before`. */
static void expect_unchanged(const MP_Buddy *b, MP_HeapStats before, counter which) {
    MP_HeapStats after = snapshot(b);
    if (which == COUNTER_FAILED_ALLOC) before.failed_alloc_count++;
    if (which == COUNTER_REJECTED_FREE) before.rejected_free_count++;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK(mp_buddy_check(b) == 0);
}

static MP_Buddy *make_busy_buddy(void **blocks, size_t n) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    if (b == NULL) return NULL;
    for (size_t i = 0; i < n; i++) blocks[i] = mp_buddy_alloc(b, 100 + i * 90);
    return b;
}

static void test_double_free_returns_double_free_and_changes_nothing(void) {
    void *blocks[4];
    MP_Buddy *b = make_busy_buddy(blocks, 4);
    REQUIRE(b != NULL);
    CHECK_STATUS(mp_buddy_free(b, blocks[1]), MP_OK);
    MP_HeapStats before = snapshot(b);
    CHECK_STATUS(mp_buddy_free(b, blocks[1]), MP_ERR_DOUBLE_FREE);
    CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    /* A block merged into a larger free block is no block start any more. */
    CHECK_STATUS(mp_buddy_free(b, blocks[3]), MP_OK);
    before = snapshot(b);
    MP_Status again = mp_buddy_free(b, blocks[3]);
    CHECK(again == MP_ERR_DOUBLE_FREE || again == MP_ERR_INVALID_ADDRESS);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    mp_buddy_destroy(b);
}

static void test_double_free_of_a_cached_block_returns_double_free_and_changes_nothing(void) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    REQUIRE(b != NULL);
    void *keep = mp_buddy_alloc(b, 64);
    void *p = mp_buddy_alloc(b, 64); /* keep's buddy: freeing p alone could merge */
    REQUIRE(keep != NULL && p != NULL);
    CHECK_STATUS(mp_buddy_free(b, keep), MP_OK);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK); /* both cached, unmerged */
    MP_HeapStats before = snapshot(b);
    CHECK_STATUS(mp_buddy_free(b, p), MP_ERR_DOUBLE_FREE);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    before = snapshot(b);
    CHECK_STATUS(mp_buddy_free(b, keep), MP_ERR_DOUBLE_FREE);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    CHECK(mp_buddy_usable_size(b, p) == 0);
    before = snapshot(b);
    void *q = p;
    CHECK(mp_buddy_realloc(b, &q, 100) == MP_ERR_DOUBLE_FREE && q == p);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    /* The cached block is handed out again, once. */
    CHECK(mp_buddy_alloc(b, 64) == p);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    mp_buddy_destroy(b);
}

static void test_double_free_past_the_cache_bound_is_still_detected(void) {
    enum { N = 64 }; /* well above the per-order cache bound */
    void *blocks[N];
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    REQUIRE(b != NULL);
    for (int i = 0; i < N; i++) REQUIRE((blocks[i] = mp_buddy_alloc(b, 64)) != NULL);
    for (int i = 0; i < N; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    for (int i = 0; i < N; i += 2) {
        MP_HeapStats before = snapshot(b);
        CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_ERR_DOUBLE_FREE);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    }
    mp_buddy_destroy(b);
}

static void test_foreign_and_null_pointers_return_invalid_address(void) {
    void *blocks[2];
    MP_Buddy *b = make_busy_buddy(blocks, 2);
    REQUIRE(b != NULL);
    int local = 0;
    unsigned char *base = mp_buddy_base(b);
    /* Below the base, past the end, and unaligned just below the base or
     * inside the last unit: every way a unit index computed from an offset
     * could land inside the region. */
    void *foreign[] = {NULL,     &local,           base - 64,            base + 64 * 1024, base + 1024 * 1024,
                       base - 1, base + 64 * 1024 - 1, (void *)UINTPTR_MAX};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        MP_HeapStats before = snapshot(b);
        CHECK_STATUS(mp_buddy_free(b, foreign[i]), MP_ERR_INVALID_ADDRESS);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
        CHECK(mp_buddy_usable_size(b, foreign[i]) == 0);
    }
    mp_buddy_destroy(b);
}

static void test_interior_pointers_return_invalid_address(void) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    REQUIRE(b != NULL);
    unsigned char *p = mp_buddy_alloc(b, 1000);
    REQUIRE(p != NULL);
    const size_t offsets[] = {1, 8, 16, 63, 64, 512, 1023};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        MP_HeapStats before = snapshot(b);
        CHECK_STATUS(mp_buddy_free(b, p + offsets[i]), MP_ERR_INVALID_ADDRESS);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
        void *q = p + offsets[i];
        before = snapshot(b);
        CHECK_STATUS(mp_buddy_realloc(b, &q, 10), MP_ERR_INVALID_ADDRESS);
        CHECK(q == p + offsets[i]);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    }
    /* Inside a free block, too. */
    MP_HeapStats before = snapshot(b);
    CHECK_STATUS(mp_buddy_free(b, p + 4096 + 64), MP_ERR_INVALID_ADDRESS);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    mp_buddy_destroy(b);
}

static void test_free_after_reset_is_rejected(void) {
    void *blocks[6];
    MP_Buddy *b = make_busy_buddy(blocks, 6);
    REQUIRE(b != NULL);
    CHECK_STATUS(mp_buddy_reset(b), MP_OK);
    for (size_t i = 0; i < 6; i++) {
        MP_HeapStats before = snapshot(b);
        MP_Status s = mp_buddy_free(b, blocks[i]);
        CHECK(s == MP_ERR_INVALID_ADDRESS || s == MP_ERR_DOUBLE_FREE);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
        void *q = blocks[i];
        before = snapshot(b);
        CHECK(mp_buddy_realloc(b, &q, 8) != MP_OK);
        CHECK(q == blocks[i]);
        expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    }
    mp_buddy_destroy(b);
}

static void test_bad_alignment_returns_null_and_alignment_error(void) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    REQUIRE(b != NULL);
    const size_t aligns[] = {0, 3, 48, 100, 4097, SIZE_MAX, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        MP_HeapStats before = snapshot(b);
        mp_clear_last_error();
        CHECK(mp_buddy_alloc_aligned(b, 16, aligns[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
        expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
    }
    mp_buddy_destroy(b);
}

static void test_overflowing_sizes_fail_cleanly(void) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    REQUIRE(b != NULL);
    unsigned char *p = mp_buddy_alloc(b, 100);
    REQUIRE(p != NULL);
    memset(p, 0x3c, 128);
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 64, SIZE_MAX / 2 + 1, SIZE_MAX / 2,
                            64 * 1024 + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        MP_HeapStats before = snapshot(b);
        CHECK(mp_buddy_alloc(b, sizes[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_SIZE_OVERFLOW || mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
        before = snapshot(b);
        CHECK(mp_buddy_calloc(b, sizes[i]) == NULL);
        expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
        before = snapshot(b);
        CHECK(mp_buddy_alloc_aligned(b, sizes[i], 64) == NULL);
        expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
        before = snapshot(b);
        void *q = p;
        MP_Status s = mp_buddy_realloc(b, &q, sizes[i]);
        CHECK(s == MP_ERR_SIZE_OVERFLOW || s == MP_ERR_OUT_OF_MEMORY);
        CHECK(q == p);
        CHECK(mp_buddy_usable_size(b, p) == 128);
        CHECK(p[0] == 0x3c && p[127] == 0x3c);
        expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
    }
    CHECK(mp_buddy_alloc(b, SIZE_MAX) == NULL);
    CHECK(mp_last_error().status == MP_ERR_SIZE_OVERFLOW);
    mp_buddy_destroy(b);
}

static void test_realloc_that_cannot_fit_leaves_the_block_intact(void) {
    MP_Buddy *b = mp_buddy_create(4096, 64);
    REQUIRE(b != NULL);
    unsigned char *p = mp_buddy_alloc(b, 1500);
    unsigned char *wall = mp_buddy_alloc(b, 64); /* keeps the other half busy */
    REQUIRE(p != NULL && wall != NULL);
    memset(p, 0x42, 2048);
    MP_HeapStats before = snapshot(b);
    void *q = p;
    CHECK_STATUS(mp_buddy_realloc(b, &q, 3000), MP_ERR_OUT_OF_MEMORY);
    CHECK(q == p);
    CHECK(p[0] == 0x42 && p[2047] == 0x42);
    expect_unchanged(b, before, COUNTER_FAILED_ALLOC);
    mp_buddy_destroy(b);
}

static void test_realloc_of_a_freed_block_is_rejected(void) {
    void *blocks[3];
    MP_Buddy *b = make_busy_buddy(blocks, 3);
    REQUIRE(b != NULL);
    CHECK_STATUS(mp_buddy_free(b, blocks[2]), MP_OK);
    MP_HeapStats before = snapshot(b);
    void *q = blocks[2];
    MP_Status s = mp_buddy_realloc(b, &q, 10);
    CHECK(s == MP_ERR_DOUBLE_FREE || s == MP_ERR_INVALID_ADDRESS);
    CHECK(q == blocks[2]);
    expect_unchanged(b, before, COUNTER_REJECTED_FREE);
    mp_buddy_destroy(b);
}

static int count_blocks(void *ptr, size_t size, int is_used, void *ctx) {
    (void)ptr, (void)size, (void)is_used;
    ++*(size_t *)ctx;
    return 0;
}

static void test_null_instance_and_null_arguments_are_rejected(void) {
    void *p = NULL;
    MP_HeapStats st;
    MP_FreeStats fs;
    size_t n = 0;
    CHECK(mp_buddy_alloc(NULL, 8) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_buddy_alloc_aligned(NULL, 8, 8) == NULL);
    CHECK(mp_buddy_calloc(NULL, 8) == NULL);
    CHECK_STATUS(mp_buddy_realloc(NULL, &p, 8), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_free(NULL, &n), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_buddy_usable_size(NULL, &n) == 0);
    CHECK_STATUS(mp_buddy_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_stats(NULL, &st), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_free_stats(NULL, &fs), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_walk(NULL, count_blocks, &n), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_buddy_check(NULL) != 0);
    CHECK(mp_buddy_base(NULL) == NULL);
    CHECK_STATUS(mp_buddy_trim(NULL, &n), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_buddy_footprint(NULL) == 0);
    CHECK(mp_buddy_create_ex(NULL) == NULL);
    CHECK(mp_buddy_create_in(NULL, 1 << 20, NULL) == NULL);

    MP_Buddy *b = mp_buddy_create(4096, 64);
    REQUIRE(b != NULL);
    MP_HeapStats before = snapshot(b);
    CHECK_STATUS(mp_buddy_realloc(b, NULL, 8), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_stats(b, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_free_stats(b, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_buddy_walk(b, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    expect_unchanged(b, before, COUNTER_NONE);
    CHECK_STATUS(mp_buddy_walk(b, count_blocks, &n), MP_OK);
    CHECK(n == 1);
    mp_buddy_destroy(b);
}

static void test_bad_configs_are_rejected_with_invalid_argument(void) {
    static unsigned char region[8192] __attribute__((aligned(64)));
    const MP_BuddyConfig bad[] = {
        {0, 64, 0, 0, NULL},             /* empty region */
        {63, 64, 0, 0, NULL},            /* smaller than one block */
        {4096, 8, 0, 0, NULL},           /* min below 16 */
        {4096, 48, 0, 0, NULL},          /* min not a power of two */
        {4096, 64, 96, 0, NULL},         /* max not a power of two */
        {4096, 64, 32, 0, NULL},         /* max below min */
        {4096, 64, 8192, 0, NULL},       /* max above the region */
        {4096, 64, 0, 0x10, NULL},       /* unknown flag */
        {SIZE_MAX, 16, 0, 0, NULL},      /* more units than indices */
        {8192, 64, 8192, 0, region + 16}, /* caller region loses a unit: max too big */
        {40, 64, 0, 0, region + 16},     /* caller region smaller than a unit once aligned */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_clear_last_error();
        CHECK(mp_buddy_create_ex(&bad[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
        if (bad[i].region == NULL) CHECK(mp_buddy_footprint(&bad[i]) == 0);
    }
    CHECK(mp_buddy_create(4096, 24) == NULL);
    MP_BuddyConfig ok = {4096, 64, 0, 0, NULL};
    size_t need = mp_buddy_footprint(&ok);
    CHECK(need > 4096);
    unsigned char *mem = malloc(need);
    REQUIRE(mem != NULL);
    CHECK(mp_buddy_create_in(mem, need - 1, &ok) == NULL);
    CHECK(mp_buddy_create_in(mem, need, &bad[3]) == NULL);
    MP_Buddy *b = mp_buddy_create_in(mem, need, &ok);
    CHECK(b != NULL);
    mp_buddy_destroy(b);
    free(mem);
}

MP_TEST_MAIN(TEST_CASE(test_double_free_returns_double_free_and_changes_nothing),
             TEST_CASE(test_double_free_of_a_cached_block_returns_double_free_and_changes_nothing),
             TEST_CASE(test_double_free_past_the_cache_bound_is_still_detected),
             TEST_CASE(test_foreign_and_null_pointers_return_invalid_address),
             TEST_CASE(test_interior_pointers_return_invalid_address),
             TEST_CASE(test_free_after_reset_is_rejected),
             TEST_CASE(test_bad_alignment_returns_null_and_alignment_error),
             TEST_CASE(test_overflowing_sizes_fail_cleanly),
             TEST_CASE(test_realloc_that_cannot_fit_leaves_the_block_intact),
             TEST_CASE(test_realloc_of_a_freed_block_is_rejected),
             TEST_CASE(test_null_instance_and_null_arguments_are_rejected),
             TEST_CASE(test_bad_configs_are_rejected_with_invalid_argument))
