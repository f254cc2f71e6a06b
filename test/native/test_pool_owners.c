/*
 * test_pool_owners.c - the managed pool's owner walks and derived counters:
 * owners keep no block list (mp_pool_owner_blocks and mp_pool_free_owner
 * scan the handle table, in slot order), block counts are alloc - free, a
 * slot is 32 bytes with the usable size in granules and the backend taken
 * from the address, a single TLSF backend keeps no counters of its own;
 * mp_pool_check verifies each of these records.
 */
#include "mp_test.h"
#include "pool_internal.h"

#include <stdlib.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define OWNERS 3u
#define MAX_LIVE 64u

static const MP_PoolStrategy strategies[] = {MP_STRATEGY_FIRST_FIT, MP_STRATEGY_BUDDY, MP_STRATEGY_SLAB,
                                             MP_STRATEGY_TLSF, MP_STRATEGY_AUTO};
#define STRATEGY_COUNT (sizeof strategies / sizeof strategies[0])

/* What the test expects: the live handles of each owner. */
typedef struct owner_model {
    MP_Handle live[OWNERS][MAX_LIVE];
    size_t count[OWNERS];
} owner_model;

static uint32_t slot_of(const MP_Pool *p, MP_Handle h) { return (uint32_t)(h & p->index_mask); }

