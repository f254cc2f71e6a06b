/*
 * memory_pool_core.h - the one public header of memory-pool-core.
 *
 * Every allocator family manages one contiguous region of bytes:
 *   - mp_<family>_create(...) / _create_ex(cfg) map a region from the OS
 *     (page aligned, touched lazily) unless cfg->region names caller memory;
 *   - mp_<family>_create_in(memory, size, cfg) places the whole allocator,
 *     control block and metadata included, inside caller memory of at least
 *     mp_<family>_footprint(cfg) bytes (no heap, no OS call).
 * Metadata never lives inside the bytes handed out to users, except the
 * validated block headers of TLSF.
 *
 * Error convention (one for the whole library):
 *   - hot-path allocation (`alloc`, `alloc_aligned`, `calloc`) returns NULL on
 *     failure; mp_last_error() then tells why (per thread);
 *   - every other call returns MP_Status, MP_OK on success, and changes
 *     nothing when it fails;
 *   - the library never prints and never aborts on user error.
 *
 * Threads: an instance is single-threaded unless created with
 * MP_FLAG_THREAD_SAFE; distinct instances never share state.
 */
#ifndef MEMORY_POOL_CORE_H
#define MEMORY_POOL_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MP_API
#elif defined(__GNUC__)
#define MP_API __attribute__((visibility("default")))
#else
#define MP_API
#endif

/* ---------------------------------------------------------------- version */

#define MP_VERSION_MAJOR 0
#define MP_VERSION_MINOR 1
#define MP_VERSION_PATCH 0
#define MP_VERSION_STRING "0.1.0"
/** MP_VERSION_NUMBER is major * 10000 + minor * 100 + patch. */
#define MP_VERSION_NUMBER (MP_VERSION_MAJOR * 10000 + MP_VERSION_MINOR * 100 + MP_VERSION_PATCH)

/** The version string of the linked library ("0.1.0"); static storage. */
MP_API const char *mp_version(void);
/** The version number of the linked library, as MP_VERSION_NUMBER. */
MP_API int mp_version_number(void);

/* ----------------------------------------------------------------- status */

/* X(name, value, description): the one list of statuses. */
#define MP_STATUS_LIST(X)                                                                     \
    X(MP_OK, 0, "success")                                                                    \
    X(MP_ERR_OUT_OF_MEMORY, 1, "not enough free memory in the region for the request")       \
    X(MP_ERR_INVALID_ARGUMENT, 2, "an argument is NULL, zero, out of range or inconsistent") \
    X(MP_ERR_INVALID_ADDRESS, 3, "the address was not handed out by this allocator")         \
    X(MP_ERR_DOUBLE_FREE, 4, "the block is already free")                                     \
    X(MP_ERR_ALIGNMENT, 5, "alignment is zero, not a power of two, or too large")            \
    X(MP_ERR_SIZE_OVERFLOW, 6, "the size computation overflows")                              \
    X(MP_ERR_LIMIT_EXCEEDED, 7, "the request exceeds a configured limit")                     \
    X(MP_ERR_PROTECTION, 8, "the caller may not access this block")                           \
    X(MP_ERR_CORRUPTION, 9, "allocator metadata failed validation")                           \
    X(MP_ERR_INVALID_HANDLE, 10, "the handle is stale, forged or foreign")                    \
    X(MP_ERR_OUT_OF_BOUNDS, 11, "the access falls outside the block")                         \
    X(MP_ERR_UNSUPPORTED, 12, "the operation is not supported by this allocator")             \
    X(MP_ERR_BUSY, 13, "the object is in use and cannot be changed now")

typedef enum MP_Status {
#define MP_STATUS_ENUM_(name, value, text) name = value,
    MP_STATUS_LIST(MP_STATUS_ENUM_)
#undef MP_STATUS_ENUM_
        MP_STATUS_COUNT_
} MP_Status;

/** The stable name of a status ("MP_ERR_DOUBLE_FREE"); "MP_ERR_UNKNOWN" for
 * values outside the enum. Static storage, thread-safe. */
MP_API const char *mp_status_str(MP_Status status);
/** A one-line English description of a status; static storage. */
MP_API const char *mp_status_description(MP_Status status);

/** Why the last failed call on this thread failed. `requested_bytes` is what
 * the caller asked for, `available_bytes` the free bytes at that moment and
 * `largest_free_bytes` the largest request that could have succeeded (0 where
 * the allocator cannot tell cheaply). */
typedef struct MP_ErrorInfo {
    MP_Status status;
    size_t requested_bytes;
    size_t available_bytes;
    size_t largest_free_bytes;
} MP_ErrorInfo;

/** The error recorded by the last failing call of this thread (MP_OK if none
 * failed since mp_clear_last_error). Thread-local, O(1). */
MP_API MP_ErrorInfo mp_last_error(void);
/** Resets this thread's last error to MP_OK. */
MP_API void mp_clear_last_error(void);

/* ------------------------------------------------------------------ flags */

/** Makes an instance safe to share between threads. */
#define MP_FLAG_THREAD_SAFE 0x1u

/* ------------------------------------------------------------- huge pages */

/** Asks the OS to back the pages of [addr, addr + bytes) with transparent
 * huge pages (Linux: madvise MADV_HUGEPAGE), so random access over a large
 * region takes one TLB entry per 2 MiB instead of 512. The allocators here
 * keep metadata inside or beside their blocks, so a free or an alloc over a
 * region of tens of MiB touches pages all over it: the TLB misses that
 * advice removes are a large part of their cost there (bench/README.md).
 * The price: pages become resident 2 MiB at a time, so a sparsely used
 * region takes more memory. Contents are unchanged, and it is advice: the
 * kernel may still use small pages (THP set to never, no free huge page).
 * Any memory: a family's region (its mp_*_base), caller memory.
 * MP_OK; MP_ERR_INVALID_ARGUMENT for NULL or 0 bytes; MP_ERR_UNSUPPORTED
 * where the OS has no such advice or refuses it. O(1). */
MP_API MP_Status mp_advise_huge_pages(void *addr, size_t bytes);

/* ------------------------------------------------------------- fixed pool */

typedef struct MP_FixedPool MP_FixedPool;

/* X(type, name, description): the one list of fixed-pool statistics. */
#define MP_FIXED_POOL_STATS_FIELDS(X)                                            \
    X(size_t, allocated, "slots in use now")                                     \
    X(size_t, capacity, "slots in the pool")                                     \
    X(size_t, object_size, "bytes requested per object")                         \
    X(size_t, slot_size_bytes, "bytes between two slots (see MP_FixedPoolConfig)") \
    X(size_t, alignment, "alignment of every slot address, bytes")              \
    X(size_t, allocated_peak, "highest `allocated` since create or reset")       \
    X(uint64_t, alloc_count, "successful allocations since create")            \
    X(uint64_t, free_count, "successful frees since create")                   \
    X(uint64_t, failed_alloc_count, "allocations that returned NULL")          \
    X(uint64_t, rejected_free_count, "frees refused (double, foreign, interior)") \
    X(size_t, region_bytes, "bytes of the slot region")

typedef struct MP_FixedPoolStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_FIXED_POOL_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_FixedPoolStats;

typedef struct MP_FixedPoolConfig {
    size_t object_size; /**< bytes per object, >= 1 */
    size_t capacity;    /**< number of slots, 1 .. 2^32 - 1 */
    size_t alignment;   /**< slot alignment, a power of two <= 4096; 0 = the
                             largest power of two dividing object_size, at most 16.
                             Slots are object_size rounded up to it apart, plus
                             64 bytes (one cache line, so slots do not crowd into
                             a few cache sets) when that is a power of two >= 1024
                             and the alignment is <= 64: 1024-byte objects sit
                             1088 bytes apart by default, 1024 with an alignment
                             of 128 or more (4096 gives page-aligned 4 KiB slots) */
    uint32_t flags;     /**< MP_FLAG_THREAD_SAFE */
    void *region;       /**< optional caller memory for the slots (metadata is
                             allocated from the heap); NULL = map from the OS */
    size_t region_bytes; /**< size of `region`, >= mp_fixed_pool_region_bytes(cfg) */
} MP_FixedPoolConfig;

/** Creates a pool of `capacity` objects of `object_size` bytes in a region
 * mapped from the OS; NULL on invalid arguments or when memory cannot be had
 * (see mp_last_error). Slots are slot_size_bytes apart, which may exceed
 * object_size (alignment, cache-line padding: MP_FixedPoolConfig.alignment).
 * O(1): slots are touched lazily. */
MP_API MP_FixedPool *mp_fixed_pool_create(size_t object_size, size_t capacity);
/** As mp_fixed_pool_create with every option of MP_FixedPoolConfig. Slots
 * start at the first `alignment` boundary of cfg->region: a region that is
 * then too small fails with MP_ERR_ALIGNMENT (an aligned one would have fit),
 * so a merely 16-byte-aligned region needs `alignment - 16` bytes of slack. */
MP_API MP_FixedPool *mp_fixed_pool_create_ex(const MP_FixedPoolConfig *cfg);
/** Bytes of caller memory mp_fixed_pool_create_in needs for `cfg` (its
 * `region` is ignored), including worst-case alignment slack; 0 if invalid. */
MP_API size_t mp_fixed_pool_footprint(const MP_FixedPoolConfig *cfg);
/** Bytes the slot region needs for `cfg` when passed as cfg->region (slots
 * only, aligned start assumed); 0 if the config is invalid. */
MP_API size_t mp_fixed_pool_region_bytes(const MP_FixedPoolConfig *cfg);
/** Builds the whole pool, control block and metadata included, inside
 * `memory` (`size` >= mp_fixed_pool_footprint(cfg)); NULL if too small or
 * invalid. The caller keeps ownership of `memory`; destroy before freeing it. */
MP_API MP_FixedPool *mp_fixed_pool_create_in(void *memory, size_t size, const MP_FixedPoolConfig *cfg);
/** Returns a free slot, or NULL when every slot is in use. O(1). */
MP_API void *mp_fixed_pool_alloc(MP_FixedPool *pool);
/** Returns `ptr` to the pool. O(1). MP_ERR_INVALID_ADDRESS for NULL, foreign
 * or interior pointers and slots never handed out since the last reset,
 * MP_ERR_DOUBLE_FREE for a slot already free; nothing changes on error. */
MP_API MP_Status mp_fixed_pool_free(MP_FixedPool *pool, void *ptr);
/** Frees every slot at once; pointers handed out before become invalid.
 * O(1) (O(capacity / 64) on a thread-safe pool; plus poisoning the slots
 * handed out under a sanitizer). Not thread-safe even on thread-safe pools. */
