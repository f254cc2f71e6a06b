/*
 * test_fitlist.c - API tests of the fit-list allocator: placement of each
 * policy, splitting and coalescing, realloc in place and moving, calloc,
 * alignment on real addresses, counters, free stats, walk, trim, reset,
 * create_in and caller regions.
 */
#define _DEFAULT_SOURCE
#include "mp_test.h"

#include "fitlist_tree.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t blocks_free(MP_FitList *f) {
    MP_FreeStats fs;
    mp_fitlist_free_stats(f, &fs);
    return fs.free_block_count;
}

/* Fills the whole region with blocks of `sizes` (in order) followed by one
 * block taking the rest, then frees the blocks at the listed indices; returns
 * the block pointers in `out`. */
static int make_holes(MP_FitList *f, const size_t *sizes, size_t n, const size_t *holes, size_t n_holes,
                      void **out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = mp_fitlist_alloc(f, sizes[i]);
        if (out[i] == NULL) return 0;
    }
    MP_FreeStats fs;
    mp_fitlist_free_stats(f, &fs);
    if (fs.free_bytes > 0 && mp_fitlist_alloc(f, fs.free_bytes) == NULL) return 0;
    for (size_t i = 0; i < n_holes; i++)
        if (mp_fitlist_free(f, out[holes[i]]) != MP_OK) return 0;
    return 1;
}

/* Holes, in address order: 32, 128, 64, 256, 64, 256 bytes, separated by used
 * 16-byte blocks. A 48-byte request must go to the 128 hole (first fit), the
 * first 64 hole (best fit) and the first 256 hole (worst fit). */
static void *policy_choice(MP_FitPolicy policy, void **blocks) {
    static const size_t sizes[] = {32, 16, 128, 16, 64, 16, 256, 16, 64, 16, 256, 16};
    static const size_t holes[] = {0, 2, 4, 6, 8, 10};
    MP_FitList *f = mp_fitlist_create(4096, policy);
    if (f == NULL || !make_holes(f, sizes, 12, holes, 6, blocks)) {
        mp_fitlist_destroy(f);
        return NULL;
    }
    void *p = mp_fitlist_alloc(f, 48);
    if (mp_fitlist_check(f) != 0) p = NULL;
    mp_fitlist_destroy(f);
    return p;
}

static void first_fit_takes_lowest_address_that_fits(void) {
    void *blocks[12];
    void *p = policy_choice(MP_FIT_FIRST, blocks);
    CHECK(p != NULL && p == blocks[2]);
}

static void best_fit_takes_smallest_block_that_fits_lowest_address_on_ties(void) {
    void *blocks[12];
    void *p = policy_choice(MP_FIT_BEST, blocks);
    CHECK(p != NULL && p == blocks[4]);
}

static void worst_fit_takes_largest_block_lowest_address_on_ties(void) {
    void *blocks[12];
    void *p = policy_choice(MP_FIT_WORST, blocks);
    CHECK(p != NULL && p == blocks[6]);
}

