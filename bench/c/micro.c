/*
 * micro.c - micro benchmarks of the allocation hot paths.
 *
 * Workloads (an "op" is what one ns/op figure covers):
 *   fixed64_pair     malloc(64) + free, the same block over and over
 *   fixed64_live10k  10,000 blocks of 64 B allocated, then freed in
 *                    allocation order; op = one alloc + one free
 *   mixed_live10k    10,000 live blocks of 16..4096 B (uniform); op = free a
 *                    seeded-random live block + allocate the next size
 *   pow2_live10k     as mixed_live10k with sizes 16, 32, .. 4096 (uniform)
 *   arena_small      allocate 8..256 B (align 8), release everything every
 *                    4,096 allocations; op = one allocation (+ amortized reset)
 *
 * Implementations: every family of the library that can serve a workload,
 * the fixed pool and (64-byte loops) the slab allocator also through the
 * header's inline calls ("fixed:inline", "slab:inline"),
 * the managed pool over TLSF ("pool:tlsf": it keeps handles where the others
 * keep pointers and frees by them; its loops write their byte into a
 * bench-side array indexed by the handle's slot index),
 * the inline floors (inline_baselines.h), glibc malloc, jemalloc and
 * mimalloc, all in this one process (bench_util.h says how). Families still
 * under construction are reported as skipped.
 *
 * Method: per (workload, implementation) an untimed calibration picks the op
 * count that fills one sample (default 20 ms); then every repetition runs
 * one sample of every implementation, rotating the order, so slow drifts of
 * the machine hit all of them alike. Setup of the 10,000 live blocks is not
 * timed. Output: JSON lines on stdout (for bench/run.mjs), progress on stderr.
 *
 * `--callgrind WORKLOAD IMPL OPS` runs one workload once with a fixed op
 * count for bench/callgrind.sh (instructions per op, no timing).
 *
 * `--huge-pages` gives every allocator transparent huge pages, each the way
 * it offers them: the library's regions and the floors' get
 * mp_advise_huge_pages, glibc malloc the tunable glibc.malloc.hugetlb=1,
 * jemalloc MALLOC_CONF=thp:always, mimalloc MIMALLOC_LARGE_OS_PAGES=1. Its
 * records say "micro-thp" where the others say "micro". `--only` takes a
 * comma-separated list of workloads.
 */
#define _GNU_SOURCE
#include "bench_util.h"
#include "inline_baselines.h"
#include "memory_pool_core.h"

#include <stdlib.h>
#include <string.h>

#define BENCH_ARENA_BATCH 4096u
#define BENCH_REGION_BYTES ((size_t)256 << 20) /* per variable-size family, lazily touched */
#define BENCH_MAX_IMPLS 24
#define BENCH_MAX_REPS 64

/* State shared by all workloads (mapped, not malloc'ed). */
typedef struct bench_ws {
    void **live;                 /* BENCH_LIVE live blocks */
    size_t *live_sizes;          /* size each live block was allocated with */
    const uint32_t *sizes;       /* size sequence of the running workload */
    const uint32_t *victims;     /* which live block to replace, per op */
    uint64_t failures;           /* NULL allocations + refused frees */
} bench_ws;

typedef void (*run_fn)(void *ctx, bench_ws *w, size_t n);
typedef void (*phase_fn)(void *ctx, bench_ws *w);

typedef struct micro_impl {
    const char *name;
    const char *kind;    /* "floor", "family" or "malloc" */
    const char *missing; /* non-NULL: skipped, with this reason */
    void *ctx;
    run_fn pair64, live64, replace, arena;
    phase_fn prefill, drain;
} micro_impl;

enum { WK_PAIR64, WK_LIVE64, WK_MIXED, WK_POW2, WK_ARENA, WK_COUNT };

typedef struct micro_workload {
    const char *name;
    const char *op;
    size_t base_ops; /* first calibration step; live64 needs multiples of BENCH_LIVE */
} micro_workload;

static const micro_workload workloads[WK_COUNT] = {
    {"fixed64_pair", "alloc 64 B + free", 1024},
    {"fixed64_live10k", "alloc 64 B (10,000 live) + free later, per block", BENCH_LIVE},
    {"mixed_live10k", "free random live block + alloc 16..4096 B, 10,000 live", 1024},
    {"pow2_live10k", "free random live block + alloc 2^4..2^12 B, 10,000 live", 1024},
    {"arena_small", "alloc 8..256 B align 8, release all every 4,096", BENCH_ARENA_BATCH},
};

