/*
 * addon.c - module init, the process-wide pool registry, per-env attachment
 * tables and the family-independent exports of the Node-API addon.
 *
 * Registry: one process-wide array of rows (index -> entry, generation),
 * guarded by a mutex and touched only on create, attach and detach. An id is
 * (generation << 20) | index, index >= 1, so ids are positive int32 and a
 * stale id of a reused row does not match the row's current entry.
 *
 * Attachments: every env (main thread, each worker) has its own table of
 * slots indexed by registry index; hot calls look a pool up there without a
 * lock. An entry counts the envs attached to it (`attach_count`); the pool is
 * destroyed when the last attachment goes, through pool_destroy(id) or the
 * env cleanup hook (a worker that exits releases what it did not destroy).
 * Each attachment holds a napi_ref to the region's typed array, so the
 * region outlives every pool placed in it. A reference keeps the view, not
 * its bytes: a plain ArrayBuffer can still be detached or shrunk by JS, so
 * its slots check the view before every call but destroy
 * (mp_napi_region_check); a SharedArrayBuffer can be neither.
 *
 * Invariants: registry_live == number of rows with an entry; for every env,
 * live_count == number of non-empty slots; an entry's attach_count == number
 * of env slots pointing at it.
 */
#include "addon.h"
#include "heap_glue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
static SRWLOCK registry_lock = SRWLOCK_INIT;
static void registry_acquire(void) { AcquireSRWLockExclusive(&registry_lock); }
static void registry_release(void) { ReleaseSRWLockExclusive(&registry_lock); }
#else
#include <pthread.h>
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static void registry_acquire(void) { pthread_mutex_lock(&registry_lock); }
static void registry_release(void) { pthread_mutex_unlock(&registry_lock); }
#endif

typedef struct mp_napi_entry {
    const mp_napi_family *family;
    void *pool;
    const uint8_t *region_start; /* first byte of the creating view */
    size_t view_bytes;           /* the creating view's length */
    int32_t id;
    uint32_t attach_count;
    bool shareable;
} mp_napi_entry;

typedef struct registry_row {
    mp_napi_entry *entry; /* NULL when free */
    uint32_t generation;
} registry_row;

/* All guarded by registry_lock. Row 0 is never used (id 0 is invalid). */
static registry_row *registry_rows;
static uint32_t registry_row_count = 1;
static uint32_t registry_capacity;
static uint32_t *registry_free_rows; /* stack of free indices, capacity registry_capacity */
static uint32_t registry_free_count;
static size_t registry_live;

static const mp_napi_family *const families[] = {
#define MP_NAPI_FAMILY_PTR_(name) &mp_napi_family_##name,
    MP_NAPI_FAMILIES(MP_NAPI_FAMILY_PTR_)
#undef MP_NAPI_FAMILY_PTR_
};
#define FAMILY_COUNT (sizeof families / sizeof families[0])

/* ------------------------------------------------------------ small values */

napi_value mp_napi_int32(napi_env env, int32_t value) {
    napi_value v = NULL;
    napi_create_int32(env, value, &v);
    return v;
}

napi_value mp_napi_double(napi_env env, double value) {
    napi_value v = NULL;
    napi_create_double(env, value, &v);
    return v;
}

napi_value mp_napi_bool(napi_env env, bool value) {
    napi_value v = NULL;
    napi_get_boolean(env, value, &v);
    return v;
}

napi_value mp_napi_offset_of(napi_env env, const mp_napi_slot *s, const void *ptr) {
    return mp_napi_int32(env, ptr ? (int32_t)((uintptr_t)ptr - s->base) : -1);
}

napi_value mp_napi_create_failed(napi_env env) {
    MP_Status st = mp_last_error().status;
    return mp_napi_int32(env, -(int32_t)(st != MP_OK ? st : MP_ERR_INVALID_ARGUMENT));
}

static void set_number(napi_env env, napi_value obj, const char *key, double value) {
    napi_set_named_property(env, obj, key, mp_napi_double(env, value));
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
    napi_value v;
    if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
        napi_set_named_property(env, obj, key, v);
}