static void aligned_first_fit_takes_lowest_block_with_an_aligned_fit(void) {
    /* Caller region whose base is 4096-aligned: the 64 hole at offset 48 has
     * no 64-aligned 64-byte fit, the 128 hole at offset 128 does. */
    static _Alignas(4096) uint8_t region[4096];
    MP_FitListConfig cfg = {sizeof region, MP_FIT_FIRST, 0, region};
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    REQUIRE(f != NULL);
    static const size_t sizes[] = {48, 64, 16, 128, 16};
    static const size_t holes[] = {1, 3};
    void *blocks[5];
    REQUIRE(make_holes(f, sizes, 5, holes, 2, blocks));
    CHECK((uint8_t *)blocks[1] == region + 48 && (uint8_t *)blocks[3] == region + 128);
    void *p = mp_fitlist_alloc_aligned(f, 64, 64);
    CHECK(p == region + 128);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void alloc_rounds_to_granules_and_counts_requested_bytes(void) {
    MP_FitList *f = mp_fitlist_create(65536, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100};
    static const size_t usable[] = {16, 16, 16, 16, 32, 112};
    size_t in_use = 0, requested = 0;
    for (size_t i = 0; i < 6; i++) {
        uint8_t *p = mp_fitlist_alloc(f, sizes[i]);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        CHECK(mp_fitlist_usable_size(f, p) == usable[i]);
        in_use += usable[i];
        requested += sizes[i];
    }
    MP_HeapStats s;
    CHECK_STATUS(mp_fitlist_stats(f, &s), MP_OK);
    CHECK(s.region_bytes == 65536 && s.bytes_in_use == in_use && s.bytes_requested == requested);
    CHECK(s.live_block_count == 6 && s.alloc_count == 6 && s.bytes_in_use_peak == in_use);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void free_coalesces_with_both_neighbours(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_BEST);
    REQUIRE(f != NULL);
    void *a = mp_fitlist_alloc(f, 64), *b = mp_fitlist_alloc(f, 64), *c = mp_fitlist_alloc(f, 64);
    REQUIRE(a && b && c);
    CHECK(blocks_free(f) == 1);
    CHECK_STATUS(mp_fitlist_free(f, a), MP_OK);
    CHECK_STATUS(mp_fitlist_free(f, c), MP_OK); /* merges with the tail */
    CHECK(blocks_free(f) == 2);
    CHECK_STATUS(mp_fitlist_free(f, b), MP_OK); /* merges left and right */
    MP_FreeStats fs;
    CHECK_STATUS(mp_fitlist_free_stats(f, &fs), MP_OK);
    CHECK(fs.free_block_count == 1 && fs.free_bytes == 4096 && fs.largest_free_block_bytes == 4096);
    CHECK(fs.fragmentation == 0.0);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void realloc_grows_in_place_into_free_right_neighbour(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    uint8_t *a = mp_fitlist_alloc(f, 64), *b = mp_fitlist_alloc(f, 64), *c = mp_fitlist_alloc(f, 64);
    REQUIRE(a && b && c);
    memset(a, 0x5A, 64);
    CHECK_STATUS(mp_fitlist_free(f, b), MP_OK);
    void *p = a;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 100), MP_OK);
    CHECK(p == a && mp_fitlist_usable_size(f, a) == 112);
    CHECK(a[0] == 0x5A && a[63] == 0x5A);
    CHECK(blocks_free(f) == 2); /* 16 bytes left of b's hole, plus the tail */
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 128), MP_OK);
    CHECK(p == a && blocks_free(f) == 1);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.realloc_count == 2 && s.bytes_requested == 128 + 64 && s.bytes_in_use == 192);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void realloc_shrinks_in_place_and_frees_the_tail(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_WORST);
    REQUIRE(f != NULL);
    uint8_t *a = mp_fitlist_alloc(f, 256), *b = mp_fitlist_alloc(f, 16);
    REQUIRE(a && b);
    memset(a, 0x11, 256);
    void *p = a;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 40), MP_OK);
    CHECK(p == a && mp_fitlist_usable_size(f, a) == 48 && a[39] == 0x11);
    MP_FreeStats fs;
    mp_fitlist_free_stats(f, &fs);
    CHECK(fs.free_block_count == 2 && fs.free_bytes == 4096 - 48 - 16);
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 0), MP_OK); /* size 0: a minimal block */
    CHECK(p == a && mp_fitlist_usable_size(f, a) == 16);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void realloc_moves_when_blocked_and_keeps_contents_and_alignment(void) {
    MP_FitList *f = mp_fitlist_create(65536, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    uint8_t *a = mp_fitlist_alloc_aligned(f, 100, 256);
    REQUIRE(a != NULL);
    void *blocker = mp_fitlist_alloc(f, 16);
    REQUIRE(blocker == a + 112);
    for (int i = 0; i < 100; i++)
        a[i] = (uint8_t)i;
    void *p = a;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 1000), MP_OK);
    uint8_t *q = p;
    CHECK(q != a && ((uintptr_t)q & 255) == 0);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= q[i] == (uint8_t)i;
    CHECK(same);
    CHECK(mp_fitlist_usable_size(f, a) == 0); /* the old block is free */
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.live_block_count == 2 && s.alloc_count == 2 && s.free_count == 0 && s.realloc_count == 1);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void realloc_of_null_allocates(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_BEST);
    REQUIRE(f != NULL);
    void *p = NULL;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 0), MP_OK);
    CHECK(p != NULL && mp_fitlist_usable_size(f, p) == 16);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.alloc_count == 1 && s.realloc_count == 1 && s.live_block_count == 1 && s.bytes_requested == 0);
    mp_fitlist_destroy(f);
}

