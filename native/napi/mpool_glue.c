/*
 * mpool_glue.c - Node-API flat functions over the managed pool (MP_Pool):
 * mpool_<verb>(id, ...), one native call per operation.
 *
 * Numbers only cross the boundary. A handle is a double holding an integer
 * below 2^53 (exact in JS); mpool_alloc returns one, or -status on failure
 * (mp_last_error has the byte detail). Every other call returns an MP_Status
 * or a non-negative result / -status. alloc, free and locate are frame calls
 * (addon.h): their numbers pass through the env's call frame, so a hot call
 * unpacks no argument and makes no value (a handle would be a HeapNumber).
 * read and write are frame calls too, with the caller's bytes as their
 * receiver. block_info and defragment leave their results in this thread's
 * scratch Float64Array (`mpool_scratch`, the first 8 doubles), so no object
 * is made. mpool_handle_table gives a pool's handle table as an external
 * ArrayBuffer, so MemoryPool finds the blocks of its own handles without a
 * call (see lib/memory-pool.ts).
 * The optional trailing `owner` argument of read, write, fill and copy (an
 * owner check flag in free's frame) selects the owner-checked *_as call.
 *
 * Arguments the core cannot take (a handle that is not an integer in
 * [0, 2^53), a byte source that is no typed array or DataView) are refused
 * here with MP_ERR_INVALID_ARGUMENT without calling the core, so no pool
 * counter moves; the TypeScript layer validates everything else before
 * calling.
 *
 * Signals: every pool is created with pressure_signal() and
 * auto_defrag_signal() as its callbacks. The core calls them synchronously,
 * after releasing the pool's lock, in the thread that made the change; they
 * record in that thread's scratch (uint32 words 16..20 of `mpool_scratch`:
 * old level, new level, signal sequence, pressure sequence, automatic pass
 * sequence; doubles 11..15: the last automatic pass's bytes moved, blocks
 * moved, fragmentation before, after, complete). Each signal bumps the
 * signal sequence and its own one. The TypeScript layer compares the signal
 * sequence after each mutating call (one compare whatever the kinds) and
 * runs its listeners then, so no JS runs inside a native call.
 *
 * The scratch, and the 4 KiB staging buffer of mpool_read_staged
 * (`mpool_staging`: a read into a new small JS array would cost V8 a
 * backing store per call; JS copies the staged bytes out with one slice),
 * are ArrayBuffers the addon makes per env (V8-owned, not external); their
 * addresses are kept in thread-locals (one env per thread) that the env
 * cleanup hook clears before the buffers are released.
 *
 * A pool's slot holds a pool_glue (the MP_Pool plus its region bounds, for
 * the overlap check of read and write). reset and owns do not apply to a
 * managed pool: reset is MP_ERR_UNSUPPORTED, owns is always false (blocks
 * are named by handle, not by address).
 */
#include "heap_glue.h"

#include <stdlib.h>
#include <string.h>

#define MPOOL (&mp_napi_family_mpool)

/* Doubles of the scratch buffer for multi-value results, then the signal
 * words (old level, new level, signal / pressure / automatic pass sequences,
 * one pad word), then the automatic pass's result. */
#define SCRATCH_DOUBLES 8u
#define SIGNAL_WORDS 6u
#define AUTO_DEFRAG_DOUBLES 5u
#define SCRATCH_BYTES \
    ((SCRATCH_DOUBLES + AUTO_DEFRAG_DOUBLES) * sizeof(double) + SIGNAL_WORDS * sizeof(uint32_t))
/* Bytes of the per-thread staging buffer of mpool_read_staged. */
#define STAGING_BYTES 4096u
/* Largest handle value plus one: handles are below 2^53. */
#define HANDLE_LIMIT 9007199254740992.0

static _Thread_local double *tl_scratch;
static _Thread_local uint32_t *tl_pressure;
static _Thread_local double *tl_auto_defrag;
static _Thread_local napi_ref tl_scratch_ref;
static _Thread_local uint8_t *tl_staging;
static _Thread_local napi_ref tl_staging_ref;

typedef struct pool_glue {
    MP_Pool *pool;
    uintptr_t region_lo; /* [lo, hi): the bytes the pool manages */
    uintptr_t region_hi;
} pool_glue;

