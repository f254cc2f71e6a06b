/*
 * test_arena_property.c - seeded random alloc / mark / rewind / reset / trim
 * sequences against a reference model that predicts every pointer (bump
 * with padding computed on real addresses) and every status; after every
 * step the stats match, check() == 0 and all live blocks keep their bytes.
 * Configs: OS-mapped, caller regions at odd addresses, create_in.
 */
#include "mp_test.h"

enum { MODE_OS, MODE_REGION, MODE_IN, MAX_BLOCKS = 4096, MAX_MARKS = 32 };

typedef struct block {
    unsigned char *ptr;
    size_t size;
    uint32_t generation;
} block;

typedef struct model {
    MP_Arena *arena;
    unsigned char *base;
    size_t size, offset, peak;
    uint64_t epoch, alloc_count, failed, resets, next_generation;
    block blocks[MAX_BLOCKS];
    size_t block_n;
    MP_ArenaMark marks[MAX_MARKS];
    size_t mark_n;
} model;

static unsigned char pattern_byte(const block *b, size_t i) {
    return (unsigned char)(b->generation * 11u + i * 3u);
}

static void verify_all(const model *m) {
    for (size_t k = 0; k < m->block_n; k++) {
        const block *b = &m->blocks[k];
        for (size_t i = 0; i < b->size; i++) {
            int intact = b->ptr[i] == pattern_byte(b, i);
            CHECK(intact);
            if (!intact) {
                fprintf(stderr, "block %zu byte %zu overwritten\n", k, i);
                return;
            }
        }
    }
}

static void compare_stats(const model *m) {
    MP_ArenaStats s;
    CHECK_STATUS(mp_arena_stats(m->arena, &s), MP_OK);
    CHECK(s.offset == m->offset);
    CHECK(s.buffer_size == m->size);
    CHECK(s.offset_peak == m->peak);
    CHECK(s.alloc_count == m->alloc_count);
    CHECK(s.failed_alloc_count == m->failed);
    CHECK(s.reset_count == m->resets);
    CHECK(mp_arena_check(m->arena) == 0);
}

static size_t random_size(uint64_t *rng, size_t buffer_size) {
    unsigned r = (unsigned)(mp_test_rand(rng) % 100);
    if (r < 10) return 0;
    if (r < 70) return (size_t)(mp_test_rand(rng) % 64);
    if (r < 95) return (size_t)(mp_test_rand(rng) % 2000);
    if (r < 98) return (size_t)(mp_test_rand(rng) % (buffer_size + 1));
    return SIZE_MAX - (size_t)(mp_test_rand(rng) % 5000);
}

static size_t random_align(uint64_t *rng) {
    unsigned r = (unsigned)(mp_test_rand(rng) % 100);
    if (r < 3) return (size_t)(mp_test_rand(rng) % 100) | 3; /* never a power of two */
    if (r < 50) return (size_t)1 << (mp_test_rand(rng) % 5);
    return (size_t)1 << (mp_test_rand(rng) % 13);
}

static void op_alloc(model *m, uint64_t *rng) {
    size_t size = random_size(rng, m->size), align = random_align(rng);
    void *p = mp_arena_alloc(m->arena, size, align);
    uintptr_t cur = (uintptr_t)m->base + m->offset;
    size_t remaining = m->size - m->offset;
    size_t pad = (size_t)(0 - cur) & (align - 1);
    int valid_align = (align & (align - 1)) == 0;
    int fits = valid_align && pad <= remaining && (size == 0 ? pad < remaining : size <= remaining - pad);
    if (!fits) {
        CHECK(p == NULL);
        MP_Status why = mp_last_error().status;
        CHECK(why == (valid_align ? (size > SIZE_MAX - pad ? MP_ERR_SIZE_OVERFLOW : MP_ERR_OUT_OF_MEMORY)
                                  : MP_ERR_ALIGNMENT));
        m->failed++;
        return;
    }
    CHECK(p == (void *)(cur + pad));
    REQUIRE(p != NULL);
    m->offset += pad + size;
    if (m->offset > m->peak) m->peak = m->offset;
    m->alloc_count++;
    if (size == 0 || m->block_n == MAX_BLOCKS) return;
    block *b = &m->blocks[m->block_n++];
    *b = (block){p, size, (uint32_t)m->next_generation++};
    for (size_t i = 0; i < size; i++) b->ptr[i] = pattern_byte(b, i);
}