static void calloc_zeroes_recycled_memory(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    uint8_t *a = mp_fitlist_alloc(f, 200);
    REQUIRE(a != NULL);
    memset(a, 0xAB, 200);
    CHECK_STATUS(mp_fitlist_free(f, a), MP_OK);
    uint8_t *z = mp_fitlist_calloc(f, 200);
    REQUIRE(z == a);
    size_t nonzero = 0;
    for (size_t i = 0; i < mp_fitlist_usable_size(f, z); i++)
        nonzero += z[i] != 0;
    CHECK(nonzero == 0);
    mp_fitlist_destroy(f);
}

static void alloc_aligned_honours_alignment_in_a_region_only_16_byte_aligned(void) {
    static _Alignas(64) uint8_t buffer[65536 + 64];
    uint8_t *region = buffer + 16; /* 16-byte aligned, not 32 */
    MP_FitListConfig cfg = {65536, MP_FIT_BEST, 0, region};
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    REQUIRE(f != NULL);
    CHECK(mp_fitlist_base(f) == region);
    for (size_t align = 1; align <= 4096; align <<= 1) {
        uint8_t *p = mp_fitlist_alloc_aligned(f, 24, align);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p & (align - 1)) == 0 && ((uintptr_t)p & 15) == 0);
        CHECK(p >= region && p + 24 <= region + 65536);
        CHECK(mp_fitlist_check(f) == 0);
    }
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.live_block_count == 13 && s.bytes_in_use == 13 * 32);
    mp_fitlist_destroy(f);
}

static void alloc_aligned_uses_a_block_that_fits_exactly(void) {
    static _Alignas(4096) uint8_t region[8192];
    MP_FitListConfig cfg = {sizeof region, MP_FIT_WORST, 0, region};
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    REQUIRE(f != NULL);
    void *p = mp_fitlist_alloc_aligned(f, 8192, 4096);
    CHECK(p == region);
    CHECK(mp_fitlist_alloc(f, 1) == NULL);
    CHECK_STATUS(mp_fitlist_free(f, p), MP_OK);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void caller_region_with_unaligned_base_manages_the_aligned_part(void) {
    static _Alignas(64) uint8_t buffer[4096];
    MP_FitListConfig cfg = {4000, MP_FIT_FIRST, 0, buffer + 3};
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    REQUIRE(f != NULL);
    CHECK(mp_fitlist_base(f) == buffer + 16);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.region_bytes == (4000 - 13) / 16 * 16);
    CHECK(mp_fitlist_alloc(f, s.region_bytes) == buffer + 16);
    mp_fitlist_destroy(f);
}

static void exhaustion_returns_null_and_records_why(void) {
    MP_FitList *f = mp_fitlist_create(1024, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    void *a = mp_fitlist_alloc(f, 512), *b = mp_fitlist_alloc(f, 256);
    REQUIRE(a && b);
    mp_clear_last_error();
    CHECK(mp_fitlist_alloc(f, 300) == NULL);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY && e.requested_bytes == 300);
    CHECK(e.available_bytes == 256 && e.largest_free_bytes == 256);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.failed_alloc_count == 1 && s.alloc_count == 2);
    mp_fitlist_destroy(f);
}

static void stats_track_peak_and_counts(void) {
    MP_FitList *f = mp_fitlist_create(8192, MP_FIT_BEST);
    REQUIRE(f != NULL);
    void *a = mp_fitlist_alloc(f, 1000), *b = mp_fitlist_alloc(f, 10);
    REQUIRE(a && b);
    CHECK_STATUS(mp_fitlist_free(f, a), MP_OK);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.bytes_in_use == 16 && s.bytes_in_use_peak == 1008 + 16 && s.bytes_requested == 10);
    CHECK(s.alloc_count == 2 && s.free_count == 1 && s.live_block_count == 1);
    CHECK(s.failed_alloc_count == 0 && s.rejected_free_count == 0);
    mp_fitlist_destroy(f);
}

