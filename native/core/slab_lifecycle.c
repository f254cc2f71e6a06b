/*
 * slab_lifecycle.c - how slabs move between the pool and the size classes
 * of the slab allocator (slab.c explains the allocator and its layout): the
 * refill behind the allocation fast path, what free does when a slab's
 * until_event runs out, and create, reset, trim and destroy.
 *
 * A slab's life: never used (at or above fresh_next) -> assigned to a class
 * and ACTIVE (the class allocates from it: carving its never-used slots
 * first, then reusing freed ones word by word) -> FULL when the refill finds
 * no free slot in it -> PARTIAL at the first free that reaches its bitmap
 * (frees wait in their class's cache first; on the class's partial list,
 * ACTIVE again when the class needs a slab, or served directly and FULL
 * again when it has a single free slot) -> empty: the class keeps it as its
 * SPARE if it has none, else it goes back to the pool (the destructor hook
 * runs on every slot it carved). trim and reset give spares and empty
 * active slabs back too (after flushing the caches), and a class that finds
 * the pool and the never-used tail exhausted flushes the caches and takes
 * another class's spare or empty active slab, so a kept slab never makes an
 * allocation fail. A pooled slab keeps its last class's layout (carved
 * count, every carved slot's bit set and entry marked free) until it is
 * assigned again, when its bitmaps are cleared.
 *
 * All functions here run with the instance's lock held (thread-safe
 * instances) or on the single thread that uses it.
 */
#include "slab_internal.h"

#include <stdlib.h>

#define SLAB_DEFAULT_SLAB_BYTES ((size_t)65536)
#define SLAB_DEFAULT_MAX_CLASS_BYTES ((size_t)4096)
#define SLAB_MIN_REGION_ALIGN ((size_t)16)
#define SLAB_META_ALIGN ((size_t)64)

MP_INLINE size_t slab_lowest_bit(size_t x) { return x & (~x + 1); }

/* ------------------------------------------------------------ slab moves */

size_t mp_slab_live_slots(const MP_Slab *s, uint32_t idx) {
    const slab_desc *d = slab_desc_of(s, idx);
    const slab_class *k = slab_class_of_slab(s, idx);
    const uint64_t *l0 = slab_l0(s, idx, k);
    size_t freed = 0;
    for (size_t w = 0; w < ((size_t)d->carved + 63) / 64 && w < k->l0_words; w++) freed += slab_popcount64(l0[w]);
    return d->carved >= freed ? d->carved - freed : 0;
}

/** Points class `k`'s cursor at L0 word `w` of slab `idx`. */
void mp_slab_set_cursor(MP_Slab *s, slab_class *k, uint32_t idx, uint32_t w) {
    size_t first_slot = (size_t)w * 64;
    k->cursor = slab_l0(s, idx, k) + w;
    k->cursor_ptr = slab_start(s, idx) + first_slot * k->slot_bytes;
    k->cursor_at = slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, (uint32_t)first_slot);
}

static void slab_clear_cursor(MP_Slab *s, slab_class *k) {
    k->cursor = &s->zero_word;
    k->cursor_ptr = NULL;
    k->cursor_at = 0;
}

/** Runs the destructor on every slot slab `idx` carved (live or free). */
static void slab_destruct(MP_Slab *s, uint32_t idx) {
    const slab_desc *d = slab_desc_of(s, idx);
    const slab_class *k = &s->classes[slab_cls(s, idx)];
    uint8_t *p = slab_start(s, idx);
    for (uint32_t i = 0; i < d->carved; i++, p += k->slot_bytes) {
        SLAB_UNPOISON_DEFINED(p, k->slot_bytes);
        s->dtor(p, k->slot_bytes, s->hook_ctx);
        MP_POISON(p, k->slot_bytes);
    }
}

/** Puts the empty, unlisted slab `idx` on the pool stack (destructor on its
 * carved slots). Its bits and carved count stay: late frees of its slots
 * are still double frees. */
static void slab_release(MP_Slab *s, uint32_t idx) {
    slab_desc *d = slab_desc_of(s, idx);
    if (s->dtor != NULL) slab_destruct(s, idx);
    s->classes[slab_cls(s, idx)].slab_count--;
    d->state = SLAB_POOLED;
    d->until_event = 0;
    d->prev = SLAB_NONE;
    d->next = s->pool_head;
    s->pool_head = idx;
    s->pooled_count++;
}