/* The owner's handles as mp_pool_owner_blocks must list them: ascending slot. */
static void expected_order(const MP_Pool *p, const owner_model *m, uint32_t o, MP_Handle *out) {
    memcpy(out, m->live[o], m->count[o] * sizeof *out);
    for (size_t i = 1; i < m->count[o]; i++)
        for (size_t j = i; j > 0 && slot_of(p, out[j - 1]) > slot_of(p, out[j]); j--) {
            MP_Handle t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
}

static void owner_lists_match(const MP_Pool *p, const owner_model *m) {
    for (uint32_t o = 0; o < OWNERS; o++) {
        MP_Handle got[MAX_LIVE], want[MAX_LIVE];
        size_t total = 0;
        CHECK_STATUS(mp_pool_owner_blocks(p, o, got, MAX_LIVE, &total), MP_OK);
        CHECK(total == m->count[o]);
        expected_order(p, m, o, want);
        for (size_t i = 0; i < total && i < MAX_LIVE; i++) CHECK(got[i] == want[i]);
        /* A short array gets the first handles in the same order, and the full total. */
        if (m->count[o] >= 2) {
            MP_Handle two[2] = {0, 0};
            CHECK_STATUS(mp_pool_owner_blocks(p, o, two, 2, &total), MP_OK);
            CHECK(total == m->count[o] && two[0] == want[0] && two[1] == want[1]);
        }
        MP_PoolOwnerStats os;
        CHECK_STATUS(mp_pool_owner_stats(p, o, &os), MP_OK);
        CHECK(os.block_count == m->count[o] && os.alloc_count - os.free_count == m->count[o]);
    }
}

static void owner_walks_follow_interleaved_churn_with_slot_reuse(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_Pool *p = mp_pool_create(MIB, strategies[s]);
        REQUIRE(p != NULL);
        owner_model m;
        memset(&m, 0, sizeof m);
        uint64_t x = 7 + s;
        for (int step = 0; step < 600; step++) {
            uint32_t o = (uint32_t)(mp_test_rand(&x) % OWNERS);
            bool alloc = m.count[o] == 0 || (m.count[o] < MAX_LIVE && mp_test_rand(&x) % 3 != 0);
            if (alloc) {
                MP_Handle h;
                size_t size = 16 + (size_t)(mp_test_rand(&x) % 700);
                CHECK_STATUS(mp_pool_alloc(p, size, o, (uint32_t)(mp_test_rand(&x) % 5 == 0), &h), MP_OK);
                m.live[o][m.count[o]++] = h;
            } else {
                size_t i = (size_t)(mp_test_rand(&x) % m.count[o]);
                CHECK_STATUS(mp_pool_free(p, m.live[o][i]), MP_OK);
                m.live[o][i] = m.live[o][--m.count[o]];
            }
            if (step % 50 == 49) {
                owner_lists_match(p, &m);
                CHECK(mp_pool_check(p) == 0);
            }
        }
        /* free_owner frees exactly owner 1's blocks; the others are intact. */
        MP_Handle gone[MAX_LIVE];
        size_t gone_n = m.count[1], freed = 0;
        memcpy(gone, m.live[1], gone_n * sizeof *gone);
        CHECK_STATUS(mp_pool_free_owner(p, 1, &freed), MP_OK);
        CHECK(freed == gone_n);
        m.count[1] = 0;
        for (size_t i = 0; i < gone_n; i++) CHECK_STATUS(mp_pool_free(p, gone[i]), MP_ERR_DOUBLE_FREE);
        owner_lists_match(p, &m);
        MP_PoolStats st;
        CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
        CHECK(st.allocated_block_count == m.count[0] + m.count[2]);
        CHECK(st.allocated_block_count == st.allocation_count - st.deallocation_count);
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
}

/* Corrupts one record of a fact at a time: check must see each, and pass
 * again once it is restored. */
static void check_sees_every_derived_or_packed_record_disagree(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_AUTO);
    REQUIRE(p != NULL);
    MP_Handle h[6];
    for (int i = 0; i < 6; i++)
        CHECK_STATUS(mp_pool_alloc(p, i < 3 ? 48 : 5000, (uint32_t)(i % 2), i == 4 ? MP_ALLOC_PINNED : 0, &h[i]),
                     MP_OK);
    CHECK_STATUS(mp_pool_free(p, h[1]), MP_OK);
    REQUIRE(mp_pool_check(p) == 0);
    pool_slot *s = &p->slots[slot_of(p, h[0])];
    pool_slot_info *info = pool_info_of(p, s);
    pool_owner *o = &p->owners[pool_info_owner(info)];
    pool_slot saved = *s;
    pool_slot_info saved_info = *info;
    pool_owner saved_owner = *o;
    uint64_t saved_alloc = p->alloc_count;

    info->usable_granules++; /* charge differs from the backend's block */
    CHECK(mp_pool_check(p) != 0);
    *info = saved_info;
    info->link ^= 2u; /* the block names the other owner */
    CHECK(mp_pool_check(p) != 0);
    *info = saved_info;
    info->link |= 1u; /* pinned without being counted */
    CHECK(mp_pool_check(p) != 0);
    *info = saved_info;
    info->size_bytes++; /* requested bytes differ from the counter */
    CHECK(mp_pool_check(p) != 0);
    *info = saved_info;
    s->handle |= POOL_SLOT_FREE; /* not live while the backend holds its block */
    CHECK(mp_pool_check(p) != 0);
    *s = saved;
    s->handle ^= (uint64_t)1 << POOL_PAYLOAD_BITS; /* another pool's tag */
    CHECK(mp_pool_check(p) != 0);
    *s = saved;
    s->handle ^= 1u; /* another slot's index */
    CHECK(mp_pool_check(p) != 0);
    *s = saved;
    o->stats.free_count++; /* owner block count (derived) one short */
    CHECK(mp_pool_check(p) != 0);
    *o = saved_owner;
    o->stats.block_count = 1; /* the stored field must stay unused */
    CHECK(mp_pool_check(p) != 0);
    *o = saved_owner;
    p->alloc_count++; /* pool live count (derived) one too many */
    CHECK(mp_pool_check(p) != 0);
    p->alloc_count = saved_alloc;
    /* A live slot whose address lies in another backend's slice. */
    s->ptr = p->backends[2].lo;
    CHECK(mp_pool_check(p) != 0);
    *s = saved;
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void slot_and_info_are_16_bytes_and_the_backend_follows_from_the_address(void) {
    CHECK(sizeof(pool_slot) == 16 || sizeof(void *) != 8);
    CHECK(sizeof(pool_slot_info) == 16 || sizeof(void *) != 8);
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_AUTO);
    REQUIRE(p != NULL);
    MP_Handle small, medium, large;
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &small), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 1000, 0, 0, &medium), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 100 * KIB, 0, 0, &large), MP_OK);
    CHECK(pool_backend_of(p, p->slots[slot_of(p, small)].ptr) == 0);
    CHECK(pool_backend_of(p, p->slots[slot_of(p, medium)].ptr) == 1);
    CHECK(pool_backend_of(p, p->slots[slot_of(p, large)].ptr) == 2);
    CHECK(p->backends[pool_backend_of(p, p->slots[slot_of(p, large)].ptr)].kind == POOL_BE_BUDDY);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* Above 32 GiB a pool refuses larger blocks (the slot keeps usable / 16 as
 * 32 bits); a 32 GiB block itself is fine. The region is reserved, not
 * touched (the buddy keeps its metadata on the heap). */