/* --------------------------------------------------------------- unpacking */

static void throw_invalid_handle(napi_env env, const mp_napi_family *family) {
    char msg[96];
    snprintf(msg, sizeof msg, "no %s pool with this id in this thread", family ? family->name : "such");
    napi_throw_error(env, "MP_ERR_INVALID_HANDLE", msg);
}

mp_napi_slot *mp_napi_bad_id(napi_env env, napi_status st, const mp_napi_family *family) {
    if (st != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "pool id must be a number");
    } else {
        throw_invalid_handle(env, family);
    }
    return NULL;
}

_Atomic(napi_env) mp_napi_cached_env;
mp_napi_env *mp_napi_cached_table;

mp_napi_env *mp_napi_env_slow(napi_env env) {
    void *data = NULL;
    return napi_get_instance_data(env, &data) == napi_ok ? data : NULL;
}

bool mp_napi_offset_arg(napi_env env, const mp_napi_slot *s, napi_value value, void **ptr) {
    uint32_t offset = 0;
    if (napi_get_value_uint32(env, value, &offset) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "offset must be a number");
        return false;
    }
    *ptr = (void *)(s->base + offset);
    return true;
}

bool mp_napi_size_arg(napi_env env, napi_value value, const char *what, size_t *out) {
    double d = 0;
    char msg[96];
    if (napi_get_value_double(env, value, &d) != napi_ok) {
        snprintf(msg, sizeof msg, "%s must be a number", what);
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", msg);
        return false;
    }
    if (!(d >= 0 && d <= 9007199254740992.0) || floor(d) != d) {
        snprintf(msg, sizeof msg, "%s must be an integer in [0, 2^53]", what);
        napi_throw_range_error(env, "MP_ERR_INVALID_ARGUMENT", msg);
        return false;
    }
    *out = (size_t)d;
    return true;
}

bool mp_napi_bytes_arg(napi_env env, napi_value value, uint8_t **data, size_t *length) {
    bool is_typed = false;
    napi_typedarray_type type = napi_int8_array;
    void *ptr = NULL;
    if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok ||
        type != napi_uint8_array) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "region must be a Uint8Array");
        return false;
    }
    *data = ptr;
    return true;
}

bool mp_napi_int32_words(napi_env env, napi_value value, int32_t **data, size_t *count) {
    void *ptr = NULL;
    size_t bytes = 0;
    if (napi_get_buffer_info(env, value, &ptr, &bytes) != napi_ok) {
        napi_typedarray_type type = napi_int8_array;
        if (napi_get_typedarray_info(env, value, &type, &bytes, &ptr, NULL, NULL) != napi_ok ||
            type != napi_int32_array) {
            napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "expected an Int32Array");
            return false;
        }
        bytes *= sizeof(int32_t);
    }
    if (((uintptr_t)ptr | bytes) % sizeof(int32_t) != 0) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "expected 4-aligned 32-bit words");
        return false;
    }
    *data = ptr;
    *count = bytes / sizeof(int32_t);
    return true;
}

bool mp_napi_int32_array_arg(napi_env env, napi_value array, napi_value count_value, int32_t **data,
                             size_t *count) {
    size_t length = 0;
    uint32_t n = 0;
    if (!mp_napi_int32_words(env, array, data, &length)) return false;
    if (napi_get_value_uint32(env, count_value, &n) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "count must be a number");
        return false;
    }
    if (n > length) {
        napi_throw_range_error(env, "MP_ERR_INVALID_ARGUMENT", "count exceeds the array length");
        return false;
    }
    *count = n;
    return true;
}

/* ------------------------------------------------------------ stats objects */

/* "allocated_peak" -> "allocatedPeak" */
static void camel_case(const char *snake, char *out, size_t cap) {
    size_t o = 0;
    bool upper = false;
    for (const char *c = snake; *c && o + 1 < cap; c++) {
        if (*c == '_') {
            upper = true;
            continue;
        }
        out[o++] = (upper && *c >= 'a' && *c <= 'z') ? (char)(*c - 'a' + 'A') : *c;
        upper = false;
    }
    out[o] = '\0';
}

