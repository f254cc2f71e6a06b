/*
 * test_slab_property.c - differential property test of the slab allocator.
 * Seeded random sequences of alloc / alloc_aligned / calloc / free / realloc /
 * invalid frees / reset run against a reference model (the table of live
 * blocks and the expected counters) under several configurations. After every
 * operation: check() == 0, every MP_HeapStats field equals the model, the
 * class of each new block is exactly the first one fitting size and
 * alignment, blocks never overlap and stay inside the region, and every
 * block's pattern is intact when it is freed or moved.
 */
#include "mp_test.h"

#include <stdbool.h>

enum { MAX_LIVE = 400, OPS = 2500, SEEDS = 4 };

typedef struct block {
    unsigned char *ptr;
    size_t size, usable;
    unsigned char tag;
} block;

typedef struct model {
    MP_Slab *s;
    block live[MAX_LIVE];
    size_t count;
    MP_HeapStats expect;
    size_t slot[MP_SLAB_MAX_CLASSES], align[MP_SLAB_MAX_CLASSES];
    size_t classes;
    unsigned char *lo, *hi;
    uint64_t rng;
    unsigned char next_tag;
} model;

static size_t lowbit(size_t x) { return x & (~x + 1); }

/* Alignment of every slot of a class: its size's, capped by the base's. */
static size_t class_align(const unsigned char *base, size_t slot_bytes) {
    size_t a = lowbit(slot_bytes), b = lowbit((size_t)(uintptr_t)base);
    return a < b ? a : b;
}

static unsigned char pattern(unsigned char tag, size_t i) { return (unsigned char)(tag + i * 7u); }

static void fill(block *b) {
    for (size_t i = 0; i < b->usable; i++) b->ptr[i] = pattern(b->tag, i);
}

static bool intact(const block *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b->ptr[i] != pattern(b->tag, i)) return false;
    return true;
}

/* The class the allocator must pick: first slot >= size with alignment. */
static size_t expected_class(const model *m, size_t size, size_t align) {
    size_t c = 0;
    while (c < m->classes && (m->slot[c] < size || m->align[c] < align)) c++;
    return c;
}

static void init_model(model *m, MP_Slab *s, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->s = s;
    m->rng = seed;
    mp_slab_stats(s, &m->expect);
    m->classes = mp_slab_class_count(s);
    unsigned char *base = mp_slab_base(s);
    for (size_t c = 0; c < m->classes; c++) {
        MP_SlabClassStats cs;
        mp_slab_class_stats(s, c, &cs);
        m->slot[c] = cs.slot_bytes;
        m->align[c] = class_align(base, cs.slot_bytes);
    }
    m->lo = base;
    m->hi = base + m->expect.region_bytes;
}

static void note_peak(model *m) {
    if (m->expect.bytes_in_use > m->expect.bytes_in_use_peak) m->expect.bytes_in_use_peak = m->expect.bytes_in_use;
}

/* A failed allocation for class `c` is legitimate only when that class has
 * no free slot and no slab is left in the pool. */
static void check_really_full(const model *m, size_t c) {
    MP_SlabClassStats cs;
    MP_FreeStats fs;
    mp_slab_class_stats(m->s, c, &cs);
    mp_slab_free_stats(m->s, &fs);
    size_t free_slots = 0;
    for (size_t k = 0; k < m->classes; k++) {
        MP_SlabClassStats ks;
        mp_slab_class_stats(m->s, k, &ks);
        free_slots += ks.slots_free;
    }
    CHECK(cs.slots_free == 0);
    CHECK(fs.free_block_count == free_slots); /* no pooled or never-used slab */
}

/* Verifies a new block (class, alignment, bounds, no overlap) and adds it. */
static void adopt(model *m, unsigned char *p, size_t size, size_t align, size_t c) {
    size_t usable = mp_slab_usable_size(m->s, p);
    CHECK(usable == m->slot[c]);
    CHECK((uintptr_t)p % m->align[c] == 0 && (uintptr_t)p % align == 0);
    CHECK(p >= m->lo && p + usable <= m->hi);
    bool overlap = false;
    for (size_t i = 0; i < m->count; i++)
        overlap |= p < m->live[i].ptr + m->live[i].usable && m->live[i].ptr < p + usable;
    CHECK(!overlap);
    block *b = &m->live[m->count++];
    b->ptr = p;
    b->size = size;
    b->usable = usable;
    b->tag = m->next_tag++;
    fill(b);
    m->expect.bytes_in_use += usable;
    m->expect.bytes_requested += size;
    m->expect.live_block_count++;
}

static size_t random_size(model *m) {
    uint64_t r = mp_test_rand(&m->rng);
    size_t largest = m->slot[m->classes - 1];
    switch (r % 20) {
    case 0:
        return SIZE_MAX - (size_t)(r >> 8) % 16;
    case 1:
        return largest + 1 + (size_t)(r >> 8) % 100;
    case 2: case 3: case 4: case 5: case 6:
        return (size_t)(r >> 8) % (largest + 1);
    default:
        return (size_t)(r >> 8) % 257;
    }
}

