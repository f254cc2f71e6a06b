/*
 * slab_internal.h - the slab allocator's control block and the small helpers
 * shared by slab.c (allocation, free), slab_lifecycle.c (slab refill and
 * release, create, reset, trim) and slab_inspect.c (stats, walk, check).
 * Never installed. The layout and invariants are described at the top of
 * slab.c.
 */
#ifndef MP_SLAB_INTERNAL_H
#define MP_SLAB_INTERNAL_H

#include "mp_internal.h"

/** "No slab": the end of a list or stack of slab indices. */
#define SLAB_NONE UINT32_MAX

/** Sizes up to this many bytes find their class through the byte table;
 * larger ones through a binary search over the (at most 64) classes. */
#define SLAB_TABLE_MAX_BYTES ((size_t)32768)

/** Largest accepted slab: slot indices and in-slab offsets fit 32 bits and
 * the division by a slot size stays exact with a 64-bit multiply. */
#define SLAB_MAX_SLAB_BYTES ((size_t)1 << 30)

/** Bytes of a slab's descriptor at the head of its metadata record; the
 * record's L1 words follow it, then its L0 words and size entries at
 * offsets that depend on the class (slab_class.l0_offset, sizes_offset). */
#define SLAB_DESC_BYTES ((size_t)24)

/** until_event of the active slab: frees never need to act on it, so the
 * counter only runs down (one cold call every 2^31 frees puts it back). */
#define SLAB_EVENT_NEVER ((uint32_t)1 << 31)

/** Where a slab is. Pooled slabs belong to no class (they keep the last
 * one's layout, see slab.c); slabs at or above `fresh_next` were never used
 * and have no valid metadata. */
enum slab_state {
    SLAB_POOLED = 0,       /**< in the free-slab pool, pages may be resident */
    SLAB_POOLED_CLEAN = 1, /**< in the pool, pages given back by trim */
    SLAB_ACTIVE = 2,       /**< its class allocates from it (any fill) */
    SLAB_PARTIAL = 3,      /**< some but not all slots out (live or in the class's cache),
                                on the class's partial list */
    SLAB_FULL = 4,         /**< every slot out */
    SLAB_SPARE = 5         /**< no slot out: the class's one kept empty slab */
};

/** Descriptor of one slab, at the head of its metadata record. */
typedef struct slab_desc {
    uint32_t until_event; /**< frees reaching the bitmap before one must act: FULL 1, PARTIAL
                               slots out, ACTIVE counts down from SLAB_EVENT_NEVER, else 0 */
    uint32_t carved;      /**< slots handed out at least once since assigned */
    uint32_t next;        /**< partial list of the class, or pool stack */
    uint32_t prev;        /**< partial list of the class */
    uint32_t scan_word;   /**< L1 word where the next search for a freed slot starts */
    uint8_t state;        /**< enum slab_state */
    uint8_t unused[3];
} slab_desc;

/** Freed slots a class keeps aside for its next allocations. */
#define SLAB_CACHE_SLOTS 8u

/** A slot in a class's cache: its address and the bit address of its
 * size entry (see slab_entry_at). Public for the header's inline calls. */
typedef MP_SlabCachedSlot slab_cached;

/** One size class (the header's MP_SlabClassHot, documented there; 256
 * bytes, so the class of an index is a shift away). The first cache line
 * is what the fast paths read: the count of cached freed slots, the cursor
 * (one L0 word of the active slab, popped bit by bit) and where its slots
 * and size entries are, the divisor and the counters. The cache itself
 * (LIFO) follows the cold fields. `active_desc` is the slab_desc of
 * `active`. */
typedef MP_SlabClassHot slab_class;

_Static_assert(sizeof(slab_class) == 256, "a class is 256 bytes: indexing it is a shift");
_Static_assert(SLAB_CACHE_SLOTS == sizeof(((slab_class *)0)->cache) / sizeof(slab_cached), "cache size");

