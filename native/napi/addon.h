/*
 * addon.h - what the Node-API glue files share: the family descriptor, the
 * per-env attachment table, argument unpacking and stats objects.
 *
 * Glue only. No allocator logic lives in native/napi/: a glue file unpacks
 * arguments, finds the pool behind a numeric id, calls the C API and turns
 * the result into a number (offset, count or MP_Status). Offsets, never
 * pointers, cross the boundary, and they are int32 (regions are < 2 GiB).
 *
 * Adding a family: write native/napi/<family>_glue.c defining
 * `const mp_napi_family mp_napi_family_<family>` (one-line wrappers of its
 * destroy, base, check, reset, owns and stats calls, its stats tables, and an
 * init that defines its own flat functions: create, alloc, free, ...), then
 * add X(<family>) to MP_NAPI_FAMILIES below. Both build files compile every
 * .c file of native/napi. The generic exports of addon.c (pool_stats,
 * pool_check, pool_reset, pool_owns, pool_destroy, pool_attach) then serve it.
 * A variable-size family (the MP_HeapStats ones) also sets `heap` with
 * MP_NAPI_HEAP_WRAPPERS / MP_NAPI_HEAP_FAMILY of heap_glue.h, and the heap_*
 * exports of heap_glue.c (alloc, free, realloc, walk, ...) serve it too.
 *
 * Errors: a glue function throws only when the binding itself is misused
 * (wrong argument types, an id unknown to this env); allocator outcomes are
 * return values (offset or -1, MP_Status, counts) and the TypeScript layer
 * turns them into typed errors.
 */
#ifndef MP_NAPI_ADDON_H
#define MP_NAPI_ADDON_H

#include <node_api.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory_pool_core.h"

#define MP_NAPI_FAMILIES(X)                                                                                  \
    X(fixed)                                                                                                 \
    X(arena)                                                                                                 \
    X(buddy)                                                                                                 \
    X(slab)                                                                                                  \
    X(tlsf)                                                                                                  \
    X(fitlist)                                                                                               \
    X(mpool)

/* Ids are positive int32: low bits index the process-wide registry, high
 * bits carry a generation so a stale id never names a newer pool. */
#define MP_NAPI_INDEX_BITS 20u
#define MP_NAPI_INDEX_MASK ((1u << MP_NAPI_INDEX_BITS) - 1u)
#define MP_NAPI_GENERATION_MASK 0x7ffu /* 11 bits: id stays below 2^31 */

/* Largest region the glue accepts: offsets must fit an int32. */
#define MP_NAPI_MAX_REGION_BYTES ((size_t)INT32_MAX)

/* ------------------------------------------------------------ stats tables */

typedef enum mp_napi_field_kind { MP_NAPI_U32, MP_NAPI_U64, MP_NAPI_F64 } mp_napi_field_kind;

typedef struct mp_napi_field {
    const char *c_name; /* snake_case name from the header's X-list */
    size_t offset;      /* offsetof in the stats struct */
    mp_napi_field_kind kind;
} mp_napi_field;

/* One stats struct of the header, described from its X-list. */
typedef struct mp_napi_stats_table {
    const char *name; /* the key of stats_fields(name): "fixed", "arena", ... */
    const mp_napi_field *fields;
    size_t field_count;
} mp_napi_stats_table;

#define MP_NAPI_FIELD_KIND(type)                                                                             \
    _Generic((type)0,                                                                                        \
        double: MP_NAPI_F64,                                                                                 \
        float: MP_NAPI_F64,                                                                                  \
        default: (sizeof(type) == 8 ? MP_NAPI_U64 : MP_NAPI_U32))
/* Use as MP_<X>_STATS_FIELDS(F) with
 * #define F(type, name, text) MP_NAPI_FIELD(MP_<X>Stats, type, name) */
#define MP_NAPI_FIELD(stats_type, type, name) {#name, offsetof(stats_type, name), MP_NAPI_FIELD_KIND(type)},

/* ----------------------------------------------------------------- families */

struct mp_napi_env;
struct mp_napi_heap_ops; /* heap_glue.h */

/* Largest stats struct a family may fill through `stats`. */
#define MP_NAPI_MAX_STATS_BYTES 256

/* What the generic exports need to know about a family; each function
 * pointer wraps the typed C call of the header. */
