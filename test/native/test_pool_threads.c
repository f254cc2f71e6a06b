/*
 * test_pool_threads.c - a thread-safe managed pool shared by worker threads
 * (each its own owner: alloc, write, read back, copy, free, refused access to
 * the others' blocks) while another thread compacts in small budgets, reads
 * metrics and runs mp_pool_check. Every block's contents must survive the
 * moves, owner accounting must balance, and TSan must see no race.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "mp_test.h"

#define WORKERS 3
#define ITERATIONS 8000
#define LIVE_PER_WORKER 48

typedef struct shared {
    MP_Pool *pool;
    atomic_int workers_done;
    atomic_int pressure_calls;
    atomic_int errors;
    MP_Handle published[WORKERS]; /* one handle per worker, for refused access */
    atomic_int published_ready;
} shared;

typedef struct worker_arg {
    shared *sh;
    uint32_t owner;
} worker_arg;

static void on_pressure(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    shared *sh = ctx;
    (void)pool;
    if (old_level == new_level) atomic_fetch_add(&sh->errors, 1);
    atomic_fetch_add(&sh->pressure_calls, 1);
}

static uint8_t byte_of(uint32_t owner, uint64_t tag, size_t i) { return (uint8_t)(owner * 31u + tag * 7u + i); }

static void *worker(void *p) {
    worker_arg *a = p;
    shared *sh = a->sh;
    MP_Handle h[LIVE_PER_WORKER] = {0};
    size_t size[LIVE_PER_WORKER] = {0};
    uint64_t tag[LIVE_PER_WORKER] = {0};
    uint64_t rng = 1000u + a->owner;
    uint8_t buf[2048];
    int errors = 0;
    if (mp_pool_alloc(sh->pool, 64, a->owner, MP_ALLOC_PINNED, &sh->published[a->owner]) != MP_OK) errors++;
    atomic_fetch_add(&sh->published_ready, 1);
    for (int it = 0; it < ITERATIONS; it++) {
        size_t k = (size_t)(mp_test_rand(&rng) % LIVE_PER_WORKER);
        if (h[k] != 0) {
            if (mp_pool_read_as(sh->pool, a->owner, h[k], 0, buf, size[k]) != MP_OK) errors++;
            for (size_t i = 0; i < size[k]; i++) errors += buf[i] != byte_of(a->owner, tag[k], i);
            if (mp_pool_free_as(sh->pool, a->owner, h[k]) != MP_OK) errors++;
            if (mp_pool_free(sh->pool, h[k]) != MP_ERR_DOUBLE_FREE) errors++;
            h[k] = 0;
        } else {
            size[k] = 1 + (size_t)(mp_test_rand(&rng) % sizeof buf);
            tag[k] = mp_test_rand(&rng);
            MP_Status st = mp_pool_alloc(sh->pool, size[k], a->owner, 0, &h[k]);
            if (st != MP_OK) {
                errors += st != MP_ERR_OUT_OF_MEMORY;
                h[k] = 0;
                continue;
            }
            for (size_t i = 0; i < size[k]; i++) buf[i] = byte_of(a->owner, tag[k], i);
            if (mp_pool_write(sh->pool, h[k], 0, buf, size[k]) != MP_OK) errors++;
        }
        if (atomic_load(&sh->published_ready) == WORKERS) {
            uint32_t other = (a->owner + 1) % WORKERS;
            if (mp_pool_write_as(sh->pool, a->owner, sh->published[other], 0, buf, 1) != MP_ERR_PROTECTION) errors++;
        }
    }
    for (size_t k = 0; k < LIVE_PER_WORKER; k++)
        if (h[k] != 0 && mp_pool_free(sh->pool, h[k]) != MP_OK) errors++;
    MP_PoolOwnerStats os;
    if (mp_pool_owner_stats(sh->pool, a->owner, &os) != MP_OK || os.block_count != 1) errors++;
    atomic_fetch_add(&sh->errors, errors);
    atomic_fetch_add(&sh->workers_done, 1);
    return NULL;
}

