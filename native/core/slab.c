/*
 * slab.c - slab allocator: size classes of fixed slots carved from slabs.
 * This file holds the allocation and free paths; slab_lifecycle.c moves
 * slabs between the pool and the classes (and creates, resets, trims);
 * slab_inspect.c holds stats, walk and check.
 *
 * Algorithm. The region is cut into slab_count slabs of slab_bytes (a power
 * of two). A slab is either in the region's free-slab pool or assigned to one
 * size class and cut into its slots: slot i of slab k starts at
 * base + (k << slab_shift) + i * slot_bytes. A request goes to the first
 * class whose slot holds it (a byte table indexed by (size + 7) / 8 up to
 * 32 KiB, a binary search over at most 64 classes above).
 *
 * Allocation takes, in this order: the hand (below) when it holds a freed
 * slot of the class; else the newest slot of the class's cache of freed
 * slots (LIFO, up to SLAB_CACHE_SLOTS); else the lowest freed slot of the
 * cursor, one 64-bit word of the free bitmap of the class's active slab;
 * else the active slab's next never-used slot (carving; the cursor follows
 * it, so frees of new slots are reused first; with a constructor hook this
 * step runs out of line, where the hook runs, so a reused slot keeps its
 * constructed state); else, out of line (slab_lifecycle.c), another bitmap
 * word found through the slab's summary bitmap, or the next slab: a
 * partially used one of the class (taken directly when it has one free
 * slot), the class's spare empty slab, the pool, the never-used tail, and
 * last another class's empty slab.
 *
 * Free finds the slab by a shift, its class in a byte array and the slot by
 * a multiply with the class's reciprocal (no division). Every slot has a
 * requested-size entry; a freed slot's carries the free mark (all bits
 * set, a size no request can have), so the whole double-free check is one
 * test of that entry. The freed slot goes in the hand (a freed slot of its
 * class there going on the class's cache, marked), or, marked, on its
 * class's cache when the hand holds a freed slot of another class. A full
 * cache gives its older half back to the slabs: each such slot gets its
 * bit in the slab's free bitmap (L0) and summary bitmap (L1), and
 * decrements the slab's until_event. Only when that counter reaches zero
 * does more happen: a full slab joins its class's partial list; a partial
 * slab that empties becomes its class's spare, or goes back to the pool
 * (destructor hook on every slot it carved) when the class already keeps
 * one. The active slab's counter never runs out in practice, so it is kept
 * however often it empties (hysteresis). trim and reset return every kept
 * empty slab; a class short of slabs flushes the hand and the caches and
 * takes another class's empty slab before failing, so kept slabs never
 * cause an out-of-memory.
 *
 * The hand (MP_SlabHot, at the start of the control block, public for the
 * header's mp_slab_alloc_inline / mp_slab_free_inline) is one slot with its
 * class and entry address, FREE (freed; its entry keeps the last requested
 * size, the state being its free mark: every reader of entries treats the
 * FREE hand's as marked, and the entry is marked when the slot goes to the
 * cache), LIVE (taken from the hand; freeing that pointer again needs no
 * address check) or EMPTY. An alloc+free pair of one class through the
 * hand writes the requested size once and one word at a fixed place of
 * the control block twice: hand_word, the state in its low bits and above
 * them the allocations the hand served, each freed back into it but the
 * LIVE slot's (so one count is both of the class's counts; they are
 * folded into the class when the hand takes another class or forgets a
 * LIVE slot, and on reset). Nothing waits for free's address arithmetic,
 * so the pair does not serialise on it, and the pair stores four words
 * with the caller's own (two fewer than a state and two counters).
 *
 * Counters. The fast paths keep per-class alloc and release counts (plus
 * the hand's) and the headroom under the peak (bytes_in_use_peak -
 * bytes_in_use, so a new peak costs no compare-and-store), stored without
 * a FREE hand's slot bytes: a slot going into the hand or back out of it
 * leaves the stored value alone (taking it floors a "negative" one at 0, a
 * new peak). mp_slab_stats derives bytes_in_use, live_block_count,
 * alloc_count and free_count from them in O(classes). bytes_requested is
 * exact but computed when read: allocations store each slot's requested
 * size (one store), and stats sums the entries of the carved slots that do
 * not carry the free mark (and are not the FREE hand).
 *
 * Threads. A single-threaded instance runs the fast paths with no lock
 * code. MP_FLAG_THREAD_SAFE sets fast_alloc_limit and fast_free_bytes to 0,
 * so every alloc and free takes the out-of-line path under the instance's
 * mp_lock (the one bound check the fast path does anyway decides it).
 *
 * Memory layout. The region holds user slots and nothing else, so writes
 * anywhere inside a block, live or freed, change only user data:
 *   MP_Slab (with the classes and their caches) | class table
 *   | class of each slab (one byte each) | metadata records | ... | region
 * create_in places all of it in caller memory in this order (region aligned
 * to the largest power of two dividing a slot size); create/create_ex take
 * the metadata from malloc and map (or borrow) the region. A record is
 * meta_stride bytes (the largest class layout, 64-byte aligned), laid out
 * for the slab's class:
 *   slab_desc (24 B)  state, carved count, list links, until_event, scan word;
 *   L1 words          bit w set if L0 word w may be non-zero (the bitmap side
 *                     of a free sets it, pops leave it, the refill clears
 *                     stale ones);
 *   L0 words          bit i set iff slot i was carved and is free in the
 *                     slab (not in its class's cache);
 *   size entries      4, 8, 16 or 32 bits per slot (the narrowest holding
 *                     slot_bytes): the requested size of a live slot, the
 *                     free mark for a free carved one; ~6% of the region for
 *                     8- and 16-byte classes, less for larger ones.
 * Slabs at or above fresh_next were never used: their records are set up on
 * first use, so create costs O(classes). A pooled slab keeps its last class,
 * carved count, bits and marks, so freeing a block again after its slab
 * went back is still told apart (MP_ERR_DOUBLE_FREE) from a foreign
 * pointer; reset zeroes the counts and bits.
 *
 * Invariants (mp_slab_check, in slab_inspect.c, verifies each): every slab
 * below fresh_next is pooled (last class valid, carved within it, every
 * carved slot freed in L0, on the pool stack exactly once) or assigned
 * (class valid, carved <= slots_per_slab, no L0 bit at or past carved,
 * every L0 bit's slot marked free, an L1 bit for every non-zero L0 word and
 * none past the class's words) in exactly one of: ACTIVE (its class's
 * `active`, cursor inside its bitmap, until_event in 1..2^31), FULL (every
 * slot out of the slab, until_event 1), PARTIAL (some out, until_event =
 * slots out, on its class's partial list), SPARE (none out, its class's
 * `spare`); a slot is out of its slab when live or cached; every cached
 * slot is a carved slot of an assigned slab of its class, marked free, not
 * in L0, listed once; the hand is EMPTY or a carved slot of its class out
 * of its slab with an unmarked entry (FREE: not also cached; LIVE: live);
 * per-class (with the hand's) and heap counters equal the sums over slabs
 * and entries; a class without an active slab has its cursor on the zero
 * word; fast_free_bytes covers exactly the used slabs; the header's inline
 * limit is fast_alloc_limit for the library's kind of caller, 0 for the
 * other; the class table maps
 * every granule to the first fitting class. Under ASan/valgrind every
 * region byte outside a live slot is poisoned (fresh slabs when they are
 * first used).
 */