typedef struct mp_napi_family {
    const char *name; /* "fixed", used in messages */
    void (*destroy)(void *pool);
    void *(*base)(const void *pool); /* start of the pool's usable bytes */
    size_t (*check)(const void *pool);
    MP_Status (*reset)(void *pool);
    int (*owns)(const void *pool, const void *ptr);
    /* Fills the struct stats_tables[0] describes (<= MP_NAPI_MAX_STATS_BYTES). */
    MP_Status (*stats)(const void *pool, void *out);
    const mp_napi_stats_table *stats_tables;
    size_t stats_table_count;
    /* Defines the family's own flat functions on `exports`; each gets `data`
     * (this env's table) as callback data. */
    napi_status (*init)(napi_env env, napi_value exports, struct mp_napi_env *data);
    /* The variable-size families' common calls, served by the heap_* exports
     * of heap_glue.c; NULL for the others. */
    const struct mp_napi_heap_ops *heap;
} mp_napi_family;

#define MP_NAPI_DECLARE_FAMILY_(name) extern const mp_napi_family mp_napi_family_##name;
MP_NAPI_FAMILIES(MP_NAPI_DECLARE_FAMILY_)
#undef MP_NAPI_DECLARE_FAMILY_

/* -------------------------------------------------- per-env attachment table */

struct mp_napi_entry; /* process-wide registry record (addon.c) */

/* This env's attachment to one pool. `slots[index]` is indexed by the id's
 * registry index; `id` is 0 for an empty slot. Read without a lock: only the
 * env's own thread touches its table. */
typedef struct mp_napi_slot {
    int32_t id;
    /* The region is a plain ArrayBuffer's (not a SharedArrayBuffer's): JS can
     * detach it (a transfer) or shrink it (resize), freeing or decommitting
     * the bytes under the pool, so every lookup but destroy's first checks
     * that the view still has its bytes (mp_napi_region_check). In the
     * padding after `id`, so a slot stays 128 bytes: the SharedArrayBuffer
     * default pays one compare. */
    bool region_detachable;
    const mp_napi_family *family;
    void *pool;
    uintptr_t base; /* cached family->base(pool) */
    struct mp_napi_entry *entry;
    napi_ref view_ref; /* keeps the region's typed array alive */
    /* A family's JS-side array its batch kernels work on in place (the
     * FixedPool's slot states and cache, fixed_pool_glue.c), registered once
     * so a batch call unpacks no second typed array; NULL if none. The
     * array is the TypeScript layer's own (never resized, transferred or
     * handed out), kept alive by `js_cache_ref`. */
    int32_t *js_cache;
    uint32_t js_cache_length;
    uint32_t js_cache_base;  /* entries [0, base) are per-slot states, [base, length) the cache */
    uint32_t js_cache_stride;
    uint32_t js_cache_inverse; /* (stride >> shift)^-1 mod 2^32 */
    uint32_t js_cache_shift;
    napi_ref js_cache_ref;
    /* The caller's arrays the kernels write and read in place: [0] the one
     * FixedPool.allocMany last passed, [1] freeMany's (fixed_cache_bind),
     * with their lengths when bound, kept alive by js_batch_ref. So a kernel
     * call passes no object and unpacks no typed array. The TS layer binds
     * again whenever the caller passes another array or the bound one's
     * length changed, and checks every count against the current length,
     * so a kernel never runs past a shrunk or detached array. */
    int32_t *js_batch[2];
    uint32_t js_batch_length[2];
    napi_ref js_batch_ref[2];
} mp_napi_slot;

/* The call frame (see mp_napi_frame_slot): MP_NAPI_FRAME_DOUBLES doubles,
 * also read as uint32 words. Doubles 0 and 1 carry results and a handle (an
 * integer up to 2^53); the words from MP_NAPI_FRAME_ID on carry the pool id
 * and the uint32 inputs, so the glue converts and range-checks no double. */
#define MP_NAPI_FRAME_DOUBLES 8u
#define MP_NAPI_FRAME_ID 4u /* word: the pool id */
#define MP_NAPI_FRAME_A 5u  /* word: a size or an offset */
#define MP_NAPI_FRAME_B 6u  /* word: an owner */
#define MP_NAPI_FRAME_C 7u  /* word: flags, or the owner check (0/1) */

typedef struct mp_napi_env {
    napi_env env;
    mp_napi_slot *slots;
    uint32_t slot_count;
    uint32_t live_count;
    size_t batch_done; /* items a failed batch call completed before failing */
    double *frame;     /* this env's call frame: `call_frame`, MP_NAPI_FRAME_DOUBLES doubles */
    uint32_t *words;   /* the same bytes as uint32 words */
    napi_ref frame_ref;
} mp_napi_env;

/** The slot of the pool whose id is `id`, read as a uint32 word (0 and
 * words above INT32_MAX name nothing), if this env holds it and it is of
 * `family` (NULL: any family); else NULL. O(1), no lock. */
