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

static napi_status fixed_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"fixed_region_bytes", "fixed_create",     "fixed_alloc",
                                        "fixed_free",         "fixed_alloc_many", "fixed_free_many"};
    static const napi_callback fns[] = {js_fixed_region_bytes, js_fixed_create,     js_fixed_alloc,
                                        js_fixed_free,         js_fixed_alloc_many, js_fixed_free_many};
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}

const mp_napi_family mp_napi_family_fixed = {
    "fixed",     fixed_destroy, fixed_base,
    fixed_check, fixed_reset,   fixed_owns,
    fixed_stats, fixed_tables,  sizeof fixed_tables / sizeof fixed_tables[0],
    fixed_init,  NULL,
};