MP_API MP_Status mp_fixed_pool_reset(MP_FixedPool *pool);
/** Fills `out` with O(1) counters. */
MP_API MP_Status mp_fixed_pool_stats(const MP_FixedPool *pool, MP_FixedPoolStats *out);
/** 1 if `ptr` is the start of a slot of this pool that is in use, else 0. O(1). */
MP_API int mp_fixed_pool_owns(const MP_FixedPool *pool, const void *ptr);
/** Walks the pool's structures; returns the number of violated invariants
 * (0 = consistent). O(capacity). */
MP_API size_t mp_fixed_pool_check(const MP_FixedPool *pool);
/** Start of the slot region (slot i is at base + i * slot_size_bytes). */
MP_API void *mp_fixed_pool_base(const MP_FixedPool *pool);
/** Fills `out` with up to `n` slot offsets (bytes from the base); returns how
 * many it could allocate. For batch callers such as the Node addon. */
MP_API size_t mp_fixed_pool_alloc_many(MP_FixedPool *pool, uint32_t *out, size_t n);
/** Frees `n` slot offsets; stops at the first invalid one and returns its
 * status with `*done` set to the number freed before it. */
MP_API MP_Status mp_fixed_pool_free_many(MP_FixedPool *pool, const uint32_t *offsets, size_t n,
                                         size_t *done);
/** Returns whole pages of free slots of an OS-mapped pool to the OS; sets
 * `*released_bytes`. A no-op for caller memory. */
MP_API MP_Status mp_fixed_pool_trim(MP_FixedPool *pool, size_t *released_bytes);
/** Releases the pool and, if it mapped it, its region. NULL is ignored. */
MP_API void mp_fixed_pool_destroy(MP_FixedPool *pool);

/* Fixed pool inline fast path: opt-in, for single-threaded pools.
 * mp_fixed_pool_alloc_inline and mp_fixed_pool_free_inline do in the
 * caller's code exactly what mp_fixed_pool_alloc and mp_fixed_pool_free do
 * on their common path, on the hot state below, which every control block
 * begins with. Free slots are the `hand` (one freed slot, if any) and a
 * LIFO list threaded through `link`, an array of one uint32 per slot outside the
 * slots: link[i] is MP_FIXED_LINK_IN_USE for a slot in use or in the hand,
 * else the next free slot's index (its own index at the end of the list).
 *  - alloc takes the hand, else pops the list and marks the slot in use;
 *  - free maps the pointer to a slot index with one multiply and one rotate
 *    (foreign, interior and NULL pointers, and slots at or above the high
 *    water, give an index >= the limit), requires link[index] to be
 *    MP_FIXED_LINK_IN_USE and the pointer not to be the hand (so every
 *    double free is refused), and puts the slot in the hand, or on top of
 *    the list when the hand is taken;
 *  - counters: free_count and free_length (slots on the list, so only the
 *    list paths touch it) are counted inline; the other statistics are
 *    derived from them, the hand and the high water, so mp_fixed_pool_stats
 *    stays exact.
 * Anything else goes to the out-of-line call with the same arguments, which
 * then decides, fails and counts exactly as if called directly: a NULL pool,
 * an empty hand and list (the next slot comes from the lazily initialised
 * high water, or the pool is exhausted), a refused free (index out of range:
 * a foreign, interior or NULL pointer, a slot never handed out since create
 * or reset; slot not in use: double free or a pointer from before a reset),
 * thread-safe pools and destroyed pools (their limits are 0). So the
 * results, statuses, mp_last_error and statistics of both paths are
 * identical, and any mix of them is allowed on one pool.
 * Sanitizers: a library built with ASan (or MP_VALGRIND) poisons freed
 * slots. Code built the same way (ASan detected, or MP_WITH_VALGRIND
 * defined, as the CMake target exports it) poisons and unpoisons inline;
 * code built differently always goes out of line (each kind of caller has
 * its own hand: hand[0] plain, hand[1] sanitized). Not thread-safe: the same
 * rule as the out-of-line calls on a pool created without
 * MP_FLAG_THREAD_SAFE.
 * ABI: the layout of MP_FixedPoolHot and its place at offset 0 of the
 * control block are part of the ABI of major version MP_VERSION_MAJOR.
 * The fields are the library's; read or write them only through these
 * functions. */
typedef struct MP_FixedPoolHot {
    uint8_t *hand[2];              /* a free slot, for plain [0] / sanitized [1] callers; NULL = none */
    uint8_t *base;                 /* slot 0; slot i at base + i * slot_size_bytes */
    uint32_t *link;                /* per slot: MP_FIXED_LINK_IN_USE, or the next free slot (own index = last) */
    uintptr_t stride_inverse;      /* inverse of d0 modulo 2^(bits of uintptr_t); stride = d0 * 2^stride_shift */
    uint64_t free_count;           /* successful frees since create */
    uint32_t inline_limit;         /* high water when plain code may go inline, else 0 */
    uint8_t stride_shift;          /* trailing zero bits of the stride */
    uint8_t sanitizer;             /* MP_SANITIZER_* the library was built with */
    uint8_t reserved_[2];
    uint32_t head;                 /* first slot of the free list, MP_FIXED_LINK_NONE if empty */
    uint32_t sanitized_limit;      /* high water when code built with `sanitizer` may go inline, else 0 */
    /* end of the first 64 bytes (64-bit targets): all a hand-to-hand pair touches */
    size_t slot_size_bytes;        /* bytes between two slots */
    size_t object_size;            /* bytes unpoisoned per allocation */
    uint32_t free_length;          /* slots on the free list */
    uint32_t high_water;           /* slots [0, high_water) were handed out since create or reset */
} MP_FixedPoolHot;

#define MP_FIXED_LINK_IN_USE 0xFFFFFFFFu /* link of a slot in use or in a hand */
#define MP_FIXED_LINK_NONE 0xFFFFFFFFu   /* head of an empty list (>= every limit) */

#define MP_SANITIZER_NONE 0
#define MP_SANITIZER_ASAN 1
#define MP_SANITIZER_VALGRIND 2

/* How this translation unit poisons: detected ASan, else MP_WITH_VALGRIND. */
#if defined(__SANITIZE_ADDRESS__)
#define MP_SANITIZER_HERE_ MP_SANITIZER_ASAN
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_SANITIZER_HERE_ MP_SANITIZER_ASAN
#endif
#endif
#if !defined(MP_SANITIZER_HERE_) && defined(MP_WITH_VALGRIND)
#define MP_SANITIZER_HERE_ MP_SANITIZER_VALGRIND
#endif
#if !defined(MP_SANITIZER_HERE_)
#define MP_SANITIZER_HERE_ MP_SANITIZER_NONE
#endif

#if MP_SANITIZER_HERE_ == MP_SANITIZER_ASAN
#include <sanitizer/asan_interface.h>
#define MP_HOT_LIMIT_(hot) ((hot)->sanitizer == MP_SANITIZER_ASAN ? (hot)->sanitized_limit : 0u)
#define MP_HOT_POISON_(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define MP_HOT_UNPOISON_(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif MP_SANITIZER_HERE_ == MP_SANITIZER_VALGRIND
#include <valgrind/memcheck.h>
#define MP_HOT_LIMIT_(hot) ((hot)->sanitizer == MP_SANITIZER_VALGRIND ? (hot)->sanitized_limit : 0u)
#define MP_HOT_POISON_(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define MP_HOT_UNPOISON_(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#else
#define MP_HOT_LIMIT_(hot) ((hot)->inline_limit)
#define MP_HOT_POISON_(p, n) ((void)(p), (void)(n))
#define MP_HOT_UNPOISON_(p, n) ((void)(p), (void)(n))
#endif
/* The hand of this translation unit's kind of caller. A sanitized caller
 * takes it only from a library built with its sanitizer (another one's
 * hand was poisoned differently). */
#define MP_HOT_HAND_(hot) ((hot)->hand[MP_SANITIZER_HERE_ != MP_SANITIZER_NONE])
#if MP_SANITIZER_HERE_ == MP_SANITIZER_NONE
#define MP_HOT_HAND_OK_(hot) 1
#else
#define MP_HOT_HAND_OK_(hot) ((hot)->sanitizer == MP_SANITIZER_HERE_)
#endif

#if defined(__GNUC__)
#define MP_HOT_UNLIKELY_(x) __builtin_expect(!!(x), 0)
#define MP_HOT_LIKELY_(x) __builtin_expect(!!(x), 1)
#else
#define MP_HOT_UNLIKELY_(x) (x)
#define MP_HOT_LIKELY_(x) (x)
#endif

/* The inline calls reach the out-of-line ones through these: marked cold,
 * so compilers lay the fast paths out straight and keep the slow paths'
 * results apart (no merge of the fast path's constant MP_OK with a call's
 * status). */
#if defined(__GNUC__)
#define MP_HOT_COLD_ __attribute__((cold, noinline, unused))
#else
#define MP_HOT_COLD_
#endif
static MP_HOT_COLD_ void *mp_fixed_pool_alloc_slow_(MP_FixedPool *pool) { return mp_fixed_pool_alloc(pool); }
static MP_HOT_COLD_ MP_Status mp_fixed_pool_free_slow_(MP_FixedPool *pool, void *ptr) {
    return mp_fixed_pool_free(pool, ptr);
}

/** As mp_fixed_pool_alloc (same result, failure and statistics), inline
 * when a freed slot waits in the hand or on the list of a single-threaded
 * pool. O(1). */
static inline void *mp_fixed_pool_alloc_inline(MP_FixedPool *pool) {
    if (MP_HOT_UNLIKELY_(pool == NULL)) return mp_fixed_pool_alloc_slow_(pool);
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool;
    uint8_t *slot = MP_HOT_HAND_(hot);
    if (MP_HOT_LIKELY_(slot != NULL && MP_HOT_HAND_OK_(hot))) {
        MP_HOT_HAND_(hot) = NULL; /* its link already says in use */
    } else {
        uint32_t index = hot->head; /* MP_FIXED_LINK_NONE >= every limit */
        if (MP_HOT_UNLIKELY_(index >= MP_HOT_LIMIT_(hot))) return mp_fixed_pool_alloc_slow_(pool);
        uint32_t next = hot->link[index];
        hot->head = next == index ? MP_FIXED_LINK_NONE : next;
        hot->link[index] = MP_FIXED_LINK_IN_USE;
        hot->free_length--;
        slot = hot->base + (size_t)index * hot->slot_size_bytes;
    }
    MP_HOT_UNPOISON_(slot, hot->object_size);
    return slot;
}

