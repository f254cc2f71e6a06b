/*
 * test_tlsf_threads.c - a TLSF instance created with MP_FLAG_THREAD_SAFE is
 * shared by 4 threads that allocate (plain, aligned, calloc), grow with
 * realloc and free each other's blocks through a shared table of slots,
 * verifying every block's contents before freeing it; one thread also reads
 * stats, free_stats and check() meanwhile. At the end check() == 0 and the
 * counters balance. Runs under TSan (label "threads").
 */
#include <pthread.h>
#include <stdatomic.h>

#include "mp_test.h"

#define THREADS 4
#define SLOTS 512
#define ITERATIONS 12000

static MP_Tlsf *shared_heap;
static _Atomic(uint8_t *) slots[SLOTS];
static atomic_int pattern_errors, alloc_failures;

/* A block starts with its byte count and a seed; the rest is derived from them. */
typedef struct block_head {
    size_t bytes;
    uint64_t seed;
} block_head;

static uint8_t pattern_byte(uint64_t seed, size_t i) { return (uint8_t)((seed >> (i % 56)) ^ i); }

static void stamp(uint8_t *p, size_t bytes, uint64_t seed) {
    block_head h = {bytes, seed};
    memcpy(p, &h, sizeof h);
    for (size_t i = sizeof h; i < bytes; i++) p[i] = pattern_byte(seed, i);
}

static int verify(const uint8_t *p, size_t max_bytes) {
    block_head h;
    memcpy(&h, p, sizeof h);
    if (h.bytes > max_bytes || h.bytes < sizeof h) return 0;
    for (size_t i = sizeof h; i < h.bytes; i++)
        if (p[i] != pattern_byte(h.seed, i)) return 0;
    return 1;
}

static uint8_t *make_block(uint64_t *rng) {
    uint64_t r = mp_test_rand(rng);
    size_t bytes = sizeof(block_head) + (size_t)(r % 2000);
    uint8_t *p;
    switch ((r >> 32) % 4) {
    case 0: p = mp_tlsf_alloc_aligned(shared_heap, bytes, (size_t)64 << ((r >> 40) % 4)); break;
    case 1: p = mp_tlsf_calloc(shared_heap, bytes); break;
    default: p = mp_tlsf_alloc(shared_heap, bytes); break;
    }
    if (p == NULL) {
        atomic_fetch_add(&alloc_failures, 1);
        return NULL;
    }
    stamp(p, bytes, r);
    return p;
}

static void *worker(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < ITERATIONS; i++) {
        size_t slot = (size_t)(mp_test_rand(&rng) % SLOTS);
        uint8_t *mine = make_block(&rng);
        uint8_t *old = atomic_exchange(&slots[slot], mine);
        if (old == NULL) continue;
        size_t usable = mp_tlsf_usable_size(shared_heap, old);
        if (!verify(old, usable)) atomic_fetch_add(&pattern_errors, 1);
        if (mp_test_rand(&rng) % 8 == 0) {
            /* Grow someone else's block, then hand it back to the table. */
            void *p = old;
            if (mp_tlsf_realloc(shared_heap, &p, usable + 500) == MP_OK) {
                if (!verify(p, usable)) atomic_fetch_add(&pattern_errors, 1);
                old = atomic_exchange(&slots[slot], (uint8_t *)p);
                if (old == NULL) continue;
            }
        }
        if (mp_tlsf_free(shared_heap, old) != MP_OK) atomic_fetch_add(&pattern_errors, 1);
        if ((uintptr_t)arg == 0 && i % 1000 == 0) {
            MP_HeapStats st;
            MP_FreeStats fs;
            if (mp_tlsf_stats(shared_heap, &st) != MP_OK || mp_tlsf_free_stats(shared_heap, &fs) != MP_OK ||
                mp_tlsf_check(shared_heap) != 0)
                atomic_fetch_add(&pattern_errors, 1);
        }
    }
    return NULL;
}

static void test_four_threads_share_one_heap_without_losing_blocks(void) {
    MP_TlsfConfig cfg = {8 * 1024 * 1024, 0, MP_FLAG_THREAD_SAFE, NULL, MP_TLSF_CACHE_DEFAULT_BYTES, 0};
    shared_heap = mp_tlsf_create_ex(&cfg);
    REQUIRE(shared_heap != NULL);
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++) REQUIRE(pthread_create(&th[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    CHECK(atomic_load(&pattern_errors) == 0);
    CHECK(atomic_load(&alloc_failures) == 0);
    CHECK(mp_tlsf_check(shared_heap) == 0);
    MP_HeapStats st;
    CHECK_STATUS(mp_tlsf_stats(shared_heap, &st), MP_OK);
    size_t live = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        uint8_t *p = atomic_load(&slots[i]);
        if (p == NULL) continue;
        live++;
        CHECK(verify(p, mp_tlsf_usable_size(shared_heap, p)));
        CHECK_STATUS(mp_tlsf_free(shared_heap, p), MP_OK);
    }
    CHECK(st.live_block_count == live);
    CHECK(st.alloc_count - st.free_count == live);
    CHECK(st.rejected_free_count == 0 && st.failed_alloc_count == 0);
    CHECK_STATUS(mp_tlsf_stats(shared_heap, &st), MP_OK);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0);
    CHECK(mp_tlsf_check(shared_heap) == 0);
    mp_tlsf_destroy(shared_heap);
}

MP_TEST_MAIN(TEST_CASE(test_four_threads_share_one_heap_without_losing_blocks))
