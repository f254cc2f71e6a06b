// FixedPool batches: allocMany/freeMany of KERNEL_MIN_BATCH or more offsets
// run their cache loops in C (fixed_cache_take/_put), smaller ones in JS.
// Both must decide exactly as free() does: the same refusals, the same
// `index`, the same counters, and check() clean after every call. The
// kernels' own entry points refuse frames and arrays they cannot take.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { binding, frame, FRAME_ID, frameWords } from '../../lib/binding';
import {
  DoubleFreeError,
  FixedPool,
  type FixedPoolStats,
  InvalidAddressError,
  InvalidArgumentError,
  KERNEL_MIN_BATCH,
  type MemoryPoolError,
} from '../../lib/index';
import { rng } from './helpers';

const MP_OK = 0;
const MP_ERR_INVALID_ARGUMENT = 2;

/** The kernels' frame: words [id, top, count] from FRAME_ID on. */
function setFrame(...values: number[]): void {
  frame.fill(0);
  frameWords.set(values, FRAME_ID);
}

/** Runs `call`, which must throw; returns what it threw. */
function thrown(call: () => unknown): MemoryPoolError {
  try {
    call();
  } catch (e) {
    return e as MemoryPoolError;
  }
  throw new Error('expected a throw');
}

describe('cache kernels refuse what they cannot take', () => {
  it('attach checks the array, its base and the stride inverse; bind checks the array; kernels need both', () => {
    const region = new Uint8Array(new SharedArrayBuffer(24 * 64));
    const id = binding.fixed_create(region, 24, 64, 0, 0); // stride 24 = 3 * 2^3, 3^-1 = 0xaaaaaaab
    expect(id).toBeGreaterThan(0);
    try {
      const states = new Int32Array(64 + 8);
      setFrame(id, 64, 1);
      expect(() => binding.fixed_cache_take()).toThrow(TypeError); // nothing attached yet
      expect(binding.fixed_cache_attach(id, states, 64, 3)).toBe(MP_ERR_INVALID_ARGUMENT);
      expect(binding.fixed_cache_attach(id, states, 63, 0xaaaaaaab)).toBe(MP_ERR_INVALID_ARGUMENT);
      expect(binding.fixed_cache_attach(id, new Int32Array(64), 64, 0xaaaaaaab)).toBe(
        MP_ERR_INVALID_ARGUMENT,
      );
      expect(() =>
        binding.fixed_cache_attach(
          id,
          new Uint32Array(72) as unknown as Int32Array,
          64,
          0xaaaaaaab,
        ),
      ).toThrow(TypeError);
      expect(binding.fixed_cache_attach(id, states, 64, 0xaaaaaaab)).toBe(MP_OK);
      // Attached, but no array bound yet.
      setFrame(id, 64, 1);
      expect(() => binding.fixed_cache_take()).toThrow(TypeError);
      setFrame(id, 64, 1);
      expect(() => binding.fixed_cache_put()).toThrow(TypeError);
      // bind takes any view's bytes as int32 words (FixedPool checked the
      // type); what cannot be read as whole, aligned words is refused.
      const as = (a: unknown) => a as Int32Array;
      expect(() => binding.fixed_cache_bind(id, 0, as({}))).toThrow(TypeError);
      expect(() => binding.fixed_cache_bind(id, 0, as(new Uint8Array(6)))).toThrow(TypeError);
      const unaligned = new Uint8Array(new ArrayBuffer(12), 1, 8);
      expect(() => binding.fixed_cache_bind(id, 1, as(unaligned))).toThrow(TypeError);
      expect(binding.fixed_cache_bind(id, 2, new Int32Array(8))).toBe(MP_ERR_INVALID_ARGUMENT);
      const out = new Int32Array(8);
      expect(binding.fixed_cache_bind(id, 0, out)).toBe(MP_OK);
      expect(binding.fixed_cache_bind(id, 1, out)).toBe(MP_OK);
      for (const [top, count] of [
        [63, 1], // below base
        [73, 1], // past the array
        [64, 9], // more than the bound array holds
        [-1, 1], // stored as 2^32 - 1: past the array
      ]) {
        setFrame(id, top, count);
        expect(() => binding.fixed_cache_take()).toThrow(TypeError);
        setFrame(id, top, count);
        expect(() => binding.fixed_cache_put()).toThrow(TypeError);
      }
      // Word 0 of a zeroed Float64Array is offset 0: slot 0, not in use, so nothing is put.
      expect(binding.fixed_cache_bind(id, 1, as(new Float64Array(1)))).toBe(MP_OK);
      setFrame(id, 64, 2);
      binding.fixed_cache_put();
      expect(frame[0]).toBe(0);
      expect(states.every((s) => s === 0)).toBe(true);
      setFrame(id, 64, 3);
      expect(() => binding.fixed_cache_put()).toThrow(TypeError); // two words bound
      // The batch calls read their arrays the same way.
      expect(() => binding.fixed_alloc_many(id, as(unaligned), 1)).toThrow(TypeError);
      expect(() => binding.fixed_free_many(id, as(new Uint8Array(3)), 0)).toThrow(TypeError);
      // A cache entry that is no slot index: take hands out nothing.
      states[64] = 5;
      states[65] = 64;
      setFrame(id, 66, 2);
      binding.fixed_cache_take();
      expect(frame[0]).toBe(0);
      expect(states.subarray(0, 64).every((s) => s === 0)).toBe(true);
      // put maps offsets as the core does: an interior offset stops it.
      states[5] = -1; // IN_USE
      expect(binding.fixed_cache_bind(id, 1, Int32Array.of(5 * 24, 5 * 24 + 8))).toBe(MP_OK);
      setFrame(id, 64, 2);
      binding.fixed_cache_put();
      expect(frame[0]).toBe(1);
      expect([states[5], states[64]]).toEqual([2, 5]);
      expect(binding.pool_check(id)).toBe(0);
    } finally {
      binding.pool_destroy(id);
    }
  });
});

