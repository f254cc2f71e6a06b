/*
 * test_fixed_pool_property.c - seeded random alloc / free / batch / bad free /
 * reset / trim sequences checked against a reference model after every step:
 * exact stats, check() == 0, distinct aligned slots, lazy high water (a
 * never-used slot only when no freed one is left), and byte patterns in live
 * slots intact. Several configs: OS-mapped, caller region, create_in, plain
 * and thread-safe.
 */
#include "mp_test.h"

enum { MODE_OS, MODE_REGION, MODE_IN };

typedef struct config {
    size_t object_size, capacity, alignment;
    uint32_t flags;
    int mode;
} config;

typedef struct model {
    MP_FixedPool *pool;
    unsigned char *base;
    size_t object_size, stride, alignment, capacity;
    unsigned char *live;  /* per slot: in use */
    uint32_t *generation; /* per slot: pattern seed of the current handout */
    size_t *live_list;    /* indices in use, unordered */
    size_t *live_pos;     /* position of a slot in live_list */
    size_t live_n, high_water, peak;
    uint64_t alloc_count, free_count, failed, rejected, next_generation;
} model;

static unsigned char pattern_byte(size_t index, uint32_t generation, size_t i) {
    return (unsigned char)(generation * 31u + i * 7u + index);
}

static void fill(model *m, size_t index) {
    unsigned char *slot = m->base + index * m->stride;
    for (size_t i = 0; i < m->object_size; i++) slot[i] = pattern_byte(index, m->generation[index], i);
}

static void verify(const model *m, size_t index) {
    const unsigned char *slot = m->base + index * m->stride;
    for (size_t i = 0; i < m->object_size; i++) {
        int intact = slot[i] == pattern_byte(index, m->generation[index], i);
        CHECK(intact);
        if (!intact) {
            fprintf(stderr, "slot %zu byte %zu overwritten\n", index, i);
            return;
        }
    }
}

static void compare_stats(const model *m) {
    MP_FixedPoolStats s;
    CHECK_STATUS(mp_fixed_pool_stats(m->pool, &s), MP_OK);
    CHECK(s.allocated == m->live_n);
    CHECK(s.allocated_peak == m->peak);
    CHECK(s.capacity == m->capacity);
    CHECK(s.slot_size_bytes == m->stride);
    CHECK(s.alloc_count == m->alloc_count);
    CHECK(s.free_count == m->free_count);
    CHECK(s.failed_alloc_count == m->failed);
    CHECK(s.rejected_free_count == m->rejected);
    CHECK(mp_fixed_pool_check(m->pool) == 0);
}

static void model_took(model *m, void *ptr) {
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)m->base;
    CHECK(offset % m->stride == 0);
    CHECK((uintptr_t)ptr % m->alignment == 0);
    size_t index = (size_t)(offset / m->stride);
    int inside_and_not_live = index < m->capacity && !m->live[index];
    CHECK(inside_and_not_live);
    if (!inside_and_not_live) return;
    if (m->high_water > m->live_n) {
        CHECK(index < m->high_water); /* a freed slot was available */
    } else {
        CHECK(index == m->high_water); /* lazy init hands out the next fresh slot */
        m->high_water = index + 1;
    }
    m->live[index] = 1;
    m->generation[index] = (uint32_t)m->next_generation++;
    m->live_pos[index] = m->live_n;
    m->live_list[m->live_n++] = index;
    if (m->live_n > m->peak) m->peak = m->live_n;
    m->alloc_count++;
    fill(m, index);
}

static void model_freed(model *m, size_t index) {
    size_t pos = m->live_pos[index];
    m->live_list[pos] = m->live_list[--m->live_n];
    m->live_pos[m->live_list[pos]] = pos;
    m->live[index] = 0;
    m->free_count++;
}

static void op_alloc(model *m) {
    void *p = mp_fixed_pool_alloc(m->pool);
    if (m->live_n == m->capacity) {
        CHECK(p == NULL);
        CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        m->failed++;
        return;
    }
    REQUIRE(p != NULL);
    model_took(m, p);
}

