/*
 * test_tlsf_small.c - TLSF's small-object spans (tlsf_small.c,
 * MP_TlsfConfig.small_bytes): the accepted range of small_bytes, the slot
 * classes and which requests they serve, span layout, counters, refused
 * frees and reallocs that change nothing, realloc within and across
 * classes, calloc of a dirty slot, emptied spans parked for any class and
 * given back by trim or by an allocation finding no room, regions too small
 * for a span, walk and free_stats of spans, reset, a thread-safe twin, two
 * threads, caller memory, and a damaged span header caught when the span
 * goes back to TLSF.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>

#include "test_util.h"
#include "tlsf_internal.h" /* TLSF_META_OPEN: reading a span's poisoned header */

#define SPAN MP_TLSF_SPAN_BYTES
#define SLOTS_16 ((SPAN - 16) / 16) /* 1023 slots of 16 bytes in a span */

static MP_Tlsf *create_small(size_t region_bytes, size_t small_bytes) {
    MP_TlsfConfig cfg = {region_bytes, 0, 0, NULL, 0, small_bytes};
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

/* True if `after` equals `before` but for the rejected and failed counters
 * grown by the given amounts. */
static int stats_unchanged_but(MP_HeapStats before, MP_HeapStats after, uint64_t rejected, uint64_t failed) {
    if (after.rejected_free_count != before.rejected_free_count + rejected) return 0;
    if (after.failed_alloc_count != before.failed_alloc_count + failed) return 0;
    after.rejected_free_count = before.rejected_free_count;
    after.failed_alloc_count = before.failed_alloc_count;
    return memcmp(&before, &after, sizeof before) == 0;
}

/* The slot size serving a request of 1 .. 512 bytes, by the spec. */
static size_t slot_for(size_t req) { return req <= 256 ? (req + 15) / 16 * 16 : (req + 31) / 32 * 32; }
/* Slot size of class c (0 .. 23). */
static size_t class_bytes(unsigned c) { return c < 16 ? (c + 1u) * 16u : 256u + (c - 15u) * 32u; }

static int in_span_at(const void *p, const void *span) {
    return (const uint8_t *)p >= (const uint8_t *)span && (const uint8_t *)p < (const uint8_t *)span + SPAN;
}

static void test_config_accepts_small_bytes_up_to_512(void) {
    MP_TlsfConfig cfg = {256 * KIB, 0, 0, NULL, 0, 0};
    size_t off = mp_tlsf_footprint(&cfg);
    CHECK(off != 0);
    cfg.small_bytes = 512;
    CHECK(mp_tlsf_footprint(&cfg) > off);
    cfg.small_bytes = 1;
    CHECK(mp_tlsf_footprint(&cfg) > off);
    size_t bad[] = {MP_TLSF_SMALL_MAX_BYTES + 1, 4096, SIZE_MAX};
    uint8_t *mem = malloc(off + 64 * KIB);
    REQUIRE(mem != NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.small_bytes = bad[i];
        CHECK(mp_tlsf_footprint(&cfg) == 0);
        CHECK(mp_tlsf_create_ex(&cfg) == NULL && mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
        CHECK(mp_tlsf_create_in(mem, off + 64 * KIB, &cfg) == NULL &&
              mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    }
    free(mem);
    /* 0: off, every request an ordinary block (the heap stays one free block
     * after allocations from its front); 1: requests of 1 byte only. */
    for (size_t small = 0; small <= 1; small++) {
        MP_Tlsf *t = create_small(256 * KIB, small);
        REQUIRE(t != NULL);
        uint8_t *p = mp_tlsf_alloc(t, 1);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p % SPAN == 0) == (small == 1));
        size_t blocks = free_stats_of(t).free_block_count; /* a span: its 1022 free slots too */
        CHECK(small == 1 ? blocks >= SLOTS_16 && blocks <= SLOTS_16 + 1 : blocks == 1);
        CHECK(mp_tlsf_usable_size(t, p) >= 16 && stats_of(t).bytes_requested == (small == 1 ? 16u : 1u));
        MP_HeapStats before = stats_of(t);
        uint8_t *q = mp_tlsf_alloc(t, 2); /* never small */
        REQUIRE(q != NULL);
        CHECK(stats_of(t).bytes_requested == before.bytes_requested + 2);
        CHECK(!in_span_at(q, p) || small == 0);
        CHECK(mp_tlsf_check(t) == 0);
        mp_tlsf_destroy(t);
    }
}

static void test_requests_map_to_their_slot_class(void) {
    MP_Tlsf *t = create_small(MIB, 512);
    REQUIRE(t != NULL);
    for (size_t req = 1; req <= 512; req++) {
        MP_HeapStats before = stats_of(t);
        uint8_t *p = mp_tlsf_alloc(t, req);
        REQUIRE(p != NULL);
        size_t slot = mp_tlsf_usable_size(t, p);
        CHECK(slot == slot_for(req) && (uintptr_t)p % 16 == 0);
        MP_HeapStats after = stats_of(t);
        CHECK(after.bytes_in_use == before.bytes_in_use + slot);
        CHECK(after.bytes_requested == before.bytes_requested + slot);
        CHECK(after.alloc_count == before.alloc_count + 1 && after.live_block_count == 1);
        memset(p, 0xA5, slot);
        CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
        CHECK(stats_of(t).free_count == before.free_count + 1 && stats_of(t).bytes_in_use == 0);
    }
    CHECK(slot_for(1) == 16 && slot_for(17) == 32 && slot_for(257) == 288 && slot_for(500) == 512);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
    /* small_bytes 100: 100 is served by a 112-byte slot, 101 by a block. */
    t = create_small(MIB, 100);
    REQUIRE(t != NULL);
    void *a = mp_tlsf_alloc(t, 100);
    CHECK(a != NULL && mp_tlsf_usable_size(t, a) == 112 && stats_of(t).bytes_requested == 112);
    void *b = mp_tlsf_alloc(t, 101);
    CHECK(b != NULL && mp_tlsf_usable_size(t, b) >= 101 && stats_of(t).bytes_requested == 112 + 101);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Requests over small_bytes, of 0 bytes or aligned over 16 are blocks: the
 * exact request counts, and each adds at most one free block (an alignment
 * gap), where a span would add its free slots. */
static void test_other_requests_get_ordinary_blocks(void) {
    MP_Tlsf *t = create_small(MIB, 512);
    REQUIRE(t != NULL);
    struct {
        size_t size, align;
    } reqs[] = {{513, 0}, {0, 0}, {20, 32}, {16, 64}, {512, 4096}, {4000, 0}};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        MP_HeapStats before = stats_of(t);
        size_t blocks = free_stats_of(t).free_block_count;
        uint8_t *p = reqs[i].align ? mp_tlsf_alloc_aligned(t, reqs[i].size, reqs[i].align)
                                   : mp_tlsf_alloc(t, reqs[i].size);
        REQUIRE(p != NULL);
        CHECK(mp_tlsf_usable_size(t, p) >= reqs[i].size);
        CHECK(reqs[i].align == 0 || (uintptr_t)p % reqs[i].align == 0);
        CHECK(stats_of(t).bytes_requested == before.bytes_requested + reqs[i].size);
        CHECK(free_stats_of(t).free_block_count <= blocks + 1);
        CHECK(mp_tlsf_check(t) == 0);
    }
    /* Alignment 16 or less: a slot. */
    MP_HeapStats before = stats_of(t);
    uint8_t *s = mp_tlsf_alloc_aligned(t, 20, 16), *s8 = mp_tlsf_alloc_aligned(t, 20, 8);
    REQUIRE(s != NULL && s8 != NULL);
    CHECK((uintptr_t)s % SPAN == 0 && s8 == s + 32 && mp_tlsf_usable_size(t, s) == 32);
    CHECK(stats_of(t).bytes_requested == before.bytes_requested + 64);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* 1023 objects of 16 bytes fill one span from its 16 KiB-aligned start,
 * 16 bytes apart; the 1024th takes another span. */
static void test_one_class_fills_one_aligned_span_in_order(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    uint8_t **q = malloc((SLOTS_16 + 1) * sizeof *q);
    REQUIRE(q != NULL);
    for (size_t i = 0; i <= SLOTS_16; i++) q[i] = mp_tlsf_alloc(t, 16);
    CHECK(q[0] != NULL && (uintptr_t)q[0] % SPAN == 0);
    for (size_t i = 1; i < SLOTS_16; i++) CHECK(q[i] == q[0] + 16 * i);
    CHECK(q[SLOTS_16] != NULL && (uintptr_t)q[SLOTS_16] % SPAN == 0 && !in_span_at(q[SLOTS_16], q[0]));
    CHECK(mp_tlsf_check(t) == 0);
    for (size_t i = 0; i <= SLOTS_16; i++) CHECK_STATUS(mp_tlsf_free(t, q[i]), MP_OK);
    CHECK(mp_tlsf_check(t) == 0);
    free(q);
    mp_tlsf_destroy(t);
}

static void test_misuse_of_small_objects_changes_nothing(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 17), *b = mp_tlsf_alloc(t, 17);
    REQUIRE(a != NULL && b == a + 32);
    CHECK_STATUS(mp_tlsf_free(t, b), MP_OK);
    MP_HeapStats before = stats_of(t);
    MP_FreeStats fbefore = free_stats_of(t);
    uint8_t *bad[] = {a + 8, a + 16, a + 31, a + SPAN - 32}; /* a + 16352: past the 511th slot */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_STATUS(mp_tlsf_free(t, bad[i]), MP_ERR_INVALID_ADDRESS);
        CHECK(mp_tlsf_usable_size(t, bad[i]) == 0);
        void *r = bad[i];
        CHECK_STATUS(mp_tlsf_realloc(t, &r, 40), MP_ERR_INVALID_ADDRESS);
        CHECK(r == bad[i]);
    }
    CHECK_STATUS(mp_tlsf_free(t, b), MP_ERR_DOUBLE_FREE);
    CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
    CHECK(mp_tlsf_usable_size(t, b) == 0);
    void *r = b;
    CHECK(mp_tlsf_realloc(t, &r, 40) != MP_OK && r == b);
    uint64_t refused = 2 * (sizeof bad / sizeof bad[0]) + 2;
    CHECK(stats_unchanged_but(before, stats_of(t), refused, 0));
    MP_FreeStats fafter = free_stats_of(t);
    CHECK(fafter.free_bytes == fbefore.free_bytes && fafter.free_block_count == fbefore.free_block_count);
    CHECK(mp_tlsf_check(t) == 0);
    /* a is intact and still a's. */
    memset(a, 0x3C, 32);
    CHECK(mp_tlsf_usable_size(t, a) == 32);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, a), MP_ERR_DOUBLE_FREE); /* the kept span's slot */
    CHECK(stats_of(t).live_block_count == 0 && mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_realloc_stays_in_its_class_and_moves_across(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    uint8_t *a = mp_tlsf_alloc(t, 17);
    REQUIRE(a != NULL);
    mp_test_fill_pattern(a, 32, 1);
    MP_HeapStats s0 = stats_of(t);
    void *p = a;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 30), MP_OK); /* same class: in place */
    CHECK(p == a);
    MP_HeapStats s1 = stats_of(t);
    CHECK(s1.realloc_count == s0.realloc_count + 1);
    s1.realloc_count = s0.realloc_count;
    CHECK(memcmp(&s0, &s1, sizeof s0) == 0);
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 100), MP_OK); /* a bigger class */
    CHECK(p != a && mp_tlsf_usable_size(t, p) == 112 && mp_test_pattern_intact(p, 32, 1));
    CHECK(mp_tlsf_usable_size(t, a) == 0 && mp_tlsf_check(t) == 0);
    MP_HeapStats s2 = stats_of(t);
    CHECK(s2.alloc_count == s0.alloc_count && s2.free_count == s0.free_count);
    CHECK(s2.bytes_in_use == 112 && s2.bytes_requested == 112 && s2.live_block_count == 1);
    mp_test_fill_pattern(p, 112, 2);
    uint8_t *small = p;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 600), MP_OK); /* out of the spans: a block */
    CHECK(p != small && mp_tlsf_usable_size(t, p) >= 600 && mp_test_pattern_intact(p, 112, 2));
    MP_HeapStats s3 = stats_of(t);
    CHECK(s3.alloc_count == s0.alloc_count && s3.free_count == s0.free_count);
    CHECK(s3.bytes_requested == 600 && s3.bytes_in_use == mp_tlsf_usable_size(t, p));
    CHECK(s3.realloc_count == s0.realloc_count + 3 && mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
    /* Shrinking to a smaller class moves. */
    uint8_t *b = mp_tlsf_alloc(t, 200);
    REQUIRE(b != NULL && mp_tlsf_usable_size(t, b) == 208);
    mp_test_fill_pattern(b, 208, 3);
    p = b;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 20), MP_OK);
    CHECK(p != b && mp_tlsf_usable_size(t, p) == 32 && mp_test_pattern_intact(p, 20, 3));
    CHECK(mp_tlsf_usable_size(t, b) == 0 && mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
    /* realloc(NULL) allocates a slot. */
    MP_HeapStats s4 = stats_of(t);
    p = NULL;
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 40), MP_OK);
    CHECK(p != NULL && mp_tlsf_usable_size(t, p) == 48 &&
          stats_of(t).live_block_count == s4.live_block_count + 1);
    CHECK(stats_of(t).realloc_count == s4.realloc_count + 1);
    CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
    CHECK(stats_of(t).live_block_count == 0 && mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_calloc_zeroes_a_dirty_slot(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    size_t sizes[] = {1, 40, 300, 512};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *keep = mp_tlsf_alloc(t, sizes[i]), *p = mp_tlsf_alloc(t, sizes[i]);
        REQUIRE(keep != NULL && p != NULL);
        size_t n = mp_tlsf_usable_size(t, p);
        memset(p, 0xEE, n);
        CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
        uint8_t *z = mp_tlsf_calloc(t, sizes[i]);
        CHECK(z == p && mp_tlsf_usable_size(t, z) == slot_for(sizes[i]));
        for (size_t k = 0; z != NULL && k < n; k++) CHECK(z[k] == 0);
        CHECK_STATUS(mp_tlsf_free(t, z), MP_OK);
        CHECK_STATUS(mp_tlsf_free(t, keep), MP_OK);
        CHECK(mp_tlsf_check(t) == 0);
    }
    mp_tlsf_destroy(t);
}

