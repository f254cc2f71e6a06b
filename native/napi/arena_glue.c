/*
 * arena_glue.c - Node-API flat functions over MP_Arena.
 *
 * The arena's buffer is the caller's region (a SharedArrayBuffer made in
 * JS); its control block lives on the native heap. Allocation (through the
 * window below) returns the offset from the arena base, or -1 when the
 * request does not fit or is invalid (mp_last_error tells which); there is
 * no window-less allocation export, which would bypass the open window.
 * Marks cross as (offset, epoch).
 * stats, check, reset, owns and destroy are the generic pool_* exports.
 *
 * JS bump window. Each arena is registered as an arena_box: the arena plus
 * an MP_ArenaWindow opened on it at create and kept open until destroy. JS
 * runs the inline part of mp_arena_window_alloc itself on offsets (lib/
 * arena.ts: cursor, end and a count of bumps) and calls native only to
 * refill (arena_window_refill) or to give the tail back before anything
 * that reads or moves the arena (arena_window_sync). Both first replay the
 * JS bumps onto the window: the cursor and alloc_count fields, exactly the
 * ones the header's inline mp_arena_window_alloc writes, so the C window
 * code (refill, tail return, count folding, reset/rewind emptying) stays the
 * one implementation. Arenas are single-env (never shareable, the core
 * refuses MP_FLAG_THREAD_SAFE), so one JS thread owns both sides.
 */
#include "addon.h"

#include <stdlib.h>

#define ARENA (&mp_napi_family_arena)

typedef struct arena_box {
    MP_Arena *arena;
    MP_ArenaWindow window; /* open from create to destroy */
} arena_box;

#define ARENA_OF(pool) (((const arena_box *)(pool))->arena)

static void arena_destroy(void *pool) {
    mp_arena_destroy(ARENA_OF(pool)); /* detaches the window */
    free(pool);
}
static void *arena_base(const void *pool) { return mp_arena_base(ARENA_OF(pool)); }
static size_t arena_check(const void *pool) { return mp_arena_check(ARENA_OF(pool)); }
static MP_Status arena_reset(void *pool) { return mp_arena_reset(ARENA_OF(pool)); }
static int arena_owns(const void *pool, const void *ptr) { return mp_arena_owns(ARENA_OF(pool), ptr); }
static MP_Status arena_stats(const void *pool, void *out) { return mp_arena_stats(ARENA_OF(pool), out); }
_Static_assert(sizeof(MP_ArenaStats) <= MP_NAPI_MAX_STATS_BYTES, "stats buffer too small");

#define ARENA_FIELD_(type, name, text) MP_NAPI_FIELD(MP_ArenaStats, type, name)
static const mp_napi_field arena_fields[] = {MP_ARENA_STATS_FIELDS(ARENA_FIELD_)};
#undef ARENA_FIELD_
static const mp_napi_stats_table arena_tables[] = {
    {"arena", arena_fields, sizeof arena_fields / sizeof arena_fields[0]}};

/* Bytes a refill reserves (more when the request needs it). */
#define ARENA_WINDOW_CHUNK_BYTES ((size_t)64 << 10)

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
    arena_box *box = malloc(sizeof *box);
    if (box == NULL) return mp_napi_int32(env, -(int32_t)MP_ERR_OUT_OF_MEMORY);
    box->arena = mp_arena_create_ex(&cfg);
    if (box->arena == NULL) {
        free(box);
        return mp_napi_create_failed(env);
    }
    /* Cannot fail: both non-NULL, the fresh arena has no window. */
    (void)mp_arena_window_open(box->arena, &box->window, ARENA_WINDOW_CHUNK_BYTES);
    return mp_napi_register(env, e, ARENA, box, argv[0], region, false);
}

/* Replays the JS bumps since the last refill: the window's cursor moves to
 * offset `cur` and `count` allocations join its count. false (nothing
 * changed) when the window is empty but bumps are claimed, or `cur` is not
 * in [cursor, end] of the window. */
static bool arena_window_replay(const mp_napi_slot *s, MP_ArenaWindow *w, double cur, double count) {
    if (!(count >= 0 && count <= (double)UINT32_MAX && cur >= 0 && cur <= (double)INT32_MAX)) return false;
    uintptr_t at = s->base + (uintptr_t)cur;
    if (w->end == 0) return count == 0;
    if (at < w->cur || at > w->end) return false;
    w->cur = at;
    w->alloc_count += (uint64_t)count;
    return true;
}

