// MemoryPool API: handles, byte access by handle, zero-copy views and their
// staleness after compaction, pinning, out of memory, metrics (checked
// against the native field lists), owners and limits, pressure levels.
import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_OWNER,
  DoubleFreeError,
  LimitExceededError,
  MEMORY_POOL_METRICS_KEYS,
  MemoryPool,
  NO_MEMORY,
  OutOfMemoryError,
  OWNER_METRICS_KEYS,
  POOL_STRATEGIES,
  type PressureLevel,
  livePoolCount,
} from '../../lib/index';
import { binding } from '../../lib/binding';

const bytesOf = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('MemoryPool basics', () => {
  it('allocate returns distinct integer handles below 2^53 that name writable blocks', () => {
    using pool = new MemoryPool({ size: 65536 });
    const a = pool.allocate(100);
    const b = pool.allocate(3);
    for (const h of [a, b]) {
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThan(0);
      expect(h).toBeLessThan(2 ** 53);
    }
    expect(a).not.toBe(b);
    pool.write(a, bytesOf(1, 2, 3), 10);
    pool.write(b, bytesOf(7, 8, 9));
    expect([...pool.read(a, 3, 10)]).toEqual([1, 2, 3]);
    expect([...pool.read(b)]).toEqual([7, 8, 9]);
    expect(pool.read(a).length).toBe(100);
    expect(pool.sizeOf(a)).toBe(100);
    expect(pool.check()).toBe(0);
  });

  it('read returns a copy; readInto fills any typed array; write takes any view', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(16);
    pool.write(h, new Uint32Array([0x04030201, 0x08070605]));
    const copy = pool.read(h, 8);
    copy[0] = 99;
    expect(pool.read(h, 1)[0]).toBe(1);
    const into = new Uint16Array(2);
    pool.readInto(h, into, 4);
    expect([...new Uint8Array(into.buffer)]).toEqual([5, 6, 7, 8]);
    pool.write(h, new DataView(new Uint8Array([42, 43]).buffer), 14);
    expect([...pool.read(h, 2, 14)]).toEqual([42, 43]);
  });

  it('read copies small and large blocks alike (staged up to 4096 bytes, direct above)', () => {
    using pool = new MemoryPool({ size: 65536 });
    for (const size of [1, 4095, 4096, 4097, 20000]) {
      const h = pool.allocate(size, { owner: 'r' });
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
      pool.write(h, data);
      expect(pool.read(h)).toEqual(data);
      expect(pool.read(h, undefined, 0, { as: 'r' })).toEqual(data);
      expect(pool.read(h, size - 1, 1)).toEqual(data.subarray(1));
      const a = pool.read(h);
      const b = pool.read(h);
      a[0] ^= 0xff;
      expect(b[0]).toBe(data[0]);
      pool.free(h);
    }
  });

  it('view is a zero-copy subarray of bytes at the block offset', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(32);
    const v = pool.view(h);
    expect(v.length).toBe(32);
    expect(v.buffer).toBe(pool.bytes.buffer);
    const info = pool.blockInfo(h);
    expect(v.byteOffset).toBe(pool.bytes.byteOffset + info.offset);
    v.fill(5);
    expect(pool.read(h).every((x) => x === 5)).toBe(true);
    pool.write(h, bytesOf(9), 31);
    expect(v[31]).toBe(9);
    expect(pool.isViewCurrent(v)).toBe(true);
    expect(pool.isViewCurrent(new Uint8Array(4))).toBe(false);
  });

  it('copy moves bytes between blocks and within one (overlap allowed); fill defaults to the end', () => {
    using pool = new MemoryPool({ size: 8192 });
    const a = pool.allocate(8);
    const b = pool.allocate(8);
    pool.write(a, bytesOf(1, 2, 3, 4, 5, 6, 7, 8));
    pool.copy(b, 0, a, 0, 8);
    expect([...pool.read(b)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    pool.copy(b, 2, b, 0, 6);
    expect([...pool.read(b)]).toEqual([1, 2, 1, 2, 3, 4, 5, 6]);
    pool.fill(b, 0xee, 5);
    expect([...pool.read(b)]).toEqual([1, 2, 1, 2, 3, 0xee, 0xee, 0xee]);
    pool.fill(b, 0, 0, 1);
    expect(pool.read(b, 1)[0]).toBe(0);
  });

  it('writing from a view of the same pool (overlapping the target) copies correctly', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(8);
    pool.write(h, bytesOf(1, 2, 3, 4, 5, 6, 7, 8));
    const v = pool.view(h);
    pool.write(h, v.subarray(0, 6), 2);
    expect([...pool.read(h)]).toEqual([1, 2, 1, 2, 3, 4, 5, 6]);
    pool.readInto(h, v.subarray(3, 8), 0);
    expect([...pool.read(h)]).toEqual([1, 2, 1, 1, 2, 1, 2, 3]);
  });

  it('free makes the handle stale; freeing it again is MP_ERR_DOUBLE_FREE', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(10);
    pool.free(h);
    expect(() => pool.free(h)).toThrow(DoubleFreeError);
    expect(pool.metrics().allocatedBlockCount).toBe(0);
  });

  it('every strategy serves blocks', () => {
    expect(POOL_STRATEGIES).toEqual([
      'first_fit',
      'best_fit',
      'worst_fit',
      'buddy',
      'slab',
      'tlsf',
      'auto',
    ]);
    for (const strategy of POOL_STRATEGIES) {
      using pool = new MemoryPool({ size: 65536, strategy });
      expect(pool.strategy).toBe(strategy);
      const hs = [1, 100, 1000, 4000].map((n) => pool.allocate(n));
      hs.forEach((h, i) => pool.fill(h, i + 1));
      hs.forEach((h, i) => expect(pool.read(h).every((x) => x === i + 1)).toBe(true));
      expect(pool.check()).toBe(0);
      hs.forEach((h) => pool.free(h));
      expect(pool.metrics().usedBytes).toBe(0);
    }
  });

  it('a caller buffer at a 16-byte aligned byteOffset holds the region', () => {
    const buffer = new ArrayBuffer(8192 + 32);
    using pool = new MemoryPool({ size: 8192, buffer, byteOffset: 32 });
    const h = pool.allocate(4);
    pool.write(h, bytesOf(1, 2, 3, 4));
    const at = 32 + pool.blockInfo(h).offset;
    expect([...new Uint8Array(buffer, at, 4)]).toEqual([1, 2, 3, 4]);
    expect(pool.bytes.buffer).toBe(buffer);
  });

  it('hugePages: true advises the whole region once the pool exists', () => {
    const spy = vi.spyOn(binding, 'advise_huge_pages');
    try {
      using pool = new MemoryPool({ size: 1 << 16, hugePages: true });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0].buffer).toBe(pool.bytes.buffer);
      expect(spy.mock.calls[0][0].byteLength).toBe(1 << 16);
      const h = pool.allocate(100);
      pool.write(h, bytesOf(1, 2, 3));
      expect(Array.from(pool.read(h, 3))).toEqual([1, 2, 3]);
      expect(
        () => new MemoryPool({ size: 1 << 16, hugePages: 'yes' as unknown as boolean }),
      ).toThrow(/hugePages/);
    } finally {
      spy.mockRestore();
    }
  });

  it('destroy is idempotent, releases the native pool and Symbol.dispose calls it', () => {
    const before = livePoolCount();
    const pool = new MemoryPool({ size: 8192 });
    expect(livePoolCount()).toBe(before + 1);
    pool.destroy();
    pool.destroy();
    expect(pool.destroyed).toBe(true);
    expect(livePoolCount()).toBe(before);
    {
      using p2 = new MemoryPool({ size: 8192 });
      p2.allocate(1);
    }
    expect(livePoolCount()).toBe(before);
  });
});

