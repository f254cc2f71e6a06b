/*
 * slab_inspect.c - the read-only side of the slab allocator (slab.c):
 * statistics derived from the per-class counters and the size entries,
 * free-space figures, the block walker and the consistency checker.
 * Nothing here changes allocator state.
 *
 * Blocks as the walker and free_stats see them: every slot of an assigned
 * slab (active, full, partial or spare) is a block of slot_bytes (used if
 * carved and its size entry is not the free mark), every pooled or
 * never-used slab one free block of slab_bytes. The unusable tail of an
 * assigned slab (slab_bytes % slot_bytes) is no block. A slot in its
 * class's cache is free here, as for users.
 *
 * mp_slab_check recomputes every counter from the records, bitmaps, size
 * entries and caches and verifies the invariants listed at the top of
 * slab.c; each mismatch counts once. O(region metadata), usable in release
 * builds.
 */
#include "slab_internal.h"

MP_INLINE uint64_t slab_entry_of(const MP_Slab *s, uint32_t idx, const slab_class *k, uint32_t slot) {
    return slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, slot);
}

/** Free as users see it: never carved, its size entry marked free, or the
 * FREE hand. */
MP_INLINE bool slab_slot_is_free(const MP_Slab *s, uint32_t idx, const slab_desc *d, uint32_t slot) {
    const slab_class *k = &s->classes[slab_cls(s, idx)];
    if (slot >= d->carved) return true;
    uint64_t at = slab_entry_of(s, idx, k, slot);
    return slab_entry_get(at, k->free_mark) == k->free_mark || at == slab_free_hand_at(s);
}

/* ------------------------------------------------------------------- stats */

void mp_slab_free_summary(const MP_Slab *s, MP_FreeStats *out, size_t *largest_request) {
    size_t free_slabs = (size_t)s->pooled_count + (s->slab_count - s->fresh_next);
    size_t bytes = free_slabs * s->slab_bytes;
    size_t blocks = free_slabs;
    size_t largest = free_slabs ? s->slab_bytes : 0;
    size_t request = free_slabs ? s->classes[s->class_count - 1].slot_bytes : 0;
    for (uint32_t c = 0; c < s->class_count; c++) {
        const slab_class *k = &s->classes[c];
        size_t free_slots = slab_class_capacity(k) - slab_class_in_use(s, k);
        bytes += free_slots * k->slot_bytes;
        blocks += free_slots;
        if (free_slots != 0 && k->slot_bytes > largest) largest = k->slot_bytes;
        if (free_slots != 0 && k->slot_bytes > request) request = k->slot_bytes;
    }
    out->free_bytes = bytes;
    out->free_block_count = blocks;
    out->largest_free_block_bytes = largest;
    out->fragmentation = bytes ? 1.0 - (double)largest / (double)bytes : 0.0;
    *largest_request = request;
}

/** bytes_requested: the fast paths only store each slot's requested size,
 * so the sum is taken here, over the carved slots of assigned slabs.
 * O(carved slots). */
static size_t slab_requested_bytes(const MP_Slab *s) {
    size_t bytes = 0;
    uint64_t hand_at = slab_free_hand_at(s);
    for (uint32_t idx = 0; idx < s->fresh_next; idx++) {
        const slab_desc *d = slab_desc_of(s, idx);
        if (slab_is_pooled(d) || slab_cls(s, idx) >= s->class_count) continue;
        const slab_class *k = &s->classes[slab_cls(s, idx)];
        uint32_t carved = d->carved < k->slots_per_slab ? d->carved : k->slots_per_slab; /* check() flags more */
        for (uint32_t slot = 0; slot < carved; slot++) {
            uint64_t at = slab_entry_of(s, idx, k, slot);
            size_t v = slab_entry_get(at, k->free_mark);
            if (v != k->free_mark && at != hand_at) bytes += v;
        }
    }
    return bytes;
}