void mp_slab_unlink_partial(MP_Slab *s, slab_class *k, slab_desc *d) {
    if (d->prev != SLAB_NONE)
        slab_desc_of(s, d->prev)->next = d->next;
    else
        k->partial_head = d->next;
    if (d->next != SLAB_NONE) slab_desc_of(s, d->next)->prev = d->prev;
    d->next = d->prev = SLAB_NONE;
}

/** Stops class `k` allocating from its active slab (which stays assigned
 * and unlisted; the caller sets its new state). */
static slab_desc *slab_deactivate(MP_Slab *s, slab_class *k) {
    slab_desc *d = k->active_desc;
    k->active = SLAB_NONE;
    k->active_desc = NULL;
    slab_clear_cursor(s, k);
    return d;
}

/** Gives class `k`'s spare and, if it is empty, its active slab back to
 * the pool (the class's cache flushed first, by the caller). */
static void slab_release_empty(MP_Slab *s, slab_class *k) {
    if (k->spare != SLAB_NONE) {
        uint32_t idx = k->spare;
        k->spare = SLAB_NONE;
        slab_release(s, idx);
    }
    if (k->active != SLAB_NONE && mp_slab_live_slots(s, k->active) == 0) {
        uint32_t idx = k->active;
        slab_deactivate(s, k);
        slab_release(s, idx);
    }
}

/** Makes a pooled slab available, the pool and never-used tail being
 * exhausted: flushes the hand and every class's cache (a slab whose last
 * live slots were cached empties), then moves one empty slab of any class to the pool
 * (spares first). False if no slab is empty. O(classes), plus a bitmap count
 * per active slab whose class may have an empty one. */
static bool slab_steal_empty(MP_Slab *s) {
    mp_slab_flush_caches(s);
    if (s->pool_head != SLAB_NONE) return true;
    for (uint32_t c = 0; c < s->class_count; c++) {
        slab_class *k = &s->classes[c];
        if (k->spare == SLAB_NONE) continue;
        uint32_t idx = k->spare;
        k->spare = SLAB_NONE;
        slab_release(s, idx);
        return true;
    }
    for (uint32_t c = 0; c < s->class_count; c++) {
        slab_class *k = &s->classes[c];
        /* Only a class with fewer live slots than its slabs hold can have an
         * empty active slab. */
        if (k->active == SLAB_NONE || slab_class_in_use(s, k) >= slab_class_capacity(k)) continue;
        if (mp_slab_live_slots(s, k->active) != 0) continue;
        uint32_t idx = k->active;
        slab_deactivate(s, k);
        slab_release(s, idx);
        return true;
    }
    return false;
}

/** Takes a slab from the pool, the never-used tail, or another class's
 * empty slabs and assigns it to class `c` (empty, carved 0, not yet
 * active); SLAB_NONE if the region has none. */
static uint32_t slab_assign(MP_Slab *s, uint32_t c) {
    if (s->pool_head == SLAB_NONE && s->fresh_next == s->slab_count && !slab_steal_empty(s)) return SLAB_NONE;
    uint32_t idx = s->pool_head;
    if (idx != SLAB_NONE) {
        s->pool_head = slab_desc_of(s, idx)->next;
        s->pooled_count--;
    } else {
        idx = s->fresh_next++;
        if (!s->thread_safe) s->fast_free_bytes = (size_t)s->fresh_next << s->slab_shift;
        MP_POISON(slab_start(s, idx), s->slab_bytes);
    }
    /* The record takes the new class's layout: clear its bitmaps (a pooled
     * slab's hold the last class's carved slots, or its size entries). */
    slab_class *k = &s->classes[c];
    uint8_t *meta = slab_meta(s, idx);
    memset(meta, 0, k->sizes_offset);
    slab_desc *d = (slab_desc *)(void *)meta;
    s->slab_cls[idx] = (uint8_t)c;
    d->state = SLAB_POOLED; /* until the caller makes it active */
    d->next = d->prev = SLAB_NONE;
    k->slab_count++;
    return idx;
}

/* ----------------------------------------------------------------- refill */

/** Hands out slot `slot` of slab `idx` (class `k`) for `requested` bytes,
 * constructing it when `carving`. */
