/*
 * test_slab.c - API tests of the slab allocator: class mapping, alignment,
 * realloc in place and across classes, calloc, every statistic, walk, trim
 * (pages really leave RSS), create_in, caller regions with a 16-byte-aligned
 * base, constructor/destructor hooks, which emptied slabs a class keeps
 * (its active slab and one spare) and that a class short of slabs takes
 * other classes' empty ones, and that writes into freed slots never reach
 * the allocator's metadata.
 */
#define _DEFAULT_SOURCE
#include "slab_internal.h" /* SLAB_CACHE_SLOTS */
#include "test_util.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static MP_SlabConfig config(size_t region_bytes, size_t slab_bytes) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = region_bytes;
    cfg.slab_bytes = slab_bytes;
    return cfg;
}

/* An instance over a mapped region with the given class list. */
static MP_Slab *create_with_classes(size_t region_bytes, size_t slab_bytes, const size_t *classes,
                                    size_t count) {
    MP_SlabConfig cfg = config(region_bytes, slab_bytes);
    cfg.class_sizes = classes;
    cfg.class_count = count;
    return mp_slab_create_ex(&cfg);
}

static bool all_bytes_are(const unsigned char *p, size_t n, unsigned char value) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != value) return false;
    return true;
}

static MP_SlabClassStats class_stats(const MP_Slab *s, size_t c) {
    MP_SlabClassStats cs;
    memset(&cs, 0xEE, sizeof cs);
    CHECK_STATUS(mp_slab_class_stats(s, c, &cs), MP_OK);
    return cs;
}

static void default_classes_are_powers_of_two_from_8_to_4096(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    REQUIRE(mp_slab_class_count(s) == 10);
    for (size_t c = 0; c < 10; c++) CHECK(class_stats(s, c).slot_bytes == (size_t)8 << c);
    const size_t sizes[] = {0, 1, 8, 9, 16, 17, 100, 128, 129, 2049, 4095, 4096};
    const size_t usable[] = {8, 8, 8, 16, 16, 32, 128, 128, 256, 4096, 4096, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = mp_slab_alloc(s, sizes[i]);
        REQUIRE(p != NULL);
        CHECK(mp_slab_usable_size(s, p) == usable[i]);
        CHECK(((uintptr_t)p % usable[i]) == 0); /* mapped base: slots aligned to their size */
    }
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void sizes_above_the_largest_class_fail_with_invalid_argument(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    mp_clear_last_error();
    CHECK(mp_slab_alloc(s, 4097) == NULL);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_INVALID_ARGUMENT);
    CHECK(e.requested_bytes == 4097);
    MP_HeapStats st;
    CHECK_STATUS(mp_slab_stats(s, &st), MP_OK);
    CHECK(st.failed_alloc_count == 1 && st.alloc_count == 0);
    mp_slab_destroy(s);
}

