/*
 * tlsf.c - two-level segregated fit (TLSF): O(1) alloc and free with
 * coalescing over one contiguous region, behind an optional front cache of
 * recently freed small blocks. Stats, walk, check and trim are in
 * tlsf_inspect.c; the cache's flush and check in tlsf_cache.c; the header,
 * link and footer codec and the cache's push and pop in tlsf_internal.h; the
 * inline search, take and release paths in tlsf_hot.h (the managed pool
 * compiles them into its own fast paths).
 *
 * Algorithm. Free blocks sit in doubly linked lists indexed by a first level
 * (the power of two of the size) and a second level (2^sl_log2 equal slices
 * of that power of two; sizes below 2^(sl_log2 + 4) are cut into 16-byte
 * slices). Two bitmaps tell which lists are non-empty, so a search is two bit
 * scans. A request is rounded up to the start of the next list before the
 * search (good fit), so the head of any list found fits without a look at
 * the others; if that finds nothing, the request's own list is scanned (cold
 * path), so an allocation fails only when no free block is large enough.
 * The own list is also scanned, for at most TLSF_GROW_SCAN blocks, before a
 * take grows the heap past its high-water mark (below): good fit would
 * carve the request out of fresh pages while a block of its own list that
 * fits sits below the mark (pow2_live10k replay: overhead 1.41 -> 1.25).
 * Freeing merges the block with both free physical neighbours at once.
 *
 * Front cache (MP_TlsfConfig.cache_bytes, default on in mp_tlsf_create; see
 * tlsf_cache.c). A freed block under 8 KiB whose class has one of its 16
 * slots free and that fits the byte budget is not merged: its header gets
 * the cached flag (to neighbours and lists it stays a used block, so nothing
 * else is touched) and its granule index goes on its class's LIFO in the
 * control block. An unaligned alloc first pops the top of its own class, or
 * of the next class if that top is too small, and takes it whole (waste
 * bounded by max(31 B, bs / 16), kept as slack); only on a miss does it
 * search the lists. When an allocation (alloc, aligned, realloc) finds no
 * room while blocks are cached, the cache is flushed through the coalescing
 * free path and the allocation retried, so it fails only when the coalesced
 * heap has no room either. The same happens before the heap grows: a take
 * that would reach past the high-water mark (touched_end: no block has ever
 * been above it, so its pages were never written) while blocks are cached
 * flushes them first, and grows only if the coalesced heap has no room
 * below the mark, so the cache does not push the heap into fresh pages;
 * after such a flush the heap may grow by 1/16 of the mark before the next
 * (grow_gate), which bounds their cost. Cached blocks are free for every
 * observer.
 *
 * Fast paths. mp_tlsf_alloc and mp_tlsf_free first try the cache's common
 * cases inline (tlsf_alloc_front, tlsf_free_front in tlsf_hot.h: a pop from
 * the request's class or the next, a push into a class with room), with
 * the same validation and counters, compiled to code that calls nothing and
 * opens no stack frame. They compare with fields derived once from the
 * configuration (MP_Tlsf.fast, tlsf_cache.c) instead of recomputing: a
 * request limit and a heap span (0 for thread-safe instances, so the same
 * compare sends those to the locked paths), a table of size classes and
 * each class's bounds. They change nothing when they decline. What they
 * learnt is not done twice: a free whose header validated but which the
 * cache does not take goes straight to the coalescing free
 * (tlsf_free_validated), an allocation whose classes were seen empty
 * straight to the list search (tlsf_alloc_missed); anything else (a
 * header that failed, a thread-safe instance, an odd size) runs the whole
 * operation from the start in tlsf_alloc_slow / tlsf_free_slow, so every
 * error is found and reported there exactly as before.
 *
 * Memory layout (16-byte granules, sizes include the header):
 *   region: [pad][hdr|payload ...][hdr|payload ...] ... [sentinel hdr]
 *                 ^first                                ^sentinel
 * A header is two words: w0 = size in granules (low 32 bits) and flags (free,
 * previous block free, log2 of the alignment asked for, usable - requested
 * bytes); w1 = a tag: w0, the header's own address and, for a free block,
 * its next link, times an odd per-instance key (one multiply, tlsf_tag).
 * User pointer = header + 16, so every block is 16-aligned. A free block
 * keeps its next and previous links (32-bit granule indices) right after the
 * header and its size in a footer in its last 8 bytes: 32-byte minimum
 * block. As in classic TLSF, the "previous block is free" flag says whether
 * the footer before a header is meaningful: free reads the previous block
 * only when it merges with it, and touches nothing beyond the immediate
 * neighbours and their list neighbours. The sentinel is a used block of
 * size 0, so every block has a physical successor. An aligned request takes
 * a block with room for the alignment and gives the leading gap back as a
 * free block (a gap under 32 bytes grows by one alignment step first). A
 * remainder under 32 bytes is never split off: it stays with the block.
 *
 * Hostile writes. Headers, links and footers lie in bytes that were handed
 * out before, so anything may have overwritten them. Nothing read from the
 * heap is used before it is validated: a header by its tag and bounds (the
 * block ends inside the heap), which also authenticates a free block's next
 * link; a previous link by range and by the block it names being free with
 * a next link naming the block back; a footer by the header it leads to
 * (valid, free, of exactly the footer's size); a cached block's header by
 * its tag, the cached flag and the size class of the slot naming it. List
 * heads and cache slots live in the control block. A free that caches a
 * block validates and writes that block's header only; its neighbours are
 * validated when the cache is flushed. Headers that stop being block starts (merged) are wiped and
 * reset changes the key, so stale headers never validate. Every operation
 * validates all it will touch before it writes anything: a failed validation
 * returns MP_ERR_CORRUPTION (NULL from alloc) and changes nothing. Random
 * bytes pass as a header with probability 2^-64; bounds checks hold
 * regardless, so no pointer outside the heap is ever followed or returned.
 *
 * Sanitizers: headers, links, footers and free payload are poisoned; the
 * allocator opens metadata only around its own accesses (tlsf_peek/poke).
 *
 * Counters: alloc_count counts blocks created by alloc, alloc_aligned, calloc
 * and realloc of NULL; realloc_count every successful realloc (a moving
 * realloc adds no alloc or free); live_block_count is derived from them when
 * read; rejected frees and failed allocations change only their own counter.
 * A realloc of an address that is not a live block counts in
 * rejected_free_count, like a refused free (as in every family).
 *
 * Control block: MP_Tlsf, then the cache slots (at a fixed offset, so a fast
 * path reads a slot without a base pointer), then the list heads.
 *
 * Invariants (mp_tlsf_check): every header from first to the sentinel
 * validates and the sizes tile the heap exactly; each header's previous-free
 * flag matches its predecessor and every free block's footer holds its size;
 * no two free blocks are adjacent; every free block is in exactly the list
 * its size maps to, every listed block but a head names its predecessor, and
 * nothing else is listed; the bitmaps match the non-empty lists; the O(1)
 * counters match the used blocks (cached blocks are not used). Cached
 * blocks carry no free, alignment or slack bits, are never marked free in a
 * successor's previous-free flag, and each is named by exactly one slot of
 * the class its size maps to; no other block carries the cached flag; the
 * cache's byte counter matches and stays within its budget; the fast-path
 * fields equal what the configuration derives and the heads follow the
 * slots (tlsf_cache.c, tlsf_inspect.c).
 */
