// Automatic compaction made observable: a pass the core runs inside an
// allocation (defragmentation on, the request refused for fragmentation)
// reaches MemoryPool.onAutoDefragment listeners once, with the pass's
// result, and MemoryPoolingModule's 'defragment' event and diagnostics
// channel with automatic: true. Payloads are checked against the metrics.
import * as dc from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  type DefragmentResult,
  MemoryPool,
  type MemoryPoolMetrics,
  MemoryPoolingModule,
  NO_MEMORY,
  OutOfMemoryError,
} from '../../lib/index';

const BLOCK_BYTES = 960;
const BIG_BYTES = 2500;

/** 8 blocks of 960 bytes in 8 KiB, every other one freed: 2500 bytes fit only after compaction. */
function fragment(allocate: () => number, free: (h: number) => void): number[] {
  const hs = Array.from({ length: 8 }, allocate);
  for (let i = 0; i < 8; i += 2) free(hs[i]);
  return hs.filter((_, i) => i % 2 === 1);
}

/** The result a pass must have reported, from the metrics around the allocation that ran it. */
function passFromMetrics(before: MemoryPoolMetrics, after: MemoryPoolMetrics): DefragmentResult {
  expect(after.autoDefragCount).toBe(before.autoDefragCount + 1);
  return {
    bytesMoved: after.bytesMovedTotal - before.bytesMovedTotal,
    blocksMoved: after.relocationCount - before.relocationCount,
    fragmentationBefore: before.fragmentationRatio,
    fragmentationAfter: 0, // first fit compacts completely: one free block
    complete: true,
  };
}

describe('MemoryPool.onAutoDefragment', () => {
  it('hears the pass an allocation runs, once, before the pressure change of the same call', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit', defragThreshold: 0.1 });
    const kept = fragment(
      () => pool.allocate(BLOCK_BYTES),
      (h) => pool.free(h),
    );
    kept.forEach((h, i) => pool.fill(h, i + 1));
    const heard: string[] = [];
    const passes: DefragmentResult[] = [];
    pool.onAutoDefragment((r) => {
      passes.push(r);
      heard.push('pass');
    });
    pool.onPressureChange((level) => heard.push(level));
    const before = pool.metrics();
    expect(before.fragmentationRatio).toBeGreaterThan(0.1);
    const big = pool.allocate(BIG_BYTES); // 6340 of 8192 bytes: low -> medium
    const after = pool.metrics();
    expect(passes).toEqual([passFromMetrics(before, after)]);
    expect(passes[0].blocksMoved).toBeGreaterThan(0);
    expect(passes[0].bytesMoved).toBeGreaterThanOrEqual(passes[0].blocksMoved * BLOCK_BYTES);
    expect(heard).toEqual(['pass', 'medium']);
    kept.forEach((h, i) => expect(pool.read(h).every((b) => b === i + 1)).toBe(true));
    // Allocations that fit and explicit passes are not automatic ones.
    pool.free(big);
    pool.allocate(16);
    expect(pool.defragment().complete).toBe(true);
    expect(passes).toHaveLength(1);
    expect(pool.metrics().autoDefragCount).toBe(after.autoDefragCount);
  });

  it('hears a futile pass of a failing allocate() or tryAllocate(), and none that did not run', () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit', defragThreshold: 0.1 });
    const kept = fragment(
      () => pool.allocate(BLOCK_BYTES, { pinned: true }),
      (h) => pool.free(h),
    );
    const passes: DefragmentResult[] = [];
    const off = pool.onAutoDefragment((r) => passes.push(r));
    let before = pool.metrics();
    expect(pool.tryAllocate(BIG_BYTES)).toBe(NO_MEMORY);
    const futile = { bytesMoved: 0, blocksMoved: 0, complete: true };
    expect(passes).toEqual([
      {
        ...futile,
        fragmentationBefore: before.fragmentationRatio,
        fragmentationAfter: before.fragmentationRatio,
      },
    ]);
    // Nothing freed since: the core skips the pass, so nobody hears one.
    expect(pool.tryAllocate(BIG_BYTES)).toBe(NO_MEMORY);
    expect(passes).toHaveLength(1);
    expect(pool.metrics().autoDefragCount).toBe(before.autoDefragCount + 1);
    pool.free(kept[3]); // the last block: its hole joins the tail, still below 2500 bytes
    before = pool.metrics();
    expect(() => pool.allocate(BIG_BYTES)).toThrow(OutOfMemoryError);
    expect(pool.metrics().autoDefragCount).toBe(before.autoDefragCount + 1);
    expect(passes).toHaveLength(2);
    expect(passes[1]).toEqual({
      ...futile,
      fragmentationBefore: before.fragmentationRatio,
      fragmentationAfter: before.fragmentationRatio,
    });
    off();
    pool.free(kept[2]);
    expect(pool.tryAllocate(BIG_BYTES)).toBeGreaterThan(0); // holes 4..7 merged: fits without a pass
    expect(passes).toHaveLength(2);
  });

  it('a listener that throws does not undo the allocation (the error is rethrown in a microtask)', async () => {
    using pool = new MemoryPool({ size: 8192, strategy: 'first_fit', defragThreshold: 0.1 });
    fragment(
      () => pool.allocate(BLOCK_BYTES),
      (h) => pool.free(h),
    );
    const boom = new Error('listener failed');
    pool.onAutoDefragment(() => {
      throw boom;
    });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const h = pool.allocate(BIG_BYTES);
      expect(pool.sizeOf(h)).toBe(BIG_BYTES);
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([boom]);
  });
});

describe("MemoryPoolingModule 'defragment' of automatic passes", () => {
  it('an allocation that compacts emits it once on the emitter and the channel, with automatic: true', async () => {
    const m = new MemoryPoolingModule({
      poolSize: 8192,
      allocationStrategy: 'first_fit',
      defragThreshold: 0.1,
      minBlockSize: 16,
      gc: false,
    });
    await m.initialize();
    const pool = m.pool('default');
    fragment(
      () => pool.allocate(BLOCK_BYTES),
      (h) => pool.free(h),
    );
    const fromEmitter: unknown[] = [];
    const fromChannel: unknown[] = [];
    const sub = (msg: unknown): void => void fromChannel.push(msg);
    m.on('defragment', (e) => fromEmitter.push(e));
    dc.subscribe('memory-pool-core:defragment', sub);
    try {
      const before = pool.metrics();
      const r = await m.allocate('default', BIG_BYTES, { owner: 't' });
      expect(r.success).toBe(true);
      const expected = {
        pool: 'default',
        ...passFromMetrics(before, pool.metrics()),
        automatic: true,
      };
      expect(fromEmitter).toEqual([expected]);
      expect(fromChannel).toEqual([expected]);
      expect(m.getMetrics('default').defragCount).toBe(before.defragCount + 1);
      // An explicit pass is the same shape with automatic: false.
      const explicit = m.defragment('default');
      expect(fromEmitter).toEqual([expected, { pool: 'default', ...explicit, automatic: false }]);
      expect(fromChannel).toHaveLength(2);
    } finally {
      dc.unsubscribe('memory-pool-core:defragment', sub);
      await m.shutdown();
    }
  });
});
