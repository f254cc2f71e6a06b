/*
 * test_arena_misuse.c - every bad input returns its documented status (or
 * NULL with mp_last_error set) and changes nothing but failed_alloc_count:
 * stats are compared before and after, and check() stays 0.
 */
#include "mp_test.h"

static MP_ArenaStats stats_of(const MP_Arena *arena) {
    MP_ArenaStats s;
    memset(&s, 0, sizeof s);
    CHECK_STATUS(mp_arena_stats(arena, &s), MP_OK);
    return s;
}

static int same_stats(MP_ArenaStats a, MP_ArenaStats b) { return memcmp(&a, &b, sizeof a) == 0; }

static void expect_create_fails(MP_ArenaConfig cfg, MP_Status expected, int line) {
    mp_clear_last_error();
    MP_Arena *arena = mp_arena_create_ex(&cfg);
    if (arena != NULL || mp_last_error().status != expected) {
        fprintf(stderr, "line %d: create_ex gave %p, %s; expected NULL, %s\n", line, (void *)arena,
                mp_status_str(mp_last_error().status), mp_status_str(expected));
        CHECK(arena == NULL && mp_last_error().status == expected);
        mp_arena_destroy(arena);
    }
}

static void invalid_configs_fail_creation_with_their_status(void) {
    static _Alignas(16) unsigned char region[256];
    expect_create_fails((MP_ArenaConfig){0, 0, NULL, 0}, MP_ERR_INVALID_ARGUMENT, __LINE__);
    expect_create_fails((MP_ArenaConfig){SIZE_MAX, 0, NULL, 0}, MP_ERR_SIZE_OVERFLOW, __LINE__);
    expect_create_fails((MP_ArenaConfig){(size_t)PTRDIFF_MAX + 1, 0, NULL, 0}, MP_ERR_SIZE_OVERFLOW,
                        __LINE__);
    expect_create_fails((MP_ArenaConfig){(size_t)1 << 60, 0, NULL, 0}, MP_ERR_OUT_OF_MEMORY, __LINE__);
    /* Arenas are single-threaded: the thread-safe flag is refused, not ignored. */
    expect_create_fails((MP_ArenaConfig){64, MP_FLAG_THREAD_SAFE, NULL, 0}, MP_ERR_INVALID_ARGUMENT,
                        __LINE__);
    expect_create_fails((MP_ArenaConfig){64, 0x80, NULL, 0}, MP_ERR_INVALID_ARGUMENT, __LINE__);
    expect_create_fails((MP_ArenaConfig){257, 0, region, sizeof region}, MP_ERR_INVALID_ARGUMENT, __LINE__);
    expect_create_fails((MP_ArenaConfig){0, 0, region, sizeof region}, MP_ERR_INVALID_ARGUMENT, __LINE__);
    mp_clear_last_error();
    CHECK(mp_arena_create(0) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_arena_create(SIZE_MAX) == NULL);
    CHECK(mp_last_error().status == MP_ERR_SIZE_OVERFLOW);
    CHECK(mp_arena_create_ex(NULL) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

static void footprint_and_create_in_refuse_bad_configs_and_small_memory(void) {
    unsigned char memory[1024];
    CHECK(mp_arena_footprint(NULL) == 0);
    CHECK(mp_arena_footprint(&(MP_ArenaConfig){0, 0, NULL, 0}) == 0);
    CHECK(mp_arena_footprint(&(MP_ArenaConfig){16, MP_FLAG_THREAD_SAFE, NULL, 0}) == 0);
    CHECK(mp_arena_footprint(&(MP_ArenaConfig){SIZE_MAX, 0, NULL, 0}) == 0);
    CHECK(mp_arena_create_in(memory, sizeof memory, NULL) == NULL);
    MP_ArenaConfig cfg = {512, 0, NULL, 0};
    size_t footprint = mp_arena_footprint(&cfg);
    REQUIRE(footprint > 512 && footprint <= sizeof memory);
    mp_clear_last_error();
    CHECK(mp_arena_create_in(memory, footprint - 1, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_last_error().requested_bytes == footprint);
    CHECK(mp_arena_create_in(NULL, footprint, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
}

static void null_arena_is_an_invalid_argument_everywhere(void) {
    mp_clear_last_error();
    CHECK(mp_arena_alloc(NULL, 8, 8) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_arena_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    MP_ArenaMark mark = mp_arena_mark(NULL);
    CHECK(mark.offset == 0 && mark.epoch == 0);
    CHECK_STATUS(mp_arena_rewind(NULL, mark), MP_ERR_INVALID_ARGUMENT);
    MP_ArenaStats s;
    CHECK_STATUS(mp_arena_stats(NULL, &s), MP_ERR_INVALID_ARGUMENT);
    int x;
    CHECK(mp_arena_owns(NULL, &x) == 0);
    CHECK(mp_arena_check(NULL) != 0);
    CHECK(mp_arena_base(NULL) == NULL);
    size_t released = 3;
    CHECK_STATUS(mp_arena_trim(NULL, &released), MP_ERR_INVALID_ARGUMENT);
    CHECK(released == 0);
    mp_arena_destroy(NULL);
}

/* alloc(size, align) must return NULL with `expected`, count one failure and
 * change nothing else. */
static void expect_alloc_refused(MP_Arena *arena, size_t size, size_t align, MP_Status expected, int line) {
    MP_ArenaStats before = stats_of(arena);
    mp_clear_last_error();
    void *p = mp_arena_alloc(arena, size, align);
    MP_ArenaStats after = stats_of(arena);
    before.failed_alloc_count++;
    if (p != NULL || mp_last_error().status != expected || !same_stats(before, after) ||
        mp_arena_check(arena) != 0) {
        fprintf(stderr, "line %d: alloc(%zu, %zu) gave %p, %s; expected NULL, %s\n", line, size, align, p,
                mp_status_str(mp_last_error().status), mp_status_str(expected));
        CHECK(p == NULL && mp_last_error().status == expected);
        CHECK(same_stats(before, after));
        CHECK(mp_arena_check(arena) == 0);
    }
}

static void invalid_alignments_fail_with_alignment_and_change_nothing(void) {
    MP_Arena *arena = mp_arena_create(4096);
    REQUIRE(arena != NULL);
    mp_arena_alloc(arena, 3, 1);
    static const size_t aligns[] = {0,    3,        5,           6,   12, 24, 48, 100,
                                    4095, SIZE_MAX, SIZE_MAX / 2, ((size_t)1 << 40) + 1};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        expect_alloc_refused(arena, 8, aligns[i], MP_ERR_ALIGNMENT, __LINE__);
        expect_alloc_refused(arena, 0, aligns[i], MP_ERR_ALIGNMENT, __LINE__);
    }
    CHECK(stats_of(arena).failed_alloc_count == 24);
    mp_arena_destroy(arena);
}

static void oversized_requests_fail_cleanly(void) {
    MP_Arena *arena = mp_arena_create(4096);
    REQUIRE(arena != NULL);
    mp_arena_alloc(arena, 3, 1); /* offset 3: aligned requests need padding */
    expect_alloc_refused(arena, SIZE_MAX, 1, MP_ERR_OUT_OF_MEMORY, __LINE__);
    expect_alloc_refused(arena, SIZE_MAX, 16, MP_ERR_SIZE_OVERFLOW, __LINE__);
    expect_alloc_refused(arena, SIZE_MAX - 13, 16, MP_ERR_OUT_OF_MEMORY, __LINE__); /* pad 13: no wrap */
    expect_alloc_refused(arena, SIZE_MAX - 12, 16, MP_ERR_SIZE_OVERFLOW, __LINE__);
    expect_alloc_refused(arena, 4094, 1, MP_ERR_OUT_OF_MEMORY, __LINE__);
    expect_alloc_refused(arena, 4093, 2, MP_ERR_OUT_OF_MEMORY, __LINE__); /* fits but for the padding */
    expect_alloc_refused(arena, 1, (size_t)1 << 62, MP_ERR_OUT_OF_MEMORY, __LINE__);
    expect_alloc_refused(arena, 0, (size_t)1 << 62, MP_ERR_OUT_OF_MEMORY, __LINE__);
    expect_alloc_refused(arena, (size_t)PTRDIFF_MAX + 1, 8, MP_ERR_OUT_OF_MEMORY, __LINE__);
    CHECK(mp_arena_alloc(arena, 4093, 1) != NULL); /* and the arena still works */
    mp_arena_destroy(arena);
}

static void rewind_to_a_bad_mark_is_refused_and_changes_nothing(void) {
    MP_Arena *arena = mp_arena_create(4096);
    MP_Arena *other = mp_arena_create(4096);
    REQUIRE(arena != NULL && other != NULL);
    mp_arena_alloc(arena, 100, 1);
    mp_arena_alloc(other, 2000, 1);
    MP_ArenaMark beyond = mp_arena_mark(other); /* epoch 1 as well, offset 2000 */
    MP_ArenaMark before_reset = mp_arena_mark(arena);
    mp_arena_reset(arena);
    mp_arena_alloc(arena, 500, 1);
    MP_ArenaStats before = stats_of(arena);
    MP_ArenaMark bad[] = {
        {0, 0},
        before_reset,
        {before_reset.offset, before_reset.epoch + 5},
        {501, before_reset.epoch + 1},
        {SIZE_MAX, before_reset.epoch + 1},
        {before_reset.offset, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_clear_last_error();
        CHECK_STATUS(mp_arena_rewind(arena, bad[i]), MP_ERR_INVALID_ARGUMENT);
        CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    }
    mp_arena_reset(other);
    CHECK_STATUS(mp_arena_rewind(arena, beyond), MP_ERR_INVALID_ARGUMENT); /* beyond the offset */
    CHECK(same_stats(before, stats_of(arena)));
    CHECK(mp_arena_check(arena) == 0);
    mp_arena_destroy(other);
    mp_arena_destroy(arena);
}

static void null_out_parameters_are_invalid_arguments_and_change_nothing(void) {
    MP_Arena *arena = mp_arena_create(100);
    REQUIRE(arena != NULL);
    MP_ArenaStats before = stats_of(arena);
    CHECK_STATUS(mp_arena_stats(arena, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_arena_trim(arena, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(same_stats(before, stats_of(arena)));
    mp_arena_destroy(arena);
}

MP_TEST_MAIN(TEST_CASE(invalid_configs_fail_creation_with_their_status),
             TEST_CASE(footprint_and_create_in_refuse_bad_configs_and_small_memory),
             TEST_CASE(null_arena_is_an_invalid_argument_everywhere),
             TEST_CASE(invalid_alignments_fail_with_alignment_and_change_nothing),
             TEST_CASE(oversized_requests_fail_cleanly),
             TEST_CASE(rewind_to_a_bad_mark_is_refused_and_changes_nothing),
             TEST_CASE(null_out_parameters_are_invalid_arguments_and_change_nothing))
