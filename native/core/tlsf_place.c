/*
 * tlsf_place.c - placement primitive for compaction (mp_pool): slide a used
 * TLSF block down over the free block right below it.
 *
 * Layout before and after (P free, B used, N the physical successor of B,
 * d the distance slid, a multiple of the alignment asked for):
 *   before: [P: free, L bytes          ][B: hdr|payload ][N ...]
 *   after:  [rest: free, L - d][B': hdr|payload ][F: free, d (+ N if free)]
 * B keeps its size, flags and slack (so its usable size and its owner's
 * charge do not change); P shrinks to its remainder (gone when d = L) and the
 * d bytes B left merge with N when N is free. Cost O(1): two or three list
 * unlinks and pushes, a few header writes and one memmove of the payload
 * bytes the caller still needs; no search, no split of another block.
 *
 * Hostile writes: as everywhere in TLSF, every header, footer and link this
 * touches is validated before anything is written (P's footer leads to a
 * valid free header of exactly that size that sits in its list; B and N
 * validate as in free); a failed validation returns MP_ERR_CORRUPTION and
 * changes nothing, so the caller's block stays where it was, intact.
 *
 * Sanitizers: the destination bytes that are not part of B's payload are
 * opened before the memmove (only those: under valgrind opening marks bytes
 * undefined, which would lose the definedness of overlapping user bytes),
 * and the bytes B leaves are poisoned after it, as free payload.
 *
 * mp_tlsf_pack_move is the same slide for a pass in pack mode that keeps
 * the free space between moves unwritten (see "the packer" below).
 *
 * The invariants mp_tlsf_check verifies hold after every slide: the blocks
 * still tile the heap, no two free blocks are adjacent (the remainder of P
 * is followed by B, F by a used block or the sentinel), every free block is
 * listed under its size, the counters are unchanged.
 */
#include "tlsf_internal.h"

/* Writes the header of the free block `b` (word w0) and lists it, or, with
 * the lists detached, writes its header with an empty next link only. */
static void tlsf_put_free(MP_Tlsf *t, uint8_t *b, uint64_t w0, unsigned fl, unsigned sl) {
    if (t->lists_detached)
        tlsf_free_hdr_store(&t->env, b, w0, 0);
    else
        tlsf_push(t, &t->env, b, w0, fl, sl);
}

/* The distance a block may slide over `free_bytes` of free space below it
 * keeping its alignment (`align` 0 or a power of two >= 16) and leaving no
 * free remainder smaller than a minimum block; 0 if none. */
static size_t tlsf_slide_distance(size_t free_bytes, size_t align) {
    if (align <= 16u) return free_bytes;
    size_t d = free_bytes & ~(align - 1u);
    size_t rest = free_bytes - d;
    if (rest != 0 && rest < TLSF_MIN_BLOCK_BYTES) d = d >= align ? d - align : 0;
    return d;
}

/* The free block right below the block at `b` (whose header says PREV_FREE),
 * found through the footer before `b` and validated as a free block of
 * exactly the footer's size (*pw0: its header word, *psize: its bytes);
 * NULL if it does not validate. */
static uint8_t *tlsf_free_below(const tlsf_env *e, uint8_t *b, uint64_t *pw0, size_t *psize) {
    uint64_t psize_g = tlsf_footer_load(b);
    if (psize_g < 2 || psize_g > (uint64_t)((size_t)(b - e->first) >> TLSF_GRANULE_LOG2)) return NULL;
    *psize = tlsf_bytes((uint32_t)psize_g);
    uint8_t *p = b - *psize;
    uint32_t pnext;
    if (!tlsf_hdr_load_next(e, p, pw0, &pnext) || !(*pw0 & TLSF_W_FREE) || tlsf_w_size(*pw0) != psize_g)
        return NULL;
    return p;
}