struct MP_Slab {
    /* The header's inline calls read and write `hot` at offset 0: the
     * hand, the headroom, the class table and the classes. hot.alloc_limit
     * follows fast_alloc_limit for the kind of caller built like this
     * library (slab_sync_limits). */
    MP_SlabHot hot;
    uint8_t *base;             /**< slab k starts at base + (k << slab_shift) */
    size_t fast_alloc_limit;   /**< sizes below it take the unlocked table path; 0 if thread-safe */
    size_t fast_free_bytes;    /**< offsets below it may be freed unlocked: fresh_next << slab_shift,
                                    0 if thread-safe */
    uint8_t *slab_cls;         /**< [slab_count] class of each used slab (the last one while pooled):
                                    apart from the records, so free finds the class with one load */
    uint8_t *meta;             /**< [slab_count] records of meta_stride bytes: desc, L1, L0, sizes */
    size_t meta_stride;
    size_t slab_mask;          /**< slab_bytes - 1 */
    unsigned slab_shift;
    bool thread_safe;
    /* Counters of the cold paths; the rest of MP_HeapStats is derived. */
    uint64_t realloc_count;
    uint64_t realloc_moves;    /**< reallocs that moved: one alloc_count and one release_count
                                    of the classes that are not an alloc or free */
    uint64_t reset_dropped;    /**< live slots released by reset (not frees) */
    uint64_t failed_alloc_count;
    uint64_t rejected_free_count;
    /* Geometry and lifetime. */
    size_t region_bytes;       /**< slab_count << slab_shift */
    size_t slab_bytes;
    uint32_t slab_count;
    uint32_t class_count;
    uint32_t fresh_next;       /**< slabs >= this were never used */
    uint32_t pool_head;        /**< stack of pooled slabs, linked by `next` */
    uint32_t pooled_count;     /**< slabs on that stack */
    bool heap_control;         /**< control block came from malloc */
    size_t table_max_bytes;    /**< sizes <= this use class_table */
    MP_SlabObjectFn ctor;
    MP_SlabObjectFn dtor;
    void *hook_ctx;
    void *map_ptr;             /**< OS mapping holding the region, or NULL */
    size_t map_bytes;
    uint64_t zero_word;        /**< the cursor of a class without an active slab; always 0 */
    mp_lock lock;
    slab_class classes[MP_SLAB_MAX_CLASSES];
};

_Static_assert(offsetof(MP_Slab, hot) == 0, "the header's inline calls read the hot state at offset 0");

/* The sanitizer this library poisons with (the header's inline calls compare). */
#if defined(MP_ASAN)
#define SLAB_SANITIZER MP_SANITIZER_ASAN
#elif defined(MP_WITH_VALGRIND)
#define SLAB_SANITIZER MP_SANITIZER_VALGRIND
#else
#define SLAB_SANITIZER MP_SANITIZER_NONE
#endif

/** Whether the header's inline calls may run for the kind of caller built
 * like this library: not (valgrind) with a constructor hook, whose slots
 * must come back defined. */
MP_INLINE bool slab_inline_open(const MP_Slab *s) {
    return !(SLAB_SANITIZER == MP_SANITIZER_VALGRIND && s->ctor != NULL);
}

/** Sets the inline limit of the header's calls from the out-of-line one
 * (0 for the other kind of caller). */
MP_INLINE void slab_sync_limits(MP_Slab *s) {
    unsigned kind = SLAB_SANITIZER != MP_SANITIZER_NONE;
    bool open = slab_inline_open(s);
    s->hot.alloc_limit[kind] = open ? s->fast_alloc_limit : 0;
    s->hot.alloc_limit[!kind] = 0;
}

/** The hand's state: MP_SLAB_HAND_EMPTY, _FREE or _LIVE (3 only if the
 * control block was overwritten; check() reports it). */
MP_INLINE uint64_t slab_hand_state(const MP_Slab *s) { return s->hot.hand_word & MP_SLAB_HAND_STATE_MASK; }

/** Sets the hand's state, its counts unchanged: for every change that is
 * not a round trip through the hand (those are MP_SLAB_HAND_TAKE_ and
 * MP_SLAB_HAND_GIVE_). A LIVE slot may only leave the hand that way after
 * slab_fold_hand_counts. */
MP_INLINE void slab_hand_set_state(MP_Slab *s, uint64_t state) {
    s->hot.hand_word = (s->hot.hand_word & ~(uint64_t)MP_SLAB_HAND_STATE_MASK) | state;
}

/** Allocations the hand served that its class's alloc_count does not have. */
MP_INLINE uint64_t slab_hand_allocs(const MP_Slab *s) { return s->hot.hand_word >> MP_SLAB_HAND_COUNT_SHIFT; }

/** Frees back into the hand that its class's release_count does not have:
 * every allocation it served but the LIVE slot's. */
MP_INLINE uint64_t slab_hand_releases(const MP_Slab *s) {
    return slab_hand_allocs(s) - (slab_hand_state(s) == MP_SLAB_HAND_LIVE);
}

/** Bit address of the FREE hand's size entry, 0 when the hand is not FREE.
 * That entry keeps the slot's last requested size (the inline pair writes
 * no entry on free): whoever reads entries counts it as marked free. */
