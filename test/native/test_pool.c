/*
 * test_pool.c - API tests of the managed pool (mp_pool): handles, owners and
 * limits, access by handle, pinning, compaction, metrics, pressure, AUTO
 * routing, every strategy.
 */
#include "mp_test.h"
#include "pool_internal.h"

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

static const MP_PoolStrategy all_strategies[] = {MP_STRATEGY_FIRST_FIT, MP_STRATEGY_BEST_FIT,
                                                 MP_STRATEGY_WORST_FIT, MP_STRATEGY_BUDDY,
                                                 MP_STRATEGY_SLAB,      MP_STRATEGY_TLSF,
                                                 MP_STRATEGY_AUTO};
#define STRATEGY_COUNT (sizeof all_strategies / sizeof all_strategies[0])

static MP_Pool *make_pool(MP_PoolStrategy strategy, size_t bytes) {
    MP_PoolConfig cfg = {.pool_bytes = bytes, .strategy = strategy, .defrag_enabled = 1};
    return mp_pool_create_ex(&cfg);
}

static void pattern(uint8_t *buf, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)((seed * 131u + i * 7u) ^ (i >> 8));
}

static int block_has_pattern(MP_Pool *p, MP_Handle h, size_t n, uint64_t seed) {
    uint8_t got[4096], want[4096];
    if (n > sizeof got) return 0;
    pattern(want, n, seed);
    return mp_pool_read(p, h, 0, got, n) == MP_OK && memcmp(got, want, n) == 0;
}

static MP_Handle alloc_with_pattern(MP_Pool *p, size_t n, uint32_t owner, uint64_t seed) {
    uint8_t buf[4096];
    MP_Handle h = 0;
    if (mp_pool_alloc(p, n, owner, 0, &h) != MP_OK) return 0;
    pattern(buf, n, seed);
    if (mp_pool_write(p, h, 0, buf, n) != MP_OK) return 0;
    return h;
}

static void write_then_read_returns_the_same_bytes_for_every_strategy(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_Pool *p = make_pool(all_strategies[s], MIB);
        REQUIRE(p != NULL);
        MP_Handle h[3];
        size_t sizes[3] = {12, 200, 3000};
        for (int i = 0; i < 3; i++) {
            h[i] = alloc_with_pattern(p, sizes[i], 1, (uint64_t)i);
            CHECK(h[i] != 0);
        }
        for (int i = 0; i < 3; i++) CHECK(block_has_pattern(p, h[i], sizes[i], (uint64_t)i));
        uint8_t msg[12];
        CHECK_STATUS(mp_pool_write(p, h[0], 0, "Hello, Pool!", 12), MP_OK);
        CHECK_STATUS(mp_pool_read(p, h[0], 0, msg, 12), MP_OK);
        CHECK(memcmp(msg, "Hello, Pool!", 12) == 0);
        CHECK(mp_pool_check(p) == 0);
        for (int i = 0; i < 3; i++) CHECK_STATUS(mp_pool_free(p, h[i]), MP_OK);
        MP_PoolStats st;
        CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
        CHECK(st.used_bytes == 0 && st.allocated_block_count == 0);
        CHECK(st.allocation_count == 3 && st.deallocation_count == 3);
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
}

static void handles_are_nonzero_distinct_and_below_2_pow_53(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_TLSF, MIB);
    REQUIRE(p != NULL);
    MP_Handle h[64];
    for (int i = 0; i < 64; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 32, 0, 0, &h[i]), MP_OK);
        CHECK(h[i] != MP_HANDLE_NONE && h[i] < ((MP_Handle)1 << 53));
        for (int j = 0; j < i; j++) CHECK(h[i] != h[j]);
    }
    /* A reused slot gets a new handle value. */
    CHECK_STATUS(mp_pool_free(p, h[5]), MP_OK);
    MP_Handle again;
    CHECK_STATUS(mp_pool_alloc(p, 32, 0, 0, &again), MP_OK);
    CHECK(again != h[5]);
    mp_pool_destroy(p);
}

