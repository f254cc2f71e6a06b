/*
 * test_fitlist.c - API tests of the fit-list allocator: placement of each
 * policy, splitting and coalescing, realloc in place and moving, calloc,
 * alignment on real addresses, counters, free stats, walk, trim, reset,
 * create_in and caller regions; and, white box (fitlist_internal.h): the
 * create_in footprint, placement that stays exact when a create_in index runs
 * out of nodes, the escape table of zero-byte and over-aligned blocks, stale
 * writes into freed blocks, blocks spanning many metadata groups, and check()
 * counting each kind of corrupted metadata.
 */
#define _DEFAULT_SOURCE
#include "mp_test.h"

#include "fitlist_internal.h"
#include "test_util.h"

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
    memset(a, 0xAB, mp_fitlist_usable_size(f, a)); /* junk in the slack too */
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
    CHECK(mp_test_resident_pages(first_page, 4 * mib) >= 2 * mib / page);
    CHECK_STATUS(mp_fitlist_free(f, big), MP_OK);
    size_t released = 0;
    CHECK_STATUS(mp_fitlist_trim(f, &released), MP_OK);
    CHECK(released >= 4 * mib - page && released < 4 * mib);
    CHECK(mp_test_resident_pages(first_page + page, 4 * mib - page) == 0);
    CHECK(mp_test_resident_pages(first_page, page) == 1); /* the live block's page stays */
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

/* A create_in instance in malloc'd memory (*memory, for free()). */
static MP_FitList *inside(size_t region_bytes, MP_FitPolicy policy, void **memory) {
    MP_FitListConfig cfg = {region_bytes, policy, 0, NULL};
    size_t bytes = mp_fitlist_footprint(&cfg);
    *memory = malloc(bytes);
    return *memory ? mp_fitlist_create_in(*memory, bytes, &cfg) : NULL;
}

/* White box (fitlist_internal.h): every kind of out-of-band block metadata,
 * corrupted one at a time, is counted by check(); restored, check() is 0. */
static void check_counts_corrupted_block_metadata(void) {
    void *memory;
    MP_FitList *f = inside(1024, MP_FIT_FIRST, &memory);
    REQUIRE(f != NULL);
    uint8_t *a = mp_fitlist_alloc(f, 100), *b = mp_fitlist_alloc_aligned(f, 20, 64);
    REQUIRE(a != NULL && b != NULL);
    size_t ga = (size_t)(a - (uint8_t *)mp_fitlist_base(f)) / 16; /* 7 granules */
    CHECK(mp_fitlist_check(f) == 0 && f->granule_count == 64);
    fl_group *group = &f->groups[0]; /* granules 0..63 */
    uint64_t saved = group->starts;
    group->starts |= (uint64_t)1 << 62; /* a block start inside the free tail */
    CHECK(mp_fitlist_check(f) > 0);
    group->starts = saved;
    f->summary[0][0] ^= 1; /* the summary disagrees with the starts */
    CHECK(mp_fitlist_check(f) > 0);
    f->summary[0][0] ^= 1;
    group->free_ends ^= (uint64_t)1 << 63; /* the tail's last granule loses its end bit */
    CHECK(mp_fitlist_check(f) > 0);
    group->free_ends ^= (uint64_t)1 << 63;
    group->free_ends ^= (uint64_t)1 << (ga + 3); /* an end bit inside a used block */
    CHECK(mp_fitlist_check(f) > 0);
    group->free_ends ^= (uint64_t)1 << (ga + 3);
    unsigned nib = fl_nib(f, ga + 1);
    fl_nib_set(f, ga + 1, FL_ALIGN_ESCAPED); /* escaped, but no escape entry */
    CHECK(mp_fitlist_check(f) > 0);
    fl_nib_set(f, ga + 1, 9); /* aligned to 8 KiB: the address is not */
    CHECK(mp_fitlist_check(f) > 0);
    fl_nib_set(f, ga + 1, nib);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fit_node *leaf = &f->index.nodes[f->index.trees[0].root];
    uint64_t key = leaf->u.keys[0];
    leaf->u.keys[0] = key + 1; /* the indexed free block is one granule too large */
    CHECK(mp_fitlist_check(f) > 0);
    leaf->u.keys[0] = key;
    f->free_blocks++;
    CHECK(mp_fitlist_check(f) > 0);
    f->free_blocks--;
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
    free(memory);
}

