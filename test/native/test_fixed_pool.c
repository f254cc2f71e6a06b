/*
 * test_fixed_pool.c - the fixed pool's API: geometry, alloc/free, lazy init,
 * reset, batch calls, owns, trim, caller regions and create_in.
 */
#include <stdalign.h>

#include "mp_test.h"

static MP_FixedPoolStats stats_of(const MP_FixedPool *pool) {
    MP_FixedPoolStats s;
    memset(&s, 0xEE, sizeof s);
    CHECK_STATUS(mp_fixed_pool_stats(pool, &s), MP_OK);
    return s;
}

static size_t slot_index(const MP_FixedPool *pool, const void *p) {
    MP_FixedPoolStats s = stats_of(pool);
    return (size_t)((const char *)p - (const char *)mp_fixed_pool_base(pool)) / s.slot_size_bytes;
}

static void create_reports_requested_geometry_and_zero_counters(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(64, 256);
    REQUIRE(pool != NULL);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 0 && s.allocated_peak == 0);
    CHECK(s.capacity == 256);
    CHECK(s.object_size == 64);
    CHECK(s.slot_size_bytes == 64);
    CHECK(s.alignment == 16);
    CHECK(s.region_bytes == 64 * 256);
    CHECK(s.alloc_count == 0 && s.free_count == 0 && s.failed_alloc_count == 0 && s.rejected_free_count == 0);
    CHECK((uintptr_t)mp_fixed_pool_base(pool) % 4096 == 0); /* an OS mapping is page aligned */
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void default_alignment_is_lowest_set_bit_of_object_size_capped_at_16(void) {
    static const size_t sizes[] = {1, 2, 3, 6, 12, 24, 40, 48, 100, 4096, 4097};
    static const size_t expected[] = {1, 2, 1, 2, 4, 8, 8, 16, 4, 16, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        MP_FixedPool *pool = mp_fixed_pool_create(sizes[i], 7);
        REQUIRE(pool != NULL);
        MP_FixedPoolStats s = stats_of(pool);
        CHECK(s.alignment == expected[i]);
        /* Already a multiple of its default alignment; 4096 is a padded power of two. */
        size_t stride = sizes[i] == 4096 ? 4096 + 64 : sizes[i];
        CHECK(s.slot_size_bytes == stride);
        CHECK(mp_fixed_pool_region_bytes(&(MP_FixedPoolConfig){sizes[i], 7, 0, 0, NULL, 0}) == 7 * stride);
        mp_fixed_pool_destroy(pool);
    }
}

static void explicit_alignment_rounds_the_stride_and_aligns_every_slot(void) {
    static const size_t aligns[] = {1, 2, 8, 32, 64, 256, 4096};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        MP_FixedPoolConfig cfg = {10, 9, aligns[i], 0, NULL, 0};
        MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
        REQUIRE(pool != NULL);
        size_t stride = aligns[i] < 10 ? (10 + aligns[i] - 1) / aligns[i] * aligns[i] : aligns[i];
        CHECK(stats_of(pool).slot_size_bytes == stride);
        CHECK(mp_fixed_pool_region_bytes(&cfg) == 9 * stride);
        for (int k = 0; k < 9; k++) {
            void *p = mp_fixed_pool_alloc(pool);
            REQUIRE(p != NULL);
            CHECK((uintptr_t)p % aligns[i] == 0);
            memset(p, k, 10);
        }
        CHECK(mp_fixed_pool_check(pool) == 0);
        mp_fixed_pool_destroy(pool);
    }
}

/* Power-of-two strides >= 1 KiB get one cache line more, unless an
 * alignment above 64 was asked for: the stride reported, the region size,
 * the slot addresses and the alignment all follow. */