static void freed_handle_is_stale_and_a_second_free_is_a_double_free(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, MIB);
    REQUIRE(p != NULL);
    MP_Handle h;
    uint8_t b[4];
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &h), MP_OK);
    CHECK_STATUS(mp_pool_free(p, h), MP_OK);
    CHECK_STATUS(mp_pool_read(p, h, 0, b, 4), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_write(p, h, 0, b, 4), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_locate(p, h, NULL, NULL), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_free(p, h), MP_ERR_DOUBLE_FREE);
    CHECK(mp_last_error().status == MP_ERR_DOUBLE_FREE);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.deallocation_count == 1 && st.rejected_free_count == 1);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void double_free_is_detected_after_the_slot_was_reused_many_times(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_BEST_FIT, MIB);
    REQUIRE(p != NULL);
    MP_Handle old[50], live = 0;
    for (int i = 0; i < 50; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 64, 0, 0, &old[i]), MP_OK);
        CHECK_STATUS(mp_pool_free(p, old[i]), MP_OK);
    }
    CHECK_STATUS(mp_pool_alloc(p, 64, 0, 0, &live), MP_OK);
    for (int i = 0; i < 50; i++) CHECK_STATUS(mp_pool_free(p, old[i]), MP_ERR_DOUBLE_FREE);
    /* The live block in the same slot is untouched by those refusals. */
    CHECK_STATUS(mp_pool_fill(p, live, 0, 0xAB, 64), MP_OK);
    CHECK_STATUS(mp_pool_free(p, live), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void exhausted_slot_generations_retire_the_slot_and_keep_double_free_detected(void) {
    MP_PoolConfig cfg = {.pool_bytes = 64 * KIB, .strategy = MP_STRATEGY_FIRST_FIT, .max_blocks = 2};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    p->gen_max = 3; /* white box: three generations per slot instead of 2^44 */
    p->last_gen_handle = pool_handle(p, 0, p->gen_max);
    MP_Handle h[6];
    for (int i = 0; i < 6; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0, &h[i]), MP_OK);
        CHECK_STATUS(mp_pool_free(p, h[i]), MP_OK);
        CHECK(mp_pool_check(p) == 0);
    }
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.retired_slot_count == 2);
    MP_Handle more;
    CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0, &more), MP_ERR_LIMIT_EXCEEDED);
    for (int i = 0; i < 6; i++) CHECK_STATUS(mp_pool_free(p, h[i]), MP_ERR_DOUBLE_FREE);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void handle_of_another_pool_is_invalid_there(void) {
    MP_Pool *a = make_pool(MP_STRATEGY_FIRST_FIT, MIB), *b = make_pool(MP_STRATEGY_FIRST_FIT, MIB);
    REQUIRE(a != NULL && b != NULL);
    MP_Handle ha, hb;
    uint8_t x[8];
    CHECK_STATUS(mp_pool_alloc(a, 64, 0, 0, &ha), MP_OK);
    CHECK_STATUS(mp_pool_alloc(b, 64, 0, 0, &hb), MP_OK);
    CHECK(ha != hb);
    CHECK_STATUS(mp_pool_free(b, ha), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_read(a, hb, 0, x, 8), MP_ERR_INVALID_HANDLE);
    CHECK_STATUS(mp_pool_free(a, ha), MP_OK);
    CHECK_STATUS(mp_pool_free(b, hb), MP_OK);
    mp_pool_destroy(a);
    mp_pool_destroy(b);
}

static void owners_are_charged_usable_bytes_with_peak_and_count(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_BUDDY, MIB);
    REQUIRE(p != NULL);
    MP_Handle h1, h2, h3;
    CHECK_STATUS(mp_pool_alloc(p, 100, 7, 0, &h1), MP_OK); /* buddy: 128-byte block */
    CHECK_STATUS(mp_pool_alloc(p, 1000, 7, 0, &h2), MP_OK); /* 1024 */
    CHECK_STATUS(mp_pool_alloc(p, 10, 8, 0, &h3), MP_OK);   /* 64: the smallest unit */
    MP_PoolOwnerStats o7, o8, none;
    CHECK_STATUS(mp_pool_owner_stats(p, 7, &o7), MP_OK);
    CHECK_STATUS(mp_pool_owner_stats(p, 8, &o8), MP_OK);
    CHECK_STATUS(mp_pool_owner_stats(p, 99, &none), MP_OK);
    CHECK(o7.bytes_in_use == 128 + 1024 && o7.block_count == 2 && o7.bytes_in_use_peak == 1152);
    CHECK(o8.bytes_in_use == 64 && o8.block_count == 1);
    CHECK(none.bytes_in_use == 0 && none.block_count == 0 && none.alloc_count == 0);
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(p, h1, &info), MP_OK);
    CHECK(info.size_bytes == 100 && info.usable_bytes == 128 && info.owner == 7 && !info.pinned);
    CHECK_STATUS(mp_pool_free(p, h2), MP_OK);
    CHECK_STATUS(mp_pool_owner_stats(p, 7, &o7), MP_OK);
    CHECK(o7.bytes_in_use == 128 && o7.bytes_in_use_peak == 1152 && o7.free_count == 1);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.used_bytes == 128 + 64 && st.requested_bytes == 110 && st.owner_count == 2);
    CHECK(mp_pool_check(p) == 0);
    (void)h3;
    mp_pool_destroy(p);
}

static void owner_limit_refuses_an_allocation_beyond_it_and_changes_nothing(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, MIB);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_pool_set_owner_limit(p, 3, 1008), MP_OK);
    MP_Handle a, b;
    CHECK_STATUS(mp_pool_alloc(p, 600, 3, 0, &a), MP_OK); /* charged 608 */
    MP_PoolStats before, after;
    MP_PoolOwnerStats o;
    CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
    b = 12345;
    CHECK_STATUS(mp_pool_alloc(p, 401, 3, 0, &b), MP_ERR_LIMIT_EXCEEDED); /* 608 + 416 > 1008 */
    CHECK(b == 12345);
    CHECK_STATUS(mp_pool_stats(p, &after), MP_OK);
    CHECK(after.used_bytes == before.used_bytes && after.allocation_count == before.allocation_count);
    CHECK(after.allocation_failure_count == before.allocation_failure_count + 1);
    CHECK_STATUS(mp_pool_owner_stats(p, 3, &o), MP_OK);
    CHECK(o.bytes_in_use == 608 && o.limit_failure_count == 1 && o.limit_bytes == 1008);
    /* Exactly up to the limit is allowed; other owners are not limited. */
    CHECK_STATUS(mp_pool_alloc(p, 400, 3, 0, &b), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 1, 3, 0, &b), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_alloc(p, 5000, 4, 0, &b), MP_OK);
    /* Lifting the limit lets the owner allocate again. */
    CHECK_STATUS(mp_pool_set_owner_limit(p, 3, 0), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 5000, 3, 0, &b), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    (void)a;
    mp_pool_destroy(p);
}