napi_value mp_napi_stats_object(napi_env env, const mp_napi_stats_table *table, const void *stats) {
    napi_value obj;
    if (napi_create_object(env, &obj) != napi_ok) return NULL;
    for (size_t i = 0; i < table->field_count; i++) {
        const mp_napi_field *f = &table->fields[i];
        const unsigned char *src = (const unsigned char *)stats + f->offset;
        double value = 0;
        if (f->kind == MP_NAPI_U32) {
            uint32_t v;
            memcpy(&v, src, sizeof v);
            value = v;
        } else if (f->kind == MP_NAPI_U64) {
            uint64_t v;
            memcpy(&v, src, sizeof v);
            value = (double)v;
        } else {
            memcpy(&value, src, sizeof value);
        }
        char key[64];
        camel_case(f->c_name, key, sizeof key);
        set_number(env, obj, key, value);
    }
    return obj;
}

napi_status mp_napi_define(napi_env env, napi_value exports, mp_napi_env *e, const char *const *names,
                           const napi_callback *fns, size_t count) {
    for (size_t i = 0; i < count; i++) {
        napi_value fn;
        napi_status st = napi_create_function(env, names[i], NAPI_AUTO_LENGTH, fns[i], e, &fn);
        if (st == napi_ok) st = napi_set_named_property(env, exports, names[i], fn);
        if (st != napi_ok) return st;
    }
    return napi_ok;
}

/* ------------------------------------------------------------ registry ops */

/* Grows the env's table so `index` is a valid slot; false on OOM. */
static bool env_reserve(mp_napi_env *e, uint32_t index) {
    if (index < e->slot_count) return true;
    uint32_t count = e->slot_count ? e->slot_count : 16;
    while (count <= index)
        count *= 2;
    mp_napi_slot *slots = realloc(e->slots, (size_t)count * sizeof *slots);
    if (slots == NULL) return false;
    memset(slots + e->slot_count, 0, (size_t)(count - e->slot_count) * sizeof *slots);
    e->slots = slots;
    e->slot_count = count;
    return true;
}

/* Takes a free row for `entry` and sets entry->id; false when full or OOM. */
static bool registry_insert(mp_napi_entry *entry) {
    bool ok = true;
    registry_acquire();
    uint32_t index = 0;
    if (registry_free_count > 0) {
        index = registry_free_rows[--registry_free_count];
    } else if (registry_row_count > MP_NAPI_INDEX_MASK) {
        ok = false;
    } else {
        if (registry_row_count >= registry_capacity) {
            uint32_t cap = registry_capacity ? registry_capacity * 2 : 64;
            registry_row *rows = realloc(registry_rows, (size_t)cap * sizeof *rows);
            uint32_t *free_rows = rows ? realloc(registry_free_rows, (size_t)cap * sizeof *free_rows) : NULL;
            if (rows) registry_rows = rows;
            if (free_rows) registry_free_rows = free_rows;
            if (rows && free_rows) {
                memset(registry_rows + registry_capacity, 0,
                       (size_t)(cap - registry_capacity) * sizeof *rows);
                registry_capacity = cap;
            } else {
                ok = false;
            }
        }
        if (ok) index = registry_row_count++;
    }
    if (ok) {
        registry_row *row = &registry_rows[index];
        row->generation = (row->generation + 1) & MP_NAPI_GENERATION_MASK;
        row->entry = entry;
        entry->id = (int32_t)((row->generation << MP_NAPI_INDEX_BITS) | index);
        registry_live++;
    }
    registry_release();
    return ok;
}

/* Drops one attachment of `entry`; destroys the pool when it was the last. */
static void entry_release(mp_napi_entry *entry) {
    registry_acquire();
    bool last = --entry->attach_count == 0;
    if (last) {
        uint32_t index = (uint32_t)entry->id & MP_NAPI_INDEX_MASK;
        registry_rows[index].entry = NULL;
        registry_free_rows[registry_free_count++] = index;
        registry_live--;
    }
    registry_release();
    if (last) {
        entry->family->destroy(entry->pool);
        free(entry);
    }
}

