/**
 * memory-pool-core: real allocators over one contiguous region, driven from
 * JavaScript through a Node-API addon. Pools hand out byte offsets into
 * `pool.bytes`; exhaustion returns NO_MEMORY (-1), misuse throws a typed
 * MemoryPoolError with a stable `code`.
 */
export { FixedPool, DEFAULT_CACHE_SIZE, KERNEL_MIN_BATCH } from './fixed-pool';
export type { FixedPoolOptions, FixedPoolHandle } from './fixed-pool';
export { Arena } from './arena';
export type { ArenaOptions, ArenaMark } from './arena';
export { HeapAllocator } from './heap';
export type { HeapOptions, HeapBlock, HeapAllocatorHandle, HeapFamily } from './heap';
export { BuddyAllocator } from './buddy';
export type { BuddyOptions } from './buddy';
export { SlabAllocator } from './slab';
export type { SlabOptions } from './slab';
export { TLSF_CACHE_DEFAULT_BYTES, TLSF_SMALL_MAX_BYTES, TlsfAllocator } from './tlsf';
export type { TlsfOptions } from './tlsf';
export { FitListAllocator } from './fitlist';
export type { FitListOptions, FitPolicy } from './fitlist';
export { MemoryPool, DEFAULT_OWNER, POOL_STRATEGIES, PRESSURE_LEVELS } from './memory-pool';
export type {
  MemoryPoolOptions,
  PoolStrategy,
  PressureLevel,
  PressureListener,
  AutoDefragmentListener,
  AllocateOptions,
  AccessOptions,
  DefragmentResult,
  BlockInfo,
} from './memory-pool';
export { MEMORY_POOL_METRICS_KEYS, OWNER_METRICS_KEYS } from './memory-pool-native';
export type { MemoryPoolMetrics, OwnerMetrics } from './memory-pool-native';
export type { RegionBuffer, RegionOptions } from './region';
export {
  FIXED_POOL_STATS_KEYS,
  ARENA_STATS_KEYS,
  HEAP_STATS_KEYS,
  FREE_STATS_KEYS,
  SLAB_CLASS_STATS_KEYS,
} from './stats';
export type { FixedPoolStats, ArenaStats, HeapStats, FreeStats, SlabClassStats } from './stats';
export { NO_MEMORY, MAX_REGION_BYTES } from './binding';
export * from './errors';

import { binding } from './binding';

/** Version of the native core ("0.1.0"). */
export function nativeVersion(): string {
  return binding.version();
}

/** Native pools alive in the whole process (all threads); for leak checks. */
export function livePoolCount(): number {
  return binding.live_pool_count();
}

/* The module layer (issue 5): named pools, guards, collections, waiting, events, metrics. */
export { MemoryPoolingModule, MemoryPoolConfig, AllocationStrategy } from './module';
export type { ModuleConfig, ModulePoolMetrics, ModuleState } from './module';
export type { AllocationResult, AutoCollectConfig, ModuleAllocateOptions } from './pool-entry';
export { AllocationGuard } from './guards';
export { GC_STRATEGIES } from './gc';
export type { GcStrategy, GcStrategyName, CollectionResult } from './gc';
export { CHANNEL_PREFIX, MODULE_EVENT_NAMES, channels } from './events';
export type * from './events';
export { renderPrometheus, escapeLabelValue } from './prometheus';
export type { PrometheusOptions, PoolSnapshot } from './prometheus';
export {
  NotInitializedError,
  ShutDownError,
  UnknownPoolError,
  DuplicatePoolError,
  WaitTimeoutError,
  WaitAbortedError,
} from './module-errors';
export type { WaitOptions } from './waiters';