/** As mp_fixed_pool_free (same status, mp_last_error and statistics),
 * inline when `ptr` is a slot in use of a single-threaded pool. O(1). */
static inline MP_Status mp_fixed_pool_free_inline(MP_FixedPool *pool, void *ptr) {
    if (MP_HOT_UNLIKELY_(pool == NULL)) return mp_fixed_pool_free_slow_(pool, ptr);
    MP_FixedPoolHot *hot = (MP_FixedPoolHot *)(void *)pool;
    /* Index of the slot at ptr, or a value >= capacity when ptr is not the
     * start of a slot (see fixed_pool.c: division by multiplication). */
    uintptr_t x = ((uintptr_t)ptr - (uintptr_t)hot->base) * hot->stride_inverse;
    unsigned k = hot->stride_shift, bits = (unsigned)(sizeof(uintptr_t) * 8u);
    uintptr_t index = (x >> k) | (x << ((bits - k) & (bits - 1u)));
    if (MP_HOT_UNLIKELY_(index >= MP_HOT_LIMIT_(hot))) return mp_fixed_pool_free_slow_(pool, ptr);
    uint8_t *hand = MP_HOT_HAND_(hot);
    if (MP_HOT_UNLIKELY_(hot->link[index] != MP_FIXED_LINK_IN_USE || (uint8_t *)ptr == hand))
        return mp_fixed_pool_free_slow_(pool, ptr);
    MP_HOT_POISON_(ptr, hot->slot_size_bytes);
    hot->free_count++;
    if (MP_HOT_LIKELY_(hand == NULL)) {
        MP_HOT_HAND_(hot) = (uint8_t *)ptr;
    } else { /* the hand is taken: the slot goes on top of the list */
        uint32_t head = hot->head;
        hot->link[index] = head == MP_FIXED_LINK_NONE ? (uint32_t)index : head;
        hot->head = (uint32_t)index;
        hot->free_length++;
    }
    return MP_OK;
}

/* ------------------------------------------------------------------ arena */

typedef struct MP_Arena MP_Arena;

#define MP_ARENA_STATS_FIELDS(X)                                           \
    X(size_t, offset, "bytes used from the start of the buffer")          \
    X(size_t, buffer_size, "bytes in the buffer")                         \
    X(size_t, offset_peak, "highest offset since create")                 \
    X(uint64_t, alloc_count, "successful allocations since create")       \
    X(uint64_t, failed_alloc_count, "allocations that returned NULL")     \
    X(uint64_t, reset_count, "resets since create")

typedef struct MP_ArenaStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_ARENA_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_ArenaStats;

typedef struct MP_ArenaConfig {
    size_t size;        /**< bytes of the buffer, >= 1 */
    uint32_t flags;     /**< reserved; must be 0 (an arena is single-threaded) */
    void *region;       /**< optional caller memory for the buffer; NULL = map */
    size_t region_bytes; /**< size of `region`, >= size */
} MP_ArenaConfig;

/** A position in an arena, for mp_arena_rewind. Marks taken before a reset
 * are rejected after it. */
typedef struct MP_ArenaMark {
    size_t offset;
    uint64_t epoch;
} MP_ArenaMark;

/** Creates an arena of `size` bytes mapped from the OS; NULL on failure. */
MP_API MP_Arena *mp_arena_create(size_t size);
MP_API MP_Arena *mp_arena_create_ex(const MP_ArenaConfig *cfg);
/** Bytes mp_arena_create_in needs for `cfg`; 0 if invalid. */
MP_API size_t mp_arena_footprint(const MP_ArenaConfig *cfg);
/** Builds the arena and its buffer inside caller memory. */
MP_API MP_Arena *mp_arena_create_in(void *memory, size_t size, const MP_ArenaConfig *cfg);
/** Bumps `size` bytes aligned to `align` (a power of two) off the arena; NULL
 * when it does not fit or `align` is invalid (see mp_last_error). O(1). */
MP_API void *mp_arena_alloc(MP_Arena *arena, size_t size, size_t align);
/** Frees everything at once. O(1). */
MP_API MP_Status mp_arena_reset(MP_Arena *arena);
/** The current position, to rewind to later. */
MP_API MP_ArenaMark mp_arena_mark(const MP_Arena *arena);
/** Frees everything allocated since `mark`. MP_ERR_INVALID_ARGUMENT for a mark
 * beyond the current offset or taken before the last reset. O(1). */
MP_API MP_Status mp_arena_rewind(MP_Arena *arena, MP_ArenaMark mark);
MP_API MP_Status mp_arena_stats(const MP_Arena *arena, MP_ArenaStats *out);
/** 1 if `ptr` lies inside the used part of the arena, else 0. */
MP_API int mp_arena_owns(const MP_Arena *arena, const void *ptr);
/** Number of violated invariants (0 = consistent). O(1). */
MP_API size_t mp_arena_check(const MP_Arena *arena);
/** Start of the buffer. */
MP_API void *mp_arena_base(const MP_Arena *arena);
/** Returns the pages past the current offset of an OS-mapped arena to the OS. */
MP_API MP_Status mp_arena_trim(MP_Arena *arena, size_t *released_bytes);
MP_API void mp_arena_destroy(MP_Arena *arena);

/* Arena bump window: an opt-in inline fast path. A window reserves a chunk
 * of its arena out of line and bumps inside it with inline code (no call).
 * Contract:
 *  - Checked inline, as mp_arena_alloc does: `align` is a power of two and
 *    the block fits in the window. Everything else (size 0, a bad alignment,
 *    a full window) goes out of line to mp_arena_window_refill_alloc, which
 *    gives the window's unused tail back, reserves a new chunk and fails
 *    exactly like mp_arena_alloc (NULL, status in mp_last_error).
 *  - One open window per arena; arena and window are single-threaded.
 *    The arena keeps a pointer to its open window: close the window (or
 *    destroy the arena) before its storage goes away and before opening it
 *    again, on any arena (neither can be detected: an unopened window's
 *    fields are undefined).
 *    mp_arena_reset and mp_arena_rewind empty an open window first (the
 *    next allocation reserves a fresh chunk), mp_arena_destroy detaches it
 *    (every later allocation through it fails with MP_ERR_INVALID_ARGUMENT).
 *  - While open, the reserved chunk counts in the arena's offset (and marks);
 *    mp_arena_stats includes the window's allocations. Under ASan the chunk
 *    is unpoisoned when reserved, its unused tail re-poisoned when returned.
 * The fields are private: touch them only through these functions. */
typedef struct MP_ArenaWindow {
    uintptr_t cur;        /* next free byte of the chunk */
    uintptr_t end;        /* one past the chunk; cur == end == 0 when empty */
    uint64_t alloc_count; /* allocations bumped since the last fold into the arena */
    MP_Arena *arena;      /* NULL once closed or detached */
    size_t chunk_bytes;   /* bytes reserved per refill (at least the request) */
} MP_ArenaWindow;

/** Opens `window` on `arena`, reserving `chunk_bytes` per refill (0 = 64 KiB)
 * lazily on the first allocation. MP_ERR_INVALID_ARGUMENT if either is NULL
 * or the arena already has an open window. O(1). */
MP_API MP_Status mp_arena_window_open(MP_Arena *arena, MP_ArenaWindow *window, size_t chunk_bytes);
/** Gives the unused tail of the chunk back to the arena (when nothing was
 * allocated from the arena after it) and closes the window; blocks already
 * handed out stay valid until the arena is reset or rewound. O(1). */
MP_API MP_Status mp_arena_window_close(MP_ArenaWindow *window);
/** The out-of-line part of mp_arena_window_alloc; call that instead. */
MP_API void *mp_arena_window_refill_alloc(MP_ArenaWindow *window, size_t size, size_t align);

/** Bumps `size` bytes aligned to `align` (a power of two) off the window:
 * inline when it fits, else as mp_arena_window_refill_alloc. Same results
 * and failures as mp_arena_alloc on the window's arena. */
static inline void *mp_arena_window_alloc(MP_ArenaWindow *window, size_t size, size_t align) {
    uintptr_t cur = window->cur;
    size_t remaining = (size_t)(window->end - cur);
    size_t pad = (size_t)(0 - cur) & (align - 1);
    /* As mp_arena_alloc: a power of two iff align ^ (align - 1) > align - 1;
     * size - 1 >= remaining catches size 0 and blocks that do not fit. */
    int refused = ((align ^ (align - 1)) <= align - 1) | (size - 1 >= remaining) | (pad > remaining - size);
#if defined(__GNUC__)
    if (__builtin_expect(refused, 0)) return mp_arena_window_refill_alloc(window, size, align);
#else
    if (refused) return mp_arena_window_refill_alloc(window, size, align);
#endif
    uintptr_t block = cur + pad;
#if defined(__GNUC__)
    /* Not refused: cur lies in a reserved chunk (an empty window has
     * remaining 0 and refuses every size), so the block is not NULL; said so
     * the caller's NULL test folds away. */
    if (block == 0) __builtin_unreachable();
#endif
    window->cur = block + size;
    window->alloc_count++;
    return (void *)block;
}

/* ------------------------------------------- variable-size families: shared */

/* O(1) counters kept by every variable-size family (buddy, slab, tlsf, fit). */
#define MP_HEAP_STATS_FIELDS(X)                                                  \
    X(size_t, region_bytes, "bytes of the managed region")                       \
    X(size_t, bytes_in_use, "usable bytes of live blocks")                       \
    X(size_t, bytes_in_use_peak, "highest bytes_in_use since create or reset")  \
    X(size_t, bytes_requested, "bytes requested by callers for live blocks")    \
    X(size_t, live_block_count, "blocks allocated and not yet freed")          \
    X(uint64_t, alloc_count, "successful allocations since create")             \
    X(uint64_t, free_count, "successful frees since create")                    \
    X(uint64_t, realloc_count, "successful reallocations since create")         \
    X(uint64_t, failed_alloc_count, "allocations that returned NULL")           \
    X(uint64_t, rejected_free_count, "frees refused (double, foreign, interior)")

typedef struct MP_HeapStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_HEAP_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_HeapStats;

/* Figures that need a walk of the free structures (O(free blocks)). */
#define MP_FREE_STATS_FIELDS(X)                                                  \
    X(size_t, free_bytes, "bytes in free blocks")                                \
    X(size_t, free_block_count, "free blocks")                                   \
    X(size_t, largest_free_block_bytes, "largest single free block")            \
    X(double, fragmentation, "1 - largest_free_block_bytes / free_bytes (0 if none free)")