static void pools_above_32_gib_refuse_larger_blocks(void) {
    size_t gib = (size_t)1 << 30;
    if (SIZE_MAX / 64 < gib) return; /* 32-bit: no such pool */
    MP_PoolConfig cfg = {.pool_bytes = 64 * gib, .strategy = MP_STRATEGY_BUDDY,
                         .min_block_bytes = 64 * MIB, .max_blocks = 8};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    if (p == NULL) {
        /* Only a refused reservation of the address space may stop the test. */
        CHECK(mp_last_error().status == MP_ERR_OUT_OF_MEMORY);
        return;
    }
    MP_Handle h;
    CHECK_STATUS(mp_pool_alloc(p, 32 * gib + 1, 0, 0, &h), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_alloc(p, 32 * gib, 0, 0, &h), MP_OK);
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(p, h, &info), MP_OK);
    CHECK(info.usable_bytes == 32 * gib);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free(p, h), MP_OK);
    mp_pool_destroy(p);
}

/* While one owner record exists the pool's counters stand for it; a second
 * record takes them over unchanged, and from then on each owner counts its own. */
static void a_single_owner_shares_the_pool_counters_until_a_second_appears(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    MP_Handle h[4];
    for (int i = 0; i < 4; i++) CHECK_STATUS(mp_pool_alloc(p, 100, 7, 0, &h[i]), MP_OK);
    CHECK_STATUS(mp_pool_free(p, h[3]), MP_OK);
    MP_PoolOwnerStats solo, later, other;
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_owner_stats(p, 7, &solo), MP_OK);
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(solo.bytes_in_use == st.used_bytes && solo.bytes_in_use_peak == st.peak_usage_bytes);
    CHECK(solo.alloc_count == 4 && solo.free_count == 1 && solo.block_count == 3);
    CHECK(p->owner_count == 1 && p->owners[0].stats.bytes_in_use == 0); /* white box: not kept */
    p->owners[0].stats.alloc_count = 1;                                  /* a stale stored counter */
    CHECK(mp_pool_check(p) != 0);
    p->owners[0].stats.alloc_count = 0;
    CHECK(mp_pool_check(p) == 0);
    /* A second owner: owner 7's figures carry over, then each counts alone. */
    MP_Handle o2;
    CHECK_STATUS(mp_pool_alloc(p, 3000, 8, 0, &o2), MP_OK);
    CHECK_STATUS(mp_pool_owner_stats(p, 7, &later), MP_OK);
    CHECK(memcmp(&solo, &later, sizeof solo) == 0);
    CHECK_STATUS(mp_pool_owner_stats(p, 8, &other), MP_OK);
    CHECK(other.alloc_count == 1 && other.block_count == 1 && other.bytes_in_use >= 3000);
    CHECK_STATUS(mp_pool_free(p, h[0]), MP_OK);
    CHECK_STATUS(mp_pool_owner_stats(p, 7, &later), MP_OK);
    CHECK(later.free_count == 2 && later.block_count == 2 && later.bytes_in_use_peak == solo.bytes_in_use_peak);
    CHECK(later.bytes_in_use + other.bytes_in_use == pool_used_bytes(p));
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* The TLSF fast path hands a limited owner to the general path: setting a
 * limit on the cached owner takes effect at once, lifting it restores the
 * fast path; larger minimum blocks and alignments also go the general way. */
