// Mixed sizes with the garbage collector's share made visible. Run with
// `node --expose-gc` (bench/run.mjs does): 10,000 live blocks of 16..4096 B;
// one op drops (or frees) a seeded-random live block and allocates a block of
// the next size in its place. Each sample starts after a full gc() and counts
// the GC pauses V8 reports during it ('gc' PerformanceObserver entries:
// main-thread pause time; concurrent marking on helper threads is not in it,
// but it does take one of this machine's 2 cores).
//
// Wall ns/op includes those pauses: the figure to compare. gc ns/op says how
// much of it was collection. Garbage a sample leaves behind would otherwise
// be collected by the untimed gc() before the next sample: a full gc() right
// after the run is timed and, less the time of the same full gc() before the
// run (same live set, no garbage), added to the wall figure as "deferred GC".
// CPU ns/op (process.cpuUsage: all threads) also counts V8's concurrent
// marking on helper threads, which wall time on a free core would hide.
// Footprint: heapUsed + arrayBuffers grown by creating the case and
// prefilling its 10,000 blocks (after a full gc()), over their requested bytes.
//
// Ours: FixedPool per power-of-two size class (JS-side cache: no native call
// on most ops; `hugePages`, as a program with 24 MiB of pools would ask:
// each op writes a byte into a block last touched long ago, a TLB miss on
// small pages), and the variable-size SlabAllocator and TlsfAllocator (one
// native call per alloc and per free). MemPool (@thi.ng/malloc) frees
// explicitly and makes no garbage; its cost is its own free-list search.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { MemPool } from '@thi.ng/malloc';
import { emit, parseArgs, sequence, summarize } from './harness.mjs';
import { loadPackage } from './load.mjs';

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
const pkg = loadPackage();
const { api } = pkg;

// Power-of-two classes 16, 32, .. 4096: class k serves (2^(k+3), 2^(k+4)].
const CLASSES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
const classOf = (size) => Math.max(0, 28 - Math.clz32(size - 1));
const classes = sizes.map(classOf); // Uint16Array of class indexes
// Capacity per class: its share of uniform sizes among 10,000 live, + 20 % + 64
// (random drift of the live mix stays far inside; a failure would be counted).
const capacities = CLASSES.map((c, k) => {
  const lo = k === 0 ? 16 : c / 2 + 1;
  const share = (c - lo + 1) / (4096 - 16 + 1);
  return Math.ceil(share * LIVE * 1.2) + 64;
});
const liveBytes = sizes.subarray(0, LIVE).reduce((a, b) => a + b, 0);

let gcEntries = [];
const observer = new PerformanceObserver((list) => {
  gcEntries.push(...list.getEntries());
});
observer.observe({ entryTypes: ['gc'] });
// gc entries reach the observer a timer turn later, not on the next immediate.
const settle = () => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 0));

/** A variable-size allocator of the package (one native call per op). */
function heapCase(name, make) {
  return {
    name,
    kind: 'ours',
    skip: pkg.fixedMissing,
    make() {
      const heap = make();
      const u8 = heap.bytes;
      const live = new Int32Array(LIVE).fill(-1);
      return {
        prefill() {
          for (let k = 0; k < LIVE; k++) live[k] = heap.alloc(sizes[k]);
        },
        run(n) {
          let failures = 0;
          for (let i = 0; i < n; i++) {
            const k = victims[i & (SEQ - 1)];
            if (live[k] >= 0) heap.free(live[k]);
            const o = heap.alloc(sizes[(i + LIVE) & (SEQ - 1)]);
            if (o < 0) failures++;
            else u8[o] = i;
            live[k] = o;
          }
          return failures;
        },
        drain() {
          heap.reset();
          live.fill(-1);
        },
        teardown: () => heap.destroy(),
      };
    },
  };
}

