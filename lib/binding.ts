/**
 * The one module that loads the native addon (node-gyp-build: a prebuild
 * from prebuilds/, or a local build/Release) and types it. Every other
 * module imports `binding` from here.
 *
 * The binding is flat: functions named `<family>_<verb>` (create, alloc,
 * free, batch calls) and `pool_<verb>` (stats, check, reset, owns, destroy,
 * attach: any family) that take a numeric pool id and return numbers
 * (offsets, -1 on exhaustion, counts, MP_Status) or plain objects.
 * It throws only when misused (wrong argument types, unknown id); the
 * classes validate arguments first, so they never trigger that.
 */
import path = require('node:path');
import nodeGypBuild = require('node-gyp-build');
import { markAsUntransferable } from 'node:worker_threads';

export interface NativeStatusRow {
  name: string;
  description: string;
}

export interface NativeLastError {
  status: number;
  code: string;
  requestedBytes: number;
  availableBytes: number;
  largestFreeBytes: number;
}

export interface NativeArenaMark {
  offset: number;
  epoch: number;
}

export interface NativeBinding {
  version(): string;
  /** Rows indexed by MP_Status value. */
  status_table(): NativeStatusRow[];
  /** Why the last failing core call of this thread failed. */
  last_error(): NativeLastError;
  clear_last_error(): void;
  /** camelCase field names of a stats struct ('fixed', 'arena', 'heap', 'free', 'slab_class'), in C order. */
  stats_fields(name: string): string[] | undefined;
  /** Detaches this thread from a pool; the pool goes with its last attachment. */
  pool_destroy(id: number): number;
  /** Attaches a shareable pool created in another thread; `region` must view the same bytes. */
  pool_attach(id: number, region: Uint8Array): number;
  /** The family's stats struct, camelCased: T is its declaration in stats.ts. */
  pool_stats<T extends object>(id: number): T;
  /** Number of violated invariants. */
  pool_check(id: number): number;
  pool_reset(id: number): number;
  /** The family's owns() of base + offset. */
  pool_owns(id: number, offset: number): boolean;
  /** Bytes from the start of the region view to the pool base. */
  region_offset(id: number): number;
  /** MP_Status of mp_advise_huge_pages over the view's bytes. */
  advise_huge_pages(view: Uint8Array): number;
  /** Pools registered in the whole process. */
  live_pool_count(): number;
  /** Pools attached to this thread. */
  env_pool_count(): number;
  /** Items the last failed batch call completed. */
  batch_done(): number;

  fixed_region_bytes(objectSize: number, capacity: number, alignment: number): number;
  fixed_create(
    region: Uint8Array,
    objectSize: number,
    capacity: number,
    alignment: number,
    flags: number,
  ): number;
  /** Frame call: words [id] -> [offset, or -1 when every slot is in use]. */
  fixed_alloc(): void;
  /** Frame call: words [id, offset] -> [MP_Status]. */
  fixed_free(): void;
  fixed_alloc_many(id: number, out: Int32Array, count: number): number;
  fixed_free_many(id: number, offsets: Int32Array, count: number): number;
  /** Registers a cached pool's states+cache array with its batch kernels -> MP_Status. */
  fixed_cache_attach(id: number, states: Int32Array, base: number, inverse: number): number;
  /** Binds the array the take (which 0) or put (which 1) kernel works on -> MP_Status. */
  fixed_cache_bind(id: number, which: number, array: Int32Array): number;
  /** Frame call: [id, top, count] -> [slots popped off the cache into bound array 0]. */
  fixed_cache_take(): void;
  /** Frame call: [id, top, count] -> [offsets of bound array 1 pushed onto the cache]. */
  fixed_cache_put(): void;

  arena_create(region: Uint8Array, size: number): number;
  arena_mark(id: number): NativeArenaMark;
  arena_offset(id: number): number;
  arena_rewind(id: number, offset: number, epoch: number): number;
  /** Replays `count` JS bumps ending at `cur`, then allocates as the C
   * window refill; offset or -1; frame[0] = the window's end (0: empty). */
  arena_window_refill(id: number, cur: number, count: number, size: number, align: number): number;
  /** Replays the JS bumps and gives the window's tail back; MP_Status. */
  arena_window_sync(id: number, cur: number, count: number): number;
  /** The arena's base address mod 2^31. */
  arena_base_low(id: number): number;

