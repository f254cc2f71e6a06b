// Charts of a results file: one SVG per workload (horizontal bars of the
// median per implementation, min–max whiskers, ours / baselines / floors in
// distinct colours, a log axis when the values span orders of magnitude, the
// ratio of each of ours to the best baseline written beside its bar), one
// footprint SVG per trace replay, and one self-contained HTML page holding
// them all with the targets table. Pure functions of the results JSON: no
// measuring, no dependencies. `node bench/chart.mjs <results.json>` writes it.
import { bestBaseline, fmtTime, fmtX, roleOf, runLine, workloadGroups } from './workloads.mjs';

export const COLORS = { ours: '#2563eb', baseline: '#ea580c', floor: '#9ca3af' };
const LABEL = { ours: 'ours', baseline: 'baseline', floor: 'floor (least possible work)' };
const W = 900;
const LEFT = 270; // implementation names
const PLOT = 380;
const ROW = 20;
const BAR = 12;
const TOP = 76; // title, two subtitle lines, legend

export function xmlEscape(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const n2 = (x) => (Math.round(x * 10) / 10).toString();

/** A log axis when max/min >= 20 (and all positive), else linear from 0. */
export function makeScale(values, { forceLinear = false } = {}) {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.min(...pos);
  const hi = Math.max(...pos);
  if (!forceLinear && pos.length > 0 && hi / lo >= 20) {
    const d0 = Math.floor(Math.log10(lo));
    const d1 = Math.max(d0 + 1, Math.ceil(Math.log10(hi)));
    const ticks = [];
    for (let d = d0; d <= d1; d++) {
      ticks.push(10 ** d);
      if (d1 - d0 <= 2 && d < d1) ticks.push(2 * 10 ** d, 5 * 10 ** d);
    }
    const x = (v) => LEFT + (PLOT * (Math.log10(Math.max(v, 10 ** d0)) - d0)) / (d1 - d0);
    return { log: true, x, origin: LEFT, ticks: ticks.sort((a, b) => a - b) };
  }
  const top = pos.length ? hi : 1;
  const step = niceStep(top / 5);
  const max = Math.ceil(top / step) * step;
  const ticks = [];
  for (let t = 0; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { log: false, x: (v) => LEFT + (PLOT * Math.max(0, v)) / max, origin: LEFT, ticks };
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** The legend of the roles present among `rows`. */
function legend(y, rows) {
  const roles = ['ours', 'baseline', 'floor'].filter((k) => rows.some((r) => r.role === k));
  let x = LEFT;
  const out = [];
  for (const role of roles) {
    out.push(
      `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${COLORS[role]}"/>`,
      `<text x="${x + 14}" y="${y}" font-size="11">${xmlEscape(LABEL[role])}</text>`,
    );
    x += 24 + LABEL[role].length * 6.5;
  }
  return out.join('');
}

function axis(scale, y0, y1, fmt) {
  const out = [];
  for (const t of scale.ticks) {
    const x = n2(scale.x(t));
    out.push(
      `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#e5e7eb"/>`,
      `<text x="${x}" y="${y1 + 13}" font-size="10" text-anchor="middle" fill="#4b5563">${xmlEscape(fmt(t))}</text>`,
    );
  }
  return out.join('');
}

function frame(height, title, subtitle, body) {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img">` +
    `<title>${xmlEscape(title)}</title>` +
    `<rect width="${W}" height="${height}" fill="#ffffff"/>` +
    `<text x="8" y="20" font-size="15" font-weight="600">${xmlEscape(title)}</text>` +
    subtitle
      .map(
        (line, i) =>
          `<text x="8" y="${37 + 14 * i}" font-size="11" fill="#4b5563">${xmlEscape(line)}</text>`,
      )
      .join('') +
    body +
    `</svg>`
  );
}

/** The timing chart of one workload group (see workloads.mjs). */
export function timingSvg(group, run = {}) {
  const rows = [...group.rows].sort((a, b) => a.median - b.median);
  const scale = makeScale(rows.flatMap((r) => [r.min, r.max, r.median]));
  // Times get a unit (ns .. s); counts (instructions/op) are plain numbers.
  const fmt = /ns\b/.test(group.metric) ? fmtTime : (v) => String(Math.round(v * 10) / 10);
  const best = bestBaseline(group);
  const y0 = TOP;
  const y1 = y0 + rows.length * ROW + 4;
  const parts = [legend(TOP - 10, rows)];
  // Tick labels without trailing zeros: "1 ns", "2.5 µs".
  parts.push(
    axis(scale, y0 - 2, y1, (t) => fmt(t).replace(/\.0+(?=\D|$)|(\.\d*?)0+(?=\D|$)/, '$1')),
  );
  rows.forEach((r, i) => {
    const cy = y0 + i * ROW + ROW / 2;
    const xb = scale.x(r.median);
    const label = [fmt(r.median)];
    let ratioColor = '#111827';
    if (r.role === 'ours' && best) {
      const x = r.median / best.median;
      label.push(`${fmtX(x)} ${shortImpl(best.impl)}`);
      ratioColor = x <= 1 ? '#15803d' : '#b91c1c';
    }
    if (r.failures > 0) label.push(`${r.failures} failed`);
    parts.push(
      `<g data-impl="${xmlEscape(r.impl)}" data-role="${r.role}">`,
      `<text x="${LEFT - 6}" y="${cy + 4}" font-size="11" text-anchor="end">${xmlEscape(r.impl)}</text>`,
      `<rect x="${scale.origin}" y="${cy - BAR / 2}" width="${n2(Math.max(1, xb - scale.origin))}" height="${BAR}" fill="${COLORS[r.role]}">` +
        `<title>${xmlEscape(`${r.impl}: median ${fmt(r.median)}, min ${fmt(r.min)}, max ${fmt(r.max)}`)}</title></rect>`,
      whisker(scale.x(r.min), scale.x(r.max), cy),
      `<text x="${LEFT + PLOT + 8}" y="${cy + 4}" font-size="11" fill="${ratioColor}">${xmlEscape(label.join(' · '))}</text>`,
      `</g>`,
    );
  });
  const how = group.exact
    ? 'exact counts (no repetitions needed)'
    : `bar: median of ${rows[0]?.record?.reps ?? '?'} repetitions; whisker: min–max`;
  const notes = [
    `${how}; ${scale.log ? 'log scale' : 'linear scale'}` +
      (best ? `; ratios: ours ÷ the fastest baseline (${best.impl}), same run` : ''),
    ...group.skipped.map((s) => `skipped ${s.impl}: ${s.reason}`),
  ];
  let y = y1 + 30;
  for (const t of notes) {
    parts.push(`<text x="8" y="${y}" font-size="10" fill="#4b5563">${xmlEscape(t)}</text>`);
    y += 14;
  }
  const subtitle = [
    `${group.op}${group.op ? ' · ' : ''}${group.metric}, lower is better`,
    runLine(run),
  ];
  return frame(y + 4, `${group.title}: ${group.metric}`, subtitle, parts.join(''));
}

function whisker(xa, xb, cy) {
  const [a, b] = [n2(xa), n2(xb)];
  return (
    `<line x1="${a}" y1="${cy}" x2="${b}" y2="${cy}" stroke="#111827" stroke-width="1"/>` +
    `<line x1="${a}" y1="${cy - 4}" x2="${a}" y2="${cy + 4}" stroke="#111827"/>` +
    `<line x1="${b}" y1="${cy - 4}" x2="${b}" y2="${cy + 4}" stroke="#111827"/>`
  );
}

const shortImpl = (impl) => impl.replace(/\s*\(.*\)$/, '').replace(/ MemPool.*$/, '');

/** The footprint chart of a group that has one (trace replay, JS with GC). */
export function footprintSvg(group, run = {}) {
  const fp = group.footprint;
  // Comparable footprints first, smallest on top; the failed ones last.
  const rows = [...fp.rows].sort((a, b) => b.comparable - a.comparable || a.value - b.value);
  const scale = makeScale([...rows.map((r) => r.value), 1], { forceLinear: true });
  const baselines = rows.filter((r) => r.role === 'baseline' && r.comparable);
  const best = baselines.length ? baselines.reduce((a, b) => (b.value < a.value ? b : a)) : null;
  const y0 = TOP;
  const y1 = y0 + rows.length * ROW + 4;
  const parts = [legend(TOP - 10, rows)];
  parts.push(axis(scale, y0 - 2, y1, (t) => t.toFixed(t < 10 && t % 1 ? 1 : 0)));
  const x1 = n2(scale.x(1));
  parts.push(
    `<line x1="${x1}" y1="${y0 - 2}" x2="${x1}" y2="${y1}" stroke="#111827" stroke-dasharray="3 3"/>`,
  );
  rows.forEach((r, i) => {
    const cy = y0 + i * ROW + ROW / 2;
    const label = [r.value.toFixed(2)];
    let color = '#111827';
    if (!r.comparable) label.push('not comparable: requests failed');
    else if (r.role === 'ours' && best) {
      label.push(`${fmtX(r.value / best.value)} ${best.impl}`);
      color = r.value <= best.value ? '#15803d' : '#b91c1c';
    }
    parts.push(
      `<g data-impl="${xmlEscape(r.impl)}" data-role="${r.role}">`,
      `<text x="${LEFT - 6}" y="${cy + 4}" font-size="11" text-anchor="end">${xmlEscape(r.impl)}</text>`,
      `<rect x="${LEFT}" y="${cy - BAR / 2}" width="${n2(Math.max(1, scale.x(r.value) - LEFT))}" height="${BAR}" ` +
        `fill="${COLORS[r.role]}"${r.comparable ? '' : ' fill-opacity="0.35"'}/>`,
      `<text x="${LEFT + PLOT + 8}" y="${cy + 4}" font-size="11" fill="${color}">${xmlEscape(label.join(' · '))}</text>`,
      `</g>`,
    );
  });
  const note = `${fp.note}; dashed line = 1.00${best ? `; ratios: ours ÷ the smallest baseline (${best.impl})` : ''}`;
  parts.push(`<text x="8" y="${y1 + 30}" font-size="10" fill="#4b5563">${xmlEscape(note)}</text>`);
  const subtitle = [`${fp.metric}, lower is better`, runLine(run)];
  return frame(y1 + 40, `${group.title}: memory footprint`, subtitle, parts.join(''));
}

/** Instruction counts (callgrind) as groups of the same shape, per workload. */
export function callgrindGroups(run) {
  const byWorkload = new Map();
  for (const r of run.records ?? []) {
    if (r.bench !== 'callgrind' || r.skipped || !Number.isFinite(r.instructions_per_op)) continue;
    if (!byWorkload.has(r.workload))
      byWorkload.set(r.workload, {
        key: `callgrind/${r.workload}`,
        title: `C ${r.workload}`,
        op: 'valgrind callgrind, exact',
        metric: 'instructions/op',
        exact: true,
        rows: [],
        skipped: [],
      });
    const kind = /^(glibc|jemalloc|mimalloc)$/.test(r.impl) ? 'malloc' : undefined;
    const v = r.instructions_per_op;
    byWorkload.get(r.workload).rows.push({
      impl: r.impl,
      role: roleOf({ impl: r.impl, kind }),
      median: v,
      min: v,
      max: v,
      failures: 0,
      record: { reps: 1 },
    });
  }
  return [...byWorkload.values()];
}

/** Every chart of a run: [{ key, title, svg }]. */
export function renderCharts(run) {
  const out = [];
  for (const g of workloadGroups(run)) {
    if (g.rows.length > 0) out.push({ key: g.key, title: g.title, svg: timingSvg(g, run) });
    if (g.footprint?.rows.length)
      out.push({
        key: `${g.key}/footprint`,
        title: `${g.title} footprint`,
        svg: footprintSvg(g, run),
      });
  }
  for (const g of callgrindGroups(run))
    out.push({ key: g.key, title: `${g.title} instructions`, svg: timingSvg(g, run) });
  return out;
}

/** One self-contained HTML page: run facts, the targets table, every chart. */
export function chartsHtml(run, { targets = [] } = {}) {
  const charts = renderCharts(run);
  const m = run.machine ?? {};
  const facts = [
    `command: ${run.command ?? '?'}`,
    `commit: ${run.commit?.hash ?? '?'}${run.commit?.dirty ? ' (uncommitted changes)' : ''}`,
    `machine: ${m.cpu ?? '?'}, ${m.cores ?? '?'} cores, ${m.os ?? ''}; load average ${m.loadAverageAtStart?.join(' ') ?? '?'} at start`,
    `node ${run.node ?? '?'}; ${(run.compilers ?? []).join('; ')}`,
    `libraries: ${Object.entries(run.libraries ?? {})
      .map(([k, v]) => `${k} ${v || 'not installed'}`)
      .join(', ')}`,
  ];
  const targetRows = targets
    .map(
      (t) =>
        `<tr class="${t.status}"><td>#${t.issue}</td><td>${xmlEscape(t.target)}</td><td>${xmlEscape(t.measured)}</td><td>${t.status}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>memory-pool-core benchmarks ${xmlEscape(run.date ?? '')}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 900px; color: #111827; }
li, td { font-size: 0.9rem; } table { border-collapse: collapse; } td, th { border: 1px solid #e5e7eb; padding: 2px 6px; text-align: left; }
tr.met td:last-child { color: #15803d; } tr.missed td:last-child { color: #b91c1c; } tr.unmeasured td:last-child { color: #6b7280; }
figure { margin: 1.5rem 0; }
</style></head><body>
<h1>memory-pool-core benchmarks</h1>
<ul>${facts.map((f) => `<li>${xmlEscape(f)}</li>`).join('')}</ul>
<p>Lower is better everywhere. Ratios are taken within this run. Charts: ${charts.length}.</p>
${targets.length ? `<h2 id="targets">Targets</h2>\n<table><tr><th>issue</th><th>target</th><th>measured (this run)</th><th></th></tr>\n${targetRows}\n</table>` : ''}
${charts.map((c) => `<figure id="${xmlEscape(c.key)}">${c.svg}</figure>`).join('\n')}
</body></html>
`;
}
