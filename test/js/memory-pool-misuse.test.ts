// MemoryPool misuse: every bad input is a typed error with a stable code and
// leaves the pool and its metrics as they were, except the refusal counter
// the core keeps for calls it saw (rejectedFreeCount, rejectedAccessCount,
// allocationFailureCount), which moves by one.
import { describe, expect, it } from 'vitest';
import {
  AlignmentError,
  DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidHandleError,
  LimitExceededError,
  MemoryPool,
  type MemoryPoolMetrics,
  type MemoryPoolOptions,
  OutOfBoundsError,
  ProtectionError,
  livePoolCount,
} from '../../lib/index';
import { expectRefused, expectThrows } from './helpers';

const NOT_SIZES: unknown[] = ['8', null, {}, 8n, NaN, -1, 1.5, 2 ** 32, 2 ** 33, Infinity];
const NOT_OFFSETS: unknown[] = ['0', null, {}, NaN, -1, 0.5, 2 ** 32, -Infinity];
const NOT_HANDLES: unknown[] = ['1', null, undefined, {}, 1n, NaN, -1, 1.5, 2 ** 53, Infinity];

/** The pool as expectRefused sees it: stats() is metrics(). */
const watched = (pool: MemoryPool): { stats(): MemoryPoolMetrics } => ({
  stats: () => pool.metrics(),
});

function setup(): { pool: MemoryPool; h: number; contents: Uint8Array } {
  const pool = new MemoryPool({ size: 16384, strategy: 'first_fit' });
  const h = pool.allocate(16, { owner: 'alice' });
  const contents = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  pool.write(h, contents);
  return { pool, h, contents };
}

