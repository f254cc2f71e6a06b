/*
 * test_buddy.c - API tests of the binary buddy allocator: block sizes,
 * splitting and merging, non-power-of-two regions, alignment on real
 * addresses, calloc, realloc in place and moving, stats, walk, trim,
 * create_in and caller regions whose base is only 16-byte aligned; the
 * per-order cache of freed blocks (reuse without merging, merging on demand,
 * flush, trim and reset with cached blocks).
 */
#define _DEFAULT_SOURCE
#include "test_util.h"
#include "buddy_internal.h"

static MP_FreeStats free_stats_of(const MP_Buddy *b) {
    MP_FreeStats fs;
    memset(&fs, 0xff, sizeof fs);
    CHECK_STATUS(mp_buddy_free_stats(b, &fs), MP_OK);
    return fs;
}

static MP_HeapStats stats_of(const MP_Buddy *b) {
    MP_HeapStats st;
    memset(&st, 0xff, sizeof st);
    CHECK_STATUS(mp_buddy_stats(b, &st), MP_OK);
    return st;
}

/* A caller buffer whose usable start is 16-byte aligned but not 32-byte. */
static unsigned char *misaligned_buffer(size_t bytes, void **to_free) {
    unsigned char *raw = aligned_alloc(4096, (bytes + 16 + 4095) & ~(size_t)4095);
    *to_free = raw;
    return raw == NULL ? NULL : raw + 16;
}

static void test_create_maps_a_region_and_hands_out_min_blocks(void) {
    MP_Buddy *b = mp_buddy_create(MIB, 0);
    REQUIRE(b != NULL);
    CHECK(mp_test_is_aligned(mp_buddy_base(b), 4096));
    void *p = mp_buddy_alloc(b, 1);
    REQUIRE(p != NULL);
    CHECK(p == mp_buddy_base(b));
    CHECK(mp_buddy_usable_size(b, p) == 64);
    MP_HeapStats st = stats_of(b);
    CHECK(st.region_bytes == MIB);
    CHECK(st.bytes_in_use == 64);
    CHECK(st.bytes_requested == 1);
    CHECK(st.live_block_count == 1);
    CHECK(mp_buddy_check(b) == 0);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    mp_buddy_destroy(b);
    mp_buddy_destroy(NULL);
}

static void test_sizes_round_up_to_power_of_two_blocks(void) {
    MP_Buddy *b = mp_buddy_create(MIB, 32);
    REQUIRE(b != NULL);
    const size_t sizes[] = {0, 1, 32, 33, 64, 65, 100, 1000, 4096, 4097, 300000};
    const size_t usable[] = {32, 32, 32, 64, 64, 128, 128, 1024, 4096, 8192, 512 * KIB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = mp_buddy_alloc(b, sizes[i]);
        REQUIRE(p != NULL);
        CHECK(mp_buddy_usable_size(b, p) == usable[i]);
        CHECK(mp_test_is_aligned(p, usable[i]));
        memset(p, (int)i, usable[i]);
        CHECK(mp_buddy_check(b) == 0);
        CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    }
    mp_buddy_destroy(b);
}

