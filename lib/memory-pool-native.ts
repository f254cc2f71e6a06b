/**
 * The managed pool's part of the addon (native/napi/mpool_glue.c), typed:
 * its flat mpool_* functions, the per-thread scratch buffer they leave
 * multi-value results and pressure signals in, and the metric shapes,
 * declared in the order of the header's X-lists (MP_POOL_STATS_FIELDS,
 * MP_POOL_OWNER_STATS_FIELDS) and camelCased. The key arrays are checked
 * against the interfaces at compile time (`satisfies`) and against the
 * native field lists (`stats_fields('pool')`, `'pool_owner'`) by
 * test/js/memory-pool.test.ts.
 */
import { markAsUntransferable } from 'node:worker_threads';
import { binding, type NativeBinding } from './binding';

export interface NativePoolBinding {
  /** id (> 0) or -status. `poolBytes` of `region` are managed. strategy: MP_PoolStrategy. */
  mpool_create(
    region: Uint8Array,
    poolBytes: number,
    strategy: number,
    minBlockBytes: number,
    maxBlockBytes: number,
    alignment: number,
    defragEnabled: number,
    defragThreshold: number,
    maxBlocks: number,
    flags: number,
  ): number;
  /** Frame call: words [id, size, owner, flags] -> [a handle (> 0), or -status (see last_error)]. */
  mpool_alloc(): void;
  /** Frame call: frame[1] handle, words [id, -, owner, check owner 0/1] ->
   * [MP_Status]; with the check, the owner-checked mp_pool_free_as. */
  mpool_free(): void;
  /** Frame call: frame[1] handle, words [id, offset, owner, check owner 0/1]
   * -> [MP_Status]; reads into its receiver (any typed array or DataView:
   * `mpool_read.call(dst)`, as Node-API reads `this` for half the cost of
   * an argument). */
  mpool_read(this: ArrayBufferView): void;
  /** Frame call as mpool_read; writes its receiver into the block. */
  mpool_write(this: ArrayBufferView): void;
  /** MP_Status; reads `length` (<= 4096) bytes into this thread's `mpool_staging`. */
  mpool_read_staged(
    id: number,
    handle: number,
    offset: number,
    length: number,
    owner?: number,
  ): number;
  mpool_fill(
    id: number,
    handle: number,
    offset: number,
    byte: number,
    length: number,
    owner?: number,
  ): number;
  mpool_copy(
    id: number,
    dst: number,
    dstOffset: number,
    src: number,
    srcOffset: number,
    length: number,
    owner?: number,
  ): number;
  /** Frame call: frame[1] handle, words [id] -> [offset or -status, size]. */
  mpool_locate(): void;
  /** The pool's handle table: an ArrayBuffer over the core's own mapping (mp_pool_handle_table),
   * or undefined where handles are resolved by call only; scratch[0..5] = index mask, uint32 words
   * per entry, the words of the handle's low and high halves, the word of the block address's low
   * half, the low 32 bits of the region's address. Valid until mpool_handle_table_drop. */
  mpool_handle_table(id: number): ArrayBuffer | undefined;
  /** Detaches a buffer mpool_handle_table made (before the pool is destroyed). */
  mpool_handle_table_drop(buffer: ArrayBuffer): void;
  /** MP_Status; scratch[0..4] = offset, size, usable bytes, owner id, pinned. */
  mpool_block_info(id: number, handle: number): number;
  mpool_pin(id: number, handle: number, pinned: number): number;
  mpool_owner_stats(id: number, owner: number): OwnerMetrics;
  mpool_set_owner_limit(id: number, owner: number, limitBytes: number): number;
  /** Blocks freed, or -status. */
  mpool_free_owner(id: number, owner: number): number;
  mpool_owner_blocks(id: number, owner: number): Float64Array;
  /** MP_Status; scratch[0..4] = bytes moved, blocks moved, fragmentation before, after, complete. */
  mpool_defragment(id: number, budgetBytes: number): number;
  mpool_relocation_count(id: number): number;
  /** MP_PressureLevel. */
  mpool_pressure(id: number): number;
  /**
   * 8 doubles of results; uint32 words 16..20: old and new level of the last
   * pressure change, then the sequences of signals (any kind), pressure
   * changes and automatic compaction passes; doubles 11..15: the last
   * automatic pass's result (as mpool_defragment's).
   */
  mpool_scratch: ArrayBuffer;
  /** Where mpool_read_staged puts what it reads (this thread's). */
  mpool_staging: ArrayBuffer;
}

/** The addon, with the managed pool's functions typed. */
export const poolBinding = binding as NativeBinding & NativePoolBinding;
/* The addon writes both buffers through pointers it keeps: a transfer must
 * never detach them (as binding.ts does for the call frame). */
markAsUntransferable(poolBinding.mpool_scratch);
markAsUntransferable(poolBinding.mpool_staging);

/** Multi-value results of block_info and defragment (this thread's). */
export const scratch = new Float64Array(poolBinding.mpool_scratch, 0, 8);
/**
 * Signals of this thread's calls: [old level, new level] of the last pressure
 * change, then the sequence numbers of [2] any signal, [3] pressure changes,
 * [4] automatic compaction passes. Comparing [2] after a call tells whether
 * anything happened at all.
 */
