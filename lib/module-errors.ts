/**
 * Errors of the module layer (MemoryPoolingModule): its lifecycle, pool
 * names and waiting allocations. Each is a MemoryPoolError with a stable
 * `code` of its own (MODULE_ERROR_STATUS in errors.ts gives the nearest C
 * status), so callers switch on `code` as for the native refusals.
 */
import { MemoryPoolError } from './errors';

/** A module call before initialize() resolved. */
export class NotInitializedError extends MemoryPoolError {
  constructor(message: string) {
    super('MP_ERR_NOT_INITIALIZED', message);
  }
}

/** A module call after shutdown() began; also rejects the allocations still waiting then. */
export class ShutDownError extends MemoryPoolError {
  constructor(message: string) {
    super('MP_ERR_SHUT_DOWN', message);
  }
}

/** A pool name the module does not have. */
export class UnknownPoolError extends MemoryPoolError {
  readonly poolName: string;
  constructor(message: string, poolName: string) {
    super('MP_ERR_UNKNOWN_POOL', message);
    this.poolName = poolName;
  }
}

/** createPool() with a name the module already has. */
export class DuplicatePoolError extends MemoryPoolError {
  readonly poolName: string;
  constructor(message: string, poolName: string) {
    super('MP_ERR_DUPLICATE_POOL', message);
    this.poolName = poolName;
  }
}

/** A waiting allocation whose timeoutMs passed before memory was freed. */
export class WaitTimeoutError extends MemoryPoolError {
  constructor(message: string, requestedBytes: number) {
    super('MP_ERR_WAIT_TIMEOUT', message, { requestedBytes });
  }
}

/** A waiting allocation whose AbortSignal fired; `reason` is the signal's reason. */
export class WaitAbortedError extends MemoryPoolError {
  readonly reason: unknown;
  constructor(message: string, requestedBytes: number, reason: unknown) {
    super('MP_ERR_WAIT_ABORTED', message, { requestedBytes });
    this.reason = reason;
  }
}
