// Mixed sizes with the garbage collector's share made visible. Run with
// `node --expose-gc` (bench/run.mjs does): 10,000 live blocks of 16..4096 B;
// one op drops (or frees) a seeded-random live block and allocates a block of
// the next size in its place. Each sample starts after a full gc() and counts
// the GC pauses V8 reports during it ('gc' PerformanceObserver entries:
// main-thread pause time; concurrent marking on helper threads is not in it,
// but it does take one of this machine's 2 cores).
//
// Wall ns/op includes those pauses: the figure to compare. gc ns/op says how
// much of it was collection. MemPool (@thi.ng/malloc) frees explicitly and
// makes no garbage; its cost is its own free-list search.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { MemPool } from '@thi.ng/malloc';
import { emit, parseArgs, sequence, summarize } from './harness.mjs';

if (typeof globalThis.gc !== 'function') {
  process.stderr.write('gc_mixed.mjs needs node --expose-gc\n');
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const LIVE = 10000;
const SEQ = 65536;
const sizes = sequence(Uint16Array, SEQ, 0xc0ffee, (r) => 16 + (r() % (4096 - 16 + 1)));
const victims = sequence(Uint16Array, SEQ, 0xfeed, (r) => r() % LIVE);
const targetNs = (opts.quick ? 5 : 40) * 1e6;

let gcEntries = [];
const observer = new PerformanceObserver((list) => {
  gcEntries.push(...list.getEntries());
});
observer.observe({ entryTypes: ['gc'] });
// gc entries reach the observer a timer turn later, not on the next immediate.
const settle = () => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 0));

const cases = [
  {
    name: 'Buffer.allocUnsafe(size)',
    kind: 'baseline',
    make() {
      const live = new Array(LIVE);
      return {
        prefill() {
          for (let k = 0; k < LIVE; k++) live[k] = Buffer.allocUnsafe(sizes[k]);
        },
        run(n) {
          for (let i = 0; i < n; i++) {
            const b = Buffer.allocUnsafe(sizes[(i + LIVE) & (SEQ - 1)]);
            b[0] = i;
            live[victims[i & (SEQ - 1)]] = b;
          }
          return 0;
        },
        drain: () => live.fill(null),
      };
    },
  },
  {
    name: 'new Uint8Array(size)',
    kind: 'baseline',
    make() {
      const live = new Array(LIVE);
      return {
        prefill() {
          for (let k = 0; k < LIVE; k++) live[k] = new Uint8Array(sizes[k]);
        },
        run(n) {
          for (let i = 0; i < n; i++) {
            const b = new Uint8Array(sizes[(i + LIVE) & (SEQ - 1)]);
            b[0] = i;
            live[victims[i & (SEQ - 1)]] = b;
          }
          return 0;
        },
        drain: () => live.fill(null),
      };
    },
  },
  {
    name: '@thi.ng/malloc MemPool',
    kind: 'baseline',
    make() {
      const pool = new MemPool({ size: 1 << 26 });
      const u8 = new Uint8Array(pool.buf);
      const live = new Int32Array(LIVE);
      return {
        prefill() {
          for (let k = 0; k < LIVE; k++) live[k] = pool.malloc(sizes[k]);
        },
        run(n) {
          let failures = 0;
          for (let i = 0; i < n; i++) {
            const k = victims[i & (SEQ - 1)];
            if (live[k] !== 0) pool.free(live[k]);
            const p = pool.malloc(sizes[(i + LIVE) & (SEQ - 1)]);
            if (p === 0) failures++;
            else u8[p] = i;
            live[k] = p;
          }
          return failures;
        },
        drain() {
          pool.freeAll();
          live.fill(0);
        },
      };
    },
  },
];

async function sample(inst, n) {
  inst.prefill();
  globalThis.gc();
  await settle();
  gcEntries = [];
  const start = performance.now();
  const t0 = process.hrtime.bigint();
  const failures = inst.run(n);
  const t1 = process.hrtime.bigint();
  const end = performance.now();
  await settle(); // let the observer deliver this sample's entries
  const inSample = gcEntries.filter((e) => e.startTime >= start && e.startTime <= end);
  const gcNs = inSample.reduce((sum, e) => sum + e.duration * 1e6, 0);
  inst.drain();
  return { ns: Number(t1 - t0), gcNs, gcCount: inSample.length, failures };
}

emit({
  bench: 'js-gc',
  workload_info: {
    name: 'mixed_live10k',
    op: 'drop/free random live block + alloc 16..4096 B, 10,000 live',
  },
});
const active = [];
for (const c of cases) {
  process.stderr.write(`js-gc mixed_live10k: calibrating ${c.name}\n`);
  const inst = c.make();
  let n = 1024;
  while (n < 2 ** 22 && (await sample(inst, n)).ns < targetNs) n *= 2;
  active.push({ c, inst, n, ns: [], gcNs: [], gcCount: 0, failures: 0 });
}
for (let rep = 0; rep < opts.reps; rep++) {
  process.stderr.write(`js-gc mixed_live10k: repetition ${rep + 1}/${opts.reps}\n`);
  for (let k = 0; k < active.length; k++) {
    const a = active[(k + rep) % active.length];
    const s = await sample(a.inst, a.n);
    a.ns.push(s.ns / a.n);
    a.gcNs.push(s.gcNs / a.n);
    a.gcCount += s.gcCount;
    a.failures += s.failures;
  }
}
observer.disconnect();
const r3 = (x) => Math.round(x * 1000) / 1000;
for (const a of active) {
  const s = summarize(a.ns);
  const g = summarize(a.gcNs);
  emit({
    bench: 'js-gc',
    workload: 'mixed_live10k',
    impl: a.c.name,
    kind: a.c.kind,
    ns_per_op: { median: r3(s.median), min: r3(s.min), max: r3(s.max) },
    gc_ns_per_op: { median: r3(g.median), min: r3(g.min), max: r3(g.max) },
    gc_pauses: a.gcCount,
    reps: opts.reps,
    ops_per_rep: a.n,
    failures: a.failures,
  });
}
