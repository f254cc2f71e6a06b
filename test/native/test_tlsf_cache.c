/*
 * test_tlsf_cache.c - the front cache of TLSF (tlsf_cache.c): LIFO reuse of
 * the most recently freed block of a fitting class, cached blocks free for
 * every observer (stats, free_stats, walk, usable_size, double free,
 * realloc), agreement with a cache-off twin fed the same operations, the
 * flush that lets an allocation succeed when only coalescing makes room,
 * trim and reset, the budget, corrupted cache entries detected and check()
 * finding broken cache bookkeeping; the fast paths of alloc and free
 * (tlsf_hot.h) against the full ones of a thread-safe twin, their derived
 * tables and limits (tlsf_fast) against the list mapping, and their refusal
 * of pointers outside the heap or off the granule grid.
 */
#include "mp_test.h"
#include "tlsf_internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define TEST_VALGRIND 1
#endif
#endif

#define KIB ((size_t)1024)

static MP_Tlsf *create_cached(size_t region_bytes, size_t cache_bytes) {
    MP_TlsfConfig cfg = {region_bytes, 0, 0, NULL, cache_bytes, 0};
    return mp_tlsf_create_ex(&cfg);
}

static MP_HeapStats stats_of(const MP_Tlsf *t) {
    MP_HeapStats st;
    memset(&st, 0, sizeof st);
    CHECK_STATUS(mp_tlsf_stats(t, &st), MP_OK);
    return st;
}

static MP_FreeStats free_stats_of(const MP_Tlsf *t) {
    MP_FreeStats fs;
    memset(&fs, 0, sizeof fs);
    CHECK_STATUS(mp_tlsf_free_stats(t, &fs), MP_OK);
    return fs;
}

typedef struct walk_sums {
    size_t free_bytes, free_blocks, used_bytes, used_blocks;
    const void *probe; /* its is_used flag is recorded */
    int probe_used;
} walk_sums;

static int add_block(void *ptr, size_t size, int is_used, void *ctx) {
    walk_sums *w = ctx;
    if (ptr == w->probe) w->probe_used = is_used;
    if (is_used) {
        w->used_bytes += size;
        w->used_blocks++;
    } else {
        w->free_bytes += size;
        w->free_blocks++;
    }
    return 0;
}

static walk_sums walk_of(const MP_Tlsf *t, const void *probe) {
    walk_sums w = {0, 0, 0, 0, probe, -1};
    CHECK_STATUS(mp_tlsf_walk(t, add_block, &w), MP_OK);
    return w;
}

