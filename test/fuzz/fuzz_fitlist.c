/*
 * fuzz_fitlist.c - libFuzzer harness for the fit-list allocator.
 *
 * The first bytes choose the policy, the region size and kind (mapped, caller
 * memory at a 16-byte-aligned base, create_in); the rest is a program of
 * alloc / alloc_aligned / calloc / free / realloc / reset, misuse (double
 * free, interior and stray pointers) and scribbles of random bytes into
 * blocks that were freed and are not live again (stale-pointer writes, made
 * legal for ASan/valgrind by unpoisoning first). After every operation
 * check() must be 0; every block handed out must be aligned, inside the
 * region and disjoint from every live block; live contents must survive.
 * Any violation traps.
 */
#include "mp_internal.h"

#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define FUZZ_VALGRIND 1
#endif
#endif

#define MAX_LIVE 256
#define MAX_FREED 16

typedef struct block {
    uint8_t *ptr;
    size_t usable;
    uint8_t fill;
} block;

typedef struct input {
    const uint8_t *data;
    size_t size, pos;
} input;

static uint8_t next_byte(input *in) { return in->pos < in->size ? in->data[in->pos++] : 0; }

static size_t next_size(input *in) {
    size_t s = (size_t)next_byte(in) | (size_t)next_byte(in) << 8;
    switch (s & 3) {
    case 0:
        return s >> 10; /* tiny, 0..63 */
    case 1:
        return s >> 4; /* up to 4 KiB */
    case 2:
        return s << 1; /* up to 128 KiB */
    default:
        return SIZE_MAX - (s >> 2); /* overflowing */
    }
}

#define REQUIRE_OR_TRAP(cond)                                                                                \
    do {                                                                                                     \
        if (!(cond)) __builtin_trap();                                                                       \
    } while (0)

/* Makes freed (poisoned) bytes writable and writes them. They stay unpoisoned:
 * the library may be built without ASan (the libFuzzer build instruments
 * only this harness), and then nothing would ever unpoison them again. */
static void scribble(uint8_t *p, size_t n, uint8_t value) {
    MP_UNPOISON(p, n);
#if defined(FUZZ_VALGRIND)
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
    memset(p, value, n);
}

typedef struct state {
    MP_FitList *f;
    uint8_t *base;
    size_t region_bytes;
    block live[MAX_LIVE];
    size_t n_live;
    block freed[MAX_FREED];
    size_t n_freed;
} state;

static int overlaps_live(const state *s, const uint8_t *p, size_t n, size_t skip) {
    for (size_t i = 0; i < s->n_live; i++)
        if (i != skip && p < s->live[i].ptr + s->live[i].usable && s->live[i].ptr < p + n) return 1;
    return 0;
}

static int is_live_start(const state *s, const void *p) {
    for (size_t i = 0; i < s->n_live; i++)
        if (s->live[i].ptr == p) return 1;
    return 0;
}

static void verify(const block *b) {
    for (size_t i = 0; i < b->usable; i++)
        REQUIRE_OR_TRAP(b->ptr[i] == b->fill);
}

static void accept_block(state *s, uint8_t *p, size_t align, size_t skip, uint8_t fill) {
    size_t usable = mp_fitlist_usable_size(s->f, p);
    REQUIRE_OR_TRAP(usable > 0 && ((uintptr_t)p & (align - 1)) == 0 && ((uintptr_t)p & 15) == 0);
    REQUIRE_OR_TRAP(p >= s->base && p + usable <= s->base + s->region_bytes);
    REQUIRE_OR_TRAP(!overlaps_live(s, p, usable, skip));
    memset(p, fill, usable);
    block b = {p, usable, fill};
    if (skip != SIZE_MAX)
        s->live[skip] = b;
    else
        s->live[s->n_live++] = b;
}

static void remember_freed(state *s, block b) { s->freed[s->n_freed++ % MAX_FREED] = b; }