static void large_power_of_two_strides_are_padded_by_a_cache_line_unless_aligned_coarser(void) {
    static const struct {
        size_t object_size, alignment, stride;
    } cases[] = {
        {512, 0, 512},          /* below the threshold */
        {1000, 0, 1000},        /* not a power of two: 1000 = 125 * 8 */
        {1024, 0, 1088},        {2048, 0, 2112},    {4096, 0, 4160},     {8192, 0, 8256},
        {1009, 16, 1088},       /* rounded up to 1024 by the alignment, then padded */
        {1024, 64, 1088},       /* a 64-byte alignment survives the pad */
        {1024, 128, 1024},      {4096, 4096, 4096}, {100, 4096, 4096}, /* coarser alignments keep it */
        {2048, 1024, 2048},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum { CAP = 33 };
        MP_FixedPoolConfig cfg = {cases[i].object_size, CAP, cases[i].alignment, 0, NULL, 0};
        MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
        REQUIRE(pool != NULL);
        MP_FixedPoolStats s = stats_of(pool);
        CHECK(s.slot_size_bytes == cases[i].stride);
        CHECK(s.region_bytes == CAP * cases[i].stride);
        CHECK(mp_fixed_pool_region_bytes(&cfg) == CAP * cases[i].stride);
        char *base = mp_fixed_pool_base(pool);
        for (size_t k = 0; k < CAP; k++) {
            char *p = mp_fixed_pool_alloc(pool);
            REQUIRE(p != NULL);
            CHECK((size_t)(p - base) == k * cases[i].stride);
            CHECK((uintptr_t)p % s.alignment == 0);
            memset(p, (int)k, cases[i].object_size);
        }
        /* Interior offsets, the pad included, are no slot. */
        CHECK(mp_fixed_pool_owns(pool, base + cases[i].object_size) == (cases[i].object_size == cases[i].stride));
        CHECK_STATUS(mp_fixed_pool_free(pool, base + cases[i].stride - 1), MP_ERR_INVALID_ADDRESS);
        for (size_t k = 0; k < CAP; k++) {
            CHECK((unsigned char)base[k * cases[i].stride + cases[i].object_size - 1] == (unsigned char)k);
            CHECK_STATUS(mp_fixed_pool_free(pool, base + k * cases[i].stride), MP_OK);
        }
        CHECK(mp_fixed_pool_check(pool) == 0);
        mp_fixed_pool_destroy(pool);
    }
}

static void alloc_hands_out_every_slot_once_then_null_with_out_of_memory(void) {
    enum { CAP = 100 };
    MP_FixedPool *pool = mp_fixed_pool_create(24, CAP);
    REQUIRE(pool != NULL);
    char *base = mp_fixed_pool_base(pool);
    int seen[CAP] = {0};
    for (int i = 0; i < CAP; i++) {
        char *p = mp_fixed_pool_alloc(pool);
        REQUIRE(p != NULL);
        CHECK(p >= base && p < base + 24 * CAP && (p - base) % 24 == 0);
        size_t idx = slot_index(pool, p);
        CHECK(seen[idx] == 0);
        seen[idx] = 1;
        memset(p, i, 24);
    }
    mp_clear_last_error();
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(mp_last_error().requested_bytes == 24);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == CAP && s.allocated_peak == CAP && s.alloc_count == CAP);
    CHECK(s.failed_alloc_count == 1);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void fresh_slots_come_in_address_order_and_freed_slots_are_reused_first(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(48, 8);
    REQUIRE(pool != NULL);
    char *base = mp_fixed_pool_base(pool);
    void *a = mp_fixed_pool_alloc(pool), *b = mp_fixed_pool_alloc(pool), *c = mp_fixed_pool_alloc(pool);
    CHECK(a == base && b == base + 48 && c == base + 96);
    CHECK_STATUS(mp_fixed_pool_free(pool, b), MP_OK);
    CHECK(mp_fixed_pool_alloc(pool) == b); /* a freed slot before a never-used one */
    CHECK(mp_fixed_pool_alloc(pool) == base + 144);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void free_returns_the_slot_and_counters_track_peak(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(16, 4);
    REQUIRE(pool != NULL);
    void *p[4];
    for (int i = 0; i < 4; i++) p[i] = mp_fixed_pool_alloc(pool);
    for (int i = 0; i < 3; i++) CHECK_STATUS(mp_fixed_pool_free(pool, p[i]), MP_OK);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 1 && s.allocated_peak == 4);
    CHECK(s.alloc_count == 4 && s.free_count == 3);
    CHECK(mp_fixed_pool_owns(pool, p[3]) == 1);
    CHECK(mp_fixed_pool_owns(pool, p[0]) == 0);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void owns_is_true_exactly_for_starts_of_slots_in_use(void) {
    static const size_t sizes[] = {1, 3, 24, 40, 96, 100};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t size = sizes[k];
        MP_FixedPool *pool = mp_fixed_pool_create(size, 5);
        REQUIRE(pool != NULL);
        char *base = mp_fixed_pool_base(pool);
        for (int i = 0; i < 4; i++) mp_fixed_pool_alloc(pool);
        CHECK_STATUS(mp_fixed_pool_free(pool, base + size), MP_OK); /* slot 1 free, slot 4 never used */
        for (size_t off = 0; off < 5 * size + 2 * size; off++) {
            int in_use = off % size == 0 && off / size < 4 && off / size != 1;
            CHECK(mp_fixed_pool_owns(pool, base + off) == in_use);
        }
        CHECK(mp_fixed_pool_owns(pool, NULL) == 0);
        CHECK(mp_fixed_pool_owns(pool, &size) == 0);
        mp_fixed_pool_destroy(pool);
    }
}

