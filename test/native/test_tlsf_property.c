/*
 * test_tlsf_property.c - differential property test of the TLSF allocator.
 *
 * Seeded random sequences of alloc / alloc_aligned / calloc / free / realloc
 * / reset and interior-pointer frees run against a reference model (a table
 * of live blocks with their size, alignment and fill byte). After every
 * operation: check() == 0; every block handed out lies inside the region, is
 * aligned as asked, does not overlap any live block and keeps its contents
 * (verified on free and realloc); the O(1) counters equal the model's; an
 * allocation fails only when free_stats says no free block is large enough.
 * Several seeds over configs that vary sl_log2, the region size, thread
 * safety and the region kind (mapped, caller memory at a 16-aligned base,
 * create_in), each with the front cache off and on (the default budget, or a
 * 3 KiB one that fills up), then with small-object spans too. With the
 * cache or spans on, the drained heap merges back into one free block after
 * trim (which flushes the cache and gives back the kept empty spans).
 */
#include "mp_test.h"

#define KIB ((size_t)1024)
#define MAX_LIVE 160
#define OPS_PER_RUN 2500

typedef struct model_block {
    uint8_t *ptr;
    size_t size, align;
    uint8_t fill;
} model_block;

typedef struct model {
    MP_Tlsf *t;
    uint8_t *base;
    size_t region_bytes;
    model_block live[MAX_LIVE];
    size_t n_live;
    size_t requested_bytes;
    uint64_t allocs, frees, reallocs, failed, rejected;
    uint64_t rng;
    size_t small_bytes; /* spans on: small objects count their slot as requested */
    int broken; /* stop a run at the first failure, its messages say why */
} model;

static uint8_t byte_at(uint8_t fill, size_t i) { return (uint8_t)(fill ^ (i * 31u) ^ (i >> 8)); }

static void fill_block(uint8_t *p, size_t n, uint8_t fill) {
    for (size_t i = 0; i < n; i++) p[i] = byte_at(fill, i);
}

static int intact(const uint8_t *p, size_t n, uint8_t fill) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte_at(fill, i)) return 0;
    return 1;
}

static void expect(model *m, int ok, const char *what) {
    if (!ok && !m->broken) {
        m->broken = 1;
        mp_test_failures_++;
        fprintf(stderr, "property violated: %s (rng state %" PRIu64 ")\n", what, m->rng);
    }
}

/* A new or moved block of `size` bytes at `p` must be inside, aligned and
 * disjoint from every other live block (index `self` is skipped). */
static void expect_placement(model *m, const uint8_t *p, size_t size, size_t align, size_t self) {
    size_t usable = mp_tlsf_usable_size(m->t, p);
    expect(m, usable >= size && usable >= 16, "usable size covers the request");
    expect(m, p >= m->base && p + usable <= m->base + m->region_bytes, "block inside the region");
    expect(m, ((uintptr_t)p & ((align < 16 ? 16 : align) - 1)) == 0, "alignment honoured");
    for (size_t i = 0; i < m->n_live; i++) {
        if (i == self) continue;
        const uint8_t *q = m->live[i].ptr;
        size_t qn = mp_tlsf_usable_size(m->t, q);
        expect(m, p + usable <= q || q + qn <= p, "no overlap with a live block");
    }
}

static void expect_counters(model *m) {
    MP_HeapStats st;
    expect(m, mp_tlsf_stats(m->t, &st) == MP_OK, "stats");
    size_t in_use = 0;
    for (size_t i = 0; i < m->n_live; i++) in_use += mp_tlsf_usable_size(m->t, m->live[i].ptr);
    expect(m, st.live_block_count == m->n_live, "live_block_count");
    if (m->small_bytes == 0) {
        expect(m, st.bytes_requested == m->requested_bytes, "bytes_requested");
    } else {
        /* A small object counts its slot size, between the request and the usable size. */
        expect(m, st.bytes_requested >= m->requested_bytes && st.bytes_requested <= in_use, "bytes_requested");
    }
    expect(m, st.bytes_in_use == in_use, "bytes_in_use");
    expect(m, st.bytes_in_use_peak >= in_use, "bytes_in_use_peak");
    expect(m, st.alloc_count == m->allocs && st.free_count == m->frees, "alloc/free counts");
    expect(m, st.realloc_count == m->reallocs, "realloc_count");
    expect(m, st.failed_alloc_count == m->failed && st.rejected_free_count == m->rejected, "failure counts");
}

static size_t random_size(model *m) {
    uint64_t r = mp_test_rand(&m->rng);
    switch (r % 8) {
    case 0: return (size_t)(r >> 8) % 33;                      /* tiny */
    case 1: case 2: case 3: return (size_t)(r >> 8) % 600;     /* small */
    case 4: case 5: return (size_t)(r >> 8) % 5000;            /* medium */
    case 6: return (size_t)(r >> 8) % (m->region_bytes / 8);   /* large */
    default: return (size_t)(r >> 8) % (m->region_bytes / 2); /* often too large */
    }
}

