/**
 * FixedPool: `capacity` slots of `objectSize` bytes in one region, handed
 * out as byte offsets into `pool.bytes`.
 *
 * Fast path (default, single-threaded pools): a JS-side cache of free
 * slots, refilled by one native alloc_many call when empty and half drained
 * by one free_many call when full, as tcmalloc's and mimalloc's thread
 * caches do; allocMany takes from it first, freeMany fills it first. The
 * core cannot see frees that stop in the cache, so a per-slot state
 * (UNTOUCHED / IN_USE / RELEASED) keeps misuse detection exact in JS, with
 * the core's codes and counting: freeing a slot handed out since the last
 * reset and already freed is MP_ERR_DOUBLE_FREE; any other offset that is
 * not a slot in use is MP_ERR_INVALID_ADDRESS (the core's rule: below its
 * high water or not); each is counted in rejectedFreeCount. stats() and
 * check() count cached slots as free: `allocated` is what the caller holds.
 *
 * Offset -> slot without division, as the core does: slotSize = odd * 2^k,
 * and rotr(offset * odd^-1 mod 2^32, k) is offset / slotSize when slotSize
 * divides offset, and >= capacity when it does not (regions are < 2^31), so
 * one bound check validates an offset.
 *
 * Layout: one Int32Array, #slots: the state of slot i at [i], i < #base
 * (= capacity), then the cache, a stack of slot indices at [#base, #top)
 * (alloc multiplies, free divides as above). IN_USE is the one negative
 * state and every entry past the states is a slot index or an offset
 * (>= 0), so free()'s one compare with IN_USE also refuses any index past
 * the states (1.64x -> 1.51x the pure-JS free stack class, same runs); the
 * other state reads check index < #base first. Uncached and destroyed
 * pools have #base = #top = 0 and an empty #slots: every alloc() and free()
 * takes the slow path after one compare. One array rather than a byte
 * array of states and a cache: optimized code reloads a typed array's length and data pointer at
 * each use, so the second array costs every call (4 instructions a cached
 * pair; on 9 pools with random frees, 17-19 ns an op instead of 20-21 in
 * the same runs), for 4 bytes of state a slot instead of 1.
 *
 * The hot paths keep the fewest counters: slots in use are the slots the
 * JS side holds (#held: in use or cached, changed only by refills, drains,
 * batch calls and reset) minus the cached ones, so the peak in use over a
 * span where #held is constant is #held minus the fewest cached slots
 * (#lowTop - #base, the one thing alloc() tracks for it, in the same
 * compare as the empty cache), folded into #peak when the span ends
 * (#settlePeak); frees served by the cache follow from the cache's count
 * and the other counters (#cacheFrees).
 *
 * Invariants (check() verifies them): cache entries are distinct slots,
 * none IN_USE; #held minus the cached slots are IN_USE; the core's
 * `allocated` equals #held; the core owns a slot iff it is IN_USE or cached.
 *
 * Batches: allocMany/freeMany of at least KERNEL_MIN_BATCH offsets run their
 * cache loops natively (fixed_cache_take/_put in native/napi/fixed_pool_glue.c),
 * over #slots, which the addon holds from create on, and the caller's
 * array: the same pops, pushes and state changes as the JS loops used for
 * smaller batches, in one C loop. In optimized JS every typed-array access
 * here re-checks the array's map, length and data pointer: the JS loops
 * cost 3-4 ns an element (alloc + free, batches of 256) where the C loops
 * cost ~1.5. The caller's array is bound to its kernel once
 * (fixed_cache_bind) and again only when the caller passes another array or
 * its length changed, so a kernel call passes nothing but frame words:
 * unpacking the typed array at every call cost ~650 instructions per
 * allocMany+freeMany pair (callgrind, batches of 256: 30.0 -> 27.5 per
 * element). Below KERNEL_MIN_BATCH elements the JS loops cost less than
 * the native call would.
 *
 * Thread-safe pools (threadSafe: true) have no JS cache: each call goes to
 * the core, whose free stack is safe to share, and share()/attach() let a
 * worker use the same pool over the same SharedArrayBuffer.
 */