describe('the arrays bound to the kernels follow the caller', () => {
  const N = 2 * KERNEL_MIN_BATCH;
  /** Allocates N through the kernel into `out` and frees them back through it. */
  function roundTrip(pool: FixedPool, out: Int32Array, count = N): number[] {
    expect(pool.allocMany(out, count)).toBe(count);
    const got = Array.from(out.subarray(0, count));
    expect(new Set(got).size).toBe(count);
    for (const o of got) expect(o % pool.slotSize).toBe(0);
    pool.freeMany(out, count);
    expect(pool.check()).toBe(0);
    expect(pool.stats().allocated).toBe(0);
    return got;
  }

  it('alternating arrays: each call writes and reads the array it was given', () => {
    const pool = new FixedPool({ objectSize: 32, capacity: 1024, cacheSize: 4 * N });
    try {
      const a = new Int32Array(N);
      const b = new Int32Array(N + 8);
      roundTrip(pool, a); // warms the cache: later calls run the kernels
      for (let i = 0; i < 4; i++) {
        const fromA = roundTrip(pool, a);
        expect(pool.allocMany(b, N)).toBe(N);
        expect(b.subarray(N).every((x) => x === 0)).toBe(true);
        // Freeing through a (bound to put by the last round trip) what b holds
        // would free a's stale offsets: copy them first, as a caller must.
        a.set(b.subarray(0, N));
        pool.freeMany(a, N);
        expect(pool.stats().allocated).toBe(0);
        expect(fromA.length).toBe(N);
      }
      // A double free through a freshly bound array is still refused, at its index.
      expect(pool.allocMany(b, N)).toBe(N);
      const twice = new Int32Array(N);
      twice.set(b.subarray(0, N));
      twice[N - 1] = twice[0];
      const err = thrown(() => pool.freeMany(twice, N));
      expect(err).toBeInstanceOf(DoubleFreeError);
      expect(err.index).toBe(N - 1);
      expect(pool.check()).toBe(0);
    } finally {
      pool.destroy();
    }
  });

  it('a resized length-tracking array is bound again; a detached one is refused before any kernel runs', () => {
    const pool = new FixedPool({ objectSize: 16, capacity: 1024, cacheSize: 8 * N });
    try {
      const ResizableBuffer = ArrayBuffer as unknown as new (
        bytes: number,
        options: { maxByteLength: number },
      ) => ArrayBuffer & { resize(bytes: number): void };
      const rab = new ResizableBuffer(4 * N, { maxByteLength: 4 * 4 * N });
      const tracking = new Int32Array(rab);
      roundTrip(pool, tracking);
      roundTrip(pool, tracking);
      rab.resize(4 * 4 * N);
      expect(tracking.length).toBe(4 * N);
      roundTrip(pool, tracking, 4 * N);
      rab.resize(4 * KERNEL_MIN_BATCH);
      expect(tracking.length).toBe(KERNEL_MIN_BATCH);
      const before = pool.stats();
      expect(() => pool.allocMany(tracking, N)).toThrow(InvalidArgumentError);
      expect(pool.stats()).toEqual(before);
      roundTrip(pool, tracking, KERNEL_MIN_BATCH);

      const plain = new Int32Array(N);
      roundTrip(pool, plain);
      roundTrip(pool, plain);
      structuredClone(plain.buffer, { transfer: [plain.buffer] }); // detaches it
      expect(plain.length).toBe(0);
      const unchanged = pool.stats();
      expect(() => pool.allocMany(plain, N)).toThrow(InvalidArgumentError);
      expect(() => pool.freeMany(plain, N)).toThrow(InvalidArgumentError);
      expect(pool.allocMany(plain)).toBe(0);
      // A `length` of its own cannot make the pool trust the freed memory.
      Object.defineProperty(plain, 'length', { value: N });
      expect(plain.length).toBe(N);
      expect(() => pool.allocMany(plain, N)).toThrow(InvalidArgumentError);
      expect(() => pool.freeMany(plain, N)).toThrow(InvalidArgumentError);
      expect(pool.allocMany(plain)).toBe(0);
      expect(pool.stats()).toEqual(unchanged);
      expect(pool.check()).toBe(0);
    } finally {
      pool.destroy();
    }
  });
});

