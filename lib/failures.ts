/**
 * Errors the pool classes build from native state; internal (not exported
 * by index.ts): the public error surface is errors.ts.
 */
import { binding } from './binding';
import { DestroyedError, errorFromStatus, type ErrorDetail, type MemoryPoolError } from './errors';

/** The error for a failed native call, with the byte detail the core
 * recorded in its per-thread last error when that error is the same status. */
export function errorFromLastError(
  status: number,
  context: string,
  detail: ErrorDetail = {},
): MemoryPoolError {
  const last = binding.last_error();
  if (last.status === status) {
    detail = {
      requestedBytes: last.requestedBytes,
      availableBytes: last.availableBytes,
      largestFreeBytes: last.largestFreeBytes,
      ...detail,
    };
  }
  return errorFromStatus(status, context, detail);
}

export function destroyedError(context: string): DestroyedError {
  return new DestroyedError(`${context}: MP_ERR_DESTROYED: the pool was destroyed`);
}
