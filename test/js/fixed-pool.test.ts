// FixedPool API: every behaviour is checked in each mode — the default JS
// cache, a tiny cache (refill and drain on almost every call), no cache, and
// a thread-safe pool — since stats() and check() must not depend on it.
import { describe, expect, it } from 'vitest';
import { FixedPool, NO_MEMORY, DEFAULT_CACHE_SIZE, type FixedPoolOptions } from '../../lib/index';

const MODES: [string, Partial<FixedPoolOptions>][] = [
  ['default cache', {}],
  ['cache of 4', { cacheSize: 4 }],
  ['no cache', { cacheSize: 0 }],
  ['thread-safe', { threadSafe: true }],
];

describe.each(MODES)('FixedPool (%s)', (_mode, extra) => {
  const make = (o: Partial<FixedPoolOptions> = {}): FixedPool =>
    new FixedPool({ objectSize: 24, capacity: 10, ...extra, ...o });

  it('hands out distinct slot offsets inside bytes until exhausted, then NO_MEMORY', () => {
    using pool = make();
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const off = pool.alloc();
      expect(off % pool.slotSize).toBe(0);
      expect(off + pool.objectSize).toBeLessThanOrEqual(pool.bytes.length);
      seen.add(off);
    }
    expect(seen.size).toBe(10);
    expect(pool.alloc()).toBe(NO_MEMORY);
    expect(pool.stats()).toMatchObject({
      allocated: 10,
      allocCount: 10,
      failedAllocCount: 1,
      allocatedPeak: 10,
    });
    expect(pool.check()).toBe(0);
  });

  it('reports geometry: slot size is the object size rounded up to the alignment', () => {
    using pool = make({ objectSize: 20, alignment: 16 });
    expect(pool.objectSize).toBe(20);
    expect(pool.capacity).toBe(10);
    expect(pool.alignment).toBe(16);
    expect(pool.slotSize).toBe(32);
    expect(pool.bytes.length).toBe(320);
    expect(pool.stats()).toMatchObject({
      objectSize: 20,
      slotSizeBytes: 32,
      alignment: 16,
      capacity: 10,
    });
  });

  it('power-of-two strides of 1 KiB and up are padded by a cache line, unless aligned coarser', () => {
    for (const [objectSize, alignment, stride] of [
      [512, undefined, 512],
      [1024, undefined, 1088],
      [4096, undefined, 4160],
      [1024, 64, 1088],
      [1024, 128, 1024],
      [4096, 4096, 4096],
    ] as const) {
      using pool = make({ objectSize, alignment, capacity: 20 });
      expect(pool.slotSize).toBe(stride);
      expect(pool.bytes.length).toBe(20 * stride);
      expect(pool.stats().slotSizeBytes).toBe(stride);
      const offs = Array.from({ length: 20 }, () => pool.alloc());
      expect(offs.slice().sort((a, b) => a - b)).toEqual(offs.map((_, i) => i * stride));
      for (const off of offs) pool.view(off).fill(off & 0xff);
      for (const off of offs) expect(pool.view(off)[objectSize - 1]).toBe(off & 0xff);
      expect(pool.owns(offs[0] + objectSize)).toBe(objectSize === stride);
      pool.freeMany(Int32Array.from(offs));
      expect(pool.check()).toBe(0);
    }
  });

  it('with a large alignment, every slot takes typed-array views of 8-byte elements', () => {
    using pool = make({ objectSize: 8, alignment: 256, capacity: 3 });
    expect(pool.slotSize).toBe(256);
    for (let i = 0; i < 3; i++) {
      const off = pool.alloc();
      const f64 = new Float64Array(pool.bytes.buffer, pool.bytes.byteOffset + off, 1);
      f64[0] = i + 0.5;
      expect(new Float64Array(pool.view(off).slice().buffer)[0]).toBe(i + 0.5);
    }
  });

  it('a freed slot is handed out again and the counts balance', () => {
    using pool = make();
    const a = pool.alloc();
    pool.free(a);
    const b = pool.alloc();
    expect(b).toBeGreaterThanOrEqual(0);
    pool.free(b);
    expect(pool.stats()).toMatchObject({
      allocated: 0,
      allocCount: 2,
      freeCount: 2,
      allocatedPeak: 1,
    });
    expect(pool.check()).toBe(0);
  });

  it('keeps bytes written through view() and bytes in their slots', () => {
    using pool = make();
    const offs = Array.from({ length: 10 }, () => pool.alloc());
    offs.forEach((off, i) => pool.view(off).fill(i + 1));
    offs.forEach((off, i) => {
      expect(pool.bytes[off]).toBe(i + 1);
      expect(pool.view(off).every((b) => b === i + 1)).toBe(true);
    });
    expect(pool.view(offs[3], 4).length).toBe(4);
  });

  it('owns() is true exactly for slots in use', () => {
    using pool = make();
    const a = pool.alloc();
    expect(pool.owns(a)).toBe(true);
    expect(pool.owns(a + 1)).toBe(false);
    expect(pool.owns(-1)).toBe(false);
    expect(pool.owns(NaN)).toBe(false);
    pool.free(a);
    expect(pool.owns(a)).toBe(false);
  });

  it('allocMany fills the array, freeMany returns the slots', () => {
    using pool = make();
    const out = new Int32Array(16);
    expect(pool.allocMany(out, 4)).toBe(4);
    expect(pool.allocMany(out.subarray(4))).toBe(6);
    expect(new Set(out.subarray(0, 10)).size).toBe(10);
    expect(pool.alloc()).toBe(NO_MEMORY);
    expect(pool.stats().allocated).toBe(10);
    pool.freeMany(out, 10);
    expect(pool.stats()).toMatchObject({ allocated: 0, allocCount: 10, freeCount: 10 });
    expect(pool.check()).toBe(0);
  });

  it('single and batch calls mix: slots from allocMany free one by one and vice versa', () => {
    using pool = make();
    const out = new Int32Array(5);
    pool.allocMany(out);
    for (const off of out) pool.free(off);
    for (let i = 0; i < 5; i++) out[i] = pool.alloc();
    pool.freeMany(out);
    expect(pool.stats()).toMatchObject({ allocated: 0, allocCount: 10, freeCount: 10 });
    expect(pool.check()).toBe(0);
  });

  it('reset() frees everything and restarts the peak; counters since create stay', () => {
    using pool = make();
    for (let i = 0; i < 7; i++) pool.alloc();
    pool.reset();
    expect(pool.stats()).toMatchObject({ allocated: 0, allocatedPeak: 0, allocCount: 7 });
    expect(pool.check()).toBe(0);
    const offs = Array.from({ length: 10 }, () => pool.alloc());
    expect(new Set(offs).size).toBe(10);
    expect(pool.check()).toBe(0);
  });

  it('writes anywhere in bytes never corrupt the pool (metadata is out of band)', () => {
    using pool = make();
    const live = [pool.alloc(), pool.alloc(), pool.alloc()];
    pool.free(live.pop()!);
    pool.bytes.fill(0xff);
    expect(pool.check()).toBe(0);
    const more = Array.from({ length: 8 }, () => pool.alloc());
    expect(more).not.toContain(NO_MEMORY);
    expect(new Set([...live, ...more]).size).toBe(10);
    expect(pool.check()).toBe(0);
  });
});