/* ------------------------------------------------ instantiated workloads */

#define WL_NAME mall
#define WL_ALLOC(ctx, size) ((bench_malloc *)(ctx))->malloc_fn(size)
#define WL_FREE(ctx, p, size) (((bench_malloc *)(ctx))->free_fn(p), 0)
#include "micro_workloads.h"

#define WL_NAME floor_list
#define WL_ALLOC(ctx, size) inl_freelist_alloc((inl_freelist *)(ctx))
#define WL_FREE(ctx, p, size) (inl_freelist_free((inl_freelist *)(ctx), (p)), 0)
#define WL_FIXED_ONLY
#include "micro_workloads.h"

#define WL_NAME floor_classes
#define WL_ALLOC(ctx, size) inl_sizeclass_alloc((inl_sizeclass *)(ctx), (size))
#define WL_FREE(ctx, p, size) (inl_sizeclass_free((inl_sizeclass *)(ctx), (p), (size)), 0)
#include "micro_workloads.h"

#if MP_BENCH_HAVE_FIXED
#define WL_NAME fixed
#define WL_ALLOC(ctx, size) mp_fixed_pool_alloc((MP_FixedPool *)(ctx))
#define WL_FREE(ctx, p, size) (mp_fixed_pool_free((MP_FixedPool *)(ctx), (p)) != MP_OK)
#define WL_FIXED_ONLY
#include "micro_workloads.h"
/* The same pool type through the header's inline fast path. */
#define WL_NAME fixed_inline
#define WL_ALLOC(ctx, size) mp_fixed_pool_alloc_inline((MP_FixedPool *)(ctx))
#define WL_FREE(ctx, p, size) (mp_fixed_pool_free_inline((MP_FixedPool *)(ctx), (p)) != MP_OK)
#define WL_FIXED_ONLY
#include "micro_workloads.h"
#endif
#if MP_BENCH_HAVE_SLAB
#define WL_NAME slab
#define WL_ALLOC(ctx, size) mp_slab_alloc((MP_Slab *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_slab_free((MP_Slab *)(ctx), (p)) != MP_OK)
#include "micro_workloads.h"
/* The same allocator through the header's inline fast path, on the 64-byte
 * loops: it pays where a free follows an allocation of its class (the
 * hand); on random mixed sizes it adds its checks to the out-of-line path. */
#define WL_NAME slab_inline
#define WL_ALLOC(ctx, size) mp_slab_alloc_inline((MP_Slab *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_slab_free_inline((MP_Slab *)(ctx), (p)) != MP_OK)
#define WL_FIXED_ONLY
#include "micro_workloads.h"
#endif
#if MP_BENCH_HAVE_TLSF
#define WL_NAME tlsf
#define WL_ALLOC(ctx, size) mp_tlsf_alloc((MP_Tlsf *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_tlsf_free((MP_Tlsf *)(ctx), (p)) != MP_OK)
#include "micro_workloads.h"
#endif
#if MP_BENCH_HAVE_BUDDY
#define WL_NAME buddy
#define WL_ALLOC(ctx, size) mp_buddy_alloc((MP_Buddy *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_buddy_free((MP_Buddy *)(ctx), (p)) != MP_OK)
#include "micro_workloads.h"
#endif
#if MP_BENCH_HAVE_FITLIST
#define WL_NAME fit
#define WL_ALLOC(ctx, size) mp_fitlist_alloc((MP_FitList *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_fitlist_free((MP_FitList *)(ctx), (p)) != MP_OK)
#include "micro_workloads.h"
#endif

#if MP_BENCH_HAVE_TLSF
/* The managed pool through the same loops: it keeps its handles where the
 * other allocators keep pointers (a handle is below 2^53 and never 0, so it
 * survives the round trip through a pointer variable, and NULL still means
 * failure), and frees by handle, as a caller of mp_pool would. Its block is
 * touched through a byte of `bytes` picked by the handle's low
 * BENCH_POOL_INDEX_BITS bits, its slot index (pool.c, with max_blocks =
 * 2^BENCH_POOL_INDEX_BITS): the pool hands out no pointers to write through. */