static void blocks_of_many_classes_never_overlap_and_keep_contents(void) {
    MP_Slab *s = mp_slab_create(4 << 20);
    REQUIRE(s != NULL);
    enum { N = 600 };
    static unsigned char *blocks[N];
    static size_t sizes[N];
    uint64_t rng = 7;
    for (int i = 0; i < N; i++) {
        sizes[i] = (size_t)(mp_test_rand(&rng) % 4097);
        blocks[i] = mp_slab_alloc(s, sizes[i]);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i & 0xFF, mp_slab_usable_size(s, blocks[i]));
    }
    for (int i = 0; i < N; i++)
        CHECK(all_bytes_are(blocks[i], mp_slab_usable_size(s, blocks[i]), (unsigned char)(i & 0xFF)));
    for (int i = 0; i < N; i += 2) CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_OK);
    CHECK(mp_slab_check(s) == 0);
    for (int i = 1; i < N; i += 2) CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_OK);
    MP_HeapStats st;
    mp_slab_stats(s, &st);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0 && st.bytes_requested == 0);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void an_emptied_slab_stays_with_its_class_until_another_class_needs_it(void) {
    MP_SlabConfig cfg = config(4096, 4096); /* one slab only */
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    void *small = mp_slab_alloc(s, 8);
    REQUIRE(small != NULL);
    CHECK(class_stats(s, 0).slab_count == 1);
    CHECK(class_stats(s, 0).slots_free == 511);
    CHECK(mp_slab_alloc(s, 64) == NULL); /* the only slab belongs to class 8 */
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(class_stats(s, 3).failed_alloc_count == 1);
    CHECK_STATUS(mp_slab_free(s, small), MP_OK);
    CHECK(class_stats(s, 0).slab_count == 1 && class_stats(s, 0).slots_free == 512); /* kept */
    CHECK(mp_slab_check(s) == 0);
    void *big = mp_slab_alloc(s, 4096); /* class 4096 takes the empty slab */
    CHECK(big == mp_slab_base(s));      /* whole slab, one slot */
    CHECK(class_stats(s, 0).slab_count == 0);
    CHECK(class_stats(s, 9).slab_count == 1 && class_stats(s, 9).slots_free == 0);
    CHECK(mp_slab_check(s) == 0);
    CHECK_STATUS(mp_slab_free(s, big), MP_OK);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static size_t free_blocks(const MP_Slab *s) {
    MP_FreeStats fs;
    CHECK_STATUS(mp_slab_free_stats(s, &fs), MP_OK);
    return fs.free_block_count;
}

static void a_class_keeps_its_active_slab_and_one_spare_when_they_empty_and_trim_returns_both(void) {
    enum { SLABS = 16, USED = 6, PER_SLAB = 16 }; /* class 256 in 4 KiB slabs */
    REQUIRE(2 * SLAB_CACHE_SLOTS <= PER_SLAB);
    MP_SlabConfig cfg = config(SLABS * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    void *blocks[USED * PER_SLAB];
    for (int i = 0; i < USED * PER_SLAB; i++) {
        blocks[i] = mp_slab_alloc(s, 200);
        REQUIRE(blocks[i] != NULL);
    }
    CHECK(class_stats(s, 5).slab_count == USED && free_blocks(s) == SLABS - USED);
    /* Free slab by slab, the active slab (the last) last: the cache of
     * recent frees then holds only slots of the active slab, and every other
     * slab has emptied: the first is kept as the class's spare, the others
     * went back to the pool. */
    for (int i = 0; i < USED * PER_SLAB; i++) CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_OK);
    MP_SlabClassStats cs = class_stats(s, 5);
    CHECK(cs.slab_count == 2 && cs.slots_in_use == 0 && cs.slots_free == 2 * PER_SLAB);
    CHECK(free_blocks(s) == (SLABS - 2) + 2 * PER_SLAB);
    CHECK(mp_slab_check(s) == 0);
    /* Alloc+free pairs on the emptied class take no slab from the pool and
     * give none back: the most recently freed slot every time. */
    for (int i = 0; i < 100; i++) {
        void *p = mp_slab_alloc(s, 200);
        CHECK(p == blocks[USED * PER_SLAB - 1]);
        CHECK_STATUS(mp_slab_free(s, p), MP_OK);
    }
    CHECK(class_stats(s, 5).slab_count == 2 && free_blocks(s) == (SLABS - 2) + 2 * PER_SLAB);
    CHECK(mp_slab_check(s) == 0);
    size_t released = 0;
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK);
    CHECK(class_stats(s, 5).slab_count == 0 && free_blocks(s) == SLABS);
    CHECK(released == (size_t)USED * 4096); /* every slab used, now pooled, goes back to the OS */
    CHECK(mp_slab_check(s) == 0);
    CHECK(mp_slab_alloc(s, 200) != NULL);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void a_class_short_of_slabs_takes_other_classes_empty_slabs_before_failing(void) {
    MP_SlabConfig cfg = config(4 * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    unsigned char *base = mp_slab_base(s);
    void *a = mp_slab_alloc(s, 2048), *b = mp_slab_alloc(s, 2048), *c = mp_slab_alloc(s, 2048);
    void *d = mp_slab_alloc(s, 8), *e = mp_slab_alloc(s, 16);
    REQUIRE(a && b && c && d && e);
    CHECK((unsigned char *)a == base && (unsigned char *)c == base + 4096);
    CHECK_STATUS(mp_slab_free(s, a), MP_OK);
    CHECK_STATUS(mp_slab_free(s, b), MP_OK); /* slab 0: the spare of class 2048 */
    CHECK_STATUS(mp_slab_free(s, d), MP_OK); /* slab 2: the empty active slab of class 8 */
    CHECK(class_stats(s, 8).slab_count == 2 && class_stats(s, 0).slab_count == 1);
    CHECK(mp_slab_check(s) == 0);
    void *big1 = mp_slab_alloc(s, 4096); /* the pool is empty: the spare first */
    CHECK((unsigned char *)big1 == base);
    CHECK(class_stats(s, 8).slab_count == 1);
    void *big2 = mp_slab_alloc(s, 4096); /* then an empty active slab */
    CHECK((unsigned char *)big2 == base + 2 * 4096);
    CHECK(class_stats(s, 0).slab_count == 0);
    CHECK(mp_slab_check(s) == 0);
    CHECK(mp_slab_alloc(s, 4096) == NULL); /* slabs 1 and 3 hold live blocks */
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void exhaustion_reports_what_is_left(void) {
    MP_SlabConfig cfg = config(2 * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    for (int i = 0; i < 16; i++) CHECK(mp_slab_alloc(s, 256) != NULL); /* fills slab 0 */
    void *small = mp_slab_alloc(s, 16);                                  /* slab 1 */
    REQUIRE(small != NULL);
    mp_clear_last_error();
    CHECK(mp_slab_alloc(s, 200) == NULL);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY);
    CHECK(e.requested_bytes == 200);
    CHECK(e.available_bytes == 255 * 16);
    CHECK(e.largest_free_bytes == 16);
    CHECK(class_stats(s, 5).failed_alloc_count == 1);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void realloc_stays_in_place_while_the_size_fits_the_slot(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc(s, 9);
    REQUIRE(p != NULL);
    void *q = p;
    CHECK_STATUS(mp_slab_realloc(s, &q, 16), MP_OK);
    CHECK(q == p);
    CHECK_STATUS(mp_slab_realloc(s, &q, 0), MP_OK); /* shrinking stays too */
    CHECK(q == p);
    MP_HeapStats st;
    mp_slab_stats(s, &st);
    CHECK(st.bytes_requested == 0 && st.bytes_in_use == 16 && st.realloc_count == 2);
    CHECK(st.alloc_count == 1 && st.live_block_count == 1);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void realloc_moves_to_a_larger_class_with_contents(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    unsigned char *p = mp_slab_alloc(s, 30);
    REQUIRE(p != NULL);
    for (int i = 0; i < 32; i++) p[i] = (unsigned char)(i * 3);
    void *q = p;
    CHECK_STATUS(mp_slab_realloc(s, &q, 1000), MP_OK);
    REQUIRE(q != NULL);
    CHECK(q != (void *)p);
    CHECK(mp_slab_usable_size(s, q) == 1024);
    CHECK(mp_slab_usable_size(s, p) == 0); /* the old slot is free */
    for (int i = 0; i < 32; i++) CHECK(((unsigned char *)q)[i] == (unsigned char)(i * 3));
    MP_HeapStats st;
    mp_slab_stats(s, &st);
    CHECK(st.live_block_count == 1 && st.bytes_in_use == 1024 && st.bytes_requested == 1000);
    CHECK(st.bytes_in_use_peak == 1024 && st.realloc_count == 1 && st.free_count == 0);
    void *fresh = NULL;
    CHECK_STATUS(mp_slab_realloc(s, &fresh, 100), MP_OK); /* NULL allocates */
    CHECK(fresh != NULL && mp_slab_usable_size(s, fresh) == 128);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void realloc_keeps_the_alignment_of_the_block(void) {
    /* 96 is only 32-aligned: a 64-aligned block growing past 64 goes to 128. */
    static const size_t classes[] = {8, 24, 64, 96, 128};
    MP_Slab *s = create_with_classes(1 << 16, 4096, classes, 5);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc_aligned(s, 8, 64);
    REQUIRE(p != NULL);
    CHECK((uintptr_t)p % 64 == 0 && mp_slab_usable_size(s, p) == 64);
    CHECK_STATUS(mp_slab_realloc(s, &p, 70), MP_OK);
    CHECK((uintptr_t)p % 64 == 0 && mp_slab_usable_size(s, p) == 128);
    void *q = mp_slab_alloc(s, 20); /* class 24, alignment 8 */
    REQUIRE(q != NULL);
    CHECK_STATUS(mp_slab_realloc(s, &q, 90), MP_OK);
    CHECK(mp_slab_usable_size(s, q) == 96);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void alloc_aligned_picks_the_first_class_with_that_alignment(void) {
    static const size_t classes[] = {8, 24, 48, 64, 4096};
    MP_Slab *s = create_with_classes(1 << 16, 4096, classes, 5);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc_aligned(s, 10, 16);
    CHECK(p != NULL && (uintptr_t)p % 16 == 0 && mp_slab_usable_size(s, p) == 48);
    p = mp_slab_alloc_aligned(s, 10, 8);
    CHECK(p != NULL && mp_slab_usable_size(s, p) == 24);
    p = mp_slab_alloc_aligned(s, 1, 64);
    CHECK(p != NULL && (uintptr_t)p % 64 == 0 && mp_slab_usable_size(s, p) == 64);
    p = mp_slab_alloc_aligned(s, 1, 1024);
    CHECK(p != NULL && (uintptr_t)p % 1024 == 0 && mp_slab_usable_size(s, p) == 4096);
    CHECK(mp_slab_alloc_aligned(s, 1, 8192) == NULL);
    CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void calloc_zeroes_the_whole_slot(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *keep = mp_slab_alloc(s, 200); /* keeps the slab assigned */
    unsigned char *p = mp_slab_alloc(s, 200);
    REQUIRE(keep != NULL && p != NULL);
    memset(p, 0xAB, 256);
    CHECK_STATUS(mp_slab_free(s, p), MP_OK);
    unsigned char *z = mp_slab_calloc(s, 150);
    CHECK(z == p); /* the freed slot is reused */
    REQUIRE(z != NULL);
    CHECK(all_bytes_are(z, 256, 0));
    MP_HeapStats st;
    mp_slab_stats(s, &st);
    CHECK(st.bytes_requested == 350 && st.alloc_count == 3);
    mp_slab_destroy(s);
}

static void stats_count_every_field(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *a = mp_slab_alloc(s, 100);  /* 128 */
    void *b = mp_slab_alloc(s, 3000); /* 4096 */
    void *c = mp_slab_alloc(s, 5);    /* 8 */
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_slab_free(s, b), MP_OK);
    CHECK_STATUS(mp_slab_free(s, b), MP_ERR_DOUBLE_FREE);
    CHECK(mp_slab_alloc(s, 1 << 20) == NULL);
    CHECK_STATUS(mp_slab_realloc(s, &a, 120), MP_OK);
    MP_HeapStats st;
    CHECK_STATUS(mp_slab_stats(s, &st), MP_OK);
    CHECK(st.region_bytes == 1 << 20);
    CHECK(st.bytes_in_use == 136);
    CHECK(st.bytes_in_use_peak == 128 + 4096 + 8);
    CHECK(st.bytes_requested == 125);
    CHECK(st.live_block_count == 2);
    CHECK(st.alloc_count == 3);
    CHECK(st.free_count == 1);
    CHECK(st.realloc_count == 1);
    CHECK(st.failed_alloc_count == 1);
    CHECK(st.rejected_free_count == 1);
    MP_SlabClassStats cs = class_stats(s, 4);
    CHECK(cs.slot_bytes == 128 && cs.slab_count == 1 && cs.slots_in_use == 1);
    CHECK(cs.slots_free == 65536 / 128 - 1 && cs.alloc_count == 1 && cs.failed_alloc_count == 0);
    MP_SlabClassStats emptied = class_stats(s, 9); /* keeps its emptied active slab */
    CHECK(emptied.alloc_count == 1 && emptied.slab_count == 1 && emptied.slots_in_use == 0);
    CHECK(emptied.slots_free == 65536 / 4096);
    mp_slab_destroy(s);
}

static void free_stats_count_free_slots_and_pooled_slabs(void) {
    MP_SlabConfig cfg = config(4 * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    MP_FreeStats fs;
    CHECK_STATUS(mp_slab_free_stats(s, &fs), MP_OK);
    CHECK(fs.free_bytes == 4 * 4096 && fs.free_block_count == 4);
    CHECK(fs.largest_free_block_bytes == 4096);
    CHECK(fs.fragmentation > 0.749 && fs.fragmentation < 0.751);
    void *p = mp_slab_alloc(s, 8);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_slab_free_stats(s, &fs), MP_OK);
    CHECK(fs.free_bytes == 3 * 4096 + 511 * 8);
    CHECK(fs.free_block_count == 3 + 511);
    CHECK(fs.largest_free_block_bytes == 4096);
    double expected = 1.0 - 4096.0 / (3 * 4096 + 511 * 8);
    CHECK(fs.fragmentation > expected - 1e-9 && fs.fragmentation < expected + 1e-9);
    for (int i = 0; i < 3; i++) CHECK(mp_slab_alloc(s, 4096) != NULL);
    for (int i = 0; i < 511; i++) CHECK(mp_slab_alloc(s, 8) != NULL);
    CHECK_STATUS(mp_slab_free_stats(s, &fs), MP_OK);
    CHECK(fs.free_bytes == 0 && fs.free_block_count == 0 && fs.largest_free_block_bytes == 0);
    CHECK(fs.fragmentation == 0.0);
    mp_slab_destroy(s);
}

typedef struct walk_tally {
    size_t used_blocks, free_blocks, used_bytes, free_bytes;
    uintptr_t last_end;
    int ordered;
} walk_tally;

static int tally_block(void *ptr, size_t size_bytes, int is_used, void *ctx) {
    walk_tally *t = ctx;
    if ((uintptr_t)ptr < t->last_end) t->ordered = 0;
    t->last_end = (uintptr_t)ptr + size_bytes;
    if (is_used) {
        t->used_blocks++;
        t->used_bytes += size_bytes;
    } else {
        t->free_blocks++;
        t->free_bytes += size_bytes;
    }
    return 0;
}

static int stop_at_first(void *ptr, size_t size_bytes, int is_used, void *ctx) {
    (void)ptr, (void)size_bytes, (void)is_used;
    ++*(int *)ctx;
    return 1;
}

static void walk_visits_every_slot_and_pooled_slab_in_address_order(void) {
    MP_SlabConfig cfg = config(4 * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    void *a = mp_slab_alloc(s, 24);   /* class 32: 128 slots */
    void *b = mp_slab_alloc(s, 1500); /* class 2048: 2 slots */
    void *c = mp_slab_alloc(s, 30);
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_slab_free(s, a), MP_OK);
    walk_tally t = {0, 0, 0, 0, 0, 1};
    CHECK_STATUS(mp_slab_walk(s, tally_block, &t), MP_OK);
    CHECK(t.ordered);
    CHECK(t.used_blocks == 2 && t.used_bytes == 32 + 2048);
    CHECK(t.free_blocks == 127 + 1 + 2);
    CHECK(t.used_bytes + t.free_bytes == 4 * 4096);
    MP_FreeStats fs;
    mp_slab_free_stats(s, &fs);
    CHECK(fs.free_bytes == t.free_bytes && fs.free_block_count == t.free_blocks);
    int calls = 0;
    CHECK_STATUS(mp_slab_walk(s, stop_at_first, &calls), MP_OK);
    CHECK(calls == 1);
    mp_slab_destroy(s);
}

static void trim_gives_the_pages_of_empty_slabs_back_to_the_os(void) {
    enum { SLABS = 64, SLAB = 65536 };
    MP_Slab *s = mp_slab_create((size_t)SLABS * SLAB);
    REQUIRE(s != NULL);
    static void *blocks[32 * 16];
    for (int i = 0; i < 32 * 16; i++) { /* 32 slabs of 16 slots of 4096 bytes */
        blocks[i] = mp_slab_alloc(s, 4096);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], 0x5A, 4096);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t touched = (size_t)32 * SLAB / page;
    CHECK(mp_test_resident_pages(mp_slab_base(s), (size_t)SLABS * SLAB) >= touched);
    void *keep = mp_slab_alloc(s, 64); /* slab 32 stays assigned */
    for (int i = 0; i < 32 * 16; i++) CHECK_STATUS(mp_slab_free(s, blocks[i]), MP_OK);
    size_t released = 0;
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK);
    CHECK(released == (size_t)32 * SLAB);
    CHECK(mp_test_resident_pages(mp_slab_base(s), (size_t)32 * SLAB) == 0);
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK); /* nothing dirty is left */
    CHECK(released == 0);
    CHECK(mp_slab_check(s) == 0);
    unsigned char *again = mp_slab_alloc(s, 4096); /* a released slab is usable again */
    REQUIRE(again != NULL && keep != NULL);
    memset(again, 1, 4096);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void trim_leaves_caller_memory_alone(void) {
    size_t bytes = 4 * 4096;
    void *region = aligned_alloc(4096, bytes);
    REQUIRE(region != NULL);
    MP_SlabConfig cfg = config(bytes, 4096);
    cfg.region = region;
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    CHECK(mp_slab_base(s) == region);
    void *p = mp_slab_alloc(s, 100);
    CHECK_STATUS(mp_slab_free(s, p), MP_OK);
    size_t released = 123;
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK);
    CHECK(released == 0);
    CHECK_STATUS(mp_slab_trim(s, NULL), MP_OK);
    mp_slab_destroy(s);
    free(region);
}

static void create_in_keeps_everything_inside_caller_memory(void) {
    MP_SlabConfig cfg = config(8 * 4096, 4096);
    size_t need = mp_slab_footprint(&cfg);
    CHECK(need >= 8 * 4096);
    unsigned char *raw = malloc(need + 64);
    REQUIRE(raw != NULL);
    for (size_t shift = 16; shift <= 48; shift += 16) { /* several misalignments */
        unsigned char *mem = raw + shift;
        CHECK(mp_slab_create_in(mem, need - 1, &cfg) == NULL);
        MP_Slab *s = mp_slab_create_in(mem, need, &cfg);
        REQUIRE(s != NULL);
        CHECK((unsigned char *)s >= mem && (unsigned char *)s < mem + need);
        unsigned char *base = mp_slab_base(s);
        CHECK(base >= mem && base + 8 * 4096 <= mem + need);
        CHECK((uintptr_t)base % 4096 == 0);
        for (int i = 0; i < 8; i++) {
            unsigned char *p = mp_slab_alloc(s, 4096);
            REQUIRE(p != NULL);
            memset(p, 0x11, 4096);
        }
        CHECK(mp_slab_alloc(s, 8) == NULL);
        CHECK(mp_slab_check(s) == 0);
        CHECK_STATUS(mp_slab_reset(s), MP_OK);
        CHECK(mp_slab_alloc(s, 8) != NULL);
        mp_slab_destroy(s);
    }
    free(raw);
}

static void a_caller_region_only_16_byte_aligned_gives_16_byte_alignment(void) {
    size_t bytes = 4 * 4096;
    unsigned char *raw = aligned_alloc(4096, bytes + 4096);
    REQUIRE(raw != NULL);
    MP_SlabConfig cfg = config(bytes, 4096);
    cfg.region = raw + 16;
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    CHECK(mp_slab_base(s) == raw + 16);
    void *p = mp_slab_alloc(s, 100);
    REQUIRE(p != NULL);
    CHECK((uintptr_t)p % 16 == 0 && (unsigned char *)p >= raw + 16);
    void *q = mp_slab_alloc_aligned(s, 100, 16);
    CHECK(q != NULL && (uintptr_t)q % 16 == 0);
    CHECK(mp_slab_alloc_aligned(s, 100, 32) == NULL); /* no slot of this region is 32-aligned */
    CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    for (int i = 0; i < 3; i++) {
        unsigned char *b = mp_slab_alloc(s, 4096);
        REQUIRE(b != NULL);
        CHECK(b + 4096 <= raw + 16 + bytes);
        memset(b, 0x22, 4096);
    }
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
    free(raw);
}

typedef struct hook_counts {
    int constructed, destructed;
} hook_counts;

static void construct(void *obj, size_t size_bytes, void *ctx) {
    ((hook_counts *)ctx)->constructed++;
    memset(obj, 0xC7, size_bytes);
}

static void destruct(void *obj, size_t size_bytes, void *ctx) {
    unsigned char *b = obj;
    CHECK(size_bytes == 64);
    CHECK(b[size_bytes - 1] == 0xC7); /* still in its constructed state */
    ((hook_counts *)ctx)->destructed++;
}

static void constructed_objects_are_cached_until_their_slab_returns(void) {
    hook_counts counts = {0, 0};
    MP_SlabConfig cfg = config(4 * 4096, 4096);
    cfg.ctor = construct;
    cfg.dtor = destruct;
    cfg.hook_ctx = &counts;
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    unsigned char *a = mp_slab_alloc(s, 64);
    unsigned char *b = mp_slab_alloc(s, 64);
    REQUIRE(a && b);
    CHECK(counts.constructed == 2 && a[0] == 0xC7);
    a[0] = 0x01; /* objects keep the state their user leaves */
    CHECK_STATUS(mp_slab_free(s, a), MP_OK);
    unsigned char *again = mp_slab_alloc(s, 64);
    CHECK(again == a && counts.constructed == 2 && again[0] == 0x01);
    again[0] = 0xC7;
    CHECK_STATUS(mp_slab_free(s, a), MP_OK);
    CHECK(counts.destructed == 0);
    CHECK_STATUS(mp_slab_free(s, b), MP_OK); /* slab empty, kept by its class */
    CHECK(counts.destructed == 0);
    CHECK_STATUS(mp_slab_trim(s, NULL), MP_OK); /* back to the pool */
    CHECK(counts.destructed == 2);
    for (int i = 0; i < 3; i++) CHECK(mp_slab_alloc(s, 64) != NULL);
    CHECK(counts.constructed == 5);
    CHECK_STATUS(mp_slab_reset(s), MP_OK);
    CHECK(counts.destructed == 5);
    CHECK(mp_slab_alloc(s, 64) != NULL);
    mp_slab_destroy(s);
    CHECK(counts.constructed == 6 && counts.destructed == 6);
}

static void reset_frees_everything_and_keeps_the_counters_since_create(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    REQUIRE(s != NULL);
    void *p = NULL;
    for (int i = 0; i < 100; i++) p = mp_slab_alloc(s, (size_t)i * 37 % 4000);
    CHECK_STATUS(mp_slab_reset(s), MP_OK);
    MP_HeapStats st;
    mp_slab_stats(s, &st);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0 && st.bytes_requested == 0);
    CHECK(st.bytes_in_use_peak == 0 && st.alloc_count == 100);
    CHECK(mp_slab_usable_size(s, p) == 0);
    for (size_t c = 0; c < mp_slab_class_count(s); c++) CHECK(class_stats(s, c).slab_count == 0);
    MP_FreeStats fs;
    mp_slab_free_stats(s, &fs);
    CHECK(fs.free_bytes == 1 << 20);
    CHECK(mp_slab_check(s) == 0);
    CHECK(mp_slab_alloc(s, 8) == mp_slab_base(s)); /* lowest slab first again */
    mp_slab_destroy(s);
}

static void large_classes_above_the_table_are_found_by_search(void) {
    static const size_t classes[] = {16, 40000, 65536, 131072, 1 << 20};
    MP_Slab *s = create_with_classes(4 << 20, 1 << 20, classes, 5);
    REQUIRE(s != NULL);
    const size_t sizes[] = {17, 32768, 32769, 40000, 40001, 70000, 131073};
    const size_t usable[] = {40000, 40000, 40000, 40000, 65536, 131072, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = mp_slab_alloc(s, sizes[i]);
        REQUIRE(p != NULL);
        CHECK(mp_slab_usable_size(s, p) == usable[i]);
    }
    CHECK(mp_slab_alloc(s, (1 << 20) + 1) == NULL);
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void odd_slot_sizes_are_located_exactly(void) {
    static const size_t classes[] = {24, 40, 200, 1000, 4088};
    MP_Slab *s = create_with_classes(8 * 4096, 4096, classes, 5);
    REQUIRE(s != NULL);
    for (size_t c = 0; c < 5; c++) {
        size_t n = 4096 / classes[c];
        unsigned char *first = NULL;
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = mp_slab_alloc(s, classes[c]);
            REQUIRE(p != NULL);
            if (i == 0) first = p;
            CHECK(p == first + i * classes[c]);
            CHECK(mp_slab_usable_size(s, p) == classes[c]);
            CHECK(mp_slab_usable_size(s, p + 8) == 0);
        }
        for (size_t i = 0; i < n; i++) CHECK_STATUS(mp_slab_free(s, first + i * classes[c]), MP_OK);
    }
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

/* Writes `byte` over a freed block; under ASan the block is unpoisoned for
 * the write and poisoned again, under valgrind nothing is written. */
static void scribble(void *p, size_t n, int byte) {
    if (RUNNING_ON_VALGRIND) return;
    MP_UNPOISON(p, n);
    memset(p, byte, n);
    MP_POISON(p, n);
}

static void writes_into_freed_slots_never_reach_the_allocator(void) {
    MP_SlabConfig cfg = config(16 * 4096, 4096);
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    enum { N = 200 };
    unsigned char *live[N];
    size_t usable[N];
    for (int i = 0; i < N; i++) {
        live[i] = mp_slab_alloc(s, (size_t)(8 << (i % 6)));
        REQUIRE(live[i] != NULL);
        usable[i] = mp_slab_usable_size(s, live[i]);
    }
    for (int i = 0; i < N; i += 2) {
        CHECK_STATUS(mp_slab_free(s, live[i]), MP_OK);
        scribble(live[i], usable[i], 0xFF);
        live[i] = NULL;
    }
    for (int i = 1; i < N; i += 2) memset(live[i], i, usable[i]);
    CHECK(mp_slab_check(s) == 0);
    for (int i = 0; i < N; i += 2) {
        live[i] = mp_slab_alloc(s, (size_t)(8 << (i % 6)));
        REQUIRE(live[i] != NULL);
        memset(live[i], i, usable[i]);
    }
    for (int i = 0; i < N; i++) CHECK(all_bytes_are(live[i], usable[i], (unsigned char)i));
    CHECK(mp_slab_check(s) == 0);
    mp_slab_destroy(s);
}

static void thread_safe_instances_work_from_one_thread(void) {
    MP_SlabConfig cfg = config(1 << 20, 0);
    cfg.flags = MP_FLAG_THREAD_SAFE;
    MP_Slab *s = mp_slab_create_ex(&cfg);
    REQUIRE(s != NULL);
    void *p = mp_slab_alloc(s, 50);
    void *q = mp_slab_calloc(s, 50);
    void *r = mp_slab_alloc_aligned(s, 50, 64);
    REQUIRE(p && q && r);
    CHECK_STATUS(mp_slab_realloc(s, &p, 500), MP_OK);
    CHECK(mp_slab_usable_size(s, p) == 512);
    CHECK_STATUS(mp_slab_free(s, q), MP_OK);
    MP_HeapStats st;
    MP_FreeStats fs;
    CHECK_STATUS(mp_slab_stats(s, &st), MP_OK);
    CHECK_STATUS(mp_slab_free_stats(s, &fs), MP_OK);
    CHECK(st.live_block_count == 2);
    size_t released;
    CHECK_STATUS(mp_slab_trim(s, &released), MP_OK);
    CHECK(mp_slab_check(s) == 0);
    CHECK_STATUS(mp_slab_reset(s), MP_OK);
    mp_slab_destroy(s);
}

static void destroy_accepts_null(void) {
    mp_slab_destroy(NULL);
    CHECK(1);
}

MP_TEST_MAIN(TEST_CASE(default_classes_are_powers_of_two_from_8_to_4096),
             TEST_CASE(sizes_above_the_largest_class_fail_with_invalid_argument),
             TEST_CASE(blocks_of_many_classes_never_overlap_and_keep_contents),
             TEST_CASE(an_emptied_slab_stays_with_its_class_until_another_class_needs_it),
             TEST_CASE(a_class_keeps_its_active_slab_and_one_spare_when_they_empty_and_trim_returns_both),
             TEST_CASE(a_class_short_of_slabs_takes_other_classes_empty_slabs_before_failing),
             TEST_CASE(exhaustion_reports_what_is_left),
             TEST_CASE(realloc_stays_in_place_while_the_size_fits_the_slot),
             TEST_CASE(realloc_moves_to_a_larger_class_with_contents),
             TEST_CASE(realloc_keeps_the_alignment_of_the_block),
             TEST_CASE(alloc_aligned_picks_the_first_class_with_that_alignment),
             TEST_CASE(calloc_zeroes_the_whole_slot), TEST_CASE(stats_count_every_field),
             TEST_CASE(free_stats_count_free_slots_and_pooled_slabs),
             TEST_CASE(walk_visits_every_slot_and_pooled_slab_in_address_order),
             TEST_CASE(trim_gives_the_pages_of_empty_slabs_back_to_the_os),
             TEST_CASE(trim_leaves_caller_memory_alone),
             TEST_CASE(create_in_keeps_everything_inside_caller_memory),
             TEST_CASE(a_caller_region_only_16_byte_aligned_gives_16_byte_alignment),
             TEST_CASE(constructed_objects_are_cached_until_their_slab_returns),
             TEST_CASE(reset_frees_everything_and_keeps_the_counters_since_create),
             TEST_CASE(large_classes_above_the_table_are_found_by_search),
             TEST_CASE(odd_slot_sizes_are_located_exactly),
             TEST_CASE(writes_into_freed_slots_never_reach_the_allocator),
             TEST_CASE(thread_safe_instances_work_from_one_thread), TEST_CASE(destroy_accepts_null))
