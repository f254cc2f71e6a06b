/*
 * fuzz_fixed_pool.c - libFuzzer harness for the fixed pool. The first bytes
 * choose a configuration (object size, capacity, alignment, thread-safe flag;
 * OS mapping, caller region at a 16-byte aligned address, or create_in); the
 * rest is a program of alloc, free (each through the out-of-line call or the
 * header's inline one, mixed), batch alloc/free, refused frees
 * (interior, foreign, double, stale after reset), random writes into freed
 * slots, reset and trim. After every operation: check() == 0, allocated
 * equals the live count, every handed-out slot is an aligned slot start not
 * already live (no duplicates, no overlap), and live slots keep their bytes.
 * Any violation traps.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "memory_pool_core.h"

#define MAX_CAPACITY 300

typedef struct state {
    MP_FixedPool *pool;
    unsigned char *base;
    size_t object_size, stride, alignment, capacity, live_count;
    uint8_t live[MAX_CAPACITY];  /* per slot: in use */
    uint8_t seed[MAX_CAPACITY];  /* per slot: pattern seed of a live slot */
    uint8_t ever[MAX_CAPACITY];  /* per slot: handed out at least once (since create) */
} state;

static unsigned char pattern(const state *s, size_t index, size_t i) {
    return (unsigned char)(s->seed[index] ^ (i * 7u) ^ index);
}

static void took(state *s, unsigned char *p, uint8_t seed) {
    uintptr_t offset = (uintptr_t)p - (uintptr_t)s->base;
    FUZZ_ASSERT(p != NULL && offset % s->stride == 0 && (uintptr_t)p % s->alignment == 0);
    size_t index = (size_t)(offset / s->stride);
    FUZZ_ASSERT(index < s->capacity && !s->live[index]);
    s->live[index] = 1;
    s->ever[index] = 1;
    s->seed[index] = seed;
    s->live_count++;
    for (size_t i = 0; i < s->object_size; i++) p[i] = pattern(s, index, i);
}

/* Checks the first and last 64 bytes: a slot that overlapped another, or
 * metadata written into a slot, shows there (keeps large slots cheap). */
static void verify(const state *s, size_t index) {
    const unsigned char *p = s->base + index * s->stride;
    for (size_t i = 0; i < s->object_size; i++) {
        if (i == 64 && s->object_size > 128) i = s->object_size - 64;
        FUZZ_ASSERT(p[i] == pattern(s, index, i));
    }
}

