// The bench's reporting code over a small results fixture: charts (SVG
// well-formed, one bar per implementation, log axis, ratio labels,
// footprint), the targets table (met / missed / not measured, ratios) and the
// README headline table (and that README.md's block matches the results file
// it names). Pure functions: no benchmark runs here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM modules of the bench, no type declarations
import { chartsHtml, makeScale, renderCharts } from '../../bench/js/chart.mjs';
// @ts-expect-error see above
import { headlineMarkdown, readBlock } from '../../bench/js/headline.mjs';
// @ts-expect-error see above
import { buildSections, shortName } from '../../bench/js/report.mjs';
import { evaluateTargets } from '../../bench/js/targets.mjs';
import { freeResultsStem } from '../../bench/js/results-files.mjs';
import { historyMarkdown, targetsHistory } from '../../bench/js/targets-history.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

const timed = (
  bench: string,
  workload: string,
  impl: string,
  kind: string,
  median: number,
  extra = {},
) => ({
  bench,
  workload,
  impl,
  kind,
  ns_per_op: { median, min: median * 0.9, max: median * 1.2 },
  reps: 7,
  failures: 0,
  ...extra,
});

const fixture = {
  schema: 1,
  date: '2026-01-02T03:04:05.000Z',
  command: 'npm run bench',
  quick: false,
  machine: { cpu: 'Test CPU', cores: 2, loadAverageAtStart: [0.5, 0.5, 0.5] },
  node: 'v20.0.0',
  compilers: ['gcc 12'],
  libraries: { glibc: '2.36', jemalloc: '', mimalloc: '2.0.9' },
  commit: { hash: 'abcdef0123456789', dirty: false },
  errors: [],
  durationSeconds: 1,
  records: [
    { bench: 'micro', meta: { workloads: [{ name: 'fixed64_pair', op: 'alloc 64 B + free' }] } },
    {
      bench: 'micro',
      impl: 'jemalloc',
      kind: 'malloc',
      skipped: 'not installed (apt-get install libjemalloc-dev)',
    },
    timed('micro', 'fixed64_pair', 'floor:freelist', 'floor', 1),
    timed('micro', 'fixed64_pair', 'fixed', 'family', 4),
    timed('micro', 'fixed64_pair', 'buddy', 'family', 400),
    timed('micro', 'fixed64_pair', 'glibc', 'malloc', 8),
    timed('micro', 'fixed64_pair', 'mimalloc', 'malloc', 10),
    timed('micro', 'arena_small', 'floor:bump', 'floor', 1),
    timed('micro', 'arena_small', 'arena', 'family', 1.2),
    timed('micro', 'arena_small', 'glibc', 'malloc', 30),
    {
      bench: 'replay',
      trace: 'sqlite3',
      events: 1000,
      truncated: false,
      peak_live_bytes: 1 << 20,
      peak_live_objects: 10,
    },
    {
      bench: 'replay',
      trace: 'sqlite3',
      impl: 'tlsf',
      kind: 'family',
      cpu_ns_per_event: { median: 20, min: 19, max: 22 },
      overhead: 1.1,
      failures: 0,
      reps: 3,
    },
    {
      bench: 'replay',
      trace: 'sqlite3',
      impl: 'slab',
      kind: 'family',
      cpu_ns_per_event: { median: 5, min: 5, max: 6 },
      overhead: 0.1,
      failures: 12,
      reps: 3,
    },
    {
      bench: 'replay',
      trace: 'sqlite3',
      impl: 'glibc',
      kind: 'malloc',
      cpu_ns_per_event: { median: 30, min: 29, max: 31 },
      overhead: 1.4,
      failures: 0,
      reps: 3,
    },
    {
      bench: 'replay',
      trace: 'sqlite3',
      impl: 'mimalloc',
      kind: 'malloc',
      cpu_ns_per_event: { median: 25, min: 24, max: 26 },
      overhead: 1.9,
      failures: 0,
      reps: 3,
    },
    { bench: 'js', workload_info: { name: 'pair64', op: 'alloc 64 B + write 1 byte + free' } },
    timed('js', 'pair64', 'FixedPool (cached)', 'ours', 4),
    timed('js', 'pair64', 'FixedPool (cacheSize 0)', 'ours', 60),
    timed('js', 'pair64', 'Buffer.allocUnsafe(64)', 'baseline', 45),
    timed('js', 'pair64', '@thi.ng/malloc MemPool', 'baseline', 13),
    timed('js', 'pair64', 'floor: Int32Array free stack class', 'floor', 3),
    timed('js', 'pair64', 'floor: Int32Array free stack in loop locals', 'floor', 2),
    timed('js-gc', 'mixed_live10k', 'FixedPool ×9 size classes (cached)', 'ours', 10, {
      footprint_bytes_per_live_byte: 1.6,
    }),
    timed('js-gc', 'mixed_live10k', 'Buffer.allocUnsafe(size)', 'baseline', 800, {
      footprint_bytes_per_live_byte: 1.3,
    }),
  ],
};