static void free_owner_frees_exactly_that_owners_blocks_pinned_included(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_Pool *p = make_pool(all_strategies[s], MIB);
        REQUIRE(p != NULL);
        MP_Handle mine[10], other[5];
        for (int i = 0; i < 10; i++)
            CHECK_STATUS(mp_pool_alloc(p, 40u + (size_t)i * 30u, 1, i == 3 ? MP_ALLOC_PINNED : 0, &mine[i]),
                         MP_OK);
        for (int i = 0; i < 5; i++) other[i] = alloc_with_pattern(p, 50, 2, (uint64_t)i);
        MP_Handle listed[16];
        size_t total = 0;
        CHECK_STATUS(mp_pool_owner_blocks(p, 1, listed, 16, &total), MP_OK);
        CHECK(total == 10);
        for (int i = 0; i < 10; i++) CHECK(listed[i] == mine[i]); /* slot order: a fresh pool fills slots upwards */
        CHECK_STATUS(mp_pool_owner_blocks(p, 1, NULL, 0, &total), MP_OK);
        CHECK(total == 10);
        size_t freed = 0;
        CHECK_STATUS(mp_pool_free_owner(p, 1, &freed), MP_OK);
        CHECK(freed == 10);
        for (int i = 0; i < 10; i++) CHECK_STATUS(mp_pool_free(p, mine[i]), MP_ERR_DOUBLE_FREE);
        for (int i = 0; i < 5; i++) CHECK(block_has_pattern(p, other[i], 50, (uint64_t)i));
        MP_PoolOwnerStats o;
        CHECK_STATUS(mp_pool_owner_stats(p, 1, &o), MP_OK);
        CHECK(o.bytes_in_use == 0 && o.block_count == 0 && o.bytes_in_use_peak > 0);
        MP_PoolStats st;
        CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
        CHECK(st.allocated_block_count == 5 && st.pinned_block_count == 0);
        CHECK_STATUS(mp_pool_free_owner(p, 77, &freed), MP_OK); /* unknown owner: nothing */
        CHECK(freed == 0);
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
}

static void owner_checked_access_refuses_another_owner_with_protection(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_TLSF, MIB);
    REQUIRE(p != NULL);
    MP_Handle a = alloc_with_pattern(p, 64, 10, 1), b = alloc_with_pattern(p, 64, 11, 2);
    uint8_t buf[64];
    CHECK_STATUS(mp_pool_read_as(p, 10, a, 0, buf, 64), MP_OK);
    CHECK_STATUS(mp_pool_read_as(p, 11, a, 0, buf, 64), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_write_as(p, 11, a, 0, buf, 64), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_fill_as(p, 11, a, 0, 0, 64), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_copy_as(p, 10, a, 0, b, 0, 8), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_free_as(p, 11, a), MP_ERR_PROTECTION);
    CHECK(block_has_pattern(p, a, 64, 1));
    /* Protection is checked after the handle and before the bounds. */
    CHECK_STATUS(mp_pool_read_as(p, 11, a, 60, buf, 64), MP_ERR_PROTECTION);
    CHECK_STATUS(mp_pool_read_as(p, 10, a, 60, buf, 64), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_free_as(p, 10, a), MP_OK);
    CHECK_STATUS(mp_pool_read_as(p, 11, a, 0, buf, 1), MP_ERR_INVALID_HANDLE);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.rejected_free_count == 1 && st.rejected_access_count == 7);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void access_is_bounded_by_the_requested_size(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_BUDDY, MIB);
    REQUIRE(p != NULL);
    MP_Handle h, g;
    uint8_t buf[200] = {0};
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &h), MP_OK); /* usable 128, accessible 100 */
    CHECK_STATUS(mp_pool_write(p, h, 0, buf, 100), MP_OK);
    CHECK_STATUS(mp_pool_write(p, h, 1, buf, 100), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_read(p, h, 100, buf, 0), MP_OK);
    CHECK_STATUS(mp_pool_read(p, h, 101, buf, 0), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_fill(p, h, 99, 1, 2), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_read(p, h, SIZE_MAX, buf, 2), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_read(p, h, 2, buf, SIZE_MAX), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_alloc(p, 10, 0, 0, &g), MP_OK);
    CHECK_STATUS(mp_pool_copy(p, g, 0, h, 0, 11), MP_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mp_pool_copy(p, h, 95, g, 0, 10), MP_ERR_OUT_OF_BOUNDS);
    mp_pool_destroy(p);
}