static void limits_minimum_blocks_and_alignment_hold_on_a_tlsf_pool(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    MP_Handle a, b;
    CHECK_STATUS(mp_pool_alloc(p, 64, 1, 0, &a), MP_OK);
    CHECK(p->fast_owner == 1);
    CHECK_STATUS(mp_pool_set_owner_limit(p, 1, 200), MP_OK);
    CHECK(p->fast_owner == UINT64_MAX);
    CHECK_STATUS(mp_pool_alloc(p, 200, 1, 0, &b), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_alloc(p, 64, 1, 0, &b), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_set_owner_limit(p, 1, 0), MP_OK);
    CHECK(p->fast_owner == 1);
    CHECK_STATUS(mp_pool_alloc(p, 200, 1, 0, &b), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);

    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .min_block_bytes = 64};
    p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_alloc(p, 1, 0, 0, &a), MP_OK);
    CHECK(p->fast_owner == UINT64_MAX);
    CHECK_STATUS(mp_pool_block_info(p, a, &info), MP_OK);
    CHECK(info.size_bytes == 1 && info.usable_bytes >= 64);
    mp_pool_destroy(p);

    cfg = (MP_PoolConfig){.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .alignment = 256};
    p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK(p->tlsf_only == NULL);
    for (int i = 0; i < 5; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 40, 0, 0, &a), MP_OK);
        CHECK_STATUS(mp_pool_block_info(p, a, &info), MP_OK);
        CHECK(info.offset % 256 == 0);
    }
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* The TLSF backend keeps freed small blocks in its front cache; the pool's
 * fast path must still get a large block once they are all freed: TLSF
 * merges its cache when nothing else fits, before the pool would compact. */
