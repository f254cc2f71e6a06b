/*
 * test_buddy_threads.c - a MP_FLAG_THREAD_SAFE buddy shared by 4 threads that
 * allocate, resize and free each other's blocks through a shared table of
 * slots. Each block carries a pattern derived from its address and size,
 * checked by whichever thread frees it; at the end check() == 0 and the
 * counters balance. Runs under TSan (label "threads").
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mp_test.h"

#define THREADS 4
#define SLOTS 512
#define OPS_PER_THREAD 20000

typedef struct shared {
    MP_Buddy *buddy;
    _Atomic(uintptr_t) slots[SLOTS];
    atomic_int pattern_errors;
    atomic_int status_errors;
} shared;

typedef struct worker {
    shared *sh;
    uint64_t seed;
} worker;

/* The first word of a block holds its requested size; the rest a pattern of
 * address and size, so a block handed to two owners shows up. */
static unsigned char pattern_byte(uintptr_t addr, size_t size, size_t i) {
    return (unsigned char)((addr >> 4) ^ size ^ (i * 13u));
}

static void stamp(unsigned char *p, size_t size) {
    memcpy(p, &size, sizeof size);
    for (size_t i = sizeof size; i < size; i++) p[i] = pattern_byte((uintptr_t)p, size, i);
}

static int stamp_ok(const unsigned char *p, size_t *size_out) {
    size_t size;
    memcpy(&size, p, sizeof size);
    *size_out = size;
    if (size < sizeof size || size > 4096) return 0;
    for (size_t i = sizeof size; i < size; i++)
        if (p[i] != pattern_byte((uintptr_t)p, size, i)) return 0;
    return 1;
}

static void release(shared *sh, unsigned char *p) {
    size_t size = 0;
    if (!stamp_ok(p, &size)) atomic_fetch_add(&sh->pattern_errors, 1);
    if (mp_buddy_free(sh->buddy, p) != MP_OK) atomic_fetch_add(&sh->status_errors, 1);
}

static void *work(void *arg) {
    worker *w = arg;
    shared *sh = w->sh;
    uint64_t rng = w->seed;
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        uint64_t r = mp_test_rand(&rng);
        size_t slot = (size_t)(r % SLOTS);
        unsigned char *old = (unsigned char *)atomic_exchange(&sh->slots[slot], (uintptr_t)0);
        if (old != NULL && (r >> 32) % 4 == 0) {
            /* Resize a block another thread may have made. */
            size_t size = 0;
            if (!stamp_ok(old, &size)) atomic_fetch_add(&sh->pattern_errors, 1);
            size_t new_size = sizeof(size_t) + (size_t)((r >> 40) % 3000);
            void *q = old;
            if (mp_buddy_realloc(sh->buddy, &q, new_size) == MP_OK) {
                stamp(q, new_size);
                old = q;
            } else {
                stamp(old, size);
            }
            old = (unsigned char *)atomic_exchange(&sh->slots[slot], (uintptr_t)old);
        }
        if (old != NULL) {
            release(sh, old);
            continue;
        }
        size_t size = sizeof(size_t) + (size_t)((r >> 16) % 2000);
        unsigned char *p = (r >> 48) % 5 == 0 ? mp_buddy_alloc_aligned(sh->buddy, size, 256)
                                               : mp_buddy_alloc(sh->buddy, size);
        if (p == NULL) continue;
        stamp(p, size);
        unsigned char *prev = (unsigned char *)atomic_exchange(&sh->slots[slot], (uintptr_t)p);
        if (prev != NULL) release(sh, prev);
        if (op % 4096 == 0) {
            MP_FreeStats fs;
            if (mp_buddy_free_stats(sh->buddy, &fs) != MP_OK) atomic_fetch_add(&sh->status_errors, 1);
        }
    }
    return NULL;
}

static void test_four_threads_share_blocks_without_corruption(void) {
    static shared sh;
    MP_BuddyConfig cfg = {4 * 1024 * 1024, 32, 0, MP_FLAG_THREAD_SAFE, NULL};
    sh.buddy = mp_buddy_create_ex(&cfg);
    REQUIRE(sh.buddy != NULL);
    for (size_t i = 0; i < SLOTS; i++) atomic_init(&sh.slots[i], (uintptr_t)0);
    atomic_init(&sh.pattern_errors, 0);
    atomic_init(&sh.status_errors, 0);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t].sh = &sh;
        workers[t].seed = 0xC0FFEEu + (uint64_t)t * 7919u;
        REQUIRE(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    CHECK(atomic_load(&sh.pattern_errors) == 0);
    CHECK(atomic_load(&sh.status_errors) == 0);
    CHECK(mp_buddy_check(sh.buddy) == 0);
    size_t remaining = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        unsigned char *p = (unsigned char *)atomic_load(&sh.slots[i]);
        if (p == NULL) continue;
        remaining++;
        release(&sh, p);
    }
    MP_HeapStats st;
    CHECK_STATUS(mp_buddy_stats(sh.buddy, &st), MP_OK);
    CHECK(st.live_block_count == 0);
    CHECK(st.bytes_in_use == 0);
    CHECK(st.alloc_count == st.free_count);
    CHECK(st.alloc_count > remaining);
    CHECK(atomic_load(&sh.pattern_errors) == 0);
    CHECK(mp_buddy_check(sh.buddy) == 0);
    mp_buddy_destroy(sh.buddy);
}

MP_TEST_MAIN(TEST_CASE(test_four_threads_share_blocks_without_corruption))