static void copy_and_fill_work_within_and_between_blocks(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, MIB);
    REQUIRE(p != NULL);
    MP_Handle a, b;
    CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0, &a), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0, &b), MP_OK);
    CHECK_STATUS(mp_pool_write(p, a, 0, "abcdefghijklmnop", 16), MP_OK);
    CHECK_STATUS(mp_pool_fill(p, b, 0, 'z', 16), MP_OK);
    CHECK_STATUS(mp_pool_copy(p, b, 4, a, 0, 8), MP_OK);
    char out[17] = {0};
    CHECK_STATUS(mp_pool_read(p, b, 0, out, 16), MP_OK);
    CHECK(memcmp(out, "zzzzabcdefghzzzz", 16) == 0);
    CHECK_STATUS(mp_pool_copy(p, a, 2, a, 0, 10), MP_OK); /* overlapping, like memmove */
    CHECK_STATUS(mp_pool_read(p, a, 0, out, 16), MP_OK);
    CHECK(memcmp(out, "ababcdefghijmnop", 16) == 0);
    mp_pool_destroy(p);
}

static void locate_gives_the_offset_of_the_block_from_the_base(void) {
    static _Alignas(16) uint8_t region[256 * 1024];
    MP_PoolConfig cfg = {.pool_bytes = sizeof region, .strategy = MP_STRATEGY_FIRST_FIT, .region = region};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK(mp_pool_base(p) == region);
    MP_Handle a, b;
    CHECK_STATUS(mp_pool_alloc(p, 40, 0, 0, &a), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 24, 0, 0, &b), MP_OK);
    CHECK_STATUS(mp_pool_write(p, b, 0, "view me!", 8), MP_OK);
    size_t off = 0, size = 0;
    CHECK_STATUS(mp_pool_locate(p, b, &off, &size), MP_OK);
    CHECK(size == 24 && off + size <= sizeof region && off % 16 == 0);
    CHECK(memcmp(region + off, "view me!", 8) == 0);
    mp_pool_destroy(p);
}

/* The entry of handle h in the table mp_pool_handle_table describes. */
static void table_entry(const MP_PoolHandleTable *t, MP_Handle h, uint64_t *word, uint8_t **addr) {
    const uint8_t *e = (const uint8_t *)t->entries + (h & t->index_mask) * t->entry_bytes;
    memcpy(word, e + t->handle_offset, sizeof *word);
    memcpy(addr, e + t->address_offset, sizeof *addr);
}

static void handle_table_resolves_live_handles_and_no_others(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = all_strategies[s], .max_blocks = 100};
        MP_Pool *p = mp_pool_create_ex(&cfg);
        REQUIRE(p != NULL);
        MP_PoolHandleTable t;
        CHECK_STATUS(mp_pool_handle_table(p, &t), MP_OK);
        CHECK(t.entry_count == t.index_mask + 1 && t.entry_count >= 100 && t.entry_bytes >= 16);
        MP_Handle h[40];
        for (int i = 0; i < 40; i++) CHECK_STATUS(mp_pool_alloc(p, 100u + (size_t)i * 8u, 0, 0, &h[i]), MP_OK);
        for (int i = 0; i < 40; i += 2) CHECK_STATUS(mp_pool_free(p, h[i]), MP_OK);
        CHECK_STATUS(mp_pool_defragment(p, 0, NULL), MP_OK); /* moves the survivors */
        for (int i = 0; i < 40; i++) {
            uint64_t word;
            uint8_t *addr;
            table_entry(&t, h[i], &word, &addr);
            if (i % 2 == 0) {
                CHECK(word != h[i]); /* freed: the entry no longer holds it */
                continue;
            }
            size_t off;
            CHECK_STATUS(mp_pool_locate(p, h[i], &off, NULL), MP_OK);
            CHECK(word == h[i] && addr == (uint8_t *)mp_pool_base(p) + off);
        }
        /* A slot reused holds the new handle, not the stale one. */
        MP_Handle again;
        CHECK_STATUS(mp_pool_alloc(p, 64, 0, 0, &again), MP_OK);
        uint64_t word;
        uint8_t *addr;
        table_entry(&t, again, &word, &addr);
        CHECK(word == again);
        for (int i = 0; i < 40; i += 2) {
            table_entry(&t, h[i], &word, &addr);
            CHECK(word != h[i]);
        }
        /* A handle of another pool: its entry here never holds it. */
        MP_Pool *q = mp_pool_create(MIB, all_strategies[s]);
        REQUIRE(q != NULL);
        MP_Handle foreign;
        CHECK_STATUS(mp_pool_alloc(q, 64, 0, 0, &foreign), MP_OK);
        table_entry(&t, foreign, &word, &addr);
        CHECK(word != foreign);
        mp_pool_destroy(q);
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
    /* Refused, changing nothing: no pool or no output, a thread-safe pool. */
    MP_PoolHandleTable t;
    CHECK_STATUS(mp_pool_handle_table(NULL, &t), MP_ERR_INVALID_ARGUMENT);
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_pool_handle_table(p, NULL), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .flags = MP_FLAG_THREAD_SAFE};
    p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_pool_handle_table(p, &t), MP_ERR_UNSUPPORTED);
    mp_pool_destroy(p);
}

