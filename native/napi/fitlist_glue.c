/*
 * fitlist_glue.c - Node-API glue of MP_FitList: its create call. Allocation,
 * free, realloc, walk and the rest are the heap_* exports of heap_glue.c;
 * stats, check, reset, owns and destroy the generic pool_* ones.
 *
 * The region is the caller's (a SharedArrayBuffer or ArrayBuffer made in
 * JS); the tags, boundary tags and tree nodes live on the native heap
 * (create_ex with cfg.region), so writes through the JS bytes never reach
 * them. The core manages the 16-byte granules inside the region:
 * region_offset(id) tells JS where they begin.
 */
#include "heap_glue.h"

MP_NAPI_HEAP_WRAPPERS(fitlist)

/* fitlist_create(region: Uint8Array, regionBytes, policy (MP_FitPolicy),
 * flags) -> id (> 0), or -status when the core refuses (see last_error). */
static napi_value js_fitlist_create(napi_env env, napi_callback_info info) {
    napi_value argv[4];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 4, argv, &e);
    MP_FitListConfig cfg = {0, MP_FIT_FIRST, 0, NULL};
    uint8_t *region = NULL;
    uint32_t policy = 0;
    MP_Status st = MP_OK;
    if (!mp_napi_region_args(env, argv, &region, &cfg.region_bytes, &st) ||
        !mp_napi_uint32_arg(env, argv[2], "policy", &policy) ||
        !mp_napi_uint32_arg(env, argv[3], "flags", &cfg.flags)) {
        return NULL;
    }
    if (st == MP_OK && policy > (uint32_t)MP_FIT_WORST) st = MP_ERR_INVALID_ARGUMENT;
    if (st != MP_OK) return mp_napi_int32(env, -(int32_t)st);
    cfg.policy = (MP_FitPolicy)policy;
    cfg.region = region;
    MP_FitList *f = mp_fitlist_create_ex(&cfg);
    if (f == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, &mp_napi_family_fitlist, f, argv[0], region,
                            (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

static napi_status fitlist_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"fitlist_create"};
    static const napi_callback fns[] = {js_fitlist_create};
    return mp_napi_define(env, exports, e, names, fns, 1);
}

const mp_napi_family mp_napi_family_fitlist =
    MP_NAPI_HEAP_FAMILY(fitlist, mp_napi_heap_stats_tables, 2, fitlist_init);
