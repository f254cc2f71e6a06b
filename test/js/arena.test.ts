// Arena API and misuse: bump allocation with alignment, marks, rewind,
// reset, bounded views; every bad input is a typed error that leaves the
// arena as it was (a bad alignment counts one failed allocation, as in C).
import { describe, expect, it } from 'vitest';
import {
  AlignmentError,
  Arena,
  DestroyedError,
  InvalidAddressError,
  InvalidArgumentError,
  NO_MEMORY,
  OutOfBoundsError,
  type ArenaOptions,
} from '../../lib/index';
import { expectRefused, expectThrows } from './helpers';

function create(o: Record<string, unknown> = {}): Arena {
  return new Arena({ size: 256, ...o } as unknown as ArenaOptions);
}

describe('Arena', () => {
  it('bumps: consecutive allocations are adjacent when aligned, and offsets are aligned', () => {
    using arena = create();
    const a = arena.alloc(10, 1);
    const b = arena.alloc(6, 1);
    expect(b).toBe(a + 10);
    const c = arena.alloc(8, 16);
    expect(c).toBeGreaterThanOrEqual(b + 6);
    expect(c - (b + 6)).toBeLessThan(16);
    expect(
      new Float64Array(arena.bytes.buffer, arena.bytes.byteOffset + arena.alloc(16), 2).length,
    ).toBe(2);
    expect(arena.stats()).toMatchObject({ allocCount: 4, failedAllocCount: 0 });
    expect(arena.check()).toBe(0);
  });

  it('returns NO_MEMORY when a request does not fit, and counts it', () => {
    using arena = create({ size: 64 });
    expect(arena.alloc(40, 1)).toBeGreaterThanOrEqual(0);
    expect(arena.alloc(40, 1)).toBe(NO_MEMORY);
    expect(arena.alloc(24, 1)).toBeGreaterThanOrEqual(0);
    expect(arena.alloc(1, 1)).toBe(NO_MEMORY);
    expect(arena.stats()).toMatchObject({
      offset: 64,
      bufferSize: 64,
      allocCount: 2,
      failedAllocCount: 2,
    });
  });

  it('size 0 returns the aligned current position without using bytes', () => {
    using arena = create();
    arena.alloc(3, 1);
    const before = arena.stats().offset;
    const z = arena.alloc(0, 1);
    expect(z).toBe(before);
    expect(arena.stats().offset).toBe(before);
  });

  it('rewind(mark) frees what came after the mark; reset frees all and keeps the peak', () => {
    using arena = create();
    arena.alloc(32);
    const mark = arena.mark();
    expect(mark.offset).toBe(arena.stats().offset);
    arena.alloc(64);
    arena.alloc(64);
    arena.rewind(mark);
    expect(arena.stats().offset).toBe(mark.offset);
    expect(arena.alloc(64)).toBe(mark.offset);
    arena.reset();
    expect(arena.stats()).toMatchObject({ offset: 0, resetCount: 1, offsetPeak: 32 + 128 });
    expect(arena.check()).toBe(0);
  });

  it('owns() covers exactly the used part; view() is bounded by it', () => {
    using arena = create();
    const off = arena.alloc(16, 1);
    expect(arena.owns(off)).toBe(true);
    expect(arena.owns(off + 15)).toBe(true);
    expect(arena.owns(off + 16)).toBe(false);
    const v = arena.view(off, 16);
    v.fill(9);
    expect(arena.bytes[off + 15]).toBe(9);
    expect(arena.view(off + 4, 12).length).toBe(12);
  });
});