#define BENCH_POOL_INDEX_BITS 17u
#define BENCH_POOL_SLOTS ((size_t)1 << BENCH_POOL_INDEX_BITS)
_Static_assert(sizeof(void *) >= sizeof(MP_Handle), "handles are kept in pointer variables");
typedef struct bench_pool {
    MP_Pool *pool;
    unsigned char *bytes;
} bench_pool;

static inline void *bench_pool_alloc(bench_pool *bp, size_t size) {
    MP_Handle h;
    if (mp_pool_alloc(bp->pool, size, 0, 0, &h) != MP_OK) return NULL;
    return (void *)(uintptr_t)h;
}

static inline void bench_pool_touch(bench_pool *bp, const void *h, size_t byte) {
    ((volatile unsigned char *)bp->bytes)[(uintptr_t)h & (BENCH_POOL_SLOTS - 1)] = (unsigned char)byte;
}

#define WL_NAME pool_tlsf
#define WL_ALLOC(ctx, size) bench_pool_alloc((bench_pool *)(ctx), (size))
#define WL_FREE(ctx, p, size) (mp_pool_free(((bench_pool *)(ctx))->pool, (MP_Handle)(uintptr_t)(p)) != MP_OK)
#define WL_TOUCH(ctx, p, byte) bench_pool_touch((bench_pool *)(ctx), (p), (byte))
#include "micro_workloads.h"
#endif

/* Arena workload: the bump floor, the arena, and malloc-likes (which free
 * the batch where an arena resets). */
static void floor_bump_arena(void *ctx, bench_ws *w, size_t n) {
    inl_bump *b = ctx;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = inl_bump_alloc(b, w->sizes[i & BENCH_SEQ_MASK], 8);
        if (p == NULL) {
            w->failures++;
        } else {
            *(volatile unsigned char *)p = (unsigned char)i;
        }
        if ((i % BENCH_ARENA_BATCH) == BENCH_ARENA_BATCH - 1) inl_bump_reset(b);
    }
    inl_bump_reset(b);
}

#if MP_BENCH_HAVE_ARENA
static void arena_arena(void *ctx, bench_ws *w, size_t n) {
    MP_Arena *a = ctx;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = mp_arena_alloc(a, w->sizes[i & BENCH_SEQ_MASK], 8);
        if (p == NULL) {
            w->failures++;
        } else {
            *(volatile unsigned char *)p = (unsigned char)i;
        }
        if ((i % BENCH_ARENA_BATCH) == BENCH_ARENA_BATCH - 1) w->failures += (mp_arena_reset(a) != MP_OK);
    }
    w->failures += (mp_arena_reset(a) != MP_OK);
}

/* The same through the header's inline bump window (MP_ArenaWindow); the
 * reset every batch empties the window, which stays open. */
static void arena_window_arena(void *ctx, bench_ws *w, size_t n) {
    MP_Arena *a = ctx;
    MP_ArenaWindow win;
    if (mp_arena_window_open(a, &win, 0) != MP_OK) {
        w->failures += n;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = mp_arena_window_alloc(&win, w->sizes[i & BENCH_SEQ_MASK], 8);
        if (p == NULL) {
            w->failures++;
        } else {
            *(volatile unsigned char *)p = (unsigned char)i;
        }
        if ((i % BENCH_ARENA_BATCH) == BENCH_ARENA_BATCH - 1) w->failures += (mp_arena_reset(a) != MP_OK);
    }
    w->failures += (mp_arena_window_close(&win) != MP_OK);
    w->failures += (mp_arena_reset(a) != MP_OK);
}
#endif

static void mall_arena(void *ctx, bench_ws *w, size_t n) {
    bench_malloc *m = ctx;
    size_t in_batch = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = m->malloc_fn(w->sizes[i & BENCH_SEQ_MASK]);
        w->live[in_batch++] = p;
        if (p == NULL) {
            w->failures++;
        } else {
            *(volatile unsigned char *)p = (unsigned char)i;
        }
        if (in_batch == BENCH_ARENA_BATCH) {
            for (size_t k = 0; k < in_batch; k++) m->free_fn(w->live[k]);
            in_batch = 0;
        }
    }
    for (size_t k = 0; k < in_batch; k++) m->free_fn(w->live[k]);
}

