/*
 * test_tlsf.c - API tests of the TLSF allocator: block sizes and headers,
 * coalescing, good fit with the cold fallback, aligned allocation and its
 * gap, calloc, realloc (in place, shrinking, moving with the alignment kept,
 * failure), stats and free_stats values, walk, trim with a visible RSS drop,
 * reset, create_in, caller regions whose base is only 16-byte aligned, and
 * every sl_log2.
 */
#define _DEFAULT_SOURCE
#include "test_util.h"

/* The coalescing core alone: an instance without the front cache (whose own
 * tests are in test_tlsf_cache.c), so every free merges at once. */
static MP_Tlsf *create_uncached(size_t region_bytes) {
    MP_TlsfConfig cfg = {region_bytes, 0, 0, NULL, 0, 0};
    return mp_tlsf_create_ex(&cfg);
}
#define HDR 16u

static MP_HeapStats stats_of(const MP_Tlsf *t) {
    MP_HeapStats st;
    memset(&st, 0xff, sizeof st);
    CHECK_STATUS(mp_tlsf_stats(t, &st), MP_OK);
    return st;
}

static MP_FreeStats free_stats_of(const MP_Tlsf *t) {
    MP_FreeStats fs;
    memset(&fs, 0xff, sizeof fs);
    CHECK_STATUS(mp_tlsf_free_stats(t, &fs), MP_OK);
    return fs;
}

/* Usable bytes of the one free block of a fresh heap over `region_bytes`
 * bytes starting 16-aligned: minus the block header and the sentinel. */
static size_t fresh_usable(size_t region_bytes) { return (region_bytes & ~(size_t)15) - 2 * HDR; }

static void test_create_maps_region_with_one_free_block(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    CHECK(mp_test_is_aligned(mp_tlsf_base(t), 4096));
    MP_HeapStats st = stats_of(t);
    CHECK(st.region_bytes == MIB);
    CHECK(st.bytes_in_use == 0 && st.live_block_count == 0 && st.alloc_count == 0);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1);
    CHECK(fs.free_bytes == fresh_usable(MIB));
    CHECK(fs.largest_free_block_bytes == fs.free_bytes);
    CHECK(fs.fragmentation == 0.0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
    mp_tlsf_destroy(NULL);
}

static void test_alloc_returns_aligned_disjoint_blocks_with_counted_sizes(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 100, 511, 512, 513, 4096, 65536, 100000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    uint8_t *p[N];
    size_t in_use = 0, requested = 0;
    for (size_t i = 0; i < N; i++) {
        p[i] = mp_tlsf_alloc(t, sizes[i]);
        REQUIRE(p[i] != NULL);
        CHECK(mp_test_is_aligned(p[i], 16));
        size_t usable = mp_tlsf_usable_size(t, p[i]);
        CHECK(usable >= sizes[i] && usable >= 16);
        CHECK(usable - sizes[i] <= 32); /* splits leave no more than one granule of slack */
        memset(p[i], (int)i, sizes[i]);
        in_use += usable;
        requested += sizes[i];
        for (size_t j = 0; j < i; j++) {
            size_t uj = mp_tlsf_usable_size(t, p[j]);
            CHECK(p[i] + usable <= p[j] || p[j] + uj <= p[i]);
        }
    }
    CHECK(mp_tlsf_usable_size(t, p[0]) == 16);
    MP_HeapStats st = stats_of(t);
    CHECK(st.bytes_in_use == in_use);
    CHECK(st.bytes_requested == requested);
    CHECK(st.live_block_count == N);
    CHECK(st.alloc_count == N);
    CHECK(st.bytes_in_use_peak == in_use);
    CHECK(mp_tlsf_check(t) == 0);
    for (size_t i = 0; i < N; i++) {
        size_t changed = 0;
        for (size_t k = 0; k < sizes[i]; k++) changed += p[i][k] != (uint8_t)i;
        CHECK(changed == 0);
        CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
        CHECK(mp_tlsf_check(t) == 0);
    }
    st = stats_of(t);
    CHECK(st.bytes_in_use == 0 && st.bytes_requested == 0 && st.live_block_count == 0);
    CHECK(st.free_count == N && st.bytes_in_use_peak == in_use);
    CHECK(free_stats_of(t).free_block_count == 1);
    mp_tlsf_destroy(t);
}