#include "slab_internal.h"

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 slab_u128;
#endif

/** offset / slot_bytes, and whether it divides exactly, without a division:
 * for offset and slot below 2^32 and magic = ceil(2^64 / slot), the high
 * half of offset * magic is the quotient and the low half is below magic
 * iff the remainder is 0 (Lemire, Kaser, Kurz 2019). One multiply. A class
 * slot that is not configured has magic 0: nothing divides exactly. */
MP_INLINE uint32_t slab_divide(const slab_class *k, uint64_t offset, bool *exact) {
#if defined(__SIZEOF_INT128__)
    slab_u128 product = (slab_u128)k->div_magic * offset;
    *exact = (uint64_t)product < k->div_magic;
    return (uint32_t)(product >> 64);
#else
    if (k->slot_bytes == 0) {
        *exact = false;
        return 0;
    }
    uint32_t q = (uint32_t)(offset / k->slot_bytes);
    *exact = (uint64_t)q * k->slot_bytes == offset;
    return q;
#endif
}

/** First class with slot_bytes >= size; class_count if none. */
uint32_t mp_slab_class_search(const MP_Slab *s, size_t size) {
    uint32_t lo = 0, hi = s->class_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->classes[mid].slot_bytes < size)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ------------------------------------------------------------- allocation */