/* ------------------------------------------------------------ the impls */

typedef struct micro_state {
    micro_impl impls[BENCH_MAX_IMPLS];
    size_t impl_count;
    bench_malloc mallocs[BENCH_MALLOC_COUNT];
    inl_freelist floor_list;
    inl_sizeclass floor_classes;
    inl_bump floor_bump;
#if MP_BENCH_HAVE_TLSF
    bench_pool pool_tlsf;
#endif
    bench_ws ws;
    uint32_t *seq[WK_COUNT]; /* size sequence per workload (NULL = fixed 64) */
    uint32_t *victims;
} micro_state;

static micro_impl *add_impl(micro_state *st, const char *name, const char *kind, void *ctx) {
    micro_impl *im = &st->impls[st->impl_count++];
    memset(im, 0, sizeof *im);
    im->name = name;
    im->kind = kind;
    im->ctx = ctx;
    return im;
}

static void set_heap_fns(micro_impl *im, run_fn pair64, run_fn live64, phase_fn prefill, run_fn replace,
                         phase_fn drain) {
    im->pair64 = pair64;
    im->live64 = live64;
    im->prefill = prefill;
    im->replace = replace;
    im->drain = drain;
}

/* A family that is implemented but whose create failed is skipped with the
 * library's own reason. */
static const char *create_failure(void) {
    static char why[96];
    snprintf(why, sizeof why, "create failed: %s", mp_status_str(mp_last_error().status));
    return why;
}

