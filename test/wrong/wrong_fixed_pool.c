/*
 * wrong_fixed_pool.c - writes into a slot after freeing it. Built only under
 * ASan; passes only if ASan stops it with "use-after-poison", which proves
 * that the fixed pool poisons freed slots.
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_FixedPool *pool = mp_fixed_pool_create(64, 16);
    if (pool == NULL) return 2;
    unsigned char *keep = mp_fixed_pool_alloc(pool);
    unsigned char *p = mp_fixed_pool_alloc(pool);
    if (keep == NULL || p == NULL) return 2;
    p[0] = 1; /* fine: the slot is live */
    if (mp_fixed_pool_free(pool, p) != MP_OK) return 2;
    volatile unsigned char *dangling = p;
    dangling[8] = 42; /* use after free inside the pool: ASan must stop here */
    puts("write into a freed fixed-pool slot was not detected");
    mp_fixed_pool_destroy(pool);
    return 1;
}
