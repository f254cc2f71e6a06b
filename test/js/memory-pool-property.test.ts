// MemoryPool against a model, for every strategy: seeded random allocate,
// free, write, read, copy, pin/unpin, freeOwner and defragment (budgeted or
// not, automatic ones included), with check() === 0 after every step, the
// metrics compared with the model, and every block's contents verified
// after every compaction. A view kept across steps must be current exactly
// while its block is live where the view looks (always while nothing moved),
// and then show the block's bytes.
import { describe, expect, it } from 'vitest';
import { MemoryPool, NO_MEMORY, POOL_STRATEGIES, type PoolStrategy } from '../../lib/index';
import { rng } from './helpers';

interface ModelBlock {
  data: Uint8Array;
  owner: string;
  pinned: boolean;
}

const OWNERS = ['default', 'tenant_a', 'tenant_b', 'tenant_c'];
const STEPS = 1200;

/** expect(actual).toEqual(expected) for bytes, with a fast path: vitest's
 * deep equality walks typed arrays element by element. */
function expectBytes(actual: Uint8Array, expected: Uint8Array, why: string): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  if (!a.equals(expected)) expect(actual, why).toEqual(expected);
}

/** One seeded run; returns how many blocks moved and how many allocations failed. */
function run(strategy: PoolStrategy, seed: number): { moved: number; failed: number } {
  const r = rng(seed);
  using pool = new MemoryPool({ size: 32768, strategy, defragThreshold: 0.2 });
  const model = new Map<number, ModelBlock>();
  const handles: number[] = [];
  let watched: { handle: number; view: Uint8Array; offset: number; epoch: number } | undefined;

  const randomSize = (): number =>
    r.next() < 0.7 ? 1 + r.int(128) : r.next() < 0.8 ? 129 + r.int(1024) : 1153 + r.int(2900); // slab: <= 4096
  const pickHandle = (): number => handles[r.int(handles.length)];
  const forget = (h: number): void => {
    model.delete(h);
    handles.splice(handles.indexOf(h), 1);
  };
  const verifyAll = (why: string): void => {
    for (const [h, b] of model) expectBytes(pool.read(h), b.data, `${why}: block ${h}`);
  };

  for (let step = 0; step < STEPS; step++) {
    const op = r.next();
    const ctx = `${strategy} seed ${seed} step ${step}`;
    const movedBefore = pool.relocationCount;
    if (op < 0.45 || handles.length === 0) {
      const size = randomSize();
      const owner = r.pick(OWNERS);
      const pinned = r.next() < 0.1;
      const h = pool.tryAllocate(size, { owner, pinned });
      if (h !== NO_MEMORY) {
        expect(model.has(h), ctx).toBe(false);
        const data = new Uint8Array(size);
        for (let i = 0; i < size; i += 7) data[i] = r.int(256);
        pool.write(h, data);
        model.set(h, { data, owner, pinned });
        handles.push(h);
      }
    } else if (op < 0.65) {
      const h = pickHandle();
      pool.free(h, r.next() < 0.5 ? { as: model.get(h)!.owner } : undefined);
      forget(h);
    } else if (op < 0.75) {
      const h = pickHandle();
      const b = model.get(h)!;
      const off = r.int(b.data.length);
      const chunk = Uint8Array.from({ length: r.int(b.data.length - off) + 1 }, () => r.int(256));
      pool.write(h, chunk, off);
      b.data.set(chunk, off);
    } else if (op < 0.82) {
      const h = pickHandle();
      const b = model.get(h)!;
      const off = r.int(b.data.length);
      const len = r.int(b.data.length - off + 1);
      expectBytes(pool.read(h, len, off), b.data.subarray(off, off + len), ctx);
    } else if (op < 0.86) {
      const dst = pickHandle();
      const src = pickHandle();
      const d = model.get(dst)!;
      const s = model.get(src)!;
      const len = r.int(Math.min(d.data.length, s.data.length) + 1);
      const dOff = r.int(d.data.length - len + 1);
      const sOff = r.int(s.data.length - len + 1);
      pool.copy(dst, dOff, src, sOff, len);
      d.data.set(s.data.slice(sOff, sOff + len), dOff);
    } else if (op < 0.9) {
      const h = pickHandle();
      const b = model.get(h)!;
      b.pinned = !b.pinned;
      if (b.pinned) pool.pin(h);
      else pool.unpin(h);
    } else if (op < 0.97) {
      const budget = r.next() < 0.5 ? 0 : 1 + r.int(8192);
      const res = pool.defragment(budget);
      expect(res.blocksMoved, ctx).toBe(pool.relocationCount - movedBefore);
      if (budget === 0) expect(res.complete, ctx).toBe(true);
      verifyAll(`${ctx} after defragment(${budget})`);
    } else if (op < 0.98) {
      const owner = r.pick(OWNERS.slice(1));
      const mine = [...model].filter(([, b]) => b.owner === owner).map(([h]) => h);
      expect(new Set(pool.ownerBlocks(owner)), ctx).toEqual(new Set(mine));
      expect(pool.freeOwner(owner), ctx).toBe(mine.length);
      mine.forEach(forget);
    } else if (handles.length > 0) {
      const h = pickHandle();
      const view = pool.view(h);
      watched = { handle: h, view, offset: pool.blockInfo(h).offset, epoch: pool.relocationCount };
    }

    if (pool.relocationCount !== movedBefore) verifyAll(`${ctx} after a compaction`);
    expect(pool.check(), ctx).toBe(0);
    const m = pool.metrics();
    expect(m.allocatedBlockCount, ctx).toBe(model.size);
    let requested = 0;
    let pinned = 0;
    for (const b of model.values()) {
      requested += b.data.length;
      pinned += b.pinned ? 1 : 0;
    }
    expect(m.requestedBytes, ctx).toBe(requested);
    expect(m.pinnedBlockCount, ctx).toBe(pinned);
    if (watched !== undefined) {
      // Current: the block is live where the view looks; always so while nothing moved.
      const live = model.get(watched.handle);
      const current =
        live !== undefined && pool.blockInfo(watched.handle).offset === watched.offset;
      if (live !== undefined && pool.relocationCount === watched.epoch)
        expect(current, ctx).toBe(true);
      expect(pool.isViewCurrent(watched.view), ctx).toBe(current);
      if (current) expectBytes(watched.view, live.data, ctx);
      else watched = undefined;
    }
  }
  verifyAll(`${strategy} seed ${seed} end`);
  const moved = pool.relocationCount;
  const failed = pool.metrics().allocationFailureCount;
  for (const h of [...handles]) {
    pool.free(h);
    forget(h);
  }
  const m = pool.metrics();
  expect(m.usedBytes).toBe(0);
  expect(m.allocationCount).toBe(m.deallocationCount);
  expect(pool.check()).toBe(0);
  return { moved, failed };
}

describe('MemoryPool against a model', () => {
  for (const strategy of POOL_STRATEGIES) {
    it(`${strategy}: random operations keep contents, metrics and invariants`, () => {
      let moved = 0;
      let failed = 0;
      for (const seed of [1, 2]) {
        const r = run(strategy, seed * 7919 + strategy.length);
        moved += r.moved;
        failed += r.failed;
      }
      // The runs reached compaction and exhaustion, not only the easy paths.
      expect(moved).toBeGreaterThan(0);
      expect(failed).toBeGreaterThan(0);
    });
  }
});