static void setup_impls(micro_state *st) {
    micro_impl *im;
    im = add_impl(st, "floor:freelist", "floor", &st->floor_list);
    inl_freelist_init(&st->floor_list, bench_map((size_t)BENCH_LIVE * 64u), (size_t)BENCH_LIVE * 64u, 64);
    im->pair64 = floor_list_pair64;
    im->live64 = floor_list_live64;
    im = add_impl(st, "floor:sizeclass", "floor", &st->floor_classes);
    inl_sizeclass_init(&st->floor_classes, bench_map(BENCH_REGION_BYTES), BENCH_REGION_BYTES);
    set_heap_fns(im, NULL, NULL, floor_classes_prefill, floor_classes_replace, floor_classes_drain);
    im = add_impl(st, "floor:bump", "floor", &st->floor_bump);
    st->floor_bump.base = bench_map((size_t)2 << 20);
    st->floor_bump.size = (size_t)2 << 20;
    im->arena = floor_bump_arena;

    static const char *const fixed_names[2] = {"fixed", "fixed:inline"};
    for (int use_inline = 0; use_inline < 2; use_inline++) {
        im = add_impl(st, fixed_names[use_inline], "family", NULL);
#if MP_BENCH_HAVE_FIXED
        im->ctx = mp_fixed_pool_create(64, 16384);
        im->pair64 = use_inline ? fixed_inline_pair64 : fixed_pair64;
        im->live64 = use_inline ? fixed_inline_live64 : fixed_live64;
#else
        im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    }
    im = add_impl(st, "arena", "family", NULL);
#if MP_BENCH_HAVE_ARENA
    im->ctx = mp_arena_create((size_t)2 << 20);
    im->arena = arena_arena;
#else
    im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    im = add_impl(st, "arena:window", "family", NULL);
#if MP_BENCH_HAVE_ARENA
    im->ctx = mp_arena_create((size_t)2 << 20);
    im->arena = arena_window_arena;
#else
    im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    static const char *const slab_names[2] = {"slab", "slab:inline"};
    for (int use_inline = 0; use_inline < 2; use_inline++) {
        im = add_impl(st, slab_names[use_inline], "family", NULL);
#if MP_BENCH_HAVE_SLAB
        im->ctx = mp_slab_create(BENCH_REGION_BYTES);
        if (use_inline)
            set_heap_fns(im, slab_inline_pair64, slab_inline_live64, NULL, NULL, NULL);
        else
            set_heap_fns(im, slab_pair64, slab_live64, slab_prefill, slab_replace, slab_drain);
#else
        im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    }
    /* tlsf:small: the same with small-object spans for every size they serve. */
    static const char *const tlsf_names[2] = {"tlsf", "tlsf:small"};
    for (int small = 0; small < 2; small++) {
        im = add_impl(st, tlsf_names[small], "family", NULL);
#if MP_BENCH_HAVE_TLSF
        MP_TlsfConfig tlsf_cfg = {BENCH_REGION_BYTES, 0, 0, NULL, MP_TLSF_CACHE_DEFAULT_BYTES,
                                  small ? MP_TLSF_SMALL_MAX_BYTES : 0};
        im->ctx = mp_tlsf_create_ex(&tlsf_cfg);
        set_heap_fns(im, tlsf_pair64, tlsf_live64, tlsf_prefill, tlsf_replace, tlsf_drain);
#else
        im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    }
    im = add_impl(st, "pool:tlsf", "family", NULL);
#if MP_BENCH_HAVE_TLSF
    MP_PoolConfig pool_cfg = {.pool_bytes = BENCH_REGION_BYTES, .strategy = MP_STRATEGY_TLSF,
                              .max_blocks = BENCH_POOL_SLOTS};
    st->pool_tlsf.pool = mp_pool_create_ex(&pool_cfg);
    st->pool_tlsf.bytes = bench_map(BENCH_POOL_SLOTS);
    if (st->pool_tlsf.pool != NULL) im->ctx = &st->pool_tlsf;
    set_heap_fns(im, pool_tlsf_pair64, pool_tlsf_live64, pool_tlsf_prefill, pool_tlsf_replace, pool_tlsf_drain);
#else
    im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    im = add_impl(st, "buddy", "family", NULL);
#if MP_BENCH_HAVE_BUDDY
    im->ctx = mp_buddy_create(BENCH_REGION_BYTES, 16);
    set_heap_fns(im, buddy_pair64, buddy_live64, buddy_prefill, buddy_replace, buddy_drain);
#else
    im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    static const char *const fit_names[3] = {"fit:first", "fit:best", "fit:worst"};
    for (int policy = 0; policy < 3; policy++) {
        im = add_impl(st, fit_names[policy], "family", NULL);
#if MP_BENCH_HAVE_FITLIST
        im->ctx = mp_fitlist_create(BENCH_REGION_BYTES, (MP_FitPolicy)policy);
        set_heap_fns(im, fit_pair64, fit_live64, fit_prefill, fit_replace, fit_drain);
#else
        im->missing = BENCH_NOT_IMPLEMENTED;
#endif
    }
    for (int i = 0; i < BENCH_MALLOC_COUNT; i++) {
        bench_malloc *m = &st->mallocs[i];
        bench_malloc_load((bench_malloc_id)i, m);
        im = add_impl(st, m->name, "malloc", m);
        im->missing = m->missing;
        set_heap_fns(im, mall_pair64, mall_live64, mall_prefill, mall_replace, mall_drain);
        im->arena = mall_arena;
    }
    for (size_t i = 0; i < st->impl_count; i++) {
        if (st->impls[i].ctx == NULL && st->impls[i].missing == NULL) st->impls[i].missing = create_failure();
    }
}

/* --huge-pages: the library's regions and the floors' get the advice (the
 * malloc-likes get theirs from their own settings, see main). */
static void advise_region(void *base, size_t bytes) {
    if (base != NULL && mp_advise_huge_pages(base, bytes) != MP_OK)
        fprintf(stderr, "micro: huge-page advice refused: %s\n", mp_status_str(mp_last_error().status));
}