static void test_alloc_takes_back_the_most_recently_freed_block_of_its_class(void) {
    MP_Tlsf *t = mp_tlsf_create(256 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100), *g1 = mp_tlsf_alloc(t, 8), *b = mp_tlsf_alloc(t, 100);
    void *g2 = mp_tlsf_alloc(t, 8), *c = mp_tlsf_alloc(t, 224), *g3 = mp_tlsf_alloc(t, 8);
    REQUIRE(a && b && c && g1 && g2 && g3);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK(mp_tlsf_alloc(t, 100) == b); /* LIFO */
    CHECK(mp_tlsf_alloc(t, 97) == a);  /* same 128-byte block class */
    CHECK(mp_tlsf_usable_size(t, a) == 112);
    /* c's class (240-byte blocks) is the next one of a 208-byte request's
     * (224) when that one is empty: c comes back whole. */
    CHECK_STATUS(mp_tlsf_free(t, c), MP_OK);
    CHECK(mp_tlsf_alloc(t, 208) == c);
    CHECK(mp_tlsf_usable_size(t, c) == 224);
    MP_HeapStats st = stats_of(t);
    CHECK(st.bytes_requested == 100 + 97 + 208 + 3 * 8);
    CHECK(st.live_block_count == 6 && st.alloc_count == 9 && st.free_count == 3);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_a_cached_block_is_free_for_every_observer(void) {
    MP_Tlsf *t = mp_tlsf_create(64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 300), *b = mp_tlsf_alloc(t, 300);
    REQUIRE(a && b);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK(mp_tlsf_usable_size(t, a) == 0);
    MP_HeapStats before = stats_of(t);
    CHECK(before.bytes_in_use == mp_tlsf_usable_size(t, b) && before.live_block_count == 1);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_DOUBLE_FREE);
    void *moved = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &moved, 10), MP_ERR_DOUBLE_FREE);
    CHECK(moved == a);
    MP_HeapStats after = stats_of(t);
    CHECK(after.rejected_free_count == before.rejected_free_count + 2); /* the free and the realloc */
    after.rejected_free_count = before.rejected_free_count;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    walk_sums w = walk_of(t, a);
    CHECK(w.probe_used == 0);
    CHECK(w.used_blocks == 1 && w.free_blocks == 2); /* a (cached) and the tail */
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == w.free_blocks && fs.free_bytes == w.free_bytes);
    CHECK(fs.free_bytes + fs.free_block_count * 16 + before.bytes_in_use + 16 == 64 * KIB - 16);
    CHECK(mp_tlsf_check(t) == 0);
    /* An aligned request never takes a cached block. */
    void *aligned = mp_tlsf_alloc_aligned(t, 300, 64);
    CHECK(aligned != NULL && aligned != a && ((uintptr_t)aligned & 63u) == 0);
    CHECK(mp_tlsf_usable_size(t, a) == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Same operations on a cached and an uncached instance: the counters are
 * equal, and in both the free bytes plus the headers of free blocks are the
 * heap minus the live blocks (the same total), as walk and free_stats
 * agree. */
static void test_cached_and_uncached_twins_agree_on_counters_and_free_bytes(void) {
    enum { OPS = 3000, SLOTS = 64 };
    MP_Tlsf *twin[2] = {create_cached(512 * KIB, MP_TLSF_CACHE_DEFAULT_BYTES), create_cached(512 * KIB, 0)};
    REQUIRE(twin[0] && twin[1]);
    void *live[2][SLOTS] = {{0}};
    uint64_t rng = 7;
    for (int op = 0; op < OPS; op++) {
        size_t i = (size_t)(mp_test_rand(&rng) % SLOTS), size = (size_t)(mp_test_rand(&rng) % 3000);
        for (int k = 0; k < 2; k++) {
            MP_Tlsf *t = twin[k];
            if (live[k][i] != NULL) {
                CHECK_STATUS(mp_tlsf_free(t, live[k][i]), MP_OK);
                live[k][i] = NULL;
            } else {
                live[k][i] = mp_tlsf_alloc(t, size);
                CHECK(live[k][i] != NULL);
            }
            CHECK(mp_tlsf_check(t) == 0);
        }
        MP_HeapStats s0 = stats_of(twin[0]), s1 = stats_of(twin[1]);
        CHECK(s0.bytes_requested == s1.bytes_requested && s0.live_block_count == s1.live_block_count);
        CHECK(s0.alloc_count == s1.alloc_count && s0.free_count == s1.free_count);
        size_t total[2];
        for (int k = 0; k < 2; k++) {
            MP_HeapStats st = stats_of(twin[k]);
            MP_FreeStats fs = free_stats_of(twin[k]);
            walk_sums w = walk_of(twin[k], NULL);
            CHECK(w.free_bytes == fs.free_bytes && w.free_blocks == fs.free_block_count);
            CHECK(w.used_bytes == st.bytes_in_use && w.used_blocks == st.live_block_count);
            total[k] = fs.free_bytes + 16 * fs.free_block_count + st.bytes_in_use + 16 * st.live_block_count;
        }
        CHECK(total[0] == total[1]);
        if (mp_test_failures_ != 0) break;
    }
    /* After a flush the cached twin coalesces like the other. */
    CHECK_STATUS(mp_tlsf_trim(twin[0], NULL), MP_OK);
    CHECK(free_stats_of(twin[0]).free_block_count <= free_stats_of(twin[1]).free_block_count + SLOTS);
    CHECK(mp_tlsf_check(twin[0]) == 0);
    mp_tlsf_destroy(twin[0]);
    mp_tlsf_destroy(twin[1]);
}

static void test_allocation_that_needs_coalescing_flushes_the_cache_and_succeeds(void) {
    enum { N = 400 };
    MP_Tlsf *t = create_cached(64 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    void *p[N];
    size_t n = 0;
    while (n < N && (p[n] = mp_tlsf_alloc(t, 100 + (n % 8) * 16)) != NULL) n++;
    CHECK(n > 300);
    for (size_t i = 0; i < n; i++) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    CHECK(tlsf_cache_bytes(t) != 0);
    CHECK(free_stats_of(t).free_block_count > 1);
    MP_HeapStats before = stats_of(t);
    void *big = mp_tlsf_alloc(t, 48 * KIB); /* fits only once everything merged */
    CHECK(big != NULL);
    CHECK(tlsf_cache_bytes(t) == 0);
    MP_HeapStats after = stats_of(t);
    CHECK(after.failed_alloc_count == before.failed_alloc_count && after.alloc_count == before.alloc_count + 1);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, big), MP_OK);
    CHECK(free_stats_of(t).free_block_count == 1); /* 48 KiB is not cached */
    /* A request larger than the free space still fails, after the flush. */
    void *q = mp_tlsf_alloc(t, 100), *r = mp_tlsf_alloc(t, 100);
    CHECK_STATUS(mp_tlsf_free(t, r), MP_OK);
    CHECK(tlsf_cache_bytes(t) != 0);
    CHECK(mp_tlsf_alloc(t, 64 * KIB - 128) == NULL && q != NULL);
    CHECK(tlsf_cache_bytes(t) == 0);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_that_needs_the_cached_next_block_flushes_the_cache(void) {
    MP_Tlsf *t = create_cached(4 * KIB, 4 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 1000), *b = mp_tlsf_alloc(t, 1000), *c = mp_tlsf_alloc(t, 1900);
    REQUIRE(a && b && c);
    memset(a, 0x5A, 1000);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK); /* cached: a cannot grow into it yet */
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 2000), MP_OK);
    CHECK(p == a);
    CHECK(((uint8_t *)p)[999] == 0x5A && mp_tlsf_usable_size(t, p) >= 2000);
    CHECK(tlsf_cache_bytes(t) == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_trim_flushes_and_reset_drops_the_cache(void) {
    MP_Tlsf *t = mp_tlsf_create(128 * KIB);
    REQUIRE(t != NULL);
    void *p[32];
    for (int i = 0; i < 32; i++) REQUIRE((p[i] = mp_tlsf_alloc(t, 64 + 64 * (size_t)i)) != NULL);
    for (int i = 0; i < 32; i += 2) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    size_t free_before = free_stats_of(t).free_bytes;
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    CHECK(tlsf_cache_bytes(t) == 0 && mp_tlsf_check(t) == 0);
    CHECK(free_stats_of(t).free_bytes == free_before); /* odd blocks keep the holes apart */
    for (int i = 1; i < 32; i += 2) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    CHECK(tlsf_cache_bytes(t) != 0);
    CHECK_STATUS(mp_tlsf_reset(t), MP_OK);
    CHECK(tlsf_cache_bytes(t) == 0 && mp_tlsf_check(t) == 0);
    CHECK(free_stats_of(t).free_block_count == 1);
    CHECK_STATUS(mp_tlsf_free(t, p[1]), MP_ERR_INVALID_ADDRESS); /* stale after reset */
    mp_tlsf_destroy(t);
}

static void test_the_budget_bounds_the_cached_bytes(void) {
    MP_Tlsf *t = create_cached(64 * KIB, 300);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 200), *g = mp_tlsf_alloc(t, 8), *b = mp_tlsf_alloc(t, 200);
    REQUIRE(a && b && g);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK(tlsf_cache_bytes(t) == 224);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK); /* over the budget: merged with the tail */
    CHECK(tlsf_cache_bytes(t) == 224);
    CHECK(free_stats_of(t).free_block_count == 2);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* A write through a stale pointer into a cached block's header. */
