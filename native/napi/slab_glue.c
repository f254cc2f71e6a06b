/*
 * slab_glue.c - Node-API glue of MP_Slab: its create call and its size-class
 * statistics. Allocation, free, realloc, walk and the rest are the heap_*
 * exports of heap_glue.c; stats, check, reset, owns and destroy the generic
 * pool_* ones.
 *
 * The region is the caller's (a SharedArrayBuffer or ArrayBuffer made in
 * JS); the bitmaps, size tables and slab descriptors live on the native heap
 * (create_ex with cfg.region), so writes through the JS bytes never reach
 * them. The core needs a 16-byte aligned region start and refuses others
 * with MP_ERR_INVALID_ARGUMENT.
 */
#include "heap_glue.h"

#include <string.h>

MP_NAPI_HEAP_WRAPPERS(slab)

#define CLASS_FIELD_(type, name, text) MP_NAPI_FIELD(MP_SlabClassStats, type, name)
static const mp_napi_field class_fields[] = {MP_SLAB_CLASS_STATS_FIELDS(CLASS_FIELD_)};
#undef CLASS_FIELD_
static const mp_napi_stats_table slab_tables[] = {
    MP_NAPI_HEAP_STATS_TABLE,
    {"slab_class", class_fields, sizeof class_fields / sizeof class_fields[0]},
};

/* slab_create(region: Uint8Array, regionBytes, slabBytes, classSizes:
 * Int32Array | null, classCount, maxClassBytes, flags) -> id (> 0), or
 * -status when the core refuses (see last_error). 0 for slabBytes or
 * maxClassBytes is the core's default; classSizes null gives powers of two
 * up to maxClassBytes, else its first classCount entries are the classes. */
static napi_value js_slab_create(napi_env env, napi_callback_info info) {
    napi_value argv[7];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 7, argv, &e);
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    uint8_t *region = NULL;
    MP_Status st = MP_OK;
    napi_valuetype classes_type = napi_undefined;
    int32_t *classes = NULL;
    if (!mp_napi_region_args(env, argv, &region, &cfg.region_bytes, &st) ||
        !mp_napi_size_arg(env, argv[2], "slabBytes", &cfg.slab_bytes) ||
        napi_typeof(env, argv[3], &classes_type) != napi_ok ||
        (classes_type != napi_null &&
         !mp_napi_int32_array_arg(env, argv[3], argv[4], &classes, &cfg.class_count)) ||
        !mp_napi_size_arg(env, argv[5], "maxClassBytes", &cfg.max_class_bytes) ||
        !mp_napi_uint32_arg(env, argv[6], "flags", &cfg.flags)) {
        return NULL;
    }
    if (st != MP_OK) return mp_napi_int32(env, -(int32_t)st);
    size_t class_sizes[MP_SLAB_MAX_CLASSES];
    if (classes_type != napi_null) {
        if (cfg.class_count == 0 || cfg.class_count > MP_SLAB_MAX_CLASSES)
            return mp_napi_int32(env, -(int32_t)MP_ERR_INVALID_ARGUMENT);
        for (size_t i = 0; i < cfg.class_count; i++) {
            if (classes[i] < 0) return mp_napi_int32(env, -(int32_t)MP_ERR_INVALID_ARGUMENT);
            class_sizes[i] = (size_t)classes[i];
        }
        cfg.class_sizes = class_sizes;
    }
    cfg.region = region;
    MP_Slab *slab = mp_slab_create_ex(&cfg);
    if (slab == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, &mp_napi_family_slab, slab, argv[0], region,
                            (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

/* slab_class_count(id) -> number of size classes. */
static napi_value js_slab_class_count(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, &mp_napi_family_slab);
    (void)e;
    return mp_napi_double(env, (double)mp_slab_class_count(s->pool));
}

/* slab_class_stats(id, index) -> { camelCase MP_SlabClassStats field: number },
 * or the MP_Status (a number) for an index out of range. */
static napi_value js_slab_class_stats(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 2, &mp_napi_family_slab);
    (void)e;
    uint32_t index = 0;
    if (!mp_napi_uint32_arg(env, argv[1], "index", &index)) return NULL;
    MP_SlabClassStats cs;
    memset(&cs, 0, sizeof cs);
    MP_Status st = mp_slab_class_stats(s->pool, index, &cs);
    if (st != MP_OK) return mp_napi_int32(env, (int32_t)st);
    return mp_napi_stats_object(env, &slab_tables[1], &cs);
}

static napi_status slab_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"slab_create", "slab_class_count", "slab_class_stats"};
    static const napi_callback fns[] = {js_slab_create, js_slab_class_count, js_slab_class_stats};
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}

const mp_napi_family mp_napi_family_slab =
    MP_NAPI_HEAP_FAMILY(slab, slab_tables, sizeof slab_tables / sizeof slab_tables[0], slab_init);
