// Smoke test of the benchmark suite: `node bench/run.mjs --quick --no-write`
// must build the C benches, run every part and print a table per workload.
// It checks that the suite runs and measures the package, not the numbers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tracesPresent = fs.existsSync(path.join(root, '..', 'shared', 'traces', 'README.md'));

describe('bench/run.mjs --quick', () => {
  it('runs the C micro, trace replay and JS benches and prints one table per workload', () => {
    const r = spawnSync(process.execPath, ['bench/run.mjs', '--quick', '--no-write'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 55_000,
    });
    expect(r.error, 'the run did not finish in 55 s').toBeUndefined();
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const out = r.stdout;
    for (const w of [
      'fixed64_pair',
      'fixed64_live10k',
      'mixed_live10k',
      'pow2_live10k',
      'arena_small',
    ]) {
      expect(out).toContain(`C micro ${w}:`);
    }
    for (const w of ['mixed_live10k', 'pow2_live10k'])
      expect(out).toContain(`C micro, huge pages for every allocator, ${w}:`);
    for (const w of ['pair64', 'batch64', 'live10k64', 'arena_small'])
      expect(out).toContain(`JS ${w}:`);
    expect(out).toContain('JS mixed_live10k with GC');
    // Managed-pool calls, ours on the mixed workload with GC, the targets table.
    for (const w of ['mpool_pair64', 'mpool_rw64', 'mpool_view64'])
      expect(out).toContain(`JS ${w}:`);
    expect(out).toMatch(/│ FixedPool ×9 size classes \(cached, hugePages\)\s+│ ours\s+│ \d/);
    expect(out).toMatch(/Targets of issues #2–#6, this run: \d+ met, \d+ missed, \d+ not measured/);
    // glibc is always there and is always a ratio column of the C tables.
    expect(out).toMatch(/│ glibc\s+│ malloc/);
    expect(out).toContain('x glibc');
    // The JS part measures the package itself, not only the baselines.
    expect(out).not.toContain('dist/ not loadable');
    expect(out).toMatch(/│ FixedPool \(cached\)\s+│ ours\s+│ \d/);
    expect(out).toMatch(/│ Arena\s+│ ours\s+│ \d/);
    // The live-set micro workloads also run as synthetic traces: their footprint column.
    for (const w of ['mixed_live10k', 'pow2_live10k'])
      expect(out).toContain(`C replay ${w} (synthetic: the C micro workload as a trace`);
    expect(out).toMatch(/C micro mixed_live10k:[^\n]*\n[^\n]*\n│ impl[^\n]*│ footprint │/);
    if (tracesPresent) {
      for (const t of ['git-log-p', 'lua-tables', 'node-json', 'python-json-regex', 'sqlite3']) {
        expect(out).toContain(`C replay ${t} (first 20000 events`);
      }
    }
  }, 60_000);

  it('replays the mixed micro workload as a legal trace: 10,000 live, then free + alloc', () => {
    // Built by the run above (bench/run.mjs builds build/bench).
    const bin = path.join(root, 'build', 'bench', 'bench', 'c', 'mp_bench_replay');
    const r = spawnSync(bin, ['--trace', 'mixed_live10k', '--impl', 'tlsf', '--reps', '1'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const head = recs.find((x) => x.trace === 'mixed_live10k' && !x.impl);
    expect(head).toMatchObject({
      synthetic: true,
      events: 10_000 + 2 * 500_000,
      truncated: false,
      peak_live_objects: 10_000,
    });
    // 10,000 uniform sizes of 16..4096 B average 2,056 B; the peak is a little above.
    expect(head.peak_live_bytes).toBeGreaterThan(10_000 * 2056 * 0.97);
    expect(head.peak_live_bytes).toBeLessThan(10_000 * 2056 * 1.05);
    // Every free names a live block and TLSF serves every request.
    const tlsf = recs.find((x) => x.trace === 'mixed_live10k' && x.impl === 'tlsf');
    expect(tlsf).toMatchObject({ failures: 0, rejected_frees: 0, events_replayed: 1_010_000 });
    expect(tlsf.overhead).toBeGreaterThan(1);
  }, 40_000);
});
