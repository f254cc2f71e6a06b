/*
 * wrong_slab.c - writes into a freed slab slot on purpose. Built only under
 * ASan; passes only if ASan reports "use-after-poison", which proves freed
 * slots inside a slab are poisoned (the slab itself stays assigned: another
 * block keeps it live, so only the slot's poisoning can catch the write).
 */
#include "memory_pool_core.h"

#include <stdio.h>

int main(void) {
    MP_Slab *s = mp_slab_create(1 << 20);
    if (s == NULL) return 2;
    void *keep = mp_slab_alloc(s, 64);
    unsigned char *p = mp_slab_alloc(s, 64);
    if (keep == NULL || p == NULL || mp_slab_free(s, p) != MP_OK) return 2;
    volatile unsigned char *dangling = p;
    dangling[10] = 0x42; /* must be reported here */
    printf("write into a freed slot went unnoticed\n");
    mp_slab_destroy(s);
    return 0;
}
