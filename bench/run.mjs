#!/usr/bin/env node
// `npm run bench`: builds the C benches (cmake, build/bench), runs them and the
// JS benches, prints one table per workload and the targets of issues #2–#6,
// and writes the raw records with the machine, compilers, commit and exact
// command to bench/results/<date>-<commit>[-runN].json, the tables to .md and the
// charts to .html (bench/chart.mjs and bench/readme-table.mjs redo the last
// two and the README table from any results file).
//
// usage: node bench/run.mjs [--quick] [--no-write] [--no-build] [--only=c|js]
//   --quick     short samples and the first 20,000 events of each trace (the
//               smoke test uses it); the numbers are for checking, not quoting
//   --no-write  print only; write nothing under bench/results/
//   --no-build  use the binaries already in build/bench
//   --only=c|js run one half
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartsHtml } from './js/chart.mjs';
import { buildSections, renderMarkdown, renderText } from './js/report.mjs';
import { evaluateTargets } from './js/targets.mjs';
import { freeResultsStem } from './js/results-files.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const known = ['--quick', '--no-write', '--no-build', '--only=c', '--only=js'];
const unknown = argv.filter((a) => !known.includes(a));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown option ${unknown.join(' ')}\nusage: node bench/run.mjs [--quick] [--no-write] [--no-build] [--only=c|js]\n`,
  );
  process.exit(2);
}
const quick = argv.includes('--quick');
const runC = !argv.includes('--only=js');
const runJs = !argv.includes('--only=c');
const buildDir = path.join(root, 'build', 'bench');
const binDir = path.join(buildDir, 'bench', 'c');

// ------------------------------------------------------------ progress
// One rewritten line on a terminal; on a pipe or in CI, one line per step
// and at most one progress line every 5 s.
// Each step line says which step of how many and the time so far.
const progress = {
  tty: process.stderr.isTTY,
  step: '',
  last: 0,
  index: 0,
  total: 0,
  t0: Date.now(),
  elapsed() {
    return `${Math.round((Date.now() - this.t0) / 1000)} s`;
  },
  start(step) {
    this.clear();
    this.step = step;
    this.index++;
    process.stderr.write(`[bench ${this.index}/${this.total}, ${this.elapsed()}] ${step}\n`);
  },
  line(text) {
    const now = Date.now();
    if (this.tty) {
      const width = (process.stderr.columns || 100) - 1;
      const head = `  [${this.index}/${this.total} ${this.elapsed()}] `;
      process.stderr.write(`\r\x1b[K${`${head}${text}`.slice(0, width)}`);
    } else if (now - this.last > 5000) {
      process.stderr.write(`  ${text}\n`);
      this.last = now;
    }
  },
  clear() {
    if (this.tty) process.stderr.write('\r\x1b[K');
  },
};

/** Runs a command; JSON lines on stdout become records, stderr is progress. */
function runJsonLines(cmd, args, { env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const records = [];
    const tail = [];
    let out = '';
    let err = '';
    const eachLine = (buf, chunk, fn) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        fn(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      return buf;
    };
    child.stdout.on('data', (c) => {
      out = eachLine(out, c.toString(), (l) => {
        if (!l.startsWith('{')) return;
        try {
          records.push(JSON.parse(l));
        } catch {
          tail.push(`unparsable output: ${l.slice(0, 200)}`);
        }
      });
    });
    child.stderr.on('data', (c) => {
      err = eachLine(err, c.toString(), (l) => {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        progress.line(l);
      });
    });
    child.on('error', (e) => resolve({ code: -1, records, tail: [String(e)] }));
    child.on('close', (code, signal) => resolve({ code: code ?? signal, records, tail }));
  });
}

function capture(cmd, args) {
  try {
    return execFileSync(cmd, args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    // Other work on the machine moves ns figures (not callgrind's): recorded.
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

function commit() {
  const hash = capture('git', ['rev-parse', 'HEAD']) || 'unknown';
  // --no-optional-locks: reading the status must not rewrite the index.
  const dirty =
    capture('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']) !== '';
  return { hash, dirty };
}

function commandLine() {
  const base =
    process.env.npm_lifecycle_event === 'bench' ? 'npm run bench --' : 'node bench/run.mjs';
  return [base, ...argv].join(' ').replace(/ --$/, '');
}

// --------------------------------------------------------------- steps
const run = {
  schema: 1,
  date: new Date().toISOString(),
  command: commandLine(),
  quick,
  machine: machine(),
  node: process.version,
  compilers: [
    capture('gcc', ['--version']).split('\n')[0],
    capture('clang', ['--version']).split('\n')[0],
  ].filter(Boolean),
  libraries: {},
  commit: commit(),
  records: [],
  errors: [],
  durationSeconds: 0,
};
const t0 = Date.now();

async function step(name, cmd, args, opts) {
  progress.start(name);
  const r = await runJsonLines(cmd, args, opts);
  progress.clear();
  run.records.push(...r.records);
  if (r.code !== 0) {
    run.errors.push({ step: name, message: `exit ${r.code}: ${r.tail.slice(-5).join(' | ')}` });
    process.stderr.write(
      `[bench] ${name} failed (exit ${r.code}); its results so far are kept\n${r.tail.slice(-10).join('\n')}\n`,
    );
  }
  return r.code === 0;
}

async function buildC() {
  progress.start('building C benches (cmake, build/bench)');
  for (const args of [
    [
      '-S',
      '.',
      '-B',
      buildDir,
      '-DCMAKE_BUILD_TYPE=Release',
      '-DMP_BUILD_BENCH=ON',
      '-DMP_BUILD_TESTS=OFF',
    ],
    ['--build', buildDir, '-j', String(Math.min(2, os.cpus().length || 1))],
  ]) {
    const r = await runJsonLines('cmake', args);
    if (r.code !== 0) {
      progress.clear();
      run.errors.push({ step: 'build C benches', message: r.tail.slice(-8).join(' | ') });
      process.stderr.write(`[bench] C build failed:\n${r.tail.join('\n')}\n`);
      return false;
    }
  }
  progress.clear();
  return true;
}

const callgrindRuns = runC && !quick && capture('valgrind', ['--version']) !== '';
progress.total =
  (runC ? (argv.includes('--no-build') ? 4 : 5) + (callgrindRuns ? 1 : 0) : 0) + (runJs ? 4 : 0);
if (runC) {
  const built = argv.includes('--no-build') || (await buildC());
  if (built) {
    const q = quick ? ['--quick'] : [];
    await step('C micro benchmarks', path.join(binDir, 'mp_bench_micro'), q);
    // The live-set workloads again with transparent huge pages for every
    // allocator (each the way it offers them; see bench/c/micro.c).
    await step('C micro benchmarks, huge pages for all', path.join(binDir, 'mp_bench_micro'), [
      ...q,
      '--huge-pages',
      '--only',
      'mixed_live10k,pow2_live10k',
    ]);
    // The traces are looked for in ../shared/traces; MP_TRACE_DIR names another folder.
    const traces = process.env.MP_TRACE_DIR ? ['--traces', process.env.MP_TRACE_DIR] : [];
    await step('C trace replay', path.join(binDir, 'mp_bench_replay'), [...q, ...traces]);
    await step('C managed-pool compaction', path.join(binDir, 'mp_bench_compact'), q);
    if (callgrindRuns) {
      await step('callgrind instruction counts', 'bash', [
        path.join(root, 'bench', 'callgrind.sh'),
        '--json',
        buildDir,
      ]);
    }
  }
}
if (runJs) {
  const q = quick ? ['--quick'] : [];
  await step('JS micro benchmarks', process.execPath, [
    path.join(root, 'bench', 'js', 'micro.mjs'),
    ...q,
  ]);
  await step('JS managed pool (MemoryPool calls)', process.execPath, [
    path.join(root, 'bench', 'js', 'memory_pool.mjs'),
    ...q,
  ]);
  await step('JS mixed sizes with GC', process.execPath, [
    '--expose-gc',
    path.join(root, 'bench', 'js', 'gc_mixed.mjs'),
    ...q,
  ]);
  // h-module: MemoryPoolingModule targets (guards, calls by pool name, collection)
  await step('JS module layer', process.execPath, [
    path.join(root, 'bench', 'js', 'module.mjs'),
    ...q,
  ]);
}
run.durationSeconds = (Date.now() - t0) / 1000;
run.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);

const microMeta = run.records.find((r) => r.bench === 'micro' && r.meta)?.meta ?? {};
const thingVersion = (() => {
  try {
    return JSON.parse(
      fs.readFileSync(path.join(root, 'node_modules', '@thi.ng', 'malloc', 'package.json'), 'utf8'),
    ).version;
  } catch {
    return '';
  }
})();
run.libraries = {
  glibc: microMeta.glibc,
  jemalloc: microMeta.jemalloc,
  mimalloc: microMeta.mimalloc,
  '@thi.ng/malloc': thingVersion,
};
if (microMeta.compiler) run.compilers.push(`benches built with ${microMeta.compiler}`);

const sections = buildSections(run);
process.stdout.write(renderText(sections) + '\n');
process.stdout.write(
  `\n${run.command} · ${run.machine.cpu} × ${run.machine.cores} · node ${run.node} · ${run.commit.hash.slice(0, 12)}${run.commit.dirty ? '+dirty' : ''} · ${run.durationSeconds.toFixed(0)} s\n`,
);

if (!argv.includes('--no-write')) {
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stem = freeResultsStem(
    dir,
    `${run.date.slice(0, 10)}-${run.commit.hash.slice(0, 12)}${run.commit.dirty ? '-dirty' : ''}${quick ? '-quick' : ''}`,
  );
  const json = JSON.stringify(run, null, 1) + '\n';
  const html = chartsHtml(run, { targets: evaluateTargets(run) });
  for (const name of [stem, 'latest']) {
    fs.writeFileSync(path.join(dir, `${name}.json`), json);
    fs.writeFileSync(
      path.join(dir, `${name}.md`),
      renderMarkdown(run, sections, { chartsFile: `${name}.html` }),
    );
    fs.writeFileSync(path.join(dir, `${name}.html`), html);
  }
  process.stdout.write(
    `results: bench/results/${stem}.json, .md and .html (charts; also latest.*)\n` +
      `README table: node bench/readme-table.mjs bench/results/${stem}.json --write\n`,
  );
}
process.exitCode = run.errors.length > 0 ? 1 : 0;