static void free_stats_report_fragmentation(void) {
    MP_FitList *f = mp_fitlist_create(1024, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    static const size_t sizes[] = {256, 16, 256, 16};
    static const size_t holes[] = {0, 2};
    void *blocks[4];
    REQUIRE(make_holes(f, sizes, 4, holes, 1, blocks));
    MP_FreeStats fs;
    CHECK_STATUS(mp_fitlist_free_stats(f, &fs), MP_OK);
    CHECK(fs.free_block_count == 1 && fs.fragmentation == 0.0);
    CHECK_STATUS(mp_fitlist_free(f, blocks[2]), MP_OK);
    CHECK_STATUS(mp_fitlist_free_stats(f, &fs), MP_OK);
    CHECK(fs.free_block_count == 2 && fs.free_bytes == 512 && fs.largest_free_block_bytes == 256);
    CHECK(fs.fragmentation == 0.5);
    mp_fitlist_destroy(f);
}

typedef struct walk_log {
    size_t blocks, used, bytes, stop_after;
    uint8_t *last_end;
    int contiguous;
} walk_log;

static int log_block(void *ptr, size_t size, int is_used, void *ctx) {
    walk_log *w = ctx;
    if (w->last_end != NULL && ptr != w->last_end) w->contiguous = 0;
    w->last_end = (uint8_t *)ptr + size;
    w->blocks++;
    w->used += is_used != 0;
    w->bytes += size;
    return w->blocks == w->stop_after;
}

static void walk_visits_blocks_in_address_order_and_can_stop(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    void *a = mp_fitlist_alloc(f, 100), *b = mp_fitlist_alloc(f, 200), *c = mp_fitlist_alloc(f, 300);
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_fitlist_free(f, b), MP_OK);
    walk_log w = {0, 0, 0, 0, NULL, 1};
    CHECK_STATUS(mp_fitlist_walk(f, log_block, &w), MP_OK);
    CHECK(w.blocks == 4 && w.used == 2 && w.bytes == 4096 && w.contiguous);
    CHECK(w.last_end == (uint8_t *)mp_fitlist_base(f) + 4096);
    walk_log stop = {0, 0, 0, 2, NULL, 1};
    CHECK_STATUS(mp_fitlist_walk(f, log_block, &stop), MP_OK);
    CHECK(stop.blocks == 2);
    mp_fitlist_destroy(f);
}

static size_t resident_pages(void *start, size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = bytes / page, resident = 0;
    unsigned char *vec = malloc(n);
    if (vec == NULL || mincore(start, n * page, vec) != 0) {
        free(vec);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++)
        resident += vec[i] & 1;
    free(vec);
    return resident;
}

