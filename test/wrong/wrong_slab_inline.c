/*
 * wrong_slab_inline.c - writes into a slot after freeing it through the
 * header's inline fast path of the slab allocator. Built only under ASan;
 * passes only if ASan stops it with "use-after-poison", which proves that
 * the inline free poisons the slot itself (the inline path is checked to be
 * open and the hand LIVE on that slot first, so the free does not go out
 * of line).
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_Slab *s = mp_slab_create((size_t)1 << 20);
    if (s == NULL) return 2;
    const MP_SlabHot *hot = (const MP_SlabHot *)(const void *)s;
    if (MP_SLAB_HOT_LIMIT_(hot) == 0) {
        puts("the inline path is closed in this build: the test would prove nothing");
        return 2;
    }
    unsigned char *p = mp_slab_alloc_inline(s, 64); /* out of line: no hand yet */
    if (p == NULL || mp_slab_free_inline(s, p) != MP_OK) return 2; /* out of line: into the hand */
    p = mp_slab_alloc_inline(s, 64);                                 /* the hand, inline */
    if (p == NULL || hot->hand != p || (hot->hand_word & MP_SLAB_HAND_STATE_MASK) != MP_SLAB_HAND_LIVE) return 2;
    p[63] = 1; /* fine: the inline alloc unpoisoned the slot */
    if (mp_slab_free_inline(s, p) != MP_OK || (hot->hand_word & MP_SLAB_HAND_STATE_MASK) != MP_SLAB_HAND_FREE) return 2;
    volatile unsigned char *dangling = p;
    dangling[8] = 42; /* use after an inline free: ASan must stop here */
    puts("write into a slot freed inline was not detected");
    mp_slab_destroy(s);
    return 1;
}