MP_INLINE uint64_t slab_free_hand_at(const MP_Slab *s) {
    return slab_hand_state(s) == MP_SLAB_HAND_FREE ? s->hot.hand_entry_at : 0;
}

/** Slot bytes of a FREE hand, else 0. */
MP_INLINE size_t slab_hand_bytes(const MP_Slab *s) {
    return slab_hand_state(s) == MP_SLAB_HAND_FREE ? s->classes[s->hot.hand_class].slot_bytes : 0;
}

/** bytes_in_use_peak - bytes_in_use (the stored headroom leaves the hand
 * out, see MP_SlabHot). */
MP_INLINE size_t slab_headroom(const MP_Slab *s) { return s->hot.headroom_bytes + slab_hand_bytes(s); }

MP_INLINE uint8_t *slab_meta(const MP_Slab *s, uint32_t idx) { return s->meta + (size_t)idx * s->meta_stride; }

MP_INLINE slab_desc *slab_desc_of(const MP_Slab *s, uint32_t idx) { return (slab_desc *)(void *)slab_meta(s, idx); }

/** L0 bitmap of slab `idx` laid out for class `k`: bit i set iff slot i
 * was carved and is free in the slab (not out: neither live nor cached). */
MP_INLINE uint64_t *slab_l0(const MP_Slab *s, uint32_t idx, const slab_class *k) {
    return (uint64_t *)(void *)(slab_meta(s, idx) + k->l0_offset);
}

/** L1 bitmap: bit w set if L0 word w may be non-zero (never clear when it is). */
MP_INLINE uint64_t *slab_l1(const MP_Slab *s, uint32_t idx) {
    return (uint64_t *)(void *)(slab_meta(s, idx) + SLAB_DESC_BYTES);
}

MP_INLINE uint8_t *slab_sizes(const MP_Slab *s, uint32_t idx, const slab_class *k) {
    return slab_meta(s, idx) + k->sizes_offset;
}

/** Class index of used slab `idx` (its last one if pooled). */
MP_INLINE uint32_t slab_cls(const MP_Slab *s, uint32_t idx) { return s->slab_cls[idx]; }

/** The class whose layout slab `idx`'s record has (its last one if pooled);
 * an index this instance does not have maps to an unused class entry. */
MP_INLINE const slab_class *slab_class_of_slab(const MP_Slab *s, uint32_t idx) {
    return &s->classes[slab_cls(s, idx) & (MP_SLAB_MAX_CLASSES - 1)];
}

MP_INLINE uint8_t *slab_start(const MP_Slab *s, uint32_t idx) {
    return s->base + ((size_t)idx << s->slab_shift);
}

MP_INLINE bool slab_is_pooled(const slab_desc *d) { return d->state <= SLAB_POOLED_CLEAN; }

/* Requested-size entries are 4, 8, 16 or 32 bits wide (2^width_log2, the
 * narrowest holding slot_bytes), by class, and addressed by bit: entry i of
 * a record's size area `sizes` is at bit ((uint64_t)sizes << 3) + (i <<
 * width_log2), in a little-endian bit order. An entry with all its bits set
 * (the class's free_mark) marks a free slot; no requested size is that
 * large (slots are multiples of 8 bytes, below 2^(2^width_log2) - 1). Every
 * access reads or writes the 32-bit window that starts at the entry's byte,
 * whatever the width, so mixing classes mispredicts no branch on it; the
 * window is assembled byte by byte (one load or store once compiled on a
 * little-endian machine, correct on any), and a record's size area has 4
 * bytes of slack for it. */

/** The free mark of entries 2^width_log2 bits wide (all bits set). */
MP_INLINE uint32_t slab_entry_mask(unsigned width_log2) {
    return (uint32_t)(((uint64_t)1 << (1u << width_log2)) - 1);
}

/** Bit address of the entry of slot `i` in size area `sizes`. */
MP_INLINE uint64_t slab_entry_at(const uint8_t *sizes, unsigned width_log2, uint32_t i) {
    return ((uint64_t)(uintptr_t)sizes << 3) + ((uint64_t)i << width_log2);
}

MP_INLINE uint32_t slab_window_load(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

MP_INLINE void slab_window_store(uint8_t *b, uint32_t x) {
    b[0] = (uint8_t)x;
    b[1] = (uint8_t)(x >> 8);
    b[2] = (uint8_t)(x >> 16);
    b[3] = (uint8_t)(x >> 24);
}

/** The entry at bit address `at`, of the width whose free mark is `mark`. */
MP_INLINE size_t slab_entry_get(uint64_t at, uint32_t mark) {
    return (size_t)((slab_window_load((const uint8_t *)(uintptr_t)(at >> 3)) >> (at & 7u)) & mark);
}

/** Stores `v` (at most `mark`) in the entry at bit address `at`. */
MP_INLINE void slab_entry_set(uint64_t at, uint32_t mark, size_t v) {
    unsigned shift = (unsigned)(at & 7u);
    uint8_t *b = (uint8_t *)(uintptr_t)(at >> 3);
    slab_window_store(b, (slab_window_load(b) & ~(mark << shift)) | ((uint32_t)v << shift));
}

MP_INLINE unsigned slab_ctz64(uint64_t x) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1u)) x >>= 1, n++;
    return n;
