/*
 * pool_access.c - the managed pool's operations on one live block named by
 * a handle: pinning (mp_pool_pin / mp_pool_unpin) and access (read, write,
 * fill, copy, locate, block_info, and their owner-checked _as forms), and
 * mp_pool_handle_table, which lets a binding resolve handles without a call.
 *
 * Every call resolves its handle under the pool's lock (pool_resolve:
 * index, generation and tag), checks the owner when asked, then the byte
 * range against the block's recorded size, and changes nothing but
 * rejected_access_count when any check fails. A stale handle is
 * MP_ERR_INVALID_HANDLE here; only frees report double frees (pool.c).
 * Pinning keeps pinned_count and the fast-path fields (pool_fast_refresh)
 * in step: a pinned block is never moved by compaction.
 */
#include "pool_internal.h"

#include <string.h>

/* ------------------------------------------------------------------ pinning */

static MP_Status pool_set_pinned(MP_Pool *pool, MP_Handle handle, bool pinned) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uint32_t idx;
    pool_lock(pool);
    MP_Status st = pool_resolve(pool, handle, &idx);
    if (st == MP_OK) {
        pool_slot_info *info = pool_info_at(pool, idx);
        uint32_t was = info->link & 1u;
        info->link = (info->link & ~1u) | (pinned ? 1u : 0u);
        pool->pinned_count = pool->pinned_count - was + (pinned ? 1u : 0u);
        pool_fast_refresh(pool);
    } else {
        st = MP_ERR_INVALID_HANDLE;
        pool->rejected_access_count++;
    }
    pool_unlock(pool);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

MP_Status mp_pool_pin(MP_Pool *pool, MP_Handle handle) { return pool_set_pinned(pool, handle, true); }

MP_Status mp_pool_unpin(MP_Pool *pool, MP_Handle handle) { return pool_set_pinned(pool, handle, false); }

/* ------------------------------------------------------------------- access */

/* Resolves `h` for an access of [offset, offset + len) by `owner` (when
 * `check_owner`): handle, then owner, then bounds. Stale handles are
 * MP_ERR_INVALID_HANDLE here; only frees report double frees. */
static MP_Status pool_access(const MP_Pool *p, MP_Handle h, bool check_owner, uint32_t owner, size_t offset,
                             size_t len, pool_slot **out) {
    uint32_t idx;
    if (MP_UNLIKELY(pool_resolve(p, h, &idx) != MP_OK)) return MP_ERR_INVALID_HANDLE;
    pool_slot *s = &p->slots[idx];
    size_t size, usable;
    if (MP_UNLIKELY(check_owner && p->owners[pool_info_owner(pool_info_at(p, idx))].id != owner))
        return MP_ERR_PROTECTION;
    if (MP_UNLIKELY(!pool_slot_sizes(p, idx, &size, &usable))) return MP_ERR_CORRUPTION;
    if (MP_UNLIKELY(offset > size || len > size - offset)) return MP_ERR_OUT_OF_BOUNDS;
    *out = s;
    return MP_OK;
}

/* Kinds of byte transfer between a block and caller memory. */
typedef enum pool_xfer { POOL_READ, POOL_WRITE, POOL_FILL } pool_xfer;

static MP_Status pool_transfer(MP_Pool *pool, bool check_owner, uint32_t owner, MP_Handle h, size_t offset,
                               void *buf, uint8_t byte, size_t len, pool_xfer kind) {
    if (MP_UNLIKELY(pool == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, len, 0, 0);
    pool_slot *s;
    pool_lock(pool);
    MP_Status st = pool_access(pool, h, check_owner, owner, offset, len, &s);
    if (MP_UNLIKELY(st == MP_OK && buf == NULL && kind != POOL_FILL && len != 0)) st = MP_ERR_INVALID_ARGUMENT;
    if (MP_LIKELY(st == MP_OK)) {
        /* len 0 may come with a NULL buf, which memcpy does not allow */
        uint8_t *at = s->ptr + offset;
        if (kind == POOL_FILL)
            memset(at, byte, len);
        else if (kind == POOL_READ && len != 0)
            memcpy(buf, at, len);
        else if (len != 0)
            memcpy(at, buf, len);
    } else {
        pool->rejected_access_count++;
    }
    pool_unlock(pool);
    return MP_LIKELY(st == MP_OK) ? MP_OK : mp_fail(st, len, 0, 0);
}

MP_Status mp_pool_read(MP_Pool *pool, MP_Handle handle, size_t offset, void *dst, size_t len) {
    return pool_transfer(pool, false, 0, handle, offset, dst, 0, len, POOL_READ);
}

MP_Status mp_pool_write(MP_Pool *pool, MP_Handle handle, size_t offset, const void *src, size_t len) {
    return pool_transfer(pool, false, 0, handle, offset, (void *)(uintptr_t)src, 0, len, POOL_WRITE);
}

MP_Status mp_pool_fill(MP_Pool *pool, MP_Handle handle, size_t offset, uint8_t byte, size_t len) {
    return pool_transfer(pool, false, 0, handle, offset, NULL, byte, len, POOL_FILL);
}

MP_Status mp_pool_read_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset, void *dst, size_t len) {
    return pool_transfer(pool, true, owner, handle, offset, dst, 0, len, POOL_READ);
}

