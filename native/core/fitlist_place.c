/*
 * fitlist_place.c - placement primitive for compaction (mp_pool): slide a
 * used fit-list block down over the free block right below it. The same for
 * every policy: placement policy decides where new blocks go, a slide only
 * shifts an existing one.
 *
 * Layout, in granules (L the left free block, d the distance slid: the
 * largest multiple of the block's alignment, in granules, not above L):
 *   before: [lo: free, L        ][g: used, n ][hi: free R, or used ...]
 *   after:  [lo: free, L - d][g - d: used, n][g - d + n: free, d (+ R)]
 * The block keeps its size and info (slack, alignment), so its usable size
 * does not change; the left free block shrinks (gone when d = L); the d
 * granules the block left merge with a free right neighbour. Cost: the
 * bitmap edits of a free (starts with their summaries, free ends, info
 * nibbles) and two index updates, O(log free blocks), plus one memmove of
 * the bytes the caller still needs.
 *
 * All metadata is out of band and owned by the allocator, so nothing read
 * here can have been overwritten through a block; the one check is that
 * `ptr` starts a used block. The invariants mp_fitlist_check verifies hold
 * after every slide (tiling, free ends, no adjacent free blocks, index plus
 * unindexed count = free blocks, info, counters unchanged).
 */
#include "fitlist_internal.h"

MP_Status mp_fitlist_slide_down(MP_FitList *f, void *ptr, size_t align, size_t copy_bytes, void **moved_to) {
    uintptr_t a = (uintptr_t)ptr, base = (uintptr_t)f->base;
    *moved_to = ptr;
    if (a < base || ((a - base) & (FL_GRANULE_BYTES - 1)) != 0 || (a - base) >> FL_GRANULE_SHIFT >= f->granule_count)
        return MP_ERR_INVALID_ADDRESS;
    size_t g = (a - base) >> FL_GRANULE_SHIFT;
    if (!fl_ready(f, g) || !fl_is_start(f, g) || fl_is_free_end(f, g)) return MP_ERR_INVALID_ADDRESS;
    if (g == 0 || !fl_is_free_end(f, g - 1)) return MP_OK; /* nothing free right below */
    size_t n = fl_block_size(f, g);
    if (copy_bytes > n << FL_GRANULE_SHIFT) return MP_ERR_INVALID_ARGUMENT;
    size_t lo = fl_prev_start(f, g - 1), left = g - lo;
    size_t step = align > FL_GRANULE_BYTES ? align >> FL_GRANULE_SHIFT : 1;
    size_t d = left - left % step;
    if (d == 0) return MP_OK;
    size_t hi = g + n, rest = left - d, ng = g - d;
    bool right = hi < f->granule_count && fl_is_free_end(f, hi);
    size_t right_size = right ? fl_block_size(f, hi) : 0;
    fl_info in = fl_info_read(f, g, n);
    /* Index: the left block shrinks or goes, the freed tail joins the right
     * neighbour's key or gets its own. */
    if (rest != 0)
        fl_ix_move(f, lo, left, lo, rest);
    else
        fl_ix_del(f, lo, left);
    if (right)
        fl_ix_move(f, hi, right_size, ng + n, d + right_size);
    else
        fl_ix_add(f, ng + n, d);
    if (rest == 0 && right) f->free_blocks--;
    if (rest != 0 && !right) f->free_blocks++;
    /* Bitmaps: old boundaries out, new ones in (a start may be both). */
    fl_group *gr = f->groups;
    gr[lo >> 6].free_ends &= ~fl_bitmask(lo);
    gr[(g - 1) >> 6].free_ends &= ~fl_bitmask(g - 1);
    if (right) {
        gr[hi >> 6].free_ends &= ~fl_bitmask(hi);
        fl_start_clear(f, hi);
    }
    fl_start_clear(f, g);
    if (rest == 0) fl_start_clear(f, lo);
    fl_start_set(f, ng);
    fl_start_set(f, ng + n);
    if (rest != 0) {
        gr[lo >> 6].free_ends |= fl_bitmask(lo);
        gr[(ng - 1) >> 6].free_ends |= fl_bitmask(ng - 1);
    }
    size_t tail_end = hi + right_size - 1;
    gr[(ng + n) >> 6].free_ends |= fl_bitmask(ng + n);
    gr[tail_end >> 6].free_ends |= fl_bitmask(tail_end);
    fl_info_drop(f, g, n);
    fl_info_write(f, ng, n, in);
    /* Payload: open the destination bytes outside the block, move, close
     * what the block left. */
    uint8_t *dst = fl_ptr(f, ng);
    size_t block_bytes = n << FL_GRANULE_SHIFT, gap = d << FL_GRANULE_SHIFT;
    MP_UNPOISON(dst, gap < block_bytes ? gap : block_bytes);
    memmove(dst, ptr, copy_bytes);
    MP_POISON(dst + block_bytes, gap);
    *moved_to = dst;
    return MP_OK;
}
