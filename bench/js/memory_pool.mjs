// JS micro benchmarks of MemoryPool (the managed pool: blocks named by
// handles), one process, one run, baselines measured alongside.
//
//   mpool_pair64     allocate(64) + free(handle) of the same size, again and again
//   mpool_rw64       write 64 B into a block by handle / readInto 64 B from it
//   mpool_view64     sum 64 B through a view() of a block vs a plain Uint8Array
//
// Floors: two empty native calls (what any one-call-per-op pair costs) and
// one; a FixedPool pair (a JS-side cache: no native call most of the time).
// Output: JSON lines (harness.mjs) and a plain table on stderr.
//
//   npm run build && node bench/js/memory_pool.mjs [--quick]
import { emit, parseArgs, runWorkload } from './harness.mjs';
import { loadPackage } from './load.mjs';

const opts = parseArgs(process.argv.slice(2));
const pkg = loadPackage();
const { api, binding } = pkg;
const missing =
  pkg.noopMissing ?? (typeof api?.MemoryPool === 'function' ? null : 'dist/ exports no MemoryPool');
const records = [];
const origWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  for (const line of String(chunk).split('\n')) if (line.trim()) records.push(JSON.parse(line));
  return origWrite(chunk, ...rest);
};

emit({ bench: 'js', meta: { node: process.version, v8: process.versions.v8, reps: opts.reps } });

/** A MemoryPool pair case (the same types pass through every strategy's loop). */
function pairCase(strategy) {
  return {
    name: `MemoryPool ${strategy}`,
    kind: 'ours',
    skip: missing,
    make() {
      const pool = new api.MemoryPool({ size: 1 << 22, strategy });
      return {
        run(n) {
          for (let i = 0; i < n; i++) pool.free(pool.allocate(64));
          return 0;
        },
        teardown: () => pool.destroy(),
      };
    },
  };
}

runWorkload(
  { name: 'mpool_pair64', op: 'allocate(64) + free(handle)', baseOps: 4096 },
  [
    pairCase('tlsf'),
    pairCase('first_fit'),
    pairCase('slab'),
    {
      name: 'MemoryPool tlsf, owner + pinned',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 22 });
        const o = { owner: 'tenant', pinned: true };
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.free(pool.allocate(64, o));
            return 0;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'FixedPool (cached)',
      kind: 'baseline',
      skip: pkg.fixedMissing,
      make() {
        const pool = new api.FixedPool({ objectSize: 64, capacity: 4096 });
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.free(pool.alloc());
            return 0;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'floor: 2 empty native calls',
      kind: 'baseline',
      skip: pkg.noopMissing,
      make() {
        const noop = binding.noop;
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              noop();
              noop();
            }
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

runWorkload(
  { name: 'mpool_rw64', op: 'one 64 B write or read by handle', baseOps: 4096 },
  [
    {
      name: 'MemoryPool.write(h, src)',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 16 });
        const h = pool.allocate(64);
        const src = new Uint8Array(64).fill(7);
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.write(h, src);
            return 0;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'MemoryPool.readInto(h, dst)',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 16 });
        const h = pool.allocate(64);
        const dst = new Uint8Array(64);
        return {
          run(n) {
            for (let i = 0; i < n; i++) pool.readInto(h, dst);
            return 0;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'MemoryPool.read(h, 64) (new array)',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 16 });
        const h = pool.allocate(64);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) s += pool.read(h, 64)[i & 63];
            return s === -1 ? 1 : 0;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'Uint8Array.set 64 B (in JS)',
      kind: 'baseline',
      make() {
        const dst = new Uint8Array(1 << 16);
        const src = new Uint8Array(64).fill(7);
        return {
          run(n) {
            for (let i = 0; i < n; i++) dst.set(src, (i & 1023) << 6);
            return 0;
          },
        };
      },
    },
    {
      name: 'floor: 1 empty native call',
      kind: 'baseline',
      skip: pkg.noopMissing,
      make() {
        const noop = binding.noop;
        return {
          run(n) {
            for (let i = 0; i < n; i++) noop();
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

runWorkload(
  { name: 'mpool_view64', op: 'sum of 64 bytes', baseOps: 4096 },
  [
    {
      name: 'through MemoryPool.view(h)',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 16 });
        const h = pool.allocate(64);
        const v = pool.view(h);
        v.fill(3);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) for (let j = 0; j < 64; j++) s += v[j];
            return s === 192 * n ? 0 : 1;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    {
      name: 'plain new Uint8Array(64)',
      kind: 'baseline',
      make() {
        const v = new Uint8Array(64).fill(3);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) for (let j = 0; j < 64; j++) s += v[j];
            return s === 192 * n ? 0 : 1;
          },
        };
      },
    },
    {
      name: 'MemoryPool.view(h) call itself',
      kind: 'ours',
      skip: missing,
      make() {
        const pool = new api.MemoryPool({ size: 1 << 16 });
        const h = pool.allocate(64);
        return {
          run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) s += pool.view(h).length;
            return s === 64 * n ? 0 : 1;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
  ],
  opts,
);

process.stdout.write = origWrite;
for (const r of records) {
  if (r.skipped) process.stderr.write(`${r.workload} ${r.impl}: skipped (${r.skipped})\n`);
  if (!r.ns_per_op) continue;
  const { median, min, max } = r.ns_per_op;
  process.stderr.write(
    `${r.workload.padEnd(14)} ${r.impl.padEnd(38)} ${median.toFixed(1).padStart(7)} ns/op ` +
      `(min ${min.toFixed(1)}, max ${max.toFixed(1)})${r.failures ? ` failures ${r.failures}` : ''}\n`,
  );
}
