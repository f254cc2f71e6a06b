/*
 * fuzz_tlsf.c - libFuzzer harness for the TLSF allocator.
 *
 * Bytes 0-2 pick the region size, sl_log2, thread safety and the region kind
 * (mapped, caller memory at a 16-aligned base, create_in). The rest is a
 * program: alloc / alloc_aligned / calloc / free / realloc / reset, frees of
 * stale, interior and stray pointers, and scribbles: random bytes written
 * through stale pointers into ranges that were handed out and freed, avoiding
 * the live blocks' usable bytes. Such writes hit the in-band headers and free
 * links of whatever blocks lie there now (unpoisoned first, so ASan and
 * valgrind let the harness do it).
 *
 * Until the first scribble the heap must stay exact: every call succeeds or
 * fails as documented and check() == 0 after every step. After it, calls may
 * also fail with MP_ERR_CORRUPTION (free: also MP_ERR_INVALID_ADDRESS when a
 * live header was hit) and check() may count violations. Always, with or
 * without scribbles: no crash, every block handed out is 16-aligned (and as
 * aligned as asked), inside the region, disjoint from every live block, and
 * live contents survive every call. Any violation traps.
 */
#include "mp_internal.h"

#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HARNESS_VALGRIND 1
#endif
#endif

#define LIVE_MAX 64
#define STALE_MAX 32
#define STEPS_MAX 2000

#define ENSURE(cond)                       \
    do {                                   \
        if (!(cond)) __builtin_trap();     \
    } while (0)

typedef struct span {
    uint8_t *ptr;
    size_t size;   /* bytes the caller asked for and the harness filled */
    size_t usable; /* bytes the allocator reported when it handed the block out */
    uint8_t seed;
} span;

typedef struct fuzz_state {
    MP_Tlsf *t;
    uint8_t *base;
    size_t region_bytes;
    span live[LIVE_MAX];
    size_t n_live;
    span stale[STALE_MAX]; /* ranges once handed out, now freed */
    size_t n_stale;
    bool scribbled;
    const uint8_t *data;
    size_t size, pos;
} fuzz_state;

static uint8_t take(fuzz_state *s) { return s->pos < s->size ? s->data[s->pos++] : 0; }

static size_t take_size(fuzz_state *s) {
    size_t v = (size_t)take(s) | (size_t)take(s) << 8;
    switch (v & 7) {
    case 0: return v >> 11;                 /* 0..31 */
    case 1: case 2: case 3: return v >> 5;  /* 0..2047 */
    case 4: case 5: return v >> 1;          /* 0..32767 */
    case 6: return v << 3;                  /* up to 512 KiB */
    default: return SIZE_MAX - (v >> 3);    /* overflowing */
    }
}

static uint8_t fill_byte(uint8_t seed, size_t i) { return (uint8_t)(seed + i * 13u); }

static void verify(const span *b) {
    for (size_t i = 0; i < b->size; i++) ENSURE(b->ptr[i] == fill_byte(b->seed, i));
}

static bool hits_live(const fuzz_state *s, const uint8_t *p, size_t n, size_t skip) {
    for (size_t i = 0; i < s->n_live; i++) {
        if (i == skip) continue;
        const span *b = &s->live[i];
        if (p < b->ptr + b->usable && b->ptr < p + n) return true;
    }
    return false;
}

static void remember_stale(fuzz_state *s, const span *b) { s->stale[s->n_stale++ % STALE_MAX] = *b; }

static size_t stale_count(const fuzz_state *s) { return s->n_stale < STALE_MAX ? s->n_stale : STALE_MAX; }

/* Checks a block just handed out and records it (at index `slot`, or appended). */
static void accept(fuzz_state *s, uint8_t *p, size_t size, size_t align, size_t slot, uint8_t seed) {
    size_t usable = mp_tlsf_usable_size(s->t, p);
    ENSURE(((uintptr_t)p & 15u) == 0 && ((uintptr_t)p & (align - 1)) == 0);
    ENSURE(usable >= size && usable >= 16);
    ENSURE(p >= s->base && p + usable <= s->base + s->region_bytes);
    ENSURE(!hits_live(s, p, usable, slot));
    span b = {p, size, usable, seed};
    for (size_t i = 0; i < size; i++) p[i] = fill_byte(seed, i);
    if (slot == SIZE_MAX) {
        s->live[s->n_live++] = b;
    } else {
        s->live[slot] = b;
    }
}

