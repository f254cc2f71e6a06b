/*
 * tlsf_internal.h - the TLSF control block, the codec of the in-band block
 * headers, free-list links and footers, and the free-list upkeep, shared by
 * tlsf.c (allocation), tlsf_inspect.c (stats, walk, check, trim) and
 * tlsf_place.c (compaction). See tlsf.c for the layout.
 */
#ifndef MP_TLSF_INTERNAL_H
#define MP_TLSF_INTERNAL_H

#include "mp_internal.h"

#define TLSF_GRANULE_LOG2 4u
#define TLSF_HDR_BYTES 16u
/** A free block keeps its two 32-bit links (granule indices) right after its
 * header and an 8-byte footer (its size) in its last bytes. */
#define TLSF_NEXT_OFFSET 16u
#define TLSF_PREV_OFFSET 20u
#define TLSF_FOOTER_BYTES 8u
#define TLSF_MIN_BLOCK_BYTES 32u
/** Block sizes and link indices are 32-bit granule counts, so a region holds
 * at most 2^32 - 1 granules (64 GiB). */
#define TLSF_MAX_REGION_BYTES ((uint64_t)0xFFFFFFFFu << TLSF_GRANULE_LOG2)
#define TLSF_MAX_FL 32u

/* The first header word: size in granules (low 32 bits) and the flags. */
#define TLSF_W_SIZE_MASK 0xFFFFFFFFull
#define TLSF_W_FREE (1ull << 32)
#define TLSF_W_PREV_FREE (1ull << 33)
#define TLSF_W_ALIGN_SHIFT 34u /* 6 bits: log2 of the alignment asked for, 0 = 16 */
#define TLSF_W_ALIGN_MASK (0x3Full << TLSF_W_ALIGN_SHIFT)
#define TLSF_W_SLACK_SHIFT 40u /* 12 bits: usable bytes - requested bytes (see tlsf_cache_pop) */
#define TLSF_W_SLACK_MASK (0xFFFull << TLSF_W_SLACK_SHIFT)
/* A block held by the front cache: free for every observer, used for its
 * neighbours and the lists (nothing merges with it, it is in no list). */
#define TLSF_W_CACHED (1ull << 52)
/* A used block that is a small-object span (tlsf_small.c): its payload is
 * cut into slots; nothing frees, reallocates or measures it as a block. */
#define TLSF_W_SPAN (1ull << 53)

/* Small-object spans (tlsf_small.c). A span is a used block whose payload
 * starts on a TLSF_SPAN_BYTES boundary and holds TLSF_SPAN_BYTES - 16 bytes
 * (the next block's header ends the chunk), cut into equal slots of one
 * class; which slots are free is a bitmap outside the heap. */
#define TLSF_SPAN_LOG2 14u
#define TLSF_SPAN_BYTES ((size_t)1 << TLSF_SPAN_LOG2)
#define TLSF_SPAN_AREA (TLSF_SPAN_BYTES - TLSF_HDR_BYTES)
#define TLSF_SPAN_WORDS 16u /* bitmap words: one bit per 16-byte slot of the area */
#define TLSF_SMALL_CLASSES 24u
#define TLSF_SMALL_MAX 512u

/* One per chunk of the heap (a TLSF_SPAN_BYTES-aligned stretch), meaningful
 * while the chunk holds a span (small->map[chunk] != 0). */
typedef struct tlsf_span {
    uint32_t next, prev; /* chunk + 1 of the neighbours in the class's list; 0 = none */
    uint16_t used;       /* slots handed out */
    uint16_t low;        /* no free bit in a word below this one */
    uint8_t cls;         /* class index */
    uint8_t listed;      /* TLSF_SPAN_FULL, _LISTED (in its class's list: has a free
                            slot) or _PARKED (empty, in the parked list) */
    uint16_t slot;       /* the class's slot bytes, capacity and reciprocal, copied */
    uint16_t capacity;   /* here so the fast paths read one line, not three tables */
    uint32_t recip;
    uint64_t free_bits[TLSF_SPAN_WORDS]; /* bit i: slot i is free; none past the capacity */
} tlsf_span;

enum { TLSF_SPAN_FULL = 0, TLSF_SPAN_LISTED = 1, TLSF_SPAN_PARKED = 2 };

typedef struct tlsf_small {
    uint8_t *chunk_base;  /* first rounded down to TLSF_SPAN_BYTES: chunk k starts at + k * span */
    size_t chunk_count;   /* chunks from chunk_base through the sentinel */
    uint8_t *map;         /* chunk_count bytes: class + 1 of the span starting the chunk, 0 = none */
    tlsf_span *spans;     /* chunk_count descriptors */
    size_t max_bytes;     /* requests 1 .. max_bytes are small */
    size_t span_count;    /* spans taken from the heap */
    uint32_t parked;      /* chunk + 1 heading the emptied spans kept for any class (by next) */
    size_t parked_count;
    unsigned class_count; /* classes 0 .. class_count - 1 serve requests */
    uint32_t avail[TLSF_SMALL_CLASSES];     /* chunk + 1 heading the class's spans with a free slot */
    uint16_t slot_bytes[TLSF_SMALL_CLASSES];
    uint16_t capacity[TLSF_SMALL_CLASSES];  /* slots per span */
    uint32_t recip[TLSF_SMALL_CLASSES];     /* ceil(2^32 / slot_bytes): slot index by a multiply */
    uint8_t class_of[(TLSF_SMALL_MAX >> 4) + 1]; /* class of a request, by (bytes + 15) / 16 */
} tlsf_small;

/* Front cache (tlsf_cache.c): per list class of blocks under
 * TLSF_CACHE_MAX_BLOCK_BYTES, a LIFO of at most TLSF_CACHE_DEPTH freed
 * blocks, as granule indices in the control block. */
