/*
 * slab_place.c - placement primitive for compaction (mp_pool): move a live
 * slot into a chosen slab of its class.
 *
 * Slab compaction is consolidation: slots of a class all have one size, so
 * there are no holes to close inside a slab, only slabs that hold few live
 * slots. The compactor (pool_defrag.c) picks, per class, the slabs to keep
 * (those with pinned slots, then the fullest) and moves every slot of the
 * others into free slots of the kept ones; a slab whose last slot leaves is
 * released at once (to the class's spare, else to the region's pool, where
 * any class can take it). Afterwards a class with `live` slots uses
 * ceil(live / slots_per_slab) slabs, unless pinned slots hold more.
 *
 * A move takes a free slot of the destination (a freed slot from its L0
 * bitmap; in the active slab also its next never-carved slot, keeping the
 * class's cursor on the word being carved), marks it live with the source's
 * requested size, copies, and gives the source slot straight back to its
 * slab's bitmap (not the class's cache, so an emptied slab goes at once).
 * States follow the rules of slab.c: a PARTIAL destination counts one more
 * slot out and becomes FULL (off the partial list) when none is left; the
 * ACTIVE one counts frees only. Counters: a move is neither an alloc nor a
 * free (counted in realloc_moves, as slab.c's moving realloc) and does not
 * touch the peak. The checked invariants (mp_slab_check) hold after every
 * move. Metadata is out of band, so nothing read here comes from user bytes.
 */
#include "slab_internal.h"

void mp_slab_compact_prepare(MP_Slab *s) {
    mp_slab_flush_caches(s);
}

/* A free slot of slab `idx` (class `k`) taken out of its bitmap, or
 * SLAB_NONE if the slab has none (or is not ACTIVE or PARTIAL). */
static uint32_t slab_place_take(MP_Slab *s, slab_class *k, uint32_t idx) {
    slab_desc *d = slab_desc_of(s, idx);
    if (d->state != SLAB_ACTIVE && d->state != SLAB_PARTIAL) return SLAB_NONE;
    uint64_t *l0 = slab_l0(s, idx, k);
    uint32_t slot = SLAB_NONE;
    for (uint32_t w = 0; w < k->l0_words; w++) {
        if (l0[w] != 0) {
            slot = w * 64 + slab_ctz64(l0[w]);
            l0[w] &= l0[w] - 1;
            break;
        }
    }
    if (slot == SLAB_NONE) {
        /* Never-carved slots remain only in the active slab; carving one
         * keeps the cursor on the word being carved. */
        if (d->state != SLAB_ACTIVE || d->carved >= k->slots_per_slab || s->ctor != NULL) return SLAB_NONE;
        slot = d->carved++;
        if (slot % 64 == 0) mp_slab_set_cursor(s, k, idx, slot / 64);
    }
    if (d->state == SLAB_PARTIAL && ++d->until_event == k->slots_per_slab) {
        mp_slab_unlink_partial(s, k, d);
        d->state = SLAB_FULL;
        d->until_event = 1;
    }
    return slot;
}

MP_Status mp_slab_move_into(MP_Slab *s, void *ptr, uint32_t dst_idx, size_t copy_bytes, void **moved_to) {
    uint32_t idx, slot;
    *moved_to = ptr;
    if (mp_slab_locate(s, ptr, &idx, &slot) != MP_OK) return MP_ERR_INVALID_ADDRESS;
    slab_class *k = &s->classes[slab_cls(s, idx)];
    if (dst_idx >= s->fresh_next || slab_cls(s, dst_idx) != slab_cls(s, idx) || copy_bytes > k->slot_bytes)
        return MP_ERR_INVALID_ARGUMENT;
    if (dst_idx == idx) return MP_OK;
    uint32_t to = slab_place_take(s, k, dst_idx);
    if (to == SLAB_NONE) return MP_OK;
    uint64_t from_at = slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, slot);
    uint64_t to_at = slab_entry_at(slab_sizes(s, dst_idx, k), k->size_width_log2, to);
    slab_entry_set(to_at, k->free_mark, slab_entry_get(from_at, k->free_mark));
    uint8_t *dst = slab_start(s, dst_idx) + (size_t)to * k->slot_bytes;
    SLAB_UNPOISON_SLOT(s, dst, k->slot_bytes);
    memcpy(dst, ptr, copy_bytes);
    /* One slot in, one out: the class's counts and the headroom end where
     * they were (mp_slab_give_back_slot adds the slot to the headroom). */
    k->alloc_count++;
    s->hot.headroom_bytes -= k->slot_bytes;
    mp_slab_give_back_slot(s, idx, slot);
    s->realloc_moves++;
    *moved_to = dst;
    return MP_OK;
}
