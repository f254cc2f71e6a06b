/**
 * Statistics shapes, declared by hand in the order of the C X-lists in
 * include/memory_pool_core.h (MP_FIXED_POOL_STATS_FIELDS,
 * MP_ARENA_STATS_FIELDS, MP_HEAP_STATS_FIELDS, MP_FREE_STATS_FIELDS,
 * MP_SLAB_CLASS_STATS_FIELDS), camelCased. The key arrays are checked against the
 * interfaces at compile time and against the native field lists
 * (`stats_fields(name)`) by test/js/native-tables.test.ts.
 */

/** Counters of a FixedPool. Slots parked in the JS cache count as free. */
export interface FixedPoolStats {
  /** Slots in use by the caller now. */
  allocated: number;
  /** Slots in the pool. */
  capacity: number;
  /** Bytes requested per object. */
  objectSize: number;
  /** Bytes between two slots: object size rounded up to the alignment, plus 64 when that is a power of two >= 1024 and the alignment <= 64. */
  slotSizeBytes: number;
  /** Alignment of every slot address, bytes. */
  alignment: number;
  /** Highest `allocated` since create or reset. */
  allocatedPeak: number;
  /** Successful allocations since create. */
  allocCount: number;
  /** Successful frees since create. */
  freeCount: number;
  /** Allocations that found the pool exhausted. */
  failedAllocCount: number;
  /** Frees refused (double, foreign, interior, not a number). */
  rejectedFreeCount: number;
  /** Bytes of the slot region. */
  regionBytes: number;
}

export const FIXED_POOL_STATS_KEYS = [
  'allocated',
  'capacity',
  'objectSize',
  'slotSizeBytes',
  'alignment',
  'allocatedPeak',
  'allocCount',
  'freeCount',
  'failedAllocCount',
  'rejectedFreeCount',
  'regionBytes',
] as const;

/** Counters of an Arena. */
export interface ArenaStats {
  /** Bytes used from the start of the buffer. */
  offset: number;
  /** Bytes in the buffer. */
  bufferSize: number;
  /** Highest offset since create. */
  offsetPeak: number;
  /** Successful allocations since create. */
  allocCount: number;
  /** Allocations that did not fit. */
  failedAllocCount: number;
  /** Resets since create. */
  resetCount: number;
}

export const ARENA_STATS_KEYS = [
  'offset',
  'bufferSize',
  'offsetPeak',
  'allocCount',
  'failedAllocCount',
  'resetCount',
] as const;

/** O(1) counters of a variable-size allocator (buddy, slab, TLSF, fit list). */
export interface HeapStats {
  /** Bytes of the managed region. */
  regionBytes: number;
  /** Usable bytes of live blocks. */
  bytesInUse: number;
  /** Highest bytesInUse since create or reset. */
  bytesInUsePeak: number;
  /** Bytes requested by callers for live blocks. */
  bytesRequested: number;
  /** Blocks allocated and not yet freed. */
  liveBlockCount: number;
  /** Successful allocations since create. */
  allocCount: number;
  /** Successful frees since create. */
  freeCount: number;
  /** Successful reallocations since create. */
  reallocCount: number;
  /** Allocations that failed (exhaustion, or refused by the allocator). */
  failedAllocCount: number;
  /** Frees and reallocs refused for their offset (double, foreign, interior). */
  rejectedFreeCount: number;
}

export const HEAP_STATS_KEYS = [
  'regionBytes',
  'bytesInUse',
  'bytesInUsePeak',
  'bytesRequested',
  'liveBlockCount',
  'allocCount',
  'freeCount',
  'reallocCount',
  'failedAllocCount',
  'rejectedFreeCount',
] as const;

/** Figures of a walk over the free blocks of a variable-size allocator. */
export interface FreeStats {
  /** Bytes in free blocks. */
  freeBytes: number;
  /** Free blocks. */
  freeBlockCount: number;
  /** Largest single free block, bytes. */
  largestFreeBlockBytes: number;
  /** 1 - largestFreeBlockBytes / freeBytes (0 when nothing is free). */
  fragmentation: number;
}

export const FREE_STATS_KEYS = [
  'freeBytes',
  'freeBlockCount',
  'largestFreeBlockBytes',
  'fragmentation',
] as const;

/** Counters of one size class of a SlabAllocator. */
export interface SlabClassStats {
  /** Slot size of the class, bytes. */
  slotBytes: number;
  /** Slabs owned by the class. */
  slabCount: number;
  /** Slots handed out. */
  slotsInUse: number;
  /** Free slots in the class's slabs. */
  slotsFree: number;
  /** Allocations served by the class (realloc moves into it included). */
  allocCount: number;
  /** Allocations the class could not serve. */
  failedAllocCount: number;
}

export const SLAB_CLASS_STATS_KEYS = [
  'slotBytes',
  'slabCount',
  'slotsInUse',
  'slotsFree',
  'allocCount',
  'failedAllocCount',
] as const;

/** `true` when K lists exactly the keys of T (no more, no fewer). */
type ExactKeys<T, K extends readonly PropertyKey[]> = [Exclude<keyof T, K[number]>] extends [never]
  ? [Exclude<K[number], keyof T>] extends [never]
    ? true
    : false
  : false;
type Assert<T extends true> = T;
/** Compile-time proof that the key arrays match the interfaces. */
export type StatsKeysMatch = [
  Assert<ExactKeys<FixedPoolStats, typeof FIXED_POOL_STATS_KEYS>>,
  Assert<ExactKeys<ArenaStats, typeof ARENA_STATS_KEYS>>,
  Assert<ExactKeys<HeapStats, typeof HEAP_STATS_KEYS>>,
  Assert<ExactKeys<FreeStats, typeof FREE_STATS_KEYS>>,
  Assert<ExactKeys<SlabClassStats, typeof SLAB_CLASS_STATS_KEYS>>,
];
