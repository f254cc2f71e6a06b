/*
 * tlsf_hot.h - TLSF's allocation and free paths as inline functions, shared
 * by tlsf.c (the public entry points) and the managed pool (pool.c), which
 * compiles them into its own fast paths instead of calling them: one
 * function frame per operation instead of two. Their out-of-line cold and
 * merging parts stay in tlsf.c. See tlsf.c for the algorithm and layout.
 * The "fast paths" section holds the front cache's common cases written for
 * few live values (tlsf_alloc_front, tlsf_free_front): mp_tlsf_alloc/free and
 * mp_pool_alloc/free run them first and fall back to the full paths.
 */
#ifndef MP_TLSF_HOT_H
#define MP_TLSF_HOT_H

#include "tlsf_internal.h"

/* ------------------------------------------------- out of line, in tlsf.c */

/** Cold: scans the list (fl, sl), validating every step, for a block of at
 * least `bs` bytes that ends at or below `end`; its header word and next
 * link into *w0, *next, which stay as they were if none is found. NULL with
 * *why MP_ERR_OUT_OF_MEMORY when the list ends without one, or
 * MP_ERR_CORRUPTION when a block fails validation or `steps` blocks were
 * read (no list holds more than the heap's blocks: a longer one is a
 * cycle). tlsf_find's last resort, when the good-fit lists hold nothing. */
MP_COLD uint8_t *tlsf_find_in_own_list(const MP_Tlsf *t, const tlsf_env *e, size_t bs, unsigned fl, unsigned sl,
                                       const uint8_t *end, size_t steps, uint64_t *w0, uint32_t *next,
                                       MP_Status *why);
/** Cold: a take of `bs` bytes (alignment 16) would grow the heap past its
 * high-water mark (touched_end). A block among the first TLSF_GROW_SCAN of
 * the request's own list that fits and ends below the mark, its header and
 * next link validated into *w0, *next and its list into *fl, *sl; or NULL,
 * all four unchanged (none fits there, or a block failed validation: the
 * take then grows as it would have, and the damage is reported where that
 * block is used). */
MP_COLD uint8_t *tlsf_find_below_mark(const MP_Tlsf *t, const tlsf_env *e, size_t bs, uint64_t *w0, uint32_t *next,
                                      unsigned *fl, unsigned *sl);
/** Cold: the status of a request above max_request_bytes. */
MP_COLD MP_Status tlsf_too_big(size_t req);
/** Cold: no free block fits `req` (align as for tlsf_take) while the cache
 * holds blocks: flushes it (coalescing them) and tries once more. */
MP_COLD uint8_t *tlsf_take_after_flush(MP_Tlsf *t, size_t req, size_t align, size_t *usable, MP_Status *why);

/** A block and its usable size (returned in two registers). */
typedef struct tlsf_grant {
    uint8_t *ptr; /**< NULL if the allocation failed */
    size_t usable_bytes;
} tlsf_grant;

/** Cold part of tlsf_alloc_owned (below): tlsf_take failed with `why`;
 * flushes the front cache and retries if that may help, counts a failure. */
MP_COLD tlsf_grant tlsf_alloc_owned_retry(MP_Tlsf *t, size_t req, MP_Status why);
/** The merging part of tlsf_release_at: the used block `b` (header word w0,
 * validated successor `n` with header word nw0) has a free neighbour. On any
 * error nothing is changed. Out of line: it needs many more registers than
 * the plain free. */
MP_NOINLINE MP_Status tlsf_release_merging(MP_Tlsf *t, uint8_t *b, uint64_t w0, uint8_t *n, uint64_t nw0);

/* ---------------------------------------------------------------- search */

/* A free block of at least `bs` bytes with its header and next link
 * validated into *w0, *next (not yet unlinked) and its list in *fl, *sl, or
 * NULL with *why set. *is_head tells whether it heads that list: always,
 * unless the cold scan found it. O(1) except on the cold path. */