describe('MemoryPool exhaustion', () => {
  it('allocate throws OutOfMemoryError with requested, available, used, total and largest free bytes', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit', defragmentation: false });
    pool.allocate(4000);
    pool.allocate(3000);
    const before = pool.metrics();
    let err: OutOfMemoryError | undefined;
    try {
      pool.allocate(5000);
    } catch (e) {
      err = e as OutOfMemoryError;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err?.code).toBe('MP_ERR_OUT_OF_MEMORY');
    expect(err?.requestedBytes).toBe(5000);
    expect(err?.totalBytes).toBe(8192);
    expect(err?.usedBytes).toBe(before.usedBytes);
    expect(err?.availableBytes).toBe(before.backendFreeBytes);
    expect(err?.largestFreeBytes).toBe(before.largestFreeBlockBytes);
    expect(err!.largestFreeBytes!).toBeLessThan(5000);
    expect(pool.metrics()).toEqual({
      ...before,
      allocationFailureCount: before.allocationFailureCount + 1,
    });
  });

  it('tryAllocate returns NO_MEMORY (-1) instead, and still throws for limits', () => {
    using pool = new MemoryPool({ size: 8192 });
    const before = pool.metrics();
    expect(pool.tryAllocate(8192)).toBe(NO_MEMORY);
    expect(pool.tryAllocate(8192, { owner: 'x' })).toBe(NO_MEMORY);
    expect(pool.metrics().allocationFailureCount).toBe(before.allocationFailureCount + 2);
    using limited = new MemoryPool({ size: 8192, maxBlockSize: 1024 });
    expect(() => limited.tryAllocate(1025)).toThrow(LimitExceededError);
    expect(limited.tryAllocate(1024, { owner: 'x' })).toBeGreaterThan(0);
  });

  it('an automatic compaction makes room for a request fragmentation refused', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit', defragThreshold: 0.1 });
    const hs = Array.from({ length: 8 }, () => pool.allocate(960));
    hs.forEach((h, i) => pool.fill(h, i));
    for (let i = 0; i < 8; i += 2) pool.free(hs[i]);
    const big = pool.allocate(2500);
    const m = pool.metrics();
    expect(m.autoDefragCount).toBe(1);
    expect(m.relocationCount).toBeGreaterThan(0);
    for (let i = 1; i < 8; i += 2) expect(pool.read(hs[i]).every((x) => x === i)).toBe(true);
    expect(pool.sizeOf(big)).toBe(2500);
    expect(pool.check()).toBe(0);
  });
});