MP_INLINE void *slab_hand_out(MP_Slab *s, slab_class *k, uint32_t idx, uint32_t slot, size_t requested,
                              bool carving) {
    size_t slot_bytes = k->slot_bytes;
    uint8_t *p = slab_start(s, idx) + (size_t)slot * slot_bytes;
    slab_note_alloc(s, k, slot_bytes);
    slab_entry_set(slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, slot), k->free_mark, requested);
    if (MP_UNLIKELY(carving && s->ctor != NULL)) {
        SLAB_UNPOISON_DEFINED(p, slot_bytes);
        s->ctor(p, slot_bytes, s->hook_ctx);
    } else {
        SLAB_UNPOISON_SLOT(s, p, slot_bytes);
    }
    return p;
}

/** Index of an L0 word of slab `idx` with a freed slot, found through the
 * L1 words from where the last search stopped (clearing L1 bits whose word
 * is empty now); SLAB_NONE if the slab has no freed slot. */
static uint32_t slab_find_word(MP_Slab *s, uint32_t idx, slab_desc *d, const slab_class *k) {
    uint64_t *l0 = slab_l0(s, idx, k), *l1 = slab_l1(s, idx);
    uint32_t l1_words = k->l1_words;
    uint32_t w1 = d->scan_word < l1_words ? d->scan_word : 0;
    for (uint32_t seen = 0; seen < l1_words; seen++) {
        while (l1[w1] != 0) {
            uint32_t w0 = w1 * 64 + slab_ctz64(l1[w1]);
            if (w0 < k->l0_words && l0[w0] != 0) {
                d->scan_word = w1;
                return w0;
            }
            l1[w1] &= l1[w1] - 1;
        }
        w1 = w1 + 1 == l1_words ? 0 : w1 + 1;
    }
    return SLAB_NONE;
}

/** Takes the lowest freed slot of L0 word `w` (non-zero) of slab `idx`. */
MP_INLINE uint32_t slab_pop_word(MP_Slab *s, uint32_t idx, const slab_class *k, uint32_t w) {
    uint64_t *word = slab_l0(s, idx, k) + w;
    uint32_t slot = w * 64 + slab_ctz64(*word);
    *word &= *word - 1;
    return slot;
}

/** A slot of class `k`'s active slab `idx`: its next never-used one (the
 * cursor follows the carving, so frees of new slots are reused first), else
 * the lowest freed slot of the next word that has one (the cursor moves
 * there). NULL if the slab is full. */
MP_INLINE void *slab_take_active(MP_Slab *s, slab_class *k, uint32_t idx, slab_desc *d, size_t requested) {
    if (d->carved < k->slots_per_slab) {
        uint32_t slot = d->carved++;
        if (slot % 64 == 0) mp_slab_set_cursor(s, k, idx, slot / 64);
        return slab_hand_out(s, k, idx, slot, requested, true);
    }
    uint32_t w = slab_find_word(s, idx, d, k);
    if (w == SLAB_NONE) return NULL;
    mp_slab_set_cursor(s, k, idx, w);
    return slab_hand_out(s, k, idx, slab_pop_word(s, idx, k, w), requested, false);
}

void *mp_slab_refill(MP_Slab *s, slab_class *k, size_t requested) {
    uint32_t idx = k->active;
    slab_desc *d;
    if (idx != SLAB_NONE) {
        d = slab_desc_of(s, idx);
        void *p = slab_take_active(s, k, idx, d, requested);
        if (p != NULL) return p;
        slab_deactivate(s, k); /* no free slot left: full */
        d->state = SLAB_FULL;
        d->until_event = 1;
    }
    /* The next slab: partly used ones first (the most recently freed into
     * on top), then the kept empty one, then a new one. */
    idx = k->partial_head;
    if (idx != SLAB_NONE) {
        d = slab_desc_of(s, idx);
        if (d->until_event == k->slots_per_slab - 1) {
            /* One free slot: take it without making the slab active; it
             * is full again (a slab per allocation when frees are spread
             * thin, as with many live blocks freed at random). */
            uint32_t w = slab_find_word(s, idx, d, k);
            if (w == SLAB_NONE) return mp_slab_alloc_failed(s, requested, MP_ERR_CORRUPTION, (uint32_t)(k - s->classes));
            mp_slab_unlink_partial(s, k, d);
            d->state = SLAB_FULL;
            d->until_event = 1;
            return slab_hand_out(s, k, idx, slab_pop_word(s, idx, k, w), requested, false);
        }
        mp_slab_unlink_partial(s, k, d);
    } else if (k->spare != SLAB_NONE) {
        idx = k->spare;
        k->spare = SLAB_NONE;
    } else if ((idx = slab_assign(s, (uint32_t)(k - s->classes))) == SLAB_NONE) {
        return mp_slab_alloc_failed(s, requested, MP_ERR_OUT_OF_MEMORY, (uint32_t)(k - s->classes));
    }
    d = slab_desc_of(s, idx);
    d->state = SLAB_ACTIVE;
    d->until_event = SLAB_EVENT_NEVER;
    k->active = idx;
    k->active_desc = d;
    /* On the word being carved, if the slab is partly carved. */
    mp_slab_set_cursor(s, k, idx, d->carved > 0 && d->carved < k->slots_per_slab ? (d->carved - 1) / 64 : 0);
    void *p = slab_take_active(s, k, idx, d, requested);
    /* A partial, spare or new slab has a free slot unless its metadata was
     * overwritten behind the allocator's back. */
    return p != NULL ? p : mp_slab_alloc_failed(s, requested, MP_ERR_CORRUPTION, (uint32_t)(k - s->classes));
}