static void *compactor(void *p) {
    shared *sh = p;
    int errors = 0;
    /* The pauses keep the machine's two cores mostly for the workers. */
    const struct timespec pause = {0, 200 * 1000};
    unsigned round = 0;
    do {
        MP_DefragResult r;
        MP_PoolStats st;
        if (mp_pool_defragment(sh->pool, 4096, &r) != MP_OK) errors++;
        if (mp_pool_stats(sh->pool, &st) != MP_OK || st.used_bytes > st.total_bytes) errors++;
        if (round % 8 == 0 && mp_pool_check(sh->pool) != 0) errors++;
        (void)mp_pool_relocation_count(sh->pool);
        (void)mp_pool_pressure_level(sh->pool);
        nanosleep(&pause, NULL);
        round++;
    } while (atomic_load(&sh->workers_done) < WORKERS);
    atomic_fetch_add(&sh->errors, errors);
    return NULL;
}

static void run_shared(MP_PoolStrategy strategy) {
    shared sh;
    memset(&sh, 0, sizeof sh);
    MP_PoolConfig cfg = {.pool_bytes = 96 * 1024,
                         .strategy = strategy,
                         .defrag_enabled = 1,
                         .flags = MP_FLAG_THREAD_SAFE,
                         .pressure_fn = on_pressure,
                         .pressure_ctx = &sh};
    sh.pool = mp_pool_create_ex(&cfg);
    REQUIRE(sh.pool != NULL);
    pthread_t t[WORKERS + 1];
    worker_arg args[WORKERS];
    for (uint32_t i = 0; i < WORKERS; i++) {
        args[i].sh = &sh;
        args[i].owner = i;
        REQUIRE(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
    }
    REQUIRE(pthread_create(&t[WORKERS], NULL, compactor, &sh) == 0);
    for (int i = 0; i <= WORKERS; i++) pthread_join(t[i], NULL);
    CHECK(atomic_load(&sh.errors) == 0);
    MP_PoolStats st;
    CHECK_STATUS(mp_pool_stats(sh.pool, &st), MP_OK);
    CHECK(st.allocated_block_count == WORKERS && st.pinned_block_count == WORKERS);
    CHECK(st.allocation_count == st.deallocation_count + WORKERS);
    CHECK(st.defrag_count > 0);
    CHECK(mp_pool_check(sh.pool) == 0);
    /* Whether the workers alone crossed a pressure level depends on how the
     * scheduler interleaved them; filling the pool afterwards always does,
     * and the callback must report it. */
    MP_Handle fill[4096];
    size_t filled = 0;
    for (size_t sz = 4096; sz >= 16; sz /= 4)
        while (filled < 4096 && mp_pool_alloc(sh.pool, sz, 99, 0, &fill[filled]) == MP_OK) filled++;
    CHECK(mp_pool_pressure_level(sh.pool) >= MP_PRESSURE_HIGH);
    CHECK(atomic_load(&sh.pressure_calls) > 0);
    for (size_t i = 0; i < filled; i++) CHECK_STATUS(mp_pool_free(sh.pool, fill[i]), MP_OK);
    CHECK(mp_pool_check(sh.pool) == 0);
    if (getenv("MP_TEST_VERBOSE"))
        printf("strategy %d: %" PRIu64 " passes, %" PRIu64 " blocks moved, %d pressure changes\n", (int)strategy,
               st.defrag_count, st.relocation_count, atomic_load(&sh.pressure_calls));
    mp_pool_destroy(sh.pool);
}

static void workers_and_a_compactor_share_a_first_fit_pool_without_losing_bytes(void) {
    run_shared(MP_STRATEGY_FIRST_FIT);
}

static void workers_and_a_compactor_share_a_tlsf_pool_without_losing_bytes(void) { run_shared(MP_STRATEGY_TLSF); }

static void workers_and_a_compactor_share_an_auto_pool_without_losing_bytes(void) { run_shared(MP_STRATEGY_AUTO); }

MP_TEST_MAIN(TEST_CASE(workers_and_a_compactor_share_a_first_fit_pool_without_losing_bytes),
             TEST_CASE(workers_and_a_compactor_share_a_tlsf_pool_without_losing_bytes),
             TEST_CASE(workers_and_a_compactor_share_an_auto_pool_without_losing_bytes))
