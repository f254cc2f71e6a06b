/*
 * wrong_fitlist.c - writes into a freed fit-list block. Built only under
 * ASan, where it must die with "AddressSanitizer: use-after-poison": proof
 * that the fit list poisons the bytes of freed blocks inside its region.
 */
#include "memory_pool_core.h"

#include <stdio.h>

int main(void) {
    MP_FitList *f = mp_fitlist_create(4096, MP_FIT_BEST);
    if (f == NULL) return 2;
    char *p = mp_fitlist_alloc(f, 64);
    char *neighbour = mp_fitlist_alloc(f, 64);
    if (p == NULL || neighbour == NULL || mp_fitlist_free(f, p) != MP_OK) return 2;
    volatile char *stale = p;
    stale[10] = 1; /* use after free: ASan must stop here */
    printf("write into a freed block went unnoticed\n");
    mp_fitlist_destroy(f);
    return 0;
}