void mp_slab_free_event(MP_Slab *s, slab_desc *d) {
    uint32_t idx = (uint32_t)((size_t)((uint8_t *)d - s->meta) / s->meta_stride);
    slab_class *k = &s->classes[slab_cls(s, idx)];
    switch (d->state) {
    case SLAB_ACTIVE:
        d->until_event = SLAB_EVENT_NEVER;
        return;
    case SLAB_FULL: /* its first free: one live slot fewer than it holds */
        if (k->slots_per_slab > 1) {
            d->state = SLAB_PARTIAL;
            d->until_event = k->slots_per_slab - 1;
            d->prev = SLAB_NONE;
            d->next = k->partial_head;
            if (d->next != SLAB_NONE) slab_desc_of(s, d->next)->prev = idx;
            k->partial_head = idx;
            return;
        }
        break; /* a one-slot slab is empty now */
    case SLAB_PARTIAL:
        mp_slab_unlink_partial(s, k, d);
        break;
    default: /* no slab in another state passes free's bit test */
        return;
    }
    if (k->spare == SLAB_NONE) {
        d->state = SLAB_SPARE;
        d->until_event = 0;
        k->spare = idx;
    } else {
        slab_release(s, idx);
    }
}

/* ------------------------------------------------------------ configuration */

/** Everything create needs, derived from a validated config. */
typedef struct slab_plan {
    size_t slab_bytes;
    unsigned slab_shift;
    uint32_t slab_count;
    uint32_t class_count;
    size_t class_bytes[MP_SLAB_MAX_CLASSES];
    size_t table_max_bytes;
    size_t table_bytes;
    size_t slab_cls_bytes;
    size_t meta_stride;
    size_t control_bytes; /**< MP_Slab, class table, slab classes, metadata records */
    size_t region_bytes;
    size_t region_align;
} slab_plan;

/** Per-slab geometry and record layout of a class (slot_bytes set). */
static void slab_geometry(slab_class *k, size_t slab_bytes) {
    size_t n = slab_bytes / k->slot_bytes;
    unsigned w = k->slot_bytes <= 15 ? 2u : k->slot_bytes <= 255 ? 3u : k->slot_bytes <= 65535 ? 4u : 5u;
    k->slots_per_slab = (uint32_t)n;
    k->l0_words = (uint32_t)((n + 63) / 64);
    k->l1_words = (k->l0_words + 63) / 64;
    k->size_width_log2 = w;
    k->free_mark = slab_entry_mask(w);
    k->l0_offset = (uint32_t)(SLAB_DESC_BYTES + (size_t)k->l1_words * 8);
    k->sizes_offset = k->l0_offset + k->l0_words * 8;
}

/** Bytes of a record laid out for class `k` (4 bytes of slack after the
 * size entries for their 32-bit accesses). */
static size_t slab_record_bytes(const slab_class *k) {
    return k->sizes_offset + mp_align_up((((size_t)k->slots_per_slab << k->size_width_log2) + 7) / 8 + 4, 8);
}