#include "tlsf_small.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define TLSF_MIN_REGION_BYTES 64u

/* ------------------------------------------------------------- instance key */

static uint64_t tlsf_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* New secrets from a process counter, the clock and addresses (ASLR); always
 * different from the previous key so reset invalidates every old header. The
 * key is odd, so multiplying by it is a bijection. */
static void tlsf_new_keys(MP_Tlsf *t) {
    static _Atomic uint64_t instance_counter;
    struct timespec now = {0, 0};
    (void)timespec_get(&now, TIME_UTC);
    uint64_t seed = atomic_fetch_add_explicit(&instance_counter, 1, memory_order_relaxed);
    seed = seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 30);
    seed ^= (uint64_t)(uintptr_t)t ^ ((uint64_t)(uintptr_t)&now << 13) ^ t->env.key;
    uint64_t key;
    do {
        seed += 0x9E3779B97F4A7C15ull;
        key = tlsf_mix64(seed) | 1u;
    } while (key == t->env.key);
    t->env.key = key;
}

/* ---------------------------------------------------------------- search */

/* See tlsf_hot.h. Validated into locals: a caller's *w0 and *next stay as
 * they were when nothing fits (tlsf_take_from keeps using its block). */
MP_COLD uint8_t *tlsf_find_in_own_list(const MP_Tlsf *t, const tlsf_env *e, size_t bs, unsigned fl, unsigned sl,
                                       const uint8_t *end, size_t steps, uint64_t *w0, uint32_t *next,
                                       MP_Status *why) {
    uint8_t *b = t->heads[(fl << e->sl_log2) | sl];
    *why = MP_ERR_OUT_OF_MEMORY;
    while (b != NULL) {
        uint64_t bw0;
        uint32_t bnext;
        if (steps-- == 0 || !tlsf_free_hdr_ok(e, b, &bw0, &bnext)) {
            *why = MP_ERR_CORRUPTION;
            return NULL;
        }
        size_t size = tlsf_w_bytes(bw0);
        if (size >= bs && b + size <= end) {
            *w0 = bw0;
            *next = bnext;
            return b;
        }
        b = bnext != 0 ? tlsf_block_at(e, bnext) : NULL;
    }
    return NULL;
}

MP_COLD uint8_t *tlsf_find_below_mark(const MP_Tlsf *t, const tlsf_env *e, size_t bs, uint64_t *w0, uint32_t *next,
                                      unsigned *fl, unsigned *sl) {
    if (bs < e->linear_below) return NULL; /* exact lists: the search looked at this one */
    unsigned f, s;
    tlsf_mapping(e, bs, &f, &s);
    MP_Status why; /* not reported: a damaged block or the bound, and the take grows instead */
    uint8_t *b = tlsf_find_in_own_list(t, e, bs, f, s, t->touched_end, TLSF_GROW_SCAN, w0, next, &why);
    if (b != NULL) {
        *fl = f;
        *sl = s;
    }
    return b;
}

/* ------------------------------------------------------------- allocation */

MP_COLD MP_Status tlsf_too_big(size_t req) {
    return req > SIZE_MAX - 64u ? MP_ERR_SIZE_OVERFLOW : MP_ERR_OUT_OF_MEMORY;
}

/* tlsf_take for aligned requests and realloc: one out-of-line copy. */
static MP_NOINLINE uint8_t *tlsf_take_aligned(MP_Tlsf *t, size_t req, size_t align, size_t *usable,
                                              MP_Status *why) {
    /* Two copies: realloc moves mostly blocks asked with TLSF's own
     * alignment, which then skip every alignment step. */
    if (align == 0) return tlsf_take_from(t, req, 0, TLSF_TAKE_CACHE | TLSF_TAKE_REPLACE, usable, why);
    return tlsf_take(t, req, align, usable, why);
}

/* Cold: the usable bytes of the largest block in the highest non-empty list
 * (the largest free block), for mp_last_error; stops at anything invalid. */
static MP_COLD size_t tlsf_largest_free_usable(const MP_Tlsf *t) {
    const tlsf_env *e = &t->env;
    if (t->fl_bitmap == 0) return 0;
    unsigned fl = 63u - (unsigned)__builtin_clzll(t->fl_bitmap);
    unsigned sl = 31u - (unsigned)__builtin_clz(t->sl_bitmap[fl]);
    const uint8_t *b = t->heads[(fl << e->sl_log2) | sl];
    size_t largest = 0, steps_left = t->blocks_bytes / TLSF_MIN_BLOCK_BYTES;
    while (b != NULL && steps_left-- != 0) {
        uint64_t w0;
        uint32_t next;
        if (!tlsf_free_hdr_ok(e, b, &w0, &next)) break;
        if (tlsf_w_bytes(w0) > largest) largest = tlsf_w_bytes(w0);
        b = next != 0 ? tlsf_block_at(e, next) : NULL;
    }
    return largest == 0 ? 0 : largest - TLSF_HDR_BYTES;
}