/* 4 spans of 16-byte slots, all freed: the last one stays with its class
 * (its only span with room), the 3 others are parked (kept empty for any
 * class), so free_stats sees the free slots of 4 spans. Another class
 * takes a parked span; trim, or an allocation finding no room, gives every
 * empty span back to TLSF: the heap is one free block again. */
static void test_emptied_spans_are_parked_until_given_back(void) {
    for (int run = 0; run < 4; run++) {
        MP_TlsfConfig cfg = {256 * KIB, 0, 0, NULL, run & 1 ? MP_TLSF_CACHE_DEFAULT_BYTES : 0, 512};
        MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
        REQUIRE(t != NULL);
        MP_FreeStats fresh = free_stats_of(t);
        size_t n = 3 * SLOTS_16 + 1;
        uint8_t **p = malloc(n * sizeof *p);
        REQUIRE(p != NULL);
        for (size_t i = 0; i < n; i++) {
            p[i] = mp_tlsf_alloc(t, 16);
            CHECK(p[i] != NULL && (i % SLOTS_16 != 0 || (uintptr_t)p[i] % SPAN == 0));
        }
        CHECK(mp_tlsf_check(t) == 0);
        for (size_t i = 0; i < n; i++) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
        MP_HeapStats st = stats_of(t);
        CHECK(st.live_block_count == 0 && st.bytes_in_use == 0 && st.free_count == n && st.alloc_count == n);
        MP_FreeStats fs = free_stats_of(t);
        CHECK(fs.free_block_count >= 4 * SLOTS_16 && fs.free_block_count <= 4 * SLOTS_16 + 2);
        CHECK(fs.free_bytes < fresh.free_bytes && mp_tlsf_check(t) == 0);
        uint8_t *q48 = mp_tlsf_alloc(t, 48), *q16 = mp_tlsf_alloc(t, 16);
        CHECK(q48 != NULL && (q48 == p[0] || q48 == p[SLOTS_16] || q48 == p[2 * SLOTS_16])); /* parked */
        CHECK(q16 == p[3 * SLOTS_16]); /* the span its class kept */
        CHECK(mp_tlsf_usable_size(t, q48) == 48 && mp_tlsf_check(t) == 0);
        CHECK_STATUS(mp_tlsf_free(t, q48), MP_OK);
        CHECK_STATUS(mp_tlsf_free(t, q16), MP_OK);
        if (run < 2) {
            CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
        } else {
            void *big = mp_tlsf_alloc(t, fresh.largest_free_block_bytes);
            CHECK(big != NULL && stats_of(t).failed_alloc_count == 0 && mp_tlsf_check(t) == 0);
            CHECK_STATUS(mp_tlsf_free(t, big), MP_OK);
        }
        fs = free_stats_of(t);
        CHECK(fs.free_block_count == 1 && fs.largest_free_block_bytes == fresh.largest_free_block_bytes);
        CHECK(fs.free_bytes == fresh.free_bytes && mp_tlsf_check(t) == 0);
        free(p);
        mp_tlsf_destroy(t);
    }
}

