/*
 * test_pool_compact.c - compaction of the managed pool under every strategy:
 * after an unbudgeted pass with nothing pinned each backend's free space is
 * optimal (one free block for TLSF and fit lists; at most one free block per
 * order for buddy; ceil(live / slots per slab) slabs per slab class), block
 * contents survive every single move, mp_pool_check holds after every step,
 * pinned blocks stay put and the rest packs around them, budgeted passes
 * resume and complete, and a random differential sequence of alloc, free,
 * pin, unpin, write and defragment keeps a model of every block's bytes.
 * A header that fails validation in the middle of a TLSF pass stops it with
 * MP_ERR_CORRUPTION and leaves every block intact and the heap consistent.
 */
#include "buddy_internal.h"
#include "mp_test.h"
#include "pool_internal.h"
#include "slab_internal.h"
#include "tlsf_internal.h"

#define KIB ((size_t)1024)
#define MAX_BLOCKS 2048
#define MAX_SIZE 4096

static const MP_PoolStrategy strategies[] = {MP_STRATEGY_FIRST_FIT, MP_STRATEGY_BEST_FIT, MP_STRATEGY_WORST_FIT,
                                             MP_STRATEGY_BUDDY,     MP_STRATEGY_SLAB,     MP_STRATEGY_TLSF,
                                             MP_STRATEGY_AUTO};
#define STRATEGY_COUNT (sizeof strategies / sizeof strategies[0])

/* The pool and what every live block must hold. */
typedef struct model {
    MP_Pool *p;
    uint64_t rng;
    size_t n;
    MP_Handle h[MAX_BLOCKS];
    size_t size[MAX_BLOCKS];
    uint64_t seed[MAX_BLOCKS];
    size_t pinned_offset[MAX_BLOCKS]; /* SIZE_MAX unless pinned */
} model;

static size_t rnd(model *m, size_t n) { return n ? (size_t)(mp_test_rand(&m->rng) % n) : 0; }

static void fill(uint8_t *buf, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(seed + i * 0x9Du + (i >> 7));
}

static size_t offset_of(const model *m, size_t i) {
    MP_PoolBlockInfo info;
    return mp_pool_block_info(m->p, m->h[i], &info) == MP_OK ? info.offset : SIZE_MAX;
}

/* Contents of every live block, pinned blocks where they were, check(). */
static int model_ok(const model *m) {
    uint8_t got[MAX_SIZE], want[MAX_SIZE];
    for (size_t i = 0; i < m->n; i++) {
        fill(want, m->size[i], m->seed[i]);
        if (mp_pool_read(m->p, m->h[i], 0, got, m->size[i]) != MP_OK || memcmp(got, want, m->size[i]) != 0)
            return 0;
        if (m->pinned_offset[i] != SIZE_MAX && offset_of(m, i) != m->pinned_offset[i]) return 0;
    }
    return mp_pool_check(m->p) == 0;
}

static size_t request_size(model *m) {
    static const size_t sizes[] = {16, 40, 64, 100, 256, 300, 1024, 1500, 4096};
    return rnd(m, 3) == 0 ? 1 + rnd(m, MAX_SIZE) : sizes[rnd(m, sizeof sizes / sizeof sizes[0])];
}

static int model_alloc(model *m, size_t size, int pinned) {
    uint8_t buf[MAX_SIZE];
    if (m->n == MAX_BLOCKS || mp_pool_alloc(m->p, size, 1, pinned ? MP_ALLOC_PINNED : 0, &m->h[m->n]) != MP_OK)
        return 0;
    m->size[m->n] = size;
    m->seed[m->n] = mp_test_rand(&m->rng);
    fill(buf, size, m->seed[m->n]);
    if (mp_pool_write(m->p, m->h[m->n], 0, buf, size) != MP_OK) return 0;
    m->pinned_offset[m->n] = SIZE_MAX;
    m->n++;
    if (pinned) m->pinned_offset[m->n - 1] = offset_of(m, m->n - 1);
    return 1;
}

static void model_free(model *m, size_t i) {
    CHECK_STATUS(mp_pool_free(m->p, m->h[i]), MP_OK);
    m->n--;
    m->h[i] = m->h[m->n];
    m->size[i] = m->size[m->n];
    m->seed[i] = m->seed[m->n];
    m->pinned_offset[i] = m->pinned_offset[m->n];
}

static void model_open(model *m, MP_PoolStrategy strategy, size_t bytes, size_t alignment, uint64_t seed) {
    MP_PoolConfig cfg = {.pool_bytes = bytes, .strategy = strategy, .alignment = alignment, .defrag_enabled = 1};
    memset(m, 0, sizeof *m);
    m->rng = seed;
    m->p = mp_pool_create_ex(&cfg);
}