MP_Status mp_tlsf_slide_down(MP_Tlsf *t, void *ptr, size_t align, size_t copy_bytes, void **moved_to) {
    const tlsf_env *e = &t->env;
    uint8_t *b;
    uint64_t w0, nw0, pw0 = 0;
    *moved_to = ptr;
    if (tlsf_used_block(e, ptr, &b, &w0) != MP_OK) return MP_ERR_CORRUPTION;
    if (!(w0 & TLSF_W_PREV_FREE)) return MP_OK; /* nothing free right below */
    size_t size = tlsf_w_bytes(w0);
    if (copy_bytes > size - TLSF_HDR_BYTES) return MP_ERR_INVALID_ARGUMENT;
    uint8_t *n = b + size;
    if (!tlsf_used_successor_ok(e, n, &nw0)) return MP_ERR_CORRUPTION;
    /* P: the free block the footer before B names; it must validate as a
     * free block of exactly that size and sit in its list. */
    size_t psize;
    uint8_t *p = tlsf_free_below(e, b, &pw0, &psize);
    unsigned pfl = 0, psl = 0, nfl = 0, nsl = 0, ffl, fsl;
    bool listed = !t->lists_detached;
    if (p == NULL || (listed && !tlsf_listed_ok(t, e, p, psize, &pfl, &psl))) return MP_ERR_CORRUPTION;
    size_t nsize = 0;
    if (nw0 & TLSF_W_FREE) {
        nsize = tlsf_w_bytes(nw0);
        if (listed && !tlsf_listed_ok(t, e, n, nsize, &nfl, &nsl)) return MP_ERR_CORRUPTION;
    }
    size_t d = tlsf_slide_distance(psize, align);
    if (d == 0) return MP_OK;
    size_t rest = psize - d, fsize = d + nsize;
    uint8_t *nb = p + rest, *f = nb + size;
    tlsf_mapping(e, fsize, &ffl, &fsl);
    /* Validated; from here on nothing fails. */
    if (listed) tlsf_unlink(t, e, p, pfl, psl);
    if (nsize != 0) {
        if (listed) tlsf_unlink(t, e, n, nfl, nsl);
        tlsf_hdr_wipe(n);
    }
    uint8_t *dst = nb + TLSF_HDR_BYTES, *src = b + TLSF_HDR_BYTES;
    size_t usable = size - TLSF_HDR_BYTES;
    /* B's old header lies in its new payload: wiped first (so it never
     * validates again, even where the copy does not overwrite it). */
    tlsf_hdr_wipe(b);
    MP_UNPOISON(dst, (size_t)(src - dst) < usable ? (size_t)(src - dst) : usable);
    memmove(dst, src, copy_bytes);
    MP_POISON(f, d);
    uint64_t prev_free = pw0 & TLSF_W_PREV_FREE;
    if (rest != 0) {
        unsigned rfl, rsl;
        tlsf_mapping(e, rest, &rfl, &rsl);
        tlsf_footer_store(nb, tlsf_granules(rest));
        tlsf_put_free(t, p, tlsf_granules(rest) | TLSF_W_FREE | prev_free, rfl, rsl);
        prev_free = TLSF_W_PREV_FREE;
    }
    tlsf_hdr_store(e, nb, (w0 & ~TLSF_W_PREV_FREE) | prev_free);
    if (nsize == 0) tlsf_hdr_store(e, n, nw0 | TLSF_W_PREV_FREE);
    tlsf_footer_store(f + fsize, tlsf_granules(fsize));
    tlsf_put_free(t, f, tlsf_granules(fsize) | TLSF_W_FREE, ffl, fsl);
    *moved_to = dst;
    return MP_OK;
}

/* ------------------------------------------------------------ the packer */

/* The pass's hole: between moves, the free space below the next block is
 * kept in the packer and written once, when a block that does not start
 * right above it comes or the run ends, instead of a free header and footer
 * per move that the next move reads back and validates again. Everything
 * else is as in mp_tlsf_slide_down: the block and its successor are
 * validated before anything is written, the block's old header is wiped
 * before the copy, the destination bytes that are not payload are opened
 * and the bytes it leaves are poisoned as free payload. While the hole is
 * unwritten, the block right above it (validated when the last block moved)
 * keeps PREV_FREE 0; a free successor that joins the hole has its header
 * wiped (the used block above it already says PREV_FREE). */

void mp_tlsf_pack_flush(MP_Tlsf *t, tlsf_packer *pk) {
    if (pk->hole == NULL) return;
    const tlsf_env *e = &t->env;
    uint8_t *above = pk->hole + pk->hole_bytes;
    uint32_t g = tlsf_granules(pk->hole_bytes);
    tlsf_footer_store(above, g);
    tlsf_free_hdr_store(e, pk->hole, g | TLSF_W_FREE | pk->hole_prev, 0); /* lists detached */
    if (pk->above_learns) tlsf_hdr_store(e, above, pk->above_w0 | TLSF_W_PREV_FREE);
    mp_tlsf_packer_init(pk);
}

