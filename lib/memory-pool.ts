/**
 * MemoryPool: the managed tier (the C mp_pool) from JavaScript. Blocks are
 * named by handles, integers below 2^53 that carry a slot index, a
 * generation and a tag of the pool that issued them, so a stale, forged or
 * foreign handle is refused and a double free is caught even after the slot
 * was reused. Blocks belong to owners (strings here, uint32 ids in the core,
 * mapped both ways by this class), owners may have byte limits, blocks may
 * be pinned, and compaction moves unpinned blocks.
 *
 * Memory: the region is a SharedArrayBuffer made here by default (or the
 * caller's buffer at byteOffset, 16-byte aligned); all metadata (handle
 * table, owners) lives on the native heap, so writes through `bytes` can
 * corrupt only user data.
 *
 * Errors. allocate() throws OutOfMemoryError (with requestedBytes,
 * availableBytes, largestFreeBytes, usedBytes, totalBytes) when the pool has
 * no room; tryAllocate() returns NO_MEMORY (-1) instead, and throws for
 * every other refusal. Misuse always throws a typed MemoryPoolError:
 *   - values that cannot reach the core (a non-number, NaN, a negative,
 *     fractional or too large size/offset/handle, a non-string owner, a
 *     call after destroy()) are refused here and change nothing;
 *   - requests the core refuses (stale handle: MP_ERR_INVALID_HANDLE, or
 *     MP_ERR_DOUBLE_FREE when freed; a handle of another pool; another
 *     owner's block: MP_ERR_PROTECTION; bytes outside the block:
 *     MP_ERR_OUT_OF_BOUNDS; an owner over its limit: MP_ERR_LIMIT_EXCEEDED)
 *     change nothing but the core's refusal counters (rejectedFreeCount,
 *     rejectedAccessCount, allocationFailureCount).
 *
 * Views. view(handle) is a zero-copy subarray of `bytes`. It stays valid
 * while `relocationCount` is unchanged and the block is live: compaction
 * (defragment(), or an automatic pass inside an allocation when
 * `defragmentation` is on) moves blocks, and a view taken before shows
 * whatever lies at the old place afterwards. isViewCurrent(view) tells for
 * one view (the block is live where the view looks); an unchanged
 * relocationCount tells for all views of live blocks at once.
 *
 * Pressure. The core reports level changes (low < 60% <= medium < 80% <=
 * high < 95% <= critical of the region in use) through a native callback
 * that only records them; after each mutating call this class compares the
 * recorded sequence number (one typed-array load) and then runs the
 * listeners, outside any native call. A listener that throws does not undo
 * the operation: its error is rethrown in a microtask (an uncaught
 * exception). Listeners hear the changes made by this thread's calls.
 *
 * Automatic compaction. A pass the core runs inside an allocation (see
 * `defragmentation`) is signalled the same way (the same sequence compare):
 * onAutoDefragment listeners get its DefragmentResult after the allocation
 * returns or fails, before the pressure listeners of the same call.
 *
 * Cost: allocate, free and readInto are one native frame call each
 * (binding.ts `frame`: numbers pass through a typed array, no argument is
 * unpacked and no value made by Node-API). Finding a block (view, sizeOf,
 * isViewCurrent; write() of a Uint8Array and read() of a pool that is not
 * threadSafe, which then copy by JS) takes no native call for the handles
 * this object allocated, in a pool that is not threadSafe over a
 * SharedArrayBuffer: #locate reads the core's handle table (an external
 * ArrayBuffer over it, mp_pool_handle_table), whose entry holds exactly the
 * handle while its block is live and the block's current address, and
 * keeps each handle's requested size (it never changes). Anything else
 * (another pool's handle, a freed one, a thread-safe pool, whose other
 * threads write the table) is a frame call the core answers. That read does
 * not validate the block's TLSF header as the core's locate does: a header
 * overwritten through `bytes` is reported by the next free or compaction,
 * and the copy stays inside the block either way. No object is made but
 * read()'s result and view()'s; the default owner is id 0 and the last
 * named owner is cached.
 */
import { isSharedArrayBuffer, isUint8Array } from 'node:util/types';
import { alignmentArg, booleanArg, objectArg, show, typedArrayLength, uint32Arg } from './args';
import {
  binding,
  FLAG_THREAD_SAFE,
  frame as callFrame,
  FRAME_A,
  FRAME_B,
  FRAME_C,
  FRAME_ID,
  frameWords,
  MAX_REGION_BYTES,
  NO_MEMORY,
} from './binding';
import {
  errorFromStatus,
  type ErrorDetail,
  InvalidArgumentError,
  LimitExceededError,
  type MemoryPoolError,
  statusOf,
} from './errors';
import { destroyedError, errorFromLastError } from './failures';
import { track, untrack } from './lifecycle';
import {
  autoDefragResult,
  type MemoryPoolMetrics,
  type OwnerMetrics,
  poolBinding,
  pressureSignal as signals,
  scratch,
  staging,
} from './memory-pool-native';
import { keepRegionInPlace, resolveRegion, type RegionOptions } from './region';

/* Hot native calls as module constants: a direct call, no property load. */
const { mpool_alloc, mpool_free, mpool_locate, mpool_read, mpool_write, mpool_read_staged } =
  poolBinding;
