/**
 * Guards (seed 003's RAII guards): a block that frees itself when its holder
 * is done. Release is explicit — free() or `using guard = ...`
 * ([Symbol.dispose]) — and a FinalizationRegistry backs it up: a guard
 * garbage-collected without free() is reported to its host as lost, which
 * counts a leak and makes the block collectable by the next collection.
 *
 * Cost and the "never twice" argument. Each host has a GuardTable: one
 * FinalizationRegistry whose held value is a slot number (a primitive: the
 * cheapest registration V8 has, and nothing kept alive) and, per slot, the
 * block's handle and a freed flag. free() sets the flag instead of
 * unregistering (V8's unregister costs more than the registration). The
 * finalizer of a slot whose flag is set only recycles the slot; one whose
 * flag is clear reports the handle as lost. A slot is reused only after its
 * finalizer ran, so a flag always belongs to the guard that set it, and
 * explicit free and finalization never both release one block.
 */
import type { MemoryPool } from './memory-pool';

/** The pool side of guards (implemented by the module's pool entries). */
export interface GuardHost {
  readonly pool: MemoryPool;
  /** The holder freed the block: free it now (wakes waiters). */
  releaseGuarded(blockId: number): void;
}

/** Slots of a host's live (not yet finalized) guards; see the file comment. */
export class GuardTable {
  readonly registry: FinalizationRegistry<number>;
  #handles = new Float64Array(64);
  #freed = new Uint8Array(64);
  #recycled: number[] = [];
  #used = 0;
  #lost: (blockId: number) => void;

  /** `lost` hears the handle of each guard collected without free(). */
  constructor(lost: (blockId: number) => void) {
    this.#lost = lost;
    this.registry = new FinalizationRegistry<number>((slot) => this.#finalized(slot));
  }

  /** A slot for `guard` of block `blockId`, registered for finalization. O(1) amortized. */
  register(guard: object, blockId: number): number {
    let slot = this.#recycled.pop();
    if (slot === undefined) {
      slot = this.#used++;
      if (slot === this.#handles.length) {
        const handles = new Float64Array(slot * 2);
        handles.set(this.#handles);
        this.#handles = handles;
        const freed = new Uint8Array(slot * 2);
        freed.set(this.#freed);
        this.#freed = freed;
      }
    }
    this.#handles[slot] = blockId;
    this.#freed[slot] = 0;
    this.registry.register(guard, slot);
    return slot;
  }

  markFreed(slot: number): void {
    this.#freed[slot] = 1;
  }

  #finalized(slot: number): void {
    const freed = this.#freed[slot] === 1;
    const blockId = this.#handles[slot];
    this.#recycled.push(slot);
    if (!freed) this.#lost(blockId);
  }
}

export class AllocationGuard implements Disposable {
  readonly blockId: number;
  #host: GuardHost;
  #table: GuardTable;
  #slot: number;
  #freed = false;

  /** Internal: made by MemoryPoolingModule.allocateGuarded(). */
  constructor(host: GuardHost, table: GuardTable, blockId: number) {
    this.blockId = blockId;
    this.#host = host;
    this.#table = table;
    this.#slot = table.register(this, blockId);
  }

  /** Alias of blockId: the MemoryPool handle of the block. */
  get handle(): number {
    return this.blockId;
  }

  /** The pool that holds the block (for handle calls: read, write, copy, ...). */
  get pool(): MemoryPool {
    return this.#host.pool;
  }

  /** A zero-copy view of the block (stale after a compaction moves it; see MemoryPool.view). */
  get view(): Uint8Array {
    return this.#host.pool.view(this.blockId);
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Frees the block. Idempotent; the block is never freed twice. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#table.markFreed(this.#slot);
    this.#host.releaseGuarded(this.blockId);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
