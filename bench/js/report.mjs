// Turns the collected records of one run into tables: cli-table3 for the
// terminal and Markdown for bench/results/*.md. A ratio column "x NAME" is
// this row's median / NAME's median, measured in the same run (above 1 =
// slower than NAME). Nothing here measures anything.
import Table from 'cli-table3';
import { evaluateTargets, targetSummary } from './targets.mjs';

export function fmtNs(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return x.toFixed(0);
}

const fmtRatio = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)}` : '-');
const fmtRange = (r) => `${fmtNs(r.min)}–${fmtNs(r.max)}`;
const fmtBytes = (b) =>
  b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(0)} KiB`;

/** A section: { title, note?, head: [...], rows: [[...]] }. */
function section(title, head, rows, note) {
  return { title, head, rows, note };
}

// Short names for ratio headings ("x Buffer" rather than the full case name).
export function shortName(impl) {
  const rules = [
    [/^Buffer\.allocUnsafe/, 'Buffer'],
    [/^new Uint8Array/, 'Uint8Array'],
    [/^@thi\.ng\/malloc/, 'thi.ng'],
    [/^floor: empty native call/, 'call'],
    [/^floor: Int32Array free stack class/, 'floor class'],
    [/^floor: Int32Array free stack in loop locals/, 'floor locals'],
    [/^floor/, 'floor'],
  ];
  for (const [re, name] of rules) if (re.test(impl)) return name;
  return impl;
}

function ratioColumns(records, isBaseline) {
  const bases = records.filter((r) => r.ns_per_op && isBaseline(r));
  return {
    head: bases.map((b) => `x ${shortName(b.impl)}`),
    cells: (r) => bases.map((b) => fmtRatio(r.ns_per_op.median / b.ns_per_op.median)),
  };
}

/**
 * Footprint of `impl` on the C micro workload `w`, from the replay of that
 * workload as a synthetic trace (replay.c: footprint / peak live bytes), or
 * undefined. Only fed to the C micro sections.
 */
function syntheticFootprint(records) {
  const synthetic = new Set(
    records.filter((r) => r.bench === 'replay' && r.synthetic && !r.impl).map((r) => r.trace),
  );
  return (w, impl) => {
    if (!synthetic.has(w)) return undefined;
    const r = records.find(
      (x) => x.bench === 'replay' && x.trace === w && x.impl === impl && x.cpu_ns_per_event,
    );
    return r && !(r.failures > 0) ? r.overhead : undefined;
  };
}

function timedSections(
  records,
  bench,
  titlePrefix,
  isBaseline,
  opOf,
  footprintOf = () => undefined,
) {
  const out = [];
  const workloads = [
    ...new Set(
      records.filter((r) => r.bench === bench && r.workload && r.ns_per_op).map((r) => r.workload),
    ),
  ];
  for (const w of workloads) {
    const rows = records.filter((r) => r.bench === bench && r.workload === w && r.ns_per_op);
    const ratios = ratioColumns(rows, isBaseline);
    const failures = rows.some((r) => r.failures > 0);
    const footprint = rows.some((r) => footprintOf(w, r.impl) !== undefined);
    out.push(
      section(
        `${titlePrefix} ${w}: ${opOf(w) ?? ''}`,
        [
          'impl',
          'kind',
          'ns/op median',
          'min–max',
          ...ratios.head,
          ...(footprint ? ['footprint'] : []),
          ...(failures ? ['failures'] : []),
        ],
        rows.map((r) => [
          r.impl,
          r.kind,
          fmtNs(r.ns_per_op.median),
          fmtRange(r.ns_per_op),
          ...ratios.cells(r),
          ...(footprint ? [footprintOf(w, r.impl)?.toFixed(2) ?? '-'] : []),
          ...(failures ? [String(r.failures)] : []),
        ]),
        footprint
          ? `Footprint: memory / peak live bytes requested, from the replay of this workload as a synthetic trace (section "C replay ${w}"); '-' where that replay has no such allocator.`
          : undefined,
      ),
    );
  }
  return out;
}