/** The fixture plus the C micro mixed_live10k workload and its replay as a
 * synthetic trace (replay.c), where tlsf beats mimalloc's time and glibc's
 * footprint: a win that must not count as a real trace's. */
const replayRow = (trace: string, impl: string, kind: string, ns: number, overhead: number) => ({
  bench: 'replay',
  trace,
  impl,
  kind,
  cpu_ns_per_event: { median: ns, min: ns, max: ns },
  overhead,
  ref_cpu_ns_per_event: null,
  ref_overhead: null,
  failures: 0,
  reps: 3,
});
const withSynthetic = {
  ...fixture,
  records: [
    ...fixture.records,
    timed('micro', 'mixed_live10k', 'tlsf', 'family', 40),
    timed('micro', 'mixed_live10k', 'pool:tlsf', 'family', 50),
    timed('micro', 'mixed_live10k', 'glibc', 'malloc', 120),
    {
      bench: 'replay',
      trace: 'mixed_live10k',
      synthetic: true,
      events: 1010000,
      truncated: false,
      peak_live_bytes: 20 << 20,
      peak_live_objects: 10000,
    },
    replayRow('mixed_live10k', 'tlsf', 'family', 45, 1.06),
    replayRow('mixed_live10k', 'glibc', 'malloc', 130, 1.08),
    replayRow('mixed_live10k', 'mimalloc', 'malloc', 50, 1.2),
  ],
};

/** Minimal XML well-formedness: balanced tags, quoted attributes, known entities. */
function checkXml(xml: string): string | null {
  const stack: string[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<!doctype[^>]*>/gi;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const text = xml.slice(last, m.index);
    if (/[<>]/.test(text)) return `stray markup before offset ${m.index}: ${text.slice(0, 40)}`;
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text)) return `bad entity near ${m.index}`;
    last = tag.lastIndex;
    if (!m[2]) continue; // comment or doctype
    if (m[1]) {
      if (stack.pop() !== m[2]) return `unbalanced </${m[2]}> at ${m.index}`;
    } else if (!m[4]) stack.push(m[2]);
  }
  if (/[<>]/.test(xml.slice(last))) return 'stray markup at the end';
  return stack.length ? `unclosed <${stack.join('> <')}>` : null;
}