import {
  alignmentArg,
  booleanArg,
  countArg,
  int32ArrayArg,
  int32Range,
  isSharedView,
  isUint32,
  objectArg,
  show,
  typedArrayLength,
  uint32Arg,
} from './args';
import {
  binding,
  FLAG_THREAD_SAFE,
  frame,
  FRAME_A,
  FRAME_B,
  FRAME_ID,
  frameWords,
  MAX_REGION_BYTES,
  NO_MEMORY,
} from './binding';
import {
  CorruptionError,
  errorFromStatus,
  InvalidAddressError,
  InvalidArgumentError,
  type ErrorDetail,
  MemoryPoolError,
  OutOfBoundsError,
  statusOf,
  UnsupportedError,
} from './errors';
import { destroyedError, errorFromLastError } from './failures';
import { track, untrack } from './lifecycle';
import { checkSharedHandle, keepRegionInPlace, resolveRegion, type RegionBuffer } from './region';
import type { FixedPoolStats } from './stats';

/* Hot native calls and the call frame as module constants: optimized code
 * embeds them (a direct call; frame stores and loads at a fixed address),
 * where `binding_1.frame` would be a property load and a map check per use. */
const {
  fixed_alloc,
  fixed_free,
  fixed_alloc_many,
  fixed_free_many,
  fixed_cache_take,
  fixed_cache_put,
} = binding;
const callFrame = frame;
const callWords = frameWords;
const ID = FRAME_ID;
const A = FRAME_A;
const B = FRAME_B;

/** Default number of offsets the JS cache holds; refill and drain move half. */
export const DEFAULT_CACHE_SIZE = 256;
const MAX_CACHE_SIZE = 1 << 20;
/** Smallest batch whose cache loop runs natively (see the top). */
export const KERNEL_MIN_BATCH = 32;

/* Slot states of the cached mode, from the caller's point of view. */
const UNTOUCHED = 0; // not handed out since create or reset (in the core or the cache)
const IN_USE = -1; // held by the caller; the only negative entry of #slots (see the top)
const RELEASED = 2; // handed out, then freed (in the core or the cache)
const MP_OK = 0;

const EMPTY_SLOTS = new Int32Array(0);

export interface FixedPoolOptions {
  /** Bytes per object, >= 1. */
  objectSize: number;
  /** Number of slots, >= 1. */
  capacity: number;
  /**
   * Slot alignment, a power of two <= 4096; default (0): the largest power of
   * two dividing objectSize, at most 16. Slots are slotSize apart: objectSize
   * rounded up to it, plus 64 bytes when that is a power of two >= 1024 and
   * the alignment <= 64 (so large slots do not share a few cache sets); 128
   * or more keeps the power of two (4096: page-aligned slots).
   */
  alignment?: number;
  /** Memory for the slots; default: a new SharedArrayBuffer of the needed size. */
  buffer?: RegionBuffer;
  /** Where the slots start inside `buffer`; default 0. */
  byteOffset?: number;
  /** Ask the OS for transparent huge pages under the region (fewer TLB misses on large
   * regions, memory resident 2 MiB at a time); default false. See RegionOptions. */
  hugePages?: boolean;
  /** Offsets kept in the JS cache; default 256, 0 disables it (every call goes native). */
  cacheSize?: number;
  /** Share the pool between threads (no JS cache then); default false. */
  threadSafe?: boolean;
}

/** What another thread needs to attach to a thread-safe pool (structured-cloneable). */
export interface FixedPoolHandle {
  readonly id: number;
  readonly buffer: SharedArrayBuffer;
  /** Start and length of the region view the pool was created over. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * The error for a value that cannot even be passed to the core as an offset
 * (anything but an integer in [0, 2^32)): a non-number is an
 * InvalidArgumentError, any other number an InvalidAddressError. Refused in
 * JS, so no core counter moves.
 */
function nonOffsetError(offset: unknown, ctx: string, detail: ErrorDetail): MemoryPoolError {
  return typeof offset !== 'number'
    ? new InvalidArgumentError(`${ctx}: offset must be a number`, detail)
    : new InvalidAddressError(`${ctx}: not a slot offset`, detail);
}

/**
 * The slot index of `offset` (int32 or uint32) for slotSize = odd * 2^shift
 * and inverse = odd^-1 mod 2^32, or a value >= capacity when `offset` is not
 * the start of a slot: a multiply and a rotate, integer ops only.
 */
function slotIndex(offset: number, inverse: number, shift: number): number {
  const x = Math.imul(offset, inverse);
  return ((x >>> shift) | (x << ((32 - shift) & 31))) >>> 0;
}

/* Marks the internal attach path of the constructor; not exported. */
class AttachRequest {
  constructor(readonly handle: FixedPoolHandle) {}
}

export class FixedPool {
  #id = 0;
  #destroyed = false;
  #buffer: RegionBuffer;
  /* Numeric fields start as numbers (not undefined) so V8 keeps them unboxed Smis. */
  #regionOffset = 0;
  #regionLength = 0;
  #bytes: Uint8Array;
  #objectSize = 0;
  #capacity = 0;
  #slotSize = 0;
  #alignment = 0;
  #threadSafe = false;
  /* slotSize = odd * 2^#strideShift, #strideInverse = odd^-1 mod 2^32 (see slotIndex). */
  #strideInverse = 1;
  #strideShift = 0;