/* A size-keyed index (bins and the tree of larger sizes), and one keyed by
 * address, with enough keys for three levels; corrupting any invariant is
 * counted and the check terminates. */
static void index_check_counts_broken_order_counts_maxima_links_and_cycles(void) {
    enum { GRANULES = 1 << 20, NODES = 64, KEYS = 600, BIG = MP_FIT_BINS + 44 };
    static mp_fit_node nodes[NODES];
    mp_fit_index t;
    mp_fit_index_init(&t, nodes, NODES, GRANULES, false, false);
    for (uint32_t i = 0; i < KEYS; i++) CHECK(mp_fit_index_insert(&t, i * 1024, BIG + i % 50));
    CHECK(mp_fit_index_insert(&t, GRANULES - 64, 5) && mp_fit_index_insert(&t, GRANULES - 128, 5));
    CHECK(mp_fit_index_insert(&t, GRANULES - 192, 7));
    mp_fit_tree *big = &t.trees[MP_FIT_BINS];
    CHECK(mp_fit_index_check(&t) == 0 && t.key_count == KEYS + 3 && big->height == 3);
    mp_fit_cursor c;
    uint32_t start, size;
    CHECK(mp_fit_index_lower_bound(&t, 6, 0, &c)); /* bin 6 is empty: the next bin */
    mp_fit_index_at(&t, c, &start, &size);
    CHECK(size == 7 && start == GRANULES - 192);
    CHECK(mp_fit_index_last_below(&t, 6, 0, &c)); /* the highest address of bin 5 */
    mp_fit_index_at(&t, c, &start, &size);
    CHECK(size == 5 && start == GRANULES - 64);
    CHECK(mp_fit_index_next(&t, &c) && mp_fit_index_next(&t, &c)); /* bin 7, then the big tree */
    mp_fit_index_at(&t, c, &start, &size);
    CHECK(size == BIG && start == 0);
    CHECK(mp_fit_index_lower_bound(&t, BIG + 49, 0, &c));
    mp_fit_index_at(&t, c, &start, &size);
    CHECK(size == BIG + 49 && start == 49 * 1024);
    CHECK(mp_fit_index_largest(&t) == BIG + 49);
    CHECK(mp_fit_index_remove(&t, 0, BIG) && !mp_fit_index_remove(&t, 0, BIG));
    CHECK(mp_fit_index_remove(&t, GRANULES - 192, 7) && mp_fit_index_check(&t) == 0);
    CHECK(!mp_fit_index_lower_bound(&t, BIG + 50, 0, &c) && mp_fit_index_largest(&t) == BIG + 49);

    mp_fit_node *root = &nodes[big->root];
    mp_fit_node *leaf = &nodes[big->first_leaf];
    uint64_t k0 = leaf->u.keys[0], k1 = leaf->u.keys[1];
    leaf->u.keys[0] = k1; /* keys out of order inside a leaf */
    leaf->u.keys[1] = k0;
    CHECK(mp_fit_index_check(&t) > 0);
    leaf->u.keys[0] = k0;
    leaf->u.keys[1] = k1;
    uint64_t sep = root->u.in.seps[0];
    root->u.in.seps[0] = root->u.in.seps[1] + 1; /* separators out of order */
    CHECK(mp_fit_index_check(&t) > 0);
    root->u.in.seps[0] = sep;
    leaf->u.keys[0] = (uint64_t)BIG << 32 | (GRANULES - 1); /* a block beyond the region */
    CHECK(mp_fit_index_check(&t) > 0);
    leaf->u.keys[0] = (uint64_t)3 << 32 | 7; /* a size that belongs in a bin */
    CHECK(mp_fit_index_check(&t) > 0);
    leaf->u.keys[0] = k0;
    uint32_t next = leaf->next;
    leaf->next = big->last_leaf; /* a broken leaf chain */
    CHECK(mp_fit_index_check(&t) > 0);
    leaf->next = next;
    t.nonempty[0] ^= 1u << 6; /* bin 7 marked non-empty while empty */
    CHECK(mp_fit_index_check(&t) > 0);
    t.nonempty[0] ^= 1u << 6;
    CHECK(mp_fit_index_check(&t) == 0);
    uint32_t child = root->u.in.child[0];
    root->u.in.child[0] = big->root; /* a cycle: the check must stop */
    CHECK(mp_fit_index_check(&t) > 0);
    root->u.in.child[0] = child;
    nodes[child].parent = MP_FIT_NIL; /* a wrong parent link */
    CHECK(mp_fit_index_check(&t) > 0);
    nodes[child].parent = big->root;
    root->count--; /* a lost subtree: key_count disagrees */
    CHECK(mp_fit_index_check(&t) > 0);
    root->count++;
    uint32_t head = t.released_head, released = t.released_count;
    t.released_head = big->first_leaf; /* a reachable node also on the released list */
    t.released_count = 1;
    CHECK(mp_fit_index_check(&t) > 0);
    t.released_head = head;
    t.released_count = released;
    uint32_t root_id = big->root;
    big->root = NODES + 1; /* an index beyond the pool */
    CHECK(mp_fit_index_check(&t) > 0);
    big->root = root_id;
    CHECK(mp_fit_index_check(&t) == 0);

    mp_fit_index a;
    mp_fit_index_init(&a, nodes, NODES, GRANULES, true, false);
    for (uint32_t i = 0; i < KEYS; i++) CHECK(mp_fit_index_insert(&a, i * 1024, BIG + i % 50));
    CHECK(mp_fit_index_insert(&a, GRANULES - 64, 9) && mp_fit_index_insert(&a, GRANULES - 128, 5));
    CHECK(mp_fit_index_first_fit(&a, BIG + 49, &c));
    mp_fit_index_at(&a, c, &start, &size);
    CHECK(start == 49 * 1024 && size == BIG + 49 && mp_fit_index_largest(&a) == BIG + 49);
    CHECK(mp_fit_index_first_fit(&a, 9, &c)); /* a larger block lies lower than the bin of 9 */
    mp_fit_index_at(&a, c, &start, &size);
    CHECK(start == 0 && size == BIG);
    CHECK(mp_fit_index_remove(&a, 0, BIG) && mp_fit_index_first_fit(&a, 6, &c));
    mp_fit_index_at(&a, c, &start, &size);
    CHECK(start == 1024 && size == BIG + 1);
    mp_fit_walk walk;
    mp_fit_index_walk_init(&a, 5, &walk); /* address order across the tree and the bins */
    uint32_t seen = 0, last = 0;
    while (mp_fit_index_walk_next(&a, &walk, &c)) {
        mp_fit_index_at(&a, c, &start, &size);
        CHECK(size >= 5 && (seen == 0 || start > last));
        last = start;
        seen++;
    }
    CHECK(seen == KEYS - 1 + 2);
    CHECK(mp_fit_index_check(&a) == 0 && a.trees[MP_FIT_BINS].height == 3);
    root = &nodes[a.trees[MP_FIT_BINS].root];
    uint32_t max = root->u.in.max[1];
    root->u.in.max[1] = max - 1; /* a bound below its child's */
    CHECK(mp_fit_index_check(&a) > 0);
    root->u.in.max[1] = max;
    a.lowest[MP_FIT_BINS + 8] = 0; /* the tournament disagrees with bin 9 */
    CHECK(mp_fit_index_check(&a) > 0);
    a.lowest[MP_FIT_BINS + 8] = (uint64_t)(GRANULES - 64) << 9 | 8;
    CHECK(mp_fit_index_check(&a) == 0);
    leaf = &nodes[a.trees[MP_FIT_BINS].last_leaf];
    leaf->count = MP_FIT_LEAF_KEYS + 1; /* a count beyond the node */
    CHECK(mp_fit_index_check(&a) > 0);
}