/* Cold: no free block fits `req` (align as for tlsf_take) while the cache
 * holds blocks: flushes it (coalescing them) and tries once more. */
MP_COLD uint8_t *tlsf_take_after_flush(MP_Tlsf *t, size_t req, size_t align, size_t *usable, MP_Status *why) {
    MP_Status st = tlsf_cache_flush_locked(t);
    if (st != MP_OK) {
        /* A cached block failed validation and stays cached. The take is
         * tried once more (the flush merged the blocks before the bad one),
         * and may grow the heap from now on (tlsf_cache_flush_failed): a
         * request that fits without the cache is served, as it was before
         * the high-water mark existed. */
        tlsf_cache_flush_failed(t);
        uint8_t *p = tlsf_take_aligned(t, req, align, usable, why);
        if (p == NULL) *why = st;
        return p;
    }
    return tlsf_take_aligned(t, req, align, usable, why);
}

uint8_t *tlsf_take_span(MP_Tlsf *t) {
    size_t usable;
    MP_Status why;
    uint8_t *p = tlsf_take_aligned(t, TLSF_SPAN_AREA, TLSF_SPAN_BYTES, &usable, &why);
    if (p == NULL && why == MP_ERR_OUT_OF_MEMORY && tlsf_cache_bytes(t) != 0)
        p = tlsf_take_after_flush(t, TLSF_SPAN_AREA, TLSF_SPAN_BYTES, &usable, &why);
    return p;
}

static MP_COLD void tlsf_alloc_failed(MP_Tlsf *t, MP_Status why, size_t req) {
    t->stats.failed_alloc_count++;
    /* Blocks with their headers, and whole spans instead of their slots. */
    size_t slots = 0, slot_bytes = 0;
    tlsf_small_usage(t, &slots, &slot_bytes);
    size_t used_bytes = t->stats.bytes_in_use - slot_bytes + (tlsf_live_blocks(t) - slots) * TLSF_HDR_BYTES +
                        (t->small != NULL ? t->small->span_count * TLSF_SPAN_BYTES : 0);
    mp_fail(why, req, t->blocks_bytes - used_bytes, tlsf_largest_free_usable(t));
}

/* alloc with counters; lock held. Inlined with align == 0 (the hot path);
 * other alignments (0 or a power of two > 16) take the out-of-line copy of
 * tlsf_take. `how` as for tlsf_take_from (align 0). */
MP_INLINE void *tlsf_alloc_counted_from(MP_Tlsf *t, size_t req, size_t align, unsigned how) {
    size_t usable;
    MP_Status why;
    uint8_t *p = align == 0 ? tlsf_take_from(t, req, 0, how, &usable, &why)
                            : tlsf_take_aligned(t, req, align, &usable, &why);
    if (MP_UNLIKELY(p == NULL) && why == MP_ERR_OUT_OF_MEMORY && tlsf_cache_bytes(t) != 0)
        p = tlsf_take_after_flush(t, req, align, &usable, &why);
    if (MP_UNLIKELY(p == NULL) && why == MP_ERR_OUT_OF_MEMORY && tlsf_small_release_empty(t) != 0)
        p = tlsf_take_aligned(t, req, align, &usable, &why);
    if (MP_UNLIKELY(p == NULL)) {
        tlsf_alloc_failed(t, why, req);
        return NULL;
    }
    tlsf_count_alloc(t, usable, req);
    return p;
}

/* A small request (1 .. small->max_bytes, alignment <= 16): a slot, or an
 * ordinary block when no span has room and TLSF none for a new span. */
static MP_NOINLINE void *tlsf_alloc_small_slow(MP_Tlsf *t, size_t req) {
    void *p = tlsf_small_take(t, req);
    return p != NULL ? p : tlsf_alloc_counted_from(t, req, 0, TLSF_TAKE_CACHE);
}

/* The common case of tlsf_alloc_small_slow (the class has a span with
 * room) in few registers; else that, from the start. */
static MP_NOINLINE void *tlsf_alloc_small(MP_Tlsf *t, size_t req) {
    tlsf_small *s = t->small;
    uint32_t h = s->avail[s->class_of[(req + 15u) >> 4]];
    if (MP_UNLIKELY(h == 0)) return tlsf_alloc_small_slow(t, req);
    return tlsf_small_pop(t, s, h);
}

MP_INLINE void *tlsf_alloc_counted(MP_Tlsf *t, size_t req, size_t align) {
    if (t->small != NULL && align == 0 && req - 1u < t->small->max_bytes) return tlsf_alloc_small(t, req);
    return tlsf_alloc_counted_from(t, req, align, TLSF_TAKE_CACHE);
}

static MP_NOINLINE void *tlsf_alloc_locked(MP_Tlsf *t, size_t req, size_t align) {
    mp_lock_acquire(&t->lock);
    void *p = tlsf_alloc_counted(t, req, align);
    mp_lock_release(&t->lock);
    return p;
}

/* mp_tlsf_alloc when the fast path below does not serve it: out of line,
 * so the fast path calls nothing and saves no registers. */
