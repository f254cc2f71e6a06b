// Waiting allocation: { wait: true } waits for memory freed through the
// module, first come first served (a big request at the head is not
// overtaken), and rejects with a typed error on timeout, abort or shutdown;
// without wait, an allocation fails at once.
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MemoryPoolingModule,
  ShutDownError,
  WaitAbortedError,
  WaitTimeoutError,
} from '../../lib/index';

const POOL = 8192;

async function fullPool(): Promise<{ m: MemoryPoolingModule; held: number[] }> {
  const m = new MemoryPoolingModule({
    poolSize: POOL,
    allocationStrategy: 'first_fit',
    minBlockSize: 16,
    gc: false,
  });
  await m.initialize();
  const held: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await m.allocate('default', 2048);
    expect(r.success).toBe(true);
    held.push(r.blockId);
  }
  expect((await m.allocate('default', 16)).success).toBe(false);
  return { m, held };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('waiting allocation', () => {
  it('without wait, a full pool fails at once', async () => {
    const { m } = await fullPool();
    const r = await m.allocate('default', 1024);
    expect(r.success).toBe(false);
    expect(m.getMetrics('default').waitingAllocations).toBe(0);
    await m.shutdown();
  });

  it('with wait, resolves once a deallocate frees enough memory', async () => {
    const { m, held } = await fullPool();
    let settled = false;
    const p = m.allocate('default', 1024, { wait: true }).then((r) => {
      settled = true;
      return r;
    });
    await tick();
    expect(settled).toBe(false);
    expect(m.getMetrics('default').waitingAllocations).toBe(1);
    await m.deallocate('default', held[0]);
    const r = await p;
    expect(r.success).toBe(true);
    expect(m.pool('default').sizeOf(r.blockId)).toBe(1024);
    expect(m.getMetrics('default').waitingAllocations).toBe(0);
    await m.shutdown();
  });

  it('serves waiters first come first served: a later small request does not overtake a big one', async () => {
    const { m, held } = await fullPool();
    const order: string[] = [];
    const big = m.allocate('default', 4096, { wait: true }).then(() => order.push('big'));
    const small = m.allocate('default', 512, { wait: true }).then(() => order.push('small'));
    await m.deallocate('default', held[0]); // 2 KiB free: fits small, not big
    await tick();
    expect(order).toEqual([]);
    await m.deallocate('default', held[1]); // 4 KiB contiguous: big first, then small if room
    await m.deallocate('default', held[2]);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    await m.shutdown();
  });

  it('a new waiting request queues behind earlier waiters even if it would fit now', async () => {
    const { m, held } = await fullPool();
    await m.deallocate('default', held[3]);
    // Free memory: 2 KiB. The head waits for 4 KiB; a 256 B waiter arrives after it.
    const order: string[] = [];
    const head = m.allocate('default', 4096, { wait: true }).then(() => order.push('head'));
    // head did not fit, so it is queued; now a small waiting request must queue behind it.
    const tail = m.allocate('default', 256, { wait: true }).then(() => order.push('tail'));
    await tick();
    expect(order).toEqual([]);
    await m.deallocate('default', held[2]); // 4 KiB: all of it to the head
    await head;
    await tick();
    expect(order).toEqual(['head']);
    await m.deallocate('default', held[0]);
    await tail;
    expect(order).toEqual(['head', 'tail']);
    await m.shutdown();
  });

  it('rejects with WaitTimeoutError after timeoutMs and leaves the queue empty', async () => {
    const { m } = await fullPool();
    const start = Date.now();
    const err = await m.allocate('default', 1024, { wait: true, timeoutMs: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.code).toBe('MP_ERR_WAIT_TIMEOUT');
    expect(err.requestedBytes).toBe(1024);
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
    expect(m.getMetrics('default').waitingAllocations).toBe(0);
    await m.shutdown();
  });

  it('rejects with WaitAbortedError when the signal aborts, and at once for an aborted signal', async () => {
    const { m, held } = await fullPool();
    const ac = new AbortController();
    const p = m.allocate('default', 1024, { wait: true, signal: ac.signal });
    const after = m.allocate('default', 512, { wait: true });
    ac.abort('no longer needed');
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(WaitAbortedError);
    expect(err.reason).toBe('no longer needed');
    await expect(
      m.allocate('default', 1024, { wait: true, signal: AbortSignal.abort() }),
    ).rejects.toThrow(WaitAbortedError);
    // The aborted waiter left the queue: the next one is served.
    await m.deallocate('default', held[0]);
    expect((await after).success).toBe(true);
    await m.shutdown();
  });

  it('shutdown rejects every waiter with ShutDownError', async () => {
    const { m } = await fullPool();
    const a = m.allocate('default', 1024, { wait: true });
    const b = m.allocate('default', 1024, { wait: true, timeoutMs: 10_000 });
    await m.shutdown();
    await expect(a).rejects.toThrow(ShutDownError);
    await expect(b).rejects.toThrow(ShutDownError);
  });

  it('freeOwner wakes waiters', async () => {
    const m = new MemoryPoolingModule({
      poolSize: POOL,
      allocationStrategy: 'first_fit',
      gc: false,
    });
    await m.initialize();
    while ((await m.allocate('default', 1024, { owner: 't' })).success);
    const p = m.allocate('default', 2048, { wait: true, owner: 'u' });
    expect(m.freeOwner('default', 't')).toBeGreaterThan(0);
    const r = await p;
    expect(r).toMatchObject({ success: true, owner: 'u' });
    expect(m.getOwnerMetrics('default', 'u').blockCount).toBe(1);
    await m.shutdown();
  });

  it('a waiter refused for good (owner over its limit) rejects with that error; the free that woke it succeeds', async () => {
    const { m, held } = await fullPool();
    m.setOwnerLimit('default', 'capped', 4096);
    const p = m.allocate('default', 1024, { wait: true, owner: 'capped' });
    m.setOwnerLimit('default', 'capped', 512);
    await expect(m.deallocate('default', held[0])).resolves.toBeUndefined();
    await expect(p).rejects.toMatchObject({ code: 'MP_ERR_LIMIT_EXCEEDED' });
    await expect(m.allocate('default', 1, { wait: true, timeoutMs: -1 })).rejects.toThrow(
      InvalidArgumentError,
    );
    await m.shutdown();
  });
});
