/**
 * Where a pool's bytes live. By default a new SharedArrayBuffer made in JS:
 * V8 owns and accounts the memory, a worker that receives it sees the same
 * bytes, and it works where external buffers are forbidden. A caller may
 * pass its own ArrayBuffer or SharedArrayBuffer and a byte offset into it.
 * The native side holds a reference to the region's view for as long as the
 * pool lives; the pool object holds the buffer too.
 *
 * The native side keeps the region's address, so the bytes must stay where
 * they are for the pool's life. A SharedArrayBuffer never moves or shrinks
 * (a growable one only grows, in place). A plain ArrayBuffer could lose its
 * bytes under the pool: a resizable one is refused (resize() to a smaller
 * length decommits the tail), and a fixed-length one is marked untransferable
 * (worker_threads.markAsUntransferable: postMessage and structuredClone then
 * copy it or throw instead of detaching it; the mark stays after the pool is
 * destroyed). Whatever still detaches it (ArrayBuffer.prototype.transfer()
 * on newer Node, another addon) the addon detects: every call on the pool
 * but destroy() then throws MP_ERR_INVALID_HANDLE (native/napi/addon.c,
 * mp_napi_region_check). Lengths are read with the intrinsic getters, so an
 * own `byteLength` or `resizable` property on the buffer changes nothing.
 *
 * `hugePages: true` asks the OS to back the region with transparent huge
 * pages (mp_advise_huge_pages: madvise MADV_HUGEPAGE on Linux), once the
 * pool exists: one TLB entry per 2 MiB, which random access over a region
 * of tens of MiB pays for in TLB misses; pages then become resident 2 MiB at
 * a time. Advice only: where the OS has none (or THP is off) nothing happens.
 */
import { types } from 'node:util';
import { markAsUntransferable } from 'node:worker_threads';
import { booleanArg, intrinsicGetter, objectArg, show, uint32Arg } from './args';
import { InvalidArgumentError } from './errors';
import { binding, MAX_REGION_BYTES } from './binding';

export type RegionBuffer = ArrayBuffer | SharedArrayBuffer;

export interface RegionOptions {
  /** Memory for the pool's bytes; default: a new SharedArrayBuffer of the size the pool needs.
   * Not a resizable ArrayBuffer; a plain ArrayBuffer is marked untransferable (see the top). */
  buffer?: RegionBuffer;
  /** Where the region starts inside `buffer`, bytes; default 0. */
  byteOffset?: number;
  /** Ask the OS for transparent huge pages under the region (see the top); default false. */
  hugePages?: boolean;
}

export interface Region {
  buffer: RegionBuffer;
  byteOffset: number;
  /** The view handed to the native side: from byteOffset to the end of the buffer (at most 2^31 - 1 bytes). */
  view: Uint8Array;
  /** Bytes the pool needs from byteOffset on. */
  neededBytes: number;
  hugePages: boolean;
}

export function isRegionBuffer(value: unknown): value is RegionBuffer {
  return types.isArrayBuffer(value) || types.isSharedArrayBuffer(value);
}

/* Intrinsic getters, taken at load (see the top). `resizable` is absent
 * before Node 20 (no resizable ArrayBuffers exist there). */
const arrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength')!;
const arrayBufferResizable = intrinsicGetter(ArrayBuffer.prototype, 'resizable');
const sharedByteLength = intrinsicGetter(SharedArrayBuffer.prototype, 'byteLength')!;

/** The buffer's byte length as the engine keeps it (0 once detached). */
function regionByteLength(buffer: RegionBuffer): number {
  return (
    types.isSharedArrayBuffer(buffer)
      ? sharedByteLength.call(buffer)
      : arrayBufferByteLength.call(buffer)
  ) as number;
}

/**
 * The region for a pool that needs `neededBytes`. A caller buffer that is
 * not an ArrayBuffer/SharedArrayBuffer, a byteOffset past its end, or fewer
 * than `neededBytes` after byteOffset is an InvalidArgumentError (the latter
 * with requestedBytes/availableBytes).
 */
export function resolveRegion(
  options: RegionOptions,
  neededBytes: number,
  context: string,
): Region {
  const { buffer, byteOffset, hugePages: huge } = options;
  const hugePages = huge !== undefined && booleanArg(huge, 'hugePages', context);
  if (buffer === undefined) {
    if (byteOffset !== undefined && byteOffset !== 0) {
      throw new InvalidArgumentError(`${context}: byteOffset needs a buffer`);
    }
    const sab = new SharedArrayBuffer(neededBytes);
    return { buffer: sab, byteOffset: 0, view: new Uint8Array(sab), neededBytes, hugePages };
  }
  if (!isRegionBuffer(buffer)) {
    throw new InvalidArgumentError(
      `${context}: buffer must be an ArrayBuffer or SharedArrayBuffer, got ${show(buffer)}`,
    );
  }
  const isArrayBuffer = types.isArrayBuffer(buffer);
  if (isArrayBuffer && arrayBufferResizable?.call(buffer) === true) {
    throw new InvalidArgumentError(
      `${context}: buffer must not be a resizable ArrayBuffer (resize() would take bytes from under the pool); use a fixed-length or a SharedArrayBuffer`,
    );
  }
  const byteLength = regionByteLength(buffer);
  const start =
    byteOffset === undefined ? 0 : uint32Arg(byteOffset, 'byteOffset', context, 0, byteLength);
  const available = byteLength - start;
  if (available < neededBytes) {
    throw new InvalidArgumentError(
      `${context}: region too small: ${neededBytes} bytes needed, ${available} available after byteOffset ${start}`,
      { requestedBytes: neededBytes, availableBytes: available },
    );
  }
  return {
    buffer,
    byteOffset: start,
    view: new Uint8Array(buffer, start, Math.min(available, MAX_REGION_BYTES)),
    neededBytes,
    hugePages,
  };
}

/**
 * Called once the native pool over `region` exists (never before: a refused
 * create changes nothing): marks a plain ArrayBuffer untransferable so that
 * no postMessage or structuredClone detaches the bytes under the pool, and
 * gives the huge-page advice when asked.
 */
export function keepRegionInPlace(region: Region): void {
  if (types.isArrayBuffer(region.buffer)) markAsUntransferable(region.buffer);
  // Advice only: a refusal (no THP here) changes nothing the pool relies on.
  if (region.hugePages) binding.advise_huge_pages(region.view.subarray(0, region.neededBytes));
}

/** What a share() handle names: a pool id and the SharedArrayBuffer view the
 * pool was created over. */
export interface SharedRegionHandle {
  readonly id: number;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Checks a share() handle before an attach: an object with an id >= 1 and a
 * view inside a SharedArrayBuffer, else InvalidArgumentError. Returns what
 * it checked as a plain object, each field read once (a getter cannot hand
 * the attach other values than the ones checked), the buffer's length read
 * with the intrinsic getter. */
export function checkSharedHandle(handle: SharedRegionHandle, ctx: string): SharedRegionHandle {
  objectArg(handle, 'handle', ctx);
  const { id, buffer, byteOffset, byteLength } = handle;
  uint32Arg(id, 'handle.id', ctx, 1);
  if (!types.isSharedArrayBuffer(buffer)) {
    throw new InvalidArgumentError(
      `${ctx}: handle.buffer must be a SharedArrayBuffer, got ${show(buffer)}`,
    );
  }
  const length = regionByteLength(buffer);
  uint32Arg(byteOffset, 'handle.byteOffset', ctx, 0, length);
  uint32Arg(byteLength, 'handle.byteLength', ctx, 1, length - byteOffset);
  return { id, buffer, byteOffset, byteLength };
}
