/*
 * inline_baselines.h - the floors of the micro benchmarks: the least work an
 * allocator of each kind can do, written inline in the benchmark itself so
 * the compiler sees every line (no call, no checks, no statistics).
 *
 *  - inl_freelist: fixed-size slots; a free slot stores the next free slot's
 *    address in its first bytes (intrusive LIFO list), untouched slots come
 *    from a bump pointer. Floor for the fixed-size workloads.
 *  - inl_sizeclass: one inl_freelist per power-of-two class 16 .. 4096 B, all
 *    bumping from one shared buffer. Floor for the mixed-size workloads.
 *  - inl_bump: a bump pointer with alignment. Floor for the arena workload.
 *
 * They keep metadata inside free blocks and validate nothing, which the
 * library's families must not do; the gap to them is the price of those
 * guarantees, not a target.
 */
#ifndef MP_BENCH_INLINE_BASELINES_H
#define MP_BENCH_INLINE_BASELINES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct inl_freelist {
    unsigned char *bump; /* next never-used slot */
    unsigned char *end;  /* end of the buffer this list bumps from */
    void *head;          /* most recently freed slot, NULL if none */
    size_t slot_bytes;
} inl_freelist;

static inline void inl_freelist_init(inl_freelist *fl, void *buffer, size_t buffer_bytes, size_t slot_bytes) {
    fl->bump = buffer;
    fl->end = (unsigned char *)buffer + buffer_bytes;
    fl->head = NULL;
    fl->slot_bytes = slot_bytes;
}

static inline void *inl_freelist_alloc(inl_freelist *fl) {
    void *p = fl->head;
    if (p != NULL) {
        memcpy(&fl->head, p, sizeof(void *));
        return p;
    }
    if ((size_t)(fl->end - fl->bump) < fl->slot_bytes) return NULL;
    p = fl->bump;
    fl->bump += fl->slot_bytes;
    return p;
}

static inline void inl_freelist_free(inl_freelist *fl, void *p) {
    memcpy(p, &fl->head, sizeof(void *));
    fl->head = p;
}

#define INL_CLASS_MIN_LOG2 4u  /* 16 B */
#define INL_CLASS_MAX_LOG2 12u /* 4096 B */
#define INL_CLASS_COUNT (INL_CLASS_MAX_LOG2 - INL_CLASS_MIN_LOG2 + 1u)

typedef struct inl_sizeclass {
    inl_freelist classes[INL_CLASS_COUNT];
    unsigned char *bump;
    unsigned char *end;
} inl_sizeclass;

static inline void inl_sizeclass_init(inl_sizeclass *sc, void *buffer, size_t buffer_bytes) {
    for (unsigned i = 0; i < INL_CLASS_COUNT; i++) {
        inl_freelist_init(&sc->classes[i], NULL, 0, (size_t)1 << (i + INL_CLASS_MIN_LOG2));
    }
    sc->bump = buffer;
    sc->end = (unsigned char *)buffer + buffer_bytes;
}

/* Class of a size: ceil(log2(size)) - 4, sizes <= 16 in class 0. */
static inline unsigned inl_class_of(size_t size) {
    if (size <= ((size_t)1 << INL_CLASS_MIN_LOG2)) return 0;
    return (unsigned)(sizeof(unsigned long) * 8u - (unsigned)__builtin_clzl((unsigned long)(size - 1))) -
           INL_CLASS_MIN_LOG2;
}

static inline void *inl_sizeclass_alloc(inl_sizeclass *sc, size_t size) {
    unsigned c = inl_class_of(size);
    if (c >= INL_CLASS_COUNT) return NULL;
    inl_freelist *fl = &sc->classes[c];
    void *p = fl->head;
    if (p != NULL) {
        memcpy(&fl->head, p, sizeof(void *));
        return p;
    }
    if ((size_t)(sc->end - sc->bump) < fl->slot_bytes) return NULL;
    p = sc->bump;
    sc->bump += fl->slot_bytes;
    return p;
}

/* The caller passes the size it allocated with (as C++ sized delete does). */
static inline void inl_sizeclass_free(inl_sizeclass *sc, void *p, size_t size) {
    inl_freelist_free(&sc->classes[inl_class_of(size)], p);
}

typedef struct inl_bump {
    unsigned char *base;
    size_t offset;
    size_t size;
} inl_bump;

static inline void *inl_bump_alloc(inl_bump *b, size_t size, size_t align) {
    size_t start = (b->offset + (align - 1)) & ~(align - 1);
    if (start > b->size || b->size - start < size) return NULL;
    b->offset = start + size;
    return b->base + start;
}

static inline void inl_bump_reset(inl_bump *b) { b->offset = 0; }

#endif /* MP_BENCH_INLINE_BASELINES_H */