static void add_live(model *m, uint8_t *p, size_t size, size_t align) {
    model_block *b = &m->live[m->n_live++];
    b->ptr = p;
    b->size = size;
    b->align = align;
    b->fill = (uint8_t)mp_test_rand(&m->rng);
    fill_block(p, size, b->fill);
    m->requested_bytes += size;
    m->allocs++;
}

static void after_failed_alloc(model *m, size_t size, int plain) {
    m->failed++;
    MP_ErrorInfo e = mp_last_error();
    expect(m, e.status == MP_ERR_OUT_OF_MEMORY, "allocation fails only for lack of memory");
    MP_FreeStats fs;
    expect(m, mp_tlsf_free_stats(m->t, &fs) == MP_OK, "free_stats");
    /* With spans, free slots of larger classes count as free blocks too. */
    if (plain && (m->small_bytes == 0 || size > MP_TLSF_SMALL_MAX_BYTES))
        expect(m, fs.largest_free_block_bytes < size, "plain alloc fails only if no block fits");
}

static void op_alloc(model *m, int kind) {
    size_t size = random_size(m), align = 0;
    uint8_t *p;
    if (kind == 1) {
        align = (size_t)1 << (mp_test_rand(&m->rng) % 13);
        p = mp_tlsf_alloc_aligned(m->t, size, align);
    } else if (kind == 2) {
        p = mp_tlsf_calloc(m->t, size);
        if (p != NULL) {
            int zero = 1;
            for (size_t i = 0; i < size && zero; i++) zero = p[i] == 0;
            expect(m, zero, "calloc returns zeroed bytes");
        }
    } else {
        p = mp_tlsf_alloc(m->t, size);
    }
    if (p == NULL) {
        after_failed_alloc(m, size, kind != 1);
        return;
    }
    expect_placement(m, p, size, align, SIZE_MAX);
    add_live(m, p, size, align);
}

static void op_free(model *m) {
    size_t i = (size_t)(mp_test_rand(&m->rng) % m->n_live);
    model_block b = m->live[i];
    expect(m, intact(b.ptr, b.size, b.fill), "contents intact until free");
    expect(m, mp_tlsf_free(m->t, b.ptr) == MP_OK, "free of a live block");
    m->live[i] = m->live[--m->n_live];
    m->requested_bytes -= b.size;
    m->frees++;
}

static void op_interior_free(model *m) {
    size_t i = (size_t)(mp_test_rand(&m->rng) % m->n_live);
    uint8_t *p = m->live[i].ptr + 16 * (1 + mp_test_rand(&m->rng) % 4);
    if (p >= m->live[i].ptr + mp_tlsf_usable_size(m->t, m->live[i].ptr)) return;
    expect(m, mp_tlsf_free(m->t, p) == MP_ERR_INVALID_ADDRESS, "interior free refused");
    m->rejected++;
}

static void op_realloc(model *m) {
    size_t size = random_size(m);
    if (m->n_live == 0 || mp_test_rand(&m->rng) % 10 == 0) {
        void *p = NULL;
        if (mp_tlsf_realloc(m->t, &p, size) != MP_OK) {
            expect(m, p == NULL, "failed realloc(NULL) leaves NULL");
            after_failed_alloc(m, size, 1);
            return;
        }
        expect_placement(m, p, size, 0, SIZE_MAX);
        add_live(m, p, size, 0);
        m->reallocs++;
        return;
    }
    size_t i = (size_t)(mp_test_rand(&m->rng) % m->n_live);
    model_block *b = &m->live[i];
    void *p = b->ptr;
    MP_Status st = mp_tlsf_realloc(m->t, &p, size);
    size_t kept = b->size < size ? b->size : size;
    if (st != MP_OK) {
        expect(m, p == b->ptr && intact(b->ptr, b->size, b->fill), "failed realloc leaves the block");
        after_failed_alloc(m, size, 0);
        return;
    }
    expect(m, intact(p, kept, b->fill), "realloc keeps the contents");
    b->ptr = p;
    expect_placement(m, p, size, b->align, i);
    fill_block(p, size, b->fill);
    m->requested_bytes = m->requested_bytes - b->size + size;
    b->size = size;
    m->reallocs++;
}

static void step(model *m) {
    uint64_t r = mp_test_rand(&m->rng) % 1000;
    if (r < 3) {
        expect(m, mp_tlsf_reset(m->t) == MP_OK, "reset");
        m->n_live = 0;
        m->requested_bytes = 0;
    } else if (m->n_live > 0 && (r < 380 || m->n_live == MAX_LIVE)) {
        op_free(m);
    } else if (m->n_live > 0 && r < 400) {
        op_interior_free(m);
    } else if (r < 560) {
        op_realloc(m);
    } else {
        op_alloc(m, r < 700 ? 1 : r < 780 ? 2 : 0);
    }
    expect(m, mp_tlsf_check(m->t) == 0, "check() == 0 after the operation");
    expect_counters(m);
}

