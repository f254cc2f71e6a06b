/*
 * wrong_buddy.c - writes into a block after freeing it. Built only under
 * ASan; passes only if ASan stops it with "use-after-poison", which proves
 * that the buddy allocator poisons the bytes of freed blocks.
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_Buddy *b = mp_buddy_create(64 * 1024, 64);
    if (b == NULL) return 2;
    unsigned char *keep = mp_buddy_alloc(b, 64);
    unsigned char *p = mp_buddy_alloc(b, 200);
    if (keep == NULL || p == NULL) return 2;
    p[0] = 1; /* fine: the block is live */
    if (mp_buddy_free(b, p) != MP_OK) return 2;
    volatile unsigned char *dangling = p;
    dangling[100] = 42; /* use after free inside the pool: ASan must stop here */
    puts("write into a freed buddy block was not detected");
    mp_buddy_destroy(b);
    return 1;
}
