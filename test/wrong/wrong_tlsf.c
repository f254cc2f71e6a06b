/*
 * wrong_tlsf.c - writes through a dangling pointer into a TLSF block that was
 * freed and merged into its free neighbour. Built only under ASan; passes
 * only if ASan stops the write with "use-after-poison", which proves that
 * TLSF poisons freed payload (and its in-band links and headers).
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_Tlsf *t = mp_tlsf_create(64 * 1024);
    if (t == NULL) return 2;
    unsigned char *first = mp_tlsf_alloc(t, 100);
    unsigned char *victim = mp_tlsf_alloc(t, 300);
    unsigned char *guard = mp_tlsf_alloc(t, 100);
    if (first == NULL || victim == NULL || guard == NULL) return 2;
    victim[299] = 1; /* fine: the block is live */
    if (mp_tlsf_free(t, first) != MP_OK || mp_tlsf_free(t, victim) != MP_OK) return 2;
    volatile unsigned char *dangling = victim;
    dangling[150] = 42; /* use after free inside the heap: ASan must stop here */
    puts("write into a freed TLSF block was not detected");
    mp_tlsf_destroy(t);
    return 1;
}
