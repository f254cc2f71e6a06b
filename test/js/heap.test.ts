// The variable-size allocators from JS: BuddyAllocator, SlabAllocator,
// TlsfAllocator, FitListAllocator. First what they share (HeapAllocator's
// API, one table), then each class's own options and behaviour. Region,
// lifecycle and free() misuse are in conformance.test.ts; random operation
// sequences against a model in heap-property.test.ts.
import { describe, expect, it } from 'vitest';
import {
  AlignmentError,
  BuddyAllocator,
  DoubleFreeError,
  FitListAllocator,
  FixedPool,
  type HeapAllocator,
  type HeapOptions,
  InvalidAddressError,
  InvalidArgumentError,
  NO_MEMORY,
  SLAB_CLASS_STATS_KEYS,
  SlabAllocator,
  TLSF_SMALL_MAX_BYTES,
  TlsfAllocator,
  UnsupportedError,
} from '../../lib/index';
import { binding } from '../../lib/binding';
import { codeOf, expectRefused, expectThrows } from './helpers';

type Extra = Partial<HeapOptions>;

interface Row {
  name: string;
  /** A small allocator (4 KiB; the slab: 8 slabs of 4 KiB) serving blocks up to 1 KiB. */
  create(extra?: Extra): HeapAllocator;
}

const ROWS: Row[] = [
  {
    name: 'BuddyAllocator',
    create: (extra) => new BuddyAllocator({ size: 4096, ...extra }),
  },
  {
    name: 'SlabAllocator',
    create: (extra) =>
      new SlabAllocator({ size: 8 * 4096, slabSize: 4096, maxClassSize: 1024, ...extra }),
  },
  {
    name: 'TlsfAllocator',
    create: (extra) => new TlsfAllocator({ size: 4096, ...extra }),
  },
  {
    name: 'FitListAllocator',
    create: (extra) => new FitListAllocator({ size: 4096, policy: 'first', ...extra }),
  },
];

