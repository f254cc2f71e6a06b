/**
 * One named pool of a MemoryPoolingModule: the MemoryPool plus what the
 * module keeps beside it — owners seen, collectable blocks (gc.ts), the
 * queue of waiting allocations (waiters.ts), guard bookkeeping (guards.ts),
 * counters of leaks, evictions and collections, and automatic collection.
 *
 * Invariants: every free made through the entry (deallocate, a guard, a
 * collection, freeOwner) forgets the block's collectable record and then
 * serves waiters; an automatic collection runs at most once per
 * minIntervalMs; after close() nothing touches the (destroyed) pool, so a
 * late guard free or finalizer is a no-op.
 */
import { NO_MEMORY } from './binding';
import { LimitExceededError, type MemoryPoolError, OutOfMemoryError } from './errors';
import type { ModuleEventMap, ModuleEventName } from './events';
import { Collectables, type CollectionResult, parseGcStrategy } from './gc';
import { AllocationGuard, type GuardHost, GuardTable } from './guards';
import { DEFAULT_OWNER, type AllocateOptions, type MemoryPool } from './memory-pool';
import { checkWaitOptions, WaitQueue } from './waiters';

/** Automatic collection: when pressure reaches high or an allocation fails. */
export interface AutoCollectConfig {
  /** Default true. */
  enabled?: boolean;
  /** Least time between two automatic collections of a pool; default 5000 ms. */
  minIntervalMs?: number;
  /** What an automatic collection frees; default 'global'. */
  strategy?: Parameters<typeof parseGcStrategy>[0];
}

export interface ModuleAllocateOptions extends AllocateOptions {
  /** A cache entry: collections may free it (lru, global, ...) and tell its owner ('eviction'). */
  evictable?: boolean;
  /** Wait for memory instead of failing at once; default false. */
  wait?: boolean;
  /** With wait: reject with WaitTimeoutError after this many ms. */
  timeoutMs?: number;
  /** With wait: reject with WaitAbortedError when it aborts. */
  signal?: AbortSignal;
}

/** The outcome of MemoryPoolingModule.allocate() (seed 000's result). */
export interface AllocationResult {
  success: boolean;
  /** The block's handle, or NO_MEMORY (-1) when success is false. */
  blockId: number;
  /** Bytes requested. */
  size: number;
  owner: string;
  /** Why success is false (OutOfMemoryError or LimitExceededError). */
  error?: MemoryPoolError;
}

export type Publish = <K extends ModuleEventName>(name: K, payload: ModuleEventMap[K]) => void;
export type IsObserved = (name: ModuleEventName) => boolean;

const LEAK_REPORT_LIMIT = 1000;

export class PoolEntry implements GuardHost {
  readonly name: string;
  readonly pool: MemoryPool;
  readonly collectables = new Collectables();
  readonly waiters = new WaitQueue();
  readonly owners = new Set<string>([DEFAULT_OWNER]);
  /** Most recent leaks (at most 1000), oldest first. */
  readonly leaks: ModuleEventMap['leak'][] = [];
  leakCount = 0;
  evictionCount = 0;
  collectionCount = 0;
  collectedBytesTotal = 0;
  outOfMemoryCount = 0;
  #publish: Publish;
  #observed: IsObserved;
  #trackLeaks: boolean;
  #autoEnabled: boolean;
  #autoIntervalMs: number;
  #autoStrategy: ReturnType<typeof parseGcStrategy>;
  #lastAutoMs = -Infinity;
  #lastOwner = DEFAULT_OWNER;
  #closed = false;
  #guards = new GuardTable((blockId) => this.#guardLost(blockId));
  /** Allocation stacks of live guarded blocks, when leaks are tracked. */
  #stacks = new Map<number, string | undefined>();

