/*
 * pool_defrag.c - compaction of a managed pool.
 *
 * Algorithm. A pass takes the live blocks sorted by address and packs each
 * backend with the placement primitive of its family (the *_place.c files),
 * which put a block exactly where the compactor wants it without an alloc,
 * a free or a search:
 *   - TLSF and fit list (first, best and worst fit alike): blocks are
 *     visited from the lowest up and every unpinned one slides down over the
 *     free block right below it (mp_tlsf_slide_down, mp_fitlist_slide_down),
 *     so it ends against the block before it, kept or packed (TLSF with an
 *     alignment up to 16 keeps the free space between moves unwritten:
 *     mp_tlsf_pack_move); pinned blocks
 *     stay and the next block packs against them. One visit per block
 *     leaves each run of blocks between pinned ones contiguous and the free
 *     space of the backend in one block at its end (and one below every
 *     pinned block it could not fill). With an alignment above 16 a block
 *     slides by whole alignment steps only, so gaps below one step remain.
 *   - Buddy: a block of order k can only sit at a multiple of 2^k units, so
 *     sweeps move every unpinned block into the lowest free block of its
 *     order or larger below it (mp_buddy_move_lower), orders ascending and
 *     addresses ascending within an order, until a sweep moves nothing. The
 *     fixed point, with nothing pinned, is the buddy optimum: at most one
 *     free block per order (see buddy_place.c).
 *   - Slab: consolidation. Per class, with `live` slots of which some sit in
 *     slabs with pinned slots: the slabs with pinned slots are kept, then the
 *     fullest others (lower address on ties) until ceil(live / slots per
 *     slab) are kept; every slot of the other slabs moves into free slots of
 *     the kept ones (mp_slab_move_into) and its slab is released when it
 *     empties. Classes whose slot alignment is below the pool's alignment are
 *     left alone (a move could misalign a block).
 * AUTO packs its three backends (slab, TLSF, buddy slices) in turn.
 *
 * Charges. Every primitive keeps the block's size (TLSF block, fit-list
 * granules, buddy order, slab class), so usable_bytes and the owners'
 * charges never change during compaction; only `ptr` changes.
 *
 * Contents. Each primitive validates all it will touch before it writes and
 * copies the block's requested bytes to the new place before the old one is
 * given up; if a primitive reports an error nothing was changed for that
 * block, the slot still names its intact block, and the pass stops with
 * MP_ERR_CORRUPTION (the moves already made are counted).
 *
 * Budget. A pass stops before the next block once `budget_bytes` were copied
 * (so it copies at most one block more) and remembers where (backend, buddy
 * order and sweep state, address); the next budgeted pass resumes there.
 * Slab consolidation recomputes its plan on every pass (blocks already moved
 * sit in kept slabs), so it needs no position. Unbudgeted and automatic
 * passes start from the beginning. A pass that reaches the end reports
 * complete and clears the position.
 *
 * Cost: O(n) for the sort (radix), O(1) per TLSF slide, O(log free blocks)
 * per fit-list slide, O(blocks) per order per buddy sweep, O(slots / 64) per
 * slab move, plus the bytes copied. Every moved block bumps
 * relocation_count: offsets from mp_pool_locate are valid while that counter
 * is unchanged.
 */
#include "buddy_internal.h"
#include "fitlist_internal.h"
#include "pool_internal.h"
#include "slab_internal.h"

#include <stdlib.h>

/* One pass in progress. */
typedef struct pool_pass {
    MP_Pool *p;
    size_t budget_bytes; /* 0 = none */
    size_t bytes_moved;
    size_t blocks_moved;
    pool_block_ref *refs; /* live blocks by address (as of the last sort) */
    size_t n;
    pool_defrag_resume at; /* where the pass is */
    MP_Status st;
    /* A pool over one TLSF backend with figures asked for: the pass's two
     * walks of the heap (mp_tlsf_pack_begin/_end) fill them, instead of two
     * more walks around the pass; `have_*` once they did. */
    MP_FreeStats *tlsf_before, *tlsf_after;
    bool have_before, have_after;
} pool_pass;

/* True if the budget is used up: the pass stops before the block at `addr`. */
static bool pool_pass_spent(pool_pass *pp, uintptr_t addr) {
    if (pp->budget_bytes == 0 || pp->bytes_moved < pp->budget_bytes) return false;
    pp->at.addr = addr;
    return true;
}

/* Accounts for one primitive call on slot `s`, whose block holds `size`
 * requested bytes; false on error (the pass
 * stops with MP_ERR_CORRUPTION; the slot still names its intact block). */
