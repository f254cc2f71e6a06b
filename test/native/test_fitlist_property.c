/*
 * test_fitlist_property.c - differential property test of the fit-list
 * allocator against a reference model.
 *
 * Seeded random sequences of alloc / alloc_aligned / calloc / free / realloc /
 * double free / reset run on every policy and region kind. The model keeps the
 * table of live blocks and, from a walk of the free blocks before each call,
 * predicts the exact address each policy must return (or NULL), whether a
 * realloc stays in place, and every O(1) counter. Every block is
 * pattern-filled and verified on free and realloc; blocks never overlap;
 * alignment is honoured; check() is 0 after every operation.
 * MP_PROPERTY_STEPS overrides the operations per run.
 */
#include "mp_test.h"

#include <stdint.h>

#define MAX_LIVE 512
#define MAX_FREE 4096
#define ALIGNED_TRIES 16 /* the allocator's documented exact-fit attempts */

typedef struct live_block {
    uint8_t *ptr;
    size_t size, usable, align;
    uint64_t tag;
} live_block;

typedef struct free_block {
    uint8_t *ptr;
    size_t bytes;
} free_block;

typedef struct model {
    MP_FitList *f;
    MP_FitPolicy policy;
    uint8_t *base;
    size_t region_bytes;
    live_block live[MAX_LIVE];
    size_t n_live;
    free_block free_blocks[MAX_FREE];
    size_t n_free;
    MP_HeapStats stats;
    uint64_t next_tag;
    void *freed_ptr; /* a pointer freed earlier, to try freeing again */
} model;

static uint8_t pattern_byte(uint64_t tag, size_t i) { return (uint8_t)((tag * 131u) ^ (i * 7u) ^ (i >> 8)); }

static void fill(const live_block *b) {
    for (size_t i = 0; i < b->size; i++)
        b->ptr[i] = pattern_byte(b->tag, i);
}

static int intact(const live_block *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b->ptr[i] != pattern_byte(b->tag, i)) return 0;
    return 1;
}

static size_t granules_bytes(size_t size) { return size == 0 ? 16 : (size + 15) / 16 * 16; }

static int collect_free(void *ptr, size_t size, int is_used, void *ctx) {
    model *m = ctx;
    if (!is_used && m->n_free < MAX_FREE) m->free_blocks[m->n_free++] = (free_block){ptr, size};
    return 0;
}

/* Policy order of free blocks: address (first), (size, address) ascending
 * (best), size descending then address ascending (worst). */