static void alignment_option_aligns_every_block(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = all_strategies[s], .alignment = 256};
        MP_Pool *p = mp_pool_create_ex(&cfg);
        REQUIRE(p != NULL);
        for (int i = 0; i < 20; i++) {
            MP_Handle h;
            size_t off;
            CHECK_STATUS(mp_pool_alloc(p, 24u + (size_t)i * 40u, 0, 0, &h), MP_OK);
            CHECK_STATUS(mp_pool_locate(p, h, &off, NULL), MP_OK);
            CHECK(((uintptr_t)mp_pool_base(p) + off) % 256 == 0);
        }
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
}

/* Fills a pool with n blocks of `size` (block i holds pattern i), then frees
 * every other one; the survivors' handles go to `keep` (n / 2 of them). */
static void make_holes(MP_Pool *p, size_t n, size_t size, MP_Handle *keep) {
    MP_Handle all[512];
    for (size_t i = 0; i < n && i < 512; i++) {
        all[i] = alloc_with_pattern(p, size, (uint32_t)(i % 3), i);
        CHECK(all[i] != 0);
    }
    for (size_t i = 0; i < n && i < 512; i++) {
        if (i % 2 == 0)
            CHECK_STATUS(mp_pool_free(p, all[i]), MP_OK);
        else
            keep[i / 2] = all[i];
    }
}

static void first_fit_defragment_compacts_completely_and_keeps_contents(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, 256 * KIB);
    REQUIRE(p != NULL);
    MP_Handle keep[100];
    make_holes(p, 200, 1000, keep);
    uint64_t reloc_before = mp_pool_relocation_count(p);
    MP_DefragResult r;
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.complete == 1 && r.blocks_moved == 100 && r.bytes_moved >= 100 * 1000);
    CHECK(r.fragmentation_before > 0.5 && r.fragmentation_after == 0.0);
    CHECK(mp_pool_relocation_count(p) == reloc_before + r.blocks_moved);
    for (size_t i = 0; i < 100; i++) CHECK(block_has_pattern(p, keep[i], 1000, 2 * i + 1));
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.free_block_count == 1 && st.fragmentation_ratio == 0.0);
    CHECK(st.relocation_count == r.blocks_moved && st.bytes_moved_total == r.bytes_moved);
    /* The live blocks now tile the start of the region. */
    size_t max_end = 0;
    for (size_t i = 0; i < 100; i++) {
        MP_PoolBlockInfo info;
        CHECK_STATUS(mp_pool_block_info(p, keep[i], &info), MP_OK);
        if (info.offset + info.usable_bytes > max_end) max_end = info.offset + info.usable_bytes;
    }
    CHECK(max_end == st.used_bytes);
    /* A second pass has nothing to do. */
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.blocks_moved == 0 && r.bytes_moved == 0);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void pinned_blocks_never_move(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, 256 * KIB);
    REQUIRE(p != NULL);
    MP_Handle keep[50];
    make_holes(p, 100, 500, keep);
    size_t pinned_off[50];
    for (int i = 0; i < 50; i += 5) {
        CHECK_STATUS(mp_pool_pin(p, keep[i]), MP_OK);
        CHECK_STATUS(mp_pool_pin(p, keep[i]), MP_OK); /* idempotent */
        CHECK_STATUS(mp_pool_locate(p, keep[i], &pinned_off[i], NULL), MP_OK);
    }
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.pinned_block_count == 10);
    MP_DefragResult r;
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.blocks_moved > 0 && r.complete);
    for (int i = 0; i < 50; i++) {
        CHECK(block_has_pattern(p, keep[i], 500, 2 * (uint64_t)i + 1));
        if (i % 5 == 0) {
            size_t off;
            CHECK_STATUS(mp_pool_locate(p, keep[i], &off, NULL), MP_OK);
            CHECK(off == pinned_off[i]);
            CHECK_STATUS(mp_pool_unpin(p, keep[i]), MP_OK);
        }
    }
    CHECK(mp_pool_check(p) == 0);
    /* Unpinned, the last gaps close. */
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.fragmentation_after == 0.0);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void budgeted_defragment_moves_little_at_a_time_and_resumes(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, 256 * KIB);
    REQUIRE(p != NULL);
    MP_Handle keep[60];
    make_holes(p, 120, 700, keep);
    MP_DefragResult r;
    size_t passes = 0, moved = 0;
    do {
        CHECK_STATUS(mp_pool_defragment(p, 1, &r), MP_OK);
        CHECK(r.blocks_moved <= 1 && r.bytes_moved <= 2 * 700);
        moved += r.blocks_moved;
        passes++;
        CHECK(mp_pool_check(p) == 0);
    } while (!r.complete && passes < 1000);
    CHECK(r.complete && moved == 60 && passes == 60);
    CHECK(r.fragmentation_after == 0.0);
    for (size_t i = 0; i < 60; i++) CHECK(block_has_pattern(p, keep[i], 700, 2 * i + 1));
    mp_pool_destroy(p);
}