static void mpool_destroy(void *p) {
    pool_glue *g = p;
    mp_pool_destroy(g->pool);
    free(g);
}
static void *mpool_base(const void *p) { return mp_pool_base(((const pool_glue *)p)->pool); }
static size_t mpool_check(const void *p) { return mp_pool_check(((const pool_glue *)p)->pool); }
static MP_Status mpool_reset(void *p) {
    (void)p;
    return MP_ERR_UNSUPPORTED;
}
static int mpool_owns(const void *p, const void *ptr) {
    (void)p;
    (void)ptr;
    return 0;
}
static MP_Status mpool_stats(const void *p, void *out) { return mp_pool_stats(((const pool_glue *)p)->pool, out); }
_Static_assert(sizeof(MP_PoolStats) <= MP_NAPI_MAX_STATS_BYTES, "stats buffer too small");

#define POOL_FIELD_(type, name, text) MP_NAPI_FIELD(MP_PoolStats, type, name)
static const mp_napi_field pool_fields[] = {MP_POOL_STATS_FIELDS(POOL_FIELD_)};
#undef POOL_FIELD_
#define OWNER_FIELD_(type, name, text) MP_NAPI_FIELD(MP_PoolOwnerStats, type, name)
static const mp_napi_field owner_fields[] = {MP_POOL_OWNER_STATS_FIELDS(OWNER_FIELD_)};
#undef OWNER_FIELD_
static const mp_napi_stats_table mpool_tables[] = {
    {"pool", pool_fields, sizeof pool_fields / sizeof pool_fields[0]},
    {"pool_owner", owner_fields, sizeof owner_fields / sizeof owner_fields[0]}};

/* Records a level change for the TypeScript layer of this thread. */
static void pressure_signal(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level, void *ctx) {
    (void)pool;
    (void)ctx;
    uint32_t *cell = tl_pressure;
    if (cell == NULL) return;
    cell[0] = (uint32_t)old_level;
    cell[1] = (uint32_t)new_level;
    cell[2]++;
    cell[3]++;
}

/* Records an automatic compaction pass for the TypeScript layer of this thread. */
static void auto_defrag_signal(MP_Pool *pool, const MP_DefragResult *r, void *ctx) {
    (void)pool;
    (void)ctx;
    uint32_t *cell = tl_pressure;
    double *out = tl_auto_defrag;
    if (cell == NULL || out == NULL) return;
    out[0] = (double)r->bytes_moved;
    out[1] = (double)r->blocks_moved;
    out[2] = r->fragmentation_before;
    out[3] = r->fragmentation_after;
    out[4] = r->complete ? 1.0 : 0.0;
    cell[2]++;
    cell[4]++;
}

/* ---------------------------------------------------------------- arguments */

/** Opens an mpool_* function: as MP_NAPI_POOL_ARGS, plus `g` (the slot's
 * pool_glue) and `argc` (the arguments actually passed, at most `max`). */
#define MPOOL_ARGS(env, info, max)                                                                           \
    napi_value argv[max];                                                                                    \
    mp_napi_env *e;                                                                                          \
    size_t argc = (max);                                                                                     \
    if (napi_get_cb_info((env), (info), &argc, argv, NULL, (void **)&e) != napi_ok) return NULL;             \
    mp_napi_slot *s = mp_napi_slot_arg((env), e, argv[0], MPOOL);                                            \
    if (s == NULL) return NULL;                                                                              \
    pool_glue *g = s->pool

/* A handle held in a double (a frame entry): an integer in [0, 2^53); false
 * for anything else. */
static inline bool handle_value(double d, MP_Handle *out) {
    if (!(d >= 0 && d < HANDLE_LIMIT)) return false;
    int64_t i = (int64_t)d; /* in range: a signed conversion, one instruction each way */
    *out = (MP_Handle)i;
    return (double)i == d;
}

/* A handle argument: as handle_value; false for a non-number too. */
static inline bool handle_arg(napi_env env, napi_value value, MP_Handle *out) {
    double d = 0;
    return napi_get_value_double(env, value, &d) == napi_ok && handle_value(d, out);
}

/* A byte count or offset the TS layer validated (uint32); TypeError otherwise. */
static inline bool u32_arg(napi_env env, napi_value value, size_t *out) {
    uint32_t v = 0;
    if (!mp_napi_uint32_arg(env, value, "offset and length", &v)) return false;
    *out = v;
    return true;
}

