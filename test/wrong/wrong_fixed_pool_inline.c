/*
 * wrong_fixed_pool_inline.c - writes into a slot after freeing it through
 * the header's inline fast path. Built only under ASan; passes only if ASan
 * stops it with "use-after-poison", which proves that the inline free
 * poisons the slot itself (the inline path is checked to be open first, so
 * the free does not go out of line).
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(64, 16);
    if (pool == NULL) return 2;
    const MP_FixedPoolHot *hot = (const MP_FixedPoolHot *)(const void *)pool;
    unsigned char *keep = mp_fixed_pool_alloc_inline(pool);
    unsigned char *p = mp_fixed_pool_alloc_inline(pool);
    if (keep == NULL || p == NULL) return 2;
    if (MP_HOT_LIMIT_(hot) != 2) { /* it follows the high water when open */
        puts("the inline path is closed in this build: the test would prove nothing");
        return 2;
    }
    if (mp_fixed_pool_free_inline(pool, p) != MP_OK) return 2;
    p = mp_fixed_pool_alloc_inline(pool); /* from the hand: inline */
    if (p == NULL || MP_HOT_HAND_(hot) != NULL) return 2;
    p[63] = 1; /* fine: the inline alloc unpoisoned the slot */
    if (mp_fixed_pool_free_inline(pool, p) != MP_OK) return 2;
    volatile unsigned char *dangling = p;
    dangling[8] = 42; /* use after an inline free: ASan must stop here */
    puts("write into a slot freed inline was not detected");
    mp_fixed_pool_destroy(pool);
    return 1;
}