static void defragment_keeps_contents_and_accounting_for_every_strategy(void) {
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_Pool *p = make_pool(all_strategies[s], MIB);
        REQUIRE(p != NULL);
        MP_Handle keep[150];
        uint64_t x = 42 + s;
        size_t sizes[150];
        for (size_t i = 0; i < 300; i++) {
            size_t n = 16 + (size_t)(mp_test_rand(&x) % 3000);
            MP_Handle h = alloc_with_pattern(p, n, (uint32_t)(i % 4), i);
            CHECK(h != 0);
            if (i % 2 == 0) {
                CHECK_STATUS(mp_pool_free(p, h), MP_OK);
            } else {
                keep[i / 2] = h;
                sizes[i / 2] = n;
            }
        }
        MP_PoolStats before, after;
        CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
        MP_DefragResult r;
        CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
        CHECK(r.complete);
        CHECK(r.fragmentation_after <= r.fragmentation_before + 1e-9 || all_strategies[s] != MP_STRATEGY_FIRST_FIT);
        CHECK_STATUS(mp_pool_stats(p, &after), MP_OK);
        CHECK(after.used_bytes == before.used_bytes && after.allocated_block_count == 150);
        for (size_t i = 0; i < 150; i++) CHECK(block_has_pattern(p, keep[i], sizes[i], 2 * i + 1));
        CHECK(mp_pool_check(p) == 0);
        mp_pool_destroy(p);
    }
}

/* Holes of 2 KiB between 2 KiB blocks: a 16 KiB request fits only after
 * compaction. */
static MP_Pool *fragmented_pool(int defrag_enabled, MP_Handle *keep) {
    MP_PoolConfig cfg = {.pool_bytes = 64 * KIB, .strategy = MP_STRATEGY_FIRST_FIT, .defrag_enabled = defrag_enabled};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    if (p == NULL) return NULL;
    make_holes(p, 32, 2048, keep);
    return p;
}

static void failing_allocation_compacts_and_retries_when_enabled(void) {
    MP_Handle keep[16], h;
    MP_Pool *p = fragmented_pool(1, keep);
    REQUIRE(p != NULL);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_OK);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.auto_defrag_count == 1 && st.defrag_count == 1 && st.relocation_count > 0);
    for (size_t i = 0; i < 16; i++) CHECK(block_has_pattern(p, keep[i], 2048, 2 * i + 1));
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void failing_allocation_reports_out_of_memory_with_detail_when_disabled(void) {
    MP_Handle keep[16], h = 0;
    MP_Pool *p = fragmented_pool(0, keep);
    REQUIRE(p != NULL);
    mp_clear_last_error();
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK(h == 0);
    MP_ErrorInfo e = mp_last_error();
    CHECK(e.status == MP_ERR_OUT_OF_MEMORY && e.requested_bytes == 16 * KIB);
    CHECK(e.available_bytes == 32 * KIB && e.largest_free_bytes == 2048);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.allocation_failure_count == 1 && st.defrag_count == 0 && st.relocation_count == 0);
    /* An explicit pass works regardless and then the request fits. */
    CHECK_STATUS(mp_pool_defragment(p, 0, NULL), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_OK);
    mp_pool_destroy(p);
}

