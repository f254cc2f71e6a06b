/*
 * test_arena_window.c - the arena's inline bump window (MP_ArenaWindow):
 * blocks are aligned, disjoint and inside the arena; close and refill give
 * the unused tail back; reset and rewind empty an open window; misuse (a
 * second window, closing twice, a window whose arena was destroyed, bad
 * alignment, size 0, oversized requests) fails like mp_arena_alloc with
 * nothing changed; a seeded property test mixes window and plain
 * allocations, marks, rewinds and resets with check() after every step.
 */
#include <stdint.h>

#include "mp_test.h"

#define KIB ((size_t)1024)

static MP_ArenaStats stats_of(const MP_Arena *a) {
    MP_ArenaStats st;
    memset(&st, 0xff, sizeof st);
    CHECK_STATUS(mp_arena_stats(a, &st), MP_OK);
    return st;
}

static void test_window_blocks_are_aligned_disjoint_and_counted(void) {
    MP_Arena *a = mp_arena_create(64 * KIB);
    REQUIRE(a != NULL);
    MP_ArenaWindow w;
    CHECK_STATUS(mp_arena_window_open(a, &w, 4 * KIB), MP_OK);
    unsigned char *prev_end = NULL;
    for (size_t i = 0; i < 100; i++) {
        size_t align = (size_t)1 << (i % 7);
        unsigned char *p = mp_arena_window_alloc(&w, 1 + i % 50, align);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p & (align - 1)) == 0);
        CHECK(mp_arena_owns(a, p));
        CHECK(prev_end == NULL || p >= prev_end);
        memset(p, 0xab, 1 + i % 50);
        prev_end = p + 1 + i % 50;
        CHECK(mp_arena_check(a) == 0);
    }
    CHECK(stats_of(a).alloc_count == 100);
    CHECK(stats_of(a).offset == 4 * KIB); /* the reserved chunk */
    CHECK_STATUS(mp_arena_window_close(&w), MP_OK);
    CHECK(stats_of(a).offset == (size_t)(prev_end - (unsigned char *)mp_arena_base(a)));
    CHECK(stats_of(a).alloc_count == 100);
    /* The arena allocates right after the window's last block. */
    CHECK(mp_arena_alloc(a, 1, 1) == prev_end);
    CHECK(mp_arena_check(a) == 0);
    mp_arena_destroy(a);
}

static void test_refill_returns_the_tail_and_large_requests_get_their_own_chunk(void) {
    MP_Arena *a = mp_arena_create(64 * KIB);
    REQUIRE(a != NULL);
    MP_ArenaWindow w;
    CHECK_STATUS(mp_arena_window_open(a, &w, 1 * KIB), MP_OK);
    unsigned char *p = mp_arena_window_alloc(&w, 100, 16);
    unsigned char *q = mp_arena_window_alloc(&w, 5000, 16); /* > chunk: refill */
    REQUIRE(p != NULL && q != NULL);
    CHECK(q == p + 112); /* the tail of the first chunk was given back first */
    memset(q, 1, 5000);
    CHECK(mp_arena_check(a) == 0);
    /* A plain arena allocation after the chunk keeps the tail reserved. */
    unsigned char *r = mp_arena_alloc(a, 10, 1);
    REQUIRE(r != NULL);
    CHECK_STATUS(mp_arena_window_close(&w), MP_OK);
    CHECK(stats_of(a).offset == (size_t)(r + 10 - (unsigned char *)mp_arena_base(a)));
    CHECK(mp_arena_check(a) == 0);
    mp_arena_destroy(a);
}

static void test_reset_and_rewind_empty_an_open_window(void) {
    MP_Arena *a = mp_arena_create(16 * KIB);
    REQUIRE(a != NULL);
    MP_ArenaWindow w;
    CHECK_STATUS(mp_arena_window_open(a, &w, 2 * KIB), MP_OK);
    CHECK(mp_arena_window_alloc(&w, 64, 8) != NULL);
    CHECK_STATUS(mp_arena_reset(a), MP_OK);
    CHECK(stats_of(a).offset == 0 && stats_of(a).alloc_count == 1);
    /* After the reset the window reserves anew, from the start. */
    CHECK(mp_arena_window_alloc(&w, 64, 8) == mp_arena_base(a));
    MP_ArenaMark m = mp_arena_mark(a); /* taken with the chunk reserved */
    unsigned char *p = mp_arena_window_alloc(&w, 64, 8);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_arena_rewind(a, m), MP_OK);
    CHECK(stats_of(a).offset == 128); /* tail returned; the mark lay in it */
    CHECK(mp_arena_window_alloc(&w, 64, 8) == p + 64); /* p stays allocated */
    MP_ArenaMark start = {0, m.epoch};
    CHECK_STATUS(mp_arena_rewind(a, start), MP_OK);
    CHECK(stats_of(a).offset == 0);
    CHECK(mp_arena_check(a) == 0);
    CHECK_STATUS(mp_arena_window_close(&w), MP_OK);
    mp_arena_destroy(a);
}