static void test_free_merges_with_both_neighbours_immediately(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 1000), *b = mp_tlsf_alloc(t, 1000), *c = mp_tlsf_alloc(t, 1000);
    void *d = mp_tlsf_alloc(t, 1000);
    REQUIRE(a && b && c && d);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, c), MP_OK);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 3); /* a, c, the tail after d */
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK); /* a + b + c become one */
    fs = free_stats_of(t);
    CHECK(fs.free_block_count == 2);
    size_t tail = fresh_usable(64 * KIB) - 4 * (1008 + HDR);
    CHECK(fs.free_bytes == tail + 3 * (1008 + HDR) - HDR); /* two headers absorbed */
    CHECK(fs.largest_free_block_bytes == tail);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, d), MP_OK);
    fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1);
    CHECK(fs.free_bytes == fresh_usable(64 * KIB));
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_freed_block_is_reused_first_for_same_size(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 200);
    void *guard = mp_tlsf_alloc(t, 16);
    REQUIRE(a && guard);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK(mp_tlsf_alloc(t, 200) == a);
    mp_tlsf_destroy(t);
}

static void test_whole_heap_can_be_allocated_and_one_byte_more_fails(void) {
    for (unsigned sl = 1; sl <= 5; sl++) {
        MP_TlsfConfig cfg = {256 * KIB + 48, sl, 0, NULL, 0, 0};
        MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
        REQUIRE(t != NULL);
        size_t largest = free_stats_of(t).largest_free_block_bytes;
        CHECK(mp_tlsf_alloc(t, largest + 1) == NULL);
        MP_ErrorInfo e = mp_last_error();
        CHECK(e.status == MP_ERR_OUT_OF_MEMORY);
        CHECK(e.requested_bytes == largest + 1);
        CHECK(e.largest_free_bytes == largest);
        CHECK(stats_of(t).failed_alloc_count == 1);
        void *p = mp_tlsf_alloc(t, largest); /* found by the cold scan of its own list */
        CHECK(p != NULL);
        CHECK(mp_tlsf_alloc(t, 0) == NULL);
        CHECK(mp_tlsf_check(t) == 0);
        CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
        mp_tlsf_destroy(t);
    }
}