static void reset_frees_every_slot_and_restarts_from_slot_zero(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(32, 300);
    REQUIRE(pool != NULL);
    char *base = mp_fixed_pool_base(pool);
    for (int i = 0; i < 200; i++) mp_fixed_pool_alloc(pool);
    for (int i = 0; i < 50; i++) CHECK_STATUS(mp_fixed_pool_free(pool, base + 32 * (size_t)i), MP_OK);
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 0 && s.allocated_peak == 0);
    CHECK(s.alloc_count == 200 && s.free_count == 50); /* lifetime counters survive */
    CHECK(mp_fixed_pool_check(pool) == 0);
    CHECK(mp_fixed_pool_alloc(pool) == base);
    CHECK(mp_fixed_pool_alloc(pool) == base + 32);
    for (int i = 2; i < 300; i++) CHECK(mp_fixed_pool_alloc(pool) != NULL);
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void alloc_many_and_free_many_use_byte_offsets_from_the_base(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(40, 10);
    REQUIRE(pool != NULL);
    uint32_t offsets[16];
    CHECK(mp_fixed_pool_alloc_many(pool, offsets, 6) == 6);
    for (int i = 0; i < 6; i++) {
        CHECK(offsets[i] % 40 == 0 && offsets[i] < 400);
        CHECK(mp_fixed_pool_owns(pool, (char *)mp_fixed_pool_base(pool) + offsets[i]) == 1);
    }
    mp_clear_last_error();
    CHECK(mp_fixed_pool_alloc_many(pool, offsets + 6, 10) == 4); /* only 4 left */
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 10 && s.alloc_count == 10 && s.failed_alloc_count == 1);
    size_t done = 99;
    CHECK_STATUS(mp_fixed_pool_free_many(pool, offsets, 10, &done), MP_OK);
    CHECK(done == 10);
    CHECK(stats_of(pool).allocated == 0);
    CHECK(mp_fixed_pool_alloc_many(pool, offsets, 0) == 0);
    CHECK_STATUS(mp_fixed_pool_free_many(pool, offsets, 0, NULL), MP_OK);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void free_many_stops_at_the_first_invalid_offset(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(40, 10);
    REQUIRE(pool != NULL);
    uint32_t offsets[4];
    REQUIRE(mp_fixed_pool_alloc_many(pool, offsets, 4) == 4);
    uint32_t batch[4] = {offsets[0], offsets[1], offsets[1] + 1, offsets[2]};
    size_t done = 99;
    CHECK_STATUS(mp_fixed_pool_free_many(pool, batch, 4, &done), MP_ERR_INVALID_ADDRESS);
    CHECK(done == 2);
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 2 && s.free_count == 2 && s.rejected_free_count == 1);
    uint32_t again[2] = {offsets[2], offsets[0]};
    CHECK_STATUS(mp_fixed_pool_free_many(pool, again, 2, &done), MP_ERR_DOUBLE_FREE);
    CHECK(done == 1);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* Pages of [base, base + region) whose slots are all free, by brute force. */