/* Any typed array's bytes; false if `value` is none. */
static bool typed_bytes(napi_env env, napi_value value, uint8_t **data, size_t *bytes) {
    napi_typedarray_type type;
    size_t length = 0;
    void *ptr = NULL;
    if (napi_get_typedarray_info(env, value, &type, &length, &ptr, NULL, NULL) != napi_ok) return false;
    size_t unit = 1;
    switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
        unit = 2;
        break;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
        unit = 4;
        break;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
        unit = 8;
        break;
    default:
        break;
    }
    *data = ptr;
    *bytes = length * unit;
    return true;
}

static inline bool overlaps_region(const pool_glue *g, const uint8_t *p, size_t len) {
    return len != 0 && (uintptr_t)p < g->region_hi && (uintptr_t)p + len > g->region_lo;
}

static inline napi_value status_value(napi_env env, MP_Status st) { return mp_napi_int32(env, (int32_t)st); }

/* ------------------------------------------------------------------- create */

/* mpool_create(region: Uint8Array, poolBytes, strategy, minBlockBytes,
 * maxBlockBytes, alignment, defragEnabled, defragThreshold, maxBlocks, flags)
 * -> id (> 0), or -status when the core refuses (see last_error). */
static napi_value js_mpool_create(napi_env env, napi_callback_info info) {
    napi_value argv[10];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 10, argv, &e);
    MP_PoolConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    uint8_t *region = NULL;
    uint32_t strategy = 0, defrag = 0;
    MP_Status st = MP_OK;
    if (!mp_napi_region_args(env, argv, &region, &cfg.pool_bytes, &st) ||
        !mp_napi_uint32_arg(env, argv[2], "strategy", &strategy) ||
        !mp_napi_size_arg(env, argv[3], "minBlockBytes", &cfg.min_block_bytes) ||
        !mp_napi_size_arg(env, argv[4], "maxBlockBytes", &cfg.max_block_bytes) ||
        !mp_napi_size_arg(env, argv[5], "alignment", &cfg.alignment) ||
        !mp_napi_uint32_arg(env, argv[6], "defragEnabled", &defrag) ||
        napi_get_value_double(env, argv[7], &cfg.defrag_threshold) != napi_ok ||
        !mp_napi_size_arg(env, argv[8], "maxBlocks", &cfg.max_blocks) ||
        !mp_napi_uint32_arg(env, argv[9], "flags", &cfg.flags)) {
        return NULL;
    }
    if (st != MP_OK) return mp_napi_int32(env, -(int32_t)st);
    if (strategy > MP_STRATEGY_AUTO) return mp_napi_int32(env, -(int32_t)MP_ERR_INVALID_ARGUMENT);
    pool_glue *g = malloc(sizeof *g);
    if (g == NULL) return mp_napi_int32(env, -(int32_t)MP_ERR_OUT_OF_MEMORY);
    cfg.strategy = (MP_PoolStrategy)strategy;
    cfg.defrag_enabled = defrag != 0;
    cfg.region = region;
    cfg.pressure_fn = pressure_signal;
    cfg.auto_defrag_fn = auto_defrag_signal;
    g->pool = mp_pool_create_ex(&cfg);
    if (g->pool == NULL) {
        free(g);
        return mp_napi_create_failed(env);
    }
    g->region_lo = (uintptr_t)region;
    g->region_hi = (uintptr_t)region + cfg.pool_bytes;
    return mp_napi_register(env, e, MPOOL, g, argv[0], region, (cfg.flags & MP_FLAG_THREAD_SAFE) != 0);
}

/* --------------------------------------------------------- alloc and free */

/* Opens an mpool frame call (addon.h): `e`, `s` (the pool of the frame's
 * id) and `g`, or returns NULL with a JS exception pending. */
#define MPOOL_FRAME(env, info)                                                                               \
    (void)(info);                                                                                            \
    mp_napi_env *e;                                                                                          \
    mp_napi_slot *s = mp_napi_frame_slot((env), MPOOL, &e);                                                  \
    if (s == NULL) return NULL;                                                                              \
    pool_glue *g = s->pool

/* mpool_alloc(), a frame call: words [id, size, owner, flags] -> [handle, or
 * -status (see last_error)]. */