  constructor(
    name: string,
    pool: MemoryPool,
    auto: AutoCollectConfig | false,
    trackLeaks: boolean,
    publish: Publish,
    observed: IsObserved,
  ) {
    this.name = name;
    this.pool = pool;
    this.#publish = publish;
    this.#observed = observed;
    this.#trackLeaks = trackLeaks;
    this.#autoEnabled = auto !== false && auto.enabled !== false;
    this.#autoIntervalMs = (auto !== false && auto.minIntervalMs) || 5000;
    this.#autoStrategy = parseGcStrategy(
      (auto !== false && auto.strategy) || 'global',
      'MemoryPoolingModule gc.strategy',
    );
    pool.onPressureChange((level, previous) => {
      publish('pressure', { pool: name, level, previous });
      if (level === 'high' || level === 'critical') {
        queueMicrotask(() => {
          if (!this.#closed) this.autoCollect('pressure');
        });
      }
    });
    pool.onAutoDefragment((result) => {
      publish('defragment', { pool: name, ...result, automatic: true });
    });
  }

  /* ---------------------------------------------------------- allocation */

  /**
   * A handle, or the OutOfMemoryError of the last try: an automatic
   * collection runs between the first try and a second one. Other refusals
   * (limits, misuse) throw.
   */
  take(size: number, options: AllocateOptions | undefined): number | MemoryPoolError {
    try {
      return this.pool.allocate(size, options);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      if (this.autoCollect('allocation-failure') === null) return err;
    }
    try {
      return this.pool.allocate(size, options);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      return err;
    }
  }