/* Metadata is 6 bits per granule, index nodes for a free block per ~48
 * granules, and a control block of ~8 KiB: 6.5% of large regions. */
static void create_in_footprint_is_under_6_5_percent_over_the_region(void) {
    static const size_t mib[] = {64, 1024, 1};
    for (size_t i = 0; i < 3; i++) {
        for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
            MP_FitListConfig cfg = {mib[i] << 20, (MP_FitPolicy)policy, 0, NULL};
            size_t bytes = mp_fitlist_footprint(&cfg), permille = mib[i] == 1 ? 75 : 65;
            CHECK(bytes > cfg.region_bytes && bytes - cfg.region_bytes <= cfg.region_bytes / 1000 * permille);
        }
    }
}

/* Fills a create_in list of 4096 granules with 16-byte blocks and frees every
 * second one: 1023 one-granule holes and the tail, more than its 8 index
 * nodes hold. */
static MP_FitList *fragmented_create_in(MP_FitPolicy policy, void **memory, uint8_t **blocks) {
    MP_FitList *f = inside(65536, policy, memory);
    if (f == NULL) return NULL;
    for (int i = 0; i < 2048; i++) blocks[i] = mp_fitlist_alloc(f, 16);
    for (int i = 1; i < 2048; i += 2) mp_fitlist_free(f, blocks[i]);
    return f;
}

