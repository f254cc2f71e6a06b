/*
 * tlsf_inspect.c - looking at a TLSF heap without allocating: O(1) stats,
 * the walk-based free statistics, the block walker, the consistency check and
 * trim (returning the whole pages inside free blocks to the OS).
 *
 * Everything here walks the blocks in address order from `first` to the
 * sentinel (layout in tlsf.c) and validates each header before using its
 * size, so a corrupted heap yields MP_ERR_CORRUPTION (or a violation count
 * from mp_tlsf_check), never a read outside the heap.
 *
 * mp_tlsf_check counts, without stopping at the first: invalid headers (the
 * physical walk ends there), header bits no header may carry, wrong
 * previous-free flags, free blocks whose footer does not hold their size,
 * adjacent free blocks, flags a free block must not carry, misaligned aligned
 * blocks, a heap not ending exactly at a valid sentinel, counters that differ
 * from the used blocks (an instance whose pool keeps the counters,
 * TLSF_FLAG_OWNER_COUNTS, must have them all 0 instead), list heads that
 * disagree with the bitmaps, listed blocks that are not valid free blocks of
 * that list or whose back links are wrong, cycles, a number of listed blocks
 * different from the free blocks, and the front cache's invariants
 * (tlsf_cache.c).
 *
 * Blocks held by the front cache are free for every observer here: free_stats
 * and walk report them as free; trim flushes the cache first.
 */
#include "tlsf_small.h"

/* Called for each block in address order with its validated header word;
 * returns non-zero to stop. */
typedef int (*tlsf_visit_fn)(uint8_t *b, uint64_t w0, void *ctx);

/* Walks every block; MP_ERR_CORRUPTION if a header fails validation, leaves
 * the heap, or contradicts its predecessor's free flag. */
static MP_Status tlsf_walk_blocks(const MP_Tlsf *t, tlsf_visit_fn visit, void *ctx) {
    const tlsf_env *e = &t->env;
    uint8_t *b = e->first;
    uint64_t prev_free = 0;
    while (b != e->sentinel) {
        uint64_t w0;
        if (!tlsf_hdr_load(e, b, &w0) || !tlsf_fits_heap(e, b, tlsf_w_size(w0)) ||
            (w0 & TLSF_W_PREV_FREE) != prev_free || ((w0 & TLSF_W_SPAN) && !tlsf_small_span_ok(t, b, w0)))
            return MP_ERR_CORRUPTION;
        if (visit(b, w0, ctx) != 0) return MP_OK;
        prev_free = (w0 & TLSF_W_FREE) != 0 ? TLSF_W_PREV_FREE : 0;
        b += tlsf_w_bytes(w0);
    }
    return MP_OK;
}

MP_INLINE bool tlsf_is_free(uint64_t w0) { return (w0 & TLSF_W_FREE) != 0; }

/* ------------------------------------------------------------------ stats */