typedef struct MP_FreeStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_FREE_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_FreeStats;

/** Called for every block by the `walk` functions: its address, usable size
 * and whether it is in use. Return non-zero to stop the walk. */
typedef int (*MP_WalkFn)(void *ptr, size_t size_bytes, int is_used, void *ctx);

/* ------------------------------------------------------------------ buddy */

typedef struct MP_Buddy MP_Buddy;

typedef struct MP_BuddyConfig {
    size_t region_bytes;    /**< bytes managed, rounded down to a multiple of
                                 min_block_bytes (a caller region's start is
                                 first rounded up to min_block_bytes); a rest
                                 beyond whole largest blocks is managed as
                                 smaller top-level blocks */
    size_t min_block_bytes; /**< smallest block, power of two >= 16; 0 = 64 */
    size_t max_block_bytes; /**< largest block, power of two; 0 = largest that
                                 fits the region */
    uint32_t flags;         /**< MP_FLAG_THREAD_SAFE */
    void *region;           /**< optional caller memory; NULL = map */
} MP_BuddyConfig;

/** Binary buddy system: power-of-two blocks, split on alloc and merged with
 * the buddy on free, O(log(max/min)); block state kept in bitmaps. */
MP_API MP_Buddy *mp_buddy_create(size_t region_bytes, size_t min_block_bytes);
MP_API MP_Buddy *mp_buddy_create_ex(const MP_BuddyConfig *cfg);
MP_API size_t mp_buddy_footprint(const MP_BuddyConfig *cfg);
MP_API MP_Buddy *mp_buddy_create_in(void *memory, size_t size, const MP_BuddyConfig *cfg);
MP_API void *mp_buddy_alloc(MP_Buddy *b, size_t size);
MP_API void *mp_buddy_alloc_aligned(MP_Buddy *b, size_t size, size_t align);
/** As alloc, and zeroes the block's whole usable size (mp_buddy_usable_size),
 * so the slack a later in-place realloc grows into reads as zeros too. */
MP_API void *mp_buddy_calloc(MP_Buddy *b, size_t size);
/** Resizes `*ptr` to `size` bytes, in place when possible, keeping contents
 * and alignment; on failure `*ptr` and its block are left intact. `*ptr` NULL
 * allocates. */
MP_API MP_Status mp_buddy_realloc(MP_Buddy *b, void **ptr, size_t size);
MP_API MP_Status mp_buddy_free(MP_Buddy *b, void *ptr);
/** Usable bytes of a live block; 0 for any other pointer. */
MP_API size_t mp_buddy_usable_size(const MP_Buddy *b, const void *ptr);
MP_API MP_Status mp_buddy_reset(MP_Buddy *b);
MP_API MP_Status mp_buddy_stats(const MP_Buddy *b, MP_HeapStats *out);
MP_API MP_Status mp_buddy_free_stats(const MP_Buddy *b, MP_FreeStats *out);
MP_API MP_Status mp_buddy_walk(const MP_Buddy *b, MP_WalkFn fn, void *ctx);
MP_API size_t mp_buddy_check(const MP_Buddy *b);
MP_API void *mp_buddy_base(const MP_Buddy *b);
MP_API MP_Status mp_buddy_trim(MP_Buddy *b, size_t *released_bytes);
MP_API void mp_buddy_destroy(MP_Buddy *b);

/* ------------------------------------------------------------------- slab */

typedef struct MP_Slab MP_Slab;

#define MP_SLAB_MAX_CLASSES 64

typedef void (*MP_SlabObjectFn)(void *obj, size_t size_bytes, void *ctx);

typedef struct MP_SlabConfig {
    size_t region_bytes;      /**< bytes managed, rounded down to whole slabs (>= 1) */
    size_t slab_bytes;        /**< bytes per slab, power of two 4096 .. 2^30; 0 = 65536 */
    const size_t *class_sizes; /**< strictly ascending multiples of 8, <= slab_bytes;
                                    NULL = 8, 16, 32, ... max_class_bytes */
    size_t class_count;       /**< entries in class_sizes, 1..MP_SLAB_MAX_CLASSES (0 if NULL) */
    size_t max_class_bytes;   /**< largest default class, power of two; 0 = 4096 */
    MP_SlabObjectFn ctor;     /**< optional: run when a slot is first carved (object caching) */
    MP_SlabObjectFn dtor;     /**< optional: run on every carved slot when its slab goes back to
                                   the pool (emptied and not kept by its class, trim, or
                                   taken by another class), and on reset/destroy */
    void *hook_ctx;           /**< passed to ctor and dtor */
    uint32_t flags;           /**< MP_FLAG_THREAD_SAFE */
    void *region;             /**< optional caller memory of region_bytes, 16-byte aligned;
                                   NULL = map */
} MP_SlabConfig;

#define MP_SLAB_CLASS_STATS_FIELDS(X)                                        \
    X(size_t, slot_bytes, "slot size of the class")                          \
    X(size_t, slab_count, "slabs owned by the class")                        \
    X(size_t, slots_in_use, "slots handed out")                              \
    X(size_t, slots_free, "free slots in the class's slabs")                 \
    X(uint64_t, alloc_count, "allocations served by the class")              \
    X(uint64_t, failed_alloc_count, "allocations the class could not serve")

typedef struct MP_SlabClassStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_SLAB_CLASS_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_SlabClassStats;

/** Slab allocator: size classes of fixed slots carved from slabs. O(1) alloc
 * and free; a class reuses its most recently freed slots first. A class
 * keeps its current slab and one more empty slab when they empty (so
 * alloc/free pairs never move slabs); other emptied slabs go back to the
 * region, trim and reset return all, and a class short of slabs takes other
 * classes' empty ones before failing. Serves sizes up to the largest class
 * only. All metadata lives outside the region (~8% of it for 8- and 16-byte
 * classes, less for larger ones); with MP_FLAG_THREAD_SAFE every call takes
 * the instance's lock (hooks and walk callbacks run under it and must not
 * call back into the instance). */
MP_API MP_Slab *mp_slab_create(size_t region_bytes);
MP_API MP_Slab *mp_slab_create_ex(const MP_SlabConfig *cfg);
MP_API size_t mp_slab_footprint(const MP_SlabConfig *cfg);
MP_API MP_Slab *mp_slab_create_in(void *memory, size_t size, const MP_SlabConfig *cfg);
/** A slot of the first class holding `size` (0 = the smallest), aligned to
 * the largest power of two dividing its slot size, capped by the region
 * base's alignment. NULL with MP_ERR_INVALID_ARGUMENT above the largest
 * class, MP_ERR_OUT_OF_MEMORY when the class has no free slot and no slab
 * is left. O(1). */
MP_API void *mp_slab_alloc(MP_Slab *s, size_t size);
/** As mp_slab_alloc from the first class whose slots are all `align`-aligned;
 * MP_ERR_ALIGNMENT if `align` is not a power of two or no class has it. */
MP_API void *mp_slab_alloc_aligned(MP_Slab *s, size_t size, size_t align);
/** As mp_slab_alloc with the whole slot zeroed. */
MP_API void *mp_slab_calloc(MP_Slab *s, size_t size);
/** In place while `size` fits the block's slot; else moves to the first
 * larger class with at least the block's class alignment (MP_ERR_ALIGNMENT
 * if none), copying the whole old slot. A refused pointer counts as a
 * rejected free, a failed move as a failed allocation; nothing else changes. */
MP_API MP_Status mp_slab_realloc(MP_Slab *s, void **ptr, size_t size);
/** O(1). MP_ERR_DOUBLE_FREE for the start of a free slot (also after its
 * emptied slab went back to the pool), MP_ERR_INVALID_ADDRESS for NULL,
 * foreign and interior pointers and for blocks freed by reset. */
MP_API MP_Status mp_slab_free(MP_Slab *s, void *ptr);
/** The slot size of a live block; 0 for any other pointer. */
MP_API size_t mp_slab_usable_size(const MP_Slab *s, const void *ptr);
/** Frees every block and returns every slab to the pool (dtor on every
 * carved slot). O(slabs used). */
MP_API MP_Status mp_slab_reset(MP_Slab *s);
/** O(classes + carved slots): bytes_requested is summed from the per-slot
 * requested sizes when read (the fast paths only store them). */
MP_API MP_Status mp_slab_stats(const MP_Slab *s, MP_HeapStats *out);
/** Free slots count as blocks of their slot size, pooled and never-used slabs
 * as blocks of slab_bytes. O(classes). */
MP_API MP_Status mp_slab_free_stats(const MP_Slab *s, MP_FreeStats *out);
/** Number of size classes. */
MP_API size_t mp_slab_class_count(const MP_Slab *s);
/** Counters of class `class_index` (< mp_slab_class_count); alloc_count
 * includes realloc moves into the class. */
MP_API MP_Status mp_slab_class_stats(const MP_Slab *s, size_t class_index, MP_SlabClassStats *out);
/** Calls `fn` in address order on every slot of each assigned slab and on
 * each pooled or never-used slab as one free block. O(slots). */
MP_API MP_Status mp_slab_walk(const MP_Slab *s, MP_WalkFn fn, void *ctx);
/** Number of violated invariants (0 = consistent; 1 for NULL). O(metadata). */
MP_API size_t mp_slab_check(const MP_Slab *s);
MP_API void *mp_slab_base(const MP_Slab *s);
/** Returns every empty slab the classes keep to the pool, then gives the
 * pages of pooled slabs of a mapped region back to the OS (caller memory
 * keeps its pages: 0 released). O(classes + pooled slabs). */
MP_API MP_Status mp_slab_trim(MP_Slab *s, size_t *released_bytes);
MP_API void mp_slab_destroy(MP_Slab *s);

