/*
 * fuzz_arena.c - libFuzzer harness for the arena. The first bytes choose a
 * buffer size and where it lives (OS mapping, caller region at an odd
 * address, create_in); the rest is a program of alloc (any size, valid and
 * invalid alignments), mark, rewind (valid and stale marks), reset, trim and
 * random writes into the bytes past the offset (given back by rewind or
 * reset: the user bug). After every operation: check() == 0, the stats offset
 * equals the model's, every block lies inside the buffer, is aligned and
 * starts at or after the end of the previous live block (no overlap), and
 * live blocks keep their bytes. Any violation traps.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "memory_pool_core.h"

#define MAX_BLOCKS 256
#define MAX_MARKS 8

typedef struct block {
    unsigned char *ptr;
    size_t size;
    uint8_t seed;
} block;

typedef struct state {
    MP_Arena *arena;
    unsigned char *base;
    size_t size, offset;
    block blocks[MAX_BLOCKS]; /* the most recent live blocks, in address order */
    size_t block_count;
    MP_ArenaMark marks[MAX_MARKS];
    size_t mark_count;
} state;

static void verify(const block *b) {
    size_t n = b->size < 48 ? b->size : 48; /* the head shows any overlap */
    for (size_t i = 0; i < n; i++) FUZZ_ASSERT(b->ptr[i] == (unsigned char)(b->seed + i * 13u));
    if (b->size > 48) FUZZ_ASSERT(b->ptr[b->size - 1] == (unsigned char)(b->seed + (b->size - 1) * 13u));
}

static void drop_blocks_past(state *s, size_t offset) {
    while (s->block_count > 0) {
        const block *last = &s->blocks[s->block_count - 1];
        if ((size_t)(last->ptr - s->base) + last->size <= offset) break;
        s->block_count--;
    }
}

static void alloc_one(state *s, fuzz_input *in) {
    uint8_t kind = fuzz_byte(in);
    size_t size = kind < 200 ? fuzz_byte(in) : kind < 250 ? fuzz_u16(in) : SIZE_MAX - fuzz_byte(in);
    uint8_t a = fuzz_byte(in);
    size_t align = a < 240 ? (size_t)1 << (a % 13) : (size_t)a; /* the latter: mostly not powers of two */
    unsigned char *p = mp_arena_alloc(s->arena, size, align);
    if (p == NULL) {
        MP_Status why = mp_last_error().status;
        FUZZ_ASSERT(why == MP_ERR_OUT_OF_MEMORY || why == MP_ERR_SIZE_OVERFLOW || why == MP_ERR_ALIGNMENT);
        if ((align & (align - 1)) != 0) FUZZ_ASSERT(why == MP_ERR_ALIGNMENT);
        return;
    }
    size_t at = (size_t)(p - s->base);
    FUZZ_ASSERT(p >= s->base && at >= s->offset && (uintptr_t)p % align == 0);
    FUZZ_ASSERT(at <= s->size && size <= s->size - at);
    if (size == 0) FUZZ_ASSERT(at < s->size); /* inside the buffer */
    FUZZ_ASSERT(at - s->offset < align);        /* only padding skipped */
    if (s->block_count > 0) {
        const block *prev = &s->blocks[s->block_count - 1];
        FUZZ_ASSERT(p >= prev->ptr + prev->size);
    }
    s->offset = at + size;
    if (size == 0) return;
    if (s->block_count == MAX_BLOCKS) {
        memmove(s->blocks, s->blocks + 1, sizeof s->blocks - sizeof s->blocks[0]);
        s->block_count--;
    }
    block *b = &s->blocks[s->block_count++];
    *b = (block){p, size, fuzz_byte(in)};
    size_t n = size < 48 ? size : 48;
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(b->seed + i * 13u);
    p[size - 1] = (unsigned char)(b->seed + (size - 1) * 13u);
}

static void step(state *s, fuzz_input *in) {
    uint8_t op = fuzz_byte(in) % 10;
    switch (op) {
    case 0: case 1: case 2: case 3:
        alloc_one(s, in);
        break;
    case 4:
        if (s->mark_count < MAX_MARKS) s->marks[s->mark_count++] = mp_arena_mark(s->arena);
        else s->marks[fuzz_byte(in) % MAX_MARKS] = mp_arena_mark(s->arena);
        break;
    case 5: {
        if (s->mark_count == 0) break;
        MP_ArenaMark m = s->marks[fuzz_byte(in) % s->mark_count];
        MP_Status st = mp_arena_rewind(s->arena, m);
        if (m.offset > s->offset) FUZZ_ASSERT(st == MP_ERR_INVALID_ARGUMENT);
        if (st == MP_OK) {
            s->offset = m.offset;
            drop_blocks_past(s, m.offset);
        } else {
            FUZZ_ASSERT(st == MP_ERR_INVALID_ARGUMENT);
        }
        break;
    }
    case 6:
        if (fuzz_byte(in) < 40) {
            FUZZ_ASSERT(mp_arena_reset(s->arena) == MP_OK);
            s->offset = 0;
            s->block_count = 0;
        }
        break;
    case 7: { /* the user bug: write past the offset */
        size_t at = s->offset + fuzz_u16(in) % (s->size - s->offset + 1);
        size_t n = fuzz_byte(in);
        if (n > s->size - at) n = s->size - at;
        fuzz_scribble(s->base + at, n, fuzz_byte(in));
        break;
    }
    case 8: {
        size_t released = 1;
        if (fuzz_byte(in) >= 32) break;
        FUZZ_ASSERT(mp_arena_trim(s->arena, &released) == MP_OK);
        FUZZ_ASSERT(released % 4096 == 0 && released <= s->size - s->offset);
        break;
    }
    default:
        for (size_t i = 0; i < s->block_count; i++) {
            verify(&s->blocks[i]);
            FUZZ_ASSERT(mp_arena_owns(s->arena, s->blocks[i].ptr) == 1);
        }
        break;
    }
    MP_ArenaStats st;
    FUZZ_ASSERT(mp_arena_stats(s->arena, &st) == MP_OK);
    FUZZ_ASSERT(st.offset == s->offset && st.buffer_size == s->size);
    FUZZ_ASSERT(mp_arena_check(s->arena) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input in = {data, size, 0};
    static state s;
    memset(&s, 0, sizeof s);
    uint8_t shape = fuzz_byte(&in);
    MP_ArenaConfig cfg = {1 + fuzz_u16(&in) * ((shape & 0x80) ? 8u : 1u), 0, NULL, 0};
    size_t misalign = (shape >> 2) & 15;
    int mode = (shape & 3) % 3;
    unsigned char *memory = NULL;
    if (mode == 0) {
        s.arena = mp_arena_create_ex(&cfg);
    } else if (mode == 1) {
        memory = malloc(cfg.size + misalign);
        if (memory == NULL) return 0;
        cfg.region = memory + misalign;
        cfg.region_bytes = cfg.size;
        s.arena = mp_arena_create_ex(&cfg);
    } else {
        size_t bytes = mp_arena_footprint(&cfg);
        memory = malloc(bytes + misalign);
        if (memory == NULL) return 0;
        s.arena = mp_arena_create_in(memory + misalign, bytes, &cfg);
    }
    FUZZ_ASSERT(s.arena != NULL);
    s.base = mp_arena_base(s.arena);
    s.size = cfg.size;
    while (fuzz_more(&in)) step(&s, &in);
    for (size_t i = 0; i < s.block_count; i++) verify(&s.blocks[i]);
    mp_arena_destroy(s.arena);
    free(memory);
    return 0;
}