static void free_blocks_beyond_a_create_in_index_are_placed_exactly_and_reindexed(void) {
    static uint8_t *blocks[2048];
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        void *memory = NULL;
        MP_FitList *f = fragmented_create_in((MP_FitPolicy)policy, &memory, blocks);
        REQUIRE(f != NULL && blocks[2047] != NULL);
        uint8_t *tail = blocks[2047]; /* the last freed block joined the tail */
        CHECK(f->index.node_capacity == 8 && f->unindexed > 0 && f->free_blocks == 1024);
        CHECK(mp_fitlist_check(f) == 0);
        /* 16 bytes: the first hole (first, best fit), the tail (worst fit). */
        uint8_t *p = mp_fitlist_alloc(f, 16);
        CHECK(p == (policy == MP_FIT_WORST ? tail : blocks[1]));
        /* 32 bytes: only the tail holds two granules. */
        CHECK(mp_fitlist_alloc(f, 32) == (policy == MP_FIT_WORST ? tail + 16 : tail));
        /* 64-aligned: no odd-granule hole is; after 16 tries the padded
         * search takes the first block of 64 bytes, the tail. */
        uint8_t *a = mp_fitlist_alloc_aligned(f, 16, 64);
        CHECK(a != NULL && ((uintptr_t)a & 63) == 0 && a >= tail && a < tail + 128);
        MP_FreeStats fs;
        CHECK_STATUS(mp_fitlist_free_stats(f, &fs), MP_OK);
        CHECK(fs.largest_free_block_bytes >= 65536 - 2048 * 16 - 128 && fs.free_block_count > 1000);
        CHECK(mp_fitlist_check(f) == 0);
        for (int i = 0; i < 2048; i += 2) CHECK_STATUS(mp_fitlist_free(f, blocks[i]), MP_OK);
        CHECK_STATUS(mp_fitlist_free(f, p), MP_OK);
        CHECK_STATUS(mp_fitlist_free(f, a), MP_OK);
        CHECK(mp_fitlist_check(f) == 0);
        /* Few free blocks again: the next allocation re-indexes them all. */
        void *q = mp_fitlist_alloc(f, 48);
        CHECK(q != NULL && f->unindexed == 0 && mp_fitlist_check(f) == 0);
        mp_fitlist_destroy(f);
        free(memory);
    }
}

