/*
 * tlsf_glue.c - Node-API glue of MP_Tlsf: its create call. Allocation,
 * free, realloc, walk and the rest are the heap_* exports of heap_glue.c;
 * stats, check, reset, owns and destroy the generic pool_* ones.
 *
 * The region is the caller's (a SharedArrayBuffer or ArrayBuffer made in
 * JS) and the control block with the free-list heads lives on the native
 * heap (create_ex with cfg.region). TLSF keeps its block headers inside the
 * region: the core validates every header and link before use, so writes
 * through the JS bytes are reported as MP_ERR_CORRUPTION (and by check()),
 * never followed.
 */
#include "heap_glue.h"

MP_NAPI_HEAP_WRAPPERS(tlsf)

/* tlsf_create(region: Uint8Array, regionBytes, slLog2, flags, cacheBytes,
 * smallBytes) -> id (> 0), or -status when the core refuses (see
 * last_error). */
static napi_value js_tlsf_create(napi_env env, napi_callback_info info) {
    napi_value argv[6];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 6, argv, &e);
    MP_TlsfConfig cfg = {0, 0, 0, NULL, 0, 0};
    uint8_t *region = NULL;
    MP_Status st = MP_OK;
    if (!mp_napi_region_args(env, argv, &region, &cfg.region_bytes, &st) ||
        !mp_napi_uint32_arg(env, argv[2], "slLog2", &cfg.sl_log2) ||
        !mp_napi_uint32_arg(env, argv[3], "flags", &cfg.flags) ||
        !mp_napi_size_arg(env, argv[4], "cacheBytes", &cfg.cache_bytes) ||
        !mp_napi_size_arg(env, argv[5], "smallBytes", &cfg.small_bytes)) {
        return NULL;
    }
    if (st != MP_OK) return mp_napi_int32(env, -(int32_t)st);
    cfg.region = region;
    MP_Tlsf *t = mp_tlsf_create_ex(&cfg);
    if (t == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, &mp_napi_family_tlsf, t, argv[0], region,
                            (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

static napi_status tlsf_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"tlsf_create"};
    static const napi_callback fns[] = {js_tlsf_create};
    return mp_napi_define(env, exports, e, names, fns, 1);
}

const mp_napi_family mp_napi_family_tlsf = MP_NAPI_HEAP_FAMILY(tlsf, mp_napi_heap_stats_tables, 2, tlsf_init);