static void advise_impls(micro_state *st) {
    /* Right after setup the floors' bump pointers are still their buffers' starts. */
    advise_region(st->floor_list.bump, (size_t)(st->floor_list.end - st->floor_list.bump));
    advise_region(st->floor_classes.bump, (size_t)(st->floor_classes.end - st->floor_classes.bump));
    advise_region(st->floor_bump.base, st->floor_bump.size);
    for (size_t i = 0; i < st->impl_count; i++) {
        micro_impl *im = &st->impls[i];
        if (im->missing != NULL || strcmp(im->kind, "family") != 0) continue;
#if MP_BENCH_HAVE_FIXED
        if (im->pair64 == fixed_pair64 || im->pair64 == fixed_inline_pair64)
            advise_region(mp_fixed_pool_base(im->ctx), (size_t)64 * 16384);
#endif
#if MP_BENCH_HAVE_ARENA
        if (im->arena == arena_arena || im->arena == arena_window_arena)
            advise_region(mp_arena_base(im->ctx), (size_t)2 << 20);
#endif
#if MP_BENCH_HAVE_SLAB
        if (im->pair64 == slab_pair64 || im->pair64 == slab_inline_pair64)
            advise_region(mp_slab_base(im->ctx), BENCH_REGION_BYTES);
#endif
#if MP_BENCH_HAVE_TLSF
        if (im->pair64 == tlsf_pair64) advise_region(mp_tlsf_base(im->ctx), BENCH_REGION_BYTES);
        if (im->pair64 == pool_tlsf_pair64) {
            advise_region(mp_pool_base(((bench_pool *)im->ctx)->pool), BENCH_REGION_BYTES);
            advise_region(((bench_pool *)im->ctx)->bytes, BENCH_POOL_SLOTS);
        }
#endif
#if MP_BENCH_HAVE_BUDDY
        if (im->pair64 == buddy_pair64) advise_region(mp_buddy_base(im->ctx), BENCH_REGION_BYTES);
#endif
#if MP_BENCH_HAVE_FITLIST
        if (im->pair64 == fit_pair64) advise_region(mp_fitlist_base(im->ctx), BENCH_REGION_BYTES);
#endif
    }
}

static void destroy_impls(micro_state *st) {
    for (size_t i = 0; i < st->impl_count; i++) {
        micro_impl *im = &st->impls[i];
        if (im->missing != NULL || strcmp(im->kind, "family") != 0) continue;
#if MP_BENCH_HAVE_FIXED
        if (im->pair64 == fixed_pair64 || im->pair64 == fixed_inline_pair64) mp_fixed_pool_destroy(im->ctx);
#endif
#if MP_BENCH_HAVE_ARENA
        if (im->arena == arena_arena || im->arena == arena_window_arena) mp_arena_destroy(im->ctx);
#endif
#if MP_BENCH_HAVE_SLAB
        if (im->pair64 == slab_pair64 || im->pair64 == slab_inline_pair64) mp_slab_destroy(im->ctx);
#endif
#if MP_BENCH_HAVE_TLSF
        if (im->pair64 == tlsf_pair64) mp_tlsf_destroy(im->ctx);
#endif
#if MP_BENCH_HAVE_TLSF
        if (im->pair64 == pool_tlsf_pair64) mp_pool_destroy(((bench_pool *)im->ctx)->pool);
#endif
#if MP_BENCH_HAVE_BUDDY
        if (im->pair64 == buddy_pair64) mp_buddy_destroy(im->ctx);
#endif
#if MP_BENCH_HAVE_FITLIST
        if (im->pair64 == fit_pair64) mp_fitlist_destroy(im->ctx);
#endif
    }
}

/* ------------------------------------------------------------ sequences */

static void setup_sequences(micro_state *st) {
    st->victims = bench_map(BENCH_SEQ_LEN * sizeof(uint32_t));
    for (int k = WK_MIXED; k <= WK_ARENA; k++) st->seq[k] = bench_map(BENCH_SEQ_LEN * sizeof(uint32_t));
    bench_sequences(st->victims, st->seq[WK_MIXED], st->seq[WK_POW2], st->seq[WK_ARENA]);
    st->ws.live = bench_map(BENCH_LIVE * sizeof(void *));
    st->ws.live_sizes = bench_map(BENCH_LIVE * sizeof(size_t));
    st->ws.victims = st->victims;
}

/* ------------------------------------------------------------- running */

static int serves(const micro_impl *im, int wk) {
    if (im->missing != NULL) return 0;
    switch (wk) {
    case WK_PAIR64: return im->pair64 != NULL;
    case WK_LIVE64: return im->live64 != NULL;
    case WK_MIXED:
    case WK_POW2: return im->replace != NULL;
    default: return im->arena != NULL;
    }
}

