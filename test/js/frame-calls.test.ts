// The fast paths: frame calls (native functions that take their numbers from
// the env's call frame, native/napi/addon.h; without arguments they read
// the env's table as its instance data), MemoryPool's JS copies for write() and read(),
// HeapAllocator's per-instance alloc/free closures, and
// FixedPool's derived cache counters. Each must refuse exactly what the
// paths it replaced refused, with the same codes and counters.
import { describe, expect, it } from 'vitest';
import { binding, frame, FRAME_A, FRAME_B, FRAME_C, FRAME_ID, frameWords } from '../../lib/binding';
import {
  BuddyAllocator,
  DestroyedError,
  FitListAllocator,
  FixedPool,
  type FixedPoolStats,
  InvalidArgumentError,
  InvalidHandleError,
  MemoryPool,
  type MemoryPoolMetrics,
  OutOfBoundsError,
  SlabAllocator,
  TlsfAllocator,
} from '../../lib/index';
import { poolBinding } from '../../lib/memory-pool-native';
import { expectRefused } from './helpers';
import { runGcFixture } from './processes';

const MP_OK = 0;
const MP_ERR_INVALID_ARGUMENT = 2;

const watched = (pool: MemoryPool): { stats(): MemoryPoolMetrics } => ({
  stats: () => pool.metrics(),
});

/** Raw native pools (ids known to the test), destroyed after `fn`. */
function withRawPools(fn: (ids: { fixed: number; tlsf: number; mpool: number }) => void): void {
  const region = (bytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(bytes));
  const fixed = binding.fixed_create(region(4096), 64, 16, 0, 0);
  const tlsf = binding.tlsf_create(region(4096), 4096, 0, 0, 0, 0);
  const mpool = poolBinding.mpool_create(region(8192), 8192, 5, 0, 0, 0, 1, 0.3, 0, 0);
  expect(Math.min(fixed, tlsf, mpool)).toBeGreaterThan(0);
  try {
    fn({ fixed, tlsf, mpool });
  } finally {
    for (const id of [fixed, tlsf, mpool]) binding.pool_destroy(id);
  }
}

/** A frame call's inputs: the pool id and uint32 words A, B, C in
 * frameWords (converted to uint32 by the Uint32Array), the handle in frame[1]. */
interface FrameInputs {
  id: number;
  handle?: number;
  a?: number;
  b?: number;
  c?: number;
}

function setFrame({ id, handle = 0, a = 0, b = 0, c = 0 }: FrameInputs): void {
  frame.fill(0);
  frame[1] = handle;
  frameWords[FRAME_ID] = id;
  frameWords[FRAME_A] = a;
  frameWords[FRAME_B] = b;
  frameWords[FRAME_C] = c;
}

describe('the buffers the addon keeps pointers to stay attached', () => {
  it('the call frame, the scratch and the staging buffer are copied, never detached, by a transfer', () => {
    const buffers = [binding.call_frame, poolBinding.mpool_scratch, poolBinding.mpool_staging];
    const lengths = buffers.map((b) => b.byteLength);
    // Before: each was detached and the addon went on writing through its pointer into freed memory.
    for (const buffer of buffers) structuredClone(buffer, { transfer: [buffer] });
    expect(buffers.map((b) => b.byteLength)).toEqual(lengths);
    using pool = new TlsfAllocator({ size: 4096 });
    const off = pool.alloc(64);
    expect(off).toBeGreaterThanOrEqual(0);
    pool.free(off);
    using mp = new MemoryPool({ size: 8192 });
    const h = mp.allocate(16);
    mp.write(h, Uint8Array.of(9, 8, 7));
    expect(mp.read(h, 3)).toEqual(Uint8Array.of(9, 8, 7));
    expect(mp.blockInfo(h).size).toBe(16);
  });
});