static void stale_write(void *p, size_t n, uint8_t value) {
    MP_UNPOISON(p, n);
#if defined(TEST_VALGRIND)
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
    memset(p, value, n);
    MP_POISON(p, n);
#if defined(TEST_VALGRIND)
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
}

static void test_a_scribbled_cached_header_is_reported_not_followed(void) {
    MP_Tlsf *t = mp_tlsf_create(64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100), *g = mp_tlsf_alloc(t, 8);
    REQUIRE(a && g);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    stale_write(a - 16, 4, 0x7F); /* the size, as a use-after-free might */
    MP_HeapStats before = stats_of(t);
    CHECK(mp_tlsf_alloc(t, 100) == NULL);
    CHECK(mp_last_error().status == MP_ERR_CORRUPTION);
    MP_HeapStats after = stats_of(t);
    CHECK(after.failed_alloc_count == before.failed_alloc_count + 1);
    CHECK(tlsf_cache_bytes(t) == 112 + 16);
    CHECK(mp_tlsf_check(t) > 0);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_INVALID_ADDRESS);
    CHECK(mp_tlsf_alloc(t, 1000) != NULL); /* other classes still work */
    mp_tlsf_destroy(t);
}

static void test_check_finds_broken_cache_bookkeeping(void) {
    MP_Tlsf *t = mp_tlsf_create(64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100), *b = mp_tlsf_alloc(t, 100);
    REQUIRE(a && b);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    unsigned c = tlsf_cache_class(t, 128);
    REQUIRE(t->cache_count[c] == 2);
    t->cache_count[c] = 1; /* b carries the cached flag but no slot names it */
    CHECK(mp_tlsf_check(t) > 0);
    t->cache_count[c] = 2;
    uint32_t *slot = &t->cache_slots[c * TLSF_CACHE_DEPTH];
    uint32_t saved = slot[1];
    slot[1] = slot[0]; /* one block in two slots */
    CHECK(mp_tlsf_check(t) > 0);
    slot[1] = saved;
    t->cache_room_bytes -= 16; /* counter off */
    CHECK(mp_tlsf_check(t) > 0);
    t->cache_room_bytes += 16;
    CHECK(mp_tlsf_check(t) == 0);
    /* The fast paths' fields: a count past the last class (a pop looks at
     * class c + 1 unbounded), a class table entry, a limit, the heads. */
    t->cache_count[t->cache_classes] = 1;
    CHECK(mp_tlsf_check(t) > 0);
    t->cache_count[t->cache_classes] = 0;
    t->fast.class_of[8] ^= 1u;
    CHECK(mp_tlsf_check(t) > 0);
    t->fast.class_of[8] ^= 1u;
    t->fast.alloc_sizes++;
    CHECK(mp_tlsf_check(t) > 0);
    t->fast.alloc_sizes--;
    t->fast.free_span = 0;
    CHECK(mp_tlsf_check(t) > 0);
    t->fast.free_span = t->blocks_bytes >> TLSF_GRANULE_LOG2;
    uint8_t **heads = t->heads;
    t->heads = heads - 1; /* the last slot words, read as heads: inside the control block */
    CHECK(mp_tlsf_check(t) > 0);
    t->heads = heads;
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* The tables and limits the fast paths compare with (tlsf_fast) agree with
 * the list mapping for every second-level count and for heaps with fewer
 * lists than the cache could use: class_of names each size's list,
 * class_start bounds each class, checks_waste is set wherever a take could
 * waste more than tlsf_cache_pop allows (never at sl_log2 5), and the alloc
 * and free limits admit exactly the requests and block sizes of cached
 * classes. */
static void test_the_fast_tables_match_the_list_mapping(void) {
    size_t regions[] = {512 * KIB, 4 * KIB, 1024};
    for (unsigned sl_log2 = 1; sl_log2 <= 5; sl_log2++) {
        for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++) {
            MP_TlsfConfig cfg = {regions[r], sl_log2, 0, NULL, MP_TLSF_CACHE_DEFAULT_BYTES, 0};
            MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
            REQUIRE(t != NULL);
            const tlsf_env *e = &t->env;
            const tlsf_fast *f = &t->fast;
            unsigned classes = t->cache_classes;
            for (size_t size = 32; size < TLSF_CACHE_MAX_BLOCK_BYTES; size += 16) {
                unsigned c = tlsf_list_index(e, size);
                CHECK(f->class_of[size >> TLSF_GRANULE_LOG2] == c);
                if (c < classes) CHECK(f->class_start[c] <= size && size < f->class_start[c + 1]);
                bool cached = c < classes;
                CHECK((size - TLSF_MIN_BLOCK_BYTES < f->free_sizes) == cached);
                size_t req = size - TLSF_HDR_BYTES; /* the largest request of this block size */
                CHECK((req - 1 < f->alloc_sizes) == (cached && req <= t->max_request_bytes));
            }
            CHECK(f->class_of[0] == f->class_of[2] && f->class_of[1] == f->class_of[2]);
            for (unsigned c = 1; c < classes; c++) {
                bool wasteful = false;
                size_t lo = f->class_start[c - 1] < 32 ? 32 : f->class_start[c - 1];
                size_t mid = f->class_start[c], hi = f->class_start[c + 1];
                for (size_t bs = lo; bs < hi; bs += 16)
                    for (size_t size = mid > bs ? mid : bs; size < hi; size += 16)
                        wasteful |= tlsf_cache_waste_too_big(size, bs);
                CHECK(f->checks_waste[c] == wasteful);
                if (sl_log2 == 5) CHECK(!wasteful);
            }
            CHECK(mp_tlsf_check(t) == 0);
            mp_tlsf_destroy(t);
            if (mp_test_failures_ != 0) return;
        }
    }
}