static void trim_returns_whole_free_pages_to_the_os(void) {
    const size_t mib = 1u << 20;
    MP_FitList *f = mp_fitlist_create(4 * mib, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    uint8_t *keep = mp_fitlist_alloc(f, 100);
    uint8_t *big = mp_fitlist_alloc(f, 2 * mib);
    REQUIRE(keep && big);
    memset(big, 0xCC, 2 * mib);
    uint8_t *first_page = (uint8_t *)mp_fitlist_base(f);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(resident_pages(first_page, 4 * mib) >= 2 * mib / page);
    CHECK_STATUS(mp_fitlist_free(f, big), MP_OK);
    size_t released = 0;
    CHECK_STATUS(mp_fitlist_trim(f, &released), MP_OK);
    CHECK(released >= 4 * mib - page && released < 4 * mib);
    CHECK(resident_pages(first_page + page, 4 * mib - page) == 0);
    CHECK(resident_pages(first_page, page) == 1); /* the live block's page stays */
    uint8_t *again = mp_fitlist_alloc(f, 2 * mib);
    CHECK(again == big); /* the released range is handed out again */
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void trim_leaves_caller_memory_alone(void) {
    static _Alignas(4096) uint8_t region[16384];
    MP_FitListConfig cfg = {sizeof region, MP_FIT_FIRST, 0, region};
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    REQUIRE(f != NULL);
    size_t released = 99;
    CHECK_STATUS(mp_fitlist_trim(f, &released), MP_OK);
    CHECK(released == 0);
    CHECK_STATUS(mp_fitlist_trim(f, NULL), MP_OK);
    mp_fitlist_destroy(f);
}

static void create_in_keeps_everything_inside_caller_memory(void) {
    MP_FitListConfig cfg = {10000, MP_FIT_BEST, MP_FLAG_THREAD_SAFE, NULL};
    size_t need = mp_fitlist_footprint(&cfg);
    CHECK(need >= 10000);
    uint8_t *memory = malloc(need + 1);
    REQUIRE(memory != NULL);
    CHECK(mp_fitlist_create_in(memory + 1, need - 1, &cfg) == NULL);
    MP_FitList *f = mp_fitlist_create_in(memory + 1, need, &cfg);
    REQUIRE(f != NULL);
    CHECK((uint8_t *)f >= memory + 1 && (uint8_t *)f < memory + 1 + need);
    uint8_t *base = mp_fitlist_base(f);
    CHECK(base > memory && base + 10000 <= memory + 1 + need);
    uint8_t *p = mp_fitlist_alloc(f, 10000);
    CHECK(p == base);
    if (p != NULL) memset(p, 0x77, 10000);
    CHECK(mp_fitlist_alloc(f, 1) == NULL);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
    free(memory);
}

static void reset_frees_every_block_and_keeps_lifetime_counts(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_WORST);
    REQUIRE(f != NULL);
    for (int i = 0; i < 10; i++)
        REQUIRE(mp_fitlist_alloc(f, (size_t)(i * 40)) != NULL);
    CHECK_STATUS(mp_fitlist_reset(f), MP_OK);
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.bytes_in_use == 0 && s.bytes_in_use_peak == 0 && s.live_block_count == 0 &&
          s.bytes_requested == 0);
    CHECK(s.alloc_count == 10);
    CHECK(blocks_free(f) == 1);
    CHECK(mp_fitlist_alloc(f, 4096) == mp_fitlist_base(f));
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void many_free_blocks_keep_the_tree_balanced(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        MP_FitList *f = mp_fitlist_create(1u << 20, (MP_FitPolicy)policy);
        REQUIRE(f != NULL);
        enum { N = 4000 };
        static void *blocks[N];
        uint64_t seed = 7;
        for (int i = 0; i < N; i++)
            blocks[i] = mp_fitlist_alloc(f, 16 + mp_test_rand(&seed) % 200);
        for (int i = 0; i < N; i += 2)
            CHECK_STATUS(mp_fitlist_free(f, blocks[i]), MP_OK);
        CHECK(blocks_free(f) == N / 2 + 1);
        CHECK(mp_fitlist_check(f) == 0); /* includes AVL balance of every node */
        for (int i = 1; i < N; i += 2)
            CHECK_STATUS(mp_fitlist_free(f, blocks[i]), MP_OK);
        CHECK(blocks_free(f) == 1 && mp_fitlist_check(f) == 0);
        mp_fitlist_destroy(f);
    }
}

/* White box: create_in lays out [control][nodes][size tags][tags][region],
 * each part 16-byte aligned, so with 64 granules the 2-byte tags of the last
 * granules sit right below the region and the 4-byte size tags below them. */
static void check_counts_corrupted_block_metadata(void) {
    MP_FitListConfig cfg = {1024, MP_FIT_FIRST, 0, NULL};
    size_t bytes = mp_fitlist_footprint(&cfg);
    uint8_t *memory = malloc(bytes);
    REQUIRE(memory != NULL);
    MP_FitList *f = mp_fitlist_create_in(memory, bytes, &cfg);
    REQUIRE(f != NULL);
    REQUIRE(mp_fitlist_alloc(f, 100) != NULL && mp_fitlist_alloc_aligned(f, 20, 64) != NULL);
    uint8_t *base = mp_fitlist_base(f);
    uint16_t *last_tags = (uint16_t *)(base - 2 * sizeof(uint16_t)); /* granules 62 and 63 */
    uint32_t *last_size = (uint32_t *)(base - 64 * sizeof(uint16_t) - sizeof(uint32_t));
    CHECK(mp_fitlist_check(f) == 0 && last_tags[0] == 0 && last_tags[1] == 0);
    last_tags[0] = 1; /* a block start inside the free tail */
    CHECK(mp_fitlist_check(f) > 0);
    last_tags[0] = 0;
    uint32_t saved = *last_size;
    *last_size = saved + 1; /* the tail's end tag disagrees with its start */
    CHECK(mp_fitlist_check(f) > 0);
    *last_size = saved;
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
    free(memory);
}