MP_COLD void *mp_slab_alloc_failed(MP_Slab *s, size_t size, MP_Status why, uint32_t c) {
    s->failed_alloc_count++;
    if (why == MP_ERR_OUT_OF_MEMORY && c < s->class_count) s->classes[c].failed_alloc_count++;
    size_t largest_request;
    MP_FreeStats fs;
    mp_slab_free_summary(s, &fs, &largest_request);
    mp_fail(why, size, fs.free_bytes, largest_request);
    return NULL;
}

/** The FREE hand's slot (of class `c`, the hand's) for `requested` bytes,
 * the hand LIVE: what the header's mp_slab_alloc_inline does. The hand's
 * bytes were left out of the stored headroom, so it is only floored at 0
 * (a new peak). */
static void *slab_take_hand(MP_Slab *s, uint32_t c, size_t requested) {
    slab_class *k = &s->classes[c];
    uint8_t *p = s->hot.hand;
    s->hot.hand_word += MP_SLAB_HAND_TAKE_; /* LIVE, counted in the hand */
    if ((intptr_t)s->hot.headroom_bytes < 0) s->hot.headroom_bytes = 0;
    slab_entry_set(s->hot.hand_entry_at, k->free_mark, requested);
    SLAB_UNPOISON_SLOT(s, p, k->slot_bytes);
    return p;
}

/** A slot of class `k` for `requested` bytes: the hand when it is FREE and
 * of the class, else the class's most recently cached freed slot, else the
 * lowest freed slot of the cursor word, else whatever the refill finds.
 * Writing the size entry also clears the slot's free mark. NULL (recorded) when the region has no room or the metadata
 * is broken. */
MP_INLINE void *slab_take(MP_Slab *s, slab_class *k, size_t requested) {
    uint32_t c = (uint32_t)(k - s->classes);
    if (slab_hand_state(s) == MP_SLAB_HAND_FREE && s->hot.hand_class == c) return slab_take_hand(s, c, requested);
    uint32_t n = k->cached;
    size_t slot_bytes = k->slot_bytes;
    unsigned width = k->size_width_log2;
    uint8_t *p;
    uint64_t at;
    if (MP_LIKELY(n != 0)) {
        p = k->cache[n - 1].ptr;
        at = k->cache[n - 1].entry_at;
        k->cached = n - 1;
    } else {
        uint64_t *cursor = k->cursor;
        uint64_t word = *cursor;
        unsigned bit;
        if (MP_LIKELY(word != 0)) {
            bit = slab_ctz64(word);
            *cursor = word & (word - 1);
        } else {
            /* Carve the active slab's next slot here when it is in the
             * cursor's word (the cursor follows the carving) and no
             * constructor has to run; the refill does the rest. */
            slab_desc *d = k->active_desc;
            uint32_t next;
            if (d == NULL || (next = d->carved) >= k->slots_per_slab || next % 64 == 0 || s->ctor != NULL)
                return mp_slab_refill(s, k, requested);
            d->carved = next + 1;
            bit = next % 64;
        }
        p = k->cursor_ptr + (size_t)bit * slot_bytes;
        at = k->cursor_at + ((uint64_t)bit << width);
    }
    slab_note_alloc(s, k, slot_bytes);
    slab_entry_set(at, k->free_mark, requested);
    SLAB_UNPOISON_SLOT(s, p, slot_bytes);
    return p;
}

/** Any class lookup and take; lock held by the caller. */
static void *slab_alloc_any(MP_Slab *s, size_t size) {
    uint32_t c = slab_class_of(s, size);
    if (MP_UNLIKELY(c >= s->class_count)) return mp_slab_alloc_failed(s, size, MP_ERR_INVALID_ARGUMENT, c);
    return slab_take(s, &s->classes[c], size);
}

/* Sizes above the table, and every call of a thread-safe instance. */
static MP_NOINLINE void *slab_alloc_slow(MP_Slab *s, size_t size) {
    slab_lock(s);
    void *p = slab_alloc_any(s, size);
    slab_unlock(s);
    return p;
}