static void test_allocation_fails_only_when_no_free_block_fits(void) {
    MP_Tlsf *t = create_uncached(128 * KIB);
    REQUIRE(t != NULL);
    void *p[64];
    size_t n = 0;
    while (n < 64 && (p[n] = mp_tlsf_alloc(t, 3000)) != NULL) n++;
    CHECK(n > 30 && n < 64);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(free_stats_of(t).largest_free_block_bytes < 3000);
    /* A hole of exactly 3008 usable bytes in the middle of its list's range:
     * good fit rounds past it, the fallback must still find it. */
    CHECK_STATUS(mp_tlsf_free(t, p[5]), MP_OK);
    void *again = mp_tlsf_alloc(t, 3000);
    CHECK(again == p[5]);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_alloc_aligned_honours_alignment_on_real_addresses(void) {
    MP_Tlsf *t = create_uncached(4 * MIB);
    REQUIRE(t != NULL);
    void *p[17 * 4];
    size_t n = 0;
    for (size_t align = 1; align <= 65536; align <<= 1) {
        for (size_t size = 0; size < 300; size += 97) {
            p[n] = mp_tlsf_alloc_aligned(t, size, align);
            REQUIRE(p[n] != NULL);
            CHECK(mp_test_is_aligned(p[n], align < 16 ? 16 : align));
            CHECK(mp_tlsf_usable_size(t, p[n]) >= size);
            memset(p[n], 0x5A, size);
            n++;
            CHECK(mp_tlsf_check(t) == 0);
        }
    }
    for (size_t i = 0; i < n; i++) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    CHECK(free_stats_of(t).free_block_count == 1);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

typedef struct walk_log {
    size_t n;
    uint8_t *ptr[16];
    size_t size[16];
    int used[16];
    size_t stop_after;
} walk_log;

static int log_block(void *ptr, size_t size, int is_used, void *ctx) {
    walk_log *w = ctx;
    if (w->n < 16) {
        w->ptr[w->n] = ptr;
        w->size[w->n] = size;
        w->used[w->n] = is_used;
    }
    w->n++;
    return w->stop_after != 0 && w->n >= w->stop_after;
}

static void test_aligned_gap_becomes_a_free_block_before_the_aligned_one(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *first = mp_tlsf_alloc(t, 16);
    uint8_t *a = mp_tlsf_alloc_aligned(t, 100, 4096);
    REQUIRE(first && a);
    CHECK(mp_test_is_aligned(a, 4096));
    walk_log w = {0};
    CHECK_STATUS(mp_tlsf_walk(t, log_block, &w), MP_OK);
    REQUIRE(w.n == 4);
    CHECK(w.ptr[0] == first && w.used[0] == 1);
    CHECK(w.used[1] == 0 && w.ptr[1] + w.size[1] + HDR == a); /* the gap, given back */
    CHECK(w.ptr[2] == a && w.used[2] == 1 && w.size[2] == 112);
    CHECK(w.used[3] == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_walk_visits_blocks_in_address_order_and_stops_on_request(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 40), *b = mp_tlsf_alloc(t, 80), *c = mp_tlsf_alloc(t, 10);
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    walk_log w = {0};
    CHECK_STATUS(mp_tlsf_walk(t, log_block, &w), MP_OK);
    CHECK(w.n == 4);
    CHECK(w.ptr[0] == a && w.size[0] == 48 && w.used[0]);
    CHECK(w.ptr[1] == b && w.size[1] == 80 && !w.used[1]);
    CHECK(w.ptr[2] == c && w.size[2] == 16 && w.used[2]);
    CHECK(!w.used[3] && w.ptr[3] == c + 16 + HDR);
    size_t total = 0;
    for (size_t i = 0; i < 4; i++) total += w.size[i] + HDR;
    CHECK(total + HDR == (64 * KIB & ~(size_t)15)); /* blocks tile the heap up to the sentinel */
    walk_log stop = {0};
    stop.stop_after = 2;
    CHECK_STATUS(mp_tlsf_walk(t, log_block, &stop), MP_OK);
    CHECK(stop.n == 2);
    mp_tlsf_destroy(t);
}

/* calloc zeroes the whole usable size, slack included, so an in-place realloc
 * into the slack also reads zeros. */
static void test_calloc_zeroes_reused_memory(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 470); /* exact-size list: the freed block comes back */
    void *guard = mp_tlsf_alloc(t, 1);
    REQUIRE(a && guard);
    size_t usable = mp_tlsf_usable_size(t, a);
    CHECK(usable > 470);
    memset(a, 0xAB, usable);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    uint8_t *z = mp_tlsf_calloc(t, 470);
    REQUIRE(z == a);
    CHECK(mp_tlsf_usable_size(t, z) == usable);
    size_t nonzero = 0;
    for (size_t i = 0; i < usable; i++) nonzero += z[i] != 0;
    CHECK(nonzero == 0);
    CHECK(stats_of(t).bytes_requested == 471);
    void *grown = z;
    CHECK_STATUS(mp_tlsf_realloc(t, &grown, usable), MP_OK);
    CHECK(grown == z);
    nonzero = 0;
    for (size_t i = 470; i < usable; i++) nonzero += z[i] != 0;
    CHECK(nonzero == 0);
    mp_tlsf_destroy(t);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 7);
}

static int same_fill(const uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed + i * 7)) return 0;
    return 1;
}