describe('bench charts', () => {
  const charts = renderCharts(fixture);
  const byKey = new Map(charts.map((c: { key: string; svg: string }) => [c.key, c.svg]));

  it('the XML check itself rejects broken markup', () => {
    expect(checkXml('<svg><g></svg>')).not.toBeNull();
    expect(checkXml('<svg><text>a & b</text></svg>')).not.toBeNull();
    expect(checkXml('<svg x=1></svg>')).not.toBeNull();
    expect(checkXml('<svg><g a="1"/><text>x &amp; y</text></svg>')).toBeNull();
  });

  it('renders one well-formed SVG per workload, plus a footprint chart per trace', () => {
    expect([...byKey.keys()]).toEqual([
      'micro/fixed64_pair',
      'micro/arena_small',
      'replay/sqlite3',
      'replay/sqlite3/footprint',
      'js/pair64',
      'js-gc/mixed_live10k',
      'js-gc/mixed_live10k/footprint',
    ]);
    for (const [key, svg] of byKey) {
      expect(checkXml(svg), key).toBeNull();
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), key).toBe(true);
    }
  });

  it('draws a bar for each implementation, coloured by role, with its ratio to the best baseline', () => {
    const svg = byKey.get('micro/fixed64_pair')!;
    for (const [impl, role] of [
      ['floor:freelist', 'floor'],
      ['fixed', 'ours'],
      ['buddy', 'ours'],
      ['glibc', 'baseline'],
      ['mimalloc', 'baseline'],
    ]) {
      expect(svg).toMatch(
        new RegExp(`<g data-impl="${impl}" data-role="${role}">[^]*?<rect [^>]*height="12"`),
      );
    }
    // fixed 4 ns against glibc 8 ns, the fastest baseline: 0.50×; buddy 400 / 8 = 50×.
    expect(svg).toContain('4.00 ns · 0.50× glibc');
    expect(svg).toContain('400 ns · 50.0× glibc');
    expect(svg).toContain('log scale'); // 1 .. 480 ns spans orders of magnitude
    expect(svg).toContain('skipped jemalloc: not installed (apt-get install libjemalloc-dev)');
    expect(byKey.get('micro/arena_small')).toContain('log scale'); // 1 .. 36
  });

  it('uses a linear axis when the values are close and a log axis when they are not', () => {
    expect(makeScale([3, 4, 5]).log).toBe(false);
    const log = makeScale([1, 1000]);
    expect(log.log).toBe(true);
    expect(log.ticks).toEqual([1, 10, 100, 1000]);
    expect(log.x(10) - log.x(1)).toBeCloseTo(log.x(1000) - log.x(100), 6);
  });

  it('the footprint chart marks allocators whose requests failed as not comparable', () => {
    const svg = byKey.get('replay/sqlite3/footprint')!;
    expect(svg).toMatch(
      /data-impl="slab"[^]*?fill-opacity="0.35"[^]*?not comparable: requests failed/,
    );
    expect(svg).toContain('1.10 · 0.79× glibc'); // tlsf 1.1 / glibc 1.4
  });

  it('the HTML page holds every chart and the targets', () => {
    const html = chartsHtml(fixture, { targets: evaluateTargets(fixture) });
    expect(
      checkXml(html.replace(/<meta[^>]*>/, '').replace(/<style>[\s\S]*?<\/style>/, '')),
    ).toBeNull();
    expect(html.match(/<svg /g)).toHaveLength(charts.length);
    expect(html).toContain('<h2 id="targets">Targets</h2>');
  });
});

describe('bench targets', () => {
  const targets = evaluateTargets(fixture) as {
    target: string;
    measured: string;
    status: string;
  }[];
  const find = (start: string) => {
    const t = targets.find((x) => x.target.startsWith(start));
    expect(t, start).toBeDefined();
    return t!;
  };

  it('evaluates absolute targets from the medians', () => {
    expect(find('C fixed pool alloc+free pair ≤ 1.5 ns')).toMatchObject({
      status: 'missed',
      measured: 'fixed 4.00 ns',
    });
    expect(find('JS FixedPool alloc+free pair, cached path ≤ 5 ns')).toMatchObject({
      status: 'met',
    });
  });

  it('takes the fastest slab implementation of the run, the inline one here', () => {
    const run = {
      ...fixture,
      records: [
        fixture.records[0],
        timed('micro', 'fixed64_pair', 'slab', 'family', 6),
        timed('micro', 'fixed64_pair', 'slab:inline', 'family', 1.8),
      ],
    };
    const slab = (evaluateTargets(run) as typeof targets).find((x) =>
      x.target.startsWith('C slab alloc+free pair'),
    );
    expect(slab).toMatchObject({ status: 'met', measured: 'slab:inline 1.80 ns' });
  });

  it('computes ratio targets as ratios of two medians of the run', () => {
    expect(find('C arena alloc ≤ 1.3×').measured).toBe(
      'arena 1.20 ns ÷ floor:bump 1.00 ns = 1.20×',
    );
    expect(find('C arena alloc ≤ 1.3×').status).toBe('met');
    // 13 / 4 = 3.25 ≥ 3: met; 800 / 10 = 80 ≥ 50: met.
    expect(find('JS cached FixedPool pair ≥ 3×').status).toBe('met');
    expect(find('JS cached FixedPool ≥ 50×').measured).toContain('= 80.0×');
    // Judged against the class floor (4 / 3 = 1.33 ≤ 1.5: met); the ratio to
    // the hand-inlined floor (4 / 2) is shown beside it, never hidden.
    expect(find('JS cached FixedPool pair ≤ 1.5×')).toMatchObject({
      status: 'met',
      measured:
        'FixedPool (cached) 4.00 ns ÷ floor: Int32Array free stack class 3.00 ns = 1.33× ' +
        '(÷ floor: Int32Array free stack in loop locals 2.00 ns = 2.00×)',
    });
  });

  it('says "not measured" where the run has no such case, and counts replay wins per trace', () => {
    expect(find('Compaction moves').status).toBe('unmeasured');
    expect(find('C buddy ≤ 20 ns/op').status).toBe('unmeasured'); // no mixed workload in the fixture
    // tlsf 20 ≤ mimalloc 25 and 1.1 ≤ glibc 1.4 on the one trace; slab failed requests: not counted.
    expect(find('Replay:')).toMatchObject({ status: 'missed', measured: '1 of 1: sqlite3 (tlsf)' });
  });
});

