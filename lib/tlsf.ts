/**
 * TlsfAllocator: two-level segregated fit over one region. O(1) alloc and
 * free; every block is 16-byte aligned. Freed blocks under 8 KiB first wait
 * in a small per-size-class cache (`cacheBytes`, default 1 MiB; 0 = every
 * free coalesces at once) that the next allocation of a fitting size takes
 * back whole without touching neighbours; the cache is merged back whenever
 * an allocation would otherwise fail or the heap would grow past the
 * highest block it has handed out (then not again until the heap has grown
 * by 1/16, so the cache does not push it into fresh pages), and cached
 * blocks count as free in
 * stats(), freeStats() and walk(). TLSF keeps
 * a 16-byte header before each block inside the region: the core validates
 * every header and link before it uses one, so stray writes into `bytes`
 * are reported (check() > 0, CorruptionError from the call that meets them),
 * never followed. With `smallBytes`, small requests come from slots of
 * 16 KiB spans instead (no header each; see TlsfOptions.smallBytes). The
 * API is HeapAllocator's.
 */
import { objectArg, uint32Arg } from './args';
import { binding, MAX_REGION_BYTES } from './binding';
import { HeapAllocator, HeapAttachRequest, type HeapOptions, type HeapPlan } from './heap';

/** Smallest region the core accepts. */
const MIN_SIZE = 64;

export interface TlsfOptions extends HeapOptions {
  /** log2 of the second-level subdivisions of each power of two, 1..5; default 5. */
  slLog2?: number;
  /** Bytes of freed blocks the front cache may hold; default 1 MiB
   * (TLSF_CACHE_DEFAULT_BYTES), 0 = off (every free coalesces at once). */
  cacheBytes?: number;
  /** Small-object spans: requests of 1..smallBytes bytes (at most
   * TLSF_SMALL_MAX_BYTES = 512) are served from 16 KiB spans of equal slots
   * (16, 32, ... 256, then 288, 320, ... 512 bytes) with no header, found
   * by a bitmap kept outside the region; default 0 = off. A small block's
   * usable size is its slot; it counts its slot as requested bytes;
   * freeStats() and walk() report a span as its slots. */
  smallBytes?: number;
}

/** Largest `smallBytes`, as the C library's MP_TLSF_SMALL_MAX_BYTES. */
export const TLSF_SMALL_MAX_BYTES = 512;

/** Default front-cache budget, as the C library's mp_tlsf_create uses. */
export const TLSF_CACHE_DEFAULT_BYTES = 1 << 20;

function tlsfPlan(options: TlsfOptions): HeapPlan {
  const ctx = 'new TlsfAllocator()';
  objectArg(options, 'options', ctx);
  const size = uint32Arg(options.size, 'size', ctx, MIN_SIZE, MAX_REGION_BYTES);
  const slLog2 = options.slLog2 === undefined ? 0 : uint32Arg(options.slLog2, 'slLog2', ctx, 1, 5);
  const cacheBytes =
    options.cacheBytes === undefined
      ? TLSF_CACHE_DEFAULT_BYTES
      : uint32Arg(options.cacheBytes, 'cacheBytes', ctx, 0, MAX_REGION_BYTES);
  const smallBytes =
    options.smallBytes === undefined
      ? 0
      : uint32Arg(options.smallBytes, 'smallBytes', ctx, 0, TLSF_SMALL_MAX_BYTES);
  return {
    family: 'tlsf',
    className: 'TlsfAllocator',
    options,
    regionBytes: size,
    create: (view, regionBytes, flags) =>
      binding.tlsf_create(view, regionBytes, slLog2, flags, cacheBytes, smallBytes),
  };
}

export class TlsfAllocator extends HeapAllocator {
  static readonly family = 'tlsf';

  /** Manages `size` bytes (>= 64), headers included. */
  constructor(options: TlsfOptions) {
    super(options instanceof HeapAttachRequest ? options : tlsfPlan(options));
  }
}
