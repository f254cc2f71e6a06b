/**
 * Allocations that wait for memory, first come first served.
 *
 * A pool's waiters form one FIFO queue. When memory is freed through the
 * module (deallocate, a guard's free, a collection, freeOwner), drain()
 * retries the head, and only the head: a large request at the head is not
 * overtaken by smaller ones behind it (no starvation), and a new waiting
 * request queues behind the others even if it would fit now. A request
 * without `wait` never queues: it fails at once.
 *
 * Invariants: a waiter is settled exactly once (resolved with a handle,
 * rejected by its timeout, its signal or close()), and a settled waiter is
 * no longer in the queue and holds no timer or abort listener.
 */
import { show } from './args';
import { InvalidArgumentError } from './errors';
import { WaitAbortedError, WaitTimeoutError } from './module-errors';

/** Tries one allocation: a handle (> 0), a value <= 0 when there is no room yet, or throws a refusal that waiting cannot cure. */
export type TryAllocate = () => number;

interface Waiter {
  tryAllocate: TryAllocate;
  requestedBytes: number;
  resolve: (handle: number) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface WaitOptions {
  /** Reject with WaitTimeoutError after this many ms (default: wait forever). */
  timeoutMs?: number;
  /** Reject with WaitAbortedError when it aborts. */
  signal?: AbortSignal;
}

/** Throws InvalidArgumentError for a timeoutMs or signal that cannot work. */
export function checkWaitOptions(options: WaitOptions, context: string): void {
  const { signal, timeoutMs } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new InvalidArgumentError(
      `${context}: timeoutMs must be a number >= 0, got ${show(timeoutMs)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`${context}: signal must be an AbortSignal`);
  }
}

export class WaitQueue {
  /* Array plus head index: O(1) shift without copying on each settle. */
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  #live = 0;

  /** Waiters not yet settled. */
  get length(): number {
    return this.#live;
  }

  /**
   * A promise of a handle from `tryAllocate`, tried when the waiters before
   * it are served and memory was freed. `context` names the call in errors.
   */
  wait(
    tryAllocate: TryAllocate,
    requestedBytes: number,
    options: WaitOptions,
    context: string,
  ): Promise<number> {
    const { signal, timeoutMs } = options;
    try {
      checkWaitOptions(options, context);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) {
      return Promise.reject(
        new WaitAbortedError(`${context}: aborted before waiting`, requestedBytes, signal.reason),
      );
    }
    return new Promise<number>((resolve, reject) => {
      const w: Waiter = {
        tryAllocate,
        requestedBytes,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(
          () =>
            this.#settle(
              w,
              new WaitTimeoutError(
                `${context}: no memory was freed for ${requestedBytes} B within ${timeoutMs} ms`,
                requestedBytes,
              ),
            ),
          timeoutMs,
        );
      }
      if (signal !== undefined) {
        w.onAbort = () =>
          this.#settle(
            w,
            new WaitAbortedError(
              `${context}: aborted while waiting`,
              requestedBytes,
              signal.reason,
            ),
          );
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queue.push(w);
      this.#live++;
    });
  }

  /** Serves waiters from the head while their allocation succeeds. O(served + settled). */
  drain(): void {
    while (this.#live > 0) {
      const w = this.#peek();
      if (w === undefined) return;
      let outcome: number | Error;
      try {
        outcome = w.tryAllocate();
      } catch (err) {
        outcome = err as Error; // refused for good (an owner limit): the waiter's own failure
      }
      if (typeof outcome === 'number' && outcome <= 0) return;
      this.#settle(w, outcome);
    }
  }

  /** Rejects every waiter with `makeError()` (shutdown). */
  close(makeError: () => Error): void {
    for (let w = this.#peek(); w !== undefined; w = this.#peek()) this.#settle(w, makeError());
    this.#queue = [];
    this.#head = 0;
  }

  /** The first unsettled waiter, dropping settled ones before it. */
  #peek(): Waiter | undefined {
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head] === undefined) this.#head++;
    if (this.#head >= q.length) {
      q.length = 0;
      this.#head = 0;
      return undefined;
    }
    return q[this.#head];
  }

  #settle(w: Waiter, outcome: number | Error): void {
    const i = this.#queue.indexOf(w, this.#head);
    if (i < 0) return; // settled already (a timer and an abort in the same turn)
    this.#queue[i] = undefined;
    this.#live--;
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.signal !== undefined && w.onAbort !== undefined)
      w.signal.removeEventListener('abort', w.onAbort);
    if (typeof outcome === 'number') w.resolve(outcome);
    else w.reject(outcome);
  }
}