describe('new MemoryPool() refuses bad options and creates nothing', () => {
  const create = (o: Record<string, unknown>): MemoryPool =>
    new MemoryPool({ size: 8192, ...o } as unknown as MemoryPoolOptions);

  it.each([...NOT_SIZES, 0, undefined, 2 ** 31])('size %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    const live = livePoolCount();
    expectThrows(() => create({ size: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expect(livePoolCount()).toBe(live);
  });

  it('a size below 4096 (32768 for auto) is refused by the core', () => {
    expectThrows(() => create({ size: 4095 }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expectThrows(
      () => create({ size: 16384, strategy: 'auto' }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it.each(['fast', '', 'FIRST_FIT', 3, null])('strategy %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    expectThrows(() => create({ strategy: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it.each([3, 24, 0, -16, 1.5, 8192])('alignment %s is MP_ERR_ALIGNMENT', (v) => {
    expectThrows(() => create({ alignment: v }), AlignmentError, 'MP_ERR_ALIGNMENT');
  });

  it.each(['minBlockSize', 'maxBlockSize', 'maxBlocks'])('%s must be an integer >= 1', (name) => {
    for (const v of [...NOT_SIZES, 0]) {
      expectThrows(() => create({ [name]: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    }
  });

  it.each([0, -0.1, 1.5, NaN, '0.3', null])(
    'defragThreshold %s is MP_ERR_INVALID_ARGUMENT',
    (v) => {
      expectThrows(
        () => create({ defragThreshold: v }),
        InvalidArgumentError,
        'MP_ERR_INVALID_ARGUMENT',
      );
    },
  );

  it('non-boolean flags, a non-function listener and a non-object are refused', () => {
    for (const o of [
      { defragmentation: 1 },
      { threadSafe: 'yes' },
      { onPressureChange: 'cb' },
      { buffer: new Uint8Array(8192) },
    ]) {
      expectThrows(() => create(o), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    }
    expectThrows(
      () => new MemoryPool(null as unknown as MemoryPoolOptions),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('a caller region that is not 16-byte aligned is MP_ERR_ALIGNMENT', () => {
    const buffer = new ArrayBuffer(8192 + 64);
    expectThrows(() => create({ buffer, byteOffset: 8 }), AlignmentError, 'MP_ERR_ALIGNMENT');
    // A create the core refused leaves the buffer as it was: still transferable.
    structuredClone(buffer, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(0);
  });

  it('a resizable ArrayBuffer is MP_ERR_INVALID_ARGUMENT (resize() would take bytes from under the pool)', () => {
    const live = livePoolCount();
    const buffer = new ArrayBuffer(8192, { maxByteLength: 16384 });
    expectThrows(() => create({ buffer }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expect(livePoolCount()).toBe(live);
  });

  it('a caller ArrayBuffer cannot be transferred away while the pool uses it', () => {
    const buffer = new ArrayBuffer(8192);
    using pool = create({ buffer });
    const h = pool.allocate(64);
    pool.write(h, Uint8Array.of(1, 2, 3));
    // Before: detached, and the pool's TLSF headers lived in memory V8 had freed.
    structuredClone(buffer, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(8192);
    expect(pool.read(h, 3)).toEqual(Uint8Array.of(1, 2, 3));
    pool.free(pool.allocate(128));
    expect(pool.check()).toBe(0);
  });
});

describe('MemoryPool refuses bad numbers in JS, changing nothing', () => {
  it.each([...NOT_SIZES, 0, undefined])('allocate(%s) is MP_ERR_INVALID_ARGUMENT', (v) => {
    const { pool } = setup();
    using _ = pool;
    expectRefused(
      watched(pool),
      () => pool.allocate(v as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      watched(pool),
      () => pool.tryAllocate(v as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      watched(pool),
      () => pool.allocate(v as number, { owner: 'bob' }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it.each(NOT_HANDLES)('handle %s is MP_ERR_INVALID_ARGUMENT for every handle call', (v) => {
    const { pool, h } = setup();
    using _ = pool;
    const bad = v as number;
    const calls: (() => unknown)[] = [
      () => pool.free(bad),
      () => pool.free(bad, { as: 'alice' }),
      () => pool.read(bad),
      () => pool.read(bad, 4),
      () => pool.readInto(bad, new Uint8Array(4)),
      () => pool.write(bad, new Uint8Array(4)),
      () => pool.write(bad, new Uint8Array(4), 0, { as: 'alice' }),
      () => pool.fill(bad, 0, 0, 4),
      () => pool.copy(bad, 0, h, 0, 4),
      () => pool.copy(h, 0, bad, 0, 4),
      () => pool.view(bad),
      () => pool.sizeOf(bad),
      () => pool.blockInfo(bad),
      () => pool.pin(bad),
      () => pool.unpin(bad),
    ];
    for (const call of calls)
      expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it.each(NOT_OFFSETS)('offset or length %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    const { pool, h, contents } = setup();
    using _ = pool;
    const bad = v as number;
    const calls: (() => unknown)[] = [
      () => pool.read(h, 4, bad),
      () => pool.read(h, bad),
      () => pool.readInto(h, new Uint8Array(4), bad),
      () => pool.write(h, new Uint8Array(4), bad),
      () => pool.fill(h, 0, bad),
      () => pool.fill(h, 0, 0, bad),
      () => pool.copy(h, bad, h, 0, 1),
      () => pool.copy(h, 0, h, bad, 1),
      () => pool.copy(h, 0, h, 0, bad),
    ];
    for (const call of calls)
      expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expect(pool.read(h)).toEqual(contents);
  });

  it('data that is not a typed array or DataView is MP_ERR_INVALID_ARGUMENT', () => {
    const { pool, h } = setup();
    using _ = pool;
    for (const d of [[1, 2], 'ab', null, {}, new ArrayBuffer(4)]) {
      for (const call of [
        () => pool.write(h, d as Uint8Array),
        () => pool.readInto(h, d as Uint8Array),
      ])
        expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    }
  });

  it('a Proxy of a Uint8Array is no view: MP_ERR_INVALID_ARGUMENT, not a bare TypeError', () => {
    const { pool, h } = setup();
    using _ = pool;
    const proxy = new Proxy(new Uint8Array(4), {});
    for (const call of [() => pool.write(h, proxy), () => pool.readInto(h, proxy)])
      expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it('a view of a detached buffer has no bytes: write and readInto move none, as for any empty view', () => {
    const { pool, h, contents } = setup();
    using _ = pool;
    const detached = (): Uint8Array => {
      const u = new Uint8Array(4);
      structuredClone(u.buffer, { transfer: [u.buffer] });
      return u;
    };
    const before = pool.metrics();
    // Before: write() of a detached Uint8Array threw TypeError from %TypedArray%.prototype.set.
    pool.write(h, detached());
    pool.write(h, detached(), 16);
    pool.readInto(h, detached());
    pool.write(h, new Uint8Array(0));
    expect(pool.metrics()).toEqual(before);
    expect(pool.read(h)).toEqual(contents);
  });

  it.each([-1, 256, 1.5, '1'])('fill byte %s is MP_ERR_INVALID_ARGUMENT', (v) => {
    const { pool, h } = setup();
    using _ = pool;
    expectRefused(
      watched(pool),
      () => pool.fill(h, v as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it.each(['', 7, null, {}])(
    'owner %s (not a non-empty string) is MP_ERR_INVALID_ARGUMENT',
    (v) => {
      const { pool, h } = setup();
      using _ = pool;
      const o = v as string;
      for (const call of [
        () => pool.allocate(8, { owner: o }),
        () => pool.free(h, { as: o }),
        () => pool.read(h, 1, 0, { as: o }),
        () => pool.ownerMetrics(o),
        () => pool.setOwnerLimit(o, 10),
        () => pool.freeOwner(o),
        () => pool.ownerBlocks(o),
      ])
        expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    },
  );

  it('bad options objects, pinned flags, limits and budgets are MP_ERR_INVALID_ARGUMENT', () => {
    const { pool, h } = setup();
    using _ = pool;
    for (const call of [
      () => pool.allocate(8, null as unknown as object),
      () => pool.allocate(8, { pinned: 1 as unknown as boolean }),
      () => pool.free(h, null as unknown as { as: string }),
      () => pool.setOwnerLimit('alice', -1),
      () => pool.setOwnerLimit('alice', 0.5),
      () => pool.setOwnerLimit('alice', NaN),
      () => pool.defragment(-1),
      () => pool.defragment(1.5),
      () => pool.onPressureChange('x' as unknown as () => void),
    ])
      expectRefused(watched(pool), call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });
});

describe('MemoryPool refuses what the core refuses, counting it', () => {
  it('a stale handle is MP_ERR_INVALID_HANDLE for access and MP_ERR_DOUBLE_FREE for free', () => {
    const { pool, h } = setup();
    using _ = pool;
    pool.free(h);
    const w = watched(pool);
    const err = expectRefused(
      w,
      () => pool.read(h, 1),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedAccessCount: 1,
      },
    );
    expect(err.handle).toBe(h);
    expectRefused(w, () => pool.read(h), InvalidHandleError, 'MP_ERR_INVALID_HANDLE', {
      rejectedAccessCount: 1,
    });
    expectRefused(
      w,
      () => pool.write(h, new Uint8Array(1)),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedAccessCount: 1,
      },
    );
    expectRefused(w, () => pool.pin(h), InvalidHandleError, 'MP_ERR_INVALID_HANDLE', {
      rejectedAccessCount: 1,
    });
    expectRefused(w, () => pool.view(h), InvalidHandleError, 'MP_ERR_INVALID_HANDLE');
    expectRefused(w, () => pool.blockInfo(h), InvalidHandleError, 'MP_ERR_INVALID_HANDLE');
    expectRefused(w, () => pool.free(h), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
      rejectedFreeCount: 1,
    });
  });

  it('a write whose source lies about its length (an own `length` property) is refused, the next block intact', () => {
    for (const strategy of ['tlsf', 'first_fit'] as const) {
      using pool = new MemoryPool({ size: 1 << 16, strategy });
      const a = pool.allocate(64);
      const b = pool.allocate(64);
      pool.write(b, new Uint8Array(64).fill(7));
      const data = new Uint8Array(256).fill(0xee);
      Object.defineProperty(data, 'length', { value: 8 });
      const w = watched(pool);
      expectRefused(w, () => pool.write(a, data), OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS', {
        rejectedAccessCount: 1,
      });
      expect(Array.from(pool.read(b))).toEqual(new Array(64).fill(7));
      expect(pool.check()).toBe(0);
    }
  });

  it('double free is MP_ERR_DOUBLE_FREE even after the slot was reused, and the new block survives', () => {
    using pool = new MemoryPool({ size: 8192, maxBlocks: 1 });
    const h1 = pool.allocate(8);
    pool.free(h1);
    const h2 = pool.allocate(8); // the only slot, a new generation
    expect(h2).not.toBe(h1);
    pool.write(h2, Uint8Array.of(9, 9));
    expectRefused(watched(pool), () => pool.free(h1), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
      rejectedFreeCount: 1,
    });
    expect([...pool.read(h2, 2)]).toEqual([9, 9]);
    pool.free(h2);
  });

  it('forged handles (never issued) are MP_ERR_INVALID_HANDLE', () => {
    const { pool, h } = setup();
    using _ = pool;
    for (const forged of [0, 12345, 2 ** 53 - 1, h + 2 ** 40]) {
      expectRefused(
        watched(pool),
        () => pool.free(forged),
        InvalidHandleError,
        'MP_ERR_INVALID_HANDLE',
        {
          rejectedFreeCount: 1,
        },
      );
      expectRefused(
        watched(pool),
        () => pool.read(forged, 1),
        InvalidHandleError,
        'MP_ERR_INVALID_HANDLE',
        {
          rejectedAccessCount: 1,
        },
      );
    }
  });

  it('a handle of another pool is MP_ERR_INVALID_HANDLE and leaves both pools as they were', () => {
    const { pool, h } = setup();
    using _ = pool;
    using other = new MemoryPool({ size: 16384, strategy: 'first_fit' });
    const foreign = other.allocate(16, { owner: 'alice' });
    const otherBefore = other.metrics();
    expectRefused(
      watched(pool),
      () => pool.free(foreign),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedFreeCount: 1,
      },
    );
    expectRefused(
      watched(pool),
      () => pool.write(foreign, new Uint8Array(4)),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedAccessCount: 1,
      },
    );
    expectRefused(
      watched(other),
      () => other.copy(foreign, 0, h, 0, 1),
      InvalidHandleError,
      'MP_ERR_INVALID_HANDLE',
      {
        rejectedAccessCount: 1,
      },
    );
    expect(other.metrics()).toEqual({
      ...otherBefore,
      rejectedAccessCount: otherBefore.rejectedAccessCount + 1,
    });
  });

  it('another owner (or one the pool never saw) is MP_ERR_PROTECTION; the block is untouched', () => {
    const { pool, h, contents } = setup();
    using _ = pool;
    pool.allocate(8, { owner: 'mallory' });
    const w = watched(pool);
    for (const as of ['mallory', 'stranger', 'default']) {
      const err = expectRefused(
        w,
        () => pool.read(h, 1, 0, { as }),
        ProtectionError,
        'MP_ERR_PROTECTION',
        {
          rejectedAccessCount: 1,
        },
      );
      expect(err.status).toBe(8);
      expectRefused(
        w,
        () => pool.write(h, new Uint8Array(4), 0, { as }),
        ProtectionError,
        'MP_ERR_PROTECTION',
        {
          rejectedAccessCount: 1,
        },
      );
      expectRefused(
        w,
        () => pool.readInto(h, new Uint8Array(4), 0, { as }),
        ProtectionError,
        'MP_ERR_PROTECTION',
        {
          rejectedAccessCount: 1,
        },
      );
      expectRefused(w, () => pool.fill(h, 0, 0, 1, { as }), ProtectionError, 'MP_ERR_PROTECTION', {
        rejectedAccessCount: 1,
      });
      expectRefused(
        w,
        () => pool.copy(h, 0, h, 1, 1, { as }),
        ProtectionError,
        'MP_ERR_PROTECTION',
        {
          rejectedAccessCount: 1,
        },
      );
      expectRefused(w, () => pool.free(h, { as }), ProtectionError, 'MP_ERR_PROTECTION', {
        rejectedFreeCount: 1,
      });
    }
    expect(pool.read(h)).toEqual(contents);
  });

  it('access outside the block is MP_ERR_OUT_OF_BOUNDS; the block is untouched', () => {
    const { pool, h, contents } = setup();
    using _ = pool;
    const w = watched(pool);
    const oob = (call: () => unknown): void => {
      expectRefused(w, call, OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS', { rejectedAccessCount: 1 });
    };
    oob(() => pool.read(h, 17));
    oob(() => pool.read(h, 2, 15));
    oob(() => pool.read(h, 0, 17));
    oob(() => pool.read(h, undefined, 17));
    oob(() => pool.readInto(h, new Uint8Array(4), 13));
    oob(() => pool.write(h, new Uint8Array(2), 15));
    oob(() => pool.write(h, new Float64Array(3)));
    oob(() => pool.fill(h, 0xff, 8, 9));
    oob(() => pool.copy(h, 10, h, 0, 7));
    oob(() => pool.copy(h, 0, h, 10, 7));
    expect(pool.read(h)).toEqual(contents);
  });

  it('an owner over its limit is MP_ERR_LIMIT_EXCEEDED, counted for the pool and the owner', () => {
    const { pool } = setup();
    using _ = pool;
    pool.setOwnerLimit('alice', 32);
    const before = pool.ownerMetrics('alice');
    const err = expectRefused(
      watched(pool),
      () => pool.allocate(64, { owner: 'alice' }),
      LimitExceededError,
      'MP_ERR_LIMIT_EXCEEDED',
      { allocationFailureCount: 1 },
    );
    expect(err.requestedBytes).toBe(64);
    expect(pool.ownerMetrics('alice')).toEqual({ ...before, limitFailureCount: 1 });
  });

  it('a request above maxBlockSize or a full handle table is MP_ERR_LIMIT_EXCEEDED', () => {
    using pool = new MemoryPool({ size: 8192, maxBlockSize: 100, maxBlocks: 2 });
    const w = watched(pool);
    expectRefused(w, () => pool.allocate(101), LimitExceededError, 'MP_ERR_LIMIT_EXCEEDED', {
      allocationFailureCount: 1,
    });
    pool.allocate(1);
    pool.allocate(1);
    expectRefused(w, () => pool.tryAllocate(1), LimitExceededError, 'MP_ERR_LIMIT_EXCEEDED', {
      allocationFailureCount: 1,
    });
  });

  it('a view used after defragmentation is detectable through relocationCount and isViewCurrent', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit' });
    const a = pool.allocate(1000);
    const b = pool.allocate(1000);
    pool.fill(b, 7);
    const v = pool.view(b);
    const epoch = pool.relocationCount;
    pool.free(a);
    pool.defragment();
    expect(pool.relocationCount).toBeGreaterThan(epoch);
    expect(pool.isViewCurrent(v)).toBe(false);
    // The stale view shows the old place, no longer the block.
    pool.fill(b, 9);
    expect(v.every((x) => x === 9)).toBe(false);
    expect(pool.view(b).every((x) => x === 9)).toBe(true);
  });
});

describe('MemoryPool after destroy()', () => {
  it('every call throws DestroyedError (MP_ERR_DESTROYED)', () => {
    const { pool, h } = setup();
    pool.destroy();
    const calls: (() => unknown)[] = [
      () => pool.allocate(8),
      () => pool.allocate(8, { owner: 'alice' }),
      () => pool.tryAllocate(8),
      () => pool.free(h),
      () => pool.free(h, { as: 'alice' }),
      () => pool.read(h),
      () => pool.readInto(h, new Uint8Array(1)),
      () => pool.write(h, new Uint8Array(1)),
      () => pool.write(h, new Uint8Array(1), 0, { as: 'alice' }),
      () => pool.copy(h, 0, h, 1, 1),
      () => pool.fill(h, 0),
      () => pool.view(h),
      () => pool.isViewCurrent(new Uint8Array(1)),
      () => pool.sizeOf(h),
      () => pool.blockInfo(h),
      () => pool.pin(h),
      () => pool.unpin(h),
      () => pool.defragment(),
      () => pool.metrics(),
      () => pool.ownerMetrics('alice'),
      () => pool.setOwnerLimit('alice', 1),
      () => pool.freeOwner('alice'),
      () => pool.ownerBlocks('alice'),
      () => pool.onPressureChange(() => {}),
      () => pool.check(),
      () => pool.bytes,
      () => pool.relocationCount,
      () => pool.pressure,
    ];
    for (const call of calls) expectThrows(call, DestroyedError, 'MP_ERR_DESTROYED');
  });

  it('an option or access getter that destroys the pool mid-call makes that call throw DestroyedError', () => {
    // Before: the call went on with the stale id and the addon threw a bare Error.
    const calls: ((pool: MemoryPool, h: number, destroy: () => string) => unknown)[] = [
      (pool, _h, destroy) =>
        pool.allocate(8, {
          get owner() {
            return destroy();
          },
        }),
      (pool, _h, destroy) =>
        pool.allocate(8, {
          get pinned() {
            destroy();
            return true;
          },
        }),
      (pool, h, destroy) =>
        pool.free(h, {
          get as() {
            return destroy();
          },
        }),
      (pool, h, destroy) =>
        pool.read(h, 4, 0, {
          get as() {
            return destroy();
          },
        }),
      (pool, h, destroy) =>
        pool.readInto(h, new Uint8Array(4), 0, {
          get as() {
            return destroy();
          },
        }),
      (pool, h, destroy) =>
        pool.write(h, new Uint8Array(4), 0, {
          get as() {
            return destroy();
          },
        }),
      (pool, h, destroy) =>
        pool.fill(h, 0, 0, 4, {
          get as() {
            return destroy();
          },
        }),
      (pool, h, destroy) =>
        pool.copy(h, 0, h, 4, 4, {
          get as() {
            return destroy();
          },
        }),
    ];
    for (const call of calls) {
      const { pool, h } = setup();
      const live = livePoolCount();
      expectThrows(
        () =>
          call(pool, h, () => {
            pool.destroy();
            return 'alice';
          }),
        DestroyedError,
        'MP_ERR_DESTROYED',
      );
      expect(livePoolCount()).toBe(live - 1);
    }
  });

  it('an option getter runs once per call: the owner checked is the owner charged', () => {
    const { pool } = setup();
    using _ = pool;
    let reads = 0;
    const h = pool.allocate(8, {
      get owner() {
        reads++;
        return reads === 1 ? 'bob' : 'mallory';
      },
    });
    expect(reads).toBe(1);
    expect(pool.blockInfo(h).owner).toBe('bob');
  });
});
