/*
 * fitlist_meta.c - the out-of-band block metadata of the fit-list allocator
 * that is not inline in fitlist_internal.h: the slow paths of the summarised
 * block-start bitmap, the escape table, and the scan of free blocks from the
 * bitmaps alone.
 *
 * Block starts: a bit per granule in the groups (plus the sentinel bit at
 * granule_count); bit w of summary level 0 is set iff group w has a start,
 * bit i of level k+1 iff word i of level k is non-zero. The next (previous)
 * start is searched in the current group first; only when that fails does
 * the search climb to the first level with a set bit on the wanted side and
 * descend again: O(levels) whatever the distance, so the size of a 100 MiB
 * block costs what a 16-byte one does. Groups are zeroed lazily, as carving
 * reaches them (fl_prepare_slow).
 *
 * Escape table: open addressing over a power-of-two array, linear probing,
 * deletion by backward shift (no tombstones), load at most one half. Keys are
 * granule indices + 1 in the high 32 bits of a slot (0 marks an empty slot),
 * the info in the low bits. A growable table (heap metadata) starts empty and
 * doubles; a create_in table has a fixed size and refuses when half full.
 */
#include "fitlist_internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------- bitset search */

size_t fl_next_start_slow(const MP_FitList *f, size_t group) {
    size_t pos = group; /* a bit index at summary level k, i.e. a word index one level down */
    unsigned k = 0;
    for (;; k++) {
        if (k >= f->summary_levels || (pos >> 6) >= f->summary_words[k]) return FL_NONE;
        uint64_t m = f->summary[k][pos >> 6] & (~(uint64_t)0 << (pos & 63));
        if (m != 0) {
            pos = (pos & ~(size_t)63) + (size_t)__builtin_ctzll(m);
            break;
        }
        pos = (pos >> 6) + 1;
    }
    while (k > 0) {
        k--;
        pos = (pos << 6) + (size_t)__builtin_ctzll(f->summary[k][pos]);
    }
    return (pos << 6) + (size_t)__builtin_ctzll(f->groups[pos].starts);
}

size_t fl_prev_start_slow(const MP_FitList *f, size_t group) {
    if (group == 0) return FL_NONE;
    size_t pos = group - 1;
    unsigned k = 0;
    for (;; k++) {
        if (k >= f->summary_levels) return FL_NONE;
        uint64_t m = f->summary[k][pos >> 6] & (~(uint64_t)0 >> (63 - (pos & 63)));
        if (m != 0) {
            pos = (pos & ~(size_t)63) + 63 - (size_t)__builtin_clzll(m);
            break;
        }
        if ((pos >> 6) == 0) return FL_NONE;
        pos = (pos >> 6) - 1;
    }
    while (k > 0) {
        k--;
        pos = (pos << 6) + 63 - (size_t)__builtin_clzll(f->summary[k][pos]);
    }
    return (pos << 6) + 63 - (size_t)__builtin_clzll(f->groups[pos].starts);
}

void fl_prepare_slow(MP_FitList *f, size_t groups) {
    if (groups > f->end_groups) groups = f->end_groups;
    if (groups <= f->groups_ready) return;
    memset(&f->groups[f->groups_ready], 0, (groups - f->groups_ready) * sizeof(fl_group));
    f->groups_ready = (uint32_t)groups;
}

/* ------------------------------------------------------------ escape table */

MP_INLINE size_t esc_home(const fl_escapes *e, size_t g) {
    return (size_t)(((uint64_t)g * 0x9E3779B97F4A7C15ull) >> 32) & (e->capacity - 1u);
}

MP_INLINE uint64_t esc_key(size_t g) { return (uint64_t)(g + 1) << 32; }

/* The slot holding g, or the empty slot where it would go. */
static size_t esc_slot(const fl_escapes *e, size_t g) {
    size_t i = esc_home(e, g);
    while (e->slots[i] != 0 && (e->slots[i] & ~(uint64_t)0xFFFFFFFFu) != esc_key(g)) i = (i + 1) & (e->capacity - 1u);
    return i;
}