static void test_freeing_every_block_merges_back_into_one_top_block(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    void *blocks[1024];
    size_t n = 0;
    while (n < 1024 && (blocks[n] = mp_buddy_alloc(b, 64)) != NULL) n++;
    CHECK(n == 1024);
    CHECK(free_stats_of(b).free_block_count == 0);
    CHECK(mp_buddy_alloc(b, 1) == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    /* Free the odd ones first: nothing may merge, 512 free blocks of 64. */
    for (size_t i = 1; i < n; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_block_count == 512);
    CHECK(fs.largest_free_block_bytes == 64);
    CHECK(mp_buddy_check(b) == 0);
    for (size_t i = 0; i < n; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    fs = free_stats_of(b);
    CHECK(fs.free_block_count == 1);
    CHECK(fs.free_bytes == 64 * KIB);
    CHECK(fs.largest_free_block_bytes == 64 * KIB);
    CHECK(fs.fragmentation == 0.0);
    CHECK(mp_buddy_alloc(b, 64 * KIB) == mp_buddy_base(b));
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_region_that_is_not_a_power_of_two_is_fully_usable(void) {
    /* 3 blocks of 64 KiB plus 1 KiB + 192 bytes of remainder, 64-byte units. */
    size_t region = 3 * 64 * KIB + KIB + 192 + 10;
    MP_BuddyConfig cfg = {region, 64, 64 * KIB, 0, NULL};
    MP_Buddy *b = mp_buddy_create_ex(&cfg);
    REQUIRE(b != NULL);
    size_t managed = 3 * 64 * KIB + KIB + 192;
    CHECK(stats_of(b).region_bytes == managed);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_bytes == managed);
    CHECK(fs.free_block_count == 3 + 1 + 2); /* 64K x3, 1K, 128, 64 */
    CHECK(fs.largest_free_block_bytes == 64 * KIB);
    size_t count = 0;
    while (mp_buddy_alloc(b, 64) != NULL) count++;
    CHECK(count == managed / 64);
    CHECK(mp_buddy_check(b) == 0);
    CHECK_STATUS(mp_buddy_reset(b), MP_OK);
    CHECK(mp_buddy_alloc(b, 64 * KIB + 1) == NULL);
    CHECK(mp_buddy_alloc(b, KIB) != NULL);
    mp_buddy_destroy(b);

    /* Default max: the largest power of two that fits, remainder kept. */
    MP_BuddyConfig def = {MIB + 512 * KIB, 0, 0, 0, NULL};
    b = mp_buddy_create_ex(&def);
    REQUIRE(b != NULL);
    fs = free_stats_of(b);
    CHECK(fs.free_block_count == 2);
    CHECK(fs.largest_free_block_bytes == MIB);
    CHECK(mp_buddy_alloc(b, MIB) != NULL);
    CHECK(mp_buddy_alloc(b, 512 * KIB) != NULL);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_alloc_aligned_returns_real_addresses_aligned_to_the_request(void) {
    /* 8 MiB: after the smaller requests took the first 2 MiB, a whole
     * 2 MiB block is still free for the largest alignment. */
    MP_Buddy *b = mp_buddy_create(8 * MIB, 64);
    REQUIRE(b != NULL);
    CHECK(mp_buddy_alloc(b, 64) != NULL); /* so block 0 is taken */
    for (size_t align = 1; align <= 2 * MIB; align <<= 1) {
        void *p = mp_buddy_alloc_aligned(b, 100, align);
        REQUIRE(p != NULL);
        CHECK(mp_test_is_aligned(p, align));
        CHECK(mp_buddy_usable_size(b, p) >= 100);
        CHECK(mp_buddy_check(b) == 0);
    }
    mp_buddy_destroy(b);
}

static void test_caller_region_with_16_byte_base_aligns_on_real_addresses(void) {
    void *raw = NULL;
    unsigned char *region = misaligned_buffer(256 * KIB, &raw);
    REQUIRE(region != NULL);
    MP_BuddyConfig cfg = {256 * KIB, 64, 0, 0, region};
    MP_Buddy *b = mp_buddy_create_ex(&cfg);
    REQUIRE(b != NULL);
    unsigned char *base = mp_buddy_base(b);
    CHECK(base >= region && base < region + 64);
    CHECK(mp_test_is_aligned(base, 64));
    CHECK(stats_of(b).region_bytes == 256 * KIB - 64);
    /* Alignments above the base's own (64) take the scanning path. */
    for (size_t align = 16; align <= 64 * KIB; align <<= 1) {
        void *p = mp_buddy_alloc_aligned(b, 48, align);
        REQUIRE(p != NULL);
        CHECK(mp_test_is_aligned(p, align));
        CHECK(p >= (void *)base && (unsigned char *)p + 64 <= base + 256 * KIB - 64);
        memset(p, 0x5a, 48);
        CHECK(mp_buddy_check(b) == 0);
    }
    /* A 128-byte block can never be 4096-aligned when the base is 64-aligned. */
    CHECK(mp_buddy_alloc_aligned(b, 128, 4096) == NULL);
    CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    mp_buddy_destroy(b);
    free(raw);
}

/* calloc zeroes the whole block (usable size), so growing in place into its
 * slack also reads zeros. */
static void test_calloc_returns_zeroed_bytes_of_a_reused_block(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    unsigned char *p = mp_buddy_alloc(b, 200);
    REQUIRE(p != NULL);
    CHECK(mp_buddy_usable_size(b, p) == 256);
    memset(p, 0xab, 256);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    unsigned char *q = mp_buddy_calloc(b, 200);
    REQUIRE(q == p);
    size_t nonzero = 0;
    for (size_t i = 0; i < 256; i++) nonzero += q[i] != 0;
    CHECK(nonzero == 0);
    CHECK(stats_of(b).bytes_requested == 200);
    void *grown = q;
    CHECK_STATUS(mp_buddy_realloc(b, &grown, 256), MP_OK);
    CHECK(grown == q);
    nonzero = 0;
    for (size_t i = 200; i < 256; i++) nonzero += q[i] != 0;
    CHECK(nonzero == 0);
    mp_buddy_destroy(b);
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7);
}

static int verify(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7)) return 0;
    return 1;
}

