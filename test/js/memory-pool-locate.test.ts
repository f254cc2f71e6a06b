// MemoryPool resolves the handles it allocated without a native call
// (write of a Uint8Array, read, view, sizeOf, isViewCurrent): it reads the
// core's handle table through an external ArrayBuffer (mpool_handle_table)
// and keeps each handle's requested size. These tests pin what that path
// must agree with the core on: blocks that moved, handles freed by other
// calls, reused slots, foreign handles, bounds, and the table's lifetime.
import { describe, expect, it } from 'vitest';
import {
  DestroyedError,
  InvalidHandleError,
  MemoryPool,
  MemoryPoolError,
  OutOfBoundsError,
  POOL_STRATEGIES,
} from '../../lib/index';
import {
  binding,
  FLAG_THREAD_SAFE,
  frame,
  FRAME_A,
  FRAME_B,
  FRAME_C,
  FRAME_ID,
  frameWords,
} from '../../lib/binding';
import { poolBinding, scratch } from '../../lib/memory-pool-native';

const pattern = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);

/** Byte-equal (expect's deep equality takes ms per array here). */
const same = (a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** The block's bytes as the core places them (blockInfo is a native call). */
const coreBytes = (pool: MemoryPool, h: number): Uint8Array => {
  const { offset, size } = pool.blockInfo(h);
  return pool.bytes.slice(offset, offset + size);
};

describe('MemoryPool call-free handle resolution', () => {
  it('resolves thousands of handles to their own blocks and sizes, for every strategy', () => {
    for (const strategy of POOL_STRATEGIES) {
      using pool = new MemoryPool({ size: 1 << 22, strategy });
      const sizes = Array.from({ length: 3000 }, (_, i) => 1 + ((i * 37) % 700));
      const hs = sizes.map((n) => pool.allocate(n));
      hs.forEach((h, i) => pool.write(h, pattern(sizes[i], i)));
      let bad = 0;
      hs.forEach((h, i) => {
        const want = pattern(sizes[i], i);
        if (pool.sizeOf(h) !== sizes[i]) bad++;
        if (!same(coreBytes(pool, h), want)) bad++;
        if (!same(pool.read(h), want)) bad++;
        if (!same(pool.view(h), want)) bad++;
      });
      expect(bad, strategy).toBe(0);
      expect(pool.check(), strategy).toBe(0);
    }
  });

  it('follows compaction: write, read and view reach a block where it moved', () => {
    using pool = new MemoryPool({ size: 1 << 16, strategy: 'first_fit', defragmentation: false });
    const hs = Array.from({ length: 20 }, (_, i) => pool.allocate(500 + i));
    const kept = hs.filter((_, i) => i % 2 === 1);
    hs.filter((_, i) => i % 2 === 0).forEach((h) => pool.free(h));
    const before = kept.map((h) => pool.blockInfo(h).offset);
    expect(pool.defragment().blocksMoved).toBeGreaterThan(0);
    kept.forEach((h, j) => {
      expect(pool.blockInfo(h).offset).not.toBe(before[j]);
      pool.write(h, pattern(pool.sizeOf(h), j));
      expect(coreBytes(pool, h)).toEqual(pattern(pool.sizeOf(h), j));
      expect(pool.read(h)).toEqual(pattern(pool.sizeOf(h), j));
      const v = pool.view(h);
      expect(v.byteOffset - pool.bytes.byteOffset).toBe(pool.blockInfo(h).offset);
      expect(pool.isViewCurrent(v)).toBe(true);
    });
    expect(pool.check()).toBe(0);
  });

  it('a handle freed by freeOwner is refused by write, read, view and sizeOf, and nothing changes', () => {
    using pool = new MemoryPool({ size: 1 << 16 });
    const mine = pool.allocate(64, { owner: 'tenant' });
    const other = pool.allocate(64);
    pool.write(mine, pattern(64, 1));
    pool.write(other, pattern(64, 2));
    expect(pool.freeOwner('tenant')).toBe(1);
    const image = pool.bytes.slice();
    const rejected = pool.metrics().rejectedAccessCount;
    expect(() => pool.write(mine, pattern(64, 3))).toThrow(InvalidHandleError);
    expect(() => pool.read(mine)).toThrow(InvalidHandleError);
    expect(() => pool.view(mine)).toThrow(InvalidHandleError);
    expect(() => pool.sizeOf(mine)).toThrow(InvalidHandleError);
    expect(pool.bytes).toEqual(image);
    expect(pool.metrics().rejectedAccessCount).toBeGreaterThan(rejected);
    expect(pool.read(other)).toEqual(pattern(64, 2));
  });

  it('a stale handle whose slot was reused is refused; the new handle is served', () => {
    using pool = new MemoryPool({ size: 1 << 16 });
    const old = pool.allocate(100);
    pool.free(old);
    const reused = pool.allocate(40); // the free stack hands the same slot back
    expect(reused).not.toBe(old);
    pool.write(reused, pattern(40, 5));
    const image = pool.bytes.slice();
    expect(() => pool.write(old, pattern(100, 6))).toThrow(InvalidHandleError);
    expect(() => pool.sizeOf(old)).toThrow(InvalidHandleError);
    expect(pool.bytes).toEqual(image);
    expect(pool.sizeOf(reused)).toBe(40);
    expect(pool.read(reused)).toEqual(pattern(40, 5));
  });

  it("another pool's handle is refused even where it names the same entry", () => {
    using a = new MemoryPool({ size: 1 << 16 });
    using b = new MemoryPool({ size: 1 << 16 });
    const ha = a.allocate(64);
    const hb = b.allocate(64); // same entry index, another pool's tag
    a.write(ha, pattern(64, 7));
    const image = a.bytes.slice();
    expect(() => a.write(hb, pattern(64, 8))).toThrow(InvalidHandleError);
    expect(() => a.view(hb)).toThrow(InvalidHandleError);
    expect(a.bytes).toEqual(image);
  });

  it('handle 0 and -0 (never issued; a never-used entry holds 0) are refused like any forged handle', () => {
    using pool = new MemoryPool({ size: 1 << 16 });
    const check = (): void => {
      for (const h of [0, -0]) {
        expect(() => pool.sizeOf(h)).toThrow(InvalidHandleError);
        expect(() => pool.view(h)).toThrow(InvalidHandleError);
        expect(() => pool.read(h)).toThrow(InvalidHandleError);
        expect(() => pool.write(h, new Uint8Array(0))).toThrow(InvalidHandleError);
      }
    };
    check(); // a fresh pool: every entry of the table is 0
    const a = pool.allocate(16);
    pool.allocate(16);
    check(); // entries in use, and fresh ones above them
    pool.free(a);
    check();
  });

  it('accesses are bounded by the requested size, not the usable size', () => {
    using pool = new MemoryPool({ size: 1 << 16 });
    const h = pool.allocate(10);
    expect(pool.blockInfo(h).usableBytes).toBeGreaterThan(10);
    const image = pool.bytes.slice();
    expect(() => pool.write(h, pattern(11, 1))).toThrow(OutOfBoundsError);
    expect(() => pool.write(h, pattern(2, 1), 9)).toThrow(OutOfBoundsError);
    expect(() => pool.read(h, 11)).toThrow(OutOfBoundsError);
    expect(pool.bytes).toEqual(image);
    pool.write(h, pattern(1, 1), 9);
    expect(pool.view(h).length).toBe(10);
  });

  it('thread-safe pools and caller ArrayBuffer regions resolve by call, with the same results', () => {
    const pools = [
      new MemoryPool({ size: 1 << 16 }),
      new MemoryPool({ size: 1 << 16, threadSafe: true }),
      new MemoryPool({ size: 1 << 16, buffer: new ArrayBuffer(1 << 16) }),
    ];
    try {
      const results = pools.map((pool) => {
        const hs = [pool.allocate(30), pool.allocate(300)];
        pool.free(hs[0]);
        const h = pool.allocate(20);
        pool.write(h, pattern(20, 9));
        const stale = (() => {
          try {
            pool.write(hs[0], pattern(1, 1));
            return 'served';
          } catch (err) {
            return (err as MemoryPoolError).code;
          }
        })();
        return [pool.sizeOf(h), Array.from(pool.read(h)), Array.from(pool.view(h)), stale];
      });
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
      expect(results[0][3]).toBe('MP_ERR_INVALID_HANDLE');
    } finally {
      pools.forEach((p) => p.destroy());
    }
  });

  it('after destroy every access is DestroyedError', () => {
    const pool = new MemoryPool({ size: 1 << 16 });
    const h = pool.allocate(64);
    const v = pool.view(h);
    pool.destroy();
    expect(() => pool.write(h, pattern(64, 1))).toThrow(DestroyedError);
    expect(() => pool.read(h)).toThrow(DestroyedError);
    expect(() => pool.view(h)).toThrow(DestroyedError);
    expect(() => pool.sizeOf(h)).toThrow(DestroyedError);
    expect(() => pool.isViewCurrent(v)).toThrow(DestroyedError);
  });
});

describe('mpool_handle_table (the addon side)', () => {
  const region = (bytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(bytes));

  it('describes entries that hold each live handle and its block address, and nothing else', () => {
    const id = poolBinding.mpool_create(region(1 << 16), 1 << 16, 5, 0, 0, 0, 1, 0.3, 0, 0);
    expect(id).toBeGreaterThan(0);
    try {
      const buffer = poolBinding.mpool_handle_table(id);
      expect(buffer).toBeInstanceOf(ArrayBuffer);
      const [mask, stride, lo, hi, addressLo] = scratch;
      const words = new Uint32Array(buffer!);
      expect(words.length).toBe((mask + 1) * stride);
      const entry = (h: number): number => (h & mask) * stride;
      const handleAt = (h: number): number => words[entry(h) + lo] + words[entry(h) + hi] * 2 ** 32;
      // Allocations and frees by frame call, not through a MemoryPool.
      const alloc = (size: number): number => {
        frameWords[FRAME_ID] = id;
        frameWords[FRAME_A] = size;
        frameWords[FRAME_B] = 0;
        frameWords[FRAME_C] = 0;
        poolBinding.mpool_alloc();
        return frame[0];
      };
      const h1 = alloc(64);
      const h2 = alloc(64);
      expect(handleAt(h1)).toBe(h1);
      expect(handleAt(h2)).toBe(h2);
      expect(words[entry(h2) + addressLo] - words[entry(h1) + addressLo]).toBeGreaterThanOrEqual(
        64,
      );
      frameWords[FRAME_ID] = id;
      frame[1] = h1;
      frameWords[FRAME_B] = 0;
      frameWords[FRAME_C] = 0;
      poolBinding.mpool_free();
      expect(frame[0]).toBe(0);
      expect(handleAt(h1)).not.toBe(h1); // freed: the entry holds no handle
      poolBinding.mpool_handle_table_drop(buffer!);
      expect(buffer!.byteLength).toBe(0); // detached: nothing reads it after the pool is gone
    } finally {
      binding.pool_destroy(id);
    }
  });

  it('gives no table for a thread-safe pool', () => {
    const id = poolBinding.mpool_create(
      region(1 << 16),
      1 << 16,
      5,
      0,
      0,
      0,
      1,
      0.3,
      0,
      FLAG_THREAD_SAFE,
    );
    expect(id).toBeGreaterThan(0);
    try {
      expect(poolBinding.mpool_handle_table(id)).toBeUndefined();
    } finally {
      binding.pool_destroy(id);
    }
  });
});