describe('C micro with huge pages for every allocator (micro-thp)', () => {
  const run = {
    ...fixture,
    records: [
      ...fixture.records,
      timed('micro', 'mixed_live10k', 'tlsf', 'family', 45),
      timed('micro', 'mixed_live10k', 'buddy', 'family', 19),
      timed('micro', 'mixed_live10k', 'mimalloc', 'malloc', 30),
      timed('micro-thp', 'mixed_live10k', 'tlsf', 'family', 33),
      timed('micro-thp', 'mixed_live10k', 'buddy', 'family', 16),
      timed('micro-thp', 'mixed_live10k', 'mimalloc', 'malloc', 30),
    ],
  };

  it('get their own table, after the default one', () => {
    const titles = buildSections(run).map((x: { title: string }) => x.title);
    const plain = titles.findIndex((t: string) => t.startsWith('C micro mixed_live10k'));
    const huge = titles.findIndex((t: string) =>
      t.startsWith('C micro, huge pages for every allocator, mixed_live10k'),
    );
    expect(plain).toBeGreaterThanOrEqual(0);
    expect(huge).toBeGreaterThan(plain);
  });

  it('are shown beside the targets they bear on; the verdict stays the default run', () => {
    const targets = evaluateTargets(run) as { target: string; measured: string; status: string }[];
    const tlsf = targets.find((x) => x.target.startsWith('C TLSF on mixed'))!;
    expect(tlsf.status).toBe('missed'); // 45 / 30; with huge pages 33 / 30 is a miss too
    expect(tlsf.measured).toBe(
      'tlsf 45.0 ns ÷ mimalloc 30.0 ns = 1.50× (huge pages for all: tlsf 33.0 ns ÷ mimalloc 30.0 ns = 1.10×)',
    );
    const buddy = targets.find((x) => x.target.startsWith('C buddy ≤ 20 ns/op'))!;
    expect(buddy).toMatchObject({
      status: 'met',
      measured: 'buddy 19.0 ns (huge pages for all: buddy 16.0 ns)',
    });
  });
});

describe('C replay tables', () => {
  it('show the system part of the CPU time and the page faults of each row', () => {
    const run = {
      ...fixture,
      records: fixture.records.map((r: Record<string, unknown>) =>
        r.bench === 'replay' && r.impl === 'tlsf'
          ? { ...r, sys_ns_per_event: 4.25, faults_per_1k_events: 2.34 }
          : r,
      ),
    };
    const replay = buildSections(run).find((x: { title: string }) =>
      x.title.startsWith('C replay sqlite3'),
    ) as { head: string[]; rows: string[][] };
    const sys = replay.head.indexOf('sys ns/event');
    const faults = replay.head.indexOf('faults/1k events');
    expect(sys).toBe(replay.head.indexOf('min–max') + 1);
    expect(faults).toBe(sys + 1);
    const tlsf = replay.rows.find((row) => row[0] === 'tlsf')!;
    expect([tlsf[sys], tlsf[faults]]).toEqual(['4.25', '2.3']);
    // Results of older runs have neither figure: the cells stay empty.
    const glibc = replay.rows.find((row) => row[0] === 'glibc')!;
    expect([glibc[sys], glibc[faults]]).toEqual(['', '']);
    expect(glibc.length).toBe(replay.head.length);
  });
});