describe('MemoryPool compaction', () => {
  function fragmented(): { pool: MemoryPool; kept: number[] } {
    const pool = new MemoryPool({ size: 16384, strategy: 'first_fit', defragmentation: false });
    const hs = Array.from({ length: 10 }, () => pool.allocate(1000));
    hs.forEach((h, i) => pool.fill(h, 0x10 + i));
    const kept = hs.filter((_, i) => i % 2 === 1);
    hs.filter((_, i) => i % 2 === 0).forEach((h) => pool.free(h));
    return { pool, kept };
  }

  it('defragment moves unpinned blocks down, keeps contents, and bumps relocationCount', () => {
    const { pool, kept } = fragmented();
    using _ = pool;
    const before = pool.metrics();
    expect(before.fragmentationRatio).toBeGreaterThan(0);
    const r = pool.defragment();
    expect(r.complete).toBe(true);
    expect(r.blocksMoved).toBe(kept.length);
    expect(r.bytesMoved).toBeGreaterThanOrEqual(1000 * kept.length);
    expect(r.fragmentationBefore).toBeCloseTo(before.fragmentationRatio);
    expect(r.fragmentationAfter).toBe(0);
    expect(pool.relocationCount).toBe(before.relocationCount + r.blocksMoved);
    kept.forEach((h, j) => expect(pool.read(h).every((x) => x === 0x11 + 2 * j)).toBe(true));
    expect(pool.metrics().largestFreeBlockBytes).toBe(pool.metrics().backendFreeBytes);
    expect(pool.check()).toBe(0);
  });

  it('a view taken before a move is detectably stale; a new view shows the block', () => {
    const { pool, kept } = fragmented();
    using _ = pool;
    const old = pool.view(kept[2]);
    const epoch = pool.relocationCount;
    expect(pool.isViewCurrent(old)).toBe(true);
    pool.defragment();
    expect(pool.relocationCount).not.toBe(epoch);
    expect(pool.isViewCurrent(old)).toBe(false);
    const fresh = pool.view(kept[2]);
    expect(pool.isViewCurrent(fresh)).toBe(true);
    expect(fresh.every((x) => x === 0x15)).toBe(true);
    expect(fresh.byteOffset).toBeLessThan(old.byteOffset);
  });

  it('a view of a freed block is not current even without a move', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(8);
    const v = pool.view(h);
    pool.free(h);
    expect(pool.isViewCurrent(v)).toBe(false);
  });

  it('pinned blocks never move; unpinned ones then can', () => {
    const { pool, kept } = fragmented();
    using _ = pool;
    kept.forEach((h) => pool.pin(h));
    pool.pin(kept[0]); // idempotent
    expect(pool.metrics().pinnedBlockCount).toBe(kept.length);
    const offsets = kept.map((h) => pool.blockInfo(h).offset);
    expect(pool.defragment().blocksMoved).toBe(0);
    expect(kept.map((h) => pool.blockInfo(h).offset)).toEqual(offsets);
    kept.forEach((h) => pool.unpin(h));
    expect(pool.blockInfo(kept[0]).pinned).toBe(false);
    expect(pool.defragment().blocksMoved).toBeGreaterThan(0);
  });

  it('allocate({ pinned: true }) pins from the start', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit' });
    const a = pool.allocate(100);
    const b = pool.allocate(100, { pinned: true });
    pool.free(a);
    expect(pool.blockInfo(b).pinned).toBe(true);
    expect(pool.defragment().blocksMoved).toBe(0);
  });

  it('a budgeted pass stops early and the next one resumes', () => {
    const { pool, kept } = fragmented();
    using _ = pool;
    const first = pool.defragment(1000);
    expect(first.complete).toBe(false);
    expect(first.blocksMoved).toBeGreaterThan(0);
    expect(first.blocksMoved).toBeLessThan(kept.length);
    let moved = first.blocksMoved;
    for (let i = 0; i < 10; i++) {
      const r = pool.defragment(1000);
      moved += r.blocksMoved;
      if (r.complete) break;
    }
    expect(moved).toBe(kept.length);
    kept.forEach((h, j) => expect(pool.read(h).every((x) => x === 0x11 + 2 * j)).toBe(true));
  });
});

