/*
 * test_tlsf_misuse.c - every misuse of the TLSF API returns its documented
 * status and changes nothing but the rejected/failed counters: double free,
 * foreign, interior and stale pointers, bad alignment, overflowing sizes,
 * NULL instances, bad configurations. Also writes through stale pointers
 * into freed blocks (headers, links, footers): they are detected and
 * reported as MP_ERR_CORRUPTION, never followed; valid headers copied to
 * another address, or left by another instance, never validate.
 */
#define _DEFAULT_SOURCE
#include "test_util.h"
#include "tlsf_internal.h" /* tlsf_hdr_store: headers with valid tags */

/* The coalescing core alone: an instance without the front cache (whose own
 * tests are in test_tlsf_cache.c), so every free merges at once. */
static MP_Tlsf *create_uncached(size_t region_bytes) {
    MP_TlsfConfig cfg = {region_bytes, 0, 0, NULL, 0, 0};
    return mp_tlsf_create_ex(&cfg);
}

static MP_HeapStats stats_of(const MP_Tlsf *t) {
    MP_HeapStats st;
    memset(&st, 0, sizeof st);
    CHECK_STATUS(mp_tlsf_stats(t, &st), MP_OK);
    return st;
}

/* True if `after` equals `before` except that the rejected and failed
 * counters grew by the given amounts. */
static int stats_unchanged_but(MP_HeapStats before, MP_HeapStats after, uint64_t rejected, uint64_t failed) {
    if (after.rejected_free_count != before.rejected_free_count + rejected) return 0;
    if (after.failed_alloc_count != before.failed_alloc_count + failed) return 0;
    after.rejected_free_count = before.rejected_free_count;
    after.failed_alloc_count = before.failed_alloc_count;
    return memcmp(&before, &after, sizeof before) == 0;
}

static void test_double_free_returns_double_free_and_changes_nothing(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100), *b = mp_tlsf_alloc(t, 100), *c = mp_tlsf_alloc(t, 100);
    REQUIRE(a && b && c);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_DOUBLE_FREE);
    CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_check(t) == 0);
    /* a absorbs the free b: a's start is still a block start, b's is not. */
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_DOUBLE_FREE);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_INVALID_ADDRESS);
    CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_foreign_pointers_are_invalid_addresses(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100);
    REQUIRE(a != NULL);
    int on_stack = 0;
    void *on_heap = malloc(64);
    uint8_t *base = mp_tlsf_base(t);
    void *foreign[] = {NULL, &on_stack, on_heap, base, base - 16, base + 64 * KIB, base + 64 * KIB - 16,
                       (void *)(uintptr_t)8};
    MP_HeapStats before = stats_of(t);
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        CHECK_STATUS(mp_tlsf_free(t, foreign[i]), MP_ERR_INVALID_ADDRESS);
        CHECK(mp_tlsf_usable_size(t, foreign[i]) == 0);
    }
    CHECK(stats_unchanged_but(before, stats_of(t), sizeof foreign / sizeof foreign[0], 0));
    CHECK(mp_tlsf_check(t) == 0);
    free(on_heap);
    mp_tlsf_destroy(t);
}