/* arena_window_refill(id, cur, count, size, align) -> offset or -1 (see
 * last_error), after replaying the JS bumps; frame[0] = the window's new end
 * offset, 0 when it is empty (the request was served by mp_arena_alloc or
 * failed). The new cursor is offset + size when the window is not empty. */
static napi_value js_arena_window_refill(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 5, ARENA);
    arena_box *box = s->pool;
    double cur = 0, count = 0;
    uint32_t size = 0, align = 0;
    if (napi_get_value_double(env, argv[1], &cur) != napi_ok ||
        napi_get_value_double(env, argv[2], &count) != napi_ok ||
        napi_get_value_uint32(env, argv[3], &size) != napi_ok ||
        napi_get_value_uint32(env, argv[4], &align) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "arguments must be numbers");
        return NULL;
    }
    if (!arena_window_replay(s, &box->window, cur, count)) {
        napi_throw_error(env, "MP_ERR_INVALID_ARGUMENT", "window cursor outside the window");
        return NULL;
    }
    void *block = mp_arena_window_refill_alloc(&box->window, size, align);
    e->frame[0] = box->window.end != 0 ? (double)(box->window.end - s->base) : 0.0;
    return mp_napi_offset_of(env, s, block);
}

/* arena_window_sync(id, cur, count) -> MP_Status: replays the JS bumps and
 * gives the window's tail back (closes and reopens it, empty). */
static napi_value js_arena_window_sync(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 3, ARENA);
    (void)e;
    arena_box *box = s->pool;
    double cur = 0, count = 0;
    if (napi_get_value_double(env, argv[1], &cur) != napi_ok ||
        napi_get_value_double(env, argv[2], &count) != napi_ok ||
        !arena_window_replay(s, &box->window, cur, count)) {
        return mp_napi_int32(env, (int32_t)MP_ERR_INVALID_ARGUMENT);
    }
    MP_Status st = mp_arena_window_close(&box->window);
    if (st == MP_OK) st = mp_arena_window_open(box->arena, &box->window, ARENA_WINDOW_CHUNK_BYTES);
    return mp_napi_int32(env, (int32_t)st);
}

/* arena_base_low(id) -> the arena base address mod 2^31: JS aligns offsets
 * with it so that blocks are aligned on real addresses, as the core does. */
static napi_value js_arena_base_low(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, ARENA);
    (void)e;
    return mp_napi_double(env, (double)(s->base & (uintptr_t)INT32_MAX));
}

/* arena_mark(id) -> { offset, epoch }. */
static napi_value js_arena_mark(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, ARENA);
    (void)e;
    napi_value obj;
    if (napi_create_object(env, &obj) != napi_ok) return NULL;
    MP_ArenaMark mark = mp_arena_mark(ARENA_OF(s->pool));
    napi_set_named_property(env, obj, "offset", mp_napi_double(env, (double)mark.offset));
    napi_set_named_property(env, obj, "epoch", mp_napi_double(env, (double)mark.epoch));
    return obj;
}

/* arena_offset(id) -> bytes used from the base (the current mark's offset). */
static napi_value js_arena_offset(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, ARENA);
    (void)e;
    return mp_napi_double(env, (double)mp_arena_mark(ARENA_OF(s->pool)).offset);
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
    return mp_napi_int32(env, (int32_t)mp_arena_rewind(ARENA_OF(s->pool), mark));
}

static napi_status arena_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"arena_create",        "arena_mark",        "arena_offset",
                                        "arena_rewind",        "arena_window_refill", "arena_window_sync",
                                        "arena_base_low"};
    static const napi_callback fns[] = {js_arena_create,        js_arena_mark,        js_arena_offset,
                                        js_arena_rewind,        js_arena_window_refill, js_arena_window_sync,
                                        js_arena_base_low};
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}

const mp_napi_family mp_napi_family_arena = {
    "arena",     arena_destroy, arena_base,
    arena_check, arena_reset,   arena_owns,
    arena_stats, arena_tables,  sizeof arena_tables / sizeof arena_tables[0],
    arena_init,  NULL,
};