  /** Slot states at [0, #base), then the cache at [#base, #top) (see the top). */
  #slots: Int32Array = EMPTY_SLOTS;
  /** The cache part of #slots, for the batch calls of refill and drain. */
  #cacheView: Int32Array = EMPTY_SLOTS;
  /** capacity when cached, else 0. */
  #base = 0;
  /** #base + the number of cached slots. */
  #top = 0;
  #cacheSize = 0;
  /** Offsets moved per refill or drain. */
  #batch = 0;
  /* The arrays bound to the take and put kernels (fixed_cache_bind) and
   * their lengths when bound: a call with another array, or the same one
   * resized, binds again before its kernel runs. */
  #takeArray: Int32Array | null = null;
  #takeLength = 0;
  #putArray: Int32Array | null = null;
  #putLength = 0;
  /** What the cached batch calls pass to the core for a shared array (see #sharedArray). */
  #batchScratch: Int32Array = EMPTY_SLOTS;
  /** The last batch array found not to be over a SharedArrayBuffer. */
  #unsharedArray: Int32Array | null = null;

  /* Accounting of the cached mode; the core counts what passes through it. */
  /** Slots the JS side holds: in use or cached (the core counts them allocated). */
  #held = 0;
  /** Highest slots-in-use of the spans settled so far. */
  #peak = 0;
  /** #base + the fewest cached slots since the last #settlePeak(). */
  #lowTop = 0;
  /** Allocations served by the cache (alloc, allocMany). */
  #cacheAllocs = 0;
  #refilled = 0;
  #drained = 0;
  /** Cached slots reset() dropped, summed (see #cacheFrees()). */
  #resetDropped = 0;
  /** Frees refused in JS in the cached mode, counted as the core would have. */
  #rejected = 0;
  #shortRefills = 0;