static void test_realloc_grows_in_place_while_the_buddy_chain_is_free(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    void *p = mp_buddy_alloc(b, 60);
    REQUIRE(p == mp_buddy_base(b));
    fill(p, 60, 3);
    void *q = p;
    CHECK_STATUS(mp_buddy_realloc(b, &q, 1000), MP_OK);
    CHECK(q == p);
    CHECK(mp_buddy_usable_size(b, q) == 1024);
    CHECK(verify(q, 60, 3));
    CHECK(mp_buddy_check(b) == 0);
    /* Block the upper buddy of the 1 KiB block: growth must move. */
    void *wall = mp_buddy_alloc(b, 1024);
    REQUIRE(wall == (unsigned char *)p + 1024);
    fill(q, 1024, 9);
    CHECK_STATUS(mp_buddy_realloc(b, &q, 1500), MP_OK);
    CHECK(q != p);
    CHECK(mp_buddy_usable_size(b, q) == 2048);
    CHECK(verify(q, 1024, 9));
    MP_HeapStats st = stats_of(b);
    CHECK(st.realloc_count == 2);
    CHECK(st.alloc_count == 2);
    CHECK(st.free_count == 0);
    CHECK(st.live_block_count == 2);
    CHECK(st.bytes_in_use == 1024 + 2048);
    CHECK(st.bytes_requested == 1024 + 1500);
    CHECK(mp_buddy_usable_size(b, p) == 0); /* old block went back */
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_realloc_shrinks_in_place_by_splitting(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    void *p = mp_buddy_alloc(b, 4096);
    REQUIRE(p != NULL);
    fill(p, 4096, 1);
    void *q = p;
    CHECK_STATUS(mp_buddy_realloc(b, &q, 100), MP_OK);
    CHECK(q == p);
    CHECK(mp_buddy_usable_size(b, q) == 128);
    CHECK(verify(q, 100, 1));
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_bytes == 64 * KIB - 128);
    CHECK(stats_of(b).bytes_in_use == 128);
    CHECK(stats_of(b).bytes_in_use_peak == 4096);
    /* The freed halves are allocatable again right after the block. */
    CHECK(mp_buddy_alloc(b, 128) == (unsigned char *)p + 128);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_realloc_keeps_the_alignment_of_an_aligned_block(void) {
    MP_Buddy *b = mp_buddy_create(256 * KIB, 64);
    REQUIRE(b != NULL);
    void *p = mp_buddy_alloc_aligned(b, 100, 16 * KIB);
    REQUIRE(p != NULL);
    CHECK(mp_test_is_aligned(p, 16 * KIB));
    void *q = p;
    CHECK_STATUS(mp_buddy_realloc(b, &q, 50), MP_OK);
    CHECK(q == p);
    CHECK(mp_buddy_usable_size(b, q) == 64);
    void *wall = mp_buddy_alloc(b, 64); /* takes the buddy: no growth in place */
    CHECK(wall == (unsigned char *)p + 64);
    fill(q, 64, 5);
    CHECK_STATUS(mp_buddy_realloc(b, &q, 300), MP_OK);
    CHECK(q != p);
    CHECK(mp_test_is_aligned(q, 16 * KIB));
    CHECK(verify(q, 64, 5));
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_realloc_of_null_allocates_and_size_zero_gives_a_min_block(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 0);
    REQUIRE(b != NULL);
    void *p = NULL;
    CHECK_STATUS(mp_buddy_realloc(b, &p, 0), MP_OK);
    REQUIRE(p != NULL);
    CHECK(mp_buddy_usable_size(b, p) == 64);
    CHECK_STATUS(mp_buddy_realloc(b, &p, 500), MP_OK);
    CHECK_STATUS(mp_buddy_realloc(b, &p, 0), MP_OK);
    CHECK(mp_buddy_usable_size(b, p) == 64);
    MP_HeapStats st = stats_of(b);
    CHECK(st.alloc_count == 1 && st.realloc_count == 3 && st.bytes_requested == 0);
    CHECK(mp_buddy_alloc(b, 0) != NULL);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_stats_and_free_stats_follow_allocations(void) {
    MP_Buddy *b = mp_buddy_create(1024, 64);
    REQUIRE(b != NULL);
    void *p = mp_buddy_alloc(b, 10);
    REQUIRE(p != NULL);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_bytes == 960);
    CHECK(fs.free_block_count == 4); /* 64, 128, 256, 512 */
    CHECK(fs.largest_free_block_bytes == 512);
    CHECK(fs.fragmentation > 0.4666 && fs.fragmentation < 0.4667); /* 1 - 512/960 */
    void *q = mp_buddy_alloc(b, 300);
    REQUIRE(q != NULL);
    MP_HeapStats st = stats_of(b);
    CHECK(st.bytes_in_use == 64 + 512);
    CHECK(st.bytes_requested == 310);
    CHECK(st.live_block_count == 2);
    CHECK(st.alloc_count == 2);
    CHECK(mp_buddy_alloc(b, 512) == NULL);
    CHECK(mp_last_error().requested_bytes == 512);
    CHECK(mp_last_error().available_bytes == 1024 - 576);
    CHECK(mp_last_error().largest_free_bytes == 256);
    CHECK_STATUS(mp_buddy_free(b, q), MP_OK);
    st = stats_of(b);
    CHECK(st.failed_alloc_count == 1);
    CHECK(st.free_count == 1);
    CHECK(st.bytes_in_use == 64);
    CHECK(st.bytes_in_use_peak == 576);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    fs = free_stats_of(b);
    CHECK(fs.free_block_count == 1 && fs.fragmentation == 0.0);
    CHECK_STATUS(mp_buddy_reset(b), MP_OK);
    CHECK(stats_of(b).bytes_in_use_peak == 0);
    CHECK(stats_of(b).alloc_count == 2);
    mp_buddy_destroy(b);
}

typedef struct walk_log {
    size_t blocks, used, bytes, stop_after;
    unsigned char *expected_next;
    int in_order;
} walk_log;

static int walk_record(void *ptr, size_t size, int is_used, void *ctx) {
    walk_log *w = ctx;
    if (w->expected_next != NULL && ptr != w->expected_next) w->in_order = 0;
    w->expected_next = (unsigned char *)ptr + size;
    w->blocks++;
    w->used += is_used != 0;
    w->bytes += size;
    return w->stop_after != 0 && w->blocks == w->stop_after;
}

static void test_walk_visits_every_block_in_address_order(void) {
    MP_Buddy *b = mp_buddy_create(4096, 64);
    REQUIRE(b != NULL);
    void *a = mp_buddy_alloc(b, 64);
    void *c = mp_buddy_alloc(b, 1000);
    CHECK(a != NULL && c != NULL);
    walk_log w = {0, 0, 0, 0, NULL, 1};
    CHECK_STATUS(mp_buddy_walk(b, walk_record, &w), MP_OK);
    CHECK(w.in_order);
    CHECK(w.bytes == 4096);
    CHECK(w.used == 2);
    CHECK(w.blocks == 2 + free_stats_of(b).free_block_count);
    walk_log stop = {0, 0, 0, 2, NULL, 1};
    CHECK_STATUS(mp_buddy_walk(b, walk_record, &stop), MP_OK);
    CHECK(stop.blocks == 2);
    mp_buddy_destroy(b);
}

static void test_trim_returns_free_pages_to_the_os(void) {
    MP_Buddy *b = mp_buddy_create(8 * MIB, 0);
    REQUIRE(b != NULL);
    void *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = mp_buddy_alloc(b, 64 * KIB);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], 0x11, 64 * KIB);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t before = mp_test_resident_pages(mp_buddy_base(b), 8 * MIB);
    CHECK(before >= 4 * MIB / page);
    for (int i = 0; i < 64; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    size_t released = 0;
    CHECK_STATUS(mp_buddy_trim(b, &released), MP_OK);
    CHECK(released >= 2 * MIB);
    size_t after = mp_test_resident_pages(mp_buddy_base(b), 8 * MIB);
    CHECK(after + 2 * MIB / page <= before);
    /* Live blocks keep their contents. */
    unsigned char *live = blocks[1];
    CHECK(live[0] == 0x11 && live[64 * KIB - 1] == 0x11);
    CHECK(mp_buddy_check(b) == 0);
    CHECK_STATUS(mp_buddy_trim(b, NULL), MP_OK);
    mp_buddy_destroy(b);

    /* Caller memory is never released. */
    static unsigned char region[64 * 1024] __attribute__((aligned(64)));
    MP_BuddyConfig cfg = {sizeof region, 64, 0, 0, region};
    b = mp_buddy_create_ex(&cfg);
    REQUIRE(b != NULL);
    released = 1;
    CHECK_STATUS(mp_buddy_trim(b, &released), MP_OK);
    CHECK(released == 0);
    mp_buddy_destroy(b);
}

