/*
 * fixed_pool_glue.c - Node-API flat functions over MP_FixedPool.
 *
 * Every function takes the pool id first and returns a number: an offset
 * from the pool base (or -1 when the pool is exhausted, with mp_last_error
 * telling why), a count, or an MP_Status; alloc and free are frame calls
 * (addon.h) that take and return the same numbers through the call frame.
 * Slots live in the caller's region (a SharedArrayBuffer made in JS); the
 * pool's metadata lives on the native heap (create_ex with cfg.region), so
 * writes through the JS bytes can never reach it. Batch calls move offsets
 * through an Int32Array without copies.
 * stats, check, reset, owns and destroy are the generic pool_* exports.
 */
#include "addon.h"

#define FIXED (&mp_napi_family_fixed)

static void fixed_destroy(void *pool) { mp_fixed_pool_destroy(pool); }
static void *fixed_base(const void *pool) { return mp_fixed_pool_base(pool); }
static size_t fixed_check(const void *pool) { return mp_fixed_pool_check(pool); }
static MP_Status fixed_reset(void *pool) { return mp_fixed_pool_reset(pool); }
static int fixed_owns(const void *pool, const void *ptr) { return mp_fixed_pool_owns(pool, ptr); }
static MP_Status fixed_stats(const void *pool, void *out) { return mp_fixed_pool_stats(pool, out); }
_Static_assert(sizeof(MP_FixedPoolStats) <= MP_NAPI_MAX_STATS_BYTES, "stats buffer too small");

#define FIXED_FIELD_(type, name, text) MP_NAPI_FIELD(MP_FixedPoolStats, type, name)
static const mp_napi_field fixed_fields[] = {MP_FIXED_POOL_STATS_FIELDS(FIXED_FIELD_)};
#undef FIXED_FIELD_
static const mp_napi_stats_table fixed_tables[] = {
    {"fixed", fixed_fields, sizeof fixed_fields / sizeof fixed_fields[0]}};

/* Unpacks (objectSize, capacity, alignment) starting at argv[0]. */
static bool config_args(napi_env env, const napi_value *argv, MP_FixedPoolConfig *cfg) {
    return mp_napi_size_arg(env, argv[0], "objectSize", &cfg->object_size) &&
           mp_napi_size_arg(env, argv[1], "capacity", &cfg->capacity) &&
           mp_napi_size_arg(env, argv[2], "alignment", &cfg->alignment);
}

/* fixed_region_bytes(objectSize, capacity, alignment) -> bytes the slots
 * need (aligned start assumed), 0 for an invalid configuration. */
static napi_value js_fixed_region_bytes(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 3, argv, &e);
    MP_FixedPoolConfig cfg = {0};
    if (!config_args(env, argv, &cfg)) return NULL;
    return mp_napi_double(env, (double)mp_fixed_pool_region_bytes(&cfg));
}

/* fixed_create(region: Uint8Array, objectSize, capacity, alignment, flags)
 * -> id (> 0), or -status when the core refuses (see last_error). */
static napi_value js_fixed_create(napi_env env, napi_callback_info info) {
    napi_value argv[5];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 5, argv, &e);
    MP_FixedPoolConfig cfg = {0};
    uint8_t *region = NULL;
    if (!mp_napi_bytes_arg(env, argv[0], &region, &cfg.region_bytes) || !config_args(env, argv + 1, &cfg) ||
        napi_get_value_uint32(env, argv[4], &cfg.flags) != napi_ok) {
        return NULL;
    }
    if (cfg.region_bytes > MP_NAPI_MAX_REGION_BYTES)
        return mp_napi_int32(env, -(int32_t)MP_ERR_INVALID_ARGUMENT);
    cfg.region = region;
    MP_FixedPool *pool = mp_fixed_pool_create_ex(&cfg);
    if (pool == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, FIXED, pool, argv[0], region, (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

/* fixed_alloc(), a frame call: [id] -> [offset, or -1 when every slot is in use]. */
static napi_value js_fixed_alloc(napi_env env, napi_callback_info info) {
    (void)info;
    mp_napi_env *e;
    mp_napi_slot *s = mp_napi_frame_slot(env, FIXED, &e);
    if (s == NULL) return NULL;
    void *ptr = mp_fixed_pool_alloc(s->pool);
    e->frame[0] = ptr != NULL ? (double)(int32_t)((uintptr_t)ptr - s->base) : -1.0; /* offsets < 2^31 */
    return NULL;
}

/* fixed_free(), a frame call: [id, offset (word A)] -> [MP_Status]. */
static napi_value js_fixed_free(napi_env env, napi_callback_info info) {
    (void)info;
    mp_napi_env *e;
    mp_napi_slot *s = mp_napi_frame_slot(env, FIXED, &e);
    if (s == NULL) return NULL;
    uint32_t offset = e->words[MP_NAPI_FRAME_A];
    e->frame[0] = (double)mp_fixed_pool_free(s->pool, (void *)(s->base + offset));
    return NULL;
}

/* fixed_alloc_many(id, out: Int32Array, count) -> slots allocated into out[0..n). */
static napi_value js_fixed_alloc_many(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, FIXED);
    (void)e;
    int32_t *out = NULL;
    size_t count = 0;
    if (!mp_napi_int32_array_arg(env, argv[1], argv[2], &out, &count)) return NULL;
    return mp_napi_int32(env, (int32_t)mp_fixed_pool_alloc_many(s->pool, (uint32_t *)out, count));
}

/* fixed_free_many(id, offsets: Int32Array, count) -> MP_Status; on failure
 * batch_done() tells how many were freed before the offending offset. */
static napi_value js_fixed_free_many(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, FIXED);
    int32_t *offsets = NULL;
    size_t count = 0;
    if (!mp_napi_int32_array_arg(env, argv[1], argv[2], &offsets, &count)) return NULL;
    MP_Status st = mp_fixed_pool_free_many(s->pool, (const uint32_t *)offsets, count, &e->batch_done);
    return mp_napi_int32(env, (int32_t)st);
}

