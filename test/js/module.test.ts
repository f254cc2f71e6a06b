// MemoryPoolingModule (seed 000's API over MemoryPool): lifecycle and its
// typed errors, named pools, the allocate result shape, read/write, metric
// names, owner tracking, and the seed's examples run as written.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { binding } from '../../lib/binding';
import { describe, expect, it, vi } from 'vitest';
import {
  AllocationStrategy,
  DoubleFreeError,
  DuplicatePoolError,
  InvalidArgumentError,
  LimitExceededError,
  MemoryPool,
  MemoryPoolConfig,
  MemoryPoolingModule,
  type ModuleConfig,
  NO_MEMORY,
  NotInitializedError,
  OutOfMemoryError,
  ShutDownError,
  UnknownPoolError,
} from '../../lib/index';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function ready(config = {}): Promise<MemoryPoolingModule> {
  const m = new MemoryPoolingModule({ poolSize: 65536, ...config });
  await m.initialize();
  return m;
}

describe('MemoryPoolingModule lifecycle', () => {
  it('calls before initialize() throw NotInitializedError; after shutdown() ShutDownError', async () => {
    const m = new MemoryPoolingModule({ poolSize: 65536 });
    expect(m.state).toBe('created');
    expect(() => m.createPool('a')).toThrow(NotInitializedError);
    await expect(m.allocate('default', 8)).rejects.toThrow(NotInitializedError);
    expect(() => m.getMetrics('default')).toThrow(NotInitializedError);
    await m.initialize();
    await m.initialize(); // idempotent
    expect(m.state).toBe('ready');
    expect(m.poolNames()).toEqual(['default']);
    await m.shutdown();
    await m.shutdown();
    expect(m.state).toBe('shut down');
    await expect(m.allocate('default', 8)).rejects.toMatchObject({ code: 'MP_ERR_SHUT_DOWN' });
    expect(() => m.read('default', 1, 1)).toThrow(ShutDownError);
    await expect(m.initialize()).rejects.toThrow(ShutDownError);
  });

  it('initialize() refused for a bad pool config leaves the module not ready, and a retry refuses again', async () => {
    for (const config of [{ hugePages: 'yes' }, { threadSafe: 1 }, { poolSize: -1 }]) {
      const m = new MemoryPoolingModule(config as unknown as ModuleConfig);
      await expect(m.initialize()).rejects.toMatchObject({ code: 'MP_ERR_INVALID_ARGUMENT' });
      expect(m.state).toBe('created');
      await expect(m.initialize()).rejects.toMatchObject({ code: 'MP_ERR_INVALID_ARGUMENT' });
      await expect(m.allocate('default', 10)).rejects.toThrow(NotInitializedError);
    }
  });

  it('shutdown destroys every pool, so MemoryPool objects taken before throw DestroyedError', async () => {
    const m = await ready();
    const pool = m.createPool('b');
    await m.shutdown();
    expect(pool.destroyed).toBe(true);
    expect(m.pool.bind(m, 'b')).toThrow(ShutDownError);
  });
});

