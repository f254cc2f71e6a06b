/*
 * test_buddy_property.c - differential property test of the buddy allocator
 * against a reference model (the table of live blocks). Seeded random
 * sequences of alloc / alloc_aligned / calloc / free / realloc / reset, cache
 * flushes and refused double frees of just-freed (usually cached) blocks; every
 * block is pattern-filled and verified when freed or resized; a new block may
 * not overlap any live block and must honour its alignment; check() == 0 and
 * the O(1) counters equal the model after every operation. free_stats (which
 * flushes the free-block caches) runs only every 16th step, so most steps
 * run with cached, unmerged blocks.
 */
#include <stdbool.h>
#include <stdint.h>

#include "buddy_internal.h"
#include "mp_test.h"

#define MAX_LIVE 256

typedef struct live_block {
    unsigned char *ptr;
    size_t requested;
    size_t usable;
    size_t align;
    uint8_t seed;
} live_block;

typedef struct model {
    live_block live[MAX_LIVE];
    size_t count;
    size_t bytes_in_use, bytes_in_use_peak, bytes_requested;
    uint64_t alloc_count, free_count, realloc_count;
    size_t failures; /* first-failure reporting: stop a seed after one */
    unsigned char *last_freed; /* most recently freed block, NULL after reset or reuse */
} model;

static void pattern_fill(unsigned char *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed ^ (i * 31u) ^ (i >> 8));
}

static int pattern_ok(const unsigned char *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed ^ (i * 31u) ^ (i >> 8))) return 0;
    return 1;
}

static int overlaps_live(const model *m, const unsigned char *p, size_t n, size_t skip) {
    for (size_t i = 0; i < m->count; i++) {
        if (i == skip) continue;
        const live_block *l = &m->live[i];
        if (p < l->ptr + l->usable && l->ptr < p + n) return 1;
    }
    return 0;
}

static void model_in_use(model *m, size_t usable, size_t requested) {
    m->bytes_in_use += usable;
    m->bytes_requested += requested;
    if (m->bytes_in_use > m->bytes_in_use_peak) m->bytes_in_use_peak = m->bytes_in_use;
}

/* Records a fresh block after validating it. */
static void model_add(model *m, MP_Buddy *b, unsigned char *p, size_t size, size_t align, uint64_t *rng) {
    size_t usable = mp_buddy_usable_size(b, p);
    CHECK(usable >= size && usable >= 16);
    CHECK(((uintptr_t)p & (align - 1)) == 0);
    CHECK(!overlaps_live(m, p, usable, SIZE_MAX));
    CHECK(p >= (unsigned char *)mp_buddy_base(b));
    live_block *l = &m->live[m->count++];
    l->ptr = p;
    l->requested = size;
    l->usable = usable;
    l->align = align;
    l->seed = (uint8_t)mp_test_rand(rng);
    pattern_fill(p, size, l->seed);
    model_in_use(m, usable, size);
    m->alloc_count++;
}

static void model_remove(model *m, size_t i) {
    m->bytes_in_use -= m->live[i].usable;
    m->bytes_requested -= m->live[i].requested;
    m->live[i] = m->live[--m->count];
}

static size_t random_size(uint64_t *rng, size_t max_block) {
    uint64_t r = mp_test_rand(rng);
    switch (r % 8) {
    case 0: return 0;
    case 1: return (size_t)(r >> 8) % 16 + 1;
    case 2: case 3: return (size_t)(r >> 8) % 256;
    case 4: case 5: return (size_t)(r >> 8) % 4096;
    case 6: return (size_t)(r >> 8) % (max_block / 4 + 1);
    default: return (size_t)(r >> 8) % (max_block + max_block / 8 + 1); /* may not fit */
    }
}

static void compare_counters(const MP_Buddy *b, const model *m, bool with_free_stats) {
    MP_HeapStats st;
    CHECK_STATUS(mp_buddy_stats(b, &st), MP_OK);
    CHECK(st.live_block_count == m->count);
    CHECK(st.bytes_in_use == m->bytes_in_use);
    CHECK(st.bytes_in_use_peak == m->bytes_in_use_peak);
    CHECK(st.bytes_requested == m->bytes_requested);
    CHECK(st.alloc_count == m->alloc_count);
    CHECK(st.free_count == m->free_count);
    CHECK(st.realloc_count == m->realloc_count);
    if (!with_free_stats) return;
    MP_FreeStats fs;
    CHECK_STATUS(mp_buddy_free_stats(b, &fs), MP_OK);
    CHECK(fs.free_bytes == st.region_bytes - m->bytes_in_use);
}