/*
 * Batch kernels of the JS cache. A cached FixedPool (lib/fixed-pool.ts)
 * keeps one Int32Array: the state of slot i at [i] for i < base (=
 * capacity), then a stack of free slot indices at [base, top). Its
 * allocMany/freeMany run their cache loops here, in one C loop per call
 * over that array (registered once by fixed_cache_attach) and the caller's
 * Int32Array, instead of per-element typed-array accesses in optimized JS,
 * each of which re-checks the array's map, length and data pointer. The
 * kernels only move entries and states exactly as the JS loops they
 * replace; every decision about refusals, counters and the core stays in
 * TypeScript. Every index they write through is bounds-checked: nothing
 * from the frame or the array is trusted blindly.
 */
#define JS_SLOT_IN_USE (-1) /* lib/fixed-pool.ts: the only negative entry */
#define JS_SLOT_RELEASED 2

/* fixed_cache_attach(id, states: Int32Array, base, inverse) -> MP_Status.
 * Registers the pool's states+cache array: base (the capacity) < its
 * length, and inverse must be the inverse of the slot stride's odd part
 * mod 2^32 (checked, so a kernel maps offsets exactly as the core does). */
static napi_value js_fixed_cache_attach(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 4, FIXED);
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void *data = NULL;
    uint32_t base = 0, inverse = 0;
    MP_FixedPoolStats st;
    if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
        type != napi_int32_array || napi_get_value_uint32(env, argv[2], &base) != napi_ok ||
        napi_get_value_uint32(env, argv[3], &inverse) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "fixed_cache_attach(id, Int32Array, base, inverse)");
        return NULL;
    }
    if (mp_fixed_pool_stats(s->pool, &st) != MP_OK || st.capacity != base || length <= base ||
        length > UINT32_MAX || st.slot_size_bytes > UINT32_MAX)
        return mp_napi_int32(env, (int32_t)MP_ERR_INVALID_ARGUMENT);
    uint32_t stride = (uint32_t)st.slot_size_bytes, shift = 0;
    while (((stride >> shift) & 1u) == 0) shift++;
    if ((stride >> shift) * inverse != 1u) return mp_napi_int32(env, (int32_t)MP_ERR_INVALID_ARGUMENT);
    napi_ref ref = NULL;
    if (napi_create_reference(env, argv[1], 1, &ref) != napi_ok) return NULL;
    if (s->js_cache_ref != NULL) napi_delete_reference(env, s->js_cache_ref);
    s->js_cache = data;
    s->js_cache_length = (uint32_t)length;
    s->js_cache_base = base;
    s->js_cache_stride = stride;
    s->js_cache_inverse = inverse;
    s->js_cache_shift = shift;
    s->js_cache_ref = ref;
    return mp_napi_int32(env, (int32_t)MP_OK);
}

/* fixed_cache_bind(id, which, array) -> MP_Status: array becomes the one the
 * take (which 0) or put (which 1) kernel works on, until bound again or the
 * pool is destroyed (the addon holds a reference to it meanwhile). The
 * array is read as mp_napi_int32_words does. */
static napi_value js_fixed_cache_bind(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, FIXED);
    uint32_t which = 0;
    int32_t *data = NULL;
    size_t length = 0;
    if (napi_get_value_uint32(env, argv[1], &which) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "fixed_cache_bind(id, which, Int32Array)");
        return NULL;
    }
    if (!mp_napi_int32_words(env, argv[2], &data, &length)) return NULL;
    if (which > 1 || length > UINT32_MAX) return mp_napi_int32(env, (int32_t)MP_ERR_INVALID_ARGUMENT);
    napi_ref ref = NULL;
    if (napi_create_reference(env, argv[2], 1, &ref) != napi_ok) return NULL;
    if (s->js_batch_ref[which] != NULL) napi_delete_reference(env, s->js_batch_ref[which]);
    s->js_batch[which] = data;
    s->js_batch_length[which] = (uint32_t)length;
    s->js_batch_ref[which] = ref;
    return mp_napi_int32(env, (int32_t)MP_OK);
}

/* One kernel call's inputs: this env, the pool's slot (with its registered
 * cache), the bound array, and the frame's top and count. */
