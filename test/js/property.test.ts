// Seeded property tests: random operation sequences against a plain model,
// with check() === 0 and stats() === model after every step. Every live
// block carries a byte pattern that must survive all later operations (no
// two blocks overlap, nothing the pool does writes into user bytes).
import { describe, expect, it } from 'vitest';
import { Arena, FixedPool, NO_MEMORY, type ArenaMark } from '../../lib/index';
import { rng, codeOf } from './helpers';

const SEEDS = [1, 2, 3, 0xc0ffee];
const STEPS = 1500;

describe.each([
  ['default cache', {}],
  ['cache of 4', { cacheSize: 4 }],
  ['cache of 1', { cacheSize: 1 }],
  ['no cache', { cacheSize: 0 }],
  ['thread-safe', { threadSafe: true }],
])('FixedPool property (%s)', (_mode, extra) => {
  it.each(SEEDS)('seed %i: matches the model, check() is 0 after every step', (seed) => {
    const r = rng(seed);
    const capacity = 1 + r.int(40);
    const objectSize = 1 + r.int(40);
    using pool = new FixedPool({ objectSize, capacity, ...extra });
    const live = new Map<number, number>(); // offset -> pattern byte
    const freed = new Set<number>(); // handed out since the last reset, now free
    const model = {
      allocCount: 0,
      freeCount: 0,
      failedAllocCount: 0,
      rejectedFreeCount: 0,
      peak: 0,
    };
    let tag = 1;
    const fill = (off: number): void => {
      const t = (tag = (tag % 250) + 1);
      pool.view(off).fill(t);
      live.set(off, t);
      freed.delete(off);
    };
    const release = (off: number): void => {
      expect(pool.view(off).every((b) => b === live.get(off))).toBe(true);
      live.delete(off);
      freed.add(off);
    };
    const out = new Int32Array(capacity + 4);

    for (let step = 0; step < STEPS; step++) {
      const op = r.int(100);
      if (op < 35) {
        const off = pool.alloc();
        if (live.size === capacity) {
          expect(off).toBe(NO_MEMORY);
          model.failedAllocCount++;
        } else {
          expect(off % pool.slotSize).toBe(0);
          expect(off / pool.slotSize).toBeLessThan(capacity);
          expect(live.has(off)).toBe(false);
          fill(off);
          model.allocCount++;
        }
      } else if (op < 65 && live.size > 0) {
        const off = r.pick([...live.keys()]);
        release(off);
        pool.free(off);
        model.freeCount++;
      } else if (op < 72) {
        const n = r.int(out.length);
        const got = pool.allocMany(out, n);
        expect(got).toBe(Math.min(n, capacity - live.size));
        if (got < n) model.failedAllocCount++;
        for (let i = 0; i < got; i++) fill(out[i]);
        model.allocCount += got;
      } else if (op < 79 && live.size > 0) {
        const offs = [...live.keys()].filter(() => r.int(2) === 0);
        offs.forEach(release);
        pool.freeMany(Int32Array.from(offs));
        model.freeCount += offs.length;
      } else if (op < 84 && freed.size > 0) {
        const off = r.pick([...freed]);
        expect(codeOf(() => pool.free(off))).toBe('MP_ERR_DOUBLE_FREE');
        model.rejectedFreeCount++;
      } else if (op < 89) {
        // an interior offset, or the start of a slot never handed out since the last reset
        const slot = r.int(capacity);
        const off =
          slot * pool.slotSize +
          (r.int(2) === 0 && pool.slotSize > 1 ? 1 + r.int(pool.slotSize - 1) : 0);
        if (live.has(off)) continue;
        const expected = freed.has(off) ? 'MP_ERR_DOUBLE_FREE' : 'MP_ERR_INVALID_ADDRESS';
        expect(codeOf(() => pool.free(off))).toBe(expected);
        model.rejectedFreeCount++;
      } else if (op < 91) {
        pool.reset();
        live.clear();
        freed.clear();
        model.peak = 0;
      } else {
        for (const off of live.keys()) expect(pool.owns(off)).toBe(true);
        for (const off of freed) expect(pool.owns(off)).toBe(false);
      }
      model.peak = Math.max(model.peak, live.size);
      expect(pool.check()).toBe(0);
      expect(pool.stats()).toMatchObject({
        allocated: live.size,
        allocatedPeak: model.peak,
        allocCount: model.allocCount,
        freeCount: model.freeCount,
        failedAllocCount: model.failedAllocCount,
        rejectedFreeCount: model.rejectedFreeCount,
      });
    }
    for (const [off, t] of live) expect(pool.view(off).every((b) => b === t)).toBe(true);
  });
});