static void expect_alloc_failure(const fuzz_state *s) {
    MP_Status st = mp_last_error().status;
    ENSURE(st == MP_ERR_OUT_OF_MEMORY || st == MP_ERR_SIZE_OVERFLOW ||
           (s->scribbled && st == MP_ERR_CORRUPTION));
}

/* Random bytes through a stale pointer, wherever no live block's bytes are. */
static void scribble(fuzz_state *s) {
    if (stale_count(s) == 0) return;
    const span *b = &s->stale[take(s) % stale_count(s)];
    size_t from = b->usable > 1 ? take(s) % b->usable : 0;
    size_t n = 1 + take(s) % 32;
    if (from + n > b->usable) n = b->usable - from;
    uint8_t *p = b->ptr + from;
    if (n == 0 || hits_live(s, p, n, SIZE_MAX)) return;
    /* Whole 16-byte granules: live blocks never share one with other bytes,
     * and ASan cannot poison the tail of an 8-byte granule. */
    uint8_t *lo = (uint8_t *)((uintptr_t)p & ~(uintptr_t)15);
    size_t span_bytes = (size_t)(((uintptr_t)(p + n) + 15u) & ~(uintptr_t)15) - (size_t)(uintptr_t)lo;
    MP_UNPOISON(lo, span_bytes);
#if defined(HARNESS_VALGRIND)
    VALGRIND_MAKE_MEM_DEFINED(lo, span_bytes);
#endif
    for (size_t i = 0; i < n; i++) p[i] = take(s);
    MP_POISON(lo, span_bytes); /* what is not live is poisoned by the allocator */
#if defined(HARNESS_VALGRIND)
    VALGRIND_MAKE_MEM_NOACCESS(lo, span_bytes);
#endif
    s->scribbled = true;
}

static void do_free(fuzz_state *s, size_t i) {
    span b = s->live[i];
    verify(&b);
    MP_Status st = mp_tlsf_free(s->t, b.ptr);
    if (st != MP_OK) {
        /* Refused: the block stays live and intact. */
        ENSURE(s->scribbled && (st == MP_ERR_CORRUPTION || st == MP_ERR_INVALID_ADDRESS));
        verify(&b);
        return;
    }
    remember_stale(s, &b);
    s->live[i] = s->live[--s->n_live];
}

static void do_realloc(fuzz_state *s, size_t i, size_t size, uint8_t seed) {
    span old = s->live[i];
    void *p = old.ptr;
    MP_Status st = mp_tlsf_realloc(s->t, &p, size);
    if (st != MP_OK) {
        ENSURE(p == old.ptr);
        ENSURE(st == MP_ERR_OUT_OF_MEMORY || st == MP_ERR_SIZE_OVERFLOW ||
               (s->scribbled && (st == MP_ERR_CORRUPTION || st == MP_ERR_INVALID_ADDRESS)));
        verify(&old);
        return;
    }
    uint8_t *q = p;
    size_t kept = size < old.size ? size : old.size;
    for (size_t k = 0; k < kept; k++) ENSURE(q[k] == fill_byte(old.seed, k));
    if (q != old.ptr) remember_stale(s, &old);
    accept(s, q, size, 16, i, seed);
}

/* A pointer that is not a live block's start must never be freed. */
static void free_non_block(fuzz_state *s, uint8_t op, uint8_t arg) {
    uint8_t *target;
    if (op & 1 && stale_count(s) > 0) {
        target = s->stale[arg % stale_count(s)].ptr;
    } else if (op & 2 && s->n_live > 0) {
        target = s->live[arg % s->n_live].ptr + 16 * (1 + (op >> 4));
    } else {
        uintptr_t around = (uintptr_t)s->base + ((size_t)arg * 48 + op) % (s->region_bytes + 64);
        target = (uint8_t *)(around - 32);
    }
    for (size_t i = 0; i < s->n_live; i++)
        if (s->live[i].ptr == target) return;
    ENSURE(mp_tlsf_free(s->t, target) != MP_OK);
}