enum region_kind { MAPPED, CALLER, INSIDE };

static void run_with_cache(size_t region_bytes, unsigned sl_log2, uint32_t flags, enum region_kind kind,
                           uint64_t seed, size_t cache_bytes, size_t small_bytes) {
    static model m;
    memset(&m, 0, sizeof m);
    m.rng = seed;
    m.region_bytes = region_bytes;
    m.small_bytes = small_bytes;
    MP_TlsfConfig cfg = {region_bytes, sl_log2, flags, NULL, cache_bytes, small_bytes};
    uint8_t *mem = NULL;
    if (kind == CALLER) {
        mem = aligned_alloc(64, (region_bytes + 127) & ~(size_t)63);
        REQUIRE(mem != NULL);
        cfg.region = mem + 16; /* base 16-aligned, not 32-aligned */
        m.t = mp_tlsf_create_ex(&cfg);
    } else if (kind == INSIDE) {
        size_t need = mp_tlsf_footprint(&cfg);
        mem = malloc(need);
        REQUIRE(mem != NULL);
        m.t = mp_tlsf_create_in(mem, need, &cfg);
    } else {
        m.t = mp_tlsf_create_ex(&cfg);
    }
    REQUIRE(m.t != NULL);
    m.base = mp_tlsf_base(m.t);
    for (int i = 0; i < OPS_PER_RUN && !m.broken; i++) step(&m);
    while (m.n_live > 0 && !m.broken) {
        op_free(&m);
        expect(&m, mp_tlsf_check(m.t) == 0, "check() == 0 while draining");
    }
    MP_FreeStats fs;
    CHECK_STATUS(mp_tlsf_trim(m.t, NULL), MP_OK);
    CHECK(mp_tlsf_check(m.t) == 0);
    CHECK_STATUS(mp_tlsf_free_stats(m.t, &fs), MP_OK);
    CHECK(fs.free_block_count == 1); /* everything merged back */
    mp_tlsf_destroy(m.t);
    free(mem);
}

/* The same sequence with the cache off, then on, then on with small-object
 * spans (all small sizes, or up to 100 bytes). */
static void run(size_t region_bytes, unsigned sl_log2, uint32_t flags, enum region_kind kind, uint64_t seed) {
    size_t cache = seed % 2 ? 3 * KIB : MP_TLSF_CACHE_DEFAULT_BYTES;
    run_with_cache(region_bytes, sl_log2, flags, kind, seed, 0, 0);
    run_with_cache(region_bytes, sl_log2, flags, kind, seed, cache, 0);
    run_with_cache(region_bytes, sl_log2, flags, kind, seed, cache, seed % 2 ? 100 : MP_TLSF_SMALL_MAX_BYTES);
}

static void test_model_agrees_on_default_config(void) {
    for (uint64_t seed = 1; seed <= 4; seed++) run(256 * KIB, 0, 0, MAPPED, seed);
}

static void test_model_agrees_with_one_second_level_bit_thread_safe(void) {
    for (uint64_t seed = 10; seed <= 12; seed++) run(KIB * KIB, 1, MP_FLAG_THREAD_SAFE, MAPPED, seed);
}

static void test_model_agrees_in_caller_memory_at_16_byte_aligned_base(void) {
    for (uint64_t seed = 20; seed <= 22; seed++) run(96 * KIB + 48, 3, 0, CALLER, seed);
}

static void test_model_agrees_when_built_inside_caller_memory(void) {
    for (uint64_t seed = 30; seed <= 32; seed++) run(64 * KIB, 2, 0, INSIDE, seed);
}

static void test_model_agrees_in_a_large_region(void) {
    for (uint64_t seed = 40; seed <= 41; seed++) run(8 * KIB * KIB, 4, 0, MAPPED, seed);
}

static void test_model_agrees_in_a_tiny_region(void) {
    for (uint64_t seed = 50; seed <= 53; seed++) run(2 * KIB, 5, 0, MAPPED, seed);
}

MP_TEST_MAIN(TEST_CASE(test_model_agrees_on_default_config),
             TEST_CASE(test_model_agrees_with_one_second_level_bit_thread_safe),
             TEST_CASE(test_model_agrees_in_caller_memory_at_16_byte_aligned_base),
             TEST_CASE(test_model_agrees_when_built_inside_caller_memory),
             TEST_CASE(test_model_agrees_in_a_large_region), TEST_CASE(test_model_agrees_in_a_tiny_region))
