/*
 * test_fixed_pool_threads.c - a thread-safe pool shared by 4 threads that
 * allocate, pass slots to each other and free each other's slots; an owner
 * table proves no slot is handed out twice at once and the bytes a thread
 * wrote arrive intact. Also: racing frees of one slot yield exactly one
 * MP_OK. Half of the churning and racing threads call the header's inline
 * functions, which must fall back to the lock-free paths on a thread-safe
 * pool. Run under TSan by the "threads" label.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "mp_test.h"

enum { THREADS = 4, CAPACITY = 64, OBJECT = 48, CELLS = 16, ROUNDS = 20000 };

typedef struct shared_state {
    MP_FixedPool *pool;
    unsigned char *base;
    _Atomic(unsigned char *) cells[CELLS]; /* slots in transit between threads */
    _Atomic int owner[CAPACITY];          /* 0 = free, else thread id + 1 */
    _Atomic long double_handouts;
    _Atomic long corrupted;
    _Atomic long failed_frees;
    _Atomic long exhausted;
} shared_state;

typedef struct worker {
    shared_state *s;
    int id;
    uint64_t rng;
} worker;

static void stamp(unsigned char *slot, int id, uint64_t n) {
    for (int i = 0; i < OBJECT; i++) slot[i] = (unsigned char)(n * 13u + (unsigned)(i * 5) + (unsigned)id);
    memcpy(slot, &n, sizeof n);
    slot[8] = (unsigned char)id;
}

static int intact(const unsigned char *slot) {
    uint64_t n;
    memcpy(&n, slot, sizeof n);
    int id = slot[8];
    for (int i = 9; i < OBJECT; i++)
        if (slot[i] != (unsigned char)(n * 13u + (unsigned)(i * 5) + (unsigned)id)) return 0;
    return 1;
}

/* Takes a slot away from whoever held it and frees it. */
static void release(shared_state *s, unsigned char *slot) {
    size_t index = (size_t)(slot - s->base) / OBJECT;
    if (!intact(slot)) atomic_fetch_add(&s->corrupted, 1);
    atomic_store(&s->owner[index], 0);
    if (mp_fixed_pool_free(s->pool, slot) != MP_OK) atomic_fetch_add(&s->failed_frees, 1);
}

static void *work(void *arg) {
    worker *w = arg;
    shared_state *s = w->s;
    for (uint64_t n = 0; n < ROUNDS; n++) {
        unsigned char *slot = mp_fixed_pool_alloc(s->pool);
        if (slot == NULL) {
            atomic_fetch_add(&s->exhausted, 1);
        } else {
            size_t index = (size_t)(slot - s->base) / OBJECT;
            int expected = 0;
            if (!atomic_compare_exchange_strong(&s->owner[index], &expected, w->id + 1))
                atomic_fetch_add(&s->double_handouts, 1);
            stamp(slot, w->id, n);
            /* Hand it to a random cell; free what was there (another thread's slot). */
            unsigned char *previous = atomic_exchange(&s->cells[mp_test_rand(&w->rng) % CELLS], slot);
            if (previous != NULL) release(s, previous);
        }
        if (mp_test_rand(&w->rng) % 4 == 0) {
            unsigned char *taken = atomic_exchange(&s->cells[mp_test_rand(&w->rng) % CELLS], NULL);
            if (taken != NULL) release(s, taken);
        }
    }
    return NULL;
}

static void four_threads_never_get_the_same_slot_at_once(void) {
    static shared_state s;
    MP_FixedPoolConfig cfg = {OBJECT, CAPACITY, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    s.pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(s.pool != NULL);
    s.base = mp_fixed_pool_base(s.pool);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){&s, i, 0x9E3779B9u * (uint64_t)(i + 1)};
        REQUIRE(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    for (int c = 0; c < CELLS; c++) {
        unsigned char *slot = atomic_exchange(&s.cells[c], NULL);
        if (slot != NULL) release(&s, slot);
    }
    CHECK(atomic_load(&s.double_handouts) == 0);
    CHECK(atomic_load(&s.corrupted) == 0);
    CHECK(atomic_load(&s.failed_frees) == 0);
    CHECK(atomic_load(&s.exhausted) == 0); /* at most CELLS + THREADS slots are ever live */
    MP_FixedPoolStats st;
    CHECK_STATUS(mp_fixed_pool_stats(s.pool, &st), MP_OK);
    CHECK(st.allocated == 0);
    CHECK(st.alloc_count == (uint64_t)THREADS * ROUNDS);
    CHECK(st.free_count == st.alloc_count);
    CHECK(st.allocated_peak <= CELLS + THREADS);
    CHECK(st.rejected_free_count == 0);
    CHECK(mp_fixed_pool_check(s.pool) == 0);
    mp_fixed_pool_destroy(s.pool);
}

/* Pop-pop-push-push churn on a 3-slot pool, all threads released at once:
 * the contention under which an untagged lock-free stack suffers ABA and
 * hands a slot out twice. */
typedef struct churn {
    MP_FixedPool *pool;
    _Atomic int *owner;
    unsigned char *base;
    _Atomic int *go;
    int use_inline; /* mp_fixed_pool_alloc_inline / _free_inline */
    long double_handouts;
} churn;

static void *churn_work(void *arg) {
    churn *c = arg;
    while (!atomic_load(c->go)) sched_yield();
    for (int round = 0; round < 100000; round++) {
        unsigned char *got[2];
        for (int k = 0; k < 2; k++) {
            got[k] = c->use_inline ? mp_fixed_pool_alloc_inline(c->pool) : mp_fixed_pool_alloc(c->pool);
            if (got[k] != NULL && atomic_exchange(&c->owner[(got[k] - c->base) / 16], 1) != 0)
                c->double_handouts++;
        }
        for (int k = 1; k >= 0; k--) {
            if (got[k] == NULL) continue;
            atomic_store(&c->owner[(got[k] - c->base) / 16], 0);
            if (c->use_inline) {
                mp_fixed_pool_free_inline(c->pool, got[k]);
            } else {
                mp_fixed_pool_free(c->pool, got[k]);
            }
        }
    }
    return NULL;
}

static void pop_push_churn_on_a_tiny_pool_never_hands_a_slot_out_twice(void) {
    MP_FixedPoolConfig cfg = {16, 3, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    static _Atomic int owner[3];
    _Atomic int go = 0;
    pthread_t threads[THREADS];
    churn workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (churn){pool, owner, mp_fixed_pool_base(pool), &go, i % 2, 0};
        REQUIRE(pthread_create(&threads[i], NULL, churn_work, &workers[i]) == 0);
    }
    atomic_store(&go, 1);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].double_handouts == 0);
    }
    MP_FixedPoolStats st;
    CHECK_STATUS(mp_fixed_pool_stats(pool, &st), MP_OK);
    CHECK(st.allocated == 0 && st.alloc_count == st.free_count && st.rejected_free_count == 0);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* Batch calls from several threads on a pool too small for all of them. */