  /** Creates: id (> 0) or -status. `regionBytes` of `region` are managed. */
  buddy_create(
    region: Uint8Array,
    regionBytes: number,
    minBlockBytes: number,
    maxBlockBytes: number,
    flags: number,
  ): number;
  slab_create(
    region: Uint8Array,
    regionBytes: number,
    slabBytes: number,
    classSizes: Int32Array | null,
    classCount: number,
    maxClassBytes: number,
    flags: number,
  ): number;
  tlsf_create(
    region: Uint8Array,
    regionBytes: number,
    slLog2: number,
    flags: number,
    cacheBytes: number,
    smallBytes: number,
  ): number;
  /** policy: MP_FitPolicy (0 first, 1 best, 2 worst). */
  fitlist_create(region: Uint8Array, regionBytes: number, policy: number, flags: number): number;
  slab_class_count(id: number): number;
  /** The class's stats, or an MP_Status (a number) for an index out of range. */
  slab_class_stats<T extends object>(id: number, index: number): T | number;

  /* heap_*: any variable-size family (buddy, slab, tlsf, fitlist). */
  /** Frame call: words [id, size] -> [offset, or -1 (see last_error)]. */
  heap_alloc(): void;
  heap_alloc_aligned(id: number, size: number, align: number): number;
  heap_calloc(id: number, size: number): number;
  /** The block's new offset, or -status (the block is then untouched). */
  heap_realloc(id: number, offset: number, size: number): number;
  /** Frame call: words [id, offset] -> [MP_Status]. */
  heap_free(): void;
  /** Usable bytes of the live block at offset; 0 if there is none. */
  heap_usable_size(id: number, offset: number): number;
  /** Blocks allocated into out[0..n); n < count: allocation n failed (see last_error). */
  heap_alloc_many(id: number, sizes: Int32Array | number, out: Int32Array, count: number): number;
  /** MP_Status of the first failing free; batch_done() tells how many were freed. */
  heap_free_many(id: number, offsets: Int32Array, count: number): number;
  /** The free stats, or an MP_Status (a number) when the walk failed. */
  heap_free_stats<T extends object>(id: number): T | number;
  /** (offset, usable bytes, used 0/1) per block in address order, or -status. */
  heap_walk(id: number): Int32Array | number;
  /** Bytes given back to the OS, or -status. */
  heap_trim(id: number): number;

  /** Does nothing: the cost floor of a native call. */
  noop(): void;
  /** This thread's call frame (MP_NAPI_FRAME_DOUBLES doubles), see `frame`. */
  call_frame: ArrayBuffer;
}

/** Root of the package: lib/.. when run from sources, dist/.. when built. */
export const packageRoot: string = path.join(__dirname, '..');

/* The addon's exports object is in V8's dictionary mode (functions added one
 * by one); a copy is a fast-properties object, so `binding.x` loads inline. */
export const binding: NativeBinding = { ...(nodeGypBuild(packageRoot) as NativeBinding) };
/* The addon reads and writes the call frame through a pointer it keeps for
 * the env's life (frame_init): a postMessage or structuredClone transfer
 * must copy it, never detach it under that pointer. */
markAsUntransferable(binding.call_frame);

/**
 * The call frame of the frame calls (native/napi/addon.h): the hottest
 * native functions take no numbers as arguments; the caller stores the pool
 * id and the uint32 inputs (sizes, offsets, owners, flags) in `frameWords`
 * at FRAME_ID, FRAME_A.., a handle in frame[1], calls, and reads the results
 * from frame[0..]. Unpacking arguments and making result values through
 * Node-API costs more than the pools' own work, a typed-array store or load
 * costs almost nothing. Store only numbers validated before (a Uint32Array
 * converts anything else to a uint32, and the conversion could run user
 * code), and read the results before any other native call.
 */
export const frame = new Float64Array(binding.call_frame);
/** The call frame as uint32 words (the same bytes as `frame`). */
export const frameWords = new Uint32Array(binding.call_frame);
/** Words of `frameWords` (MP_NAPI_FRAME_ID, _A, _B, _C of addon.h): the
 * pool id; a size or offset; an owner; flags or the owner check (0/1). */
export const FRAME_ID = 4;
export const FRAME_A = 5;
export const FRAME_B = 6;
export const FRAME_C = 7;

/** MP_FLAG_THREAD_SAFE of the C header. */
export const FLAG_THREAD_SAFE = 0x1;

/** Largest region a pool may span: offsets cross the boundary as int32. */
export const MAX_REGION_BYTES = 0x7fffffff;

/** What a hot-path alloc returns when the pool is exhausted (never thrown). */
export const NO_MEMORY = -1;
