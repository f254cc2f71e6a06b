// Seeded property tests of the variable-size allocators: random operation
// sequences (alloc, calloc, allocAligned, realloc, free, batch calls, misuse,
// reset, walk) against a plain model, with check() === 0 and stats() ===
// model after every step. Every live block is filled with a tag byte over
// its whole usable size, which must survive all later operations: blocks
// never overlap and nothing the allocator does writes into user bytes.
import { describe, expect, it } from 'vitest';
import {
  BuddyAllocator,
  FitListAllocator,
  type HeapAllocator,
  MemoryPoolError,
  NO_MEMORY,
  SlabAllocator,
  TlsfAllocator,
} from '../../lib/index';
import { codeOf, rng } from './helpers';

const SEEDS = [1, 2, 3, 0xc0ffee];
const STEPS = 1200;

interface Row {
  name: string;
  create(seed: number): HeapAllocator;
  /** Largest size the allocator serves at all (the slab's largest class). */
  maxServed: number;
}

const ROWS: Row[] = [
  {
    name: 'BuddyAllocator',
    create: (seed) => new BuddyAllocator({ size: 16384, minBlockSize: 16 << (seed % 3) }),
    maxServed: Infinity,
  },
  {
    name: 'SlabAllocator',
    create: () => new SlabAllocator({ size: 16 * 4096, slabSize: 4096, maxClassSize: 2048 }),
    maxServed: 2048,
  },
  {
    name: 'TlsfAllocator',
    create: (seed) => new TlsfAllocator({ size: 16384, slLog2: 1 + (seed % 5) }),
    maxServed: Infinity,
  },
  {
    name: 'TlsfAllocator (threadSafe)',
    create: () => new TlsfAllocator({ size: 16384, threadSafe: true }),
    maxServed: Infinity,
  },
  ...(['first', 'best', 'worst'] as const).map((policy) => ({
    name: `FitListAllocator (${policy} fit)`,
    create: () => new FitListAllocator({ size: 16384, policy }),
    maxServed: Infinity,
  })),
];

interface Block {
  size: number; // bytes requested
  usable: number;
  tag: number;
}