MP_Status mp_pool_write_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset, const void *src,
                           size_t len) {
    return pool_transfer(pool, true, owner, handle, offset, (void *)(uintptr_t)src, 0, len, POOL_WRITE);
}

MP_Status mp_pool_fill_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset, uint8_t byte,
                          size_t len) {
    return pool_transfer(pool, true, owner, handle, offset, NULL, byte, len, POOL_FILL);
}

static MP_Status pool_copy_common(MP_Pool *pool, bool check_owner, uint32_t owner, MP_Handle dst,
                                  size_t dst_offset, MP_Handle src, size_t src_offset, size_t len) {
    if (pool == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, len, 0, 0);
    pool_slot *d, *s;
    pool_lock(pool);
    MP_Status st = pool_access(pool, dst, check_owner, owner, dst_offset, len, &d);
    if (st == MP_OK) st = pool_access(pool, src, check_owner, owner, src_offset, len, &s);
    if (st == MP_OK)
        memmove(d->ptr + dst_offset, s->ptr + src_offset, len);
    else
        pool->rejected_access_count++;
    pool_unlock(pool);
    return st == MP_OK ? MP_OK : mp_fail(st, len, 0, 0);
}

MP_Status mp_pool_copy(MP_Pool *pool, MP_Handle dst, size_t dst_offset, MP_Handle src, size_t src_offset,
                       size_t len) {
    return pool_copy_common(pool, false, 0, dst, dst_offset, src, src_offset, len);
}

MP_Status mp_pool_copy_as(MP_Pool *pool, uint32_t owner, MP_Handle dst, size_t dst_offset, MP_Handle src,
                          size_t src_offset, size_t len) {
    return pool_copy_common(pool, true, owner, dst, dst_offset, src, src_offset, len);
}

MP_Status mp_pool_locate(const MP_Pool *pool, MP_Handle handle, size_t *offset, size_t *size) {
    MP_PoolBlockInfo info;
    MP_Status st = mp_pool_block_info(pool, handle, &info);
    if (st != MP_OK) return st;
    if (offset != NULL) *offset = info.offset;
    if (size != NULL) *size = info.size_bytes;
    return MP_OK;
}

MP_Status mp_pool_handle_table(const MP_Pool *pool, MP_PoolHandleTable *out) {
    if (pool == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    if (pool->flags & MP_FLAG_THREAD_SAFE) return mp_fail(MP_ERR_UNSUPPORTED, 0, 0, 0);
    /* A live slot holds exactly its handle and its block's address (see
     * pool_resolve); free, retired and never-used slots hold no handle. */
    out->entries = pool->slots;
    out->entry_bytes = sizeof(pool_slot);
    out->handle_offset = offsetof(pool_slot, handle);
    out->address_offset = offsetof(pool_slot, ptr);
    out->index_mask = pool->index_mask;
    out->entry_count = (size_t)pool->index_mask + 1u;
    return MP_OK;
}

MP_Status mp_pool_block_info(const MP_Pool *pool, MP_Handle handle, MP_PoolBlockInfo *out) {
    if (pool == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uint32_t idx;
    pool_lock(pool);
    MP_Status st = pool_resolve(pool, handle, &idx);
    if (st == MP_OK) {
        const pool_slot *s = &pool->slots[idx];
        const pool_slot_info *info = pool_info_at(pool, idx);
        size_t size, usable;
        if (pool_slot_sizes(pool, idx, &size, &usable)) {
            out->offset = (size_t)(s->ptr - pool->region);
            out->size_bytes = size;
            out->usable_bytes = usable;
            out->owner = pool->owners[pool_info_owner(info)].id;
            out->pinned = pool_info_pinned(info);
        } else {
            st = MP_ERR_CORRUPTION;
        }
    } else {
        st = MP_ERR_INVALID_HANDLE;
    }
    pool_unlock(pool);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}
