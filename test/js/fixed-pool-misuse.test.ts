// FixedPool misuse: every bad input is a typed error with a stable code, and
// leaves state and stats as they were — except the refusal counter the core
// keeps for frees it could see (rejectedFreeCount), which moves by one.
import { describe, expect, it } from 'vitest';
import {
  AlignmentError,
  DestroyedError,
  DoubleFreeError,
  FixedPool,
  InvalidAddressError,
  InvalidArgumentError,
  InvalidHandleError,
  OutOfBoundsError,
  UnsupportedError,
  type FixedPoolOptions,
} from '../../lib/index';
import { expectRefused, expectThrows } from './helpers';

const NOT_SIZES: unknown[] = [
  '8',
  null,
  undefined,
  {},
  8n,
  NaN,
  -1,
  1.5,
  2 ** 32,
  2 ** 33,
  Infinity,
  0,
];

function create(o: Record<string, unknown>): FixedPool {
  return new FixedPool({ objectSize: 24, capacity: 10, ...o } as unknown as FixedPoolOptions);
}

describe('new FixedPool() refuses bad options', () => {
  it.each(NOT_SIZES)('objectSize %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    expectThrows(() => create({ objectSize: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it.each(NOT_SIZES)('capacity %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    expectThrows(() => create({ capacity: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it.each([3, 6, 12, -8, 0.5, NaN, 2 ** 32])('alignment %s is MP_ERR_ALIGNMENT', (v) => {
    expectThrows(() => create({ alignment: v }), AlignmentError, 'MP_ERR_ALIGNMENT');
  });

  it('alignment above 4096 is refused by the core as MP_ERR_ALIGNMENT', () => {
    expectThrows(() => create({ alignment: 8192 }), AlignmentError, 'MP_ERR_ALIGNMENT');
  });

  it('a non-number alignment is MP_ERR_INVALID_ARGUMENT', () => {
    expectThrows(() => create({ alignment: '8' }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it.each([{}, 'buffer', new Uint8Array(1024), [1, 2, 3], 42])(
    'buffer %s (not an ArrayBuffer/SAB) is refused',
    (b) => {
      expectThrows(() => create({ buffer: b }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    },
  );

  it('a region too small is MP_ERR_INVALID_ARGUMENT with the byte counts', () => {
    const err = expectThrows(
      () => create({ buffer: new ArrayBuffer(100) }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    ) as InvalidArgumentError;
    expect(err.requestedBytes).toBe(240);
    expect(err.availableBytes).toBe(100);
    expectThrows(
      () => create({ buffer: new ArrayBuffer(300), byteOffset: 100 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('a byteOffset past the buffer or without a buffer is refused', () => {
    expectThrows(
      () => create({ buffer: new ArrayBuffer(300), byteOffset: 301 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(
      () => create({ buffer: new ArrayBuffer(300), byteOffset: -1 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(() => create({ byteOffset: 16 }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it('slots needing 2^31 bytes or more are refused (offsets are int32)', () => {
    // An alignment above 64 keeps the power-of-two stride: exactly 2^31 bytes.
    const err = expectThrows(
      () => create({ objectSize: 2 ** 16, alignment: 128, capacity: 2 ** 15 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expect((err as InvalidArgumentError).requestedBytes).toBe(2 ** 31);
    // By default the stride is padded by a cache line, and the region counts it.
    const padded = expectThrows(
      () => create({ objectSize: 2 ** 16, capacity: 2 ** 15 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expect((padded as InvalidArgumentError).requestedBytes).toBe((2 ** 16 + 64) * 2 ** 15);
  });

  it('options that are not an object, a bad cacheSize, a bad threadSafe are refused', () => {
    expectThrows(
      () => new FixedPool(null as unknown as FixedPoolOptions),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(() => create({ cacheSize: -1 }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expectThrows(() => create({ cacheSize: 1.5 }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expectThrows(() => create({ threadSafe: 1 }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expectThrows(
      () => create({ threadSafe: true, cacheSize: 8 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });
});

describe.each([
  ['default cache', {}],
  ['cache of 2', { cacheSize: 2 }],
  ['no cache', { cacheSize: 0 }],
  ['thread-safe', { threadSafe: true }],
])('FixedPool misuse (%s)', (_mode, extra) => {
  /** A pool with three slots in use (0, 24, 48) and one freed (72). */
  function setup(): { pool: FixedPool; live: number[]; freed: number } {
    const pool = create(extra);
    const live = [pool.alloc(), pool.alloc(), pool.alloc()];
    const freed = pool.alloc();
    pool.free(freed);
    expect(pool.check()).toBe(0);
    return { pool, live, freed };
  }

  it('free of a freed offset throws MP_ERR_DOUBLE_FREE and counts one rejected free', () => {
    const { pool, freed } = setup();
    const err = expectRefused(pool, () => pool.free(freed), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
      rejectedFreeCount: 1,
    });
    expect(err.offset).toBe(freed);
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it('free of a slot never handed out throws MP_ERR_INVALID_ADDRESS and counts one rejected free', () => {
    const { pool } = setup();
    expectRefused(pool, () => pool.free(9 * 24), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS', {
      rejectedFreeCount: 1,
    });
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it('free of an interior offset throws MP_ERR_INVALID_ADDRESS and counts one rejected free', () => {
    const { pool, live } = setup();
    expectRefused(
      pool,
      () => pool.free(live[1] + 8),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
      { rejectedFreeCount: 1 },
    );
    expectRefused(
      pool,
      () => pool.free(10 * 24 + 4096),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
      { rejectedFreeCount: 1 },
    );
    expect(pool.owns(live[1])).toBe(true);
    pool.destroy();
  });

  it('free and freeMany of slot offsets past the last slot are MP_ERR_INVALID_ADDRESS, wherever the JS cache sits', () => {
    // The cached mode keeps its cache right after the slot states, in one
    // array: slot indices from capacity on land on cache entries (slot
    // indices, some equal to the state codes 0 and 2). None may pass for a slot.
    const { pool, live } = setup();
    pool.free(live[1]); // caches slot 1
    pool.free(live[2]); // caches slot 2
    for (let k = 10; k < 10 + 300; k++) {
      expectRefused(pool, () => pool.free(k * 24), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS', {
        rejectedFreeCount: 1,
      });
    }
    for (const k of [10, 11, 12, 17, 265, 266]) {
      const err = expectRefused(
        pool,
        () => pool.freeMany(Int32Array.of(k * 24)),
        InvalidAddressError,
        'MP_ERR_INVALID_ADDRESS',
        { rejectedFreeCount: 1 },
      );
      expect(err).toMatchObject({ index: 0, offset: k * 24 });
      expect(pool.owns(k * 24)).toBe(false);
    }
    expect(pool.check()).toBe(0);
    expect(pool.stats().allocated).toBe(1);
    pool.destroy();
  });

  it.each([NaN, -24, 24.5, 2 ** 32, 2 ** 40, -0.5, Infinity])(
    'free(%s) throws MP_ERR_INVALID_ADDRESS, stats unchanged',
    (v) => {
      const { pool } = setup();
      expectRefused(pool, () => pool.free(v), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
      expect(pool.check()).toBe(0);
      pool.destroy();
    },
  );

  it.each(['24', null, undefined, {}, [24], 24n])(
    'free(%s) (not a number) throws MP_ERR_INVALID_ARGUMENT, stats unchanged',
    (v) => {
      const { pool } = setup();
      expectRefused(
        pool,
        () => pool.free(v as number),
        InvalidArgumentError,
        'MP_ERR_INVALID_ARGUMENT',
      );
      pool.destroy();
    },
  );

  it('freeMany stops at the first bad offset: the ones before are freed, the error has its index', () => {
    const { pool, live, freed } = setup();
    const err = expectRefused(
      pool,
      () => pool.freeMany(Int32Array.of(live[0], live[1], freed, live[2])),
      DoubleFreeError,
      'MP_ERR_DOUBLE_FREE',
      { allocated: -2, freeCount: 2, rejectedFreeCount: 1 },
    );
    expect(err.index).toBe(2);
    expect(err.offset).toBe(freed);
    expect(pool.owns(live[2])).toBe(true);
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it('freeMany with the same offset twice frees it once and reports a double free', () => {
    const { pool, live } = setup();
    const err = expectRefused(
      pool,
      () => pool.freeMany(Int32Array.of(live[0], live[0])),
      DoubleFreeError,
      'MP_ERR_DOUBLE_FREE',
      {
        allocated: -1,
        freeCount: 1,
        rejectedFreeCount: 1,
      },
    );
    expect(err.index).toBe(1);
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it('freeMany reads a negative element as the core does (a huge offset): MP_ERR_INVALID_ADDRESS, counted', () => {
    const { pool, live } = setup();
    const err = expectRefused(
      pool,
      () => pool.freeMany(Int32Array.of(live[0], -24)),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
      { allocated: -1, freeCount: 1, rejectedFreeCount: 1 },
    );
    expect(err).toMatchObject({ index: 1, offset: -24 });
    expect(pool.check()).toBe(0);
    pool.destroy();
  });

  it('batch calls refuse arrays that are not Int32Array and counts past the end', () => {
    const { pool } = setup();
    expectRefused(
      pool,
      () => pool.allocMany(new Uint32Array(4) as unknown as Int32Array),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      pool,
      () => pool.allocMany([0, 0] as unknown as Int32Array),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      pool,
      () => pool.allocMany(new Int32Array(2), 3),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      pool,
      () => pool.freeMany(new Int32Array(2), -1),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      pool,
      () => pool.freeMany(new Float64Array(2) as unknown as Int32Array),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    pool.destroy();
  });

  it('view() of a slot not in use is MP_ERR_INVALID_ADDRESS; past the object is MP_ERR_OUT_OF_BOUNDS', () => {
    const { pool, live, freed } = setup();
    expectRefused(pool, () => pool.view(freed), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
    expectRefused(
      pool,
      () => pool.view(live[0] + 1),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
    );
    expectRefused(pool, () => pool.view(live[0], 25), OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS');
    expectRefused(
      pool,
      () => pool.view(live[0], -1),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      pool,
      () => pool.view('0' as unknown as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    pool.destroy();
  });

  it('every call after destroy() throws MP_ERR_DESTROYED, never crashes', () => {
    const { pool, live } = setup();
    pool.destroy();
    const calls: (() => unknown)[] = [
      () => pool.alloc(),
      () => pool.free(live[0]),
      () => pool.allocMany(new Int32Array(2)),
      () => pool.freeMany(Int32Array.of(live[0])),
      () => pool.view(live[0]),
      () => pool.owns(live[0]),
      () => pool.reset(),
      () => pool.stats(),
      () => pool.check(),
      () => pool.bytes,
    ];
    for (const call of calls) expectThrows(call, DestroyedError, 'MP_ERR_DESTROYED');
    expect(pool.objectSize).toBe(24);
    expect(() => pool.destroy()).not.toThrow();
  });
});

describe('FixedPool sharing misuse', () => {
  it('share() of a pool that is not thread-safe, or not over a SharedArrayBuffer, is MP_ERR_UNSUPPORTED', () => {
    using plain = create({});
    expectThrows(() => plain.share(), UnsupportedError, 'MP_ERR_UNSUPPORTED');
    using overAb = create({ threadSafe: true, buffer: new ArrayBuffer(240) });
    expectThrows(() => overAb.share(), UnsupportedError, 'MP_ERR_UNSUPPORTED');
  });

  it('attach() refuses a bad handle, an unknown id and a pool this thread already holds', () => {
    using pool = create({ threadSafe: true });
    const handle = pool.share();
    expectThrows(
      () =>
        FixedPool.attach({ ...handle, buffer: new ArrayBuffer(8) as unknown as SharedArrayBuffer }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(
      () => FixedPool.attach({ ...handle, id: 0 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(
      () => FixedPool.attach({ ...handle, id: handle.id + 2 ** 20 }),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
    );
    expectThrows(() => FixedPool.attach(handle), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });
});