static void step(MP_Buddy *b, model *m, uint64_t *rng, size_t max_block) {
    uint64_t op = mp_test_rand(rng) % 100;
    if (op < 40 && m->count < MAX_LIVE) {
        size_t size = random_size(rng, max_block);
        int kind = (int)(mp_test_rand(rng) % 3);
        size_t align = kind == 1 ? (size_t)1 << (mp_test_rand(rng) % 13) : 1;
        unsigned char *p = kind == 0 ? mp_buddy_alloc(b, size)
                           : kind == 1 ? mp_buddy_alloc_aligned(b, size, align)
                                       : mp_buddy_calloc(b, size);
        if (p == NULL) return;
        if (kind == 2) {
            size_t nonzero = 0;
            for (size_t i = 0; i < size; i++) nonzero += p[i] != 0;
            CHECK(nonzero == 0);
        }
        model_add(m, b, p, size, align, rng);
    } else if (op < 75 && m->count > 0) {
        size_t i = (size_t)(mp_test_rand(rng) % m->count);
        live_block *l = &m->live[i];
        CHECK(pattern_ok(l->ptr, l->requested, l->seed));
        CHECK_STATUS(mp_buddy_free(b, l->ptr), MP_OK);
        m->free_count++;
        m->last_freed = l->ptr;
        model_remove(m, i);
    } else if (op < 98 && m->count > 0) {
        size_t i = (size_t)(mp_test_rand(rng) % m->count);
        live_block *l = &m->live[i];
        size_t size = random_size(rng, max_block);
        void *q = l->ptr;
        MP_Status s = mp_buddy_realloc(b, &q, size);
        if (s != MP_OK) {
            CHECK(s == MP_ERR_OUT_OF_MEMORY || s == MP_ERR_ALIGNMENT);
            CHECK(q == l->ptr);
            CHECK(pattern_ok(l->ptr, l->requested, l->seed));
            return;
        }
        unsigned char *np = q;
        size_t kept = size < l->requested ? size : l->requested;
        CHECK(pattern_ok(np, kept, l->seed));
        size_t usable = mp_buddy_usable_size(b, np);
        CHECK(usable >= size);
        CHECK(((uintptr_t)np & (l->align - 1)) == 0);
        CHECK(!overlaps_live(m, np, usable, i));
        m->bytes_in_use -= l->usable;
        m->bytes_requested -= l->requested;
        model_in_use(m, usable, size);
        l->ptr = np;
        l->usable = usable;
        l->requested = size;
        pattern_fill(np, size, l->seed);
        m->realloc_count++;
    } else if (op >= 98 && m->last_freed != NULL && !overlaps_live(m, m->last_freed, 1, SIZE_MAX)) {
        /* Double free of a block that is cached, merged or part of a free
         * block: refused, counters unchanged (compare_counters). */
        MP_Status s = mp_buddy_free(b, m->last_freed);
        CHECK(s == MP_ERR_DOUBLE_FREE || s == MP_ERR_INVALID_ADDRESS);
        if (mp_test_rand(rng) % 4 == 0) mp_buddy_flush_cache(b);
    } else if (op >= 98 && mp_test_rand(rng) % 8 == 0) {
        CHECK_STATUS(mp_buddy_reset(b), MP_OK);
        m->last_freed = NULL;
        m->count = 0;
        m->bytes_in_use = m->bytes_in_use_peak = m->bytes_requested = 0;
    }
}

static void run(uint64_t seed, MP_BuddyConfig cfg, size_t steps) {
    MP_Buddy *b = mp_buddy_create_ex(&cfg);
    REQUIRE(b != NULL);
    static model m;
    memset(&m, 0, sizeof m);
    uint64_t rng = seed;
    size_t max_block = cfg.max_block_bytes != 0 ? cfg.max_block_bytes : cfg.region_bytes;
    int before = mp_test_failures_;
    for (size_t s = 0; s < steps && mp_test_failures_ == before; s++) {
        step(b, &m, &rng, max_block);
        CHECK(mp_buddy_check(b) == 0);
        compare_counters(b, &m, s % 16 == 15);
    }
    if (mp_test_failures_ != before) fprintf(stderr, "  seed %" PRIu64 " failed\n", seed);
    for (size_t i = 0; i < m.count; i++) CHECK(pattern_ok(m.live[i].ptr, m.live[i].requested, m.live[i].seed));
    mp_buddy_destroy(b);
}

static void test_random_sequences_match_the_model_with_default_config(void) {
    for (uint64_t seed = 1; seed <= 6; seed++) {
        MP_BuddyConfig cfg = {256 * 1024, 0, 0, 0, NULL};
        run(seed, cfg, 3000);
    }
}

static void test_random_sequences_match_the_model_with_small_units_and_capped_blocks(void) {
    for (uint64_t seed = 100; seed < 104; seed++) {
        MP_BuddyConfig cfg = {100 * 1024 + 16 * 7, 16, 16 * 1024, 0, NULL};
        run(seed, cfg, 3000);
    }
}

static void test_random_sequences_match_the_model_in_a_16_byte_aligned_caller_region(void) {
    unsigned char *raw = aligned_alloc(4096, 200 * 1024 + 4096);
    REQUIRE(raw != NULL);
    for (uint64_t seed = 500; seed < 504; seed++) {
        MP_BuddyConfig cfg = {200 * 1024, 32, 0, MP_FLAG_THREAD_SAFE, raw + 16};
        run(seed, cfg, 3000);
    }
    free(raw);
}

static void test_random_sequences_match_the_model_with_large_units(void) {
    for (uint64_t seed = 900; seed < 903; seed++) {
        MP_BuddyConfig cfg = {3 * 1024 * 1024 + 12288, 4096, 1024 * 1024, 0, NULL};
        run(seed, cfg, 2000);
    }
}

MP_TEST_MAIN(TEST_CASE(test_random_sequences_match_the_model_with_default_config),
             TEST_CASE(test_random_sequences_match_the_model_with_small_units_and_capped_blocks),
             TEST_CASE(test_random_sequences_match_the_model_in_a_16_byte_aligned_caller_region),
             TEST_CASE(test_random_sequences_match_the_model_with_large_units))