function replaySections(records, meta) {
  const out = [];
  const traces = records.filter((r) => r.bench === 'replay' && r.trace && !r.impl);
  for (const t of traces) {
    const rows = records.filter((r) => r.bench === 'replay' && r.trace === t.trace && r.impl);
    const timed = rows.filter((r) => r.cpu_ns_per_event);
    const bases = timed.filter((r) => r.kind === 'malloc');
    const head = [
      'impl',
      'CPU ns/event',
      'min–max',
      'sys ns/event',
      'faults/1k events',
      ...bases.map((b) => `x ${b.impl}`),
      'overhead',
      'ref ns',
      'ref ovh',
      'failures',
      'note',
    ];
    const body = rows.map((r) => {
      if (!r.cpu_ns_per_event)
        return [
          r.impl,
          '-',
          '-',
          '-',
          '-',
          ...bases.map(() => '-'),
          '-',
          '-',
          '-',
          '-',
          r.error ?? '',
        ];
      const c = r.cpu_ns_per_event;
      const notes = [];
      if (r.timed_out) notes.push(`budget hit after ${r.events_replayed} events`);
      if (r.failures > 0) notes.push('overhead not comparable: failed requests hold no memory');
      if (r.note) notes.push(r.note);
      return [
        r.impl,
        fmtNs(c.median),
        fmtRange(c),
        r.sys_ns_per_event == null ? '' : fmtNs(r.sys_ns_per_event),
        r.faults_per_1k_events == null ? '' : r.faults_per_1k_events.toFixed(1),
        ...bases.map((b) => fmtRatio(c.median / b.cpu_ns_per_event.median)),
        r.failures > 0 ? `(${r.overhead.toFixed(2)})` : r.overhead.toFixed(2),
        r.ref_cpu_ns_per_event == null || t.truncated ? '' : fmtNs(r.ref_cpu_ns_per_event),
        r.ref_overhead == null || t.truncated ? '' : r.ref_overhead.toFixed(2),
        String(r.failures),
        notes.join('; '),
      ];
    });
    const events = t.truncated
      ? `first ${t.events} events, no reference for a prefix`
      : `${t.events} events`;
    const kind = t.synthetic ? 'synthetic: the C micro workload as a trace, ' : '';
    out.push(
      section(
        `C replay ${t.trace} (${kind}${events}, peak live ${fmtBytes(t.peak_live_bytes)} in ${t.peak_live_objects} objects, ${meta?.mode ?? 'page-touch'})`,
        head,
        body,
      ),
    );
  }
  return out;
}

function gcSections(records) {
  const rows = records.filter((r) => r.bench === 'js-gc' && r.ns_per_op);
  if (rows.length === 0) return [];
  const ratios = ratioColumns(rows, (r) => r.impl.startsWith('Buffer.allocUnsafe'));
  return [
    section(
      'JS mixed_live10k with GC (drop/free a random live block + alloc 16..4096 B, 10,000 live; node --expose-gc)',
      [
        'impl',
        'kind',
        'wall ns/op median',
        'min–max',
        'GC pause ns/op',
        'deferred GC ns/op',
        'CPU ns/op',
        'GC pauses',
        'memory / live bytes',
        ...ratios.head,
        'failures',
      ],
      rows.map((r) => [
        r.impl,
        r.kind,
        fmtNs(r.ns_per_op.median),
        fmtRange(r.ns_per_op),
        fmtNs(r.gc_ns_per_op?.median),
        fmtNs(r.deferred_gc_ns_per_op?.median),
        fmtNs(r.cpu_ns_per_op?.median),
        String(r.gc_pauses),
        r.footprint_bytes_per_live_byte?.toFixed(2) ?? '-',
        ...ratios.cells(r),
        String(r.failures),
      ]),
      'Wall = the run + the deferred GC (a full gc() after the run less the same gc() before it: the garbage the sample left). CPU = all threads (V8 marks concurrently). Memory = heapUsed + arrayBuffers grown by creating and prefilling the case, over the requested bytes of the 10,000 live blocks; for region allocators that is the region size chosen here.',
    ),
  ];
}

function callgrindSections(records) {
  const rows = records.filter((r) => r.bench === 'callgrind');
  if (rows.length === 0) return [];
  return [
    section(
      'C instructions per op (callgrind; does not move with machine noise)',
      ['workload', 'impl', 'instructions/op'],
      rows.map((r) => [
        r.workload,
        r.impl,
        r.skipped ? `- (${r.skipped})` : r.instructions_per_op.toFixed(1),
      ]),
    ),
  ];
}

function skippedSection(records) {
  const seen = new Map();
  for (const r of records) {
    if (!r.skipped || r.bench === 'callgrind') continue;
    const key = `${r.bench}|${r.impl}`;
    if (!seen.has(key)) seen.set(key, [r.bench, r.impl, r.skipped]);
  }
  if (seen.size === 0) return [];
  return [section('Skipped (never faked)', ['bench', 'impl', 'reason'], [...seen.values()])];
}