static void test_realloc_grows_in_place_into_a_free_next_block(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100);
    void *b = mp_tlsf_alloc(t, 400);
    void *c = mp_tlsf_alloc(t, 16);
    REQUIRE(a && b && c);
    fill(a, 100, 3);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 300), MP_OK);
    CHECK(p == a);
    CHECK(mp_tlsf_usable_size(t, p) == 304);
    CHECK(same_fill(p, 100, 3));
    /* Nearly all of what is left of the next block: the 16-byte remainder is
     * too small to be a block and stays with this one. */
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 510), MP_OK);
    CHECK(p == a);
    CHECK(mp_tlsf_usable_size(t, p) == 112 + 16 + 400);
    CHECK(free_stats_of(t).free_block_count == 1);
    MP_HeapStats st = stats_of(t);
    CHECK(st.realloc_count == 2 && st.alloc_count == 3 && st.free_count == 1);
    CHECK(st.bytes_requested == 510 + 16);
    CHECK(st.bytes_in_use == 528 + 16);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_shrinks_in_place_and_returns_the_tail(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 4000);
    void *guard = mp_tlsf_alloc(t, 16);
    REQUIRE(a && guard);
    fill(a, 4000, 9);
    void *p = a;
    /* Shrinking by less than a minimum block next to a used block changes
     * nothing but the counters. */
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 3984), MP_OK);
    CHECK(p == a && mp_tlsf_usable_size(t, a) == 4000);
    CHECK(stats_of(t).bytes_requested == 3984 + 16);
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 1000), MP_OK);
    CHECK(p == a && same_fill(a, 1000, 9));
    CHECK(mp_tlsf_usable_size(t, a) == 1008);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 2);
    /* Next to a free block even 16 bytes go back to it. */
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 990), MP_OK);
    CHECK(p == a && mp_tlsf_usable_size(t, a) == 992);
    CHECK(free_stats_of(t).free_bytes == fs.free_bytes + 16);
    CHECK(stats_of(t).bytes_requested == 990 + 16);
    /* Size 0 keeps a minimal block. */
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 0), MP_OK);
    CHECK(p == a && mp_tlsf_usable_size(t, a) == 16);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_moves_when_next_block_is_used_and_keeps_contents(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 500);
    void *guard = mp_tlsf_alloc(t, 16);
    REQUIRE(a && guard);
    fill(a, 500, 77);
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 5000), MP_OK);
    CHECK(p != a);
    CHECK(same_fill(p, 500, 77));
    CHECK(mp_tlsf_usable_size(t, a) == 0); /* the old block was given back */
    MP_HeapStats st = stats_of(t);
    CHECK(st.live_block_count == 2 && st.alloc_count == 2 && st.free_count == 0 && st.realloc_count == 1);
    CHECK(st.bytes_requested == 5016);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* The move takes the free block right below the old one whole: that clears
 * the old block's previous-free flag, which its release must then see. */
static void test_realloc_moving_into_the_free_block_right_below_frees_the_old_block(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *below = mp_tlsf_alloc(t, 144); /* a 160-byte block */
    uint8_t *b = mp_tlsf_alloc(t, 64);
    void *guard = mp_tlsf_alloc(t, 64);
    REQUIRE(below && b && guard);
    REQUIRE(b == below + 160);
    CHECK_STATUS(mp_tlsf_free(t, below), MP_OK);
    fill(b, 64, 9);
    void *p = b;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 144), MP_OK); /* exactly the free block below */
    CHECK(p == below);
    CHECK(same_fill(p, 64, 9));
    CHECK(mp_tlsf_usable_size(t, b) == 0);
    MP_HeapStats st = stats_of(t);
    CHECK(st.live_block_count == 2 && st.realloc_count == 1 && st.bytes_requested == 144 + 64);
    CHECK(mp_tlsf_check(t) == 0);
    void *again = mp_tlsf_alloc(t, 64); /* the old block, free again */
    CHECK(again == b);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_keeps_the_alignment_the_block_had(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    for (size_t align = 32; align <= 8192; align <<= 1) {
        void *p = mp_tlsf_alloc_aligned(t, 64, align);
        void *guard = mp_tlsf_alloc(t, 9000); /* too big for the gap: lands right after p */
        REQUIRE(p && guard);
        fill(p, 64, 1);
        void *q = p;
        CHECK_STATUS(mp_tlsf_realloc(t, &q, 20000), MP_OK);
        CHECK(q != p && mp_test_is_aligned(q, align) && same_fill(q, 64, 1));
        CHECK_STATUS(mp_tlsf_realloc(t, &q, 10), MP_OK);
        CHECK(mp_test_is_aligned(q, align));
        CHECK_STATUS(mp_tlsf_free(t, q), MP_OK);
        CHECK_STATUS(mp_tlsf_free(t, guard), MP_OK);
        CHECK(mp_tlsf_check(t) == 0);
    }
    mp_tlsf_destroy(t);
}

static void test_realloc_of_null_allocates(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    void *p = NULL;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 0), MP_OK);
    CHECK(p != NULL && mp_tlsf_usable_size(t, p) == 16);
    MP_HeapStats st = stats_of(t);
    CHECK(st.alloc_count == 1 && st.realloc_count == 1 && st.live_block_count == 1);
    mp_tlsf_destroy(t);
}