describe('MemoryPoolingModule named pools', () => {
  it('createPool makes a MemoryPool per name; duplicates and unknown names are typed errors', async () => {
    const m = await ready();
    const cache = m.createPool('cache', {
      poolSize: 32768,
      allocationStrategy: 'tlsf',
      minBlockSize: 16,
    });
    expect(cache).toBeInstanceOf(MemoryPool);
    expect(m.pool('cache')).toBe(cache);
    expect(cache.strategy).toBe('tlsf');
    expect(m.pool('default').strategy).toBe('best_fit');
    expect(() => m.createPool('cache')).toThrow(DuplicatePoolError);
    expect(() => m.createPool('default')).toThrow(
      expect.objectContaining({ code: 'MP_ERR_DUPLICATE_POOL', poolName: 'default' }),
    );
    expect(() => m.pool('nope')).toThrow(UnknownPoolError);
    await expect(m.allocate('nope', 8)).rejects.toMatchObject({ code: 'MP_ERR_UNKNOWN_POOL' });
    m.destroyPool('cache');
    expect(cache.destroyed).toBe(true);
    expect(m.poolNames()).toEqual(['default']);
    await m.shutdown();
  });

  it('read() with a size or offset that is no byte count is MP_ERR_INVALID_ARGUMENT', async () => {
    const m = await ready();
    const h = m.pool('default').allocate(16);
    for (const bad of [-1, 1.5, '4', 2 ** 32, NaN]) {
      expect(() => m.read('default', h, bad as number)).toThrow(
        expect.objectContaining({ code: 'MP_ERR_INVALID_ARGUMENT' }),
      );
    }
    for (const bad of [-1, 'x', 1.5]) {
      expect(() => m.read('default', h, 4, bad as number)).toThrow(
        expect.objectContaining({ code: 'MP_ERR_INVALID_ARGUMENT' }),
      );
      expect(() => m.read('default', h, undefined, bad as number)).toThrow(
        expect.objectContaining({ code: 'MP_ERR_INVALID_ARGUMENT' }),
      );
    }
    expect(m.pool('default').metrics().rejectedAccessCount).toBe(0);
    await m.shutdown();
  });

  it('a name used again after destroyPool or shutdown is not served from the last-pool cache', async () => {
    const m = await ready();
    const first = m.createPool('cache', { poolSize: 32768, allocationStrategy: 'tlsf' });
    const h = first.allocate(16);
    m.write('cache', h, 'abc');
    expect(m.read('cache', h, 3).toString()).toBe('abc');
    m.destroyPool('cache');
    expect(() => m.read('cache', h, 3)).toThrow(UnknownPoolError);
    const second = m.createPool('cache', { poolSize: 32768, allocationStrategy: 'tlsf' });
    const h2 = second.allocate(16);
    m.write('cache', h2, 'xyz');
    expect(second.read(h2, 3)).toEqual(new Uint8Array([0x78, 0x79, 0x7a]));
    expect(m.read('cache', h2, 3).toString()).toBe('xyz');
    await m.shutdown();
    expect(() => m.read('cache', h2, 3)).toThrow(
      expect.objectContaining({ code: 'MP_ERR_SHUT_DOWN' }),
    );
  });

  it('AllocationStrategy has the seed members plus TLSF and AUTO; seed strings are accepted in any case', () => {
    expect(Object.keys(AllocationStrategy)).toEqual([
      'FIRST_FIT',
      'BEST_FIT',
      'WORST_FIT',
      'BUDDY',
      'SLAB',
      'TLSF',
      'AUTO',
    ]);
    expect(MemoryPoolConfig({ allocationStrategy: 'best_fit' }).allocationStrategy).toBe(
      'best_fit',
    );
    expect(MemoryPoolConfig({ allocationStrategy: 'FIRST_FIT' }).allocationStrategy).toBe(
      'first_fit',
    );
    expect(() => MemoryPoolConfig({ allocationStrategy: 'next_fit' })).toThrow(
      InvalidArgumentError,
    );
  });

  it("MemoryPoolConfig applies the seed's defaults", () => {
    expect(MemoryPoolConfig()).toEqual({
      poolSize: 1073741824,
      minBlockSize: 64,
      maxBlockSize: 104857600,
      allocationStrategy: 'best_fit',
      enableDefragmentation: true,
      defragThreshold: 0.3,
      alignment: 8,
      maxBlocks: 0,
      threadSafe: false,
      hugePages: false,
    });
  });

  it('createPool passes hugePages to the pool: its region is advised, once', async () => {
    const m = await ready({ poolSize: 1 << 16 });
    const spy = vi.spyOn(binding, 'advise_huge_pages');
    try {
      const pool = m.createPool('huge', { poolSize: 1 << 16, hugePages: true });
      m.createPool('plain', { poolSize: 1 << 16 });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0].buffer).toBe(pool.bytes.buffer);
    } finally {
      spy.mockRestore();
    }
  });

  it('every strategy serves allocate, write and read by pool name', async () => {
    const m = await ready({ poolSize: 1 << 16 });
    for (const s of Object.values(AllocationStrategy)) {
      m.createPool(s, { allocationStrategy: s, poolSize: 1 << 16 });
      const r = await m.allocate(s, 100);
      expect(r.success).toBe(true);
      m.write(s, r.blockId, 'strategy ' + s, 3);
      expect(m.read(s, r.blockId, 9 + s.length, 3).toString()).toBe('strategy ' + s);
      await m.deallocate(s, r.blockId);
    }
    await m.shutdown();
  });
});