describe('Arena property', () => {
  it.each(SEEDS)('seed %i: matches the model, check() is 0 after every step', (seed) => {
    const r = rng(seed);
    const size = 64 + r.int(2048);
    using arena = new Arena({ size });
    // The buffer's real address decides padding; learn its phase modulo 16 once.
    const phase = arena.alloc(0, 16); // bytes from the base to the first 16-aligned address
    let cur = phase;
    const model = { allocCount: 1, failedAllocCount: 0, resetCount: 0, peak: cur };
    let blocks: { off: number; len: number; t: number }[] = [];
    let marks: { mark: ArenaMark; cur: number; blocks: number }[] = [];
    let tag = 1;
    const pad = (at: number, align: number): number => {
      const a = Math.min(align, 16);
      const addressMod = (((at - phase) % 16) + 16) % 16; // (base + at) mod 16
      return (a - (addressMod % a)) % a;
    };

    for (let step = 0; step < STEPS; step++) {
      const op = r.int(100);
      if (op < 55) {
        const len = r.int(96);
        const align = r.pick([1, 2, 4, 8, 16]);
        const expected = cur + pad(cur, align);
        const off = arena.alloc(len, align);
        if (expected + len > size || (len === 0 && expected >= size)) {
          expect(off).toBe(NO_MEMORY);
          model.failedAllocCount++;
        } else {
          expect(off).toBe(expected);
          const t = (tag = (tag % 250) + 1);
          arena.bytes.fill(t, off, off + len);
          blocks.push({ off, len, t });
          cur = off + len;
          model.allocCount++;
        }
      } else if (op < 60) {
        expect(codeOf(() => arena.alloc(8, r.pick([0, 3, 5, 12])))).toBe('MP_ERR_ALIGNMENT');
        model.failedAllocCount++;
      } else if (op < 72) {
        marks.push({ mark: arena.mark(), cur, blocks: blocks.length });
      } else if (op < 84 && marks.length > 0) {
        const m = r.pick(marks);
        if (m.cur > cur) {
          expect(codeOf(() => arena.rewind(m.mark))).toBe('MP_ERR_INVALID_ARGUMENT');
        } else {
          arena.rewind(m.mark);
          cur = m.cur;
          blocks = blocks.filter((b) => b.off + b.len <= cur);
          marks = marks.filter((x) => x.cur <= cur);
        }
      } else if (op < 87) {
        arena.reset();
        const stale = marks;
        cur = 0;
        blocks = [];
        marks = [];
        model.resetCount++;
        for (const m of stale.slice(0, 2))
          expect(codeOf(() => arena.rewind(m.mark))).toBe('MP_ERR_INVALID_ARGUMENT');
      } else {
        for (const b of blocks) {
          if (b.len > 0) expect(arena.owns(b.off)).toBe(true);
          expect(arena.view(b.off, b.len).every((x) => x === b.t)).toBe(true);
        }
        expect(arena.owns(cur)).toBe(false);
      }
      model.peak = Math.max(model.peak, cur);
      expect(arena.check()).toBe(0);
      expect(arena.stats()).toEqual({
        offset: cur,
        bufferSize: size,
        offsetPeak: model.peak,
        allocCount: model.allocCount,
        failedAllocCount: model.failedAllocCount,
        resetCount: model.resetCount,
      });
    }
    for (const b of blocks)
      expect(arena.bytes.subarray(b.off, b.off + b.len).every((x) => x === b.t)).toBe(true);
  });
});
