/*
 * fuzz_slab.c - libFuzzer harness for the slab allocator. The first bytes
 * pick a configuration (slab size, class list, mapped / create_in / caller
 * region only 16-byte aligned, thread-safe flag, object hooks); the rest is a
 * stream of operations: alloc, alloc_aligned, calloc, free, realloc, reset,
 * trim, walk, frees of freed or interior pointers (alloc and free also
 * through the header's inline calls, mixed with the out-of-line ones, so
 * the hand is taken and given back both ways), and random bytes written
 * into freed blocks (the allocator keeps no metadata in the region, so this
 * may only ever change user data). After every operation check() must be 0;
 * blocks must lie in the region, never overlap and keep their contents.
 * Any violation aborts.
 */
#include "mp_internal.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define FUZZ_ASSERT(cond)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_slab.c:%d: assertion failed: %s\n", __LINE__, #cond); \
            abort();                                                             \
        }                                                                        \
    } while (0)

enum { MAX_LIVE = 256, MAX_FREED = 32, MAX_OPS = 3000, MAX_SLABS = 12 };

typedef struct fuzz_input {
    const uint8_t *data;
    size_t left;
} fuzz_input;

static uint8_t next_byte(fuzz_input *in) {
    if (in->left == 0) return 0;
    in->left--;
    return *in->data++;
}

static size_t next_u16(fuzz_input *in) { return (size_t)next_byte(in) << 8 | next_byte(in); }

typedef struct span {
    unsigned char *ptr;
    size_t usable;
    unsigned char tag;
} span;

typedef struct harness {
    MP_Slab *s;
    span live[MAX_LIVE];
    size_t live_count;
    span freed[MAX_FREED];
    size_t freed_next;
    unsigned char *lo, *hi;
    unsigned char tag;
    size_t constructed, destructed;
} harness;

static void count_ctor(void *obj, size_t n, void *ctx) {
    (void)obj, (void)n;
    ((harness *)ctx)->constructed++;
}

static void count_dtor(void *obj, size_t n, void *ctx) {
    (void)obj, (void)n;
    ((harness *)ctx)->destructed++;
}

static bool overlaps_live(const harness *h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < h->live_count; i++)
        if (p < h->live[i].ptr + h->live[i].usable && h->live[i].ptr < p + n) return true;
    return false;
}

static void fill(span *b) {
    for (size_t i = 0; i < b->usable; i++) b->ptr[i] = (unsigned char)(b->tag ^ i);
}

static void verify(const span *b, size_t n) {
    for (size_t i = 0; i < n; i++) FUZZ_ASSERT(b->ptr[i] == (unsigned char)(b->tag ^ i));
}

/* Checks a block the allocator just handed out and tracks it. */
static void adopt(harness *h, unsigned char *p, size_t size) {
    size_t usable = mp_slab_usable_size(h->s, p);
    FUZZ_ASSERT(usable >= size && usable >= 8);
    FUZZ_ASSERT(p >= h->lo && p + usable <= h->hi);
    FUZZ_ASSERT(!overlaps_live(h, p, usable));
    span *b = &h->live[h->live_count++];
    b->ptr = p;
    b->usable = usable;
    b->tag = h->tag++;
    fill(b);
}

static void forget(harness *h, size_t i) {
    h->freed[h->freed_next++ % MAX_FREED] = h->live[i];
    h->live[i] = h->live[--h->live_count];
}

static size_t fuzz_size(fuzz_input *in) {
    uint8_t mode = next_byte(in);
    if (mode < 8) return SIZE_MAX - mode;
    if (mode < 200) return next_byte(in);
    return next_u16(in);
}

/* Writes input bytes over a freed block that no live block overlaps,
 * leaving its poisoning as it was (the library is not instrumented in every
 * build this harness runs in; under valgrind nothing is written). */
static void scribble(harness *h, fuzz_input *in) {
    span *f = &h->freed[next_byte(in) % MAX_FREED];
    if (f->ptr == NULL || RUNNING_ON_VALGRIND || overlaps_live(h, f->ptr, f->usable)) return;
#if defined(MP_ASAN)
    bool poisoned = __asan_address_is_poisoned(f->ptr) != 0;
#else
    bool poisoned = false;
#endif
    if (poisoned) MP_UNPOISON(f->ptr, f->usable);
    for (size_t i = 0; i < f->usable; i++) f->ptr[i] = next_byte(in);
    if (poisoned) MP_POISON(f->ptr, f->usable);
}

static int count_used(void *ptr, size_t size_bytes, int is_used, void *ctx) {
    (void)ptr, (void)size_bytes;
    *(size_t *)ctx += is_used != 0;
    return 0;
}