describe('MemoryPool metrics', () => {
  it('metrics() keys are the native MP_POOL_STATS_FIELDS, camelCased, in order', () => {
    expect(binding.stats_fields('pool')).toEqual([...MEMORY_POOL_METRICS_KEYS]);
    using pool = new MemoryPool({ size: 8192 });
    expect(Object.keys(pool.metrics())).toEqual([...MEMORY_POOL_METRICS_KEYS]);
  });

  it('ownerMetrics() keys are the native MP_POOL_OWNER_STATS_FIELDS, camelCased, in order', () => {
    expect(binding.stats_fields('pool_owner')).toEqual([...OWNER_METRICS_KEYS]);
    using pool = new MemoryPool({ size: 8192 });
    expect(Object.keys(pool.ownerMetrics(DEFAULT_OWNER))).toEqual([...OWNER_METRICS_KEYS]);
  });

  it('counts allocations, frees, bytes, peak and pinned blocks', () => {
    using pool = new MemoryPool({ size: 65536, strategy: 'first_fit', minBlockSize: 64 });
    const a = pool.allocate(10);
    const b = pool.allocate(1000, { pinned: true });
    let m = pool.metrics();
    expect(m.totalBytes).toBe(65536);
    expect(m.allocationCount).toBe(2);
    expect(m.allocatedBlockCount).toBe(2);
    expect(m.requestedBytes).toBe(1010);
    expect(m.usedBytes).toBeGreaterThanOrEqual(64 + 1000);
    expect(m.freeBytes).toBe(65536 - m.usedBytes);
    expect(m.utilization).toBeCloseTo(m.usedBytes / 65536);
    expect(m.pinnedBlockCount).toBe(1);
    expect(m.handleCapacity).toBe(65536 / 64);
    const peak = m.usedBytes;
    pool.free(a);
    pool.free(b);
    m = pool.metrics();
    expect(m.deallocationCount).toBe(2);
    expect(m.usedBytes).toBe(0);
    expect(m.peakUsageBytes).toBe(peak);
    expect(m.pinnedBlockCount).toBe(0);
  });
});