static MP_COLD void *slab_null_instance(size_t size) {
    mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    return NULL;
}

void *mp_slab_alloc(MP_Slab *s, size_t size) {
    if (MP_UNLIKELY(s == NULL)) return slab_null_instance(size);
    if (MP_UNLIKELY(size >= s->fast_alloc_limit)) return slab_alloc_slow(s, size);
    return slab_take(s, &s->classes[s->hot.class_table[(size + 7) >> 3]], size);
}

/** First class at or after `c` whose slots are all `align`-aligned. */
MP_INLINE uint32_t slab_class_aligned(const MP_Slab *s, uint32_t c, size_t align) {
    while (c < s->class_count && s->classes[c].align_bytes < align) c++;
    return c;
}

void *mp_slab_alloc_aligned(MP_Slab *s, size_t size, size_t align) {
    if (s == NULL) return slab_null_instance(size);
    slab_lock(s);
    void *p;
    uint32_t c = slab_class_of(s, size);
    if (!mp_is_pow2(align))
        p = mp_slab_alloc_failed(s, size, MP_ERR_ALIGNMENT, s->class_count);
    else if (c >= s->class_count)
        p = mp_slab_alloc_failed(s, size, MP_ERR_INVALID_ARGUMENT, c);
    else if ((c = slab_class_aligned(s, c, align)) >= s->class_count)
        p = mp_slab_alloc_failed(s, size, MP_ERR_ALIGNMENT, c);
    else
        p = slab_take(s, &s->classes[c], size);
    slab_unlock(s);
    return p;
}

void *mp_slab_calloc(MP_Slab *s, size_t size) {
    void *p = mp_slab_alloc(s, size);
    /* The slot is the caller's now: zero all of it (usable size) unlocked. */
    if (p != NULL) memset(p, 0, s->classes[slab_class_of(s, size)].slot_bytes);
    return p;
}

/* ------------------------------------------------------------------- free */

/** The slab's side of a free (its size entry already marked): sets the L0
 * bit of slot `slot` of the slab whose record is `meta` (class `k`) and its
 * summary bit, and runs the slab's until_event down. */
MP_INLINE void slab_set_free_bit(MP_Slab *s, uint8_t *meta, const slab_class *k, uint32_t slot) {
    uint64_t *l0_word = (uint64_t *)(void *)(meta + k->l0_offset) + (slot >> 6);
    uint64_t *l1_word = (uint64_t *)(void *)(meta + SLAB_DESC_BYTES) + (slot >> 12);
    *l0_word |= (uint64_t)1 << (slot & 63);
    *l1_word |= (uint64_t)1 << ((slot >> 6) & 63);
    slab_desc *d = (slab_desc *)(void *)meta;
    if (MP_UNLIKELY(--d->until_event == 0)) mp_slab_free_event(s, d);
}

/** The class's side of a free of `ptr`: counters and poison. */
MP_INLINE void slab_count_free(MP_Slab *s, slab_class *k, uint8_t *ptr) {
    size_t slot_bytes = k->slot_bytes;
    k->release_count++;
    s->hot.headroom_bytes += slot_bytes;
    MP_POISON(ptr, slot_bytes);
    (void)ptr;
}

MP_NOINLINE uint32_t mp_slab_flush_cache(MP_Slab *s, slab_class *k, uint32_t count) {
    uint32_t n = k->cached;
    if (count > n) count = n;
    for (uint32_t i = 0; i < count; i++) {
        const slab_cached *e = &k->cache[i];
        uint32_t idx = (uint32_t)((size_t)(e->ptr - s->base) >> s->slab_shift);
        uint8_t *meta = slab_meta(s, idx);
        uint64_t bits = e->entry_at - slab_entry_at(meta + k->sizes_offset, k->size_width_log2, 0);
        slab_set_free_bit(s, meta, k, (uint32_t)(bits >> k->size_width_log2));
    }
    memmove(k->cache, k->cache + count, (n - count) * sizeof k->cache[0]);
    k->cached = n - count;
    return n - count;
}

/** Puts the freed slot `ptr` (size entry at bit address `at`, marked) on
 * class `k`'s cache; a full cache gives its older half back to the slabs
 * first (out of line). Counts nothing. */
