// One view of a results file for the chart, the README table and the targets:
// every workload of every bench, its implementations with their role (ours,
// baseline, floor) and their figures. Generic over whatever cases the JSON
// holds, so a case added to a bench appears everywhere without a change here.
//
// A row's role comes from its record's `kind`: family/ours = ours,
// malloc/baseline = baseline, floor (or a name starting with "floor") = floor.

/** ours | baseline | floor, from a record's kind and name. */
export function roleOf(record) {
  if (record.kind === 'floor' || /^floor\b/.test(record.impl ?? '')) return 'floor';
  if (record.kind === 'malloc' || record.kind === 'baseline') return 'baseline';
  return 'ours';
}

const BENCH_PREFIX = {
  micro: 'C',
  'micro-thp': 'C, huge pages for all:',
  compact: 'C',
  js: 'JS',
  'js-gc': 'JS',
};

function timedRow(r, stat) {
  return {
    impl: r.impl,
    kind: r.kind,
    role: roleOf(r),
    median: stat.median,
    min: stat.min,
    max: stat.max,
    failures: r.failures ?? 0,
    record: r,
  };
}

/**
 * Workload groups of a run, in the order the benches emitted them:
 * { key, bench, workload, title, op, metric, rows, skipped, footprint? }.
 * rows: { impl, kind, role, median, min, max, failures, record }.
 * footprint (replay, JS with GC): { metric, note, rows: { impl, role, value, comparable } }.
 */
export function workloadGroups(run) {
  const recs = run.records ?? [];
  const groups = new Map();
  const benchSkips = [];
  const ops = new Map();
  for (const r of recs) {
    if (r.workload_info) ops.set(`${r.bench}/${r.workload_info.name}`, r.workload_info.op);
    if (r.meta?.workloads) for (const w of r.meta.workloads) ops.set(`${r.bench}/${w.name}`, w.op);
  }
  const group = (bench, workload, extra) => {
    const key = `${bench}/${workload}`;
    if (!groups.has(key))
      groups.set(key, {
        key,
        bench,
        workload,
        title: `${BENCH_PREFIX[bench] ?? bench} ${workload}`,
        op: ops.get(key) ?? '',
        metric: 'ns/op',
        rows: [],
        skipped: [],
        ...extra,
      });
    return groups.get(key);
  };
  for (const r of recs) {
    if (r.bench === 'replay' && r.trace && !r.impl) {
      group('replay', r.trace, {
        title: `C replay ${r.trace}${r.synthetic ? ' (synthetic)' : ''}`,
        synthetic: r.synthetic === true,
        op: r.synthetic
          ? `${r.events} events: the C micro workload ${r.trace} as a trace (10,000 live, then free + alloc)`
          : r.truncated
            ? `first ${r.events} events of the trace (quick run)`
            : `${r.events} events of a real program's malloc/free/realloc`,
        metric: 'CPU ns/event',
        footprint: {
          metric: 'footprint / peak live bytes',
          note: '1.00 = not one byte beyond what the program asked for',
          rows: [],
        },
      });
      continue;
    }
    if (!r.impl || r.meta || r.bench === 'callgrind') continue;
    if (r.bench === 'replay' && !r.trace) {
      benchSkips.push(r); // e.g. no trace files at all
      continue;
    }
    if (r.bench === 'replay') {
      const g = group('replay', r.trace);
      if (!r.cpu_ns_per_event) {
        g.skipped.push({ impl: r.impl, reason: r.error ?? r.skipped ?? 'no result' });
        continue;
      }
      g.rows.push(timedRow(r, r.cpu_ns_per_event));
      g.footprint?.rows.push({
        impl: r.impl,
        role: roleOf(r),
        value: r.overhead,
        // Requests that failed hold no memory: such a footprint is no saving.
        comparable: !(r.failures > 0),
      });
      continue;
    }
    if (!r.workload) {
      // A skip record without a workload (the C benches skip a whole family).
      if (r.skipped) benchSkips.push(r);
      continue;
    }
    const g = group(r.bench, r.workload);
    if (r.skipped) {
      g.skipped.push({ impl: r.impl, reason: r.skipped });
      continue;
    }
    if (!r.ns_per_op) continue;
    if (r.bench === 'js-gc') g.metric = 'wall ns/op incl. GC';
    g.rows.push(timedRow(r, r.ns_per_op));
    if (r.footprint_bytes_per_live_byte !== undefined) {
      g.footprint ??= {
        metric: 'memory / live bytes requested',
        note: 'heap + array buffers after the prefill, over the bytes of the 10,000 live blocks (region allocators: the region size chosen)',
        rows: [],
      };
      g.footprint.rows.push({
        impl: r.impl,
        role: roleOf(r),
        value: r.footprint_bytes_per_live_byte,
        comparable: true,
      });
    }
  }
  for (const r of benchSkips)
    for (const g of groups.values())
      if (g.bench === r.bench && !g.skipped.some((s) => s.impl === r.impl))
        g.skipped.push({ impl: r.impl, reason: r.skipped });
  // A synthetic replay is a C micro workload run as a trace: its footprint
  // is that workload's footprint too.
  for (const g of groups.values()) {
    const micro = g.synthetic ? groups.get(`micro/${g.workload}`) : undefined;
    if (micro && g.footprint)
      micro.footprint = { ...g.footprint, note: `${g.footprint.note}; from ${g.title}` };
  }
  return [...groups.values()].filter((g) => g.rows.length > 0 || g.skipped.length > 0);
}

/** The fastest baseline row of a group (by median; see bestOf), or null. */
export function bestBaseline(group) {
  return bestOf(group, 'baseline');
}

/**
 * The fastest row of `role` in a group, optionally among impls matching `re`.
 * Rows that failed requests are passed over while one without failures
 * exists: a replay that skipped the large blocks is not faster, only shorter.
 */
export function bestOf(group, role, re) {
  const pick = (clean) => {
    let best = null;
    for (const r of group.rows)
      if (
        r.role === role &&
        (!clean || !(r.failures > 0)) &&
        (!re || re.test(r.impl)) &&
        (best === null || r.median < best.median)
      )
        best = r;
    return best;
  };
  return pick(true) ?? pick(false);
}

/** ns with a unit that reads well from 1 ns to seconds. */
export function fmtTime(ns) {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '-';
  const [v, unit] =
    ns >= 1e9
      ? [ns / 1e9, 's']
      : ns >= 1e6
        ? [ns / 1e6, 'ms']
        : ns >= 1e4
          ? [ns / 1e3, 'µs']
          : [ns, 'ns'];
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${unit}`;
}

/** A ratio as "0.67×" / "12.3×". */
export function fmtX(x) {
  if (!Number.isFinite(x)) return '-';
  return `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)}×`;
}

/** One-line description of where and when a run was made. */
export function runLine(run) {
  const m = run.machine ?? {};
  const hash = run.commit?.hash ?? 'unknown';
  return (
    `${run.date?.slice(0, 10) ?? '?'}, commit ${hash.slice(0, 12)}${run.commit?.dirty ? ' (uncommitted changes)' : ''}, ` +
    `${m.cpu ?? '?'} × ${m.cores ?? '?'}, load ${m.loadAverageAtStart?.[0] ?? '?'}, node ${run.node ?? '?'}` +
    `${run.quick ? ', quick mode (figures for checking, not quoting)' : ''}`
  );
}