/* Fills the pool with random sizes, then frees every other block at random. */
static void model_fragment(model *m, size_t pin_every) {
    while (m->n < MAX_BLOCKS / 2 && model_alloc(m, request_size(m), pin_every != 0 && rnd(m, pin_every) == 0)) {
    }
    for (size_t i = 0; i < m->n; i++)
        if (rnd(m, 2) == 0) model_free(m, i);
}

/* ------------------------------------------------------- optimal free space */

/* Free blocks of a TLSF or fit-list backend. */
static size_t free_blocks(const MP_Pool *p, unsigned bi) {
    MP_FreeStats fs;
    return pool_be_free_stats(p, bi, &fs) == MP_OK ? fs.free_block_count : SIZE_MAX;
}

/* Buddy optimum: at most one free block per order among those that have a
 * buddy inside the region (top-level blocks of the forest have none). */
static int buddy_optimal(const MP_Buddy *b) {
    size_t per_order[MP_BUDDY_MAX_ORDERS] = {0};
    for (size_t u = 0; u < b->unit_count;) {
        uint8_t tag = buddy_tag_at(b, u);
        unsigned o = buddy_tag_order(tag);
        size_t parent = u & ~(2 * buddy_units(o) - 1);
        if (!(tag & MP_BUDDY_TAG_USED) && o < b->top_order && parent + 2 * buddy_units(o) <= b->unit_count)
            per_order[o]++;
        u += buddy_units(o);
    }
    for (unsigned o = 0; o < MP_BUDDY_MAX_ORDERS; o++)
        if (per_order[o] > 1) return 0;
    return 1;
}

/* Slab optimum: per class, slabs holding live blocks = ceil(live / slots per slab). */
static int slab_optimal(const MP_Pool *p, unsigned bi) {
    const MP_Slab *s = p->backends[bi].u.slab;
    static uint8_t used[1u << 16];
    size_t live[MP_SLAB_MAX_CLASSES] = {0}, slabs[MP_SLAB_MAX_CLASSES] = {0};
    memset(used, 0, sizeof used);
    for (uint32_t i = 0; i < p->high_water; i++) {
        const pool_slot *sl = &p->slots[i];
        if (!pool_slot_live(sl) || pool_backend_of(p, sl->ptr) != bi) continue;
        uint32_t idx = (uint32_t)((sl->ptr - s->base) >> s->slab_shift);
        if (idx >= sizeof used) return 0;
        live[slab_cls(s, idx)]++;
        if (!used[idx]) slabs[slab_cls(s, idx)]++;
        used[idx] = 1;
    }
    for (uint32_t c = 0; c < s->class_count; c++) {
        size_t per = s->classes[c].slots_per_slab;
        if (slabs[c] != (live[c] + per - 1) / per) return 0;
    }
    return 1;
}

static int backends_optimal(const MP_Pool *p) {
    for (unsigned bi = 0; bi < p->backend_count; bi++) {
        const pool_backend *be = &p->backends[bi];
        int ok = be->kind == POOL_BE_BUDDY  ? buddy_optimal(be->u.buddy)
                 : be->kind == POOL_BE_SLAB ? slab_optimal(p, bi)
                                            : free_blocks(p, bi) <= 1;
        if (!ok) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------- tests */

static void unbudgeted_pass_leaves_optimal_free_space_for_every_strategy(void) {
    for (size_t k = 0; k < STRATEGY_COUNT; k++) {
        model m;
        model_open(&m, strategies[k], 512 * KIB, 0, 11 + k);
        REQUIRE(m.p != NULL);
        model_fragment(&m, 0);
        MP_PoolOwnerStats before, after;
        CHECK_STATUS(mp_pool_owner_stats(m.p, 1, &before), MP_OK);
        MP_DefragResult r;
        CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_OK);
        CHECK(r.complete == 1 && r.blocks_moved > 0 && r.bytes_moved > 0);
        CHECK(model_ok(&m));
        CHECK(backends_optimal(m.p));
        if (strategies[k] != MP_STRATEGY_BUDDY && strategies[k] != MP_STRATEGY_SLAB &&
            strategies[k] != MP_STRATEGY_AUTO)
            CHECK(r.fragmentation_after == 0.0 && r.fragmentation_before > 0.0);
        CHECK_STATUS(mp_pool_owner_stats(m.p, 1, &after), MP_OK);
        CHECK(after.bytes_in_use == before.bytes_in_use); /* charges unchanged */
        CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_OK);
        CHECK(r.blocks_moved == 0 && r.complete == 1); /* nothing left to do */
        mp_pool_destroy(m.p);
    }
}