MP_INLINE void slab_cache_put(MP_Slab *s, slab_class *k, uint8_t *ptr, uint64_t at) {
    if (MP_UNLIKELY(k->cached == SLAB_CACHE_SLOTS)) mp_slab_flush_cache(s, k, SLAB_CACHE_SLOTS / 2);
    uint32_t n = k->cached;
    k->cache[n].ptr = ptr;
    k->cache[n].entry_at = at;
    k->cached = n + 1;
}

/** Moves the FREE hand's slot (freed and counted) to its class's cache, its
 * size entry marked free: its bytes join the stored headroom; the hand is
 * EMPTY. */
MP_INLINE void slab_hand_to_cache(MP_Slab *s) {
    slab_class *k = &s->classes[s->hot.hand_class];
    slab_entry_set(s->hot.hand_entry_at, k->free_mark, k->free_mark);
    slab_cache_put(s, k, s->hot.hand, s->hot.hand_entry_at);
    s->hot.headroom_bytes += k->slot_bytes;
    s->hot.hand = NULL;
    slab_hand_set_state(s, MP_SLAB_HAND_EMPTY);
}

void mp_slab_flush_caches(MP_Slab *s) {
    if (slab_hand_state(s) == MP_SLAB_HAND_FREE) slab_hand_to_cache(s);
    for (uint32_t c = 0; c < s->class_count; c++) mp_slab_flush_cache(s, &s->classes[c], SLAB_CACHE_SLOTS);
}

/** The class of the slot that starts at `off` (an offset below
 * fresh_next << slab_shift) and is live unless it is the FREE hand (the
 * caller tells those apart first), with its size entry's bit address in
 * `*at`; NULL if `off` starts no such slot. Reads only. */
MP_INLINE slab_class *slab_free_check(MP_Slab *s, uintptr_t off, uint64_t *at) {
    uint32_t idx = (uint32_t)(off >> s->slab_shift);
    slab_class *k = &s->classes[slab_cls(s, idx) & (MP_SLAB_MAX_CLASSES - 1)];
    uint8_t *meta = slab_meta(s, idx);
    const slab_desc *d = (const slab_desc *)(void *)meta;
    bool exact;
    uint32_t slot = slab_divide(k, off & s->slab_mask, &exact);
    if (MP_UNLIKELY(!exact || slot >= d->carved)) return NULL;
    *at = slab_entry_at(meta + k->sizes_offset, k->size_width_log2, slot);
    if (MP_UNLIKELY(slab_entry_get(*at, k->free_mark) == k->free_mark)) return NULL;
    return k;
}

/** Frees the checked slot `ptr` of class `k`: puts it in the hand, FREE
 * (its size entry unchanged: the hand's state is its free mark). The LIVE
 * hand's own slot goes back as the inline free does (its release is the
 * hand's count). A FREE hand of another class keeps its slot, and this one
 * goes on its class's cache instead, its size entry marked free (so the
 * mark and one test on it are the whole double-free check); one of the
 * same class goes to the cache before it, so each class reuses its most
 * recently freed slot first. Another LIVE slot is forgotten (it stays
 * live). The freed bytes stay out of the stored headroom while the slot is
 * the FREE hand. */
MP_INLINE MP_Status slab_free_commit(MP_Slab *s, slab_class *k, uint8_t *ptr, uint64_t at) {
    uint32_t c = (uint32_t)(k - s->classes);
    uint64_t state = slab_hand_state(s);
    if (state == MP_SLAB_HAND_FREE) {
        if (s->hot.hand_class != c) {
            slab_entry_set(at, k->free_mark, k->free_mark);
            slab_cache_put(s, k, ptr, at);
            slab_count_free(s, k, ptr);
            return MP_OK;
        }
        slab_hand_to_cache(s);
    } else if (state == MP_SLAB_HAND_LIVE && ptr == s->hot.hand) {
        s->hot.hand_word -= MP_SLAB_HAND_GIVE_;
        MP_POISON(ptr, k->slot_bytes);
        return MP_OK;
    }
    if (s->hot.hand_class != c || state == MP_SLAB_HAND_LIVE) slab_fold_hand_counts(s);
    s->hot.hand = ptr;
    s->hot.hand_entry_at = at;
    s->hot.hand_class = c;
    s->hot.hand_width_log2 = k->size_width_log2;
    slab_hand_set_state(s, MP_SLAB_HAND_FREE);
    k->release_count++;
    MP_POISON(ptr, k->slot_bytes);
    return MP_OK;
}