static inline mp_napi_slot *mp_napi_find_word(mp_napi_env *e, uint32_t id, const mp_napi_family *family) {
    uint32_t index = id & MP_NAPI_INDEX_MASK;
    if (id - 1u >= (uint32_t)INT32_MAX || index >= e->slot_count) return NULL;
    mp_napi_slot *s = &e->slots[index];
    return ((uint32_t)s->id == id && (family == NULL || s->family == family)) ? s : NULL;
}

/** mp_napi_find_word for an int32 id: ids <= 0 name nothing (as words they
 * are 0 or above INT32_MAX). */
static inline mp_napi_slot *mp_napi_find(mp_napi_env *e, int32_t id, const mp_napi_family *family) {
    return mp_napi_find_word(e, (uint32_t)id, family);
}

/* -------------------------------------------------------------- unpacking */

/** Reads up to `max` arguments and the env table; unread ones are undefined. */
#define MP_NAPI_ARGS(env, info, max, argv, data)                                                             \
    size_t argc_ = (max);                                                                                    \
    if (napi_get_cb_info((env), (info), &argc_, (argv), NULL, (void **)(data)) != napi_ok) return NULL

/** Opens a flat function on one pool: declares `argv` (up to `max`
 * arguments, argv[0] the pool id), `e` (this env's table) and `s` (the pool's
 * slot), and returns NULL with a JS exception pending when the id does not
 * name a pool of `family` (NULL: any family) in this env. */
#define MP_NAPI_POOL_ARGS(env, info, max, family)                                                            \
    napi_value argv[max];                                                                                    \
    mp_napi_env *e;                                                                                          \
    MP_NAPI_ARGS(env, info, max, argv, &e);                                                                  \
    mp_napi_slot *s = mp_napi_slot_arg((env), e, argv[0], (family));                                         \
    if (s == NULL) return NULL

/** For a slot whose region is detachable: `s` while its region view still
 * starts where the pool's region does and is as long as the creating view;
 * NULL, with an Error of code MP_ERR_INVALID_HANDLE pending, once its
 * ArrayBuffer was detached or shrunk. Returns the slot (as mp_napi_bad_id
 * returns NULL) so a lookup keeps no register across the call. */
mp_napi_slot *mp_napi_region_check(napi_env env, mp_napi_slot *s);

/** Throws for an id argument mp_napi_slot_arg refused (`st`: how reading it
 * went) and returns NULL. */
mp_napi_slot *mp_napi_bad_id(napi_env env, napi_status st, const mp_napi_family *family);

/** The slot for argument `id_value`, or NULL with a JS exception pending
 * (TypeError for a non-number, Error code MP_ERR_INVALID_HANDLE for an id
 * this env does not hold for `family`; NULL accepts any family). Inline:
 * every hot call starts here. */
static inline mp_napi_slot *mp_napi_slot_arg(napi_env env, mp_napi_env *e, napi_value id_value,
                                             const mp_napi_family *family) {
    int32_t id = 0;
    napi_status st = napi_get_value_int32(env, id_value, &id);
    mp_napi_slot *s = st == napi_ok ? mp_napi_find(e, id, family) : NULL;
    if (s == NULL) return mp_napi_bad_id(env, st, family);
    return s->region_detachable ? mp_napi_region_check(env, s) : s;
}

/*
 * Frame calls. The hottest functions (alloc and free of every family, the
 * managed pool's locate, read and write) take no number as a JS argument:
 * the caller stores the pool id and the numbers in this env's call frame,
 * `call_frame` (an ArrayBuffer of MP_NAPI_FRAME_DOUBLES doubles, V8-owned,
 * one per env), calls, and reads the results back from the frame. A call
 * then costs about what an empty native call costs: unpacking each argument
 * through Node-API (napi_get_value_*) and making a result value (a
 * HeapNumber for a handle) cost more than the work of a pool. No JS runs
 * between the caller's stores and the call, and each env (thread) has its
 * own frame. The id, sizes, offsets and owners are uint32 words (JS stores
 * them through a Uint32Array, which converts any number to a uint32, so the
 * TypeScript layer stores only numbers it validated): every word is a value
 * the call can take, and the id is looked up as any id is, so a frame is
 * never trusted blindly. A handle is a double, checked by the call.
 */

/* The env that holds the table cache (the first to load the addon, usually
 * the main thread; NULL when none does) and its table. Only the holding
 * env's thread sets and clears the pair (at init, and in its cleanup hook
 * before the table is freed), so a hit always reads that thread's own
 * writes; any other env compares unequal and takes mp_napi_env_slow. */
