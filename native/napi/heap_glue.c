/*
 * heap_glue.c - the flat functions every variable-size family (buddy, slab,
 * TLSF, fit list) shares: heap_<verb>(id, ...), reaching the pool's C calls
 * through its family's `heap` table (heap_glue.h).
 *
 * Conventions, as in the other glue files: offsets from the pool base cross
 * the boundary as int32; allocation returns an offset or -1 (mp_last_error
 * tells why); realloc and trim return a non-negative result or -status;
 * free returns an MP_Status (alloc and free are frame calls, addon.h: the
 * same numbers pass through the call frame). Batch calls loop over an
 * Int32Array in one native call and stop at the first failure (alloc_many: its count tells
 * where, mp_last_error why; free_many: batch_done() and the status).
 * Walks copy (offset, usable bytes, used) triples into a new Int32Array so
 * the family's lock (thread-safe pools) is never held while JS runs.
 * Nothing here knows how a family allocates.
 */
#include "heap_glue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_FIELD_(type, name, text) MP_NAPI_FIELD(MP_HeapStats, type, name)
const mp_napi_field mp_napi_heap_fields[] = {MP_HEAP_STATS_FIELDS(HEAP_FIELD_)};
#undef HEAP_FIELD_
#define FREE_FIELD_(type, name, text) MP_NAPI_FIELD(MP_FreeStats, type, name)
const mp_napi_field mp_napi_free_fields[] = {MP_FREE_STATS_FIELDS(FREE_FIELD_)};
#undef FREE_FIELD_
const mp_napi_stats_table mp_napi_heap_stats_tables[2] = {MP_NAPI_HEAP_STATS_TABLE, MP_NAPI_FREE_STATS_TABLE};
static const mp_napi_stats_table free_table = MP_NAPI_FREE_STATS_TABLE;

bool mp_napi_region_args(napi_env env, const napi_value *argv, uint8_t **region, size_t *region_bytes,
                         MP_Status *status) {
    size_t length = 0;
    if (!mp_napi_bytes_arg(env, argv[0], region, &length) ||
        !mp_napi_size_arg(env, argv[1], "regionBytes", region_bytes)) {
        return false;
    }
    *status =
        *region_bytes > length || *region_bytes > MP_NAPI_MAX_REGION_BYTES ? MP_ERR_INVALID_ARGUMENT : MP_OK;
    return true;
}

bool mp_napi_uint32_arg(napi_env env, napi_value value, const char *what, uint32_t *out) {
    if (napi_get_value_uint32(env, value, out) == napi_ok) return true;
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", msg);
    return false;
}

/** Opens a heap_* function: as MP_NAPI_POOL_ARGS for a pool of any family
 * that has a `heap` table; declares `ops` too. */
#define HEAP_ARGS(env, info, max)                                                                            \
    MP_NAPI_POOL_ARGS(env, info, max, NULL);                                                                 \
    (void)e;                                                                                                 \
    const mp_napi_heap_ops *ops = s->family->heap;                                                           \
    if (ops == NULL) return heap_refused(env)

static napi_value heap_refused(napi_env env) {
    napi_throw_error(env, "MP_ERR_INVALID_HANDLE", "this pool is not a variable-size allocator");
    return NULL;
}

/* Reads argument `value` as a uint32 byte count; false with TypeError pending. */
static bool bytes_arg(napi_env env, napi_value value, size_t *out) {
    uint32_t v = 0;
    if (!mp_napi_uint32_arg(env, value, "size and align", &v)) return false;
    *out = v;
    return true;
}

/* Opens a heap frame call (addon.h): `e`, `s` (the pool of the frame's id)
 * and `ops`, or returns NULL with a JS exception pending. */
#define HEAP_FRAME(env, info)                                                                                \
    (void)(info);                                                                                            \
    mp_napi_env *e;                                                                                          \
    mp_napi_slot *s = mp_napi_frame_slot((env), NULL, &e);                                                   \
    if (s == NULL) return NULL;                                                                              \
    const mp_napi_heap_ops *ops = s->family->heap;                                                           \
    if (ops == NULL) return heap_refused(env)

