/*
 * test_slab_misuse.c - every misuse of the slab allocator returns its
 * documented status and changes nothing: MP_HeapStats equal byte for byte
 * except the rejected/failed counter that the misuse bumps, per-class stats
 * equal, check() still 0. Also: NULL instances, invalid configs, and
 * metadata corrupted behind the allocator's back being reported.
 */
#include "mp_test.h"
#include "slab_internal.h"

#include <stdint.h>

typedef struct snapshot {
    MP_HeapStats heap;
    MP_SlabClassStats classes[MP_SLAB_MAX_CLASSES];
    MP_FreeStats free;
} snapshot;

static snapshot take(const MP_Slab *s) {
    snapshot snap;
    memset(&snap, 0, sizeof snap);
    mp_slab_stats(s, &snap.heap);
    for (size_t c = 0; c < mp_slab_class_count(s); c++) mp_slab_class_stats(s, c, &snap.classes[c]);
    mp_slab_free_stats(s, &snap.free);
    return snap;
}

/* Compares two snapshots after the misuse moved `rejected` frees and
 * `failed` allocations into the heap counters. */
static int unchanged(const MP_Slab *s, snapshot before, uint64_t rejected, uint64_t failed) {
    snapshot after = take(s);
    before.heap.rejected_free_count += rejected;
    before.heap.failed_alloc_count += failed;
    return memcmp(&before, &after, sizeof before) == 0 && mp_slab_check(s) == 0;
}

/* An instance of `slabs` 4 KiB slabs, default classes when `classes` is NULL. */
static MP_Slab *small_pool(size_t slabs, const size_t *classes, size_t class_count) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = slabs * 4096;
    cfg.slab_bytes = 4096;
    cfg.class_sizes = classes;
    cfg.class_count = class_count;
    return mp_slab_create_ex(&cfg);
}

/* A pool with live and freed blocks in several classes. */
static MP_Slab *busy_pool(void **live, void **freed) {
    MP_Slab *s = small_pool(8, NULL, 0);
    if (s == NULL) return NULL;
    *live = mp_slab_alloc(s, 100);
    *freed = mp_slab_alloc(s, 100);
    void *other = mp_slab_alloc(s, 30);
    (void)other;
    mp_slab_free(s, *freed);
    return s;
}

static void double_free_returns_double_free_and_changes_nothing(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_free(s, freed), MP_ERR_DOUBLE_FREE);
    CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
    CHECK(unchanged(s, before, 1, 0));
    mp_slab_destroy(s);
}

static void double_free_is_caught_wherever_the_freed_slot_is_kept(void) {
    enum { N = 3 * SLAB_CACHE_SLOTS }; /* more than the class's cache holds */
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *keep = mp_slab_alloc(s, 48);
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = mp_slab_alloc(s, 48);
        REQUIRE(blocks[i] != NULL);
    }
    /* The oldest frees reach the slab's bitmap, the newest stay cached. */
    for (int i = 0; i < N; i++) CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_OK);
    snapshot before = take(s);
    for (int i = 0; i < N; i++) {
        CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_ERR_DOUBLE_FREE);
        CHECK(mp_slab_usable_size(s, blocks[i]) == 0);
        void *p = blocks[i];
        CHECK_STATUS(mp_slab_realloc(s, &p, 10), MP_ERR_DOUBLE_FREE);
        CHECK(p == blocks[i]);
    }
    CHECK(unchanged(s, before, 2 * N, 0));
    CHECK(mp_slab_usable_size(s, keep) == 64);
    CHECK_STATUS(mp_slab_free(s, keep), MP_OK);
    mp_slab_destroy(s);
}

static void freeing_a_never_used_slot_of_an_assigned_slab_is_a_double_free(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_free(s, (char *)live + 5 * 128), MP_ERR_DOUBLE_FREE);
    CHECK(unchanged(s, before, 1, 0));
    mp_slab_destroy(s);
}