export const pressureSignal = new Uint32Array(poolBinding.mpool_scratch, 64, 5);
/** The last automatic compaction pass of this thread: as scratch[0..4] after mpool_defragment. */
export const autoDefragResult = new Float64Array(poolBinding.mpool_scratch, 88, 5);
/** What mpool_read_staged read (this thread's). */
export const staging = new Uint8Array(poolBinding.mpool_staging);

/** Metrics of a MemoryPool: MP_POOL_STATS_FIELDS, camelCased (seed names in brackets). */
export interface MemoryPoolMetrics {
  /** Bytes of the region [total_size]. */
  totalBytes: number;
  /** Bytes charged to live blocks (usable sizes) [used_size]. */
  usedBytes: number;
  /** totalBytes - usedBytes [free_size]. */
  freeBytes: number;
  /** usedBytes / totalBytes [utilization]. */
  utilization: number;
  /** Successful allocations since create [num_allocations]. */
  allocationCount: number;
  /** Blocks freed since create [num_deallocations]. */
  deallocationCount: number;
  /** Free blocks of the backends (walk) [num_free_blocks]. */
  freeBlockCount: number;
  /** Live blocks [num_allocated_blocks]. */
  allocatedBlockCount: number;
  /** 1 - largest free block / free bytes of the backends (walk). */
  fragmentationRatio: number;
  /** Highest usedBytes since create [peak_usage]. */
  peakUsageBytes: number;
  /** Allocations refused or failed [allocation_failures]. */
  allocationFailureCount: number;
  /** Largest single free block of the backends (walk). */
  largestFreeBlockBytes: number;
  /** Bytes in free blocks of the backends (walk). */
  backendFreeBytes: number;
  /** Bytes callers asked for, summed over live blocks. */
  requestedBytes: number;
  /** Live blocks that are pinned. */
  pinnedBlockCount: number;
  /** Owners known to the pool (records are kept, with their peak). */
  ownerCount: number;
  /** maxBlocks: slots in the handle table. */
  handleCapacity: number;
  /** Slots whose generations are used up, never reused. */
  retiredSlotCount: number;
  /** Frees refused (stale, double, forged, foreign, owner). */
  rejectedFreeCount: number;
  /** Accesses refused (handle, owner, bounds, argument). */
  rejectedAccessCount: number;
  /** Defragmentation passes, automatic ones included. */
  defragCount: number;
  /** Passes started by a failing allocation. */
  autoDefragCount: number;
  /** Blocks moved since create; views taken earlier are stale once it changes. */
  relocationCount: number;
  /** Bytes copied by defragmentation since create. */
  bytesMovedTotal: number;
  /** The pressure level as a number: 0 low, 1 medium, 2 high, 3 critical. */
  pressureLevel: number;
}

/** Counters of one owner of a MemoryPool: MP_POOL_OWNER_STATS_FIELDS, camelCased. */
export interface OwnerMetrics {
  /** Bytes charged to the owner's live blocks (usable sizes). */
  bytesInUse: number;
  /** Highest bytesInUse. */
  bytesInUsePeak: number;
  /** Live blocks of the owner. */
  blockCount: number;
  /** bytesInUse may not exceed this; 0 = no limit. */
  limitBytes: number;
  /** Successful allocations of the owner. */
  allocCount: number;
  /** Blocks of the owner freed. */
  freeCount: number;
  /** Allocations refused by the limit. */
  limitFailureCount: number;
}

/* Object literals checked with `satisfies`: a key missing from or foreign to
 * the interface is a compile error; the arrays keep the literal's (C) order. */
const METRICS_KEY_SET = {
  totalBytes: 1,
  usedBytes: 1,
  freeBytes: 1,
  utilization: 1,
  allocationCount: 1,
  deallocationCount: 1,
  freeBlockCount: 1,
  allocatedBlockCount: 1,
  fragmentationRatio: 1,
  peakUsageBytes: 1,
  allocationFailureCount: 1,
  largestFreeBlockBytes: 1,
  backendFreeBytes: 1,
  requestedBytes: 1,
  pinnedBlockCount: 1,
  ownerCount: 1,
  handleCapacity: 1,
  retiredSlotCount: 1,
  rejectedFreeCount: 1,
  rejectedAccessCount: 1,
  defragCount: 1,
  autoDefragCount: 1,
  relocationCount: 1,
  bytesMovedTotal: 1,
  pressureLevel: 1,
} as const satisfies Record<keyof MemoryPoolMetrics, 1>;

const OWNER_KEY_SET = {
  bytesInUse: 1,
  bytesInUsePeak: 1,
  blockCount: 1,
  limitBytes: 1,
  allocCount: 1,
  freeCount: 1,
  limitFailureCount: 1,
} as const satisfies Record<keyof OwnerMetrics, 1>;

export const MEMORY_POOL_METRICS_KEYS = Object.freeze(
  Object.keys(METRICS_KEY_SET) as (keyof MemoryPoolMetrics)[],
);
export const OWNER_METRICS_KEYS = Object.freeze(
  Object.keys(OWNER_KEY_SET) as (keyof OwnerMetrics)[],
);