#define TLSF_CACHE_DEPTH 16u
/* Before the heap grows past its high-water mark (touched_end), the cache is
 * flushed if it holds blocks, so what it keeps from reuse does not push the
 * heap into fresh pages; then not again until the heap has grown by
 * 1/TLSF_CACHE_GROW_SHARE of the mark (grow_gate). Flushing at every growth
 * emptied the cache so often where a heap creeps up under random sizes
 * (mixed_live10k: 191 -> 283 instructions per op) that it lost its use. */
#define TLSF_CACHE_GROW_SHARE 16u
/* A take that would grow the heap past its high-water mark first scans at
 * most this many blocks of the request's own list for one that fits below
 * the mark (tlsf_find_below_mark). Good fit skips that list, as its blocks
 * may be smaller than the request, so without the scan a heap whose free
 * blocks are all of the requests' own classes grows into fresh pages
 * instead of reusing them. Growth is rare, so the scan costs little. */
#define TLSF_GROW_SCAN 8u
#define TLSF_CACHE_MAX_BLOCK_BYTES 8192u
#define TLSF_CACHE_MAX_CLASSES 160u /* list index of 8192 at sl_log2 = 5, the most */
#define TLSF_CACHE_SIZE_SLOTS (TLSF_CACHE_MAX_BLOCK_BYTES >> TLSF_GRANULE_LOG2)

/* What the fast paths (tlsf_hot.h) compare with instead of recomputing it:
 * derived from the configuration by tlsf_fast_derive (tlsf_cache.c) when an
 * instance is built, never changed, verified by check(). One compare with
 * a limit covers several conditions; a thread-safe instance has limits of 0,
 * so the same compare sends it to the locked paths. */
typedef struct tlsf_fast {
    size_t alloc_sizes;  /* requests of 1 .. alloc_sizes bytes are valid and of a cached class */
    uintptr_t free_base; /* first + 16: the payload of the first block */
    size_t free_span;    /* granules from first to the sentinel */
    size_t free_sizes;   /* block sizes 32 .. 32 + free_sizes - 1 are of a cached class */
    /* class_start[c]: the smallest block size of list (cache class) c, for
     * c <= cache_classes; SIZE_MAX past it. One indexed compare per bound. */
    size_t class_start[TLSF_CACHE_MAX_CLASSES + 2];
    /* checks_waste[c]: a block of class c taken for a request of class c or
     * c - 1 may waste more than tlsf_cache_pop allows (never at sl_log2 5). */
    uint8_t checks_waste[TLSF_CACHE_MAX_CLASSES + 1];
    /* The list index (cache class) of each block size under 8 KiB, by
     * granules, sizes under 32 as 32: one load instead of a log2 and two
     * variable shifts. */
    uint8_t class_of[TLSF_CACHE_SIZE_SLOTS];
} tlsf_fast;

/* MP_Tlsf.flags bit, never accepted from a config: the instance is the
 * single backend of a managed pool, which keeps the block counters itself
 * and allocates and frees only through tlsf_alloc_owned / tlsf_free_owned
 * (tlsf_hot.h). Those leave bytes_in_use, bytes_requested, the peak and the
 * alloc and free counts at 0 (failed allocations are still counted), and
 * mp_tlsf_check does not compare them with the heap: mp_pool_check compares
 * the heap (tlsf_check_counting) with the pool's counters instead. */
#define TLSF_FLAG_OWNER_COUNTS (1u << 31)

/* What every operation reads and nothing changes between resets (the key
 * changes on reset), kept together at the start of the control block. */
typedef struct tlsf_env {
    uint64_t key;        /* secret multiplier of the header tags; odd */
    uintptr_t link_base; /* first - 16: link index i names the block at link_base + 16 i */
    uint8_t *first;      /* first block header: region rounded up to 16 */
    uint8_t *sentinel;   /* header of the zero-size used block that ends the heap */
    uint32_t link_span;  /* link indices of blocks that can be free: 1 .. link_span */
    unsigned sl_log2;    /* log2 of the second-level list count */
    unsigned fl_shift;   /* sizes below 1 << fl_shift map linearly to first level 0 */
    size_t linear_below; /* 1 << fl_shift: one compare per size mapped, no shift */
} tlsf_env;

struct MP_Tlsf {
    tlsf_env env;
    uint32_t flags;
    unsigned fl_count;               /* first-level lists used by this region */
    size_t max_request_bytes;        /* largest request that could ever fit */
    uint8_t *touched_end;            /* no block has ever reached past this address (the heap's
                                        high-water mark): a take beyond it grows the footprint */
    uint8_t *grow_gate;              /* a take reaching past both flushes the front cache first */
    MP_HeapStats stats;              /* live_block_count is derived when read: see tlsf_live_blocks */
    uint64_t fl_bitmap;              /* bit fl set iff sl_bitmap[fl] != 0 */
    uint32_t sl_bitmap[TLSF_MAX_FL]; /* bit sl set iff the list (fl, sl) is non-empty */
    /* Front cache; cache_classes == 0: off. */
    unsigned cache_classes;     /* classes 0 .. cache_classes - 1 are cached */
    size_t cache_room_bytes;    /* budget - block bytes (headers included) of cached blocks: tlsf_cache_bytes */
    size_t cache_budget_bytes;  /* the cached blocks' bytes never exceed it */
    uint8_t **heads;            /* fl_count << sl_log2 list heads (see tlsf.c on links), after the slots */
    /* cache_count[c] is 0 for every c >= cache_classes, one entry past the
     * last class included: a pop may look at class c + 1 without a bound test. */
    uint8_t cache_count[TLSF_CACHE_MAX_CLASSES + 1];
    tlsf_fast fast;
    /* Small-object spans; NULL: off. small_fast is small->max_bytes, or 0
     * for a thread-safe instance (its requests take the locked path). */
    tlsf_small *small;
    size_t small_fast;
    /* Cold. */
    uint64_t retired_block_count; /* live blocks dropped by reset */
    uint8_t *region;              /* the managed bytes as given (mp_tlsf_base) */
    size_t blocks_bytes;          /* sentinel - first */
    bool owns_region;             /* region was mapped by mp_os_map */
    bool owns_control;            /* control block came from malloc */
    bool lists_detached;          /* between mp_tlsf_pack_begin and _end (tlsf_place.c) */
    mp_lock lock;
    /* Class c: cache_slots[c * TLSF_CACHE_DEPTH + i], i < cache_count[c]; at
     * a fixed offset, so a fast path loads a slot without loading a base. */
    uint32_t cache_slots[];
};