MP_Status mp_tlsf_stats(const MP_Tlsf *t, MP_HeapStats *out) {
    if (t == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    TLSF_LOCK(t);
    *out = t->stats;
    out->live_block_count = tlsf_live_blocks(t);
    TLSF_UNLOCK(t);
    return MP_OK;
}

typedef struct tlsf_free_walk {
    const MP_Tlsf *t;
    MP_FreeStats fs;
} tlsf_free_walk;

/* Free and cached blocks, and the free slots of spans. */
static int tlsf_add_free_stats(uint8_t *b, uint64_t w0, void *ctx) {
    tlsf_free_walk *fw = ctx;
    if (w0 & TLSF_W_SPAN) {
        tlsf_small_free_stats_add(fw->t, b, &fw->fs);
    } else {
        tlsf_free_stats_add(&fw->fs, w0);
    }
    return 0;
}

MP_Status mp_tlsf_free_stats(const MP_Tlsf *t, MP_FreeStats *out) {
    if (t == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    tlsf_free_walk fw = {t, {0, 0, 0, 0.0}};
    TLSF_LOCK(t);
    MP_Status st = tlsf_walk_blocks(t, tlsf_add_free_stats, &fw);
    MP_FreeStats fs = fw.fs;
    TLSF_UNLOCK(t);
    if (st != MP_OK) return mp_fail(st, 0, 0, 0);
    if (fs.free_bytes != 0)
        fs.fragmentation = 1.0 - (double)fs.largest_free_block_bytes / (double)fs.free_bytes;
    *out = fs;
    return MP_OK;
}

/* ------------------------------------------------------------------- walk */

typedef struct tlsf_user_walk {
    const MP_Tlsf *t;
    MP_WalkFn fn;
    void *ctx;
} tlsf_user_walk;

/* A span is reported as its slots (its header and the bytes after its
 * last slot are not). */
static int tlsf_call_user(uint8_t *b, uint64_t w0, void *ctx) {
    const tlsf_user_walk *w = ctx;
    if (w0 & TLSF_W_SPAN) return tlsf_small_walk_span(w->t, b, w->fn, w->ctx);
    return w->fn(b + TLSF_HDR_BYTES, tlsf_w_bytes(w0) - TLSF_HDR_BYTES, !tlsf_is_unused(w0), w->ctx);
}

/* The lock of a thread-safe instance is held during the walk: `fn` must not
 * call into the same instance. */
MP_Status mp_tlsf_walk(const MP_Tlsf *t, MP_WalkFn fn, void *ctx) {
    if (t == NULL || fn == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    tlsf_user_walk w = {t, fn, ctx};
    TLSF_LOCK(t);
    MP_Status st = tlsf_walk_blocks(t, tlsf_call_user, &w);
    TLSF_UNLOCK(t);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

/* ------------------------------------------------------------------- trim */

typedef struct tlsf_trim_state {
    size_t released_bytes;
    const uint8_t *sentinel;
    uint8_t *top_free; /* the free block below the sentinel, if there is one */
} tlsf_trim_state;

/* Releases the pages strictly inside a free block's payload between its
 * links and its footer: header, links and footer stay, so the block stays
 * valid. */
static int tlsf_trim_block(uint8_t *b, uint64_t w0, void *ctx) {
    tlsf_trim_state *ts = ctx;
    size_t size = tlsf_w_bytes(w0);
    if (tlsf_is_free(w0) && b + size == ts->sentinel) ts->top_free = b;
    if (tlsf_is_free(w0) && size > TLSF_MIN_BLOCK_BYTES) {
        uint8_t *from = b + TLSF_PREV_OFFSET + 4u;
        size_t n = size - TLSF_MIN_BLOCK_BYTES; /* up to the footer */
        ts->released_bytes += mp_os_release_pages(from, n);
        MP_POISON(from, n); /* valgrind treats released pages as fresh */
    }
    return 0;
}

MP_Status mp_tlsf_trim(MP_Tlsf *t, size_t *released_bytes) {
    if (t == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    tlsf_trim_state ts = {0, t->env.sentinel, NULL};
    MP_Status st = MP_OK;
    TLSF_LOCK(t);
    st = tlsf_cache_flush_locked(t);
    if (st == MP_OK) (void)tlsf_small_release_empty(t);
    if (st == MP_OK && t->owns_region) st = tlsf_walk_blocks(t, tlsf_trim_block, &ts);
    /* The top free block's pages went back to the OS: the high-water mark
     * comes down to it, so the cache is flushed again before they are
     * touched anew. */
    if (st == MP_OK && ts.top_free != NULL && ts.top_free < t->touched_end)
        t->touched_end = t->grow_gate = ts.top_free;
    TLSF_UNLOCK(t);
    if (released_bytes != NULL) *released_bytes = ts.released_bytes;
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

/* ------------------------------------------------------------------ check */

typedef struct tlsf_tally {
    size_t used_blocks, free_blocks, in_use_bytes, requested_bytes, spans;
} tlsf_tally;

/* Bits of the first header word that no header may carry. */
#define TLSF_W_UNUSED_BITS                                                                                   \
    (~(TLSF_W_SIZE_MASK | TLSF_W_FREE | TLSF_W_PREV_FREE | TLSF_W_ALIGN_MASK | TLSF_W_SLACK_MASK |      \
       TLSF_W_CACHED | TLSF_W_SPAN))

/* Physical walk of check(): counts violations, fills the tally. */
static size_t tlsf_check_blocks(const MP_Tlsf *t, tlsf_tally *tally) {
    const tlsf_env *e = &t->env;
    size_t bad = 0;
    uint8_t *b = e->first;
    bool prev_free = false;
    while (b != e->sentinel) {
        uint64_t w0;
        if (!tlsf_hdr_load(e, b, &w0) || !tlsf_fits_heap(e, b, tlsf_w_size(w0))) return bad + 1;
        bool is_free = tlsf_is_free(w0);
        size_t size = tlsf_w_bytes(w0), usable = size - TLSF_HDR_BYTES;
        if (w0 & TLSF_W_UNUSED_BITS) bad++;
        if (((w0 & TLSF_W_PREV_FREE) != 0) != prev_free) bad++;
        if (!is_free && b + size > t->touched_end) bad++; /* in use above the high-water mark */
        if (w0 & TLSF_W_SPAN) {
            /* Its slots count as blocks (a small object counts its slot as
             * requested bytes too). */
            size_t before = tally->in_use_bytes;
            if (w0 & (TLSF_W_FREE | TLSF_W_CACHED)) bad++;
            bad += tlsf_small_span_tally(t, b, w0, &tally->used_blocks, &tally->in_use_bytes);
            tally->requested_bytes += tally->in_use_bytes - before;
            tally->spans++;
        } else if (is_free) {
            tally->free_blocks++;
            if (prev_free) bad++;
            if (w0 & (TLSF_W_ALIGN_MASK | TLSF_W_SLACK_MASK | TLSF_W_CACHED)) bad++;
            if (tlsf_footer_load(b + size) != tlsf_w_size(w0)) bad++;
        } else if (!(w0 & TLSF_W_CACHED)) { /* cached blocks: tlsf_cache_check */
            size_t slack = (size_t)((w0 & TLSF_W_SLACK_MASK) >> TLSF_W_SLACK_SHIFT);
            unsigned align_log2 = (unsigned)((w0 & TLSF_W_ALIGN_MASK) >> TLSF_W_ALIGN_SHIFT);
            if (slack > usable) bad++;
            if (((uintptr_t)(b + TLSF_HDR_BYTES) & (((uintptr_t)1 << align_log2) - 1u)) != 0) bad++;
            tally->used_blocks++;
            tally->in_use_bytes += usable;
            tally->requested_bytes += usable - slack;
        }
        prev_free = is_free;
        b += size;
    }
    uint64_t s;
    if (!tlsf_hdr_load(e, b, &s) || tlsf_w_size(s) != 0 || (s & TLSF_W_FREE) || (s & TLSF_W_UNUSED_BITS) ||
        ((s & TLSF_W_PREV_FREE) != 0) != prev_free)
        bad++;
    return bad;
}

/* Walks one free list; counts violations, adds its length to *listed. Next
 * links are authenticated by the header tags; previous links are checked for
 * every block but the head, which keeps none (see tlsf.c). */
static size_t tlsf_check_list(const MP_Tlsf *t, unsigned idx, size_t *listed) {
    const tlsf_env *e = &t->env;
    size_t bad = 0, limit = t->blocks_bytes / TLSF_MIN_BLOCK_BYTES + 1;
    const uint8_t *b = t->heads[idx];
    uint32_t prev = 0;
    while (b != NULL) {
        uint64_t w0;
        uint32_t next;
        if (*listed >= limit || !tlsf_in_heap(e, (uintptr_t)b) || !tlsf_free_hdr_ok(e, b, &w0, &next))
            return bad + 1;
        if (tlsf_list_index(e, tlsf_w_bytes(w0)) != idx) bad++;
        if (prev != 0 && tlsf_prev_load(b) != prev) bad++;
        if (next != 0 && !tlsf_index_ok(e, next)) return bad + 1;
        (*listed)++;
        prev = tlsf_index_of(e, b);
        b = next != 0 ? tlsf_block_at(e, next) : NULL;
    }
    return bad;
}

size_t tlsf_check_counting(const MP_Tlsf *t, size_t *used_blocks, size_t *usable_bytes) {
    TLSF_LOCK(t);
    size_t bad = 0;
    const tlsf_env *e = &t->env;
    if (((uintptr_t)e->first & 15u) != 0 || ((uintptr_t)e->sentinel & 15u) != 0 ||
        (size_t)(e->sentinel - e->first) != t->blocks_bytes || t->touched_end < e->first ||
        t->touched_end > e->sentinel || t->grow_gate < e->first || t->grow_gate > e->sentinel ||
        e->link_base + TLSF_HDR_BYTES != (uintptr_t)e->first ||
        (e->key & 1u) == 0 || e->fl_shift != e->sl_log2 + TLSF_GRANULE_LOG2 ||
        e->linear_below != (size_t)1 << e->fl_shift ||
        t->heads != (uint8_t **)(void *)&t->cache_slots[t->cache_classes * TLSF_CACHE_DEPTH])
        bad++;
    tlsf_tally tally = {0, 0, 0, 0, 0};
    size_t bad_blocks = tlsf_check_blocks(t, &tally);
    bad += bad_blocks;
    if (bad_blocks == 0) bad += tlsf_small_check(t, tally.spans);
    *used_blocks = tally.used_blocks;
    *usable_bytes = tally.in_use_bytes;
    /* An instance whose pool keeps the counters has none to compare
     * (mp_pool_check compares the pool's with *used_blocks, *usable_bytes). */
    bool counted = (t->flags & TLSF_FLAG_OWNER_COUNTS) == 0;
    if (bad_blocks == 0 && counted) {
        if (tally.in_use_bytes != t->stats.bytes_in_use) bad++;
        if (tally.requested_bytes != t->stats.bytes_requested) bad++;
        if (tally.used_blocks != tlsf_live_blocks(t)) bad++;
    }
    if (t->stats.bytes_in_use_peak < t->stats.bytes_in_use) bad++;
    if (!counted && (t->stats.bytes_in_use | t->stats.bytes_requested | t->stats.bytes_in_use_peak |
                     t->stats.alloc_count | t->stats.free_count) != 0)
        bad++;
    size_t listed = 0;
    unsigned sl_count = 1u << e->sl_log2;
    for (unsigned fl = 0; fl < TLSF_MAX_FL; fl++) {
        uint32_t sl_map = t->sl_bitmap[fl];
        if ((sl_map != 0) != (((t->fl_bitmap >> fl) & 1u) != 0)) bad++;
        if (fl >= t->fl_count) {
            if (sl_map != 0) bad++;
            continue;
        }
        if (sl_count < 32u && (sl_map >> sl_count) != 0) bad++;
        for (unsigned sl = 0; sl < sl_count; sl++) {
            unsigned idx = (fl << e->sl_log2) | sl;
            if ((t->heads[idx] != NULL) != (((sl_map >> sl) & 1u) != 0)) bad++;
            bad += tlsf_check_list(t, idx, &listed);
        }
    }
    if ((t->fl_bitmap >> TLSF_MAX_FL) != 0) bad++;
    if (bad_blocks == 0 && listed != tally.free_blocks) bad++;
    bad += tlsf_cache_check(t);
    TLSF_UNLOCK(t);
    return bad;
}

size_t mp_tlsf_check(const MP_Tlsf *t) {
    size_t used_blocks, usable_bytes;
    return t == NULL ? 1 : tlsf_check_counting(t, &used_blocks, &usable_bytes);
}
