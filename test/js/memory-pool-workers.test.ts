// MemoryPool in worker_threads: a worker creates and uses its own pools
// (owners, compaction, pressure events delivered in that worker), several
// workers at once each hear only their own pressure changes, and pools a
// worker leaves behind are released when it exits.
import { describe, expect, it } from 'vitest';
import { livePoolCount } from '../../lib/index';
import { runWorker } from './processes';

const run = <T>(data: Record<string, unknown>): Promise<{ message: T; code: number }> =>
  runWorker<T>('memory-pool-worker.cjs', data);

interface OwnResult {
  blocks: number;
  freedOdd: number;
  blocksMoved: number;
  intact: boolean;
  check: number;
  events: string[];
  peakUtilization: number;
  finalUsedBytes: number;
}

function expectOwn({ message, code }: { message: OwnResult; code: number }): void {
  expect(code).toBe(0);
  expect(message.blocks).toBeGreaterThan(100);
  expect(message.freedOdd).toBe(Math.floor(message.blocks / 2));
  expect(message).toMatchObject({ intact: true, check: 0, finalUsedBytes: 0 });
  expect(message.peakUtilization).toBeGreaterThan(0.6);
  // A chain of changes from low back to low, each starting where the last one ended.
  expect(message.events[0]).toBe('low>medium');
  expect(message.events.at(-1)).toMatch(/>low$/);
  for (let i = 1; i < message.events.length; i++)
    expect(message.events[i].split('>')[0]).toBe(message.events[i - 1].split('>')[1]);
}

describe('MemoryPool in workers', () => {
  it('a worker creates a MemoryPool, uses owners, compaction and pressure, and exits cleanly', async () => {
    const before = livePoolCount();
    const result = await run<OwnResult>({ task: 'own', strategy: 'first_fit' });
    expectOwn(result);
    expect(result.message.blocksMoved).toBeGreaterThan(0);
    expect(livePoolCount()).toBe(before);
  });

  it('workers at once, each with its own strategy, hear only their own pressure changes', async () => {
    const before = livePoolCount();
    const results = await Promise.all(
      (['tlsf', 'buddy', 'auto', 'best_fit'] as const).map((strategy, i) =>
        run<OwnResult>({ task: 'own', strategy, threadSafe: i % 2 === 1 }),
      ),
    );
    results.forEach(expectOwn);
    expect(livePoolCount()).toBe(before);
  });

  it('pools a worker never destroyed are released when it exits', async () => {
    const before = livePoolCount();
    const { message, code } = await run<{ live: number }>({ task: 'leak' });
    expect(code).toBe(0);
    expect(message.live).toBeGreaterThanOrEqual(before + 2);
    expect(livePoolCount()).toBe(before);
  });
});
