/*
 * pool_inspect.c - metrics and the consistency check of a managed pool.
 *
 * mp_pool_stats reports the O(1) counters plus the backends' free figures
 * (a walk of their free structures). mp_pool_check cross-checks the four
 * records of the same facts: the handle table, the backends' own structures
 * and counters, the owner lists, and the pool's counters; see pool.c for the
 * invariants. Both take the pool's lock; neither changes the pool.
 */
#include "pool_internal.h"

#include <stdlib.h>

/* Radix digits: 11 bits, so the counts fit in L1 and a 64 MiB pool (2^22
 * granules) sorts in two passes. */
#define POOL_RADIX_BITS 11u
#define POOL_RADIX_SIZE (1u << POOL_RADIX_BITS)

/* Sorts `refs` by address (LSD radix on the offset from `lo` in granules;
 * every block is 16-byte aligned), using `tmp` (n entries). Returns the
 * array that holds the result (refs or tmp). */
static pool_block_ref *pool_radix_sort(pool_block_ref *refs, pool_block_ref *tmp, size_t n, uintptr_t lo,
                                       size_t span_bytes) {
    size_t count[POOL_RADIX_SIZE];
    size_t top = span_bytes >> 4;
    for (unsigned shift = 0; shift == 0 || (top >> shift) != 0; shift += POOL_RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++) count[((refs[i].addr - lo) >> 4 >> shift) & (POOL_RADIX_SIZE - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < POOL_RADIX_SIZE; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) tmp[count[((refs[i].addr - lo) >> 4 >> shift) & (POOL_RADIX_SIZE - 1)]++] = refs[i];
        pool_block_ref *t = refs;
        refs = tmp;
        tmp = t;
    }
    return refs;
}

pool_block_ref *pool_sorted_blocks(const MP_Pool *p, size_t *count) {
    size_t live = pool_live_count(p);
    *count = live;
    if (live == 0) return NULL;
    pool_block_ref *refs = malloc(2 * live * sizeof *refs);
    if (refs == NULL) return NULL;
    size_t n = 0;
    for (uint32_t i = 0; i < p->high_water && n < live; i++) {
        if (pool_slot_live(&p->slots[i])) {
            refs[n].addr = (uintptr_t)p->slots[i].ptr;
            refs[n].slot = i;
            n++;
        }
    }
    *count = n;
    pool_block_ref *sorted = pool_radix_sort(refs, refs + n, n, (uintptr_t)p->region, p->total_bytes);
    if (sorted != refs) memcpy(refs, sorted, n * sizeof *refs);
    return refs;
}

void pool_free_figures_get(const MP_Pool *p, pool_free_figures *out) {
    memset(out, 0, sizeof *out);
    for (unsigned b = 0; b < p->backend_count; b++) {
        MP_FreeStats fs;
        if (pool_be_free_stats(p, b, &fs) != MP_OK) continue;
        out->free_bytes += fs.free_bytes;
        out->free_block_count += fs.free_block_count;
        if (fs.largest_free_block_bytes > out->largest_free_block_bytes)
            out->largest_free_block_bytes = fs.largest_free_block_bytes;
    }
    if (out->free_bytes != 0)
        out->fragmentation = 1.0 - (double)out->largest_free_block_bytes / (double)out->free_bytes;
}

