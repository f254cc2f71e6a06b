/*
 * test_arena.c - the arena's API: bumping with alignment on real addresses,
 * size 0, exact fit, marks and rewinds, reset epochs, stats, owns, trim,
 * caller regions and create_in.
 */
#include <stdalign.h>

#include "mp_test.h"

static MP_ArenaStats stats_of(const MP_Arena *arena) {
    MP_ArenaStats s;
    memset(&s, 0xEE, sizeof s);
    CHECK_STATUS(mp_arena_stats(arena, &s), MP_OK);
    return s;
}

static void create_reports_buffer_size_and_zero_offset(void) {
    MP_Arena *arena = mp_arena_create(10000);
    REQUIRE(arena != NULL);
    MP_ArenaStats s = stats_of(arena);
    CHECK(s.offset == 0 && s.buffer_size == 10000 && s.offset_peak == 0);
    CHECK(s.alloc_count == 0 && s.failed_alloc_count == 0 && s.reset_count == 0);
    CHECK((uintptr_t)mp_arena_base(arena) % 4096 == 0);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void alloc_bumps_the_offset_by_padding_and_size(void) {
    MP_Arena *arena = mp_arena_create(4096);
    REQUIRE(arena != NULL);
    char *base = mp_arena_base(arena);
    CHECK(mp_arena_alloc(arena, 3, 1) == base);
    CHECK(mp_arena_alloc(arena, 8, 8) == base + 8);
    CHECK(mp_arena_alloc(arena, 1, 1) == base + 16);
    CHECK(mp_arena_alloc(arena, 100, 64) == base + 64);
    CHECK(stats_of(arena).offset == 164);
    CHECK(stats_of(arena).alloc_count == 4);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void alignment_is_computed_on_real_addresses_of_a_16_byte_aligned_buffer(void) {
    static alignas(8192) unsigned char region[16 + 3 * 4096];
    MP_ArenaConfig cfg = {sizeof region - 16, 0, region + 16, sizeof region - 16};
    MP_Arena *arena = mp_arena_create_ex(&cfg);
    REQUIRE(arena != NULL);
    CHECK(mp_arena_base(arena) == (void *)(region + 16));
    for (size_t align = 1; align <= 4096; align *= 2) {
        unsigned char *p = mp_arena_alloc(arena, 5, align);
        REQUIRE(p != NULL);
        CHECK((uintptr_t)p % align == 0);
        memset(p, 0x3C, 5);
    }
    unsigned char *page = mp_arena_alloc(arena, 1, 4096);
    CHECK(page == region + 12288); /* the 4096 block took 8192: next boundary */
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void size_zero_returns_an_aligned_pointer_inside_and_consumes_only_padding(void) {
    MP_Arena *arena = mp_arena_create(64);
    REQUIRE(arena != NULL);
    char *base = mp_arena_base(arena);
    CHECK(mp_arena_alloc(arena, 1, 1) == base);
    CHECK(mp_arena_alloc(arena, 0, 16) == base + 16);
    CHECK(stats_of(arena).offset == 16);
    CHECK(mp_arena_alloc(arena, 0, 1) == base + 16);
    CHECK(stats_of(arena).offset == 16);
    CHECK(mp_arena_alloc(arena, 48, 1) == base + 16); /* exactly the rest */
    mp_clear_last_error();
    CHECK(mp_arena_alloc(arena, 0, 1) == NULL); /* no byte left to point into */
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    MP_ArenaStats s = stats_of(arena);
    CHECK(s.offset == 64 && s.alloc_count == 4 && s.failed_alloc_count == 1);
    mp_arena_destroy(arena);
}

static void exact_fit_succeeds_and_one_byte_more_fails_with_out_of_memory(void) {
    MP_Arena *arena = mp_arena_create(1000);
    REQUIRE(arena != NULL);
    CHECK(mp_arena_alloc(arena, 600, 8) != NULL);
    mp_clear_last_error();
    CHECK(mp_arena_alloc(arena, 401, 1) == NULL);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY);
    CHECK(e.requested_bytes == 401 && e.available_bytes == 400 && e.largest_free_bytes == 400);
    CHECK(mp_arena_alloc(arena, 393, 16) == NULL); /* 8 bytes of padding leave 392 */
    CHECK(mp_last_error().largest_free_bytes == 392);
    CHECK(mp_arena_alloc(arena, 400, 1) != NULL);
    MP_ArenaStats s = stats_of(arena);
    CHECK(s.offset == 1000 && s.failed_alloc_count == 2 && s.alloc_count == 2);
    CHECK(mp_arena_alloc(arena, 1, 1) == NULL);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void rewind_frees_everything_since_the_mark_and_marks_nest(void) {
    MP_Arena *arena = mp_arena_create(4096);
    REQUIRE(arena != NULL);
    mp_arena_alloc(arena, 100, 1);
    MP_ArenaMark outer = mp_arena_mark(arena);
    CHECK(outer.offset == 100);
    void *a = mp_arena_alloc(arena, 50, 1);
    MP_ArenaMark inner = mp_arena_mark(arena);
    void *b = mp_arena_alloc(arena, 70, 1);
    CHECK_STATUS(mp_arena_rewind(arena, inner), MP_OK);
    CHECK(stats_of(arena).offset == 150);
    CHECK(mp_arena_alloc(arena, 70, 1) == b); /* the same bytes again */
    CHECK_STATUS(mp_arena_rewind(arena, outer), MP_OK);
    CHECK(stats_of(arena).offset == 100);
    CHECK(mp_arena_alloc(arena, 50, 1) == a);
    CHECK_STATUS(mp_arena_rewind(arena, mp_arena_mark(arena)), MP_OK); /* to here: no-op */
    CHECK(stats_of(arena).offset == 150);
    CHECK(stats_of(arena).offset_peak == 220);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void reset_empties_the_arena_and_invalidates_older_marks(void) {
    MP_Arena *arena = mp_arena_create(4096);
    REQUIRE(arena != NULL);
    char *base = mp_arena_base(arena);
    MP_ArenaMark start = mp_arena_mark(arena);
    mp_arena_alloc(arena, 1000, 1);
    MP_ArenaMark mid = mp_arena_mark(arena);
    CHECK_STATUS(mp_arena_reset(arena), MP_OK);
    MP_ArenaStats s = stats_of(arena);
    CHECK(s.offset == 0 && s.reset_count == 1 && s.offset_peak == 1000 && s.alloc_count == 1);
    mp_arena_alloc(arena, 2000, 1);
    CHECK_STATUS(mp_arena_rewind(arena, mid), MP_ERR_INVALID_ARGUMENT); /* an older epoch */
    CHECK_STATUS(mp_arena_rewind(arena, start), MP_ERR_INVALID_ARGUMENT);
    CHECK(stats_of(arena).offset == 2000);
    CHECK_STATUS(mp_arena_reset(arena), MP_OK);
    CHECK(mp_arena_alloc(arena, 1, 1) == base);
    s = stats_of(arena);
    CHECK(s.reset_count == 2 && s.offset_peak == 2000);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void owns_is_true_only_inside_the_used_part(void) {
    MP_Arena *arena = mp_arena_create(256);
    REQUIRE(arena != NULL);
    char *base = mp_arena_base(arena);
    char *p = mp_arena_alloc(arena, 10, 1);
    CHECK(mp_arena_owns(arena, p) == 1);
    CHECK(mp_arena_owns(arena, p + 9) == 1);
    CHECK(mp_arena_owns(arena, p + 10) == 0);
    CHECK(mp_arena_owns(arena, base + 255) == 0);
    CHECK(mp_arena_owns(arena, NULL) == 0);
    int local;
    CHECK(mp_arena_owns(arena, &local) == 0);
    mp_arena_reset(arena);
    CHECK(mp_arena_owns(arena, p) == 0);
    mp_arena_destroy(arena);
}

static void trim_returns_pages_past_the_offset_and_keeps_used_bytes(void) {
    MP_Arena *arena = mp_arena_create(64 * 4096);
    REQUIRE(arena != NULL);
    char *p = mp_arena_alloc(arena, 5000, 1);
    memset(p, 0x42, 5000);
    size_t released = 0;
    CHECK_STATUS(mp_arena_trim(arena, &released), MP_OK);
    CHECK(released == 62 * 4096); /* pages 2..63; page 1 holds byte 5000 */
    int kept = 1;
    for (int i = 0; i < 5000; i++) kept &= p[i] == 0x42;
    CHECK(kept); /* the used bytes survive the trim */
    char *q = mp_arena_alloc(arena, 4096 * 10, 4096);
    REQUIRE(q != NULL);
    memset(q, 0x24, 4096 * 10); /* released pages come back on touch */
    CHECK(q[4096 * 10 - 1] == 0x24);
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(arena);
}

static void trim_of_an_arena_in_caller_memory_releases_nothing(void) {
    static alignas(16) unsigned char region[4 * 4096];
    MP_ArenaConfig cfg = {sizeof region, 0, region, sizeof region};
    MP_Arena *arena = mp_arena_create_ex(&cfg);
    REQUIRE(arena != NULL);
    size_t released = 5;
    CHECK_STATUS(mp_arena_trim(arena, &released), MP_OK);
    CHECK(released == 0);
    mp_arena_destroy(arena);
}

static void create_ex_with_a_region_bumps_inside_it(void) {
    static alignas(16) unsigned char region[1000];
    MP_ArenaConfig cfg = {800, 0, region, sizeof region};
    MP_Arena *arena = mp_arena_create_ex(&cfg);
    REQUIRE(arena != NULL);
    CHECK(mp_arena_base(arena) == (void *)region);
    CHECK(stats_of(arena).buffer_size == 800);
    unsigned char *p = mp_arena_alloc(arena, 800, 1);
    CHECK(p == region);
    memset(p, 1, 800);
    CHECK(mp_arena_alloc(arena, 1, 1) == NULL);
    mp_arena_destroy(arena);
    memset(region, 0, sizeof region); /* the caller's memory is the caller's again */
}

static void create_in_builds_the_arena_inside_caller_memory(void) {
    MP_ArenaConfig cfg = {5000, 0, NULL, 0};
    size_t footprint = mp_arena_footprint(&cfg);
    CHECK(footprint > 5000);
    unsigned char *memory = malloc(footprint + 7);
    REQUIRE(memory != NULL);
    for (size_t shift = 0; shift < 8; shift++) {
        MP_Arena *arena = mp_arena_create_in(memory + shift, footprint, &cfg);
        REQUIRE(arena != NULL);
        unsigned char *base = mp_arena_base(arena);
        CHECK((unsigned char *)arena >= memory + shift && base >= memory + shift);
        CHECK(base + 5000 <= memory + shift + footprint);
        unsigned char *p = mp_arena_alloc(arena, 5000, 1);
        CHECK(p == base);
        memset(p, 9, 5000);
        CHECK(mp_arena_check(arena) == 0);
        mp_arena_destroy(arena);
    }
    free(memory);
}

static void check_reports_a_corrupted_control_block_of_a_create_in_arena(void) {
    MP_ArenaConfig cfg = {256, 0, NULL, 0};
    size_t footprint = mp_arena_footprint(&cfg);
    unsigned char *memory = malloc(footprint);
    REQUIRE(memory != NULL);
    MP_Arena *arena = mp_arena_create_in(memory, footprint, &cfg);
    REQUIRE(arena != NULL);
    mp_arena_alloc(arena, 10, 1);
    CHECK(mp_arena_check(arena) == 0);
    /* create_in documents the layout: control block first, buffer after it. */
    size_t control_bytes = (size_t)((unsigned char *)mp_arena_base(arena) - (unsigned char *)arena);
    unsigned char *saved = malloc(control_bytes);
    REQUIRE(saved != NULL);
    memcpy(saved, arena, control_bytes);
    memset(arena, 0xA5, control_bytes);
    CHECK(mp_arena_check(arena) >= 1);
    memcpy(arena, saved, control_bytes);
    CHECK(mp_arena_check(arena) == 0);
    free(saved);
    mp_arena_destroy(arena);
    free(memory);
}

static void destroy_accepts_null(void) { mp_arena_destroy(NULL); }

MP_TEST_MAIN(TEST_CASE(create_reports_buffer_size_and_zero_offset),
             TEST_CASE(alloc_bumps_the_offset_by_padding_and_size),
             TEST_CASE(alignment_is_computed_on_real_addresses_of_a_16_byte_aligned_buffer),
             TEST_CASE(size_zero_returns_an_aligned_pointer_inside_and_consumes_only_padding),
             TEST_CASE(exact_fit_succeeds_and_one_byte_more_fails_with_out_of_memory),
             TEST_CASE(rewind_frees_everything_since_the_mark_and_marks_nest),
             TEST_CASE(reset_empties_the_arena_and_invalidates_older_marks),
             TEST_CASE(owns_is_true_only_inside_the_used_part),
             TEST_CASE(trim_returns_pages_past_the_offset_and_keeps_used_bytes),
             TEST_CASE(trim_of_an_arena_in_caller_memory_releases_nothing),
             TEST_CASE(create_ex_with_a_region_bumps_inside_it),
             TEST_CASE(create_in_builds_the_arena_inside_caller_memory),
             TEST_CASE(check_reports_a_corrupted_control_block_of_a_create_in_arena),
             TEST_CASE(destroy_accepts_null))