static void test_interior_pointers_are_invalid_addresses(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 1000);
    REQUIRE(a != NULL);
    memset(a, 0, 1000); /* zero user data must not look like a header */
    size_t offsets[] = {1, 8, 15, 16, 32, 48, 512, 992};
    MP_HeapStats before = stats_of(t);
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        CHECK_STATUS(mp_tlsf_free(t, a + offsets[i]), MP_ERR_INVALID_ADDRESS);
        CHECK(mp_tlsf_usable_size(t, a + offsets[i]) == 0);
    }
    CHECK(stats_unchanged_but(before, stats_of(t), sizeof offsets / sizeof offsets[0], 0));
    CHECK(mp_tlsf_usable_size(t, a) == 1008);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_free_after_reset_is_an_invalid_address(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100), *b = mp_tlsf_alloc(t, 100);
    REQUIRE(a && b);
    CHECK_STATUS(mp_tlsf_reset(t), MP_OK);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_INVALID_ADDRESS); /* its header predates the reset */
    CHECK(mp_tlsf_usable_size(t, b) == 0);
    /* a's start is the start of the one free block now. */
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_DOUBLE_FREE);
    CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_bad_alignment_returns_null_with_alignment_error(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    size_t bad[] = {0, 3, 24, 48, 1000, SIZE_MAX};
    MP_HeapStats before = stats_of(t);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_clear_last_error();
        CHECK(mp_tlsf_alloc_aligned(t, 16, bad[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_ALIGNMENT);
    }
    CHECK(stats_unchanged_but(before, stats_of(t), 0, sizeof bad / sizeof bad[0]));
    /* A power of two larger than the region can never be satisfied. */
    CHECK(mp_tlsf_alloc_aligned(t, 16, (size_t)1 << 40) == NULL);
    CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_overflowing_sizes_fail_cleanly(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100);
    REQUIRE(a != NULL);
    memset(a, 0x42, 100);
    struct {
        size_t size;
        MP_Status status;
    } cases[] = {{SIZE_MAX, MP_ERR_SIZE_OVERFLOW},      {SIZE_MAX - 1, MP_ERR_SIZE_OVERFLOW},
                 {SIZE_MAX - 15, MP_ERR_SIZE_OVERFLOW}, {SIZE_MAX - 16, MP_ERR_SIZE_OVERFLOW},
                 {SIZE_MAX / 2, MP_ERR_OUT_OF_MEMORY},  {64 * KIB, MP_ERR_OUT_OF_MEMORY}};
    size_t n = sizeof cases / sizeof cases[0];
    MP_HeapStats before = stats_of(t);
    for (size_t i = 0; i < n; i++) {
        CHECK(mp_tlsf_alloc(t, cases[i].size) == NULL);
        CHECK(mp_last_error().status == cases[i].status);
        CHECK(mp_tlsf_alloc_aligned(t, cases[i].size, 64) == NULL);
        CHECK(mp_last_error().status == cases[i].status);
        CHECK(mp_tlsf_calloc(t, cases[i].size) == NULL);
        CHECK(mp_last_error().status == cases[i].status);
        void *p = a;
        CHECK_STATUS(mp_tlsf_realloc(t, &p, cases[i].size), cases[i].status);
        CHECK(p == a);
        void *q = NULL;
        CHECK_STATUS(mp_tlsf_realloc(t, &q, cases[i].size), cases[i].status);
        CHECK(q == NULL);
    }
    CHECK(stats_unchanged_but(before, stats_of(t), 0, 5 * n));
    for (size_t i = 0; i < 100; i++) CHECK(a[i] == 0x42);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_of_freed_or_foreign_pointer_changes_nothing(void) {
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 100), *b = mp_tlsf_alloc(t, 100);
    REQUIRE(a && b);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    MP_HeapStats before = stats_of(t);
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 50), MP_ERR_DOUBLE_FREE);
    CHECK(p == a);
    int local;
    p = &local;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 50), MP_ERR_INVALID_ADDRESS);
    CHECK(p == &local);
    p = b + 16;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 50), MP_ERR_INVALID_ADDRESS);
    CHECK(p == b + 16);
    /* Each counts as a refused free, as in every family. */
    CHECK(stats_unchanged_but(before, stats_of(t), 3, 0));
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_null_instance_is_rejected_everywhere(void) {
    MP_HeapStats st;
    MP_FreeStats fs;
    void *p = NULL;
    size_t released = 7;
    CHECK(mp_tlsf_alloc(NULL, 16) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_tlsf_alloc_aligned(NULL, 16, 64) == NULL);
    CHECK(mp_tlsf_calloc(NULL, 16) == NULL);
    CHECK_STATUS(mp_tlsf_realloc(NULL, &p, 16), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_free(NULL, &p), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_tlsf_usable_size(NULL, &p) == 0);
    CHECK_STATUS(mp_tlsf_reset(NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_stats(NULL, &st), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_free_stats(NULL, &fs), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_walk(NULL, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK(mp_tlsf_check(NULL) == 1);
    CHECK(mp_tlsf_base(NULL) == NULL);
    CHECK_STATUS(mp_tlsf_trim(NULL, &released), MP_ERR_INVALID_ARGUMENT);
    mp_tlsf_destroy(NULL);
    MP_Tlsf *t = create_uncached(64 * KIB);
    REQUIRE(t != NULL);
    CHECK_STATUS(mp_tlsf_stats(t, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_free_stats(t, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_walk(t, NULL, NULL), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_realloc(t, NULL, 16), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    mp_tlsf_destroy(t);
}

static void test_bad_configs_are_rejected(void) {
    static _Alignas(16) uint8_t mem[8192];
    MP_TlsfConfig bad[] = {
        {0, 0, 0, NULL, 0, 0},
        {63, 0, 0, NULL, 0, 0},
        {64 * KIB, 6, 0, NULL, 0, 0},
        {64 * KIB, 0, 0x80, NULL, 0, 0},
#if SIZE_MAX > 0xFFFFFFFFu
        {(size_t)1 << 40, 0, 0, NULL, 0, 0}, /* more than the 64 GiB a header can describe */
#endif
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_clear_last_error();
        CHECK(mp_tlsf_create_ex(&bad[i]) == NULL);
        CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
        CHECK(mp_tlsf_footprint(&bad[i]) == 0);
        CHECK(mp_tlsf_create_in(mem, sizeof mem, &bad[i]) == NULL);
    }
    CHECK(mp_tlsf_create_ex(NULL) == NULL);
    CHECK(mp_tlsf_footprint(NULL) == 0);
    CHECK(mp_tlsf_create(10) == NULL);
    MP_TlsfConfig ok = {4096, 0, 0, NULL, 0, 0};
    CHECK(mp_tlsf_create_in(NULL, sizeof mem, &ok) == NULL);
    CHECK(mp_tlsf_create_in(mem, mp_tlsf_footprint(&ok) - 1, &ok) == NULL);
    CHECK(mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    /* The smallest region at the worst alignment still holds one block. */
    MP_TlsfConfig tiny = {64, 1, 0, mem + 1, 0, 0};
    MP_Tlsf *t = mp_tlsf_create_ex(&tiny);
    REQUIRE(t != NULL);
    CHECK(mp_tlsf_alloc(t, 16) != NULL);
    CHECK(mp_tlsf_alloc(t, 0) == NULL);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_scribbled_free_list_links_are_reported_as_corruption(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 200);
    void *guard = mp_tlsf_alloc(t, 200);
    REQUIRE(a && guard);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    mp_test_stale_write(a, 16, 0x5C); /* a's free-list links */
    MP_HeapStats before = stats_of(t);
    CHECK(mp_tlsf_alloc(t, 200) == NULL);
    CHECK(mp_last_error().status == MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 0, 1));
    CHECK(mp_tlsf_check(t) > 0);
    /* Other lists are unaffected, and nothing handed out overlaps a. */
    uint8_t *big = mp_tlsf_alloc(t, 5000);
    CHECK(big != NULL && (big >= a + 208 || big + 5000 <= a));
    /* Freeing the guard would merge with a: refused, the guard stays live. */
    before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, guard), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_usable_size(t, guard) == 208);
    mp_tlsf_destroy(t);
}

/* A 1024-byte block (1008 usable) followed by a used guard, freed and then
 * cut by a 100-byte allocation at the same address: returns that address,
 * the stale pointer of the old block. Its range now holds the 128-byte block
 * and the header (at +112) of the free rest. */
static uint8_t *freed_block_cut_in_two(MP_Tlsf *t) {
    uint8_t *old = mp_tlsf_alloc(t, 1008);
    void *guard = mp_tlsf_alloc(t, 16);
    if (old == NULL || guard == NULL || mp_tlsf_free(t, old) != MP_OK) return NULL;
    return mp_tlsf_alloc(t, 100) == old ? old : NULL;
}

static void test_scribbled_header_of_a_free_block_is_reported_as_corruption(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *small = freed_block_cut_in_two(t);
    REQUIRE(small != NULL);
    mp_test_stale_write(small + 112, 4, 0x01); /* the size field of the free rest */
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, small), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_usable_size(t, small) == 112);
    MP_FreeStats fs;
    CHECK_STATUS(mp_tlsf_free_stats(t, &fs), MP_ERR_CORRUPTION);
    CHECK(mp_tlsf_check(t) > 0);
    size_t released;
    CHECK_STATUS(mp_tlsf_trim(t, &released), MP_ERR_CORRUPTION);
    mp_tlsf_destroy(t);
}

static int count_blocks(void *ptr, size_t size, int is_used, void *ctx) {
    (void)ptr, (void)size, (void)is_used;
    ++*(size_t *)ctx;
    return 0;
}

static void test_scribbled_header_of_a_live_block_makes_it_unfreeable(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *x = freed_block_cut_in_two(t);
    REQUIRE(x != NULL);
    uint8_t *y = mp_tlsf_alloc(t, 100); /* takes the free rest: y's header is at x + 112 */
    REQUIRE(y == x + 128);
    mp_test_stale_write(x + 112 + 8, 1, 0x77);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, y), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_tlsf_free(t, x), MP_ERR_CORRUPTION); /* its successor y fails validation */
    CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    size_t n = 0;
    CHECK_STATUS(mp_tlsf_walk(t, count_blocks, &n), MP_ERR_CORRUPTION);
    CHECK(n == 1);
    CHECK(mp_tlsf_check(t) > 0);
    mp_tlsf_destroy(t);
}

