/**
 * Where a pool's bytes live. By default a new SharedArrayBuffer made in JS:
 * V8 owns and accounts the memory, a worker that receives it sees the same
 * bytes, and it works where external buffers are forbidden. A caller may
 * pass its own ArrayBuffer or SharedArrayBuffer and a byte offset into it.
 * The native side holds a reference to the region's view for as long as the
 * pool lives; the pool object holds the buffer too.
 */
import { types } from 'node:util';
import { objectArg, show, uint32Arg } from './args';
import { InvalidArgumentError } from './errors';
import { MAX_REGION_BYTES } from './binding';

export type RegionBuffer = ArrayBuffer | SharedArrayBuffer;

export interface RegionOptions {
  /** Memory for the pool's bytes; default: a new SharedArrayBuffer of the size the pool needs. */
  buffer?: RegionBuffer;
  /** Where the region starts inside `buffer`, bytes; default 0. */
  byteOffset?: number;
}

export interface Region {
  buffer: RegionBuffer;
  byteOffset: number;
  /** The view handed to the native side: from byteOffset to the end of the buffer (at most 2^31 - 1 bytes). */
  view: Uint8Array;
}

export function isRegionBuffer(value: unknown): value is RegionBuffer {
  return types.isArrayBuffer(value) || types.isSharedArrayBuffer(value);
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
  const { buffer, byteOffset } = options;
  if (buffer === undefined) {
    if (byteOffset !== undefined && byteOffset !== 0) {
      throw new InvalidArgumentError(`${context}: byteOffset needs a buffer`);
    }
    const sab = new SharedArrayBuffer(neededBytes);
    return { buffer: sab, byteOffset: 0, view: new Uint8Array(sab) };
  }
  if (!isRegionBuffer(buffer)) {
    throw new InvalidArgumentError(
      `${context}: buffer must be an ArrayBuffer or SharedArrayBuffer, got ${show(buffer)}`,
    );
  }
  const start =
    byteOffset === undefined
      ? 0
      : uint32Arg(byteOffset, 'byteOffset', context, 0, buffer.byteLength);
  const available = buffer.byteLength - start;
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
  };
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
 * view inside a SharedArrayBuffer, else InvalidArgumentError. */
export function checkSharedHandle(handle: SharedRegionHandle, ctx: string): void {
  objectArg(handle, 'handle', ctx);
  uint32Arg(handle.id, 'handle.id', ctx, 1);
  if (!(handle.buffer instanceof SharedArrayBuffer)) {
    throw new InvalidArgumentError(
      `${ctx}: handle.buffer must be a SharedArrayBuffer, got ${show(handle.buffer)}`,
    );
  }
  const length = handle.buffer.byteLength;
  uint32Arg(handle.byteOffset, 'handle.byteOffset', ctx, 0, length);
  uint32Arg(handle.byteLength, 'handle.byteLength', ctx, 1, length - handle.byteOffset);
}