typedef struct batch_worker {
    MP_FixedPool *pool;
    long handed_out;
    long refused;
} batch_worker;

static void *batch_work(void *arg) {
    batch_worker *w = arg;
    uint32_t offsets[8];
    for (int round = 0; round < 5000; round++) {
        size_t got = mp_fixed_pool_alloc_many(w->pool, offsets, 8);
        w->handed_out += (long)got;
        size_t done = 0;
        if (mp_fixed_pool_free_many(w->pool, offsets, got, &done) != MP_OK || done != got) w->refused++;
    }
    return NULL;
}

static void batch_calls_from_four_threads_keep_the_pool_consistent(void) {
    MP_FixedPoolConfig cfg = {16, 20, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    pthread_t threads[THREADS];
    batch_worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (batch_worker){pool, 0, 0};
        REQUIRE(pthread_create(&threads[i], NULL, batch_work, &workers[i]) == 0);
    }
    long handed_out = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        handed_out += workers[i].handed_out;
        CHECK(workers[i].refused == 0);
    }
    MP_FixedPoolStats st;
    CHECK_STATUS(mp_fixed_pool_stats(pool, &st), MP_OK);
    CHECK(st.allocated == 0);
    CHECK(st.alloc_count == (uint64_t)handed_out && st.free_count == (uint64_t)handed_out);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

/* Two threads free the same slot at the same time. */
typedef struct race {
    MP_FixedPool *pool;
    _Atomic int *go;
    void *slot;
    MP_Status status;
    int use_inline;
} race;

static void *racing_free(void *arg) {
    race *r = arg;
    while (!atomic_load_explicit(r->go, memory_order_acquire)) sched_yield(); /* 2 cores: let both start */
    r->status = r->use_inline ? mp_fixed_pool_free_inline(r->pool, r->slot) : mp_fixed_pool_free(r->pool, r->slot);
    return NULL;
}

static void racing_frees_of_one_slot_give_one_ok_and_one_double_free(void) {
    MP_FixedPoolConfig cfg = {32, 4, 0, MP_FLAG_THREAD_SAFE, NULL, 0};
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    REQUIRE(pool != NULL);
    int oks = 0, doubles = 0, others = 0;
    const int rounds = 1000;
    for (int round = 0; round < rounds; round++) {
        _Atomic int go = 0;
        void *slot = mp_fixed_pool_alloc(pool);
        race a = {pool, &go, slot, MP_OK, 1}, b = {pool, &go, slot, MP_OK, 0};
        pthread_t ta, tb;
        REQUIRE(pthread_create(&ta, NULL, racing_free, &a) == 0);
        REQUIRE(pthread_create(&tb, NULL, racing_free, &b) == 0);
        atomic_store_explicit(&go, 1, memory_order_release);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        MP_Status both[2] = {a.status, b.status};
        for (int k = 0; k < 2; k++) {
            if (both[k] == MP_OK) oks++;
            else if (both[k] == MP_ERR_DOUBLE_FREE) doubles++;
            else others++;
        }
    }
    CHECK(oks == rounds && doubles == rounds && others == 0);
    MP_FixedPoolStats st;
    CHECK_STATUS(mp_fixed_pool_stats(pool, &st), MP_OK);
    CHECK(st.allocated == 0 && st.rejected_free_count == (uint64_t)rounds);
    CHECK(mp_fixed_pool_check(pool) == 0);
    mp_fixed_pool_destroy(pool);
}

MP_TEST_MAIN(TEST_CASE(four_threads_never_get_the_same_slot_at_once),
             TEST_CASE(pop_push_churn_on_a_tiny_pool_never_hands_a_slot_out_twice),
             TEST_CASE(batch_calls_from_four_threads_keep_the_pool_consistent),
             TEST_CASE(racing_frees_of_one_slot_give_one_ok_and_one_double_free))