/* Slab inline fast path: opt-in, for single-threaded instances.
 * mp_slab_alloc_inline and mp_slab_free_inline do in the caller's code
 * exactly what mp_slab_alloc and mp_slab_free do on their common path, on
 * the hot state below, which every control block begins with (MP_SlabHot
 * at offset 0; `classes` points at the instance's MP_SlabClassHot array).
 * The `hand` is one slot of the instance remembered with its class and the
 * bit address of its size entry, in one of three states:
 *  - FREE: the most recently freed slot, counted freed. Its size entry
 *    keeps its last requested size (the state is its free mark: the
 *    library's readers of entries count it free, and mark the entry when
 *    the slot leaves the hand); the headroom under the peak is stored
 *    without its bytes (see headroom_bytes);
 *  - LIVE: the slot the last allocation took from the hand, live (its size
 *    entry holds the requested size), until it is freed or moved;
 *  - EMPTY: neither.
 * The state is the low two bits of hand_word; the bits above count the
 * allocations the hand has served (FREE to LIVE) that are not yet folded
 * into its class's counters, and every one of them that is not the
 * current LIVE slot has been freed back into the hand. So one word holds
 * the state and both of the hand's counts: a round trip stores that word
 * twice (+MP_SLAB_HAND_TAKE_, then -MP_SLAB_HAND_GIVE_) and no class
 * counter. The library folds the counts into the hand's class before the
 * hand takes another class, forgets a LIVE slot, or is reset.
 * alloc finds the class of `size` in the byte table and takes a FREE hand
 * of that class: LIVE, the requested size in its entry. free of the LIVE
 * hand's own pointer needs no other check (the slot is known live, its
 * class and entry known): FREE, nothing else written. So a double free
 * finds the hand FREE and goes out of line, where it is refused, as every
 * foreign or interior pointer is.
 * Anything else goes to the out-of-line call with the same arguments, which
 * then decides, fails and counts exactly as if called directly: a NULL
 * instance, a size above the byte table, no FREE hand of the class (cache,
 * bitmap and refill paths), the free of any pointer but the LIVE hand's
 * (the out-of-line free checks it and puts it in the hand, a FREE hand of
 * its class going to the class's cache first; while the hand is FREE with
 * another class, the freed slot goes to its own class's cache), and
 * thread-safe instances (their limits are 0). The out-of-line calls use the
 * same hand, so the results, statuses, mp_last_error and statistics of both
 * paths are identical, and any mix of them is allowed on one instance. The
 * inline calls pay where a free follows an allocation of the same class
 * (an alloc+free pair costs about what the fixed pool's inline pair
 * does); with sizes of random classes most
 * calls go out of line after the inline tests, so call the out-of-line
 * functions there.
 * Sanitizers: as the fixed pool's inline calls (MP_SANITIZER_*): code built
 * with the library's sanitizer poisons and unpoisons inline, other code
 * always goes out of line (its limit is 0); under valgrind an instance with
 * a constructor hook always goes out of line (constructed slots come back
 * defined). Not thread-safe: the same rule as the out-of-line calls on an
 * instance created without MP_FLAG_THREAD_SAFE.
 * ABI: the layouts of MP_SlabHot, MP_SlabClassHot and MP_SlabCachedSlot and
 * MP_SlabHot's place at offset 0 of the control block are part of the ABI
 * of major version MP_VERSION_MAJOR. The fields are the library's; read or
 * write them only through these functions. */

/** A freed slot a class keeps aside: its address and the bit address of
 * its size entry. */
typedef struct MP_SlabCachedSlot {
    uint8_t *ptr;
    uint64_t entry_at;
} MP_SlabCachedSlot;

/** One size class (256 bytes). Requested-size entries are 2^size_width_log2
 * bits wide (4, 8, 16 or 32) at bit addresses (byte address * 8 + bit,
 * little-endian bit order); all bits set (free_mark) marks a free slot. */
typedef struct MP_SlabClassHot {
    uint32_t cached;          /* slots in `cache` */
    uint32_t size_width_log2; /* log2 of the bits per requested-size entry (2..5) */
    uint64_t *cursor;         /* L0 word of the active slab, or the instance's zero word */
    uint8_t *cursor_ptr;      /* address of the slot of bit 0 of *cursor */
    uint64_t cursor_at;       /* bit address of the size entry of the slot of bit 0 of *cursor */
    size_t slot_bytes;
    uint64_t div_magic;       /* ceil(2^64 / slot_bytes); 0 for unused entries */
    uint64_t alloc_count;     /* slots handed out: allocations and realloc moves into the class */
    uint64_t release_count;   /* slots given back: frees, realloc moves out, reset */
    uint32_t l0_offset;       /* byte offset of the L0 words in a metadata record of this class */
    uint32_t sizes_offset;    /* byte offset of the size entries in a record */
    uint32_t slots_per_slab;
    uint32_t l0_words;        /* L0 words per slab: ceil(slots / 64) */
    uint32_t l1_words;        /* L1 words per slab: ceil(l0_words / 64) */
    uint32_t active;          /* slab the class allocates from, UINT32_MAX if none */
    uint32_t partial_head;    /* first partially used slab, UINT32_MAX if none */
    uint32_t spare;           /* the kept empty slab, UINT32_MAX if none */
    uint32_t slab_count;      /* slabs assigned to the class, any state */
    uint32_t align_bytes;     /* alignment every slot address has */
    uint32_t free_mark;       /* all ones in 2^size_width_log2 bits */
    uint32_t reserved_;
    uint64_t failed_alloc_count;
    void *active_desc;        /* descriptor of `active`, NULL if none */
    MP_SlabCachedSlot cache[8]; /* freed slots, newest last (entries marked free) */
} MP_SlabClassHot;

#define MP_SLAB_HAND_EMPTY 0u
#define MP_SLAB_HAND_FREE 1u
#define MP_SLAB_HAND_LIVE 2u
/** The state bits of MP_SlabHot.hand_word. */
#define MP_SLAB_HAND_STATE_MASK 3u
/** Bits below the count of allocations the hand has served. */
#define MP_SLAB_HAND_COUNT_SHIFT 2u
/* What an allocation through the hand adds (FREE -> LIVE, one more
 * allocation) and a free of its LIVE slot subtracts (LIVE -> FREE). */
#define MP_SLAB_HAND_TAKE_ (((uint64_t)1 << MP_SLAB_HAND_COUNT_SHIFT) + MP_SLAB_HAND_LIVE - MP_SLAB_HAND_FREE)
#define MP_SLAB_HAND_GIVE_ ((uint64_t)(MP_SLAB_HAND_LIVE - MP_SLAB_HAND_FREE))

typedef struct MP_SlabHot {
    uint8_t *hand;            /* the hand's slot (unless EMPTY) */
    uint64_t hand_entry_at;   /* bit address of its size entry */
    uint64_t hand_word;       /* state (MP_SLAB_HAND_EMPTY / _FREE / _LIVE) in the low
                                 MP_SLAB_HAND_COUNT_SHIFT bits; above them the allocations
                                 the hand served not yet in its class's alloc_count (each
                                 freed back but a LIVE slot's, not yet in release_count) */
    uint32_t hand_class;      /* its class */
    uint32_t hand_width_log2; /* its class's size_width_log2 */
    size_t headroom_bytes;    /* bytes_in_use_peak - bytes_in_use - (slot bytes of a FREE hand),
                                 modulo 2^bits: "negative" when a new peak was reached
                                 while the hand is FREE */
    size_t alloc_limit[2];    /* plain [0] / sanitized [1] callers: sizes below go inline;
                                 0 = never inline (free too) */
    uint8_t *class_table;     /* class of (size + 7) >> 3, for sizes below the limit */
    MP_SlabClassHot *classes; /* the instance's classes */
    uint8_t sanitizer;        /* MP_SANITIZER_* the library was built with */
    uint8_t reserved_[7];
} MP_SlabHot;

#if MP_SANITIZER_HERE_ == MP_SANITIZER_NONE
#define MP_SLAB_HOT_LIMIT_(hot) ((hot)->alloc_limit[0])
#else
#define MP_SLAB_HOT_LIMIT_(hot) ((hot)->sanitizer == MP_SANITIZER_HERE_ ? (hot)->alloc_limit[1] : 0u)
#endif

static MP_HOT_COLD_ void *mp_slab_alloc_slow_(MP_Slab *s, size_t size) { return mp_slab_alloc(s, size); }
static MP_HOT_COLD_ MP_Status mp_slab_free_slow_(MP_Slab *s, void *ptr) { return mp_slab_free(s, ptr); }

/* Stores `v` in the size entry at bit address `at` of a class 2^w bits
 * wide: byte-aligned entries (w >= 3) are written whole, little-endian,
 * byte by byte (one store once compiled on little-endian machines), with
 * no load, 4-bit ones in their byte's half. */
static inline void mp_slab_entry_write_(uint64_t at, uint32_t w, uint32_t v) {
    uint8_t *e = (uint8_t *)(uintptr_t)(at >> 3);
    if (MP_HOT_LIKELY_(w == 3)) { /* slots of 16 .. 248 bytes: laid out straight */
        e[0] = (uint8_t)v;
    } else if (w == 4) {
        e[0] = (uint8_t)v;
        e[1] = (uint8_t)(v >> 8);
    } else if (w == 5) {
        e[0] = (uint8_t)v;
        e[1] = (uint8_t)(v >> 8);
        e[2] = (uint8_t)(v >> 16);
        e[3] = (uint8_t)(v >> 24);
    } else {
        unsigned shift = (unsigned)(at & 7u);
        e[0] = (uint8_t)((e[0] & ~(15u << shift)) | (v << shift));
    }
}

/** As mp_slab_alloc (same result, failure and statistics), inline when the
 * hand holds a FREE slot of the class of `size` on a single-threaded
 * instance. O(1). */
static inline void *mp_slab_alloc_inline(MP_Slab *s, size_t size) {
    if (MP_HOT_UNLIKELY_(s == NULL)) return mp_slab_alloc_slow_(s, size);
    MP_SlabHot *hot = (MP_SlabHot *)(void *)s;
    if (MP_HOT_UNLIKELY_(size >= MP_SLAB_HOT_LIMIT_(hot))) return mp_slab_alloc_slow_(s, size);
    uint32_t c = hot->class_table[(size + 7) >> 3];
    uint64_t word = hot->hand_word;
    if (MP_HOT_UNLIKELY_((word & MP_SLAB_HAND_STATE_MASK) != MP_SLAB_HAND_FREE || hot->hand_class != c))
        return mp_slab_alloc_slow_(s, size);
    uint8_t *p = hot->hand;
#if defined(__GNUC__)
    if (p == NULL) __builtin_unreachable(); /* a FREE hand holds a slot: the caller's NULL test folds away */
#endif
    hot->hand_word = word + MP_SLAB_HAND_TAKE_; /* LIVE, one more allocation */
    /* The hand's bytes count in use again: a "negative" stored headroom
     * means this slot makes a new peak (headroom 0). */
    if (MP_HOT_UNLIKELY_((intptr_t)hot->headroom_bytes < 0)) hot->headroom_bytes = 0;
    mp_slab_entry_write_(hot->hand_entry_at, hot->hand_width_log2, (uint32_t)size);
    MP_HOT_UNPOISON_(p, hot->classes[c].slot_bytes);
    return p;
}