/** Block bytes (headers included) of the cached blocks: kept as the room
 * left in the budget, which is what a free compares with. */
MP_INLINE size_t tlsf_cache_bytes(const MP_Tlsf *t) { return t->cache_budget_bytes - t->cache_room_bytes; }

/** After a flush of the front cache failed (a cached block is damaged and
 * stays cached): takes may grow the heap with blocks still cached. The
 * high-water mark goes to the sentinel, where it stays an upper bound. */
MP_INLINE void tlsf_cache_flush_failed(MP_Tlsf *t) { t->touched_end = t->grow_gate = t->env.sentinel; }

/** Blocks allocated and not yet freed: one counter fewer to keep per operation. */
MP_INLINE size_t tlsf_live_blocks(const MP_Tlsf *t) {
    return (size_t)(t->stats.alloc_count - t->stats.free_count - t->retired_block_count);
}

/* A header, decoded (not validated). */
typedef struct tlsf_hdr {
    uint32_t size_granules; /* whole block, header included; 0 only for the sentinel */
    uint32_t flags;         /* the upper half of the first word */
} tlsf_hdr;

/* Metadata bytes stay poisoned for sanitizers; the allocator opens them only
 * for its own writes (valgrind: mark defined, the values are ours). */
#if defined(MP_ASAN)
#define TLSF_META_OPEN(p, n) MP_UNPOISON((p), (n))
#elif defined(MP_WITH_VALGRIND)
#define TLSF_META_OPEN(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define TLSF_META_OPEN(p, n) ((void)(p), (void)(n))
#endif
#define TLSF_META_CLOSE(p, n) MP_POISON((p), (n))

/** Copies the `n` bytes (8 or 16) at the 8-aligned `src` (a header, link or
 * footer word) to `dst`. The place may turn out to be live user data (an
 * interior pointer, a corrupted link), so its sanitizer state is restored
 * exactly: poisoned stays poisoned, accessible stays accessible (for
 * valgrind, with its definedness). Release builds: a plain load. */
MP_INLINE void tlsf_peek(void *dst, const uint8_t *src, size_t n) {
#if defined(MP_ASAN)
    bool poisoned = __asan_region_is_poisoned((void *)(uintptr_t)src, n) != NULL;
    if (poisoned) MP_UNPOISON(src, n);
    memcpy(dst, src, n);
    if (poisoned) MP_POISON(src, n);
#elif defined(MP_WITH_VALGRIND)
    uint8_t vbits[16];
    unsigned rc = VALGRIND_GET_VBITS(src, vbits, n);
    (void)VALGRIND_MAKE_MEM_DEFINED(src, n);
    memcpy(dst, src, n);
    if (rc == 1) {
        (void)VALGRIND_SET_VBITS(src, vbits, n);
    } else {
        (void)VALGRIND_MAKE_MEM_NOACCESS(src, n);
    }
#else
    memcpy(dst, src, n);
#endif
}

MP_INLINE uint64_t tlsf_peek64(const uint8_t *src) {
    uint64_t v;
    tlsf_peek(&v, src, sizeof v);
    return v;
}

/** A 32-bit field inside an 8-aligned metadata word. Sanitizers track whole
 * 8-byte words, so they see the access as one to the word. */
MP_INLINE uint32_t tlsf_peek32(const uint8_t *src) {
    uint32_t v;
#if defined(MP_ASAN) || defined(MP_WITH_VALGRIND)
    const uint8_t *word = (const uint8_t *)((uintptr_t)src & ~(uintptr_t)7);
    uint8_t bytes[8];
    tlsf_peek(bytes, word, sizeof bytes);
    memcpy(&v, bytes + (src - word), sizeof v);
#else
    memcpy(&v, src, sizeof v);
#endif
    return v;
}

/** Stores `n` bytes of metadata at `dst` (poisoned again after). A 4-byte
 * store opens the whole 8-byte word around it. */
MP_INLINE void tlsf_poke(uint8_t *dst, const void *src, size_t n) {
#if defined(MP_ASAN) || defined(MP_WITH_VALGRIND)
    uint8_t *word = (uint8_t *)((uintptr_t)dst & ~(uintptr_t)7);
    size_t open = n < 8 ? 8 : n;
    TLSF_META_OPEN(word, open);
    memcpy(dst, src, n);
    TLSF_META_CLOSE(word, open);
#else
    memcpy(dst, src, n);
#endif
}

MP_INLINE void tlsf_poke64(uint8_t *dst, uint64_t v) { tlsf_poke(dst, &v, sizeof v); }
MP_INLINE void tlsf_poke32(uint8_t *dst, uint32_t v) { tlsf_poke(dst, &v, sizeof v); }

#define TLSF_LOCK(t)                                                                                         \
    do {                                                                                                     \
        if ((t)->flags & MP_FLAG_THREAD_SAFE) mp_lock_acquire(&((MP_Tlsf *)(t))->lock);                      \
    } while (0)
