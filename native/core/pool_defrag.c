/*
 * pool_defrag.c - compaction of a managed pool.
 *
 * Algorithm. A pass sorts the live blocks by address and visits them from
 * the lowest up. Pinned blocks stay. For every other block it asks the
 * block's backend for a new block of the same request (alignment included):
 *   - jump: if the new block lies below the old one, the contents are copied
 *     (the two never overlap: both are live), the old block is freed and the
 *     slot points to the new one;
 *   - slide (address-ordered backends, i.e. first fit, only): if no lower
 *     hole holds the block but free space lies right below it, the block is
 *     bounced: copied to a block wherever one fits, its old place freed (so
 *     it merges with the space below), then copied back into the lowest hole
 *     that now fits, at or below the end of the blocks already visited.
 *     Every step allocates before it frees, so contents are never at risk,
 *     even if a backend behaves unexpectedly (the block then stays where the
 *     bounce left it).
 * Otherwise the trial block is freed and the block stays. A move is taken
 * only if the new block has the same usable size, so owner charges never
 * change. With first fit, visiting blocks in address order this way packs
 * every unpinned block against the blocks below it: full compaction. Other
 * backends place new blocks by their own policy (TLSF by size class, buddy
 * by order, slab by partial slab); a block moves only if that place is
 * lower, which is the best their public API allows.
 *
 * Budget. A pass stops before the next movable block once `budget_bytes`
 * were copied (a slide costs two copies) and remembers that address; the
 * next budgeted pass resumes there. Unbudgeted passes (and automatic ones)
 * start from the lowest block.
 *
 * Every moved block bumps relocation_count: offsets from mp_pool_locate are
 * valid while that counter is unchanged.
 */
#include "pool_internal.h"

#include <stdlib.h>

/* Outcome of one attempted move. */
typedef enum pool_move { POOL_MOVE_NONE, POOL_MOVE_DONE, POOL_MOVE_FAILED } pool_move;

/* Moves the block of `s` into a new block of its backend, if one is available
 * with the same usable size and, when `lower_only`, a lower address. */
static pool_move pool_try_move(MP_Pool *p, pool_slot *s, bool lower_only, size_t *bytes_moved) {
    size_t request = s->size_bytes < p->min_block_bytes ? p->min_block_bytes : s->size_bytes;
    uint8_t *dst = pool_be_alloc(p, s->backend, request);
    if (dst == NULL) return POOL_MOVE_NONE;
    if ((lower_only && dst >= s->ptr) || pool_be_usable_fresh(p, s->backend, dst) != s->usable_bytes) {
        return pool_be_free(p, s->backend, dst) == MP_OK ? POOL_MOVE_NONE : POOL_MOVE_FAILED;
    }
    memcpy(dst, s->ptr, s->size_bytes);
    if (pool_be_free(p, s->backend, s->ptr) != MP_OK) {
        (void)pool_be_free(p, s->backend, dst);
        return POOL_MOVE_FAILED;
    }
    s->ptr = dst;
    *bytes_moved += s->size_bytes;
    return POOL_MOVE_DONE;
}

MP_Status pool_defrag_locked(MP_Pool *p, size_t budget_bytes, bool from_start, MP_DefragResult *out) {
    pool_free_figures before = {0, 0, 0, 0.0};
    if (out != NULL) pool_free_figures_get(p, &before);
    size_t n;
    pool_block_ref *e = pool_sorted_blocks(p, &n);
    if (e == NULL && n != 0) return MP_ERR_OUT_OF_MEMORY;
    uintptr_t cursor = (from_start || budget_bytes == 0) ? 0 : p->defrag_cursor;
    /* End of the highest block visited so far, per backend: free space lies
     * right below a block that starts above it. */
    uintptr_t visited_end[POOL_MAX_BACKENDS];
    for (unsigned b = 0; b < p->backend_count; b++) visited_end[b] = (uintptr_t)p->backends[b].lo;
    size_t bytes_moved = 0, blocks_moved = 0;
    bool complete = true;
    MP_Status st = MP_OK;
    for (size_t i = 0; i < n; i++) {
        pool_slot *s = &p->slots[e[i].slot];
        unsigned bi = s->backend;
        uint8_t *old = s->ptr;
        if (e[i].addr >= cursor && !(s->state & POOL_SLOT_PINNED)) {
            if (budget_bytes != 0 && bytes_moved >= budget_bytes) {
                complete = false;
                p->defrag_cursor = e[i].addr;
                break;
            }
            pool_move m = pool_try_move(p, s, true, &bytes_moved);
            if (m == POOL_MOVE_NONE && p->backends[bi].address_ordered && (uintptr_t)old > visited_end[bi]) {
                m = pool_try_move(p, s, false, &bytes_moved);
                if (m == POOL_MOVE_DONE && pool_try_move(p, s, true, &bytes_moved) == POOL_MOVE_FAILED)
                    m = POOL_MOVE_FAILED;
            }
            if (s->ptr != old) blocks_moved++;
            if (m == POOL_MOVE_FAILED) {
                st = MP_ERR_CORRUPTION;
                complete = false;
                break;
            }
        }
        /* A block the bounce left higher leaves its old place free. */
        uintptr_t end = (uintptr_t)s->ptr + s->usable_bytes;
        if (s->ptr <= old && end > visited_end[bi]) visited_end[bi] = end;
    }
    free(e);
    if (complete) p->defrag_cursor = 0;
    p->defrag_count++;
    p->relocation_count += blocks_moved;
    p->bytes_moved_total += bytes_moved;
    if (out != NULL) {
        pool_free_figures after;
        pool_free_figures_get(p, &after);
        out->bytes_moved = bytes_moved;
        out->blocks_moved = blocks_moved;
        out->fragmentation_before = before.fragmentation;
        out->fragmentation_after = after.fragmentation;
        out->complete = complete;
    }
    return st;
}

MP_Status mp_pool_defragment(MP_Pool *pool, size_t budget_bytes, MP_DefragResult *out) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    MP_DefragResult result;
    pool_lock(pool);
    MP_Status st = pool_defrag_locked(pool, budget_bytes, false, &result);
    pool_unlock(pool);
    if (st != MP_OK) return mp_fail(st, 0, 0, 0);
    if (out != NULL) *out = result;
    return MP_OK;
}