/* Runs `n` ops of workload `wk`; returns the timed nanoseconds. */
static uint64_t run_once(micro_state *st, const micro_impl *im, int wk, size_t n) {
    bench_ws *w = &st->ws;
    w->sizes = st->seq[wk];
    uint64_t t0, t1;
    switch (wk) {
    case WK_PAIR64:
        t0 = bench_wall_ns();
        im->pair64(im->ctx, w, n);
        t1 = bench_wall_ns();
        break;
    case WK_LIVE64:
        t0 = bench_wall_ns();
        im->live64(im->ctx, w, n);
        t1 = bench_wall_ns();
        break;
    case WK_MIXED:
    case WK_POW2:
        im->prefill(im->ctx, w);
        t0 = bench_wall_ns();
        im->replace(im->ctx, w, n);
        t1 = bench_wall_ns();
        im->drain(im->ctx, w);
        break;
    default:
        t0 = bench_wall_ns();
        im->arena(im->ctx, w, n);
        t1 = bench_wall_ns();
        break;
    }
    return t1 - t0;
}

/* Doubles the op count until one sample lasts `target_ns` (the runs double
 * as warm-up). */
static size_t calibrate(micro_state *st, const micro_impl *im, int wk, uint64_t target_ns) {
    size_t n = workloads[wk].base_ops;
    const size_t cap = (size_t)1 << 28;
    while (n < cap && run_once(st, im, wk, n) < target_ns) n *= 2;
    return n;
}

typedef struct micro_opts {
    int reps;
    double target_ms;
    const char *only; /* comma-separated workload names, NULL = all */
    int huge_pages;
} micro_opts;

/* "micro", or "micro-thp" with --huge-pages. */
static const char *bench_name = "micro";

/* True if `name` is one of the comma-separated names of `list`. */
static int listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p != NULL; p = strchr(p, ',')) {
        if (*p == ',') p++;
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0')) return 1;
    }
    return 0;
}

static void run_workload(micro_state *st, int wk, const micro_opts *o) {
    size_t idx[BENCH_MAX_IMPLS], ops[BENCH_MAX_IMPLS], count = 0;
    double samples[BENCH_MAX_IMPLS][BENCH_MAX_REPS];
    uint64_t failures[BENCH_MAX_IMPLS] = {0};
    uint64_t target_ns = (uint64_t)(o->target_ms * 1e6);
    for (size_t i = 0; i < st->impl_count; i++) {
        if (!serves(&st->impls[i], wk)) continue;
        fprintf(stderr, "micro %s: calibrating %s\n", workloads[wk].name, st->impls[i].name);
        idx[count] = i;
        ops[count] = calibrate(st, &st->impls[i], wk, target_ns);
        count++;
    }
    for (int rep = 0; rep < o->reps; rep++) {
        fprintf(stderr, "micro %s: repetition %d/%d\n", workloads[wk].name, rep + 1, o->reps);
        for (size_t k = 0; k < count; k++) {
            size_t j = (k + (size_t)rep) % count; /* rotate the order every repetition */
            st->ws.failures = 0;
            uint64_t ns = run_once(st, &st->impls[idx[j]], wk, ops[j]);
            failures[j] += st->ws.failures;
            samples[j][rep] = (double)ns / (double)ops[j];
        }
    }
    for (size_t j = 0; j < count; j++) {
        const micro_impl *im = &st->impls[idx[j]];
        printf("{\"bench\":\"%s\",\"workload\":\"%s\",\"impl\":\"%s\",\"kind\":\"%s\",", bench_name,
               workloads[wk].name, im->name, im->kind);
        bench_json_samples(stdout, "samples_ns_per_op", samples[j], (size_t)o->reps);
        bench_summary s = bench_summarize(samples[j], (size_t)o->reps); /* sorts: after the samples */
        printf("\"ns_per_op\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"reps\":%d,\"ops_per_rep\":%zu,"
               "\"failures\":%llu}\n",
               s.median, s.min, s.max, o->reps, ops[j], (unsigned long long)failures[j]);
    }
    fflush(stdout);
}

