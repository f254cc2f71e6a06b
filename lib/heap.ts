/**
 * HeapAllocator: what the variable-size allocators (BuddyAllocator,
 * SlabAllocator, TlsfAllocator, FitListAllocator) share. A subclass
 * validates its options and says how to create its native pool (a
 * HeapPlan); everything else is here, one native call per operation
 * through the addon's heap_* functions.
 *
 * Blocks are byte offsets into `bytes` (a Uint8Array over the managed
 * region). Exhaustion is a return value (NO_MEMORY, -1); misuse throws a
 * typed MemoryPoolError. Two kinds of misuse, as for FixedPool and Arena:
 *   - values that cannot reach the core (a non-number, NaN, a negative or
 *     fractional number, >= 2^32, an alignment that is no power of two) are
 *     refused in JS and change nothing, stats included;
 *   - requests the core refuses (an offset that is not a live block, a size
 *     a slab has no class for, an alignment the region cannot give) throw
 *     the core's error and move only the counter the core keeps for them
 *     (rejectedFreeCount, failedAllocCount).
 *
 * Threads: a `threadSafe` allocator over a SharedArrayBuffer can be shared
 * with share() and used from another thread through the subclass's static
 * attach(handle).
 */
import {
  alignmentArg,
  booleanArg,
  countArg,
  int32ArrayArg,
  isUint32,
  show,
  typedArrayLength,
  uint32Arg,
} from './args';
import {
  binding,
  FLAG_THREAD_SAFE,
  frame,
  FRAME_A,
  FRAME_ID,
  frameWords,
  MAX_REGION_BYTES,
  NO_MEMORY,
} from './binding';
import {
  errorFromStatus,
  InvalidAddressError,
  InvalidArgumentError,
  type MemoryPoolError,
  OutOfBoundsError,
  statusOf,
  UnsupportedError,
} from './errors';
import { destroyedError, errorFromLastError } from './failures';
import { track, untrack } from './lifecycle';
import {
  checkSharedHandle,
  keepRegionInPlace,
  resolveRegion,
  type RegionBuffer,
  type RegionOptions,
  type SharedRegionHandle,
} from './region';
import type { FreeStats, HeapStats } from './stats';

/* Hot native calls as module constants: a direct call, no property load. */
const { heap_alloc, heap_free } = binding;
/* The frame's words as a module constant, as the hot functions above. */
const words = frameWords;

const MP_OK = 0;
const MP_ERR_OUT_OF_MEMORY = statusOf('MP_ERR_OUT_OF_MEMORY');

/** The native family behind an allocator class. */
export type HeapFamily = 'buddy' | 'slab' | 'tlsf' | 'fitlist';

/** Options every variable-size allocator takes. */
export interface HeapOptions extends RegionOptions {
  /** Bytes of region to manage, 1 .. 2^31 - 1 (each class states how it rounds). */
  size: number;
  /** Share the allocator between threads (share() / attach()); default false. */
  threadSafe?: boolean;
}

/** One block of a walk(): its offset, usable bytes, and whether it is in use. */
export interface HeapBlock {
  readonly offset: number;
  readonly size: number;
  readonly used: boolean;
}

/** What another thread needs to attach to a thread-safe allocator (structured-cloneable). */
export interface HeapAllocatorHandle extends SharedRegionHandle {
  readonly family: HeapFamily;
}

/** How a subclass creates its native pool; built by the subclass from its validated options. */
export interface HeapPlan {
  readonly family: HeapFamily;
  /** "BuddyAllocator", for messages. */
  readonly className: string;
  readonly options: HeapOptions;
  /** Bytes of region needed from byteOffset on (the managed bytes plus any alignment slack). */
  readonly regionBytes: number;
  /** Calls the family's native create over `view`; returns the id or -status. */
  create(view: Uint8Array, regionBytes: number, flags: number): number;
}

/* Marks the attach path of the constructor; not exported from the package. */
export class HeapAttachRequest {
  constructor(
    readonly handle: HeapAllocatorHandle,
    readonly className: string,
  ) {}
}

/** A subclass of HeapAllocator as its static attach() sees it. */
interface HeapClass<T> {
  new (init: never): T;
  readonly family: HeapFamily;
  readonly name: string;
}