/** MP_HeapStats from the counters and the size entries (lock held). */
static void slab_heap_stats(const MP_Slab *s, MP_HeapStats *out) {
    size_t live = 0, bytes = 0;
    uint64_t allocs = 0, releases = 0;
    for (uint32_t c = 0; c < s->class_count; c++) {
        const slab_class *k = &s->classes[c];
        live += slab_class_in_use(s, k);
        bytes += slab_class_in_use(s, k) * k->slot_bytes;
        allocs += slab_alloc_count(s, k);
        releases += slab_release_count(s, k);
    }
    memset(out, 0, sizeof *out);
    out->region_bytes = s->region_bytes;
    out->bytes_in_use = bytes;
    out->bytes_in_use_peak = bytes + slab_headroom(s);
    out->bytes_requested = slab_requested_bytes(s);
    out->live_block_count = live;
    out->alloc_count = allocs - s->realloc_moves;
    out->free_count = releases - s->realloc_moves - s->reset_dropped;
    out->realloc_count = s->realloc_count;
    out->failed_alloc_count = s->failed_alloc_count;
    out->rejected_free_count = s->rejected_free_count;
}

MP_Status mp_slab_stats(const MP_Slab *s, MP_HeapStats *out) {
    if (s == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    slab_lock(s);
    slab_heap_stats(s, out);
    slab_unlock(s);
    return MP_OK;
}

MP_Status mp_slab_free_stats(const MP_Slab *s, MP_FreeStats *out) {
    if (s == NULL || out == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t largest_request;
    slab_lock(s);
    mp_slab_free_summary(s, out, &largest_request);
    slab_unlock(s);
    return MP_OK;
}

size_t mp_slab_class_count(const MP_Slab *s) { return s ? s->class_count : 0; }

MP_Status mp_slab_class_stats(const MP_Slab *s, size_t class_index, MP_SlabClassStats *out) {
    if (s == NULL || out == NULL || class_index >= s->class_count)
        return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    slab_lock(s);
    const slab_class *k = &s->classes[class_index];
    out->slot_bytes = k->slot_bytes;
    out->slab_count = k->slab_count;
    out->slots_in_use = slab_class_in_use(s, k);
    out->slots_free = slab_class_capacity(k) - slab_class_in_use(s, k);
    out->alloc_count = slab_alloc_count(s, k);
    out->failed_alloc_count = k->failed_alloc_count;
    slab_unlock(s);
    return MP_OK;
}

/* -------------------------------------------------------------------- walk */

MP_Status mp_slab_walk(const MP_Slab *s, MP_WalkFn fn, void *ctx) {
    if (s == NULL || fn == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    slab_lock(s);
    int stop = 0;
    for (uint32_t idx = 0; idx < s->slab_count && !stop; idx++) {
        uint8_t *start = slab_start(s, idx);
        if (idx >= s->fresh_next || slab_is_pooled(slab_desc_of(s, idx))) {
            stop = fn(start, s->slab_bytes, 0, ctx);
            continue;
        }
        const slab_desc *d = slab_desc_of(s, idx);
        const slab_class *k = &s->classes[slab_cls(s, idx)];
        for (uint32_t slot = 0; slot < k->slots_per_slab && !stop; slot++)
            stop = fn(start + (size_t)slot * k->slot_bytes, k->slot_bytes, !slab_slot_is_free(s, idx, d, slot), ctx);
    }
    slab_unlock(s);
    return MP_OK;
}

/* ------------------------------------------------------------------- check */

/** Counts of one class rebuilt from its slabs. */
typedef struct slab_tally {
    size_t slabs;
    size_t partial_slabs;
    size_t used_slots;   /**< live for users */
    size_t cached_slots; /**< marked free, L0 bit clear: in the class's cache */
} slab_tally;

/** Violations in the bitmaps and size entries of slab `idx` laid out for
 * class `k`: L0 bits past the carved slots, a set L0 bit on a slot without
 * the free mark, L1 bits past the class's words, non-zero L0 words without
 * their summary bit; `pooled` slabs must have every carved slot freed (L0
 * bit set). Adds the slots freed to the bitmap to `*freed`, marked free but
 * not in it (so in the cache) to `*cached`, live ones to `*live` and their
 * requested bytes to `*requested`. */
static size_t slab_check_slots(const MP_Slab *s, uint32_t idx, const slab_class *k, bool pooled, slab_tally *t,
                               size_t *freed, size_t *requested) {
    const slab_desc *d = slab_desc_of(s, idx);
    const uint64_t *l0 = slab_l0(s, idx, k), *l1 = slab_l1(s, idx);
    uint32_t mark = k->free_mark;
    uint64_t hand_at = slab_free_hand_at(s);
    size_t bad = 0;
    if (mark != slab_entry_mask(k->size_width_log2)) bad++;
    for (uint32_t w = 0; w < k->l0_words; w++) {
        uint32_t first = w * 64;
        uint64_t carved_mask = d->carved >= first + 64 ? ~(uint64_t)0
                               : d->carved > first    ? ((uint64_t)1 << (d->carved - first)) - 1
                                                      : 0;
        if ((l0[w] & ~carved_mask) != 0) bad++; /* a free bit on a slot never carved */
        if (pooled && l0[w] != carved_mask) bad++;
        if (l0[w] != 0 && ((l1[w >> 6] >> (w & 63)) & 1u) == 0) bad++;
        for (uint32_t slot = first; slot < d->carved && slot < first + 64; slot++) {
            uint64_t at = slab_entry_of(s, idx, k, slot);
            size_t v = slab_entry_get(at, mark);
            bool in_bitmap = ((l0[w] >> (slot - first)) & 1u) != 0;
            if (in_bitmap) {
                bad += v != mark;
                (*freed)++;
            } else if (at == hand_at) { /* the FREE hand: out, its entry unmarked */
                bad += v == mark;
                t->cached_slots++;
            } else if (v == mark) {
                t->cached_slots++;
            } else {
                bad += v > k->slot_bytes;
                *requested += v;
                t->used_slots++;
            }
        }
    }
    for (uint32_t w = 0; w < k->l1_words; w++) {
        uint32_t first = w * 64;
        uint64_t valid = k->l0_words >= first + 64 ? ~(uint64_t)0
                         : k->l0_words > first    ? ((uint64_t)1 << (k->l0_words - first)) - 1
                                                  : 0;
        if ((l1[w] & ~valid) != 0) bad++;
    }
    return bad;
}

/** Violations of assigned slab `idx`: bitmaps and entries, state against
 * the slots the slab has out (live or cached) and until_event, and its
 * class's references to it. Adds to its class's `tally`. */
static size_t slab_check_assigned(const MP_Slab *s, uint32_t idx, slab_tally *tally, size_t *requested) {
    const slab_desc *d = slab_desc_of(s, idx);
    const slab_class *k = &s->classes[slab_cls(s, idx)];
    uint32_t n = k->slots_per_slab;
    if (d->carved > n) return 1;
    size_t freed = 0;
    size_t bad = slab_check_slots(s, idx, k, false, tally, &freed, requested);
    size_t out = d->carved - freed; /* as the slab sees it: cached slots are out */
    bool is_active = k->active == idx, is_spare = k->spare == idx;
    switch (d->state) {
    case SLAB_ACTIVE:
        bad += !is_active || d->until_event == 0 || d->until_event > SLAB_EVENT_NEVER;
        break;
    case SLAB_FULL:
        bad += is_active || is_spare || out != n || d->until_event != 1;
        break;
    case SLAB_PARTIAL:
        bad += is_active || is_spare || out == 0 || out >= n || d->until_event != out;
        tally->partial_slabs++;
        break;
    case SLAB_SPARE:
        bad += !is_spare || is_active || out != 0;
        break;
    default:
        bad++;
    }
    tally->slabs++;
    return bad;
}

/** Violations of the partial list of class `c` (links, membership, length). */
static size_t slab_check_partial_list(const MP_Slab *s, uint32_t c, size_t expected_length) {
    size_t bad = 0, length = 0;
    uint32_t prev = SLAB_NONE;
    for (uint32_t idx = s->classes[c].partial_head; idx != SLAB_NONE; idx = slab_desc_of(s, idx)->next) {
        if (idx >= s->fresh_next || length >= s->fresh_next) return bad + 1; /* wild link or cycle */
        const slab_desc *d = slab_desc_of(s, idx);
        if (d->state != SLAB_PARTIAL || slab_cls(s, idx) != c || d->prev != prev) bad++;
        prev = idx;
        length++;
    }
    return bad + (length != expected_length);
}

/** 1 unless `ptr` (size entry at `at`) is the start of a carved slot of an
 * assigned slab of class `c`, not in the slab's bitmap, with its own entry
 * address, marked free if `marked` (a cached slot) and not if not (the
 * hand, FREE or LIVE). */
static size_t slab_check_slot_out(const MP_Slab *s, uint32_t c, const uint8_t *ptr, uint64_t at, bool marked) {
    const slab_class *k = &s->classes[c];
    size_t off = (size_t)(ptr - s->base);
    if (ptr < s->base || off >= ((size_t)s->fresh_next << s->slab_shift)) return 1;
    uint32_t idx = (uint32_t)(off >> s->slab_shift);
    const slab_desc *d = slab_desc_of(s, idx);
    size_t slot = (off & s->slab_mask) / k->slot_bytes;
    return slab_is_pooled(d) || slab_cls(s, idx) != c || slot >= d->carved ||
           (off & s->slab_mask) % k->slot_bytes != 0 || at != slab_entry_of(s, idx, k, (uint32_t)slot) ||
           (slab_entry_get(at, k->free_mark) == k->free_mark) != marked ||
           ((slab_l0(s, idx, k)[slot >> 6] >> (slot & 63)) & 1u) != 0;
}

/** Violations of class `c`'s cache: every entry a marked slot out of its
 * slab (slab_check_slot_out). (That the cached slots and a FREE hand number
 * exactly the marked slots out of their slabs, so none is listed twice, is
 * checked by the caller.) */
static size_t slab_check_cache(const MP_Slab *s, uint32_t c) {
    const slab_class *k = &s->classes[c];
    if (k->cached > SLAB_CACHE_SLOTS) return 1;
    size_t bad = 0;
    for (uint32_t i = 0; i < k->cached; i++) bad += slab_check_slot_out(s, c, k->cache[i].ptr, k->cache[i].entry_at, true);
    return bad;
}

/** Violations of class `c`'s active slab, cursor and spare. */
static size_t slab_check_class_refs(const MP_Slab *s, uint32_t c) {
    const slab_class *k = &s->classes[c];
    size_t bad = slab_check_cache(s, c);
    if (k->spare != SLAB_NONE &&
        (k->spare >= s->fresh_next || slab_desc_of(s, k->spare)->state != SLAB_SPARE ||
         slab_cls(s, k->spare) != c))
        bad++;
    if (k->active == SLAB_NONE) return bad + (k->cursor != &s->zero_word || k->active_desc != NULL);
    if (k->active >= s->fresh_next) return bad + 1;
    const slab_desc *d = slab_desc_of(s, k->active);
    if (d->state != SLAB_ACTIVE || slab_cls(s, k->active) != c || k->active_desc != d) bad++;
    const uint64_t *l0 = slab_l0(s, k->active, k);
    if (k->cursor < l0 || k->cursor >= l0 + k->l0_words) return bad + 1;
    uint32_t first_slot = (uint32_t)(k->cursor - l0) * 64;
    /* While the slab is carved, the cursor is on the word being carved. */
    if (d->carved > 0 && d->carved < k->slots_per_slab && first_slot != (d->carved - 1) / 64 * 64) bad++;
    if (k->cursor_ptr != slab_start(s, k->active) + (size_t)first_slot * k->slot_bytes ||
        k->cursor_at != slab_entry_of(s, k->active, k, first_slot))
        bad++;
    return bad;
}

/** Violations of the per-class and heap-wide counters against the slabs. */
static size_t slab_check_counters(const MP_Slab *s, const slab_tally *tally, size_t requested) {
    size_t bad = 0;
    for (uint32_t c = 0; c < s->class_count; c++) {
        const slab_class *k = &s->classes[c];
        bad += slab_check_partial_list(s, c, tally[c].partial_slabs);
        bad += slab_check_class_refs(s, c);
        if (k->slab_count != tally[c].slabs || slab_class_in_use(s, k) != tally[c].used_slots) bad++;
        size_t in_hand = slab_hand_state(s) == MP_SLAB_HAND_FREE && s->hot.hand_class == c;
        if (k->cached + in_hand != tally[c].cached_slots || slab_release_count(s, k) > slab_alloc_count(s, k)) bad++;
    }
    /* The hand: EMPTY, or a slot of a class the instance has, out of its
     * slab, its entry unmarked (FREE: freed, and not also in the class's
     * cache; LIVE: live); the stored headroom goes "negative" by at most a
     * FREE hand's slot bytes. */
    uint64_t state = slab_hand_state(s);
    if (slab_hand_allocs(s) < (state == MP_SLAB_HAND_LIVE)) bad++; /* its releases would wrap */
    if (state != MP_SLAB_HAND_EMPTY) {
        uint32_t c = s->hot.hand_class;
        if (state > MP_SLAB_HAND_LIVE || c >= s->class_count) return bad + 1;
        bad += s->hot.hand_width_log2 != s->classes[c].size_width_log2;
        if (slab_check_slot_out(s, c, s->hot.hand, s->hot.hand_entry_at, false) != 0) return bad + 1;
        for (uint32_t i = 0; i < s->classes[c].cached; i++) bad += s->classes[c].cache[i].ptr == s->hot.hand;
    }
    if ((intptr_t)slab_headroom(s) < 0) bad++;
    MP_HeapStats st;
    slab_heap_stats(s, &st);
    if (st.bytes_requested != requested) bad++;
    if (st.free_count > st.alloc_count || st.alloc_count > UINT64_MAX / 2) bad++; /* derived, must not wrap */
    if (s->fast_alloc_limit != (s->thread_safe ? 0 : s->table_max_bytes + 1) ||
        s->fast_free_bytes != (s->thread_safe ? 0 : (size_t)s->fresh_next << s->slab_shift))
        bad++;
    /* The header's inline calls: limits only for the library's kind of caller. */
    unsigned kind = SLAB_SANITIZER != MP_SANITIZER_NONE;
    bool open = slab_inline_open(s);
    if (s->hot.alloc_limit[kind] != (open ? s->fast_alloc_limit : 0) || s->hot.alloc_limit[!kind] != 0 ||
        s->hot.classes != s->classes || s->hot.sanitizer != SLAB_SANITIZER)
        bad++;
    return bad;
}

static size_t slab_check_locked(const MP_Slab *s) {
    if (s->fresh_next > s->slab_count || s->class_count == 0 || s->class_count > MP_SLAB_MAX_CLASSES) return 1;
    size_t bad = 0;
    if (s->region_bytes != (size_t)s->slab_count << s->slab_shift || s->zero_word != 0) bad++;
    for (size_t g = 0; g <= s->table_max_bytes >> 3; g++)
        if (s->hot.class_table[g] != mp_slab_class_search(s, g * 8)) bad++;

    slab_tally tally[MP_SLAB_MAX_CLASSES];
    memset(tally, 0, sizeof tally);
    size_t pooled = 0, requested = 0;
    for (uint32_t idx = 0; idx < s->fresh_next; idx++) {
        const slab_desc *d = slab_desc_of(s, idx);
        if (slab_cls(s, idx) >= s->class_count) {
            bad++;
        } else if (slab_is_pooled(d)) {
            /* Its last class and carved slots classify late frees. */
            const slab_class *k = &s->classes[slab_cls(s, idx)];
            slab_tally scratch;
            size_t freed = 0, none = 0;
            memset(&scratch, 0, sizeof scratch);
            if (d->carved > k->slots_per_slab) bad++;
            else bad += slab_check_slots(s, idx, k, true, &scratch, &freed, &none);
            pooled++;
        } else {
            bad += slab_check_assigned(s, idx, &tally[slab_cls(s, idx)], &requested);
        }
    }

    size_t stack_length = 0;
    for (uint32_t idx = s->pool_head; idx != SLAB_NONE; idx = slab_desc_of(s, idx)->next) {
        if (idx >= s->fresh_next || stack_length >= s->fresh_next) {
            bad++;
            break;
        }
        if (!slab_is_pooled(slab_desc_of(s, idx))) bad++;
        stack_length++;
    }
    if (stack_length != s->pooled_count || pooled != s->pooled_count) bad++;
    return bad + slab_check_counters(s, tally, requested);
}

size_t mp_slab_check(const MP_Slab *s) {
    if (s == NULL) return 1;
    slab_lock(s);
    size_t bad = slab_check_locked(s);
    slab_unlock(s);
    return bad;
}