describe('Arena misuse', () => {
  it.each(['8', null, {}, 8n, NaN, -1, 1.5, 2 ** 32, 2 ** 31, 0])(
    'new Arena({ size: %s }) is MP_ERR_INVALID_ARGUMENT',
    (v) => {
      expectThrows(() => create({ size: v }), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    },
  );

  it('options that are not an object are refused', () => {
    expectThrows(
      () => new Arena(7 as unknown as ArenaOptions),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it.each(['8', null, {}, 8n, NaN, -1, 1.5, 2 ** 32, 2 ** 40])(
    'alloc(%s) is MP_ERR_INVALID_ARGUMENT, stats unchanged',
    (v) => {
      using arena = create();
      arena.alloc(8);
      expectRefused(
        arena,
        () => arena.alloc(v as number),
        InvalidArgumentError,
        'MP_ERR_INVALID_ARGUMENT',
      );
      expect(arena.check()).toBe(0);
    },
  );

  it.each([0, 3, 6, 24])(
    'alloc(8, %s) is MP_ERR_ALIGNMENT and counts one failed allocation',
    (align) => {
      using arena = create();
      expectRefused(arena, () => arena.alloc(8, align), AlignmentError, 'MP_ERR_ALIGNMENT', {
        failedAllocCount: 1,
      });
    },
  );

  it.each([-8, 2.5, NaN, 2 ** 32])('alloc(8, %s) is MP_ERR_ALIGNMENT, stats unchanged', (align) => {
    using arena = create();
    expectRefused(arena, () => arena.alloc(8, align), AlignmentError, 'MP_ERR_ALIGNMENT');
  });

  it.each(['8', 8n, null])('alloc(8, %s) (not a number) is MP_ERR_INVALID_ARGUMENT', (align) => {
    using arena = create();
    expectRefused(
      arena,
      () => arena.alloc(8, align as unknown as number),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('rewind() refuses forged marks, marks of another arena and marks from before a reset', () => {
    using arena = create();
    using other = create();
    const mark = arena.mark();
    arena.alloc(16);
    expectRefused(
      arena,
      () => arena.rewind({ offset: 0, epoch: 1 }),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      arena,
      () => arena.rewind(other.mark()),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      arena,
      () => arena.rewind(null as unknown as typeof mark),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    arena.reset();
    arena.alloc(32);
    expectRefused(arena, () => arena.rewind(mark), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
  });

  it('rewind() to a mark beyond the current offset is MP_ERR_INVALID_ARGUMENT', () => {
    using arena = create();
    const early = arena.mark();
    arena.alloc(64);
    const late = arena.mark();
    arena.rewind(early);
    expectRefused(arena, () => arena.rewind(late), InvalidArgumentError, 'MP_ERR_INVALID_ARGUMENT');
    expect(arena.stats().offset).toBe(0);
  });

  it('view() outside the used part is MP_ERR_INVALID_ADDRESS; running past it MP_ERR_OUT_OF_BOUNDS', () => {
    using arena = create();
    const off = arena.alloc(16, 1);
    expectRefused(
      arena,
      () => arena.view(off + 16, 1),
      InvalidAddressError,
      'MP_ERR_INVALID_ADDRESS',
    );
    expectRefused(arena, () => arena.view(-1, 1), InvalidAddressError, 'MP_ERR_INVALID_ADDRESS');
    expectRefused(arena, () => arena.view(off, 17), OutOfBoundsError, 'MP_ERR_OUT_OF_BOUNDS');
    expectRefused(
      arena,
      () => arena.view(off, -1),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
    expectRefused(
      arena,
      () => arena.view('0' as unknown as number, 1),
      InvalidArgumentError,
      'MP_ERR_INVALID_ARGUMENT',
    );
  });

  it('every call after destroy() throws MP_ERR_DESTROYED, never crashes', () => {
    const arena = create();
    const off = arena.alloc(8);
    const mark = arena.mark();
    arena.destroy();
    const calls: (() => unknown)[] = [
      () => arena.alloc(8),
      () => arena.mark(),
      () => arena.rewind(mark),
      () => arena.reset(),
      () => arena.stats(),
      () => arena.check(),
      () => arena.owns(off),
      () => arena.view(off, 1),
      () => arena.bytes,
    ];
    for (const call of calls) expectThrows(call, DestroyedError, 'MP_ERR_DESTROYED');
    expect(() => arena.destroy()).not.toThrow();
    expect(arena.size).toBe(256);
  });
});