static napi_value js_mpool_alloc(napi_env env, napi_callback_info info) {
    MPOOL_FRAME(env, info);
    const uint32_t *w = e->words;
    MP_Handle h = MP_HANDLE_NONE;
    MP_Status st = mp_pool_alloc(g->pool, w[MP_NAPI_FRAME_A], w[MP_NAPI_FRAME_B], w[MP_NAPI_FRAME_C], &h);
    e->frame[0] = st == MP_OK ? (double)(int64_t)h : -(double)st; /* handles < 2^53 */
    return NULL;
}

/* mpool_free(), a frame call: [handle in double 1; words id, owner, check
 * owner (0/1)] -> [MP_Status]; with the owner check, the owner-checked
 * mp_pool_free_as. A handle that is no integer in [0, 2^53) is
 * MP_ERR_INVALID_ARGUMENT. */
static napi_value js_mpool_free(napi_env env, napi_callback_info info) {
    MPOOL_FRAME(env, info);
    double *f = e->frame;
    const uint32_t *w = e->words;
    MP_Handle h = 0;
    MP_Status st = MP_ERR_INVALID_ARGUMENT;
    if (handle_value(f[1], &h))
        st = w[MP_NAPI_FRAME_C] != 0 ? mp_pool_free_as(g->pool, w[MP_NAPI_FRAME_B], h) : mp_pool_free(g->pool, h);
    f[0] = (double)st;
    return NULL;
}

/* ------------------------------------------------------------------- access */

/* A read or write whose caller memory lies inside the pool's own region goes
 * through a heap copy: the core copies with memcpy, which must not see
 * overlapping ranges. */
static MP_Status transfer_bounced(pool_glue *g, bool write, bool as, uint32_t owner, MP_Handle h, size_t offset,
                                  uint8_t *buf, size_t len) {
    uint8_t *tmp = malloc(len);
    if (tmp == NULL) return MP_ERR_OUT_OF_MEMORY;
    MP_Status st;
    if (write) {
        memcpy(tmp, buf, len);
        st = as ? mp_pool_write_as(g->pool, owner, h, offset, tmp, len) : mp_pool_write(g->pool, h, offset, tmp, len);
    } else {
        st = as ? mp_pool_read_as(g->pool, owner, h, offset, tmp, len) : mp_pool_read(g->pool, h, offset, tmp, len);
        if (st == MP_OK) memcpy(buf, tmp, len);
    }
    free(tmp);
    return st;
}

/* The bytes of any ArrayBufferView: Node's napi_get_buffer_info takes every
 * view (and costs half of napi_get_typedarray_info); typed_bytes serves a
 * runtime whose buffer_info takes Buffers only. False if `value` is no view. */
static bool view_bytes(napi_env env, napi_value value, uint8_t **data, size_t *bytes) {
    void *ptr = NULL;
    if (napi_get_buffer_info(env, value, &ptr, bytes) == napi_ok) {
        *data = ptr;
        return true;
    }
    return typed_bytes(env, value, data, bytes);
}

/* read and write, frame calls whose receiver (`this`) is the caller's bytes
 * (any typed array or DataView; napi_get_cb_info reads `this` alone for
 * about half the instructions of one argument): [handle in double 1; words
 * id, offset, owner, check owner (0/1)] -> [MP_Status]. A handle that is no integer in
 * [0, 2^53), or bytes that are no view, are MP_ERR_INVALID_ARGUMENT, and the
 * core never sees the call. */
static napi_value transfer(napi_env env, napi_callback_info info, bool write) {
    napi_value bytes;
    if (napi_get_cb_info(env, info, NULL, NULL, &bytes, NULL) != napi_ok) return NULL;
    mp_napi_env *e;
    mp_napi_slot *s = mp_napi_frame_slot(env, MPOOL, &e);
    if (s == NULL) return NULL;
    pool_glue *g = s->pool;
    double *f = e->frame;
    const uint32_t *w = e->words;
    uint32_t offset = w[MP_NAPI_FRAME_A], owner = w[MP_NAPI_FRAME_B];
    bool as = w[MP_NAPI_FRAME_C] != 0;
    MP_Handle h = 0;
    size_t len = 0;
    uint8_t *buf = NULL;
    MP_Status st;
    if (!handle_value(f[1], &h) || !view_bytes(env, bytes, &buf, &len))
        st = MP_ERR_INVALID_ARGUMENT;
    else if (overlaps_region(g, buf, len))
        st = transfer_bounced(g, write, as, owner, h, offset, buf, len);
    else if (write)
        st = as ? mp_pool_write_as(g->pool, owner, h, offset, buf, len) : mp_pool_write(g->pool, h, offset, buf, len);
    else
        st = as ? mp_pool_read_as(g->pool, owner, h, offset, buf, len) : mp_pool_read(g->pool, h, offset, buf, len);
    f[0] = (double)st;
    return NULL;
}

