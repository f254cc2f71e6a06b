/*
 * test_pool_auto_defrag.c - observing the automatic compaction of mp_pool:
 * MP_AutoDefragFn is called once per pass that mp_pool_alloc runs (counted
 * by auto_defrag_count), outside the lock, before the pressure callback of
 * the same call, with the pass's MP_DefragResult; mp_pool_last_auto_defrag
 * returns the same record. Explicit mp_pool_defragment calls neither.
 */
#include "mp_test.h"

#define KIB ((size_t)1024)

typedef struct event_log {
    MP_Pool *pool;
    int defrag_calls;
    char order[8]; /* 'd' for a pass, 'p' for a pressure change, in call order */
    MP_DefragResult last;
    MP_PoolStats stats_in_callback;
    MP_Status stats_status;
} event_log;

static void log_order(event_log *log, char what) {
    size_t n = strlen(log->order);
    if (n + 1 < sizeof log->order) log->order[n] = what;
}

static void on_auto_defrag(MP_Pool *pool, const MP_DefragResult *result, void *ctx) {
    event_log *log = ctx;
    CHECK(pool == log->pool);
    log->defrag_calls++;
    log->last = *result;
    log_order(log, 'd');
    /* Outside the lock: calling the (thread-safe, spin-locked) pool returns. */
    log->stats_status = mp_pool_stats(pool, &log->stats_in_callback);
}

static void on_pressure(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    (void)pool;
    (void)old_level;
    (void)new_level;
    log_order(ctx, 'p');
}

/* A 64 KiB first-fit pool of 32 blocks of 2 KiB with every other one freed:
 * 32 KiB free in 2 KiB holes, so a 16 KiB request needs compaction. The
 * survivors' handles go to `keep` (16). */
static MP_Pool *fragmented(event_log *log, MP_Handle *keep) {
    MP_PoolConfig cfg = {.pool_bytes = 64 * KIB,
                         .strategy = MP_STRATEGY_FIRST_FIT,
                         .defrag_enabled = 1,
                         .flags = MP_FLAG_THREAD_SAFE,
                         .pressure_fn = on_pressure,
                         .pressure_ctx = log,
                         .auto_defrag_fn = on_auto_defrag,
                         .auto_defrag_ctx = log};
    MP_Pool *p = mp_pool_create_ex(&cfg);
    if (p == NULL) return NULL;
    log->pool = p;
    MP_Handle all[32];
    for (size_t i = 0; i < 32; i++) {
        CHECK_STATUS(mp_pool_alloc(p, 2048, 0, 0, &all[i]), MP_OK);
        CHECK_STATUS(mp_pool_fill(p, all[i], 0, (uint8_t)i, 2048), MP_OK);
    }
    for (size_t i = 0; i < 32; i++) {
        if (i % 2 == 0)
            CHECK_STATUS(mp_pool_free(p, all[i]), MP_OK);
        else
            keep[i / 2] = all[i];
    }
    return p;
}

static int block_is_filled_with(MP_Pool *p, MP_Handle h, uint8_t byte) {
    uint8_t got[2048];
    if (mp_pool_read(p, h, 0, got, sizeof got) != MP_OK) return 0;
    for (size_t i = 0; i < sizeof got; i++)
        if (got[i] != byte) return 0;
    return 1;
}

