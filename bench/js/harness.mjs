// Timing harness of the JS benches: each case's run(n) does n operations in
// one timed sample (so ns-level figures are real, not timer noise); the op
// count is calibrated per case until a sample lasts `targetMs` (those runs are
// the warm-up that lets V8 optimise the loop); repetitions are interleaved
// across cases with a rotating order. Results are JSON lines on stdout, in the
// same shape as the C benches; progress goes to stderr.
//
// Every case writes its run function as its own function literal: closures
// made from one shared literal would share V8's type feedback and turn each
// other's call sites megamorphic.

export function parseArgs(argv) {
  const quick = argv.includes('--quick');
  return { quick, reps: quick ? 5 : 7, targetMs: quick ? 2 : 25 };
}

/** Median, min and max of a sample array. */
export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

export function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

const round3 = (x) => Math.round(x * 1000) / 1000;

function timeRun(inst, n) {
  const t0 = process.hrtime.bigint();
  const failures = inst.run(n) | 0;
  const t1 = process.hrtime.bigint();
  return { ns: Number(t1 - t0), failures };
}

function calibrate(inst, baseOps, targetNs) {
  let n = baseOps;
  while (n < 2 ** 26 && timeRun(inst, n).ns < targetNs) n *= 2;
  timeRun(inst, n); // one more warm-up at the final size
  return n;
}

/**
 * Runs one workload. `cases`: [{ name, kind, skip?, baseOps?, make() ->
 * { run(n) -> failures, teardown?() } }]. A case with `skip` (a reason) is
 * reported as skipped, never timed.
 */
export function runWorkload(workload, cases, opts) {
  emit({ bench: 'js', workload_info: { name: workload.name, op: workload.op } });
  const active = [];
  for (const c of cases) {
    if (c.skip) {
      emit({ bench: 'js', workload: workload.name, impl: c.name, kind: c.kind, skipped: c.skip });
      continue;
    }
    process.stderr.write(`js ${workload.name}: calibrating ${c.name}\n`);
    const inst = c.make();
    const n = calibrate(inst, c.baseOps ?? workload.baseOps, opts.targetMs * 1e6);
    active.push({ c, inst, n, samples: [], failures: 0 });
  }
  for (let rep = 0; rep < opts.reps; rep++) {
    process.stderr.write(`js ${workload.name}: repetition ${rep + 1}/${opts.reps}\n`);
    for (let k = 0; k < active.length; k++) {
      const a = active[(k + rep) % active.length];
      const { ns, failures } = timeRun(a.inst, a.n);
      a.samples.push(ns / a.n);
      a.failures += failures;
    }
  }
  for (const a of active) {
    a.inst.teardown?.();
    const s = summarize(a.samples);
    emit({
      bench: 'js',
      workload: workload.name,
      impl: a.c.name,
      kind: a.c.kind,
      ns_per_op: { median: round3(s.median), min: round3(s.min), max: round3(s.max) },
      samples_ns_per_op: a.samples.map(round3),
      reps: opts.reps,
      ops_per_rep: a.n,
      failures: a.failures,
    });
  }
}

/** Seeded xorshift32: the same sequences in every run and every case. */
export function makeRandom(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `count` values produced by `fn(rand)` in a typed array of `Type`. */
export function sequence(Type, count, seed, fn) {
  const rand = makeRandom(seed);
  const out = new Type(count);
  for (let i = 0; i < count; i++) out[i] = fn(rand);
  return out;
}