static void futile_automatic_compaction_is_not_repeated_until_something_is_freed(void) {
    MP_Handle keep[16], h;
    MP_Pool *p = fragmented_pool(1, keep);
    REQUIRE(p != NULL);
    for (int i = 0; i < 16; i++) CHECK_STATUS(mp_pool_pin(p, keep[i]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.auto_defrag_count == 1 && st.allocation_failure_count == 2);
    CHECK_STATUS(mp_pool_free(p, keep[0]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.auto_defrag_count == 2);
    for (int i = 1; i < 16; i++) CHECK_STATUS(mp_pool_unpin(p, keep[i]), MP_OK);
    CHECK_STATUS(mp_pool_free(p, keep[1]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void metrics_follow_the_seed_definitions(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_FIRST_FIT, 100 * KIB);
    REQUIRE(p != NULL);
    MP_Handle h[4];
    for (int i = 0; i < 4; i++) CHECK_STATUS(mp_pool_alloc(p, 4096, 0, 0, &h[i]), MP_OK);
    CHECK_STATUS(mp_pool_free(p, h[1]), MP_OK);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.total_bytes == 100 * KIB && st.used_bytes == 3 * 4096);
    CHECK(st.free_bytes == st.total_bytes - st.used_bytes);
    CHECK(st.utilization > 0.1199 && st.utilization < 0.1201);
    CHECK(st.allocation_count == 4 && st.deallocation_count == 1 && st.allocated_block_count == 3);
    CHECK(st.free_block_count == 2 && st.peak_usage_bytes == 4 * 4096);
    CHECK(st.largest_free_block_bytes == 100 * KIB - 4 * 4096);
    double frag = 1.0 - (double)st.largest_free_block_bytes / (double)st.backend_free_bytes;
    CHECK(st.fragmentation_ratio == frag && st.fragmentation_ratio > 0.0);
    CHECK(st.pressure_level == MP_PRESSURE_LOW && st.handle_capacity == 100 * KIB / 16);
    mp_pool_destroy(p);
}

typedef struct pressure_log {
    int calls;
    MP_PressureLevel from[8], to[8];
} pressure_log;

static void record_pressure(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    pressure_log *log = ctx;
    (void)pool;
    if (log->calls < 8) {
        log->from[log->calls] = old_level;
        log->to[log->calls] = new_level;
    }
    log->calls++;
}

static void pressure_levels_change_at_60_80_95_percent_and_call_back(void) {
    pressure_log log = {0};
    MP_PoolConfig cfg = {.pool_bytes = 100 * KIB, .strategy = MP_STRATEGY_FIRST_FIT,
                         .pressure_fn = record_pressure, .pressure_ctx = &log};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    size_t total = 100 * KIB;
    MP_Handle a, b, c, d;
    /* 60% of 102400 is 61440: one byte-granule below stays low. */
    CHECK_STATUS(mp_pool_alloc(p, total * 60 / 100 - 16, 0, 0, &a), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_LOW && log.calls == 0);
    CHECK_STATUS(mp_pool_alloc(p, 16, 0, 0, &b), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_MEDIUM && log.calls == 1);
    CHECK_STATUS(mp_pool_alloc(p, total * 20 / 100, 0, 0, &c), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_HIGH && log.calls == 2);
    CHECK_STATUS(mp_pool_alloc(p, total * 15 / 100, 0, 0, &d), MP_OK);
    CHECK(mp_pool_pressure_level(p) == MP_PRESSURE_CRITICAL && log.calls == 3);
    CHECK(log.from[0] == MP_PRESSURE_LOW && log.to[0] == MP_PRESSURE_MEDIUM);
    CHECK(log.from[2] == MP_PRESSURE_HIGH && log.to[2] == MP_PRESSURE_CRITICAL);
    CHECK_STATUS(mp_pool_free(p, a), MP_OK); /* 40% used: one call, critical -> low */
    CHECK(log.calls == 4 && log.from[3] == MP_PRESSURE_CRITICAL && log.to[3] == MP_PRESSURE_LOW);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(p, &st), MP_OK);
    CHECK(st.pressure_level == MP_PRESSURE_LOW);
    CHECK_STATUS(mp_pool_set_pressure_callback(p, NULL, NULL), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, total * 50 / 100, 0, 0, &a), MP_OK);
    CHECK(log.calls == 4 && mp_pool_pressure_level(p) == MP_PRESSURE_HIGH);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void auto_routes_small_medium_and_large_requests_to_their_tiers(void) {
    MP_Pool *p = make_pool(MP_STRATEGY_AUTO, 4 * MIB);
    REQUIRE(p != NULL);
    /* Slices: slab [0, 1 MiB), TLSF [1 MiB, 3 MiB), buddy [3 MiB, 4 MiB). */
    MP_Handle s, m, l;
    size_t off;
    CHECK_STATUS(mp_pool_alloc(p, 200, 0, 0, &s), MP_OK);
    CHECK_STATUS(mp_pool_locate(p, s, &off, NULL), MP_OK);
    CHECK(off < MIB);
    CHECK_STATUS(mp_pool_alloc(p, 5000, 0, 0, &m), MP_OK);
    CHECK_STATUS(mp_pool_locate(p, m, &off, NULL), MP_OK);
    CHECK(off >= MIB && off < 3 * MIB);
    CHECK_STATUS(mp_pool_alloc(p, 100 * KIB, 0, 0, &l), MP_OK);
    CHECK_STATUS(mp_pool_locate(p, l, &off, NULL), MP_OK);
    CHECK(off >= 3 * MIB && off < 4 * MIB);
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(p, l, &info), MP_OK);
    CHECK(info.usable_bytes == 128 * KIB); /* buddy: power of two */
    CHECK_STATUS(mp_pool_block_info(p, s, &info), MP_OK);
    CHECK(info.usable_bytes == 256); /* slab class */
    /* A full large tier falls back to TLSF. */
    MP_Handle big[8];
    int in_tlsf = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 200 * KIB, 0, 0, &big[i]), MP_OK);
        CHECK_STATUS(mp_pool_locate(p, big[i], &off, NULL), MP_OK);
        in_tlsf += off >= MIB && off < 3 * MIB;
    }
    CHECK(in_tlsf >= 4);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void request_limits_and_bad_sizes_are_refused(void) {
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .max_block_bytes = 1000};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    MP_Handle h;
    CHECK_STATUS(mp_pool_alloc(p, 1000, 0, 0, &h), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 1001, 0, 0, &h), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_alloc(p, 0, 0, 0, &h), MP_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(mp_pool_alloc(p, 8, 0, 0x80, &h), MP_ERR_INVALID_ARGUMENT);
    mp_pool_destroy(p);
    MP_Pool *slab = make_pool(MP_STRATEGY_SLAB, MIB);
    REQUIRE(slab != NULL);
    CHECK_STATUS(mp_pool_alloc(slab, 4096, 0, 0, &h), MP_OK);
    CHECK_STATUS(mp_pool_alloc(slab, 4097, 0, 0, &h), MP_ERR_LIMIT_EXCEEDED);
    mp_pool_destroy(slab);
    MP_Pool *small = make_pool(MP_STRATEGY_FIRST_FIT, 64 * KIB);
    REQUIRE(small != NULL);
    CHECK_STATUS(mp_pool_alloc(small, 65 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    mp_pool_destroy(small);
}

static void min_block_bytes_is_the_smallest_charge(void) {
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_FIRST_FIT, .min_block_bytes = 64};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    MP_Handle h;
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_alloc(p, 5, 0, 0, &h), MP_OK);
    CHECK_STATUS(mp_pool_block_info(p, h, &info), MP_OK);
    CHECK(info.size_bytes == 5 && info.usable_bytes == 64);
    uint8_t b[6];
    CHECK_STATUS(mp_pool_read(p, h, 0, b, 6), MP_ERR_OUT_OF_BOUNDS);
    mp_pool_destroy(p);
}

