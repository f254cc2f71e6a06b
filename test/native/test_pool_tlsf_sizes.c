/*
 * test_pool_tlsf_sizes.c - a pool over one TLSF at its own alignment keeps
 * its blocks' sizes in their TLSF headers (MP_Pool.tlsf_sizes) and writes a
 * slot's info link only for pinned blocks while it has one owner record:
 * sizes, charges and pin counts stay exact through pin, unpin, free, slot
 * reuse and a second owner; check catches a stray link; an overwritten
 * header is MP_ERR_CORRUPTION for every access and changes nothing; the
 * fast paths of alloc and free agree with a thread-safe twin's general ones.
 */
#include "mp_test.h"
#include "pool_internal.h"

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

static uint32_t slot_of(const MP_Pool *p, MP_Handle h) { return (uint32_t)(h & p->index_mask); }

static MP_PoolStats stats_of(MP_Pool *p) {
    MP_PoolStats s;
    CHECK_STATUS(mp_pool_stats(p, &s), MP_OK);
    return s;
}

/* Field by field: memcmp would read the struct's tail padding, which
 * nothing initializes (valgrind reports it). Doubles are compared bit for
 * bit, as memcmp did. */
static bool same_stats(const MP_PoolStats *a, const MP_PoolStats *b) {
    bool same = true;
#define SAME_FIELD_(type, name, text) same = same && memcmp(&a->name, &b->name, sizeof a->name) == 0;
    MP_POOL_STATS_FIELDS(SAME_FIELD_)
#undef SAME_FIELD_
    return same;
}