static void op_alloc(model *m, int kind) {
    size_t size = random_size(m);
    size_t align = 1;
    uint64_t r = mp_test_rand(&m->rng);
    unsigned char *p;
    if (kind == 1) {
        align = r % 16 == 0 ? (size_t)(r >> 8) % 100 : (size_t)1 << (r >> 8) % 14;
        p = mp_slab_alloc_aligned(m->s, size, align);
    } else if (kind == 2) {
        p = mp_slab_calloc(m->s, size);
    } else {
        void *q = NULL;
        MP_Status st = mp_slab_realloc(m->s, &q, size);
        CHECK((st == MP_OK) == (q != NULL));
        p = q;
    }
    bool align_ok = align != 0 && (align & (align - 1)) == 0;
    size_t c = align_ok ? expected_class(m, size, align) : m->classes;
    if (p == NULL) {
        MP_Status why = mp_last_error().status;
        m->expect.failed_alloc_count++;
        if (!align_ok)
            CHECK(why == MP_ERR_ALIGNMENT);
        else if (size > m->slot[m->classes - 1])
            CHECK(why == MP_ERR_INVALID_ARGUMENT);
        else if (c == m->classes)
            CHECK(why == MP_ERR_ALIGNMENT);
        else {
            CHECK(why == MP_ERR_OUT_OF_MEMORY);
            check_really_full(m, c);
        }
        return;
    }
    REQUIRE(c < m->classes && m->count < MAX_LIVE);
    if (kind == 2) {
        bool zeroed = true;
        for (size_t i = 0; i < m->slot[c]; i++) zeroed &= p[i] == 0;
        CHECK(zeroed);
    }
    m->expect.alloc_count++;
    adopt(m, p, size, align, c);
    note_peak(m);
}

static void drop(model *m, size_t i) {
    m->expect.bytes_in_use -= m->live[i].usable;
    m->expect.bytes_requested -= m->live[i].size;
    m->expect.live_block_count--;
    m->live[i] = m->live[--m->count];
}

static void op_free(model *m) {
    if (m->count == 0) return;
    size_t i = (size_t)(mp_test_rand(&m->rng) % m->count);
    block b = m->live[i];
    CHECK(intact(&b, b.usable));
    CHECK_STATUS(mp_slab_free(m->s, b.ptr), MP_OK);
    m->expect.free_count++;
    drop(m, i);
    /* The same pointer again is a double free (or foreign, had its slab
     * gone to another class); never accepted. */
    if (mp_test_rand(&m->rng) % 4 == 0) {
        MP_Status st = mp_slab_free(m->s, b.ptr);
        CHECK(st == MP_ERR_DOUBLE_FREE || st == MP_ERR_INVALID_ADDRESS);
        m->expect.rejected_free_count++;
    }
}

static void op_interior_free(model *m) {
    if (m->count == 0) return;
    block *b = &m->live[mp_test_rand(&m->rng) % m->count];
    size_t off = 1 + (size_t)(mp_test_rand(&m->rng) % (b->usable - 1));
    CHECK_STATUS(mp_slab_free(m->s, b->ptr + off), MP_ERR_INVALID_ADDRESS);
    m->expect.rejected_free_count++;
}

static void op_realloc(model *m) {
    if (m->count == 0) return;
    size_t i = (size_t)(mp_test_rand(&m->rng) % m->count);
    block b = m->live[i];
    size_t size = random_size(m);
    void *p = b.ptr;
    MP_Status st = mp_slab_realloc(m->s, &p, size);
    if (st != MP_OK) {
        CHECK(p == b.ptr && intact(&b, b.usable));
        m->expect.failed_alloc_count++;
        if (size > m->slot[m->classes - 1]) {
            CHECK(st == MP_ERR_INVALID_ARGUMENT);
        } else {
            size_t c = expected_class(m, size, class_align(m->lo, b.usable));
            if (c == m->classes)
                CHECK(st == MP_ERR_ALIGNMENT);
            else {
                CHECK(st == MP_ERR_OUT_OF_MEMORY);
                check_really_full(m, c);
            }
        }
        return;
    }
    m->expect.realloc_count++;
    if (size <= b.usable) {
        CHECK(p == b.ptr && intact(&b, b.usable));
        m->expect.bytes_requested += size - b.size; /* wraps back when smaller */
        m->live[i].size = size;
        return;
    }
    block moved = b;
    moved.ptr = p;
    CHECK(intact(&moved, b.usable)); /* the whole old slot was copied */
    drop(m, i);
    size_t c = expected_class(m, size, class_align(m->lo, b.usable));
    REQUIRE(c < m->classes);
    adopt(m, p, size, 1, c);
    note_peak(m);
}

static void op_reset(model *m) {
    CHECK_STATUS(mp_slab_reset(m->s), MP_OK);
    m->count = 0;
    m->expect.bytes_in_use = 0;
    m->expect.bytes_in_use_peak = 0;
    m->expect.bytes_requested = 0;
    m->expect.live_block_count = 0;
}