static void a_tlsf_pool_reuses_cached_space_for_a_large_block(void) {
    MP_Pool *p = mp_pool_create(64 * KIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    REQUIRE(p->tlsf_only != NULL); /* the fast path is the one under test */
    /* The largest block the empty pool holds. */
    size_t lo = 16, hi = 64 * KIB;
    while (lo + 16 < hi) {
        size_t mid = (lo + hi) / 2;
        MP_Handle t;
        if (mp_pool_alloc(p, mid, 0, 0, &t) == MP_OK) {
            CHECK_STATUS(mp_pool_free(p, t), MP_OK);
            lo = mid;
        } else {
            hi = mid;
        }
    }
    enum { N = 400 };
    MP_Handle h[N];
    size_t n = 0;
    while (n < N && mp_pool_alloc(p, 100, 0, 0, &h[n]) == MP_OK) n++;
    CHECK(n > 300); /* the pool is full of small blocks */
    for (size_t i = 0; i < n; i++) CHECK_STATUS(mp_pool_free(p, h[i]), MP_OK);
    MP_PoolStats before;
    CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
    MP_Handle big;
    MP_HeapStats ts;
    CHECK_STATUS(mp_tlsf_stats(p->tlsf_only, &ts), MP_OK);
    uint64_t tlsf_failures = ts.failed_alloc_count;
    CHECK_STATUS(mp_pool_alloc(p, lo, 0, 0, &big), MP_OK);
    MP_PoolStats after;
    CHECK_STATUS(mp_pool_stats(p, &after), MP_OK);
    CHECK(after.auto_defrag_count == before.auto_defrag_count); /* no compaction was needed */
    CHECK(after.allocation_failure_count == before.allocation_failure_count);
    CHECK_STATUS(mp_tlsf_stats(p->tlsf_only, &ts), MP_OK);
    CHECK(ts.failed_alloc_count == tlsf_failures); /* served by the fast path's first try */
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* A pool over one TLSF keeps the block counters once: its backend counts
 * none (TLSF_FLAG_OWNER_COUNTS; only failed allocations), so mp_tlsf_check
 * wants them 0, and mp_pool_check walks the heap instead: a used block the
 * table does not know, or a backend counter that moved, is seen. Covers the
 * limit path too, which gives a block back through tlsf_free_owned. */
static void a_single_tlsf_keeps_no_counters_and_check_walks_its_heap(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    REQUIRE(p->tlsf_only != NULL);
    CHECK((p->tlsf_only->flags & TLSF_FLAG_OWNER_COUNTS) != 0);
    MP_Handle h[40];
    for (size_t i = 0; i < 40; i++) CHECK_STATUS(mp_pool_alloc(p, 16 + 97 * i, 0, 0, &h[i]), MP_OK);
    for (size_t i = 0; i < 40; i += 3) CHECK_STATUS(mp_pool_free(p, h[i]), MP_OK); /* cached and merged */
    /* Owner 5 may hold 100 bytes: 100 requested bytes get a 112-byte block,
     * which is given back (tlsf_free_owned) before LIMIT_EXCEEDED. */
    MP_Handle lim;
    CHECK_STATUS(mp_pool_set_owner_limit(p, 5, 100), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 100, 5, 0, &lim), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_alloc(p, 80, 5, 0, &lim), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, MIB - 64, 0, 0, &lim), MP_ERR_OUT_OF_MEMORY); /* TLSF's cache flushed in vain */
    MP_HeapStats ts;
    CHECK_STATUS(mp_tlsf_stats(p->tlsf_only, &ts), MP_OK);
    CHECK((ts.bytes_in_use | ts.bytes_requested | ts.bytes_in_use_peak | ts.alloc_count | ts.free_count) == 0);
    CHECK(ts.failed_alloc_count == 1);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.allocated_block_count == 40 - 14 + 1 && st.used_bytes == pool_used_bytes(p));
    CHECK(mp_tlsf_check(p->tlsf_only) == 0);
    CHECK(mp_pool_check(p) == 0);

    tlsf_grant stray = tlsf_alloc_owned(p->tlsf_only, 64); /* a used block behind the table's back */
    REQUIRE(stray.ptr != NULL);
    CHECK(mp_tlsf_check(p->tlsf_only) == 0);
    CHECK(mp_pool_check(p) != 0);
    CHECK_STATUS(tlsf_free_owned(p->tlsf_only, stray.ptr), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    p->tlsf_only->stats.bytes_in_use = 16; /* a counter the backend must not keep */
    CHECK(mp_tlsf_check(p->tlsf_only) != 0);
    CHECK(mp_pool_check(p) != 0);
    p->tlsf_only->stats.bytes_in_use = 0;
    p->tlsf_only->stats.alloc_count = 1;
    CHECK(mp_pool_check(p) != 0);
    p->tlsf_only->stats.alloc_count = 0;
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);

    /* Other TLSF pools (here: aligned above 16) use the counted entry points. */
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .alignment = 64};
    p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK(p->tlsf_only == NULL && (p->backends[0].u.tlsf->flags & TLSF_FLAG_OWNER_COUNTS) == 0);
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &h[0]), MP_OK);
    CHECK_STATUS(mp_tlsf_stats(p->backends[0].u.tlsf, &ts), MP_OK);
    CHECK(ts.alloc_count == 1 && ts.bytes_in_use == pool_used_bytes(p));
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static int level_changes;
static void count_level_change(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    (void)pool, (void)ctx;
    level_changes += old_level != new_level;
}

