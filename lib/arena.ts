/**
 * Arena: a bump allocator over one region. alloc(size, align) hands out the
 * next aligned `size` bytes as an offset into `arena.bytes`; nothing is
 * freed one by one: reset() frees everything, rewind(mark) everything
 * allocated since mark(). Alignment is computed by the core on real
 * addresses. Allocation bumps in JS inside a window [#cur, #end) that the
 * core reserved (its MP_ArenaWindow, see native/napi/arena_glue.c): the
 * native call happens only to refill it (a 64 KiB chunk or the request), and
 * every other method first syncs (replays the JS bumps, gives the unused
 * tail back), so offsets, marks, stats and failures read exactly as if each
 * alloc had been one mp_arena_alloc. JS aligns on the real address (the
 * base's low bits), as the core does. Marks are checked against the set this
 * arena issued (a forged or foreign mark is refused).
 */
import { objectArg, show, uint32Arg } from './args';
import { binding, frame, MAX_REGION_BYTES, NO_MEMORY } from './binding';
import {
  AlignmentError,
  errorFromStatus,
  InvalidAddressError,
  InvalidArgumentError,
  OutOfBoundsError,
  statusOf,
} from './errors';
import { destroyedError, errorFromLastError } from './failures';
import { track, untrack } from './lifecycle';
import { keepRegionInPlace, resolveRegion, type RegionBuffer } from './region';
import type { ArenaStats } from './stats';

/* The hot native call as a module constant: a direct call, no property load. */
const { arena_window_refill } = binding;

const MP_OK = 0;
const MP_ERR_OUT_OF_MEMORY = statusOf('MP_ERR_OUT_OF_MEMORY');

export interface ArenaOptions {
  /** Bytes in the arena, 1 .. 2^31 - 1. */
  size: number;
  /** Memory for the arena; default: a new SharedArrayBuffer of `size` bytes. */
  buffer?: RegionBuffer;
  /** Where the arena starts inside `buffer`; default 0. */
  byteOffset?: number;
  /** Ask the OS for transparent huge pages under the region (fewer TLB misses on large
   * regions, memory resident 2 MiB at a time); default false. See RegionOptions. */
  hugePages?: boolean;
}

/** A position returned by Arena.mark(); valid for that arena until its next reset(). */
export interface ArenaMark {
  readonly offset: number;
  readonly epoch: number;
}

export class Arena {
  #id = 0;
  #destroyed = false;
  #bytes: Uint8Array;
  #size: number;
  #marks = new WeakSet<object>();
  /* The JS window: next free offset, one past its end (0 when empty), and
   * the bumps made in JS since the last refill or sync. */
  #cur = 0;
  #end = 0;
  #bumps = 0;
  /** The base address mod 2^31: pads are computed on real addresses. */
  #baseLow = 0;