bool fl_escape_find(const fl_escapes *e, size_t g, unsigned *info) {
    if (e->count == 0) return false;
    uint64_t s = e->slots[esc_slot(e, g)];
    if (s == 0) return false;
    *info = (unsigned)(s & 0xFFFFFFFFu);
    return true;
}

bool fl_escape_reserve(fl_escapes *e) {
    if ((size_t)(e->count + 1u) * 2 <= e->capacity) return true;
    if (!e->growable || e->capacity >= (1u << 30)) return false;
    uint32_t capacity = e->capacity ? e->capacity * 2 : 16;
    uint64_t *slots = calloc(capacity, sizeof(uint64_t));
    if (slots == NULL) return false;
    fl_escapes grown = {slots, capacity, 0, true};
    for (uint32_t i = 0; i < e->capacity; i++) {
        uint64_t s = e->slots[i];
        if (s == 0) continue;
        grown.slots[esc_slot(&grown, (size_t)(s >> 32) - 1)] = s;
        grown.count++;
    }
    free(e->slots);
    *e = grown;
    return true;
}

void fl_escape_put(fl_escapes *e, size_t g, unsigned info) {
    size_t i = esc_slot(e, g);
    if (e->slots[i] == 0) e->count++;
    e->slots[i] = esc_key(g) | info;
}

void fl_escape_remove(fl_escapes *e, size_t g) {
    if (e->count == 0) return;
    size_t i = esc_slot(e, g), mask = e->capacity - 1u;
    if (e->slots[i] == 0) return;
    /* Pull later entries of the probe run back over the hole unless that
     * would move one before its home slot. */
    for (size_t j = (i + 1) & mask; e->slots[j] != 0; j = (j + 1) & mask) {
        size_t home = esc_home(e, (size_t)(e->slots[j] >> 32) - 1);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            e->slots[i] = e->slots[j];
            i = j;
        }
    }
    e->slots[i] = 0;
    e->count--;
}

void fl_escape_clear(fl_escapes *e) {
    if (e->count != 0) memset(e->slots, 0, (size_t)e->capacity * sizeof(uint64_t));
    e->count = 0;
}

int fl_escape_visit(const fl_escapes *e, int (*fn)(size_t g, unsigned info, void *ctx), void *ctx) {
    for (uint32_t i = 0; i < e->capacity; i++) {
        if (e->slots[i] == 0) continue;
        int r = fn((size_t)(e->slots[i] >> 32) - 1, (unsigned)(e->slots[i] & 0xFFFFFFFFu), ctx);
        if (r != 0) return r;
    }
    return 0;
}

/* ------------------------------------------------------------- free blocks */

int fl_scan_free(const MP_FitList *f, int (*fn)(uint32_t start, uint32_t size, void *ctx), void *ctx) {
    for (size_t w = 0; w < f->group_count; w++) {
        if (w == f->groups_ready) w = f->end_groups; /* nothing in between */
        /* A free block's first granule starts a block and is a free end. */
        for (uint64_t m = f->groups[w].starts & f->groups[w].free_ends; m != 0; m &= m - 1) {
            size_t g = (w << 6) + (size_t)__builtin_ctzll(m);
            int r = fn((uint32_t)g, (uint32_t)fl_block_size(f, g), ctx);
            if (r != 0) return r;
        }
    }
    return 0;
}

static int fl_note_largest(uint32_t start, uint32_t size, void *ctx) {
    (void)start;
    size_t *largest = ctx;
    if (size > *largest) *largest = size;
    return 0;
}

size_t fl_largest_free(const MP_FitList *f) {
    /* Tightening first fit's bounds changes no answer: logically const. */
    if (f->unindexed == 0) return mp_fit_index_largest(&((MP_FitList *)f)->index);
    size_t largest = 0;
    fl_scan_free(f, fl_note_largest, &largest);
    return largest;
}