static MP_Status slab_plan_config(const MP_SlabConfig *cfg, slab_plan *p) {
    memset(p, 0, sizeof *p);
    if (cfg == NULL || (cfg->flags & ~MP_FLAG_THREAD_SAFE) != 0) return MP_ERR_INVALID_ARGUMENT;
    size_t sb = cfg->slab_bytes ? cfg->slab_bytes : SLAB_DEFAULT_SLAB_BYTES;
    if (!mp_is_pow2(sb) || sb < 4096 || sb > SLAB_MAX_SLAB_BYTES) return MP_ERR_INVALID_ARGUMENT;
    p->slab_bytes = sb;
    p->slab_shift = mp_log2_floor(sb);
    size_t count = cfg->region_bytes >> p->slab_shift;
    if (count == 0 || count >= SLAB_NONE) return MP_ERR_INVALID_ARGUMENT;
    p->slab_count = (uint32_t)count;
    p->region_bytes = count << p->slab_shift;

    if (cfg->class_sizes != NULL) {
        if (cfg->class_count == 0 || cfg->class_count > MP_SLAB_MAX_CLASSES) return MP_ERR_INVALID_ARGUMENT;
        for (size_t i = 0; i < cfg->class_count; i++) {
            size_t c = cfg->class_sizes[i];
            if (c < 8 || c % 8 != 0 || c > sb || (i > 0 && c <= cfg->class_sizes[i - 1]))
                return MP_ERR_INVALID_ARGUMENT;
            p->class_bytes[i] = c;
        }
        p->class_count = (uint32_t)cfg->class_count;
    } else {
        size_t max = cfg->max_class_bytes ? cfg->max_class_bytes : SLAB_DEFAULT_MAX_CLASS_BYTES;
        if (cfg->class_count != 0 || !mp_is_pow2(max) || max < 8 || max > sb) return MP_ERR_INVALID_ARGUMENT;
        for (size_t c = 8; c <= max; c <<= 1) p->class_bytes[p->class_count++] = c;
    }

    size_t largest = p->class_bytes[p->class_count - 1];
    p->table_max_bytes = largest < SLAB_TABLE_MAX_BYTES ? largest : SLAB_TABLE_MAX_BYTES;
    p->table_bytes = mp_align_up((p->table_max_bytes >> 3) + 1, SLAB_META_ALIGN);
    p->region_align = SLAB_MIN_REGION_ALIGN;
    for (uint32_t i = 0; i < p->class_count; i++) {
        slab_class k;
        k.slot_bytes = p->class_bytes[i];
        slab_geometry(&k, sb);
        if (slab_record_bytes(&k) > p->meta_stride) p->meta_stride = slab_record_bytes(&k);
        size_t lowbit = slab_lowest_bit(p->class_bytes[i]);
        if (lowbit > p->region_align) p->region_align = lowbit;
    }
    p->meta_stride = mp_align_up(p->meta_stride, SLAB_META_ALIGN);

    size_t meta_bytes;
    p->slab_cls_bytes = mp_align_up(count, SLAB_META_ALIGN);
    if (!mp_mul_checked(count, p->meta_stride, &meta_bytes) ||
        !mp_add_checked(mp_align_up(sizeof(MP_Slab), SLAB_META_ALIGN) + p->table_bytes + p->slab_cls_bytes,
                        meta_bytes, &p->control_bytes))
        return MP_ERR_SIZE_OVERFLOW;
    return MP_OK;
}

/** Bytes create_in needs: worst-case slack to align the control block to 64
 * and the region to region_align, then both. 0 on overflow. */
static size_t slab_plan_footprint(const slab_plan *p) {
    size_t total;
    if (!mp_add_checked(p->control_bytes, p->region_bytes, &total) ||
        !mp_add_checked(total, SLAB_META_ALIGN - 1 + p->region_align - 1, &total))
        return 0;
    return total;
}

/** Lays the allocator out in `control` (plan->control_bytes, 64-aligned)
 * over the region at `region`. */