/* The fast allocation and free paths report pressure changes like the general one. */
static void fast_paths_report_pressure_changes(void) {
    MP_PoolConfig cfg = {.pool_bytes = 64 * KIB, .strategy = MP_STRATEGY_TLSF, .pressure_fn = count_level_change};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    MP_Handle h[64];
    size_t n = 0;
    level_changes = 0;
    while (n < 64 && mp_pool_pressure_level(p) != MP_PRESSURE_CRITICAL)
        CHECK_STATUS(mp_pool_alloc(p, 1000, 0, 0, &h[n++]), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_CRITICAL && level_changes == 3);
    CHECK(p->fast_owner == 0); /* these went the fast way */
    while (n > 0) CHECK_STATUS(mp_pool_free(p, h[--n]), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_LOW && level_changes == 6);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* A pool over one TLSF compares a request once with fast_alloc_sizes: its
 * maximum request capped to what TLSF's front cache serves, once the fast
 * owner is known (0 before, and for other strategies). Larger requests,
 * and every request of a pool capped lower, still succeed the general way;
 * mp_pool_check finds the field off. */
static void the_fast_size_cap_is_the_smaller_of_pool_and_tlsf_limits(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    REQUIRE(p->tlsf_only != NULL);
    CHECK(p->fast_alloc_sizes == 0); /* no owner record yet */
    MP_Handle small, large, first;
    CHECK_STATUS(mp_pool_alloc(p, 64, 1, 0, &first), MP_OK);
    CHECK(p->fast_alloc_owner == 1);
    CHECK(p->fast_alloc_sizes == p->tlsf_only->fast.alloc_sizes);
    CHECK(p->fast_alloc_sizes > 4096 && p->fast_alloc_sizes < 8192);
    CHECK_STATUS(mp_pool_alloc(p, p->fast_alloc_sizes, 1, 0, &small), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, p->fast_alloc_sizes + 1, 1, 0, &large), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    p->fast_alloc_sizes--;
    CHECK(mp_pool_check(p) > 0);
    p->fast_alloc_sizes++;
    CHECK_STATUS(mp_pool_free(p, small), MP_OK);
    CHECK_STATUS(mp_pool_free(p, large), MP_OK);
    CHECK_STATUS(mp_pool_free(p, first), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);

    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .max_block_bytes = 1000};
    p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_pool_alloc(p, 64, 1, 0, &first), MP_OK);
    CHECK(p->fast_alloc_sizes == 1000);
    CHECK_STATUS(mp_pool_alloc(p, 1000, 1, 0, &small), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 1001, 1, 0, &large), MP_ERR_LIMIT_EXCEEDED);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);

    p = mp_pool_create(MIB, MP_STRATEGY_BUDDY);
    REQUIRE(p != NULL);
    CHECK(p->fast_alloc_sizes == 0);
    CHECK_STATUS(mp_pool_alloc(p, 64, 1, 0, &small), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

MP_TEST_MAIN(TEST_CASE(a_single_owner_shares_the_pool_counters_until_a_second_appears),
             TEST_CASE(a_tlsf_pool_reuses_cached_space_for_a_large_block),
             TEST_CASE(limits_minimum_blocks_and_alignment_hold_on_a_tlsf_pool),
             TEST_CASE(the_fast_size_cap_is_the_smaller_of_pool_and_tlsf_limits),
             TEST_CASE(a_single_tlsf_keeps_no_counters_and_check_walks_its_heap),
             TEST_CASE(fast_paths_report_pressure_changes),
             TEST_CASE(owner_walks_follow_interleaved_churn_with_slot_reuse),
             TEST_CASE(check_sees_every_derived_or_packed_record_disagree),
             TEST_CASE(slot_and_info_are_16_bytes_and_the_backend_follows_from_the_address),
             TEST_CASE(pools_above_32_gib_refuse_larger_blocks))