/** Every numeric target of issues #2–#6 against this run (targets.mjs). */
export function targetsSection(run) {
  const rows = evaluateTargets(run);
  return section(
    `Targets of issues #2–#6, this run: ${targetSummary(rows)}`,
    ['issue', 'target', 'measured (same run)', 'result'],
    rows.map((t) => [
      `#${t.issue}`,
      t.target,
      t.measured,
      t.status === 'unmeasured' ? 'not measured' : t.status,
    ]),
    "Computed by bench/js/targets.mjs from this run's records: ratio targets are ratios of two medians of this run.",
  );
}

/** All sections of a run, in display order. */
export function buildSections(run) {
  const recs = run.records;
  const opOf = (bench) => (w) =>
    recs.find((r) => r.bench === bench && r.workload_info?.name === w)?.workload_info.op;
  const microMeta = recs.find((r) => r.bench === 'micro' && r.meta)?.meta;
  const microOps = Object.fromEntries((microMeta?.workloads ?? []).map((w) => [w.name, w.op]));
  const replayMeta = recs.find((r) => r.bench === 'replay' && r.meta)?.meta;
  return [
    ...timedSections(
      recs,
      'micro',
      'C micro',
      (r) => r.kind === 'malloc' || r.kind === 'floor',
      (w) => microOps[w],
      syntheticFootprint(recs),
    ),
    ...timedSections(
      recs,
      'micro-thp',
      'C micro, huge pages for every allocator,',
      (r) => r.kind === 'malloc' || r.kind === 'floor',
      (w) => microOps[w],
    ),
    ...callgrindSections(recs),
    ...replaySections(recs, replayMeta),
    ...timedSections(
      recs,
      'js',
      'JS',
      (r) => r.kind === 'baseline' || r.kind === 'floor',
      opOf('js'),
    ),
    ...gcSections(recs),
    ...skippedSection(recs),
    targetsSection(run),
    ...run.errors.map((e) => section(`Error: ${e.step}`, ['message'], [[e.message]])),
  ];
}

export function renderText(sections) {
  return sections
    .map((s) => {
      const t = new Table({ head: s.head, style: { head: [], border: [], compact: true } });
      for (const r of s.rows) t.push(r);
      return `\n${s.title}\n${t.toString()}`;
    })
    .join('\n');
}

const mdCell = (c) => String(c).replace(/\|/g, '\\|');

export function renderMarkdown(run, sections, { chartsFile } = {}) {
  const m = run.machine;
  const lines = [
    `# Benchmark results ${run.date}`,
    '',
    `- command: \`${run.command}\`${run.quick ? ' (quick mode: short samples, truncated traces)' : ''}`,
    `- commit: ${run.commit.hash}${run.commit.dirty ? ' (work tree had uncommitted changes)' : ''}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${fmtBytes(m.memoryBytes)} RAM, ${m.os}; load average ${m.loadAverageAtStart?.join(' ')} at start, ${m.loadAverageAtEnd?.join(' ')} at end`,
    `- node ${run.node}; ${run.compilers.join('; ')}`,
    `- libraries: ${Object.entries(run.libraries)
      .map(([k, v]) => `${k} ${v || 'not installed (see Skipped)'}`)
      .join(', ')}`,
    `- duration: ${run.durationSeconds.toFixed(0)} s`,
    ...(chartsFile
      ? [
          `- charts: [${chartsFile}](${chartsFile}) (one self-contained HTML page, one SVG per workload)`,
        ]
      : []),
    '',
    'Ratios "x NAME" = this row / NAME, same run (above 1 = slower). Replay overhead = footprint / peak live bytes requested (see bench/README.md); "ref" = the traces README reference figures.',
  ];
  // The targets lead the Markdown report (on a terminal they close it).
  const ordered = [
    ...sections.filter((s) => s.title.startsWith('Targets')),
    ...sections.filter((s) => !s.title.startsWith('Targets')),
  ];
  for (const s of ordered) {
    lines.push(
      '',
      `## ${s.title}`,
      ...(s.note ? ['', s.note] : []),
      '',
      `| ${s.head.map(mdCell).join(' | ')} |`,
      `|${s.head.map(() => '---').join('|')}|`,
    );
    for (const r of s.rows) lines.push(`| ${r.map(mdCell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
