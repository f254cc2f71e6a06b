// Shared by the vitest suites: a seeded PRNG and a check that a refused call
// threw the right typed error and left the pool's stats as they were.
import { expect } from 'vitest';
import { MemoryPoolError } from '../../lib/index';

/** mulberry32: small, fast, seeded; the same seed gives the same run. */
export function rng(seed: number): {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

type ErrorCtor = abstract new (...args: never[]) => MemoryPoolError;

/**
 * Runs `call`, expects it to throw `cls` with `code`, and expects `stats()`
 * afterwards to equal the stats before plus `delta` (e.g. one more
 * rejectedFreeCount). Returns the error for further checks.
 */
export function expectRefused<S extends object>(
  pool: { stats(): S },
  call: () => unknown,
  cls: ErrorCtor,
  code: string,
  delta: Partial<Record<keyof S, number>> = {},
): MemoryPoolError {
  const before = pool.stats() as Record<string, number>;
  let caught: unknown;
  try {
    call();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(cls);
  const err = caught as MemoryPoolError;
  expect(err).toBeInstanceOf(MemoryPoolError);
  expect(err.code).toBe(code);
  const expected: Record<string, number> = { ...before };
  for (const [k, d] of Object.entries(delta)) expected[k] += d as number;
  expect(pool.stats()).toEqual(expected);
  return err;
}

/** The `code` of what `fn` throws ('no error' if it returns); rethrows non-pool errors. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof MemoryPoolError) return e.code;
    throw e;
  }
  return 'no error';
}

/** Expects `fn` to throw an instance of `cls` with `code`; returns the error. */
export function expectThrows(
  fn: () => unknown,
  cls: ErrorCtor | ErrorConstructor,
  code: string,
): MemoryPoolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect((caught as MemoryPoolError).code).toBe(code);
  return caught as MemoryPoolError;
}
