#!/usr/bin/env node
// Writes the charts of a results file: one self-contained HTML page with an
// inline SVG per workload (and per trace a footprint chart) plus the targets
// table, next to the JSON (<stem>.html). bench/run.mjs calls the same code
// after every run; this regenerates the page from any results file.
//
// usage: node bench/chart.mjs <results.json> [--out FILE.html] [--svg-dir DIR]
//   --out      where the HTML goes (default: the JSON's path with .html)
//   --svg-dir  also write each chart as DIR/<workload>.svg
import fs from 'node:fs';
import path from 'node:path';
import { chartsHtml, renderCharts } from './js/chart.mjs';
import { evaluateTargets } from './js/targets.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const out = opt('--out');
const svgDir = opt('--svg-dir');
if (args.length !== 1 || args[0].startsWith('-')) {
  process.stderr.write(
    'usage: node bench/chart.mjs <results.json> [--out FILE.html] [--svg-dir DIR]\n',
  );
  process.exit(2);
}
const file = args[0];
const run = JSON.parse(fs.readFileSync(file, 'utf8'));
const html = out ?? file.replace(/\.json$/, '') + '.html';
fs.writeFileSync(html, chartsHtml(run, { targets: evaluateTargets(run) }));
const written = [html];
if (svgDir) {
  fs.mkdirSync(svgDir, { recursive: true });
  for (const c of renderCharts(run)) {
    const f = path.join(svgDir, `${c.key.replace(/[^\w.-]+/g, '_')}.svg`);
    fs.writeFileSync(f, c.svg);
    written.push(f);
  }
}
process.stdout.write(`${written.join('\n')}\n`);