#define TLSF_UNLOCK(t)                                                                                       \
    do {                                                                                                     \
        if ((t)->flags & MP_FLAG_THREAD_SAFE) mp_lock_release(&((MP_Tlsf *)(t))->lock);                      \
    } while (0)

MP_INLINE size_t tlsf_bytes(uint32_t granules) { return (size_t)granules << TLSF_GRANULE_LOG2; }
MP_INLINE uint32_t tlsf_granules(size_t bytes) { return (uint32_t)(bytes >> TLSF_GRANULE_LOG2); }

/* ----------------------------------------------------------------- headers */

/** The tag (second header word): the first word XOR the header's own
 * address XOR (free blocks only) the next link shifted into the upper half,
 * multiplied by the odd per-instance key. For a given address that is a
 * bijection of the first word and of the next link, so any change of either
 * alone (a flag, the size, the link) is always detected, as is a header
 * moved to another address or left from before a reset (new key); random
 * bytes pass with probability 2^-64, and a zeroed header never (it would
 * need a zero address). One multiply: it is computed for every header
 * touched. */
MP_INLINE uint64_t tlsf_tag(const tlsf_env *e, const uint8_t *b, uint64_t w0, uint32_t next) {
    return (w0 ^ (uint64_t)(uintptr_t)b ^ ((uint64_t)next << 32)) * e->key;
}

MP_INLINE uint32_t tlsf_next_load(const uint8_t *b) { return tlsf_peek32(b + TLSF_NEXT_OFFSET); }
MP_INLINE uint32_t tlsf_prev_load(const uint8_t *b) { return tlsf_peek32(b + TLSF_PREV_OFFSET); }

/** Loads the header at `b`; true if this instance wrote it there (the tag
 * matches, over the next link too if the header says free; *next is then
 * that link, else 0). For a block that is not the sentinel (b < sentinel):
 * the next link of a sentinel claiming to be free would lie past the heap.
 * Sizes still need their bounds checked by the caller. */
MP_INLINE bool tlsf_hdr_load_next(const tlsf_env *e, const uint8_t *b, uint64_t *w0, uint32_t *next) {
    uint64_t w[2];
    tlsf_peek(w, b, sizeof w);
    *w0 = w[0];
    *next = (w[0] & TLSF_W_FREE) ? tlsf_next_load(b) : 0;
    return tlsf_tag(e, b, w[0], *next) == w[1];
}

/** tlsf_hdr_load_next for any header, the sentinel included: a physical
 * successor or a step of a walk. */
MP_INLINE bool tlsf_hdr_load(const tlsf_env *e, const uint8_t *b, uint64_t *w0) {
    uint64_t w[2];
    tlsf_peek(w, b, sizeof w);
    *w0 = w[0];
    uint32_t next = (w[0] & TLSF_W_FREE) && b != e->sentinel ? tlsf_next_load(b) : 0;
    return tlsf_tag(e, b, w[0], next) == w[1];
}

/** Writes the header of a used block. */
MP_INLINE void tlsf_hdr_store(const tlsf_env *e, uint8_t *b, uint64_t w0) {
    uint64_t w[2] = {w0, tlsf_tag(e, b, w0, 0)};
    tlsf_poke(b, w, sizeof w);
}

/** Writes the header of a free block and its next link, which the tag covers. */
MP_INLINE void tlsf_free_hdr_store(const tlsf_env *e, uint8_t *b, uint64_t w0, uint32_t next) {
    uint64_t w[2] = {w0, tlsf_tag(e, b, w0, next)};
    tlsf_poke(b, w, sizeof w);
    tlsf_poke32(b + TLSF_NEXT_OFFSET, next);
}

/** Zeroes a header that stops being a block start: it never validates again. */
MP_INLINE void tlsf_hdr_wipe(uint8_t *b) {
    uint64_t w[2] = {0, 0};
    tlsf_poke(b, w, sizeof w);
}

MP_INLINE uint32_t tlsf_w_size(uint64_t w0) { return (uint32_t)w0; }
/* tlsf_bytes(tlsf_w_size(w0)) as two shifts: compilers turn the zero
 * extension and shift into a shift and a 64-bit mask (three instructions
 * and a register for the mask). */
MP_INLINE size_t tlsf_w_bytes(uint64_t w0) { return (size_t)((w0 << 32) >> (32 - TLSF_GRANULE_LOG2)); }

/** The header at `b` decoded without validation: for callers that hold a
 * block TLSF returned a moment ago (mp_pool reads its usable size). */
MP_INLINE tlsf_hdr tlsf_hdr_read(const uint8_t *b) {
    uint64_t w0 = tlsf_peek64(b);
    tlsf_hdr h = {tlsf_w_size(w0), (uint32_t)(w0 >> 32)};
    return h;
}

/** True if a block of `size_g` granules at `b` ends inside the heap (and is
 * not smaller than a minimum block). */
MP_INLINE bool tlsf_fits_heap(const tlsf_env *e, const uint8_t *b, uint32_t size_g) {
    return size_g >= 2u && tlsf_bytes(size_g) <= (size_t)(e->sentinel - b);
}

/** True if `addr` could be a block header of this heap (aligned, inside). */
MP_INLINE bool tlsf_in_heap(const tlsf_env *e, uintptr_t addr) {
    return (addr & 15u) == 0 && addr >= (uintptr_t)e->first && addr < (uintptr_t)e->sentinel;
}

/** Loads the header at `b` and checks it is a valid free block inside the
 * heap; *next is its (authenticated) next link. */
MP_INLINE bool tlsf_free_hdr_ok(const tlsf_env *e, const uint8_t *b, uint64_t *w0, uint32_t *next) {
    return tlsf_hdr_load_next(e, b, w0, next) && (*w0 & TLSF_W_FREE) &&
           tlsf_fits_heap(e, b, tlsf_w_size(*w0));
}