static void test_regions_too_small_for_spans_fall_back_to_blocks(void) {
    MP_Tlsf *t = create_small(8 * KIB, 512);
    REQUIRE(t != NULL);
    size_t sizes[] = {1, 16, 17, 100, 300, 512};
    uint8_t *p[6];
    for (size_t i = 0; i < 6; i++) {
        MP_HeapStats before = stats_of(t);
        REQUIRE((p[i] = mp_tlsf_alloc(t, sizes[i])) != NULL);
        CHECK((uintptr_t)p[i] % 16 == 0 && mp_tlsf_usable_size(t, p[i]) >= sizes[i]);
        CHECK(stats_of(t).bytes_requested == before.bytes_requested + sizes[i]); /* a block's count */
        memset(p[i], (int)i, sizes[i]);
        CHECK(mp_tlsf_check(t) == 0);
    }
    for (size_t i = 0; i < 6; i++) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    CHECK(free_stats_of(t).free_block_count == 1 && mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);

    /* 64 KiB filled with small objects until allocation fails. */
    t = create_small(64 * KIB, 512);
    REQUIRE(t != NULL);
    MP_FreeStats fresh = free_stats_of(t);
    enum { MAX = 4096 };
    uint8_t **obj = malloc(MAX * sizeof *obj);
    size_t *len = malloc(MAX * sizeof *len), n = 0;
    REQUIRE(obj != NULL && len != NULL);
    uint64_t rng = 42;
    int misses = 0;
    while (n < MAX && misses < 300) {
        size_t req = 1 + (size_t)(mp_test_rand(&rng) % 512);
        uint8_t *q = mp_tlsf_alloc(t, req);
        if (q == NULL) {
            CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
            misses++;
            continue;
        }
        mp_test_fill_pattern(q, req, n);
        obj[n] = q;
        len[n++] = req;
    }
    CHECK(misses == 300 && n > 64);
    CHECK(stats_of(t).failed_alloc_count == (uint64_t)misses && mp_tlsf_check(t) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(mp_test_pattern_intact(obj[i], len[i], i));
        CHECK_STATUS(mp_tlsf_free(t, obj[i]), MP_OK);
    }
    CHECK(stats_of(t).live_block_count == 0 && mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1 && fs.largest_free_block_bytes == fresh.largest_free_block_bytes);
    CHECK(mp_tlsf_check(t) == 0);
    free(obj);
    free(len);
    mp_tlsf_destroy(t);
}