static void zero_byte_and_over_aligned_small_blocks_keep_exact_stats_and_alignment(void) {
    MP_FitList *f = mp_fitlist_create(1 << 20, MP_FIT_BEST);
    REQUIRE(f != NULL);
    uint8_t *z = mp_fitlist_alloc(f, 0), *a = mp_fitlist_alloc_aligned(f, 1, 256);
    uint8_t *b = mp_fitlist_alloc_aligned(f, 16, 64), *huge = mp_fitlist_alloc_aligned(f, 40, (size_t)1 << 19);
    REQUIRE(z && a && b && huge);
    CHECK(((uintptr_t)a & 255) == 0 && ((uintptr_t)b & 63) == 0 && ((uintptr_t)huge & ((1u << 19) - 1)) == 0);
    CHECK(mp_fitlist_usable_size(f, z) == 16 && mp_fitlist_usable_size(f, a) == 16);
    CHECK(mp_fitlist_usable_size(f, huge) == 48);
    CHECK(f->escapes.count == 4); /* their info does not fit the nibbles */
    MP_HeapStats s;
    mp_fitlist_stats(f, &s);
    CHECK(s.bytes_requested == 0 + 1 + 16 + 40 && s.bytes_in_use == 16 * 3 + 48);
    CHECK(mp_fitlist_check(f) == 0);
    void *blocker = mp_fitlist_alloc(f, 16);
    CHECK(blocker != NULL);
    *a = 0x6B;
    void *p = a;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 100), MP_OK); /* grows in place or moves, 256-aligned */
    CHECK(((uintptr_t)p & 255) == 0 && *(uint8_t *)p == 0x6B && mp_fitlist_usable_size(f, p) == 112);
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 0), MP_OK); /* one granule again: escaped again */
    CHECK(((uintptr_t)p & 255) == 0 && mp_fitlist_usable_size(f, p) == 16);
    mp_fitlist_stats(f, &s);
    CHECK(s.bytes_requested == 0 + 0 + 16 + 40 + 16 && f->escapes.count == 4);
    CHECK(mp_fitlist_check(f) == 0);
    CHECK_STATUS(mp_fitlist_free(f, z), MP_OK);
    CHECK_STATUS(mp_fitlist_free(f, p), MP_OK);
    CHECK_STATUS(mp_fitlist_free(f, b), MP_OK);
    CHECK_STATUS(mp_fitlist_free(f, huge), MP_OK);
    CHECK(f->escapes.count == 0 && mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void create_in_refuses_more_escaping_blocks_than_its_table_holds(void) {
    void *memory;
    MP_FitList *f = inside(16384, MP_FIT_FIRST, &memory);
    REQUIRE(f != NULL);
    uint32_t room = f->escapes.capacity / 2;
    for (uint32_t i = 0; i < room; i++) CHECK(mp_fitlist_alloc(f, 0) != NULL);
    uint8_t *two = mp_fitlist_alloc_aligned(f, 32, 64);
    REQUIRE(two != NULL);
    MP_HeapStats before, after;
    mp_fitlist_stats(f, &before);
    mp_clear_last_error();
    CHECK(mp_fitlist_alloc(f, 0) == NULL && mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    void *p = two;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 8), MP_ERR_OUT_OF_MEMORY); /* one 64-aligned granule escapes */
    CHECK(p == two && mp_fitlist_usable_size(f, two) == 32);
    mp_fitlist_stats(f, &after);
    CHECK(after.failed_alloc_count == before.failed_alloc_count + 2);
    after.failed_alloc_count = before.failed_alloc_count;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK(mp_fitlist_alloc(f, 1) != NULL); /* what needs no escape still works */
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
    free(memory);
}

static void writes_into_freed_blocks_never_reach_the_allocator(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        MP_FitList *clean = mp_fitlist_create(1 << 18, (MP_FitPolicy)policy);
        MP_FitList *dirty = mp_fitlist_create(1 << 18, (MP_FitPolicy)policy);
        REQUIRE(clean && dirty);
        uint8_t *base_c = mp_fitlist_base(clean), *base_d = mp_fitlist_base(dirty);
        enum { N = 400 };
        static uint8_t *c[N], *d[N];
        uint64_t seed = 99;
        int same = 1;
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < N; i++) {
                size_t size = (size_t)(mp_test_rand(&seed) % 600);
                c[i] = mp_fitlist_alloc(clean, size);
                d[i] = mp_fitlist_alloc(dirty, size);
                same &= (c[i] == NULL) == (d[i] == NULL) && (c[i] == NULL || c[i] - base_c == d[i] - base_d);
            }
            for (int i = round & 1; i < N; i += 2) {
                if (c[i] == NULL) continue;
                size_t usable = mp_fitlist_usable_size(dirty, d[i]);
                mp_fitlist_free(clean, c[i]);
                mp_fitlist_free(dirty, d[i]);
                mp_test_scribble(d[i], usable, (uint8_t)(0xFF ^ i)); /* a stale pointer writes */
            }
            same &= mp_fitlist_check(dirty) == 0;
        }
        CHECK(same);
        mp_fitlist_destroy(clean);
        mp_fitlist_destroy(dirty);
    }
}