extern _Atomic(napi_env) mp_napi_cached_env;
extern mp_napi_env *mp_napi_cached_table;

/** This env's table through napi_get_instance_data (NULL on failure). */
mp_napi_env *mp_napi_env_slow(napi_env env);

/** This env's table (the callback data of every function), or NULL. Three
 * instructions on the cached env, where napi_get_instance_data is a call of
 * 14 and napi_get_cb_info one of 34 or more (callgrind, Node 20). */
static inline mp_napi_env *mp_napi_env_of(napi_env env) {
    if (env == atomic_load_explicit(&mp_napi_cached_env, memory_order_acquire)) return mp_napi_cached_table;
    return mp_napi_env_slow(env);
}

/** The slot of the pool whose id is word MP_NAPI_FRAME_ID of the frame (`*out`:
 * this env's table), or NULL with a JS exception pending, as
 * mp_napi_slot_arg. A frame call that also takes objects (a typed array)
 * reads them with napi_get_cb_info itself. */
static inline mp_napi_slot *mp_napi_frame_slot(napi_env env, const mp_napi_family *family, mp_napi_env **out) {
    mp_napi_env *e = mp_napi_env_of(env);
    if (e == NULL) return NULL;
    *out = e;
    mp_napi_slot *s = mp_napi_find_word(e, e->words[MP_NAPI_FRAME_ID], family);
    if (s == NULL) return mp_napi_bad_id(env, napi_ok, family);
    return s->region_detachable ? mp_napi_region_check(env, s) : s;
}

/** The address `value` (read as uint32) bytes past the pool base; false with
 * a TypeError pending for a non-number. */
bool mp_napi_offset_arg(napi_env env, const mp_napi_slot *s, napi_value value, void **ptr);
/** Reads a non-negative integer <= 2^53 into *out; false with TypeError or
 * RangeError pending otherwise. `what` names the argument in the message. */
bool mp_napi_size_arg(napi_env env, napi_value value, const char *what, size_t *out);
/** Reads a Uint8Array's bytes; false with TypeError pending otherwise. */
bool mp_napi_bytes_arg(napi_env env, napi_value value, uint8_t **data, size_t *length);
/** The 32-bit words of any ArrayBufferView whose bytes start 4-aligned and
 * are a whole number of words: an internal call's Int32Array, whose type
 * the TS layer checked. Node's napi_get_buffer_info takes any view at about
 * a third of napi_get_typedarray_info's cost (no type cascade); elsewhere
 * an Int32Array is required. Reading another view's bytes as words is
 * memory safe, so the type is not re-checked. False with a TypeError
 * pending otherwise. */
bool mp_napi_int32_words(napi_env env, napi_value value, int32_t **data, size_t *count);
/** Reads an Int32Array (as mp_napi_int32_words) plus a count <= its length; false with an exception pending. */
bool mp_napi_int32_array_arg(napi_env env, napi_value array, napi_value count_value, int32_t **data,
                             size_t *count);

napi_value mp_napi_int32(napi_env env, int32_t value);
napi_value mp_napi_double(napi_env env, double value);
napi_value mp_napi_bool(napi_env env, bool value);
/** The offset of `ptr` from the slot's pool base, or -1 for NULL (an alloc
 * that failed; mp_last_error says why). */
napi_value mp_napi_offset_of(napi_env env, const mp_napi_slot *s, const void *ptr);
/** -status after a failed create (MP_ERR_INVALID_ARGUMENT if the core
 * recorded none), for the `id or -status` convention of create calls. */
napi_value mp_napi_create_failed(napi_env env);
/** Builds `{ camelCaseName: number, ... }` from a stats struct. */
napi_value mp_napi_stats_object(napi_env env, const mp_napi_stats_table *table, const void *stats);

/** Defines `count` functions named in `names` with `e` as callback data. */
napi_status mp_napi_define(napi_env env, napi_value exports, mp_napi_env *e, const char *const *names,
                           const napi_callback *fns, size_t count);

/* --------------------------------------------------------------- registry */

/** Registers a freshly created pool under a new id and attaches it to this
 * env, holding a reference to `view` (the region) until it is destroyed.
 * `shareable`: other envs may attach (thread-safe pools only). Returns the id
 * (> 0) as a JS number, or NULL with a JS exception pending after destroying
 * `pool` with family->destroy. */
napi_value mp_napi_register(napi_env env, mp_napi_env *e, const mp_napi_family *family, void *pool,
                            napi_value view, const uint8_t *region_start, bool shareable);

#endif /* MP_NAPI_ADDON_H */