/* ------------------------------------------------------- links and footers */

/** The link index of block `b` (1 for the first block; 0 means none). */
MP_INLINE uint32_t tlsf_index_of(const tlsf_env *e, const uint8_t *b) {
    return (uint32_t)(((uintptr_t)b - e->link_base) >> TLSF_GRANULE_LOG2);
}

MP_INLINE uint8_t *tlsf_block_at(const tlsf_env *e, uint32_t index) {
    return (uint8_t *)(e->link_base + ((uintptr_t)index << TLSF_GRANULE_LOG2));
}

/** True if `index` (non-zero) names a place where a free block can start. */
MP_INLINE bool tlsf_index_ok(const tlsf_env *e, uint32_t index) { return index - 1u < e->link_span; }

MP_INLINE void tlsf_prev_store(uint8_t *b, uint32_t prev) { tlsf_poke32(b + TLSF_PREV_OFFSET, prev); }

/** The footer, the last 8 bytes of a free block ending at `end`: its size in
 * granules. Never trusted alone: the header it leads to must validate as a
 * free block of that size. */
MP_INLINE void tlsf_footer_store(uint8_t *end, uint32_t size_g) {
    tlsf_poke64(end - TLSF_FOOTER_BYTES, (uint64_t)size_g);
}

MP_INLINE uint64_t tlsf_footer_load(const uint8_t *end) { return tlsf_peek64(end - TLSF_FOOTER_BYTES); }

/* ------------------------------------------------------------ list mapping */

/** First- and second-level list of a block of `size` bytes. */
MP_INLINE void tlsf_mapping(const tlsf_env *e, size_t size, unsigned *fl, unsigned *sl) {
    if (size < e->linear_below) {
        *fl = 0;
        *sl = (unsigned)(size >> TLSF_GRANULE_LOG2);
    } else {
        unsigned l = mp_log2_floor(size);
        *fl = l - e->fl_shift + 1;
        *sl = (unsigned)(size >> (l - e->sl_log2)) ^ (1u << e->sl_log2);
    }
}

MP_INLINE unsigned tlsf_list_index(const tlsf_env *e, size_t size) {
    unsigned fl, sl;
    tlsf_mapping(e, size, &fl, &sl);
    return (fl << e->sl_log2) | sl;
}

/* ------------------------------------------------------- free-list upkeep */

/* Links. A free block's next link is covered by its header tag, so it is
 * exactly what this instance last wrote there, and list heads (in the control
 * block) are trusted: the lists themselves cannot be redirected by writes
 * into the heap. A previous link is not covered; it is only used to unlink a
 * block from the middle of its list, after checking that the block it names
 * is a valid free block whose (authenticated) next link names the block back.
 * Heads keep no previous link: popping a head (the hot case of alloc) makes
 * its successor the head without touching it, so a block is the head of its
 * list iff heads[list] names it. */

/* Pushes the free block `b` with header word w0 on the list (fl, sl): writes
 * its header (the tag covers the new next link) and links. */
MP_INLINE void tlsf_push(MP_Tlsf *t, const tlsf_env *e, uint8_t *b, uint64_t w0, unsigned fl, unsigned sl) {
    unsigned idx = (fl << e->sl_log2) | sl;
    uint8_t *head = t->heads[idx];
    uint32_t next = 0;
    if (head != NULL) {
        next = tlsf_index_of(e, head);
        tlsf_prev_store(head, tlsf_index_of(e, b));
    } else {
        t->sl_bitmap[fl] |= 1u << sl;
        t->fl_bitmap |= 1ull << fl;
    }
    tlsf_free_hdr_store(e, b, w0, next);
    t->heads[idx] = b;
}

/* Makes `next` (the authenticated next link of the current head, 0 = none)
 * the head of the list (fl, sl). */
MP_INLINE void tlsf_pop(MP_Tlsf *t, const tlsf_env *e, uint32_t next, unsigned fl, unsigned sl) {
    if (next != 0) {
        t->heads[(fl << e->sl_log2) | sl] = tlsf_block_at(e, next);
    } else {
        t->heads[(fl << e->sl_log2) | sl] = NULL;
        t->sl_bitmap[fl] &= ~(1u << sl);
        if (t->sl_bitmap[fl] == 0) t->fl_bitmap &= ~(1ull << fl);
    }
}

/* Puts the free block `b` (header word w0) in the place of the head of the
 * list (fl, sl), whose authenticated next link is `next`, in one step
 * instead of a pop and a push: the rest of the list and the bitmaps stay
 * as they are. For a block that maps to the list of a head it replaces
 * (a remainder split off it, a block merged with it). */
MP_INLINE void tlsf_replace_head(MP_Tlsf *t, const tlsf_env *e, uint8_t *b, uint64_t w0, uint32_t next,
                                 unsigned fl, unsigned sl) {
    if (next != 0) tlsf_prev_store(tlsf_block_at(e, next), tlsf_index_of(e, b));
    tlsf_free_hdr_store(e, b, w0, next);
    t->heads[(fl << e->sl_log2) | sl] = b;
}

/* True if `pi`, the previous link of the free block with index `bi`, names a
 * valid free block whose next link names `bi`; sets its header word. */
MP_INLINE bool tlsf_prev_ok(const tlsf_env *e, uint32_t pi, uint32_t bi, uint64_t *pw0) {
    uint32_t pnext;
    if (MP_UNLIKELY(!tlsf_index_ok(e, pi))) return false;
    return tlsf_free_hdr_ok(e, tlsf_block_at(e, pi), pw0, &pnext) && pnext == bi;
}