static void print_meta(const micro_state *st, const micro_opts *o) {
    printf("{\"bench\":\"%s\",\"meta\":{\"compiler\":", bench_name);
    bench_json_string(stdout, bench_compiler());
    for (int i = 0; i < BENCH_MALLOC_COUNT; i++) {
        printf(",\"%s\":", st->mallocs[i].name);
        bench_json_string(stdout, st->mallocs[i].missing ? "" : st->mallocs[i].version);
    }
    printf(",\"library\":\"%s\",\"reps\":%d,\"target_ms_per_sample\":%.1f,\"live_blocks\":%u,"
           "\"seed\":%llu,\"workloads\":[",
           mp_version(), o->reps, o->target_ms, BENCH_LIVE, (unsigned long long)BENCH_SEED);
    for (int k = 0; k < WK_COUNT; k++) {
        printf("%s{\"name\":\"%s\",\"op\":", k ? "," : "", workloads[k].name);
        bench_json_string(stdout, workloads[k].op);
        printf("}");
    }
    printf("]}}\n");
    for (size_t i = 0; i < st->impl_count; i++) {
        const micro_impl *im = &st->impls[i];
        if (im->missing == NULL) continue;
        printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"kind\":\"%s\",\"skipped\":", bench_name, im->name, im->kind);
        bench_json_string(stdout, im->missing);
        printf("}\n");
    }
    fflush(stdout);
}

static int find_workload(const char *name) {
    for (int k = 0; k < WK_COUNT; k++) {
        if (strcmp(workloads[k].name, name) == 0) return k;
    }
    return -1;
}

/* One workload, one implementation, a fixed op count, no timing output. */
static int callgrind_mode(micro_state *st, const char *wname, const char *iname, const char *ops_text) {
    int wk = find_workload(wname);
    size_t n = (size_t)strtoull(ops_text, NULL, 10);
    for (size_t i = 0; i < st->impl_count && wk >= 0; i++) {
        const micro_impl *im = &st->impls[i];
        if (strcmp(im->name, iname) != 0) continue;
        if (!serves(im, wk)) {
            fprintf(stderr, "%s cannot run %s: %s\n", iname, wname, im->missing ? im->missing : "not served");
            return 2;
        }
        if (wk == WK_LIVE64) n = (n + BENCH_LIVE - 1) / BENCH_LIVE * BENCH_LIVE;
        st->ws.failures = 0;
        (void)run_once(st, im, wk, n);
        printf("%s %s %zu ops, %llu failures\n", wname, iname, n, (unsigned long long)st->ws.failures);
        return 0;
    }
    fprintf(stderr, "unknown workload or implementation: %s %s\n", wname, iname);
    return 2;
}

static void usage(void) {
    fprintf(stderr, "usage: mp_bench_micro [--quick] [--reps N] [--target-ms X] [--only WORKLOAD[,..]] [--huge-pages]\n"
                    "       mp_bench_micro --callgrind WORKLOAD IMPL OPS\n");
}

int main(int argc, char **argv) {
    int huge = 0;
    for (int i = 1; i < argc; i++) huge |= strcmp(argv[i], "--huge-pages") == 0;
    if (huge) {
        /* Read when each library initialises: before either is loaded. */
        setenv("MALLOC_CONF", "thp:always", 1);
        setenv("MIMALLOC_LARGE_OS_PAGES", "1", 1);
    }
    bench_reexec_with_tunables(argv, huge ? "glibc.malloc.hugetlb=1" : NULL);
    micro_opts o = {7, 20.0, NULL, 0};
    const char **cg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o.reps = 5;
            o.target_ms = 1.0;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            o.reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--target-ms") == 0 && i + 1 < argc) {
            o.target_ms = atof(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            o.only = argv[++i];
        } else if (strcmp(argv[i], "--huge-pages") == 0) {
            o.huge_pages = 1;
            bench_name = "micro-thp";
        } else if (strcmp(argv[i], "--callgrind") == 0 && i + 3 < argc) {
            cg = (const char **)&argv[i + 1];
            i += 3;
        } else {
            usage();
            return 2;
        }
    }
    if (o.reps < 1 || o.reps > BENCH_MAX_REPS || !(o.target_ms > 0)) {
        usage();
        return 2;
    }
    static micro_state st;
    setup_sequences(&st);
    setup_impls(&st);
    if (o.huge_pages) advise_impls(&st);
    int rc = 0;
    if (cg != NULL) {
        rc = callgrind_mode(&st, cg[0], cg[1], cg[2]);
    } else {
        print_meta(&st, &o);
        for (int wk = 0; wk < WK_COUNT; wk++) {
            if (o.only == NULL || listed(o.only, workloads[wk].name)) run_workload(&st, wk, &o);
        }
    }
    destroy_impls(&st);
    return rc;
}