static MP_NOINLINE void *tlsf_alloc_slow(MP_Tlsf *t, size_t size) {
    if (MP_UNLIKELY(t == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    if (MP_UNLIKELY(t->flags & MP_FLAG_THREAD_SAFE)) return tlsf_alloc_locked(t, size, 0);
    return tlsf_alloc_counted(t, size, 0);
}

/* mp_tlsf_alloc of a request the front cache just missed cleanly
 * (tlsf_alloc_front): 1 .. fast.alloc_sizes bytes, so within
 * max_request_bytes, and the instance is not thread-safe. */
static MP_NOINLINE void *tlsf_alloc_missed(MP_Tlsf *t, size_t size) {
    return tlsf_alloc_counted_from(t, size, 0, TLSF_TAKE_REPLACE);
}

void *mp_tlsf_alloc(MP_Tlsf *t, size_t size) {
    size_t usable;
    uint8_t *p;
    bool missed = false;
    /* small_fast is 0 without spans and for a thread-safe instance. A
     * tail call: this function saves its registers after the test. */
    if (MP_LIKELY(t != NULL) && size - 1u < t->small_fast) return tlsf_alloc_small(t, size);
    /* A thread-safe instance's fast limits are 0: the fast path declines. */
    if (MP_LIKELY(t != NULL) && MP_LIKELY(size - 1u < t->fast.alloc_sizes)) {
        if (MP_LIKELY((p = tlsf_alloc_front(t, size, &usable, &missed)) != NULL)) {
            tlsf_count_alloc(t, usable, size);
            return p;
        }
        if (missed) return tlsf_alloc_missed(t, size);
    }
    return tlsf_alloc_slow(t, size);
}

void *mp_tlsf_alloc_aligned(MP_Tlsf *t, size_t size, size_t align) {
    if (MP_UNLIKELY(t == NULL)) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
        return NULL;
    }
    if (MP_UNLIKELY(!mp_is_pow2(align))) {
        TLSF_LOCK(t);
        t->stats.failed_alloc_count++;
        TLSF_UNLOCK(t);
        mp_fail(MP_ERR_ALIGNMENT, size, 0, 0);
        return NULL;
    }
    size_t a = align <= 16u ? 0 : align;
    if (t->flags & MP_FLAG_THREAD_SAFE) return tlsf_alloc_locked(t, size, a);
    return tlsf_alloc_counted(t, size, a);
}

void *mp_tlsf_calloc(MP_Tlsf *t, size_t size) {
    void *p = mp_tlsf_alloc(t, size);
    /* The whole usable size: a later in-place realloc into the slack, or a
     * reader of usable_size, sees zeros too. */
    if (p != NULL) memset(p, 0, mp_tlsf_usable_size(t, p));
    return p;
}

/* ------------------------------------------------------------------- free */

/* The merging part of tlsf_release: the used block `b` (header word w0,
 * validated successor `n` with header word nw0) has a free neighbour. On any
 * error nothing is changed. Out of line: it needs many more registers than
 * the plain free. */
MP_NOINLINE MP_Status tlsf_release_merging(MP_Tlsf *t, uint8_t *b, uint64_t w0, uint8_t *n, uint64_t nw0) {
    const tlsf_env *e = &t->env;
    uint64_t pw0 = 0;
    size_t size = tlsf_w_bytes(w0), psize = 0, nsize = 0;
    uint8_t *p = NULL;
    unsigned pfl = 0, psl = 0, nfl = 0, nsl = 0, mfl, msl;
    if (w0 & TLSF_W_PREV_FREE) {
        uint64_t psize_g = tlsf_footer_load(b);
        if (MP_UNLIKELY(psize_g < 2 || psize_g > (uint64_t)((size_t)(b - e->first) >> TLSF_GRANULE_LOG2)))
            return MP_ERR_CORRUPTION;
        psize = tlsf_bytes((uint32_t)psize_g);
        p = b - psize;
        uint32_t pnext;
        if (MP_UNLIKELY(!tlsf_hdr_load_next(e, p, &pw0, &pnext) || !(pw0 & TLSF_W_FREE) ||
                        tlsf_w_size(pw0) != psize_g || !tlsf_listed_ok(t, e, p, psize, &pfl, &psl)))
            return MP_ERR_CORRUPTION;
    }
    if (nw0 & TLSF_W_FREE) {
        nsize = tlsf_w_bytes(nw0);
        if (MP_UNLIKELY(!tlsf_listed_ok(t, e, n, nsize, &nfl, &nsl))) return MP_ERR_CORRUPTION;
    }
    uint8_t *m = p != NULL ? p : b;
    size_t msize = psize + size + nsize;
    tlsf_mapping(e, msize, &mfl, &msl);
    /* Validated; from here on nothing fails. */
    MP_POISON(b + TLSF_HDR_BYTES, size - TLSF_HDR_BYTES);
    uint64_t m_prev_free = w0 & TLSF_W_PREV_FREE;
    if (p != NULL) {
        tlsf_unlink(t, e, p, pfl, psl);
        tlsf_hdr_wipe(b);
        m_prev_free = pw0 & TLSF_W_PREV_FREE;
    }
    if (nsize != 0) {
        tlsf_unlink(t, e, n, nfl, nsl);
        tlsf_hdr_wipe(n);
    } else {
        tlsf_hdr_store(e, n, nw0 | TLSF_W_PREV_FREE);
    }
    tlsf_footer_store(m + msize, tlsf_granules(msize));
    tlsf_push(t, e, m, tlsf_granules(msize) | TLSF_W_FREE | m_prev_free, mfl, msl);
    return MP_OK;
}

MP_Status tlsf_release_block(MP_Tlsf *t, uint8_t *b, uint64_t w0, size_t *usable, size_t *requested) {
    return tlsf_release_at(t, b, w0, usable, requested);
}

/* Frees the used block at `ptr` through the coalescing path; see
 * tlsf_release_at. */
MP_INLINE MP_Status tlsf_release(MP_Tlsf *t, void *ptr, size_t *usable, size_t *requested) {
    uint8_t *b;
    uint64_t w0;
    MP_Status st = tlsf_used_block(&t->env, ptr, &b, &w0);
    if (MP_UNLIKELY(st != MP_OK)) return st;
    return tlsf_release_at(t, b, w0, usable, requested);
}

static MP_NOINLINE MP_Status tlsf_free_locked(MP_Tlsf *t, void *ptr) {
    mp_lock_acquire(&t->lock);
    uint32_t h = t->small != NULL ? tlsf_small_chunk(t->small, ptr) : 0;
    MP_Status st = h != 0 ? tlsf_small_free(t, h, ptr) : tlsf_free_counted(t, ptr);
    mp_lock_release(&t->lock);
    return st;
}

/* mp_tlsf_free when the fast path below does not serve it: out of line,
 * like tlsf_alloc_slow. */
static MP_NOINLINE MP_Status tlsf_free_slow(MP_Tlsf *t, void *ptr) {
    if (MP_UNLIKELY(t == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_Status st =
        MP_UNLIKELY(t->flags & MP_FLAG_THREAD_SAFE) ? tlsf_free_locked(t, ptr) : tlsf_free_counted(t, ptr);
    if (MP_UNLIKELY(st != MP_OK)) return mp_fail(st, 0, 0, 0);
    return MP_OK;
}

/* mp_tlsf_free of the used block `b` (header word w0) that tlsf_free_front
 * validated and the cache did not take: the coalescing free, without
 * validating the header again or asking the cache again. */
static MP_NOINLINE MP_Status tlsf_free_validated(MP_Tlsf *t, uint8_t *b, uint64_t w0) {
    size_t usable, requested;
    MP_Status st = tlsf_release_at(t, b, w0, &usable, &requested);
    if (MP_UNLIKELY(st != MP_OK)) {
        t->stats.rejected_free_count++;
        return mp_fail(st, 0, 0, 0);
    }
    tlsf_count_free(t, usable, requested);
    return MP_OK;
}

/* mp_tlsf_free of a small object of a single-threaded instance. */
static MP_NOINLINE MP_Status tlsf_free_small(MP_Tlsf *t, uint32_t h, void *ptr) {
    MP_Status st = tlsf_small_free(t, h, ptr);
    return MP_LIKELY(st == MP_OK) ? MP_OK : mp_fail(st, 0, 0, 0);
}

MP_Status mp_tlsf_free(MP_Tlsf *t, void *ptr) {
    size_t usable, requested;
    uint8_t *b;
    uint64_t w0;
    if (MP_LIKELY(t != NULL)) {
        /* small_fast: spans on and single-threaded (a thread-safe instance
         * looks its spans up under the lock, tlsf_free_locked). */
        if (t->small_fast != 0) {
            uint32_t h = tlsf_small_chunk(t->small, ptr);
            if (h != 0) return tlsf_free_small(t, h, ptr);
        }
        tlsf_front_free r = tlsf_free_front(t, ptr, &b, &w0, &usable, &requested);
        if (MP_LIKELY(r == TLSF_FREE_CACHED)) {
            tlsf_count_free(t, usable, requested);
            return MP_OK;
        }
        if (r == TLSF_FREE_VALIDATED) return tlsf_free_validated(t, b, w0);
    }
    return tlsf_free_slow(t, ptr);
}

/* See tlsf_hot.h: the cold half of the managed pool's allocation. */
tlsf_grant tlsf_alloc_owned_retry(MP_Tlsf *t, size_t req, MP_Status why) {
    tlsf_grant g = {NULL, 0};
    if (why == MP_ERR_OUT_OF_MEMORY && tlsf_cache_bytes(t) != 0)
        g.ptr = tlsf_take_after_flush(t, req, 0, &g.usable_bytes, &why);
    if (g.ptr == NULL) t->stats.failed_alloc_count++;
    return g;
}

/* ---------------------------------------------------------------- realloc */

/* Resizes the used block `b` (header word w0) to hold `req` bytes without
 * moving it, taking the next block if it is free (and must be merged anyway
 * when shrinking). MP_ERR_OUT_OF_MEMORY when it cannot grow in place;
 * nothing changes then. */
static MP_Status tlsf_resize_in_place(MP_Tlsf *t, uint8_t *b, uint64_t w0, size_t req, size_t *usable) {
    const tlsf_env *e = &t->env;
    size_t bs = tlsf_block_bytes_for(req);
    size_t size = tlsf_w_bytes(w0);
    uint64_t nw0, fw0 = 0;
    uint8_t *n = b + size;
    unsigned nfl = 0, nsl = 0, rfl = 0, rsl = 0;
    if (MP_UNLIKELY(!tlsf_used_successor_ok(e, n, &nw0))) return MP_ERR_CORRUPTION;
    size_t total = size, nsize = 0;
    uint8_t *f = n;
    if ((nw0 & TLSF_W_FREE) && bs <= size + tlsf_w_bytes(nw0)) {
        nsize = tlsf_w_bytes(nw0);
        f = n + nsize;
        if (MP_UNLIKELY(!tlsf_listed_ok(t, e, n, nsize, &nfl, &nsl))) return MP_ERR_CORRUPTION;
        total += nsize;
    }
    if (bs > total) return MP_ERR_OUT_OF_MEMORY;
    size_t rest = total - bs, new_size = total;
    if (rest < TLSF_MIN_BLOCK_BYTES && nsize != 0) {
        /* Absorbing all of the free next block clears the previous-free flag
         * of the block after it: that header must validate first. */
        if (MP_UNLIKELY(!tlsf_hdr_load(e, f, &fw0) || !(fw0 & TLSF_W_PREV_FREE))) return MP_ERR_CORRUPTION;
    }
    if (nsize != 0) {
        tlsf_unlink(t, e, n, nfl, nsl);
        tlsf_hdr_wipe(n);
    }
    if (rest >= TLSF_MIN_BLOCK_BYTES) {
        tlsf_mapping(e, rest, &rfl, &rsl);
        tlsf_footer_store(f, tlsf_granules(rest));
        if (nsize == 0) tlsf_hdr_store(e, n, nw0 | TLSF_W_PREV_FREE);
        tlsf_push(t, e, b + bs, tlsf_granules(rest) | TLSF_W_FREE, rfl, rsl);
        new_size = bs;
    } else if (nsize != 0) {
        tlsf_hdr_store(e, f, fw0 & ~TLSF_W_PREV_FREE);
    }
    if (b + new_size > t->touched_end) t->touched_end = b + new_size;
    *usable = new_size - TLSF_HDR_BYTES;
    uint64_t slack = (uint64_t)(*usable - req) << TLSF_W_SLACK_SHIFT;
    tlsf_hdr_store(e, b, (w0 & ~(TLSF_W_SIZE_MASK | TLSF_W_SLACK_MASK)) | tlsf_granules(new_size) | slack);
    if (new_size > size) {
        MP_UNPOISON(b + size, new_size - size);
    } else if (new_size < size) {
        MP_POISON(b + new_size, size - new_size);
    }
    return MP_OK;
}

/* What a realloc of a non-NULL address checks first, `st` being how the
 * address resolved: false (with *st the status to return, counted) for an
 * address that is not a live block or a request that can never fit. */
static bool tlsf_realloc_admits(MP_Tlsf *t, MP_Status *st, size_t req) {
    if (*st != MP_OK) {
        t->stats.rejected_free_count++; /* as a refused free, in every family */
        *st = mp_fail(*st, req, 0, 0);
        return false;
    }
    if (req > t->max_request_bytes) {
        *st = tlsf_too_big(req);
        tlsf_alloc_failed(t, *st, req);
        return false;
    }
    return true;
}

/* realloc of the small object `*ptr` of span `h`, lock held: stays when the
 * request maps to the same class, else moves (to a slot or a block). */
static MP_Status tlsf_realloc_small(MP_Tlsf *t, uint32_t h, void **ptr, size_t req) {
    tlsf_small *s = t->small;
    unsigned i;
    MP_Status st = tlsf_small_slot(s, h, *ptr, &i);
    if (!tlsf_realloc_admits(t, &st, req)) return st;
    unsigned c = s->spans[h - 1u].cls;
    size_t slot = s->slot_bytes[c];
    if (req - 1u < s->max_bytes && s->class_of[(req + 15u) >> 4] == c) {
        t->stats.realloc_count++;
        return MP_OK;
    }
    size_t peak = t->stats.bytes_in_use_peak;
    uint64_t failed = t->stats.failed_alloc_count;
    MP_ErrorInfo before;
    if (req <= slot) before = mp_last_error();
    void *moved = tlsf_alloc_counted(t, req, 0);
    if (moved == NULL) {
        if (req > slot) return mp_last_error().status;
        /* A smaller class or a block had no room: the object stays in its
         * slot, which holds it (as a block shrinks in place); nothing
         * failed. */
        t->stats.failed_alloc_count = failed;
        (void)mp_fail(before.status, before.requested_bytes, before.available_bytes, before.largest_free_bytes);
        t->stats.realloc_count++;
        return MP_OK;
    }
    memcpy(moved, *ptr, slot < req ? slot : req);
    (void)tlsf_small_free(t, h, *ptr); /* validated above, and a free never fails after that */
    /* A moving realloc adds no alloc and no free, and the peak sees the
     * net change only (as for blocks). */
    t->stats.alloc_count--;
    t->stats.free_count--;
    t->stats.realloc_count++;
    t->stats.bytes_in_use_peak = peak > t->stats.bytes_in_use ? peak : t->stats.bytes_in_use;
    *ptr = moved;
    return MP_OK;
}

/* realloc with the lock held; see mp_tlsf_realloc. */
static MP_Status tlsf_realloc_locked(MP_Tlsf *t, void **ptr, size_t req) {
    if (*ptr == NULL) {
        void *p = tlsf_alloc_counted(t, req, 0);
        if (p == NULL) return mp_last_error().status;
        *ptr = p;
        t->stats.realloc_count++;
        return MP_OK;
    }
    if (t->small != NULL) {
        uint32_t h = tlsf_small_chunk(t->small, *ptr);
        if (h != 0) return tlsf_realloc_small(t, h, ptr, req);
    }
    uint8_t *b = NULL; /* set when st is MP_OK (gcc cannot see that through tlsf_realloc_admits) */
    uint64_t w0 = 0;
    MP_Status st = tlsf_used_block(&t->env, *ptr, &b, &w0);
    if (!tlsf_realloc_admits(t, &st, req)) return st;
    size_t old_usable, old_requested;
    tlsf_w_sizes(w0, &old_usable, &old_requested);
    size_t new_usable, freed_usable, freed_requested;
    void *moved = NULL;
    /* Growing needs a free successor: when the successor's first word says
     * used, the in-place attempt would validate it only to find that, so it
     * is skipped (the move's release validates it instead; a damaged one
     * fails there, undone, with the same status). */
    bool skipped = tlsf_block_bytes_for(req) > tlsf_w_bytes(w0) &&
                   !(tlsf_peek64(b + tlsf_w_bytes(w0)) & TLSF_W_FREE);
    if (skipped) {
        st = MP_ERR_OUT_OF_MEMORY;
    } else {
        st = tlsf_resize_in_place(t, b, w0, req, &new_usable);
    }
    if (st == MP_ERR_OUT_OF_MEMORY) {
        /* Move, keeping the alignment the block was asked with. */
        unsigned align_log2 = (unsigned)((w0 & TLSF_W_ALIGN_MASK) >> TLSF_W_ALIGN_SHIFT);
        size_t align = align_log2 == 0 ? 0 : (size_t)1 << align_log2;
        moved = tlsf_take_aligned(t, req, align, &new_usable, &st);
        bool cached = tlsf_cache_bytes(t) != 0;
        if (moved == NULL && st == MP_ERR_OUT_OF_MEMORY && (cached || tlsf_small_has_empty(t))) {
            /* Coalescing the cache, or giving empty spans back, may free the
             * next block or make room elsewhere: both ways once more. Either
             * may have rewritten the block's header (its previous-free flag). */
            st = cached ? tlsf_cache_flush_locked(t) : MP_OK;
            if (st != MP_OK) {
                /* A cached block failed validation (see tlsf_take_after_flush):
                 * the move once more, which may now grow the heap, with b's
                 * header read again; the flush's status if that fails. */
                MP_Status bad = st;
                tlsf_cache_flush_failed(t);
                st = tlsf_used_block(&t->env, *ptr, &b, &w0);
                if (st == MP_OK) moved = tlsf_take_aligned(t, req, align, &new_usable, &st);
                if (moved == NULL) st = bad;
            } else {
                (void)tlsf_small_release_empty(t);
                st = tlsf_used_block(&t->env, *ptr, &b, &w0);
                if (st == MP_OK) st = tlsf_resize_in_place(t, b, w0, req, &new_usable);
                if (st == MP_ERR_OUT_OF_MEMORY) moved = tlsf_take_aligned(t, req, align, &new_usable, &st);
            }
        }
        if (moved == NULL && st != MP_OK) {
            /* A damaged successor is reported as the in-place attempt
             * would have reported it. */
            uint64_t nw0;
            if (skipped && st == MP_ERR_OUT_OF_MEMORY && !tlsf_used_successor_ok(&t->env, b + tlsf_w_bytes(w0), &nw0))
                return mp_fail(MP_ERR_CORRUPTION, req, 0, 0);
            tlsf_alloc_failed(t, st, req);
            return st;
        }
        if (moved != NULL) {
            memcpy(moved, *ptr, old_usable < req ? old_usable : req);
            /* b's header is as validated above (or after the flush) but for
             * one write tlsf_take makes: a block taken whole right below b
             * clears b's previous-free flag. */
            if ((uint8_t *)moved + new_usable == b) w0 &= ~TLSF_W_PREV_FREE;
            st = tlsf_release_at(t, b, w0, &freed_usable, &freed_requested);
            if (st != MP_OK) {
                /* The old block's neighbourhood failed validation: undo. */
                (void)tlsf_release(t, moved, &freed_usable, &freed_requested);
                return mp_fail(st, req, 0, 0);
            }
        }
    } else if (st != MP_OK) {
        return mp_fail(st, req, 0, 0);
    }
    t->stats.bytes_in_use = t->stats.bytes_in_use - old_usable + new_usable;
    t->stats.bytes_requested = t->stats.bytes_requested - old_requested + req;
    t->stats.realloc_count++;
    if (t->stats.bytes_in_use > t->stats.bytes_in_use_peak)
        t->stats.bytes_in_use_peak = t->stats.bytes_in_use;
    if (moved != NULL) *ptr = moved;
    return MP_OK;
}

MP_Status mp_tlsf_realloc(MP_Tlsf *t, void **ptr, size_t size) {
    if (t == NULL || ptr == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    TLSF_LOCK(t);
    MP_Status st = tlsf_realloc_locked(t, ptr, size);
    TLSF_UNLOCK(t);
    return st;
}

size_t mp_tlsf_usable_size(const MP_Tlsf *t, const void *ptr) {
    if (t == NULL) return 0;
    uint8_t *b;
    uint64_t w0;
    TLSF_LOCK(t);
    uint32_t h = t->small != NULL ? tlsf_small_chunk(t->small, ptr) : 0;
    if (h != 0) {
        unsigned i;
        size_t n = tlsf_small_slot(t->small, h, ptr, &i) == MP_OK
                       ? t->small->spans[h - 1u].slot
                       : 0;
        TLSF_UNLOCK(t);
        return n;
    }
    MP_Status st = tlsf_used_block(&t->env, ptr, &b, &w0);
    TLSF_UNLOCK(t);
    return st == MP_OK ? tlsf_w_bytes(w0) - TLSF_HDR_BYTES : 0;
}

/* ------------------------------------------------------------ life cycle */

typedef struct tlsf_layout {
    unsigned sl_log2;
    unsigned fl_count;
    unsigned cache_classes;
    size_t heads_offset; /* of the list heads in the control block, after the cache slots */
    size_t small_offset; /* of the spans' state (tlsf_small.c), after the heads */
    size_t control_bytes;
} tlsf_layout;

static MP_Status tlsf_layout_of(const MP_TlsfConfig *cfg, tlsf_layout *lay) {
    if (cfg == NULL) return MP_ERR_INVALID_ARGUMENT;
    unsigned sl_log2 = cfg->sl_log2 == 0 ? 5u : cfg->sl_log2;
    if (sl_log2 > 5u || (cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0 || cfg->small_bytes > TLSF_SMALL_MAX)
        return MP_ERR_INVALID_ARGUMENT;
    if (cfg->region_bytes < TLSF_MIN_REGION_BYTES || (uint64_t)cfg->region_bytes > TLSF_MAX_REGION_BYTES)
        return MP_ERR_INVALID_ARGUMENT;
    unsigned fl_shift = sl_log2 + TLSF_GRANULE_LOG2;
    unsigned top = mp_log2_floor(cfg->region_bytes);
    lay->sl_log2 = sl_log2;
    lay->fl_count = top < fl_shift ? 1u : top - fl_shift + 2u;
    size_t heads_bytes = ((size_t)lay->fl_count << sl_log2) * sizeof(uint8_t *);
    size_t slots_bytes = tlsf_cache_layout(sl_log2, lay->fl_count, cfg->cache_bytes, &lay->cache_classes);
    lay->heads_offset = sizeof(MP_Tlsf) + slots_bytes;
    lay->small_offset = mp_align_up(lay->heads_offset + heads_bytes, 16u);
    lay->control_bytes = lay->small_offset + tlsf_small_control_bytes(cfg->region_bytes, cfg->small_bytes);
    return MP_OK;
}

/* One free block spanning the heap, empty lists, fresh key; counters of the
 * live blocks cleared. */
static void tlsf_format(MP_Tlsf *t) {
    tlsf_new_keys(t);
    const tlsf_env *e = &t->env;
    t->fl_bitmap = 0;
    memset(t->sl_bitmap, 0, sizeof t->sl_bitmap);
    memset(t->heads, 0, ((size_t)t->fl_count << e->sl_log2) * sizeof(uint8_t *));
    memset(t->cache_count, 0, sizeof t->cache_count);
    t->cache_room_bytes = t->cache_budget_bytes;
    tlsf_small_format(t);
    MP_POISON(e->first, t->blocks_bytes + TLSF_HDR_BYTES);
    uint32_t heap_g = tlsf_granules(t->blocks_bytes);
    unsigned fl, sl;
    tlsf_hdr_store(e, e->sentinel, TLSF_W_PREV_FREE);
    tlsf_footer_store(e->sentinel, heap_g);
    tlsf_mapping(e, t->blocks_bytes, &fl, &sl);
    tlsf_push(t, e, e->first, heap_g | TLSF_W_FREE, fl, sl);
    t->retired_block_count = t->stats.alloc_count - t->stats.free_count;
    t->stats.bytes_in_use = 0;
    t->stats.bytes_in_use_peak = 0;
    t->stats.bytes_requested = 0;
}

/* Builds an instance in `control` (lay->control_bytes) over `region`. Even a
 * 64-byte region at the worst alignment keeps 48 aligned bytes: one minimum
 * block and the sentinel. */
static MP_Tlsf *tlsf_build(void *control, const tlsf_layout *lay, const MP_TlsfConfig *cfg, uint8_t *region,
                           bool owns_region, bool owns_control) {
    uintptr_t start = mp_align_up_ptr((uintptr_t)region, 16u);
    uintptr_t end = ((uintptr_t)region + cfg->region_bytes) & ~(uintptr_t)15u;
    MP_Tlsf *t = control;
    /* The spans' descriptors are written when a span is made: left
     * untouched here, so a large region's are not faulted in. */
    memset(t, 0, lay->small_offset);
    t->region = region;
    t->env.first = (uint8_t *)start;
    t->env.sentinel = (uint8_t *)(end - TLSF_HDR_BYTES);
    t->touched_end = t->grow_gate = t->env.first; /* kept by reset: the pages stay resident */
    t->blocks_bytes = (size_t)(t->env.sentinel - t->env.first);
    t->env.link_base = start - TLSF_HDR_BYTES;
    t->env.link_span = tlsf_granules(t->blocks_bytes) - 1u;
    t->max_request_bytes = t->blocks_bytes - TLSF_HDR_BYTES;
    t->env.sl_log2 = lay->sl_log2;
    t->env.fl_shift = lay->sl_log2 + TLSF_GRANULE_LOG2;
    t->env.linear_below = (size_t)1 << t->env.fl_shift;
    t->fl_count = lay->fl_count;
    t->cache_classes = lay->cache_classes;
    t->cache_budget_bytes = lay->cache_classes != 0 ? cfg->cache_bytes : 0;
    t->heads = (uint8_t **)(void *)((uint8_t *)control + lay->heads_offset);
    t->flags = cfg->flags;
    t->owns_region = owns_region;
    t->owns_control = owns_control;
    t->stats.region_bytes = cfg->region_bytes;
    tlsf_fast_derive(t, &t->fast);
    if (cfg->small_bytes != 0) tlsf_small_init(t, (uint8_t *)control + lay->small_offset, cfg->small_bytes);
    mp_lock_init(&t->lock);
    tlsf_format(t);
    return t;
}

MP_Tlsf *mp_tlsf_create_ex(const MP_TlsfConfig *cfg) {
    tlsf_layout lay;
    MP_Status st = tlsf_layout_of(cfg, &lay);
    if (st != MP_OK) {
        mp_fail(st, cfg != NULL ? cfg->region_bytes : 0, 0, 0);
        return NULL;
    }
    void *control = malloc(lay.control_bytes);
    uint8_t *region = cfg->region;
    if (control != NULL && region == NULL) region = mp_os_map(cfg->region_bytes);
    if (control == NULL || region == NULL) {
        free(control);
        mp_fail(MP_ERR_OUT_OF_MEMORY, cfg->region_bytes, 0, 0);
        return NULL;
    }
    return tlsf_build(control, &lay, cfg, region, cfg->region == NULL, true);
}

MP_Tlsf *mp_tlsf_create(size_t region_bytes) {
    MP_TlsfConfig cfg = {region_bytes, 0, 0, NULL, MP_TLSF_CACHE_DEFAULT_BYTES, 0};
    return mp_tlsf_create_ex(&cfg);
}

size_t mp_tlsf_footprint(const MP_TlsfConfig *cfg) {
    tlsf_layout lay;
    size_t total;
    if (tlsf_layout_of(cfg, &lay) != MP_OK || !mp_add_checked(lay.control_bytes, cfg->region_bytes, &total) ||
        !mp_add_checked(total, 15u, &total))
        return 0;
    return total;
}

MP_Tlsf *mp_tlsf_create_in(void *memory, size_t size, const MP_TlsfConfig *cfg) {
    size_t need = mp_tlsf_footprint(cfg);
    tlsf_layout lay;
    if (memory == NULL || need == 0 || size < need || tlsf_layout_of(cfg, &lay) != MP_OK) {
        mp_fail(MP_ERR_INVALID_ARGUMENT, need, size, 0);
        return NULL;
    }
    uint8_t *control = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, 16u);
    return tlsf_build(control, &lay, cfg, control + lay.control_bytes, false, false);
}

MP_Status mp_tlsf_reset(MP_Tlsf *t) {
    if (t == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    TLSF_LOCK(t);
    tlsf_format(t);
    TLSF_UNLOCK(t);
    return MP_OK;
}

void *mp_tlsf_base(const MP_Tlsf *t) { return t == NULL ? NULL : t->region; }

void mp_tlsf_destroy(MP_Tlsf *t) {
    if (t == NULL) return;
    /* Hand the bytes back unpoisoned: caller memory is reused by the caller. */
    TLSF_META_OPEN(t->region, t->stats.region_bytes);
    if (t->owns_region) mp_os_unmap(t->region, t->stats.region_bytes);
    if (t->owns_control) free(t);
}