/* Empty spans kept for their classes fill the heap; an allocation of the
 * whole heap succeeds only by releasing them. */
static void test_allocation_without_room_releases_kept_empty_spans(void) {
    MP_Tlsf *t = create_small(128 * KIB, 512);
    REQUIRE(t != NULL);
    MP_FreeStats fresh = free_stats_of(t);
    for (unsigned c = 0; c < 24; c++) {
        void *p = mp_tlsf_alloc(t, class_bytes(c));
        REQUIRE(p != NULL);
        CHECK(mp_tlsf_usable_size(t, p) >= class_bytes(c));
        CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
    }
    CHECK(mp_tlsf_check(t) == 0);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.largest_free_block_bytes < fresh.largest_free_block_bytes); /* kept spans in the way */
    void *big = mp_tlsf_alloc(t, fresh.largest_free_block_bytes);
    CHECK(big != NULL);
    CHECK(stats_of(t).failed_alloc_count == 0 && mp_tlsf_check(t) == 0);
    CHECK(mp_tlsf_alloc(t, 16) == NULL && mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(mp_tlsf_free(t, big), MP_OK);
    fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1 && fs.largest_free_block_bytes == fresh.largest_free_block_bytes);
    void *s = mp_tlsf_alloc(t, 16); /* spans again */
    CHECK(s != NULL && (uintptr_t)s % SPAN == 0 && mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

typedef struct walk_log {
    struct {
        uint8_t *ptr;
        size_t size;
        int used;
    } e[4096];
    size_t n;
} walk_log;

static int log_block(void *ptr, size_t size, int is_used, void *ctx) {
    walk_log *w = ctx;
    if (w->n < 4096) {
        w->e[w->n].ptr = ptr;
        w->e[w->n].size = size;
        w->e[w->n].used = is_used;
    }
    w->n++;
    return 0;
}

/* A span of class 32 holding 3 objects: walk reports its 511 slots in
 * address order, used exactly for the 3; free_stats counts the free slots
 * as free blocks of 32 bytes. */
static void test_walk_and_free_stats_report_a_span_as_its_slots(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    uint8_t *p[5];
    for (int i = 0; i < 5; i++) REQUIRE((p[i] = mp_tlsf_alloc(t, 32)) != NULL);
    CHECK_STATUS(mp_tlsf_free(t, p[1]), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, p[3]), MP_OK);
    uint8_t *span = p[0];
    CHECK((uintptr_t)span % SPAN == 0);
    walk_log *w = calloc(1, sizeof *w);
    REQUIRE(w != NULL);
    CHECK_STATUS(mp_tlsf_walk(t, log_block, w), MP_OK);
    REQUIRE(w->n <= 4096);
    size_t in_span = 0, used = 0, used_in_span = 0, cap = (SPAN - 16) / 32;
    for (size_t k = 0; k < w->n; k++) {
        uint8_t *ptr = w->e[k].ptr;
        if (k > 0) CHECK(w->e[k - 1].ptr + w->e[k - 1].size <= ptr); /* ascending, no overlap */
        used += w->e[k].used != 0;
        if (!in_span_at(ptr, span)) continue;
        CHECK(w->e[k].size == 32 && ptr == span + 32 * in_span && ptr + 32 <= span + SPAN);
        CHECK((w->e[k].used != 0) == (ptr == p[0] || ptr == p[2] || ptr == p[4]));
        used_in_span += w->e[k].used != 0;
        in_span++;
    }
    CHECK(in_span == cap && used_in_span == 3 && used == 3);
    free(w);
    MP_FreeStats f0 = free_stats_of(t);
    CHECK(f0.free_block_count >= cap - 3 + 1 && f0.free_block_count <= cap - 3 + 2);
    CHECK_STATUS(mp_tlsf_free(t, p[2]), MP_OK);
    MP_FreeStats f1 = free_stats_of(t);
    CHECK(f1.free_bytes == f0.free_bytes + 32 && f1.free_block_count == f0.free_block_count + 1);
    CHECK(f1.largest_free_block_bytes == f0.largest_free_block_bytes);
    CHECK_STATUS(mp_tlsf_free(t, p[0]), MP_OK);
    CHECK_STATUS(mp_tlsf_free(t, p[4]), MP_OK);
    MP_FreeStats f2 = free_stats_of(t); /* the span its class keeps: every slot free */
    CHECK(f2.free_bytes == f0.free_bytes + 3 * 32 && f2.free_block_count == f0.free_block_count + 3);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

static void test_reset_drops_all_spans(void) {
    MP_Tlsf *t = create_small(MIB, 512);
    REQUIRE(t != NULL);
    MP_FreeStats fresh = free_stats_of(t);
    uint8_t *p[100], *q[SLOTS_16 + 1];
    for (size_t i = 0; i <= SLOTS_16; i++) REQUIRE((q[i] = mp_tlsf_alloc(t, 16)) != NULL);
    for (size_t i = 0; i < 100; i++) REQUIRE((p[i] = mp_tlsf_alloc(t, 1 + 5 * i)) != NULL);
    for (size_t i = 0; i < SLOTS_16; i++) CHECK_STATUS(mp_tlsf_free(t, q[i]), MP_OK); /* a span parked */
    CHECK(mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_reset(t), MP_OK);
    MP_HeapStats st = stats_of(t);
    CHECK(st.bytes_in_use == 0 && st.bytes_requested == 0 && st.live_block_count == 0);
    CHECK(st.bytes_in_use_peak == 0 && st.alloc_count == 100 + SLOTS_16 + 1);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1 && fs.free_bytes == fresh.free_bytes);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK(mp_tlsf_free(t, p[0]) != MP_OK && mp_tlsf_free(t, p[99]) != MP_OK);
    CHECK(mp_tlsf_usable_size(t, p[0]) == 0 && mp_tlsf_usable_size(t, p[50]) == 0);
    CHECK(stats_of(t).rejected_free_count == 2 && mp_tlsf_check(t) == 0);
    uint8_t *n = mp_tlsf_alloc(t, 1); /* a new generation, placed as the first */
    CHECK(n == q[0] && mp_tlsf_usable_size(t, n) == 16);
    CHECK_STATUS(mp_tlsf_free(t, n), MP_OK);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* A thread-safe instance (whose calls take the locked paths) and a plain one
 * over regions of the same alignment, fed the same operations, agree on
 * every address, status and counter. */
static void test_thread_safe_twin_behaves_alike(void) {
    for (int cached = 0; cached < 2; cached++) {
        size_t cache = cached ? MP_TLSF_CACHE_DEFAULT_BYTES : 0;
        uint8_t *mem[2];
        MP_Tlsf *twin[2];
        for (int k = 0; k < 2; k++) {
            mem[k] = aligned_alloc(SPAN, 512 * KIB);
            REQUIRE(mem[k] != NULL);
            MP_TlsfConfig cfg = {512 * KIB, 0, k ? MP_FLAG_THREAD_SAFE : 0u, mem[k], cache, 512};
            twin[k] = mp_tlsf_create_ex(&cfg);
            REQUIRE(twin[k] != NULL);
        }
        uint8_t *live[2][64] = {{0}};
        uint64_t rng = 7u + (uint64_t)cached;
        for (int op = 0; op < 4000 && mp_test_failures_ == 0; op++) {
            uint64_t r = mp_test_rand(&rng);
            size_t i = r % 64, req = (size_t)((r >> 8) % 700);
            MP_Status st[2] = {MP_OK, MP_OK}, st2[2] = {MP_OK, MP_OK};
            for (int k = 0; k < 2; k++) {
                MP_Tlsf *t = twin[k];
                if (live[k][i] == NULL) {
                    live[k][i] = (r >> 20) % 4 == 0 ? mp_tlsf_calloc(t, req) : mp_tlsf_alloc(t, req);
                } else if ((r >> 24) % 3 == 0) {
                    void *p = live[k][i];
                    st[k] = mp_tlsf_realloc(t, &p, req + 1);
                    live[k][i] = p;
                } else {
                    st[k] = mp_tlsf_free(t, live[k][i]);
                    if ((r >> 28) % 8 == 0) st2[k] = mp_tlsf_free(t, live[k][i]);
                    live[k][i] = NULL;
                }
                if (live[k][i] != NULL) memset(live[k][i], (int)i, mp_tlsf_usable_size(t, live[k][i]));
            }
            CHECK(st[0] == st[1] && st2[0] == st2[1] && st[0] == MP_OK);
            CHECK((live[0][i] == NULL) == (live[1][i] == NULL));
            if (live[0][i] != NULL && live[1][i] != NULL) {
                CHECK(live[0][i] - mem[0] == live[1][i] - mem[1]);
                CHECK(mp_tlsf_usable_size(twin[0], live[0][i]) == mp_tlsf_usable_size(twin[1], live[1][i]));
            }
            MP_HeapStats s0 = stats_of(twin[0]), s1 = stats_of(twin[1]);
            CHECK(memcmp(&s0, &s1, sizeof s0) == 0);
            if (op % 128 == 0) CHECK(mp_tlsf_check(twin[0]) == 0 && mp_tlsf_check(twin[1]) == 0);
        }
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < 64; i++)
                if (live[k][i] != NULL) CHECK_STATUS(mp_tlsf_free(twin[k], live[k][i]), MP_OK);
            CHECK(mp_tlsf_check(twin[k]) == 0 && stats_of(twin[k]).live_block_count == 0);
            mp_tlsf_destroy(twin[k]);
            free(mem[k]);
        }
    }
}