describe('MemoryPoolingModule allocation', () => {
  it('allocate resolves the seed result shape; exhaustion resolves success: false with OutOfMemoryError', async () => {
    const m = await ready({ poolSize: 8192, gc: false });
    const r = await m.allocate('default', 4096, { owner: 'tenant1' });
    expect(r).toEqual({ success: true, blockId: r.blockId, size: 4096, owner: 'tenant1' });
    const big = await m.allocate('default', 8000);
    expect(big.success).toBe(false);
    expect(big.blockId).toBe(NO_MEMORY);
    expect(big.error).toBeInstanceOf(OutOfMemoryError);
    expect(big.error?.requestedBytes).toBe(8000);
    expect(m.getMetrics('default').allocationFailures).toBe(1);
    await m.shutdown();
  });

  it('an owner over its limit resolves success: false with LimitExceededError; bad sizes reject', async () => {
    const m = await ready();
    m.setOwnerLimit('default', 'small', 128);
    const r = await m.allocate('default', 4096, { owner: 'small' });
    expect(r.success).toBe(false);
    expect(r.error).toBeInstanceOf(LimitExceededError);
    await expect(m.allocate('default', -1)).rejects.toThrow(InvalidArgumentError);
    await expect(m.allocate('default', 0)).rejects.toThrow(InvalidArgumentError);
    await m.shutdown();
  });

  it('options are read once: the owner in the result, the events and the pool is the same', async () => {
    const m = await ready();
    const flipping = (): { readonly owner: string } => {
      let reads = 0;
      return {
        get owner() {
          reads++;
          return reads === 1 ? 'alice' : 'mallory';
        },
      };
    };
    const pool = m.pool('default');
    // Before: the module recorded the first read and the pool charged the second.
    const r = await m.allocate('default', 64, flipping());
    expect(r.owner).toBe('alice');
    expect(pool.blockInfo(r.blockId).owner).toBe('alice');
    using guard = m.allocateGuarded('default', 64, flipping());
    expect(pool.blockInfo(guard.blockId).owner).toBe('alice');
    expect(m.getTenantMetrics('default').has('mallory')).toBe(false);
    expect(pool.ownerBlocks('alice')).toEqual([r.blockId, guard.blockId]);
    await m.shutdown();
  });

  it('deallocate frees the block; a second deallocate rejects with DoubleFreeError and changes no counter but the refusal', async () => {
    const m = await ready();
    const r = await m.allocate('default', 100);
    await m.deallocate('default', r.blockId);
    const before = m.getMetrics('default');
    await expect(m.deallocate('default', r.blockId)).rejects.toThrow(DoubleFreeError);
    const after = m.getMetrics('default');
    expect(after).toEqual(before);
    expect(m.pool('default').metrics().rejectedFreeCount).toBe(1);
    await m.shutdown();
  });

  it('read defaults to the rest of the block; write accepts bytes and strings', async () => {
    const m = await ready();
    const { blockId } = await m.allocate('default', 10);
    m.write('default', blockId, new Uint8Array(10));
    m.write('default', blockId, Uint8Array.of(1, 2, 3));
    m.write('default', blockId, 'AB', 8);
    expect([...m.read('default', blockId)]).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 65, 66]);
    expect([...m.read('default', blockId, 2, 8)]).toEqual([65, 66]);
    expect(m.read('default', blockId, undefined, 7).length).toBe(3);
    await m.shutdown();
  });
});

describe('MemoryPoolingModule metrics', () => {
  it("getMetrics has seed 000's names in camelCase with the pool's numbers", async () => {
    const m = await ready({ poolSize: 65536 });
    const a = await m.allocate('default', 1000, { owner: 'a' });
    await m.allocate('default', 3000, { owner: 'b' });
    await m.deallocate('default', a.blockId);
    const metrics = m.getMetrics('default');
    for (const key of [
      'totalSize',
      'usedSize',
      'freeSize',
      'utilization',
      'numAllocations',
      'numDeallocations',
      'numFreeBlocks',
      'numAllocatedBlocks',
      'fragmentationRatio',
      'peakUsage',
      'allocationFailures',
    ]) {
      expect(typeof metrics[key as keyof typeof metrics]).toBe('number');
    }
    expect(metrics.totalSize).toBe(65536);
    expect(metrics.usedSize).toBeGreaterThanOrEqual(3000);
    expect(metrics.freeSize).toBe(65536 - metrics.usedSize);
    expect(metrics.utilization).toBeCloseTo(metrics.usedSize / 65536, 10);
    expect(metrics.numAllocations).toBe(2);
    expect(metrics.numDeallocations).toBe(1);
    expect(metrics.numAllocatedBlocks).toBe(1);
    expect(metrics.peakUsage).toBeGreaterThanOrEqual(4000);
    expect(metrics.pressure).toBe('low');
    const tenants = m.getTenantMetrics('default');
    expect([...tenants.keys()]).toEqual(['default', 'a', 'b']);
    expect(tenants.get('a')?.bytesInUse).toBe(0);
    expect(tenants.get('b')?.blockCount).toBe(1);
    await m.shutdown();
  });
});

describe('seed 000 examples run as written', () => {
  const run = (name: string): string => {
    const dir = join(root, 'build', 'h-module-examples');
    mkdirSync(dir, { recursive: true });
    const src = readFileSync(join(root, 'examples', `${name}.ts`), 'utf8');
    const { outputText: code } = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const file = join(dir, `${name}.mjs`); // inside the package: 'memory-pool-core' resolves to dist/
    writeFileSync(file, code);
    return execFileSync(process.execPath, [file], { encoding: 'utf8' });
  };

  it('quick start prints the data read back, utilization and fragmentation as the seed formats them', () => {
    expect(run('quick-start')).toBe('Hello, Pool!\nUtilization: 0.00%\nFragmentation: 0.00%\n');
  });

  it('multi-tenant example tracks each tenant’s blocks and bytes', () => {
    expect(run('multi-tenant')).toBe(
      'tenant_a: 1 block(s), 1024 bytes\ntenant_b: 1 block(s), 2048 bytes\n',
    );
  });
});