describe('FixedPool cache', () => {
  it('defaults to a JS cache of DEFAULT_CACHE_SIZE and none for thread-safe pools', () => {
    using cached = new FixedPool({ objectSize: 8, capacity: 4 });
    using shared = new FixedPool({ objectSize: 8, capacity: 4, threadSafe: true });
    expect(cached.cacheSize).toBe(DEFAULT_CACHE_SIZE);
    expect(shared.cacheSize).toBe(0);
    expect(shared.threadSafe).toBe(true);
  });

  it('slots parked in the cache count as free in stats', () => {
    using pool = new FixedPool({ objectSize: 8, capacity: 100, cacheSize: 8 });
    const a = pool.alloc(); // refills 4 slots into the cache
    expect(pool.stats()).toMatchObject({ allocated: 1, allocCount: 1, failedAllocCount: 0 });
    pool.free(a);
    expect(pool.stats()).toMatchObject({ allocated: 0, freeCount: 1 });
    expect(pool.check()).toBe(0);
  });

  it('a short refill near exhaustion is not counted as a failed allocation', () => {
    using pool = new FixedPool({ objectSize: 8, capacity: 3, cacheSize: 16 });
    for (let i = 0; i < 3; i++) expect(pool.alloc()).toBeGreaterThanOrEqual(0);
    expect(pool.stats().failedAllocCount).toBe(0);
    expect(pool.alloc()).toBe(NO_MEMORY);
    expect(pool.stats().failedAllocCount).toBe(1);
  });

  it('the first allocations follow the core order (offset 0 first)', () => {
    using pool = new FixedPool({ objectSize: 16, capacity: 8 });
    expect([pool.alloc(), pool.alloc(), pool.alloc()]).toEqual([0, 16, 32]);
  });

  it('drains to the core when full, so other slots stay allocatable', () => {
    using pool = new FixedPool({ objectSize: 8, capacity: 64, cacheSize: 4 });
    const offs = Array.from({ length: 64 }, () => pool.alloc());
    for (const o of offs) pool.free(o);
    expect(pool.stats()).toMatchObject({ allocated: 0, allocCount: 64, freeCount: 64 });
    expect(pool.check()).toBe(0);
  });
});
