/**
 * MemoryPoolingModule: seed 000's module of named pools, over MemoryPool.
 *
 *   const module = new MemoryPoolingModule(MemoryPoolConfig({ poolSize: 100 << 20 }));
 *   await module.initialize();                 // creates the "default" pool
 *   const r = await module.allocate('default', 4096, { owner: 'tenant1' });
 *   if (r.success) module.write('default', r.blockId, Buffer.from('Hello, Pool!'));
 *   await module.deallocate('default', r.blockId);
 *   module.getMetrics('default').utilization;
 *   await module.shutdown();
 *
 * Lifecycle: 'created' -> initialize() -> 'ready' -> shutdown() -> 'shut down'.
 * A call in another state throws NotInitializedError or ShutDownError
 * (async calls reject with it). Pool names are unique (DuplicatePoolError);
 * an unknown name throws UnknownPoolError. `pool(name)` gives the MemoryPool
 * itself for handle calls the module does not wrap; frees made directly on
 * it do not wake waiting allocations (free through the module for that).
 *
 * Exhaustion is a result, misuse is an error: allocate() resolves
 * { success: false, error } when there is no room (after one automatic
 * collection) or an owner limit refuses, and rejects for a bad argument, a
 * stale handle or a wrong state. With { wait: true } it waits instead, first
 * come first served (waiters.ts). Guards (guards.ts), collections (gc.ts),
 * events (events.ts) and the Prometheus text (prometheus.ts) live beside.
 *
 * Cost: a call by name is one Map lookup and a state check on top of the
 * MemoryPool call; per-allocation events cost one listener-count check when
 * nobody subscribes.
 */
import { EventEmitter } from 'node:events';
import { show } from './args';
import { InvalidArgumentError } from './errors';
import { channels, type ModuleEventMap, type ModuleEventName } from './events';
import { type CollectionResult, type GcStrategy, parseGcStrategy } from './gc';
import type { AllocationGuard } from './guards';
import {
  type AllocateOptions,
  type DefragmentResult,
  MemoryPool,
  type MemoryPoolOptions,
  POOL_STRATEGIES,
  type PoolStrategy,
  PRESSURE_LEVELS,
} from './memory-pool';
import type { OwnerMetrics } from './memory-pool-native';
import {
  DuplicatePoolError,
  NotInitializedError,
  ShutDownError,
  UnknownPoolError,
} from './module-errors';
import {
  type AllocationResult,
  type AutoCollectConfig,
  type ModuleAllocateOptions,
  PoolEntry,
} from './pool-entry';
import { type PrometheusOptions, renderPrometheus } from './prometheus';

/** Seed 000's strategies plus ours; the values are MemoryPool strategies. */
export const AllocationStrategy = Object.freeze({
  FIRST_FIT: 'first_fit',
  BEST_FIT: 'best_fit',
  WORST_FIT: 'worst_fit',
  BUDDY: 'buddy',
  SLAB: 'slab',
  TLSF: 'tlsf',
  AUTO: 'auto',
} as const);
export type AllocationStrategy = (typeof AllocationStrategy)[keyof typeof AllocationStrategy];

/** A pool's configuration (seed 000's MemoryPoolConfig, camelCased). */
export interface MemoryPoolConfig {
  /** Bytes of the pool, up to 2^31 - 1; default 1 GiB (touched lazily). */
  poolSize?: number;
  /** Smallest block charged; default 64. */
  minBlockSize?: number;
  /** Largest allocation; default 100 MiB (or the pool size if smaller). */
  maxBlockSize?: number;
  /** An AllocationStrategy, or its name in any case ("best_fit", "BEST_FIT"); default BEST_FIT. */
  allocationStrategy?: AllocationStrategy | string;
  /** Compact and retry when an allocation fails for fragmentation; default true. */
  enableDefragmentation?: boolean;
  /** Fragmentation ratio from which that compaction runs; default 0.3. */
  defragThreshold?: number;
  /** Alignment of every block, a power of two <= 4096; default 8. */
  alignment?: number;
  /** Live blocks at most; default poolSize / minBlockSize. */
  maxBlocks?: number;
  /** One native lock around every operation (pools shared with workers); default false. */
  threadSafe?: boolean;
  /** Ask the OS for transparent huge pages under the pool's region (RegionOptions); default false. */
  hugePages?: boolean;
}