static void a_pass_that_makes_room_calls_back_once_with_its_result(void) {
    event_log log = {0};
    MP_Handle keep[16], h;
    MP_Pool *p = fragmented(&log, keep);
    REQUIRE(p != NULL);
    MP_PoolStats before, after;
    CHECK_STATUS(mp_pool_stats(p, &before), MP_OK);
    CHECK(log.defrag_calls == 0 && mp_pool_pressure_level(p) == MP_PRESSURE_LOW);
    memset(log.order, 0, sizeof log.order); /* forget the fill's pressure changes */
    /* 32 KiB live + 16 KiB = 75%: the same call also moves pressure low -> medium. */
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_OK);
    CHECK(log.defrag_calls == 1);
    CHECK(strcmp(log.order, "dp") == 0);
    CHECK_STATUS(mp_pool_stats(p, &after), MP_OK);
    CHECK(after.auto_defrag_count == before.auto_defrag_count + 1);
    CHECK(log.last.blocks_moved > 0 && log.last.complete == 1);
    CHECK(log.last.blocks_moved == after.relocation_count - before.relocation_count);
    CHECK(log.last.bytes_moved == after.bytes_moved_total - before.bytes_moved_total);
    CHECK(log.last.fragmentation_before == before.fragmentation_ratio);
    CHECK(log.last.fragmentation_before >= 0.3 && log.last.fragmentation_after == 0.0);
    /* The callback ran outside the lock, after the pass, before the block was handed out. */
    CHECK_STATUS(log.stats_status, MP_OK);
    CHECK(log.stats_in_callback.auto_defrag_count == after.auto_defrag_count);
    MP_DefragResult polled;
    CHECK(mp_pool_last_auto_defrag(p, &polled) == after.auto_defrag_count);
    CHECK(memcmp(&polled, &log.last, sizeof polled) == 0);
    for (size_t i = 0; i < 16; i++) CHECK(block_is_filled_with(p, keep[i], (uint8_t)(2 * i + 1)));
    CHECK(mp_pool_check(p) == 0);
    mp_pool_destroy(p);
}

static void a_futile_pass_is_reported_too_and_a_skipped_one_is_not(void) {
    event_log log = {0};
    MP_Handle keep[16], h = 0;
    MP_Pool *p = fragmented(&log, keep);
    REQUIRE(p != NULL);
    for (size_t i = 0; i < 16; i++) CHECK_STATUS(mp_pool_pin(p, keep[i]), MP_OK);
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK(log.defrag_calls == 1);
    CHECK(log.last.blocks_moved == 0 && log.last.bytes_moved == 0 && log.last.complete == 1);
    CHECK(log.last.fragmentation_after == log.last.fragmentation_before);
    /* Nothing freed since the futile pass: the next failure runs none, so no call. */
    CHECK_STATUS(mp_pool_alloc(p, 16 * KIB, 0, 0, &h), MP_ERR_OUT_OF_MEMORY);
    CHECK(log.defrag_calls == 1);
    MP_DefragResult polled;
    CHECK(mp_pool_last_auto_defrag(p, &polled) == 1);
    CHECK(memcmp(&polled, &log.last, sizeof polled) == 0);
    mp_pool_destroy(p);
}

static void explicit_passes_and_fitting_allocations_call_nothing(void) {
    event_log log = {0};
    MP_Handle keep[16], h;
    MP_Pool *p = fragmented(&log, keep);
    REQUIRE(p != NULL);
    MP_DefragResult polled;
    memset(&polled, 0xff, sizeof polled);
    CHECK(mp_pool_last_auto_defrag(p, &polled) == 0);
    CHECK(polled.bytes_moved == 0 && polled.blocks_moved == 0 && polled.complete == 0);
    CHECK(polled.fragmentation_before == 0.0 && polled.fragmentation_after == 0.0);
    CHECK_STATUS(mp_pool_alloc(p, 1024, 0, 0, &h), MP_OK); /* fits a hole */
    MP_DefragResult r;
    CHECK_STATUS(mp_pool_defragment(p, 0, &r), MP_OK);
    CHECK(r.blocks_moved > 0);
    CHECK(log.defrag_calls == 0 && mp_pool_last_auto_defrag(p, NULL) == 0);
    memset(&polled, 0xff, sizeof polled);
    CHECK(mp_pool_last_auto_defrag(NULL, &polled) == 0 && polled.blocks_moved == 0);
    mp_pool_destroy(p);
}

MP_TEST_MAIN(TEST_CASE(a_pass_that_makes_room_calls_back_once_with_its_result),
             TEST_CASE(a_futile_pass_is_reported_too_and_a_skipped_one_is_not),
             TEST_CASE(explicit_passes_and_fitting_allocations_call_nothing))
