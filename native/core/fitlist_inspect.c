/*
 * fitlist_inspect.c - looking at a fit list without allocating: the O(1)
 * stats and free stats, the block walker, the consistency check and trim
 * (returning the whole pages inside free blocks to the OS). Layout and
 * invariants: fitlist.c.
 *
 * mp_fitlist_check counts, without stopping at the first: summary bits that
 * disagree with the block-start bits below them (the block walk is skipped
 * then, since it trusts them), a missing first or sentinel start bit, stray
 * bits past the sentinel, free blocks whose two free-end bits are missing,
 * free-end bits anywhere else, adjacent free blocks, used blocks whose info
 * does not decode (slack too large, a missing or needless escape, an address
 * not aligned as recorded), escape entries that name no escaping used block,
 * a broken index, index keys that are not free blocks, free blocks that
 * neither the index nor the unindexed count accounts for, and counters that
 * differ from the walk.
 */
#include "fitlist_internal.h"

MP_Status mp_fitlist_stats(const MP_FitList *f, MP_HeapStats *out) {
    if (f == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    *out = f->stats;
    fl_unlock(f);
    return MP_OK;
}

MP_Status mp_fitlist_free_stats(const MP_FitList *f, MP_FreeStats *out) {
    if (f == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_FreeStats s = {0, 0, 0, 0.0};
    fl_lock(f);
    s.free_bytes = ((size_t)f->granule_count << FL_GRANULE_SHIFT) - f->stats.bytes_in_use;
    s.free_block_count = f->free_blocks;
    s.largest_free_block_bytes = fl_largest_free(f) << FL_GRANULE_SHIFT;
    fl_unlock(f);
    if (s.free_bytes > 0) s.fragmentation = 1.0 - (double)s.largest_free_block_bytes / (double)s.free_bytes;
    *out = s;
    return MP_OK;
}

MP_Status mp_fitlist_walk(const MP_FitList *f, MP_WalkFn fn, void *ctx) {
    if (f == NULL || fn == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_lock(f);
    for (size_t g = 0, next; g < f->granule_count; g = next) {
        next = fl_next_start(f, g + 1);
        if (fn(fl_ptr(f, g), (next - g) << FL_GRANULE_SHIFT, !fl_is_free_end(f, g), ctx) != 0) break;
    }
    fl_unlock(f);
    return MP_OK;
}

void *mp_fitlist_base(const MP_FitList *f) { return f ? f->base : NULL; }

/* ------------------------------------------------------------------- trim */

typedef struct fl_trim_ctx {
    const MP_FitList *f;
    size_t released_bytes;
} fl_trim_ctx;

static int fl_release_free_pages(uint32_t start, uint32_t size, void *ctx) {
    fl_trim_ctx *t = ctx;
    t->released_bytes += mp_os_release_pages(fl_ptr(t->f, start), (size_t)size << FL_GRANULE_SHIFT);
    return 0;
}

MP_Status mp_fitlist_trim(MP_FitList *f, size_t *released_bytes) {
    if (f == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    fl_trim_ctx t = {f, 0};
    fl_lock(f);
    /* Only memory we mapped goes back to the OS; caller memory is theirs. */
    if (f->region_kind == FL_REGION_MAPPED) {
        if (f->unindexed == 0)
            mp_fit_index_visit(&f->index, fl_release_free_pages, &t);
        else
            fl_scan_free(f, fl_release_free_pages, &t);
    }
    fl_unlock(f);
    if (released_bytes != NULL) *released_bytes = t.released_bytes;
    return MP_OK;
}

/* ------------------------------------------------------------------ check */

/* Summary levels against the level below, and stray bits past the sentinel. */
static size_t fl_check_bitsets(const MP_FitList *f) {
    size_t v = 0;
    for (unsigned k = 0; k < f->summary_levels; k++) {
        size_t below = k == 0 ? f->group_count : f->summary_words[k - 1];
        for (size_t w = 0; w < f->summary_words[k]; w++) {
            uint64_t expect = 0;
            for (size_t i = 0; i < 64 && (w << 6) + i < below; i++) {
                size_t j = (w << 6) + i;
                bool set = k > 0 ? f->summary[k - 1][j] != 0 : fl_ready(f, j << 6) && f->groups[j].starts != 0;
                expect |= (uint64_t)set << i;
            }
            if (f->summary[k][w] != expect) v++;
        }
    }
    size_t past = (size_t)f->granule_count + 1;
    const fl_group *last = &f->groups[f->group_count - 1];
    if ((past & 63) != 0 && ((last->starts | last->free_ends) >> (past & 63)) != 0) v++;
    if (!fl_is_start(f, 0) || !fl_is_start(f, f->granule_count) || fl_is_free_end(f, f->granule_count)) v++;
    if (f->groups_ready > f->end_groups || f->end_groups != (f->granule_count - 1u) >> 6) v++;
    return v;
}

typedef struct fl_walk_sum {
    MP_HeapStats stats;
    size_t free_blocks;
    size_t free_end_bits;
} fl_walk_sum;

/* Violations in the info of the used block [g, g + n). */
static size_t fl_check_used(const MP_FitList *f, size_t g, size_t n, fl_walk_sum *sum) {
    size_t v = 0;
    unsigned esc = 0;
    bool escaped = fl_escape_find(&f->escapes, g, &esc);
    fl_info in = fl_info_read(f, g, n);
    if (n >= 2 && (fl_nib(f, g + 1) == FL_ALIGN_ESCAPED) != escaped) v++;
    if (escaped && !fl_info_escapes(n, in)) v++;
    if (in.slack > (n == 1 ? FL_GRANULE_BYTES : FL_GRANULE_BYTES - 1)) v++;
    if (in.align_log2 < FL_GRANULE_SHIFT || in.align_log2 >= sizeof(uintptr_t) * 8 ||
        ((uintptr_t)fl_ptr(f, g) & (((uintptr_t)1 << in.align_log2) - 1)) != 0)
        v++;
    sum->stats.bytes_in_use += n << FL_GRANULE_SHIFT;
    sum->stats.bytes_requested += (n << FL_GRANULE_SHIFT) - in.slack;
    sum->stats.live_block_count++;
    return v;
}

/* Walks the blocks; counts violations of the tiling and of each block. */
static size_t fl_check_blocks(const MP_FitList *f, fl_walk_sum *sum) {
    size_t v = 0;
    bool prev_free = false;
    for (size_t g = 0, next; g < f->granule_count; g = next) {
        next = fl_next_start(f, g + 1);
        size_t n = next - g;
        bool is_free = fl_is_free_end(f, g);
        if (is_free) {
            if (!fl_is_free_end(f, next - 1) || prev_free) v++;
            sum->free_blocks++;
            sum->free_end_bits += n == 1 ? 1 : 2;
        } else {
            if (fl_is_free_end(f, next - 1)) v++;
            v += fl_check_used(f, g, n, sum);
        }
        prev_free = is_free;
    }
    size_t bits = 0;
    for (size_t w = 0; w < f->group_count; w++) {
        if (w == f->groups_ready) w = f->end_groups; /* uninitialised groups hold no bit */
        bits += (size_t)__builtin_popcountll(f->groups[w].free_ends);
    }
    if (bits != sum->free_end_bits) v++;
    return v;
}

typedef struct fl_key_check {
    const MP_FitList *f;
    size_t violations;
    size_t escapes; /* entries seen */
} fl_key_check;

/* An index key must name a free block exactly. */
static int fl_check_key(uint32_t start, uint32_t size, void *ctx) {
    fl_key_check *c = ctx;
    const MP_FitList *f = c->f;
    if (start >= f->granule_count || !fl_is_start(f, start) || !fl_is_free_end(f, start) ||
        fl_block_size(f, start) != size)
        c->violations++;
    return 0;
}

/* An escape entry must name a used block whose info escapes. */
static int fl_check_escape(size_t g, unsigned info, void *ctx) {
    fl_key_check *c = ctx;
    const MP_FitList *f = c->f;
    c->escapes++;
    if (g >= f->granule_count || !fl_is_start(f, g) || fl_is_free_end(f, g)) {
        c->violations++;
        return 0;
    }
    fl_info in = {info & FL_ESC_SLACK_MASK, info >> FL_ESC_ALIGN_SHIFT};
    if (!fl_info_escapes(fl_block_size(f, g), in)) c->violations++;
    return 0;
}

size_t mp_fitlist_check(const MP_FitList *f) {
    if (f == NULL) return 1;
    fl_lock(f);
    size_t v = fl_check_bitsets(f);
    fl_walk_sum sum;
    memset(&sum, 0, sizeof sum);
    if (v == 0) v += fl_check_blocks(f, &sum);
    size_t index_violations = mp_fit_index_check(&f->index);
    v += index_violations;
    fl_key_check keys = {f, 0, 0};
    if (v == 0) {
        mp_fit_index_visit(&f->index, fl_check_key, &keys);
        fl_escape_visit(&f->escapes, fl_check_escape, &keys);
        if (keys.escapes != f->escapes.count || (size_t)f->escapes.count * 2 > f->escapes.capacity) v++;
    }
    v += keys.violations;
    if (f->index.key_count + f->unindexed != sum.free_blocks || f->free_blocks != sum.free_blocks) v++;
    if (sum.stats.bytes_in_use != f->stats.bytes_in_use) v++;
    if (sum.stats.bytes_requested != f->stats.bytes_requested) v++;
    if (sum.stats.live_block_count != f->stats.live_block_count) v++;
    if (f->stats.bytes_in_use_peak < f->stats.bytes_in_use) v++;
    if (f->stats.region_bytes != (size_t)f->granule_count << FL_GRANULE_SHIFT) v++;
    fl_unlock(f);
    return v;
}