/* Growing a block whose used successor's header was overwritten: reported
 * as corruption with nothing changed, whether the heap has room to move the
 * block (the move is undone) or not (no allocation failure is counted). */
static void test_realloc_next_to_a_scribbled_used_header_is_corruption(void) {
    for (int full = 0; full <= 1; full++) {
        MP_Tlsf *t = create_uncached(MIB);
        REQUIRE(t != NULL);
        uint8_t *x = mp_tlsf_alloc(t, 100);
        uint8_t *y = mp_tlsf_alloc(t, 100);
        REQUIRE(x && y && y == x + 128);
        while (full && mp_tlsf_alloc(t, 4096) != NULL) {
        }
        while (full && mp_tlsf_alloc(t, 16) != NULL) {
        }
        mp_test_fill_pattern(x, 100, 5);
        mp_test_stale_write(y - 8, 1, 0x77); /* y's tag */
        MP_HeapStats before = stats_of(t);
        void *p = x;
        CHECK_STATUS(mp_tlsf_realloc(t, &p, 3000), MP_ERR_CORRUPTION);
        CHECK(mp_last_error().status == MP_ERR_CORRUPTION);
        CHECK(p == x);
        CHECK(mp_test_pattern_intact(x, 100, 5));
        CHECK(stats_unchanged_but(before, stats_of(t), 0, 0));
        CHECK(mp_tlsf_usable_size(t, x) == 112);
        mp_tlsf_destroy(t);
    }
}

