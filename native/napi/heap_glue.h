/*
 * heap_glue.h - what the glue of the variable-size families (buddy, slab,
 * TLSF, fit list) shares: the table of their common C calls and a macro that
 * writes the one-line wrappers behind it.
 *
 * The four families have the same verbs with the same meaning (alloc,
 * alloc_aligned, calloc, realloc, free, usable_size, free_stats, walk, trim,
 * MP_HeapStats), so heap_glue.c serves them all with one set of flat
 * functions, heap_<verb>(id, ...), that reach the family through
 * family->heap. A family's glue file only writes its create call (and what
 * only it has, such as the slab's class statistics):
 *
 *   MP_NAPI_HEAP_WRAPPERS(buddy)   // buddy_destroy, ..., buddy_heap_ops
 *   const mp_napi_family mp_napi_family_buddy = MP_NAPI_HEAP_FAMILY(buddy, tables, count, init);
 *
 * Glue only: every wrapper is a cast and one call of the public header.
 */
#ifndef MP_NAPI_HEAP_GLUE_H
#define MP_NAPI_HEAP_GLUE_H

#include "addon.h"

/* The calls of the header every variable-size family has, on untyped pools. */
typedef struct mp_napi_heap_ops {
    void *(*alloc)(void *pool, size_t size);
    void *(*alloc_aligned)(void *pool, size_t size, size_t align);
    void *(*calloc)(void *pool, size_t size);
    MP_Status (*realloc)(void *pool, void **ptr, size_t size);
    MP_Status (*free)(void *pool, void *ptr);
    size_t (*usable_size)(const void *pool, const void *ptr);
    MP_Status (*free_stats)(const void *pool, MP_FreeStats *out);
    MP_Status (*walk)(const void *pool, MP_WalkFn fn, void *ctx);
    MP_Status (*trim)(void *pool, size_t *released_bytes);
} mp_napi_heap_ops;

/* MP_HeapStats and MP_FreeStats described from their X-lists (heap_glue.c). */
extern const mp_napi_field mp_napi_heap_fields[];
extern const mp_napi_field mp_napi_free_fields[];
#define MP_NAPI_COUNT_FIELD_(type, name, text) +1
#define MP_NAPI_HEAP_FIELD_COUNT ((size_t)(0 MP_HEAP_STATS_FIELDS(MP_NAPI_COUNT_FIELD_)))
#define MP_NAPI_FREE_FIELD_COUNT ((size_t)(0 MP_FREE_STATS_FIELDS(MP_NAPI_COUNT_FIELD_)))
/* The stats tables of a heap family: [0] is what pool_stats returns. */
#define MP_NAPI_HEAP_STATS_TABLE                                                                             \
    { "heap", mp_napi_heap_fields, MP_NAPI_HEAP_FIELD_COUNT }
#define MP_NAPI_FREE_STATS_TABLE                                                                             \
    { "free", mp_napi_free_fields, MP_NAPI_FREE_FIELD_COUNT }
/* The tables of a family with nothing beyond MP_HeapStats and MP_FreeStats. */
extern const mp_napi_stats_table mp_napi_heap_stats_tables[2];

_Static_assert(sizeof(MP_HeapStats) <= MP_NAPI_MAX_STATS_BYTES, "stats buffer too small");

/** Defines the static wrappers <p>_destroy, _base, _check, _reset, _owns
 * (true when a live block starts at ptr), _stats and the table
 * `<p>_heap_ops` over the mp_<p>_* calls of the header. Use it without a
 * trailing semicolon. */
#define MP_NAPI_HEAP_WRAPPERS(p)                                                                             \
    static void p##_destroy(void *pool) { mp_##p##_destroy(pool); }                                          \
    static void *p##_base(const void *pool) { return mp_##p##_base(pool); }                                  \
    static size_t p##_check(const void *pool) { return mp_##p##_check(pool); }                               \
    static MP_Status p##_reset(void *pool) { return mp_##p##_reset(pool); }                                  \
    static int p##_owns(const void *pool, const void *ptr) { return mp_##p##_usable_size(pool, ptr) != 0; }  \
    static MP_Status p##_stats(const void *pool, void *out) { return mp_##p##_stats(pool, out); }            \
    static void *p##_alloc(void *pool, size_t size) { return mp_##p##_alloc(pool, size); }                   \
    static void *p##_alloc_aligned(void *pool, size_t size, size_t align) {                                  \
        return mp_##p##_alloc_aligned(pool, size, align);                                                    \
    }                                                                                                        \
    static void *p##_calloc(void *pool, size_t size) { return mp_##p##_calloc(pool, size); }                 \
    static MP_Status p##_realloc(void *pool, void **ptr, size_t size) {                                      \
        return mp_##p##_realloc(pool, ptr, size);                                                            \
    }                                                                                                        \
    static MP_Status p##_free(void *pool, void *ptr) { return mp_##p##_free(pool, ptr); }                    \
    static size_t p##_usable_size(const void *pool, const void *ptr) {                                       \
        return mp_##p##_usable_size(pool, ptr);                                                              \
    }                                                                                                        \
    static MP_Status p##_free_stats(const void *pool, MP_FreeStats *out) {                                   \
        return mp_##p##_free_stats(pool, out);                                                               \
    }                                                                                                        \
    static MP_Status p##_walk(const void *pool, MP_WalkFn fn, void *ctx) {                                   \
        return mp_##p##_walk(pool, fn, ctx);                                                                 \
    }                                                                                                        \
    static MP_Status p##_trim(void *pool, size_t *released) { return mp_##p##_trim(pool, released); }        \
    static const mp_napi_heap_ops p##_heap_ops = {p##_alloc,      p##_alloc_aligned, p##_calloc,             \
                                                  p##_realloc,    p##_free,          p##_usable_size,        \
                                                  p##_free_stats, p##_walk,          p##_trim};

/** The family record of heap family `p` (after MP_NAPI_HEAP_WRAPPERS(p)). */
#define MP_NAPI_HEAP_FAMILY(p, tables, table_count, init_fn)                                                 \
    {                                                                                                        \
        .name = #p, .destroy = p##_destroy, .base = p##_base, .check = p##_check, .reset = p##_reset,        \
        .owns = p##_owns, .stats = p##_stats, .stats_tables = (tables), .stats_table_count = (table_count),  \
        .init = (init_fn), .heap = &p##_heap_ops,                                                            \
    }

/** Reads the region view and its managed byte count of a create call:
 * argv[0] a Uint8Array, argv[1] the bytes of it to manage (<= its length and
 * < 2^31). False with a JS exception pending for wrong types; *status set to
 * MP_ERR_INVALID_ARGUMENT (and true returned) for a count that does not fit. */
bool mp_napi_region_args(napi_env env, const napi_value *argv, uint8_t **region, size_t *region_bytes,
                         MP_Status *status);

/** Reads a number as uint32 into *out; false with a TypeError pending
 * (naming `what`) for a non-number. */
bool mp_napi_uint32_arg(napi_env env, napi_value value, const char *what, uint32_t *out);

/** Defines the heap_<verb> flat functions (heap_glue.c). */
napi_status mp_napi_heap_init(napi_env env, napi_value exports, mp_napi_env *e);

#endif /* MP_NAPI_HEAP_GLUE_H */
