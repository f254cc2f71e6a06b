/*
 * fixed_internal.h - the fixed pool's control block and slot addressing,
 * shared by fixed_pool.c (create, alloc, free, reset) and
 * fixed_pool_inspect.c (stats, owns, check, trim). fixed_pool.c's comment
 * describes the algorithm and the layout.
 */
#ifndef MP_FIXED_INTERNAL_H
#define MP_FIXED_INTERNAL_H

#include "mp_internal.h"

#include <limits.h>
#include <stdatomic.h>

#define MP_FIXED_MAGIC 0x4D50464958454431ull /* "MPFIXED1" */
#define MP_FIXED_NIL UINT32_MAX              /* thread-safe: empty link / empty stack */
#define MP_FIXED_MAX_ALIGNMENT 4096u
#define MP_FIXED_DEFAULT_ALIGNMENT_CAP 16u
#define MP_FIXED_META_ALIGN 64u
/* Power-of-two strides from this size up get one cache line of padding
 * (fixed_pool.c: "Stride"). */
#define MP_FIXED_PAD_MIN_STRIDE 1024u
#define MP_FIXED_PAD_BYTES 64u
#define MP_UPTR_BITS (sizeof(uintptr_t) * CHAR_BIT)

typedef enum fixed_owner {
    FIXED_OWNS_MAPPING = 1,  /* create: slots and metadata in one OS mapping */
    FIXED_OWNS_METADATA = 2, /* create_ex with a region: metadata from the heap */
    FIXED_IN_CALLER = 3      /* create_in: everything in caller memory */
} fixed_owner;

/* Counters of a thread-safe pool, relaxed atomics on their own cache line. */
typedef struct fixed_shared {
    _Alignas(64) _Atomic uint64_t head; /* {tag:32, index:32}, index NIL = empty */
    _Alignas(64) _Atomic uint32_t high_water;
    _Atomic size_t allocated;
    _Atomic size_t allocated_peak;
    _Atomic uint64_t alloc_count;
    _Atomic uint64_t free_count;
    _Atomic uint64_t failed_alloc_count;
    _Atomic uint64_t rejected_free_count;
} fixed_shared;

struct MP_FixedPool {
    /* The header's inline calls read and write `hot` at offset 0: the hot
     * fields of the single-threaded paths. Its hands, link, head and
     * counters serve single-threaded pools only (NULL / 0 on a thread-safe
     * one). Its paths count free_count and free_length (the list paths
     * only): slots in use are high_water - free_length - (1 if a hand is
     * set), alloc_count = free_count + in use + slots released by resets,
     * and the peak equals high_water (a slot above it is taken only when
     * hand and list are empty, i.e. all below are in use). */
    MP_FixedPoolHot hot;
    _Atomic uint32_t *next;        /* thread-safe: next[i] = index below i on the stack */
    _Atomic uint64_t *shared_bits; /* thread-safe: the allocation bitmap */
    uint32_t capacity;
    uint8_t is_thread_safe;
    uint8_t owner;       /* fixed_owner */
    uint8_t inline_open; /* single-threaded and not destroyed: the limits follow the high water */
    /* Cold fields. */
    uint64_t failed_alloc_count;
    uint64_t rejected_free_count;
    uint64_t reset_released_count; /* slots that were in use when a reset freed them */
    size_t alignment;
    size_t region_bytes;
    uint64_t *check_scratch; /* capacity bits, written only by check() */
    void *mapping;           /* FIXED_OWNS_MAPPING: the mapping; FIXED_OWNS_METADATA: this block */
    size_t mapping_bytes;
    uint64_t magic;
    fixed_shared shared; /* used only when is_thread_safe */
};

_Static_assert(offsetof(MP_FixedPool, hot) == 0, "the header's inline calls read the hot state at offset 0");
_Static_assert(sizeof(void *) != 8 || offsetof(MP_FixedPoolHot, slot_size_bytes) == 64,
               "the hand paths' fields fill exactly the first cache line");

/* The sanitizer this file poisons with (the header's inline calls compare). */
#if defined(MP_ASAN)
#define MP_FIXED_SANITIZER MP_SANITIZER_ASAN
#elif defined(MP_WITH_VALGRIND)
#define MP_FIXED_SANITIZER MP_SANITIZER_VALGRIND
#else
#define MP_FIXED_SANITIZER MP_SANITIZER_NONE
#endif
/* The hand this library's paths use: the one its kind of inline caller uses. */
#define MP_FIXED_HAND (MP_FIXED_SANITIZER != MP_SANITIZER_NONE)

/* ------------------------------------------------------- slot addressing */

/* Slot index of the byte offset `offset` from the base, or a value >=
 * capacity when `offset` is not the start of a slot (see the header). */
MP_INLINE uintptr_t fixed_index_of_offset(const MP_FixedPool *p, uintptr_t offset) {
    uintptr_t x = offset * p->hot.stride_inverse;
    unsigned k = p->hot.stride_shift;
    return (x >> k) | (x << ((MP_UPTR_BITS - k) & (MP_UPTR_BITS - 1)));
}

MP_INLINE uintptr_t fixed_index_of(const MP_FixedPool *p, const void *ptr) {
    return fixed_index_of_offset(p, (uintptr_t)ptr - (uintptr_t)p->hot.base);
}

MP_INLINE uint64_t fixed_bit(size_t index) { return (uint64_t)1 << (index & 63); }

MP_INLINE uint32_t fixed_high_water(const MP_FixedPool *p) {
    return p->is_thread_safe ? atomic_load_explicit(&p->shared.high_water, memory_order_relaxed)
                             : p->hot.high_water;
}

/* 1 if slot `index` (< capacity) is handed out, whatever the pool's mode
 * (cold paths only). */
static inline bool fixed_slot_in_use(const MP_FixedPool *p, size_t index) {
    if (p->is_thread_safe)
        return (atomic_load_explicit(&p->shared_bits[index >> 6], memory_order_relaxed) & fixed_bit(index)) != 0;
    return index < p->hot.high_water && p->hot.link[index] == MP_FIXED_LINK_IN_USE &&
           p->hot.base + index * p->hot.slot_size_bytes != p->hot.hand[MP_FIXED_HAND];
}

/* The six counters: relaxed loads on a thread-safe pool, partly derived on a
 * single-threaded one (see the control block). */
typedef struct fixed_counters {
    size_t allocated, allocated_peak;
    uint64_t alloc_count, free_count, failed_alloc_count, rejected_free_count;
} fixed_counters;

fixed_counters mp_fixed_read_counters(const MP_FixedPool *p);

#endif /* MP_FIXED_INTERNAL_H */