/* A slot index chosen by the input among those with live[i] == want. */
static int pick(const state *s, fuzz_input *in, int want, size_t *out) {
    size_t start = fuzz_u16(in) % s->capacity;
    for (size_t k = 0; k < s->capacity; k++) {
        size_t i = (start + k) % s->capacity;
        if (s->live[i] == want) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

/* Frees through the header's inline call or the out-of-line one: both must
 * give the same status (the inline one goes out of line for whatever it
 * does not handle itself). */
static MP_Status free_via(state *s, void *ptr, int use_inline) {
    return use_inline ? mp_fixed_pool_free_inline(s->pool, ptr) : mp_fixed_pool_free(s->pool, ptr);
}

static void free_slot(state *s, size_t index, int use_inline) {
    verify(s, index);
    FUZZ_ASSERT(free_via(s, s->base + index * s->stride, use_inline) == MP_OK);
    s->live[index] = 0;
    s->live_count--;
}

static void step(state *s, fuzz_input *in) {
    uint8_t op = fuzz_byte(in) % 16;
    size_t index;
    switch (op) {
    case 0: case 1: case 2: case 3: {
        unsigned char *p = (op & 1) ? mp_fixed_pool_alloc_inline(s->pool) : mp_fixed_pool_alloc(s->pool);
        if (p == NULL) FUZZ_ASSERT(s->live_count == s->capacity);
        else took(s, p, fuzz_byte(in));
        break;
    }
    case 4: case 5: case 6:
        if (pick(s, in, 1, &index)) free_slot(s, index, op == 5);
        break;
    case 7: { /* interior pointer of any slot (1-byte slots have none) */
        size_t at = fuzz_u16(in) % (s->capacity * s->stride);
        if (at % s->stride == 0) at++;
        if (s->stride > 1 && at < s->capacity * s->stride)
            FUZZ_ASSERT(free_via(s, s->base + at, (int)(at & 1)) == MP_ERR_INVALID_ADDRESS);
        break;
    }
    case 8: { /* a slot that is not in use: double free, or never handed out */
        if (!pick(s, in, 0, &index)) break;
        MP_Status st = free_via(s, s->base + index * s->stride, (int)(index & 1));
        FUZZ_ASSERT(st == MP_ERR_DOUBLE_FREE || st == MP_ERR_INVALID_ADDRESS);
        if (!s->ever[index]) FUZZ_ASSERT(st == MP_ERR_INVALID_ADDRESS);
        break;
    }
    case 9: /* the user bug: write into a free slot */
        if (pick(s, in, 0, &index)) fuzz_scribble(s->base + index * s->stride, s->stride, fuzz_byte(in));
        break;
    case 10: { /* foreign pointers */
        int local = 0;
        FUZZ_ASSERT(mp_fixed_pool_free(s->pool, &local) == MP_ERR_INVALID_ADDRESS);
        FUZZ_ASSERT(mp_fixed_pool_free(s->pool, NULL) == MP_ERR_INVALID_ADDRESS);
        FUZZ_ASSERT(mp_fixed_pool_owns(s->pool, &local) == 0);
        break;
    }
    case 11: {
        uint32_t offsets[16];
        size_t n = fuzz_byte(in) % 17;
        size_t got = mp_fixed_pool_alloc_many(s->pool, offsets, n);
        size_t room = s->capacity - s->live_count;
        FUZZ_ASSERT(got == (n < room ? n : room));
        for (size_t i = 0; i < got; i++) took(s, s->base + offsets[i], fuzz_byte(in));
        break;
    }
    case 12: {
        uint32_t offsets[16];
        size_t n = 0, done = 99;
        while (n < 16 && pick(s, in, 1, &index)) {
            verify(s, index);
            s->live[index] = 0; /* taken out of the live set so pick() cannot repeat it */
            offsets[n++] = (uint32_t)(index * s->stride);
            if (fuzz_byte(in) < 128) break;
        }
        FUZZ_ASSERT(mp_fixed_pool_free_many(s->pool, offsets, n, &done) == MP_OK && done == n);
        s->live_count -= n;
        break;
    }
    case 13:
        if (fuzz_byte(in) < 24) {
            FUZZ_ASSERT(mp_fixed_pool_reset(s->pool) == MP_OK);
            memset(s->live, 0, sizeof s->live);
            s->live_count = 0;
        }
        break;
    case 14: {
        size_t released = 1;
        if (fuzz_byte(in) >= 32) break; /* rare: released pages fault back in */
        FUZZ_ASSERT(mp_fixed_pool_trim(s->pool, &released) == MP_OK);
        FUZZ_ASSERT(released % 4096 == 0);
        break;
    }
    default:
        for (size_t i = 0; i < s->capacity; i++)
            if (s->live[i]) {
                verify(s, i);
                FUZZ_ASSERT(mp_fixed_pool_owns(s->pool, s->base + i * s->stride) == 1);
            }
        break;
    }
    MP_FixedPoolStats st;
    FUZZ_ASSERT(mp_fixed_pool_stats(s->pool, &st) == MP_OK && st.allocated == s->live_count);
    FUZZ_ASSERT(mp_fixed_pool_check(s->pool) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size, 0};
    static state s;
    memset(&s, 0, sizeof s);
    uint8_t shape = fuzz_byte(&in);
    MP_FixedPoolConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.object_size = (shape & 0x80) ? 1 + fuzz_u16(&in) % 5000 : 1 + (size_t)fuzz_byte(&in) % 100;
    cfg.capacity = 1 + fuzz_u16(&in) % (cfg.object_size > 256 ? 24 : MAX_CAPACITY); /* keeps runs short */
    uint8_t a = fuzz_byte(&in);
    cfg.alignment = a < 128 ? 0 : (size_t)1 << (a % 13);
    cfg.flags = (shape & 0x40) ? MP_FLAG_THREAD_SAFE : 0;
    int mode = (shape & 0x3) % 3;
    unsigned char *memory = NULL;
    if (mode == 0) {
        s.pool = mp_fixed_pool_create_ex(&cfg);
    } else if (mode == 1) {
        size_t bytes = mp_fixed_pool_region_bytes(&cfg) + cfg.alignment;
        memory = malloc(bytes + 16);
        if (memory == NULL) return 0;
        cfg.region = memory + 16;
        cfg.region_bytes = bytes;
        s.pool = mp_fixed_pool_create_ex(&cfg);
    } else {
        size_t bytes = mp_fixed_pool_footprint(&cfg);
        memory = malloc(bytes + 5);
        if (memory == NULL) return 0;
        s.pool = mp_fixed_pool_create_in(memory + 5, bytes, &cfg);
    }
    FUZZ_ASSERT(s.pool != NULL);
    MP_FixedPoolStats st;
    FUZZ_ASSERT(mp_fixed_pool_stats(s.pool, &st) == MP_OK);
    s.base = mp_fixed_pool_base(s.pool);
    s.object_size = st.object_size;
    s.stride = st.slot_size_bytes;
    s.alignment = st.alignment;
    s.capacity = st.capacity;
    while (fuzz_more(&in)) step(&s, &in);
    for (size_t i = 0; i < s.capacity; i++)
        if (s.live[i]) verify(&s, i);
    mp_fixed_pool_destroy(s.pool);
    free(memory);
    return 0;
}