static void test_create_in_places_everything_inside_caller_memory(void) {
    MP_BuddyConfig cfg = {128 * KIB, 128, 0, MP_FLAG_THREAD_SAFE, NULL};
    size_t need = mp_buddy_footprint(&cfg);
    CHECK(need >= 128 * KIB + (128 * KIB / 128) * 9);
    void *raw = NULL;
    unsigned char *mem = misaligned_buffer(need, &raw);
    REQUIRE(mem != NULL);
    CHECK(mp_buddy_create_in(mem, need - 1, &cfg) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    MP_Buddy *b = mp_buddy_create_in(mem + 1, need, &cfg); /* any start works */
    REQUIRE(b != NULL);
    unsigned char *base = mp_buddy_base(b);
    CHECK((unsigned char *)b >= mem + 1 && base + 128 * KIB <= mem + 1 + need);
    CHECK(mp_test_is_aligned(base, 128));
    CHECK(stats_of(b).region_bytes == 128 * KIB);
    void *p = mp_buddy_alloc(b, 128 * KIB);
    CHECK(p == base);
    memset(p, 0x77, 128 * KIB);
    CHECK(mp_buddy_check(b) == 0);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    mp_buddy_destroy(b);
    free(raw);
}

static void test_reset_frees_every_block_at_once(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    for (int i = 0; i < 100; i++) CHECK(mp_buddy_alloc(b, (size_t)(i * 37 % 700)) != NULL);
    CHECK_STATUS(mp_buddy_reset(b), MP_OK);
    MP_HeapStats st = stats_of(b);
    CHECK(st.bytes_in_use == 0 && st.live_block_count == 0 && st.bytes_requested == 0);
    CHECK(st.alloc_count == 100);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_block_count == 1 && fs.free_bytes == 64 * KIB);
    CHECK(mp_buddy_check(b) == 0);
    CHECK(mp_buddy_alloc(b, 64 * KIB) == mp_buddy_base(b));
    mp_buddy_destroy(b);
}