static size_t expected_trim_bytes(const MP_FixedPool *pool, const int *in_use, size_t page) {
    MP_FixedPoolStats s = stats_of(pool);
    size_t bytes = 0;
    for (size_t at = 0; at + page <= s.region_bytes; at += page) {
        int free_page = 1;
        for (size_t b = at; b < at + page; b += 1) {
            if (in_use[b / s.slot_size_bytes]) free_page = 0;
            b += s.slot_size_bytes - 1 - b % s.slot_size_bytes; /* jump to the slot's last byte */
        }
        bytes += free_page ? page : 0;
    }
    return bytes;
}

static void trim_releases_whole_pages_made_only_of_free_slots(void) {
    static const size_t sizes[] = {4096, 24, 1000, 8192};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        enum { CAP = 64 };
        MP_FixedPool *pool = mp_fixed_pool_create(sizes[k], CAP);
        REQUIRE(pool != NULL);
        char *slots[CAP];
        int in_use[CAP] = {0};
        for (int i = 0; i < 48; i++) {
            slots[i] = mp_fixed_pool_alloc(pool);
            memset(slots[i], 'a' + i % 26, sizes[k]);
            in_use[i] = 1;
        }
        for (int i = 8; i < 40; i++) {
            if (i % 7 == 3) continue; /* keep a few live slots inside the freed stretch */
            CHECK_STATUS(mp_fixed_pool_free(pool, slots[i]), MP_OK);
            in_use[i] = 0;
        }
        size_t released = 1;
        CHECK_STATUS(mp_fixed_pool_trim(pool, &released), MP_OK);
        CHECK(released == expected_trim_bytes(pool, in_use, 4096));
        if (sizes[k] >= 4096) CHECK(released > 0);
        int live_slots_kept = 1;
        for (int i = 0; i < 48; i++)
            for (size_t b = 0; in_use[i] && b < sizes[k]; b++) live_slots_kept &= slots[i][b] == 'a' + i % 26;
        CHECK(live_slots_kept);
        /* released slots are usable again */
        for (int i = 0; i < 10; i++) memset(mp_fixed_pool_alloc(pool), 0x5A, sizes[k]);
        CHECK(mp_fixed_pool_check(pool) == 0);
        mp_fixed_pool_destroy(pool);
    }
}

static void trim_of_a_pool_in_caller_memory_releases_nothing(void) {
    static alignas(64) unsigned char region[64 * 128];
    MP_FixedPoolConfig cfg = {64, 128, 0, 0, region, sizeof region};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    size_t released = 7;
    CHECK_STATUS(mp_fixed_pool_trim(pool, &released), MP_OK);
    CHECK(released == 0);
    mp_fixed_pool_destroy(pool);
}

static void create_ex_with_a_region_places_every_slot_in_it(void) {
    static alignas(64) unsigned char region[100 * 64];
    MP_FixedPoolConfig cfg = {100, 64, 0, 0, region, sizeof region};
    CHECK(mp_fixed_pool_region_bytes(&cfg) == 6400);
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    CHECK(mp_fixed_pool_base(pool) == (void *)region);
    for (int i = 0; i < 64; i++) {
        unsigned char *p = mp_fixed_pool_alloc(pool);
        REQUIRE(p != NULL);
        CHECK(p >= region && p + 100 <= region + sizeof region);
        memset(p, 0x11, 100);
    }
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
    memset(region, 0, sizeof region); /* the caller's memory is the caller's again */
}