/* A free block keeps its size in a footer in its last 8 bytes, read when the
 * block after it is freed; a scribbled footer must not redirect the merge. */
static void test_scribbled_footer_is_reported_when_the_next_block_is_freed(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 200), *b = mp_tlsf_alloc(t, 200);
    void *guard = mp_tlsf_alloc(t, 16);
    REQUIRE(a && b && guard);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    mp_test_stale_write(a + 208 - 8, 8, 0x33); /* a's footer */
    CHECK(mp_tlsf_check(t) > 0);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_usable_size(t, b) == 208);
    /* Taking a back (exact fit) drops the footer: b can be freed again. */
    CHECK(mp_tlsf_alloc(t, 200) == a);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Two free blocks of one list, each followed by a used guard: the list is
 * second (head) -> first. Returns the first one's stale pointer. */
static uint8_t *two_listed_blocks(MP_Tlsf *t, uint8_t **second, void **guard_after_first) {
    uint8_t *first = mp_tlsf_alloc(t, 300);
    *guard_after_first = mp_tlsf_alloc(t, 16);
    *second = mp_tlsf_alloc(t, 300);
    void *guard2 = mp_tlsf_alloc(t, 16);
    if (!first || !*guard_after_first || !*second || !guard2) return NULL;
    if (mp_tlsf_free(t, first) != MP_OK || mp_tlsf_free(t, *second) != MP_OK) return NULL;
    return first;
}

static void test_scribbled_previous_link_is_reported_when_its_block_is_merged(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *second;
    void *guard;
    uint8_t *first = two_listed_blocks(t, &second, &guard);
    REQUIRE(first != NULL);
    CHECK(mp_tlsf_check(t) == 0);
    mp_test_stale_write(first + 4, 4, 0xA7); /* the previous link of a block behind the head */
    CHECK(mp_tlsf_check(t) > 0);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, guard), MP_ERR_CORRUPTION); /* would unlink `first` */
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_usable_size(t, guard) == 16);
    mp_tlsf_destroy(t);
}

