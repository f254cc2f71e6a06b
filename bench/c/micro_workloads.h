/*
 * micro_workloads.h - the loops of the micro benchmarks, as a template that
 * micro.c includes once per allocator so every loop calls its allocator
 * directly (an indirect call per operation would cost as much as the floors
 * themselves). Before each inclusion define:
 *
 *   WL_NAME                  prefix of the generated functions
 *   WL_ALLOC(ctx, size)      expression: a block of `size` bytes or NULL
 *   WL_FREE(ctx, ptr, size)  expression: 0 when the free succeeded
 *   WL_FIXED_ONLY            (optional) the allocator serves 64-byte blocks only
 *   WL_TOUCH(ctx, p, byte)   (optional) statement writing `byte` to the block
 *                            `p` (what WL_ALLOC returned); default: a volatile
 *                            store to its first byte. An allocator that returns
 *                            handles instead of pointers (the managed pool)
 *                            defines it, and keeps its handles where the others
 *                            keep pointers.
 *
 * Every block gets one byte written (a volatile store, so it cannot be
 * optimised away); failed allocations and refused frees are counted in
 * bench_ws.failures, never hidden. They are counted behind a branch, as a
 * caller handles an error: an unconditional `failures += (status != 0)`
 * would add a load-add-store chain through memory to every loop whose free
 * can fail (~0.7 ns per pair here) and to none whose free cannot (the
 * floors, malloc). The template #undefs its parameters.
 */
#ifndef WL_NAME
#error "define WL_NAME, WL_ALLOC and WL_FREE before including micro_workloads.h"
#endif

#define WL_CAT2_(a, b) a##_##b
#define WL_CAT_(a, b) WL_CAT2_(a, b)
#define WL_FN(suffix) WL_CAT_(WL_NAME, suffix)
#ifndef WL_TOUCH
#define WL_TOUCH(ctx, p, byte) (*(volatile unsigned char *)(p) = (unsigned char)(byte))
#endif
/* Not every allocator runs every loop (the floors serve one kind each). */
#if defined(__GNUC__)
#define WL_STATIC static __attribute__((unused))
#else
#define WL_STATIC static
#endif

/* n times: allocate 64 bytes, write a byte, free it. */
WL_STATIC void WL_FN(pair64)(void *ctx, bench_ws *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = WL_ALLOC(ctx, 64);
        if (p == NULL) {
            w->failures++;
            continue;
        }
        WL_TOUCH(ctx, p, i);
        if (WL_FREE(ctx, p, 64) != 0) w->failures++;
    }
}

/* n / BENCH_LIVE rounds: allocate BENCH_LIVE blocks of 64 bytes, then free
 * them in allocation order. */
WL_STATIC void WL_FN(live64)(void *ctx, bench_ws *w, size_t n) {
    for (size_t done = 0; done < n; done += BENCH_LIVE) {
        for (size_t i = 0; i < BENCH_LIVE; i++) {
            unsigned char *p = WL_ALLOC(ctx, 64);
            w->live[i] = p;
            if (p == NULL) {
                w->failures++;
                continue;
            }
            WL_TOUCH(ctx, p, i);
        }
        for (size_t i = 0; i < BENCH_LIVE; i++) {
            if (w->live[i] != NULL && WL_FREE(ctx, w->live[i], 64) != 0) w->failures++;
        }
    }
}

#ifndef WL_FIXED_ONLY
/* Untimed: BENCH_LIVE blocks of the workload's sizes. */
WL_STATIC void WL_FN(prefill)(void *ctx, bench_ws *w) {
    for (size_t i = 0; i < BENCH_LIVE; i++) {
        size_t size = w->sizes[i];
        unsigned char *p = WL_ALLOC(ctx, size);
        w->live[i] = p;
        w->live_sizes[i] = size;
        if (p == NULL) {
            w->failures++;
            continue;
        }
        WL_TOUCH(ctx, p, i);
    }
}

/* n times: free a pseudo-random live block (seeded sequence) and allocate a
 * block of the next size of the sequence in its place. */
WL_STATIC void WL_FN(replace)(void *ctx, bench_ws *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t k = w->victims[i & BENCH_SEQ_MASK];
        if (w->live[k] != NULL && WL_FREE(ctx, w->live[k], w->live_sizes[k]) != 0) w->failures++;
        size_t size = w->sizes[(i + BENCH_LIVE) & BENCH_SEQ_MASK];
        unsigned char *p = WL_ALLOC(ctx, size);
        w->live[k] = p;
        w->live_sizes[k] = size;
        if (p == NULL) {
            w->failures++;
            continue;
        }
        WL_TOUCH(ctx, p, i);
    }
}

/* Untimed: frees every live block, leaving the allocator empty. */
WL_STATIC void WL_FN(drain)(void *ctx, bench_ws *w) {
    for (size_t i = 0; i < BENCH_LIVE; i++) {
        if (w->live[i] != NULL && WL_FREE(ctx, w->live[i], w->live_sizes[i]) != 0) w->failures++;
        w->live[i] = NULL;
    }
}
#endif

#undef WL_FN
#undef WL_STATIC
#undef WL_CAT_
#undef WL_CAT2_
#undef WL_NAME
#undef WL_ALLOC
#undef WL_FREE
#undef WL_FIXED_ONLY
#undef WL_TOUCH