#endif
}

MP_INLINE unsigned slab_popcount64(uint64_t x) {
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(x);
#else
    unsigned n = 0;
    for (; x; x &= x - 1) n++;
    return n;
#endif
}

/* A slot handed out is unpoisoned. Constructed objects keep their contents
 * across free and reuse, so under valgrind they come back defined
 * (MP_UNPOISON would mark them undefined). */
#if defined(MP_WITH_VALGRIND) && !defined(MP_ASAN)
#define SLAB_UNPOISON_DEFINED(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#define SLAB_UNPOISON_SLOT(s, p, n) ((s)->ctor != NULL ? SLAB_UNPOISON_DEFINED((p), (n)) : MP_UNPOISON((p), (n)))
#else
#define SLAB_UNPOISON_DEFINED(p, n) MP_UNPOISON((p), (n))
#define SLAB_UNPOISON_SLOT(s, p, n) MP_UNPOISON((p), (n))
#endif

/** Counts a slot of class `k` (of `slot_bytes`) live: the class's alloc
 * count, and the peak through the headroom (a new peak when the slot does
 * not fit under the old one). */
MP_INLINE void slab_note_alloc(MP_Slab *s, slab_class *k, size_t slot_bytes) {
    size_t stored = s->hot.headroom_bytes;
    k->alloc_count++;
    /* Room under the peak without counting a FREE hand: no new peak, and
     * the hand's bytes need not be looked up. */
    if (MP_LIKELY((intptr_t)stored >= (intptr_t)slot_bytes)) {
        s->hot.headroom_bytes = stored - slot_bytes;
        return;
    }
    size_t hand_bytes = slab_hand_bytes(s);
    size_t headroom = stored + hand_bytes;
    headroom = headroom > slot_bytes ? headroom : slot_bytes;
    s->hot.headroom_bytes = headroom - slot_bytes - hand_bytes;
}

MP_INLINE void slab_lock(const MP_Slab *s) {
    if (s->thread_safe) mp_lock_acquire((mp_lock *)&s->lock);
}

MP_INLINE void slab_unlock(const MP_Slab *s) {
    if (s->thread_safe) mp_lock_release((mp_lock *)&s->lock);
}

/** Binary search for the first class whose slot holds `size` bytes;
 * class_count when `size` is above the largest class. */
uint32_t mp_slab_class_search(const MP_Slab *s, size_t size);

/** As mp_slab_class_search, O(1) through the table for sizes up to
 * table_max_bytes (the common case). */
MP_INLINE uint32_t slab_class_of(const MP_Slab *s, size_t size) {
    if (MP_LIKELY(size <= s->table_max_bytes)) return s->hot.class_table[(size + 7) >> 3];
    return mp_slab_class_search(s, size);
}

/** Slots of assigned slab `idx` whose L0 bit is clear: carved minus freed
 * (slots in their class's cache count here). O(slots / 64). */
size_t mp_slab_live_slots(const MP_Slab *s, uint32_t idx);


/** Total slots the slabs of class `k` hold. */
MP_INLINE size_t slab_class_capacity(const slab_class *k) { return (size_t)k->slab_count * k->slots_per_slab; }

/** Allocations of class `k`, with those of the hand not yet folded in. */
MP_INLINE uint64_t slab_alloc_count(const MP_Slab *s, const slab_class *k) {
    return k->alloc_count + (k == &s->classes[s->hot.hand_class] ? slab_hand_allocs(s) : 0);
}

/** Releases of class `k`, with those of the hand not yet folded in. */
MP_INLINE uint64_t slab_release_count(const MP_Slab *s, const slab_class *k) {
    return k->release_count + (k == &s->classes[s->hot.hand_class] ? slab_hand_releases(s) : 0);
}

/** Adds the hand's counts to its class, and forgets a LIVE slot (EMPTY:
 * the slot stays live, and its free is counted wherever it happens).
 * Before the hand takes another class or another slot while LIVE, when
 * its LIVE slot is freed past it, and on reset. */
