/**
 * Typed errors. Every error has a stable string `code` equal to the C status
 * name (`MP_ERR_DOUBLE_FREE`, ...) or `MP_ERR_DESTROYED` for a call on a
 * destroyed pool, plus whatever detail the failure has (bytes requested and
 * available, the offset, the batch index). Exhaustion on hot paths is a
 * return value (-1), never an error; misuse always throws.
 */
import { binding } from './binding';

/** C status names indexed by value (MP_STATUS_LIST of the header). */
export const STATUS_NAMES = [
  'MP_OK',
  'MP_ERR_OUT_OF_MEMORY',
  'MP_ERR_INVALID_ARGUMENT',
  'MP_ERR_INVALID_ADDRESS',
  'MP_ERR_DOUBLE_FREE',
  'MP_ERR_ALIGNMENT',
  'MP_ERR_SIZE_OVERFLOW',
  'MP_ERR_LIMIT_EXCEEDED',
  'MP_ERR_PROTECTION',
  'MP_ERR_CORRUPTION',
  'MP_ERR_INVALID_HANDLE',
  'MP_ERR_OUT_OF_BOUNDS',
  'MP_ERR_UNSUPPORTED',
  'MP_ERR_BUSY',
] as const;

export type StatusName = (typeof STATUS_NAMES)[number];
/** Codes of the module layer (lib/module-errors.ts), each with the nearest C status. */
export const MODULE_ERROR_STATUS = {
  MP_ERR_NOT_INITIALIZED: 'MP_ERR_INVALID_HANDLE',
  MP_ERR_SHUT_DOWN: 'MP_ERR_INVALID_HANDLE',
  MP_ERR_UNKNOWN_POOL: 'MP_ERR_INVALID_ARGUMENT',
  MP_ERR_DUPLICATE_POOL: 'MP_ERR_INVALID_ARGUMENT',
  MP_ERR_WAIT_TIMEOUT: 'MP_ERR_OUT_OF_MEMORY',
  MP_ERR_WAIT_ABORTED: 'MP_ERR_OUT_OF_MEMORY',
} as const satisfies Record<string, StatusName>;
export type ModuleErrorCode = keyof typeof MODULE_ERROR_STATUS;
export type ErrorCode = Exclude<StatusName, 'MP_OK'> | 'MP_ERR_DESTROYED' | ModuleErrorCode;

/** The status value of a name: `statusOf('MP_ERR_DOUBLE_FREE') === 4`. */
export function statusOf(name: StatusName): number {
  return STATUS_NAMES.indexOf(name);
}

const DESCRIPTIONS: readonly string[] = binding.status_table().map((row) => row.description);

/** What a failure knows beyond its code; absent fields do not apply. */
export interface ErrorDetail {
  /** Bytes the failed request asked for. */
  requestedBytes?: number;
  /** Free bytes at the time of the failure. */
  availableBytes?: number;
  /** Largest request that could have succeeded. */
  largestFreeBytes?: number;
  /** The offending offset. */
  offset?: number;
  /** Index of the offending element of a batch; elements before it were processed. */
  index?: number;
  /** The offending block handle (MemoryPool). */
  handle?: number;
  /** Bytes charged to live blocks at the time of the failure (MemoryPool). */
  usedBytes?: number;
  /** Bytes of the pool's region (MemoryPool). */
  totalBytes?: number;
}

export class MemoryPoolError extends Error {
  /** Stable machine-readable code: the C status name, or MP_ERR_DESTROYED. */
  readonly code: ErrorCode;
  /** The numeric MP_Status (MP_ERR_INVALID_HANDLE for MP_ERR_DESTROYED). */
  readonly status: number;
  readonly requestedBytes?: number;
  readonly availableBytes?: number;
  readonly largestFreeBytes?: number;
  readonly offset?: number;
  readonly index?: number;
  readonly handle?: number;
  readonly usedBytes?: number;
  readonly totalBytes?: number;

  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status =
      code === 'MP_ERR_DESTROYED'
        ? statusOf('MP_ERR_INVALID_HANDLE')
        : Object.hasOwn(MODULE_ERROR_STATUS, code)
          ? statusOf(MODULE_ERROR_STATUS[code as ModuleErrorCode])
          : statusOf(code as StatusName);
    if (detail.requestedBytes !== undefined) this.requestedBytes = detail.requestedBytes;
    if (detail.availableBytes !== undefined) this.availableBytes = detail.availableBytes;
    if (detail.largestFreeBytes !== undefined) this.largestFreeBytes = detail.largestFreeBytes;
    if (detail.offset !== undefined) this.offset = detail.offset;
    if (detail.index !== undefined) this.index = detail.index;
    if (detail.handle !== undefined) this.handle = detail.handle;
    if (detail.usedBytes !== undefined) this.usedBytes = detail.usedBytes;
    if (detail.totalBytes !== undefined) this.totalBytes = detail.totalBytes;
  }
}

/* One subclass per code so callers can `instanceof` or switch on `code`. */
export class OutOfMemoryError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_OUT_OF_MEMORY', message, detail);
  }
}
export class InvalidArgumentError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_INVALID_ARGUMENT', message, detail);
  }
}
export class InvalidAddressError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_INVALID_ADDRESS', message, detail);
  }
}
export class DoubleFreeError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_DOUBLE_FREE', message, detail);
  }
}
export class AlignmentError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_ALIGNMENT', message, detail);
  }
}
export class SizeOverflowError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_SIZE_OVERFLOW', message, detail);
  }
}
export class LimitExceededError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_LIMIT_EXCEEDED', message, detail);
  }
}
export class ProtectionError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_PROTECTION', message, detail);
  }
}
export class CorruptionError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_CORRUPTION', message, detail);
  }
}
export class InvalidHandleError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_INVALID_HANDLE', message, detail);
  }
}
export class OutOfBoundsError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_OUT_OF_BOUNDS', message, detail);
  }
}
export class UnsupportedError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_UNSUPPORTED', message, detail);
  }
}
export class BusyError extends MemoryPoolError {
  constructor(message: string, detail?: ErrorDetail) {
    super('MP_ERR_BUSY', message, detail);
  }
}
/** A call on a pool after destroy(). */
export class DestroyedError extends MemoryPoolError {
  constructor(message: string) {
    super('MP_ERR_DESTROYED', message);
  }
}

type ErrorClass = new (message: string, detail?: ErrorDetail) => MemoryPoolError;

const CLASS_BY_STATUS: readonly (ErrorClass | undefined)[] = [
  undefined,
  OutOfMemoryError,
  InvalidArgumentError,
  InvalidAddressError,
  DoubleFreeError,
  AlignmentError,
  SizeOverflowError,
  LimitExceededError,
  ProtectionError,
  CorruptionError,
  InvalidHandleError,
  OutOfBoundsError,
  UnsupportedError,
  BusyError,
];

/**
 * The one mapping from a native status to its error class; `context` says
 * which call failed ("FixedPool.free(24)"). A status outside the list
 * becomes a CorruptionError: the core returns only listed statuses.
 */
export function errorFromStatus(
  status: number,
  context: string,
  detail?: ErrorDetail,
): MemoryPoolError {
  const cls = CLASS_BY_STATUS[status];
  if (cls === undefined)
    return new CorruptionError(`${context}: unexpected native status ${status}`, detail);
  return new cls(`${context}: ${STATUS_NAMES[status]}: ${DESCRIPTIONS[status]}`, detail);
}