typedef struct stress_arg {
    MP_Tlsf *t;
    uint64_t seed;
    int errors;
} stress_arg;

static void *stress_worker(void *arg) {
    stress_arg *a = arg;
    uint8_t *live[64] = {0};
    size_t len[64] = {0}, tag[64] = {0};
    uint64_t rng = a->seed;
    for (size_t n = 0; n < 20000 + 64; n++) {
        size_t i = n < 20000 ? (size_t)(mp_test_rand(&rng) % 64) : n - 20000;
        if (live[i] != NULL) {
            if (!mp_test_pattern_intact(live[i], len[i], tag[i])) a->errors++;
            if (mp_tlsf_free(a->t, live[i]) != MP_OK) a->errors++;
            live[i] = NULL;
        }
        if (n >= 20000) continue;
        len[i] = 1 + (size_t)(mp_test_rand(&rng) % 512);
        tag[i] = (size_t)a->seed + n;
        live[i] = mp_tlsf_alloc(a->t, len[i]);
        if (live[i] == NULL || mp_tlsf_usable_size(a->t, live[i]) != slot_for(len[i])) {
            a->errors++;
            continue;
        }
        mp_test_fill_pattern(live[i], len[i], tag[i]);
    }
    return NULL;
}

static void test_two_threads_share_a_thread_safe_instance(void) {
    MP_TlsfConfig cfg = {4 * MIB, 0, MP_FLAG_THREAD_SAFE, NULL, 0, 512};
    MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
    REQUIRE(t != NULL);
    stress_arg args[2] = {{t, 1000, 0}, {t, 900000, 0}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++) REQUIRE(pthread_create(&th[k], NULL, stress_worker, &args[k]) == 0);
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    CHECK(args[0].errors == 0 && args[1].errors == 0);
    MP_HeapStats st = stats_of(t);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0);
    CHECK(st.alloc_count == 40000 && st.free_count == 40000 && st.rejected_free_count == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Three objects of every class: each class's first at a span start. */
static void exercise_every_class(MP_Tlsf *t, const uint8_t *lo, const uint8_t *hi) {
    uint8_t *p[24][3];
    for (unsigned c = 0; c < 24; c++) {
        size_t slot = class_bytes(c);
        for (int j = 0; j < 3; j++) {
            p[c][j] = mp_tlsf_alloc(t, slot);
            REQUIRE(p[c][j] != NULL);
            CHECK(p[c][j] >= lo && p[c][j] + slot <= hi && mp_tlsf_usable_size(t, p[c][j]) == slot);
            memset(p[c][j], 0x77, slot);
        }
        CHECK((uintptr_t)p[c][0] % SPAN == 0 && p[c][1] == p[c][0] + slot && p[c][2] == p[c][1] + slot);
    }
    CHECK(mp_tlsf_check(t) == 0);
    for (unsigned c = 0; c < 24; c++)
        for (int j = 0; j < 3; j++) CHECK_STATUS(mp_tlsf_free(t, p[c][j]), MP_OK);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    CHECK(free_stats_of(t).free_block_count == 1 && mp_tlsf_check(t) == 0);
}

static void test_spans_in_caller_memory(void) {
    MP_TlsfConfig cfg = {512 * KIB, 0, 0, NULL, 0, 512};
    size_t need = mp_tlsf_footprint(&cfg);
    REQUIRE(need > 512 * KIB);
    uint8_t *mem = malloc(need);
    REQUIRE(mem != NULL);
    CHECK(mp_tlsf_create_in(mem, need - 1, &cfg) == NULL);
    MP_Tlsf *t = mp_tlsf_create_in(mem, need, &cfg);
    REQUIRE(t != NULL);
    exercise_every_class(t, mem, mem + need);
    mp_tlsf_destroy(t);
    free(mem);
    /* Regions whose base is 16-aligned, not 32-aligned, at several distances
     * from a span boundary. */
    size_t offsets[] = {16, 48, SPAN - 16, SPAN - 48};
    uint8_t *raw = aligned_alloc(SPAN, 512 * KIB + SPAN);
    REQUIRE(raw != NULL);
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        cfg.region = raw + offsets[i];
        CHECK((uintptr_t)cfg.region % 32 == 16);
        t = mp_tlsf_create_ex(&cfg);
        REQUIRE(t != NULL);
        exercise_every_class(t, cfg.region, (uint8_t *)cfg.region + cfg.region_bytes);
        mp_tlsf_destroy(t);
    }
    free(raw);
}