static napi_value js_mpool_read(napi_env env, napi_callback_info info) { return transfer(env, info, false); }
static napi_value js_mpool_write(napi_env env, napi_callback_info info) { return transfer(env, info, true); }

/* mpool_read_staged(id, handle, offset, length[, owner]) -> MP_Status:
 * reads `length` (<= 4096) bytes into this thread's staging buffer. */
static napi_value js_mpool_read_staged(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 5);
    MP_Handle h = 0;
    size_t offset = 0, len = 0;
    uint32_t owner = 0;
    if (!handle_arg(env, argv[1], &h)) return status_value(env, MP_ERR_INVALID_ARGUMENT);
    if (!u32_arg(env, argv[2], &offset) || !u32_arg(env, argv[3], &len) ||
        (argc > 4 && !mp_napi_uint32_arg(env, argv[4], "owner", &owner))) {
        return NULL;
    }
    if (len > STAGING_BYTES) return status_value(env, MP_ERR_INVALID_ARGUMENT);
    MP_Status st = argc > 4 ? mp_pool_read_as(g->pool, owner, h, offset, tl_staging, len)
                            : mp_pool_read(g->pool, h, offset, tl_staging, len);
    return status_value(env, st);
}

/* mpool_fill(id, handle, offset, byte, length[, owner]) -> MP_Status. */
static napi_value js_mpool_fill(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 6);
    MP_Handle h = 0;
    size_t offset = 0, len = 0;
    uint32_t byte = 0, owner = 0;
    if (!handle_arg(env, argv[1], &h)) return status_value(env, MP_ERR_INVALID_ARGUMENT);
    if (!u32_arg(env, argv[2], &offset) || !mp_napi_uint32_arg(env, argv[3], "byte", &byte) ||
        !u32_arg(env, argv[4], &len) || (argc > 5 && !mp_napi_uint32_arg(env, argv[5], "owner", &owner))) {
        return NULL;
    }
    MP_Status st = argc > 5 ? mp_pool_fill_as(g->pool, owner, h, offset, (uint8_t)byte, len)
                            : mp_pool_fill(g->pool, h, offset, (uint8_t)byte, len);
    return status_value(env, st);
}

/* mpool_copy(id, dst, dstOffset, src, srcOffset, length[, owner]) -> MP_Status. */
static napi_value js_mpool_copy(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 7);
    MP_Handle dst = 0, src = 0;
    size_t dst_offset = 0, src_offset = 0, len = 0;
    uint32_t owner = 0;
    if (!handle_arg(env, argv[1], &dst) || !handle_arg(env, argv[3], &src))
        return status_value(env, MP_ERR_INVALID_ARGUMENT);
    if (!u32_arg(env, argv[2], &dst_offset) || !u32_arg(env, argv[4], &src_offset) || !u32_arg(env, argv[5], &len) ||
        (argc > 6 && !mp_napi_uint32_arg(env, argv[6], "owner", &owner))) {
        return NULL;
    }
    MP_Status st = argc > 6 ? mp_pool_copy_as(g->pool, owner, dst, dst_offset, src, src_offset, len)
                            : mp_pool_copy(g->pool, dst, dst_offset, src, src_offset, len);
    return status_value(env, st);
}

/* mpool_locate(), a frame call: [handle in double 1; word id] -> [the block's offset from
 * the pool base, or -status; its size]. Valid until the relocation count
 * changes. */
static napi_value js_mpool_locate(napi_env env, napi_callback_info info) {
    MPOOL_FRAME(env, info);
    double *f = e->frame;
    MP_Handle h = 0;
    size_t offset = 0, size = 0;
    MP_Status st = MP_ERR_INVALID_ARGUMENT;
    if (handle_value(f[1], &h)) st = mp_pool_locate(g->pool, h, &offset, &size);
    /* Offsets and sizes are below 2^31 (regions are): int32 conversions. */
    f[0] = st == MP_OK ? (double)(int32_t)offset : -(double)st;
    f[1] = (double)(int32_t)size;
    return NULL;
}