static void test_failed_realloc_leaves_block_and_pointer_intact(void) {
    MP_Tlsf *t = create_uncached(16 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 6000);
    void *b = mp_tlsf_alloc(t, 6000);
    REQUIRE(a && b);
    fill(a, 6000, 5);
    MP_HeapStats before = stats_of(t);
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 9000), MP_ERR_OUT_OF_MEMORY);
    CHECK(p == a && same_fill(a, 6000, 5));
    MP_HeapStats after = stats_of(t);
    CHECK(after.failed_alloc_count == before.failed_alloc_count + 1);
    after.failed_alloc_count = before.failed_alloc_count;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_free_stats_report_fragmentation(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    void *p[8];
    for (int i = 0; i < 8; i++) p[i] = mp_tlsf_alloc(t, 1008);
    for (int i = 0; i < 8; i++) REQUIRE(p[i] != NULL);
    CHECK_STATUS(mp_tlsf_free(t, p[1]), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, p[3]), MP_OK);
    MP_FreeStats fs = free_stats_of(t);
    size_t tail = fresh_usable(64 * KIB) - 8 * (1008 + HDR);
    CHECK(fs.free_block_count == 3);
    CHECK(fs.free_bytes == 2 * 1008 + tail);
    CHECK(fs.largest_free_block_bytes == tail);
    double expected = 1.0 - (double)tail / (double)(2 * 1008 + tail);
    CHECK(fs.fragmentation > expected - 1e-12 && fs.fragmentation < expected + 1e-12);
    mp_tlsf_destroy(t);
}

