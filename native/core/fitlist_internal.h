/*
 * fitlist_internal.h - the fit-list control block and its out-of-band block
 * metadata (bitmaps, info nibbles, escape table), shared by fitlist.c
 * (placement, alloc, free), fitlist_meta.c (metadata codecs) and
 * fitlist_inspect.c (stats, walk, check, trim). Layout and invariants: see
 * fitlist.c. Never installed.
 */
#ifndef MP_FITLIST_INTERNAL_H
#define MP_FITLIST_INTERNAL_H

#include "fitlist_tree.h"
#include "mp_internal.h"

#define FL_GRANULE_BYTES 16u
#define FL_GRANULE_SHIFT 4u
/* Largest region (32 GiB): granule indices and sizes stay in 31 bits. */
#define FL_MAX_GRANULES (1u << 31)
/* Candidates tried for an exact aligned fit before the padded search. */
#define FL_ALIGNED_TRIES 16
/* Summary levels over the block-start words: 2^25 + 1 groups summarise to
 * one word in 5. */
#define FL_SUMMARY_LEVELS 5
#define FL_NONE SIZE_MAX

/* Info nibbles of a used block [g, g + n): nibble g holds its slack (usable
 * minus requested bytes, 0..15); for n >= 2 nibble g + 1 holds log2 of its
 * alignment minus 4 (0..14), or FL_ALIGN_ESCAPED. What does not fit (n == 1
 * with a zero-byte request or an alignment above 16, or an alignment of
 * 2^19 or more) lives in the escape table. */
#define FL_ALIGN_ESCAPED 15u
#define FL_ESC_SLACK_MASK 0x1Fu /* escape info: slack in bits 0-4 ... */
#define FL_ESC_ALIGN_SHIFT 5u   /* ... log2 of the alignment in bits 5-10 */

typedef enum fl_region_kind {
    FL_REGION_MAPPED = 0, /* mapped by us: unmapped on destroy, trim releases pages */
    FL_REGION_CALLER = 1, /* cfg->region: caller memory, metadata from malloc */
    FL_REGION_INSIDE = 2  /* create_in: everything inside caller memory */
} fl_region_kind;

/* The metadata of 64 granules, in one place so that looking at a block
 * touches one cache line or two. */
typedef struct fl_group {
    uint64_t starts;    /* bit i: a block starts at granule 64w + i */
    uint64_t free_ends; /* bit i: the first or last granule of a free block */
    uint8_t info[32];   /* a nibble per granule, meaningful in used blocks */
} fl_group;

/* Open-addressing table (linear probing, backward-shift deletion) of the
 * used blocks whose info does not fit their nibbles. A slot is
 * (granule + 1) << 32 | info, 0 when empty; at most half the slots are used. */
typedef struct fl_escapes {
    uint64_t *slots;
    uint32_t capacity; /* a power of two, or 0 before the first growth */
    uint32_t count;
    bool growable;     /* slots come from malloc and double on demand */
} fl_escapes;

struct MP_FitList {
    uint8_t *base;           /* first granule, 16-byte aligned */
    uint32_t granule_count;  /* granules in the region */
    uint32_t group_count;    /* groups covering granule_count + 1 bits (the sentinel) */
    /* Groups are zeroed lazily: [0, groups_ready) and [end_groups, group_count)
     * are initialised; the ones between lie inside the last free block, hold
     * no bit and are read by nobody (see fl_prepare). */
    uint32_t groups_ready;
    uint32_t end_groups;
    MP_FitPolicy policy;
    uint32_t flags;
    fl_region_kind region_kind;
    fl_group *groups;
    uint64_t *summary[FL_SUMMARY_LEVELS]; /* level 0 bit w: groups[w].starts != 0; level k+1 bit w: word w of level k != 0 */
    uint32_t summary_words[FL_SUMMARY_LEVELS];
    unsigned summary_levels;
    mp_fit_index index;      /* the free blocks (all of them unless unindexed > 0) */
    fl_escapes escapes;
    uint32_t free_blocks;    /* free blocks in the region */
    uint32_t unindexed;      /* free blocks the index had no node for */
    uint32_t rebuild_below;  /* with unindexed > 0: rebuild once free_blocks drops below */
    void *metadata_alloc;    /* malloc'd block holding this struct, or NULL */
    MP_HeapStats stats;
    mp_lock lock;
};

/* ------------------------------------------------------------- small helpers */

MP_INLINE void fl_lock(const MP_FitList *f) {
    if (f->flags & MP_FLAG_THREAD_SAFE) mp_lock_acquire(&((MP_FitList *)f)->lock);
}

MP_INLINE void fl_unlock(const MP_FitList *f) {
    if (f->flags & MP_FLAG_THREAD_SAFE) mp_lock_release(&((MP_FitList *)f)->lock);
}

MP_INLINE uint8_t *fl_ptr(const MP_FitList *f, size_t g) { return f->base + (g << FL_GRANULE_SHIFT); }

MP_INLINE uint64_t fl_bitmask(size_t g) { return (uint64_t)1 << (g & 63); }