static void test_window_misuse_fails_like_the_arena_and_changes_nothing(void) {
    MP_Arena *a = mp_arena_create(8 * KIB);
    REQUIRE(a != NULL);
    MP_ArenaWindow w, other;
    CHECK_STATUS(mp_arena_window_open(NULL, &w, 0), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_arena_window_open(a, NULL, 0), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_arena_window_open(a, &w, 0), MP_OK);
    CHECK_STATUS(mp_arena_window_open(a, &other, 0), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_arena_window_alloc(&w, 16, 3) == NULL);
    CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    CHECK(mp_arena_window_alloc(&w, 9 * KIB, 8) == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(mp_arena_window_alloc(&w, SIZE_MAX, 8) == NULL);
    MP_ArenaStats st = stats_of(a);
    CHECK(st.failed_alloc_count == 3 && st.alloc_count == 0 && st.offset == 0);
    CHECK(mp_arena_window_alloc(&w, 0, 1) == mp_arena_base(a)); /* as mp_arena_alloc(a, 0, 1) */
    CHECK_STATUS(mp_arena_window_close(&w), MP_OK);
    CHECK_STATUS(mp_arena_window_close(&w), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_arena_window_alloc(&w, 16, 8) == NULL); /* closed */
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_arena_check(a) == 0);
    CHECK_STATUS(mp_arena_window_open(a, &other, 256), MP_OK);
    CHECK(mp_arena_window_alloc(&other, 16, 8) != NULL);
    mp_arena_destroy(a); /* detaches the window */
    CHECK(mp_arena_window_alloc(&other, 16, 8) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_arena_window_close(&other), MP_ERR_INVALID_ARGUMENT);
}

typedef struct span {
    unsigned char *p;
    size_t n;
    uint8_t seed;
} span;

static void test_random_window_and_arena_sequences_keep_blocks_intact(void) {
    enum { MAX_SPANS = 512 };
    static span spans[MAX_SPANS];
    for (uint64_t seed = 1; seed <= 8; seed++) {
        MP_Arena *a = mp_arena_create(32 * KIB);
        REQUIRE(a != NULL);
        MP_ArenaWindow w;
        CHECK_STATUS(mp_arena_window_open(a, &w, 64u << (seed % 5)), MP_OK);
        uint64_t rng = seed, allocs = 0;
        size_t count = 0;
        MP_ArenaMark mark = mp_arena_mark(a);
        size_t count_at_mark = 0;
        for (int step = 0; step < 4000; step++) {
            uint64_t r = mp_test_rand(&rng);
            size_t size = 1 + (size_t)(r >> 8) % 300, align = (size_t)1 << ((r >> 20) % 8);
            unsigned op = (unsigned)(r % 100);
            if (op < 70 && count < MAX_SPANS) {
                unsigned char *p = op < 60 ? mp_arena_window_alloc(&w, size, align) : mp_arena_alloc(a, size, align);
                if (p != NULL) {
                    CHECK(((uintptr_t)p & (align - 1)) == 0);
                    for (size_t i = 0; i < count; i++) CHECK(p + size <= spans[i].p || spans[i].p + spans[i].n <= p);
                    spans[count] = (span){p, size, (uint8_t)r};
                    memset(p, (uint8_t)r, size);
                    count++;
                    allocs++;
                }
            } else if (op < 80) {
                mark = mp_arena_mark(a);
                count_at_mark = count;
            } else if (op < 90) {
                if (mp_arena_rewind(a, mark) == MP_OK) count = count_at_mark;
            } else if (op < 92) {
                CHECK_STATUS(mp_arena_reset(a), MP_OK);
                count = count_at_mark = 0;
                mark = mp_arena_mark(a);
            }
            CHECK(mp_arena_check(a) == 0);
            CHECK(stats_of(a).alloc_count == allocs);
        }
        for (size_t i = 0; i < count; i++)
            for (size_t k = 0; k < spans[i].n; k++) CHECK(spans[i].p[k] == spans[i].seed);
        CHECK_STATUS(mp_arena_window_close(&w), MP_OK);
        CHECK(mp_arena_check(a) == 0);
        mp_arena_destroy(a);
    }
}

MP_TEST_MAIN(TEST_CASE(test_window_blocks_are_aligned_disjoint_and_counted),
             TEST_CASE(test_refill_returns_the_tail_and_large_requests_get_their_own_chunk),
             TEST_CASE(test_reset_and_rewind_empty_an_open_window),
             TEST_CASE(test_window_misuse_fails_like_the_arena_and_changes_nothing),
             TEST_CASE(test_random_window_and_arena_sequences_keep_blocks_intact))