  constructor(options: FixedPoolOptions) {
    if (options instanceof AttachRequest) {
      const { handle } = options;
      const view = new Uint8Array(handle.buffer, handle.byteOffset, handle.byteLength);
      const status = binding.pool_attach(handle.id, view);
      if (status !== MP_OK) throw errorFromStatus(status, 'FixedPool.attach()');
      this.#id = handle.id;
      this.#buffer = handle.buffer;
      this.#regionOffset = handle.byteOffset;
      this.#regionLength = handle.byteLength;
      this.#threadSafe = true;
    } else {
      const ctx = 'new FixedPool()';
      objectArg(options, 'options', ctx);
      const objectSize = uint32Arg(options.objectSize, 'objectSize', ctx, 1);
      const capacity = uint32Arg(options.capacity, 'capacity', ctx, 1);
      const alignment =
        options.alignment === undefined ? 0 : alignmentArg(options.alignment, ctx, true);
      const threadSafe =
        options.threadSafe !== undefined && booleanArg(options.threadSafe, 'threadSafe', ctx);
      const cacheSize =
        options.cacheSize !== undefined
          ? uint32Arg(options.cacheSize, 'cacheSize', ctx, 0, MAX_CACHE_SIZE)
          : threadSafe
            ? 0
            : DEFAULT_CACHE_SIZE;
      if (threadSafe && cacheSize !== 0) {
        throw new InvalidArgumentError(
          `${ctx}: a thread-safe pool keeps no JS cache; cacheSize must be 0`,
        );
      }
      const needed = binding.fixed_region_bytes(objectSize, capacity, alignment);
      if (needed > MAX_REGION_BYTES) {
        throw new InvalidArgumentError(
          `${ctx}: the slots need ${needed} bytes, more than 2^31 - 1`,
          {
            requestedBytes: needed,
          },
        );
      }
      // A default buffer gets room to align its start; the core aligns on real addresses.
      const slack = options.buffer === undefined && alignment > 16 ? alignment : 0;
      const region = resolveRegion(options, Math.max(needed, 1) + slack, ctx);
      const flags = threadSafe ? FLAG_THREAD_SAFE : 0;
      const id = binding.fixed_create(region.view, objectSize, capacity, alignment, flags);
      if (id <= 0) throw errorFromLastError(-id, ctx);
      keepRegionInPlace(region);
      this.#id = id;
      this.#buffer = region.buffer;
      this.#regionOffset = region.byteOffset;
      this.#regionLength = region.view.byteLength;
      this.#threadSafe = threadSafe;
      this.#cacheSize = cacheSize;
    }
    const stats = binding.pool_stats<FixedPoolStats>(this.#id);
    this.#objectSize = stats.objectSize;
    this.#capacity = stats.capacity;
    this.#slotSize = stats.slotSizeBytes | 0;
    this.#alignment = stats.alignment;
    let odd = this.#slotSize;
    while ((odd & 1) === 0) {
      odd >>>= 1;
      this.#strideShift++;
    }
    // Newton's step x(2 - odd x) doubles the correct low bits; odd is its own inverse mod 8.
    let inverse = odd;
    for (let i = 0; i < 4; i++) inverse = Math.imul(inverse, 2 - Math.imul(odd, inverse));
    this.#strideInverse = inverse;
    const base = this.#regionOffset + binding.region_offset(this.#id);
    this.#bytes = new Uint8Array(this.#buffer, base, this.#capacity * this.#slotSize);
    if (this.#cacheSize > 0) {
      // Over its own ArrayBuffer: off the V8 heap from the start, so the
      // pointer the addon keeps (fixed_cache_attach) never moves.
      this.#slots = new Int32Array(new ArrayBuffer(4 * (this.#capacity + this.#cacheSize)));
      this.#cacheView = this.#slots.subarray(this.#capacity);
      this.#base = this.#top = this.#lowTop = this.#capacity;
      this.#batch = Math.max(1, this.#cacheSize >>> 1);
      const status = binding.fixed_cache_attach(this.#id, this.#slots, this.#base, inverse);
      if (status !== MP_OK) {
        binding.pool_destroy(this.#id);
        throw errorFromStatus(status, 'new FixedPool(): attaching the JS cache');
      }
    }
    track(this, this.#id, `FixedPool(${this.#objectSize} x ${this.#capacity})`);
  }

  /** Attaches this thread to a thread-safe pool another thread created and shared. */
  static attach(handle: FixedPoolHandle): FixedPool {
    const checked = checkSharedHandle(handle, 'FixedPool.attach()');
    return new FixedPool(new AttachRequest(checked) as unknown as FixedPoolOptions);
  }

  /** A handle another thread passes to FixedPool.attach(); thread-safe pools over a SharedArrayBuffer only. */
  share(): FixedPoolHandle {
    if (this.#destroyed) throw destroyedError('FixedPool.share()');
    if (!this.#threadSafe || !(this.#buffer instanceof SharedArrayBuffer)) {
      throw new UnsupportedError(
        'FixedPool.share(): only a threadSafe pool over a SharedArrayBuffer can be shared',
      );
    }
    const buffer = this.#buffer;
    return { id: this.#id, buffer, byteOffset: this.#regionOffset, byteLength: this.#regionLength };
  }

  /** The slots: slot i is bytes[i * slotSize, i * slotSize + objectSize). */
  get bytes(): Uint8Array {
    if (this.#destroyed) throw destroyedError('FixedPool.bytes');
    return this.#bytes;
  }
  get objectSize(): number {
    return this.#objectSize;
  }
  get capacity(): number {
    return this.#capacity;
  }
  get slotSize(): number {
    return this.#slotSize;
  }
  get alignment(): number {
    return this.#alignment;
  }
  get cacheSize(): number {
    return this.#cacheSize;
  }
  get threadSafe(): boolean {
    return this.#threadSafe;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The offset of a free slot, or NO_MEMORY (-1) when every slot is in use. O(1). */
  alloc(): number {
    const n = this.#top - 1;
    // One compare for both rare cases: #lowTop >= #base, so an empty cache is below it too.
    if (n < this.#lowTop) {
      if (n < this.#base) return this.#allocSlow();
      this.#lowTop = n;
    }
    const slots = this.#slots;
    const slot = slots[n];
    this.#top = n;
    slots[slot] = IN_USE;
    this.#cacheAllocs++;
    return Math.imul(slot, this.#slotSize);
  }

  /**
   * Returns a slot. Throws (changing nothing but rejectedFreeCount, as the
   * core does): DoubleFreeError for a slot already freed, InvalidAddressError
   * for any other offset that is not a slot in use, InvalidArgumentError for
   * a non-number, DestroyedError after destroy(). O(1).
   */
  free(offset: number): void {
    if (typeof offset !== 'number' || offset >>> 0 !== offset) return this.#freeSlow(offset);
    const slot = this.#slotOf(offset);
    const slots = this.#slots;
    // Past the states (a cache entry, >= 0, or past the array): not IN_USE either.
    if (slots[slot] !== IN_USE) return this.#freeSlow(offset);
    let n = this.#top;
    if (n >= slots.length) n = this.#drain();
    slots[n] = slot;
    this.#top = n + 1;
    slots[slot] = RELEASED;
  }

  /**
   * Allocates up to `count` (default out.length) slots into out[0..n); returns n (< count when the pool ran out).
   * A batch served from the JS cache runs natively on `out`, which the pool then holds (see the top) until
   * allocMany gets another array or the pool is destroyed.
   */
  allocMany(out: Int32Array, count?: number): number {
    const ctx = 'FixedPool.allocMany()';
    if (this.#destroyed) throw destroyedError(ctx);
    int32ArrayArg(out, 'out', ctx);
    const length = typedArrayLength(out);
    const n = countArg(count, length, ctx);
    if (this.#cacheSize === 0) return fixed_alloc_many(this.#id, out, n);
    const slots = this.#slots;
    const slotSize = this.#slotSize;
    const top = this.#top;
    const fromCache = Math.min(n, top - this.#base) | 0;
    if (fromCache >= KERNEL_MIN_BATCH) {
      if (out !== this.#takeArray || length !== this.#takeLength) {
        this.#bindKernelArray(0, out, ctx);
        this.#takeArray = out;
        this.#takeLength = length;
      }
      callWords[ID] = this.#id;
      callWords[A] = top;
      callWords[B] = fromCache;
      fixed_cache_take();
      // The kernel takes nothing when a cache entry is not a slot.
      if (callFrame[0] !== fromCache)
        throw new CorruptionError(`${ctx}: the JS cache holds a non-slot`);
    } else {
      for (let i = 0; i < fromCache; i++) {
        const slot = slots[top - 1 - i];
        out[i] = Math.imul(slot, slotSize);
        slots[slot] = IN_USE;
      }
    }
    this.#top = top - fromCache;
    this.#cacheAllocs += fromCache;
    let fromCore = 0;
    if (n > fromCache) {
      const inverse = this.#strideInverse;
      const shift = this.#strideShift;
      const want = n - fromCache;
      if (this.#sharedArray(out)) {
        // Another thread may rewrite `out` after the core did: mark what the core gave.
        const got = this.#scratch(want);
        fromCore = fixed_alloc_many(this.#id, got, want);
        for (let i = 0; i < fromCore; i++) {
          const offset = got[i];
          slots[slotIndex(offset, inverse, shift)] = IN_USE;
          out[fromCache + i] = offset;
        }
      } else {
        const rest = fromCache === 0 ? out : int32Range(out, fromCache, want);
        fromCore = fixed_alloc_many(this.#id, rest, want);
        for (let i = 0; i < fromCore; i++) slots[slotIndex(rest[i], inverse, shift)] = IN_USE;
      }
    }
    this.#settlePeak();
    this.#held += fromCore;
    this.#settlePeak();
    return fromCache + fromCore;
  }

  /* Binds `array` to the take (0) or put (1) kernel. The addon keeps it
   * alive until the next bind or destroy(); the array is the caller's,
   * already checked to be an Int32Array at least as long as the count. */
  #bindKernelArray(which: number, array: Int32Array, ctx: string): void {
    const status = binding.fixed_cache_bind(this.#id, which, array);
    if (status !== MP_OK) throw errorFromStatus(status, `${ctx}: binding the batch array`);
  }

  /**
   * Frees offsets[0..count) in order. At the first offset free() would
   * refuse, the ones before it stay freed and the error (as free() throws
   * it) carries `index`.
   */
  freeMany(offsets: Int32Array, count?: number): void {
    const ctx = 'FixedPool.freeMany()';
    if (this.#destroyed) throw destroyedError(ctx);
    int32ArrayArg(offsets, 'offsets', ctx);
    const length = typedArrayLength(offsets);
    const n = countArg(count, length, ctx);
    if (this.#cacheSize === 0) {
      const status = fixed_free_many(this.#id, offsets, n);
      if (status === MP_OK) return;
      const index = binding.batch_done();
      throw errorFromStatus(status, `${ctx} at index ${index}`, { offset: offsets[index], index });
    }
    // Into the JS cache while it has room, the rest to the core in one call.
    const slots = this.#slots;
    const base = this.#base;
    const inverse = this.#strideInverse;
    const shift = this.#strideShift;
    const top = this.#top;
    const room = Math.min(n, slots.length - top) | 0;
    // Int32Array elements are int32: a negative one maps past the last slot.
    let i = 0;
    if (room >= KERNEL_MIN_BATCH) {
      if (offsets !== this.#putArray || length !== this.#putLength) {
        this.#bindKernelArray(1, offsets, ctx);
        this.#putArray = offsets;
        this.#putLength = length;
      }
      callWords[ID] = this.#id;
      callWords[A] = top;
      callWords[B] = room;
      fixed_cache_put();
      i = callFrame[0] | 0;
    } else {
      for (; i < room; i++) {
        const slot = slotIndex(offsets[i], inverse, shift);
        if (slot >= base || slots[slot] !== IN_USE) break;
        slots[slot] = RELEASED;
        slots[top + i] = slot;
      }
    }
    this.#top = top + i;
    if (i === room && i < n) {
      // The core frees what this loop checked: from the array itself, or, when
      // another thread may rewrite it meanwhile, from a copy of what was read.
      const copy = this.#sharedArray(offsets) ? this.#scratch(n - room) : null;
      for (; i < n; i++) {
        const offset = offsets[i];
        const slot = slotIndex(offset, inverse, shift);
        if (slot >= base || slots[slot] !== IN_USE) break;
        slots[slot] = RELEASED;
        if (copy !== null) copy[i - room] = offset;
      }
      if (i > room) {
        const toCore = copy ?? int32Range(offsets, room, i - room);
        const status = fixed_free_many(this.#id, toCore, i - room);
        if (status !== MP_OK) throw this.#desync(status, ctx);
        this.#settlePeak();
        this.#held -= i - room;
      }
    }
    if (i < n) {
      // As the core reads it: an int32 element is a uint32 offset.
      const offset = offsets[i];
      const detail = { offset, index: i };
      throw this.#refuseFree(offset >>> 0, `${ctx} at index ${i}`, detail);
    }
  }

  /** True if `offset` is the start of a slot the caller holds. */
  owns(offset: number): boolean {
    const ctx = 'FixedPool.owns()';
    if (this.#destroyed) throw destroyedError(ctx);
    if (typeof offset !== 'number') {
      throw new InvalidArgumentError(`${ctx}: offset must be a number, got ${show(offset)}`);
    }
    if (!isUint32(offset)) return false;
    if (this.#cacheSize === 0) return binding.pool_owns(this.#id, offset);
    const slot = this.#slotOf(offset);
    return slot < this.#base && this.#slots[slot] === IN_USE;
  }

  /** A view of the slot at `offset`, `length` (default objectSize, at most objectSize) bytes long. */
  view(offset: number, length?: number): Uint8Array {
    const ctx = 'FixedPool.view()';
    if (!this.owns(offset)) {
      throw new InvalidAddressError(`${ctx}: ${show(offset)} is not a slot in use`, { offset });
    }
    const n = length === undefined ? this.#objectSize : uint32Arg(length, 'length', ctx);
    if (n > this.#objectSize) {
      throw new OutOfBoundsError(
        `${ctx}: length ${n} exceeds the object size ${this.#objectSize}`,
        {
          offset,
        },
      );
    }
    return this.#bytes.subarray(offset, offset + n);
  }

  /** Frees every slot at once; offsets handed out before become invalid. O(capacity). */
  reset(): void {
    const ctx = 'FixedPool.reset()';
    if (this.#destroyed) throw destroyedError(ctx);
    const status = binding.pool_reset(this.#id);
    if (status !== MP_OK) throw errorFromStatus(status, ctx);
    this.#resetDropped += this.#top - this.#base;
    this.#slots.fill(UNTOUCHED, 0, this.#base);
    this.#top = this.#lowTop = this.#base;
    this.#held = 0;
    this.#peak = 0;
  }

  /** Counters; slots parked in the JS cache count as free. */
  stats(): FixedPoolStats {
    if (this.#destroyed) throw destroyedError('FixedPool.stats()');
    const s = binding.pool_stats<FixedPoolStats>(this.#id);
    if (this.#cacheSize === 0) return s;
    this.#settlePeak();
    s.allocated = this.#held - (this.#top - this.#base);
    s.allocatedPeak = this.#peak;
    s.allocCount = s.allocCount - this.#refilled + this.#cacheAllocs;
    s.freeCount = s.freeCount - this.#drained + this.#cacheFrees();
    s.failedAllocCount -= this.#shortRefills;
    s.rejectedFreeCount += this.#rejected;
    return s;
  }

  /** Number of violated invariants of the core and of the JS cache (0 = consistent). O(capacity). */
  check(): number {
    if (this.#destroyed) throw destroyedError('FixedPool.check()');
    let violations = binding.pool_check(this.#id);
    if (this.#cacheSize === 0) return violations;
    const slots = this.#slots;
    const base = this.#base;
    const inCache = new Uint8Array(this.#capacity);
    for (let i = base; i < this.#top; i++) {
      const index = slots[i];
      if (!(index >= 0 && index < base) || inCache[index] === 1 || slots[index] === IN_USE) {
        violations++;
      } else inCache[index] = 1;
    }
    let inUse = 0;
    for (let i = 0; i < base; i++) {
      const st = slots[i];
      if (st === IN_USE) inUse++;
      else if (st !== UNTOUCHED && st !== RELEASED) violations++;
      const held = st === IN_USE || inCache[i] === 1;
      if (binding.pool_owns(this.#id, i * this.#slotSize) !== held) violations++;
    }
    if (inUse !== this.#held - (this.#top - base)) violations++;
    const allocated = binding.pool_stats<FixedPoolStats>(this.#id).allocated;
    if (allocated !== this.#held) violations++;
    return violations;
  }

  /** Releases the pool (this thread's attachment of it). Idempotent; every other call throws DestroyedError after it. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    untrack(this);
    binding.pool_destroy(this.#id);
    this.#slots = this.#cacheView = this.#batchScratch = EMPTY_SLOTS;
    this.#takeArray = this.#putArray = this.#unsharedArray = null;
    this.#base = this.#top = this.#lowTop = 0;
    this.#bytes = new Uint8Array(0);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /* ------------------------------------------------------------ slow paths */

  #slotOf(offset: number): number {
    return slotIndex(offset, this.#strideInverse, this.#strideShift);
  }

  #allocSlow(): number {
    if (this.#destroyed) throw destroyedError('FixedPool.alloc()');
    if (this.#cacheSize === 0) {
      callWords[ID] = this.#id;
      fixed_alloc();
      return callFrame[0] | 0;
    }
    // An empty refill is this alloc's failure, counted once by the core (failedAllocCount, last error).
    if (this.#refill() === 0) return NO_MEMORY;
    return this.alloc();
  }

  /** Fills the empty cache with up to #batch slots from the core; returns how many. */
  #refill(): number {
    const got = fixed_alloc_many(this.#id, this.#cacheView, this.#batch);
    // The core counts a short batch as one failed allocation; a short refill that got slots failed nobody.
    if (got > 0 && got < this.#batch) this.#shortRefills++;
    // Offsets to slots; alloc() pops from the end: reverse so slots leave in the core's order.
    const slots = this.#slots;
    const inverse = this.#strideInverse;
    const shift = this.#strideShift;
    const base = this.#base;
    for (let i = base, j = base + got - 1; i <= j; i++, j--) {
      const t = slotIndex(slots[i], inverse, shift);
      slots[i] = slotIndex(slots[j], inverse, shift);
      slots[j] = t;
    }
    this.#settlePeak();
    this.#refilled += got;
    this.#held += got;
    this.#top = this.#lowTop = base + got;
    return got;
  }

  /** Returns the oldest #batch cached slots of the full cache to the core; returns the new #top. */
  #drain(): number {
    const slots = this.#slots;
    const base = this.#base;
    const n = this.#batch;
    const slotSize = this.#slotSize;
    for (let i = base; i < base + n; i++) slots[i] = Math.imul(slots[i], slotSize);
    const status = fixed_free_many(this.#id, this.#cacheView, n);
    if (status !== MP_OK) throw this.#desync(status, 'FixedPool.free()');
    this.#settlePeak();
    this.#drained += n;
    this.#held -= n;
    slots.copyWithin(base, base + n, this.#top);
    this.#top = this.#lowTop = this.#top - n;
    return this.#top;
  }

  /**
   * Whether the cached allocMany/freeMany must not read `array` twice: the
   * JS slot states follow what JS read, the core what it read, and another
   * thread may write an array over a SharedArrayBuffer between the two. The
   * last array found unshared is remembered (a typed array never changes
   * buffers), so a caller reusing its array pays one compare, not the ~30
   * ns check. The ranges passed to the core are int32Range views, never
   * subarray(), whose Symbol.species getter would run user code mid-call.
   */
  #sharedArray(array: Int32Array): boolean {
    if (array === this.#unsharedArray) return false;
    if (isSharedView(array)) return true;
    this.#unsharedArray = array;
    return false;
  }

  /** The pool's own array of at least `count` entries: what a batch over a
   * shared array passes to and takes from the core (see #sharedArray). */
  #scratch(count: number): Int32Array {
    if (this.#batchScratch.length < count) {
      this.#batchScratch = new Int32Array(Math.max(count, 2 * this.#batchScratch.length));
    }
    return this.#batchScratch;
  }

  /** Ends the span of constant #held: folds its highest slots-in-use into
   * #peak and starts the next one at the current cache count. */
  #settlePeak(): void {
    const high = this.#held - (Math.min(this.#lowTop, this.#top) - this.#base);
    if (high > this.#peak) this.#peak = high;
    this.#lowTop = this.#top;
  }

  /** Frees the cache took, derived: the cache's count is what refills put
   * in, minus drains, allocations served, and what reset() dropped, plus
   * these frees. */
  #cacheFrees(): number {
    return (
      this.#top -
      this.#base -
      this.#refilled +
      this.#drained +
      this.#cacheAllocs +
      this.#resetDropped
    );
  }

  /** free() without the cached fast path: the uncached mode's native call
   * (allocation-free on success) and every refusal. */
  #freeSlow(offset: number): void {
    if (this.#cacheSize === 0 && !this.#destroyed && isUint32(offset)) {
      callWords[ID] = this.#id;
      callWords[A] = offset;
      fixed_free();
      const status = callFrame[0];
      if (status === MP_OK) return;
      throw errorFromStatus(status, `FixedPool.free(${offset})`, { offset });
    }
    const ctx = `FixedPool.free(${show(offset)})`;
    if (this.#destroyed) throw destroyedError(ctx);
    if (this.#cacheSize !== 0) throw this.#refuseFree(offset, ctx, { offset });
    throw nonOffsetError(offset, ctx, { offset });
  }

  /** Cached mode: the error for an offset that is not a slot in use, decided
   * and counted in JS by the core's rule (the core never sees it). */
  #refuseFree(offset: number, ctx: string, detail: ErrorDetail): MemoryPoolError {
    if (!isUint32(offset)) return nonOffsetError(offset, ctx, detail);
    this.#rejected++;
    const slot = this.#slotOf(offset);
    if (slot < this.#base && this.#slots[slot] === RELEASED) {
      return errorFromStatus(statusOf('MP_ERR_DOUBLE_FREE'), ctx, detail);
    }
    return errorFromStatus(statusOf('MP_ERR_INVALID_ADDRESS'), ctx, detail);
  }

  /** The core disagreed with the JS slot states: a bug, reported, never hidden. */
  #desync(status: number, ctx: string): MemoryPoolError {
    return new CorruptionError(`${ctx}: JS slot states disagree with the core (status ${status})`);
  }
}