describe.each(ROWS)('$name property', (row) => {
  it.each(SEEDS)('seed %i: matches the model, check() is 0 after every step', (seed) => {
    const r = rng(seed);
    using heap = row.create(seed);
    const live = new Map<number, Block>();
    const freed = new Set<number>(); // offsets freed (or reset) and not live again
    const model = {
      allocCount: 0,
      freeCount: 0,
      reallocCount: 0,
      failedAllocCount: 0,
      rejectedFreeCount: 0,
    };
    let tag = 0;
    const randomSize = (): number => {
      const k = r.int(100);
      if (k < 60) return r.int(65);
      if (k < 92) return 64 + r.int(512);
      if (k < 98) return 512 + r.int(1536);
      return 3000 + r.int(3000); // above the slab's classes; rarely fits the others
    };

    const expectIntact = (off: number, b: Block): void => {
      const bytes = heap.bytes.subarray(off, off + b.usable);
      expect(
        bytes.every((x) => x === b.tag),
        `block ${off} lost its contents`,
      ).toBe(true);
    };
    /** Records a new block at `off` and fills it; checks it overlaps nothing live. */
    const took = (off: number, size: number): void => {
      expect(off).toBeGreaterThanOrEqual(0);
      const usable = heap.usableSize(off);
      expect(usable).toBeGreaterThanOrEqual(size);
      expect(off + usable).toBeLessThanOrEqual(heap.bytes.length);
      for (const [o, b] of live) {
        expect(off + usable <= o || o + b.usable <= off, `${off} overlaps ${o}`).toBe(true);
      }
      tag = (tag % 250) + 1;
      heap.view(off).fill(tag);
      live.set(off, { size, usable, tag });
      freed.delete(off);
    };
    const release = (off: number): void => {
      expectIntact(off, live.get(off)!);
      live.delete(off);
      freed.add(off);
    };
    /** An allocation the allocator refused without exhaustion must be one it cannot serve. */
    const refused = (e: unknown, size: number): void => {
      expect(e).toBeInstanceOf(MemoryPoolError);
      const code = (e as MemoryPoolError).code;
      if (size > row.maxServed) expect(code).toBe('MP_ERR_INVALID_ARGUMENT');
      else expect(code).toBe('MP_ERR_ALIGNMENT');
      model.failedAllocCount++;
    };
    const allocWith = (size: number, call: () => number, zeroed = false): void => {
      let off: number;
      try {
        off = call();
      } catch (e) {
        refused(e, size);
        return;
      }
      expect(size > row.maxServed).toBe(false);
      if (off === NO_MEMORY) {
        model.failedAllocCount++;
        return;
      }
      if (zeroed) expect(heap.view(off, size).every((x) => x === 0)).toBe(true);
      took(off, size);
      model.allocCount++;
    };

    for (let step = 0; step < STEPS; step++) {
      const op = r.int(100);
      const offsets = [...live.keys()];
      if (op < 28) {
        const size = randomSize();
        allocWith(size, () => heap.alloc(size));
      } else if (op < 34) {
        const size = randomSize();
        allocWith(size, () => heap.calloc(size), true);
      } else if (op < 40) {
        const size = randomSize();
        const align = r.pick([16, 32, 64, 256]);
        allocWith(size, () => {
          const off = heap.allocAligned(size, align);
          if (off !== NO_MEMORY) expect((heap.bytes.byteOffset + off) % 16).toBe(0);
          return off;
        });
      } else if (op < 56 && offsets.length > 0) {
        const off = r.pick(offsets);
        release(off);
        heap.free(off);
        model.freeCount++;
      } else if (op < 64 && offsets.length > 0) {
        const off = r.pick(offsets);
        const old = live.get(off)!;
        const size = randomSize();
        let moved: number;
        try {
          moved = heap.realloc(off, size);
        } catch (e) {
          refused(e, size);
          expectIntact(off, old);
          continue;
        }
        if (moved === NO_MEMORY) {
          model.failedAllocCount++;
          expectIntact(off, old);
        } else {
          const kept = Math.min(old.size, size);
          expect(heap.bytes.subarray(moved, moved + kept).every((x) => x === old.tag)).toBe(true);
          live.delete(off);
          if (moved !== off) freed.add(off);
          took(moved, size);
          model.reallocCount++;
        }
      } else if (op < 68) {
        const sizes = Int32Array.from({ length: r.int(9) }, () => r.int(300));
        const out = new Int32Array(sizes.length);
        const got = heap.allocMany(sizes, out);
        for (let i = 0; i < got; i++) took(out[i], sizes[i]);
        model.allocCount += got;
        if (got < sizes.length) model.failedAllocCount++;
      } else if (op < 72 && offsets.length > 0) {
        const some = offsets.filter(() => r.int(3) === 0);
        some.forEach(release);
        heap.freeMany(Int32Array.from(some));
        model.freeCount += some.length;
      } else if (op < 78 && freed.size > 0) {
        const off = r.pick([...freed]);
        expect(codeOf(() => heap.free(off))).toMatch(/^MP_ERR_(DOUBLE_FREE|INVALID_ADDRESS)$/);
        model.rejectedFreeCount++;
      } else if (op < 83 && offsets.length > 0) {
        const off = r.pick(offsets);
        const inner = off + 1 + r.int(live.get(off)!.usable - 1);
        expect(codeOf(() => heap.free(inner))).toBe('MP_ERR_INVALID_ADDRESS');
        model.rejectedFreeCount++;
      } else if (op < 85) {
        heap.reset();
        for (const off of live.keys()) freed.add(off);
        live.clear();
      } else if (op < 90) {
        const used = heap.walk().filter((b) => b.used);
        expect(new Map(used.map((b) => [b.offset, b.size]))).toEqual(
          new Map([...live].map(([o, b]) => [o, b.usable])),
        );
      } else {
        for (const off of offsets.slice(0, 8)) expect(heap.owns(off)).toBe(true);
        for (const off of [...freed].slice(0, 8)) expect(heap.owns(off)).toBe(false);
      }
      expect(heap.check()).toBe(0);
      let requested = 0;
      let usable = 0;
      for (const b of live.values()) {
        requested += b.size;
        usable += b.usable;
      }
      const stats = heap.stats();
      expect(stats).toMatchObject({
        ...model,
        liveBlockCount: live.size,
        bytesRequested: requested,
        bytesInUse: usable,
      });
      expect(stats.bytesInUsePeak).toBeGreaterThanOrEqual(usable);
    }
    for (const [off, b] of live) expectIntact(off, b);
  });
});