/* Whether `view` (a Uint8Array) is over a plain ArrayBuffer, which JS can
 * detach or shrink (a SharedArrayBuffer can neither). */
static bool view_detachable(napi_env env, napi_value view) {
    napi_typedarray_type type = napi_uint8_array;
    napi_value buffer = NULL;
    size_t length = 0;
    bool plain = true; /* when in doubt, check at every call */
    if (napi_get_typedarray_info(env, view, &type, &length, NULL, &buffer, NULL) == napi_ok)
        napi_is_arraybuffer(env, buffer, &plain);
    return plain;
}

mp_napi_slot *mp_napi_region_check(napi_env env, mp_napi_slot *s) {
    napi_value view = NULL;
    napi_typedarray_type type = napi_uint8_array;
    size_t length = 0;
    void *data = NULL;
    if (napi_get_reference_value(env, s->view_ref, &view) == napi_ok && view != NULL &&
        napi_get_typedarray_info(env, view, &type, &length, &data, NULL, NULL) == napi_ok &&
        data == (const void *)s->entry->region_start && length >= s->entry->view_bytes)
        return s;
    napi_throw_error(env, "MP_ERR_INVALID_HANDLE",
                     "the pool's region ArrayBuffer was detached or resized: only destroy() is allowed");
    return NULL;
}

static void slot_fill(napi_env env, mp_napi_env *e, mp_napi_entry *entry, napi_value view, napi_ref ref) {
    mp_napi_slot *s = &e->slots[(uint32_t)entry->id & MP_NAPI_INDEX_MASK];
    s->id = entry->id;
    s->region_detachable = view_detachable(env, view);
    s->family = entry->family;
    s->pool = entry->pool;
    s->base = (uintptr_t)entry->family->base(entry->pool);
    s->entry = entry;
    s->view_ref = ref;
    e->live_count++;
}

/* Empties a slot and releases its attachment. */
static void slot_detach(mp_napi_env *e, mp_napi_slot *s) {
    mp_napi_entry *entry = s->entry;
    if (s->view_ref) napi_delete_reference(e->env, s->view_ref);
    if (s->js_cache_ref) napi_delete_reference(e->env, s->js_cache_ref);
    for (size_t i = 0; i < 2; i++)
        if (s->js_batch_ref[i]) napi_delete_reference(e->env, s->js_batch_ref[i]);
    memset(s, 0, sizeof *s);
    e->live_count--;
    entry_release(entry);
}

napi_value mp_napi_register(napi_env env, mp_napi_env *e, const mp_napi_family *family, void *pool,
                            napi_value view, const uint8_t *region_start, bool shareable) {
    mp_napi_entry *entry = calloc(1, sizeof *entry);
    if (entry == NULL || !registry_insert(entry)) {
        free(entry);
        family->destroy(pool);
        napi_throw_error(env, "MP_ERR_LIMIT_EXCEEDED", "the pool registry is full");
        return NULL;
    }
    entry->family = family;
    entry->pool = pool;
    entry->region_start = region_start;
    napi_typedarray_type type = napi_uint8_array;
    if (napi_get_typedarray_info(env, view, &type, &entry->view_bytes, NULL, NULL, NULL) != napi_ok)
        entry->view_bytes = 0;
    entry->shareable = shareable;
    entry->attach_count = 1;
    napi_ref ref = NULL;
    if (!env_reserve(e, (uint32_t)entry->id & MP_NAPI_INDEX_MASK) ||
        napi_create_reference(env, view, 1, &ref) != napi_ok) {
        entry_release(entry); /* the only attachment: destroys the pool */
        napi_throw_error(env, "MP_ERR_OUT_OF_MEMORY", "cannot attach the pool to this thread");
        return NULL;
    }
    slot_fill(env, e, entry, view, ref);
    return mp_napi_int32(env, entry->id);
}

/* ----------------------------------------------------- generic flat exports */