static void blocks_spanning_many_groups_split_and_merge_correctly(void) {
    const size_t mib = (size_t)1 << 20;
    MP_FitList *f = mp_fitlist_create(1024 * mib, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    uint8_t *big = mp_fitlist_alloc(f, 600 * mib), *small = mp_fitlist_alloc(f, 16);
    uint8_t *mid = mp_fitlist_alloc(f, 300 * mib);
    REQUIRE(big && small && mid);
    CHECK(small == big + 600 * mib && mid == small + 16);
    CHECK(mp_fitlist_usable_size(f, big) == 600 * mib && mp_fitlist_usable_size(f, mid) == 300 * mib);
    CHECK_STATUS(mp_fitlist_free(f, small), MP_OK);
    CHECK_STATUS(mp_fitlist_free(f, big), MP_OK); /* merges with the hole right of it */
    MP_FreeStats fs;
    mp_fitlist_free_stats(f, &fs);
    CHECK(fs.free_block_count == 2 && fs.largest_free_block_bytes == 600 * mib + 16);
    void *p = mid;
    CHECK_STATUS(mp_fitlist_realloc(f, &p, 400 * mib), MP_OK); /* grows into the tail in place */
    CHECK(p == mid && mp_fitlist_usable_size(f, mid) == 400 * mib);
    CHECK(mp_fitlist_check(f) == 0);
    CHECK_STATUS(mp_fitlist_free(f, mid), MP_OK);
    mp_fitlist_free_stats(f, &fs);
    CHECK(fs.free_block_count == 1 && fs.largest_free_block_bytes == 1024 * mib);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
}

static void first_fit_reports_the_exact_largest_free_block_after_carving_it(void) {
    MP_FitList *f = mp_fitlist_create(1 << 20, MP_FIT_FIRST);
    REQUIRE(f != NULL);
    void *a = mp_fitlist_alloc(f, 8192), *b = mp_fitlist_alloc(f, 16), *c = mp_fitlist_alloc(f, 16384);
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_fitlist_free(f, a), MP_OK);
    CHECK(mp_fitlist_alloc(f, (1 << 20) - 8192 - 16 - 16384) != NULL); /* the tail is gone */
    MP_FreeStats fs;
    mp_fitlist_free_stats(f, &fs);
    CHECK(fs.largest_free_block_bytes == 8192 && fs.free_block_count == 1);
    CHECK(mp_fitlist_alloc(f, 4096) == a); /* shrinks the largest */
    mp_fitlist_free_stats(f, &fs);
    CHECK(fs.largest_free_block_bytes == 4096);
    mp_clear_last_error();
    CHECK(mp_fitlist_alloc(f, 4097) == NULL && mp_last_error().largest_free_bytes == 4096);
    CHECK(mp_fitlist_check(f) == 0);
    mp_fitlist_destroy(f);
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
             TEST_CASE(index_check_counts_broken_order_counts_maxima_links_and_cycles),
             TEST_CASE(create_in_footprint_is_under_6_5_percent_over_the_region),
             TEST_CASE(free_blocks_beyond_a_create_in_index_are_placed_exactly_and_reindexed),
             TEST_CASE(zero_byte_and_over_aligned_small_blocks_keep_exact_stats_and_alignment),
             TEST_CASE(create_in_refuses_more_escaping_blocks_than_its_table_holds),
             TEST_CASE(writes_into_freed_blocks_never_reach_the_allocator),
             TEST_CASE(blocks_spanning_many_groups_split_and_merge_correctly),
             TEST_CASE(first_fit_reports_the_exact_largest_free_block_after_carving_it),
             TEST_CASE(destroy_accepts_null))