describe('MemoryPool owners', () => {
  it('charges blocks to owners, lists them in handle-table order and frees them all at once', () => {
    using pool = new MemoryPool({ size: 65536 });
    const a1 = pool.allocate(100, { owner: 'tenant_a' });
    const b1 = pool.allocate(200, { owner: 'tenant_b' });
    const a2 = pool.allocate(300, { owner: 'tenant_a', pinned: true });
    const d = pool.allocate(50);
    // A fresh pool fills its handle table upwards: a1 sits in a lower slot than a2.
    expect(pool.ownerBlocks('tenant_a')).toEqual([a1, a2]);
    expect(pool.ownerBlocks('tenant_b')).toEqual([b1]);
    expect(pool.ownerBlocks(DEFAULT_OWNER)).toEqual([d]);
    expect(pool.blockInfo(a1).owner).toBe('tenant_a');
    const ma = pool.ownerMetrics('tenant_a');
    expect(ma.blockCount).toBe(2);
    expect(ma.allocCount).toBe(2);
    expect(ma.bytesInUse).toBe(pool.blockInfo(a1).usableBytes + pool.blockInfo(a2).usableBytes);
    expect(pool.freeOwner('tenant_a')).toBe(2);
    expect(pool.ownerBlocks('tenant_a')).toEqual([]);
    expect(() => pool.free(a1)).toThrow(DoubleFreeError);
    const after = pool.ownerMetrics('tenant_a');
    expect(after).toMatchObject({ blockCount: 0, bytesInUse: 0, freeCount: 2 });
    expect(after.bytesInUsePeak).toBe(ma.bytesInUse);
    expect(pool.read(b1).length).toBe(200);
    expect(pool.metrics().ownerCount).toBe(3);
    expect(pool.check()).toBe(0);
  });

  it('an owner the pool has not seen has zero metrics, no blocks, and frees nothing', () => {
    using pool = new MemoryPool({ size: 8192 });
    const before = pool.metrics();
    expect(Object.values(pool.ownerMetrics('nobody')).every((v) => v === 0)).toBe(true);
    expect(pool.ownerBlocks('nobody')).toEqual([]);
    expect(pool.freeOwner('nobody')).toBe(0);
    expect(pool.metrics()).toEqual(before);
  });

  it('an owner limit refuses allocations over it with MP_ERR_LIMIT_EXCEEDED and counts them', () => {
    using pool = new MemoryPool({ size: 65536, strategy: 'first_fit' });
    pool.setOwnerLimit('t', 1024);
    const h = pool.allocate(512, { owner: 't' });
    const used = pool.ownerMetrics('t').bytesInUse;
    const before = pool.metrics();
    let err: LimitExceededError | undefined;
    try {
      pool.allocate(1024, { owner: 't' });
    } catch (e) {
      err = e as LimitExceededError;
    }
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err?.code).toBe('MP_ERR_LIMIT_EXCEEDED');
    expect(err?.requestedBytes).toBe(1024);
    expect(pool.metrics()).toEqual({
      ...before,
      allocationFailureCount: before.allocationFailureCount + 1,
    });
    expect(pool.ownerMetrics('t')).toMatchObject({
      bytesInUse: used,
      blockCount: 1,
      limitBytes: 1024,
      limitFailureCount: 1,
    });
    // Other owners are not limited; lifting the limit lets t allocate again.
    pool.allocate(4096, { owner: 'u' });
    pool.setOwnerLimit('t', 0);
    pool.allocate(4096, { owner: 't' });
    pool.free(h);
  });

  it('owner-checked access passes for the owner and names the block in errors for others', () => {
    using pool = new MemoryPool({ size: 8192 });
    const h = pool.allocate(8, { owner: 'alice' });
    const g = pool.allocate(8, { owner: 'alice' });
    pool.write(h, bytesOf(1, 2), 0, { as: 'alice' });
    expect([...pool.read(h, 2, 0, { as: 'alice' })]).toEqual([1, 2]);
    const into = new Uint8Array(2);
    pool.readInto(h, into, 0, { as: 'alice' });
    expect([...into]).toEqual([1, 2]);
    pool.fill(h, 3, 2, 1, { as: 'alice' });
    pool.copy(g, 0, h, 0, 3, { as: 'alice' });
    expect([...pool.read(g, 3)]).toEqual([1, 2, 3]);
    pool.free(h, { as: 'alice' });
    expect(pool.ownerMetrics('alice').blockCount).toBe(1);
  });
});