static napi_value js_version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value v = NULL;
    napi_create_string_utf8(env, mp_version(), NAPI_AUTO_LENGTH, &v);
    return v;
}

/* [{ name, description }] indexed by status value. */
static napi_value js_status_table(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value arr;
    if (napi_create_array_with_length(env, MP_STATUS_COUNT_, &arr) != napi_ok) return NULL;
    for (int s = 0; s < (int)MP_STATUS_COUNT_; s++) {
        napi_value row;
        if (napi_create_object(env, &row) != napi_ok) return NULL;
        set_string(env, row, "name", mp_status_str((MP_Status)s));
        set_string(env, row, "description", mp_status_description((MP_Status)s));
        napi_set_element(env, arr, (uint32_t)s, row);
    }
    return arr;
}

static napi_value js_last_error(napi_env env, napi_callback_info info) {
    (void)info;
    MP_ErrorInfo err = mp_last_error();
    napi_value obj;
    if (napi_create_object(env, &obj) != napi_ok) return NULL;
    set_number(env, obj, "status", (double)err.status);
    set_string(env, obj, "code", mp_status_str(err.status));
    set_number(env, obj, "requestedBytes", (double)err.requested_bytes);
    set_number(env, obj, "availableBytes", (double)err.available_bytes);
    set_number(env, obj, "largestFreeBytes", (double)err.largest_free_bytes);
    return obj;
}

static napi_value js_clear_last_error(napi_env env, napi_callback_info info) {
    (void)env;
    (void)info;
    mp_clear_last_error();
    return NULL;
}

/* stats_fields(name) -> camelCase field names of that stats struct, in the
 * header's order; undefined for an unknown name. */
static napi_value js_stats_fields(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 1, argv, &e);
    char name[32];
    size_t len = 0;
    if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "name must be a string");
        return NULL;
    }
    for (size_t f = 0; f < FAMILY_COUNT; f++) {
        for (size_t t = 0; t < families[f]->stats_table_count; t++) {
            const mp_napi_stats_table *table = &families[f]->stats_tables[t];
            if (strcmp(table->name, name) != 0) continue;
            napi_value arr;
            if (napi_create_array_with_length(env, table->field_count, &arr) != napi_ok) return NULL;
            for (size_t i = 0; i < table->field_count; i++) {
                char key[64];
                napi_value v;
                camel_case(table->fields[i].c_name, key, sizeof key);
                if (napi_create_string_utf8(env, key, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
                napi_set_element(env, arr, (uint32_t)i, v);
            }
            return arr;
        }
    }
    return NULL;
}

/* pool_destroy(id) -> MP_Status: detaches this env; the pool goes with its
 * last attachment. MP_ERR_INVALID_HANDLE if this env does not hold `id`. */
static napi_value js_pool_destroy(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 1, argv, &e);
    int32_t id = 0;
    napi_get_value_int32(env, argv[0], &id);
    mp_napi_slot *s = mp_napi_find(e, id, NULL);
    if (s == NULL) return mp_napi_int32(env, MP_ERR_INVALID_HANDLE);
    slot_detach(e, s);
    return mp_napi_int32(env, MP_OK);
}

/* pool_attach(id, view) -> MP_Status: attaches a shareable pool created in
 * another env to this one. `view` must start at the same address as the
 * creating view (the same SharedArrayBuffer) and be at least as long. */