static bool pool_pass_took(pool_pass *pp, pool_slot *s, size_t size, MP_Status st, void *to) {
    if (st != MP_OK) {
        pp->st = MP_ERR_CORRUPTION;
        return false;
    }
    if ((uint8_t *)to != s->ptr) {
        s->ptr = to;
        pp->bytes_moved += size;
        pp->blocks_moved++;
        pp->at.sweep_moved = true;
    }
    return true;
}

/* The slot of ref `i` if it belongs to backend `bi` and may move. */
static pool_slot *pool_pass_movable(const pool_pass *pp, size_t i, unsigned bi) {
    pool_slot *s = &pp->p->slots[pp->refs[i].slot];
    return pool_backend_of(pp->p, s->ptr) == bi && !pool_info_pinned(pool_info_of(pp->p, s)) ? s : NULL;
}

/* ------------------------------------------------------ TLSF and fit list */

/* Slides every unpinned block of backend `bi` at or above pp->at.addr down;
 * false if the pass stops here (budget or error). */
static bool pool_slide_all(pool_pass *pp, unsigned bi) {
    const pool_backend *be = &pp->p->backends[bi];
    size_t align = pp->p->alignment;
    /* TLSF in pack mode with blocks that slide over all the free space below
     * them: the packer keeps that space unwritten between moves. */
    bool packer = be->kind == POOL_BE_TLSF && align <= 16u;
    tlsf_packer pk;
    mp_tlsf_packer_init(&pk);
    bool go_on = true;
    for (size_t i = 0; i < pp->n && go_on; i++) {
        pool_slot *s = pool_pass_movable(pp, i, bi);
        if (s == NULL || pp->refs[i].addr < pp->at.addr) continue;
        if (pool_pass_spent(pp, pp->refs[i].addr)) {
            go_on = false;
            break;
        }
        void *to;
        size_t size, usable;
        if (!pool_slot_sizes(pp->p, pp->refs[i].slot, &size, &usable)) {
            pp->st = MP_ERR_CORRUPTION;
            go_on = false;
            break;
        }
        MP_Status st = packer ? mp_tlsf_pack_move(be->u.tlsf, &pk, s->ptr, size, &to)
                       : be->kind == POOL_BE_TLSF ? mp_tlsf_slide_down(be->u.tlsf, s->ptr, align, size, &to)
                                                  : mp_fitlist_slide_down(be->u.fitlist, s->ptr, align, size, &to);
        go_on = pool_pass_took(pp, s, size, st, to);
    }
    if (packer) mp_tlsf_pack_flush(be->u.tlsf, &pk);
    return go_on;
}

/* pool_slide_all; TLSF runs it in pack mode: cache flushed, lists detached
 * during the slides and rebuilt by one walk after them (tlsf_place.c). */
static bool pool_pack_slide(pool_pass *pp, unsigned bi) {
    const pool_backend *be = &pp->p->backends[bi];
    if (be->kind != POOL_BE_TLSF) return pool_slide_all(pp, bi);
    /* pack_begin also merges the cached blocks (they look used to their
     * neighbours), so the space they hold is free space the blocks above can
     * slide into. */
    if (mp_tlsf_pack_begin(be->u.tlsf, pp->tlsf_before) != MP_OK) {
        pp->st = MP_ERR_CORRUPTION;
        return false;
    }
    pp->have_before = pp->tlsf_before != NULL;
    bool go_on = pool_slide_all(pp, bi);
    if (mp_tlsf_pack_end(be->u.tlsf, pp->tlsf_after) != MP_OK) {
        pp->st = MP_ERR_CORRUPTION;
        return false;
    }
    pp->have_after = pp->tlsf_after != NULL;
    return go_on;
}

/* -------------------------------------------------------------------- buddy */

/* Sweeps backend `bi` (a buddy) until a sweep moves nothing; false if the
 * pass stops here (budget, error, no memory for a sort). */
