/*
 * arena_glue.c - Node-API flat functions over MP_Arena.
 *
 * The arena's buffer is the caller's region (a SharedArrayBuffer made in
 * JS); its control block lives on the native heap. Allocation returns the
 * offset from the arena base, or -1 when the request does not fit or is
 * invalid (mp_last_error tells which). Marks cross as (offset, epoch).
 * stats, check, reset, owns and destroy are the generic pool_* exports.
 */
#include "addon.h"

#define ARENA (&mp_napi_family_arena)

static void arena_destroy(void *pool) { mp_arena_destroy(pool); }
static void *arena_base(const void *pool) { return mp_arena_base(pool); }
static size_t arena_check(const void *pool) { return mp_arena_check(pool); }
static MP_Status arena_reset(void *pool) { return mp_arena_reset(pool); }
static int arena_owns(const void *pool, const void *ptr) { return mp_arena_owns(pool, ptr); }
static MP_Status arena_stats(const void *pool, void *out) { return mp_arena_stats(pool, out); }
_Static_assert(sizeof(MP_ArenaStats) <= MP_NAPI_MAX_STATS_BYTES, "stats buffer too small");

#define ARENA_FIELD_(type, name, text) MP_NAPI_FIELD(MP_ArenaStats, type, name)
static const mp_napi_field arena_fields[] = {MP_ARENA_STATS_FIELDS(ARENA_FIELD_)};
#undef ARENA_FIELD_
static const mp_napi_stats_table arena_tables[] = {
    {"arena", arena_fields, sizeof arena_fields / sizeof arena_fields[0]}};

/* arena_create(region: Uint8Array, size) -> id (> 0) or -status. */
static napi_value js_arena_create(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 2, argv, &e);
    MP_ArenaConfig cfg = {0};
    uint8_t *region = NULL;
    if (!mp_napi_bytes_arg(env, argv[0], &region, &cfg.region_bytes) ||
        !mp_napi_size_arg(env, argv[1], "size", &cfg.size)) {
        return NULL;
    }
    if (cfg.region_bytes > MP_NAPI_MAX_REGION_BYTES)
        return mp_napi_int32(env, -(int32_t)MP_ERR_INVALID_ARGUMENT);
    cfg.region = region;
    MP_Arena *arena = mp_arena_create_ex(&cfg);
    if (arena == NULL) return mp_napi_create_failed(env);
    return mp_napi_register(env, e, ARENA, arena, argv[0], region, false);
}

/* arena_alloc(id, size, align) -> offset, or -1 (see last_error). */
static napi_value js_arena_alloc(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, ARENA);
    (void)e;
    uint32_t size = 0;
    uint32_t align = 0;
    if (napi_get_value_uint32(env, argv[1], &size) != napi_ok ||
        napi_get_value_uint32(env, argv[2], &align) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "size and align must be numbers");
        return NULL;
    }
    return mp_napi_offset_of(env, s, mp_arena_alloc(s->pool, size, align));
}

/* arena_mark(id) -> { offset, epoch }. */
static napi_value js_arena_mark(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, ARENA);
    (void)e;
    napi_value obj;
    if (napi_create_object(env, &obj) != napi_ok) return NULL;
    MP_ArenaMark mark = mp_arena_mark(s->pool);
    napi_set_named_property(env, obj, "offset", mp_napi_double(env, (double)mark.offset));
    napi_set_named_property(env, obj, "epoch", mp_napi_double(env, (double)mark.epoch));
    return obj;
}

/* arena_offset(id) -> bytes used from the base (the current mark's offset). */
static napi_value js_arena_offset(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, ARENA);
    (void)e;
    return mp_napi_double(env, (double)mp_arena_mark(s->pool).offset);
}

/* arena_rewind(id, offset, epoch) -> MP_Status. */
static napi_value js_arena_rewind(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, ARENA);
    (void)e;
    MP_ArenaMark mark = {0, 0};
    size_t epoch = 0;
    if (!mp_napi_size_arg(env, argv[1], "offset", &mark.offset) ||
        !mp_napi_size_arg(env, argv[2], "epoch", &epoch)) {
        return NULL;
    }
    mark.epoch = epoch;
    return mp_napi_int32(env, (int32_t)mp_arena_rewind(s->pool, mark));
}

static napi_status arena_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"arena_create", "arena_alloc", "arena_mark", "arena_offset",
                                        "arena_rewind"};
    static const napi_callback fns[] = {js_arena_create, js_arena_alloc, js_arena_mark, js_arena_offset,
                                        js_arena_rewind};
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}

const mp_napi_family mp_napi_family_arena = {
    "arena",     arena_destroy, arena_base,
    arena_check, arena_reset,   arena_owns,
    arena_stats, arena_tables,  sizeof arena_tables / sizeof arena_tables[0],
    arena_init,  NULL,
};
