/*
 * tlsf_small.h - the hot paths of TLSF's small-object spans (see
 * tlsf_small.c for the design), inline so mp_tlsf_alloc and mp_tlsf_free
 * compile them in; the descriptors' set-up, span life and checks are in
 * tlsf_small.c. Lock held (or a single-threaded instance) in all of them.
 */
#ifndef MP_TLSF_SMALL_H
#define MP_TLSF_SMALL_H

#include "tlsf_hot.h"

/* ------------------------------------------------------------ tlsf_small.c */

/** Chunks (descriptors) an instance over `region_bytes` needs at most. */
size_t tlsf_small_chunks(size_t region_bytes);
/** Control-block bytes of the spans' state: 0 when small_bytes is 0. */
size_t tlsf_small_control_bytes(size_t region_bytes, size_t small_bytes);
/** Sets up the state in `mem` (tlsf_small_control_bytes) for an instance
 * whose env and stats.region_bytes are set; format follows. */
void tlsf_small_init(MP_Tlsf *t, void *mem, size_t small_bytes);
/** No spans (reset). */
void tlsf_small_format(MP_Tlsf *t);
/** A span for class c, listed: a parked one, else one taken from the heap;
 * chunk + 1, or 0 when TLSF has no room for one. */
MP_NOINLINE uint32_t tlsf_small_new_span(MP_Tlsf *t, unsigned c);
/** True if some span has no object in use. */
bool tlsf_small_has_empty(const MP_Tlsf *t);
/** Objects in slots and their bytes (O(chunks): for failure reports). */
void tlsf_small_usage(const MP_Tlsf *t, size_t *objects, size_t *bytes);
/** True if `b` (header word w0, flagged as a span) is a span this instance
 * made: a payload on a chunk boundary, a span's size, a map entry whose
 * class is the descriptor's. Walks use it before trusting the flag. */
bool tlsf_small_span_ok(const MP_Tlsf *t, const uint8_t *b, uint64_t w0);
/** Gives back every span with no object in use (parked, or kept by its
 * class); returns how many. One failing validation stays where it was. */
size_t tlsf_small_release_empty(MP_Tlsf *t);
/** For check's walk of the heap: violations of the span block `b` (header
 * word w0) and its descriptor; adds its used slots and their bytes. */
size_t tlsf_small_span_tally(const MP_Tlsf *t, const uint8_t *b, uint64_t w0, size_t *used, size_t *bytes);
/** Violations of the map, lists and counts, given the span blocks the walk
 * of the heap found. */
size_t tlsf_small_check(const MP_Tlsf *t, size_t spans_in_heap);
/** Visits the slots of the span block `b` in address order. */
int tlsf_small_walk_span(const MP_Tlsf *t, const uint8_t *b, MP_WalkFn fn, void *ctx);
/** Adds the free slots of the span block `b` to free figures. */
void tlsf_small_free_stats_add(const MP_Tlsf *t, const uint8_t *b, MP_FreeStats *fs);

/* ---------------------------------------------------------------- tlsf.c */

/** A span's block from the heap, uncounted: its payload (chunk-aligned,
 * TLSF_SPAN_AREA bytes or up to 16 more), or NULL. */
uint8_t *tlsf_take_span(MP_Tlsf *t);

/* ------------------------------------------------------------------ inline */

/** chunk + 1 of the span holding `ptr`, or 0 if `ptr` is in none. */
MP_INLINE uint32_t tlsf_small_chunk(const tlsf_small *s, const void *ptr) {
    size_t k = (size_t)((uintptr_t)ptr - (uintptr_t)s->chunk_base) >> TLSF_SPAN_LOG2;
    return k < s->chunk_count && s->map[k] != 0 ? (uint32_t)k + 1u : 0;
}

MP_INLINE uint8_t *tlsf_small_chunk_at(const tlsf_small *s, uint32_t h) {
    return s->chunk_base + ((size_t)(h - 1u) << TLSF_SPAN_LOG2);
}

MP_INLINE void tlsf_small_link(tlsf_small *s, uint32_t h) {
    tlsf_span *sp = &s->spans[h - 1u];
    uint32_t head = s->avail[sp->cls];
    sp->prev = 0;
    sp->next = head;
    sp->listed = TLSF_SPAN_LISTED;
    if (head != 0) s->spans[head - 1u].prev = h;
    s->avail[sp->cls] = h;
}