static void op_mark(model *m) {
    if (m->mark_n == MAX_MARKS) m->mark_n = 0;
    m->marks[m->mark_n++] = mp_arena_mark(m->arena);
}

/* A mark is only a position: rewinding to one taken before an earlier
 * rewind may cut through a block allocated since; that block is gone too. */
static void forget_blocks_from(model *m, size_t offset) {
    while (m->block_n > 0) {
        const block *last = &m->blocks[m->block_n - 1];
        if ((size_t)(last->ptr - m->base) + last->size <= offset) break;
        m->block_n--;
    }
}

static void op_rewind(model *m, uint64_t *rng) {
    if (m->mark_n == 0) return;
    MP_ArenaMark mark = m->marks[mp_test_rand(rng) % m->mark_n];
    int valid = mark.epoch == m->epoch && mark.offset <= m->offset;
    CHECK_STATUS(mp_arena_rewind(m->arena, mark), valid ? MP_OK : MP_ERR_INVALID_ARGUMENT);
    if (!valid) return;
    m->offset = mark.offset;
    forget_blocks_from(m, mark.offset);
}

static void op_reset(model *m) {
    CHECK_STATUS(mp_arena_reset(m->arena), MP_OK);
    m->offset = 0;
    m->epoch++;
    m->resets++;
    m->block_n = 0;
}

static void run(int mode, size_t size, size_t misalign, uint64_t seed, int steps) {
    MP_ArenaConfig cfg = {size, 0, NULL, 0};
    unsigned char *memory = NULL;
    static model m;
    memset(&m, 0, sizeof m);
    if (mode == MODE_OS) {
        m.arena = mp_arena_create_ex(&cfg);
    } else if (mode == MODE_REGION) {
        memory = malloc(size + misalign);
        REQUIRE(memory != NULL);
        cfg.region = memory + misalign;
        cfg.region_bytes = size;
        m.arena = mp_arena_create_ex(&cfg);
    } else {
        size_t footprint = mp_arena_footprint(&cfg);
        memory = malloc(footprint + misalign);
        REQUIRE(memory != NULL);
        m.arena = mp_arena_create_in(memory + misalign, footprint, &cfg);
    }
    REQUIRE(m.arena != NULL);
    m.base = mp_arena_base(m.arena);
    m.size = size;
    m.epoch = 1;
    uint64_t rng = seed;
    int failures_before = mp_test_failures_;
    for (int step = 0; step < steps && mp_test_failures_ == failures_before; step++) {
        unsigned r = (unsigned)(mp_test_rand(&rng) % 100);
        if (r < 70) op_alloc(&m, &rng);
        else if (r < 80) op_mark(&m);
        else if (r < 92) op_rewind(&m, &rng);
        else if (r < 94) op_reset(&m);
        else if (r < 95) {
            size_t released = 1;
            CHECK_STATUS(mp_arena_trim(m.arena, &released), MP_OK);
            if (mode != MODE_OS) CHECK(released == 0);
            verify_all(&m);
        } else verify_all(&m);
        compare_stats(&m);
        if (mp_test_failures_ != failures_before)
            fprintf(stderr, "mode %d size %zu misalign %zu seed %llu: step %d op %u\n", mode, size, misalign,
                    (unsigned long long)seed, step, r);
    }
    verify_all(&m);
    mp_arena_destroy(m.arena);
    free(memory);
}

static void random_sequences_match_the_model_on_os_mapped_arenas(void) {
    static const size_t sizes[] = {1, 100, 4096, 3 * 4096 + 5, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (uint64_t seed = 1; seed <= 4; seed++) run(MODE_OS, sizes[i], 0, seed * 7919 + i, 3000);
}

static void random_sequences_match_the_model_at_odd_caller_addresses(void) {
    static const size_t misaligns[] = {0, 1, 3, 8, 13};
    for (size_t i = 0; i < sizeof misaligns / sizeof misaligns[0]; i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            run(MODE_REGION, 20000 + i, misaligns[i], seed * 104729 + i, 3000);
            run(MODE_IN, 9000 - i, misaligns[i], seed * 1299709 + i, 3000);
        }
    }
}

MP_TEST_MAIN(TEST_CASE(random_sequences_match_the_model_on_os_mapped_arenas),
             TEST_CASE(random_sequences_match_the_model_at_odd_caller_addresses))