/** Why `ptr` is not the start of a live slot: MP_ERR_DOUBLE_FREE for the
 * start of a free slot of an assigned slab (carved or not, cached or not)
 * or of a slot its pooled slab carved before it went back (reset clears
 * those), else MP_ERR_INVALID_ADDRESS. Only called when slab_free_check
 * refused `ptr`. */
static MP_Status slab_refusal(const MP_Slab *s, const void *ptr) {
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)s->base; /* wraps above the region if below base */
    if (off >= ((size_t)s->fresh_next << s->slab_shift)) return MP_ERR_INVALID_ADDRESS;
    uint32_t idx = (uint32_t)(off >> s->slab_shift);
    const slab_desc *d = slab_desc_of(s, idx);
    if (slab_cls(s, idx) >= s->class_count) return MP_ERR_INVALID_ADDRESS;
    const slab_class *k = &s->classes[slab_cls(s, idx)];
    bool exact;
    uint32_t slot = slab_divide(k, off & s->slab_mask, &exact);
    if (!exact || slot >= k->slots_per_slab) return MP_ERR_INVALID_ADDRESS;
    if (slot >= d->carved && slab_is_pooled(d)) return MP_ERR_INVALID_ADDRESS;
    return MP_ERR_DOUBLE_FREE;
}

/** MP_OK and the slab and slot when `ptr` starts a live slot, else why not.
 * Lock held. */
MP_Status mp_slab_locate(const MP_Slab *s, const void *ptr, uint32_t *idx_out, uint32_t *slot_out) {
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)s->base;
    if (off >= ((size_t)s->fresh_next << s->slab_shift)) return MP_ERR_INVALID_ADDRESS;
    uint32_t idx = (uint32_t)(off >> s->slab_shift);
    const slab_desc *d = slab_desc_of(s, idx);
    const slab_class *k = slab_class_of_slab(s, idx);
    bool exact;
    uint32_t slot = slab_divide(k, off & s->slab_mask, &exact);
    uint64_t at = slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, slot);
    if (!exact || slot >= d->carved || slab_entry_get(at, k->free_mark) == k->free_mark || at == slab_free_hand_at(s))
        return slab_refusal(s, ptr);
    *idx_out = idx;
    *slot_out = slot;
    return MP_OK;
}

/** Frees the live slot (idx, slot) straight into its slab (a LIVE hand on
 * it is forgotten); lock held. */
void mp_slab_give_back_slot(MP_Slab *s, uint32_t idx, uint32_t slot) {
    slab_class *k = &s->classes[slab_cls(s, idx)];
    uint8_t *ptr = slab_start(s, idx) + (size_t)slot * k->slot_bytes;
    if (slab_hand_state(s) == MP_SLAB_HAND_LIVE && s->hot.hand == ptr) slab_fold_hand_counts(s); /* EMPTY */
    slab_entry_set(slab_entry_at(slab_sizes(s, idx, k), k->size_width_log2, slot), k->free_mark, k->free_mark);
    slab_count_free(s, k, ptr);
    slab_set_free_bit(s, slab_meta(s, idx), k, slot);
}

/* Refused pointers, and every call of a thread-safe instance. */
static MP_NOINLINE MP_Status slab_free_slow(MP_Slab *s, void *ptr) {
    slab_lock(s);
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)s->base;
    uint64_t at = 0;
    bool free_hand = ptr == s->hot.hand && slab_hand_state(s) == MP_SLAB_HAND_FREE;
    slab_class *k = off < ((size_t)s->fresh_next << s->slab_shift) && !free_hand ? slab_free_check(s, off, &at) : NULL;
    MP_Status st;
    if (k != NULL) {
        st = slab_free_commit(s, k, (uint8_t *)ptr, at);
    } else {
        st = slab_refusal(s, ptr);
        s->rejected_free_count++;
    }
    slab_unlock(s);
    return st == MP_OK ? MP_OK : mp_fail(st, 0, 0, 0);
}

