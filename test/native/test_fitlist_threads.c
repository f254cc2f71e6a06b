/*
 * test_fitlist_threads.c - a MP_FLAG_THREAD_SAFE fit list shared by 4
 * threads that allocate, reallocate and free each other's blocks through a
 * table of atomic slots, verifying each block's pattern before touching it;
 * afterwards every block is accounted for and check() is 0. Runs under TSan.
 */
#include "mp_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define THREADS 4
#define SLOTS 64
#define ITERATIONS 6000

typedef struct shared {
    MP_FitList *f;
    _Atomic(uintptr_t) slots[SLOTS];
    atomic_int pattern_errors;
    atomic_int status_errors;
} shared;

typedef struct worker {
    shared *s;
    uint64_t seed;
} worker;

/* A block starts with its size; the remaining bytes derive from it. */
static void write_block(uint8_t *p, size_t size) {
    memcpy(p, &size, sizeof size);
    for (size_t i = sizeof size; i < size; i++)
        p[i] = (uint8_t)(size * 31u + i);
}

static size_t verify_block(const uint8_t *p) {
    size_t size;
    memcpy(&size, p, sizeof size);
    if (size < sizeof size || size > 4096) return 0;
    for (size_t i = sizeof size; i < size; i++)
        if (p[i] != (uint8_t)(size * 31u + i)) return 0;
    return size;
}

static void *work(void *arg) {
    worker *w = arg;
    shared *s = w->s;
    for (int it = 0; it < ITERATIONS; it++) {
        uint64_t r = mp_test_rand(&w->seed);
        size_t size = 16 + (size_t)(r % 700);
        uint8_t *p = (r >> 20) % 4 == 0 ? mp_fitlist_alloc_aligned(s->f, size, (size_t)64 << ((r >> 24) % 4))
                                        : mp_fitlist_alloc(s->f, size);
        if (p == NULL) continue;
        write_block(p, size);
        uintptr_t old = atomic_exchange(&s->slots[(r >> 32) % SLOTS], (uintptr_t)p);
        if (old == 0) continue;
        uint8_t *q = (uint8_t *)old;
        size_t old_size = verify_block(q);
        if (old_size == 0 || mp_fitlist_usable_size(s->f, q) < old_size)
            atomic_fetch_add(&s->pattern_errors, 1);
        if ((r >> 40) % 3 == 0) {
            void *moved = q;
            size_t new_size = old_size + (size_t)((r >> 44) % 800); /* grow: the pattern stays readable */
            if (mp_fitlist_realloc(s->f, &moved, new_size) == MP_OK) {
                q = moved;
                if (verify_block(q) != old_size) atomic_fetch_add(&s->pattern_errors, 1);
            }
        }
        if (mp_fitlist_free(s->f, q) != MP_OK) atomic_fetch_add(&s->status_errors, 1);
        if ((r >> 50) % 64 == 0) {
            MP_FreeStats fs;
            if (mp_fitlist_free_stats(s->f, &fs) != MP_OK) atomic_fetch_add(&s->status_errors, 1);
        }
    }
    return NULL;
}

static void run_policy(MP_FitPolicy policy) {
    static shared s;
    memset(&s, 0, sizeof s);
    s.f = mp_fitlist_create_ex(&(MP_FitListConfig){1u << 20, policy, MP_FLAG_THREAD_SAFE, NULL});
    REQUIRE(s.f != NULL);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){&s, 1000u * (uint64_t)(i + 1) + (uint64_t)policy};
        REQUIRE(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    size_t remaining = 0;
    for (int i = 0; i < SLOTS; i++) {
        uint8_t *p = (uint8_t *)atomic_load(&s.slots[i]);
        if (p == NULL) continue;
        remaining++;
        CHECK(verify_block(p) != 0);
        CHECK_STATUS(mp_fitlist_free(s.f, p), MP_OK);
    }
    CHECK(atomic_load(&s.pattern_errors) == 0 && atomic_load(&s.status_errors) == 0);
    MP_HeapStats st;
    CHECK_STATUS(mp_fitlist_stats(s.f, &st), MP_OK);
    CHECK(st.live_block_count == 0 && st.bytes_in_use == 0 && st.alloc_count == st.free_count);
    CHECK(st.alloc_count > (uint64_t)THREADS * ITERATIONS / 2 && remaining > 0);
    CHECK(mp_fitlist_check(s.f) == 0);
    mp_fitlist_destroy(s.f);
}

static void four_threads_share_a_first_fit_list(void) { run_policy(MP_FIT_FIRST); }
static void four_threads_share_a_best_fit_list(void) { run_policy(MP_FIT_BEST); }
static void four_threads_share_a_worst_fit_list(void) { run_policy(MP_FIT_WORST); }

MP_TEST_MAIN(TEST_CASE(four_threads_share_a_first_fit_list), TEST_CASE(four_threads_share_a_best_fit_list),
             TEST_CASE(four_threads_share_a_worst_fit_list))