/* heap_alloc(), a frame call: [id, size (word A)] -> [offset, or -1 when it
 * failed (see last_error)]. */
static napi_value js_heap_alloc(napi_env env, napi_callback_info info) {
    HEAP_FRAME(env, info);
    uint32_t size = e->words[MP_NAPI_FRAME_A];
    void *ptr = ops->alloc(s->pool, size);
    e->frame[0] = ptr != NULL ? (double)(int32_t)((uintptr_t)ptr - s->base) : -1.0; /* offsets < 2^31 */
    return NULL;
}

/* heap_calloc(id, size) -> offset of a zeroed block, or -1 (see last_error). */
static napi_value js_heap_calloc(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 2);
    size_t size = 0;
    if (!bytes_arg(env, argv[1], &size)) return NULL;
    return mp_napi_offset_of(env, s, ops->calloc(s->pool, size));
}

/* heap_alloc_aligned(id, size, align) -> offset, or -1 (see last_error). */
static napi_value js_heap_alloc_aligned(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 3);
    size_t size = 0, align = 0;
    if (!bytes_arg(env, argv[1], &size) || !bytes_arg(env, argv[2], &align)) return NULL;
    return mp_napi_offset_of(env, s, ops->alloc_aligned(s->pool, size, align));
}

/* heap_realloc(id, offset, size) -> the block's offset after the resize, or
 * -status (the block at `offset` is then untouched). */
static napi_value js_heap_realloc(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 3);
    void *ptr = NULL;
    size_t size = 0;
    if (!mp_napi_offset_arg(env, s, argv[1], &ptr) || !bytes_arg(env, argv[2], &size)) return NULL;
    MP_Status st = ops->realloc(s->pool, &ptr, size);
    return st == MP_OK ? mp_napi_offset_of(env, s, ptr) : mp_napi_int32(env, -(int32_t)st);
}

/* heap_free(), a frame call: [id, offset (word A)] -> [MP_Status]. */
static napi_value js_heap_free(napi_env env, napi_callback_info info) {
    HEAP_FRAME(env, info);
    uint32_t offset = e->words[MP_NAPI_FRAME_A];
    e->frame[0] = (double)ops->free(s->pool, (void *)(s->base + offset));
    return NULL;
}

/* heap_usable_size(id, offset) -> usable bytes of the live block at offset, 0 if none. */
static napi_value js_heap_usable_size(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 2);
    void *ptr = NULL;
    if (!mp_napi_offset_arg(env, s, argv[1], &ptr)) return NULL;
    return mp_napi_double(env, (double)ops->usable_size(s->pool, ptr));
}

/* heap_alloc_many(id, sizes: Int32Array | number, out: Int32Array, count) ->
 * n: out[0..n) hold new blocks of sizes[i] (or `sizes` bytes each); n <
 * count means allocation n failed (last_error tells why). */
static napi_value js_heap_alloc_many(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 4);
    napi_valuetype type = napi_undefined;
    int32_t *sizes = NULL, *out = NULL;
    size_t count = 0, same_size = 0;
    if (napi_typeof(env, argv[1], &type) != napi_ok) return NULL;
    if (type == napi_number) {
        if (!bytes_arg(env, argv[1], &same_size)) return NULL;
    } else if (!mp_napi_int32_array_arg(env, argv[1], argv[3], &sizes, &count)) {
        return NULL;
    }
    if (!mp_napi_int32_array_arg(env, argv[2], argv[3], &out, &count)) return NULL;
    size_t n = 0;
    for (; n < count; n++) {
        void *p = ops->alloc(s->pool, sizes != NULL ? (size_t)(uint32_t)sizes[n] : same_size);
        if (p == NULL) break;
        out[n] = (int32_t)((uintptr_t)p - s->base);
    }
    return mp_napi_double(env, (double)n);
}

/* heap_free_many(id, offsets: Int32Array, count) -> MP_Status of the first
 * failing free (MP_OK if none); batch_done() tells how many were freed. */
