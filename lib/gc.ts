/**
 * Garbage collection of a pool's collectable blocks (seeds 001 and 003).
 *
 * A collection never frees a block someone holds. Only two kinds of block
 * are collectable:
 *   (a) orphans: blocks of guards (allocateGuarded) that were
 *       garbage-collected without free(); the FinalizationRegistry callback
 *       only records them here, the next collection frees them;
 *   (b) evictable blocks (allocate with { evictable: true }): cache entries
 *       their owner agreed to lose; each eviction is reported (onEvict).
 * Strategies choose among them:
 *   global        every collectable block
 *   threshold     collectable blocks of owners with more than thresholdBytes in use
 *   targeted      collectable blocks of one owner
 *   unreferenced  orphans only
 *   lru           evictable blocks, least recently used first, until the
 *                 pool's bytes in use are at most targetBytes
 *
 * Layout: evictable blocks in a Map handle -> owner whose insertion order is
 * the recency order (touch() moves an entry to the end, O(1)); orphans in a
 * Map handle -> owner. Invariant: a handle is in at most one of the two, and
 * only while its block is live (deallocate calls forget()).
 */
import { show } from './args';
import { InvalidArgumentError } from './errors';
import type { MemoryPool } from './memory-pool';

export type GcStrategyName = 'global' | 'threshold' | 'targeted' | 'unreferenced' | 'lru';
export const GC_STRATEGIES: readonly GcStrategyName[] = Object.freeze([
  'global',
  'threshold',
  'targeted',
  'unreferenced',
  'lru',
]);

/** What a collection may free; a bare name stands for the strategies without parameters. */
export type GcStrategy =
  | 'global'
  | 'unreferenced'
  | { strategy: 'global' }
  | { strategy: 'unreferenced' }
  | { strategy: 'threshold'; thresholdBytes: number }
  | { strategy: 'targeted'; owner: string }
  | { strategy: 'lru'; targetBytes: number };

export interface CollectionResult {
  strategy: GcStrategyName;
  /** Bytes charged to the freed blocks' owners (usable sizes). */
  freedBytes: number;
  freedBlocks: number;
  /** Owners that lost at least one block, in order of first loss. */
  ownersTouched: string[];
  durationMs: number;
}

/** Told of every evictable block a collection frees, before it is freed. */
export type EvictListener = (blockId: number, owner: string, sizeBytes: number) => void;

type Parsed =
  | { strategy: 'global' | 'unreferenced' }
  | { strategy: 'threshold'; thresholdBytes: number }
  | { strategy: 'targeted'; owner: string }
  | { strategy: 'lru'; targetBytes: number };

/** Validates a strategy argument; InvalidArgumentError names what is wrong. */
export function parseGcStrategy(value: unknown, context: string): Parsed {
  if (value === 'global' || value === 'unreferenced') return { strategy: value };
  const v = value as Record<string, unknown> | null;
  const bad = (what: string): never => {
    throw new InvalidArgumentError(`${context}: ${what}, got ${show(value)}`);
  };
  if (typeof v !== 'object' || v === null)
    return bad(`strategy must be one of ${GC_STRATEGIES.join(', ')}`);
  const bytes = (n: unknown, name: string): number =>
    typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
      ? n
      : bad(`${name} must be an integer >= 0`);
  switch (v.strategy) {
    case 'global':
    case 'unreferenced':
      return { strategy: v.strategy };
    case 'threshold':
      return { strategy: 'threshold', thresholdBytes: bytes(v.thresholdBytes, 'thresholdBytes') };
    case 'targeted':
      if (typeof v.owner !== 'string' || v.owner.length === 0)
        bad('owner must be a non-empty string');
      return { strategy: 'targeted', owner: v.owner as string };
    case 'lru':
      return { strategy: 'lru', targetBytes: bytes(v.targetBytes, 'targetBytes') };
    default:
      return bad(`strategy must be one of ${GC_STRATEGIES.join(', ')}`);
  }
}

export class Collectables {
  /** Evictable live blocks, least recently used first. */
  evictable = new Map<number, string>();
  /** Live blocks of guards that were garbage-collected. */
  orphans = new Map<number, string>();