describe('the cached batch calls read each element of the caller array once', () => {
  /** An Int32Array subclass whose Symbol.species getter (user code that
   * subarray() would run mid-call) calls `onSpecies` and counts its runs. */
  function speciesArray(
    length: number,
    onSpecies: () => void,
  ): { array: Int32Array; runs: () => number } {
    let runs = 0;
    class Sneaky extends Int32Array {
      static get [Symbol.species](): Int32ArrayConstructor {
        runs++;
        onSpecies();
        return Int32Array;
      }
    }
    return { array: new Sneaky(length), runs: () => runs };
  }

  it.each([8, 2 * KERNEL_MIN_BATCH])(
    'a Symbol.species getter never runs: a batch of %i past the cache frees exactly the offsets checked',
    (n) => {
      using pool = new FixedPool({ objectSize: 16, capacity: 4 * n, cacheSize: 4 });
      const held = new Int32Array(4 * n);
      expect(pool.allocMany(held)).toBe(4 * n);
      // Before: freeMany passed offsets.subarray() to the core, whose species getter swapped the
      // contents after the JS check: the core freed other slots than the JS states did.
      const { array: offsets, runs } = speciesArray(n, () => offsets.set(held.subarray(n, 2 * n)));
      offsets.set(held.subarray(0, n));
      pool.freeMany(offsets);
      expect(runs()).toBe(0);
      expect(pool.check()).toBe(0);
      for (let i = 0; i < n; i++) expect(pool.owns(held[i])).toBe(false);
      for (let i = n; i < 4 * n; i++) expect(pool.owns(held[i])).toBe(true);
      // allocMany past the cache: the core path wrote into out.subarray(), whose getter may destroy.
      const { array: out, runs: outRuns } = speciesArray(n, () => pool.destroy());
      expect(pool.allocMany(out)).toBe(n);
      expect(outRuns()).toBe(0);
      expect(new Set([...out, ...held.subarray(n)]).size).toBe(4 * n);
      expect(pool.check()).toBe(0);
    },
  );

  it('another thread writing the SharedArrayBuffer under the batch array cannot desync the pool', async () => {
    const N = 2 * KERNEL_MIN_BATCH;
    const shared = new SharedArrayBuffer(4 * N + 4);
    const array = new Int32Array(shared, 0, N);
    const stop = new Int32Array(shared, 4 * N, 1);
    // Scribbles slot-like offsets (multiples of 16, some live, some not) over the array nonstop.
    const worker = new Worker(
      `const { workerData: sab } = require('node:worker_threads');
       const a = new Int32Array(sab, 0, ${N}), stop = new Int32Array(sab, ${4 * N}, 1);
       let x = 1;
       Atomics.store(stop, 0, 1);
       while (Atomics.load(stop, 0) === 1)
         for (let i = 0; i < a.length; i++) a[i] = ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 4) & 0x3ff0;`,
      { eval: true, workerData: shared },
    );
    try {
      while (Atomics.load(stop, 0) !== 1) await new Promise((r) => setTimeout(r, 1));
      const pool = new FixedPool({ objectSize: 16, capacity: 1024, cacheSize: 16 });
      const codes = new Set<string>();
      for (let round = 0; round < 20000; round++) {
        for (const call of [() => pool.allocMany(array), () => pool.freeMany(array)]) {
          try {
            call();
          } catch (e) {
            codes.add((e as MemoryPoolError).code);
          }
        }
      }
      // Before: CorruptionError (JS states and core disagreed), check() in the thousands,
      // `allocated` above capacity. Refusals of scribbled offsets are what the caller earned.
      expect(
        [...codes].filter((c) => c !== 'MP_ERR_INVALID_ADDRESS' && c !== 'MP_ERR_DOUBLE_FREE'),
      ).toEqual([]);
      expect(pool.check()).toBe(0);
      expect(pool.stats().allocated).toBeLessThanOrEqual(1024);
      pool.destroy();
    } finally {
      Atomics.store(stop, 0, 2);
      await worker.terminate();
    }
  });
});

