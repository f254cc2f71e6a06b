/**
 * Argument checks shared by every pool class. Hot paths inline the cheap
 * form (`(x >>> 0) === x`); these helpers are the cold paths that build the
 * typed error once a check failed.
 */
import { types } from 'node:util';
import { AlignmentError, InvalidArgumentError } from './errors';

/** True for integers 0 .. 2^32 - 1 (rejects NaN, fractions, negatives, non-numbers). */
export function isUint32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x;
}

/** A short rendering of a bad value for messages. */
export function show(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'object') return x === null ? 'null' : Object.prototype.toString.call(x);
  return String(x);
}

/** `value` as an integer in [min, max] (max <= 2^32 - 1), else InvalidArgumentError. */
export function uint32Arg(
  value: unknown,
  name: string,
  context: string,
  min = 0,
  max = 0xffffffff,
): number {
  if (!isUint32(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `${context}: ${name} must be an integer in [${min}, ${max}], got ${show(value)}`,
    );
  }
  return value;
}

/** A power of two in [1, 2^31] (or 0 when `allowZero`): a non-number is an
 * InvalidArgumentError, a number that is no power of two an AlignmentError. */
export function alignmentArg(value: unknown, context: string, allowZero: boolean): number {
  if (typeof value !== 'number') {
    throw new InvalidArgumentError(`${context}: alignment must be a number, got ${show(value)}`);
  }
  if (allowZero && value === 0) return 0;
  if (!isUint32(value) || value === 0 || (value & (value - 1)) !== 0) {
    throw new AlignmentError(`${context}: alignment must be a power of two, got ${show(value)}`);
  }
  return value;
}

export function booleanArg(value: unknown, name: string, context: string): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`${context}: ${name} must be a boolean, got ${show(value)}`);
  return value;
}

export function objectArg<T extends object>(value: unknown, name: string, context: string): T {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(`${context}: ${name} must be an object, got ${show(value)}`);
  }
  return value as T;
}

export function int32ArrayArg(value: unknown, name: string, context: string): Int32Array {
  if (!types.isInt32Array(value))
    throw new InvalidArgumentError(`${context}: ${name} must be an Int32Array, got ${show(value)}`);
  return value;
}

/** The element count of a batch call: `count` defaults to the array length and may not exceed it. */
export function countArg(count: unknown, length: number, context: string): number {
  if (count === undefined) return length;
  return uint32Arg(count, 'count', context, 0, length);
}

/**
 * The built-in getter `name` of `proto` (undefined if it has none), taken
 * at load: calling it reads what the engine keeps, which no own property or
 * subclass getter of the object can change.
 */
export function intrinsicGetter(
  proto: object,
  name: string,
): ((this: unknown) => unknown) | undefined {
  return Object.getOwnPropertyDescriptor(proto, name)?.get as (this: unknown) => unknown;
}

/* %TypedArray%.prototype's length, buffer and byteOffset getters. */
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsicLength = intrinsicGetter(typedArrayPrototype, 'length')!;
const intrinsicBuffer = intrinsicGetter(typedArrayPrototype, 'buffer')!;
const intrinsicByteOffset = intrinsicGetter(typedArrayPrototype, 'byteOffset')!;

/**
 * A typed array's length as the engine keeps it (0 once its buffer is
 * detached), read with the intrinsic getter: an own `length` property the
 * caller defined on the array cannot stand in for it. Every length that
 * bounds a copy or a native call is read this way. `array` must be a typed
 * array (checked before).
 */
export function typedArrayLength(array: ArrayBufferView): number {
  return intrinsicLength.call(array) as number;
}

/** True if another thread may write `array`'s elements at any time (its
 * buffer is a SharedArrayBuffer); read with the intrinsic getter. */
export function isSharedView(array: ArrayBufferView): boolean {
  return types.isSharedArrayBuffer(intrinsicBuffer.call(array));
}

/**
 * Elements [from, from + count) of `array` as a new plain Int32Array over the
 * same memory, made with the intrinsic getters: unlike subarray(), it runs
 * no Symbol.species getter of a subclass (user code). The range must lie
 * inside the array (checked by the caller).
 */
export function int32Range(array: Int32Array, from: number, count: number): Int32Array {
  const byteOffset = (intrinsicByteOffset.call(array) as number) + 4 * from;
  return new Int32Array(intrinsicBuffer.call(array) as ArrayBufferLike, byteOffset, count);
}