describe('frame calls refuse frames they cannot take', () => {
  it('an id this thread does not hold throws MP_ERR_INVALID_HANDLE, whatever the call', () => {
    withRawPools(({ fixed, tlsf, mpool }) => {
      // Ids of another family are refused too (fixed_* on a TLSF pool, ...).
      const wrongFamily: [() => void, number][] = [
        [() => binding.fixed_alloc(), tlsf],
        [() => binding.fixed_free(), mpool],
        [() => binding.heap_alloc(), fixed],
        [() => binding.heap_free(), mpool],
        [() => poolBinding.mpool_alloc(), tlsf],
        [() => poolBinding.mpool_free(), fixed],
        [() => poolBinding.mpool_locate(), tlsf],
        [() => poolBinding.mpool_write.call(new Uint8Array(1)), fixed],
        [() => poolBinding.mpool_read.call(new Uint8Array(1)), tlsf],
      ];
      for (const [call, id] of wrongFamily) {
        for (const badId of [id, 0, -1, 1.5, 2 ** 31, NaN, 0x7ffff]) {
          setFrame({ id: badId });
          expect(call).toThrow(expect.objectContaining({ code: 'MP_ERR_INVALID_HANDLE' }));
        }
      }
    });
  });

  it('argument calls look ids up the same way: ids <= 0 and unknown ones throw MP_ERR_INVALID_HANDLE', () => {
    withRawPools(({ fixed }) => {
      const stale = binding.fixed_create(
        new Uint8Array(new SharedArrayBuffer(64 * 8)),
        64,
        8,
        0,
        0,
      );
      expect(binding.pool_check(stale)).toBe(0);
      binding.pool_destroy(stale);
      for (const badId of [0, -1, -(2 ** 31), 2 ** 31 - 1, stale]) {
        for (const call of [() => binding.pool_check(badId), () => binding.pool_stats(badId)]) {
          expect(call).toThrow(expect.objectContaining({ code: 'MP_ERR_INVALID_HANDLE' }));
        }
      }
      expect(binding.pool_check(fixed)).toBe(0);
    });
  });

  it('words are uint32: a number stored arrives as the Uint32Array converted it, and the core refuses what it refuses', () => {
    withRawPools(({ fixed, tlsf, mpool }) => {
      // 2^32 + 16 is stored as 16: the TypeScript layer stores only validated numbers.
      setFrame({ id: mpool, a: 2 ** 32 + 16 });
      poolBinding.mpool_alloc();
      const h = frame[0];
      expect(h).toBeGreaterThan(0);
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_locate();
      expect(frame[1]).toBe(16);
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_free();
      expect(frame[0]).toBe(MP_OK);
      // An offset no slot or block has (-1 is stored as 2^32 - 1) is the core's refusal, counted as such.
      const before = [fixed, tlsf].map((id) =>
        binding.pool_stats<{ rejectedFreeCount: number }>(id),
      );
      setFrame({ id: fixed, a: -1 });
      binding.fixed_free();
      expect(frame[0]).not.toBe(MP_OK);
      setFrame({ id: tlsf, a: -1 });
      binding.heap_free();
      expect(frame[0]).not.toBe(MP_OK);
      const after = [fixed, tlsf].map((id) =>
        binding.pool_stats<{ rejectedFreeCount: number }>(id),
      );
      expect(after.map((x, i) => x.rejectedFreeCount - before[i].rejectedFreeCount)).toEqual([
        1, 1,
      ]);
      // A size the pool cannot hold is -status, and nothing is allocated.
      setFrame({ id: mpool, a: 2 ** 32 - 1 });
      poolBinding.mpool_alloc();
      expect(frame[0]).toBeLessThan(0);
      expect(binding.pool_stats<MemoryPoolMetrics>(mpool).allocatedBlockCount).toBe(0);
      for (const id of [fixed, tlsf, mpool]) expect(binding.pool_check(id)).toBe(0);
    });
  });

  it('a handle that is no integer in [0, 2^53), or bytes that are no typed array, are MP_ERR_INVALID_ARGUMENT, uncounted', () => {
    withRawPools(({ mpool }) => {
      setFrame({ id: mpool, a: 16 });
      poolBinding.mpool_alloc();
      const h = frame[0];
      expect(h).toBeGreaterThan(0);
      const before = binding.pool_stats(mpool);
      for (const bad of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
        setFrame({ id: mpool, handle: bad });
        poolBinding.mpool_free();
        expect(frame[0]).toBe(MP_ERR_INVALID_ARGUMENT);
        setFrame({ id: mpool, handle: bad });
        poolBinding.mpool_locate();
        expect(frame[0]).toBe(-MP_ERR_INVALID_ARGUMENT);
        setFrame({ id: mpool, handle: bad });
        poolBinding.mpool_write.call(new Uint8Array(1));
        expect(frame[0]).toBe(MP_ERR_INVALID_ARGUMENT);
      }
      for (const notBytes of [{}, [1, 2], new ArrayBuffer(4), undefined]) {
        setFrame({ id: mpool, handle: h });
        poolBinding.mpool_write.call(notBytes as unknown as Uint8Array);
        expect(frame[0]).toBe(MP_ERR_INVALID_ARGUMENT);
      }
      expect(binding.pool_stats(mpool)).toEqual(before);
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_free();
      expect(frame[0]).toBe(MP_OK);
    });
  });

  it('locate leaves offset and size in the frame; alloc and free report through it', () => {
    withRawPools(({ mpool }) => {
      setFrame({ id: mpool, a: 40 });
      poolBinding.mpool_alloc();
      const h = frame[0];
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_locate();
      expect(frame[0]).toBeGreaterThanOrEqual(0);
      expect(frame[1]).toBe(40);
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_free();
      expect(frame[0]).toBe(MP_OK);
      setFrame({ id: mpool, handle: h });
      poolBinding.mpool_locate();
      expect(frame[0]).toBeLessThan(0); // -MP_ERR_INVALID_HANDLE: stale
    });
  });
});