typedef struct cache_call {
    mp_napi_env *e;
    mp_napi_slot *s;
    int32_t *array;
    uint32_t top, count;
} cache_call;

/* Opens a kernel, a frame call without arguments: word MP_NAPI_FRAME_ID
 * names a pool with a registered cache and a bound array `which`, word _A
 * (top) is in [base, length] and word _B (count) at most the array's bound
 * length; false with an exception pending otherwise. */
static bool cache_kernel_args(napi_env env, unsigned which, cache_call *c) {
    c->s = mp_napi_frame_slot(env, FIXED, &c->e);
    if (c->s == NULL) return false;
    if (c->s->js_cache == NULL || c->s->js_batch[which] == NULL) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "a cache kernel needs an attached cache and a bound array");
        return false;
    }
    c->top = c->e->words[MP_NAPI_FRAME_A];
    c->count = c->e->words[MP_NAPI_FRAME_B];
    if (c->top < c->s->js_cache_base || c->top > c->s->js_cache_length || c->count > c->s->js_batch_length[which]) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "a cache kernel's top or count is out of bounds");
        return false;
    }
    c->array = c->s->js_batch[which];
    return true;
}

/* fixed_cache_take(), a frame call: words [id, top, count] -> frame[0] taken. Pops up
 * to `count` slots off the cache (from the top), writes their offsets to
 * out[0..taken) of the bound array 0 and marks them IN_USE: allocMany's cache loop. Takes none
 * if an entry is not a slot index (corruption, which the caller reports). */
static napi_value js_fixed_cache_take(napi_env env, napi_callback_info info) {
    (void)info;
    cache_call c;
    if (!cache_kernel_args(env, 0, &c)) return NULL;
    int32_t *states = c.s->js_cache, *out = c.array;
    const uint32_t base = c.s->js_cache_base, stride = c.s->js_cache_stride;
    const uint32_t n = c.top - base < c.count ? c.top - base : c.count;
    const int32_t *from = states + c.top - n; /* popped: from[n - 1] first */
    /* Validate first, in a branch-free pass the compiler vectorizes, so the
     * loop that writes has no exit and unrolls. A bad entry takes nothing. */
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) bad |= (uint32_t)((uint32_t)from[i] >= base);
    if (bad == 0) {
#pragma GCC unroll 4
        for (uint32_t i = 0; i < n; i++) {
            uint32_t slot = (uint32_t)from[n - 1 - i];
            out[i] = (int32_t)(slot * stride);
            states[slot] = JS_SLOT_IN_USE;
        }
    }
    c.e->frame[0] = bad == 0 ? (double)n : 0.0;
    return NULL;
}

/* fixed_cache_put(), a frame call: words [id, top, count] -> frame[0] put. While
 * the cache has room, maps each of offsets[0..count) (the bound array 1) to its slot (as the
 * core does: multiply, rotate; a non-slot maps >= base) and, if that slot
 * is IN_USE, marks it RELEASED and pushes it at states[top + i]: freeMany's
 * cache loop. Stops at the first offset that is not a slot in use. */
static napi_value js_fixed_cache_put(napi_env env, napi_callback_info info) {
    (void)info;
    cache_call c;
    if (!cache_kernel_args(env, 1, &c)) return NULL;
    int32_t *states = c.s->js_cache, *to = states + c.top;
    const int32_t *offsets = c.array;
    const uint32_t base = c.s->js_cache_base, inverse = c.s->js_cache_inverse, shift = c.s->js_cache_shift;
    const uint32_t room = c.s->js_cache_length - c.top, n = room < c.count ? room : c.count;
    /* Pointers rather than an index: the loop keeps no copy of i for its exit. */
    const int32_t *p = offsets, *const end = offsets + n;
#pragma GCC unroll 4
    for (; p != end; p++, to++) {
        uint32_t x = (uint32_t)*p * inverse;
        uint32_t slot = (x >> shift) | (x << ((32u - shift) & 31u));
        if (slot >= base || states[slot] != JS_SLOT_IN_USE) break; /* index only once in range */
        states[slot] = JS_SLOT_RELEASED;
        *to = (int32_t)slot;
    }
    c.e->frame[0] = (double)(p - offsets);
    return NULL;
}

static napi_status fixed_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"fixed_region_bytes", "fixed_create",     "fixed_alloc",
                                        "fixed_free",         "fixed_alloc_many", "fixed_free_many",
                                        "fixed_cache_attach", "fixed_cache_bind",  "fixed_cache_take",
                                        "fixed_cache_put"};
    static const napi_callback fns[] = {js_fixed_region_bytes, js_fixed_create,     js_fixed_alloc,
                                        js_fixed_free,         js_fixed_alloc_many, js_fixed_free_many,
                                        js_fixed_cache_attach, js_fixed_cache_bind,  js_fixed_cache_take,
                                        js_fixed_cache_put};
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}

const mp_napi_family mp_napi_family_fixed = {
    "fixed",     fixed_destroy, fixed_base,
    fixed_check, fixed_reset,   fixed_owns,
    fixed_stats, fixed_tables,  sizeof fixed_tables / sizeof fixed_tables[0],
    fixed_init,  NULL,
};