describe('MemoryPool pressure', () => {
  /** Allocates 512-byte blocks until none fits, then frees them all, recording events. */
  function cycle(pool: MemoryPool, events: [PressureLevel, PressureLevel][]): void {
    const hs: number[] = [];
    let seen: PressureLevel = pool.pressure;
    const expectTracked = (): void => {
      const now = pool.pressure;
      if (now !== seen) {
        expect(events.at(-1)).toEqual([now, seen]);
        seen = now;
      }
    };
    for (;;) {
      const h = pool.tryAllocate(512);
      if (h === NO_MEMORY) break;
      hs.push(h);
      expectTracked();
    }
    for (const h of hs) {
      pool.free(h);
      expectTracked();
    }
  }

  it('level changes reach the listeners after the call, once each, up to critical and back', () => {
    const events: [PressureLevel, PressureLevel][] = [];
    using pool = new MemoryPool({
      size: 65536,
      strategy: 'buddy',
      onPressureChange: (level, previous) => events.push([level, previous]),
    });
    expect(pool.pressure).toBe('low');
    cycle(pool, events);
    expect(events).toEqual([
      ['medium', 'low'],
      ['high', 'medium'],
      ['critical', 'high'],
      ['high', 'critical'],
      ['medium', 'high'],
      ['low', 'medium'],
    ]);
    expect(pool.metrics().pressureLevel).toBe(0);
  });

  it('freeOwner and every strategy report the changes their calls make', () => {
    for (const strategy of ['first_fit', 'worst_fit', 'tlsf', 'slab'] as const) {
      const events: [PressureLevel, PressureLevel][] = [];
      using pool = new MemoryPool({ size: 65536, strategy });
      pool.onPressureChange((level, previous) => events.push([level, previous]));
      cycle(pool, events);
      expect(events.map((e) => e[0])).toContain('high');
      expect(events.at(-1)?.[0]).toBe('low');
      while (pool.tryAllocate(512, { owner: 'o' }) !== NO_MEMORY);
      const n = events.length;
      expect(n).toBeGreaterThan(6);
      pool.freeOwner('o');
      expect(events.length).toBe(n + 1);
      expect(events.at(-1)).toEqual(['low', events[n - 1][0]]);
    }
  });

  it('a listener may call the pool (its own changes are delivered too); an unsubscribed one hears nothing', () => {
    using pool = new MemoryPool({ size: 65536, strategy: 'buddy' });
    const reserve = pool.allocate(8192);
    let released = false;
    const heard: PressureLevel[] = [];
    const off = pool.onPressureChange((level) => {
      heard.push(level);
      if (level === 'critical' && !released) {
        released = true;
        pool.free(reserve);
      }
    });
    while (pool.tryAllocate(1024) !== NO_MEMORY);
    expect(heard).toEqual(['medium', 'high', 'critical', 'high', 'critical']);
    expect(pool.check()).toBe(0);
    off();
    pool.freeOwner(DEFAULT_OWNER);
    expect(pool.pressure).toBe('low');
    expect(heard.length).toBe(5);
  });
});