/* A parked span's TLSF header overwritten. Frees read only the descriptor
 * (the span's last object frees as usual), but giving the span back to TLSF
 * validates the header: trim reports MP_ERR_CORRUPTION, an allocation that
 * would need the span's room fails, and nothing else changes; with the
 * header restored, everything is given back cleanly. */
static void test_a_damaged_span_header_is_caught_when_the_span_goes_back(void) {
    MP_Tlsf *t = create_small(256 * KIB, 512);
    REQUIRE(t != NULL);
    MP_FreeStats fresh = free_stats_of(t);
    uint8_t **p = malloc((SLOTS_16 + 1) * sizeof *p);
    REQUIRE(p != NULL);
    for (size_t i = 0; i <= SLOTS_16; i++) REQUIRE((p[i] = mp_tlsf_alloc(t, 16)) != NULL);
    REQUIRE((uintptr_t)p[0] % SPAN == 0 && !in_span_at(p[SLOTS_16], p[0]));
    for (size_t i = 1; i < SLOTS_16; i++) CHECK_STATUS(mp_tlsf_free(t, p[i]), MP_OK);
    /* Span A holds p[0] only, span B p[1023] only. */
    CHECK(mp_tlsf_check(t) == 0);
    uint8_t *hdr = p[0] - 16, saved[16];
    TLSF_META_OPEN(hdr, 16);
    memcpy(saved, hdr, 16);
    MP_POISON(hdr, 16);
    mp_test_stale_write(hdr, 16, 0x5A);
    CHECK_STATUS(mp_tlsf_free(t, p[0]), MP_OK); /* A is parked, its header unread */
    CHECK(mp_tlsf_usable_size(t, p[0]) == 0);
    CHECK(mp_tlsf_check(t) > 0);
    MP_HeapStats before = stats_of(t);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_ERR_CORRUPTION);
    CHECK(stats_unchanged_but(before, stats_of(t), 0, 0));
    CHECK(mp_tlsf_alloc(t, fresh.largest_free_block_bytes) == NULL);
    CHECK(stats_unchanged_but(before, stats_of(t), 0, 1));
    /* Restored: A is still a parked span, and goes back. */
    mp_test_scribble(hdr, 16, 0);
    memcpy(hdr, saved, 16);
    MP_POISON(hdr, 16);
    CHECK(mp_tlsf_check(t) == 0);
    CHECK_STATUS(mp_tlsf_free(t, p[SLOTS_16]), MP_OK);
    CHECK_STATUS(mp_tlsf_trim(t, NULL), MP_OK);
    MP_FreeStats fs = free_stats_of(t);
    CHECK(fs.free_block_count == 1 && fs.largest_free_block_bytes == fresh.largest_free_block_bytes);
    CHECK(stats_of(t).live_block_count == 0 && mp_tlsf_check(t) == 0);
    free(p);
    mp_tlsf_destroy(t);
}