  constructor(options: ArenaOptions) {
    const ctx = 'new Arena()';
    objectArg(options, 'options', ctx);
    const size = uint32Arg(options.size, 'size', ctx, 1, MAX_REGION_BYTES);
    const region = resolveRegion(options, size, ctx);
    const id = binding.arena_create(region.view, size);
    if (id <= 0) throw errorFromLastError(-id, ctx);
    keepRegionInPlace(region);
    this.#id = id;
    this.#size = size;
    this.#baseLow = binding.arena_base_low(id);
    this.#bytes = new Uint8Array(
      region.buffer,
      region.byteOffset + binding.region_offset(id),
      size,
    );
    track(this, id, `Arena(${size})`);
  }

  /** The arena's bytes; offsets index into it. */
  get bytes(): Uint8Array {
    if (this.#destroyed) throw destroyedError('Arena.bytes');
    return this.#bytes;
  }
  get size(): number {
    return this.#size;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * The offset of `size` fresh bytes whose address is a multiple of `align`
   * (a power of two), or NO_MEMORY (-1) when they do not fit. O(1).
   * Throws InvalidArgumentError for a size that is not an integer in
   * [0, 2^32), AlignmentError for an alignment that is no power of two.
   * Size 0 returns the aligned current position without using bytes.
   */
  alloc(size: number, align = 8): number {
    if (
      this.#destroyed ||
      typeof size !== 'number' ||
      typeof align !== 'number' ||
      size >>> 0 !== size ||
      align >>> 0 !== align
    ) {
      this.#refuseAlloc(size, align);
    }
    const cur = this.#cur;
    const start = cur + (-(this.#baseLow + cur) & (align - 1));
    if (size !== 0 && start + size <= this.#end && align !== 0 && (align & (align - 1)) === 0) {
      this.#cur = start + size;
      this.#bumps++;
      return start;
    }
    return this.#refill(size, align);
  }

  /** The out-of-line part of alloc: size 0, bad alignment, a full window. */
  #refill(size: number, align: number): number {
    const offset = arena_window_refill(this.#id, this.#cur, this.#bumps, size, align);
    const end = frame[0];
    this.#bumps = 0;
    this.#end = end;
    this.#cur = end !== 0 ? offset + size : 0;
    return offset >= 0 ? offset : this.#allocFailed(size, align);
  }

  /** Replays the JS bumps into the core and gives the window's tail back, so
   * the core's offset is exactly the last allocation's end. */
  #sync(): void {
    if (this.#end === 0) return;
    const status = binding.arena_window_sync(this.#id, this.#cur, this.#bumps);
    this.#cur = 0;
    this.#end = 0;
    this.#bumps = 0;
    if (status !== MP_OK) throw errorFromStatus(status, 'Arena (window sync)');
  }

  /** The current position, for rewind(). */
  mark(): ArenaMark {
    if (this.#destroyed) throw destroyedError('Arena.mark()');
    this.#sync();
    const mark = Object.freeze(binding.arena_mark(this.#id));
    this.#marks.add(mark);
    return mark;
  }

  /** Frees everything allocated since `mark`. InvalidArgumentError for a mark of
   * another arena, a forged one, or one taken before the last reset(). O(1). */
  rewind(mark: ArenaMark): void {
    const ctx = 'Arena.rewind()';
    if (this.#destroyed) throw destroyedError(ctx);
    if (typeof mark !== 'object' || mark === null || !this.#marks.has(mark)) {
      throw new InvalidArgumentError(`${ctx}: ${show(mark)} is not a mark of this arena`);
    }
    this.#sync();
    const status = binding.arena_rewind(this.#id, mark.offset, mark.epoch);
    if (status !== MP_OK) throw errorFromStatus(status, ctx, { offset: mark.offset });
  }

  /** Frees everything; offsets and marks taken before become invalid. O(1). */
  reset(): void {
    const ctx = 'Arena.reset()';
    if (this.#destroyed) throw destroyedError(ctx);
    this.#sync();
    const status = binding.pool_reset(this.#id);
    if (status !== MP_OK) throw errorFromStatus(status, ctx);
  }

  stats(): ArenaStats {
    if (this.#destroyed) throw destroyedError('Arena.stats()');
    this.#sync();
    return binding.pool_stats<ArenaStats>(this.#id);
  }

  /** Number of violated invariants (0 = consistent). */
  check(): number {
    if (this.#destroyed) throw destroyedError('Arena.check()');
    this.#sync();
    return binding.pool_check(this.#id);
  }

  /** True if `offset` lies in the used part of the arena. */
  owns(offset: number): boolean {
    const ctx = 'Arena.owns()';
    if (this.#destroyed) throw destroyedError(ctx);
    if (typeof offset !== 'number')
      throw new InvalidArgumentError(`${ctx}: offset must be a number, got ${show(offset)}`);
    this.#sync();
    return offset >>> 0 === offset && binding.pool_owns(this.#id, offset);
  }

  /** A view of bytes [offset, offset + length) of the used part (an empty
   * view at the end of it for length 0, as alloc(0) may return). */
  view(offset: number, length: number): Uint8Array {
    const ctx = 'Arena.view()';
    if (this.#destroyed) throw destroyedError(ctx);
    if (typeof offset !== 'number')
      throw new InvalidArgumentError(`${ctx}: offset must be a number, got ${show(offset)}`);
    const n = uint32Arg(length, 'length', ctx);
    this.#sync();
    const used = binding.arena_offset(this.#id);
    if (offset >>> 0 !== offset || offset > used || (offset === used && n > 0)) {
      throw new InvalidAddressError(
        `${ctx}: ${show(offset)} is not in the used part (${used} bytes)`,
        { offset },
      );
    }
    if (offset + n > used) {
      throw new OutOfBoundsError(
        `${ctx}: [${offset}, ${offset + n}) runs past the used part (${used} bytes)`,
        {
          offset,
        },
      );
    }
    return this.#bytes.subarray(offset, offset + n);
  }

  /** Releases the arena. Idempotent; every other call throws DestroyedError after it. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    untrack(this);
    binding.pool_destroy(this.#id);
    this.#bytes = new Uint8Array(0);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /**
   * Throws for arguments that cannot reach the core (not integers in
   * [0, 2^32)); no counter moves. An integer alignment that is no power of
   * two does reach it: the core refuses it as MP_ERR_ALIGNMENT and counts
   * a failed allocation, as it does for C callers.
   */
  #refuseAlloc(size: unknown, align: unknown): never {
    const ctx = 'Arena.alloc()';
    if (this.#destroyed) throw destroyedError(ctx);
    uint32Arg(size, 'size', ctx);
    if (typeof align !== 'number')
      throw new InvalidArgumentError(`${ctx}: align must be a number, got ${show(align)}`);
    throw new AlignmentError(`${ctx}: align must be a power of two, got ${show(align)}`);
  }

  /** -1 when the request does not fit, else the core's error. */
  #allocFailed(size: number, align: number): number {
    const last = binding.last_error();
    if (last.status === MP_ERR_OUT_OF_MEMORY) return NO_MEMORY;
    throw errorFromLastError(last.status, `Arena.alloc(${size}, ${align})`);
  }
}