static void one_block_per_budgeted_pass_keeps_contents_after_every_move(void) {
    for (size_t k = 0; k < STRATEGY_COUNT; k++) {
        model m;
        model_open(&m, strategies[k], 128 * KIB, 0, 101 + k);
        REQUIRE(m.p != NULL);
        model_fragment(&m, 0);
        MP_DefragResult r = {0};
        size_t passes = 0, moved = 0;
        do {
            uint64_t relocations = mp_pool_relocation_count(m.p);
            CHECK_STATUS(mp_pool_defragment(m.p, 1, &r), MP_OK);
            CHECK(r.blocks_moved <= 1);
            CHECK(mp_pool_relocation_count(m.p) == relocations + r.blocks_moved);
            moved += r.blocks_moved;
            CHECK(model_ok(&m));
        } while (!r.complete && ++passes < 100000);
        CHECK(r.complete == 1 && moved > 0);
        CHECK(backends_optimal(m.p));
        mp_pool_destroy(m.p);
    }
}

static void pinned_blocks_stay_and_the_rest_packs_around_them(void) {
    for (size_t k = 0; k < STRATEGY_COUNT; k++) {
        model m;
        model_open(&m, strategies[k], 256 * KIB, 0, 201 + k);
        REQUIRE(m.p != NULL);
        model_fragment(&m, 16);
        MP_DefragResult r;
        CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_OK);
        CHECK(model_ok(&m)); /* includes: pinned offsets unchanged */
        MP_PoolStats st;
        CHECK_STATUS(mp_pool_stats(m.p, &st), MP_OK);
        CHECK(st.pinned_block_count > 0);
        /* Sliding backends: every free block ends at a pinned block or is
         * the last one. */
        if (m.p->backends[0].kind == POOL_BE_TLSF || m.p->backends[0].kind == POOL_BE_FITLIST)
            CHECK(free_blocks(m.p, 0) <= st.pinned_block_count + 1);
        /* Unpinning everything lets the next pass reach the optimum. */
        for (size_t i = 0; i < m.n; i++) {
            CHECK_STATUS(mp_pool_unpin(m.p, m.h[i]), MP_OK);
            m.pinned_offset[i] = SIZE_MAX;
        }
        CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_OK);
        CHECK(model_ok(&m));
        CHECK(backends_optimal(m.p));
        mp_pool_destroy(m.p);
    }
}

static void aligned_pools_stay_aligned_through_compaction(void) {
    for (size_t k = 0; k < STRATEGY_COUNT; k++) {
        model m;
        model_open(&m, strategies[k], 256 * KIB, 64, 301 + k);
        REQUIRE(m.p != NULL);
        model_fragment(&m, 0);
        CHECK_STATUS(mp_pool_defragment(m.p, 0, NULL), MP_OK);
        CHECK(model_ok(&m)); /* mp_pool_check verifies every block's alignment */
        for (size_t i = 0; i < m.n; i++) CHECK(offset_of(&m, i) % 64 == 0);
        mp_pool_destroy(m.p);
    }
}

static void random_sequences_keep_the_model_under_every_strategy(void) {
    for (size_t k = 0; k < STRATEGY_COUNT; k++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            model m;
            model_open(&m, strategies[k], 128 * KIB, seed == 3 ? 32 : 0, seed * 7919 + k);
            REQUIRE(m.p != NULL);
            for (int step = 0; step < 1500; step++) {
                size_t op = rnd(&m, 100);
                if (op < 45) {
                    (void)model_alloc(&m, request_size(&m), rnd(&m, 10) == 0);
                } else if (op < 80 && m.n > 0) {
                    model_free(&m, rnd(&m, m.n));
                } else if (op < 85 && m.n > 0) {
                    size_t i = rnd(&m, m.n);
                    CHECK_STATUS(mp_pool_pin(m.p, m.h[i]), MP_OK);
                    m.pinned_offset[i] = offset_of(&m, i);
                } else if (op < 90 && m.n > 0) {
                    size_t i = rnd(&m, m.n);
                    CHECK_STATUS(mp_pool_unpin(m.p, m.h[i]), MP_OK);
                    m.pinned_offset[i] = SIZE_MAX;
                } else {
                    MP_DefragResult r;
                    size_t budget = rnd(&m, 3) == 0 ? 0 : rnd(&m, 8 * KIB);
                    CHECK_STATUS(mp_pool_defragment(m.p, budget, &r), MP_OK);
                    CHECK(budget != 0 || r.complete == 1);
                }
                CHECK(model_ok(&m));
            }
            /* Nothing pinned and no budget: optimal. */
            for (size_t i = 0; i < m.n; i++) {
                CHECK_STATUS(mp_pool_unpin(m.p, m.h[i]), MP_OK);
                m.pinned_offset[i] = SIZE_MAX;
            }
            CHECK_STATUS(mp_pool_defragment(m.p, 0, NULL), MP_OK);
            CHECK(model_ok(&m));
            if (seed != 3) CHECK(backends_optimal(m.p));
            mp_pool_destroy(m.p);
        }
    }
}

