// Events of MemoryPoolingModule on its EventEmitter and on the
// `memory-pool-core:*` diagnostics channels (oom, pressure, defragment,
// per-allocation events only with a subscriber), and the Prometheus text.
import * as dc from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_PREFIX,
  MODULE_EVENT_NAMES,
  MemoryPoolingModule,
  channels,
  escapeLabelValue,
} from '../../lib/index';

async function ready(poolSize = 65536): Promise<MemoryPoolingModule> {
  const m = new MemoryPoolingModule({ poolSize, allocationStrategy: 'first_fit', gc: false });
  await m.initialize();
  return m;
}

describe('module events', () => {
  it('every event has a channel named memory-pool-core:<event>', () => {
    for (const name of MODULE_EVENT_NAMES) {
      expect(channels[name].name).toBe(`${CHANNEL_PREFIX}${name}`);
    }
    expect(CHANNEL_PREFIX).toBe('memory-pool-core:');
  });

  it("an allocation that finds no room emits 'oom' on the emitter and the channel", async () => {
    const m = await ready(8192);
    const fromEmitter: unknown[] = [];
    const fromChannel: unknown[] = [];
    const sub = (msg: unknown): void => void fromChannel.push(msg);
    m.on('oom', (e) => fromEmitter.push(e));
    dc.subscribe('memory-pool-core:oom', sub);
    await m.allocate('default', 4096);
    try {
      await m.allocate('default', 6000, { owner: 't' });
    } finally {
      dc.unsubscribe('memory-pool-core:oom', sub);
    }
    const expected = {
      pool: 'default',
      owner: 't',
      requestedBytes: 6000,
      availableBytes: 4096,
      largestFreeBytes: expect.any(Number),
      waiting: false,
    };
    expect(fromEmitter).toEqual([expected]);
    expect(fromChannel).toEqual([expected]);
    expect(m.getMetrics('default').outOfMemoryCount).toBe(1);
    await m.shutdown();
  });

  it("crossing a pressure level emits 'pressure' with the level and the previous one", async () => {
    const m = await ready(16384);
    const seen: string[] = [];
    m.on('pressure', (e) => seen.push(`${e.pool}:${e.previous}->${e.level}`));
    const a = await m.allocate('default', 10240); // 62.5%: medium
    const b = await m.allocate('default', 3072); // 81%: high
    await m.deallocate('default', b.blockId);
    await m.deallocate('default', a.blockId);
    expect(seen).toEqual([
      'default:low->medium',
      'default:medium->high',
      'default:high->medium',
      'default:medium->low',
    ]);
    await m.shutdown();
  });

  it("defragment() emits 'defragment' with the pass's result", async () => {
    const m = await ready();
    const events: unknown[] = [];
    m.on('defragment', (e) => events.push(e));
    const blocks = [];
    for (let i = 0; i < 8; i++) blocks.push((await m.allocate('default', 1000)).blockId);
    for (let i = 0; i < 8; i += 2) await m.deallocate('default', blocks[i]);
    const result = m.defragment('default');
    expect(result.blocksMoved).toBeGreaterThan(0);
    expect(events).toEqual([{ pool: 'default', ...result, automatic: false }]);
    await m.shutdown();
  });

  it("'allocate' and 'deallocate' reach subscribers, and only while they are subscribed", async () => {
    const m = await ready();
    const got: string[] = [];
    const listener = (e: { blockId: number; owner: string; sizeBytes: number }): void =>
      void got.push(`alloc ${e.owner} ${e.sizeBytes}`);
    const chan = (msg: unknown): void =>
      void got.push(`chan free ${(msg as { blockId: number }).blockId > 0}`);
    m.on('allocate', listener);
    dc.subscribe('memory-pool-core:deallocate', chan);
    const r = await m.allocate('default', 32, { owner: 'x' });
    await m.deallocate('default', r.blockId);
    m.off('allocate', listener);
    dc.unsubscribe('memory-pool-core:deallocate', chan);
    const r2 = await m.allocate('default', 32);
    await m.deallocate('default', r2.blockId);
    expect(got).toEqual(['alloc x 32', 'chan free true']);
    await m.shutdown();
  });
});

describe('Prometheus exposition', () => {
  it('renders every pool with HELP/TYPE once per family, *_bytes gauges and *_total counters', async () => {
    const m = await ready();
    m.createPool('cache', { poolSize: 32768 });
    await m.allocate('default', 1000, { owner: 'tenant_a' });
    await m.allocate('cache', 100);
    const text = m.metricsText();
    const lines = text.trimEnd().split('\n');
    expect(text.endsWith('\n')).toBe(true);
    expect(lines).toContain('# TYPE memory_pool_used_bytes gauge');
    expect(lines).toContain('# TYPE memory_pool_allocations_total counter');
    expect(lines).toContain('memory_pool_size_bytes{pool="default"} 65536');
    expect(lines).toContain('memory_pool_size_bytes{pool="cache"} 32768');
    expect(lines).toContain('memory_pool_allocations_total{pool="default"} 1');
    expect(
      lines.filter((l) => l === '# HELP memory_pool_used_bytes Bytes charged to live blocks.'),
    ).toHaveLength(1);
    for (const l of lines) {
      if (l.startsWith('#')) continue;
      expect(l).toMatch(/^memory_pool_[a-z_]+\{pool="[^"]+"\} [0-9.e+-]+$/);
      const name = l.slice(0, l.indexOf('{'));
      expect(
        name.endsWith('_bytes') ||
          name.endsWith('_total') ||
          name.endsWith('_ratio') ||
          name.endsWith('_blocks') ||
          name.endsWith('_level') ||
          name.endsWith('_allocations'),
      ).toBe(true);
    }
    expect(text).not.toContain('owner=');
    await m.shutdown();
  });

  it('adds owner-labelled series only for the owners asked for', async () => {
    const m = await ready();
    await m.allocate('default', 1024, { owner: 'tenant_a' });
    await m.allocate('default', 2048, { owner: 'tenant_b' });
    const some = m.metricsText({ ownerLabels: ['tenant_b'] });
    expect(some).toContain('memory_pool_owner_used_bytes{pool="default",owner="tenant_b"} 2048');
    expect(some).not.toContain('owner="tenant_a"');
    const all = m.metricsText({ ownerLabels: true, prefix: 'app_pool' });
    expect(all).toContain('app_pool_owner_used_bytes{pool="default",owner="tenant_a"} 1024');
    expect(all).toContain('app_pool_owner_allocations_total{pool="default",owner="tenant_b"} 1');
    await m.shutdown();
  });

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});