static napi_value js_pool_attach(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 2, argv, &e);
    int32_t id = 0;
    uint8_t *data = NULL;
    size_t length = 0;
    if (napi_get_value_int32(env, argv[0], &id) != napi_ok) {
        napi_throw_type_error(env, "MP_ERR_INVALID_ARGUMENT", "pool id must be a number");
        return NULL;
    }
    if (!mp_napi_bytes_arg(env, argv[1], &data, &length)) return NULL;
    if (id <= 0) return mp_napi_int32(env, MP_ERR_INVALID_HANDLE);
    if (mp_napi_find(e, id, NULL) != NULL) return mp_napi_int32(env, MP_ERR_INVALID_ARGUMENT);
    uint32_t index = (uint32_t)id & MP_NAPI_INDEX_MASK;
    MP_Status status = MP_OK;
    mp_napi_entry *entry = NULL;
    registry_acquire();
    if (index >= registry_row_count || registry_rows[index].entry == NULL ||
        registry_rows[index].entry->id != id) {
        status = MP_ERR_INVALID_HANDLE;
    } else if (!registry_rows[index].entry->shareable) {
        status = MP_ERR_UNSUPPORTED;
    } else if (registry_rows[index].entry->region_start != data) {
        status = MP_ERR_INVALID_ARGUMENT;
    } else {
        entry = registry_rows[index].entry;
        entry->attach_count++;
    }
    registry_release();
    if (status != MP_OK) return mp_napi_int32(env, (int32_t)status);
    napi_ref ref = NULL;
    if (!env_reserve(e, index) || napi_create_reference(env, argv[1], 1, &ref) != napi_ok) {
        entry_release(entry);
        return mp_napi_int32(env, MP_ERR_OUT_OF_MEMORY);
    }
    slot_fill(env, e, entry, argv[1], ref);
    return mp_napi_int32(env, MP_OK);
}

/* advise_huge_pages(view) -> MP_Status of mp_advise_huge_pages over the
 * view's bytes (a pool region: the `hugePages` option). */
static napi_value js_advise_huge_pages(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 1, argv, &e);
    (void)e;
    uint8_t *data = NULL;
    size_t length = 0;
    if (!mp_napi_bytes_arg(env, argv[0], &data, &length)) return NULL;
    return mp_napi_int32(env, (int32_t)mp_advise_huge_pages(data, length));
}

/* region_offset(id) -> bytes from the start of the region view to the
 * pool's base (non-zero when the family aligned the start up). */
static napi_value js_region_offset(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, NULL);
    (void)e;
    return mp_napi_double(env, (double)(s->base - (uintptr_t)s->entry->region_start));
}

/* pool_stats(id) -> { camelCase field: number } of the family's stats struct. */
static napi_value js_pool_stats(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, NULL);
    (void)e;
    _Alignas(16) unsigned char stats[MP_NAPI_MAX_STATS_BYTES];
    MP_Status st = s->family->stats(s->pool, stats);
    if (st != MP_OK) {
        napi_throw_error(env, mp_status_str(st), "stats failed");
        return NULL;
    }
    return mp_napi_stats_object(env, &s->family->stats_tables[0], stats);
}

/* pool_check(id) -> number of violated invariants. */
static napi_value js_pool_check(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, NULL);
    (void)e;
    return mp_napi_double(env, (double)s->family->check(s->pool));
}

/* pool_reset(id) -> MP_Status. */
static napi_value js_pool_reset(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 1, NULL);
    (void)e;
    return mp_napi_int32(env, (int32_t)s->family->reset(s->pool));
}

/* pool_owns(id, offset) -> the family's owns() of base + offset. */
static napi_value js_pool_owns(napi_env env, napi_callback_info info) {
    MP_NAPI_POOL_ARGS(env, info, 2, NULL);
    (void)e;
    void *ptr = NULL;
    if (!mp_napi_offset_arg(env, s, argv[1], &ptr)) return NULL;
    return mp_napi_bool(env, s->family->owns(s->pool, ptr) != 0);
}

/* Pools registered in the whole process (every thread). */
static napi_value js_live_pool_count(napi_env env, napi_callback_info info) {
    (void)info;
    registry_acquire();
    size_t live = registry_live;
    registry_release();
    return mp_napi_double(env, (double)live);
}

/* Pools attached to this env. */
static napi_value js_env_pool_count(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 0, argv, &e);
    return mp_napi_double(env, (double)e->live_count);
}

/* Items the last failed batch call of this env completed before failing. */
static napi_value js_batch_done(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    mp_napi_env *e;
    MP_NAPI_ARGS(env, info, 0, argv, &e);
    return mp_napi_double(env, (double)e->batch_done);
}