/* Removes the free block `b` (next link `next`) from its list (fl, sl). If it
 * is not the head its previous link was validated earlier in the same
 * operation (tlsf_listed_ok); links and head are read again because an
 * earlier unlink in that operation may have changed them. */
MP_INLINE void tlsf_unlink(MP_Tlsf *t, const tlsf_env *e, const uint8_t *b, unsigned fl, unsigned sl) {
    uint32_t next = tlsf_next_load(b);
    if (t->heads[(fl << e->sl_log2) | sl] == b) {
        tlsf_pop(t, e, next, fl, sl);
    } else {
        uint32_t prev = tlsf_prev_load(b);
        uint8_t *pb = tlsf_block_at(e, prev);
        tlsf_free_hdr_store(e, pb, tlsf_peek64(pb), next);
        if (next != 0) tlsf_prev_store(tlsf_block_at(e, next), prev);
    }
}

/* Validates the list position of the free block `b` of `size` bytes (header
 * and next link validated) and sets its list: the head, or a block whose
 * previous link passes tlsf_prev_ok. */
MP_INLINE bool tlsf_listed_ok(const MP_Tlsf *t, const tlsf_env *e, const uint8_t *b, size_t size,
                              unsigned *fl, unsigned *sl) {
    uint64_t pw0;
    tlsf_mapping(e, size, fl, sl);
    return t->heads[(*fl << e->sl_log2) | *sl] == b ||
           tlsf_prev_ok(e, tlsf_prev_load(b), tlsf_index_of(e, b), &pw0);
}

/* ------------------------------------------------------------ used blocks */

/* Finds the used block whose payload starts at `ptr`: INVALID_ADDRESS unless
 * a valid header of a block inside the heap sits right before it,
 * DOUBLE_FREE if that block is free or cached. */
MP_INLINE MP_Status tlsf_used_block(const tlsf_env *e, const void *ptr, uint8_t **b_out, uint64_t *w0) {
    uintptr_t a = (uintptr_t)ptr;
    if (MP_UNLIKELY(a < TLSF_HDR_BYTES || !tlsf_in_heap(e, a - TLSF_HDR_BYTES)))
        return MP_ERR_INVALID_ADDRESS;
    uint8_t *b = (uint8_t *)(a - TLSF_HDR_BYTES);
    uint32_t next;
    if (MP_UNLIKELY(!tlsf_hdr_load_next(e, b, w0, &next) || !tlsf_fits_heap(e, b, tlsf_w_size(*w0))))
        return MP_ERR_INVALID_ADDRESS;
    if (MP_UNLIKELY(*w0 & (TLSF_W_FREE | TLSF_W_CACHED))) return MP_ERR_DOUBLE_FREE;
    *b_out = b;
    return MP_OK;
}

MP_INLINE size_t tlsf_slack(uint64_t w0) { return (size_t)((w0 & TLSF_W_SLACK_MASK) >> TLSF_W_SLACK_SHIFT); }

/* The usable and requested bytes of the used block whose header word is w0. */
MP_INLINE void tlsf_w_sizes(uint64_t w0, size_t *usable, size_t *requested) {
    *usable = tlsf_w_bytes(w0) - TLSF_HDR_BYTES;
    *requested = *usable - tlsf_slack(w0);
}

/* Loads and validates the successor `n` of a used block: a valid header (the
 * sentinel included) whose previous-free flag is clear; a free one must also
 * end inside the heap. */
MP_INLINE bool tlsf_used_successor_ok(const tlsf_env *e, const uint8_t *n, uint64_t *nw0) {
    return tlsf_hdr_load(e, n, nw0) && !(*nw0 & TLSF_W_PREV_FREE) &&
           (!(*nw0 & TLSF_W_FREE) || tlsf_fits_heap(e, n, tlsf_w_size(*nw0)));
}

/* ---------------------------------------------------- tlsf_inspect.c, for mp_pool */

/** mp_tlsf_check of a non-NULL instance that also returns what its walk of
 * the heap counted: the used blocks (cached blocks are not used) and the sum
 * of their usable bytes (up to the first header that fails validation, if
 * one does: the check then counts it). */
size_t tlsf_check_counting(const MP_Tlsf *t, size_t *used_blocks, size_t *usable_bytes);

/* ------------------------------------------------- tlsf_place.c, compaction */

/** Slides the used block at `ptr` down over the free block right below it,
 * by the largest distance that keeps its address a multiple of `align` (0 or
 * a power of two) and leaves no free remainder under a minimum block, and
 * copies its first `copy_bytes`; the bytes it leaves merge with a free
 * successor. `*moved_to` is the new payload, or `ptr` if nothing is free
 * right below. Size, flags and counters unchanged. MP_ERR_CORRUPTION (or
 * MP_ERR_INVALID_ARGUMENT for copy_bytes above the usable size) with nothing
 * changed when a header, footer or link does not validate. O(1). */
MP_Status mp_tlsf_slide_down(MP_Tlsf *t, void *ptr, size_t align, size_t copy_bytes, void **moved_to);

/** Starts a run of slides (a compaction pass) with the free lists detached:
 * heads and bitmaps are cleared, free blocks keep valid headers but are on no
 * list, and each slide then touches only the blocks it moves between (no
 * list neighbours, which lie anywhere in the heap). Nothing but
 * mp_tlsf_slide_down and mp_tlsf_pack_move/_flush may be called until
 * mp_tlsf_pack_end. Lock held by the caller (the pool's).
 * First walks the heap: MP_ERR_CORRUPTION, and nothing changed, if a header
 * fails validation (so mp_tlsf_pack_end lists every free block again). That
 * walk also gives `before` (optional) what mp_tlsf_free_stats would report
 * now (front-cache blocks count as free; fragmentation not set), so a pass
 * that reports it walks the heap once less. Then it empties the front cache
 * (tlsf_cache_flush: cached blocks look used to their neighbours and would
 * stop the slides). O(blocks). */
