/*
 * fuzz_pool.c - libFuzzer harness for the managed pool. The first two bytes
 * choose the strategy and the configuration (size, alignment, minimum block,
 * automatic compaction, thread-safe flag); the rest is a program of
 * operations: alloc, free, double free, stale and forged handles, writes,
 * reads, fills, copies, pin/unpin, owner limits, free_owner, budgeted
 * compaction, wrong-owner and out-of-bounds access. A model keeps a shadow of
 * every block. After every operation mp_pool_check() must be 0 and the used
 * bytes and block count must match the model; reads must match the shadows.
 * For the strategies whose metadata is out of band (fit list, buddy, slab) a
 * freed block's old bytes are also scribbled over, as a JavaScript view kept
 * past free or compaction would: the pool must stay consistent. Any mismatch
 * traps. Inputs are cut at 2 KiB so each stays quick under ctest.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "memory_pool_core.h"

#define FZ_MAX_LIVE 64
#define FZ_MAX_DEAD 16
#define FZ_MAX_SIZE 4096
#define FZ_MAX_INPUT 2048

typedef struct fz_block {
    MP_Handle h;
    size_t size, usable;
    uint32_t owner;
    uint8_t shadow[FZ_MAX_SIZE];
} fz_block;

typedef struct fz_state {
    fuzz_input in;
    MP_Pool *pool;
    int may_scribble;
    fz_block *live;
    size_t n;
    MP_Handle dead[FZ_MAX_DEAD];
    size_t dead_n;
    size_t used;
} fz_state;

#define FZ_REQUIRE(cond) FUZZ_ASSERT(cond)

static uint32_t fz_byte(fz_state *s) { return fuzz_byte(&s->in); }

static size_t fz_u16(fz_state *s) { return fuzz_u16(&s->in); }

static fz_block *fz_pick(fz_state *s) { return s->n ? &s->live[fz_byte(s) % s->n] : NULL; }

static void fz_drop(fz_state *s, fz_block *b) {
    s->used -= b->usable;
    s->dead[s->dead_n++ % FZ_MAX_DEAD] = b->h;
    *b = s->live[--s->n];
}

static void fz_verify(fz_state *s, const fz_block *b) {
    static uint8_t buf[FZ_MAX_SIZE];
    FZ_REQUIRE(mp_pool_read(s->pool, b->h, 0, buf, b->size) == MP_OK);
    FZ_REQUIRE(memcmp(buf, b->shadow, b->size) == 0);
}

static void fz_alloc(fz_state *s) {
    size_t size = 1 + fz_u16(s) % FZ_MAX_SIZE;
    uint32_t owner = fz_byte(s) % 4u, flags = fz_byte(s) % 8u == 0 ? MP_ALLOC_PINNED : 0u;
    MP_Handle h = 0;
    MP_Status st = mp_pool_alloc(s->pool, size, owner, flags, &h);
    if (st != MP_OK) {
        FZ_REQUIRE(st == MP_ERR_OUT_OF_MEMORY || st == MP_ERR_LIMIT_EXCEEDED);
        return;
    }
    FZ_REQUIRE(s->n < FZ_MAX_LIVE);
    fz_block *b = &s->live[s->n++];
    MP_PoolBlockInfo info;
    FZ_REQUIRE(mp_pool_block_info(s->pool, h, &info) == MP_OK && info.size_bytes == size);
    b->h = h;
    b->size = size;
    b->usable = info.usable_bytes;
    b->owner = owner;
    memset(b->shadow, (int)owner, size);
    FZ_REQUIRE(mp_pool_fill(s->pool, h, 0, (uint8_t)owner, size) == MP_OK);
    s->used += b->usable;
}

static void fz_step(fz_state *s) {
    uint32_t op = fz_byte(s) % 14u;
    fz_block *b = op != 0 ? fz_pick(s) : NULL;
    uint8_t buf[16];
    switch (op) {
    case 0:
        if (s->n < FZ_MAX_LIVE) fz_alloc(s);
        break;
    case 1:
        if (b != NULL) {
            size_t off = 0;
            FZ_REQUIRE(mp_pool_locate(s->pool, b->h, &off, NULL) == MP_OK);
            size_t usable = b->usable;
            FZ_REQUIRE(mp_pool_free(s->pool, b->h) == MP_OK);
            fz_drop(s, b);
            if (s->may_scribble && (fz_byte(s) & 1))
                fuzz_scribble((unsigned char *)mp_pool_base(s->pool) + off, usable, (uint8_t)off);
        }
        break;
    case 2:
        if (s->dead_n != 0) {
            MP_Handle h = s->dead[fz_byte(s) % (s->dead_n < FZ_MAX_DEAD ? s->dead_n : FZ_MAX_DEAD)];
            FZ_REQUIRE(mp_pool_free(s->pool, h) == MP_ERR_DOUBLE_FREE);
            FZ_REQUIRE(mp_pool_read(s->pool, h, 0, buf, 1) == MP_ERR_INVALID_HANDLE);
        }
        break;
    case 3: { /* a forged handle is never accepted unless it names a live block */
        MP_Handle h = 0;
        for (int i = 0; i < 7; i++) h = h << 8 | fz_byte(s);
        int is_live = 0;
        for (size_t i = 0; i < s->n; i++) is_live |= s->live[i].h == h;
        if (!is_live) FZ_REQUIRE(mp_pool_free(s->pool, h) != MP_OK);
        break;
    }
    case 4:
    case 5:
        if (b != NULL) { /* write or fill a range */
            size_t off = fz_u16(s) % b->size, len = 1 + fz_u16(s) % (b->size - off);
            uint8_t v = (uint8_t)fz_byte(s);
            if (op == 4 && len <= sizeof buf) {
                for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(v + i);
                FZ_REQUIRE(mp_pool_write(s->pool, b->h, off, buf, len) == MP_OK);
                memcpy(b->shadow + off, buf, len);
            } else {
                FZ_REQUIRE(mp_pool_fill_as(s->pool, b->owner, b->h, off, v, len) == MP_OK);
                memset(b->shadow + off, v, len);
            }
        }
        break;
    case 6:
        if (b != NULL) fz_verify(s, b);
        break;
    case 7:
        if (b != NULL) {
            fz_block *src = fz_pick(s);
            size_t len = 1 + fz_u16(s) % (b->size < src->size ? b->size : src->size);
            FZ_REQUIRE(mp_pool_copy(s->pool, b->h, b->size - len, src->h, 0, len) == MP_OK);
            memmove(b->shadow + b->size - len, src->shadow, len);
        }
        break;
    case 8:
        if (b != NULL) FZ_REQUIRE((fz_byte(s) & 1 ? mp_pool_pin : mp_pool_unpin)(s->pool, b->h) == MP_OK);
        break;
    case 9:
        FZ_REQUIRE(mp_pool_set_owner_limit(s->pool, fz_byte(s) % 4u, fz_u16(s) * 4u) == MP_OK);
        break;
    case 10: {
        uint32_t owner = fz_byte(s) % 4u;
        FZ_REQUIRE(mp_pool_free_owner(s->pool, owner, NULL) == MP_OK);
        for (size_t i = s->n; i-- > 0;)
            if (s->live[i].owner == owner) fz_drop(s, &s->live[i]);
        break;
    }
    case 11:
    case 12: {
        MP_DefragResult r;
        FZ_REQUIRE(mp_pool_defragment(s->pool, fz_u16(s), &r) == MP_OK);
        for (size_t i = 0; i < s->n; i++) fz_verify(s, &s->live[i]);
        break;
    }
    default:
        if (b != NULL) {
            FZ_REQUIRE(mp_pool_read_as(s->pool, b->owner + 1, b->h, 0, buf, 1) == MP_ERR_PROTECTION);
            FZ_REQUIRE(mp_pool_read(s->pool, b->h, b->size - 1, buf, 2) == MP_ERR_OUT_OF_BOUNDS);
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_state s;
    memset(&s, 0, sizeof s);
    s.in.data = data;
    s.in.size = size < FZ_MAX_INPUT ? size : FZ_MAX_INPUT;
    uint32_t strategy = fz_byte(&s) % 7u, shape = fz_byte(&s);
    MP_PoolConfig cfg = {.pool_bytes = (shape & 1) ? 128 * 1024 : 64 * 1024,
                         .strategy = (MP_PoolStrategy)strategy,
                         .alignment = (shape & 2) ? 64 : 0,
                         .min_block_bytes = (shape & 4) ? 40 : 0,
                         .defrag_enabled = (shape & 8) != 0,
                         .defrag_threshold = (shape & 16) ? 0.05 : 0.0,
                         .flags = (shape & 32) ? MP_FLAG_THREAD_SAFE : 0u};
    s.pool = mp_pool_create_ex(&cfg);
    FZ_REQUIRE(s.pool != NULL);
    s.may_scribble = strategy <= MP_STRATEGY_SLAB;
    s.live = malloc(FZ_MAX_LIVE * sizeof *s.live);
    FZ_REQUIRE(s.live != NULL);
    while (fuzz_more(&s.in)) {
        fz_step(&s);
        MP_PoolStats st;
        FZ_REQUIRE(mp_pool_check(s.pool) == 0);
        FZ_REQUIRE(mp_pool_stats(s.pool, &st) == MP_OK);
        FZ_REQUIRE(st.used_bytes == s.used && st.allocated_block_count == s.n);
    }
    for (size_t i = 0; i < s.n; i++) fz_verify(&s, &s.live[i]);
    while (s.n > 0) {
        FZ_REQUIRE(mp_pool_free(s.pool, s.live[0].h) == MP_OK);
        fz_drop(&s, &s.live[0]);
    }
    FZ_REQUIRE(mp_pool_check(s.pool) == 0);
    mp_pool_destroy(s.pool);
    free(s.live);
    return 0;
}