MP_INLINE bool fl_is_start(const MP_FitList *f, size_t g) { return (f->groups[g >> 6].starts >> (g & 63)) & 1u; }

MP_INLINE bool fl_is_free_end(const MP_FitList *f, size_t g) {
    return (f->groups[g >> 6].free_ends >> (g & 63)) & 1u;
}

MP_INLINE void fl_free_end_set(MP_FitList *f, size_t g) { f->groups[g >> 6].free_ends |= (uint64_t)1 << (g & 63); }

MP_INLINE void fl_free_end_clear(MP_FitList *f, size_t g) {
    f->groups[g >> 6].free_ends &= ~((uint64_t)1 << (g & 63));
}

MP_INLINE void fl_start_set(MP_FitList *f, size_t g) {
    uint64_t *w = &f->groups[g >> 6].starts, old = *w;
    *w = old | (uint64_t)1 << (g & 63);
    if (old != 0) return;
    size_t i = g >> 6;
    for (unsigned k = 0; k < f->summary_levels; k++, i >>= 6) {
        uint64_t *s = &f->summary[k][i >> 6], was = *s;
        *s = was | (uint64_t)1 << (i & 63);
        if (was != 0) return;
    }
}

MP_INLINE void fl_start_clear(MP_FitList *f, size_t g) {
    uint64_t *w = &f->groups[g >> 6].starts;
    *w &= ~((uint64_t)1 << (g & 63));
    if (*w != 0) return;
    size_t i = g >> 6;
    for (unsigned k = 0; k < f->summary_levels; k++, i >>= 6) {
        uint64_t *s = &f->summary[k][i >> 6];
        *s &= ~((uint64_t)1 << (i & 63));
        if (*s != 0) return;
    }
}

size_t fl_next_start_slow(const MP_FitList *f, size_t group);
size_t fl_prev_start_slow(const MP_FitList *f, size_t group);
void fl_prepare_slow(MP_FitList *f, size_t groups);

/** The first block start at or after granule i (i <= granule_count; the
 * sentinel bit makes it exist). */
MP_INLINE size_t fl_next_start(const MP_FitList *f, size_t i) {
    uint64_t m = f->groups[i >> 6].starts & (~(uint64_t)0 << (i & 63));
    if (MP_LIKELY(m != 0)) return (i & ~(size_t)63) + (size_t)__builtin_ctzll(m);
    return fl_next_start_slow(f, (i >> 6) + 1);
}

/** The last block start at or before granule i (granule 0 always starts one). */
MP_INLINE size_t fl_prev_start(const MP_FitList *f, size_t i) {
    uint64_t m = f->groups[i >> 6].starts & (~(uint64_t)0 >> (63 - (i & 63)));
    if (MP_LIKELY(m != 0)) return (i & ~(size_t)63) + 63 - (size_t)__builtin_clzll(m);
    return fl_prev_start_slow(f, i >> 6);
}

/** Granules of the block starting at g. */
MP_INLINE size_t fl_block_size(const MP_FitList *f, size_t g) { return fl_next_start(f, g + 1) - g; }

/** Makes the groups up to granule g's and the next one initialised before a
 * block boundary is written at g (the next one: fl_next_start(g + 1) reads
 * it). Only carving the last free block moves this frontier. */
MP_INLINE void fl_prepare(MP_FitList *f, size_t g) {
    size_t groups = (g >> 6) + 2;
    if (MP_UNLIKELY(groups > f->groups_ready)) fl_prepare_slow(f, groups);
}

/** Whether granule g lies in an initialised group. */
MP_INLINE bool fl_ready(const MP_FitList *f, size_t g) {
    return (g >> 6) < f->groups_ready || (g >> 6) >= f->end_groups;
}

MP_INLINE unsigned fl_nib(const MP_FitList *f, size_t g) {
    return (f->groups[g >> 6].info[(g & 63) >> 1] >> ((g & 1) << 2)) & 15u;
}

MP_INLINE void fl_nib_set(MP_FitList *f, size_t g, unsigned v) {
    uint8_t *b = &f->groups[g >> 6].info[(g & 63) >> 1];
    unsigned shift = (unsigned)(g & 1) << 2;
    *b = (uint8_t)((*b & ~(15u << shift)) | (v << shift));
}

/* ----------------------------------------------------------- block info */

typedef struct fl_info {
    unsigned slack;      /* usable - requested bytes, 0..16 */
    unsigned align_log2; /* 4..63 */
} fl_info;

/** Whether the info of a used block of n granules needs the escape table. */
MP_INLINE bool fl_info_escapes(size_t n, fl_info in) {
    return n == 1 ? (in.slack > 15 || in.align_log2 > FL_GRANULE_SHIFT)
                  : in.align_log2 - FL_GRANULE_SHIFT >= FL_ALIGN_ESCAPED;
}