describe('C micro workloads replayed as synthetic traces', () => {
  it('show their footprint in the C micro table, per implementation', () => {
    const sec = buildSections(withSynthetic).find((x: { title: string }) =>
      x.title.startsWith('C micro mixed_live10k'),
    );
    expect(sec.head).toContain('footprint');
    const col = sec.head.indexOf('footprint');
    const cell = (impl: string) => sec.rows.find((r: string[]) => r[0] === impl)[col];
    expect([cell('tlsf'), cell('glibc'), cell('pool:tlsf')]).toEqual(['1.06', '1.08', '-']);
    // A workload without a synthetic replay has no such column.
    const pair = buildSections(withSynthetic).find((x: { title: string }) =>
      x.title.startsWith('C micro fixed64_pair'),
    );
    expect(pair.head).not.toContain('footprint');
  });

  it('count for no replay target and sit in the headline as the micro row footprint', () => {
    const replay = evaluateTargets(withSynthetic).find((t: { target: string }) =>
      t.target.startsWith('Replay:'),
    );
    expect(replay).toMatchObject({ status: 'missed', measured: '1 of 1: sqlite3 (tlsf)' });
    const md = headlineMarkdown(withSynthetic, { source: 'bench/results/x.json' });
    expect(md).toContain(
      '| tlsf 40.0 ns, footprint 1.06 | glibc 120 ns, footprint 1.08 | **0.33×** |',
    );
    expect(md).not.toContain('C replay mixed_live10k');
  });
});

describe('bench tables', () => {
  it('gives each floor of a workload its own ratio heading', () => {
    const names = [
      'floor: Int32Array free stack class',
      'floor: Int32Array free stack in loop locals',
      'floor: empty native call',
      'floor:freelist',
    ].map(shortName);
    expect(names).toEqual(['floor class', 'floor locals', 'call', 'floor']);
  });
});

describe('README headline table', () => {
  it('compares our fastest clean implementation with the fastest baseline', () => {
    const md = headlineMarkdown(fixture, { source: 'bench/results/x.json' });
    expect(md).toContain('commit `abcdef012345`');
    expect(md).toContain(
      '| C fixed64_pair: alloc 64 B + free | fixed 4.00 ns | glibc 8.00 ns | **0.50×** |',
    );
    // slab replayed faster but failed requests: tlsf is the row shown.
    expect(md).toContain(
      '| tlsf 20.0 ns/event, footprint 1.10 | mimalloc 25.0 ns/event, footprint 1.90 | **0.80×** |',
    );
    expect(md).toContain('[where we lose](bench/README.md#where-we-lose)');
  });

  it('README.md shows the table generated from the results file it names', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = readBlock(readme);
    expect(block, 'README.md has no bench-table block').not.toBeNull();
    const source = /Full tables: \[([^\]]+)\.md\]/.exec(block!)?.[1];
    expect(source).toBeDefined();
    const run = JSON.parse(fs.readFileSync(path.join(root, `${source}.json`), 'utf8'));
    expect(block).toBe(headlineMarkdown(run, { source: `${source}.json` }));
  });
});

