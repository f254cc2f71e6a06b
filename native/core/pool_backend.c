/*
 * pool_backend.c - the raw families as backends of the managed pool.
 *
 * The pool reaches its backends through their public API only (one
 * exception: the size of a block TLSF has just returned is read from its
 * header, see pool_be_usable_fresh). Each backend is created over a slice of
 * the pool's region (cfg->region: metadata on the heap, nothing in the region
 * but blocks and, for TLSF, its validated block headers) and single-threaded:
 * the pool's own lock covers it. The hot dispatch (alloc, free, usable size)
 * is inline in pool_internal.h.
 *
 * Strategies: FIRST/BEST/WORST_FIT -> one fit list over the whole region;
 * BUDDY -> one buddy system (units of max(64, min_block_bytes) rounded to a
 * power of two); SLAB -> one slab allocator with classes 16, 32, 64, ... up
 * to max_block_bytes (default 4096, at most the slab size); TLSF -> one TLSF.
 *
 * AUTO splits the region into three consecutive slices, in address order
 *   [ slab: auto_small_percent | TLSF: the rest | buddy: auto_large_percent ]
 * (defaults 25 / 50 / 25). Requests up to auto_small_max_bytes go to the slab
 * (classes 16, 32, ... up to auto_small_max_bytes), up to
 * auto_medium_max_bytes to TLSF, larger ones to the buddy (units of
 * auto_medium_max_bytes / 16 rounded down to a power of two, >= 64). A tier
 * that cannot serve a request falls back to the next ones: small -> TLSF ->
 * buddy, medium -> buddy, large -> TLSF. Slab slices use 64 KiB slabs when
 * they hold at least 32 of them, else 4 KiB slabs.
 */
#include "pool_internal.h"

#define POOL_SLAB_BIG_SLAB_BYTES ((size_t)65536)
#define POOL_SLAB_SMALL_SLAB_BYTES ((size_t)4096)
#define POOL_SLAB_BIG_SLAB_MIN_COUNT 32u
#define POOL_BUDDY_MIN_UNIT_BYTES ((size_t)64)
#define POOL_CLASS_MIN_BYTES ((size_t)16)

/* ------------------------------------------------------------------ routing */

/* AUTO tiers are backends 0 (slab), 1 (TLSF), 2 (buddy); each row lists the
 * tiers a request of that class tries, in order, ending with a sentinel. */
static const unsigned char pool_auto_order[3][4] = {{0, 1, 2, 3}, {1, 2, 3, 3}, {2, 1, 3, 3}};

void *pool_be_take_auto(const MP_Pool *p, size_t request_bytes, unsigned *bi) {
    unsigned tier = request_bytes <= p->auto_small_max_bytes ? 0u
                    : request_bytes <= p->auto_medium_max_bytes ? 1u
                                                                 : 2u;
    for (const unsigned char *t = pool_auto_order[tier]; *t < 3; t++) {
        if (request_bytes > p->backends[*t].max_request_bytes) continue;
        void *ptr = pool_be_alloc(p, *t, request_bytes);
        if (ptr != NULL) {
            *bi = *t;
            return ptr;
        }
    }
    return NULL;
}

/* ----------------------------------------------------------------- creation */

/* Largest power of two <= x (x >= 1). */
static size_t pool_pow2_floor(size_t x) { return (size_t)1 << mp_log2_floor(x); }

/* Fills `sizes` with 16, 32, 64, ... and finally `max_class` (rounded up to
 * 16); returns the count (<= MP_SLAB_MAX_CLASSES since sizes double). */
static size_t pool_slab_classes(size_t max_class, size_t *sizes) {
    size_t top = mp_align_up(max_class, POOL_CLASS_MIN_BYTES), n = 0;
    for (size_t c = POOL_CLASS_MIN_BYTES; c < top; c *= 2) sizes[n++] = c;
    sizes[n++] = top;
    return n;
}