/** As mp_slab_free (same status, mp_last_error and statistics), inline when
 * `ptr` is the LIVE hand of a single-threaded instance. O(1). */
static inline MP_Status mp_slab_free_inline(MP_Slab *s, void *ptr) {
    if (MP_HOT_UNLIKELY_(s == NULL)) return mp_slab_free_slow_(s, ptr);
    MP_SlabHot *hot = (MP_SlabHot *)(void *)s;
    uint64_t word = hot->hand_word;
    if (MP_HOT_UNLIKELY_((uint8_t *)ptr != hot->hand || (word & MP_SLAB_HAND_STATE_MASK) != MP_SLAB_HAND_LIVE ||
                         MP_SLAB_HOT_LIMIT_(hot) == 0))
        return mp_slab_free_slow_(s, ptr);
    hot->hand_word = word - MP_SLAB_HAND_GIVE_; /* FREE: the release is the count's */
    MP_HOT_POISON_(ptr, hot->classes[hot->hand_class].slot_bytes);
    return MP_OK;
}

/* ------------------------------------------------------------------- tlsf */

typedef struct MP_Tlsf MP_Tlsf;

/** Default front-cache budget of mp_tlsf_create (MP_TlsfConfig.cache_bytes). */
#define MP_TLSF_CACHE_DEFAULT_BYTES ((size_t)1 << 20)

typedef struct MP_TlsfConfig {
    size_t region_bytes; /**< bytes managed, 64 .. 64 GiB - 16 (16-byte block headers inside) */
    unsigned sl_log2;    /**< log2 of second-level subdivisions, 1..5; 0 = 5 */
    uint32_t flags;      /**< MP_FLAG_THREAD_SAFE */
    void *region;        /**< optional caller memory; NULL = map */
    size_t cache_bytes;  /**< front cache: at most this many bytes (headers included) of freed
                              blocks under 8 KiB are kept for reuse without coalescing; 0 = off
                              (every free coalesces at once); MP_TLSF_CACHE_DEFAULT_BYTES is
                              what mp_tlsf_create uses. Costs up to 10 KiB of control block.
                              Cached blocks are coalesced when an allocation finds no room,
                              and before the heap grows past the highest block it has ever
                              handed out (then not again until it has grown by 1/16). */
    size_t small_bytes;  /**< small-object spans: requests of 1 .. small_bytes bytes (at most
                              MP_TLSF_SMALL_MAX_BYTES) with alignment <= 16 are served from
                              16 KiB spans of equal slots, without headers; 0 = off. Costs
                              about 1% of the region in control block (0.9% mapped lazily). */
} MP_TlsfConfig;

/** Largest MP_TlsfConfig.small_bytes: slots are 16, 32, ... 256 bytes, then
 * 288, 320, ... 512 (24 classes). */
#define MP_TLSF_SMALL_MAX_BYTES ((size_t)512)
/** Bytes of one small-object span: a block of the heap aligned to its size. */
#define MP_TLSF_SPAN_BYTES ((size_t)16384)

/** Two-level segregated fit: O(1) alloc and free. Without a cache every free
 * coalesces at once. With one (mp_tlsf_create's default) a freed block under
 * 8 KiB may instead wait in a per-size-class LIFO that the next alloc of a
 * fitting size takes back whole (up to ~6% larger than asked, as usable
 * bytes show); cached blocks count as free in free_stats and walk, but are
 * coalesced only when an alloc, realloc or aligned alloc finds no room (then
 * it retries), by trim, or by reset (which drops them). Aligned requests
 * (align > 16) never take from the cache. Block headers carry a tag keyed
 * per instance (and per reset): overwritten headers, and headers copied to
 * another address or from another instance, fail validation; the tag is no
 * MAC, though: code that reads a header can derive the key, and headers it
 * then forges can make TLSF hand out bytes of a live block, never bytes
 * outside the region.
 *
 * Small-object spans (MP_TlsfConfig.small_bytes, off by default): requests
 * of 1 .. small_bytes bytes with alignment <= 16 take a slot of their class
 * (16, 32, ... 256, then 288, ... 512 bytes; usable size = the slot) in a
 * span: a block of MP_TLSF_SPAN_BYTES aligned to its size, cut into equal
 * slots with no header each; which slots are free is a bitmap outside the
 * region, so a free writes nothing into the heap and an overrun from one
 * slot into the next corrupts no metadata (past a span's last slot it
 * reaches the next block's header, validated as any). A free or realloc of anything
 * but a live slot's start is refused (MP_ERR_INVALID_ADDRESS,
 * MP_ERR_DOUBLE_FREE) and changes nothing. Spans fill from their lowest
 * free slot; an emptied span is kept for reuse by any class (unless it is
 * its class's only span with room: it stays there); trim, reset and an
 * allocation that finds no room give empty spans back to the heap. When the heap has no room for a new span, a small
 * request gets an ordinary block. A small object counts its slot size as
 * requested bytes; walk and free_stats report a span as its slots. */
MP_API MP_Tlsf *mp_tlsf_create(size_t region_bytes);
MP_API MP_Tlsf *mp_tlsf_create_ex(const MP_TlsfConfig *cfg);
MP_API size_t mp_tlsf_footprint(const MP_TlsfConfig *cfg);
MP_API MP_Tlsf *mp_tlsf_create_in(void *memory, size_t size, const MP_TlsfConfig *cfg);
MP_API void *mp_tlsf_alloc(MP_Tlsf *t, size_t size);
MP_API void *mp_tlsf_alloc_aligned(MP_Tlsf *t, size_t size, size_t align);
/** As alloc, and zeroes the block's whole usable size (mp_tlsf_usable_size),
 * so the slack a later in-place realloc grows into reads as zeros too. */
MP_API void *mp_tlsf_calloc(MP_Tlsf *t, size_t size);
/** Grows or shrinks in place when the next block allows, else moves keeping
 * the alignment asked at allocation; on failure `*ptr` and its block stay.
 * A small object (small_bytes) stays in its slot while the size keeps its
 * class, else moves; one that cannot move to a smaller size stays.
 * An address that is not a live block counts in rejected_free_count. */
MP_API MP_Status mp_tlsf_realloc(MP_Tlsf *t, void **ptr, size_t size);
/** O(1). MP_ERR_INVALID_ADDRESS (not a block start), MP_ERR_DOUBLE_FREE (the
 * block is free or cached), or MP_ERR_CORRUPTION when a header or link next
 * to the block fails validation; nothing changes on error. A block the cache
 * takes is validated by its own header only: a corrupted neighbour is
 * reported when the cache is flushed. */
MP_API MP_Status mp_tlsf_free(MP_Tlsf *t, void *ptr);
/** Usable bytes of a live block; 0 for anything else (free or cached blocks included). */
MP_API size_t mp_tlsf_usable_size(const MP_Tlsf *t, const void *ptr);
MP_API MP_Status mp_tlsf_reset(MP_Tlsf *t);
MP_API MP_Status mp_tlsf_stats(const MP_Tlsf *t, MP_HeapStats *out);
/** O(blocks). Cached blocks count as free blocks; as they are not merged with
 * their free neighbours, free_block_count and fragmentation can be higher
 * than after a flush (mp_tlsf_trim) for the same free bytes. */
MP_API MP_Status mp_tlsf_free_stats(const MP_Tlsf *t, MP_FreeStats *out);
/** Visits every block in address order; cached blocks are reported as free. */
MP_API MP_Status mp_tlsf_walk(const MP_Tlsf *t, MP_WalkFn fn, void *ctx);
MP_API size_t mp_tlsf_check(const MP_Tlsf *t);
MP_API void *mp_tlsf_base(const MP_Tlsf *t);
/** Flushes the front cache (coalescing its blocks) and gives empty spans
 * back to the heap, then returns the whole pages inside free blocks of a
 * mapped region to the OS. */
MP_API MP_Status mp_tlsf_trim(MP_Tlsf *t, size_t *released_bytes);
MP_API void mp_tlsf_destroy(MP_Tlsf *t);

/* --------------------------------------------------------------- fit list */

typedef struct MP_FitList MP_FitList;

typedef enum MP_FitPolicy {
    MP_FIT_FIRST = 0, /**< lowest address that fits, O(log n) */
    MP_FIT_BEST = 1,  /**< smallest block that fits, lowest address on ties;
                           O(1) search up to 4 KiB, O(log n) above */
    MP_FIT_WORST = 2  /**< largest block, lowest address on ties, O(log n) */
} MP_FitPolicy;

typedef struct MP_FitListConfig {
    size_t region_bytes;
    MP_FitPolicy policy;
    uint32_t flags; /**< MP_FLAG_THREAD_SAFE */
    void *region;   /**< optional caller memory; NULL = map */
} MP_FitListConfig;

/** Free-list allocator with first-, best- or worst-fit placement, splitting
 * and coalescing; blocks are multiples of 16 bytes. All metadata lives out of
 * band (writes into blocks, even freed ones, reach only user data): 6 bits
 * per 16-byte granule plus index nodes for the free blocks, so
 * mp_fitlist_footprint is about 1.065 x region_bytes. A create_in instance
 * holds index nodes for about one free block per 768 bytes of region: beyond
 * that, placement stays exact but scans the region (O(region / 1 KiB)) until
 * frees bring the count back down; and it refuses (MP_ERR_OUT_OF_MEMORY)
 * zero-byte or over-aligned 16-byte blocks, and blocks aligned to 512 KiB or
 * more, beyond one live such block per 64 KiB of region (at least 32).
 * Instances whose metadata comes from malloc grow instead. Aligned requests
 * try the first 16 candidates in policy order for an exact fit, then the
 * first block of size + align - 16 bytes. */