  /** Records a new block: its owner, evictability, the 'allocate' event. */
  allocated(h: number, size: number, owner: string, evictable: boolean): void {
    if (owner !== this.#lastOwner) {
      this.owners.add(owner);
      this.#lastOwner = owner;
    }
    if (evictable) this.collectables.evictable.set(h, owner);
    if (this.#observed('allocate'))
      this.#publish('allocate', { pool: this.name, blockId: h, owner, sizeBytes: size });
  }

  async allocate(
    size: number,
    given: ModuleAllocateOptions | undefined,
    context: string,
  ): Promise<AllocationResult> {
    const options = readOnce(given);
    const owner = options?.owner ?? DEFAULT_OWNER;
    const evictable = options?.evictable === true;
    const wait = options?.wait === true;
    if (wait) checkWaitOptions(options as ModuleAllocateOptions, context);
    // A waiting request queues behind earlier waiters (first come, first served).
    if (!wait || this.waiters.length === 0) {
      let got: number | MemoryPoolError;
      try {
        got = this.take(size, options);
      } catch (err) {
        if (!(err instanceof LimitExceededError)) throw err;
        return { success: false, blockId: NO_MEMORY, size, owner, error: err };
      }
      if (typeof got === 'number') {
        this.allocated(got, size, owner, evictable);
        return { success: true, blockId: got, size, owner };
      }
      this.outOfMemory(got, owner, wait);
      if (!wait) return { success: false, blockId: NO_MEMORY, size, owner, error: got };
    }
    const handle = await this.waiters.wait(
      () => this.pool.tryAllocate(size, options),
      size,
      { timeoutMs: options?.timeoutMs, signal: options?.signal },
      context,
    );
    this.allocated(handle, size, owner, evictable);
    return { success: true, blockId: handle, size, owner };
  }

  /** Counts and reports a failed allocation. */
  outOfMemory(err: MemoryPoolError, owner: string, waiting: boolean): void {
    this.outOfMemoryCount++;
    this.#publish('oom', {
      pool: this.name,
      owner,
      requestedBytes: err.requestedBytes ?? 0,
      availableBytes: err.availableBytes ?? 0,
      largestFreeBytes: err.largestFreeBytes ?? 0,
      waiting,
    });
  }

  /** A guard of a new block; throws OutOfMemoryError when there is no room after a collection. */
  guarded(size: number, given: AllocateOptions | undefined): AllocationGuard {
    const options = readOnce(given);
    const owner = options?.owner ?? DEFAULT_OWNER;
    const h = this.take(size, options);
    if (typeof h !== 'number') {
      this.outOfMemory(h, owner, false);
      throw h;
    }
    this.allocated(h, size, owner, false);
    if (this.#trackLeaks) this.#stacks.set(h, new Error('allocated here').stack);
    return new AllocationGuard(this, this.#guards, h);
  }

  /* ------------------------------------------------------------- freeing */

  /** Frees a block its holder names; misuse throws (stale handle, double free). */
  free(h: number): void {
    this.pool.free(h);
    this.freed(h);
  }

  /** After any free through the entry: forget the record, serve waiters, report. */
  freed(h: number): void {
    if (this.collectables.size > 0) this.collectables.forget(h);
    if (this.#stacks.size > 0) this.#stacks.delete(h);
    if (this.waiters.length > 0) this.waiters.drain();
    if (this.#observed('deallocate')) this.#publish('deallocate', { pool: this.name, blockId: h });
  }

  releaseGuarded(blockId: number): void {
    if (this.#closed) return;
    this.free(blockId);
  }

  /** A guard was collected without free(): a leak, unless its block was freed behind it. */
  #guardLost(blockId: number): void {
    if (this.#closed) return;
    const allocatedAt = this.#stacks.get(blockId);
    if (allocatedAt !== undefined) this.#stacks.delete(blockId);
    let info;
    try {
      info = this.pool.blockInfo(blockId);
    } catch {
      return; // freed through the pool or the module, not the guard: nothing leaked
    }
    this.collectables.orphans.set(blockId, info.owner);
    this.leakCount++;
    const event = {
      pool: this.name,
      blockId,
      owner: info.owner,
      sizeBytes: info.size,
      allocatedAt,
    };
    if (this.leaks.length === LEAK_REPORT_LIMIT) this.leaks.shift();
    this.leaks.push(event);
    this.#publish('leak', event);
  }

  freeOwner(owner: string): number {
    const handles = this.pool.ownerBlocks(owner);
    const freed = this.pool.freeOwner(owner);
    if (this.collectables.size > 0) for (const h of handles) this.collectables.forget(h);
    if (this.waiters.length > 0) this.waiters.drain();
    return freed;
  }

  /* ---------------------------------------------------------- collection */

  collect(
    strategy: ReturnType<typeof parseGcStrategy>,
    trigger: 'manual' | 'pressure' | 'allocation-failure',
  ): CollectionResult {
    const observed = this.#observed('eviction');
    const result = this.collectables.collect(this.pool, strategy, (blockId, owner, sizeBytes) => {
      this.evictionCount++;
      if (observed) this.#publish('eviction', { pool: this.name, blockId, owner, sizeBytes });
    });
    this.collectionCount++;
    this.collectedBytesTotal += result.freedBytes;
    this.#publish('collection', { pool: this.name, trigger, ...result });
    if (result.freedBlocks > 0 && this.waiters.length > 0) this.waiters.drain();
    return result;
  }

  /** An automatic collection if enabled, something is collectable and the interval passed. */
  autoCollect(trigger: 'pressure' | 'allocation-failure'): CollectionResult | null {
    if (!this.#autoEnabled || this.collectables.size === 0) return null;
    const now = performance.now();
    if (now - this.#lastAutoMs < this.#autoIntervalMs) return null;
    this.#lastAutoMs = now;
    return this.collect(this.#autoStrategy, trigger);
  }

  /** Rejects waiters with `makeError()` and destroys the pool. Idempotent. */
  close(makeError: () => Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.waiters.close(makeError);
    this.pool.destroy();
  }
}

/**
 * The caller's allocation options as a plain object, each field read once:
 * a getter runs once, so the owner the entry records (result, events,
 * eviction) is the owner the pool charges on every try, and the wait
 * options checked are the ones used. A non-object is passed on as it is,
 * for the pool to refuse.
 */
function readOnce<T extends ModuleAllocateOptions>(options: T | undefined): T | undefined {
  if (typeof options !== 'object' || options === null) return options;
  const { owner, pinned, evictable, wait, timeoutMs, signal } = options;
  return { owner, pinned, evictable, wait, timeoutMs, signal } as T;
}