static void test_scribbled_next_link_is_reported_by_the_allocation_taking_its_block(void) {
    MP_Tlsf *t = create_uncached(MIB);
    REQUIRE(t != NULL);
    uint8_t *second;
    void *guard;
    uint8_t *first = two_listed_blocks(t, &second, &guard);
    REQUIRE(first != NULL);
    mp_test_stale_write(second, 4, 0x11); /* the head's next link: covered by its header tag */
    CHECK(mp_tlsf_check(t) > 0);
    MP_HeapStats before = stats_of(t);
    CHECK(mp_tlsf_alloc(t, 300) == NULL);
    CHECK(mp_last_error().status == MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 0, 1));
    /* Other lists still serve, and nothing handed out overlaps the two. */
    uint8_t *big = mp_tlsf_alloc(t, 5000);
    CHECK(big != NULL && big > second + 300);
    mp_tlsf_destroy(t);
}

/* A TLSF over the first of two mapped pages, the second inaccessible: any
 * read past the region faults. NULL if that cannot be set up; unmap
 * *map (2 * *page bytes) after destroying the instance. */
static MP_Tlsf *create_before_a_guard_page(uint8_t **map, size_t *page) {
    *page = (size_t)sysconf(_SC_PAGESIZE);
    *map = mmap(NULL, 2 * *page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED || mprotect(*map + *page, *page, PROT_NONE) != 0) return NULL;
    MP_TlsfConfig cfg = {*page, 0, 0, *map, 0, 0};
    return mp_tlsf_create_ex(&cfg);
}

/* The header that ends the heap lies outside every block, but an overflow
 * past the last block can still hit it: it must be reported, and nothing
 * may be read past the region (here an inaccessible page follows it). */
static void test_scribbled_sentinel_is_reported_without_reading_past_the_region(void) {
    uint8_t *map;
    size_t page;
    MP_Tlsf *t = create_before_a_guard_page(&map, &page);
    REQUIRE(t != NULL);
    uint8_t *p = mp_tlsf_alloc(t, page - 32); /* the whole heap: its successor is the sentinel */
    REQUIRE(p != NULL && p + page - 32 == map + page - 16);
    mp_test_stale_write(map + page - 16, 16, 0xFF); /* the sentinel: every flag set, free included */
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, p), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_check(t) > 0);
    mp_tlsf_destroy(t);
    munmap(map, 2 * page);
}

/* Copies the `n` bytes at `src` to `dst`, both possibly poisoned metadata,
 * leaving both poisoned as the allocator keeps them. */
static void copy_metadata(uint8_t *dst, const uint8_t *src, size_t n) {
    uint8_t tmp[16];
    MP_UNPOISON(src, n);
    memcpy(tmp, src, n);
    MP_POISON(src, n);
    mp_test_scribble(dst, n, 0);
    memcpy(dst, tmp, n);
    MP_POISON(dst, n);
}

/* Headers copied whole, as an overrun or a forger would copy them: a tag
 * covers the header's own address and the instance's key, so a valid
 * header of one block never validates at another address, nor one of
 * another instance (another key) at the same address. */
static void test_headers_copied_to_another_address_or_instance_never_validate(void) {
    static _Alignas(64) uint8_t memory[64 * 1024];
    MP_TlsfConfig cfg = {sizeof memory, 0, 0, memory, 0, 0};
    MP_Tlsf *old = mp_tlsf_create_ex(&cfg);
    REQUIRE(old != NULL);
    uint8_t *old_b = NULL;
    uint8_t old_header[16];
    REQUIRE(mp_tlsf_alloc(old, 200) != NULL && (old_b = mp_tlsf_alloc(old, 200)) != NULL);
    MP_UNPOISON(old_b - 16, 16);
    memcpy(old_header, old_b - 16, 16);
    mp_tlsf_destroy(old);

    MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 200), *b = mp_tlsf_alloc(t, 200), *c = mp_tlsf_alloc(t, 200);
    REQUIRE(a != NULL && b == old_b && c != NULL && mp_tlsf_alloc(t, 16) != NULL);
    /* a's header inside c: c + 64 is not a block start. */
    copy_metadata(c + 48, a - 16, 16);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, c + 64), MP_ERR_INVALID_ADDRESS);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    /* a's header over b's (same size and flags; only the address differs). */
    copy_metadata(b - 16, a - 16, 16);
    before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_CORRUPTION); /* its successor b */
    CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    /* The old instance's header of b, at b's own address. */
    MP_UNPOISON(b - 16, 16);
    memcpy(b - 16, old_header, 16);
    MP_POISON(b - 16, 16);
    before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_INVALID_ADDRESS);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    CHECK(mp_tlsf_usable_size(t, a) == 208 && mp_tlsf_usable_size(t, c) == 208);
    CHECK_STATUS(mp_tlsf_free(t, c), MP_OK); /* c's own header is intact */
    mp_tlsf_destroy(t);
}

