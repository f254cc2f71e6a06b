/*
 * wrong_pool_stale_view.c - keeps a pointer (a "view") into a managed-pool
 * block across a compaction that moves the block, then writes through it.
 * Built only under ASan, where it must die with "AddressSanitizer:
 * use-after-poison": proof that the bytes a moved block left behind are
 * poisoned, so a stale view (detectable through mp_pool_relocation_count) is
 * caught rather than silently corrupting whatever lands there next.
 */
#include "memory_pool_core.h"

#include <stdio.h>

int main(void) {
    MP_Pool *pool = mp_pool_create(64 * 1024, MP_STRATEGY_FIRST_FIT);
    MP_Handle hole, moving;
    size_t offset;
    if (pool == NULL || mp_pool_alloc(pool, 4096, 0, 0, &hole) != MP_OK ||
        mp_pool_alloc(pool, 64, 0, 0, &moving) != MP_OK || mp_pool_locate(pool, moving, &offset, NULL) != MP_OK)
        return 2;
    volatile char *view = (char *)mp_pool_base(pool) + offset;
    view[0] = 1;
    uint64_t relocations = mp_pool_relocation_count(pool);
    if (mp_pool_free(pool, hole) != MP_OK || mp_pool_defragment(pool, 0, NULL) != MP_OK) return 2;
    if (mp_pool_relocation_count(pool) == relocations) return 2; /* the block must have moved */
    view[0] = 2; /* stale view: ASan must stop here */
    printf("write through a stale view went unnoticed\n");
    mp_pool_destroy(pool);
    return 0;
}