static void step(fuzz_state *s) {
    uint8_t op = take(s), arg = take(s);
    size_t i = s->n_live > 0 ? arg % s->n_live : 0;
    switch (op % 12) {
    case 0: case 1: case 2: case 3: {
        if (s->n_live == LIVE_MAX) break;
        size_t size = take_size(s), align = (size_t)1 << (arg % 14);
        int kind = op % 12 == 2 ? 1 : op % 12 == 3 ? 2 : 0;
        uint8_t *p = kind == 1 ? mp_tlsf_alloc_aligned(s->t, size, align)
                     : kind == 2 ? mp_tlsf_calloc(s->t, size)
                                 : mp_tlsf_alloc(s->t, size);
        if (p == NULL) {
            expect_alloc_failure(s);
            break;
        }
        if (kind == 2)
            for (size_t k = 0; k < size; k++) ENSURE(p[k] == 0);
        accept(s, p, size, kind == 1 ? align : 16, SIZE_MAX, (uint8_t)(op ^ arg));
        break;
    }
    case 4: case 5:
        if (s->n_live > 0) do_free(s, i);
        break;
    case 6:
        if (s->n_live > 0) do_realloc(s, i, take_size(s), arg);
        break;
    case 7: case 8: case 9:
        scribble(s);
        break;
    case 10:
        free_non_block(s, op, arg);
        break;
    default:
        if (op >= 0xF0) {
            ENSURE(mp_tlsf_reset(s->t) == MP_OK);
            for (size_t k = 0; k < s->n_live; k++) remember_stale(s, &s->live[k]);
            s->n_live = 0;
            s->scribbled = false; /* reset rebuilds every header with a new key */
        } else if (s->n_live > 0) {
            verify(&s->live[i]);
        }
        break;
    }
    size_t violations = mp_tlsf_check(s->t);
    ENSURE(s->scribbled || violations == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fuzz_state s;
    static _Alignas(64) uint8_t caller_memory[(1u << 20) + 4096 + 64]; /* largest region + offset */
    memset(&s, 0, sizeof s);
    s.data = data;
    s.size = size;
    uint8_t a = take(&s), b = take(&s), c = take(&s);
    MP_TlsfConfig cfg = {((size_t)64 << (a % 15)) + (size_t)b * 16, (unsigned)(c % 6),
                         (c & 0x40) ? MP_FLAG_THREAD_SAFE : 0, NULL,
                         (c & 0x80) ? (size_t)64 << (b % 16) : 0, /* cache off, or 64 B .. 2 MiB */
                         (b & 1) ? 1 + (size_t)a * 37 % MP_TLSF_SMALL_MAX_BYTES : 0}; /* spans off, or 1 .. 512 */
    void *memory = NULL;
    switch ((c >> 3) % 3) {
    case 1:
        cfg.region = caller_memory + 16; /* 16-aligned, not 32-aligned */
        s.t = mp_tlsf_create_ex(&cfg);
        break;
    case 2:
        memory = malloc(mp_tlsf_footprint(&cfg));
        ENSURE(memory != NULL);
        s.t = mp_tlsf_create_in(memory, mp_tlsf_footprint(&cfg), &cfg);
        break;
    default:
        s.t = mp_tlsf_create_ex(&cfg);
        break;
    }
    ENSURE(s.t != NULL);
    s.base = mp_tlsf_base(s.t);
    s.region_bytes = cfg.region_bytes;
    for (int n = 0; n < STEPS_MAX && s.pos < s.size; n++) step(&s);
    for (size_t k = 0; k < s.n_live; k++) verify(&s.live[k]);
    if (!s.scribbled) {
        MP_HeapStats st;
        ENSURE(mp_tlsf_stats(s.t, &st) == MP_OK && st.live_block_count == s.n_live);
    }
    mp_tlsf_destroy(s.t);
    free(memory);
    return 0;
}