MP_INLINE uint8_t *tlsf_find(const MP_Tlsf *t, const tlsf_env *e, size_t bs, uint64_t *w0, uint32_t *next,
                             unsigned *fl, unsigned *sl, bool *is_head, MP_Status *why) {
    unsigned f, s;
    if (bs < e->linear_below) {
        f = 0; /* exact 16-byte classes: every block of the list fits */
        s = (unsigned)(bs >> TLSF_GRANULE_LOG2);
    } else {
        size_t search = bs + ((size_t)1 << (mp_log2_floor(bs) - e->sl_log2)) - 1;
        unsigned l = mp_log2_floor(search);
        f = l - e->fl_shift + 1;
        s = (unsigned)(search >> (l - e->sl_log2)) ^ (1u << e->sl_log2);
    }
    uint8_t *b = NULL;
    if (MP_LIKELY(f == 0 || f < t->fl_count)) { /* fl_count >= 1: no load for the linear sizes */
        uint32_t sl_map = t->sl_bitmap[f] & (~0u << s);
        if (sl_map == 0) {
            uint64_t fl_map = t->fl_bitmap & (~0ull << (f + 1));
            if (fl_map != 0) {
                f = (unsigned)__builtin_ctzll(fl_map);
                sl_map = t->sl_bitmap[f];
            }
        }
        if (sl_map != 0) {
            s = (unsigned)__builtin_ctz(sl_map);
            b = t->heads[(f << e->sl_log2) | s];
        }
    }
    if (MP_UNLIKELY(b == NULL)) {
        tlsf_mapping(e, bs, fl, sl);
        b = tlsf_find_in_own_list(t, e, bs, *fl, *sl, e->sentinel, t->blocks_bytes / TLSF_MIN_BLOCK_BYTES, w0, next,
                                  why);
        *is_head = b != NULL && t->heads[(*fl << e->sl_log2) | *sl] == b;
        return b;
    }
    *fl = f;
    *sl = s;
    *is_head = true;
    if (MP_UNLIKELY(!tlsf_free_hdr_ok(e, b, w0, next) || tlsf_w_bytes(*w0) < bs)) {
        *why = MP_ERR_CORRUPTION;
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------- allocation */

/* Block bytes for a request (header included, >= the minimum block). The
 * caller has checked req <= max_request_bytes, so nothing overflows. */
MP_INLINE size_t tlsf_block_bytes_for(size_t req) {
    size_t bs = (req + TLSF_HDR_BYTES + 15u) & ~(size_t)15u;
    return bs < TLSF_MIN_BLOCK_BYTES ? TLSF_MIN_BLOCK_BYTES : bs;
}

/* Takes a block for `req` bytes aligned to `align` (0 or a power of two > 16)
 * out of the free lists, splits off the tail and the alignment gap, marks it
 * used. Lock held; counters are the caller's. Inlined with align == 0 into
 * the hot path. `how` (TLSF_TAKE_*, compile-time constants in every
 * caller) selects the steps below. */
#define TLSF_TAKE_CACHE 1u   /* check the request's size and try the front cache first; without it
                              * (align 0 only) the caller checked req <= max_request_bytes and saw the
                              * front cache miss for it (tlsf_alloc_front) */
#define TLSF_TAKE_REPLACE 2u /* align 0: a remainder that maps to the list of the block it is cut from
                              * takes its place as the head (no pop and push): common behind the front
                              * cache, rare in the managed pool's inlined copy, kept small without it */
MP_INLINE uint8_t *tlsf_take_from(MP_Tlsf *t, size_t req, size_t align, unsigned how, size_t *usable,
                                  MP_Status *why) {
    const tlsf_env *e = &t->env;
    size_t bs = tlsf_block_bytes_for(req), search = bs;
    uint64_t align_bits = 0;
    if (align == 0) {
        if (how & TLSF_TAKE_CACHE) {
            if (MP_UNLIKELY(req > t->max_request_bytes)) {
                *why = tlsf_too_big(req);
                return NULL;
            }
            unsigned c = tlsf_cache_class(t, bs);
            if (c < t->cache_classes) {
                bool corrupt;
                uint8_t *p = tlsf_cache_pop(t, req, bs, c, usable, &corrupt);
                if (p != NULL) return p;
                if (MP_UNLIKELY(corrupt)) {
                    *why = MP_ERR_CORRUPTION;
                    return NULL;
                }
            }
        }
    } else {
        if (req > t->max_request_bytes || align > t->blocks_bytes ||
            (search = bs + align + TLSF_HDR_BYTES) > t->blocks_bytes) {
            *why = tlsf_too_big(req);
            return NULL;
        }
        align_bits = (uint64_t)mp_log2_floor(align) << TLSF_W_ALIGN_SHIFT;
    }
    uint64_t w0, nw0 = 0, pw0;
    uint32_t next;
    unsigned fl, sl;
    bool b_is_head;
    uint8_t *b = tlsf_find(t, e, search, &w0, &next, &fl, &sl, &b_is_head, why);
    if (MP_UNLIKELY(b == NULL)) return NULL;
    size_t size = tlsf_w_bytes(w0);
    uint8_t *n = b + size, *a = b; /* a: the block handed out */
    size_t gap = 0;
    if (align != 0) {
        uintptr_t payload = (uintptr_t)b + TLSF_HDR_BYTES;
        gap = (size_t)(mp_align_up_ptr(payload, align) - payload);
        if (gap != 0 && gap < TLSF_MIN_BLOCK_BYTES) gap += align;
        a = b + gap;
    }
    size_t asize = size - gap, rest = asize - bs;
    bool split = rest >= TLSF_MIN_BLOCK_BYTES;
    /* Growing past the high-water mark: only the top block reaches past it.
     * First the request's own list, which the good-fit search skips, may
     * hold a block that fits below the mark (TLSF_GROW_SCAN). Else, past
     * the gate too while blocks are cached (TLSF_CACHE_GROW_SHARE), the
     * take is reported as no room, with nothing changed but the gate (moved
     * on, at most to the sentinel), so the caller flushes the cache and
     * asks again; the coalesced heap may hold the block below the mark.
     * Every caller of a take retries so (tlsf_take_after_flush). */
    uint8_t *end = a + (split ? bs : asize);
    if (MP_UNLIKELY(end > t->touched_end)) {
        uint8_t *low = align == 0 ? tlsf_find_below_mark(t, e, bs, &w0, &next, &fl, &sl) : NULL;
        if (low != NULL) {
            b = a = low;
            b_is_head = t->heads[(fl << e->sl_log2) | sl] == b;
            size = asize = tlsf_w_bytes(w0);
            n = b + size;
            rest = asize - bs;
            split = rest >= TLSF_MIN_BLOCK_BYTES;
        } else if (end > t->grow_gate && tlsf_cache_bytes(t) != 0) {
            size_t step = (size_t)(t->touched_end - e->first) / TLSF_CACHE_GROW_SHARE;
            size_t room = (size_t)(e->sentinel - t->touched_end);
            t->grow_gate = t->touched_end + (step < room ? step : room);
            *why = MP_ERR_OUT_OF_MEMORY;
            return NULL;
        } else {
            t->touched_end = end;
        }
    }
    /* A head is popped without a look at its successor (the next link is
     * authenticated); a block from the middle of its list needs a valid
     * predecessor. Keeping the whole block clears the successor's
     * previous-free flag: its header is rewritten, so it must validate. */
    if (MP_UNLIKELY((!b_is_head && !tlsf_prev_ok(e, tlsf_prev_load(b), tlsf_index_of(e, b), &pw0)) ||
                    (!split && (!tlsf_hdr_load(e, n, &nw0) || !(nw0 & TLSF_W_PREV_FREE))))) {
        *why = MP_ERR_CORRUPTION;
        return NULL;
    }
    /* Everything to be touched is validated; from here on nothing fails. */
    uint64_t prev_free = w0 & TLSF_W_PREV_FREE;
    unsigned rfl = 0, rsl = 0;
    bool replace = (how & TLSF_TAKE_REPLACE) && align == 0;
    if (replace && split) tlsf_mapping(e, rest, &rfl, &rsl);
    if (replace && b_is_head && split && rfl == fl && rsl == sl) {
        tlsf_footer_store(n, tlsf_granules(rest));
        tlsf_replace_head(t, e, a + bs, tlsf_granules(rest) | TLSF_W_FREE, next, fl, sl);
        asize = bs;
    } else {
        if (b_is_head) {
            tlsf_pop(t, e, next, fl, sl);
        } else {
            tlsf_unlink(t, e, b, fl, sl);
        }
        if (gap != 0) {
            unsigned gfl, gsl;
            tlsf_mapping(e, gap, &gfl, &gsl);
            tlsf_footer_store(a, tlsf_granules(gap));
            tlsf_push(t, e, b, tlsf_granules(gap) | TLSF_W_FREE | prev_free, gfl, gsl);
            prev_free = TLSF_W_PREV_FREE;
        }
        if (split) {
            if (!replace) tlsf_mapping(e, rest, &rfl, &rsl);
            tlsf_footer_store(n, tlsf_granules(rest));
            tlsf_push(t, e, a + bs, tlsf_granules(rest) | TLSF_W_FREE, rfl, rsl);
            asize = bs;
        } else {
            tlsf_hdr_store(e, n, nw0 & ~TLSF_W_PREV_FREE);
        }
    }
    *usable = asize - TLSF_HDR_BYTES;
    uint64_t slack = (uint64_t)(*usable - req) << TLSF_W_SLACK_SHIFT;
    tlsf_hdr_store(e, a, tlsf_granules(asize) | prev_free | align_bits | slack);
    MP_UNPOISON(a + TLSF_HDR_BYTES, *usable);
    return a + TLSF_HDR_BYTES;
}

/* tlsf_take_from trying the front cache first (every caller but the one
 * that just saw it miss). */
MP_INLINE uint8_t *tlsf_take(MP_Tlsf *t, size_t req, size_t align, size_t *usable, MP_Status *why) {
    return tlsf_take_from(t, req, align, TLSF_TAKE_CACHE, usable, why);
}

MP_INLINE void tlsf_count_alloc(MP_Tlsf *t, size_t usable, size_t req) {
    t->stats.bytes_in_use += usable;
    t->stats.bytes_requested += req;
    t->stats.alloc_count++;
    if (t->stats.bytes_in_use > t->stats.bytes_in_use_peak)
        t->stats.bytes_in_use_peak = t->stats.bytes_in_use;
}

/* ------------------------------------------------------------------- free */

/* Frees the used or cached block `b` whose header word w0 validated and
 * merges it with its free neighbours; lock held. Sets *usable and *requested
 * of the block (meaningful on success). On any error nothing is changed. */
MP_INLINE MP_Status tlsf_release_at(MP_Tlsf *t, uint8_t *b, uint64_t w0, size_t *usable, size_t *requested) {
    const tlsf_env *e = &t->env;
    uint64_t nw0;
    size_t size = tlsf_w_bytes(w0);
    uint8_t *n = b + size;
    if (MP_UNLIKELY(!tlsf_used_successor_ok(e, n, &nw0))) return MP_ERR_CORRUPTION;
    tlsf_w_sizes(w0, usable, requested);
    if ((w0 & TLSF_W_PREV_FREE) || (nw0 & TLSF_W_FREE)) return tlsf_release_merging(t, b, w0, n, nw0);
    unsigned fl, sl;
    tlsf_mapping(e, size, &fl, &sl);
    /* Validated; from here on nothing fails. */
    MP_POISON(b + TLSF_HDR_BYTES, *usable);
    tlsf_hdr_store(e, n, nw0 | TLSF_W_PREV_FREE);
    tlsf_footer_store(n, tlsf_granules(size));
    tlsf_push(t, e, b, tlsf_granules(size) | TLSF_W_FREE, fl, sl);
    return MP_OK;
}

/* free without counters; lock held. A block the cache takes is only marked
 * cached (its header is the one validated); others are coalesced. On
 * success *usable and *requested are the block's, from the header it
 * validated; on any error nothing is changed. */
MP_INLINE MP_Status tlsf_free_sized(MP_Tlsf *t, void *ptr, size_t *usable, size_t *requested) {
    uint8_t *b;
    uint64_t w0;
    MP_Status st = tlsf_used_block(&t->env, ptr, &b, &w0);
    if (MP_UNLIKELY(st != MP_OK)) return st;
    if (tlsf_cache_push(t, b, w0)) {
        tlsf_w_sizes(w0, usable, requested);
        return MP_OK;
    }
    return tlsf_release_at(t, b, w0, usable, requested);
}

MP_INLINE void tlsf_count_free(MP_Tlsf *t, size_t usable, size_t requested) {
    t->stats.bytes_in_use -= usable;
    t->stats.bytes_requested -= requested;
    t->stats.free_count++;
}

/* free with counters; lock held. */
MP_INLINE MP_Status tlsf_free_counted(MP_Tlsf *t, void *ptr) {
    size_t usable, requested;
    MP_Status st = tlsf_free_sized(t, ptr, &usable, &requested);
    if (MP_LIKELY(st == MP_OK)) {
        tlsf_count_free(t, usable, requested);
    } else {
        t->stats.rejected_free_count++;
    }
    return st;
}

/* ------------------------------------------------------------ fast paths */

/* The front cache's common cases, for callers that compile them into small
 * functions of their own (mp_tlsf_alloc/free, the managed pool): inline,
 * no calls and few live values, so the caller saves few registers (empty
 * asm memory barriers could save three more, by making gcc reload values
 * instead of keeping them, but the reloads read just-stored values: the
 * 64 B alloc+free pair took 14.8 ns with them, 11 without, in alternating
 * runs). Each one
 * either completes the operation or declines having only read (nothing
 * changed, not even a counter), and the caller then runs its full path from
 * the start, which validates the same headers again and reports whatever
 * made the fast path decline. Counters are the caller's. */

/** The top block of cache class `c` (which holds `n` > 0 blocks) in *b_out
 * with its header word in *w0, validated as tlsf_cache_pop validates it but
 * for its size, which the caller bounds to the class (so also to >= 32
 * bytes): the slot in range, the flags of a cached block, the tag (not
 * free: no next link) and no end past the heap. False if any of that fails. */
MP_INLINE bool tlsf_cache_top_fast(const MP_Tlsf *t, size_t c, size_t n, uint8_t **b_out, uint64_t *w0) {
    const tlsf_env *e = &t->env;
    uint32_t index = t->cache_slots[c * TLSF_CACHE_DEPTH + n - 1u];
    if (MP_UNLIKELY(!tlsf_index_ok(e, index))) return false;
    uint8_t *b = tlsf_block_at(e, index);
    *w0 = tlsf_peek64(b);
    *b_out = b;
    return MP_LIKELY(tlsf_cached_flags_ok(*w0) && tlsf_tag(e, b, *w0, 0) == tlsf_peek64(b + 8) &&
                     (uintptr_t)b + tlsf_w_bytes(*w0) <= (uintptr_t)e->sentinel); /* b < sentinel: no wrap */
}

/** An allocation of `req` bytes (1 .. fast.alloc_sizes, which the caller
 * has compared) at TLSF's own alignment served by the front cache as
 * tlsf_cache_pop serves it: from the top of the request's class c, or if
 * that class is empty or its top too small, from the top of class c + 1;
 * the size of each top must lie in its class (fast.class_start). NULL
 * otherwise: nothing cached that fits, a cached header that fails
 * validation, or a waste tlsf_cache_pop refuses. *missed is set (and
 * otherwise left alone) when it declines because class c is empty or its
 * validated top too small and class c + 1 is empty: tlsf_cache_pop would
 * then miss too, and a list search may skip it (tlsf_take_from). */
MP_INLINE uint8_t *tlsf_alloc_front(MP_Tlsf *t, size_t req, size_t *usable, bool *missed) {
    /* The granules of tlsf_block_bytes_for(req) (req + 16 rounded up; at
     * least 2, as req >= 1) and their class. */
    uint32_t g = (uint32_t)((req + 15u) >> TLSF_GRANULE_LOG2) + 1u; /* below 512 */
    size_t c = t->fast.class_of[g];
    uint64_t w0;
    uint8_t *b;
    if (t->cache_count[c] != 0) {
        if (!tlsf_cache_top_fast(t, c, t->cache_count[c], &b, &w0) ||
            tlsf_w_bytes(w0) >= t->fast.class_start[c + 1])
            return NULL;
        /* At least the request's block size, which is in class c (so the
         * size is in class c, and at least 32). */
        if (tlsf_w_size(w0) >= g) goto take;
        if (tlsf_w_bytes(w0) < t->fast.class_start[c]) return NULL;
    }
    /* Past the last class the count is 0. Every size of class c + 1 is
     * above the request's block size. */
    c++;
    if (t->cache_count[c] == 0) {
        *missed = true;
        return NULL;
    }
    if (!tlsf_cache_top_fast(t, c, t->cache_count[c], &b, &w0) || tlsf_w_bytes(w0) < t->fast.class_start[c] ||
        tlsf_w_bytes(w0) >= t->fast.class_start[c + 1])
        return NULL;
take:
    if (t->fast.checks_waste[c] && tlsf_cache_waste_too_big(tlsf_w_bytes(w0), tlsf_block_bytes_for(req)))
        return NULL;
    return tlsf_cache_take(t, b, w0, (unsigned)c, t->cache_count[c], req, usable);
}

/** What tlsf_free_front did. */
typedef enum tlsf_front_free {
    TLSF_FREE_CACHED,   /* the cache took the block: done */
    TLSF_FREE_VALIDATED, /* a valid used block (the checks of tlsf_used_block) the cache does not take */
    TLSF_FREE_DECLINED   /* anything else: run the full path, which reports it */
} tlsf_front_free;

/** A free of `ptr` into the front cache: CACHED if `ptr` is a valid used
 * block (the checks of tlsf_used_block) and the cache took it
 * (tlsf_cache_push); its sizes are then in *usable and *requested.
 * VALIDATED: it is such a block, at *b_out with header word *w0, but not of
 * a cached class or its class is full or the budget too small; nothing
 * changed. DECLINED: refused, or a thread-safe instance; nothing changed. */
MP_INLINE tlsf_front_free tlsf_free_front(MP_Tlsf *t, void *ptr, uint8_t **b_out, uint64_t *w0_out,
                                          size_t *usable, size_t *requested) {
    const tlsf_env *e = &t->env;
    /* In the heap and aligned, one compare: rotated right by 4 bits, an
     * offset with any of its low 4 bits set is above any span, and one
     * below first wraps past it. A thread-safe instance's span is 0. */
    uintptr_t off = (uintptr_t)ptr - t->fast.free_base;
    if (MP_UNLIKELY(((off >> TLSF_GRANULE_LOG2) | (off << (sizeof off * 8u - TLSF_GRANULE_LOG2))) >=
                    t->fast.free_span))
        return TLSF_FREE_DECLINED;
    uint8_t *b = (uint8_t *)ptr - TLSF_HDR_BYTES;
    uint64_t w0 = tlsf_peek64(b);
    size_t size = tlsf_w_bytes(w0);
    *b_out = b;
    *w0_out = w0;
    /* Used (neither free nor cached: no next link in the tag), authentic,
     * of a cached class (at least 32 bytes) and inside the heap. */
    if (MP_UNLIKELY((w0 & (TLSF_W_FREE | TLSF_W_CACHED)) != 0 ||
                    tlsf_tag(e, b, w0, 0) != tlsf_peek64(b + 8)))
        return TLSF_FREE_DECLINED;
    if (size - TLSF_MIN_BLOCK_BYTES >= t->fast.free_sizes ||
        MP_UNLIKELY((uintptr_t)b + size > (uintptr_t)e->sentinel)) /* b < sentinel: no wrap */
        return tlsf_fits_heap(e, b, tlsf_w_size(w0)) ? TLSF_FREE_VALIDATED : TLSF_FREE_DECLINED;
    size_t c = t->fast.class_of[tlsf_w_size(w0)]; /* size >> 4 */
    if (t->cache_count[c] >= TLSF_CACHE_DEPTH || size > t->cache_room_bytes) return TLSF_FREE_VALIDATED;
    tlsf_cache_file(t, b, w0, c);
    tlsf_w_sizes(w0, usable, requested);
    return TLSF_FREE_CACHED;
}

/* ------------------------------------------------ entry points for mp_pool */

/** mp_tlsf_alloc for the managed pool's single TLSF backend (flag
 * TLSF_FLAG_OWNER_COUNTS, created without MP_FLAG_THREAD_SAFE, the pool's
 * lock held): no entry checks, the usable size returned with the block, no
 * counters but failed_alloc_count (the pool keeps them) and no failure
 * report (the pool makes its own). Headers are validated exactly as for
 * mp_tlsf_alloc. `how` as for tlsf_take_from: 0 after tlsf_alloc_front saw
 * the front cache miss for `req`, else TLSF_TAKE_CACHE (tlsf_alloc_owned). */
MP_INLINE tlsf_grant tlsf_alloc_owned_from(MP_Tlsf *t, size_t req, unsigned how) {
    MP_Status why;
    size_t usable = 0;
    uint8_t *ptr = tlsf_take_from(t, req, 0, how, &usable, &why);
    if (MP_UNLIKELY(ptr == NULL)) return tlsf_alloc_owned_retry(t, req, why);
    tlsf_grant g = {ptr, usable};
    return g;
}

MP_INLINE tlsf_grant tlsf_alloc_owned(MP_Tlsf *t, size_t req) { return tlsf_alloc_owned_from(t, req, TLSF_TAKE_CACHE); }

/** mp_tlsf_free for the same backend and caller: tlsf_free_sized, so the
 * same validation and no counters (not even rejected_free_count: the pool
 * counts rejected frees), the status returned without mp_fail; the pool's
 * tlsf_sizes free calls tlsf_free_sized itself, for the block's sizes. */
MP_INLINE MP_Status tlsf_free_owned(MP_Tlsf *t, void *ptr) {
    size_t usable, requested;
    return tlsf_free_sized(t, ptr, &usable, &requested);
}

#endif /* MP_TLSF_HOT_H */
