// JS benchmarks of MemoryPoolingModule (issue 5's targets), one process, one
// run, the MemoryPool calls it wraps measured alongside as the baseline:
//
//   module_guard64   allocateGuarded(64) + guard.free()  vs  MemoryPool allocate(64) + free
//                    target: the guard adds <= 150 ns
//   module_write64   module.write('default', h, src)     vs  MemoryPool.write(h, src)
//   module_read64    module.read('default', h, 64)       vs  MemoryPool.readInto(h, Buffer.allocUnsafe(64))
//                    target: a call by pool name adds <= 20 ns
//   module_collect   one 'global' collection of 100,000 evictable blocks (setup untimed)
//                    target: <= 50 ms
//
// Output: JSON lines (harness.mjs) and a plain table on stderr.
//
//   npm run build && node bench/js/module.mjs [--quick]
import { emit, parseArgs, runWorkload, summarize } from './harness.mjs';
import { loadPackage } from './load.mjs';

const opts = parseArgs(process.argv.slice(2));
const { api } = loadPackage();
const missing =
  typeof api?.MemoryPoolingModule === 'function' ? null : 'dist/ exports no MemoryPoolingModule';
const records = [];
const origWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  for (const line of String(chunk).split('\n')) if (line.trim()) records.push(JSON.parse(line));
  return origWrite(chunk, ...rest);
};

emit({ bench: 'js', meta: { node: process.version, v8: process.versions.v8, reps: opts.reps } });

/** A ready module over a 4 MiB tlsf pool named 'default', without automatic collection. */
async function makeModule() {
  const m = new api.MemoryPoolingModule({
    poolSize: 1 << 22,
    allocationStrategy: 'tlsf',
    minBlockSize: 16,
    gc: false,
  });
  await m.initialize();
  return m;
}

const mods = missing ? [] : await Promise.all([0, 1, 2, 3].map(makeModule));

runWorkload(
  { name: 'module_guard64', op: 'allocate(64) + free, guarded or not', baseOps: 4096 },
  [
    {
      name: 'module.allocateGuarded + guard.free()',
      kind: 'ours',
      skip: missing,
      make() {
        const m = mods[0];
        return {
          run(n) {
            for (let i = 0; i < n; i++) m.allocateGuarded('default', 64).free();
            return 0;
          },
        };
      },
    },
    {
      name: 'MemoryPool allocate + free (unguarded)',
      kind: 'baseline',
      skip: missing,
      make() {
        const pool = mods[1].pool('default');
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.free(pool.allocate(64));
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

runWorkload(
  { name: 'module_write64', op: 'one 64 B write by handle', baseOps: 4096 },
  [
    {
      name: "module.write('default', h, src)",
      kind: 'ours',
      skip: missing,
      make() {
        const m = mods[2];
        const h = m.pool('default').allocate(64);
        const src = new Uint8Array(64).fill(7);
        return {
          run(n) {
            for (let i = 0; i < n; i++) m.write('default', h, src);
            return 0;
          },
        };
      },
    },
    {
      name: 'MemoryPool.write(h, src)',
      kind: 'baseline',
      skip: missing,
      make() {
        const pool = mods[3].pool('default');
        const h = pool.allocate(64);
        const src = new Uint8Array(64).fill(7);
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.write(h, src);
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

runWorkload(
  { name: 'module_read64', op: 'one 64 B read into a new Buffer', baseOps: 4096 },
  [
    {
      name: "module.read('default', h, 64)",
      kind: 'ours',
      skip: missing,
      make() {
        const m = mods[2];
        const h = m.pool('default').allocate(64);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) s += m.read('default', h, 64).length;
            return s === 64 * n ? 0 : 1;
          },
        };
      },
    },
    {
      name: 'MemoryPool.readInto(h, Buffer.allocUnsafe(64))',
      kind: 'baseline',
      skip: missing,
      make() {
        const pool = mods[3].pool('default');
        const h = pool.allocate(64);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) {
              const b = Buffer.allocUnsafe(64);
              pool.readInto(h, b);
              s += b.length;
            }
            return s === 64 * n ? 0 : 1;
          },
        };
      },
    },
  ],
  opts,
);

/* One collection of BLOCKS evictable blocks per repetition; filling is untimed. */
const BLOCKS = 100_000;
emit({ bench: 'js', workload_info: { name: 'module_collect', op: `collect ${BLOCKS} blocks` } });
if (missing) {
  emit({ bench: 'js', workload: 'module_collect', impl: 'global', kind: 'ours', skipped: missing });
} else {
  const m = new api.MemoryPoolingModule({
    poolSize: 1 << 24,
    allocationStrategy: 'tlsf',
    minBlockSize: 16,
    gc: false,
  });
  await m.initialize();
  const samples = [];
  let failures = 0;
  for (let rep = 0; rep < opts.reps; rep++) {
    process.stderr.write(`js module_collect: repetition ${rep + 1}/${opts.reps}\n`);
    for (let i = 0; i < BLOCKS; i++) {
      const r = await m.allocate('default', 64, { owner: `t${i & 15}`, evictable: true });
      if (!r.success) failures++;
    }
    const t0 = process.hrtime.bigint();
    const result = m.collect('default', 'global');
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (result.freedBlocks !== BLOCKS) failures++;
  }
  await m.shutdown();
  const s = summarize(samples);
  const r3 = (x) => Math.round(x * 1000) / 1000;
  emit({
    bench: 'js',
    workload: 'module_collect',
    impl: `collect('global') of ${BLOCKS} evictable blocks`,
    kind: 'ours',
    // ns_per_op: one op is one whole collection (the report's tables read this field).
    ns_per_op: { median: r3(s.median * 1e6), min: r3(s.min * 1e6), max: r3(s.max * 1e6) },
    ms_per_collection: { median: r3(s.median), min: r3(s.min), max: r3(s.max) },
    ns_per_block: { median: r3((s.median * 1e6) / BLOCKS) },
    samples_ms: samples.map(r3),
    reps: opts.reps,
    failures,
  });
}
for (const m of mods) await m.shutdown();

process.stdout.write = origWrite;
for (const r of records) {
  if (r.skipped) process.stderr.write(`${r.workload} ${r.impl}: skipped (${r.skipped})\n`);
  if (r.ms_per_collection) {
    const { median, min, max } = r.ms_per_collection;
    process.stderr.write(
      `${r.workload.padEnd(15)} ${r.impl.padEnd(46)} ${median.toFixed(2).padStart(7)} ms ` +
        `(min ${min.toFixed(2)}, max ${max.toFixed(2)})${r.failures ? ` failures ${r.failures}` : ''}\n`,
    );
    continue;
  }
  if (!r.ns_per_op) continue;
  const { median, min, max } = r.ns_per_op;
  process.stderr.write(
    `${r.workload.padEnd(15)} ${r.impl.padEnd(46)} ${median.toFixed(1).padStart(7)} ns/op ` +
      `(min ${min.toFixed(1)}, max ${max.toFixed(1)})${r.failures ? ` failures ${r.failures}` : ''}\n`,
  );
}