static void tree_check_counts_broken_order_balance_maxima_and_cycles(void) {
    enum { GRANULES = 64 };
    mp_fit_node nodes[GRANULES / 2];
    mp_fit_tree t;
    mp_fit_tree_init(&t, nodes, GRANULES / 2, GRANULES, 0);
    uint32_t ids[8];
    for (uint32_t i = 0; i < 8; i++)
        ids[i] = mp_fit_tree_insert(&t, i * 8, 1 + i);
    mp_fit_tree_remove(&t, ids[7]);                 /* its node goes back to the pool ... */
    CHECK(mp_fit_tree_insert(&t, 56, 8) == ids[7]); /* ... and is reused first */
    CHECK(mp_fit_tree_check(&t) == 0 && t.node_count == 8 && mp_fit_tree_largest(&t) == 8);
    CHECK(mp_fit_tree_lower_bound(&t, 6, 0) == ids[5] && mp_fit_tree_last_below(&t, 6, 0) == ids[4]);
    mp_fit_node *root = &nodes[t.root];
    root->height++;
    CHECK(mp_fit_tree_check(&t) > 0);
    root->height--;
    root->subtree_max_granules = 1;
    CHECK(mp_fit_tree_check(&t) > 0);
    root->subtree_max_granules = 8;
    root->size_granules += 100; /* keys out of order */
    CHECK(mp_fit_tree_check(&t) > 0);
    root->size_granules -= 100;
    root->start_granule = GRANULES; /* a block outside the region */
    CHECK(mp_fit_tree_check(&t) > 0);
    root->start_granule = (uint32_t)(root - nodes) * 8;
    CHECK(mp_fit_tree_check(&t) == 0);
    uint32_t left = root->child[0], lost = nodes[left].child[0];
    nodes[left].child[0] = t.root; /* a cycle: the check must stop */
    CHECK(mp_fit_tree_check(&t) > 0);
    nodes[left].child[0] = MP_FIT_NIL; /* a lost subtree: node_count disagrees */
    CHECK(mp_fit_tree_check(&t) > 0);
    nodes[left].child[0] = lost;
    t.unused_head = ids[0]; /* a reachable node also on the released list */
    CHECK(mp_fit_tree_check(&t) > 0);
    t.unused_head = MP_FIT_NIL;
    t.root = GRANULES; /* an index beyond the pool */
    CHECK(mp_fit_tree_check(&t) > 0);
}

static void destroy_accepts_null(void) {
    mp_fitlist_destroy(NULL);
    CHECK(1);
}

MP_TEST_MAIN(TEST_CASE(first_fit_takes_lowest_address_that_fits),
             TEST_CASE(best_fit_takes_smallest_block_that_fits_lowest_address_on_ties),
             TEST_CASE(worst_fit_takes_largest_block_lowest_address_on_ties),
             TEST_CASE(aligned_first_fit_takes_lowest_block_with_an_aligned_fit),
             TEST_CASE(alloc_rounds_to_granules_and_counts_requested_bytes),
             TEST_CASE(free_coalesces_with_both_neighbours),
             TEST_CASE(realloc_grows_in_place_into_free_right_neighbour),
             TEST_CASE(realloc_shrinks_in_place_and_frees_the_tail),
             TEST_CASE(realloc_moves_when_blocked_and_keeps_contents_and_alignment),
             TEST_CASE(realloc_of_null_allocates), TEST_CASE(calloc_zeroes_recycled_memory),
             TEST_CASE(alloc_aligned_honours_alignment_in_a_region_only_16_byte_aligned),
             TEST_CASE(alloc_aligned_uses_a_block_that_fits_exactly),
             TEST_CASE(caller_region_with_unaligned_base_manages_the_aligned_part),
             TEST_CASE(exhaustion_returns_null_and_records_why), TEST_CASE(stats_track_peak_and_counts),
             TEST_CASE(free_stats_report_fragmentation),
             TEST_CASE(walk_visits_blocks_in_address_order_and_can_stop),
             TEST_CASE(trim_returns_whole_free_pages_to_the_os), TEST_CASE(trim_leaves_caller_memory_alone),
             TEST_CASE(create_in_keeps_everything_inside_caller_memory),
             TEST_CASE(reset_frees_every_block_and_keeps_lifetime_counts),
             TEST_CASE(many_free_blocks_keep_the_tree_balanced),
             TEST_CASE(check_counts_corrupted_block_metadata),
             TEST_CASE(tree_check_counts_broken_order_balance_maxima_and_cycles),
             TEST_CASE(destroy_accepts_null))