/* Found in review: a slot realloc that moves counted both objects in the
 * peak; the peak sees the net change only, as for blocks. */
static void test_a_moving_slot_realloc_raises_the_peak_by_the_net_change(void) {
    MP_Tlsf *t = create_small(1u << 20, 512);
    REQUIRE(t != NULL);
    void *p = mp_tlsf_alloc(t, 16);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_tlsf_realloc(t, &p, 32), MP_OK);
    MP_HeapStats st = stats_of(t);
    CHECK(st.bytes_in_use == 32 && st.bytes_in_use_peak == 32);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Found in review: a block realloc that must move gave up while parked
 * spans held the room; it gives them back and retries, as alloc does. */
static void test_a_block_realloc_gives_parked_spans_back_before_failing(void) {
    MP_Tlsf *t = create_small(160 * 1024, 512);
    REQUIRE(t != NULL);
    enum { N = 5 * SLOTS_16 };
    static void *objs[N];
    for (size_t i = 0; i < N; i++) REQUIRE((objs[i] = mp_tlsf_alloc(t, 16)) != NULL);
    void *b = mp_tlsf_alloc(t, 600);
    REQUIRE(b != NULL);
    for (size_t i = 0; i < N; i++) CHECK_STATUS(mp_tlsf_free(t, objs[i]), MP_OK);
    CHECK_STATUS(mp_tlsf_realloc(t, &b, 100 * 1024), MP_OK);
    CHECK(mp_tlsf_usable_size(t, b) >= 100 * 1024);
    CHECK(stats_of(t).failed_alloc_count == 0);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Found in review: shrinking a slot to another class on a full heap failed;
 * the object stays in its slot instead, and nothing counts as failed. */
static void test_shrinking_a_slot_on_a_full_heap_keeps_it_in_place(void) {
    MP_Tlsf *t = create_small(256 * 1024, 512);
    REQUIRE(t != NULL);
    uint8_t *p = mp_tlsf_alloc(t, 500);
    REQUIRE(p != NULL);
    memset(p, 0x5a, 500);
    for (size_t sz = 65536; sz >= 16; sz /= 2)
        while (mp_tlsf_alloc(t, sz) != NULL) {
        }
    MP_HeapStats before = stats_of(t);
    void *q = p;
    CHECK_STATUS(mp_tlsf_realloc(t, &q, 16), MP_OK);
    CHECK(q == p && p[0] == 0x5a && p[15] == 0x5a && mp_tlsf_usable_size(t, q) == 512);
    CHECK_STATUS(mp_tlsf_realloc(t, &q, 0), MP_OK);
    CHECK(q == p);
    MP_HeapStats after = stats_of(t);
    CHECK(after.failed_alloc_count == before.failed_alloc_count);
    CHECK(after.realloc_count == before.realloc_count + 2 && after.bytes_in_use == before.bytes_in_use);
    /* Growing still needs room: refused, the object stays. */
    CHECK_STATUS(mp_tlsf_realloc(t, &q, 4096), MP_ERR_OUT_OF_MEMORY);
    CHECK(q == p && stats_of(t).failed_alloc_count == before.failed_alloc_count + 1);
    CHECK(mp_tlsf_check(t) == 0);
    mp_tlsf_destroy(t);
}

/* Found in review: the bytes a failed allocation reports as available
 * charged every slot a header, and wrapped below zero once 16-byte slots
 * filled the heap. */
static void test_a_failure_reports_available_bytes_within_the_heap(void) {
    MP_Tlsf *t = create_small(256 * 1024, 512);
    REQUIRE(t != NULL);
    while (mp_tlsf_alloc(t, 16) != NULL) {
    }
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY);
    CHECK(e.available_bytes <= 256 * 1024);
    mp_tlsf_destroy(t);
}