MP_Status mp_pool_stats(const MP_Pool *pool, MP_PoolStats *out) {
    if (pool == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    pool_free_figures f;
    pool_lock(pool);
    pool_free_figures_get(pool, &f);
    out->total_bytes = pool->total_bytes;
    size_t used = pool_used_bytes(pool);
    out->used_bytes = used;
    out->free_bytes = pool->total_bytes > used ? pool->total_bytes - used : 0;
    out->utilization = (double)used / (double)pool->total_bytes;
    out->allocation_count = pool->alloc_count;
    out->deallocation_count = pool->free_count;
    out->free_block_count = f.free_block_count;
    out->allocated_block_count = pool_live_count(pool);
    out->fragmentation_ratio = f.fragmentation;
    out->peak_usage_bytes = pool->peak_used_bytes;
    out->allocation_failure_count = pool->alloc_failure_count;
    out->largest_free_block_bytes = f.largest_free_block_bytes;
    out->backend_free_bytes = f.free_bytes;
    out->requested_bytes = pool->requested_bytes;
    out->pinned_block_count = pool->pinned_count;
    out->owner_count = pool->owner_count;
    out->handle_capacity = pool->max_blocks;
    out->retired_slot_count = pool->retired_count;
    out->rejected_free_count = pool->rejected_free_count;
    out->rejected_access_count = pool->rejected_access_count;
    out->defrag_count = pool->defrag_count;
    out->auto_defrag_count = pool->auto_defrag_count;
    out->relocation_count = pool->relocation_count;
    out->bytes_moved_total = pool->bytes_moved_total;
    out->pressure_level = (uint32_t)pool->pressure_level;
    pool_unlock(pool);
    return MP_OK;
}

/* ------------------------------------------------------------------- check */

/* Sums over the live slots, compared with the counters afterwards. */
typedef struct pool_tally {
    size_t live, free, retired, pinned, used_bytes, requested_bytes;
} pool_tally;

/* A live slot: generation in range, block inside the region (so its
 * backend, which follows from the address, is the right one), aligned, its
 * sizes readable (under tlsf_sizes: a valid used block's header) and the
 * usable one the backend's (a multiple of 16), a known owner. Its sizes go
 * to *size and *usable (0 if unreadable). */
static size_t pool_check_live_slot(const MP_Pool *p, const pool_slot *s, size_t *size, size_t *usable) {
    *size = *usable = 0;
    size_t bad = 0;
    uint64_t gen = pool_slot_gen(p, s);
    bad += gen == 0 || gen > p->gen_max;
    bad += s->handle != pool_handle(p, (uint32_t)(s - p->slots), gen); /* tag and index too */
    if (s->ptr < p->region || s->ptr >= p->region + p->total_bytes) return bad + 1;
    unsigned bi = pool_backend_of(p, s->ptr);
    bad += s->ptr < p->backends[bi].lo || s->ptr >= p->backends[bi].hi;
    bad += ((uintptr_t)s->ptr & (p->alignment - 1)) != 0;
    const pool_slot_info *info = pool_info_of(p, s);
    bad += pool_info_owner(info) >= p->owner_count;
    if (!pool_slot_sizes(p, (uint32_t)(s - p->slots), size, usable)) return bad + 1;
    bad += *size == 0 || *size > *usable || *size > p->max_request_bytes;
    bad += pool_be_usable(p, bi, s->ptr) != *usable;
    return bad;
}

static size_t pool_check_slots(const MP_Pool *p, pool_tally *t) {
    size_t bad = 0;
    for (uint32_t i = 0; i < p->high_water; i++) {
        const pool_slot *s = &p->slots[i];
        const pool_slot_info *info = pool_info_at(p, i);
        if (pool_slot_live(s)) {
            size_t size, usable;
            bad += pool_check_live_slot(p, s, &size, &usable);
            t->live++;
            t->pinned += pool_info_pinned(info) ? 1u : 0u;
            t->used_bytes += usable;
            t->requested_bytes += size;
            continue;
        }
        /* A solo tlsf_sizes pool writes no link for unpinned blocks: every
         * other slot's link must be 0 (see pool_slot_info). */
        bad += p->tlsf_sizes && pool_owner_solo(p) && info->link != 0;
        if (s->handle == POOL_SLOT_RETIRED) {
            t->retired++;
            bad += s->ptr != NULL;
        } else {
            t->free++;
            uint64_t gen = pool_slot_gen(p, s);
            bad += gen < 2 || gen > p->gen_max; /* its `next` is checked by the stack walk */
            bad += s->handle != 0u - pool_handle(p, i, gen - 1u);
        }
    }
    /* The free stack: in range, free slots only, no cycle (bounded walk). */
    size_t stacked = 0;
    for (const pool_slot *s = p->free_top; s != NULL; s = s->next) {
        if (s < p->slots || s >= p->slots + p->high_water || stacked > t->free || pool_slot_live(s) ||
            s->handle == POOL_SLOT_RETIRED)
            return bad + 1;
        stacked++;
    }
    bad += stacked != t->free;
    bad += t->live + t->free + t->retired != p->high_water;
    bad += t->retired != p->retired_count;
    return bad;
}

/* Distinct, non-overlapping blocks, and the backends hold exactly as many
 * used blocks as the table has live slots. A single TLSF keeps no counters
 * of its own: `tlsf_blocks` and `tlsf_bytes` are what mp_pool_check's check
 * of its heap counted, and its used blocks must also carry exactly
 * used_bytes usable bytes. */
static size_t pool_check_blocks(const MP_Pool *p, size_t tlsf_blocks, size_t tlsf_bytes) {
    size_t bad = 0, n, backend_live = 0;
    if (p->tlsf_only != NULL) {
        backend_live = tlsf_blocks;
        bad += tlsf_bytes != pool_used_bytes(p);
    } else {
        for (unsigned b = 0; b < p->backend_count; b++) {
            MP_HeapStats hs;
            if (pool_be_stats(p, b, &hs) != MP_OK) return 1;
            backend_live += hs.live_block_count;
        }
    }
    bad += backend_live != pool_live_count(p);
    pool_block_ref *refs = pool_sorted_blocks(p, &n);
    if (refs == NULL) return bad; /* none, or no memory for the sort */
    for (size_t i = 1; i < n; i++) {
        size_t size, usable;
        bad += !pool_slot_sizes(p, refs[i - 1].slot, &size, &usable) || refs[i - 1].addr + usable > refs[i].addr;
    }
    free(refs);
    return bad;
}

/* Per owner: the live slots naming it (one scan of the table, tallied in a
 * temporary array) number alloc_count - free_count and carry bytes_in_use. */
static size_t pool_check_owners(const MP_Pool *p) {
    size_t bad = 0, listed = 0;
    size_t *tally = calloc(2 * (size_t)p->owner_count + 1, sizeof *tally); /* blocks, bytes per owner */
    if (tally == NULL) return 0; /* no memory for the tally: the other checks still ran */
    for (uint32_t i = 0; i < p->high_water; i++) {
        const pool_slot_info *info = pool_info_at(p, i);
        size_t size, usable;
        if (!pool_slot_live(&p->slots[i]) || pool_info_owner(info) >= p->owner_count ||
            !pool_slot_sizes(p, i, &size, &usable))
            continue; /* counted by check_slots */
        tally[2 * pool_info_owner(info)]++;
        tally[2 * pool_info_owner(info) + 1] += usable;
    }
    for (uint32_t oi = 0; oi < p->owner_count; oi++) {
        const pool_owner *o = &p->owners[oi];
        MP_PoolOwnerStats c = pool_owner_counters(p, oi);
        bad += pool_owner_find(p, o->id) != oi;
        bad += tally[2 * oi] != c.block_count;
        bad += tally[2 * oi + 1] != c.bytes_in_use;
        bad += c.bytes_in_use > c.bytes_in_use_peak;
        bad += o->stats.block_count != 0; /* not kept: derived when read */
        /* A solo record's own counters are not kept (the pool's stand in). */
        bad += pool_owner_solo(p) && (o->stats.bytes_in_use | o->stats.bytes_in_use_peak | o->stats.alloc_count |
                                      o->stats.free_count) != 0;
        listed += c.block_count;
    }
    bad += listed != pool_live_count(p);
    free(tally);
    bad += p->owner_cache_index != POOL_NIL && (p->owner_cache_index >= p->owner_count ||
                                                p->owners[p->owner_cache_index].id != p->owner_cache_id);
    /* The fast path serves only the cached owner, only over one TLSF, only without a limit. */
    bool fast_ok = p->owner_cache_index < p->owner_count && pool_fast_ok(p, p->owner_cache_index);
    bad += p->fast_owner != (fast_ok ? (uint64_t)p->owner_cache_id : UINT64_MAX);
    /* What mp_pool_alloc / mp_pool_free test instead (pool_fast_refresh). */
    bool single = !(p->flags & MP_FLAG_THREAD_SAFE) && pool_owner_solo(p);
    bool fast = single && p->fast_owner != UINT64_MAX;
    bad += p->fast_alloc_owner != (fast ? (uint32_t)p->fast_owner : 0);
    bad += p->fast_free_end != (single && p->tlsf_sizes && p->pinned_count == 0 ? p->last_gen_handle : 0);
    bad += p->fast_alloc_sizes != (fast ? pool_fast_sizes(p) : 0);
    return bad;
}

static size_t pool_check_counters(const MP_Pool *p, const pool_tally *t) {
    size_t bad = 0;
    bad += t->live != pool_live_count(p) || t->pinned != p->pinned_count;
    size_t used = pool_used_bytes(p);
    bad += t->used_bytes != used || t->requested_bytes != p->requested_bytes;
    bad += used > p->peak_used_bytes;
    unsigned level = 0;
    while (level < 3 && used >= p->pressure_threshold_bytes[level]) level++;
    bad += (unsigned)p->pressure_level != level;
    /* The band: the level's thresholds, its upper end capped at peak + 1
     * (the fast paths test one end each: an allocation the upper, a free
     * the lower); the bytes in use inside it (band_used_bytes below the
     * span, not wrapped). */
    size_t up = level == 3 ? SIZE_MAX : p->pressure_threshold_bytes[level];
    if (up > p->peak_used_bytes + 1u) up = p->peak_used_bytes + 1u;
    bad += p->pressure_down_bytes != (level == 0 ? 0 : p->pressure_threshold_bytes[level - 1]);
    bad += p->pressure_span_bytes != up - p->pressure_down_bytes;
    bad += p->band_used_bytes >= p->pressure_span_bytes;
    bad += p->gen_step != (uint64_t)1 << p->index_bits || p->last_gen_handle != pool_handle(p, 0, p->gen_max);
    return bad;
}

size_t mp_pool_check(const MP_Pool *pool) {
    if (pool == NULL) return 1;
    size_t bad = 0;
    pool_tally t = {0, 0, 0, 0, 0, 0};
    pool_lock(pool);
    size_t tlsf_blocks = 0, tlsf_bytes = 0;
    if (pool->tlsf_only != NULL)
        bad += tlsf_check_counting(pool->tlsf_only, &tlsf_blocks, &tlsf_bytes);
    else
        for (unsigned b = 0; b < pool->backend_count; b++) bad += pool_be_check(pool, b);
    bad += pool_check_slots(pool, &t);
    bad += pool_check_blocks(pool, tlsf_blocks, tlsf_bytes);
    bad += pool_check_owners(pool);
    bad += pool_check_counters(pool, &t);
    pool_unlock(pool);
    return bad;
}