static void create_ex_aligns_the_base_up_inside_a_16_byte_aligned_region(void) {
    static alignas(128) unsigned char region[16 + 64 * 8 + 48];
    MP_FixedPoolConfig cfg = {64, 8, 64, 0, region + 16, sizeof region - 16};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    CHECK(mp_fixed_pool_base(pool) == (void *)(region + 64));
    for (int i = 0; i < 8; i++) CHECK((uintptr_t)mp_fixed_pool_alloc(pool) % 64 == 0);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
    /* Without the slack the same region is refused for its alignment. */
    cfg.region_bytes = 64 * 8;
    mp_clear_last_error();
    CHECK(mp_fixed_pool_create_ex(&cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
}

static void create_in_builds_the_whole_pool_inside_caller_memory(void) {
    MP_FixedPoolConfig cfg = {24, 1000, 0, 0, NULL, 0};
    size_t footprint = mp_fixed_pool_footprint(&cfg);
    CHECK(footprint >= 24 * 1000 + 1000 * 4 + 2 * 128);
    unsigned char *memory = malloc(footprint + 1);
    REQUIRE(memory != NULL);
    unsigned char *start = memory + 1; /* deliberately misaligned */
    MP_FixedPool *pool = mp_fixed_pool_create_in(start, footprint, &cfg);
    REQUIRE(pool != NULL);
    unsigned char *base = mp_fixed_pool_base(pool);
    CHECK((unsigned char *)pool >= start && (unsigned char *)pool < start + footprint);
    CHECK(base >= start && base + 24 * 1000 <= start + footprint);
    CHECK((uintptr_t)base % 8 == 0);
    for (int i = 0; i < 1000; i++) memset(mp_fixed_pool_alloc(pool), 0x77, 24);
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    CHECK(mp_fixed_pool_check(pool) == 0);
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
    memset(memory, 0, footprint + 1);
    free(memory);
}

static void create_in_alignment_slack_covers_every_start_address(void) {
    MP_FixedPoolConfig cfg = {100, 10, 256, 0, NULL, 0};
    size_t footprint = mp_fixed_pool_footprint(&cfg);
    unsigned char *memory = malloc(footprint + 512);
    REQUIRE(memory != NULL);
    for (size_t shift = 0; shift < 512; shift += 17) {
        MP_FixedPool *pool = mp_fixed_pool_create_in(memory + shift, footprint, &cfg);
        REQUIRE(pool != NULL);
        unsigned char *base = mp_fixed_pool_base(pool);
        CHECK((uintptr_t)base % 256 == 0);
        CHECK(base + 2560 <= memory + shift + footprint);
        for (int i = 0; i < 10; i++) memset(mp_fixed_pool_alloc(pool), 1, 100);
        CHECK(mp_fixed_pool_check(pool) == 0);
        mp_fixed_pool_destroy(pool);
    }
    free(memory);
}

static void check_reports_corrupted_links_of_a_create_in_pool(void) {
    /* White box: the per-slot links lie in the caller memory, at the place
     * the public hot state names. */
    MP_FixedPoolConfig cfg = {16, 64, 0, 0, NULL, 0};
    size_t footprint = mp_fixed_pool_footprint(&cfg);
    unsigned char *memory = malloc(footprint);
    REQUIRE(memory != NULL);
    MP_FixedPool *pool = mp_fixed_pool_create_in(memory, footprint, &cfg);
    REQUIRE(pool != NULL);
    unsigned char *slot[5];
    for (int i = 0; i < 5; i++) REQUIRE((slot[i] = mp_fixed_pool_alloc(pool)) != NULL);
    CHECK_STATUS(mp_fixed_pool_free(pool, slot[1]), MP_OK);
    CHECK_STATUS(mp_fixed_pool_free(pool, slot[2]), MP_OK); /* slot 1 in the hand, slot 2 listed */
    CHECK(mp_fixed_pool_check(pool) == 0);
    uint32_t *link = ((MP_FixedPoolHot *)(void *)pool)->link;
    uint32_t saved = link[2];
    link[2] = MP_FIXED_LINK_IN_USE; /* a listed slot marked in use */
    CHECK(mp_fixed_pool_check(pool) >= 1);
    link[2] = saved;
    saved = link[3];
    link[3] = 3; /* a slot in use that looks free */
    CHECK(mp_fixed_pool_check(pool) >= 1);
    link[3] = saved;
    saved = link[1];
    link[1] = 1; /* the hand not marked in use */
    CHECK(mp_fixed_pool_check(pool) >= 1);
    link[1] = saved;
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
    free(memory);
}

static void thread_safe_pool_behaves_like_a_plain_pool_on_one_thread(void) {
    MP_FixedPoolConfig cfg = {32, 50, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    char *base = mp_fixed_pool_base(pool);
    void *p[50];
    for (int i = 0; i < 50; i++) {
        p[i] = mp_fixed_pool_alloc(pool);
        CHECK(p[i] == base + 32 * i);
    }
    CHECK(mp_fixed_pool_alloc(pool) == NULL);
    for (int i = 0; i < 50; i += 2) CHECK_STATUS(mp_fixed_pool_free(pool, p[i]), MP_OK);
    CHECK_STATUS(mp_fixed_pool_free(pool, p[0]), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_fixed_pool_free(pool, base + 1), MP_ERR_INVALID_ADDRESS);
    CHECK(mp_fixed_pool_check(pool) == 0);
    CHECK(mp_fixed_pool_alloc(pool) == p[48]); /* the lock-free stack is LIFO too */
    MP_FixedPoolStats s = stats_of(pool);
    CHECK(s.allocated == 26 && s.allocated_peak == 50 && s.alloc_count == 51 && s.free_count == 25);
    CHECK(s.failed_alloc_count == 1 && s.rejected_free_count == 2);
    uint32_t offsets[30];
    CHECK(mp_fixed_pool_alloc_many(pool, offsets, 30) == 24);
    CHECK_STATUS(mp_fixed_pool_reset(pool), MP_OK);
    CHECK(mp_fixed_pool_check(pool) == 0);
    CHECK(mp_fixed_pool_alloc(pool) == base);
    size_t released = 9;
    CHECK_STATUS(mp_fixed_pool_trim(pool, &released), MP_OK);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

static void destroy_accepts_null(void) { mp_fixed_pool_destroy(NULL); }

MP_TEST_MAIN(TEST_CASE(create_reports_requested_geometry_and_zero_counters),
             TEST_CASE(default_alignment_is_lowest_set_bit_of_object_size_capped_at_16),
             TEST_CASE(explicit_alignment_rounds_the_stride_and_aligns_every_slot),
             TEST_CASE(large_power_of_two_strides_are_padded_by_a_cache_line_unless_aligned_coarser),
             TEST_CASE(alloc_hands_out_every_slot_once_then_null_with_out_of_memory),
             TEST_CASE(fresh_slots_come_in_address_order_and_freed_slots_are_reused_first),
             TEST_CASE(free_returns_the_slot_and_counters_track_peak),
             TEST_CASE(owns_is_true_exactly_for_starts_of_slots_in_use),
             TEST_CASE(reset_frees_every_slot_and_restarts_from_slot_zero),
             TEST_CASE(alloc_many_and_free_many_use_byte_offsets_from_the_base),
             TEST_CASE(free_many_stops_at_the_first_invalid_offset),
             TEST_CASE(trim_releases_whole_pages_made_only_of_free_slots),
             TEST_CASE(trim_of_a_pool_in_caller_memory_releases_nothing),
             TEST_CASE(create_ex_with_a_region_places_every_slot_in_it),
             TEST_CASE(create_ex_aligns_the_base_up_inside_a_16_byte_aligned_region),
             TEST_CASE(create_in_builds_the_whole_pool_inside_caller_memory),
             TEST_CASE(create_in_alignment_slack_covers_every_start_address),
             TEST_CASE(check_reports_corrupted_links_of_a_create_in_pool),
             TEST_CASE(thread_safe_pool_behaves_like_a_plain_pool_on_one_thread),
             TEST_CASE(destroy_accepts_null))