static void op_free(model *m, uint64_t *rng) {
    if (m->live_n == 0) return;
    size_t index = m->live_list[mp_test_rand(rng) % m->live_n];
    verify(m, index);
    CHECK_STATUS(mp_fixed_pool_free(m->pool, m->base + index * m->stride), MP_OK);
    model_freed(m, index);
}

static void op_alloc_many(model *m, uint64_t *rng) {
    uint32_t offsets[40];
    size_t want = (size_t)(mp_test_rand(rng) % 40);
    size_t got = mp_fixed_pool_alloc_many(m->pool, offsets, want);
    size_t can = m->capacity - m->live_n;
    CHECK(got == (want < can ? want : can));
    if (got < want) m->failed++;
    for (size_t i = 0; i < got; i++) model_took(m, m->base + offsets[i]);
}

static void op_free_many(model *m, uint64_t *rng) {
    uint32_t offsets[40];
    size_t n = (size_t)(mp_test_rand(rng) % 40);
    if (n > m->live_n) n = m->live_n;
    size_t picked[40];
    for (size_t i = 0; i < n; i++) {
        picked[i] = m->live_list[m->live_n - 1 - i]; /* distinct: the last n entries */
        offsets[i] = (uint32_t)(picked[i] * m->stride);
        verify(m, picked[i]);
    }
    size_t done = 99;
    CHECK_STATUS(mp_fixed_pool_free_many(m->pool, offsets, n, &done), MP_OK);
    CHECK(done == n);
    for (size_t i = 0; i < n; i++) model_freed(m, picked[i]);
}

/* Interior pointers, free slots (double free), fresh slots (never handed out). */
static void op_bad_free(model *m, uint64_t *rng) {
    size_t index = (size_t)(mp_test_rand(rng) % m->capacity);
    size_t delta = m->stride > 1 ? 1 + (size_t)(mp_test_rand(rng) % (m->stride - 1)) : 0;
    unsigned char *ptr = m->base + index * m->stride + delta;
    MP_Status expected = MP_ERR_INVALID_ADDRESS;
    if (delta == 0) {
        if (m->live[index]) return; /* a valid free: not this op */
        expected = index < m->high_water ? MP_ERR_DOUBLE_FREE : MP_ERR_INVALID_ADDRESS;
    }
    CHECK_STATUS(mp_fixed_pool_free(m->pool, ptr), expected);
    m->rejected++;
}

static void op_reset(model *m) {
    CHECK_STATUS(mp_fixed_pool_reset(m->pool), MP_OK);
    memset(m->live, 0, m->capacity);
    m->live_n = 0;
    m->high_water = 0;
    m->peak = 0;
}

static void op_trim(model *m, int mode) {
    size_t released = 1;
    CHECK_STATUS(mp_fixed_pool_trim(m->pool, &released), MP_OK);
    if (mode != MODE_OS) CHECK(released == 0);
    for (size_t i = 0; i < m->live_n; i++) verify(m, m->live_list[i]);
}