/* The call frame, its words and their indices, and the signal words as
 * module constants: optimized code embeds them (an imported name is a
 * property load of the binding module, and a map check, at every use). */
const frame = callFrame;
const words = frameWords;
const pressureSignal = signals;
const ID = FRAME_ID;
const A = FRAME_A;
const B = FRAME_B;
const C = FRAME_C;

const MP_OK = 0;
const ERR_OUT_OF_MEMORY = statusOf('MP_ERR_OUT_OF_MEMORY');
const ERR_INVALID_ARGUMENT = statusOf('MP_ERR_INVALID_ARGUMENT');
const ERR_LIMIT_EXCEEDED = statusOf('MP_ERR_LIMIT_EXCEEDED');
const HANDLE_LIMIT = 2 ** 53;
const TWO_POW_32 = 2 ** 32;
const NO_TABLE = new Uint32Array(0);

/** `length` doubles of NaN: no entry of #known equals any value until a
 * handle is stored in it (zeros would equal handle 0, and -0, which a
 * never-used entry of the core's table holds too). */
function unknownHandles(length: number): Float64Array {
  return new Float64Array(length).fill(NaN);
}

/** Where a pool's blocks come from (MP_PoolStrategy). */
export type PoolStrategy =
  'first_fit' | 'best_fit' | 'worst_fit' | 'buddy' | 'slab' | 'tlsf' | 'auto';

const STRATEGY_IDS: Readonly<Record<PoolStrategy, number>> = {
  first_fit: 0,
  best_fit: 1,
  worst_fit: 2,
  buddy: 3,
  slab: 4,
  tlsf: 5,
  auto: 6,
};

/** Every strategy, in MP_PoolStrategy order. */
export const POOL_STRATEGIES = Object.freeze(Object.keys(STRATEGY_IDS) as PoolStrategy[]);

/** Memory pressure levels, indexed by MP_PressureLevel. */
export const PRESSURE_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type PressureLevel = (typeof PRESSURE_LEVELS)[number];

/** Called with the new and the previous level after a call of this thread changed it. */
export type PressureListener = (level: PressureLevel, previous: PressureLevel) => void;

/** Called with the result of an automatic compaction pass an allocation of this thread ran. */
export type AutoDefragmentListener = (result: DefragmentResult) => void;

/** The owner of blocks allocated without one (native id 0). */
export const DEFAULT_OWNER = 'default';
/* Never assigned: the id of an owner name the pool has not seen, so owner
 * checks against it fail in the core (which keeps no record for it). */
const UNKNOWN_OWNER_ID = 0xffffffff;

export interface MemoryPoolOptions extends RegionOptions {
  /** Bytes of the region, 4096 .. 2^31 - 1 ('auto': at least 32768). */
  size: number;
  /** Allocator behind the pool; default 'tlsf'. 'first_fit' compacts completely. */
  strategy?: PoolStrategy;
  /** Smaller requests are served and charged as this many bytes; default 16. */
  minBlockSize?: number;
  /** Larger requests throw LimitExceededError; default: no limit but the pool ('slab': 4096). */
  maxBlockSize?: number;
  /** Alignment of every block's address, a power of two <= 4096; default 16. */
  alignment?: number;
  /** Compact and retry once when an allocation fails for fragmentation; default true. */
  defragmentation?: boolean;
  /** Fragmentation ratio in (0, 1] from which that automatic pass runs; default 0.3. */
  defragThreshold?: number;
  /** Live blocks at most (handle table slots); default size / minBlockSize. */
  maxBlocks?: number;
  /** One native lock around every operation; default false. */
  threadSafe?: boolean;
  /** A first pressure listener (see onPressureChange). */
  onPressureChange?: PressureListener;
}

export interface AllocateOptions {
  /** Who the block is charged to; default DEFAULT_OWNER. */
  owner?: string;
  /** Never moved by compaction; default false. */
  pinned?: boolean;
}

/** Owner-checked access: a block of another owner throws ProtectionError. */
export interface AccessOptions {
  as: string;
}

export interface DefragmentResult {
  /** Bytes copied: the requested size of every moved block. */
  bytesMoved: number;
  /** Blocks whose address changed. */
  blocksMoved: number;
  fragmentationBefore: number;
  fragmentationAfter: number;
  /** False if the budget stopped the pass (the next one resumes there). */
  complete: boolean;
}

export interface BlockInfo {
  /** Bytes from the start of `bytes`; valid while relocationCount is unchanged. */
  offset: number;
  /** Bytes requested: the accessible size. */
  size: number;
  /** Bytes charged to the owner. */
  usableBytes: number;
  owner: string;
  pinned: boolean;
}

/* The handle a view() result was made for: a symbol-keyed property (a few
 * ns, where a WeakMap entry costs hundreds). */
const VIEW_HANDLE = Symbol('MemoryPool.viewHandle');
type ViewOfBlock = Uint8Array & { [VIEW_HANDLE]?: number };

/* Sequence numbers (pressureSignal[2..4]) of the last signal, pressure change
 * and automatic pass of this thread that a pool delivered. */
let seenPressureSequence = pressureSignal[2];
let seenLevelSequence = pressureSignal[3];
let seenAutoDefragSequence = pressureSignal[4];

