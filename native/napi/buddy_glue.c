/*
 * buddy_glue.c - Node-API glue of MP_Buddy: its create call. Allocation,
 * free, realloc, walk and the rest are the heap_* exports of heap_glue.c;
 * stats, check, reset, owns and destroy the generic pool_* ones.
 *
 * The region is the caller's (a SharedArrayBuffer or ArrayBuffer made in
 * JS); the buddy's tags and links live on the native heap (create_ex with
 * cfg.region), so writes through the JS bytes never reach them. The core
 * rounds the region start up to min_block_bytes: region_offset(id) tells
 * JS where the managed bytes begin.
 */
#include "heap_glue.h"

MP_NAPI_HEAP_WRAPPERS(buddy)

/* buddy_create(region: Uint8Array, regionBytes, minBlockBytes, maxBlockBytes,
 * flags) -> id (> 0), or -status when the core refuses (see last_error). */
static napi_value js_buddy_create(napi_env env, napi_callback_info info) {
    napi_value argv[5];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 5, argv, &e);
    MP_BuddyConfig cfg = {0, 0, 0, 0, NULL};
    uint8_t *region = NULL;
    MP_Status st = MP_OK;
    if (!mp_napi_region_args(env, argv, &region, &cfg.region_bytes, &st) ||
        !mp_napi_size_arg(env, argv[2], "minBlockBytes", &cfg.min_block_bytes) ||
        !mp_napi_size_arg(env, argv[3], "maxBlockBytes", &cfg.max_block_bytes) ||
        !mp_napi_uint32_arg(env, argv[4], "flags", &cfg.flags)) {
        return NULL;
    }
    if (st != MP_OK) return mp_napi_int32(env, -(int32_t)st);
    cfg.region = region;
    MP_Buddy *b = mp_buddy_create_ex(&cfg);
    if (b == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, &mp_napi_family_buddy, b, argv[0], region,
                            (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

static napi_status buddy_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"buddy_create"};
    static const napi_callback fns[] = {js_buddy_create};
    return mp_napi_define(env, exports, e, names, fns, 1);
}

const mp_napi_family mp_napi_family_buddy =
    MP_NAPI_HEAP_FAMILY(buddy, mp_napi_heap_stats_tables, 2, buddy_init);