/* noop() -> undefined: the cost floor of a native call, for benchmarks. */
static napi_value js_noop(napi_env env, napi_callback_info info) {
    (void)env;
    (void)info;
    return NULL;
}

/* ---------------------------------------------------------------- lifetime */

/* Runs when the env (a worker, or the main thread at exit) is torn down:
 * releases every attachment it still holds. */
static void env_cleanup(void *arg) {
    mp_napi_env *e = arg;
    if (atomic_load_explicit(&mp_napi_cached_env, memory_order_relaxed) == e->env) {
        mp_napi_cached_table = NULL;
        atomic_store_explicit(&mp_napi_cached_env, NULL, memory_order_release);
    }
    for (uint32_t i = 0; i < e->slot_count; i++) {
        if (e->slots[i].id != 0) slot_detach(e, &e->slots[i]);
    }
    if (e->frame_ref != NULL) napi_delete_reference(e->env, e->frame_ref);
    free(e->slots);
    free(e);
}

/* Makes this env's call frame (zeroed, referenced until env_cleanup) and
 * exports it as `call_frame`. */
static napi_status frame_init(napi_env env, napi_value exports, mp_napi_env *e) {
    napi_value buffer;
    void *data = NULL;
    size_t bytes = MP_NAPI_FRAME_DOUBLES * sizeof(double);
    napi_status st = napi_create_arraybuffer(env, bytes, &data, &buffer);
    if (st == napi_ok) st = napi_create_reference(env, buffer, 1, &e->frame_ref);
    if (st == napi_ok) st = napi_set_named_property(env, exports, "call_frame", buffer);
    if (st != napi_ok) return st;
    memset(data, 0, bytes);
    e->frame = data;
    e->words = data;
    return napi_ok;
}

/* NAPI_MODULE_INIT defines this without a prior declaration. */
NAPI_MODULE_EXPORT int32_t NODE_API_MODULE_GET_API_VERSION(void);

NAPI_MODULE_INIT() {
    mp_napi_env *e = calloc(1, sizeof *e);
    if (e == NULL) {
        napi_throw_error(env, "MP_ERR_OUT_OF_MEMORY", "cannot allocate addon state");
        return NULL;
    }
    e->env = env;
    if (napi_set_instance_data(env, e, NULL, NULL) != napi_ok ||
        napi_add_env_cleanup_hook(env, env_cleanup, e) != napi_ok) {
        free(e);
        napi_throw_error(env, NULL, "cannot register addon state");
        return NULL;
    }
    static const char *const names[] = {
        "version",         "status_table",   "last_error",  "clear_last_error",
        "stats_fields",    "pool_destroy",   "pool_attach", "pool_stats",
        "pool_check",      "pool_reset",     "pool_owns",   "region_offset", "advise_huge_pages",
        "live_pool_count", "env_pool_count", "batch_done",  "noop"};
    static const napi_callback fns[] = {
        js_version,         js_status_table,   js_last_error,  js_clear_last_error,
        js_stats_fields,    js_pool_destroy,   js_pool_attach, js_pool_stats,
        js_pool_check,      js_pool_reset,     js_pool_owns,   js_region_offset, js_advise_huge_pages,
        js_live_pool_count, js_env_pool_count, js_batch_done,  js_noop};
    if (mp_napi_define(env, exports, e, names, fns, sizeof names / sizeof names[0]) != napi_ok ||
        frame_init(env, exports, e) != napi_ok || mp_napi_heap_init(env, exports, e) != napi_ok) {
        return NULL;
    }
    for (size_t f = 0; f < FAMILY_COUNT; f++) {
        if (families[f]->init(env, exports, e) != napi_ok) return NULL;
    }
    /* The first env to get here (while no other holds it) claims the table
     * cache of mp_napi_env_of; its cleanup hook gives it back. */
    napi_env unclaimed = NULL;
    if (atomic_compare_exchange_strong_explicit(&mp_napi_cached_env, &unclaimed, env, memory_order_acq_rel,
                                                memory_order_relaxed))
        mp_napi_cached_table = e;
    return exports;
}