/* mpool_block_info(id, handle) -> MP_Status; scratch[0..4] = offset, size,
 * usable bytes, owner id, pinned (0/1). */
static napi_value js_mpool_block_info(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 2);
    MP_Handle h = 0;
    MP_PoolBlockInfo bi;
    if (!handle_arg(env, argv[1], &h)) return status_value(env, MP_ERR_INVALID_ARGUMENT);
    MP_Status st = mp_pool_block_info(g->pool, h, &bi);
    if (st == MP_OK) {
        tl_scratch[0] = (double)bi.offset;
        tl_scratch[1] = (double)bi.size_bytes;
        tl_scratch[2] = (double)bi.usable_bytes;
        tl_scratch[3] = (double)bi.owner;
        tl_scratch[4] = bi.pinned ? 1.0 : 0.0;
    }
    return status_value(env, st);
}

/* mpool_pin(id, handle, pinned: 0/1) -> MP_Status. */
static napi_value js_mpool_pin(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 3);
    MP_Handle h = 0;
    uint32_t pin = 0;
    if (!handle_arg(env, argv[1], &h)) return status_value(env, MP_ERR_INVALID_ARGUMENT);
    if (!mp_napi_uint32_arg(env, argv[2], "pinned", &pin)) return NULL;
    return status_value(env, pin ? mp_pool_pin(g->pool, h) : mp_pool_unpin(g->pool, h));
}

/* Largest handle table a MemoryPool reads itself: JS indexes its uint32
 * words with int32 arithmetic. */
#define TABLE_MAX_BYTES ((size_t)1 << 30)

/* 1 where the low half of a 64-bit word is its second uint32 word (big
 * endian), else 0. */
static unsigned high_half_first(void) {
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1 ? 0u : 1u;
}

/* mpool_handle_table(id) -> an ArrayBuffer over the pool's handle table (the
 * core's own mapping, external: never copied), or undefined where JS must
 * resolve handles by call: a thread-safe pool, a table over 1 GiB, or a
 * runtime that refuses external buffers. scratch[0..5] = index mask, uint32
 * words per entry, the entry's word holding the handle's low half, its
 * high half, the block address's low half, and the low 32 bits of the
 * region's address (JS: offset = (address low - region low) >>> 0; regions
 * are below 2^31 bytes). The buffer points into memory mp_pool_destroy
 * unmaps: MemoryPool.destroy() detaches it first (mpool_handle_table_drop). */
static napi_value js_mpool_handle_table(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 1);
    (void)argc;
    napi_value result;
    if (napi_get_undefined(env, &result) != napi_ok) return NULL;
    MP_PoolHandleTable t;
    if (mp_pool_handle_table(g->pool, &t) != MP_OK || t.entry_count > TABLE_MAX_BYTES / t.entry_bytes ||
        t.entry_bytes % 4u != 0 || t.handle_offset % 4u != 0 || t.address_offset % 4u != 0) {
        return result;
    }
    napi_value buffer;
    if (napi_create_external_arraybuffer(env, (void *)(uintptr_t)t.entries, t.entry_count * t.entry_bytes, NULL,
                                         NULL, &buffer) != napi_ok) {
        bool pending = false;
        napi_value ignored;
        if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
            napi_get_and_clear_last_exception(env, &ignored);
        return result;
    }
    tl_scratch[0] = (double)t.index_mask;
    tl_scratch[1] = (double)(t.entry_bytes / 4u);
    unsigned big = high_half_first();
    tl_scratch[2] = (double)(t.handle_offset / 4u + big);
    tl_scratch[3] = (double)(t.handle_offset / 4u + 1u - big);
    /* A pointer of 4 bytes is one word; of 8, its low half is what JS reads. */
    tl_scratch[4] = (double)(t.address_offset / 4u + (sizeof(void *) == 8 ? big : 0u));
    tl_scratch[5] = (double)(uint32_t)(uintptr_t)mp_pool_base(g->pool);
    return buffer;
}

/* mpool_handle_table_drop(buffer): detaches a buffer mpool_handle_table made
 * (before its pool is destroyed), so nothing can read the unmapped table. */
