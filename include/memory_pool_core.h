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
 * validated block headers of TLSF and the fit-list.
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

/* ------------------------------------------------------------- fixed pool */

typedef struct MP_FixedPool MP_FixedPool;

/* X(type, name, description): the one list of fixed-pool statistics. */
#define MP_FIXED_POOL_STATS_FIELDS(X)                                            \
    X(size_t, allocated, "slots in use now")                                     \
    X(size_t, capacity, "slots in the pool")                                     \
    X(size_t, object_size, "bytes requested per object")                         \
    X(size_t, slot_size_bytes, "bytes between two slots (object size rounded)")  \
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
                             largest power of two dividing object_size, at most 16 */
    uint32_t flags;     /**< MP_FLAG_THREAD_SAFE */
    void *region;       /**< optional caller memory for the slots (metadata is
                             allocated from the heap); NULL = map from the OS */
    size_t region_bytes; /**< size of `region`, >= mp_fixed_pool_region_bytes(cfg) */
} MP_FixedPoolConfig;

/** Creates a pool of `capacity` objects of `object_size` bytes in a region
 * mapped from the OS; NULL on invalid arguments or when memory cannot be had
 * (see mp_last_error). O(1): slots are touched lazily. */
MP_API MP_FixedPool *mp_fixed_pool_create(size_t object_size, size_t capacity);
/** As mp_fixed_pool_create with every option of MP_FixedPoolConfig. */
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
 * O(capacity / 64). Not thread-safe even on thread-safe pools. */
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
    size_t region_bytes;    /**< bytes managed; rounded down to a multiple of
                                 the largest block */
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
    size_t region_bytes;      /**< bytes managed, a whole number of slabs */
    size_t slab_bytes;        /**< bytes per slab, power of two >= 4096; 0 = 65536 */
    const size_t *class_sizes; /**< ascending slot sizes; NULL = 8, 16, 32, ... max_class_bytes */
    size_t class_count;       /**< entries in class_sizes, <= MP_SLAB_MAX_CLASSES */
    size_t max_class_bytes;   /**< largest default class; 0 = 4096 */
    MP_SlabObjectFn ctor;     /**< optional: run when a slot is first carved (object caching) */
    MP_SlabObjectFn dtor;     /**< optional: run when a slab holding constructed slots is returned */
    void *hook_ctx;           /**< passed to ctor and dtor */
    uint32_t flags;           /**< MP_FLAG_THREAD_SAFE */
    void *region;             /**< optional caller memory; NULL = map */
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

/** Slab allocator: size classes of fixed slots carved from slabs; empty slabs
 * go back to the region. O(1) alloc and free. */
MP_API MP_Slab *mp_slab_create(size_t region_bytes);
MP_API MP_Slab *mp_slab_create_ex(const MP_SlabConfig *cfg);
MP_API size_t mp_slab_footprint(const MP_SlabConfig *cfg);
MP_API MP_Slab *mp_slab_create_in(void *memory, size_t size, const MP_SlabConfig *cfg);
MP_API void *mp_slab_alloc(MP_Slab *s, size_t size);
MP_API void *mp_slab_alloc_aligned(MP_Slab *s, size_t size, size_t align);
MP_API void *mp_slab_calloc(MP_Slab *s, size_t size);
MP_API MP_Status mp_slab_realloc(MP_Slab *s, void **ptr, size_t size);
MP_API MP_Status mp_slab_free(MP_Slab *s, void *ptr);
MP_API size_t mp_slab_usable_size(const MP_Slab *s, const void *ptr);
MP_API MP_Status mp_slab_reset(MP_Slab *s);
MP_API MP_Status mp_slab_stats(const MP_Slab *s, MP_HeapStats *out);
MP_API MP_Status mp_slab_free_stats(const MP_Slab *s, MP_FreeStats *out);
/** Number of size classes. */
MP_API size_t mp_slab_class_count(const MP_Slab *s);
MP_API MP_Status mp_slab_class_stats(const MP_Slab *s, size_t class_index, MP_SlabClassStats *out);
MP_API MP_Status mp_slab_walk(const MP_Slab *s, MP_WalkFn fn, void *ctx);
MP_API size_t mp_slab_check(const MP_Slab *s);
MP_API void *mp_slab_base(const MP_Slab *s);
MP_API MP_Status mp_slab_trim(MP_Slab *s, size_t *released_bytes);
MP_API void mp_slab_destroy(MP_Slab *s);

/* ------------------------------------------------------------------- tlsf */

typedef struct MP_Tlsf MP_Tlsf;

typedef struct MP_TlsfConfig {
    size_t region_bytes; /**< bytes managed */
    unsigned sl_log2;    /**< log2 of second-level subdivisions, 1..5; 0 = 5 */
    uint32_t flags;      /**< MP_FLAG_THREAD_SAFE */
    void *region;        /**< optional caller memory; NULL = map */
} MP_TlsfConfig;

/** Two-level segregated fit: O(1) alloc and free, immediate coalescing. */
MP_API MP_Tlsf *mp_tlsf_create(size_t region_bytes);
MP_API MP_Tlsf *mp_tlsf_create_ex(const MP_TlsfConfig *cfg);
MP_API size_t mp_tlsf_footprint(const MP_TlsfConfig *cfg);
MP_API MP_Tlsf *mp_tlsf_create_in(void *memory, size_t size, const MP_TlsfConfig *cfg);
MP_API void *mp_tlsf_alloc(MP_Tlsf *t, size_t size);
MP_API void *mp_tlsf_alloc_aligned(MP_Tlsf *t, size_t size, size_t align);
MP_API void *mp_tlsf_calloc(MP_Tlsf *t, size_t size);
MP_API MP_Status mp_tlsf_realloc(MP_Tlsf *t, void **ptr, size_t size);
MP_API MP_Status mp_tlsf_free(MP_Tlsf *t, void *ptr);
MP_API size_t mp_tlsf_usable_size(const MP_Tlsf *t, const void *ptr);
MP_API MP_Status mp_tlsf_reset(MP_Tlsf *t);
MP_API MP_Status mp_tlsf_stats(const MP_Tlsf *t, MP_HeapStats *out);
MP_API MP_Status mp_tlsf_free_stats(const MP_Tlsf *t, MP_FreeStats *out);
MP_API MP_Status mp_tlsf_walk(const MP_Tlsf *t, MP_WalkFn fn, void *ctx);
MP_API size_t mp_tlsf_check(const MP_Tlsf *t);
MP_API void *mp_tlsf_base(const MP_Tlsf *t);
MP_API MP_Status mp_tlsf_trim(MP_Tlsf *t, size_t *released_bytes);
MP_API void mp_tlsf_destroy(MP_Tlsf *t);

/* --------------------------------------------------------------- fit list */

typedef struct MP_FitList MP_FitList;

typedef enum MP_FitPolicy {
    MP_FIT_FIRST = 0, /**< lowest address that fits */
    MP_FIT_BEST = 1,  /**< smallest block that fits, O(log n) */
    MP_FIT_WORST = 2  /**< largest block, O(log n) */
} MP_FitPolicy;

typedef struct MP_FitListConfig {
    size_t region_bytes;
    MP_FitPolicy policy;
    uint32_t flags; /**< MP_FLAG_THREAD_SAFE */
    void *region;   /**< optional caller memory; NULL = map */
} MP_FitListConfig;

/** Free-list allocator with first-, best- or worst-fit placement, splitting
 * and coalescing. */
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

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_POOL_CORE_H */