MP_API MP_FitList *mp_fitlist_create(size_t region_bytes, MP_FitPolicy policy);
MP_API MP_FitList *mp_fitlist_create_ex(const MP_FitListConfig *cfg);
MP_API size_t mp_fitlist_footprint(const MP_FitListConfig *cfg);
MP_API MP_FitList *mp_fitlist_create_in(void *memory, size_t size, const MP_FitListConfig *cfg);
MP_API void *mp_fitlist_alloc(MP_FitList *f, size_t size);
MP_API void *mp_fitlist_alloc_aligned(MP_FitList *f, size_t size, size_t align);
MP_API void *mp_fitlist_calloc(MP_FitList *f, size_t size);
MP_API MP_Status mp_fitlist_realloc(MP_FitList *f, void **ptr, size_t size);
MP_API MP_Status mp_fitlist_free(MP_FitList *f, void *ptr);
MP_API size_t mp_fitlist_usable_size(const MP_FitList *f, const void *ptr);
MP_API MP_Status mp_fitlist_reset(MP_FitList *f);
MP_API MP_Status mp_fitlist_stats(const MP_FitList *f, MP_HeapStats *out);
MP_API MP_Status mp_fitlist_free_stats(const MP_FitList *f, MP_FreeStats *out);
MP_API MP_Status mp_fitlist_walk(const MP_FitList *f, MP_WalkFn fn, void *ctx);
MP_API size_t mp_fitlist_check(const MP_FitList *f);
MP_API void *mp_fitlist_base(const MP_FitList *f);
MP_API MP_Status mp_fitlist_trim(MP_FitList *f, size_t *released_bytes);
MP_API void mp_fitlist_destroy(MP_FitList *f);

/* ----------------------------------------------------------- managed pool */

/*
 * mp_pool: the managed tier. Blocks are named by handles instead of pointers,
 * belong to owners (tenants, processes) with optional byte limits, can be
 * pinned, and unpinned blocks may be moved by compaction. Any raw family
 * serves as the backend. Every call returns MP_Status and changes nothing on
 * error, except that refused calls count in the rejected_* / failure stats.
 * All metadata (handle table, owner table) lives on the native heap, never in
 * the region, so a region may be caller memory such as a JavaScript
 * SharedArrayBuffer's bytes.
 */

typedef struct MP_Pool MP_Pool;

/** A block handle: an integer below 2^53 (exact in a JavaScript number) that
 * packs a slot index, the slot's generation and an 8-bit tag of the pool that
 * issued it. 0 is never a valid handle. A freed, stale, forged or foreign
 * handle is refused with a status (foreign: issued by another pool; pools
 * hold distinct tags while at most 256 are alive at once); freeing any
 * handle that was freed before is MP_ERR_DOUBLE_FREE even after its slot
 * was reused. */
typedef uint64_t MP_Handle;
#define MP_HANDLE_NONE ((MP_Handle)0)

/** Where a pool's blocks come from. */
typedef enum MP_PoolStrategy {
    MP_STRATEGY_FIRST_FIT = 0, /**< fit list, lowest address: compaction is complete */
    MP_STRATEGY_BEST_FIT = 1,  /**< fit list, smallest block that fits */
    MP_STRATEGY_WORST_FIT = 2, /**< fit list, largest block */
    MP_STRATEGY_BUDDY = 3,     /**< binary buddy system, power-of-two blocks */
    MP_STRATEGY_SLAB = 4,      /**< slab size classes up to max_block_bytes (default 4096) */
    MP_STRATEGY_TLSF = 5,      /**< two-level segregated fit, O(1) */
    MP_STRATEGY_AUTO = 6       /**< small sizes from slab classes, medium from TLSF,
                                    large from buddy (see MP_PoolConfig) */
} MP_PoolStrategy;

/** Memory pressure, from used_bytes / total_bytes: low < 60% <= medium < 80%
 * <= high < 95% <= critical. */
typedef enum MP_PressureLevel {
    MP_PRESSURE_LOW = 0,
    MP_PRESSURE_MEDIUM = 1,
    MP_PRESSURE_HIGH = 2,
    MP_PRESSURE_CRITICAL = 3
} MP_PressureLevel;

/** Called after an operation moved the pool to another pressure level, once
 * per operation, outside the pool's lock (it may call the pool, except
 * mp_pool_destroy). On thread-safe pools, calls from different threads may
 * arrive in either order. */
typedef void (*MP_PressureFn)(MP_Pool *pool, MP_PressureLevel old_level, MP_PressureLevel new_level,
                              void *ctx);

struct MP_DefragResult;

/** Called after each automatic compaction pass (one that mp_pool_alloc ran,
 * counted by auto_defrag_count, whether or not the allocation then
 * succeeded), once per pass, outside the pool's lock, in the allocating
 * thread, before any pressure callback of the same call. `result` is valid
 * during the call only. It may call the pool, except mp_pool_destroy. */
typedef void (*MP_AutoDefragFn)(MP_Pool *pool, const struct MP_DefragResult *result, void *ctx);

/** mp_pool_alloc flag: the block is pinned from the start (never moved). */
#define MP_ALLOC_PINNED 0x1u

typedef struct MP_PoolConfig {
    size_t pool_bytes;      /**< bytes of the region, >= 4096 (AUTO: >= 32 KiB) */
    size_t min_block_bytes; /**< smaller requests are served (and charged) as this many
                                 bytes; 0 = 16 */
    size_t max_block_bytes; /**< larger requests fail with MP_ERR_LIMIT_EXCEEDED; 0 = no
                                 limit but the pool (slab: 4096); a block holds at
                                 most 32 GiB (pools above 32 GiB cap this there) */
    size_t alignment;       /**< alignment of every block's real address, a power of two
                                 <= 4096; 0 (or a power of two below 16) = 16 */
    MP_PoolStrategy strategy;
    int defrag_enabled;      /**< non-zero: when an allocation fails although enough bytes
                                  are free and fragmentation >= defrag_threshold, compact
                                  and retry once. mp_pool_defragment works either way. */
    double defrag_threshold; /**< fragmentation ratio in (0, 1]; 0 = 0.3 */
    size_t auto_small_max_bytes;  /**< AUTO: sizes <= this go to slab classes; 0 = 256 */
    size_t auto_medium_max_bytes; /**< AUTO: sizes <= this go to TLSF, above to buddy; 0 = 65536 */
    uint32_t auto_small_percent;  /**< AUTO: share of the region for the slab part; 0 = 25 */
    uint32_t auto_large_percent;  /**< AUTO: share for the buddy part; 0 = 25; TLSF gets the
                                       rest. A tier that is full falls back to the others. */
    size_t max_blocks;       /**< handle table capacity (live blocks at most), <= 2^32 - 1;
                                  0 = pool_bytes / min_block_bytes. The table is mapped
                                  lazily: 48 bytes per slot ever used. */
    uint32_t flags;          /**< MP_FLAG_THREAD_SAFE: one lock around every operation */
    void *region;            /**< optional caller memory of pool_bytes bytes (16-byte
                                  aligned); NULL = map from the OS */
    MP_PressureFn pressure_fn; /**< optional, see MP_PressureFn */
    void *pressure_ctx;        /**< passed to pressure_fn */
    MP_AutoDefragFn auto_defrag_fn; /**< optional, see MP_AutoDefragFn */
    void *auto_defrag_ctx;          /**< passed to auto_defrag_fn */
} MP_PoolConfig;

/* X(type, name, description): the one list of pool metrics (seed names in
 * brackets). Fields marked (walk) cost O(free blocks); the others are O(1). */
#define MP_POOL_STATS_FIELDS(X)                                                                   \
    X(size_t, total_bytes, "bytes of the region [total_size]")                                    \
    X(size_t, used_bytes, "bytes charged to live blocks (usable sizes) [used_size]")              \
    X(size_t, free_bytes, "total_bytes - used_bytes [free_size]")                                 \
    X(double, utilization, "used_bytes / total_bytes [utilization]")                              \
    X(uint64_t, allocation_count, "successful allocations since create [num_allocations]")        \
    X(uint64_t, deallocation_count, "blocks freed since create [num_deallocations]")              \
    X(size_t, free_block_count, "free blocks of the backends (walk) [num_free_blocks]")           \
    X(size_t, allocated_block_count, "live blocks [num_allocated_blocks]")                        \
    X(double, fragmentation_ratio, "1 - largest free block / free bytes of the backends (walk)")  \
    X(size_t, peak_usage_bytes, "highest used_bytes since create [peak_usage]")                   \
    X(uint64_t, allocation_failure_count, "allocations refused or failed [allocation_failures]")  \
    X(size_t, largest_free_block_bytes, "largest single free block of the backends (walk)")       \
    X(size_t, backend_free_bytes, "bytes in free blocks of the backends (walk)")                  \
    X(size_t, requested_bytes, "bytes callers asked for, summed over live blocks")                \
    X(size_t, pinned_block_count, "live blocks that are pinned")                                  \
    X(size_t, owner_count, "owners known to the pool (records are kept, with their peak)")        \
    X(size_t, handle_capacity, "max_blocks: slots in the handle table")                           \
    X(size_t, retired_slot_count, "slots whose generations are used up, never reused")            \
    X(uint64_t, rejected_free_count, "frees refused (stale, double, forged, foreign, owner)")      \
    X(uint64_t, rejected_access_count, "accesses refused (handle, owner, bounds, argument)")       \
    X(uint64_t, defrag_count, "defragmentation passes, automatic ones included")                  \
    X(uint64_t, auto_defrag_count, "passes started by a failing allocation")                      \
    X(uint64_t, relocation_count, "blocks moved since create; views taken earlier are stale "     \
                                  "once it changes")                                              \
    X(uint64_t, bytes_moved_total, "bytes copied by defragmentation since create")                \
    X(uint32_t, pressure_level, "an MP_PressureLevel")

typedef struct MP_PoolStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_POOL_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_PoolStats;

/* Per owner counters, all O(1). */
#define MP_POOL_OWNER_STATS_FIELDS(X)                                                  \
    X(size_t, bytes_in_use, "bytes charged to the owner's live blocks (usable sizes)") \
    X(size_t, bytes_in_use_peak, "highest bytes_in_use")                               \
    X(size_t, block_count, "live blocks of the owner")                                 \
    X(size_t, limit_bytes, "bytes_in_use may not exceed this; 0 = no limit")           \
    X(uint64_t, alloc_count, "successful allocations of the owner")                    \
    X(uint64_t, free_count, "blocks of the owner freed")                               \
    X(uint64_t, limit_failure_count, "allocations refused by the limit")

typedef struct MP_PoolOwnerStats {
#define MP_STATS_MEMBER_(type, name, text) type name;
    MP_POOL_OWNER_STATS_FIELDS(MP_STATS_MEMBER_)
#undef MP_STATS_MEMBER_
} MP_PoolOwnerStats;

/** What one mp_pool_defragment pass did. */
typedef struct MP_DefragResult {
    size_t bytes_moved;            /**< bytes copied: the requested size of every moved block */
    size_t blocks_moved;           /**< blocks whose address changed */
    double fragmentation_before;   /**< fragmentation_ratio before the pass */
    double fragmentation_after;    /**< and after it */
    int complete;                  /**< 1 if the pass reached the end; 0 if the budget
                                        stopped it (the next pass resumes there) */
} MP_DefragResult;