  /** Collectable blocks now (orphans found so far plus evictable blocks). */
  get size(): number {
    return this.evictable.size + this.orphans.size;
  }

  /** Marks a block as recently used (only evictable blocks keep an order). O(1). */
  touch(handle: number): void {
    const owner = this.evictable.get(handle);
    if (owner === undefined) return;
    this.evictable.delete(handle);
    this.evictable.set(handle, owner);
  }

  /** The block was freed by its holder: it is no longer collectable. O(1). */
  forget(handle: number): void {
    if (this.evictable.size > 0) this.evictable.delete(handle);
    if (this.orphans.size > 0) this.orphans.delete(handle);
  }

  /**
   * Frees the blocks `strategy` chooses; blocks found already freed (a
   * holder that freed a guarded block behind its guard) are dropped without
   * counting. `onEvict` (if given) hears each evictable block before it is
   * freed. O(collectable blocks): maps are walked with forEach (no entry
   * arrays) and cleared or rebuilt, never shrunk entry by entry mid-walk.
   */
  collect(
    pool: MemoryPool,
    strategy: Parsed,
    onEvict: EvictListener | undefined,
  ): CollectionResult {
    const start = performance.now();
    const touched = new Set<string>();
    let freedBytes = 0;
    let freedBlocks = 0;
    let lastOwner: string | undefined;
    const release = (handle: number, owner: string, evicted: boolean): number => {
      let bytes: number;
      try {
        bytes = pool.blockInfo(handle).usableBytes;
      } catch {
        return 0; // freed already: never free twice (the handle is stale)
      }
      if (evicted && onEvict !== undefined) onEvict(handle, owner, bytes);
      pool.free(handle);
      freedBytes += bytes;
      freedBlocks++;
      if (owner !== lastOwner) {
        touched.add(owner);
        lastOwner = owner;
      }
      return bytes;
    };
    const releaseOrphan = (owner: string, handle: number): void =>
      void release(handle, owner, false);
    const releaseEvictable = (owner: string, handle: number): void =>
      void release(handle, owner, true);
    /** Frees the entries `keep` rejects; returns the map of those kept. */
    const sweep = (
      from: Map<number, string>,
      evicted: boolean,
      keep: (owner: string) => boolean,
    ): Map<number, string> => {
      const kept = new Map<number, string>();
      from.forEach((owner, handle) => {
        if (keep(owner)) kept.set(handle, owner);
        else release(handle, owner, evicted);
      });
      return kept;
    };
    switch (strategy.strategy) {
      case 'global':
        this.orphans.forEach(releaseOrphan);
        this.orphans.clear();
        this.evictable.forEach(releaseEvictable);
        this.evictable.clear();
        break;
      case 'unreferenced':
        this.orphans.forEach(releaseOrphan);
        this.orphans.clear();
        break;
      case 'targeted': {
        const target = strategy.owner;
        this.orphans = sweep(this.orphans, false, (o) => o !== target);
        this.evictable = sweep(this.evictable, true, (o) => o !== target);
        break;
      }
      case 'threshold': {
        const over = new Map<string, boolean>();
        const keep = (o: string): boolean => {
          let isOver = over.get(o);
          if (isOver === undefined) {
            isOver = pool.ownerMetrics(o).bytesInUse > strategy.thresholdBytes;
            over.set(o, isOver);
          }
          return !isOver;
        };
        this.orphans = sweep(this.orphans, false, keep);
        this.evictable = sweep(this.evictable, true, keep);
        break;
      }
      case 'lru': {
        let used = pool.metrics().usedBytes;
        const victims: number[] = [];
        for (const handle of this.evictable.keys()) {
          if (used <= strategy.targetBytes) break;
          victims.push(handle);
          used -= release(handle, this.evictable.get(handle) as string, true);
        }
        for (const handle of victims) this.evictable.delete(handle);
        break;
      }
    }
    return {
      strategy: strategy.strategy,
      freedBytes,
      freedBlocks,
      ownersTouched: [...touched],
      durationMs: performance.now() - start,
    };
  }
}
