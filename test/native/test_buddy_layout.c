/*
 * test_buddy_layout.c - the buddy allocator's out-of-band metadata layout
 * (buddy.c, "Memory layout"): the segmented index maps every unit to its own
 * tag and word, the words of large blocks share cache lines, an allocation
 * that finds no cached block takes the lowest free one from the bitmaps, and
 * check() reports each broken invariant of the tags, words, bitmaps and
 * caches (and nothing once the damage is undone).
 */
#define _DEFAULT_SOURCE
#include "test_util.h"
#include "buddy_internal.h"

static size_t place_of(const MP_Buddy *b, size_t u) { return (size_t)(buddy_tag_ptr(b, u) - b->tags); }

static void check_index_is_a_bijection(size_t region_bytes) {
    MP_Buddy *b = mp_buddy_create(region_bytes, 16);
    REQUIRE(b != NULL);
    unsigned char *seen = calloc(b->seg_count, 1);
    REQUIRE(seen != NULL);
    for (size_t u = 0; u < b->unit_count; u++) {
        size_t i = place_of(b, u);
        REQUIRE(i < b->seg_count);
        CHECK(seen[i] == 0);
        seen[i] = 1;
        CHECK(buddy_place(b, u) == i);
        CHECK(buddy_word_ptr(b, u) == buddy_words(b) + i);
        buddy_meta m = buddy_meta_at(b, u);
        CHECK(m.place == i && m.tag == buddy_tag_ptr(b, u) && m.word == buddy_words(b) + i);
    }
    free(seen);
    mp_buddy_destroy(b);
}

static void test_segmented_index_gives_every_unit_its_own_place(void) {
    check_index_is_a_bijection(64 * KIB);              /* 4096 units */
    check_index_is_a_bijection(64 * KIB - 16 * 37);    /* not a power of two */
    check_index_is_a_bijection(16 * 1000 + 16 * 1023); /* odd unit count */
}

static void test_words_of_adjacent_large_blocks_share_cache_lines(void) {
    MP_Buddy *b = mp_buddy_create(4 * MIB, 16);
    REQUIRE(b != NULL);
    enum { BLOCKS = 64 };
    uintptr_t lines[BLOCKS];
    size_t distinct = 0;
    for (size_t i = 0; i < BLOCKS; i++) {
        unsigned char *p = mp_buddy_alloc(b, 4096);
        REQUIRE(p != NULL);
        size_t u = (size_t)(p - (unsigned char *)mp_buddy_base(b)) >> b->min_log2;
        uintptr_t line = (uintptr_t)buddy_word_ptr(b, u) >> 6;
        size_t j = 0;
        while (j < distinct && lines[j] != line) j++;
        if (j == distinct) lines[distinct++] = line;
    }
    /* Indexed by unit, 4 KiB blocks of 16-byte units put 256 words between
     * two blocks' words: one line each, 64 lines. */
    CHECK(distinct <= 16);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_an_uncached_allocation_takes_the_lowest_free_block(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    void *p[6];
    for (size_t i = 0; i < 6; i++) REQUIRE((p[i] = mp_buddy_alloc(b, 1024)) != NULL);
    CHECK_STATUS(mp_buddy_free(b, p[1]), MP_OK);
    CHECK_STATUS(mp_buddy_free(b, p[3]), MP_OK);
    mp_buddy_flush_cache(b); /* the caches are LIFO: they would hand out p[3] */
    CHECK(mp_buddy_alloc(b, 1024) == p[1]);
    CHECK(mp_buddy_alloc(b, 1024) == p[3]);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

/* Flips `mask` in `*byte`, expects check() to complain, flips it back. */
static void check_tag_damage(MP_Buddy *b, uint8_t *byte, uint8_t mask) {
    *byte ^= mask;
    CHECK(mp_buddy_check(b) != 0);
    *byte ^= mask;
    CHECK(mp_buddy_check(b) == 0);
}

static void check_word_damage(MP_Buddy *b, uint64_t *word, uint64_t value) {
    uint64_t saved = *word;
    *word = value;
    CHECK(mp_buddy_check(b) != 0);
    *word = saved;
    CHECK(mp_buddy_check(b) == 0);
}

static void test_check_reports_each_broken_layout_invariant(void) {
    MP_Buddy *b = mp_buddy_create(MIB, 16);
    REQUIRE(b != NULL);
    unsigned char *base = mp_buddy_base(b);
    unsigned char *used = mp_buddy_alloc(b, 4096);
    unsigned char *cached = mp_buddy_alloc(b, 4096);
    REQUIRE(used == base && cached == base + 4096);
    CHECK_STATUS(mp_buddy_free(b, cached), MP_OK); /* cached, order 8 */
    REQUIRE(b->cache_counts[8] == 1);
    CHECK(mp_buddy_check(b) == 0);

    check_tag_damage(b, buddy_tag_ptr(b, 3), MP_BUDDY_TAG_START | 1u);            /* inner unit tagged */
    check_tag_damage(b, buddy_tag_ptr(b, 0), MP_BUDDY_TAG_CACHED);                /* used and cached */
    check_tag_damage(b, buddy_tag_ptr(b, 0), MP_BUDDY_TAG_USED);                  /* used block turned free */
    check_word_damage(b, buddy_word_ptr(b, 0), 4097);                             /* requested > block */
    check_word_damage(b, buddy_word_ptr(b, 256), 0);                              /* cache link to a used block */
    uint64_t head = b->cache_heads[8];
    REQUIRE(buddy_entry_unit(head) == 256 && buddy_entry_place(head) == buddy_place(b, 256));
    check_word_damage(b, &b->cache_heads[8], head + 1u); /* another unit's place */
    size_t block_bytes = b->order_bytes[8];
    REQUIRE(block_bytes == 4096);
    b->order_bytes[8] = 2048; /* what the fast paths count */
    CHECK(mp_buddy_check(b) != 0);
    b->order_bytes[8] = block_bytes;
    CHECK(mp_buddy_check(b) == 0);

    /* Unit 512 starts the free order-9 block left of the first split. */
    mp_buddy_bits *fb9 = &b->free_bits[9];
    REQUIRE(buddy_tag_at(b, 512) == buddy_tag(9, false));
    check_word_damage(b, &fb9->level[0][0], fb9->level[0][0] & ~(UINT64_C(1) << 1)); /* its bit lost */
    check_word_damage(b, &fb9->level[0][0], fb9->level[0][0] | 1u);                  /* a used place's bit */
    mp_buddy_bits *fb0 = &b->free_bits[0];
    REQUIRE(fb0->levels >= 2);
    check_word_damage(b, &fb0->level[1][0], fb0->level[1][0] | 1u); /* summary of an empty word */
    uint64_t saved = b->nonempty_orders;
    b->nonempty_orders ^= UINT64_C(1) << 9;
    CHECK(mp_buddy_check(b) != 0);
    b->nonempty_orders = saved;
    CHECK(mp_buddy_check(b) == 0);

    CHECK(mp_buddy_alloc(b, 4096) == cached); /* the cache still works */
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

MP_TEST_MAIN(TEST_CASE(test_segmented_index_gives_every_unit_its_own_place),
             TEST_CASE(test_words_of_adjacent_large_blocks_share_cache_lines),
             TEST_CASE(test_an_uncached_allocation_takes_the_lowest_free_block),
             TEST_CASE(test_check_reports_each_broken_layout_invariant))
