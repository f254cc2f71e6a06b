// The targets of issues #2–#6 over many recorded runs: how often each was
// met. One run on this 2-core VM can move a figure by 15 % or more, so a
// target within that distance of its line flips between runs; the count over
// every recorded full run tells a target that is met most of the time from
// one that is never met.
import { cell } from './headline.mjs';
import { evaluateTargets } from './targets.mjs';

/**
 * Rows, one per target, in the order of TARGETS:
 * { issue, target, met, runs, last: { status, measured, label } | null }
 * where `runs` counts the runs that measured the target. `runs` are
 * { label, run } in time order; quick runs (trace prefixes, fewer
 * repetitions) are the caller's to leave out.
 */
export function targetsHistory(runs) {
  const rows = [];
  for (const { label, run } of runs) {
    evaluateTargets(run).forEach((t, k) => {
      rows[k] ??= { issue: t.issue, target: t.target, met: 0, runs: 0, last: null };
      const row = rows[k];
      if (t.status === 'unmeasured') return;
      row.runs++;
      if (t.status === 'met') row.met++;
      row.last = { status: t.status, measured: t.measured, label };
    });
  }
  return rows;
}

/** The rows as a Markdown table with a line saying which runs they cover
 * and the command that made it. */
export function historyMarkdown(rows, runs, command = 'node bench/targets-history.mjs') {
  const first = runs[0]?.label ?? '';
  const last = runs[runs.length - 1]?.label ?? '';
  const lines = [
    `Met in how many of the ${runs.length} full \`npm run bench\` runs recorded in \`bench/results/\` (${first} to ${last}; \`${command}\`), and the latest run that measured each.`,
    '',
    '| issue | target | met | latest (run) |',
    '|---|---|---|---|',
  ];
  for (const r of rows) {
    const met = r.runs === 0 ? 'not measured' : `${r.met} of ${r.runs}`;
    const latest = r.last ? `${r.last.status}: ${cell(r.last.measured)} (${r.last.label})` : '';
    lines.push(`| #${r.issue} | ${cell(r.target)} | ${met} | ${latest} |`);
  }
  return lines.join('\n');
}
