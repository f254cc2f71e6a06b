// Arena's JS bump window: alloc bumps in JS inside a chunk the core reserved
// and calls native only to refill; every other method syncs first. These
// tests drive the windowed Arena and a window-less model of mp_arena_alloc
// (bump on real addresses, exact NO_MEMORY) side by side: offsets, marks,
// stats and failures must be the model's exactly, across chunk refills.
import { describe, expect, it } from 'vitest';
import {
  AlignmentError,
  Arena,
  InvalidArgumentError,
  NO_MEMORY,
  type ArenaMark,
} from '../../lib/index';

const CHUNK_BYTES = 64 << 10;

/** The arena's base address mod 4096, learned from where alloc(1, 4096)
 * lands in a fresh arena (then reset, so counters include it). */
function baseMod4096(arena: Arena): number {
  const at = arena.alloc(1, 4096);
  arena.reset();
  return (4096 - at) & 4095;
}

/** mp_arena_alloc on offsets: the window-less behaviour the JS window must
 * match (a bad alignment returns NO_MEMORY here; Arena throws for it). */
class Model {
  cur = 0;
  peak = 0;
  allocs = 0;
  failed = 0;
  resets = 0;
  epoch = 1;
  constructor(
    readonly size: number,
    readonly baseMod: number,
  ) {}
  alloc(size: number, align: number): number {
    if (align === 0 || (align & (align - 1)) !== 0) {
      this.failed++;
      return NO_MEMORY;
    }
    const pad = -(this.baseMod + this.cur) & (align - 1);
    const remaining = this.size - this.cur;
    const fits = size === 0 ? pad < remaining : pad + size <= remaining;
    if (!fits) {
      this.failed++;
      return NO_MEMORY;
    }
    const at = this.cur + pad;
    this.cur = at + size;
    this.peak = Math.max(this.peak, this.cur);
    this.allocs++;
    return at;
  }
  reset(): void {
    this.cur = 0;
    this.resets++;
    this.epoch++;
  }
  stats() {
    return {
      offset: this.cur,
      bufferSize: this.size,
      offsetPeak: this.peak,
      allocCount: this.allocs,
      failedAllocCount: this.failed,
      resetCount: this.resets,
    };
  }
}

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** A windowed arena and its model; `byteOffset` moves the base off page
 * alignment, so JS must align on the real address, not on the offset. */
function paired(sizeBytes: number, byteOffset = 0): { arena: Arena; model: Model } {
  const buffer = new SharedArrayBuffer(sizeBytes + byteOffset);
  const arena = new Arena({ size: sizeBytes, buffer, byteOffset });
  const model = new Model(sizeBytes, baseMod4096(arena));
  model.allocs = 1; // the probe allocation of baseMod4096
  model.peak = arena.stats().offsetPeak;
  model.resets = 1;
  model.epoch = 2;
  return { arena, model };
}