describe('frame calls find their env table in every thread', () => {
  it('workers that load the addon before the main thread, at once and after each other, each get their own results', () => {
    const results = runGcFixture<unknown[]>('frame-envs.cjs');
    expect(results).toHaveLength(4);
    for (const r of results) {
      expect(r).toEqual({
        distinct: 8,
        exhausted: true,
        back: [3.25, -7],
        check: 0,
        allocated: 0,
        blocks: 0,
      });
    }
  });
});

describe('read and write take any view as their receiver, by its bytes', () => {
  it('a Float64Array, a DataView at an offset and a Uint16Array move exactly their bytes', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(32);
    pool.write(h, Float64Array.of(1.5, -2)); // 16 bytes, through the core (no Uint8Array)
    const raw = new Uint8Array(40).fill(0xee);
    pool.readInto(h, new DataView(raw.buffer, 3, 16));
    expect(Array.from(raw.subarray(3, 19))).toEqual(
      Array.from(new Uint8Array(Float64Array.of(1.5, -2).buffer)),
    );
    expect(raw[2]).toBe(0xee);
    expect(raw[19]).toBe(0xee);
    pool.write(h, new DataView(Uint8Array.of(9, 8, 7, 6).buffer, 1, 2), 30);
    const tail = new Uint16Array(1);
    pool.readInto(h, tail, 30);
    expect(Array.from(new Uint8Array(tail.buffer))).toEqual([8, 7]);
    expect(() => pool.readInto(h, new Uint16Array(2), 30)).toThrow(OutOfBoundsError);
    expect(pool.check()).toBe(0);
  });
});