static int count_visit(void *p, size_t n, int used, void *ctx) {
    (void)p, (void)n, (void)used;
    ++*(size_t *)ctx;
    return 0;
}

/* Found in review: walk and free_stats followed a span flag without
 * asking the instance: a header forged with a valid tag (the threat the
 * header doc admits) made them read a descriptor that does not exist. */
static void test_a_forged_span_flag_is_refused_by_walk_and_free_stats(void) {
    for (size_t small = 0; small <= 512; small += 512) {
        MP_Tlsf *t = create_small(1u << 20, small);
        REQUIRE(t != NULL);
        uint8_t *p = mp_tlsf_alloc(t, 1000);
        REQUIRE(p != NULL);
        uint8_t *b = p - TLSF_HDR_BYTES;
        uint64_t w0;
        TLSF_META_OPEN(b, TLSF_HDR_BYTES);
        REQUIRE(tlsf_hdr_load(&t->env, b, &w0));
        tlsf_hdr_store(&t->env, b, w0 | TLSF_W_SPAN);
        size_t visits = 0;
        MP_FreeStats fs;
        CHECK(mp_tlsf_check(t) > 0);
        CHECK_STATUS(mp_tlsf_walk(t, count_visit, &visits), MP_ERR_CORRUPTION);
        CHECK_STATUS(mp_tlsf_free_stats(t, &fs), MP_ERR_CORRUPTION);
        tlsf_hdr_store(&t->env, b, w0);
        CHECK(mp_tlsf_check(t) == 0);
        CHECK_STATUS(mp_tlsf_free(t, p), MP_OK);
        mp_tlsf_destroy(t);
    }
}

MP_TEST_MAIN(TEST_CASE(test_config_accepts_small_bytes_up_to_512),
             TEST_CASE(test_requests_map_to_their_slot_class),
             TEST_CASE(test_other_requests_get_ordinary_blocks),
             TEST_CASE(test_one_class_fills_one_aligned_span_in_order),
             TEST_CASE(test_misuse_of_small_objects_changes_nothing),
             TEST_CASE(test_realloc_stays_in_its_class_and_moves_across),
             TEST_CASE(test_calloc_zeroes_a_dirty_slot),
             TEST_CASE(test_emptied_spans_are_parked_until_given_back),
             TEST_CASE(test_regions_too_small_for_spans_fall_back_to_blocks),
             TEST_CASE(test_allocation_without_room_releases_kept_empty_spans),
             TEST_CASE(test_walk_and_free_stats_report_a_span_as_its_slots),
             TEST_CASE(test_reset_drops_all_spans), TEST_CASE(test_thread_safe_twin_behaves_alike),
             TEST_CASE(test_two_threads_share_a_thread_safe_instance), TEST_CASE(test_spans_in_caller_memory),
             TEST_CASE(test_a_damaged_span_header_is_caught_when_the_span_goes_back),
             TEST_CASE(test_a_moving_slot_realloc_raises_the_peak_by_the_net_change),
             TEST_CASE(test_a_block_realloc_gives_parked_spans_back_before_failing),
             TEST_CASE(test_shrinking_a_slot_on_a_full_heap_keeps_it_in_place),
             TEST_CASE(test_a_failure_reports_available_bytes_within_the_heap),
             TEST_CASE(test_a_forged_span_flag_is_refused_by_walk_and_free_stats))