static void double_free_after_the_slab_went_back_to_the_pool_is_still_reported(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc(s, 64);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_slab_free(s, p), MP_OK); /* its slab is empty, kept by its class */
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_free(s, p), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_slab_free(s, (char *)p + 64), MP_ERR_DOUBLE_FREE); /* never used, slab assigned */
    CHECK(unchanged(s, before, 2, 0));
    size_t released;
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK); /* gives the empty slab back to the pool */
    CHECK(mp_slab_class_stats(s, 3, &before.classes[3]) == MP_OK && before.classes[3].slab_count == 0);
    before = take(s);
    CHECK_STATUS(mp_slab_free(s, p), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_slab_free(s, (char *)p + 64), MP_ERR_INVALID_ADDRESS); /* never handed out */
    CHECK(unchanged(s, before, 2, 0));
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK);
    CHECK_STATUS(mp_slab_free(s, p), MP_ERR_DOUBLE_FREE);
    mp_slab_destroy(s);
}

static void foreign_pointers_return_invalid_address(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    int on_stack = 0;
    void *heap = malloc(64);
    snapshot before = take(s);
    unsigned char *base = mp_slab_base(s);
    CHECK_STATUS(mp_slab_free(s, NULL), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, &on_stack), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, heap), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, base - 16), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, base + 8 * 4096), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, base + 7 * 4096), MP_ERR_INVALID_ADDRESS); /* never-used slab */
    CHECK(unchanged(s, before, 6, 0));
    CHECK(mp_slab_usable_size(s, heap) == 0 && mp_slab_usable_size(s, NULL) == 0);
    free(heap);
    mp_slab_destroy(s);
}

static void interior_and_tail_pointers_return_invalid_address(void) {
    static const size_t classes[] = {24, 1000};
    MP_Slab *s = small_pool(4, classes, 2);
    REQUIRE(s != NULL);
    unsigned char *a = mp_slab_alloc(s, 24);
    unsigned char *b = mp_slab_alloc(s, 1000);
    REQUIRE(a && b);
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_free(s, a + 8), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, a + 1), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, b + 999), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, b + 4000), MP_ERR_INVALID_ADDRESS); /* the slab's unusable tail */
    CHECK_STATUS(mp_slab_free(s, a + 170 * 24), MP_ERR_INVALID_ADDRESS);
    CHECK(unchanged(s, before, 5, 0));
    mp_slab_destroy(s);
}

static void free_after_reset_returns_invalid_address(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    CHECK_STATUS(mp_slab_reset(s), MP_OK);
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_free(s, live), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_slab_free(s, freed), MP_ERR_INVALID_ADDRESS);
    void *p = live;
    CHECK_STATUS(mp_slab_realloc(s, &p, 10), MP_ERR_INVALID_ADDRESS);
    CHECK(p == live);
    CHECK(unchanged(s, before, 3, 0));
    mp_slab_destroy(s);
}