MP_INLINE void tlsf_small_unlink(tlsf_small *s, uint32_t h) {
    tlsf_span *sp = &s->spans[h - 1u];
    if (sp->prev != 0) {
        s->spans[sp->prev - 1u].next = sp->next;
    } else {
        s->avail[sp->cls] = sp->next;
    }
    if (sp->next != 0) s->spans[sp->next - 1u].prev = sp->prev;
    sp->next = sp->prev = 0;
    sp->listed = TLSF_SPAN_FULL;
}

/** The lowest free slot of the listed span `h` (class c), counted; the span
 * leaves its class's list when that was its last free slot. */
MP_INLINE void *tlsf_small_pop(MP_Tlsf *t, tlsf_small *s, uint32_t h) {
    tlsf_span *sp = &s->spans[h - 1u];
    unsigned used = sp->used + 1u;
    if (MP_UNLIKELY(used == sp->capacity)) tlsf_small_unlink(s, h); /* it heads the list */
    unsigned w = sp->low;
    uint64_t bits = sp->free_bits[w];
    while (bits == 0) bits = sp->free_bits[++w]; /* a listed span has a free bit at or above low */
    sp->free_bits[w] = bits & (bits - 1u);
    sp->low = (uint16_t)w;
    sp->used = (uint16_t)used;
    size_t slot = sp->slot;
    uint8_t *p = tlsf_small_chunk_at(s, h) + (w * 64u + (unsigned)__builtin_ctzll(bits)) * slot;
    MP_UNPOISON(p, slot);
    tlsf_count_alloc(t, slot, slot);
    return p;
}

/** A slot for a request of 1 .. small->max_bytes bytes, counted; NULL when
 * no span has room and TLSF none for a new one. */
MP_INLINE void *tlsf_small_take(MP_Tlsf *t, size_t req) {
    tlsf_small *s = t->small;
    unsigned c = s->class_of[(req + 15u) >> 4];
    uint32_t h = s->avail[c];
    if (MP_UNLIKELY(h == 0) && (h = tlsf_small_new_span(t, c)) == 0) return NULL;
    return tlsf_small_pop(t, s, h);
}

/** The slot index of `ptr` in span `h`: MP_ERR_INVALID_ADDRESS if `ptr` is
 * no slot start, MP_ERR_DOUBLE_FREE if the slot is free. Chunks are
 * aligned to their size (chunk_base is), so the offset is a mask. */
MP_INLINE MP_Status tlsf_small_slot(const tlsf_small *s, uint32_t h, const void *ptr, unsigned *index) {
    const tlsf_span *sp = &s->spans[h - 1u];
    uint32_t off = (uint32_t)((uintptr_t)ptr & (TLSF_SPAN_BYTES - 1u));
    uint32_t i = (uint32_t)(((uint64_t)off * sp->recip) >> 32);
    if (MP_UNLIKELY(i * (uint32_t)sp->slot != off || i >= sp->capacity)) return MP_ERR_INVALID_ADDRESS;
    if (MP_UNLIKELY((sp->free_bits[i >> 6] >> (i & 63u)) & 1u)) return MP_ERR_DOUBLE_FREE;
    *index = i;
    return MP_OK;
}

/** The list moves of a free (tlsf_small_free) that found span `h` full
 * before it (`used_before` == capacity: it joins its class's list) or left
 * it empty (`used_before` == 1: parked, unless it is the class's only span
 * with room); then counts the free as tlsf_small_free does. Out of line, so
 * the common free calls nothing. */
MP_NOINLINE MP_Status tlsf_small_free_relist(MP_Tlsf *t, uint32_t h, unsigned used_before);

/** Frees the small object `ptr` of span `h`, counted (a refusal counts as
 * a rejected free and changes nothing else). A span whose last object this
 * was is parked (kept empty for any class) unless it is the only span
 * listed for its class. */
MP_INLINE MP_Status tlsf_small_free(MP_Tlsf *t, uint32_t h, void *ptr) {
    tlsf_small *s = t->small;
    unsigned i;
    MP_Status st = tlsf_small_slot(s, h, ptr, &i);
    if (MP_UNLIKELY(st != MP_OK)) {
        t->stats.rejected_free_count++;
        return st;
    }
    tlsf_span *sp = &s->spans[h - 1u];
    sp->free_bits[i >> 6] |= 1ull << (i & 63u);
    if ((i >> 6) < sp->low) sp->low = (uint16_t)(i >> 6);
    unsigned used = sp->used, slot = sp->slot;
    sp->used = (uint16_t)(used - 1u);
    MP_POISON(ptr, slot);
    if (MP_UNLIKELY(used == sp->capacity || used == 1u)) return tlsf_small_free_relist(t, h, used);
    tlsf_count_free(t, slot, slot);
    return MP_OK;
}

#endif /* MP_TLSF_SMALL_H */