/** Finds the escape info of the block at g; false if it has none. */
bool fl_escape_find(const fl_escapes *e, size_t g, unsigned *info);
/** Makes room for one more entry (a growable table doubles); false if none. */
bool fl_escape_reserve(fl_escapes *e);
/** Adds or overwrites the entry of g (room reserved beforehand). */
void fl_escape_put(fl_escapes *e, size_t g, unsigned info);
/** Removes the entry of g if present. */
void fl_escape_remove(fl_escapes *e, size_t g);
/** Empties the table. */
void fl_escape_clear(fl_escapes *e);
/** Calls fn(g, info, ctx) for every entry; stops at a non-zero result. */
int fl_escape_visit(const fl_escapes *e, int (*fn)(size_t g, unsigned info, void *ctx), void *ctx);

/** Info of the used block [g, g + n). */
MP_INLINE fl_info fl_info_read(const MP_FitList *f, size_t g, size_t n) {
    fl_info in = {fl_nib(f, g), FL_GRANULE_SHIFT};
    unsigned esc;
    if (n >= 2) {
        unsigned a = fl_nib(f, g + 1);
        if (MP_LIKELY(a != FL_ALIGN_ESCAPED)) {
            in.align_log2 = FL_GRANULE_SHIFT + a;
            return in;
        }
    } else if (MP_LIKELY(f->escapes.count == 0)) {
        return in;
    }
    if (fl_escape_find(&f->escapes, g, &esc)) {
        in.slack = esc & FL_ESC_SLACK_MASK;
        in.align_log2 = esc >> FL_ESC_ALIGN_SHIFT;
    }
    return in;
}

/** Records the info of the used block [g, g + n); an escaping one needs a
 * reserved escape slot. */
MP_INLINE void fl_info_write(MP_FitList *f, size_t g, size_t n, fl_info in) {
    bool esc = fl_info_escapes(n, in);
    fl_nib_set(f, g, in.slack & 15u);
    if (n >= 2) fl_nib_set(f, g + 1, esc ? FL_ALIGN_ESCAPED : in.align_log2 - FL_GRANULE_SHIFT);
    if (esc) fl_escape_put(&f->escapes, g, in.slack | in.align_log2 << FL_ESC_ALIGN_SHIFT);
}

/** Forgets the info of the used block [g, g + n) (its escape entry). */
MP_INLINE void fl_info_drop(MP_FitList *f, size_t g, size_t n) {
    if (n >= 2 ? fl_nib(f, g + 1) == FL_ALIGN_ESCAPED : f->escapes.count != 0)
        fl_escape_remove(&f->escapes, g);
}

/* ----------------------------------------------------------- free blocks */

/** Calls fn(start, size, ctx) for every free block in address order, found
 * from the bitmaps alone (O(granules / 64 + free blocks)); stops at a
 * non-zero result and returns it. */
int fl_scan_free(const MP_FitList *f, int (*fn)(uint32_t start, uint32_t size, void *ctx), void *ctx);
/** Largest free block in granules (from the index, or a scan when some free
 * blocks are unindexed). */
size_t fl_largest_free(const MP_FitList *f);

/* ------------------------------------------------- index bookkeeping */

/* Index upkeep that tolerates a full fixed node pool: a free block the index
 * cannot take is counted unindexed (see fitlist.c). */
MP_INLINE void fl_note_unindexed(MP_FitList *f) {
    if (f->unindexed++ == 0) f->rebuild_below = f->free_blocks - f->free_blocks / 8;
}

MP_INLINE void fl_ix_add(MP_FitList *f, size_t start, size_t size) {
    if (!mp_fit_index_insert(&f->index, (uint32_t)start, (uint32_t)size)) fl_note_unindexed(f);
}

MP_INLINE void fl_ix_del(MP_FitList *f, size_t start, size_t size) {
    if (!mp_fit_index_remove(&f->index, (uint32_t)start, (uint32_t)size) && f->unindexed > 0) f->unindexed--;
}

MP_INLINE void fl_ix_move(MP_FitList *f, size_t start, size_t size, size_t new_start, size_t new_size) {
    unsigned r = mp_fit_index_replace(&f->index, (uint32_t)start, (uint32_t)size, (uint32_t)new_start,
                                      (uint32_t)new_size);
    if (!(r & MP_FIT_OLD_FOUND) && f->unindexed > 0) f->unindexed--;
    if (!(r & MP_FIT_NEW_ADDED)) fl_note_unindexed(f);
}
/* ---------------------------------------------- fitlist_place.c, compaction */

/** Slides the used block at `ptr` down over the free block right below it by
 * the largest multiple of `align` (a power of two; 16 and below: any
 * distance) that fits, and copies its first `copy_bytes`; the granules it
 * leaves merge with a free right neighbour. `*moved_to` is the new address,
 * or `ptr` if nothing is free right below. Size, info and counters
 * unchanged. MP_ERR_INVALID_ADDRESS if `ptr` starts no used block (nothing
 * changed). O(log free blocks) plus the copy. */
MP_Status mp_fitlist_slide_down(MP_FitList *f, void *ptr, size_t align, size_t copy_bytes, void **moved_to);

#endif /* MP_FITLIST_INTERNAL_H */