/* The free fast path's one compare (an offset rotated by 4 bits against the
 * heap's span) refuses what the full path refuses: pointers below the
 * first block, at or past the sentinel, off the 16-byte grid, NULL and
 * small integers, interior pointers of a cacheable block; each is an
 * INVALID_ADDRESS that changes nothing but the rejected count. */
static void test_the_fast_free_refuses_pointers_off_the_heap_grid(void) {
    MP_Tlsf *t = create_cached(64 * KIB, MP_TLSF_CACHE_DEFAULT_BYTES);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100);
    REQUIRE(a != NULL);
    memset(a, 0, 100);
    uint8_t *first = t->env.first, *sentinel = t->env.sentinel;
    void *bad[] = {
        NULL,     (void *)(uintptr_t)16, first,         first - 16, first + 8, a + 8, a + 16, a + 32, a - 1,
        sentinel, sentinel + 16,         sentinel + 32, a + 4096};
    MP_HeapStats before = stats_of(t);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_STATUS(mp_tlsf_free(t, bad[i]), MP_ERR_INVALID_ADDRESS);
    MP_HeapStats after = stats_of(t);
    CHECK(after.rejected_free_count == before.rejected_free_count + sizeof bad / sizeof bad[0]);
    after.rejected_free_count = before.rejected_free_count;
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_DOUBLE_FREE);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* mp_tlsf_alloc/free serve the cache's common cases on a fast path; a
 * thread-safe twin always takes the full one. Fed the same operations
 * (sizes on both sides of the 8 KiB cache bound, every second-level count,
 * refused frees), both hand out blocks at the same offsets and keep equal
 * stats: the fast path takes exactly what the full path would. */