typedef struct walk_tally {
    size_t free_blocks, free_bytes, used_blocks;
} walk_tally;

static int tally_block(void *ptr, size_t bytes, int used, void *ctx) {
    walk_tally *t = ctx;
    (void)ptr;
    if (used) {
        t->used_blocks++;
    } else {
        t->free_blocks++;
        t->free_bytes += bytes;
    }
    return 0;
}

static void test_a_freed_block_is_reused_at_once_and_counts_as_free(void) {
    MP_Buddy *b = mp_buddy_create(64 * KIB, 64);
    REQUIRE(b != NULL);
    void *a = mp_buddy_alloc(b, 64);
    void *c = mp_buddy_alloc(b, 64);
    REQUIRE(a != NULL && c != NULL);
    CHECK_STATUS(mp_buddy_free(b, a), MP_OK);
    MP_HeapStats st = stats_of(b);
    CHECK(st.bytes_in_use == 64 && st.live_block_count == 1);
    CHECK(mp_buddy_check(b) == 0);
    CHECK(mp_buddy_alloc(b, 64) == a); /* from the cache, no split */
    CHECK(mp_buddy_alloc(b, 33) != NULL);
    CHECK_STATUS(mp_buddy_free(b, a), MP_OK);
    CHECK_STATUS(mp_buddy_free(b, c), MP_OK);
    /* walk and free_stats see canonical blocks: the cached ones merged. */
    walk_tally t = {0, 0, 0};
    CHECK_STATUS(mp_buddy_walk(b, tally_block, &t), MP_OK);
    CHECK(t.used_blocks == 1 && t.free_bytes == 64 * KIB - 64);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_bytes == 64 * KIB - 64 && fs.free_block_count == t.free_blocks);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_cached_blocks_merge_when_a_larger_block_is_needed(void) {
    MP_Buddy *b = mp_buddy_create(4 * KIB, 64);
    REQUIRE(b != NULL);
    void *blocks[64];
    for (int i = 0; i < 64; i++) REQUIRE((blocks[i] = mp_buddy_alloc(b, 64)) != NULL);
    CHECK(mp_buddy_alloc(b, 64) == NULL);
    for (int i = 0; i < 64; i++) {
        CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
        CHECK(mp_buddy_check(b) == 0);
    }
    void *whole = mp_buddy_alloc(b, 4 * KIB);
    CHECK(whole == mp_buddy_base(b));
    CHECK(mp_buddy_check(b) == 0);
    CHECK_STATUS(mp_buddy_free(b, whole), MP_OK);
    /* Over-aligned requests scan the lists: they flush first, too. */
    for (int i = 0; i < 64; i++) REQUIRE((blocks[i] = mp_buddy_alloc(b, 64)) != NULL);
    for (int i = 0; i < 64; i++) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    CHECK(mp_buddy_alloc_aligned(b, 2 * KIB, 2 * KIB) != NULL);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

static void test_flush_cache_restores_one_free_top_block(void) {
    MP_Buddy *b = mp_buddy_create(16 * KIB, 64);
    REQUIRE(b != NULL);
    void *blocks[40];
    for (int i = 0; i < 40; i++) REQUIRE((blocks[i] = mp_buddy_alloc(b, (size_t)64 << (i % 3))) != NULL);
    for (int i = 39; i >= 0; i--) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_flush_cache(b);
    mp_buddy_flush_cache(NULL);
    CHECK(mp_buddy_check(b) == 0);
    MP_FreeStats fs = free_stats_of(b);
    CHECK(fs.free_block_count == 1 && fs.free_bytes == 16 * KIB && fs.largest_free_block_bytes == 16 * KIB);
    mp_buddy_destroy(b);
}

static void test_reset_and_trim_with_cached_blocks(void) {
    MP_Buddy *b = mp_buddy_create(8 * MIB, 0);
    REQUIRE(b != NULL);
    void *blocks[8];
    for (int i = 0; i < 8; i++) {
        REQUIRE((blocks[i] = mp_buddy_alloc(b, MIB)) != NULL);
        memset(blocks[i], 0x5a, MIB);
    }
    for (int i = 0; i < 8; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK); /* cached */
    size_t released = 0;
    CHECK_STATUS(mp_buddy_trim(b, &released), MP_OK);
    CHECK(released >= 4 * MIB);
    CHECK(mp_buddy_check(b) == 0);
    for (int i = 1; i < 8; i += 2) CHECK_STATUS(mp_buddy_free(b, blocks[i]), MP_OK); /* cached */
    CHECK_STATUS(mp_buddy_reset(b), MP_OK);
    CHECK(mp_buddy_check(b) == 0);
    CHECK(free_stats_of(b).free_block_count == 1);
    CHECK_STATUS(mp_buddy_free(b, blocks[1]), MP_ERR_INVALID_ADDRESS); /* merged away by reset */
    CHECK(mp_buddy_alloc(b, 8 * MIB) == mp_buddy_base(b));
    mp_buddy_destroy(b);
}

static void test_thread_safe_instance_works_from_one_thread(void) {
    MP_BuddyConfig cfg = {MIB, 256, 64 * KIB, MP_FLAG_THREAD_SAFE, NULL};
    MP_Buddy *b = mp_buddy_create_ex(&cfg);
    REQUIRE(b != NULL);
    void *p = mp_buddy_calloc(b, 1000);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_buddy_realloc(b, &p, 5000), MP_OK);
    CHECK(mp_buddy_usable_size(b, p) == 8192);
    CHECK(mp_buddy_alloc(b, 64 * KIB + 1) == NULL);
    CHECK(free_stats_of(b).free_block_count > 0);
    CHECK_STATUS(mp_buddy_free(b, p), MP_OK);
    CHECK(mp_buddy_check(b) == 0);
    mp_buddy_destroy(b);
}