static MP_FitPolicy sort_policy;
static int policy_cmp(const void *a, const void *b) {
    const free_block *x = a, *y = b;
    if (sort_policy == MP_FIT_BEST && x->bytes != y->bytes) return x->bytes < y->bytes ? -1 : 1;
    if (sort_policy == MP_FIT_WORST && x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

static uint8_t *aligned_in(const free_block *b, size_t usable, size_t align) {
    uintptr_t p = ((uintptr_t)b->ptr + align - 1) & ~(uintptr_t)(align - 1);
    return p + usable <= (uintptr_t)b->ptr + b->bytes ? (uint8_t *)p : NULL;
}

/* The address the allocator must return for `size` aligned to `align`, or
 * NULL, following the documented search (exact fit among the first
 * ALIGNED_TRIES candidates in policy order, then size + align - 16). */
static uint8_t *predict(model *m, size_t size, size_t align) {
    size_t usable = granules_bytes(size);
    if (align < 16) align = 16;
    m->n_free = 0;
    mp_fitlist_walk(m->f, collect_free, m);
    sort_policy = m->policy;
    qsort(m->free_blocks, m->n_free, sizeof(free_block), policy_cmp);
    size_t tries = 0;
    for (size_t i = 0; i < m->n_free && tries < ALIGNED_TRIES; i++) {
        if (m->free_blocks[i].bytes < usable) continue;
        tries++;
        uint8_t *p = aligned_in(&m->free_blocks[i], usable, align);
        if (p != NULL) return p;
    }
    if (tries < ALIGNED_TRIES) return NULL; /* every candidate was tried */
    for (size_t i = 0; i < m->n_free; i++)
        if (m->free_blocks[i].bytes >= usable + align - 16)
            return aligned_in(&m->free_blocks[i], usable, align);
    return NULL;
}

static void note_in_use(model *m, long delta_usable, long delta_requested, long delta_live) {
    m->stats.bytes_in_use = (size_t)((long)m->stats.bytes_in_use + delta_usable);
    m->stats.bytes_requested = (size_t)((long)m->stats.bytes_requested + delta_requested);
    m->stats.live_block_count = (size_t)((long)m->stats.live_block_count + delta_live);
    if (m->stats.bytes_in_use > m->stats.bytes_in_use_peak)
        m->stats.bytes_in_use_peak = m->stats.bytes_in_use;
}

static int overlaps_live(const model *m, const uint8_t *p, size_t usable, size_t skip) {
    for (size_t i = 0; i < m->n_live; i++)
        if (i != skip && p < m->live[i].ptr + m->live[i].usable && m->live[i].ptr < p + usable) return 1;
    return 0;
}

static void check_new_block(model *m, uint8_t *p, size_t size, size_t align, size_t skip) {
    size_t usable = granules_bytes(size);
    CHECK(((uintptr_t)p & (align - 1)) == 0 && ((uintptr_t)p & 15) == 0);
    CHECK(p >= m->base && p + usable <= m->base + m->region_bytes);
    CHECK(mp_fitlist_usable_size(m->f, p) == usable);
    CHECK(!overlaps_live(m, p, usable, skip));
}

static void op_alloc(model *m, size_t size, size_t align, int kind) {
    uint8_t *expect = predict(m, size, align);
    uint8_t *p = kind == 0   ? mp_fitlist_alloc(m->f, size)
                 : kind == 1 ? mp_fitlist_calloc(m->f, size)
                             : mp_fitlist_alloc_aligned(m->f, size, align);
    CHECK(p == expect);
    if (p == NULL) {
        m->stats.failed_alloc_count++;
        CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        return;
    }
    check_new_block(m, p, size, align < 16 ? 16 : align, SIZE_MAX);
    if (kind == 1)
        for (size_t i = 0; i < granules_bytes(size); i++)
            CHECK(p[i] == 0);
    live_block b = {p, size, granules_bytes(size), align < 16 ? 16 : align, m->next_tag++};
    fill(&b);
    m->live[m->n_live++] = b;
    m->stats.alloc_count++;
    note_in_use(m, (long)b.usable, (long)size, 1);
}

static void op_free(model *m, size_t i) {
    live_block b = m->live[i];
    CHECK(intact(&b, b.size));
    CHECK_STATUS(mp_fitlist_free(m->f, b.ptr), MP_OK);
    m->live[i] = m->live[--m->n_live];
    m->stats.free_count++;
    note_in_use(m, -(long)b.usable, -(long)b.size, -1);
    m->freed_ptr = b.ptr;
}

static void op_double_free(model *m) {
    uint8_t *p = m->freed_ptr;
    for (size_t i = 0; i < m->n_live; i++)
        if (m->live[i].ptr == p) return; /* handed out again since */
    MP_Status st = mp_fitlist_free(m->f, p);
    CHECK(st == MP_ERR_DOUBLE_FREE || st == MP_ERR_INVALID_ADDRESS);
    m->stats.rejected_free_count++;
}

/* Whether the block at live[i] can become `usable` bytes without moving. */
static int fits_in_place(model *m, size_t i, size_t usable) {
    live_block *b = &m->live[i];
    if (usable <= b->usable) return 1;
    m->n_free = 0;
    mp_fitlist_walk(m->f, collect_free, m);
    for (size_t k = 0; k < m->n_free; k++)
        if (m->free_blocks[k].ptr == b->ptr + b->usable) return b->usable + m->free_blocks[k].bytes >= usable;
    return 0;
}

static void op_realloc(model *m, size_t i, size_t size) {
    live_block *b = &m->live[i];
    CHECK(intact(b, b->size));
    size_t usable = granules_bytes(size);
    uint8_t *expect = fits_in_place(m, i, usable) ? b->ptr : predict(m, size, b->align);
    void *p = b->ptr;
    MP_Status st = mp_fitlist_realloc(m->f, &p, size);
    CHECK(p == (expect ? expect : b->ptr));
    if (expect == NULL) {
        CHECK(st == MP_ERR_OUT_OF_MEMORY && intact(b, b->size));
        m->stats.failed_alloc_count++;
        return;
    }
    CHECK_STATUS(st, MP_OK);
    check_new_block(m, p, size, b->align, i);
    live_block moved = *b;
    moved.ptr = p;
    CHECK(intact(&moved, size < b->size ? size : b->size));
    m->stats.realloc_count++;
    note_in_use(m, (long)usable - (long)b->usable, (long)size - (long)b->size, 0);
    if (p != b->ptr) m->freed_ptr = b->ptr;
    b->ptr = p;
    b->size = size;
    b->usable = usable;
    b->tag = m->next_tag++;
    fill(b);
}

static void op_reset(model *m) {
    CHECK_STATUS(mp_fitlist_reset(m->f), MP_OK);
    m->n_live = 0;
    m->stats.bytes_in_use = m->stats.bytes_in_use_peak = m->stats.bytes_requested = 0;
    m->stats.live_block_count = 0;
}

static size_t random_size(uint64_t *seed, size_t region_bytes) {
    uint64_t r = mp_test_rand(seed) % 100;
    if (r < 70) return (size_t)(mp_test_rand(seed) % 300);
    if (r < 97) return (size_t)(mp_test_rand(seed) % 2048);
    return (size_t)(mp_test_rand(seed) % (region_bytes / 3));
}

static void verify_against_model(model *m) {
    MP_HeapStats s;
    mp_fitlist_stats(m->f, &s);
    CHECK(memcmp(&s, &m->stats, sizeof s) == 0);
    if (memcmp(&s, &m->stats, sizeof s) != 0) {
#define DIFF_(type, name, text)                                                                              \
    if (s.name != m->stats.name)                                                                             \
        fprintf(stderr, "  %s: %zu vs model %zu\n", #name, (size_t)s.name, (size_t)m->stats.name);
        MP_HEAP_STATS_FIELDS(DIFF_)
#undef DIFF_
    }
    MP_FreeStats fs;
    mp_fitlist_free_stats(m->f, &fs);
    CHECK(fs.free_bytes == m->region_bytes - m->stats.bytes_in_use);
}

static void run(MP_FitList *f, MP_FitPolicy policy, uint64_t seed0, size_t steps) {
    uint64_t seed = seed0;
    static model m;
    memset(&m, 0, sizeof m);
    m.f = f;
    m.policy = policy;
    m.base = mp_fitlist_base(f);
    mp_fitlist_stats(f, &m.stats);
    m.region_bytes = m.stats.region_bytes;
    int before = mp_test_failures_;
    for (size_t step = 0; step < steps && mp_test_failures_ == before; step++) {
        uint64_t r = mp_test_rand(&seed) % 1000;
        size_t size = random_size(&seed, m.region_bytes);
        if (r < 300 && m.n_live < MAX_LIVE) {
            op_alloc(&m, size, 16, 0);
        } else if (r < 380 && m.n_live < MAX_LIVE) {
            op_alloc(&m, size, 16, 1);
        } else if (r < 480 && m.n_live < MAX_LIVE) {
            op_alloc(&m, size, (size_t)1 << (mp_test_rand(&seed) % 13), 2);
        } else if (r < 800 && m.n_live > 0) {
            op_free(&m, (size_t)(mp_test_rand(&seed) % m.n_live));
        } else if (r < 990 && m.n_live > 0) {
            op_realloc(&m, (size_t)(mp_test_rand(&seed) % m.n_live), size);
        } else if (r < 997 && m.freed_ptr != NULL) {
            op_double_free(&m);
        } else if (r >= 997) {
            op_reset(&m);
        }
        CHECK(mp_fitlist_check(f) == 0);
        verify_against_model(&m);
    }
    for (size_t i = 0; i < m.n_live; i++)
        CHECK(intact(&m.live[i], m.live[i].size));
    if (mp_test_failures_ != before) fprintf(stderr, "  (policy %d, seed %" PRIu64 ")\n", (int)policy, seed0);
}

static size_t steps(void) {
    const char *env = getenv("MP_PROPERTY_STEPS");
    long n = env ? strtol(env, NULL, 10) : 0;
    return n > 0 ? (size_t)n : 2500;
}

static const uint64_t seeds[] = {1, 0xC0FFEE, 20260101};

static void mapped_region_matches_model_for_every_policy(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++)
        for (size_t s = 0; s < 3; s++) {
            MP_FitList *f = mp_fitlist_create(32768, (MP_FitPolicy)policy);
            REQUIRE(f != NULL);
            run(f, (MP_FitPolicy)policy, seeds[s], steps());
            mp_fitlist_destroy(f);
        }
}

static void caller_region_at_16_byte_alignment_matches_model(void) {
    static _Alignas(64) uint8_t buffer[24016 + 64];
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++)
        for (size_t s = 0; s < 3; s++) {
            MP_FitListConfig cfg = {24016, (MP_FitPolicy)policy, 0, buffer + 16}; /* 1501 granules */
            MP_FitList *f = mp_fitlist_create_ex(&cfg);
            REQUIRE(f != NULL);
            run(f, (MP_FitPolicy)policy, seeds[s] * 3, steps());
            mp_fitlist_destroy(f);
        }
}

static void create_in_thread_safe_instance_matches_model(void) {
    for (int policy = MP_FIT_FIRST; policy <= MP_FIT_WORST; policy++) {
        MP_FitListConfig cfg = {16384, (MP_FitPolicy)policy, MP_FLAG_THREAD_SAFE, NULL};
        size_t bytes = mp_fitlist_footprint(&cfg);
        void *memory = malloc(bytes);
        REQUIRE(memory != NULL);
        MP_FitList *f = mp_fitlist_create_in(memory, bytes, &cfg);
        REQUIRE(f != NULL);
        run(f, (MP_FitPolicy)policy, 77 + (uint64_t)policy, steps());
        mp_fitlist_destroy(f);
        free(memory);
    }
}

MP_TEST_MAIN(TEST_CASE(mapped_region_matches_model_for_every_policy),
             TEST_CASE(caller_region_at_16_byte_alignment_matches_model),
             TEST_CASE(create_in_thread_safe_instance_matches_model))