static void full_handle_table_refuses_with_limit_exceeded(void) {
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .max_blocks = 5};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    MP_Handle h[6];
    for (int i = 0; i < 5; i++) CHECK_STATUS(mp_pool_alloc(p, 10, 0, 0, &h[i]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 10, 0, 0, &h[5]), MP_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(mp_pool_free(p, h[2]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 10, 0, 0, &h[5]), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void invalid_configurations_are_refused(void) {
    MP_PoolConfig ok = {.pool_bytes = MIB, .strategy = MP_STRATEGY_FIRST_FIT};
    MP_PoolConfig c;
    CHECK(mp_pool_create_ex(NULL) == NULL);
    c = ok, c.pool_bytes = 100;
    CHECK(mp_pool_create_ex(&c) == NULL && mp_last_error().status == MP_ERR_INVALID_ARGUMENT);
    c = ok, c.strategy = (MP_PoolStrategy)7;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.alignment = 24;
    CHECK(mp_pool_create_ex(&c) == NULL && mp_last_error().status == MP_ERR_ALIGNMENT);
    c = ok, c.alignment = 8192;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.defrag_threshold = 1.5;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.defrag_threshold = -0.1;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.flags = 0x100;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.max_blocks = (size_t)UINT32_MAX + 1u;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.strategy = MP_STRATEGY_AUTO, c.auto_small_percent = 60, c.auto_large_percent = 40;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.strategy = MP_STRATEGY_AUTO, c.auto_small_max_bytes = 4096, c.auto_medium_max_bytes = 1024;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.region = (void *)(uintptr_t)0x1008;
    CHECK(mp_pool_create_ex(&c) == NULL && mp_last_error().status == MP_ERR_ALIGNMENT);
    c = ok, c.strategy = MP_STRATEGY_SLAB, c.max_block_bytes = 1 << 20;
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.strategy = MP_STRATEGY_SLAB, c.min_block_bytes = 8192; /* above the largest class */
    CHECK(mp_pool_create_ex(&c) == NULL);
    c = ok, c.min_block_bytes = 2048, c.max_block_bytes = 1024;
    CHECK(mp_pool_create_ex(&c) == NULL);
    /* The defaults of mp_pool_create work for every strategy. */
    for (size_t s = 0; s < STRATEGY_COUNT; s++) {
        MP_Pool *p = mp_pool_create(MIB, all_strategies[s]);
        CHECK(p != NULL);
        mp_pool_destroy(p);
    }
    mp_pool_destroy(NULL);
}

MP_TEST_MAIN(TEST_CASE(write_then_read_returns_the_same_bytes_for_every_strategy),
             TEST_CASE(handles_are_nonzero_distinct_and_below_2_pow_53),
             TEST_CASE(freed_handle_is_stale_and_a_second_free_is_a_double_free),
             TEST_CASE(double_free_is_detected_after_the_slot_was_reused_many_times),
             TEST_CASE(exhausted_slot_generations_retire_the_slot_and_keep_double_free_detected),
             TEST_CASE(handle_of_another_pool_is_invalid_there),
             TEST_CASE(owners_are_charged_usable_bytes_with_peak_and_count),
             TEST_CASE(owner_limit_refuses_an_allocation_beyond_it_and_changes_nothing),
             TEST_CASE(free_owner_frees_exactly_that_owners_blocks_pinned_included),
             TEST_CASE(owner_checked_access_refuses_another_owner_with_protection),
             TEST_CASE(access_is_bounded_by_the_requested_size),
             TEST_CASE(copy_and_fill_work_within_and_between_blocks),
             TEST_CASE(locate_gives_the_offset_of_the_block_from_the_base),
             TEST_CASE(handle_table_resolves_live_handles_and_no_others),
             TEST_CASE(alignment_option_aligns_every_block),
             TEST_CASE(first_fit_defragment_compacts_completely_and_keeps_contents),
             TEST_CASE(pinned_blocks_never_move),
             TEST_CASE(budgeted_defragment_moves_little_at_a_time_and_resumes),
             TEST_CASE(defragment_keeps_contents_and_accounting_for_every_strategy),
             TEST_CASE(failing_allocation_compacts_and_retries_when_enabled),
             TEST_CASE(failing_allocation_reports_out_of_memory_with_detail_when_disabled),
             TEST_CASE(futile_automatic_compaction_is_not_repeated_until_something_is_freed),
             TEST_CASE(metrics_follow_the_seed_definitions),
             TEST_CASE(pressure_levels_change_at_60_80_95_percent_and_call_back),
             TEST_CASE(auto_routes_small_medium_and_large_requests_to_their_tiers),
             TEST_CASE(request_limits_and_bad_sizes_are_refused),
             TEST_CASE(min_block_bytes_is_the_smallest_charge),
             TEST_CASE(full_handle_table_refuses_with_limit_exceeded),
             TEST_CASE(invalid_configurations_are_refused))