/* ------------------------------------------------------------- bad header */

static uint64_t relocations(const MP_Pool *p) {
    MP_PoolStats st;
    return mp_pool_stats(p, &st) == MP_OK ? st.relocation_count : 0;
}

/* A TLSF pass reaches block X whose successor's header (validly tagged: a
 * bug, not random bytes) claims the block below it is free: the pass stops
 * there with MP_ERR_CORRUPTION, X is not touched, the free space the moves
 * before it left (kept unwritten by the packer) is written out, and once the
 * header is mended every block holds its bytes and the heap checks out; a
 * second pass then completes. */
static void a_bad_header_stops_a_tlsf_pass_with_every_block_intact(void) {
    model m;
    model_open(&m, MP_STRATEGY_TLSF, 256 * KIB, 0, 0xbadbeefu);
    CHECK(m.p != NULL);
    model_fragment(&m, 0);
    const MP_Tlsf *t = m.p->backends[0].u.tlsf;
    const tlsf_env *e = &t->env;
    uint8_t *x = NULL;
    for (uint32_t i = 0; i < m.p->high_water; i++) {
        const pool_slot *sl = &m.p->slots[i];
        if (!pool_slot_live(sl)) continue;
        uint8_t *b = sl->ptr - TLSF_HDR_BYTES, *n = b + tlsf_w_bytes(tlsf_peek64(b));
        if (n < e->sentinel && !(tlsf_peek64(n) & TLSF_W_FREE) && (x == NULL || b > x)) x = b;
    }
    CHECK(x != NULL);
    uint8_t *n = x + tlsf_w_bytes(tlsf_peek64(x));
    uint64_t nw0 = tlsf_peek64(n);
    tlsf_hdr_store(e, n, nw0 | TLSF_W_PREV_FREE);
    uint64_t before = relocations(m.p);
    MP_DefragResult r;
    CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_ERR_CORRUPTION);
    CHECK(relocations(m.p) > before); /* blocks below X moved */
    tlsf_hdr_store(e, n, nw0);
    CHECK(model_ok(&m));
    CHECK_STATUS(mp_pool_defragment(m.p, 0, &r), MP_OK);
    CHECK(model_ok(&m));
    CHECK(free_blocks(m.p, 0) == 1);
    mp_pool_destroy(m.p);
}

/* A pass over one TLSF backend takes its fragmentation figures from its own
 * two walks of the heap; they must equal what mp_pool_stats says right
 * before and right after, front-cache blocks (free for observers) and
 * pinned blocks (free space left below them) included, budgeted or not. */
static void a_pass_reports_the_fragmentation_stats_report_around_it(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        for (int variant = 0; variant < 3; variant++) {
            model m;
            model_open(&m, strategies[s], 256 * KIB, 0, 0xf2a6u + (uint64_t)variant);
            REQUIRE(m.p != NULL);
            model_fragment(&m, variant == 1 ? 7 : 0);
            MP_PoolStats st_before, st_after;
            CHECK_STATUS(mp_pool_stats(m.p, &st_before), MP_OK);
            if (strategies[s] == MP_STRATEGY_TLSF) {
                /* The front cache holds freed blocks: the figures count them. */
                const MP_Tlsf *t = m.p->backends[0].u.tlsf;
                CHECK(tlsf_cache_bytes(t) != 0);
            }
            MP_DefragResult r;
            CHECK_STATUS(mp_pool_defragment(m.p, variant == 2 ? 4 * KIB : 0, &r), MP_OK);
            CHECK_STATUS(mp_pool_stats(m.p, &st_after), MP_OK);
            CHECK(r.fragmentation_before == st_before.fragmentation_ratio);
            CHECK(r.fragmentation_after == st_after.fragmentation_ratio);
            CHECK(r.fragmentation_before > 0.0);
            CHECK(model_ok(&m));
            CHECK(mp_pool_check(m.p) == 0);
            mp_pool_destroy(m.p);
        }
    }
}

MP_TEST_MAIN(TEST_CASE(unbudgeted_pass_leaves_optimal_free_space_for_every_strategy),
             TEST_CASE(one_block_per_budgeted_pass_keeps_contents_after_every_move),
             TEST_CASE(pinned_blocks_stay_and_the_rest_packs_around_them),
             TEST_CASE(aligned_pools_stay_aligned_through_compaction),
             TEST_CASE(random_sequences_keep_the_model_under_every_strategy),
             TEST_CASE(a_bad_header_stops_a_tlsf_pass_with_every_block_intact),
             TEST_CASE(a_pass_reports_the_fragmentation_stats_report_around_it))