/** The module's configuration: the "default" pool's config plus module settings. */
export interface ModuleConfig extends MemoryPoolConfig {
  /** Automatic collection (pressure high, allocation failure), or false for none. */
  gc?: AutoCollectConfig | false;
  /** Record the stack of each allocateGuarded() for leak reports; default false. */
  trackLeaks?: boolean;
}

/** The config with seed 000's defaults applied and the strategy normalized. */
export function MemoryPoolConfig(config: MemoryPoolConfig = {}): Required<MemoryPoolConfig> {
  const ctx = 'MemoryPoolConfig()';
  if (typeof config !== 'object' || config === null) {
    throw new InvalidArgumentError(`${ctx}: config must be an object, got ${show(config)}`);
  }
  const poolSize = config.poolSize ?? 1024 * 1024 * 1024;
  return {
    poolSize,
    minBlockSize: config.minBlockSize ?? 64,
    maxBlockSize:
      config.maxBlockSize ??
      (typeof poolSize === 'number' ? Math.min(100 * 1024 * 1024, poolSize) : 100 * 1024 * 1024),
    allocationStrategy: normalizeStrategy(config.allocationStrategy ?? 'best_fit', ctx),
    enableDefragmentation: config.enableDefragmentation ?? true,
    defragThreshold: config.defragThreshold ?? 0.3,
    alignment: config.alignment ?? 8,
    maxBlocks: config.maxBlocks ?? 0,
    threadSafe: config.threadSafe ?? false,
    hugePages: config.hugePages ?? false,
  };
}