/** A pool with `held` slots in use (allocated one by one) and the rest untouched. */
function poolWith(objectSize: number, held: number, cacheSize?: number) {
  const pool = new FixedPool({
    objectSize,
    capacity: 1024,
    ...(cacheSize !== undefined && { cacheSize }),
  });
  const live = Array.from({ length: held }, () => pool.alloc());
  return { pool, live };
}

const SIZES = [KERNEL_MIN_BATCH - 1, KERNEL_MIN_BATCH, KERNEL_MIN_BATCH + 1, 200, 256, 300];

describe.each([24, 64, 4096])('FixedPool batches of objectSize %i', (objectSize) => {
  it.each(SIZES)('allocMany(%i) from a full cache hands out distinct slots, marked in use', (n) => {
    const { pool, live } = poolWith(objectSize, 300);
    pool.freeMany(Int32Array.from(live)); // the cache holds 256, the core the rest
    const out = new Int32Array(n);
    expect(pool.allocMany(out)).toBe(n);
    const got = new Set(out);
    expect(got.size).toBe(n);
    for (const off of out) {
      expect(off % pool.slotSize).toBe(0);
      expect(pool.owns(off)).toBe(true);
    }
    expect(pool.stats().allocated).toBe(n);
    expect(pool.check()).toBe(0);
    pool.freeMany(out);
    expect(pool.stats().allocated).toBe(0);
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it.each(SIZES)(
    'freeMany(%i) with a bad offset at any place stops there with its index; the ones before are freed',
    (n) => {
      const bads: [
        string,
        (live: number[], stride: number) => number,
        typeof InvalidAddressError,
      ][] = [
        ['a duplicate in the batch', (live) => live[0], DoubleFreeError],
        ['an interior offset', (live) => live[1] + 1, InvalidAddressError],
        ['a never handed out slot', (_, stride) => 1000 * stride, InvalidAddressError],
        ['a negative element', (_, stride) => -stride, InvalidAddressError],
        ['a slot freed before', (live) => live[n + 5], DoubleFreeError],
      ];
      for (const [, bad, cls] of bads) {
        for (const at of [1, n >> 1, n - 1]) {
          const { pool, live } = poolWith(objectSize, n + 10);
          pool.free(live[n + 5]);
          const before = pool.stats();
          const batch = Int32Array.from(live.slice(0, n));
          batch[at] = bad(live, pool.slotSize);
          const err = thrown(() => pool.freeMany(batch));
          expect(err).toBeInstanceOf(cls);
          expect(err.index).toBe(at);
          expect(err.offset).toBe(batch[at]);
          const after = pool.stats();
          expect(after.allocated).toBe(before.allocated - at);
          expect(after.freeCount).toBe(before.freeCount + at);
          expect(after.rejectedFreeCount).toBe(before.rejectedFreeCount + 1);
          for (let i = 0; i < n; i++) {
            if (i !== at) expect(pool.owns(live[i])).toBe(i > at);
          }
          expect(pool.check()).toBe(0);
          pool.destroy();
        }
      }
    },
  );
});

describe('FixedPool batches against a model', () => {
  const COUNTERS: (keyof FixedPoolStats)[] = [
    'allocated',
    'allocatedPeak',
    'allocCount',
    'freeCount',
    'failedAllocCount',
    'rejectedFreeCount',
  ];

  it.each([
    [24, 256],
    [48, 40],
    [64, 1000],
    [4096, 64],
  ])(
    'objectSize %i, cacheSize %i: random batches and singles agree with an uncached pool, check() after each',
    (objectSize, cacheSize) => {
      const r = rng(objectSize * 7919 + cacheSize);
      const capacity = 700;
      const cached = new FixedPool({ objectSize, capacity, cacheSize });
      const direct = new FixedPool({ objectSize, capacity, cacheSize: 0 });
      const held = [new Set<number>(), new Set<number>()];
      const freed = [new Set<number>(), new Set<number>()];
      const pools = [cached, direct];
      for (let step = 0; step < 300; step++) {
        const op = r.int(10);
        const n = r.pick([1, 5, KERNEL_MIN_BATCH - 1, KERNEL_MIN_BATCH, 64, 200, 256, 400]);
        // The same choices for both pools, in terms of their own held offsets (sorted).
        const picks = Array.from({ length: n }, () => r.next());
        const badAt = op === 9 ? r.int(n) : -1;
        const badKind = r.int(3);
        const canPickFreed = freed[0].size > 0 && freed[1].size > 0;
        const outcomes = pools.map((pool, k) => {
          if (op < 4) {
            const out = new Int32Array(n);
            const got = pool.allocMany(out);
            for (const off of out.subarray(0, got)) {
              expect(held[k].has(off)).toBe(false);
              held[k].add(off);
              freed[k].delete(off);
            }
            return `alloc ${got}`;
          }
          if (op === 4) {
            const off = pool.alloc();
            if (off >= 0) {
              held[k].add(off);
              freed[k].delete(off);
            }
            return `alloc1 ${off >= 0}`;
          }
          const sorted = [...held[k]].sort((a, b) => a - b);
          // Distinct held offsets, picked by rank (the same ranks in both pools).
          const list = Int32Array.from(
            new Set(
              picks.slice(0, sorted.length).map((p) => sorted[Math.floor(p * sorted.length)]),
            ),
          );
          if (badAt >= 0 && badAt < list.length) {
            list[badAt] =
              badKind === 0 && badAt > 0
                ? list[0] // a duplicate: double free
                : badKind === 1 && canPickFreed
                  ? Math.min(...freed[k]) // freed and not handed out again: double free
                  : list[badAt] + 1; // interior: invalid address
          }
          let result = 'ok';
          try {
            pool.freeMany(list);
          } catch (e) {
            const err = e as MemoryPoolError;
            result = `${err.code} at ${err.index}`;
          }
          const stop = result === 'ok' ? list.length : (thrownIndex(result) ?? 0);
          for (const off of list.subarray(0, stop)) {
            held[k].delete(off);
            freed[k].add(off);
          }
          return `free ${list.length} ${result}`;
        });
        expect(outcomes[0]).toBe(outcomes[1]);
        const [a, b] = pools.map((p) => p.stats());
        for (const key of COUNTERS) expect([key, a[key]]).toEqual([key, b[key]]);
        expect(a.allocated).toBe(held[0].size);
        expect(cached.check()).toBe(0);
        for (const off of held[0]) expect(cached.owns(off)).toBe(true);
      }
      cached.destroy();
      direct.destroy();
    },
  );
});

function thrownIndex(result: string): number | undefined {
  const m = / at (\d+)$/.exec(result);
  return m ? Number(m[1]) : undefined;
}