static void run(const config *c, uint64_t seed, int steps) {
    MP_FixedPoolConfig cfg = {c->object_size, c->capacity, c->alignment, c->flags, NULL, 0};
    unsigned char *memory = NULL;
    model m;
    memset(&m, 0, sizeof m);
    if (c->mode == MODE_OS) {
        m.pool = mp_fixed_pool_create_ex(&cfg);
    } else if (c->mode == MODE_REGION) {
        size_t region_bytes = mp_fixed_pool_region_bytes(&cfg) + 4096;
        memory = malloc(region_bytes + 16);
        REQUIRE(memory != NULL);
        cfg.region = memory + 16; /* 16-byte aligned, maybe not more */
        cfg.region_bytes = region_bytes;
        m.pool = mp_fixed_pool_create_ex(&cfg);
    } else {
        size_t footprint = mp_fixed_pool_footprint(&cfg);
        memory = malloc(footprint + 3);
        REQUIRE(memory != NULL);
        m.pool = mp_fixed_pool_create_in(memory + 3, footprint, &cfg);
    }
    REQUIRE(m.pool != NULL);
    MP_FixedPoolStats s;
    mp_fixed_pool_stats(m.pool, &s);
    m.base = mp_fixed_pool_base(m.pool);
    m.object_size = s.object_size;
    m.stride = s.slot_size_bytes;
    m.alignment = s.alignment;
    m.capacity = s.capacity;
    m.live = calloc(m.capacity, 1);
    m.generation = calloc(m.capacity, sizeof *m.generation);
    m.live_list = calloc(m.capacity, sizeof *m.live_list);
    m.live_pos = calloc(m.capacity, sizeof *m.live_pos);
    REQUIRE(m.live && m.generation && m.live_list && m.live_pos);
    uint64_t rng = seed;
    int failures_before = mp_test_failures_;
    for (int step = 0; step < steps && mp_test_failures_ == failures_before; step++) {
        unsigned r = (unsigned)(mp_test_rand(&rng) % 100);
        if (r < 40) op_alloc(&m);
        else if (r < 72) op_free(&m, &rng);
        else if (r < 78) op_alloc_many(&m, &rng);
        else if (r < 84) op_free_many(&m, &rng);
        else if (r < 96) op_bad_free(&m, &rng);
        else if (r < 97) op_reset(&m);
        else if (r < 98) op_trim(&m, c->mode);
        else for (size_t i = 0; i < m.live_n; i++) verify(&m, m.live_list[i]);
        compare_stats(&m);
        if (mp_test_failures_ != failures_before)
            fprintf(stderr, "config size %zu cap %zu align %zu flags %u mode %d seed %llu: step %d op %u\n",
                    c->object_size, c->capacity, c->alignment, c->flags, c->mode, (unsigned long long)seed,
                    step, r);
    }
    mp_fixed_pool_destroy(m.pool);
    free(memory);
    free(m.live);
    free(m.generation);
    free(m.live_list);
    free(m.live_pos);
}

static void run_all(const config *configs, size_t n) {
    static const uint64_t seeds[] = {1, 0xC0FFEE, 0x123456789ull, 42};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) run(&configs[i], seeds[k] + i, 3000);
}

static void random_sequences_match_the_model_on_os_mapped_pools(void) {
    static const config configs[] = {
        {64, 100, 0, 0, MODE_OS},     {1, 300, 0, 0, MODE_OS},       {24, 64, 0, 0, MODE_OS},
        {100, 37, 64, 0, MODE_OS},    {4096, 20, 0, 0, MODE_OS},     {3000, 16, 0, 0, MODE_OS},
        {12, 1, 0, 0, MODE_OS},       {7, 129, 4096, 0, MODE_OS},
    };
    run_all(configs, sizeof configs / sizeof configs[0]);
}

static void random_sequences_match_the_model_in_caller_regions(void) {
    static const config configs[] = {
        {64, 100, 0, 0, MODE_REGION}, {5, 200, 0, 0, MODE_REGION},   {40, 63, 128, 0, MODE_REGION},
        {24, 64, 0, 0, MODE_IN},      {1, 65, 0, 0, MODE_IN},        {96, 50, 256, 0, MODE_IN},
    };
    run_all(configs, sizeof configs / sizeof configs[0]);
}

static void random_sequences_match_the_model_on_thread_safe_pools(void) {
    static const config configs[] = {
        {32, 100, 0, MP_FLAG_THREAD_SAFE, MODE_OS},
        {24, 70, 0, MP_FLAG_THREAD_SAFE, MODE_REGION},
        {8, 130, 0, MP_FLAG_THREAD_SAFE, MODE_IN},
        {4096, 24, 0, MP_FLAG_THREAD_SAFE, MODE_OS},
    };
    run_all(configs, sizeof configs / sizeof configs[0]);
}

MP_TEST_MAIN(TEST_CASE(random_sequences_match_the_model_on_os_mapped_pools),
             TEST_CASE(random_sequences_match_the_model_in_caller_regions),
             TEST_CASE(random_sequences_match_the_model_on_thread_safe_pools))