MP_Status mp_tlsf_pack_begin(MP_Tlsf *t, MP_FreeStats *before);

/** A pass's hole (tlsf_place.c): free space below the next block to move
 * whose header and footer are not written yet. */
typedef struct tlsf_packer {
    uint8_t *hole;       /* start of the unwritten free span; NULL if none */
    size_t hole_bytes;   /* its size (a multiple of 16, >= a minimum block) */
    uint64_t hole_prev;  /* TLSF_W_PREV_FREE if the block below it is free */
    uint64_t above_w0;   /* header word of the used block right above it */
    bool above_learns;   /* that block's header still says PREV_FREE 0 */
} tlsf_packer;

MP_INLINE void mp_tlsf_packer_init(tlsf_packer *pk) { memset(pk, 0, sizeof *pk); }

/** mp_tlsf_slide_down for a pass in pack mode with an alignment <= 16 (so a
 * block slides over the whole free space below it), visiting blocks in
 * ascending address order: the free space a moved block leaves (merged with
 * a free successor) stays in `pk` instead of being written, and the next
 * block, if it starts right there, moves down into it without reading it
 * back. A block elsewhere writes the hole out first. Validation and errors
 * as mp_tlsf_slide_down (the block at `ptr` is left intact); call
 * mp_tlsf_pack_flush before mp_tlsf_pack_end and after the last move. O(1). */
MP_Status mp_tlsf_pack_move(MP_Tlsf *t, tlsf_packer *pk, void *ptr, size_t copy_bytes, void **moved_to);

/** Writes the hole of `pk` out as a free block (header, footer, and the
 * PREV_FREE bit of the block above) and empties `pk`. */
void mp_tlsf_pack_flush(MP_Tlsf *t, tlsf_packer *pk);

/** Ends the run: one walk over the heap in address order pushes every free
 * block on its list again, and gives `after` (optional) the free figures as
 * mp_tlsf_free_stats would (fragmentation not set). O(blocks), sequential.
 * MP_ERR_CORRUPTION if a header fails validation (only if something but the
 * run's own slides wrote to the heap since mp_tlsf_pack_begin validated
 * it): the walk stops there and the free blocks above stay unlisted. */
MP_Status mp_tlsf_pack_end(MP_Tlsf *t, MP_FreeStats *after);

/** Free for observers: free or held by the front cache. */
MP_INLINE bool tlsf_is_unused(uint64_t w0) { return (w0 & (TLSF_W_FREE | TLSF_W_CACHED)) != 0; }

/** Adds a block with header word `w0` to free figures if it is free or
 * cached (mp_tlsf_free_stats' rule). */
MP_INLINE void tlsf_free_stats_add(MP_FreeStats *fs, uint64_t w0) {
    if (!tlsf_is_unused(w0)) return;
    size_t usable = tlsf_w_bytes(w0) - TLSF_HDR_BYTES;
    fs->free_bytes += usable;
    fs->free_block_count++;
    if (usable > fs->largest_free_block_bytes) fs->largest_free_block_bytes = usable;
}

/* ------------------------------------------------------------ front cache */

/** Frees the validated used or cached block `b` (header word w0) through the
 * coalescing path (tlsf.c); sets its usable and requested bytes. Lock held;
 * counters are the caller's. MP_ERR_CORRUPTION (nothing changed) if a
 * neighbour fails validation. */
MP_Status tlsf_release_block(MP_Tlsf *t, uint8_t *b, uint64_t w0, size_t *usable, size_t *requested);

/** Control-block bytes of the cache slots for a heap of `fl_count` first
 * levels at `sl_log2`; sets the class count (0 if `budget_bytes` is 0). */
size_t tlsf_cache_layout(unsigned sl_log2, unsigned fl_count, size_t budget_bytes, unsigned *classes);

/** Empties the cache through the coalescing free path, lock held: every
 * cached block becomes a free block merged with its free neighbours.
 * MP_ERR_CORRUPTION if a cached header or a neighbour fails validation: the
 * blocks flushed until then stay flushed, the rest stay cached. */
MP_Status tlsf_cache_flush_locked(MP_Tlsf *t);

/** tlsf_cache_flush_locked taking the lock of a thread-safe instance: for
 * callers outside TLSF (the managed pool's compactor, before it walks). */
MP_Status tlsf_cache_flush(MP_Tlsf *t);

/** Fills `f` from the instance's configuration (sl_log2, cache_classes,
 * max_request_bytes, blocks_bytes, the thread-safe flag). */
void tlsf_fast_derive(const MP_Tlsf *t, tlsf_fast *f);

/** Violations of the cache invariants (see tlsf_cache.c), the physical walk
 * and the fast-path fields included. Lock held. */
size_t tlsf_cache_check(const MP_Tlsf *t);

/** The cache class of a block of `size` bytes: its list index, or
 * cache_classes or more when such blocks are not cached. */
MP_INLINE unsigned tlsf_cache_class(const MP_Tlsf *t, size_t size) {
    return size < TLSF_CACHE_MAX_BLOCK_BYTES ? t->fast.class_of[size >> TLSF_GRANULE_LOG2] : t->cache_classes;
}

/** True if the upper half of the header word `w0` is one the cache writes:
 * the cached flag and maybe the previous-free flag, nothing else (not free,
 * no alignment, slack or unused bits). Written as a 32-bit compare: no
 * 64-bit constants to hold in registers. */
MP_INLINE bool tlsf_cached_flags_ok(uint64_t w0) {
    return ((uint32_t)(w0 >> 32) | (uint32_t)(TLSF_W_PREV_FREE >> 32)) ==
           (uint32_t)((TLSF_W_CACHED | TLSF_W_PREV_FREE) >> 32);
}

