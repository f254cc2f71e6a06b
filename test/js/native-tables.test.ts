// The TypeScript declarations agree with the native lists they mirror: the
// stats keys with the header's X-lists (as the glue exports them, camelCased)
// and the status names with mp_status_str.
import { describe, expect, it } from 'vitest';
import {
  ARENA_STATS_KEYS,
  Arena,
  FIXED_POOL_STATS_KEYS,
  FREE_STATS_KEYS,
  FixedPool,
  HEAP_STATS_KEYS,
  SLAB_CLASS_STATS_KEYS,
  SlabAllocator,
  TlsfAllocator,
  STATUS_NAMES,
  errorFromStatus,
  statusOf,
  MemoryPoolError,
  nativeVersion,
} from '../../lib/index';
import { binding } from '../../lib/binding';

describe('native tables', () => {
  it('FixedPoolStats keys are the native MP_FIXED_POOL_STATS_FIELDS, in order', () => {
    expect(binding.stats_fields('fixed')).toEqual([...FIXED_POOL_STATS_KEYS]);
    using pool = new FixedPool({ objectSize: 8, capacity: 2 });
    expect(Object.keys(pool.stats())).toEqual([...FIXED_POOL_STATS_KEYS]);
  });

  it('ArenaStats keys are the native MP_ARENA_STATS_FIELDS, in order', () => {
    expect(binding.stats_fields('arena')).toEqual([...ARENA_STATS_KEYS]);
    using arena = new Arena({ size: 8 });
    expect(Object.keys(arena.stats())).toEqual([...ARENA_STATS_KEYS]);
  });

  it('HeapStats, FreeStats and SlabClassStats keys are the native X-lists, in order', () => {
    expect(binding.stats_fields('heap')).toEqual([...HEAP_STATS_KEYS]);
    expect(binding.stats_fields('free')).toEqual([...FREE_STATS_KEYS]);
    expect(binding.stats_fields('slab_class')).toEqual([...SLAB_CLASS_STATS_KEYS]);
    using tlsf = new TlsfAllocator({ size: 1024 });
    expect(Object.keys(tlsf.stats())).toEqual([...HEAP_STATS_KEYS]);
    expect(Object.keys(tlsf.freeStats())).toEqual([...FREE_STATS_KEYS]);
    using slab = new SlabAllocator({ size: 65536 });
    expect(Object.keys(slab.classStats(0))).toEqual([...SLAB_CLASS_STATS_KEYS]);
  });

  it('stats_fields of an unknown struct is undefined', () => {
    expect(binding.stats_fields('nope')).toBeUndefined();
  });

  it('STATUS_NAMES are the names mp_status_str gives, indexed by value', () => {
    expect(binding.status_table().map((row) => row.name)).toEqual([...STATUS_NAMES]);
  });

  it('every error status maps to an error class with that code and the native description', () => {
    const table = binding.status_table();
    for (let status = 1; status < STATUS_NAMES.length; status++) {
      const err = errorFromStatus(status, 'ctx');
      expect(err).toBeInstanceOf(MemoryPoolError);
      expect(err.code).toBe(STATUS_NAMES[status]);
      expect(err.status).toBe(status);
      expect(err.message).toContain(table[status].description);
      expect(statusOf(STATUS_NAMES[status])).toBe(status);
    }
    expect(errorFromStatus(99, 'ctx').code).toBe('MP_ERR_CORRUPTION');
  });

  it('the native version is the package version', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as {
      version: string;
    };
    expect(nativeVersion()).toBe(pkg.version);
    expect(binding.version()).toBe(pkg.version);
  });
});