export abstract class HeapAllocator {
  /* id, destroyed flag and class name, shared with this instance's alloc and free closures. */
  #hot: HotState;
  #family: HeapFamily;
  #buffer: RegionBuffer;
  #regionOffset: number;
  #regionLength: number;
  #bytes: Uint8Array;
  #threadSafe: boolean;

  protected constructor(init: HeapPlan | HeapAttachRequest) {
    if (init instanceof HeapAttachRequest) {
      const { handle } = init;
      const view = new Uint8Array(handle.buffer, handle.byteOffset, handle.byteLength);
      const status = binding.pool_attach(handle.id, view);
      if (status !== MP_OK) throw errorFromStatus(status, `${init.className}.attach()`);
      this.#hot = { id: handle.id, destroyed: false, name: init.className };
      this.#family = handle.family;
      this.#buffer = handle.buffer;
      this.#regionOffset = handle.byteOffset;
      this.#regionLength = handle.byteLength;
      this.#threadSafe = true;
    } else {
      const ctx = `new ${init.className}()`;
      const { options } = init;
      const threadSafe =
        options.threadSafe !== undefined && booleanArg(options.threadSafe, 'threadSafe', ctx);
      if (init.regionBytes > MAX_REGION_BYTES) {
        throw new InvalidArgumentError(
          `${ctx}: the region needs ${init.regionBytes} bytes, more than 2^31 - 1`,
          {
            requestedBytes: init.regionBytes,
          },
        );
      }
      const region = resolveRegion(options, init.regionBytes, ctx);
      const id = init.create(region.view, init.regionBytes, threadSafe ? FLAG_THREAD_SAFE : 0);
      if (id <= 0) throw errorFromLastError(-id, ctx);
      keepRegionInPlace(region);
      this.#hot = { id, destroyed: false, name: init.className };
      this.#family = init.family;
      this.#buffer = region.buffer;
      this.#regionOffset = region.byteOffset;
      this.#regionLength = region.view.byteLength;
      this.#threadSafe = threadSafe;
    }
    const managed = binding.pool_stats<HeapStats>(this.#hot.id).regionBytes;
    const base = this.#regionOffset + binding.region_offset(this.#hot.id);
    this.#bytes = new Uint8Array(this.#buffer, base, managed);
    track(this, this.#hot.id, `${this.#hot.name}(${managed})`);
    // Own closures shadow the prototype methods (see allocWith), unless a subclass overrides them.
    const hot = this.#hot;
    if (this.alloc === HeapAllocator.prototype.alloc) {
      Object.defineProperty(this, 'alloc', { value: (size: number) => allocWith(hot, size) });
    }
    if (this.free === HeapAllocator.prototype.free) {
      Object.defineProperty(this, 'free', { value: (offset: number) => freeWith(hot, offset) });
    }
  }

  /** Attaches this thread to a threadSafe allocator of this class that
   * another thread shared (share()). */
  static attach<T extends HeapAllocator>(this: HeapClass<T>, handle: HeapAllocatorHandle): T {
    const ctx = `${this.name}.attach()`;
    const checked = checkSharedHandle(handle, ctx);
    const family = (handle as { family: unknown }).family; // read once, as the fields above
    if (family !== this.family) {
      throw new InvalidArgumentError(
        `${ctx}: the handle is of a ${show(family)} allocator, not ${this.family}`,
      );
    }
    return new this(new HeapAttachRequest({ ...checked, family: this.family }, this.name) as never);
  }

  /** The managed region; offsets index into it. */
  get bytes(): Uint8Array {
    if (this.#hot.destroyed) throw destroyedError(`${this.#hot.name}.bytes`);
    return this.#bytes;
  }
  /** Bytes of the managed region (stats().regionBytes). */
  get regionBytes(): number {
    return this.#bytes.byteLength;
  }
  get threadSafe(): boolean {
    return this.#threadSafe;
  }
  get destroyed(): boolean {
    return this.#hot.destroyed;
  }

  /** The native id, for a subclass's own native calls; DestroyedError
   * (naming `ctx`) after destroy(). */
  protected liveId(ctx: string): number {
    if (this.#hot.destroyed) throw destroyedError(ctx);
    return this.#hot.id;
  }

  /**
   * The offset of a new block of at least `size` bytes, or NO_MEMORY (-1)
   * when the region has no room for it. Throws InvalidArgumentError for a
   * size that is not an integer in [0, 2^32), and the core's error when it
   * refuses the request for another reason than exhaustion. Each instance
   * calls it through an own closure over its state (see allocWith()).
   */
  alloc(size: number): number {
    return allocWith(this.#hot, size);
  }

  /** As alloc() at an address that is a multiple of `align` (a power of two,
   * AlignmentError otherwise); the core's AlignmentError when the region
   * cannot give that alignment. */
  allocAligned(size: number, align: number): number {
    const ctx = `${this.#hot.name}.allocAligned()`;
    if (this.#hot.destroyed || typeof size !== 'number' || size >>> 0 !== size)
      refuseSize(this.#hot, size, 'allocAligned');
    alignmentArg(align, ctx, false);
    const offset = binding.heap_alloc_aligned(this.#hot.id, size, align);
    return offset >= 0 ? offset : allocFailed(`${this.#hot.name}.allocAligned(${size}, ${align})`);
  }

  /** As alloc() with the `size` bytes asked for zeroed (the slab zeroes its whole slot). */
  calloc(size: number): number {
    if (this.#hot.destroyed || typeof size !== 'number' || size >>> 0 !== size)
      refuseSize(this.#hot, size, 'calloc');
    const offset = binding.heap_calloc(this.#hot.id, size);
    return offset >= 0 ? offset : allocFailed(`${this.#hot.name}.calloc(${size})`);
  }

  /**
   * Resizes the live block at `offset` to `size` bytes, in place when it can,
   * keeping its contents (up to the smaller size) and its alignment. Returns
   * the block's offset afterwards, or NO_MEMORY (-1) with the old block
   * intact. Throws for an offset that is not a live block (the core counts a
   * rejected free) and as alloc() for the size.
   */
  realloc(offset: number, size: number): number {
    const ctx = `${this.#hot.name}.realloc(${show(offset)}, ${show(size)})`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    this.#offsetArg(offset, ctx);
    uint32Arg(size, 'size', ctx);
    const result = binding.heap_realloc(this.#hot.id, offset, size);
    if (result >= 0) return result;
    if (-result === MP_ERR_OUT_OF_MEMORY) return NO_MEMORY;
    throw errorFromLastError(-result, ctx, { offset });
  }

  /**
   * Frees the live block at `offset`. Throws DoubleFreeError or
   * InvalidAddressError (the core's verdict, counted in rejectedFreeCount)
   * for an offset that is not a live block, InvalidAddressError for a number
   * that is not an offset at all and InvalidArgumentError for a non-number
   * (both uncounted), DestroyedError after destroy(). Called through an own
   * closure, as alloc.
   */
  free(offset: number): void {
    freeWith(this.#hot, offset);
  }

  /** Usable bytes of the live block at `offset` (at least what was asked);
   * InvalidAddressError if no live block starts there. */
  usableSize(offset: number): number {
    const ctx = `${this.#hot.name}.usableSize(${show(offset)})`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    this.#offsetArg(offset, ctx);
    const usable = binding.heap_usable_size(this.#hot.id, offset);
    if (usable === 0) throw new InvalidAddressError(`${ctx}: not a live block`, { offset });
    return usable;
  }

  /** True if a live block starts at `offset`. */
  owns(offset: number): boolean {
    const ctx = `${this.#hot.name}.owns()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    if (typeof offset !== 'number')
      throw new InvalidArgumentError(`${ctx}: offset must be a number, got ${show(offset)}`);
    return isUint32(offset) && binding.pool_owns(this.#hot.id, offset);
  }

  /** A view of the live block at `offset`, `length` bytes long (default and
   * at most its usable size: OutOfBoundsError beyond). */
  view(offset: number, length?: number): Uint8Array {
    const usable = this.usableSize(offset);
    const ctx = `${this.#hot.name}.view(${offset})`;
    const n = length === undefined ? usable : uint32Arg(length, 'length', ctx);
    if (n > usable) {
      throw new OutOfBoundsError(`${ctx}: length ${n} exceeds the block's ${usable} bytes`, {
        offset,
      });
    }
    return this.#bytes.subarray(offset, offset + n);
  }

  /**
   * Allocates `count` blocks in one native call: out[i] gets a block of
   * sizes[i] bytes (or `sizes` bytes each when it is a number). `count`
   * defaults to, and may not exceed, the length of out (and of sizes).
   * Returns how many it allocated, in order; fewer than `count` when the
   * region ran out. A request the core refuses otherwise throws its error
   * with `index`; the blocks out[0..index) stay allocated.
   */
  allocMany(sizes: Int32Array | number, out: Int32Array, count?: number): number {
    const ctx = `${this.#hot.name}.allocMany()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    int32ArrayArg(out, 'out', ctx);
    let n: number;
    if (typeof sizes === 'number') {
      uint32Arg(sizes, 'sizes', ctx);
      n = countArg(count, typedArrayLength(out), ctx);
    } else {
      int32ArrayArg(sizes, 'sizes', ctx);
      n = countArg(count, Math.min(typedArrayLength(out), typedArrayLength(sizes)), ctx);
      for (let i = 0; i < n; i++) {
        if (sizes[i] < 0) {
          throw new InvalidArgumentError(`${ctx}: sizes[${i}] is negative (${sizes[i]})`, {
            index: i,
          });
        }
      }
    }
    const done = binding.heap_alloc_many(this.#hot.id, sizes, out, n);
    if (done === n) return done;
    const last = binding.last_error();
    if (last.status === MP_ERR_OUT_OF_MEMORY) return done;
    throw errorFromLastError(last.status, `${ctx} at index ${done}`, { index: done });
  }

  /** Frees offsets[0..count) (default: all) in one native call, in order. At
   * the first one free() would refuse, the ones before it stay freed and the
   * error carries `index`. */
  freeMany(offsets: Int32Array, count?: number): void {
    const ctx = `${this.#hot.name}.freeMany()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    int32ArrayArg(offsets, 'offsets', ctx);
    const n = countArg(count, typedArrayLength(offsets), ctx);
    const status = binding.heap_free_many(this.#hot.id, offsets, n);
    if (status === MP_OK) return;
    const index = binding.batch_done();
    throw errorFromStatus(status, `${ctx} at index ${index}`, { offset: offsets[index], index });
  }

  /** Frees every block at once; offsets handed out before become invalid. */
  reset(): void {
    const ctx = `${this.#hot.name}.reset()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    const status = binding.pool_reset(this.#hot.id);
    if (status !== MP_OK) throw errorFromStatus(status, ctx);
  }

  /** O(1) counters. */
  stats(): HeapStats {
    if (this.#hot.destroyed) throw destroyedError(`${this.#hot.name}.stats()`);
    return binding.pool_stats<HeapStats>(this.#hot.id);
  }

  /** Free bytes, free blocks, largest free block and fragmentation, from a
   * walk of the free structures. */
  freeStats(): FreeStats {
    const ctx = `${this.#hot.name}.freeStats()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    const result = binding.heap_free_stats<FreeStats>(this.#hot.id);
    if (typeof result === 'number') throw errorFromStatus(result, ctx);
    return result;
  }

  /** Number of violated invariants (0 = consistent). */
  check(): number {
    if (this.#hot.destroyed) throw destroyedError(`${this.#hot.name}.check()`);
    return binding.pool_check(this.#hot.id);
  }

  /** Gives whole free pages back to the OS where the allocator mapped its
   * region; returns the bytes released (always 0 over a JS buffer, whose
   * memory belongs to V8). */
  trim(): number {
    const ctx = `${this.#hot.name}.trim()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    const released = binding.heap_trim(this.#hot.id);
    if (released < 0) throw errorFromStatus(-released, ctx);
    return released;
  }

  /** Every block in address order, free ones included. */
  walk(): HeapBlock[] {
    const ctx = `${this.#hot.name}.walk()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    const triples = binding.heap_walk(this.#hot.id);
    if (typeof triples === 'number') throw errorFromStatus(-triples, ctx);
    const blocks: HeapBlock[] = new Array<HeapBlock>(triples.length / 3);
    for (let i = 0, j = 0; j < triples.length; i++, j += 3) {
      blocks[i] = { offset: triples[j], size: triples[j + 1], used: triples[j + 2] === 1 };
    }
    return blocks;
  }

  /** A handle another thread passes to the class's static attach(); threadSafe
   * allocators over a SharedArrayBuffer only. */
  share(): HeapAllocatorHandle {
    const ctx = `${this.#hot.name}.share()`;
    if (this.#hot.destroyed) throw destroyedError(ctx);
    if (!this.#threadSafe || !(this.#buffer instanceof SharedArrayBuffer)) {
      throw new UnsupportedError(
        `${ctx}: only a threadSafe allocator over a SharedArrayBuffer can be shared`,
      );
    }
    return {
      family: this.#family,
      id: this.#hot.id,
      buffer: this.#buffer,
      byteOffset: this.#regionOffset,
      byteLength: this.#regionLength,
    };
  }

  /** Releases the allocator (this thread's attachment of it). Idempotent;
   * every other call throws DestroyedError after it. */
  destroy(): void {
    if (this.#hot.destroyed) return;
    this.#hot.destroyed = true;
    untrack(this);
    binding.pool_destroy(this.#hot.id);
    this.#bytes = new Uint8Array(0);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /* ------------------------------------------------------------ slow paths */

  /** Throws, uncounted, for a value that is no offset at all. */
  #offsetArg(offset: unknown, ctx: string): void {
    if (isUint32(offset)) return;
    throw nonOffsetError(offset, ctx);
  }
}

/** A non-number is an InvalidArgumentError, any other non-offset number an
 * InvalidAddressError. */
function nonOffsetError(offset: unknown, ctx: string): MemoryPoolError {
  if (typeof offset !== 'number')
    return new InvalidArgumentError(`${ctx}: offset must be a number, got ${show(offset)}`);
  return new InvalidAddressError(`${ctx}: ${show(offset)} is not an offset`, { offset });
}

/* ------------------------------------------------------------- hot paths */

/* What alloc and free need of an instance: one object shape for every class. */
interface HotState {
  id: number;
  destroyed: boolean;
  /** The class name, for messages. */
  name: string;
}

/*
 * Every instance calls allocWith and freeWith through closures of its own
 * (own, non-enumerable `alloc` and `free` properties made by the
 * constructor), not through HeapAllocator.prototype's methods. A shared
 * method reads its receiver's fields through inline caches that see every
 * class that calls it: past four receiver maps (four classes, or one user
 * subclass more) they go megamorphic, and TLSF alloc+free got about a third
 * slower once other classes had run in the process. The closures pass their
 * HotState (one shape for all classes) and these functions touch nothing
 * else but the call frame, so every cache stays monomorphic whatever classes
 * run. bench/js/micro.mjs (heap_pair64) measures TLSF alone and after the
 * other classes ran. A subclass that overrides alloc or free keeps its
 * override (and super.alloc works): the closures are not installed then.
 */
function allocWith(hot: HotState, size: number): number {
  if (hot.destroyed || typeof size !== 'number' || size >>> 0 !== size)
    refuseSize(hot, size, 'alloc');
  words[FRAME_ID] = hot.id;
  words[FRAME_A] = size;
  heap_alloc();
  const offset = frame[0] | 0;
  return offset >= 0 ? offset : allocFailed(`${hot.name}.alloc(${size})`);
}

function freeWith(hot: HotState, offset: number): void {
  if (hot.destroyed || typeof offset !== 'number' || offset >>> 0 !== offset)
    refuseFree(hot, offset);
  words[FRAME_ID] = hot.id;
  words[FRAME_A] = offset;
  heap_free();
  const status = frame[0];
  if (status !== MP_OK) throw errorFromStatus(status, `${hot.name}.free(${offset})`, { offset });
}

/** Throws for a size argument that cannot reach the core; nothing is counted. */
function refuseSize(hot: HotState, size: unknown, method: string): never {
  const ctx = `${hot.name}.${method}()`;
  if (hot.destroyed) throw destroyedError(ctx);
  uint32Arg(size, 'size', ctx);
  throw new InvalidArgumentError(`${ctx}: bad size ${show(size)}`);
}

/** NO_MEMORY when the core ran out of room, else the core's error. */
function allocFailed(ctx: string): number {
  const last = binding.last_error();
  if (last.status === MP_ERR_OUT_OF_MEMORY) return NO_MEMORY;
  throw errorFromLastError(last.status, ctx);
}

/** Throws, uncounted, for a free() argument that cannot reach the core. */
function refuseFree(hot: HotState, offset: unknown): never {
  const ctx = `${hot.name}.free(${show(offset)})`;
  if (hot.destroyed) throw destroyedError(ctx);
  throw nonOffsetError(offset, ctx);
}