static MP_Status pool_make_fitlist(pool_backend *be, uint8_t *lo, size_t bytes, MP_FitPolicy policy) {
    MP_FitListConfig c = {.region_bytes = bytes, .policy = policy, .flags = 0, .region = lo};
    be->kind = POOL_BE_FITLIST;
    be->u.fitlist = mp_fitlist_create_ex(&c);
    if (be->u.fitlist == NULL) return MP_ERR_INVALID_ARGUMENT;
    return MP_OK;
}

static MP_Status pool_make_buddy(pool_backend *be, uint8_t *lo, size_t bytes, size_t unit_bytes) {
    MP_BuddyConfig c = {
        .region_bytes = bytes, .min_block_bytes = unit_bytes, .max_block_bytes = 0, .flags = 0, .region = lo};
    be->kind = POOL_BE_BUDDY;
    be->u.buddy = mp_buddy_create_ex(&c);
    return be->u.buddy != NULL ? MP_OK : MP_ERR_INVALID_ARGUMENT;
}

static MP_Status pool_make_tlsf(pool_backend *be, uint8_t *lo, size_t bytes) {
    MP_TlsfConfig c = {
        .region_bytes = bytes, .sl_log2 = 0, .flags = 0, .region = lo, .cache_bytes = MP_TLSF_CACHE_DEFAULT_BYTES};
    be->kind = POOL_BE_TLSF;
    be->u.tlsf = mp_tlsf_create_ex(&c);
    return be->u.tlsf != NULL ? MP_OK : MP_ERR_INVALID_ARGUMENT;
}

/* A slab slice of `bytes` (rounded down to whole slabs) with classes up to
 * `max_class`; the class list is copied by the slab at create. */
static MP_Status pool_make_slab(pool_backend *be, uint8_t *lo, size_t bytes, size_t max_class) {
    size_t slab_bytes = bytes >= POOL_SLAB_BIG_SLAB_MIN_COUNT * POOL_SLAB_BIG_SLAB_BYTES
                            ? POOL_SLAB_BIG_SLAB_BYTES
                            : POOL_SLAB_SMALL_SLAB_BYTES;
    if (max_class > slab_bytes) return MP_ERR_INVALID_ARGUMENT;
    size_t sizes[MP_SLAB_MAX_CLASSES];
    MP_SlabConfig c = {.region_bytes = bytes - bytes % slab_bytes,
                       .slab_bytes = slab_bytes,
                       .class_sizes = sizes,
                       .class_count = pool_slab_classes(max_class, sizes),
                       .flags = 0,
                       .region = lo};
    be->kind = POOL_BE_SLAB;
    be->max_request_bytes = sizes[c.class_count - 1];
    be->u.slab = mp_slab_create_ex(&c);
    return be->u.slab != NULL ? MP_OK : MP_ERR_INVALID_ARGUMENT;
}

static size_t pool_buddy_unit(size_t min_block_bytes) {
    size_t unit = pool_pow2_floor(min_block_bytes);
    if (unit < min_block_bytes) unit *= 2;
    return unit < POOL_BUDDY_MIN_UNIT_BYTES ? POOL_BUDDY_MIN_UNIT_BYTES : unit;
}

/* AUTO: three slices, see the file comment. The buddy slice starts on a
 * real address aligned to its unit (the TLSF slice absorbs the difference),
 * so the buddy loses no partial unit. */