MP_Status mp_slab_free(MP_Slab *s, void *ptr) {
    if (MP_UNLIKELY(s == NULL)) return mp_fail(MP_ERR_INVALID_ARGUMENT, 0, 0, 0);
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)s->base;
    if (MP_UNLIKELY(off >= s->fast_free_bytes)) return slab_free_slow(s, ptr);
    if (ptr == s->hot.hand) {
        /* The LIVE hand is known live, its class and entry known; the FREE
         * one is refused out of line. */
        uint64_t state = slab_hand_state(s);
        if (state == MP_SLAB_HAND_LIVE)
            return slab_free_commit(s, &s->classes[s->hot.hand_class], (uint8_t *)ptr, s->hot.hand_entry_at);
        if (state == MP_SLAB_HAND_FREE) return slab_free_slow(s, ptr);
    }
    uint64_t at;
    slab_class *k = slab_free_check(s, off, &at);
    if (MP_UNLIKELY(k == NULL)) return slab_free_slow(s, ptr);
    return slab_free_commit(s, k, (uint8_t *)ptr, at);
}

/* ----------------------------------------------------------------- realloc */

/** Moves or resizes the live slot (idx, slot) at `*ptr`; lock held. */
static MP_Status slab_realloc_live(MP_Slab *s, void **ptr, uint32_t idx, uint32_t slot, size_t size) {
    const slab_class *old = slab_class_of_slab(s, idx);
    if (size <= old->slot_bytes) {
        slab_entry_set(slab_entry_at(slab_sizes(s, idx, old), old->size_width_log2, slot), old->free_mark, size);
        s->realloc_count++;
        return MP_OK;
    }
    /* A larger class that keeps the block's alignment (its class's). */
    uint32_t c = slab_class_of(s, size);
    if (c >= s->class_count) {
        mp_slab_alloc_failed(s, size, MP_ERR_INVALID_ARGUMENT, c);
        return MP_ERR_INVALID_ARGUMENT;
    }
    c = slab_class_aligned(s, c, old->align_bytes);
    if (c >= s->class_count) {
        mp_slab_alloc_failed(s, size, MP_ERR_ALIGNMENT, c);
        return MP_ERR_ALIGNMENT;
    }
    /* The peak counts the block once: give the old slot's bytes back to the
     * headroom before the new slot takes its own (undone on failure). */
    s->hot.headroom_bytes += old->slot_bytes;
    void *p = slab_take(s, &s->classes[c], size);
    if (p == NULL) { /* a delta, not `headroom`: the refill may have moved the hand into it */
        s->hot.headroom_bytes -= old->slot_bytes;
        return mp_last_error().status;
    }
    memcpy(p, *ptr, old->slot_bytes);
    s->hot.headroom_bytes -= old->slot_bytes; /* mp_slab_give_back_slot adds it again */
    mp_slab_give_back_slot(s, idx, slot);
    s->realloc_count++;
    s->realloc_moves++;
    *ptr = p;
    return MP_OK;
}

MP_Status mp_slab_realloc(MP_Slab *s, void **ptr, size_t size) {
    if (s == NULL || ptr == NULL) return mp_fail(MP_ERR_INVALID_ARGUMENT, size, 0, 0);
    if (*ptr == NULL) {
        void *p = mp_slab_alloc(s, size);
        if (p == NULL) return mp_last_error().status;
        *ptr = p;
        return MP_OK;
    }
    slab_lock(s);
    uint32_t idx, slot;
    MP_Status st = mp_slab_locate(s, *ptr, &idx, &slot);
    if (st == MP_OK) {
        st = slab_realloc_live(s, ptr, idx, slot, size);
    } else {
        s->rejected_free_count++;
        mp_fail(st, size, 0, 0);
    }
    slab_unlock(s);
    return st;
}

size_t mp_slab_usable_size(const MP_Slab *s, const void *ptr) {
    if (s == NULL) return 0;
    slab_lock(s);
    uint32_t idx, slot;
    size_t bytes = mp_slab_locate(s, ptr, &idx, &slot) == MP_OK ? slab_class_of_slab(s, idx)->slot_bytes : 0;
    slab_unlock(s);
    return bytes;
}