describe('MemoryPool copies by JS where the core would, and refuses as the core does', () => {
  it('write() of a Uint8Array lands in the block, also from a view of the pool itself (overlap)', () => {
    using pool = new MemoryPool({ size: 8192 });
    const a = pool.allocate(64);
    const b = pool.allocate(64);
    pool.write(
      a,
      Uint8Array.from({ length: 64 }, (_, i) => i),
    );
    pool.write(b, Buffer.from([9, 8, 7]), 61);
    expect(Array.from(pool.read(b, 3, 61))).toEqual([9, 8, 7]);
    // Source and destination in the same block, overlapping: memmove semantics.
    const va = pool.view(a);
    pool.write(a, va.subarray(0, 32), 8);
    const expected = Uint8Array.from({ length: 64 }, (_, i) => (i >= 8 && i < 40 ? i - 8 : i));
    expect(pool.read(a)).toEqual(expected);
    expect(pool.check()).toBe(0);
  });

  it('write() past the end, at a stale handle, or with a non-number handle is refused and counted as before', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(16);
    pool.write(h, new Uint8Array(16).fill(5));
    const w = watched(pool);
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(17)),
      OutOfBoundsError,
      'MP_ERR_OUT_OF_BOUNDS',
      {
        rejectedAccessCount: 1,
      },
    );
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(1), 16),
      OutOfBoundsError,
      'MP_ERR_OUT_OF_BOUNDS',
      {
        rejectedAccessCount: 1,
      },
    );
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(0), 17),
      OutOfBoundsError,
      'MP_ERR_OUT_OF_BOUNDS',
      {
        rejectedAccessCount: 1,
      },
    );
    pool.write(h, new Uint8Array(0), 16); // an empty write at the end is allowed, as in C
    for (const bad of ['1', null, 1.5, -1, 2 ** 53]) {
      expectRefused(
        w,
        () => pool.write(bad as number, new Uint8Array(1)),
        InvalidArgumentError,
        'MP_ERR_INVALID_ARGUMENT',
      );
    }
    expect(Array.from(pool.read(h))).toEqual(new Array(16).fill(5));
    pool.free(h);
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(1)),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedAccessCount: 1,
      },
    );
  });

  it('read() copies to a new, unshared array; refusals are counted as before', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(20);
    pool.write(
      h,
      Uint8Array.from({ length: 20 }, (_, i) => 100 + i),
    );
    const all = pool.read(h);
    expect(all.length).toBe(20);
    expect(all.buffer).toBeInstanceOf(ArrayBuffer);
    all[0] = 0;
    expect(pool.read(h, 1)[0]).toBe(100);
    expect(Array.from(pool.read(h, undefined, 18))).toEqual([118, 119]);
    expect(pool.read(h, undefined, 20).length).toBe(0);
    const w = watched(pool);
    expectRefused(w, () => pool.read(h, undefined, 21), OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS', {
      rejectedAccessCount: 1,
    });
    expectRefused(w, () => pool.read(h, 3, 18), OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS', {
      rejectedAccessCount: 1,
    });
    expectRefused(w, () => pool.read(h, 1.5), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    pool.free(h);
    expectRefused(w, () => pool.read(h), InvalidHandleError, 'MP_ERR_INVALID_HANDLE', {
      rejectedAccessCount: 1,
    });
  });

  it('a threadSafe pool reads and writes through the core with the same results', () => {
    using pool = new MemoryPool({ size: 8192, threadSafe: true });
    const h = pool.allocate(8);
    pool.write(h, Uint8Array.of(1, 2, 3), 5);
    expect(Array.from(pool.read(h))).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
    const w = watched(pool);
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(4), 5),
      OutOfBoundsError,
      'MP_ERR_OUT_OF_BOUNDS',
      {
        rejectedAccessCount: 1,
      },
    );
  });
});