const cases = [
  {
    name: 'FixedPool ×9 size classes (cached, hugePages)',
    kind: 'ours',
    skip: pkg.fixedMissing,
    make() {
      const pools = CLASSES.map(
        (c, k) => new api.FixedPool({ objectSize: c, capacity: capacities[k], hugePages: true }),
      );
      const bytes = pools.map((p) => p.bytes);
      const liveOff = new Int32Array(LIVE).fill(-1);
      const liveCls = new Uint8Array(LIVE);
      return {
        prefill() {
          for (let k = 0; k < LIVE; k++) {
            liveCls[k] = classes[k];
            liveOff[k] = pools[classes[k]].alloc();
          }
        },
        run(n) {
          let failures = 0;
          for (let i = 0; i < n; i++) {
            const k = victims[i & (SEQ - 1)];
            if (liveOff[k] >= 0) pools[liveCls[k]].free(liveOff[k]);
            const c = classes[(i + LIVE) & (SEQ - 1)];
            const o = pools[c].alloc();
            if (o < 0) failures++;
            else bytes[c][o] = i;
            liveOff[k] = o;
            liveCls[k] = c;
          }
          return failures;
        },
        drain() {
          for (let k = 0; k < LIVE; k++) if (liveOff[k] >= 0) pools[liveCls[k]].free(liveOff[k]);
          liveOff.fill(-1);
        },
        teardown: () => pools.forEach((p) => p.destroy()),
      };
    },
  },
  heapCase('SlabAllocator', () => new api.SlabAllocator({ size: 1 << 25, maxClassSize: 4096 })),
  heapCase('TlsfAllocator', () => new api.TlsfAllocator({ size: 1 << 25 })),
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

/** Nanoseconds one full gc() takes now. */
function timedGc() {
  const t0 = process.hrtime.bigint();
  globalThis.gc();
  return Number(process.hrtime.bigint() - t0);
}

const cpuNs = (u) => (u.user + u.system) * 1000;

async function sample(inst, n) {
  inst.prefill();
  globalThis.gc();
  const gcBefore = timedGc(); // the live set alone, no garbage
  await settle();
  gcEntries = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const failures = inst.run(n);
  const t1 = process.hrtime.bigint();
  const cpu = cpuNs(process.cpuUsage(cpu0));
  const end = performance.now();
  const deferredNs = Math.max(0, timedGc() - gcBefore); // the garbage this sample left
  await settle(); // let the observer deliver this sample's entries
  const inSample = gcEntries.filter((e) => e.startTime >= start && e.startTime <= end);
  const gcNs = inSample.reduce((sum, e) => sum + e.duration * 1e6, 0);
  inst.drain();
  const runNs = Number(t1 - t0);
  return {
    runNs,
    ns: runNs + deferredNs,
    gcNs,
    deferredNs,
    cpuNs: cpu,
    gcCount: inSample.length,
    failures,
  };
}

/**
 * heapUsed + arrayBuffers (SharedArrayBuffers included) after full gc()s;
 * V8 frees array buffer memory a turn after the collection, so it waits.
 */
async function memoryNow() {
  for (let i = 0; i < 2; i++) {
    globalThis.gc();
    await settle();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
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
  if (c.skip) {
    emit({
      bench: 'js-gc',
      workload: 'mixed_live10k',
      impl: c.name,
      kind: c.kind,
      skipped: c.skip,
    });
    continue;
  }
  process.stderr.write(`js-gc mixed_live10k: calibrating ${c.name}\n`);
  const before = await memoryNow();
  const inst = c.make();
  inst.prefill();
  const footprint = ((await memoryNow()) - before) / liveBytes;
  inst.drain();
  let n = 1024;
  // One untimed sample first: first touches of the case's memory (page
  // faults) are setup, not the steady state calibration must size samples
  // for; a first sample over 40 ms (70 ms with hugePages regions) kept n at
  // 1024, where per-sample overhead dominated.
  await sample(inst, n);
  // Calibrated on the run alone: the deferred gc() of a short run is noise.
  while (n < 2 ** 22 && (await sample(inst, n)).runNs < targetNs) n *= 2;
  await sample(inst, n); // one more warm-up at the final size
  active.push({
    c,
    inst,
    n,
    footprint,
    ns: [],
    gcNs: [],
    deferredNs: [],
    cpuNs: [],
    gcCount: 0,
    failures: 0,
  });
}
for (let rep = 0; rep < opts.reps; rep++) {
  process.stderr.write(`js-gc mixed_live10k: repetition ${rep + 1}/${opts.reps}\n`);
  for (let k = 0; k < active.length; k++) {
    const a = active[(k + rep) % active.length];
    const s = await sample(a.inst, a.n);
    a.ns.push(s.ns / a.n);
    a.gcNs.push(s.gcNs / a.n);
    a.deferredNs.push(s.deferredNs / a.n);
    a.cpuNs.push(s.cpuNs / a.n);
    a.gcCount += s.gcCount;
    a.failures += s.failures;
  }
}
observer.disconnect();
const r3 = (x) => Math.round(x * 1000) / 1000;
const stat = (values) => {
  const x = summarize(values);
  return { median: r3(x.median), min: r3(x.min), max: r3(x.max) };
};
for (const a of active) {
  a.inst.teardown?.();
  emit({
    bench: 'js-gc',
    workload: 'mixed_live10k',
    impl: a.c.name,
    kind: a.c.kind,
    ns_per_op: stat(a.ns),
    gc_ns_per_op: stat(a.gcNs),
    deferred_gc_ns_per_op: stat(a.deferredNs),
    cpu_ns_per_op: stat(a.cpuNs),
    gc_pauses: a.gcCount,
    footprint_bytes_per_live_byte: Math.round(a.footprint * 1000) / 1000,
    live_bytes: liveBytes,
    reps: opts.reps,
    ops_per_rep: a.n,
    failures: a.failures,
  });
}