static void run(MP_Slab *s, uint64_t seed) {
    static model m;
    init_model(&m, s, seed);
    for (int op = 0; op < OPS && mp_test_failures_ == 0; op++) {
        uint64_t r = mp_test_rand(&m.rng) % 100;
        bool room = m.count < MAX_LIVE;
        if (r < 30 && room)
            op_alloc(&m, 0);
        else if (r < 38 && room)
            op_alloc(&m, 1);
        else if (r < 43 && room)
            op_alloc(&m, 2);
        else if (r < 46 && room)
            op_alloc(&m, 3);
        else if (r < 78)
            op_free(&m);
        else if (r < 81)
            op_interior_free(&m);
        else if (r < 99)
            op_realloc(&m);
        else
            op_reset(&m);
        MP_HeapStats got;
        CHECK_STATUS(mp_slab_stats(s, &got), MP_OK);
        CHECK(memcmp(&got, &m.expect, sizeof got) == 0);
        size_t bad = mp_slab_check(s);
        if (bad != 0) fprintf(stderr, "seed %llu op %d: check() = %zu\n", (unsigned long long)seed, op, bad);
        CHECK(bad == 0);
    }
    for (size_t i = 0; i < m.count; i++) CHECK(intact(&m.live[i], m.live[i].usable));
}

static MP_SlabConfig config(size_t slabs, size_t slab_bytes) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = slabs * slab_bytes;
    cfg.slab_bytes = slab_bytes;
    return cfg;
}

static void run_seeds(const MP_SlabConfig *cfg) {
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        MP_Slab *s = mp_slab_create_ex(cfg);
        REQUIRE(s != NULL);
        run(s, seed * 0x9E3779B9u);
        mp_slab_destroy(s);
    }
}

static const size_t odd_classes[] = {8, 24, 40, 64, 96, 200, 512, 1000, 4096};

static void default_classes_in_64k_slabs_match_the_model(void) {
    MP_SlabConfig cfg = config(8, 65536);
    run_seeds(&cfg);
}

static void odd_classes_in_4k_slabs_match_the_model(void) {
    MP_SlabConfig cfg = config(6, 4096);
    cfg.class_sizes = odd_classes;
    cfg.class_count = sizeof odd_classes / sizeof odd_classes[0];
    run_seeds(&cfg);
}

static void thread_safe_instance_with_small_classes_matches_the_model(void) {
    MP_SlabConfig cfg = config(5, 8192);
    cfg.max_class_bytes = 1024;
    cfg.flags = MP_FLAG_THREAD_SAFE;
    run_seeds(&cfg);
}

static void create_in_instance_matches_the_model(void) {
    MP_SlabConfig cfg = config(10, 4096);
    size_t need = mp_slab_footprint(&cfg);
    unsigned char *mem = malloc(need + 16);
    REQUIRE(mem != NULL);
    for (uint64_t seed = 11; seed < 11 + SEEDS; seed++) {
        MP_Slab *s = mp_slab_create_in(mem + 16, need, &cfg);
        REQUIRE(s != NULL);
        run(s, seed);
        mp_slab_destroy(s);
    }
    free(mem);
}

static void caller_region_aligned_to_16_only_matches_the_model(void) {
    static const size_t classes[] = {16, 48, 80, 128, 4080};
    unsigned char *raw = aligned_alloc(4096, 7 * 4096);
    REQUIRE(raw != NULL);
    MP_SlabConfig cfg = config(6, 4096);
    cfg.class_sizes = classes;
    cfg.class_count = 5;
    cfg.region = raw + 16;
    run_seeds(&cfg);
    free(raw);
}

typedef struct hooks {
    size_t constructed, destructed;
} hooks;

static void count_ctor(void *obj, size_t n, void *ctx) {
    (void)obj, (void)n;
    ((hooks *)ctx)->constructed++;
}

static void count_dtor(void *obj, size_t n, void *ctx) {
    (void)obj, (void)n;
    ((hooks *)ctx)->destructed++;
}

static void every_constructed_slot_is_destructed_exactly_once(void) {
    hooks h = {0, 0};
    MP_SlabConfig cfg = config(6, 4096);
    cfg.ctor = count_ctor;
    cfg.dtor = count_dtor;
    cfg.hook_ctx = &h;
    run_seeds(&cfg);
    CHECK(h.constructed > 0 && h.constructed == h.destructed);
}

MP_TEST_MAIN(TEST_CASE(default_classes_in_64k_slabs_match_the_model),
             TEST_CASE(odd_classes_in_4k_slabs_match_the_model),
             TEST_CASE(thread_safe_instance_with_small_classes_matches_the_model),
             TEST_CASE(create_in_instance_matches_the_model),
             TEST_CASE(caller_region_aligned_to_16_only_matches_the_model),
             TEST_CASE(every_constructed_slot_is_destructed_exactly_once))
