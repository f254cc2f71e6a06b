/*
 * fuzz_buddy.c - libFuzzer harness for the buddy allocator. The first bytes
 * choose a configuration (unit size, region size, top block, mapped region,
 * caller region with a 16-byte aligned base, or create_in); the rest is a
 * program of alloc / alloc_aligned / calloc / free / realloc / reset / trim,
 * refused frees of interior and stale pointers, and random writes into freed
 * blocks (the user bug the out-of-band metadata must survive), cache flushes
 * and free_stats (freed blocks are cached unmerged until then). After every
 * operation: check() == 0, no block handed out overlaps a live one, alignment
 * holds, live contents are intact. Any violation traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buddy_internal.h"
#include "fuzz_util.h"
#include "memory_pool_core.h"

#define MAX_LIVE 128
#define MAX_FREED 64
#define CALLER_BYTES ((size_t)1 << 20)

typedef struct live_block {
    unsigned char *ptr;
    size_t requested, usable, align;
    uint8_t seed;
} live_block;

typedef struct freed_block {
    unsigned char *ptr;
    size_t usable;
} freed_block;

typedef struct state {
    MP_Buddy *b;
    live_block live[MAX_LIVE];
    size_t live_count;
    freed_block freed[MAX_FREED];
    size_t freed_count, freed_next;
} state;

static unsigned char expected_byte(uint8_t seed, size_t i) { return (unsigned char)(seed + i * 131u); }

static void fill(live_block *l) {
    for (size_t i = 0; i < l->requested; i++) l->ptr[i] = expected_byte(l->seed, i);
}

static void verify(const live_block *l) {
    for (size_t i = 0; i < l->requested; i++) FUZZ_ASSERT(l->ptr[i] == expected_byte(l->seed, i));
}

static int overlaps_live(const state *s, const unsigned char *p, size_t n, size_t skip) {
    for (size_t i = 0; i < s->live_count; i++) {
        const live_block *l = &s->live[i];
        if (i != skip && p < l->ptr + l->usable && l->ptr < p + n) return 1;
    }
    return 0;
}

static void admit(state *s, unsigned char *p, size_t size, size_t align, uint8_t seed, size_t skip) {
    size_t usable = mp_buddy_usable_size(s->b, p);
    FUZZ_ASSERT(usable >= size);
    FUZZ_ASSERT(((uintptr_t)p & (align - 1)) == 0);
    FUZZ_ASSERT(!overlaps_live(s, p, usable, skip));
    live_block *l = skip == SIZE_MAX ? &s->live[s->live_count++] : &s->live[skip];
    l->ptr = p;
    l->requested = size;
    l->usable = usable;
    l->align = align;
    l->seed = seed;
    fill(l);
}

static void remember_freed(state *s, unsigned char *p, size_t usable) {
    s->freed[s->freed_next] = (freed_block){p, usable};
    s->freed_next = (s->freed_next + 1) % MAX_FREED;
    if (s->freed_count < MAX_FREED) s->freed_count++;
}

static void expect_refused(state *s, void *p) {
    MP_HeapStats before, after;
    FUZZ_ASSERT(mp_buddy_stats(s->b, &before) == MP_OK);
    MP_Status st = mp_buddy_free(s->b, p);
    FUZZ_ASSERT(st == MP_ERR_INVALID_ADDRESS || st == MP_ERR_DOUBLE_FREE);
    FUZZ_ASSERT(mp_buddy_stats(s->b, &after) == MP_OK);
    before.rejected_free_count++;
    FUZZ_ASSERT(memcmp(&before, &after, sizeof before) == 0);
}

static void run_op(state *s, fuzz_input *in) {
    uint8_t op = (uint8_t)fuzz_byte(in);
    size_t size = (size_t)fuzz_u16(in) >> (op >> 5); /* op's top bits scale sizes down */
    switch (op % 10) {
    case 0: case 1: case 2: {
        if (s->live_count == MAX_LIVE) break;
        size_t align = op % 10 == 1 ? (size_t)1 << (fuzz_byte(in) % 17) : 1;
        unsigned char *p = op % 10 == 0 ? mp_buddy_alloc(s->b, size)
                           : op % 10 == 1 ? mp_buddy_alloc_aligned(s->b, size, align)
                                          : mp_buddy_calloc(s->b, size);
        if (p == NULL) break;
        if (op % 10 == 2)
            for (size_t i = 0; i < size; i++) FUZZ_ASSERT(p[i] == 0);
        admit(s, p, size, align, (uint8_t)fuzz_byte(in), SIZE_MAX);
        break;
    }
    case 3: case 4: {
        if (s->live_count == 0) break;
        size_t i = (size_t)fuzz_byte(in) % s->live_count;
        live_block l = s->live[i];
        verify(&l);
        FUZZ_ASSERT(mp_buddy_free(s->b, l.ptr) == MP_OK);
        s->live[i] = s->live[--s->live_count];
        remember_freed(s, l.ptr, l.usable);
        break;
    }
    case 5: {
        if (s->live_count == 0) break;
        size_t i = (size_t)fuzz_byte(in) % s->live_count;
        live_block l = s->live[i];
        void *q = l.ptr;
        if (mp_buddy_realloc(s->b, &q, size) != MP_OK) {
            FUZZ_ASSERT(q == l.ptr);
            verify(&l);
            break;
        }
        size_t kept = size < l.requested ? size : l.requested;
        for (size_t k = 0; k < kept; k++) FUZZ_ASSERT(((unsigned char *)q)[k] == expected_byte(l.seed, k));
        if (q != l.ptr) remember_freed(s, l.ptr, l.usable);
        admit(s, q, size, l.align, l.seed, i);
        break;
    }
    case 6: case 7: {
        if (s->freed_count == 0) break;
        freed_block f = s->freed[(size_t)fuzz_byte(in) % s->freed_count];
        if (overlaps_live(s, f.ptr, f.usable, SIZE_MAX)) break;
        if (op % 10 == 6) {
            fuzz_scribble(f.ptr, f.usable, (uint8_t)size);
        } else {
            expect_refused(s, f.ptr);
        }
        break;
    }
    case 8: {
        if (s->live_count == 0) break;
        live_block *l = &s->live[(size_t)fuzz_byte(in) % s->live_count];
        expect_refused(s, l->ptr + 1 + size % (l->usable - 1));
        break;
    }
    default:
        if (size % 4 == 1) {
            MP_HeapStats st;
            MP_FreeStats fs;
            FUZZ_ASSERT(mp_buddy_stats(s->b, &st) == MP_OK);
            FUZZ_ASSERT(mp_buddy_free_stats(s->b, &fs) == MP_OK);
            FUZZ_ASSERT(fs.free_bytes + st.bytes_in_use == st.region_bytes);
        } else if (size % 4 == 2) {
            mp_buddy_flush_cache(s->b);
        } else if (size % 16 == 0) {
            FUZZ_ASSERT(mp_buddy_reset(s->b) == MP_OK);
            s->live_count = 0;
        } else {
            size_t released = 0;
            FUZZ_ASSERT(mp_buddy_trim(s->b, &released) == MP_OK);
        }
        break;
    }
    FUZZ_ASSERT(mp_buddy_check(s->b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned char caller[CALLER_BYTES + 4096] __attribute__((aligned(4096)));
    static state s;
    fuzz_input in = {data, size, 0};
    MP_BuddyConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    size_t unit = (size_t)16 << (fuzz_byte(&in) % 5);
    size_t units = 1 + (size_t)fuzz_u16(&in) % 2048;
    cfg.min_block_bytes = unit;
    cfg.region_bytes = units * unit + (size_t)fuzz_byte(&in) % unit;
    uint8_t shape = (uint8_t)fuzz_byte(&in);
    if (shape & 1u) cfg.max_block_bytes = unit << ((shape >> 1) % 8);
    if (cfg.max_block_bytes > cfg.region_bytes) cfg.max_block_bytes = 0;
    cfg.flags = (shape & 0x80u) ? MP_FLAG_THREAD_SAFE : 0;
    unsigned char *memory = caller + 16 * (size_t)((shape >> 5) & 3u);
    switch ((shape >> 3) % 3) {
    case 0: s.b = mp_buddy_create_ex(&cfg); break;
    case 1:
        cfg.region = memory;
        s.b = mp_buddy_create_ex(&cfg);
        break;
    default: {
        size_t need = mp_buddy_footprint(&cfg);
        s.b = need <= CALLER_BYTES ? mp_buddy_create_in(memory, need, &cfg) : NULL;
        break;
    }
    }
    if (s.b == NULL) return 0;
    s.live_count = 0;
    s.freed_count = 0;
    s.freed_next = 0;
    FUZZ_ASSERT(mp_buddy_check(s.b) == 0);
    while (fuzz_more(&in)) run_op(&s, &in);
    for (size_t i = 0; i < s.live_count; i++) verify(&s.live[i]);
    mp_buddy_destroy(s.b);
    return 0;
}