static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long total = 0, resident = 0;
    if (f == NULL) return 0;
    if (fscanf(f, "%lu %lu", &total, &resident) != 2) resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void test_trim_returns_free_pages_and_rss_drops(void) {
    MP_Tlsf *t = create_uncached(64 * MIB);
    REQUIRE(t != NULL);
    void *keep = mp_tlsf_alloc(t, 100);
    uint8_t *big = mp_tlsf_alloc(t, 48 * MIB);
    REQUIRE(keep && big);
    memset(big, 1, 48 * MIB);
    CHECK_STATUS(mp_tlsf_free(t, big), MP_OK);
    size_t before = resident_bytes();
    size_t released = 0;
    CHECK_STATUS(mp_tlsf_trim(t, &released), MP_OK);
    size_t after = resident_bytes();
    CHECK(released >= 48 * MIB - 8 * KIB);
    CHECK(before > after && before - after >= 40 * MIB);
    CHECK(mp_tlsf_check(t) == 0);
    /* The trimmed memory is usable again. */
    uint8_t *again = mp_tlsf_alloc(t, 32 * MIB);
    REQUIRE(again != NULL);
    memset(again, 2, 32 * MIB);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_trim_is_a_no_op_for_caller_memory(void) {
    static _Alignas(16) uint8_t buf[64 * 1024];
    MP_TlsfConfig cfg = {sizeof buf, 0, 0, buf, 0, 0};
    MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
    REQUIRE(t != NULL);
    size_t released = 1;
    CHECK_STATUS(mp_tlsf_trim(t, &released), MP_OK);
    CHECK(released == 0);
    mp_tlsf_destroy(t);
}

static void test_reset_frees_everything_and_keeps_lifetime_counters(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    for (int i = 0; i < 10; i++) REQUIRE(mp_tlsf_alloc(t, 1000) != NULL);
    CHECK_STATUS(mp_tlsf_reset(t), MP_OK);
    MP_HeapStats st = stats_of(t);
    CHECK(st.bytes_in_use == 0 && st.bytes_in_use_peak == 0 && st.bytes_requested == 0);
    CHECK(st.live_block_count == 0 && st.alloc_count == 10);
    CHECK(free_stats_of(t).free_bytes == fresh_usable(MIB));
    CHECK(mp_tlsf_check(t) == 0);
    CHECK(mp_tlsf_alloc(t, fresh_usable(MIB)) != NULL);
    mp_tlsf_destroy(t);
}

static void test_create_in_keeps_everything_inside_caller_memory(void) {
    MP_TlsfConfig cfg = {100 * KIB, 3, MP_FLAG_THREAD_SAFE, NULL, 0, 0};
    size_t need = mp_tlsf_footprint(&cfg);
    CHECK(need >= 100 * KIB && need < 100 * KIB + 4 * KIB);
    uint8_t *mem = malloc(need + 1);
    REQUIRE(mem != NULL);
    CHECK(mp_tlsf_create_in(mem + 1, need - 1, &cfg) == NULL); /* one byte short */
    MP_Tlsf *t = mp_tlsf_create_in(mem + 1, need, &cfg);      /* odd address: aligned inside */
    REQUIRE(t != NULL);
    CHECK((uint8_t *)t >= mem && (uint8_t *)t < mem + need + 1);
    uint8_t *base = mp_tlsf_base(t);
    CHECK(base > (uint8_t *)t && base + 100 * KIB <= mem + need + 1);
    size_t largest = free_stats_of(t).largest_free_block_bytes;
    CHECK(largest == fresh_usable(100 * KIB));
    uint8_t *p = mp_tlsf_alloc(t, largest);
    REQUIRE(p != NULL);
    CHECK(p > base && p + largest <= base + 100 * KIB);
    memset(p, 0xEE, largest);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
    memset(mem, 0, need + 1); /* destroy hands the memory back usable */
    free(mem);
}

static void test_caller_region_with_base_only_16_byte_aligned(void) {
    uint8_t *raw = aligned_alloc(4096, 256 * KIB + 4096);
    REQUIRE(raw != NULL);
    uint8_t *region = raw + 16; /* 16-aligned, not 32-aligned */
    MP_TlsfConfig cfg = {256 * KIB, 0, 0, region, 0, 0};
    MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
    REQUIRE(t != NULL);
    CHECK(mp_tlsf_base(t) == region);
    CHECK(stats_of(t).region_bytes == 256 * KIB);
    for (size_t align = 16; align <= 4096; align <<= 1) {
        uint8_t *p = mp_tlsf_alloc_aligned(t, 33, align);
        REQUIRE(p != NULL);
        CHECK(mp_test_is_aligned(p, align));
        CHECK(p >= region && p + 33 <= region + 256 * KIB);
    }
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
    free(raw);
}

static void test_every_sl_log2_allocates_and_merges_consistently(void) {
    for (unsigned sl = 0; sl <= 5; sl++) {
        MP_TlsfConfig cfg = {2 * MIB, sl, 0, NULL, 0, 0};
        MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
        REQUIRE(t != NULL);
        void *p[200];
        uint64_t rng = sl;
        for (int i = 0; i < 200; i++) {
            p[i] = mp_tlsf_alloc(t, (size_t)(mp_test_rand(&rng) % 9000));
            REQUIRE(p[i] != NULL);
        }
        for (int i = 0; i < 200; i += 2) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
        CHECK(mp_tlsf_check(t) == 0);
        for (int i = 1; i < 200; i += 2) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
        CHECK(mp_tlsf_check(t) == 0);
        CHECK(free_stats_of(t).free_block_count == 1);
        mp_tlsf_destroy(t);
    }
}

MP_TEST_MAIN(TEST_CASE(test_create_maps_region_with_one_free_block),
             TEST_CASE(test_alloc_returns_aligned_disjoint_blocks_with_counted_sizes),
             TEST_CASE(test_free_merges_with_both_neighbours_immediately),
             TEST_CASE(test_freed_block_is_reused_first_for_same_size),
             TEST_CASE(test_whole_heap_can_be_allocated_and_one_byte_more_fails),
             TEST_CASE(test_allocation_fails_only_when_no_free_block_fits),
             TEST_CASE(test_alloc_aligned_honours_alignment_on_real_addresses),
             TEST_CASE(test_aligned_gap_becomes_a_free_block_before_the_aligned_one),
             TEST_CASE(test_walk_visits_blocks_in_address_order_and_stops_on_request),
             TEST_CASE(test_calloc_zeroes_reused_memory),
             TEST_CASE(test_realloc_grows_in_place_into_a_free_next_block),
             TEST_CASE(test_realloc_shrinks_in_place_and_returns_the_tail),
             TEST_CASE(test_realloc_moves_when_next_block_is_used_and_keeps_contents),
             TEST_CASE(test_realloc_moving_into_the_free_block_right_below_frees_the_old_block),
             TEST_CASE(test_realloc_keeps_the_alignment_the_block_had),
             TEST_CASE(test_realloc_of_null_allocates),
             TEST_CASE(test_failed_realloc_leaves_block_and_pointer_intact),
             TEST_CASE(test_free_stats_report_fragmentation),
             TEST_CASE(test_trim_returns_free_pages_and_rss_drops),
             TEST_CASE(test_trim_is_a_no_op_for_caller_memory),
             TEST_CASE(test_reset_frees_everything_and_keeps_lifetime_counters),
             TEST_CASE(test_create_in_keeps_everything_inside_caller_memory),
             TEST_CASE(test_caller_region_with_base_only_16_byte_aligned),
             TEST_CASE(test_every_sl_log2_allocates_and_merges_consistently))