static MP_Slab *slab_build(uint8_t *control, const slab_plan *p, const MP_SlabConfig *cfg, uint8_t *region) {
    MP_Slab *s = (MP_Slab *)(void *)control;
    memset(s, 0, sizeof *s);
    uint8_t *cursor = control + mp_align_up(sizeof(MP_Slab), SLAB_META_ALIGN);
    s->hot.class_table = cursor;
    s->slab_cls = cursor + p->table_bytes;
    s->meta = s->slab_cls + p->slab_cls_bytes;

    s->base = region;
    s->thread_safe = (cfg->flags & MP_FLAG_THREAD_SAFE) != 0;
    s->fast_alloc_limit = s->thread_safe ? 0 : p->table_max_bytes + 1;
    s->fast_free_bytes = 0; /* no slab used yet */
    s->meta_stride = p->meta_stride;
    s->slab_mask = p->slab_bytes - 1;
    s->slab_shift = p->slab_shift;
    s->hot.classes = s->classes;
    s->hot.sanitizer = SLAB_SANITIZER;
    s->region_bytes = p->region_bytes;
    s->slab_bytes = p->slab_bytes;
    s->slab_count = p->slab_count;
    s->class_count = p->class_count;
    s->pool_head = SLAB_NONE;
    s->table_max_bytes = p->table_max_bytes;
    s->ctor = cfg->ctor;
    s->dtor = cfg->dtor;
    s->hook_ctx = cfg->hook_ctx;
    slab_sync_limits(s);
    mp_lock_init(&s->lock);

    size_t base_align = slab_lowest_bit((size_t)(uintptr_t)region);
    for (uint32_t i = 0; i < p->class_count; i++) {
        slab_class *k = &s->classes[i];
        size_t slot = p->class_bytes[i];
        k->slot_bytes = slot;
        slab_geometry(k, p->slab_bytes);
        size_t lowbit = slab_lowest_bit(slot);
        k->align_bytes = (uint32_t)(lowbit < base_align ? lowbit : base_align);
        k->div_magic = UINT64_MAX / slot + 1;
        k->active = k->partial_head = k->spare = SLAB_NONE;
        slab_clear_cursor(s, k);
    }
    /* Unused class entries keep cursor NULL and magic 0: free's division
     * never matches them, and no size maps to them. */
    uint32_t c = 0;
    for (size_t g = 0; g <= p->table_max_bytes >> 3; g++) {
        while (s->classes[c].slot_bytes < g * 8) c++;
        s->hot.class_table[g] = (uint8_t)c;
    }
    return s;
}

/* ------------------------------------------------------------------ create */

MP_Slab *mp_slab_create(size_t region_bytes) {
    MP_SlabConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.region_bytes = region_bytes;
    return mp_slab_create_ex(&cfg);
}

MP_Slab *mp_slab_create_ex(const MP_SlabConfig *cfg) {
    slab_plan p;
    MP_Status st = slab_plan_config(cfg, &p);
    if (st != MP_OK) {
        mp_fail(st, cfg ? cfg->region_bytes : 0, 0, 0);
        return NULL;
    }
    uint8_t *region;
    void *map = NULL;
    size_t map_bytes = 0;
    if (cfg->region != NULL) {
        if (((uintptr_t)cfg->region & (SLAB_MIN_REGION_ALIGN - 1)) != 0) {
            mp_fail(MP_ERR_INVALID_ARGUMENT, cfg->region_bytes, 0, 0);
            return NULL;
        }
        region = cfg->region;
    } else {
        size_t page = mp_os_page_size();
        size_t slack = p.region_align > page ? p.region_align - page : 0;
        if (!mp_add_checked(p.region_bytes, slack, &map_bytes)) {
            mp_fail(MP_ERR_SIZE_OVERFLOW, cfg->region_bytes, 0, 0);
            return NULL;
        }
        map = mp_os_map(map_bytes);
        if (map == NULL) {
            mp_fail(MP_ERR_OUT_OF_MEMORY, map_bytes, 0, 0);
            return NULL;
        }
        region = (uint8_t *)mp_align_up_ptr((uintptr_t)map, p.region_align);
    }
    uint8_t *control = aligned_alloc(SLAB_META_ALIGN, mp_align_up(p.control_bytes, SLAB_META_ALIGN));
    if (control == NULL) {
        mp_os_unmap(map, map_bytes);
        mp_fail(MP_ERR_OUT_OF_MEMORY, p.control_bytes, 0, 0);
        return NULL;
    }
    MP_Slab *s = slab_build(control, &p, cfg, region);
    s->heap_control = true;
    s->map_ptr = map;
    s->map_bytes = map_bytes;
    return s;
}

size_t mp_slab_footprint(const MP_SlabConfig *cfg) {
    slab_plan p;
    if (slab_plan_config(cfg, &p) != MP_OK) return 0;
    return slab_plan_footprint(&p);
}