static bool pool_pack_buddy(pool_pass *pp, unsigned bi) {
    MP_Buddy *b = pp->p->backends[bi].u.buddy;
    /* Cached blocks are tagged free but listed nowhere: merge them first. */
    mp_buddy_flush_cache(b);
    for (;;) {
        uint32_t orders = 0;
        for (size_t i = 0; i < pp->n; i++) {
            pool_slot *s = pool_pass_movable(pp, i, bi);
            if (s != NULL) orders |= 1u << (mp_log2_floor(pool_info_usable(pool_info_of(pp->p, s))) - b->min_log2);
        }
        buddy_packer pk;
        mp_buddy_packer_init(&pk);
        for (unsigned o = pp->at.order; o < MP_BUDDY_MAX_ORDERS; o++) {
            if (!(orders >> o & 1u)) continue;
            for (size_t i = 0; i < pp->n; i++) {
                pool_slot *s = pool_pass_movable(pp, i, bi);
                if (s == NULL || mp_log2_floor(pool_info_usable(pool_info_of(pp->p, s))) - b->min_log2 != o ||
                    (o == pp->at.order && pp->refs[i].addr < pp->at.addr))
                    continue;
                if (pool_pass_spent(pp, pp->refs[i].addr)) {
                    pp->at.order = o;
                    return false;
                }
                void *to;
                size_t size = pool_info_of(pp->p, s)->size_bytes; /* a buddy's pool keeps it */
                MP_Status st = mp_buddy_move_lower(b, &pk, s->ptr, pp->p->alignment, size, &to);
                if (!pool_pass_took(pp, s, size, st, to)) return false;
            }
        }
        pp->at.order = 0;
        pp->at.addr = 0;
        if (!pp->at.sweep_moved) return true;
        pp->at.sweep_moved = false;
        free(pp->refs); /* addresses changed: sort again for the next sweep */
        pp->refs = pool_sorted_blocks(pp->p, &pp->n);
        if (pp->refs == NULL && pp->n != 0) {
            pp->st = MP_ERR_OUT_OF_MEMORY;
            return false;
        }
    }
}

/* --------------------------------------------------------------------- slab */

/* One slab of the backend that holds live blocks. */
typedef struct pool_slab_rec {
    uint32_t idx;     /* slab index */
    uint32_t cls;     /* its class */
    uint32_t live;    /* live blocks in it */
    uint32_t pinned;  /* 1 if one of them is pinned */
    size_t first;     /* index of its first block in the sorted refs */
} pool_slab_rec;

/* Keep order within a class: slabs with pinned blocks, then the fullest,
 * then the lowest. */