static void test_fast_and_full_paths_place_and_count_alike(void) {
    enum { OPS = 4000, SLOTS = 96 };
    for (unsigned sl_log2 = 1; sl_log2 <= 5; sl_log2++) {
        MP_TlsfConfig fast_cfg = {512 * KIB, sl_log2, 0, NULL, MP_TLSF_CACHE_DEFAULT_BYTES, 0};
        MP_TlsfConfig full_cfg = {512 * KIB, sl_log2, MP_FLAG_THREAD_SAFE, NULL, MP_TLSF_CACHE_DEFAULT_BYTES, 0};
        MP_Tlsf *twin[2] = {mp_tlsf_create_ex(&fast_cfg), mp_tlsf_create_ex(&full_cfg)};
        REQUIRE(twin[0] && twin[1]);
        uint8_t *live[2][SLOTS] = {{0}};
        uint64_t rng = 11 + sl_log2;
        for (int op = 0; op < OPS; op++) {
            size_t i = (size_t)(mp_test_rand(&rng) % SLOTS);
            size_t size = (size_t)(mp_test_rand(&rng) % 9000);
            bool refused = mp_test_rand(&rng) % 16 == 0;
            for (int k = 0; k < 2; k++) {
                MP_Tlsf *t = twin[k];
                uint8_t *base = mp_tlsf_base(t);
                if (live[k][i] != NULL && refused) {
                    CHECK_STATUS(mp_tlsf_free(t, live[k][i] + 16), MP_ERR_INVALID_ADDRESS); /* interior */
                } else if (live[k][i] != NULL) {
                    CHECK_STATUS(mp_tlsf_free(t, live[k][i]), MP_OK);
                    if (refused) CHECK_STATUS(mp_tlsf_free(t, live[k][i]), MP_ERR_DOUBLE_FREE);
                    live[k][i] = NULL;
                } else {
                    live[k][i] = mp_tlsf_alloc(t, size);
                    CHECK(live[k][i] != NULL && (size_t)(live[k][i] - base) < 512 * KIB);
                }
            }
            CHECK((live[0][i] == NULL) == (live[1][i] == NULL));
            if (live[0][i] != NULL && live[1][i] != NULL)
                CHECK(live[0][i] - (uint8_t *)mp_tlsf_base(twin[0]) ==
                      live[1][i] - (uint8_t *)mp_tlsf_base(twin[1]));
            MP_HeapStats s0 = stats_of(twin[0]), s1 = stats_of(twin[1]);
            CHECK(memcmp(&s0, &s1, sizeof s0) == 0);
            if (op % 64 == 0) CHECK(mp_tlsf_check(twin[0]) == 0 && mp_tlsf_check(twin[1]) == 0);
            if (mp_test_failures_ != 0) break;
        }
        CHECK(mp_tlsf_check(twin[0]) == 0);
        mp_tlsf_destroy(twin[0]);
        mp_tlsf_destroy(twin[1]);
        if (mp_test_failures_ != 0) break;
    }
}