/** What mp_pool_block_info reports about a live block. */
typedef struct MP_PoolBlockInfo {
    size_t offset;       /**< bytes from mp_pool_base; valid until the relocation count changes */
    size_t size_bytes;   /**< bytes requested: the accessible size */
    size_t usable_bytes; /**< bytes charged to the owner */
    uint32_t owner;
    int pinned;
} MP_PoolBlockInfo;

/** Creates a pool of `pool_bytes` bytes with defaults for everything else
 * (automatic compaction on); NULL on invalid arguments or when memory cannot
 * be had (mp_last_error). */
MP_API MP_Pool *mp_pool_create(size_t pool_bytes, MP_PoolStrategy strategy);
/** Creates a pool from every option of MP_PoolConfig; NULL on failure. */
MP_API MP_Pool *mp_pool_create_ex(const MP_PoolConfig *cfg);
/** Releases the pool, its metadata and, if it mapped it, its region; every
 * handle becomes invalid. NULL is ignored. */
MP_API void mp_pool_destroy(MP_Pool *pool);
/** Allocates `size` bytes (>= 1) for `owner` and stores the handle in `*out`.
 * `flags`: MP_ALLOC_PINNED. Fails with MP_ERR_OUT_OF_MEMORY (mp_last_error
 * has requested, available and largest free bytes), MP_ERR_LIMIT_EXCEEDED
 * (size above max_block_bytes, the owner's limit, a full handle table, or
 * every slot's generations used up, after at least 2^44 allocations) or
 * MP_ERR_INVALID_ARGUMENT; `*out` is untouched on failure. Cost: the
 * backend's alloc plus O(1); an automatic compaction when enabled and needed. */
MP_API MP_Status mp_pool_alloc(MP_Pool *pool, size_t size, uint32_t owner, uint32_t flags,
                               MP_Handle *out);
/** Frees a live block. MP_ERR_DOUBLE_FREE for any handle this pool issued
 * and freed before (also after its slot was reused), MP_ERR_INVALID_HANDLE
 * for forged or foreign ones. O(1) plus the backend's free. */
MP_API MP_Status mp_pool_free(MP_Pool *pool, MP_Handle handle);
/** As mp_pool_free, but MP_ERR_PROTECTION if the block belongs to another owner. */
MP_API MP_Status mp_pool_free_as(MP_Pool *pool, uint32_t owner, MP_Handle handle);
/** Copies `len` bytes at `offset` of the block to `dst`. MP_ERR_OUT_OF_BOUNDS
 * unless offset + len <= the block's size; MP_ERR_INVALID_HANDLE for a handle
 * that is not live; MP_ERR_CORRUPTION when the block's size cannot be known
 * (a TLSF pool keeps it in the block's header: a write past the end of the
 * block before it overwrote that header). Every access below does the same. */
MP_API MP_Status mp_pool_read(MP_Pool *pool, MP_Handle handle, size_t offset, void *dst, size_t len);
/** Copies `len` bytes from `src` into the block at `offset`; bounds as mp_pool_read. */
MP_API MP_Status mp_pool_write(MP_Pool *pool, MP_Handle handle, size_t offset, const void *src,
                               size_t len);
/** Copies `len` bytes between two blocks (or within one; overlap allowed). */
MP_API MP_Status mp_pool_copy(MP_Pool *pool, MP_Handle dst, size_t dst_offset, MP_Handle src,
                              size_t src_offset, size_t len);
/** Sets `len` bytes of the block at `offset` to `byte`. */
MP_API MP_Status mp_pool_fill(MP_Pool *pool, MP_Handle handle, size_t offset, uint8_t byte, size_t len);
/** The owner-checked forms: MP_ERR_PROTECTION when a block belongs to
 * another owner than `owner`, checked after the handle and before bounds. */
MP_API MP_Status mp_pool_read_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset,
                                 void *dst, size_t len);
MP_API MP_Status mp_pool_write_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset,
                                  const void *src, size_t len);
MP_API MP_Status mp_pool_copy_as(MP_Pool *pool, uint32_t owner, MP_Handle dst, size_t dst_offset,
                                 MP_Handle src, size_t src_offset, size_t len);
MP_API MP_Status mp_pool_fill_as(MP_Pool *pool, uint32_t owner, MP_Handle handle, size_t offset,
                                 uint8_t byte, size_t len);
/** Byte offset of the block from mp_pool_base and its size, for zero-copy
 * views; valid until mp_pool_relocation_count changes. O(1). */
MP_API MP_Status mp_pool_locate(const MP_Pool *pool, MP_Handle handle, size_t *offset, size_t *size);
/** Offset, sizes, owner and pin state of a live block. O(1).
 * MP_ERR_CORRUPTION as for mp_pool_read (also mp_pool_locate). */
MP_API MP_Status mp_pool_block_info(const MP_Pool *pool, MP_Handle handle, MP_PoolBlockInfo *out);
/** The handle table as a binding reads it to resolve handles itself, with
 * no call per access (the Node addon's MemoryPool does, for write, read and
 * view). Entry i (i = handle & index_mask) is entry_bytes bytes at
 * entries + i * entry_bytes. While the block of handle h is live, the
 * 64-bit word at handle_offset of entry i equals h and the pointer at
 * address_offset is the block's address (compaction updates it); any other
 * value there means h is not live, and mp_pool_locate tells why. No handle
 * is 0, and an entry never used holds 0: test h != 0 first. Neither
 * word is in the region, so writes into the region cannot forge them. The
 * table never moves and stays mapped until mp_pool_destroy. It holds no
 * size (a binding keeps the requested size of the handles it allocated;
 * a handle's size never changes) and such a read does not validate the
 * block's header as mp_pool_locate does. Read it only between calls on
 * the pool: MP_ERR_UNSUPPORTED for thread-safe pools, whose other threads
 * write it at any time. O(1). */
typedef struct MP_PoolHandleTable {
    const void *entries;   /**< entry 0 */
    size_t entry_bytes;    /**< bytes from one entry to the next */
    size_t handle_offset;  /**< of the uint64_t handle word in an entry */
    size_t address_offset; /**< of the block address (uint8_t *) in an entry */
    uint64_t index_mask;   /**< handle & index_mask is the entry index */
    size_t entry_count;    /**< index_mask + 1: every index a handle can carry */
} MP_PoolHandleTable;
MP_API MP_Status mp_pool_handle_table(const MP_Pool *pool, MP_PoolHandleTable *out);
/** Start of the region; block addresses are base + offset. */
MP_API void *mp_pool_base(const MP_Pool *pool);
/** Pins a live block: compaction never moves it. Idempotent. O(1). */
MP_API MP_Status mp_pool_pin(MP_Pool *pool, MP_Handle handle);
/** Unpins a live block. Idempotent. O(1). */
MP_API MP_Status mp_pool_unpin(MP_Pool *pool, MP_Handle handle);
/** Counters of `owner`; all zero for an owner the pool has never seen. O(1). */
MP_API MP_Status mp_pool_owner_stats(const MP_Pool *pool, uint32_t owner, MP_PoolOwnerStats *out);
/** Sets the most bytes `owner` may have in use (0 = no limit). A limit below
 * the current use only refuses further allocations. MP_ERR_OUT_OF_MEMORY if
 * the owner record cannot be allocated. */
MP_API MP_Status mp_pool_set_owner_limit(MP_Pool *pool, uint32_t owner, size_t limit_bytes);
/** Frees every block of `owner`, pinned ones included; `*freed_blocks`
 * (optional) gets their number. Scans the handle table: O(slots used so far)
 * (owners keep no block list, so alloc and free stay O(1) and touch one slot). */
MP_API MP_Status mp_pool_free_owner(MP_Pool *pool, uint32_t owner, size_t *freed_blocks);
/** Stores up to `capacity` handles of `owner`'s live blocks in `out`, in
 * handle-table order (ascending slot index, not allocation order), and their
 * total number in `*total` (call with capacity 0 to size the array: O(1)).
 * Scans the handle table until `out` is full: O(slots used so far). */
MP_API MP_Status mp_pool_owner_blocks(const MP_Pool *pool, uint32_t owner, MP_Handle *out,
                                      size_t capacity, size_t *total);
/** Compaction: moves unpinned blocks to lower addresses to close holes,
 * updates the handle table and bumps the relocation count by the blocks
 * moved. `budget_bytes` (0 = unlimited) stops the pass once that many bytes
 * were copied (at most one block more); the next pass resumes where it
 * stopped. A complete pass leaves, with nothing pinned: TLSF and the fit
 * lists (first, best, worst) one free block per backend (every block slid
 * against the one below it; alignments above 16 may leave gaps under one
 * alignment step); buddy at most one free block per order; slab
 * ceil(live / slots per slab) slabs per class (consolidation; emptied slabs
 * are released). Pinned blocks stay and the others pack around them.
 * Usable sizes, and so owner charges, never change. `out` is optional.
 * O(n) in live blocks (radix sort, O(1) or O(log n) per slide; buddy:
 * O(n) per order per sweep) plus the bytes copied. */
MP_API MP_Status mp_pool_defragment(MP_Pool *pool, size_t budget_bytes, MP_DefragResult *out);
/** The number of automatic compaction passes so far (auto_defrag_count) and,
 * in `*out` (optional), what the most recent one did; 0 and a zeroed result
 * before the first. Polling alternative to MP_AutoDefragFn. O(1). */
MP_API uint64_t mp_pool_last_auto_defrag(const MP_Pool *pool, MP_DefragResult *out);
/** Blocks moved since create: a view (offset from mp_pool_locate) is valid
 * while this value is unchanged. O(1). */
MP_API uint64_t mp_pool_relocation_count(const MP_Pool *pool);
/** Fills `out` with every metric; O(free blocks of the backends). */
MP_API MP_Status mp_pool_stats(const MP_Pool *pool, MP_PoolStats *out);
/** The current pressure level. O(1). */
MP_API MP_PressureLevel mp_pool_pressure_level(const MP_Pool *pool);
/** Replaces the pressure callback (NULL removes it). */
MP_API MP_Status mp_pool_set_pressure_callback(MP_Pool *pool, MP_PressureFn fn, void *ctx);
/** Verifies handle table vs backend blocks vs owner accounting vs counters;
 * returns the number of violated invariants (0 = consistent). O(n log n). */
MP_API size_t mp_pool_check(const MP_Pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_POOL_CORE_H */
