/*
 * buddy_place.c - placement primitive for compaction (mp_pool): move a used
 * buddy block into the lowest free block of its order below it.
 *
 * A buddy block of order k can only live at a unit that is a multiple of
 * 2^k, so compaction cannot slide blocks by arbitrary distances; the best it
 * can do is to move each block into the lowest free place of its order (a
 * free block of order >= k, split down to k, keeping its first piece). The
 * old place is freed and merges with its free buddies as usual.
 *
 * Finding the lowest free place: the free bitmaps are per order (a free
 * place of order k may be any free block of order >= k), so the search
 * walks the blocks through the tags from a per-order cursor (a unit
 * below which no free block of order >= k can take the block; see
 * buddy_packer). A sweep moves blocks in ascending order of size and, within
 * one order, of address, so each cursor only moves up except when a freed
 * place merges below it (the cursors of the orders it covers are lowered to
 * it). A sweep costs O(blocks) per order plus the bytes copied.
 *
 * What a fixed point gives (no block can move, nothing pinned): at most one
 * free block per order whose buddy lies inside the region. Two free blocks
 * of one order k, F1 below F2, cannot both stay: F2's buddy G is not free, so
 * it holds used blocks of order <= k; if G lies above F2 they could move into
 * F1 or F2, if below F2 (then above F1, since G and F2 are adjacent halves)
 * into F1. This is the buddy optimum the pool's tests check.
 *
 * Metadata is out of band (tags and words outside the region); the block is
 * copied between two disjoint places, so the copy never overlaps. Checked
 * invariants (mp_buddy_check) hold after every move; counters do not change.
 */
#include "buddy_internal.h"

void mp_buddy_packer_init(buddy_packer *pk) { memset(pk, 0, sizeof *pk); }

/* The start of the block that holds unit `u`. */
static size_t buddy_block_start(const MP_Buddy *b, size_t u) {
    for (unsigned j = 0; j <= b->top_order; j++) {
        size_t v = u & ~(buddy_units(j) - 1);
        uint8_t tag = buddy_tag_at(b, v);
        if ((tag & MP_BUDDY_TAG_START) && buddy_tag_order(tag) >= j) return v;
    }
    return u; /* unreachable while the tags tile the region */
}

/* The lowest free block of order >= k at or above the cursor and below unit
 * `limit` whose address is a multiple of `align`; MP_BUDDY_NIL if none. Moves
 * the cursor to it (or to `limit`). */
static size_t buddy_find_lower(const MP_Buddy *b, buddy_packer *pk, unsigned k, size_t limit, size_t align) {
    size_t v = pk->cursor[k];
    if (v >= limit) return MP_BUDDY_NIL;
    v = buddy_block_start(b, v);
    while (v < limit) {
        uint8_t tag = buddy_tag_at(b, v);
        unsigned o = buddy_tag_order(tag);
        if (!(tag & MP_BUDDY_TAG_USED) && o >= k && ((uintptr_t)buddy_addr(b, v) & (align - 1)) == 0) {
            pk->cursor[k] = v;
            return v;
        }
        v += buddy_units(o);
    }
    pk->cursor[k] = limit;
    return MP_BUDDY_NIL;
}

MP_Status mp_buddy_move_lower(MP_Buddy *b, buddy_packer *pk, void *ptr, size_t align, size_t copy_bytes,
                              void **moved_to) {
    size_t u;
    *moved_to = ptr;
    MP_Status st = buddy_lookup(b, ptr, &u);
    if (st != MP_OK) return MP_ERR_INVALID_ADDRESS;
    unsigned k = buddy_tag_order(buddy_tag_at(b, u));
    size_t block_bytes = buddy_block_bytes(b, k);
    if (copy_bytes > block_bytes) return MP_ERR_INVALID_ARGUMENT;
    size_t v = buddy_find_lower(b, pk, k, u, align < 1u ? 1u : align);
    if (v == MP_BUDDY_NIL) return MP_OK;
    uint64_t word = *buddy_word_ptr(b, u);
    buddy_carve(b, buddy_tag_order(buddy_tag_at(b, v)), v, k, v);
    buddy_mark_used(b, v, k, (size_t)(word & MP_BUDDY_REQUESTED_MASK),
                    (unsigned)(word >> MP_BUDDY_ALIGN_SHIFT) & MP_BUDDY_ALIGN_MASK);
    uint8_t *dst = buddy_addr(b, v);
    MP_UNPOISON(dst, block_bytes);
    memcpy(dst, ptr, copy_bytes);
    buddy_release(b, u, k);
    /* The freed place may have merged into a larger free block: no cursor of
     * an order it can hold may stay above it. */
    size_t m = buddy_block_start(b, u);
    unsigned j = buddy_tag_order(buddy_tag_at(b, m));
    for (unsigned i = 0; i <= j; i++)
        if (pk->cursor[i] > m) pk->cursor[i] = m;
    *moved_to = dst;
    return MP_OK;
}
