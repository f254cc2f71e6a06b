// worker_threads: the addon is context-aware (one env per thread), a worker
// creates and uses its own pools, threads share thread-safe pools through
// the process-wide registry, and a thread that ends without destroy()
// releases its pools through the env cleanup hook.
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FixedPool, TlsfAllocator, livePoolCount } from '../../lib/index';
import { runWorker, startWorker } from './processes';

const SCRIPT = 'pool-worker.cjs';
const start = (data: Record<string, unknown>): Worker => startWorker(SCRIPT, data);
const run = <T>(data: Record<string, unknown>): Promise<{ message: T; code: number }> =>
  runWorker<T>(SCRIPT, data);

interface OwnResult {
  intact: boolean;
  exhausted: boolean;
  check: number;
  stats: { allocCount: number; freeCount: number; allocated: number };
}

describe('workers', () => {
  it('a worker loads the addon, creates its own pools, uses them and exits cleanly', async () => {
    const before = livePoolCount();
    const { message, code } = await run<OwnResult>({ task: 'own' });
    expect(code).toBe(0);
    expect(message).toMatchObject({ intact: true, exhausted: true, check: 0 });
    expect(message.stats).toMatchObject({ allocCount: 1000, freeCount: 1000, allocated: 0 });
    expect(livePoolCount()).toBe(before);
  });

  it('two workers at once each get their own pools', async () => {
    const before = livePoolCount();
    const results = await Promise.all([
      run<OwnResult>({ task: 'own' }),
      run<OwnResult>({ task: 'own' }),
    ]);
    for (const { message, code } of results) {
      expect(code).toBe(0);
      expect(message).toMatchObject({ intact: true, check: 0 });
    }
    expect(livePoolCount()).toBe(before);
  });

  it('a worker creates and uses each variable-size allocator class', async () => {
    const before = livePoolCount();
    const { message, code } = await run<
      Record<string, { blocks: number; got: number; intact: boolean; check: number; stats: object }>
    >({ task: 'heaps' });
    expect(code).toBe(0);
    expect(Object.keys(message)).toEqual([
      'BuddyAllocator',
      'SlabAllocator',
      'TlsfAllocator',
      'FitListAllocator',
    ]);
    for (const r of Object.values(message)) {
      expect(r.blocks).toBeGreaterThan(50);
      expect(r).toMatchObject({ got: 8, intact: true, check: 0 });
      expect(r.stats).toMatchObject({ liveBlockCount: 0, allocCount: r.blocks + 8 });
    }
    expect(livePoolCount()).toBe(before);
  });

  it('two workers attached to a thread-safe TlsfAllocator take disjoint blocks of the same bytes', async () => {
    const before = livePoolCount();
    using heap = new TlsfAllocator({ size: 1 << 16, threadSafe: true });
    const handle = heap.share();
    const [a, b] = await Promise.all([
      run<{ offsets: number[]; check: number }>({
        task: 'heapShared',
        handle,
        count: 200,
        stamp: 0xaa,
      }),
      run<{ offsets: number[]; check: number }>({
        task: 'heapShared',
        handle,
        count: 200,
        stamp: 0xbb,
      }),
    ]);
    expect(a.message.check + b.message.check).toBe(0);
    const all = [...a.message.offsets, ...b.message.offsets];
    expect(all.length).toBe(400);
    expect(new Set(all).size).toBe(400);
    for (const off of a.message.offsets)
      expect(heap.view(off, 24).every((x) => x === 0xaa)).toBe(true);
    for (const off of b.message.offsets)
      expect(heap.view(off, 24).every((x) => x === 0xbb)).toBe(true);
    expect(heap.stats().liveBlockCount).toBe(400);
    heap.freeMany(Int32Array.from(all));
    expect(heap.check()).toBe(0);
    expect(livePoolCount()).toBe(before + 1);
  });

  it('pools a worker never destroyed are released when it exits', async () => {
    const before = livePoolCount();
    const { message, code } = await run<{ live: number }>({ task: 'leak' });
    expect(code).toBe(0);
    expect(message.live).toBe(before + 3);
    expect(livePoolCount()).toBe(before);
  });

  it('pools a worker never destroyed are released when it is terminated', async () => {
    const before = livePoolCount();
    const worker = start({ task: 'leak', stay: true });
    const [message] = (await once(worker, 'message')) as [{ live: number }];
    expect(message.live).toBe(before + 3);
    expect(livePoolCount()).toBe(before + 3);
    await worker.terminate();
    expect(livePoolCount()).toBe(before);
  });

  it('two workers attached to a thread-safe pool take distinct slots and see the same bytes', async () => {
    const before = livePoolCount();
    // Each worker holds its 300 slots and then takes (and returns) a batch of
    // 300 more: 1200 at the peak, whatever the interleaving of the two.
    using pool = new FixedPool({ objectSize: 16, capacity: 1200, threadSafe: true });
    const handle = pool.share();
    const [a, b] = await Promise.all([
      run<{ offsets: number[] }>({ task: 'shared', handle, count: 300, stamp: 0xaa }),
      run<{ offsets: number[] }>({ task: 'shared', handle, count: 300, stamp: 0xbb }),
    ]);
    const all = [...a.message.offsets, ...b.message.offsets];
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
    for (const off of a.message.offsets) expect(pool.bytes[off]).toBe(0xaa);
    for (const off of b.message.offsets) expect(pool.bytes[off]).toBe(0xbb);
    expect(pool.stats()).toMatchObject({ allocated: 600 });
    for (const off of all) pool.free(off); // slots taken by workers are freed here
    expect(pool.stats().allocated).toBe(0);
    expect(pool.check()).toBe(0);
    expect(livePoolCount()).toBe(before + 1); // the workers' detach left the pool alive
  });

  it('a shared pool outlives the creating thread destroy() while a worker holds it', async () => {
    const before = livePoolCount();
    const pool = new FixedPool({ objectSize: 16, capacity: 8, threadSafe: true });
    const worker = start({ task: 'outlive', handle: pool.share() });
    const exited = once(worker, 'exit');
    await once(worker, 'message');
    pool.destroy();
    expect(livePoolCount()).toBe(before + 1);
    worker.postMessage('go');
    const [result] = (await once(worker, 'message')) as [
      { ok: boolean; check: number; live: number },
    ];
    expect(result).toEqual({ ok: true, check: 0, live: before + 1 });
    await exited;
    expect(livePoolCount()).toBe(before);
  });
});