MP_TEST_MAIN(TEST_CASE(test_create_maps_a_region_and_hands_out_min_blocks),
             TEST_CASE(test_a_freed_block_is_reused_at_once_and_counts_as_free),
             TEST_CASE(test_cached_blocks_merge_when_a_larger_block_is_needed),
             TEST_CASE(test_flush_cache_restores_one_free_top_block),
             TEST_CASE(test_reset_and_trim_with_cached_blocks),
             TEST_CASE(test_sizes_round_up_to_power_of_two_blocks),
             TEST_CASE(test_freeing_every_block_merges_back_into_one_top_block),
             TEST_CASE(test_region_that_is_not_a_power_of_two_is_fully_usable),
             TEST_CASE(test_alloc_aligned_returns_real_addresses_aligned_to_the_request),
             TEST_CASE(test_caller_region_with_16_byte_base_aligns_on_real_addresses),
             TEST_CASE(test_calloc_returns_zeroed_bytes_of_a_reused_block),
             TEST_CASE(test_realloc_grows_in_place_while_the_buddy_chain_is_free),
             TEST_CASE(test_realloc_shrinks_in_place_by_splitting),
             TEST_CASE(test_realloc_keeps_the_alignment_of_an_aligned_block),
             TEST_CASE(test_realloc_of_null_allocates_and_size_zero_gives_a_min_block),
             TEST_CASE(test_stats_and_free_stats_follow_allocations),
             TEST_CASE(test_walk_visits_every_block_in_address_order),
             TEST_CASE(test_trim_returns_free_pages_to_the_os),
             TEST_CASE(test_create_in_places_everything_inside_caller_memory),
             TEST_CASE(test_reset_frees_every_block_at_once),
             TEST_CASE(test_thread_safe_instance_works_from_one_thread))