function normalizeStrategy(value: unknown, context: string): PoolStrategy {
  const name = typeof value === 'string' ? value.toLowerCase().replace(/-/g, '_') : undefined;
  if (name === undefined || !(POOL_STRATEGIES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(
      `${context}: allocationStrategy must be one of ${POOL_STRATEGIES.join(', ')}, got ${show(value)}`,
    );
  }
  return name as PoolStrategy;
}

/** getMetrics(): seed 000's metrics (camelCased) and the module's counters. */
export interface ModulePoolMetrics {
  totalSize: number;
  usedSize: number;
  freeSize: number;
  utilization: number;
  numAllocations: number;
  numDeallocations: number;
  numFreeBlocks: number;
  numAllocatedBlocks: number;
  fragmentationRatio: number;
  peakUsage: number;
  allocationFailures: number;
  largestFreeBlockBytes: number;
  /** 0 low, 1 medium, 2 high, 3 critical. */
  pressureLevel: number;
  pressure: (typeof PRESSURE_LEVELS)[number];
  defragCount: number;
  /** Module allocations that found no room (after automatic collection). */
  outOfMemoryCount: number;
  /** Blocks a collection may free now: orphaned guards found so far plus evictable blocks. */
  collectableBlocks: number;
  evictableBlocks: number;
  waitingAllocations: number;
  leakCount: number;
  evictionCount: number;
  collectionCount: number;
  collectedBytesTotal: number;
}

export type ModuleState = 'created' | 'ready' | 'shut down';

export class MemoryPoolingModule extends EventEmitter {
  readonly config: Readonly<Required<MemoryPoolConfig>>;
  #gc: AutoCollectConfig | false;
  #trackLeaks: boolean;
  #state: ModuleState = 'created';
  #pools = new Map<string, PoolEntry>();
  /* The last pool found by name: a call naming the same pool again (the
   * usual case) skips the Map lookup. Reset whenever a name leaves #pools. */
  #lastName: unknown = undefined;
  #lastEntry: PoolEntry | undefined = undefined;
  #publish = <K extends ModuleEventName>(name: K, payload: ModuleEventMap[K]): void => {
    if (this.listenerCount(name) > 0) this.emit(name, payload);
    const ch = channels[name];
    if (ch.hasSubscribers) ch.publish(payload);
  };
  #observed = (name: ModuleEventName): boolean =>
    channels[name].hasSubscribers || this.listenerCount(name) > 0;

  constructor(config: ModuleConfig = {}) {
    super();
    this.config = Object.freeze(MemoryPoolConfig(config));
    const gc = config.gc ?? {};
    if (gc !== false) {
      parseGcStrategy(gc.strategy ?? 'global', 'new MemoryPoolingModule(): gc.strategy');
      const interval = gc.minIntervalMs;
      if (interval !== undefined && !(typeof interval === 'number' && interval >= 0)) {
        throw new InvalidArgumentError(
          `new MemoryPoolingModule(): gc.minIntervalMs must be a number >= 0, got ${show(interval)}`,
        );
      }
    }
    this.#gc = gc;
    this.#trackLeaks = config.trackLeaks === true;
  }

  get state(): ModuleState {
    return this.#state;
  }

  /** Creates the "default" pool from the module config. Idempotent once ready. */
  async initialize(): Promise<void> {
    if (this.#state === 'shut down') throw new ShutDownError('MemoryPoolingModule.initialize()');
    if (this.#state === 'ready') return;
    this.#state = 'ready';
    try {
      this.createPool('default', this.config);
    } catch (err) {
      // A config the pool refuses leaves the module as it was: not ready.
      this.#state = 'created';
      throw err;
    }
  }

  /** A new named pool; fields missing from `config` come from the module config. */
  createPool(name: string, config: MemoryPoolConfig = {}): MemoryPool {
    const ctx = `MemoryPoolingModule.createPool(${show(name)})`;
    this.#ready(ctx);
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidArgumentError(`${ctx}: name must be a non-empty string`);
    }
    if (this.#pools.has(name)) throw new DuplicatePoolError(`${ctx}: the pool exists`, name);
    const c = MemoryPoolConfig({ ...this.config, ...config });
    const options: MemoryPoolOptions = {
      size: c.poolSize,
      strategy: c.allocationStrategy as PoolStrategy,
      minBlockSize: c.minBlockSize,
      // slab serves sizes up to its largest class (4096 B) and refuses a larger maximum.
      maxBlockSize: Math.min(
        c.maxBlockSize,
        c.poolSize,
        c.allocationStrategy === 'slab' ? 4096 : Infinity,
      ),
      alignment: c.alignment,
      defragmentation: c.enableDefragmentation,
      defragThreshold: c.defragThreshold,
      threadSafe: c.threadSafe,
      hugePages: c.hugePages,
    };
    if (c.maxBlocks !== 0) options.maxBlocks = c.maxBlocks;
    const pool = new MemoryPool(options);
    this.#pools.set(
      name,
      new PoolEntry(name, pool, this.#gc, this.#trackLeaks, this.#publish, this.#observed),
    );
    return pool;
  }

  /** Destroys a pool and forgets its name; its waiting allocations reject with ShutDownError. */
  destroyPool(name: string): void {
    const e = this.#entry(name, 'destroyPool');
    this.#pools.delete(name);
    this.#lastName = this.#lastEntry = undefined;
    e.close(() => new ShutDownError(`MemoryPoolingModule: pool ${show(name)} was destroyed`));
  }

  /** The MemoryPool named `name`. */
  pool(name: string): MemoryPool {
    return this.#entry(name, 'pool').pool;
  }

  /** Names of the pools, in creation order. */
  poolNames(): string[] {
    this.#ready('MemoryPoolingModule.poolNames()');
    return [...this.#pools.keys()];
  }

  /* ---------------------------------------------------------- allocation */

  /**
   * Allocates `size` bytes in pool `pool`. Resolves { success: true, blockId }
   * or, when there is no room or a limit refuses, { success: false, error }.
   * With { wait: true } it waits for memory freed through the module instead
   * (first come, first served) and rejects with WaitTimeoutError after
   * timeoutMs or WaitAbortedError when `signal` aborts.
   */
  async allocate(
    pool: string,
    size: number,
    options?: ModuleAllocateOptions,
  ): Promise<AllocationResult> {
    return this.#entry(pool, 'allocate').allocate(
      size,
      options,
      `MemoryPoolingModule.allocate(${show(pool)}, ${show(size)})`,
    );
  }

  /**
   * A guard of a new block (synchronous): free() or `using` releases it; a
   * guard garbage-collected without free() counts as a leak and its block
   * is reclaimed by the next collection. Throws OutOfMemoryError when there
   * is no room after an automatic collection.
   */
  allocateGuarded(pool: string, size: number, options?: AllocateOptions): AllocationGuard {
    return this.#entry(pool, 'allocateGuarded').guarded(size, options);
  }

  /** Frees a block; rejects for a stale handle or a double free (DoubleFreeError). */
  async deallocate(pool: string, blockId: number): Promise<void> {
    this.#entry(pool, 'deallocate').free(blockId);
  }

  /** Copies `data` (bytes, or a string as UTF-8) into the block at `offset`. */
  write(pool: string, blockId: number, data: ArrayBufferView | string, offset = 0): void {
    const e = this.#entry(pool, 'write');
    e.pool.write(blockId, typeof data === 'string' ? Buffer.from(data) : data, offset);
    if (e.collectables.evictable.size > 0) e.collectables.touch(blockId);
  }

  /** A copy of `size` bytes (default: to the end of the block) from `offset`. */
  read(pool: string, blockId: number, size?: number, offset = 0): Buffer {
    const e = this.#entry(pool, 'read');
    const n = size ?? Math.max(0, e.pool.sizeOf(blockId) - offset);
    if (n >>> 0 !== n) {
      throw new InvalidArgumentError(
        `MemoryPoolingModule.read(${show(pool)}): size must be an integer in [0, 2^32) ` +
          `and offset a byte count, got size ${show(size)}, offset ${show(offset)}`,
      );
    }
    const out = Buffer.allocUnsafe(n);
    e.pool.readInto(blockId, out, offset);
    if (e.collectables.evictable.size > 0) e.collectables.touch(blockId);
    return out;
  }

  /** Marks an evictable block as used now (read and write do it too); lru evicts it last. */
  touch(pool: string, blockId: number): void {
    this.#entry(pool, 'touch').collectables.touch(blockId);
  }

  /** Compacts the pool (see MemoryPool.defragment) and emits 'defragment' (automatic: false).
   * A pass the pool runs itself inside an allocation emits it with automatic: true. */
  defragment(pool: string, budgetBytes = 0): DefragmentResult {
    const e = this.#entry(pool, 'defragment');
    const result = e.pool.defragment(budgetBytes);
    this.#publish('defragment', { pool, ...result, automatic: false });
    return result;
  }

  /* ------------------------------------------------------ owners (tenants) */

  /** Frees every block of `owner` (wakes waiters); returns how many. */
  freeOwner(pool: string, owner: string): number {
    return this.#entry(pool, 'freeOwner').freeOwner(owner);
  }

  /** Handles of the owner's live blocks, in handle-table order (not allocation order); O(slots used so far). */
  ownerBlocks(pool: string, owner: string): number[] {
    return this.#entry(pool, 'ownerBlocks').pool.ownerBlocks(owner);
  }

  /** The most bytes `owner` may have in pool `pool` (0 = no limit). */
  setOwnerLimit(pool: string, owner: string, limitBytes: number): void {
    const e = this.#entry(pool, 'setOwnerLimit');
    e.pool.setOwnerLimit(owner, limitBytes);
    e.owners.add(owner);
  }

  /* ---------------------------------------------------------- collection */

  /** Frees the collectable blocks `strategy` chooses (gc.ts) and emits 'collection'. */
  collect(pool: string, strategy: GcStrategy = 'global'): CollectionResult {
    const e = this.#entry(pool, 'collect');
    return e.collect(
      parseGcStrategy(strategy, `MemoryPoolingModule.collect(${show(pool)})`),
      'manual',
    );
  }

  /** Guards collected without free() (most recent 1000), with their allocation stacks when tracked. */
  leakReport(pool: string): ModuleEventMap['leak'][] {
    return [...this.#entry(pool, 'leakReport').leaks];
  }

  /* ------------------------------------------------------------- metrics */

  getMetrics(pool: string): ModulePoolMetrics {
    const e = this.#entry(pool, 'getMetrics');
    const m = e.pool.metrics();
    return {
      totalSize: m.totalBytes,
      usedSize: m.usedBytes,
      freeSize: m.freeBytes,
      utilization: m.utilization,
      numAllocations: m.allocationCount,
      numDeallocations: m.deallocationCount,
      numFreeBlocks: m.freeBlockCount,
      numAllocatedBlocks: m.allocatedBlockCount,
      fragmentationRatio: m.fragmentationRatio,
      peakUsage: m.peakUsageBytes,
      allocationFailures: m.allocationFailureCount,
      largestFreeBlockBytes: m.largestFreeBlockBytes,
      pressureLevel: m.pressureLevel,
      pressure: PRESSURE_LEVELS[m.pressureLevel],
      defragCount: m.defragCount,
      outOfMemoryCount: e.outOfMemoryCount,
      collectableBlocks: e.collectables.size,
      evictableBlocks: e.collectables.evictable.size,
      waitingAllocations: e.waiters.length,
      leakCount: e.leakCount,
      evictionCount: e.evictionCount,
      collectionCount: e.collectionCount,
      collectedBytesTotal: e.collectedBytesTotal,
    };
  }

  /** The owner's counters in pool `pool` (all zero for an owner never seen). */
  getOwnerMetrics(pool: string, owner: string): OwnerMetrics {
    return this.#entry(pool, 'getOwnerMetrics').pool.ownerMetrics(owner);
  }

  /** Counters of every owner the module saw allocate in pool `pool`. */
  getTenantMetrics(pool: string): Map<string, OwnerMetrics> {
    const e = this.#entry(pool, 'getTenantMetrics');
    return new Map([...e.owners].map((o) => [o, e.pool.ownerMetrics(o)]));
  }

  /** Prometheus text exposition of every pool (owner series only where `ownerLabels` asks). */
  metricsText(options: PrometheusOptions = {}): string {
    this.#ready('MemoryPoolingModule.metricsText()');
    const want = options.ownerLabels;
    return renderPrometheus(
      [...this.#pools.keys()].map((name) => ({
        name,
        metrics: this.getMetrics(name),
        owners: want === undefined || want === false ? new Map() : this.getTenantMetrics(name),
      })),
      options,
    );
  }

  /* ------------------------------------------------------------ lifecycle */

  /** Rejects waiting allocations with ShutDownError and destroys every pool. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#state === 'shut down') return;
    this.#state = 'shut down';
    for (const e of this.#pools.values()) {
      e.close(() => new ShutDownError('MemoryPoolingModule: shut down while waiting'));
    }
    this.#pools.clear();
    this.#lastName = this.#lastEntry = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #ready(context: string): void {
    if (this.#state === 'ready') return;
    if (this.#state === 'created') {
      throw new NotInitializedError(`${context}: call await initialize() first`);
    }
    throw new ShutDownError(`${context}: the module was shut down`);
  }

  #entry(name: string, method: string): PoolEntry {
    if (name === this.#lastName && this.#lastEntry !== undefined) return this.#lastEntry;
    const e = this.#pools.get(name);
    if (e !== undefined) {
      this.#lastName = name;
      this.#lastEntry = e;
      return e;
    }
    const ctx = `MemoryPoolingModule.${method}(${show(name)})`;
    this.#ready(ctx);
    throw new UnknownPoolError(`${ctx}: no pool of that name`, name);
  }
}