static void sizes_come_from_the_headers_and_links_only_from_pins(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL);
    REQUIRE(p->tlsf_sizes);
    MP_Handle a, b, c;
    CHECK_STATUS(mp_pool_alloc(p, 40, 0, MP_ALLOC_PINNED, &a), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &b), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 5, 0, 0, &c), MP_OK);
    MP_PoolBlockInfo ia, ic;
    CHECK_STATUS(mp_pool_block_info(p, a, &ia), MP_OK);
    CHECK_STATUS(mp_pool_block_info(p, c, &ic), MP_OK);
    CHECK(ia.size_bytes == 40 && ia.usable_bytes == 48 && ia.pinned);
    CHECK(ic.size_bytes == 5 && ic.usable_bytes == 16 && !ic.pinned);
    MP_PoolStats s = stats_of(p);
    CHECK(s.requested_bytes == 145 && s.pinned_block_count == 1);
    CHECK(pool_info_at(p, slot_of(p, a))->link == 1u);
    CHECK(pool_info_at(p, slot_of(p, b))->link == 0u);
    CHECK(mp_pool_check(p) == 0);

    /* Freeing the pinned block clears its link; its slot is reused. */
    uint32_t slot_a = slot_of(p, a);
    CHECK_STATUS(mp_pool_free(p, a), MP_OK);
    CHECK(pool_info_at(p, slot_a)->link == 0u);
    s = stats_of(p);
    CHECK(s.requested_bytes == 105 && s.pinned_block_count == 0);
    CHECK(mp_pool_check(p) == 0);
    MP_Handle d;
    CHECK_STATUS(mp_pool_alloc(p, 3000, 0, 0, &d), MP_OK);
    CHECK(slot_of(p, d) == slot_a);
    CHECK_STATUS(mp_pool_free(p, a), MP_ERR_DOUBLE_FREE); /* stale after reuse */
    MP_PoolBlockInfo id;
    CHECK_STATUS(mp_pool_block_info(p, d, &id), MP_OK);
    CHECK(id.size_bytes == 3000 && !id.pinned);

    /* Pin and unpin write the link; a free with something pinned elsewhere
     * reads it. */
    CHECK_STATUS(mp_pool_pin(p, b), MP_OK);
    CHECK(pool_info_at(p, slot_of(p, b))->link == 1u && mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free(p, c), MP_OK);
    CHECK(stats_of(p).pinned_block_count == 1 && mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_unpin(p, b), MP_OK);
    CHECK(pool_info_at(p, slot_of(p, b))->link == 0u && mp_pool_check(p) == 0);

    /* A link left on a slot that is not live is caught. */
    pool_info_at(p, slot_of(p, c))->link = 1u;
    CHECK(mp_pool_check(p) != 0);
    pool_info_at(p, slot_of(p, c))->link = 0u;
    CHECK(mp_pool_check(p) == 0);

    /* A second owner: every allocation writes its link from then on. */
    MP_Handle e;
    CHECK_STATUS(mp_pool_alloc(p, 64, 7, 0, &e), MP_OK);
    CHECK(pool_info_owner(pool_info_at(p, slot_of(p, e))) != 0u);
    CHECK_STATUS(mp_pool_free_as(p, 0, e), MP_ERR_PROTECTION);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free_as(p, 7, e), MP_OK);
    CHECK_STATUS(mp_pool_free(p, b), MP_OK);
    CHECK_STATUS(mp_pool_free(p, d), MP_OK);
    s = stats_of(p);
    CHECK(s.requested_bytes == 0 && s.used_bytes == 0 && s.pinned_block_count == 0);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* A write before the block (another block's overflow) over its header: the
 * pool no longer knows the block's size, so every access is refused as
 * corruption, nothing changes, and the block is intact once the header is. */
static void an_overwritten_header_is_corruption_for_every_access(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL && p->tlsf_sizes);
    MP_Handle h;
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &h), MP_OK);
    CHECK_STATUS(mp_pool_fill(p, h, 0, 0x5a, 100), MP_OK);
    uint8_t *hdr = p->slots[slot_of(p, h)].ptr - TLSF_HDR_BYTES, buf[100];
    uint64_t saved = tlsf_peek64(hdr); /* the header word with the sizes */
    tlsf_poke64(hdr, UINT64_MAX);
    MP_PoolStats before = stats_of(p);
    CHECK_STATUS(mp_pool_read(p, h, 0, buf, 1), MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_pool_write(p, h, 0, buf, 1), MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_pool_fill(p, h, 0, 1, 1000), MP_ERR_CORRUPTION); /* never past the block */
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(p, h, &info), MP_ERR_CORRUPTION);
    CHECK_STATUS(mp_pool_free(p, h), MP_ERR_CORRUPTION);
    CHECK(mp_pool_check(p) != 0);
    MP_PoolStats after = stats_of(p);
    CHECK(after.used_bytes == before.used_bytes && after.requested_bytes == before.requested_bytes);
    CHECK(after.deallocation_count == before.deallocation_count && after.rejected_free_count == before.rejected_free_count + 1);
    tlsf_poke64(hdr, saved);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_read(p, h, 0, buf, 100), MP_OK);
    CHECK(buf[0] == 0x5a && buf[99] == 0x5a);
    CHECK_STATUS(mp_pool_free(p, h), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* A minimum block above TLSF's smallest usable size: the sizes stay in the
 * slot's info (the header records the minimum, not the request). */
static void a_large_minimum_block_keeps_sizes_in_the_info(void) {
    MP_PoolConfig cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .min_block_bytes = 64};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    REQUIRE(p != NULL);
    CHECK(p->tlsf_only != NULL && !p->tlsf_sizes);
    MP_Handle h;
    CHECK_STATUS(mp_pool_alloc(p, 5, 0, MP_ALLOC_PINNED, &h), MP_OK);
    MP_PoolBlockInfo info;
    CHECK_STATUS(mp_pool_block_info(p, h, &info), MP_OK);
    CHECK(info.size_bytes == 5 && info.usable_bytes >= 64 && info.pinned);
    CHECK(stats_of(p).requested_bytes == 5);
    CHECK(mp_pool_check(p) == 0);
    CHECK_STATUS(mp_pool_free(p, h), MP_OK);
    CHECK(stats_of(p).requested_bytes == 0 && mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

/* mp_pool_alloc/free serve the commonest case on a fast path; a
 * thread-safe twin always takes the general one. Fed the same operations
 * (sizes on both sides of TLSF's 8 KiB cache bound, pinned blocks, double
 * frees), both return the same statuses, slots and generations, place
 * blocks at the same offsets and keep equal stats. */
static void the_fast_and_general_paths_agree(void) {
    enum { OPS = 4000, SLOTS = 96 };
    MP_PoolConfig fast_cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF};
    MP_PoolConfig full_cfg = {.pool_bytes = MIB, .strategy = MP_STRATEGY_TLSF, .flags = MP_FLAG_THREAD_SAFE};
    MP_Pool *twin[2] = {mp_pool_create_ex(&fast_cfg), mp_pool_create_ex(&full_cfg)};
    REQUIRE(twin[0] && twin[1]);
    REQUIRE(twin[0]->tlsf_sizes && twin[1]->tlsf_sizes);
    MP_Handle live[2][SLOTS] = {{0}}, gone[2] = {0, 0};
    uint64_t rng = 5;
    const uint64_t payload = ((uint64_t)1 << POOL_PAYLOAD_BITS) - 1; /* the handle without the pool's tag */
    for (int op = 0; op < OPS; op++) {
        size_t i = (size_t)(mp_test_rand(&rng) % SLOTS);
        size_t size = 1 + (size_t)(mp_test_rand(&rng) % 9000);
        unsigned pick = (unsigned)(mp_test_rand(&rng) % 16);
        for (int k = 0; k < 2; k++) {
            MP_Pool *p = twin[k];
            if (live[k][i] != 0) {
                CHECK_STATUS(mp_pool_free(p, live[k][i]), MP_OK);
                gone[k] = live[k][i];
                live[k][i] = 0;
            } else if (pick == 0 && gone[k] != 0) {
                CHECK_STATUS(mp_pool_free(p, gone[k]), MP_ERR_DOUBLE_FREE);
            } else {
                CHECK_STATUS(mp_pool_alloc(p, size, 0, pick == 1 ? MP_ALLOC_PINNED : 0, &live[k][i]), MP_OK);
            }
        }
        CHECK((live[0][i] & payload) == (live[1][i] & payload));
        if (live[0][i] != 0 && live[1][i] != 0) {
            size_t off[2], len[2];
            CHECK_STATUS(mp_pool_locate(twin[0], live[0][i], &off[0], &len[0]), MP_OK);
            CHECK_STATUS(mp_pool_locate(twin[1], live[1][i], &off[1], &len[1]), MP_OK);
            CHECK(off[0] == off[1] && len[0] == size && len[1] == size);
        }
        MP_PoolStats s0 = stats_of(twin[0]), s1 = stats_of(twin[1]);
        CHECK(same_stats(&s0, &s1));
        if (op % 64 == 0) CHECK(mp_pool_check(twin[0]) == 0 && mp_pool_check(twin[1]) == 0);
        if (mp_test_failures_ != 0) break;
    }
    CHECK(mp_pool_check(twin[0]) == 0);
    mp_pool_destroy(twin[0]);
    mp_pool_destroy(twin[1]);
}

/* A block the front cache does not take (over 8 KiB) goes from the fast
 * free straight to TLSF's coalescing free, which validates its successor:
 * with that header overwritten the free is refused as corruption, counted,
 * and changes nothing else; the block is still live and frees once the
 * header is back. */
static void a_fast_free_next_to_an_overwritten_header_changes_nothing(void) {
    MP_Pool *p = mp_pool_create(MIB, MP_STRATEGY_TLSF);
    REQUIRE(p != NULL && p->tlsf_sizes);
    MP_Handle big, next;
    CHECK_STATUS(mp_pool_alloc(p, 9000, 0, 0, &big), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 100, 0, 0, &next), MP_OK);
    REQUIRE(big < p->fast_free_end); /* the fast free's case */
    CHECK_STATUS(mp_pool_fill(p, big, 0, 0x5a, 9000), MP_OK);
    uint8_t *hdr = p->slots[slot_of(p, next)].ptr - TLSF_HDR_BYTES;
    uint64_t saved = tlsf_peek64(hdr);
    tlsf_poke64(hdr, UINT64_MAX);
    MP_PoolStats before = stats_of(p);
    CHECK_STATUS(mp_pool_free(p, big), MP_ERR_CORRUPTION);
    MP_PoolStats after = stats_of(p);
    CHECK(after.rejected_free_count == before.rejected_free_count + 1);
    after.rejected_free_count = before.rejected_free_count;
    CHECK(same_stats(&before, &after));
    tlsf_poke64(hdr, saved);
    CHECK(mp_pool_check(p) == 0);
    uint8_t buf[9000];
    CHECK_STATUS(mp_pool_read(p, big, 0, buf, sizeof buf), MP_OK);
    CHECK(buf[0] == 0x5a && buf[8999] == 0x5a);
    CHECK_STATUS(mp_pool_free(p, big), MP_OK);
    CHECK_STATUS(mp_pool_free(p, next), MP_OK);
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

MP_TEST_MAIN(TEST_CASE(sizes_come_from_the_headers_and_links_only_from_pins),
             TEST_CASE(the_fast_and_general_paths_agree),
             TEST_CASE(an_overwritten_header_is_corruption_for_every_access),
             TEST_CASE(a_fast_free_next_to_an_overwritten_header_changes_nothing),
             TEST_CASE(a_large_minimum_block_keeps_sizes_in_the_info))
