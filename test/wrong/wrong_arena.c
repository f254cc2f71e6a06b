/*
 * wrong_arena.c - reads bytes that a rewind gave back. Built only under
 * ASan; passes only if ASan stops it with "use-after-poison", which proves
 * that the arena poisons everything past its offset.
 */
#include <stdio.h>

#include "memory_pool_core.h"

int main(void) {
    MP_Arena *arena = mp_arena_create(4096);
    if (arena == NULL) return 2;
    if (mp_arena_alloc(arena, 100, 8) == NULL) return 2;
    MP_ArenaMark mark = mp_arena_mark(arena);
    unsigned char *p = mp_arena_alloc(arena, 256, 16);
    if (p == NULL) return 2;
    p[200] = 7; /* fine: the block is live */
    if (mp_arena_rewind(arena, mark) != MP_OK) return 2;
    volatile unsigned char *dangling = p;
    unsigned char seen = dangling[200]; /* read past the rewind: ASan must stop here */
    printf("read %u past a rewind without detection\n", seen);
    mp_arena_destroy(arena);
    return 1;
}