static void step(harness *h, fuzz_input *in) {
    uint8_t op = next_byte(in);
    size_t pick = h->live_count ? next_byte(in) % h->live_count : 0;
    switch (op % 12) {
    case 0: case 1: case 2: case 3: {
        if (h->live_count == MAX_LIVE) break;
        size_t size = fuzz_size(in);
        unsigned char *p;
        if (op % 4 == 1) {
            size_t align = (size_t)1 << next_byte(in) % 14;
            p = mp_slab_alloc_aligned(h->s, size, align);
            FUZZ_ASSERT(p == NULL || (uintptr_t)p % align == 0);
        } else if (op % 4 == 2) {
            p = mp_slab_calloc(h->s, size);
            if (p != NULL)
                for (size_t i = 0; i < mp_slab_usable_size(h->s, p); i++) FUZZ_ASSERT(p[i] == 0);
        } else if (op % 4 == 3) {
            p = mp_slab_alloc_inline(h->s, size);
        } else {
            p = mp_slab_alloc(h->s, size);
        }
        if (p != NULL) adopt(h, p, size);
        break;
    }
    case 4: case 5:
        if (h->live_count == 0) break;
        verify(&h->live[pick], h->live[pick].usable);
        FUZZ_ASSERT((op % 12 == 5 ? mp_slab_free_inline(h->s, h->live[pick].ptr) : mp_slab_free(h->s, h->live[pick].ptr)) ==
                    MP_OK);
        forget(h, pick);
        break;
    case 6: {
        if (h->live_count == 0) break;
        span old = h->live[pick];
        size_t size = fuzz_size(in);
        void *p = old.ptr;
        MP_Status st = mp_slab_realloc(h->s, &p, size);
        if (st != MP_OK) {
            FUZZ_ASSERT(p == old.ptr);
            verify(&old, old.usable);
            break;
        }
        span moved = old;
        moved.ptr = p;
        verify(&moved, old.usable); /* in place, or the whole old slot copied */
        h->live[pick] = h->live[--h->live_count];
        adopt(h, p, size);
        break;
    }
    case 7: case 8:
        scribble(h, in);
        break;
    case 9: {
        span *f = &h->freed[next_byte(in) % MAX_FREED];
        if (f->ptr != NULL && !overlaps_live(h, f->ptr, 1)) {
            MP_Status st = op & 16 ? mp_slab_free_inline(h->s, f->ptr) : mp_slab_free(h->s, f->ptr);
            FUZZ_ASSERT(st == MP_ERR_DOUBLE_FREE || st == MP_ERR_INVALID_ADDRESS);
        }
        if (h->live_count != 0) {
            span *b = &h->live[pick];
            unsigned char *interior = b->ptr + 1 + next_byte(in) % (b->usable - 1);
            FUZZ_ASSERT((op & 32 ? mp_slab_free_inline(h->s, interior) : mp_slab_free(h->s, interior)) ==
                        MP_ERR_INVALID_ADDRESS);
        }
        break;
    }
    case 10: {
        size_t released = 0, used = 0;
        FUZZ_ASSERT(mp_slab_trim(h->s, &released) == MP_OK);
        FUZZ_ASSERT(mp_slab_walk(h->s, count_used, &used) == MP_OK);
        FUZZ_ASSERT(used == h->live_count);
        break;
    }
    default:
        if (op != 255) break;
        FUZZ_ASSERT(mp_slab_reset(h->s) == MP_OK);
        while (h->live_count) forget(h, h->live_count - 1);
        break;
    }
}

static _Alignas(4096) unsigned char caller_memory[MAX_SLABS * 65536 + (2u << 20)];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const size_t odd_classes[] = {8, 24, 40, 72, 200, 1000, 2040, 4096};
    static harness h;
    memset(&h, 0, sizeof h);
    fuzz_input in = {data, size};
    uint8_t shape = next_byte(&in);
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.slab_bytes = (size_t)4096 << (shape & 3) % 3 * 2; /* 4 KiB, 16 KiB or 64 KiB */
    cfg.region_bytes = (1 + next_byte(&in) % MAX_SLABS) * cfg.slab_bytes;
    if (shape & 4) {
        cfg.class_sizes = odd_classes;
        cfg.class_count = sizeof odd_classes / sizeof odd_classes[0];
    } else if (shape & 8) {
        cfg.max_class_bytes = 512;
    }
    if (shape & 16) cfg.flags = MP_FLAG_THREAD_SAFE;
    if (shape & 32) {
        cfg.ctor = count_ctor;
        cfg.dtor = count_dtor;
        cfg.hook_ctx = &h;
    }
    if ((shape >> 6) == 1) {
        cfg.region = caller_memory + 16;
        h.s = mp_slab_create_ex(&cfg);
    } else if ((shape >> 6) == 2) {
        FUZZ_ASSERT(mp_slab_footprint(&cfg) <= sizeof caller_memory - 16);
        h.s = mp_slab_create_in(caller_memory + 16, sizeof caller_memory - 16, &cfg);
    } else {
        h.s = mp_slab_create_ex(&cfg);
    }
    FUZZ_ASSERT(h.s != NULL);
    h.lo = mp_slab_base(h.s);
    h.hi = h.lo + cfg.region_bytes;
    for (int op = 0; op < MAX_OPS && in.left != 0; op++) {
        step(&h, &in);
        FUZZ_ASSERT(mp_slab_check(h.s) == 0);
    }
    for (size_t i = 0; i < h.live_count; i++) verify(&h.live[i], h.live[i].usable);
    MP_HeapStats st;
    FUZZ_ASSERT(mp_slab_stats(h.s, &st) == MP_OK && st.live_block_count == h.live_count);
    mp_slab_destroy(h.s);
    FUZZ_ASSERT(h.constructed == h.destructed);
    return 0;
}