describe.each(ROWS)('$name', (row) => {
  it('alloc() gives a block of at least the size asked, counted in stats()', () => {
    using heap = row.create();
    const sizes = [1, 16, 100, 300];
    const offsets = sizes.map((n) => heap.alloc(n));
    let usable = 0;
    offsets.forEach((off, i) => {
      expect(off).toBeGreaterThanOrEqual(0);
      expect(heap.usableSize(off)).toBeGreaterThanOrEqual(sizes[i]);
      usable += heap.usableSize(off);
    });
    expect(heap.stats()).toMatchObject({
      liveBlockCount: 4,
      allocCount: 4,
      bytesRequested: 417,
      bytesInUse: usable,
      regionBytes: heap.bytes.length,
    });
    expect(heap.check()).toBe(0);
  });

  it('alloc() returns NO_MEMORY when nothing fits and counts one failed allocation', () => {
    using heap = row.create();
    let n = 0;
    while (heap.alloc(256) !== NO_MEMORY) n++;
    expect(n).toBeGreaterThan(4);
    expect(heap.stats()).toMatchObject({ liveBlockCount: n, failedAllocCount: 1 });
    expect(binding.last_error().code).toBe('MP_ERR_OUT_OF_MEMORY');
    expect(heap.check()).toBe(0);
  });

  it('calloc() zeroes the whole usable size, even where a freed block left data', () => {
    using heap = row.create();
    const a = heap.alloc(200);
    heap.view(a).fill(0xee);
    heap.free(a);
    const b = heap.calloc(200);
    expect(b).toBe(a);
    expect(heap.usableSize(b)).toBeGreaterThan(200);
    expect(heap.view(b).length).toBe(heap.usableSize(b));
    expect(heap.view(b).every((x) => x === 0)).toBe(true);
  });

  it('allocAligned() returns 16-aligned blocks; no power of two is MP_ERR_ALIGNMENT, stats unchanged', () => {
    using heap = row.create();
    for (let i = 0; i < 5; i++) {
      const off = heap.allocAligned(8 + i, 16);
      expect((heap.bytes.byteOffset + off) % 16).toBe(0);
    }
    for (const align of [0, 3, 12, -8, 1.5, NaN, 2 ** 32]) {
      expectRefused(heap, () => heap.allocAligned(8, align), AlignmentError, 'MP_ERR_ALIGNMENT');
    }
    expectRefused(
      heap,
      () => heap.allocAligned(8, '16' as unknown as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('realloc() keeps the contents when it grows or shrinks a block', () => {
    using heap = row.create();
    let off = heap.alloc(40);
    heap.view(off, 40).forEach((_, i, v) => (v[i] = i));
    off = heap.realloc(off, 700);
    expect(heap.usableSize(off)).toBeGreaterThanOrEqual(700);
    expect([...heap.view(off, 40)]).toEqual([...Array(40).keys()]);
    off = heap.realloc(off, 20);
    expect([...heap.view(off, 20)]).toEqual([...Array(20).keys()]);
    expect(heap.stats()).toMatchObject({ liveBlockCount: 1, reallocCount: 2, bytesRequested: 20 });
    expect(heap.check()).toBe(0);
  });

  it('realloc() that cannot fit returns NO_MEMORY and leaves the block as it was', () => {
    using heap = row.create();
    const off = heap.alloc(64);
    heap.view(off).fill(9);
    const usable = heap.usableSize(off);
    const before = heap.stats();
    // The slab has no class that large: the core refuses the size instead.
    const result =
      row.name === 'SlabAllocator'
        ? codeOf(() => heap.realloc(off, 8192))
        : heap.realloc(off, 8192);
    expect(result).toBe(row.name === 'SlabAllocator' ? 'MP_ERR_INVALID_ARGUMENT' : NO_MEMORY);
    expect(heap.usableSize(off)).toBe(usable);
    expect(heap.view(off).every((x) => x === 9)).toBe(true);
    expect(heap.stats()).toEqual({ ...before, failedAllocCount: before.failedAllocCount + 1 });
  });

  it('realloc() of a freed offset throws MP_ERR_DOUBLE_FREE; bad arguments change nothing', () => {
    using heap = row.create();
    const a = heap.alloc(32);
    heap.alloc(32);
    heap.free(a);
    // Counted as a refused free in every family.
    expectRefused(heap, () => heap.realloc(a, 64), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
      rejectedFreeCount: 1,
    });
    expectRefused(heap, () => heap.realloc(-1, 8), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
    expectRefused(heap, () => heap.realloc(a, -1), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expect(heap.check()).toBe(0);
  });

  it('usableSize() of an offset that is not a live block throws MP_ERR_INVALID_ADDRESS, stats unchanged', () => {
    using heap = row.create();
    const a = heap.alloc(32);
    for (const off of [a + 1, heap.bytes.length, -1, 0.5]) {
      expectRefused(
        heap,
        () => heap.usableSize(off),
        InvalidAddressError,
        'MP_ERR_INVALID_ADDRESS',
      );
    }
    heap.free(a);
    expectRefused(heap, () => heap.usableSize(a), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
    expect(heap.owns(a)).toBe(false);
  });

  it('walk() lists the live blocks, in address order, inside the region', () => {
    using heap = row.create();
    const live = new Map<number, number>();
    for (const n of [10, 200, 30, 500, 64]) {
      const off = heap.alloc(n);
      live.set(off, heap.usableSize(off));
    }
    heap.free([...live.keys()][1]);
    live.delete([...live.keys()][1]);
    const blocks = heap.walk();
    let end = 0;
    for (const b of blocks) {
      expect(b.offset).toBeGreaterThanOrEqual(end);
      end = b.offset + b.size;
    }
    expect(end).toBeLessThanOrEqual(heap.bytes.length);
    const used = blocks.filter((b) => b.used);
    expect(new Map(used.map((b) => [b.offset, b.size]))).toEqual(live);
    const free = heap.freeStats();
    const freeWalked = blocks.filter((b) => !b.used);
    // TLSF counts the header of each free block as free bytes; the walk shows payloads.
    expect(free.freeBlockCount).toBe(freeWalked.length);
    expect(free.largestFreeBlockBytes).toBeGreaterThanOrEqual(
      Math.max(...freeWalked.map((b) => b.size)),
    );
    expect(free.fragmentation).toBeCloseTo(1 - free.largestFreeBlockBytes / free.freeBytes, 12);
  });

  it('allocMany() fills out[] in one call from a size per element or one size for all', () => {
    using heap = row.create();
    const out = new Int32Array(6);
    expect(heap.allocMany(Int32Array.of(8, 100, 16, 300, 1, 64), out)).toBe(6);
    expect([...out].map((o) => heap.usableSize(o) >= 0)).toEqual(Array(6).fill(true));
    expect(heap.usableSize(out[3])).toBeGreaterThanOrEqual(300);
    expect(new Set(out).size).toBe(6);
    const more = new Int32Array(4);
    expect(heap.allocMany(48, more, 3)).toBe(3);
    expect(more[3]).toBe(0);
    expect(heap.stats()).toMatchObject({
      liveBlockCount: 9,
      allocCount: 9,
      bytesRequested: 489 + 144,
    });
    heap.freeMany(out);
    heap.freeMany(more, 3);
    expect(heap.stats()).toMatchObject({ liveBlockCount: 0, freeCount: 9 });
    expect(heap.check()).toBe(0);
  });

  it('allocMany() stops where the region runs out and returns how many it got', () => {
    using heap = row.create();
    const out = new Int32Array(128);
    const got = heap.allocMany(512, out);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(128);
    expect(heap.stats()).toMatchObject({ liveBlockCount: got, failedAllocCount: 1 });
    heap.freeMany(out, got);
    expect(heap.check()).toBe(0);
  });

  it('allocMany() refuses bad arguments before allocating anything', () => {
    using heap = row.create();
    const out = new Int32Array(4);
    const err = expectRefused(
      heap,
      () => heap.allocMany(Int32Array.of(8, 8, -1, 8), out),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expect(err.index).toBe(2);
    for (const call of [
      () => heap.allocMany(8, out, 5),
      () => heap.allocMany(Int32Array.of(8), out, 2),
      () => heap.allocMany(8, [0, 0] as unknown as Int32Array),
      () => heap.allocMany(-8, out),
      () => heap.allocMany(new Uint32Array(4) as unknown as Int32Array, out),
    ]) {
      expectRefused(heap, call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    }
  });

  it('allocMany() and freeMany() bound counts by the engine length, not an own `length` property', () => {
    using heap = row.create();
    const lying = <T extends Int32Array>(a: T): T =>
      Object.defineProperty(a, 'length', { value: 1000 }) as T;
    // Before: the counts passed the JS check and the addon threw a bare RangeError.
    for (const call of [
      () => heap.allocMany(8, lying(new Int32Array(2)), 3),
      () => heap.allocMany(lying(Int32Array.of(8, 8)), new Int32Array(8), 3),
      () => heap.freeMany(lying(new Int32Array(2)), 3),
    ])
      expectRefused(heap, call, InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    const out = lying(new Int32Array(2));
    expect(heap.allocMany(8, out)).toBe(2);
    heap.freeMany(lying(out.slice()));
    expect(heap.stats().liveBlockCount).toBe(0);
    expect(heap.check()).toBe(0);
  });

  it('freeMany() stops at the first offset free() would refuse; the error carries its index', () => {
    using heap = row.create();
    const out = new Int32Array(4);
    heap.allocMany(32, out);
    const offsets = Int32Array.of(out[0], out[1], out[1] + 1, out[2]);
    const err = expectRefused(
      heap,
      () => heap.freeMany(offsets),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
      {
        liveBlockCount: -2,
        freeCount: 2,
        rejectedFreeCount: 1,
        bytesRequested: -64,
        bytesInUse: -(heap.usableSize(out[0]) + heap.usableSize(out[1])),
      },
    );
    expect(err).toMatchObject({ index: 2, offset: out[1] + 1 });
    expect(heap.owns(out[2])).toBe(true);
    expect(heap.check()).toBe(0);
  });

  it('reset() frees every block; the old offsets are no longer live', () => {
    using heap = row.create();
    const offsets = [heap.alloc(10), heap.alloc(500), heap.alloc(64)];
    heap.reset();
    for (const off of offsets) expect(heap.owns(off)).toBe(false);
    expect(heap.stats()).toMatchObject({
      liveBlockCount: 0,
      bytesInUse: 0,
      bytesRequested: 0,
      bytesInUsePeak: 0,
    });
    expect(heap.walk().every((b) => !b.used)).toBe(true);
    expect(heap.check()).toBe(0);
    expect(heap.alloc(64)).not.toBe(NO_MEMORY);
  });

  it('trim() releases nothing from a JS buffer (V8 owns its pages) and changes nothing', () => {
    using heap = row.create();
    heap.alloc(100);
    const before = heap.stats();
    expect(heap.trim()).toBe(0);
    expect(heap.stats()).toEqual(before);
    expect(heap.check()).toBe(0);
  });

  it('a threadSafe allocator works the same; share() needs threadSafe', () => {
    using safe = row.create({ threadSafe: true });
    const off = safe.alloc(100);
    safe.view(off).fill(1);
    safe.free(off);
    expect(safe.check()).toBe(0);
    expect(safe.share()).toMatchObject({ buffer: safe.bytes.buffer });
    using plain = row.create();
    expectThrows(() => plain.share(), UnsupportedError, 'MP_ERR_UNSUPPORTED');
    expectThrows(
      () => row.create({ threadSafe: 'yes' as unknown as boolean }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });
});

describe('attach() checks the handle', () => {
  it('refuses a handle of another family, a forged id or a non-shared buffer', () => {
    using tlsf = new TlsfAllocator({ size: 4096, threadSafe: true });
    const handle = tlsf.share();
    expectThrows(
      () => BuddyAllocator.attach(handle),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectThrows(
      () =>
        TlsfAllocator.attach({
          ...handle,
          buffer: new ArrayBuffer(8) as unknown as SharedArrayBuffer,
        }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    // Attaching in the creating thread again is refused by the registry.
    expect(codeOf(() => TlsfAllocator.attach(handle))).toBe('MP_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => TlsfAllocator.attach({ ...handle, id: handle.id + 1 }))).toBe(
      'MP_ERR_INVALID_HANDLE',
    );
  });

  it('a buffer that only looks shared or lies about its length, or fields that change, are typed errors', () => {
    using tlsf = new TlsfAllocator({ size: 4096, threadSafe: true });
    using fixed = new FixedPool({ objectSize: 16, capacity: 16, threadSafe: true });
    const lying = new SharedArrayBuffer(64);
    Object.defineProperty(lying, 'byteLength', { value: 1 << 20 });
    const fake = Object.create(SharedArrayBuffer.prototype) as SharedArrayBuffer;
    for (const [attach, handle] of [
      [(h: object) => TlsfAllocator.attach(h as never), tlsf.share()],
      [(h: object) => FixedPool.attach(h as never), fixed.share()],
    ] as const) {
      // Before: a bare TypeError (fake) and RangeError (lying) from the view constructor.
      for (const buffer of [fake, lying]) {
        expectThrows(
          () => attach({ ...handle, buffer, byteLength: 1 << 19 }),
          InvalidArgumentError,
          'MP_ERR_INVALID_ARGUMENT',
        );
      }
      // Each field is read once: what was checked is what the attach uses.
      const reads = new Map<string, number>();
      const flipping: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(handle)) {
        Object.defineProperty(flipping, k, {
          enumerable: true,
          get: () => {
            reads.set(k, (reads.get(k) ?? 0) + 1);
            return reads.get(k) === 1 ? v : 'not the checked value';
          },
        });
      }
      // The registry refuses a second attach in the creating thread: typed, not a bare TypeError.
      expect(codeOf(() => attach(flipping))).toBe('MP_ERR_INVALID_ARGUMENT');
      expect([...reads.values()].every((n) => n === 1)).toBe(true);
    }
  });
});

describe('BuddyAllocator', () => {
  it('hands out power-of-two blocks of at least minBlockSize, capped by maxBlockSize', () => {
    using buddy = new BuddyAllocator({ size: 8192, minBlockSize: 32, maxBlockSize: 1024 });
    expect(buddy.usableSize(buddy.alloc(1))).toBe(32);
    expect(buddy.usableSize(buddy.alloc(33))).toBe(64);
    expect(buddy.usableSize(buddy.alloc(1000))).toBe(1024);
    expect(buddy.alloc(1025)).toBe(NO_MEMORY);
  });

  it('rounds size down to whole minimum blocks', () => {
    using buddy = new BuddyAllocator({ size: 1000, minBlockSize: 64 });
    expect(buddy.bytes.length).toBe(960);
    expect(buddy.stats().regionBytes).toBe(960);
  });

  it.each([
    [{ minBlockSize: 24 }],
    [{ minBlockSize: 8 }],
    [{ minBlockSize: '64' }],
    [{ maxBlockSize: 100 }],
    [{ maxBlockSize: 32 }],
    [{ maxBlockSize: 8192 }],
    [{ size: 32 }],
    [{ size: 0 }],
  ])('refuses %o with MP_ERR_INVALID_ARGUMENT', (bad) => {
    expect(codeOf(() => new BuddyAllocator({ size: 4096, ...bad } as never))).toBe(
      'MP_ERR_INVALID_ARGUMENT',
    );
  });
});

describe('SlabAllocator', () => {
  it('serves each size from the first class that holds it and reports per-class stats', () => {
    using slab = new SlabAllocator({ size: 8 * 4096, slabSize: 4096, classSizes: [24, 40, 128] });
    expect(slab.classCount).toBe(3);
    expect(slab.usableSize(slab.alloc(20))).toBe(24);
    expect(slab.usableSize(slab.alloc(25))).toBe(40);
    expect(slab.usableSize(slab.alloc(41))).toBe(128);
    expect(slab.usableSize(slab.alloc(0))).toBe(24);
    const c0 = slab.classStats(0);
    expect(Object.keys(c0)).toEqual([...SLAB_CLASS_STATS_KEYS]);
    expect(binding.stats_fields('slab_class')).toEqual([...SLAB_CLASS_STATS_KEYS]);
    expect(c0).toMatchObject({ slotBytes: 24, slabCount: 1, slotsInUse: 2, allocCount: 2 });
    expect(slab.classStats(2)).toMatchObject({ slotBytes: 128, slotsInUse: 1 });
  });

  it('a size above the largest class is the core refusal MP_ERR_INVALID_ARGUMENT, counted as a failed allocation', () => {
    using slab = new SlabAllocator({ size: 65536 });
    expectRefused(slab, () => slab.alloc(4097), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT', {
      failedAllocCount: 1,
    });
  });

  it('classStats() of an index out of range throws MP_ERR_INVALID_ARGUMENT', () => {
    using slab = new SlabAllocator({ size: 65536, maxClassSize: 64 });
    expect(slab.classCount).toBe(4);
    for (const i of [4, -1, 1.5, '0']) {
      expectThrows(
        () => slab.classStats(i as number),
        InvalidArgumentError,
        'MP_ERR_INVALID_ARGUMENT',
      );
    }
  });

  it.each([
    [{ size: 4095, slabSize: 4096 }],
    [{ size: 65535 }],
    [{ slabSize: 3000 }],
    [{ slabSize: 2048 }],
    [{ classSizes: [16, 8] }],
    [{ classSizes: [12] }],
    [{ classSizes: [] }],
    [{ classSizes: [8, -16] }],
    [{ classSizes: '8,16' }],
    [{ classSizes: [8, 16], maxClassSize: 16 }],
    [{ maxClassSize: 100 }],
  ])('refuses %o with MP_ERR_INVALID_ARGUMENT', (bad) => {
    expect(codeOf(() => new SlabAllocator({ size: 65536, ...bad } as never))).toBe(
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('manages whole slabs of size', () => {
    using slab = new SlabAllocator({ size: 3 * 4096 + 100, slabSize: 4096 });
    expect(slab.bytes.length).toBe(3 * 4096);
  });
});

describe('TlsfAllocator', () => {
  it('without the front cache, hands out 16-aligned blocks and coalesces freed neighbours into one free block', () => {
    using tlsf = new TlsfAllocator({ size: 4096, slLog2: 3, cacheBytes: 0 });
    const offsets = [tlsf.alloc(100), tlsf.alloc(100), tlsf.alloc(100)];
    for (const off of offsets) expect((tlsf.bytes.byteOffset + off) % 16).toBe(0);
    const freeBefore = tlsf.freeStats().freeBlockCount;
    for (const off of offsets) tlsf.free(off);
    expect(tlsf.freeStats().freeBlockCount).toBeLessThanOrEqual(freeBefore);
    expect(tlsf.walk().filter((b) => !b.used)).toHaveLength(1);
  });

  it('with the default front cache, a freed block counts as free and comes back whole to the next fitting alloc', () => {
    using tlsf = new TlsfAllocator({ size: 4096 });
    const [a, b] = [tlsf.alloc(100), tlsf.alloc(100)];
    const inUse = tlsf.stats().bytesInUse;
    tlsf.free(a);
    expect(tlsf.stats().bytesInUse).toBeLessThan(inUse);
    expect(tlsf.walk().find((blk) => blk.offset === a)?.used).toBe(false);
    expect(() => tlsf.free(a)).toThrow(DoubleFreeError);
    expect(tlsf.alloc(100)).toBe(a); // the cached block, not a split of the free tail
    expect(tlsf.check()).toBe(0);
    tlsf.free(a);
    tlsf.free(b);
    // The cache is merged back when nothing else fits: the whole region is one block again.
    expect(tlsf.alloc(4096 - 64)).toBeGreaterThanOrEqual(0);
    expect(tlsf.check()).toBe(0);
  });

  it('with smallBytes, serves small requests from slots of a 16 KiB span, headerless and side by side', () => {
    using tlsf = new TlsfAllocator({ size: 256 * 1024, smallBytes: TLSF_SMALL_MAX_BYTES });
    const a = tlsf.alloc(20);
    const b = tlsf.alloc(30);
    const c = tlsf.alloc(17);
    expect([b - a, c - b]).toEqual([32, 32]); // one 32-byte class, no header between
    expect(tlsf.usableSize(a)).toBe(32);
    expect(tlsf.usableSize(tlsf.alloc(257))).toBe(288);
    const big = tlsf.alloc(513); // above smallBytes: an ordinary block, outside the spans
    expect(big + tlsf.usableSize(big) <= a || big >= a + 16384 - 16).toBe(true);
    tlsf.bytes[b + 31] = 0xab; // the whole slot is the caller's
    expect(tlsf.stats()).toMatchObject({
      liveBlockCount: 5,
      bytesInUse: 32 * 3 + 288 + tlsf.usableSize(big),
    });
    expect(
      tlsf
        .walk()
        .filter((blk) => blk.used && blk.size === 32)
        .map((blk) => blk.offset),
    ).toEqual([a, b, c]);
    tlsf.free(b);
    expectRefused(tlsf, () => tlsf.free(b), DoubleFreeError, 'MP_ERR_DOUBLE_FREE', {
      rejectedFreeCount: 1,
    });
    expectRefused(tlsf, () => tlsf.free(a + 16), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS', {
      rejectedFreeCount: 1,
    });
    expect(tlsf.alloc(32)).toBe(b); // the lowest free slot
    const moved = tlsf.realloc(a, 100); // another class: moves, keeping the bytes
    expect(tlsf.usableSize(moved)).toBe(112);
    expect(tlsf.check()).toBe(0);
  });

  it('with smallBytes, frees every span back to the heap on trim', () => {
    using tlsf = new TlsfAllocator({ size: 128 * 1024, smallBytes: 64 });
    const whole = tlsf.freeStats().largestFreeBlockBytes;
    const blocks = Array.from({ length: 2000 }, (_, i) => tlsf.alloc(1 + (i % 64)));
    expect(tlsf.check()).toBe(0);
    for (const off of blocks) tlsf.free(off);
    tlsf.trim();
    expect(tlsf.freeStats()).toMatchObject({ freeBlockCount: 1, largestFreeBlockBytes: whole });
    expect(tlsf.check()).toBe(0);
  });

  it.each([
    [{ size: 63 }],
    [{ smallBytes: 513 }],
    [{ smallBytes: -1 }],
    [{ smallBytes: 1.5 }],
    [{ smallBytes: '64' }],
    [{ slLog2: 0 }],
    [{ slLog2: 6 }],
    [{ slLog2: 1.5 }],
    [{ slLog2: '3' }],
    [{ cacheBytes: -1 }],
    [{ cacheBytes: 0.5 }],
    [{ cacheBytes: NaN }],
  ])('refuses %o with MP_ERR_INVALID_ARGUMENT', (bad) => {
    expect(codeOf(() => new TlsfAllocator({ size: 4096, ...bad } as never))).toBe(
      'MP_ERR_INVALID_ARGUMENT',
    );
  });
});

describe('FitListAllocator', () => {
  // Holes of 256 (at 64) and 128 (at 384) bytes and a large free tail (at 576).
  function withHoles(policy: 'first' | 'best' | 'worst'): FitListAllocator {
    const fit = new FitListAllocator({ size: 2048, policy });
    const [, b, , d] = [64, 256, 64, 128, 64].map((n) => fit.alloc(n));
    fit.free(b);
    fit.free(d);
    return fit;
  }

  it.each([
    ['first', 64],
    ['best', 384],
    ['worst', 576],
  ] as const)('%s fit places a 100-byte block at %i', (policy, expected) => {
    using fit = withHoles(policy);
    expect(fit.alloc(100)).toBe(expected);
    expect(fit.check()).toBe(0);
  });

  it.each([undefined, 'fastest', 'First', 1, null])(
    'refuses policy %o with MP_ERR_INVALID_ARGUMENT',
    (policy) => {
      expect(codeOf(() => new FitListAllocator({ size: 2048, policy } as never))).toBe(
        'MP_ERR_INVALID_ARGUMENT',
      );
    },
  );

  it('refuses a size below one 16-byte granule', () => {
    expect(codeOf(() => new FitListAllocator({ size: 15, policy: 'first' }))).toBe(
      'MP_ERR_INVALID_ARGUMENT',
    );
  });
});
