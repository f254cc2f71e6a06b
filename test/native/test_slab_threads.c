/*
 * test_slab_threads.c - a slab allocator created with MP_FLAG_THREAD_SAFE
 * shared by 4 threads that allocate (alloc, calloc, alloc_aligned), resize,
 * and free blocks, each other's included: blocks travel through a shared
 * mailbox of atomic slots. Every block carries a pattern derived from its
 * owner and size that is verified before it is freed. At the end every
 * block is freed, the counters balance and check() == 0. Runs under TSan.
 */
#include "mp_test.h"

#include <pthread.h>
#include <stdatomic.h>

enum { THREADS = 4, OPS_PER_THREAD = 20000, MAILBOX = 64 };

static MP_Slab *pool;
static _Atomic(uintptr_t) mailbox[MAILBOX];
static atomic_int pattern_errors;
static atomic_int api_errors;

/* A block starts with its requested size (>= 16) and a tag; the rest of
 * the requested bytes are tag + offset. */
static void stamp(unsigned char *p, size_t size, unsigned tag) {
    memcpy(p, &size, sizeof size);
    p[8] = (unsigned char)tag;
    for (size_t i = 9; i < size; i++) p[i] = (unsigned char)(tag + i);
}

static void verify_and_free(unsigned char *p) {
    size_t size;
    memcpy(&size, p, sizeof size);
    unsigned tag = p[8];
    for (size_t i = 9; i < size; i++)
        if (p[i] != (unsigned char)(tag + i)) {
            atomic_fetch_add(&pattern_errors, 1);
            break;
        }
    if (mp_slab_free(pool, p) != MP_OK) atomic_fetch_add(&api_errors, 1);
}

static void *worker(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    unsigned tag = (unsigned)(uintptr_t)arg * 50u;
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        uint64_t r = mp_test_rand(&rng);
        size_t size = 16 + (size_t)(r >> 16) % (r % 8 == 0 ? 4080 : 240);
        unsigned char *p;
        switch (r % 4) {
        case 0:
            p = mp_slab_calloc(pool, size);
            break;
        case 1:
            p = mp_slab_alloc_aligned(pool, size, (size_t)1 << (r >> 8) % 7);
            break;
        default:
            p = mp_slab_alloc(pool, size);
            break;
        }
        if (p == NULL) continue; /* the region may be momentarily full */
        if (mp_slab_usable_size(pool, p) < size) atomic_fetch_add(&api_errors, 1);
        stamp(p, size, tag++);
        if (r % 16 == 1) {
            size_t bigger = size + (size_t)(r >> 40) % 1000;
            void *q = p;
            if (mp_slab_realloc(pool, &q, bigger) == MP_OK) {
                p = q;
                stamp(p, bigger, tag++);
            }
        }
        uintptr_t previous = atomic_exchange(&mailbox[(r >> 32) % MAILBOX], (uintptr_t)p);
        if (previous != 0) verify_and_free((unsigned char *)previous);
        if (r % 64 == 3) {
            MP_HeapStats st;
            if (mp_slab_stats(pool, &st) != MP_OK || st.live_block_count > MAILBOX + THREADS)
                atomic_fetch_add(&api_errors, 1);
        }
    }
    return NULL;
}

static void four_threads_share_one_pool_and_free_each_others_blocks(void) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = 64 * 4096;
    cfg.slab_bytes = 4096;
    cfg.flags = MP_FLAG_THREAD_SAFE;
    pool = mp_slab_create_ex(&cfg);
    REQUIRE(pool != NULL);
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        REQUIRE(pthread_create(&threads[t], NULL, worker, (void *)(t + 1)) == 0);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    for (int i = 0; i < MAILBOX; i++) {
        uintptr_t p = atomic_exchange(&mailbox[i], 0);
        if (p != 0) verify_and_free((unsigned char *)p);
    }
    CHECK(atomic_load(&pattern_errors) == 0);
    CHECK(atomic_load(&api_errors) == 0);
    MP_HeapStats st;
    CHECK_STATUS(mp_slab_stats(pool, &st), MP_OK);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0 && st.bytes_requested == 0);
    CHECK(st.alloc_count == st.free_count && st.alloc_count > THREADS * OPS_PER_THREAD / 2);
    CHECK(st.rejected_free_count == 0);
    CHECK(mp_slab_check(pool) == 0);
    mp_slab_destroy(pool);
}

MP_TEST_MAIN(TEST_CASE(four_threads_share_one_pool_and_free_each_others_blocks))