/* The high-water mark: a take that would reach past every block handed out
 * so far while blocks are cached flushes the cache first, so memory the
 * cache held is reused before the heap grows into fresh pages. */
static void test_the_cache_is_flushed_before_the_heap_grows(void) {
    MP_Tlsf *t = create_cached(256 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a[8];
    for (int i = 0; i < 8; i++)
        REQUIRE((a[i] = mp_tlsf_alloc(t, 1000)) != NULL);
    uint8_t *mark = t->touched_end;
    CHECK(mark == a[7] + 1008); /* 1000 bytes and the header, in 16-byte granules */
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(mp_tlsf_free(t, a[i]), MP_OK);
    CHECK(tlsf_cache_bytes(t) == 8 * 1024);
    /* 4000 bytes: no cached class serves it, and the lists hold only the
     * untouched rest of the region above the mark. */
    MP_HeapStats before = stats_of(t);
    uint8_t *p = mp_tlsf_alloc(t, 4000);
    CHECK(p == a[0]); /* the flushed blocks, merged */
    CHECK(tlsf_cache_bytes(t) == 0);
    CHECK(t->touched_end == mark);
    MP_HeapStats after = stats_of(t);
    CHECK(after.alloc_count == before.alloc_count + 1 &&
          after.failed_alloc_count == before.failed_alloc_count);
    CHECK(mp_tlsf_check(t) == 0);
    /* With nothing cached the heap grows, and the mark with it. */
    uint8_t *q = mp_tlsf_alloc(t, 8000);
    CHECK(q == p + 4016); /* the merged blocks and the rest above them are one */
    CHECK(t->touched_end == q + 8000 && q + 8000 > mark);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Room below the mark is taken without touching the cache. */
static void test_room_below_the_mark_keeps_the_cache(void) {
    MP_Tlsf *t = create_cached(256 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 1000), *big = mp_tlsf_alloc(t, 9000), *c = mp_tlsf_alloc(t, 1000);
    REQUIRE(a && big && c);
    uint8_t *mark = t->touched_end;
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);   /* cached */
    CHECK_STATUS(mp_tlsf_free(t, big), MP_OK); /* over 8 KiB: to the lists */
    CHECK(tlsf_cache_bytes(t) == 1024);
    void *p = mp_tlsf_alloc(t, 4000);
    CHECK(p == big);
    CHECK(tlsf_cache_bytes(t) == 1024 && t->touched_end == mark);
    CHECK(mp_tlsf_alloc(t, 1000) == a); /* still cached */
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* A trim returns the top free block's pages to the OS: the mark comes down
 * to that block, so the cache is flushed again before they are reused. */
static void test_trim_lowers_the_mark_to_the_top_free_block(void) {
    MP_Tlsf *t = create_cached(256 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a[16];
    for (int i = 0; i < 16; i++)
        REQUIRE((a[i] = mp_tlsf_alloc(t, 4000)) != NULL);
    for (int i = 0; i < 16; i++)
        CHECK_STATUS(mp_tlsf_free(t, a[i]), MP_OK);
    CHECK(t->touched_end > a[15]);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    CHECK(t->touched_end == a[0] - 16); /* the one free block, from the first header */
    CHECK(mp_tlsf_check(t) == 0);
    uint8_t *x = mp_tlsf_alloc(t, 100);
    CHECK(x == a[0]);
    CHECK_STATUS(mp_tlsf_free(t, x), MP_OK); /* cached */
    CHECK(tlsf_cache_bytes(t) != 0);
    uint8_t *y = mp_tlsf_alloc(t, 2000); /* above the lowered mark: flush first */
    CHECK(y == a[0] && tlsf_cache_bytes(t) == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* A damaged cached block stops the flush; an allocation that needs the heap
 * to grow is served anyway (the mark no longer holds the cache back), by
 * alloc and by realloc's move. */
static void test_a_damaged_cache_does_not_stop_the_heap_growing(void) {
    MP_Tlsf *t = create_cached(64 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100), *r = mp_tlsf_alloc(t, 200), *g = mp_tlsf_alloc(t, 8);
    REQUIRE(a && r && g);
    memset(r, 0x3C, 200);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    stale_write(a - 16, 4, 0x7F);
    void *p = r;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 3000), MP_OK); /* g blocks growth in place: a move */
    CHECK(p != r && p > (void *)g);
    CHECK(((uint8_t *)p)[0] == 0x3C && ((uint8_t *)p)[199] == 0x3C);
    CHECK(t->touched_end == t->env.sentinel);
    CHECK(mp_tlsf_alloc(t, 5000) != NULL);
    CHECK(mp_tlsf_check(t) > 0); /* the damaged cached block is still reported */
    mp_tlsf_destroy(t);
}

/* check() holds every block in use below the mark. */
static void test_check_finds_a_block_above_the_mark(void) {
    MP_Tlsf *t = create_cached(64 * KIB, 0);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100), *b = mp_tlsf_alloc(t, 100);
    REQUIRE(a && b);
    CHECK(mp_tlsf_check(t) == 0);
    uint8_t *mark = t->touched_end;
    t->touched_end = b; /* b's block ends above it */
    CHECK(mp_tlsf_check(t) > 0);
    t->touched_end = t->env.sentinel + 16;
    CHECK(mp_tlsf_check(t) > 0);
    t->touched_end = mark;
    CHECK(mp_tlsf_check(t) == 0);
    uint8_t *gate = t->grow_gate;
    t->grow_gate = t->env.sentinel + 16; /* the gate stays inside the heap */
    CHECK(mp_tlsf_check(t) > 0);
    t->grow_gate = gate;
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* After a growth flush the heap may grow by 1/16 of the mark before the
 * cache is flushed for growth again. */
static void test_growth_flushes_are_spaced_by_a_sixteenth_of_the_mark(void) {
    MP_Tlsf *t = create_cached(1024 * KIB, 64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a[64];
    for (int i = 0; i < 64; i++)
        REQUIRE((a[i] = mp_tlsf_alloc(t, 4000)) != NULL);
    uint8_t *mark = t->touched_end;
    size_t sixteenth = (size_t)(mark - t->env.first) / 16;
    for (int i = 0; i < 64; i += 8)
        CHECK_STATUS(mp_tlsf_free(t, a[i]), MP_OK); /* apart: no merging */
    CHECK(tlsf_cache_bytes(t) == 8 * 4016);
    uint8_t *g1 = mp_tlsf_alloc(t, 9000); /* fits no hole: grows, after a flush */
    CHECK(g1 >= mark && tlsf_cache_bytes(t) == 0);
    CHECK(t->grow_gate == mark + sixteenth);
    for (int i = 4; i < 64; i += 8)
        CHECK_STATUS(mp_tlsf_free(t, a[i]), MP_OK);
    CHECK(tlsf_cache_bytes(t) == 8 * 4016);
    uint8_t *g2 = mp_tlsf_alloc(t, 4100); /* grows again, within the gate: the cache stays */
    CHECK(g2 == g1 + 9024 && tlsf_cache_bytes(t) == 8 * 4016);
    CHECK(t->touched_end < t->grow_gate);
    uint8_t *g3 = mp_tlsf_alloc(t, 3 * sixteenth); /* past the gate: flushed first */
    CHECK(g3 == g2 + 4128 && tlsf_cache_bytes(t) == 0);
    /* Near the top of the region the gate stops at the sentinel. */
    void *filler = mp_tlsf_alloc(t, (size_t)(t->env.sentinel - t->touched_end) - 4096);
    CHECK(filler != NULL);
    CHECK_STATUS(mp_tlsf_free(t, a[1]), MP_OK); /* cached */
    CHECK(mp_tlsf_alloc(t, 4040) != NULL);      /* over every hole: grows, flushed, gate capped */
    CHECK(t->grow_gate == t->env.sentinel && tlsf_cache_bytes(t) == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Good fit skips the request's own list (its blocks may be smaller than
 * the request). Before the heap grows past the mark, that list is scanned,
 * for at most TLSF_GROW_SCAN blocks, for one that fits below the mark. */
static void test_growth_first_scans_the_requests_own_list(void) {
    MP_Tlsf *t = create_cached(1024 * KIB, 0);
    REQUIRE(t != NULL);
    /* Blocks of 20016 bytes: list [19968, 20480) at the default sl_log2 5. */
    uint8_t *x = mp_tlsf_alloc(t, 20000), *g = mp_tlsf_alloc(t, 16);
    REQUIRE(x && g);
    CHECK_STATUS(mp_tlsf_free(t, x), MP_OK);
    uint8_t *mark = t->touched_end;
    uint8_t *p = mp_tlsf_alloc(t, 19990); /* the same block size: found by the scan */
    CHECK(p == x && t->touched_end == mark);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
    uint8_t *q = mp_tlsf_alloc(t, 20100); /* its list, but larger than the block: grows */
    CHECK(q > g && t->touched_end == q + 20112);
    CHECK(mp_tlsf_alloc(t, 19000) == x); /* split from x: a smaller list's search finds it */
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);

    /* The scan looks at TLSF_GROW_SCAN blocks of the list, from its head. */
    for (unsigned before = TLSF_GROW_SCAN - 1u; before <= TLSF_GROW_SCAN; before++) {
        t = create_cached(1024 * KIB, 0);
        REQUIRE(t != NULL);
        uint8_t *fit = mp_tlsf_alloc(t, 20400), *small[TLSF_GROW_SCAN];
        REQUIRE(fit != NULL && mp_tlsf_alloc(t, 16) != NULL);
        for (unsigned i = 0; i < before; i++)
            REQUIRE((small[i] = mp_tlsf_alloc(t, 19970)) != NULL && mp_tlsf_alloc(t, 16) != NULL);
        CHECK_STATUS(mp_tlsf_free(t, fit), MP_OK); /* pushed first: last of the list */
        for (unsigned i = 0; i < before; i++)
            CHECK_STATUS(mp_tlsf_free(t, small[i]), MP_OK);
        mark = t->touched_end;
        uint8_t *r = mp_tlsf_alloc(t, 20000);
        if (before < TLSF_GROW_SCAN) {
            CHECK(r == fit && t->touched_end == mark);
        } else {
            CHECK(r != NULL && r >= mark);
        }
        CHECK(mp_tlsf_check(t) == 0);
        mp_tlsf_destroy(t);
    }

    /* A damaged block in the list ends the scan: the heap grows, and the
     * damage is still there for check() to report. */
    t = create_cached(1024 * KIB, 0);
    REQUIRE(t != NULL);
    x = mp_tlsf_alloc(t, 20000);
    REQUIRE(x != NULL && mp_tlsf_alloc(t, 16) != NULL);
    CHECK_STATUS(mp_tlsf_free(t, x), MP_OK);
    mark = t->touched_end;
    stale_write(x - 16, 4, 0x7F);
    p = mp_tlsf_alloc(t, 19990);
    CHECK(p != NULL && p >= mark);
    CHECK(mp_tlsf_check(t) > 0);
    mp_tlsf_destroy(t);
}

MP_TEST_MAIN(TEST_CASE(test_alloc_takes_back_the_most_recently_freed_block_of_its_class),
             TEST_CASE(test_the_fast_tables_match_the_list_mapping),
             TEST_CASE(test_the_fast_free_refuses_pointers_off_the_heap_grid),
             TEST_CASE(test_fast_and_full_paths_place_and_count_alike),
             TEST_CASE(test_a_cached_block_is_free_for_every_observer),
             TEST_CASE(test_cached_and_uncached_twins_agree_on_counters_and_free_bytes),
             TEST_CASE(test_allocation_that_needs_coalescing_flushes_the_cache_and_succeeds),
             TEST_CASE(test_realloc_that_needs_the_cached_next_block_flushes_the_cache),
             TEST_CASE(test_trim_flushes_and_reset_drops_the_cache),
             TEST_CASE(test_the_budget_bounds_the_cached_bytes),
             TEST_CASE(test_a_scribbled_cached_header_is_reported_not_followed),
             TEST_CASE(test_check_finds_broken_cache_bookkeeping),
             TEST_CASE(test_the_cache_is_flushed_before_the_heap_grows),
             TEST_CASE(test_room_below_the_mark_keeps_the_cache),
             TEST_CASE(test_trim_lowers_the_mark_to_the_top_free_block),
             TEST_CASE(test_a_damaged_cache_does_not_stop_the_heap_growing),
             TEST_CASE(test_check_finds_a_block_above_the_mark),
             TEST_CASE(test_growth_flushes_are_spaced_by_a_sixteenth_of_the_mark),
             TEST_CASE(test_growth_first_scans_the_requests_own_list))
