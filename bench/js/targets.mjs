// Every numeric target of issues #2–#6, evaluated against one results file:
// the measured value from that run and met / missed (or "not measured" when
// the run has no such case). Targets stated as ratios are computed as ratios
// of two medians of the same run; "adds ≤ N ns" targets as differences.
// Cases are found by workload and implementation name, taking the fastest
// matching implementation (so a faster variant added later counts, and its
// name is shown).
import { fmtTime, fmtX, workloadGroups } from './workloads.mjs';

const notMeasured = (why) => ({ status: 'unmeasured', measured: `not measured: ${why}` });
const verdict = (ok) => (ok ? 'met' : 'missed');
const ns = (row) => `${row.impl} ${fmtTime(row.median)}`;

function finder(run) {
  const groups = workloadGroups(run);
  const byKey = new Map(groups.map((g) => [g.key, g]));
  /** Fastest row of `key` whose impl matches `re` (and role, if given). */
  const row = (key, re, role) => {
    const g = byKey.get(key);
    if (!g) return null;
    let best = null;
    for (const r of g.rows)
      if (re.test(r.impl) && (!role || r.role === role) && (!best || r.median < best.median))
        best = r;
    return best;
  };
  return { groups, byKey, row };
}

/** value ≤ limit (ns), from one row. */
function atMost(key, re, limit, role = 'ours') {
  return (f) => {
    const r = f.row(key, re, role);
    if (!r) return notMeasured(`no such case in ${key}`);
    return { status: verdict(r.median <= limit), measured: ns(r) };
  };
}

/** a.median / b.median compared with `limit` (≤ or ≥). */
function ratio(key, reA, reB, limit, cmp, { roleA = 'ours', invert = false } = {}) {
  return (f) => {
    const a = f.row(key, reA, roleA);
    const b = f.row(key, reB);
    if (!a || !b) return notMeasured(`${key} lacks one of the two cases`);
    const x = invert ? b.median / a.median : a.median / b.median;
    const ok = cmp === '<=' ? x <= limit : x >= limit;
    const text = invert ? `${ns(b)} ÷ ${ns(a)} = ${fmtX(x)}` : `${ns(a)} ÷ ${ns(b)} = ${fmtX(x)}`;
    return { status: verdict(ok), measured: text };
  };
}

/** `check` on the default run, its measured text followed by the same check
 * on the huge-pages run of the workload (micro-thp), when the run has one:
 * the verdict stays the default run's. */