describe('HeapAllocator alloc and free are per-instance closures', () => {
  it('they are own, non-enumerable properties that work detached from the instance', () => {
    using a = new TlsfAllocator({ size: 4096 });
    expect(Object.keys(a)).not.toContain('alloc');
    expect(Object.getOwnPropertyDescriptor(a, 'free')?.writable).toBe(false);
    const { alloc, free } = a;
    const o = alloc(100);
    expect(a.owns(o)).toBe(true);
    free(o);
    expect(a.owns(o)).toBe(false);
    expect(() => free(o)).toThrow(expect.objectContaining({ code: 'MP_ERR_DOUBLE_FREE' }));
    a.destroy();
    expect(() => alloc(8)).toThrow(DestroyedError);
    expect(() => free(o)).toThrow(DestroyedError);
  });

  it('a subclass that overrides alloc keeps its override, and super.alloc works', () => {
    class Counting extends TlsfAllocator {
      calls = 0;
      override alloc(size: number): number {
        this.calls++;
        return super.alloc(size);
      }
    }
    using a = new Counting({ size: 4096 });
    const o = a.alloc(32);
    expect(a.calls).toBe(1);
    expect(Object.getOwnPropertyDescriptor(a, 'alloc')).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(a, 'free')?.enumerable).toBe(false);
    a.free(o);
    expect(a.owns(o)).toBe(false);
    expect(() => a.alloc(-1)).toThrow(InvalidArgumentError);
    expect(a.calls).toBe(2);
  });

  it('six receiver classes in one process keep each allocator its own state and errors', () => {
    class TaggedTlsf extends TlsfAllocator {}
    class TaggedBuddy extends BuddyAllocator {}
    const all = [
      new TlsfAllocator({ size: 1 << 16 }),
      new BuddyAllocator({ size: 1 << 16 }),
      new SlabAllocator({ size: 1 << 16 }),
      new FitListAllocator({ size: 1 << 16, policy: 'worst' }),
      new TaggedTlsf({ size: 1 << 16 }),
      new TaggedBuddy({ size: 1 << 16 }),
    ];
    const held = all.map((a) => Array.from({ length: 20 }, () => a.alloc(64)));
    all.forEach((a, i) => {
      expect(new Set(held[i]).size).toBe(20);
      expect(a.stats()).toMatchObject({ liveBlockCount: 20, allocCount: 20, freeCount: 0 });
      for (const o of held[i]) a.free(o);
      expect(a.stats()).toMatchObject({ liveBlockCount: 0, freeCount: 20, rejectedFreeCount: 0 });
      expect(() => a.free(held[i][0])).toThrow(
        expect.objectContaining({
          code: expect.stringMatching(/^MP_ERR_(DOUBLE_FREE|INVALID_ADDRESS)$/),
        }),
      );
      expect(a.stats().rejectedFreeCount).toBe(1);
      expect(a.check()).toBe(0);
      a.destroy();
    });
  });
});

describe('FixedPool counts its cached calls as the core counts direct ones', () => {
  it('stats of a pool with a small cache equal those of an uncached twin after the same calls', () => {
    using cached = new FixedPool({ objectSize: 16, capacity: 64, cacheSize: 4 });
    using direct = new FixedPool({ objectSize: 16, capacity: 64, cacheSize: 0 });
    const run = (pool: FixedPool): FixedPoolStats[] => {
      const seen: FixedPoolStats[] = [];
      const live: number[] = [];
      const out = new Int32Array(10);
      for (let step = 0; step < 400; step++) {
        const r = (step * 7919) % 13;
        if (r < 6 && live.length < 64) live.push(pool.alloc());
        else if (r < 11 && live.length > 0) pool.free(live.splice((step * 31) % live.length, 1)[0]);
        else if (r === 11) {
          const got = pool.allocMany(out, 10 - (step % 3));
          for (let i = 0; i < got; i++) live.push(out[i]);
        } else if (live.length > 3) {
          pool.freeMany(Int32Array.from(live.splice(0, 3)));
        }
        if (step === 250) {
          pool.reset();
          live.length = 0;
        }
        if (step % 25 === 0) seen.push(pool.stats());
      }
      seen.push(pool.stats());
      expect(pool.check()).toBe(0);
      return seen;
    };
    const keys = [
      'allocated',
      'allocatedPeak',
      'allocCount',
      'freeCount',
      'rejectedFreeCount',
    ] as const;
    const pick = (s: FixedPoolStats[]) => s.map((x) => keys.map((k) => x[k]));
    expect(pick(run(cached))).toEqual(pick(run(direct)));
  });
});