describe('results file names', () => {
  it('a second run of the same commit gets -run2, a third -run3: no run overwrites another', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-results-'));
    try {
      const base = '2026-01-02-abcdef012345';
      expect(freeResultsStem(dir, base)).toBe(base);
      fs.writeFileSync(path.join(dir, `${base}.json`), '{}');
      expect(freeResultsStem(dir, base)).toBe(`${base}-run2`);
      fs.writeFileSync(path.join(dir, `${base}-run2.json`), '{}');
      expect(freeResultsStem(dir, base)).toBe(`${base}-run3`);
      expect(freeResultsStem(dir, `${base}-quick`)).toBe(`${base}-quick`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('targets over many runs (bench/targets-history.mjs)', () => {
  // The fixture meets the slab target with slab:inline at 1.8 ns, misses it at 2.4.
  const withSlab = (ns: number) => ({
    ...fixture,
    records: [...fixture.records, timed('micro', 'fixed64_pair', 'slab:inline', 'family', ns)],
  });
  const runs = [
    { label: 'a', run: withSlab(1.8) },
    { label: 'b', run: withSlab(2.4) },
    { label: 'c', run: withSlab(1.9) },
  ];
  type Row = {
    target: string;
    met: number;
    runs: number;
    last: { status: string; measured: string; label: string } | null;
  };
  const rows = targetsHistory(runs) as Row[];
  const row = (start: string) => rows.find((r) => r.target.startsWith(start))!;

  it('counts the runs that met each target, and keeps the latest verdict', () => {
    expect(rows).toHaveLength(evaluateTargets(fixture).length);
    expect(row('C slab alloc+free pair')).toMatchObject({
      met: 2,
      runs: 3,
      last: { status: 'met', measured: 'slab:inline 1.90 ns', label: 'c' },
    });
    // Missed in every run: 0 of 3, not "not measured".
    expect(row('C fixed pool alloc+free pair ≤ 1.5 ns')).toMatchObject({ met: 0, runs: 3 });
  });

  it('leaves runs that did not measure a target out of its count', () => {
    const partial = targetsHistory([
      ...runs,
      { label: 'd', run: { ...fixture, records: [] } },
    ]) as Row[];
    const slab = partial.find((r) => r.target.startsWith('C slab alloc+free pair'))!;
    expect(slab).toMatchObject({ met: 2, runs: 3, last: { label: 'c' } });
    const compaction = partial.find((r) => r.target.startsWith('Compaction moves'))!;
    expect(compaction).toMatchObject({ met: 0, runs: 0, last: null });
    expect(historyMarkdown(partial, runs)).toMatch(/\| Compaction moves[^\n]*\| not measured \|/);
  });

  it('the command reads the files it is given, leaves quick runs out and refuses bad options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-history-'));
    try {
      const file = (name: string, run: object) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, JSON.stringify(run));
        return f;
      };
      const a = file('2026-01-01-a.json', { ...withSlab(1.8), date: '2026-01-01T00:00:00Z' });
      const b = file('2026-01-02-b.json', { ...withSlab(2.4), date: '2026-01-02T00:00:00Z' });
      const q = file('2026-01-03-q.json', {
        ...withSlab(1.0),
        date: '2026-01-03T00:00:00Z',
        quick: true,
      });
      const cli = path.join(root, 'bench', 'targets-history.mjs');
      const out = execFileSync(process.execPath, [cli, b, q, a], { encoding: 'utf8' });
      expect(out).toContain('2 full `npm run bench` runs');
      expect(out).toContain('(2026-01-01-a to 2026-01-02-b;');
      expect(out).toContain(
        '| C slab alloc+free pair ≤ 2 ns | 1 of 2 | missed: slab:inline 2.40 ns (2026-01-02-b) |',
      );
      const since = execFileSync(process.execPath, [cli, '--since', '2026-01-02', a, b], {
        encoding: 'utf8',
      });
      expect(since).toContain('| 0 of 1 |');
      expect(() =>
        execFileSync(process.execPath, [cli, '--since', 'yesterday', a], { stdio: 'pipe' }),
      ).toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a Markdown row per target with "k of n" and the runs it covers', () => {
    const md = historyMarkdown(rows, runs, 'node bench/targets-history.mjs --since 2026-01-01');
    expect(md.split('\n')[0]).toContain('3 full `npm run bench` runs');
    expect(md.split('\n')[0]).toContain(
      '(a to c; `node bench/targets-history.mjs --since 2026-01-01`)',
    );
    expect(md).toContain(
      '| #3 | C slab alloc+free pair ≤ 2 ns | 2 of 3 | met: slab:inline 1.90 ns (c) |',
    );
    expect(md.split('\n').filter((l) => l.startsWith('| #'))).toHaveLength(rows.length);
  });
});
