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
 *
 * Deferred registration. Registering costs far more than the rest of a guard:
 * measured here (node 20) ~60 ns for register() itself and ~100-150 ns more
 * for the collector to process the weak cell of a target that dies. Most
 * guards are freed in the turn that made them (allocate, use, `using` scope
 * ends), and those never need the registry. So a new guard first waits,
 * strongly held, in the table's pending list; at the end of the current turn
 * (one microtask per turn) or when PENDING_LIMIT guards wait, every pending
 * guard not freed by then is registered. Nothing is lost: a pending guard is
 * reachable from the table, so it cannot be collected before it is
 * registered; the only effect is that an unreachable guard becomes
 * collectable one turn later. A guard freed while pending never gets a slot.
 */
import type { MemoryPool } from './memory-pool';

/** The pool side of guards (implemented by the module's pool entries). */
export interface GuardHost {
  readonly pool: MemoryPool;
  /** The holder freed the block: free it now (wakes waiters). */
  releaseGuarded(blockId: number): void;
}

/** Guards waiting for registration at most this many; then they are registered at once. */
export const PENDING_LIMIT = 256;

/** Slots of a host's live (not yet finalized) guards; see the file comment. */
export class GuardTable {
  readonly registry: FinalizationRegistry<number>;
  #handles = new Float64Array(64);
  #freed = new Uint8Array(64);
  #recycled: number[] = [];
  #used = 0;
  #lost: (blockId: number) => void;
  #pending: AllocationGuard[] = [];
  #flushQueued = false;
  readonly #flushAtTurnEnd = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

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

  /** Takes a new guard into the pending list (see the file comment). */
  admit(guard: AllocationGuard): void {
    const waiting = this.#pending.push(guard);
    if (waiting >= PENDING_LIMIT) {
      this.flush();
    } else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushAtTurnEnd);
    }
  }

  /** Registers every pending guard that is not freed yet; empties the list. */
  flush(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    AllocationGuard.registerPending(this, pending);
  }

  /** How many guards wait for registration (for tests). */
  get pendingCount(): number {
    return this.#pending.length;
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
  /** The registry slot; -1 while pending (or freed before it was registered). */
  #slot = -1;
  #freed = false;

  /** Internal: made by MemoryPoolingModule.allocateGuarded(). */
  constructor(host: GuardHost, table: GuardTable, blockId: number) {
    this.blockId = blockId;
    this.#host = host;
    this.#table = table;
    table.admit(this);
  }

  /** @internal GuardTable.flush(): registers the pending guards still unfreed. */
  static registerPending(table: GuardTable, pending: readonly AllocationGuard[]): void {
    for (const guard of pending) {
      if (!guard.#freed) guard.#slot = table.register(guard, guard.blockId);
    }
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
    if (this.#slot >= 0) this.#table.markFreed(this.#slot);
    this.#host.releaseGuarded(this.blockId);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
