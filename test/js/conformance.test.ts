// One conformance suite for every pool class: regions (default
// SharedArrayBuffer, caller ArrayBuffer/SharedArrayBuffer at an offset, bad
// buffers, too small), lifecycle (destroy, dispose, DestroyedError, native
// pool accounting), offsets and views inside the region, misuse codes with
// stats unchanged, stats keys against the native field lists, check(), and
// where the allocator's metadata lives. A new family adds one row.
import { describe, expect, it, vi } from 'vitest';
import {
  ARENA_STATS_KEYS,
  Arena,
  BuddyAllocator,
  CorruptionError,
  DestroyedError,
  DoubleFreeError,
  FIXED_POOL_STATS_KEYS,
  FitListAllocator,
  FixedPool,
  HEAP_STATS_KEYS,
  type HeapAllocator,
  InvalidAddressError,
  InvalidArgumentError,
  NO_MEMORY,
  OutOfBoundsError,
  SlabAllocator,
  TlsfAllocator,
  livePoolCount,
  type RegionOptions,
} from '../../lib/index';
import { existsSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { binding, frame, FRAME_A, FRAME_ID, frameWords } from '../../lib/binding';
import { codeOf, expectRefused } from './helpers';

/* What mp_advise_huge_pages returns here: MP_OK where the kernel has
 * transparent huge pages (madvise takes the advice whatever their mode),
 * else MP_ERR_UNSUPPORTED. */
const THP_STATUS = existsSync('/sys/kernel/mm/transparent_hugepage') ? 0 : 12;

interface Pool {
  readonly bytes: Uint8Array;
  readonly destroyed: boolean;
  stats(): object;
  check(): number;
  owns(offset: number): boolean;
  destroy(): void;
  [Symbol.dispose](): void;
}

interface Family {
  name: string;
  /** Bytes of buffer (from byteOffset) the configuration of `create` needs. */
  regionBytes: number;
  /** Length of pool.bytes: the bytes managed. */
  bytesLength: number;
  /** The native stats struct behind stats() (binding.stats_fields name). */
  statsName: string;
  statsKeys: readonly string[];
  create(region?: RegionOptions): Pool;
  /** One allocation of at least 16 bytes; its offset or NO_MEMORY. */
  allocOne(pool: Pool): number;
  /** A view of the block at `offset`: `length` bytes, default all it may view. */
  view(pool: Pool, offset: number, length?: number): Uint8Array;
  /** Bytes view() gives by default for a block of allocOne. */
  blockBytes(pool: Pool, offset: number): number;
  /** Families that free one block at a time. */
  free?(pool: Pool, offset: number): void;
  /** Families whose allocation takes a size. */
  allocSized?(pool: Pool, size: unknown): number;
  /** TLSF keeps validated headers inside the region. */
  headersInRegion?: boolean;
}

function heapRow(
  name: string,
  regionBytes: number,
  bytesLength: number,
  make: (region?: RegionOptions) => HeapAllocator,
  headersInRegion = false,
): Family {
  return {
    name,
    regionBytes,
    bytesLength,
    statsName: 'heap',
    statsKeys: HEAP_STATS_KEYS,
    create: make,
    allocOne: (pool) => (pool as HeapAllocator).alloc(16),
    view: (pool, off, len) => (pool as HeapAllocator).view(off, len),
    blockBytes: (pool, off) => (pool as HeapAllocator).usableSize(off),
    free: (pool, off) => (pool as HeapAllocator).free(off),
    allocSized: (pool, size) => (pool as HeapAllocator).alloc(size as number),
    headersInRegion,
  };
}

const fixedRow = (name: string, extra: object): Family => ({
  name,
  regionBytes: 16 * 16,
  bytesLength: 16 * 16,
  statsName: 'fixed',
  statsKeys: FIXED_POOL_STATS_KEYS,
  create: (region) => new FixedPool({ objectSize: 16, capacity: 16, ...extra, ...region }),
  allocOne: (pool) => (pool as FixedPool).alloc(),
  view: (pool, off, len) => (pool as FixedPool).view(off, len),
  blockBytes: () => 16,
  free: (pool, off) => (pool as FixedPool).free(off),
});

const FAMILIES: Family[] = [
  fixedRow('FixedPool', {}),
  fixedRow('FixedPool without cache', { cacheSize: 0 }),
  {
    name: 'Arena',
    regionBytes: 256,
    bytesLength: 256,
    statsName: 'arena',
    statsKeys: ARENA_STATS_KEYS,
    create: (region) => new Arena({ size: 256, ...region }),
    allocOne: (pool) => (pool as Arena).alloc(16),
    view: (pool, off, len) => (pool as Arena).view(off, len ?? 16),
    blockBytes: () => 16,
    allocSized: (pool, size) => (pool as Arena).alloc(size as number),
  },
  // 4096 managed bytes; the core aligns the start to the 64-byte minimum block.
  heapRow('BuddyAllocator', 4096 + 48, 4096, (r) => new BuddyAllocator({ size: 4096, ...r })),
  heapRow(
    'SlabAllocator',
    4 * 4096,
    4 * 4096,
    (r) => new SlabAllocator({ size: 4 * 4096, slabSize: 4096, ...r }),
  ),
  heapRow('TlsfAllocator', 2048, 2048, (r) => new TlsfAllocator({ size: 2048, ...r }), true),
  ...(['first', 'best', 'worst'] as const).map((policy) =>
    heapRow(
      `FitListAllocator (${policy} fit)`,
      2048,
      2048,
      (r) => new FitListAllocator({ size: 2048, policy, ...r }),
    ),
  ),
];

const NOT_SIZES: unknown[] = ['8', null, undefined, {}, 8n, NaN, -1, 1.5, 2 ** 32, Infinity];

describe.each(FAMILIES)('$name conformance', (family) => {
  it('by default places its bytes in a new SharedArrayBuffer', () => {
    using pool = family.create();
    expect(pool.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(pool.bytes.length).toBe(family.bytesLength);
  });

  it.each([
    ['ArrayBuffer', (n: number) => new ArrayBuffer(n)],
    ['SharedArrayBuffer', (n: number) => new SharedArrayBuffer(n)],
  ])('uses a caller %s at a byte offset; writes land in the caller buffer', (_kind, make) => {
    const buffer = make(family.regionBytes + 64);
    using pool = family.create({ buffer, byteOffset: 64 });
    expect(pool.bytes.buffer).toBe(buffer);
    expect(pool.bytes.byteOffset).toBeGreaterThanOrEqual(64);
    expect(pool.bytes.byteOffset + pool.bytes.length).toBeLessThanOrEqual(buffer.byteLength);
    const off = family.allocOne(pool);
    pool.bytes[off] = 0x5a;
    expect(new Uint8Array(buffer)[pool.bytes.byteOffset + off]).toBe(0x5a);
  });

  it('hugePages: true advises the region once the pool exists; false does not; a non-boolean is refused', () => {
    const spy = vi.spyOn(binding, 'advise_huge_pages');
    try {
      const live = livePoolCount();
      for (const hugePages of [1, 'yes', null]) {
        expect(codeOf(() => family.create({ hugePages } as unknown as RegionOptions))).toBe(
          'MP_ERR_INVALID_ARGUMENT',
        );
      }
      expect(livePoolCount()).toBe(live);
      family.create({ hugePages: false }).destroy();
      expect(spy).not.toHaveBeenCalled();
      using pool = family.create({ hugePages: true });
      expect(spy).toHaveBeenCalledTimes(1);
      const view = spy.mock.calls[0][0];
      expect(view.buffer).toBe(pool.bytes.buffer);
      expect(view.byteLength).toBe(family.regionBytes);
      expect(spy.mock.results[0].value).toBe(THP_STATUS);
      expect(pool.check()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a buffer that is not an ArrayBuffer or SharedArrayBuffer', () => {
    for (const buffer of [
      new Uint8Array(family.regionBytes),
      new DataView(new ArrayBuffer(family.regionBytes)),
      {},
      'x',
      1,
    ]) {
      expect(() => family.create({ buffer: buffer as ArrayBuffer })).toThrow(InvalidArgumentError);
    }
  });

  it('refuses a region too small, with the bytes needed and available, whatever byteLength it claims', () => {
    const lying = new ArrayBuffer(family.regionBytes - 1);
    Object.defineProperty(lying, 'byteLength', { value: 1 << 20 });
    const live = livePoolCount();
    for (const region of [
      { buffer: new ArrayBuffer(family.regionBytes + 10), byteOffset: 11 },
      // Before: the size check read the own property; the view constructor threw a bare RangeError.
      { buffer: lying },
    ]) {
      let caught: unknown;
      try {
        family.create(region);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect(caught).toMatchObject({
        requestedBytes: family.regionBytes,
        availableBytes: family.regionBytes - 1,
      });
    }
    expect(livePoolCount()).toBe(live);
  });

  it('refuses a byteOffset past the buffer, fractional or negative', () => {
    for (const byteOffset of [family.regionBytes + 1, 1.5, -1, NaN]) {
      expect(
        codeOf(() => family.create({ buffer: new ArrayBuffer(family.regionBytes), byteOffset })),
      ).toBe('MP_ERR_INVALID_ARGUMENT');
    }
  });

  it('registers one native pool while alive and none after destroy()', () => {
    const before = livePoolCount();
    const pool = family.create();
    expect(livePoolCount()).toBe(before + 1);
    pool.destroy();
    expect(livePoolCount()).toBe(before);
  });

  it('destroy() is idempotent, [Symbol.dispose] destroys, later calls throw DestroyedError', () => {
    const pool = family.create();
    const off = family.allocOne(pool);
    {
      using scoped = pool;
      expect(scoped.destroyed).toBe(false);
    }
    expect(pool.destroyed).toBe(true);
    expect(() => pool.destroy()).not.toThrow();
    const calls: (() => unknown)[] = [
      () => pool.stats(),
      () => pool.check(),
      () => pool.bytes,
      () => pool.owns(off),
      () => family.allocOne(pool),
      () => family.view(pool, off),
    ];
    if (family.free) calls.push(() => family.free!(pool, off));
    if (family.allocSized) calls.push(() => family.allocSized!(pool, 8));
    for (const call of calls) {
      expect(call).toThrow(DestroyedError);
      expect(codeOf(call)).toBe('MP_ERR_DESTROYED');
    }
  });

  it('stats() has the native field list of its struct, in order', () => {
    using pool = family.create();
    expect(binding.stats_fields(family.statsName)).toEqual([...family.statsKeys]);
    expect(Object.keys(pool.stats())).toEqual([...family.statsKeys]);
  });

  it('hands out offsets inside bytes whose views are disjoint and keep their contents', () => {
    using pool = family.create();
    const blocks: { off: number; view: Uint8Array }[] = [];
    for (let i = 0; i < 6; i++) {
      const off = family.allocOne(pool);
      expect(off).not.toBe(NO_MEMORY);
      const view = family.view(pool, off);
      expect(view.length).toBe(family.blockBytes(pool, off));
      expect(view.length).toBeGreaterThanOrEqual(16);
      expect(view.buffer).toBe(pool.bytes.buffer);
      expect(view.byteOffset).toBe(pool.bytes.byteOffset + off);
      expect(off + view.length).toBeLessThanOrEqual(pool.bytes.length);
      for (const b of blocks) {
        const disjoint = off + view.length <= b.off || b.off + b.view.length <= off;
        expect(disjoint, `block ${off} overlaps ${b.off}`).toBe(true);
      }
      view.fill(i + 1);
      blocks.push({ off, view });
      expect(pool.owns(off)).toBe(true);
    }
    blocks.forEach((b, i) => expect(b.view.every((x) => x === i + 1)).toBe(true));
    expect(pool.check()).toBe(0);
  });

  it('view() longer than the block throws MP_ERR_OUT_OF_BOUNDS', () => {
    using pool = family.create();
    const off = family.allocOne(pool);
    const n = family.blockBytes(pool, off);
    expect(family.view(pool, off, n).length).toBe(n);
    const before = pool.stats();
    expect(() => family.view(pool, off, n + 1)).toThrow(OutOfBoundsError);
    expect(pool.stats()).toEqual(before);
  });

  it('owns() is false for numbers that are no offset and throws for a non-number', () => {
    using pool = family.create();
    family.allocOne(pool);
    for (const v of [-1, 1.5, NaN, 2 ** 32]) expect(pool.owns(v)).toBe(false);
    expect(codeOf(() => pool.owns('0' as unknown as number))).toBe('MP_ERR_INVALID_ARGUMENT');
  });

  it.runIf(family.allocSized !== undefined)(
    'alloc() of a size that is not an integer in [0, 2^32) throws MP_ERR_INVALID_ARGUMENT and leaves stats unchanged',
    () => {
      using pool = family.create();
      family.allocOne(pool);
      for (const size of NOT_SIZES) {
        expectRefused(
          pool,
          () => family.allocSized!(pool, size),
          InvalidArgumentError,
          'MP_ERR_INVALID_ARGUMENT',
        );
      }
      expect(pool.check()).toBe(0);
    },
  );

  describe.runIf(family.free !== undefined)('free() misuse', () => {
    const free = (pool: Pool, off: unknown): void => family.free!(pool, off as number);

    it('of a non-number throws MP_ERR_INVALID_ARGUMENT, stats unchanged', () => {
      using pool = family.create();
      family.allocOne(pool);
      for (const v of ['0', null, undefined, {}, 0n]) {
        expectRefused(pool, () => free(pool, v), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
      }
    });

    it('of a number that is no offset throws MP_ERR_INVALID_ADDRESS, stats unchanged', () => {
      using pool = family.create();
      family.allocOne(pool);
      for (const v of [-1, 1.5, NaN, 2 ** 32, Infinity]) {
        expectRefused(pool, () => free(pool, v), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
      }
    });

    it('of an interior offset throws MP_ERR_INVALID_ADDRESS and counts one rejected free', () => {
      using pool = family.create();
      const off = family.allocOne(pool);
      for (const inner of [off + 1, off + 8]) {
        expectRefused(
          pool,
          () => free(pool, inner),
          InvalidAddressError,
          'MP_ERR_INVALID_ADDRESS',
          {
            rejectedFreeCount: 1,
          },
        );
      }
      expect(pool.owns(off)).toBe(true);
      expect(pool.check()).toBe(0);
    });

    it('of a freed offset throws MP_ERR_DOUBLE_FREE and counts one rejected free', () => {
      using pool = family.create();
      const a = family.allocOne(pool);
      const b = family.allocOne(pool);
      free(pool, a);
      const err = expectRefused(pool, () => free(pool, a), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
        rejectedFreeCount: 1,
      });
      expect(err.offset).toBe(a);
      expect(pool.owns(b)).toBe(true);
      expect(pool.check()).toBe(0);
    });

    it('of an offset past the region throws MP_ERR_INVALID_ADDRESS and counts one rejected free', () => {
      using pool = family.create();
      family.allocOne(pool);
      expectRefused(
        pool,
        () => free(pool, pool.bytes.length + 64),
        InvalidAddressError,
        'MP_ERR_INVALID_ADDRESS',
        { rejectedFreeCount: 1 },
      );
    });
  });

  it.runIf(!family.headersInRegion)(
    'keeps its metadata out of band: overwriting every byte leaves check() at 0',
    () => {
      using pool = family.create();
      const first = family.allocOne(pool);
      pool.bytes.fill(0xff);
      expect(pool.check()).toBe(0);
      expect(family.allocOne(pool)).not.toBe(NO_MEMORY);
      expect(first).toBeGreaterThanOrEqual(0);
      if (family.free) family.free(pool, first);
      expect(pool.check()).toBe(0);
    },
  );

  it.runIf(family.headersInRegion === true)(
    'validates its in-region headers: overwriting every byte is reported, never followed',
    () => {
      using pool = family.create();
      const first = family.allocOne(pool);
      pool.bytes.fill(0xff);
      expect(pool.check()).toBeGreaterThan(0);
      expect(() => family.allocOne(pool)).toThrow(CorruptionError);
      expect(codeOf(() => family.free!(pool, first))).toMatch(
        /^MP_ERR_(INVALID_ADDRESS|CORRUPTION)$/,
      );
      expect(pool.stats()).toMatchObject({ liveBlockCount: 1, failedAllocCount: 1 });
      (pool as HeapAllocator).reset();
      expect(pool.check()).toBe(0);
      expect(family.allocOne(pool)).not.toBe(NO_MEMORY);
    },
  );
});

/* The native side keeps the region's address for the pool's life, so the
 * bytes under it must never go away (lib/region.ts). */
describe.each(FAMILIES)('$name region buffer stays in place', (family) => {
  /** Blocks the pool hands out after `what` happened to its buffer, each marked. */
  const useAfter = (pool: Pool): void => {
    const offsets = [family.allocOne(pool), family.allocOne(pool)];
    for (const off of offsets) {
      expect(off).not.toBe(NO_MEMORY);
      pool.bytes[off] = 0xa5;
      expect(pool.bytes[off]).toBe(0xa5);
    }
    if (family.free) for (const off of offsets) family.free(pool, off);
    expect(pool.check()).toBe(0);
  };

  it('a caller ArrayBuffer is not detached by a structuredClone or postMessage transfer', () => {
    const buffer = new ArrayBuffer(family.regionBytes);
    using pool = family.create({ buffer });
    const off = family.allocOne(pool);
    pool.bytes[off] = 0x3c;
    // Before the mark, both detached the buffer: TLSF then wrote its headers into freed memory.
    const copy = structuredClone(buffer, { transfer: [buffer] });
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(buffer, [buffer]);
    port1.close();
    port2.close();
    expect(buffer.byteLength).toBe(family.regionBytes);
    expect(copy).not.toBe(buffer);
    expect(pool.bytes.length).toBe(family.bytesLength);
    expect(pool.bytes[off]).toBe(0x3c);
    useAfter(pool);
  });

  it('refuses a resizable ArrayBuffer, also one that claims not to be, and marks nothing', () => {
    const lying = new ArrayBuffer(family.regionBytes, { maxByteLength: 2 * family.regionBytes });
    Object.defineProperty(lying, 'resizable', { value: false });
    const live = livePoolCount();
    for (const buffer of [
      new ArrayBuffer(family.regionBytes, { maxByteLength: family.regionBytes }),
      lying,
    ]) {
      // Before: accepted, and resize(0) under a TLSF pool made its next alloc() a SIGSEGV.
      expect(codeOf(() => family.create({ buffer }))).toBe('MP_ERR_INVALID_ARGUMENT');
      expect(livePoolCount()).toBe(live);
      structuredClone(buffer, { transfer: [buffer] }); // still transferable: refused, not marked
      expect(buffer.byteLength).toBe(0);
    }
  });

  it('a growable SharedArrayBuffer is accepted and the pool works after it grew', () => {
    const buffer = new SharedArrayBuffer(family.regionBytes, {
      maxByteLength: 4 * family.regionBytes,
    });
    using pool = family.create({ buffer });
    const off = family.allocOne(pool);
    pool.bytes[off] = 0x77;
    buffer.grow(4 * family.regionBytes);
    expect(pool.bytes[off]).toBe(0x77);
    useAfter(pool);
  });
});

describe('the addon refuses a pool whose plain ArrayBuffer was detached or shrunk under it', () => {
  // Below the classes (which mark the buffer untransferable): the binding on
  // an unmarked buffer, as another addon or ArrayBuffer.prototype.transfer()
  // of a newer Node could detach it, or resize() shrink it. Before, every call
  // ran on freed or decommitted memory.
  it.each([
    ['detached', (b: ArrayBuffer) => structuredClone(b, { transfer: [b] })],
    ['resized smaller', (b: ArrayBuffer) => b.resize(2048)],
  ])(
    '%s: every call but pool_destroy throws MP_ERR_INVALID_HANDLE; destroy releases the pool',
    (_how, lose) => {
      const live = livePoolCount();
      const buffer = new ArrayBuffer(4096, { maxByteLength: 8192 });
      // A length-tracking view: a resize keeps its address and changes only its length.
      const id = binding.tlsf_create(new Uint8Array(buffer), 4096, 0, 0, 0, 0);
      expect(id).toBeGreaterThan(0);
      expect(binding.pool_check(id)).toBe(0);
      lose(buffer);
      expect(buffer.byteLength).toBeLessThan(4096);
      const calls: (() => unknown)[] = [
        () => binding.pool_check(id),
        () => binding.pool_stats(id),
        () => binding.pool_reset(id),
        () => binding.heap_walk(id),
        () => binding.heap_calloc(id, 64),
        () => {
          frameWords[FRAME_ID] = id;
          frameWords[FRAME_A] = 64;
          binding.heap_alloc();
        },
      ];
      for (const call of calls) {
        expect(call).toThrow(/detached or resized/);
        expect(() => call()).toThrow(expect.objectContaining({ code: 'MP_ERR_INVALID_HANDLE' }));
      }
      expect(binding.pool_destroy(id)).toBe(0);
      expect(livePoolCount()).toBe(live);
    },
  );

  it('a SharedArrayBuffer region pays no check: the same calls work', () => {
    const id = binding.tlsf_create(new Uint8Array(new SharedArrayBuffer(4096)), 4096, 0, 0, 0, 0);
    frameWords[FRAME_ID] = id;
    frameWords[FRAME_A] = 64;
    binding.heap_alloc();
    expect(frame[0]).toBeGreaterThanOrEqual(0);
    expect(binding.pool_check(id)).toBe(0);
    expect(binding.pool_destroy(id)).toBe(0);
  });
});