/** Calls every listener; one that throws has its error rethrown in a microtask. */
function callEach<A extends unknown[]>(listeners: ((...args: A) => void)[], ...args: A): void {
  for (const listener of listeners.slice()) {
    try {
      listener(...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

function isHandleValue(h: unknown): h is number {
  return typeof h === 'number' && Number.isInteger(h) && h >= 0 && h < HANDLE_LIMIT;
}

/** The offset of the block of `handle` in pool `id`, or -status; its size
 * is then in frame[1] (read it before any other native call). A frame call:
 * a non-number handle never reaches the frame. */
function locate(id: number, handle: unknown): number {
  if (typeof handle !== 'number') return -ERR_INVALID_ARGUMENT;
  words[ID] = id;
  frame[1] = handle;
  mpool_locate();
  return frame[0];
}

/** Reads (write false) or writes `bytes` at `offset` of the block of
 * `handle` in pool `id`, owner-checked with `owner` (a native id); the
 * MP_Status. A frame call; a non-number handle never reaches the frame. */
function transfer(
  write: boolean,
  id: number,
  handle: unknown,
  offset: number,
  bytes: ArrayBufferView,
  owner?: number,
): number {
  if (typeof handle !== 'number') return ERR_INVALID_ARGUMENT;
  words[ID] = id;
  frame[1] = handle;
  words[A] = offset;
  words[B] = owner === undefined ? 0 : owner;
  words[C] = owner === undefined ? 0 : 1;
  if (write) mpool_write.call(bytes);
  else mpool_read.call(bytes);
  return frame[0];
}

/** `value` as a byte count in [0, 2^53 - 1]. */
function byteCountArg(value: unknown, name: string, context: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `${context}: ${name} must be an integer in [0, 2^53 - 1], got ${show(value)}`,
    );
  }
  return value;
}

export class MemoryPool {
  #id = 0;
  #destroyed = false;
  #bytes: Uint8Array;
  #size = 0;
  #strategy: PoolStrategy;
  #threadSafe = false;
  #ownerIds = new Map<string, number>([[DEFAULT_OWNER, 0]]);
  #ownerNames: string[] = [DEFAULT_OWNER];
  #lastOwner = DEFAULT_OWNER;
  #lastOwnerId = 0;
  #level = 0;
  #listeners: PressureListener[] = [];
  #defragListeners: AutoDefragmentListener[] = [];
  /* Handles resolved without a call (#locate): the core's handle table as
   * uint32 words (mpool_handle_table; empty where the pool is thread-safe or
   * its region no SharedArrayBuffer), the buffer under it, its layout, and
   * [handle, requested size] of the handles this object allocated, by entry
   * index (#known; two doubles where there is no table). */
  #table = NO_TABLE;
  #tableBuffer: ArrayBuffer | undefined;
  #indexMask = 0;
  #entryWords = 0;
  #handleLo = 0;
  #handleHi = 0;
  #addressLo = 0;
  #regionLo = 0;
  #known = unknownHandles(2);
  #knownLimit = 2;

  constructor(options: MemoryPoolOptions) {
    const ctx = 'new MemoryPool()';
    objectArg(options, 'options', ctx);
    const size = uint32Arg(options.size, 'size', ctx, 1, MAX_REGION_BYTES);
    const strategy = options.strategy === undefined ? 'tlsf' : options.strategy;
    if (typeof strategy !== 'string' || !Object.hasOwn(STRATEGY_IDS, strategy)) {
      throw new InvalidArgumentError(
        `${ctx}: strategy must be one of ${POOL_STRATEGIES.join(', ')}, got ${show(strategy)}`,
      );
    }
    const opt = (name: 'minBlockSize' | 'maxBlockSize' | 'maxBlocks'): number =>
      options[name] === undefined ? 0 : uint32Arg(options[name], name, ctx, 1);
    const minBlock = opt('minBlockSize');
    const maxBlock = opt('maxBlockSize');
    const maxBlocks = opt('maxBlocks');
    const alignment =
      options.alignment === undefined ? 0 : alignmentArg(options.alignment, ctx, false);
    const defrag =
      options.defragmentation === undefined ||
      booleanArg(options.defragmentation, 'defragmentation', ctx);
    const threshold = options.defragThreshold === undefined ? 0.3 : options.defragThreshold;
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
      throw new InvalidArgumentError(
        `${ctx}: defragThreshold must be a number in (0, 1], got ${show(threshold)}`,
      );
    }
    const threadSafe =
      options.threadSafe !== undefined && booleanArg(options.threadSafe, 'threadSafe', ctx);
    const listener = options.onPressureChange;
    if (listener !== undefined && typeof listener !== 'function') {
      throw new InvalidArgumentError(`${ctx}: onPressureChange must be a function`);
    }
    const region = resolveRegion(options, size, ctx);
    const id = poolBinding.mpool_create(
      region.view,
      size,
      STRATEGY_IDS[strategy],
      minBlock,
      maxBlock,
      alignment,
      defrag ? 1 : 0,
      threshold,
      maxBlocks,
      threadSafe ? FLAG_THREAD_SAFE : 0,
    );
    if (id <= 0) throw errorFromLastError(-id, `${ctx} (size ${size}, strategy ${strategy})`);
    keepRegionInPlace(region);
    this.#id = id;
    this.#size = size;
    this.#strategy = strategy;
    this.#threadSafe = threadSafe;
    this.#bytes = new Uint8Array(region.buffer, region.byteOffset, size);
    // A plain ArrayBuffer region may still be detached or shrunk under the pool
    // (the core then refuses every call, see region.ts): resolve by call there.
    if (!threadSafe && isSharedArrayBuffer(region.buffer)) this.#openTable(id);
    if (listener !== undefined) this.#listeners.push(listener);
    track(this, id, `MemoryPool(${size} B, ${strategy})`);
  }

  /** The region: a block's bytes are bytes[offset, offset + size) (see view()). */
  get bytes(): Uint8Array {
    if (this.#destroyed) throw destroyedError('MemoryPool.bytes');
    return this.#bytes;
  }
  get size(): number {
    return this.#size;
  }
  get strategy(): PoolStrategy {
    return this.#strategy;
  }
  get threadSafe(): boolean {
    return this.#threadSafe;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Blocks moved since create; views taken earlier are stale once it changes. */
  get relocationCount(): number {
    return poolBinding.mpool_relocation_count(this.#live('relocationCount'));
  }

  /** The pressure level now. */
  get pressure(): PressureLevel {
    return PRESSURE_LEVELS[poolBinding.mpool_pressure(this.#live('pressure'))];
  }

  /* ---------------------------------------------------------- allocation */

  /**
   * A handle to a new block of `size` (1 .. 2^32 - 1) bytes. Throws
   * OutOfMemoryError when the pool has no room (after an automatic
   * compaction, if enabled and useful), LimitExceededError above
   * maxBlockSize, over the owner's limit or with a full handle table.
   * O(1) plus the strategy's cost.
   */
  allocate(size: number, options?: AllocateOptions): number {
    const h = this.#take(size, options, 'allocate');
    if (h > 0) return h;
    const err = this.#allocFailure(-h, size, 'allocate');
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged(); // a futile pass
    throw err;
  }

  /** As allocate(), but returns NO_MEMORY (-1) where allocate() throws OutOfMemoryError. */
  tryAllocate(size: number, options?: AllocateOptions): number {
    const h = this.#take(size, options, 'tryAllocate');
    if (h > 0) return h;
    const err = -h === ERR_OUT_OF_MEMORY ? null : this.#allocFailure(-h, size, 'tryAllocate');
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged(); // a futile pass
    if (err === null) return NO_MEMORY;
    throw err;
  }

  /**
   * Frees a live block. DoubleFreeError for a handle freed before (also
   * after its slot was reused), InvalidHandleError for a forged or foreign
   * one, ProtectionError with `{ as }` naming another owner. O(1).
   */
  free(handle: number, access?: AccessOptions): void {
    if (access !== undefined || typeof handle !== 'number' || this.#destroyed) {
      return this.#freeChecked(handle, access);
    }
    words[ID] = this.#id;
    frame[1] = handle;
    words[C] = 0; // no owner check: the glue does not read the owner word
    mpool_free();
    const st = frame[0];
    if (st !== MP_OK) throw this.#failure(st, handle, 'free');
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged();
  }

  /* -------------------------------------------------------------- access */

  /** A copy of `length` bytes (default: to the end of the block) at `offset`
   * (default 0). Copied by JS (locate, then slice) when the pool is not
   * threadSafe and the core would allow it, as write(). */
  read(handle: number, length?: number, offset?: number, access?: AccessOptions): Uint8Array {
    if (
      access === undefined &&
      (offset === undefined || (typeof offset === 'number' && offset >>> 0 === offset)) &&
      (length === undefined || (typeof length === 'number' && length >>> 0 === length)) &&
      !this.#threadSafe &&
      !this.#destroyed
    ) {
      const at = this.#locate(handle);
      const off = offset === undefined ? 0 : offset;
      const n = length === undefined ? Math.max(frame[1] - off, 0) : length;
      if (at >= 0 && off <= frame[1] && n <= frame[1] - off) {
        return this.#bytes.slice(at + off, at + off + n);
      }
    }
    const ctx = 'read';
    const id = this.#live(ctx);
    const off = offset === undefined ? 0 : uint32Arg(offset, 'offset', `MemoryPool.${ctx}()`);
    const n = this.#lengthArg(handle, off, length, ctx);
    const owner = access === undefined ? undefined : this.#accessOwner(access, ctx);
    if (n <= staging.length) {
      // Staged: a read into a new small array would make V8 give it a backing store.
      const st =
        owner === undefined
          ? mpool_read_staged(id, handle, off, n)
          : mpool_read_staged(id, handle, off, n, owner);
      if (st !== MP_OK) throw this.#failure(st, handle, ctx);
      return staging.slice(0, n);
    }
    const out = new Uint8Array(n);
    const st = transfer(false, id, handle, off, out, owner);
    if (st !== MP_OK) throw this.#failure(st, handle, ctx);
    return out;
  }

  /** Copies target.byteLength bytes at `offset` of the block into `target` (any typed array). */
  readInto(handle: number, target: ArrayBufferView, offset = 0, access?: AccessOptions): void {
    if (
      access === undefined &&
      typeof offset === 'number' &&
      offset >>> 0 === offset &&
      !this.#destroyed
    ) {
      const st = transfer(false, this.#id, handle, offset, target);
      if (st === MP_OK) return;
      if (st !== ERR_INVALID_ARGUMENT) throw this.#failure(st, handle, 'readInto');
    }
    this.#transferSlow(handle, target, offset, access, 'readInto');
  }

  /**
   * Copies `data` (any typed array or DataView) into the block at `offset`
   * (default 0). A Uint8Array into a pool that is not threadSafe is copied
   * by JS (locate, then bytes.set: no native call can run in between, and
   * only this thread's calls move or free its blocks); what that path would
   * refuse, and every other write, goes to the core, which refuses and
   * counts as always.
   */
  write(handle: number, data: ArrayBufferView, offset = 0, access?: AccessOptions): void {
    if (
      access === undefined &&
      typeof offset === 'number' &&
      offset >>> 0 === offset &&
      !this.#destroyed
    ) {
      // isUint8Array, not instanceof: a Proxy of a Uint8Array passes instanceof, then
      // fails the intrinsic length getter with a bare TypeError.
      if (isUint8Array(data) && !this.#threadSafe) {
        const at = this.#locate(handle);
        const n = typedArrayLength(data);
        if (at >= 0 && n <= frame[1] - offset) {
          // set() throws a bare TypeError for a detached source; its 0 bytes are a no-op write.
          if (n !== 0) this.#bytes.set(data, at + offset);
          return;
        }
      }
      const st = transfer(true, this.#id, handle, offset, data);
      if (st === MP_OK) return;
      if (st !== ERR_INVALID_ARGUMENT) throw this.#failure(st, handle, 'write');
    }
    this.#transferSlow(handle, data, offset, access, 'write');
  }

  /** Copies `length` bytes from one block to another (or within one; overlap allowed). */
  copy(
    dst: number,
    dstOffset: number,
    src: number,
    srcOffset: number,
    length: number,
    access?: AccessOptions,
  ): void {
    const ctx = 'copy';
    const c = `MemoryPool.${ctx}()`;
    const id = this.#live(ctx);
    const args = [
      dst,
      uint32Arg(dstOffset, 'dstOffset', c),
      src,
      uint32Arg(srcOffset, 'srcOffset', c),
      uint32Arg(length, 'length', c),
    ] as const;
    const st =
      access === undefined
        ? poolBinding.mpool_copy(id, ...args)
        : poolBinding.mpool_copy(id, ...args, this.#accessOwner(access, ctx));
    if (st === MP_OK) return;
    // Only an argument refused by the glue names its handle; the core's status does not say which.
    if (st === ERR_INVALID_ARGUMENT) throw this.#failure(st, isHandleValue(dst) ? src : dst, ctx);
    throw errorFromStatus(st, `${c}: dst ${show(dst)}, src ${show(src)}`);
  }

  /** Sets `length` bytes (default: to the end of the block) at `offset` (default 0) to `byte`. */
  fill(
    handle: number,
    byte: number,
    offset?: number,
    length?: number,
    access?: AccessOptions,
  ): void {
    const ctx = 'fill';
    const c = `MemoryPool.${ctx}()`;
    const id = this.#live(ctx);
    const value = uint32Arg(byte, 'byte', c, 0, 255);
    const off = offset === undefined ? 0 : uint32Arg(offset, 'offset', c);
    const n = this.#lengthArg(handle, off, length, ctx);
    const st =
      access === undefined
        ? poolBinding.mpool_fill(id, handle, off, value, n)
        : poolBinding.mpool_fill(id, handle, off, value, n, this.#accessOwner(access, ctx));
    if (st !== MP_OK) throw this.#failure(st, handle, ctx);
  }

  /**
   * A zero-copy view of the block: a subarray of `bytes`. Valid while the
   * block is live and has not moved (nothing moves while relocationCount is
   * unchanged); isViewCurrent() tells. O(1); no native call for a handle
   * this object allocated (see the top).
   */
  view(handle: number): Uint8Array {
    this.#live('view');
    const offset = this.#locate(handle);
    if (offset < 0) throw this.#failure(-offset, handle, 'view');
    const bytes = this.#bytes;
    const v = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, frame[1]) as ViewOfBlock;
    v[VIEW_HANDLE] = handle;
    return v;
  }

  /** True if `view` came from view() and its block is still live at the place the view shows. */
  isViewCurrent(view: Uint8Array): boolean {
    this.#live('isViewCurrent');
    const handle = (view as ViewOfBlock)[VIEW_HANDLE];
    if (handle === undefined || view.buffer !== this.#bytes.buffer) return false;
    const offset = this.#locate(handle);
    return (
      offset >= 0 && view.byteOffset === this.#bytes.byteOffset + offset && view.length === frame[1]
    );
  }

  /** The block's accessible size in bytes. */
  sizeOf(handle: number): number {
    this.#live('sizeOf');
    const offset = this.#locate(handle);
    if (offset < 0) throw this.#failure(-offset, handle, 'sizeOf');
    return frame[1];
  }

  /** Offset, sizes, owner and pin state of a live block. */
  blockInfo(handle: number): BlockInfo {
    const st = poolBinding.mpool_block_info(this.#live('blockInfo'), handle);
    if (st !== MP_OK) throw this.#failure(st, handle, 'blockInfo');
    const owner = this.#ownerNames[scratch[3]] ?? `#${scratch[3]}`;
    return {
      offset: scratch[0],
      size: scratch[1],
      usableBytes: scratch[2],
      owner,
      pinned: scratch[4] === 1,
    };
  }

  /** Compaction never moves a pinned block. Idempotent. */
  pin(handle: number): void {
    const st = poolBinding.mpool_pin(this.#live('pin'), handle, 1);
    if (st !== MP_OK) throw this.#failure(st, handle, 'pin');
  }

  unpin(handle: number): void {
    const st = poolBinding.mpool_pin(this.#live('unpin'), handle, 0);
    if (st !== MP_OK) throw this.#failure(st, handle, 'unpin');
  }

  /* --------------------------------------------------------- compaction */

  /**
   * Moves unpinned blocks down to close holes; `budgetBytes` (default 0 =
   * unlimited) stops the pass once that many bytes were copied, and the next
   * pass resumes there. Views taken before are stale if blocksMoved > 0.
   */
  defragment(budgetBytes = 0): DefragmentResult {
    const ctx = 'defragment';
    const id = this.#live(ctx);
    const budget = byteCountArg(budgetBytes, 'budgetBytes', `MemoryPool.${ctx}()`);
    const st = poolBinding.mpool_defragment(id, budget);
    if (st !== MP_OK) throw errorFromLastError(st, `MemoryPool.${ctx}()`);
    const result = {
      bytesMoved: scratch[0],
      blocksMoved: scratch[1],
      fragmentationBefore: scratch[2],
      fragmentationAfter: scratch[3],
      complete: scratch[4] === 1,
    };
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged();
    return result;
  }

  /* ---------------------------------------------------------- accounting */

  /** Every metric of MP_POOL_STATS_FIELDS; O(free blocks). */
  metrics(): MemoryPoolMetrics {
    return binding.pool_stats<MemoryPoolMetrics>(this.#live('metrics'));
  }

  /** The owner's counters; all zero for an owner the pool has not seen. O(1). */
  ownerMetrics(owner: string): OwnerMetrics {
    const id = this.#live('ownerMetrics');
    return poolBinding.mpool_owner_stats(id, this.#ownerId(owner, false, 'ownerMetrics'));
  }

  /** The most bytes `owner` may have in use (0 = no limit). A limit below the current use only refuses further allocations. */
  setOwnerLimit(owner: string, limitBytes: number): void {
    const ctx = 'setOwnerLimit';
    const id = this.#live(ctx);
    const limit = byteCountArg(limitBytes, 'limitBytes', `MemoryPool.${ctx}()`);
    const st = poolBinding.mpool_set_owner_limit(id, this.#ownerId(owner, true, ctx), limit);
    if (st !== MP_OK) throw errorFromLastError(st, `MemoryPool.${ctx}(${show(owner)})`);
  }

  /** Frees every block of `owner`, pinned ones included; returns how many. */
  freeOwner(owner: string): number {
    const ctx = 'freeOwner';
    const id = this.#live(ctx);
    const freed = poolBinding.mpool_free_owner(id, this.#ownerId(owner, false, ctx));
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged();
    if (freed < 0) throw errorFromLastError(-freed, `MemoryPool.${ctx}(${show(owner)})`);
    return freed;
  }

  /** Handles of the owner's live blocks, in handle-table order (not allocation order); O(slots used so far). */
  ownerBlocks(owner: string): number[] {
    const id = this.#live('ownerBlocks');
    return Array.from(
      poolBinding.mpool_owner_blocks(id, this.#ownerId(owner, false, 'ownerBlocks')),
    );
  }

  /* -------------------------------------------------------------- pressure */

  /** Adds a listener of pressure level changes; returns a function that removes it. */
  onPressureChange(listener: PressureListener): () => void {
    this.#live('onPressureChange');
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('MemoryPool.onPressureChange(): listener must be a function');
    }
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Adds a listener of the automatic compaction passes this thread's
   * allocations run (one call per pass, also when the allocation then
   * fails); returns a function that removes it. Views are stale after a
   * pass with blocksMoved > 0.
   */
  onAutoDefragment(listener: AutoDefragmentListener): () => void {
    this.#live('onAutoDefragment');
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('MemoryPool.onAutoDefragment(): listener must be a function');
    }
    this.#defragListeners.push(listener);
    return () => {
      const i = this.#defragListeners.indexOf(listener);
      if (i >= 0) this.#defragListeners.splice(i, 1);
    };
  }

  /* ------------------------------------------------------------ lifecycle */

  /**
   * Violated invariants (0 = consistent): the core's check of handle table,
   * backends, owners and counters, plus the owner name <-> id maps of this
   * object. O(n log n).
   */
  check(): number {
    let violations = binding.pool_check(this.#live('check'));
    const names = this.#ownerNames;
    if (this.#ownerIds.size !== names.length) violations++;
    for (let i = 0; i < names.length; i++) if (this.#ownerIds.get(names[i]) !== i) violations++;
    return violations;
  }

  /** Releases the pool. Idempotent; every other call throws DestroyedError after it. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    untrack(this);
    const table = this.#tableBuffer;
    this.#table = NO_TABLE; // no entry then: #locate always asks the core
    this.#tableBuffer = undefined;
    // Detached first: nothing can read the table once the core unmaps it.
    if (table !== undefined) poolBinding.mpool_handle_table_drop(table);
    binding.pool_destroy(this.#id);
    this.#bytes = new Uint8Array(0);
    this.#listeners = [];
    this.#defragListeners = [];
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /* ------------------------------------------------------------ slow paths */

  /** The native id, or DestroyedError naming `method`. */
  #live(method: string): number {
    if (this.#destroyed) throw destroyedError(`MemoryPool.${method}()`);
    return this.#id;
  }

  /** free() with access options, a non-number handle, or after destroy(). */
  #freeChecked(handle: unknown, access: AccessOptions | undefined): void {
    const id = this.#live('free');
    const owner = access === undefined ? 0 : this.#accessOwner(access, 'free');
    // The glue refuses a handle that is no integer in [0, 2^53); a non-number never reaches the frame.
    if (typeof handle !== 'number') throw this.#failure(ERR_INVALID_ARGUMENT, handle, 'free');
    words[ID] = id;
    frame[1] = handle;
    words[B] = owner;
    words[C] = access === undefined ? 0 : 1;
    mpool_free();
    const st = frame[0];
    if (st !== MP_OK) throw this.#failure(st, handle, 'free');
    if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged();
  }

  /** One native allocation: a handle, or -status of a refusal of the core
   * (read its detail before any other native call). Misuse throws. */
  #take(size: number, options: AllocateOptions | undefined, method: string): number {
    if (
      options !== undefined ||
      typeof size !== 'number' ||
      size >>> 0 !== size ||
      size === 0 ||
      this.#destroyed
    ) {
      return this.#takeChecked(size, options, method);
    }
    words[ID] = this.#id;
    words[A] = size;
    words[B] = 0;
    words[C] = 0;
    return this.#allocFromFrame();
  }

  /** #take() with options, or a size or state the fast path does not take. */
  #takeChecked(size: number, options: AllocateOptions | undefined, method: string): number {
    const ctx = `MemoryPool.${method}()`;
    this.#live(method);
    uint32Arg(size, 'size', ctx, 1);
    let owner = 0;
    let flags = 0;
    if (options !== undefined) {
      objectArg(options, 'options', ctx);
      // Each option read once, before anything is decided: a getter may run any
      // code, destroy() included, which the check after the reads catches.
      const { owner: name, pinned } = options;
      this.#live(method);
      if (pinned !== undefined && booleanArg(pinned, 'pinned', ctx)) flags = 1;
      if (name !== undefined) owner = this.#ownerId(name, true, method);
    }
    words[ID] = this.#id;
    words[A] = size;
    words[B] = owner;
    words[C] = flags;
    return this.#allocFromFrame();
  }

  /** The native allocation of the frame's request: a handle, or -status. */
  #allocFromFrame(): number {
    mpool_alloc();
    const h = frame[0];
    if (h > 0) {
      // Known for #locate: the handle and its size (the frame's request) at its entry.
      const at = 2 * (h & this.#indexMask);
      const known = at < this.#known.length ? this.#known : this.#growKnown(at);
      // Past the end when the cache could not grow: typed-array stores there do nothing.
      known[at] = h;
      known[at + 1] = words[A];
      if (pressureSignal[2] !== seenPressureSequence) this.#pressureChanged();
    }
    return h;
  }

  /** #known with room for entry pair `at` (< #knownLimit, as any entry of the table). */
  #growKnown(at: number): Float64Array {
    let length = this.#known.length;
    while (length <= at) length *= 2;
    let known: Float64Array;
    try {
      known = unknownHandles(Math.min(length, this.#knownLimit));
    } catch {
      // No memory for a larger cache (it can reach 16 bytes per slot): the
      // block is allocated; its handle is just not known, so it resolves by call.
      return this.#known;
    }
    known.set(this.#known);
    this.#known = known;
    return known;
  }

  /** Opens the handle table of pool `id` for #locate, if the addon gives one. */
  #openTable(id: number): void {
    const buffer = poolBinding.mpool_handle_table(id);
    if (buffer === undefined) return;
    this.#tableBuffer = buffer;
    this.#table = new Uint32Array(buffer);
    this.#indexMask = scratch[0];
    this.#entryWords = scratch[1];
    this.#handleLo = scratch[2];
    this.#handleHi = scratch[3];
    this.#addressLo = scratch[4];
    this.#regionLo = scratch[5];
    this.#knownLimit = 2 * (scratch[0] + 1);
    this.#known = unknownHandles(Math.min(this.#knownLimit, 1024));
  }

  /**
   * locate(this.#id, handle) without a call when this object allocated
   * `handle` and its block is live: the core's entry for it holds exactly
   * that handle (free, retired and unused entries hold none) and the block's
   * current address; the size is the one requested (a handle's size never
   * changes). Anything else goes to the core, which says why it refuses.
   */
  #locate(handle: unknown): number {
    if (typeof handle === 'number') {
      const i = handle & this.#indexMask;
      const known = this.#known;
      if (known[2 * i] === handle) {
        const table = this.#table;
        const w = i * this.#entryWords;
        if (table[w + this.#handleLo] + table[w + this.#handleHi] * TWO_POW_32 === handle) {
          frame[1] = known[2 * i + 1];
          return (table[w + this.#addressLo] - this.#regionLo) >>> 0;
        }
      }
    }
    return locate(this.#id, handle);
  }

  /** The error of a refused allocation, with the core's byte detail and, for
   * exhaustion and limits, the pool's used and total bytes. */
  #allocFailure(status: number, size: number, method: string): MemoryPoolError {
    const detail: ErrorDetail = { requestedBytes: size };
    // Read before metrics(): any later native call may overwrite this thread's last error.
    const err = errorFromLastError(status, `MemoryPool.${method}(${size})`, detail);
    if (status !== ERR_OUT_OF_MEMORY && status !== ERR_LIMIT_EXCEEDED) return err;
    const m = binding.pool_stats<MemoryPoolMetrics>(this.#id);
    return errorFromStatus(status, `MemoryPool.${method}(${size})`, {
      requestedBytes: size,
      availableBytes: err.availableBytes,
      largestFreeBytes: err.largestFreeBytes,
      usedBytes: m.usedBytes,
      totalBytes: m.totalBytes,
    });
  }

  /** The error for a status a handle call returned. MP_ERR_INVALID_ARGUMENT
   * comes from the glue only (the core never saw the call): a handle that is
   * not an integer in [0, 2^53) or data that is no typed array. */
  #failure(status: number, handle: unknown, method: string): MemoryPoolError {
    const ctx = `MemoryPool.${method}(${show(handle)})`;
    if (status === ERR_INVALID_ARGUMENT && !isHandleValue(handle)) {
      return new InvalidArgumentError(
        `${ctx}: a handle is an integer in [1, 2^53), got ${show(handle)}`,
      );
    }
    return errorFromStatus(status, ctx, isHandleValue(handle) ? { handle } : {});
  }

  /** readInto/write with access options, a bad offset, a DataView, or refused data. */
  #transferSlow(
    handle: number,
    data: ArrayBufferView,
    offset: number,
    access: AccessOptions | undefined,
    method: 'readInto' | 'write',
  ): void {
    const ctx = `MemoryPool.${method}()`;
    const id = this.#live(method);
    const off = uint32Arg(offset, 'offset', ctx);
    if (!ArrayBuffer.isView(data)) {
      throw new InvalidArgumentError(
        `${ctx}: data must be a typed array or DataView, got ${show(data)}`,
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const owner = access === undefined ? undefined : this.#accessOwner(access, method);
    const st = transfer(method === 'write', id, handle, off, bytes, owner);
    if (st !== MP_OK) throw this.#failure(st, handle, method);
  }

  /** `length`, or by default the bytes from `offset` to the end of the block.
   * An invalid handle gives 0: the access call then refuses (and counts) it
   * as the core does for any access. */
  #lengthArg(handle: number, offset: number, length: unknown, method: string): number {
    if (length !== undefined) return uint32Arg(length, 'length', `MemoryPool.${method}()`);
    const end = this.#locate(handle) >= 0 ? frame[1] : 0;
    return end > offset ? end - offset : 0;
  }

  /** The native id of the owner named by `{ as }`. */
  #accessOwner(access: AccessOptions | undefined, method: string): number {
    objectArg(access, 'access options', `MemoryPool.${method}()`);
    const name = (access as AccessOptions).as;
    // Reading `as` may run a getter that destroyed this pool: the caller's id is stale then.
    this.#live(method);
    return this.#ownerId(name, false, method);
  }

  /** The id of owner `name`; a new one if `create`, else UNKNOWN_OWNER_ID for a name not seen. */
  #ownerId(name: unknown, create: boolean, method: string): number {
    if (name === this.#lastOwner) return this.#lastOwnerId;
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidArgumentError(
        `MemoryPool.${method}(): owner must be a non-empty string, got ${show(name)}`,
      );
    }
    let id = this.#ownerIds.get(name);
    if (id === undefined) {
      if (!create) return UNKNOWN_OWNER_ID;
      id = this.#ownerNames.length;
      if (id >= UNKNOWN_OWNER_ID) {
        throw new LimitExceededError(`MemoryPool.${method}(): 2^32 - 1 owners are the most`);
      }
      this.#ownerIds.set(name, id);
      this.#ownerNames.push(name);
    }
    this.#lastOwner = name;
    this.#lastOwnerId = id;
    return id;
  }

  /** Runs the listeners for what a call of this thread just signalled: an
   * automatic compaction pass first (it happened first), then the level the
   * call reached. */
  #pressureChanged(): void {
    seenPressureSequence = pressureSignal[2];
    if (pressureSignal[4] !== seenAutoDefragSequence) {
      seenAutoDefragSequence = pressureSignal[4];
      const r = autoDefragResult;
      callEach(this.#defragListeners, {
        bytesMoved: r[0],
        blocksMoved: r[1],
        fragmentationBefore: r[2],
        fragmentationAfter: r[3],
        complete: r[4] === 1,
      });
    }
    if (pressureSignal[3] === seenLevelSequence) return;
    seenLevelSequence = pressureSignal[3];
    const level = pressureSignal[1];
    const previous = this.#level;
    if (level === previous) return;
    this.#level = level;
    callEach(this.#listeners, PRESSURE_LEVELS[level], PRESSURE_LEVELS[previous]);
  }
}