MP_Status mp_tlsf_pack_move(MP_Tlsf *t, tlsf_packer *pk, void *ptr, size_t copy_bytes, void **moved_to) {
    const tlsf_env *e = &t->env;
    uint8_t *b;
    uint64_t w0, nw0;
    *moved_to = ptr;
    if (tlsf_used_block(e, ptr, &b, &w0) != MP_OK) return MP_ERR_CORRUPTION;
    size_t size = tlsf_w_bytes(w0);
    if (copy_bytes > size - TLSF_HDR_BYTES) return MP_ERR_INVALID_ARGUMENT;
    uint8_t *n = b + size;
    if (!tlsf_used_successor_ok(e, n, &nw0)) return MP_ERR_CORRUPTION;
    if (pk->hole != NULL && pk->hole + pk->hole_bytes != b) mp_tlsf_pack_flush(t, pk);
    if (pk->hole == NULL) {
        if (!(w0 & TLSF_W_PREV_FREE)) return MP_OK; /* nothing free right below */
        uint64_t pw0;
        size_t psize;
        uint8_t *p = tlsf_free_below(e, b, &pw0, &psize);
        if (p == NULL) return MP_ERR_CORRUPTION;
        pk->hole = p;
        pk->hole_bytes = psize;
        pk->hole_prev = pw0 & TLSF_W_PREV_FREE;
    }
    /* Validated; from here on nothing fails. */
    size_t d = pk->hole_bytes, nsize = (nw0 & TLSF_W_FREE) ? tlsf_w_bytes(nw0) : 0;
    uint8_t *nb = pk->hole, *dst = nb + TLSF_HDR_BYTES, *src = b + TLSF_HDR_BYTES;
    size_t usable = size - TLSF_HDR_BYTES;
    if (nsize != 0) tlsf_hdr_wipe(n);
    tlsf_hdr_wipe(b);
    MP_UNPOISON(dst, d < usable ? d : usable);
    memmove(dst, src, copy_bytes);
    MP_POISON(nb + size, d);
    tlsf_hdr_store(e, nb, (w0 & ~TLSF_W_PREV_FREE) | pk->hole_prev);
    pk->hole = nb + size;
    pk->hole_bytes = d + nsize;
    pk->hole_prev = 0;
    pk->above_w0 = nw0;
    pk->above_learns = nsize == 0;
    *moved_to = dst;
    return MP_OK;
}

MP_Status mp_tlsf_pack_begin(MP_Tlsf *t, MP_FreeStats *before) {
    /* mp_tlsf_pack_end must be able to list every free block again: a header
     * it would stop at is refused now, before anything is detached. (Free
     * blocks past it would stay unlisted with their old links, which still
     * name each other: a later merge with one would follow them.) The flush
     * after the walk writes only headers it derives from validated ones. */
    const tlsf_env *e = &t->env;
    MP_FreeStats fs = {0, 0, 0, 0.0};
    for (uint8_t *b = e->first; b < e->sentinel;) {
        uint64_t w0;
        uint32_t next;
        if (!tlsf_hdr_load_next(e, b, &w0, &next) || !tlsf_fits_heap(e, b, tlsf_w_size(w0)))
            return MP_ERR_CORRUPTION;
        tlsf_free_stats_add(&fs, w0);
        b += tlsf_w_bytes(w0);
    }
    if (tlsf_cache_flush(t) != MP_OK) return MP_ERR_CORRUPTION;
    if (before != NULL) *before = fs;
    t->fl_bitmap = 0;
    memset(t->sl_bitmap, 0, sizeof t->sl_bitmap);
    memset(t->heads, 0, ((size_t)t->fl_count << t->env.sl_log2) * sizeof(uint8_t *));
    t->lists_detached = true;
    return MP_OK;
}

MP_Status mp_tlsf_pack_end(MP_Tlsf *t, MP_FreeStats *after) {
    const tlsf_env *e = &t->env;
    MP_FreeStats fs = {0, 0, 0, 0.0};
    t->lists_detached = false;
    for (uint8_t *b = e->first; b < e->sentinel;) {
        uint64_t w0;
        uint32_t next;
        if (!tlsf_hdr_load_next(e, b, &w0, &next) || !tlsf_fits_heap(e, b, tlsf_w_size(w0)))
            return MP_ERR_CORRUPTION;
        if (w0 & TLSF_W_FREE) {
            unsigned fl, sl;
            tlsf_mapping(e, tlsf_w_bytes(w0), &fl, &sl);
            tlsf_push(t, e, b, w0, fl, sl);
            tlsf_free_stats_add(&fs, w0);
        }
        b += tlsf_w_bytes(w0);
    }
    if (after != NULL) *after = fs;
    return MP_OK;
}