static MP_Status pool_make_auto(MP_Pool *p, const MP_PoolConfig *cfg) {
    size_t small_pct = cfg->auto_small_percent ? cfg->auto_small_percent : 25u;
    size_t large_pct = cfg->auto_large_percent ? cfg->auto_large_percent : 25u;
    if (small_pct + large_pct >= 100) return MP_ERR_INVALID_ARGUMENT;
    size_t total = p->total_bytes;
    size_t unit = pool_buddy_unit(pool_pow2_floor(p->auto_medium_max_bytes / 16 ? p->auto_medium_max_bytes / 16 : 1));
    uint8_t *lo = p->region, *end = p->region + total;
    uint8_t *medium_lo = lo + mp_align_up(total / 100 * small_pct, POOL_BASE_ALIGNMENT);
    uint8_t *large_lo = (uint8_t *)mp_align_up_ptr((uintptr_t)(end - total / 100 * large_pct), unit);
    if (large_lo >= end || large_lo <= medium_lo) return MP_ERR_INVALID_ARGUMENT;
    pool_backend *be = p->backends;
    MP_Status st = pool_make_slab(&be[0], lo, (size_t)(medium_lo - lo), p->auto_small_max_bytes);
    if (st == MP_OK) st = pool_make_tlsf(&be[1], medium_lo, (size_t)(large_lo - medium_lo));
    if (st == MP_OK) st = pool_make_buddy(&be[2], large_lo, (size_t)(end - large_lo), unit);
    be[0].lo = lo;
    be[0].hi = be[1].lo = medium_lo;
    be[1].hi = be[2].lo = large_lo;
    be[2].hi = end;
    be[1].max_request_bytes = SIZE_MAX;
    be[2].max_request_bytes = SIZE_MAX;
    return st;
}

MP_Status pool_backends_create(MP_Pool *p, const MP_PoolConfig *cfg) {
    MP_Status st;
    pool_backend *be = &p->backends[0];
    memset(p->backends, 0, sizeof p->backends);
    be->lo = p->region;
    be->hi = p->region + p->total_bytes;
    be->max_request_bytes = SIZE_MAX;
    p->backend_count = 1;
    switch (p->strategy) {
    case MP_STRATEGY_FIRST_FIT:
        st = pool_make_fitlist(be, p->region, p->total_bytes, MP_FIT_FIRST);
        break;
    case MP_STRATEGY_BEST_FIT:
        st = pool_make_fitlist(be, p->region, p->total_bytes, MP_FIT_BEST);
        break;
    case MP_STRATEGY_WORST_FIT:
        st = pool_make_fitlist(be, p->region, p->total_bytes, MP_FIT_WORST);
        break;
    case MP_STRATEGY_BUDDY:
        st = pool_make_buddy(be, p->region, p->total_bytes, pool_buddy_unit(p->min_block_bytes));
        break;
    case MP_STRATEGY_SLAB: {
        size_t max_class = cfg->max_block_bytes ? cfg->max_block_bytes : POOL_SLAB_DEFAULT_MAX_CLASS_BYTES;
        st = pool_make_slab(be, p->region, p->total_bytes, max_class);
        if (st == MP_OK && be->max_request_bytes < p->max_request_bytes)
            p->max_request_bytes = be->max_request_bytes;
        if (st == MP_OK && p->min_block_bytes > be->max_request_bytes) st = MP_ERR_INVALID_ARGUMENT;
        break;
    }
    case MP_STRATEGY_TLSF:
        st = pool_make_tlsf(be, p->region, p->total_bytes);
        break;
    case MP_STRATEGY_AUTO:
        p->backend_count = 3;
        st = pool_make_auto(p, cfg);
        break;
    default:
        st = MP_ERR_INVALID_ARGUMENT;
        break;
    }
    if (st != MP_OK) pool_backends_destroy(p);
    if (st == MP_OK && p->backend_count == 1 && be->kind == POOL_BE_TLSF && p->alignment <= POOL_BASE_ALIGNMENT) {
        p->tlsf_only = be->u.tlsf;
        p->tlsf_only->flags |= TLSF_FLAG_OWNER_COUNTS; /* fresh: its counters are all 0 */
        p->tlsf_sizes = p->min_block_bytes <= TLSF_MIN_BLOCK_BYTES - TLSF_HDR_BYTES;
    }
    return st;
}

MP_Status pool_be_release(const MP_Pool *p, uint8_t *ptr) { return pool_be_free(p, pool_backend_of(p, ptr), ptr); }

void pool_backends_destroy(MP_Pool *p) {
    for (unsigned i = 0; i < p->backend_count; i++)
        if (p->backends[i].u.fitlist != NULL) POOL_BE_CALL0(&p->backends[i], destroy);
}