static napi_value js_mpool_handle_table_drop(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    size_t argc = 1;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
    bool is_buffer = false;
    if (argc == 1 && napi_is_arraybuffer(env, argv[0], &is_buffer) == napi_ok && is_buffer)
        napi_detach_arraybuffer(env, argv[0]);
    return NULL;
}

/* ------------------------------------------------------------------- owners */

/* mpool_owner_stats(id, owner) -> { camelCase MP_POOL_OWNER_STATS_FIELDS }. */
static napi_value js_mpool_owner_stats(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 2);
    uint32_t owner = 0;
    MP_PoolOwnerStats os;
    if (!mp_napi_uint32_arg(env, argv[1], "owner", &owner)) return NULL;
    MP_Status st = mp_pool_owner_stats(g->pool, owner, &os);
    if (st != MP_OK) {
        napi_throw_error(env, mp_status_str(st), "owner stats failed");
        return NULL;
    }
    return mp_napi_stats_object(env, &mpool_tables[1], &os);
}

/* mpool_set_owner_limit(id, owner, limitBytes) -> MP_Status. */
static napi_value js_mpool_set_owner_limit(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 3);
    uint32_t owner = 0;
    size_t limit = 0;
    if (!mp_napi_uint32_arg(env, argv[1], "owner", &owner) || !mp_napi_size_arg(env, argv[2], "limitBytes", &limit))
        return NULL;
    return status_value(env, mp_pool_set_owner_limit(g->pool, owner, limit));
}

/* mpool_free_owner(id, owner) -> blocks freed, or -status. */
static napi_value js_mpool_free_owner(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 2);
    uint32_t owner = 0;
    size_t freed = 0;
    if (!mp_napi_uint32_arg(env, argv[1], "owner", &owner)) return NULL;
    MP_Status st = mp_pool_free_owner(g->pool, owner, &freed);
    return mp_napi_double(env, st == MP_OK ? (double)freed : -(double)st);
}

/* mpool_owner_blocks(id, owner) -> Float64Array of the owner's handles, in
 * handle-table order (a copy: no lock is held while JS runs). */
static napi_value js_mpool_owner_blocks(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 2);
    uint32_t owner = 0;
    if (!mp_napi_uint32_arg(env, argv[1], "owner", &owner)) return NULL;
    size_t total = 0, capacity = 0;
    MP_Handle *handles = NULL;
    MP_Status st = mp_pool_owner_blocks(g->pool, owner, NULL, 0, &total);
    /* Another thread may allocate for the owner between the calls: retry with the new total. */
    while (st == MP_OK && total > capacity) {
        capacity = total;
        MP_Handle *grown = realloc(handles, capacity * sizeof *handles);
        if (grown == NULL) {
            st = MP_ERR_OUT_OF_MEMORY;
            break;
        }
        handles = grown;
        st = mp_pool_owner_blocks(g->pool, owner, handles, capacity, &total);
    }
    napi_value buffer, array = NULL;
    void *data = NULL;
    if (st == MP_OK && napi_create_arraybuffer(env, total * sizeof(double), &data, &buffer) == napi_ok &&
        napi_create_typedarray(env, napi_float64_array, total, buffer, 0, &array) == napi_ok) {
        for (size_t i = 0; i < total; i++)
            ((double *)data)[i] = (double)handles[i];
    } else if (st != MP_OK) {
        napi_throw_error(env, mp_status_str(st), "cannot list the owner's blocks");
    }
    free(handles);
    return array;
}

/* ------------------------------------------------------------- compaction */

/* mpool_defragment(id, budgetBytes) -> MP_Status; scratch[0..4] = bytes
 * moved, blocks moved, fragmentation before, after, complete (0/1). */
static napi_value js_mpool_defragment(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 2);
    size_t budget = 0;
    MP_DefragResult r;
    if (!mp_napi_size_arg(env, argv[1], "budgetBytes", &budget)) return NULL;
    MP_Status st = mp_pool_defragment(g->pool, budget, &r);
    if (st == MP_OK) {
        tl_scratch[0] = (double)r.bytes_moved;
        tl_scratch[1] = (double)r.blocks_moved;
        tl_scratch[2] = r.fragmentation_before;
        tl_scratch[3] = r.fragmentation_after;
        tl_scratch[4] = r.complete ? 1.0 : 0.0;
    }
    return status_value(env, st);
}