static napi_value js_heap_free_many(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 3);
    int32_t *offsets = NULL;
    size_t count = 0;
    if (!mp_napi_int32_array_arg(env, argv[1], argv[2], &offsets, &count)) return NULL;
    MP_Status st = MP_OK;
    size_t n = 0;
    for (; n < count; n++) {
        st = ops->free(s->pool, (void *)(s->base + (uint32_t)offsets[n]));
        if (st != MP_OK) break;
    }
    e->batch_done = n;
    return mp_napi_int32(env, (int32_t)st);
}

/* heap_free_stats(id) -> { camelCase MP_FreeStats field: number }, or the
 * MP_Status (a number) when the walk failed. */
static napi_value js_heap_free_stats(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 1);
    MP_FreeStats fs;
    memset(&fs, 0, sizeof fs);
    MP_Status st = ops->free_stats(s->pool, &fs);
    if (st != MP_OK) return mp_napi_int32(env, (int32_t)st);
    return mp_napi_stats_object(env, &free_table, &fs);
}

typedef struct walk_buffer {
    int32_t *triples;
    size_t count; /* int32 values written */
    size_t capacity;
    uintptr_t base;
    bool out_of_memory;
} walk_buffer;

static int walk_collect(void *ptr, size_t size_bytes, int is_used, void *ctx) {
    walk_buffer *w = ctx;
    if (w->count + 3 > w->capacity) {
        size_t capacity = w->capacity ? w->capacity * 2 : 3 * 64;
        int32_t *grown = realloc(w->triples, capacity * sizeof *grown);
        if (grown == NULL) {
            w->out_of_memory = true;
            return 1;
        }
        w->triples = grown;
        w->capacity = capacity;
    }
    w->triples[w->count++] = (int32_t)((uintptr_t)ptr - w->base);
    w->triples[w->count++] = (int32_t)size_bytes;
    w->triples[w->count++] = is_used != 0;
    return 0;
}

/* heap_walk(id) -> Int32Array of (offset, usable bytes, used 0/1) per block in
 * address order, or -status (a number) when the walk failed. */
static napi_value js_heap_walk(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 1);
    walk_buffer w = {NULL, 0, 0, s->base, false};
    MP_Status st = ops->walk(s->pool, walk_collect, &w);
    if (st == MP_OK && w.out_of_memory) st = MP_ERR_OUT_OF_MEMORY;
    napi_value result = NULL, buffer;
    void *data = NULL;
    if (st != MP_OK) {
        result = mp_napi_int32(env, -(int32_t)st);
    } else if (napi_create_arraybuffer(env, w.count * sizeof(int32_t), &data, &buffer) == napi_ok) {
        if (w.count != 0) memcpy(data, w.triples, w.count * sizeof(int32_t));
        napi_create_typedarray(env, napi_int32_array, w.count, buffer, 0, &result);
    }
    free(w.triples);
    return result;
}

/* heap_trim(id) -> bytes given back to the OS (0 for caller memory), or -status. */
static napi_value js_heap_trim(napi_env env, napi_callback_info info) {
    HEAP_ARGS(env, info, 1);
    size_t released = 0;
    MP_Status st = ops->trim(s->pool, &released);
    return st == MP_OK ? mp_napi_double(env, (double)released) : mp_napi_int32(env, -(int32_t)st);
}

napi_status mp_napi_heap_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {"heap_alloc",      "heap_alloc_aligned", "heap_calloc",
                                        "heap_realloc",    "heap_free",          "heap_usable_size",
                                        "heap_alloc_many", "heap_free_many",     "heap_free_stats",
                                        "heap_walk",       "heap_trim"};
    static const napi_callback fns[] = {js_heap_alloc,      js_heap_alloc_aligned, js_heap_calloc,
                                        js_heap_realloc,    js_heap_free,          js_heap_usable_size,
                                        js_heap_alloc_many, js_heap_free_many,     js_heap_free_stats,
                                        js_heap_walk,       js_heap_trim};
    _Static_assert(sizeof names / sizeof names[0] == sizeof fns / sizeof fns[0], "one name per function");
    return mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
}