function withHugePages(check) {
  return (f) => {
    const base = check(f);
    const thp = check({
      ...f,
      row: (key, re, role) => f.row(key.replace(/^micro\//, 'micro-thp/'), re, role),
    });
    if (base.status === 'unmeasured' || thp.status === 'unmeasured') return base;
    return { ...base, measured: `${base.measured} (huge pages for all: ${thp.measured})` };
  };
}

/** a.median − b.median ≤ limit ns. */
function adds(key, reA, reB, limit) {
  return (f) => {
    const a = f.row(key, reA);
    const b = f.row(key, reB);
    if (!a || !b) return notMeasured(`${key} lacks one of the two cases`);
    const d = a.median - b.median;
    return {
      status: verdict(d <= limit),
      measured: `${fmtTime(a.median)} − ${fmtTime(b.median)} = ${fmtTime(d)}`,
    };
  };
}

/** All of several checks (each labelled) must be met. */
function all(labelled) {
  return (f) => {
    const parts = labelled.map(([label, check]) => [label, check(f)]);
    const missing = parts.find(([, r]) => r.status === 'unmeasured');
    if (missing) return missing[1];
    return {
      status: parts.every(([, r]) => r.status === 'met') ? 'met' : 'missed',
      measured: parts.map(([label, r]) => `${label}: ${r.measured}`).join('; '),
    };
  };
}

/** The first of several checks that has a measurement. */
function firstMeasured(...checks) {
  return (f) => {
    let last = null;
    for (const c of checks) {
      last = c(f);
      if (last.status !== 'unmeasured') return last;
    }
    return last;
  };
}

const SYSTEM = /^(glibc|jemalloc|mimalloc)$/;

/** Trace replay: a family at or below mimalloc's CPU and glibc's footprint. */
function replayBoth(f) {
  // Real programs' traces only: the synthetic ones are the micro workloads.
  const traces = f.groups.filter((g) => g.bench === 'replay' && !g.synthetic && g.rows.length > 0);
  if (traces.length === 0) return notMeasured('no trace replay in this run');
  const wins = [];
  for (const g of traces) {
    const mi = g.rows.find((r) => r.impl === 'mimalloc');
    const gl = g.footprint?.rows.find((r) => r.impl === 'glibc');
    if (!mi || !gl) continue;
    const winner = g.rows.find((r) => {
      const fp = g.footprint.rows.find((x) => x.impl === r.impl);
      return r.role === 'ours' && fp?.comparable && r.median <= mi.median && fp.value <= gl.value;
    });
    if (winner) wins.push(`${g.workload} (${winner.impl})`);
  }
  const quick = traces.some((g) => /first \d+ events/.test(g.op)) ? ', trace prefixes only' : '';
  return {
    status: verdict(wins.length >= 3),
    measured: `${wins.length} of ${traces.length}${quick}${wins.length ? `: ${wins.join(', ')}` : ''}`,
  };
}

/** Compaction throughput: the mixed-size case (16..4096 B) of the default
 * strategy (TLSF) when present, else the first record of a workload named
 * like "compact"; the range over every size and strategy is shown with it. */
function compaction(f) {
  const gbs = (r) => {
    const g = r.record.gb_per_s;
    return typeof g === 'number' ? g : g?.median;
  };
  const rows = f.groups
    .flatMap((g) => g.rows)
    .filter(
      (r) => /compact/i.test(`${r.record.workload ?? ''} ${r.impl}`) && Number.isFinite(gbs(r)),
    );
  if (rows.length === 0) return notMeasured('no compaction case reporting gb_per_s');
  const pick =
    rows.find((r) => r.record.workload === 'compact_mixed' && /tlsf/.test(r.impl)) ??
    rows.find((r) => r.record.workload === 'compact_mixed') ??
    rows[0];
  const all = rows.map(gbs);
  const range =
    rows.length > 1
      ? ` (all sizes and strategies: ${Math.min(...all).toFixed(2)}–${Math.max(...all).toFixed(2)})`
      : '';
  const v = gbs(pick);
  return {
    status: verdict(v >= 2),
    measured: `${pick.impl} ${pick.record.workload ?? ''} ${v.toFixed(2)} GB/s${range}`,
  };
}

const FIXED_CACHED = /^FixedPool(?!.*(cacheSize 0|uncached))/;

export const TARGETS = [
  {
    issue: 2,
    target: 'C fixed pool alloc+free pair ≤ 1.5 ns',
    check: atMost('micro/fixed64_pair', /^fixed/, 1.5),
  },
  { issue: 2, target: 'C arena alloc ≤ 1.2 ns', check: atMost('micro/arena_small', /^arena/, 1.2) },
  {
    issue: 2,
    target: 'JS FixedPool alloc+free pair, cached path ≤ 5 ns',
    check: atMost('js/pair64', FIXED_CACHED, 5),
  },
  {
    issue: 2,
    target: 'JS one uncached native alloc+free pair ≤ 35 ns',
    check: atMost('js/pair64', /cacheSize 0|uncached/, 35),
  },
  {
    issue: 2,
    target: 'JS batch ≤ 2.5 ns per element (here one element = one alloc + one free)',
    check: atMost('js/batch64', /allocMany/, 2.5),
  },
  {
    issue: 3,
    target: 'C TLSF on mixed 16–4096 B, 10,000 live ≤ the fastest system allocator (ratio ≤ 1)',
    check: withHugePages(ratio('micro/mixed_live10k', /^tlsf$/, SYSTEM, 1, '<=')),
  },
  {
    issue: 3,
    target: 'C slab alloc+free pair ≤ 2 ns',
    // slab or slab:inline, whichever is faster in the run (as fixed / fixed:inline)
    check: atMost('micro/fixed64_pair', /^slab/, 2),
  },
  {
    issue: 3,
    target: 'C buddy ≤ 20 ns/op (mixed 16–4096 B, 10,000 live)',
    check: withHugePages(atMost('micro/mixed_live10k', /^buddy/, 20)),
  },
  {
    issue: 3,
    target: 'Replay: one family ≤ mimalloc CPU ns/event and ≤ glibc footprint on ≥ 3 of 5 traces',
    check: replayBoth,
  },
  {
    issue: 4,
    target: 'C mp_pool with tlsf ≤ 1.3× raw TLSF per op (mixed 16–4096 B)',
    check: withHugePages(ratio('micro/mixed_live10k', /^(mp_)?pool\W*tlsf/i, /^tlsf$/, 1.3, '<=')),
  },
  {
    issue: 4,
    target: 'JS MemoryPool.allocate+free ≤ 60 ns per pair',
    check: firstMeasured(
      atMost('js/mpool_pair64', /^MemoryPool tlsf$/, 60),
      atMost('js/module_guard64', /^MemoryPool allocate \+ free/, 60, null),
    ),
  },
  {
    issue: 4,
    target: 'JS MemoryPool read/write of 64 B by handle ≤ 40 ns',
    check: all([
      [
        'write',
        firstMeasured(
          atMost('js/mpool_rw64', /^MemoryPool\.write/, 40),
          atMost('js/module_write64', /^MemoryPool\.write/, 40, null),
        ),
      ],
      [
        'read',
        firstMeasured(
          atMost('js/mpool_rw64', /^MemoryPool\.readInto/, 40),
          atMost('js/module_read64', /^MemoryPool\.readInto/, 40, null),
        ),
      ],
    ]),
  },
  {
    issue: 4,
    target:
      'JS access through view(handle) as fast as a plain typed array (ratio ≤ 1.10: one run’s noise)',
    check: ratio(
      'js/mpool_view64',
      /^through MemoryPool\.view/,
      /^plain new Uint8Array/,
      1.1,
      '<=',
    ),
  },
  { issue: 4, target: 'Compaction moves ≥ 2 GB/s of live data', check: compaction },
  {
    issue: 5,
    target: 'Guarded allocate+free adds ≤ 150 ns to the unguarded path',
    check: adds('js/module_guard64', /allocateGuarded/, /unguarded/, 150),
  },
  {
    issue: 5,
    target: 'Module calls by pool name add ≤ 20 ns to the MemoryPool call',
    check: all([
      ['write', adds('js/module_write64', /^module\.write/, /^MemoryPool\.write/, 20)],
      ['read', adds('js/module_read64', /^module\.read/, /^MemoryPool\.readInto/, 20)],
    ]),
  },
  {
    issue: 5,
    target: 'A collection of 100,000 collectable blocks ≤ 50 ms',
    check: (f) => {
      const r = f.row('js/module_collect', /100000|100,000/);
      if (!r) return notMeasured('no module_collect case');
      return { status: verdict(r.median <= 50e6), measured: fmtTime(r.median) };
    },
  },
  {
    issue: 6,
    target:
      'JS cached FixedPool pair ≤ 1.5× a pure-JS Int32Array free stack (a class with alloc()/free(), as the issue measured it: ~3.3 ns)',
    check: (f) => {
      const verdictRow = ratio(
        'js/pair64',
        FIXED_CACHED,
        /^floor: Int32Array free stack class/,
        1.5,
        '<=',
      )(f);
      const ours = f.row('js/pair64', FIXED_CACHED, 'ours');
      const bare = f.row('js/pair64', /^floor: Int32Array free stack in loop locals/);
      if (verdictRow.status === 'unmeasured' || !ours || !bare) return verdictRow;
      const x = ours.median / bare.median;
      return { ...verdictRow, measured: `${verdictRow.measured} (÷ ${ns(bare)} = ${fmtX(x)})` };
    },
  },
  {
    issue: 6,
    target: 'JS cached FixedPool pair ≥ 3× faster than @thi.ng/malloc',
    check: ratio('js/pair64', FIXED_CACHED, /^@thi\.ng\/malloc/, 3, '>=', { invert: true }),
  },
  {
    issue: 6,
    target:
      'JS cached FixedPool ≥ 50× faster than Buffer.allocUnsafe on mixed 16–4096 B counting GC time',
    check: ratio('js-gc/mixed_live10k', /^FixedPool/, /^Buffer\.allocUnsafe/, 50, '>=', {
      invert: true,
    }),
  },
  {
    issue: 6,
    target: 'C fixed pool pair ≤ 1.3× a hand-written inline free list',
    check: ratio('micro/fixed64_pair', /^fixed/, /^floor:freelist/, 1.3, '<='),
  },
  {
    issue: 6,
    target: 'C arena alloc ≤ 1.3× an inline bump pointer',
    check: ratio('micro/arena_small', /^arena/, /^floor:bump/, 1.3, '<='),
  },
];

/** [{ issue, target, measured, status: met | missed | unmeasured }] for a run. */
export function evaluateTargets(run) {
  const f = finder(run);
  return TARGETS.map((t) => ({ issue: t.issue, target: t.target, ...t.check(f) }));
}

/** "7 met, 12 missed, 3 not measured". */
export function targetSummary(rows) {
  const count = (s) => rows.filter((r) => r.status === s).length;
  return `${count('met')} met, ${count('missed')} missed, ${count('unmeasured')} not measured`;
}