/* mpool_relocation_count(id) -> blocks moved since create. */
static napi_value js_mpool_relocation_count(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 1);
    (void)argc;
    return mp_napi_double(env, (double)mp_pool_relocation_count(g->pool));
}

/* mpool_pressure(id) -> the MP_PressureLevel now. */
static napi_value js_mpool_pressure(napi_env env, napi_callback_info info) {
    MPOOL_ARGS(env, info, 1);
    (void)argc;
    return mp_napi_int32(env, (int32_t)mp_pool_pressure_level(g->pool));
}

/* ----------------------------------------------------------------- lifetime */

/* Runs before the addon's own env cleanup (hooks run in reverse order of
 * registration): no signal callback may reach this env's scratch after. */
static void scratch_release(void *arg) {
    napi_env env = arg;
    tl_scratch = NULL;
    tl_pressure = NULL;
    tl_auto_defrag = NULL;
    tl_staging = NULL;
    if (tl_scratch_ref != NULL) napi_delete_reference(env, tl_scratch_ref);
    if (tl_staging_ref != NULL) napi_delete_reference(env, tl_staging_ref);
    tl_scratch_ref = NULL;
    tl_staging_ref = NULL;
}

/* Makes a zeroed ArrayBuffer of `bytes`, referenced by `*ref`, as exports[name]. */
static napi_status thread_buffer(napi_env env, napi_value exports, const char *name, size_t bytes, void **data,
                                 napi_ref *ref) {
    napi_value buffer;
    napi_status st = napi_create_arraybuffer(env, bytes, data, &buffer);
    if (st == napi_ok) st = napi_create_reference(env, buffer, 1, ref);
    if (st == napi_ok) st = napi_set_named_property(env, exports, name, buffer);
    if (st == napi_ok) memset(*data, 0, bytes);
    return st;
}

static napi_status mpool_init(napi_env env, napi_value exports, mp_napi_env *e) {
    static const char *const names[] = {
        "mpool_create", "mpool_alloc",       "mpool_free",          "mpool_read",          "mpool_write",
        "mpool_fill",   "mpool_copy",        "mpool_locate",        "mpool_block_info",    "mpool_pin",
        "mpool_owner_stats", "mpool_set_owner_limit", "mpool_free_owner", "mpool_owner_blocks",
        "mpool_defragment",  "mpool_relocation_count", "mpool_pressure", "mpool_read_staged",
        "mpool_handle_table", "mpool_handle_table_drop"};
    static const napi_callback fns[] = {
        js_mpool_create,      js_mpool_alloc,           js_mpool_free,        js_mpool_read,
        js_mpool_write,       js_mpool_fill,            js_mpool_copy,        js_mpool_locate,
        js_mpool_block_info,  js_mpool_pin,             js_mpool_owner_stats, js_mpool_set_owner_limit,
        js_mpool_free_owner,  js_mpool_owner_blocks,    js_mpool_defragment,  js_mpool_relocation_count,
        js_mpool_pressure,    js_mpool_read_staged,     js_mpool_handle_table, js_mpool_handle_table_drop};
    _Static_assert(sizeof names / sizeof names[0] == sizeof fns / sizeof fns[0], "one name per function");
    napi_status st = mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]);
    void *scratch = NULL, *staging = NULL;
    if (st == napi_ok) st = napi_add_env_cleanup_hook(env, scratch_release, env);
    if (st == napi_ok) st = thread_buffer(env, exports, "mpool_scratch", SCRATCH_BYTES, &scratch, &tl_scratch_ref);
    if (st == napi_ok) st = thread_buffer(env, exports, "mpool_staging", STAGING_BYTES, &staging, &tl_staging_ref);
    if (st != napi_ok) return st;
    tl_scratch = scratch;
    tl_pressure = (uint32_t *)((double *)scratch + SCRATCH_DOUBLES);
    tl_auto_defrag = (double *)(tl_pressure + SIGNAL_WORDS);
    tl_staging = staging;
    return napi_ok;
}

const mp_napi_family mp_napi_family_mpool = {
    .name = "mpool",
    .destroy = mpool_destroy,
    .base = mpool_base,
    .check = mpool_check,
    .reset = mpool_reset,
    .owns = mpool_owns,
    .stats = mpool_stats,
    .stats_tables = mpool_tables,
    .stats_table_count = sizeof mpool_tables / sizeof mpool_tables[0],
    .init = mpool_init,
    .heap = NULL,
};