/* The tags stop accidental and blind writes, not a forger who reads a
 * header (one header with an odd granule count gives the key away: the tag
 * is the header word times the key). Headers with valid tags, as such a
 * forger writes them, must still never take TLSF outside its heap: sizes
 * past the sentinel and links out of range are refused, here in front of an
 * inaccessible page. */
static void test_validly_tagged_forged_headers_never_reach_outside_the_heap(void) {
    uint8_t *map;
    size_t page;
    MP_Tlsf *t = create_before_a_guard_page(&map, &page);
    REQUIRE(t != NULL);
    const tlsf_env *e = &t->env;
    uint8_t *a = mp_tlsf_alloc(t, 200), *b = mp_tlsf_alloc(t, 1000);
    REQUIRE(a != NULL && b != NULL && mp_tlsf_alloc(t, 16) != NULL);
    uint8_t *inner = b + 256; /* a forged block start inside b */
    size_t to_sentinel_g = (size_t)(e->sentinel - (inner - TLSF_HDR_BYTES)) >> TLSF_GRANULE_LOG2;
    uint64_t sizes_g[] = {TLSF_W_SIZE_MASK, to_sentinel_g + 1, 1, 0};
    for (size_t i = 0; i < sizeof sizes_g / sizeof sizes_g[0]; i++) {
        mp_test_scribble(inner - TLSF_HDR_BYTES, TLSF_HDR_BYTES, 0);
        tlsf_hdr_store(e, inner - TLSF_HDR_BYTES, sizes_g[i]);
        MP_HeapStats before = stats_of(t);
        CHECK_STATUS(mp_tlsf_free(t, inner), MP_ERR_INVALID_ADDRESS);
        void *moved = inner;
        CHECK_STATUS(mp_tlsf_realloc(t, &moved, 5000), MP_ERR_INVALID_ADDRESS);
        CHECK(moved == inner && mp_tlsf_usable_size(t, inner) == 0);
        CHECK(stats_unchanged_but(before, stats_of(t), 2, 0));
    }
    /* b's own header made free, with a next link past every block: a's
     * free would merge with it, and is refused. */
    tlsf_free_hdr_store(e, b - TLSF_HDR_BYTES, tlsf_granules(1024) | TLSF_W_FREE, UINT32_MAX);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 1, 0));
    CHECK(mp_tlsf_check(t) > 0);
    mp_tlsf_destroy(t);
    munmap(map, 2 * page);
}

MP_TEST_MAIN(TEST_CASE(test_double_free_returns_double_free_and_changes_nothing),
             TEST_CASE(test_foreign_pointers_are_invalid_addresses),
             TEST_CASE(test_interior_pointers_are_invalid_addresses),
             TEST_CASE(test_free_after_reset_is_an_invalid_address),
             TEST_CASE(test_bad_alignment_returns_null_with_alignment_error),
             TEST_CASE(test_overflowing_sizes_fail_cleanly),
             TEST_CASE(test_realloc_of_freed_or_foreign_pointer_changes_nothing),
             TEST_CASE(test_null_instance_is_rejected_everywhere), TEST_CASE(test_bad_configs_are_rejected),
             TEST_CASE(test_scribbled_free_list_links_are_reported_as_corruption),
             TEST_CASE(test_scribbled_header_of_a_free_block_is_reported_as_corruption),
             TEST_CASE(test_scribbled_header_of_a_live_block_makes_it_unfreeable),
             TEST_CASE(test_realloc_next_to_a_scribbled_used_header_is_corruption),
             TEST_CASE(test_scribbled_footer_is_reported_when_the_next_block_is_freed),
             TEST_CASE(test_scribbled_previous_link_is_reported_when_its_block_is_merged),
             TEST_CASE(test_scribbled_next_link_is_reported_by_the_allocation_taking_its_block),
             TEST_CASE(test_scribbled_sentinel_is_reported_without_reading_past_the_region),
             TEST_CASE(test_headers_copied_to_another_address_or_instance_never_validate),
             TEST_CASE(test_validly_tagged_forged_headers_never_reach_outside_the_heap))