/** True if the header word of a block at a cache slot of class `c` is one
 * the cache wrote (the caller validated the tag): tlsf_cached_flags_ok,
 * inside the heap and of a size of class c. */
MP_INLINE bool tlsf_cached_hdr_ok(const MP_Tlsf *t, const uint8_t *b, uint64_t w0, unsigned c) {
    return tlsf_cached_flags_ok(w0) && tlsf_fits_heap(&t->env, b, tlsf_w_size(w0)) &&
           tlsf_cache_class(t, tlsf_w_bytes(w0)) == c;
}

/** True if a cached block of `size` bytes is too large to be taken whole
 * for `bs` block bytes (<= size): see tlsf_cache_pop. */
MP_INLINE bool tlsf_cache_waste_too_big(size_t size, size_t bs) {
    return size - bs >= TLSF_MIN_BLOCK_BYTES && size - bs > (bs >> 4);
}

/** Takes the validated cached block `b` (header word w0, which passed
 * tlsf_cached_flags_ok, so clearing the cached flag leaves only its size
 * and previous-free flag), the top of class
 * `c` which holds `n` blocks, whole for `req` bytes: marks it used with its
 * slack, sets *usable and returns its payload. */
MP_INLINE uint8_t *tlsf_cache_take(MP_Tlsf *t, uint8_t *b, uint64_t w0, unsigned c, unsigned n, size_t req,
                                   size_t *usable) {
    size_t size = tlsf_w_bytes(w0);
    *usable = size - TLSF_HDR_BYTES;
    uint64_t slack = (uint64_t)(*usable - req) << TLSF_W_SLACK_SHIFT;
    /* The header first: the key and w0 are then no longer needed (fewer
     * registers in the fast paths that inline this). */
    tlsf_hdr_store(&t->env, b, (w0 ^ TLSF_W_CACHED) | slack); /* tlsf_cached_flags_ok */
    t->cache_count[c] = (uint8_t)(n - 1);
    t->cache_room_bytes += size;
    MP_UNPOISON(b + TLSF_HDR_BYTES, *usable);
    return b + TLSF_HDR_BYTES;
}

/** Takes the most recently cached block of class `c` (the class of `bs`
 * block bytes) or, if that one is smaller than bs, of class c + 1, and marks
 * it used for `req` bytes. A block is taken whole (no split touches its
 * neighbours), so it is taken only if the waste size - bs stays under
 * TLSF_MIN_BLOCK_BYTES (what a split would leave anyway) or bs / 16: the
 * slack then fits its 12 bits. NULL on a miss (*corrupt false) or when a
 * cached header fails validation (*corrupt true; nothing changed). Lock held. */
MP_INLINE uint8_t *tlsf_cache_pop(MP_Tlsf *t, size_t req, size_t bs, unsigned c, size_t *usable,
                                  bool *corrupt) {
    const tlsf_env *e = &t->env;
    for (unsigned last = c + 1; c <= last && c < t->cache_classes; c++) {
        unsigned n = t->cache_count[c];
        if (n == 0) continue;
        uint32_t index = t->cache_slots[c * TLSF_CACHE_DEPTH + n - 1];
        uint8_t *b = tlsf_block_at(e, index);
        uint64_t w0;
        uint32_t next;
        if (MP_UNLIKELY(!tlsf_index_ok(e, index) || !tlsf_hdr_load_next(e, b, &w0, &next) ||
                        !tlsf_cached_hdr_ok(t, b, w0, c))) {
            *corrupt = true;
            return NULL;
        }
        size_t size = tlsf_w_bytes(w0);
        if (size < bs) continue;
        if (tlsf_cache_waste_too_big(size, bs)) break;
        return tlsf_cache_take(t, b, w0, c, n, req, usable);
    }
    *corrupt = false;
    return NULL;
}

/** True if class `c` has a free slot and the budget room for `size` bytes. */
MP_INLINE bool tlsf_cache_has_room(const MP_Tlsf *t, unsigned c, size_t size) {
    return c < t->cache_classes && t->cache_count[c] < TLSF_CACHE_DEPTH && size <= t->cache_room_bytes;
}

/** Files the validated used block `b` (header word w0) in class `c`, which
 * has room (tlsf_cache_has_room). */
MP_INLINE void tlsf_cache_file(MP_Tlsf *t, uint8_t *b, uint64_t w0, size_t c) {
    size_t size = tlsf_w_bytes(w0);
    /* The header first, as in tlsf_cache_take. */
    tlsf_hdr_store(&t->env, b, (w0 & (TLSF_W_SIZE_MASK | TLSF_W_PREV_FREE)) | TLSF_W_CACHED);
    t->cache_slots[c * TLSF_CACHE_DEPTH + t->cache_count[c]++] = tlsf_index_of(&t->env, b);
    t->cache_room_bytes -= size;
    MP_POISON(b + TLSF_HDR_BYTES, size - TLSF_HDR_BYTES);
}

/** Caches the validated used block `b` (header word w0) instead of freeing
 * it, if its class has a free slot and the budget room: writes only its
 * header (cached flag; the previous-free flag kept), nothing else in the
 * heap. False (nothing changed) otherwise. Lock held; counters are the
 * caller's. */
MP_INLINE bool tlsf_cache_push(MP_Tlsf *t, uint8_t *b, uint64_t w0) {
    size_t size = tlsf_w_bytes(w0);
    unsigned c = tlsf_cache_class(t, size);
    if (!tlsf_cache_has_room(t, c, size)) return false;
    tlsf_cache_file(t, b, w0, c);
    return true;
}

#endif /* MP_TLSF_INTERNAL_H */