static int pool_slab_rec_cmp(const void *a, const void *b) {
    const pool_slab_rec *x = a, *y = b;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    if (x->pinned != y->pinned) return x->pinned > y->pinned ? -1 : 1;
    if (x->live != y->live) return x->live > y->live ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Moves the blocks of the slabs [from, to) of one class into the kept slabs
 * [keep, keep_end); false if the pass stops (budget or error). */
static bool pool_slab_drain(pool_pass *pp, MP_Slab *sl, unsigned bi, const pool_slab_rec *r, size_t from,
                            size_t to, size_t keep_end) {
    size_t t = 0;
    for (size_t j = from; j < to; j++) {
        for (size_t i = r[j].first; i < pp->n; i++) {
            pool_slot *s = &pp->p->slots[pp->refs[i].slot];
            /* Sorted by address: the slab's blocks are contiguous, and any
             * other backend's blocks lie outside the slab slice. */
            if (pool_backend_of(pp->p, s->ptr) != bi || (uint32_t)((s->ptr - sl->base) >> sl->slab_shift) != r[j].idx)
                break;
            void *moved = s->ptr;
            size_t size = pool_info_of(pp->p, s)->size_bytes; /* a slab's pool keeps it */
            while (moved == s->ptr && t < keep_end) {
                if (pool_pass_spent(pp, pp->refs[i].addr)) return false;
                MP_Status st = mp_slab_move_into(sl, s->ptr, r[t].idx, size, &moved);
                if (st != MP_OK) return pool_pass_took(pp, s, size, st, moved);
                if (moved == s->ptr) t++; /* that kept slab is full */
            }
            if (!pool_pass_took(pp, s, size, MP_OK, moved)) return false;
        }
    }
    return true;
}

/* Consolidates every class of backend `bi` (a slab); false if the pass
 * stops here. */
static bool pool_pack_slab(pool_pass *pp, unsigned bi) {
    MP_Slab *sl = pp->p->backends[bi].u.slab;
    mp_slab_compact_prepare(sl);
    pool_slab_rec *r = malloc((pp->n + 1) * sizeof *r);
    if (r == NULL) {
        pp->st = MP_ERR_OUT_OF_MEMORY;
        return false;
    }
    size_t m = 0;
    for (size_t i = 0; i < pp->n; i++) {
        const pool_slot *s = &pp->p->slots[pp->refs[i].slot];
        if (pool_backend_of(pp->p, s->ptr) != bi) continue;
        uint32_t idx = (uint32_t)((s->ptr - sl->base) >> sl->slab_shift);
        if (m == 0 || r[m - 1].idx != idx) r[m++] = (pool_slab_rec){idx, slab_cls(sl, idx), 0, 0, i};
        r[m - 1].live++;
        r[m - 1].pinned |= pool_info_pinned(pool_info_of(pp->p, s)) ? 1u : 0u;
    }
    qsort(r, m, sizeof *r, pool_slab_rec_cmp);
    bool go_on = true;
    for (size_t c0 = 0, c1; c0 < m && go_on; c0 = c1) {
        size_t live = 0, pinned = 0;
        for (c1 = c0; c1 < m && r[c1].cls == r[c0].cls; c1++) {
            live += r[c1].live;
            pinned += r[c1].pinned;
        }
        const slab_class *k = &sl->classes[r[c0].cls];
        size_t keep = (live + k->slots_per_slab - 1) / k->slots_per_slab;
        if (keep < pinned) keep = pinned;
        if (k->align_bytes < pp->p->alignment || c0 + keep >= c1) continue;
        go_on = pool_slab_drain(pp, sl, bi, r + c0, keep, c1 - c0, keep);
    }
    free(r);
    return go_on;
}

/* ------------------------------------------------------------------- a pass */

/* Free figures from one TLSF backend's walk (fragmentation computed here). */
static pool_free_figures pool_figures_of(const MP_FreeStats *fs) {
    pool_free_figures f = {fs->free_bytes, fs->free_block_count, fs->largest_free_block_bytes, 0.0};
    if (f.free_bytes != 0) f.fragmentation = 1.0 - (double)f.largest_free_block_bytes / (double)f.free_bytes;
    return f;
}

MP_Status pool_defrag_locked(MP_Pool *p, size_t budget_bytes, bool from_start, MP_DefragResult *out) {
    pool_free_figures before = {0, 0, 0, 0.0};
    pool_pass pp = {.p = p, .budget_bytes = budget_bytes, .st = MP_OK};
    MP_FreeStats tlsf_before, tlsf_after;
    /* One TLSF backend: its pass walks the whole heap before it moves
     * anything and after it moved everything, and reports the figures then. */
    if (out != NULL && p->backend_count == 1 && p->backends[0].kind == POOL_BE_TLSF) {
        pp.tlsf_before = &tlsf_before;
        pp.tlsf_after = &tlsf_after;
    } else if (out != NULL) {
        pool_free_figures_get(p, &before);
    }
    pp.refs = pool_sorted_blocks(p, &pp.n);
    if (pp.refs == NULL && pp.n != 0) return MP_ERR_OUT_OF_MEMORY;
    if (!from_start && budget_bytes != 0) pp.at = p->defrag_resume;
    bool complete = true;
    for (unsigned bi = pp.at.backend; bi < p->backend_count && complete; bi++) {
        if (bi != pp.at.backend) pp.at = (pool_defrag_resume){0, bi, 0, false};
        switch (p->backends[bi].kind) {
        case POOL_BE_TLSF:
        case POOL_BE_FITLIST:
            complete = pool_pack_slide(&pp, bi);
            break;
        case POOL_BE_BUDDY:
            complete = pool_pack_buddy(&pp, bi);
            break;
        case POOL_BE_SLAB:
            complete = pool_pack_slab(&pp, bi);
            break;
        }
    }
    free(pp.refs);
    p->defrag_resume = complete || pp.st != MP_OK ? (pool_defrag_resume){0, 0, 0, false} : pp.at;
    /* A pass refused before it moved anything (corruption found up front)
     * changes nothing, its count included. */
    if (pp.st == MP_OK || pp.blocks_moved != 0) p->defrag_count++;
    p->relocation_count += pp.blocks_moved;
    p->bytes_moved_total += pp.bytes_moved;
    if (out != NULL) {
        pool_free_figures after;
        /* A pass refused up front moved nothing: the figures of now are those
         * of before (and a walk stopped by corruption reports what it saw). */
        if (pp.have_before)
            before = pool_figures_of(&tlsf_before);
        else if (pp.tlsf_before != NULL)
            pool_free_figures_get(p, &before);
        if (pp.have_after)
            after = pool_figures_of(&tlsf_after);
        else
            pool_free_figures_get(p, &after);
        out->bytes_moved = pp.bytes_moved;
        out->blocks_moved = pp.blocks_moved;
        out->fragmentation_before = before.fragmentation;
        out->fragmentation_after = after.fragmentation;
        out->complete = complete;
    }
    return pp.st;
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

/* What the automatic passes did and how many blocks every pass moved. */
uint64_t mp_pool_last_auto_defrag(const MP_Pool *pool, MP_DefragResult *out) {
    if (pool == NULL) {
        if (out != NULL) memset(out, 0, sizeof *out);
        return 0;
    }
    pool_lock(pool);
    uint64_t n = pool->auto_defrag_count;
    if (out != NULL) *out = pool->last_auto_defrag;
    pool_unlock(pool);
    return n;
}

uint64_t mp_pool_relocation_count(const MP_Pool *pool) {
    if (pool == NULL) return 0;
    pool_lock(pool);
    uint64_t n = pool->relocation_count;
    pool_unlock(pool);
    return n;
}