static void bad_alignments_return_null_with_alignment_error(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    snapshot before = take(s);
    const size_t aligns[] = {0, 3, 24, 48, (size_t)1 << 63 | 1, 8192, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        mp_clear_last_error();
        CHECK(mp_slab_alloc_aligned(s, 16, aligns[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    }
    CHECK(unchanged(s, before, 0, 7));
    mp_slab_destroy(s);
}

static void overflowing_sizes_fail_cleanly(void) {
    void *live, *freed;
    MP_Slab *s = busy_pool(&live, &freed);
    REQUIRE(s != NULL);
    memset(live, 0x3C, 128);
    snapshot before = take(s);
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 8, SIZE_MAX / 2 + 1, 4097};
    for (size_t i = 0; i < 5; i++) {
        CHECK(mp_slab_alloc(s, sizes[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
        CHECK(mp_slab_calloc(s, sizes[i]) == NULL);
        CHECK(mp_slab_alloc_aligned(s, sizes[i], 16) == NULL);
        void *p = live;
        CHECK_STATUS(mp_slab_realloc(s, &p, sizes[i]), MP_ERR_INVALID_ARGUMENT);
        CHECK(p == live);
    }
    CHECK(unchanged(s, before, 0, 20));
    for (int i = 0; i < 128; i++) CHECK(((unsigned char *)live)[i] == 0x3C);
    mp_slab_destroy(s);
}

static void realloc_that_cannot_move_leaves_the_block_intact(void) {
    MP_Slab *s = small_pool(1, NULL, 0);
    REQUIRE(s != NULL);
    unsigned char *p = mp_slab_alloc(s, 16);
    REQUIRE(p != NULL);
    memset(p, 0x77, 16);
    snapshot before = take(s);
    void *q = p;
    CHECK_STATUS(mp_slab_realloc(s, &q, 100), MP_ERR_OUT_OF_MEMORY);
    CHECK(q == p);
    for (int i = 0; i < 16; i++) CHECK(p[i] == 0x77);
    before.classes[4].failed_alloc_count++; /* class 128 could not serve it */
    CHECK(unchanged(s, before, 0, 1));
    mp_slab_destroy(s);
}

static void realloc_of_a_custom_class_without_a_wider_aligned_class_fails_with_alignment(void) {
    static const size_t classes[] = {64, 96};
    MP_Slab *s = small_pool(4, classes, 2);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc(s, 64); /* 64-aligned; 96 gives only 32 */
    REQUIRE(p != NULL);
    snapshot before = take(s);
    void *q = p;
    CHECK_STATUS(mp_slab_realloc(s, &q, 80), MP_ERR_ALIGNMENT);
    CHECK(q == p);
    CHECK(unchanged(s, before, 0, 1));
    mp_slab_destroy(s);
}

static void null_instances_and_arguments_are_rejected(void) {
    MP_HeapStats st;
    MP_FreeStats fs;
    MP_SlabClassStats cs;
    void *p = NULL;
    CHECK(mp_slab_alloc(NULL, 8) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_slab_alloc_aligned(NULL, 8, 8) == NULL);
    CHECK(mp_slab_calloc(NULL, 8) == NULL);
    CHECK_STATUS(mp_slab_realloc(NULL, &p, 8), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_free(NULL, &p), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_slab_usable_size(NULL, &p) == 0);
    CHECK_STATUS(mp_slab_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_stats(NULL, &st), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_free_stats(NULL, &fs), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_slab_class_count(NULL) == 0);
    CHECK_STATUS(mp_slab_class_stats(NULL, 0, &cs), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_walk(NULL, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_slab_check(NULL) == 1);
    CHECK(mp_slab_base(NULL) == NULL);
    CHECK_STATUS(mp_slab_trim(NULL, NULL), MP_ERR_INVALID_ARGUMENT);

    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    snapshot before = take(s);
    CHECK_STATUS(mp_slab_realloc(s, NULL, 8), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_stats(s, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_free_stats(s, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_class_stats(s, 0, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_class_stats(s, 10, &cs), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_slab_walk(s, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(unchanged(s, before, 0, 0));
    mp_slab_destroy(s);
}

/* Expects create_ex, footprint and create_in to reject `cfg`. */
static void expect_rejected(const MP_SlabConfig *cfg, int line) {
    static unsigned char memory[1 << 16];
    mp_clear_last_error();
    MP_Slab *s = mp_slab_create_ex(cfg);
    int accepted = s != NULL || mp_last_error().status == MP_OK || mp_slab_footprint(cfg) != 0 ||
                   mp_slab_create_in(memory, sizeof memory, cfg) != NULL;
    if (accepted) fprintf(stderr, "config of line %d was accepted\n", line);
    CHECK(!accepted);
    mp_slab_destroy(s);
}

static void invalid_configs_are_rejected(void) {
    static const size_t unsorted[] = {16, 8, 32};
    static const size_t duplicate[] = {8, 16, 16};
    static const size_t odd[] = {8, 20};
    static const size_t too_big[] = {8, 8192};
    static const size_t tiny[] = {0, 8};
    static size_t many[MP_SLAB_MAX_CLASSES + 1];
    for (size_t i = 0; i <= MP_SLAB_MAX_CLASSES; i++) many[i] = 8 * (i + 1);
    MP_SlabConfig good;
    memset(&good, 0, sizeof good);
    good.region_bytes = 4 * 4096;
    good.slab_bytes = 4096;
    CHECK(mp_slab_footprint(&good) != 0);
    expect_rejected(NULL, __LINE__);
    MP_SlabConfig c;
#define REJECT(field_changes)                    \
    do {                                         \
        c = good;                                \
        field_changes;                           \
        expect_rejected(&c, __LINE__);           \
    } while (0)
    REJECT(c.slab_bytes = 2048);
    REJECT(c.slab_bytes = 6000);
    REJECT(c.slab_bytes = (size_t)1 << 31);
    REJECT(c.region_bytes = 4095);
    REJECT(c.region_bytes = 0);
    REJECT(c.flags = 0x80);
    REJECT(c.max_class_bytes = 100);
    REJECT(c.max_class_bytes = 4);
    REJECT(c.max_class_bytes = 8192);
    REJECT(c.class_count = 3);
    REJECT((c.class_sizes = unsorted, c.class_count = 3));
    REJECT((c.class_sizes = duplicate, c.class_count = 3));
    REJECT((c.class_sizes = odd, c.class_count = 2));
    REJECT((c.class_sizes = too_big, c.class_count = 2));
    REJECT((c.class_sizes = tiny, c.class_count = 2));
    REJECT((c.class_sizes = many, c.class_count = 0));
    REJECT((c.class_sizes = many, c.class_count = MP_SLAB_MAX_CLASSES + 1));
#undef REJECT
    many[MP_SLAB_MAX_CLASSES - 1] = 4096;
    c = good;
    c.class_sizes = many;
    c.class_count = MP_SLAB_MAX_CLASSES; /* the most classes there can be */
    MP_Slab *s = mp_slab_create_ex(&c);
    CHECK(s != NULL && mp_slab_class_count(s) == MP_SLAB_MAX_CLASSES);
    mp_slab_destroy(s);
}

static void misaligned_or_short_caller_memory_is_rejected(void) {
    static _Alignas(4096) unsigned char region[5 * 4096];
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = 4 * 4096;
    cfg.slab_bytes = 4096;
    cfg.region = region + 8;
    CHECK(mp_slab_create_ex(&cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    cfg.region = NULL;
    size_t need = mp_slab_footprint(&cfg);
    CHECK(mp_slab_create_in(NULL, need, &cfg) == NULL);
    CHECK(mp_slab_create_in(region, need - 1, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

static void a_region_larger_than_the_address_space_fails_with_out_of_memory(void) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = (size_t)1 << 52;
    cfg.slab_bytes = (size_t)1 << 30;
    mp_clear_last_error();
    CHECK(mp_slab_create_ex(&cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
}

/* 64-byte blocks: slab 0 (1024 slots) full but for one freed slot and on
 * the partial list, slab 1 the active slab with `in_slab_1` live blocks.
 * (trim makes the free reach the slab's bitmap: a class keeps its most
 * recently freed slot aside until the next free or trim.) */
static MP_Slab *partial_and_active(void **in_slab_0, size_t in_slab_1) {
    MP_Slab *s = mp_slab_create(1 << 20);
    if (s == NULL) return NULL;
    for (int i = 0; i < 1024; i++) in_slab_0[i] = mp_slab_alloc(s, 64);
    for (size_t i = 0; i < in_slab_1; i++) (void)mp_slab_alloc(s, 64);
    mp_slab_free(s, in_slab_0[5]);
    mp_slab_trim(s, NULL);
    return s;
}

static void corrupted_metadata_is_reported_not_followed(void) {
    static void *in_slab_0[1024];
    MP_Slab *s = partial_and_active(in_slab_0, 1023);
    REQUIRE(s != NULL && in_slab_0[1023] != NULL);
    CHECK(mp_slab_check(s) == 0);
    /* Wipe the freed slot's bit: the partial slab looks full. */
    uint64_t *l0 = slab_l0(s, 0, &s->classes[3]), *l1 = slab_l1(s, 0);
    uint64_t saved_l0 = l0[0], saved_l1 = l1[0];
    l0[0] = 0;
    CHECK(mp_slab_check(s) > 0);
    CHECK(mp_slab_alloc(s, 64) != NULL);  /* the last slot of slab 1 */
    CHECK(mp_slab_alloc(s, 64) == NULL);  /* slab 0, the partial one, has no free slot */
    CHECK(mp_last_error().status == MP_ERR_CORRUPTION);
    l0[0] = saved_l0;
    l1[0] = saved_l1;
    CHECK(mp_slab_check(s) == 0);
    CHECK(mp_slab_alloc(s, 64) == in_slab_0[5]); /* found again once repaired */
    /* Counters and links that disagree with the slabs are each counted. */
    slab_desc *full = slab_desc_of(s, 1);
    full->until_event++;
    CHECK(mp_slab_check(s) > 0);
    full->until_event--;
    full->carved = 5000;
    CHECK(mp_slab_check(s) > 0);
    full->carved = 1024;
    s->classes[3].partial_head = 77;
    CHECK(mp_slab_check(s) > 0);
    s->classes[3].partial_head = SLAB_NONE;
    s->classes[3].alloc_count++;
    CHECK(mp_slab_check(s) > 0);
    s->classes[3].alloc_count--;
    s->classes[3].cursor = slab_l0(s, 0, &s->classes[3]); /* no active slab: must be the zero word */
    CHECK(mp_slab_check(s) > 0);
    s->classes[3].cursor = &s->zero_word;
    s->fast_free_bytes = 0;
    CHECK(mp_slab_check(s) == 1);
    s->fast_free_bytes = (size_t)2 << 16;
    s->hot.alloc_limit[1] ^= 8; /* an inline limit that is not the out-of-line one's */
    CHECK(mp_slab_check(s) == 1);
    s->hot.alloc_limit[1] ^= 8;
    s->classes[3].release_count++;
    CHECK(mp_slab_check(s) == 1);
    s->classes[3].release_count--;
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void a_wrong_class_in_a_slab_record_is_reported_and_its_blocks_refused(void) {
    static void *in_slab_0[1024];
    MP_Slab *s = partial_and_active(in_slab_0, 3);
    REQUIRE(s != NULL);
    s->slab_cls[0] = 63; /* a class this instance does not have */
    CHECK(mp_slab_check(s) > 0);
    CHECK_STATUS(mp_slab_free(s, in_slab_0[7]), MP_ERR_INVALID_ADDRESS);
    CHECK(mp_slab_usable_size(s, in_slab_0[7]) == 0);
    s->slab_cls[0] = 3;
    CHECK(mp_slab_check(s) == 0);
    CHECK_STATUS(mp_slab_free(s, in_slab_0[7]), MP_OK);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void the_active_slab_counter_starts_over_when_it_runs_out(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *a = mp_slab_alloc(s, 64), *b = mp_slab_alloc(s, 64);
    REQUIRE(a && b);
    /* What 2^31 frees into the active slab would do: the next one that
     * reaches its bitmap runs the counter out. */
    slab_desc_of(s, 0)->until_event = 1;
    CHECK_STATUS(mp_slab_free(s, a), MP_OK);
    CHECK_STATUS(mp_slab_trim(s, NULL), MP_OK); /* the cached free reaches the bitmap */
    CHECK(slab_desc_of(s, 0)->until_event == SLAB_EVENT_NEVER);
    CHECK(slab_desc_of(s, 0)->state == SLAB_ACTIVE);
    CHECK(mp_slab_check(s) == 0);
    CHECK(mp_slab_alloc(s, 64) == a);
    mp_slab_destroy(s);
}

MP_TEST_MAIN(TEST_CASE(double_free_returns_double_free_and_changes_nothing),
             TEST_CASE(double_free_is_caught_wherever_the_freed_slot_is_kept),
             TEST_CASE(freeing_a_never_used_slot_of_an_assigned_slab_is_a_double_free),
             TEST_CASE(double_free_after_the_slab_went_back_to_the_pool_is_still_reported),
             TEST_CASE(foreign_pointers_return_invalid_address),
             TEST_CASE(interior_and_tail_pointers_return_invalid_address),
             TEST_CASE(free_after_reset_returns_invalid_address),
             TEST_CASE(bad_alignments_return_null_with_alignment_error),
             TEST_CASE(overflowing_sizes_fail_cleanly),
             TEST_CASE(realloc_that_cannot_move_leaves_the_block_intact),
             TEST_CASE(realloc_of_a_custom_class_without_a_wider_aligned_class_fails_with_alignment),
             TEST_CASE(null_instances_and_arguments_are_rejected), TEST_CASE(invalid_configs_are_rejected),
             TEST_CASE(misaligned_or_short_caller_memory_is_rejected),
             TEST_CASE(a_region_larger_than_the_address_space_fails_with_out_of_memory),
             TEST_CASE(corrupted_metadata_is_reported_not_followed),
             TEST_CASE(a_wrong_class_in_a_slab_record_is_reported_and_its_blocks_refused),
             TEST_CASE(the_active_slab_counter_starts_over_when_it_runs_out))
