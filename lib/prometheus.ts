/**
 * Prometheus text exposition (format 0.0.4) of a module's pools: one family
 * per metric, `# HELP` and `# TYPE` once per family, a `pool` label on every
 * sample, and per-owner families (with an `owner` label) only for the
 * owners asked for — owner labels multiply series, so they are opt-in.
 * Names follow Prometheus conventions: base units in the name (`_bytes`),
 * counters end in `_total`, ratios end in `_ratio`.
 */
import type { ModulePoolMetrics } from './module';
import type { OwnerMetrics } from './memory-pool-native';

export interface PrometheusOptions {
  /** Family name prefix; default 'memory_pool'. */
  prefix?: string;
  /** Owners to export per-owner series for: true = every owner seen, a list = those; default none. */
  ownerLabels?: boolean | readonly string[];
}

export interface PoolSnapshot {
  name: string;
  metrics: ModulePoolMetrics;
  owners: ReadonlyMap<string, OwnerMetrics>;
}

type Kind = 'gauge' | 'counter';

const POOL_FAMILIES: readonly [string, Kind, keyof ModulePoolMetrics, string][] = [
  ['size_bytes', 'gauge', 'totalSize', 'Bytes of the pool region.'],
  ['used_bytes', 'gauge', 'usedSize', 'Bytes charged to live blocks.'],
  ['free_bytes', 'gauge', 'freeSize', 'Bytes not charged to live blocks.'],
  ['peak_used_bytes', 'gauge', 'peakUsage', 'Highest used bytes since the pool was created.'],
  ['largest_free_block_bytes', 'gauge', 'largestFreeBlockBytes', 'Largest single free block.'],
  ['utilization_ratio', 'gauge', 'utilization', 'Used bytes / pool bytes.'],
  ['fragmentation_ratio', 'gauge', 'fragmentationRatio', '1 - largest free block / free bytes.'],
  ['pressure_level', 'gauge', 'pressureLevel', 'Pressure: 0 low, 1 medium, 2 high, 3 critical.'],
  ['allocated_blocks', 'gauge', 'numAllocatedBlocks', 'Live blocks.'],
  ['free_blocks', 'gauge', 'numFreeBlocks', 'Free blocks of the allocator.'],
  ['collectable_blocks', 'gauge', 'collectableBlocks', 'Blocks a collection may free now.'],
  ['waiting_allocations', 'gauge', 'waitingAllocations', 'Allocations waiting for memory.'],
  ['allocations_total', 'counter', 'numAllocations', 'Successful allocations.'],
  ['deallocations_total', 'counter', 'numDeallocations', 'Blocks freed.'],
  ['allocation_failures_total', 'counter', 'allocationFailures', 'Allocations refused or failed.'],
  ['out_of_memory_total', 'counter', 'outOfMemoryCount', 'Module allocations that found no room.'],
  ['defragmentations_total', 'counter', 'defragCount', 'Defragmentation passes.'],
  ['collections_total', 'counter', 'collectionCount', 'Garbage collections run.'],
  ['collected_bytes_total', 'counter', 'collectedBytesTotal', 'Bytes freed by collections.'],
  ['leaks_total', 'counter', 'leakCount', 'Guards garbage-collected without free().'],
  ['evictions_total', 'counter', 'evictionCount', 'Evictable blocks freed by collections.'],
];

const OWNER_FAMILIES: readonly [string, Kind, keyof OwnerMetrics, string][] = [
  ['owner_used_bytes', 'gauge', 'bytesInUse', "Bytes charged to the owner's live blocks."],
  ['owner_peak_used_bytes', 'gauge', 'bytesInUsePeak', 'Highest owner used bytes.'],
  ['owner_limit_bytes', 'gauge', 'limitBytes', 'Owner byte limit (0 = none).'],
  ['owner_blocks', 'gauge', 'blockCount', 'Live blocks of the owner.'],
  ['owner_allocations_total', 'counter', 'allocCount', 'Allocations of the owner.'],
  ['owner_deallocations_total', 'counter', 'freeCount', 'Blocks of the owner freed.'],
  [
    'owner_limit_failures_total',
    'counter',
    'limitFailureCount',
    'Allocations refused by the limit.',
  ],
];

/** A label value escaped as the format requires (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function sampleValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** The exposition text of `pools`; ends with a newline. */
export function renderPrometheus(
  pools: readonly PoolSnapshot[],
  options: PrometheusOptions = {},
): string {
  const prefix = options.prefix ?? 'memory_pool';
  const lines: string[] = [];
  const family = (name: string, kind: Kind, help: string): void => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${kind}`);
  };
  for (const [name, kind, key, help] of POOL_FAMILIES) {
    family(name, kind, help);
    for (const p of pools) {
      lines.push(
        `${prefix}_${name}{pool="${escapeLabelValue(p.name)}"} ${sampleValue(p.metrics[key] as number)}`,
      );
    }
  }
  const wanted = options.ownerLabels;
  if (wanted !== undefined && wanted !== false) {
    for (const [name, kind, key, help] of OWNER_FAMILIES) {
      family(name, kind, help);
      for (const p of pools) {
        const pool = escapeLabelValue(p.name);
        for (const [owner, m] of p.owners) {
          if (wanted !== true && !wanted.includes(owner)) continue;
          lines.push(
            `${prefix}_${name}{pool="${pool}",owner="${escapeLabelValue(owner)}"} ${sampleValue(m[key])}`,
          );
        }
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