static void step(state *s, input *in) {
    uint8_t op = next_byte(in), arg = next_byte(in);
    size_t idx = s->n_live ? arg % s->n_live : 0;
    switch (op % 9) {
    case 0:
    case 1:
    case 2:
    case 3: {
        size_t size = next_size(in), align = op % 9 == 2 ? (size_t)1 << (arg % 14) : 16;
        if (s->n_live == MAX_LIVE) break;
        uint8_t *p = op % 9 == 2   ? mp_fitlist_alloc_aligned(s->f, size, align)
                     : op % 9 == 3 ? mp_fitlist_calloc(s->f, size)
                                   : mp_fitlist_alloc(s->f, size);
        if (p == NULL) break;
        if (op % 9 == 3)
            for (size_t i = 0; i < size; i++)
                REQUIRE_OR_TRAP(p[i] == 0);
        accept_block(s, p, align < 16 ? 16 : align, SIZE_MAX, arg);
        break;
    }
    case 4:
    case 5:
        if (s->n_live == 0) break;
        verify(&s->live[idx]);
        REQUIRE_OR_TRAP(mp_fitlist_free(s->f, s->live[idx].ptr) == MP_OK);
        remember_freed(s, s->live[idx]);
        s->live[idx] = s->live[--s->n_live];
        break;
    case 6: {
        if (s->n_live == 0) break;
        block old = s->live[idx];
        verify(&old);
        void *p = old.ptr;
        size_t size = next_size(in);
        if (mp_fitlist_realloc(s->f, &p, size) != MP_OK) {
            REQUIRE_OR_TRAP(p == old.ptr);
            verify(&old);
            break;
        }
        size_t keep = size < old.usable ? size : old.usable;
        for (size_t i = 0; i < keep; i++)
            REQUIRE_OR_TRAP(((uint8_t *)p)[i] == old.fill);
        if (p != old.ptr) remember_freed(s, old);
        accept_block(s, p, 16, idx, (uint8_t)(arg ^ 0x5A));
        break;
    }
    case 7: { /* a stale write into a block freed earlier and not live again */
        if (s->n_freed == 0) break;
        block b = s->freed[arg % (s->n_freed < MAX_FREED ? s->n_freed : MAX_FREED)];
        if (!overlaps_live(s, b.ptr, b.usable, SIZE_MAX)) scribble(b.ptr, b.usable, next_byte(in));
        break;
    }
    default: { /* misuse, or rarely a reset */
        uint8_t *target = s->base + ((size_t)arg * 16 + (op >> 4)) % (s->region_bytes + 64);
        if (s->n_freed > 0 && (op & 1))
            target = s->freed[arg % (s->n_freed < MAX_FREED ? s->n_freed : MAX_FREED)].ptr;
        if (op >= 0xF8) {
            REQUIRE_OR_TRAP(mp_fitlist_reset(s->f) == MP_OK);
            for (size_t i = 0; i < s->n_live; i++)
                remember_freed(s, s->live[i]);
            s->n_live = 0;
        } else if (!is_live_start(s, target)) {
            REQUIRE_OR_TRAP(mp_fitlist_free(s->f, target) != MP_OK);
        }
        break;
    }
    }
    REQUIRE_OR_TRAP(mp_fitlist_check(s->f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static state s;
    static _Alignas(64) uint8_t caller_region[32768 + 512]; /* + 16 offset + 240 extra bytes */
    input in = {data, size, 0};
    uint8_t config = next_byte(&in);
    MP_FitListConfig cfg = {(size_t)(next_byte(&in) % 32 + 1) * 1024 + (config >> 4) * 16,
                            (MP_FitPolicy)(config % 3), (config >> 2) & 1 ? MP_FLAG_THREAD_SAFE : 0, NULL};
    void *memory = NULL;
    memset(&s, 0, sizeof s);
    if ((config >> 3) % 3 == 1) {
        cfg.region = caller_region + 16; /* 16-byte aligned, not 32 */
        s.f = mp_fitlist_create_ex(&cfg);
    } else if ((config >> 3) % 3 == 2) {
        size_t bytes = mp_fitlist_footprint(&cfg);
        memory = malloc(bytes);
        s.f = memory ? mp_fitlist_create_in(memory, bytes, &cfg) : NULL;
    } else {
        s.f = mp_fitlist_create_ex(&cfg);
    }
    REQUIRE_OR_TRAP(s.f != NULL);
    s.base = mp_fitlist_base(s.f);
    MP_HeapStats st;
    mp_fitlist_stats(s.f, &st);
    s.region_bytes = st.region_bytes;
    for (int steps = 0; in.pos < in.size && steps < 2000; steps++)
        step(&s, &in);
    for (size_t i = 0; i < s.n_live; i++)
        verify(&s.live[i]);
    mp_fitlist_stats(s.f, &st);
    REQUIRE_OR_TRAP(st.live_block_count == s.n_live);
    mp_fitlist_destroy(s.f);
    free(memory);
    return 0;
}