describe('Arena JS window', () => {
  it('matches the window-less model over random alloc/mark/rewind/reset sequences', () => {
    for (const [seed, byteOffset] of [
      [1, 0],
      [2, 8],
      [3, 1000],
      [4, 3],
    ] as const) {
      const { arena, model } = paired(300_000, byteOffset);
      if (byteOffset !== 0) expect(model.baseMod).not.toBe(0);
      const rand = prng(seed * 7919);
      const marks: { mark: ArenaMark; offset: number; epoch: number }[] = [];
      for (let op = 0; op < 20_000; op++) {
        const r = rand();
        if (r < 0.9) {
          const size = rand() < 0.05 ? 0 : rand() < 0.02 ? 70_000 : 1 + Math.floor(rand() * 300);
          const align = rand() < 0.01 ? 24 : 2 ** Math.floor(rand() * (rand() < 0.05 ? 13 : 5));
          const want = model.alloc(size, align);
          if (align === 24) {
            // reaches the core, which refuses and counts it (model.failed moved)
            expect(() => arena.alloc(size, align)).toThrow(AlignmentError);
            continue;
          }
          const got = arena.alloc(size, align);
          expect(got).toBe(want);
          if (got !== NO_MEMORY) {
            expect((model.baseMod + got) % align).toBe(0);
            expect(got + size).toBeLessThanOrEqual(300_000);
          }
        } else if (r < 0.94) {
          const mark = arena.mark();
          expect(mark.offset).toBe(model.cur);
          marks.push({ mark, offset: model.cur, epoch: model.epoch });
        } else if (r < 0.985 && marks.length > 0) {
          const m = marks[Math.floor(rand() * marks.length)]!;
          if (m.epoch !== model.epoch || m.offset > model.cur) {
            expect(() => arena.rewind(m.mark)).toThrow(InvalidArgumentError);
          } else {
            arena.rewind(m.mark);
            model.cur = m.offset;
          }
        } else if (r < 0.99) {
          arena.reset();
          model.reset();
        } else {
          expect(arena.stats()).toEqual(model.stats());
          expect(arena.check()).toBe(0);
        }
      }
      expect(arena.stats()).toEqual(model.stats());
      expect(arena.check()).toBe(0);
      arena.destroy();
    }
  });

  it('stays adjacent across chunk refills', () => {
    using arena = new Arena({ size: 3 * CHUNK_BYTES });
    const n = Math.floor((3 * CHUNK_BYTES) / 1000); // crosses two chunk boundaries
    for (let i = 0; i < n; i++) expect(arena.alloc(1000, 1)).toBe(i * 1000);
    expect(arena.alloc(1000, 1)).toBe(NO_MEMORY);
    expect(arena.stats()).toMatchObject({
      offset: n * 1000,
      offsetPeak: n * 1000,
      allocCount: n,
      failedAllocCount: 1,
    });
  });

  it('serves a request larger than the chunk, then bumps right after it', () => {
    using arena = new Arena({ size: 4 * CHUNK_BYTES });
    expect(arena.alloc(8, 1)).toBe(0);
    expect(arena.alloc(CHUNK_BYTES * 2 + 5, 1)).toBe(8);
    expect(arena.alloc(3, 1)).toBe(CHUNK_BYTES * 2 + 13);
    expect(arena.stats()).toMatchObject({
      offset: CHUNK_BYTES * 2 + 16,
      allocCount: 3,
      failedAllocCount: 0,
    });
  });

  it('gives the tail back before refusing: NO_MEMORY only when the arena is full', () => {
    using arena = new Arena({ size: 70_000 });
    expect(arena.alloc(60_000, 1)).toBe(0); // the window holds [0, 64 KiB)
    expect(arena.alloc(9_000, 1)).toBe(60_000); // past the chunk: tail back, refill
    expect(arena.alloc(1_001, 1)).toBe(NO_MEMORY);
    expect(arena.alloc(1_000, 1)).toBe(69_000);
    expect(arena.alloc(1, 1)).toBe(NO_MEMORY);
    expect(arena.alloc(0, 1)).toBe(NO_MEMORY);
    expect(arena.stats()).toEqual({
      offset: 70_000,
      bufferSize: 70_000,
      offsetPeak: 70_000,
      allocCount: 3,
      failedAllocCount: 3,
      resetCount: 0,
    });
    expect(arena.check()).toBe(0);
  });

  it('keeps stats exact after many window allocations, without inflating offset or peak', () => {
    using arena = new Arena({ size: 1 << 20 });
    for (let i = 0; i < 100_000; i++) expect(arena.alloc(8, 8)).toBe(i * 8);
    expect(arena.stats()).toMatchObject({
      offset: 800_000,
      offsetPeak: 800_000,
      allocCount: 100_000,
    });
    const mark = arena.mark();
    expect(mark.offset).toBe(800_000);
    for (let i = 0; i < 1000; i++) arena.alloc(16, 16);
    arena.rewind(mark);
    expect(arena.alloc(8, 8)).toBe(800_000);
    expect(arena.stats()).toMatchObject({
      offset: 800_008,
      offsetPeak: 816_000,
      allocCount: 101_001,
    });
    arena.reset();
    expect(arena.stats()).toMatchObject({
      offset: 0,
      offsetPeak: 816_000,
      allocCount: 101_001,
      resetCount: 1,
    });
  });

  it('owns and view see exactly the allocated part while a window is open', () => {
    using arena = new Arena({ size: 1 << 20 });
    const a = arena.alloc(10, 1);
    expect(arena.owns(a + 9)).toBe(true);
    expect(arena.owns(a + 10)).toBe(false); // inside the reserved chunk, not allocated
    expect(arena.view(a, 10).length).toBe(10);
    expect(() => arena.view(a, 11)).toThrow();
    expect(arena.alloc(4, 1)).toBe(10); // the sync gave the tail back; bumping resumes there
  });
});