MP_Slab *mp_slab_create_in(void *memory, size_t size, const MP_SlabConfig *cfg) {
    slab_plan p;
    MP_Status st = slab_plan_config(cfg, &p);
    size_t need = st == MP_OK ? slab_plan_footprint(&p) : 0;
    if (st == MP_OK && (need == 0 || memory == NULL || size < need)) st = MP_ERR_INVALID_ARGUMENT;
    if (st != MP_OK) {
        mp_fail(st, need, size, 0);
        return NULL;
    }
    uint8_t *control = (uint8_t *)mp_align_up_ptr((uintptr_t)memory, SLAB_META_ALIGN);
    uint8_t *region = (uint8_t *)mp_align_up_ptr((uintptr_t)(control + p.control_bytes), p.region_align);
    return slab_build(control, &p, cfg, region);
}

/* ---------------------------------------------------------------- lifetime */

MP_Status mp_slab_reset(MP_Slab *s) {
    if (s == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    slab_lock(s);
    /* Every used slab goes back to the pool, lowest index on top, with its
     * carved count and bits cleared: pointers from before are foreign now. */
    s->pool_head = SLAB_NONE;
    for (uint32_t idx = s->fresh_next; idx-- > 0;) {
        slab_desc *d = slab_desc_of(s, idx);
        if (!slab_is_pooled(d)) {
            if (s->dtor != NULL) slab_destruct(s, idx);
            MP_POISON(slab_start(s, idx), s->slab_bytes);
            d->state = SLAB_POOLED;
        }
        const slab_class *k = &s->classes[slab_cls(s, idx)];
        memset(slab_meta(s, idx) + SLAB_DESC_BYTES, 0, k->sizes_offset - SLAB_DESC_BYTES);
        d->carved = 0;
        d->until_event = 0;
        d->prev = SLAB_NONE;
        d->next = s->pool_head;
        s->pool_head = idx;
    }
    s->pooled_count = s->fresh_next;
    slab_fold_hand_counts(s);
    for (uint32_t c = 0; c < s->class_count; c++) {
        slab_class *k = &s->classes[c];
        size_t live = slab_class_in_use(s, k);
        k->release_count += live;
        s->reset_dropped += live;
        k->active = k->partial_head = k->spare = SLAB_NONE;
        k->active_desc = NULL;
        k->slab_count = 0;
        k->cached = 0;
        slab_clear_cursor(s, k);
    }
    s->hot.hand = NULL;
    s->hot.hand_word = MP_SLAB_HAND_EMPTY;
    s->hot.headroom_bytes = 0;
    slab_unlock(s);
    return MP_OK;
}

MP_Status mp_slab_trim(MP_Slab *s, size_t *released_bytes) {
    if (s == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    size_t released = 0;
    slab_lock(s);
    mp_slab_flush_caches(s);
    for (uint32_t c = 0; c < s->class_count; c++) slab_release_empty(s, &s->classes[c]);
    /* Caller memory is the caller's to keep: only mapped regions give back. */
    if (s->map_ptr != NULL) {
        for (uint32_t idx = s->pool_head; idx != SLAB_NONE; idx = slab_desc_of(s, idx)->next) {
            slab_desc *d = slab_desc_of(s, idx);
            if (d->state != SLAB_POOLED) continue;
            released += mp_os_release_pages(slab_start(s, idx), s->slab_bytes);
            d->state = SLAB_POOLED_CLEAN;
        }
    }
    slab_unlock(s);
    if (released_bytes != NULL) *released_bytes = released;
    return MP_OK;
}

void *mp_slab_base(const MP_Slab *s) { return s ? s->base : NULL; }

void mp_slab_destroy(MP_Slab *s) {
    if (s == NULL) return;
    if (s->dtor != NULL) {
        for (uint32_t idx = 0; idx < s->fresh_next; idx++)
            if (!slab_is_pooled(slab_desc_of(s, idx))) slab_destruct(s, idx);
    }
    /* Hand the bytes back unpoisoned: caller memory may be reused. */
    SLAB_UNPOISON_DEFINED(s->base, (size_t)s->fresh_next << s->slab_shift);
    if (s->map_ptr != NULL) mp_os_unmap(s->map_ptr, s->map_bytes);
    if (s->heap_control) free(s);
}