MP_INLINE void slab_fold_hand_counts(MP_Slab *s) {
    slab_class *k = &s->classes[s->hot.hand_class];
    uint64_t state = slab_hand_state(s);
    k->alloc_count += slab_hand_allocs(s);
    k->release_count += slab_hand_releases(s);
    s->hot.hand_word = state == MP_SLAB_HAND_LIVE ? MP_SLAB_HAND_EMPTY : state;
}

/** Slots of class `c` handed out and not given back (O(1)). */
MP_INLINE size_t slab_class_in_use(const MP_Slab *s, const slab_class *k) {
    return (size_t)(slab_alloc_count(s, k) - slab_release_count(s, k));
}

/** Free-space figures from the O(1) counters (O(classes)): free bytes and
 * blocks (a pooled or never-used slab counts as one block of slab_bytes,
 * a free slot as one of slot_bytes) and, in `*largest_request`, the largest
 * request that could succeed now. Lock held by the caller. */
void mp_slab_free_summary(const MP_Slab *s, MP_FreeStats *out, size_t *largest_request);

/** Records a failed allocation of `size` bytes (class `c`, or class_count
 * when none applies; for OOM the class's failure counter too) with the
 * free-space figures, for mp_last_error. Returns NULL. */
void *mp_slab_alloc_failed(MP_Slab *s, size_t size, MP_Status why, uint32_t c);

/* ------------------------------------------- slab_lifecycle.c, lock held */

/** Takes a slot of class `k` for `requested` bytes when the cursor word is
 * empty: carves the active slab, finds its next word with freed slots, or
 * moves to a new active slab (partial list, spare, pool, never-used tail,
 * another class's empty slab). Counts the slot live. NULL, recorded by
 * mp_slab_alloc_failed, with MP_ERR_OUT_OF_MEMORY, or MP_ERR_CORRUPTION when
 * a slab's bitmap contradicts its state. */
void *mp_slab_refill(MP_Slab *s, slab_class *k, size_t requested);

/** Gives the `count` oldest slots of class `k`'s cache back to their slabs
 * (L0 bit set; a slab may change state) and returns how many stay
 * cached. */
uint32_t mp_slab_flush_cache(MP_Slab *s, slab_class *k, uint32_t count);

/** Moves a FREE hand to its class's cache, then gives every class's cached
 * slots back to their slabs. */
void mp_slab_flush_caches(MP_Slab *s);

/** What free() does when a slab's until_event runs out: a FULL slab joins
 * the partial list, an emptied PARTIAL slab becomes its class's spare or
 * goes back to the pool, the active slab's counter starts over. */
void mp_slab_free_event(MP_Slab *s, slab_desc *d);
/** Points class `k`'s cursor at L0 word `w` of slab `idx`. */
void mp_slab_set_cursor(MP_Slab *s, slab_class *k, uint32_t idx, uint32_t w);
/** Takes the PARTIAL slab `d` of class `k` off the class's partial list. */
void mp_slab_unlink_partial(MP_Slab *s, slab_class *k, slab_desc *d);

/* ------------------------------------------------ slab.c, lock held */

/** MP_OK and the slab and slot when `ptr` starts a live slot, else why not. */
MP_Status mp_slab_locate(const MP_Slab *s, const void *ptr, uint32_t *idx_out, uint32_t *slot_out);
/** Frees the live slot (idx, slot) straight into its slab's bitmap (no
 * cache): a slab that empties becomes its class's spare or goes back to the
 * pool at once. */
void mp_slab_give_back_slot(MP_Slab *s, uint32_t idx, uint32_t slot);

/* --------------------------------------------- slab_place.c, compaction */

/** Gives every class's cached freed slots back to their slabs, so the slabs'
 * bitmaps show every free slot and a slab with no live slot is released. */
void mp_slab_compact_prepare(MP_Slab *s);

/** Moves the live slot at `ptr` into a free slot of slab `dst_idx`, which
 * must be assigned to the same class (ACTIVE or PARTIAL; a FULL one has no
 * room), copying `copy_bytes`; the old slot goes straight back to its slab.
 * `*moved_to` is the new slot, or `ptr` when `dst_idx` has no free slot.
 * Requested size is kept; alloc and free counts do not change (the move
 * counts as a realloc move). MP_ERR_INVALID_ADDRESS if `ptr` is not a live
 * slot, MP_ERR_INVALID_ARGUMENT for a slab of another class (nothing
 * changed). O(slots / 64) for the search in the destination. */
MP_Status mp_slab_move_into(MP_Slab *s, void *ptr, uint32_t dst_idx, size_t copy_bytes, void **moved_to);

#endif /* MP_SLAB_INTERNAL_H */
