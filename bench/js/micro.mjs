// JS micro benchmarks: the package's FixedPool and Arena against what a Node
// program would otherwise use, in one process and one run.
//
//   pair64       one 64-byte object: get it, write a byte, give it back
//   batch64      allocMany/freeMany of 256 offsets per call, per element
//   live10k64    10,000 objects of 64 B taken, then all given back, per object
//   arena_small  8..256 B bump allocations, everything released every 4,096
//   heap_pair64  TlsfAllocator alloc(64) + free, first alone, then again after
//                the other variable-size classes (and a user subclass) ran in
//                the process: the cost of polymorphic call paths, if any
//
// Buffer and Uint8Array are "given back" by dropping them (a ring of 1,024
// references keeps each alive a little, as real code does); their GC cost
// shows up in these timings only partly: bench/js/gc_mixed.mjs measures it.
// Floors: a pure-JS Int32Array free stack (as a class, and hand-inlined into
// the loop) / bump offset (the least work any pool can do in JS) and an
// empty native call (the least a native call costs).
import { MemPool } from '@thi.ng/malloc';
import { emit, parseArgs, runWorkload, sequence } from './harness.mjs';
import { loadPackage } from './load.mjs';

const opts = parseArgs(process.argv.slice(2));
const pkg = loadPackage();
const { api, binding } = pkg;
const CAPACITY = 1 << 16;
const LIVE = 10000;
const BATCH = 256;
const ARENA_RESET = 4096;
const arenaSizes = sequence(Uint16Array, 65536, 0x5eed, (r) => 8 * (1 + (r() % 32)));

function fixedPool(cacheSize) {
  const cfg = { objectSize: 64, capacity: CAPACITY };
  if (cacheSize !== undefined) cfg.cacheSize = cacheSize;
  return new api.FixedPool(cfg);
}

/** Offsets 0, 64, .. of CAPACITY slots on a stack, and the bytes they index. */
function offsetStack() {
  const stack = new Int32Array(CAPACITY);
  for (let i = 0; i < CAPACITY; i++) stack[i] = (CAPACITY - 1 - i) * 64;
  return { stack, u8: new Uint8Array(CAPACITY * 64) };
}

/**
 * The pure-JS pool a program would write instead of ours: an Int32Array
 * stack of free offsets behind alloc()/free() methods, with no misuse
 * checks at all (a double free corrupts it silently). Its fields live on an
 * object, as any reusable pool's must; the loop-locals floor beside it is
 * the same work hand-inlined into the benchmark loop.
 */
class FreeStack {
  #stack;
  #top;
  constructor(stack) {
    this.#stack = stack;
    this.#top = stack.length;
  }
  alloc() {
    const top = this.#top;
    if (top === 0) return -1;
    this.#top = top - 1;
    return this.#stack[top - 1];
  }
  free(offset) {
    this.#stack[this.#top++] = offset;
  }
}

// Case factories. Closures made from one function literal share V8's type
// feedback, so a factory serves only cases that pass the same types through
// its loop (a FixedPool with or without cache; a MemPool with a different
// count); a different API gets a literal of its own.

/** A FixedPool pair: alloc, write a byte, free. */
function fixedPairCase(name, cacheSize) {
  return {
    name,
    kind: 'ours',
    skip: pkg.fixedMissing,
    make() {
      const pool = fixedPool(cacheSize);
      const u8 = pool.bytes;
      return {
        run(n) {
          let failures = 0;
          for (let i = 0; i < n; i++) {
            const o = pool.alloc();
            if (o < 0) {
              failures++;
              continue;
            }
            u8[o] = i;
            pool.free(o);
          }
          return failures;
        },
        teardown: () => pool.destroy(),
      };
    },
  };
}

/** `count` FixedPool objects taken one by one, then all given back. */
function fixedTakeAllCase(name, cacheSize, count) {
  return {
    name,
    kind: 'ours',
    skip: pkg.fixedMissing,
    make() {
      const pool = fixedPool(cacheSize);
      const u8 = pool.bytes;
      const live = new Int32Array(count);
      return {
        run(n) {
          let failures = 0;
          for (let done = 0; done < n; done += count) {
            for (let j = 0; j < count; j++) {
              const o = pool.alloc();
              if (o < 0) failures++;
              else u8[o] = j;
              live[j] = o;
            }
            for (let j = 0; j < count; j++) if (live[j] >= 0) pool.free(live[j]);
          }
          return failures;
        },
        teardown: () => pool.destroy(),
      };
    },
  };
}

/** `count` MemPool blocks of 64 B malloc'ed one by one, then all freed. */
function thingTakeAllCase(name, count) {
  return {
    name,
    kind: 'baseline',
    make() {
      const pool = new MemPool({ size: 1 << 22 });
      const u8 = new Uint8Array(pool.buf);
      const live = new Int32Array(count);
      return {
        run(n) {
          let failures = 0;
          for (let done = 0; done < n; done += count) {
            for (let j = 0; j < count; j++) {
              const p = pool.malloc(64);
              if (p === 0) failures++;
              else u8[p] = j;
              live[j] = p;
            }
            for (let j = 0; j < count; j++) if (live[j] !== 0) pool.free(live[j]);
          }
          return failures;
        },
      };
    },
  };
}

emit({
  bench: 'js',
  meta: {
    node: process.version,
    v8: process.versions.v8,
    reps: opts.reps,
    targetMs: opts.targetMs,
  },
});

// ---------------------------------------------------------------- pair64
runWorkload(
  { name: 'pair64', op: 'alloc 64 B + write 1 byte + free', baseOps: 4096 },
  [
    fixedPairCase('FixedPool (cached)'),
    fixedPairCase('FixedPool (cacheSize 0)', 0),
    {
      name: 'Buffer.allocUnsafe(64)',
      kind: 'baseline',
      make() {
        const sink = new Array(1024).fill(null);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const b = Buffer.allocUnsafe(64);
              b[0] = i;
              sink[i & 1023] = b;
            }
            return 0;
          },
        };
      },
    },
    {
      name: 'new Uint8Array(64)',
      kind: 'baseline',
      make() {
        const sink = new Array(1024).fill(null);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const b = new Uint8Array(64);
              b[0] = i;
              sink[i & 1023] = b;
            }
            return 0;
          },
        };
      },
    },
    {
      name: '@thi.ng/malloc MemPool',
      kind: 'baseline',
      make() {
        const pool = new MemPool({ size: 1 << 22 });
        const u8 = new Uint8Array(pool.buf);
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              const p = pool.malloc(64);
              if (p === 0) {
                failures++;
                continue;
              }
              u8[p] = i;
              pool.free(p);
            }
            return failures;
          },
        };
      },
    },
    {
      name: 'floor: Int32Array free stack class',
      kind: 'floor',
      make() {
        const { stack, u8 } = offsetStack();
        const pool = new FreeStack(stack);
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              const o = pool.alloc();
              if (o < 0) {
                failures++;
                continue;
              }
              u8[o] = i;
              pool.free(o);
            }
            return failures;
          },
        };
      },
    },
    {
      name: 'floor: Int32Array free stack in loop locals',
      kind: 'floor',
      make() {
        const { stack, u8 } = offsetStack();
        let top = CAPACITY;
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              if (top === 0) {
                failures++;
                continue;
              }
              const o = stack[--top];
              u8[o] = i;
              stack[top++] = o;
            }
            return failures;
          },
        };
      },
    },
    {
      name: 'floor: empty native call',
      kind: 'floor',
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

// --------------------------------------------------------------- batch64
runWorkload(
  { name: 'batch64', op: 'per element of allocMany/freeMany of 256 (64 B)', baseOps: BATCH * 16 },
  [
    {
      name: 'FixedPool allocMany/freeMany',
      kind: 'ours',
      skip: pkg.fixedMissing,
      make() {
        const pool = fixedPool();
        const bytes = pool.bytes;
        const array = new Int32Array(BATCH);
        return {
          run(n) {
            // Locals, not the closure's variables: optimized code reloads a
            // context variable at every use in the inner loop (the byte
            // loop costs ~1.6 ns an element so, ~0.8 with locals). The floor
            // below writes its loop the same way.
            const u8 = bytes;
            const offsets = array;
            let failures = 0;
            for (let done = 0; done < n; done += BATCH) {
              const got = pool.allocMany(offsets, BATCH);
              failures += BATCH - got;
              for (let j = 0; j < got; j++) u8[offsets[j]] = j;
              pool.freeMany(offsets, got);
            }
            return failures;
          },
          teardown: () => pool.destroy(),
        };
      },
    },
    thingTakeAllCase('@thi.ng/malloc MemPool (loop)', BATCH),
    {
      name: 'floor: Int32Array stack copy',
      kind: 'floor',
      make() {
        const { stack, u8: bytes } = offsetStack();
        const array = new Int32Array(BATCH);
        let depth = CAPACITY;
        return {
          run(n) {
            const u8 = bytes;
            const offsets = array;
            let top = depth;
            for (let done = 0; done < n; done += BATCH) {
              offsets.set(stack.subarray(top - BATCH, top));
              top -= BATCH;
              for (let j = 0; j < BATCH; j++) u8[offsets[j]] = j;
              stack.set(offsets, top);
              top += BATCH;
            }
            depth = top;
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

// ------------------------------------------------------------- live10k64
runWorkload(
  { name: 'live10k64', op: 'alloc 64 B with 10,000 live, free all; per object', baseOps: LIVE },
  [
    fixedTakeAllCase('FixedPool (cached)', undefined, LIVE),
    fixedTakeAllCase('FixedPool (cacheSize 0)', 0, LIVE),
    {
      name: 'Buffer.allocUnsafe(64)',
      kind: 'baseline',
      make() {
        const live = new Array(LIVE).fill(null);
        return {
          run(n) {
            for (let done = 0; done < n; done += LIVE) {
              for (let j = 0; j < LIVE; j++) {
                const b = Buffer.allocUnsafe(64);
                b[0] = j;
                live[j] = b;
              }
              live.fill(null);
            }
            return 0;
          },
        };
      },
    },
    thingTakeAllCase('@thi.ng/malloc MemPool', LIVE),
    {
      name: 'floor: Int32Array free stack',
      kind: 'floor',
      make() {
        const { stack, u8 } = offsetStack();
        const live = new Int32Array(LIVE);
        let top = CAPACITY;
        return {
          run(n) {
            for (let done = 0; done < n; done += LIVE) {
              for (let j = 0; j < LIVE; j++) {
                const o = stack[--top];
                u8[o] = j;
                live[j] = o;
              }
              for (let j = 0; j < LIVE; j++) stack[top++] = live[j];
            }
            return 0;
          },
        };
      },
    },
  ],
  opts,
);

// ----------------------------------------------------------- arena_small
runWorkload(
  {
    name: 'arena_small',
    op: 'alloc 8..256 B align 8, release all every 4,096',
    baseOps: ARENA_RESET * 4,
  },
  [
    {
      name: 'Arena',
      kind: 'ours',
      skip: pkg.arenaMissing,
      make() {
        const arena = new api.Arena({ size: 1 << 21 });
        const u8 = arena.bytes;
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              const o = arena.alloc(arenaSizes[i & 65535], 8);
              if (o < 0) failures++;
              else u8[o] = i;
              if ((i & (ARENA_RESET - 1)) === ARENA_RESET - 1) arena.reset();
            }
            arena.reset();
            return failures;
          },
          teardown: () => arena.destroy(),
        };
      },
    },
    {
      name: 'Buffer.allocUnsafe(size)',
      kind: 'baseline',
      make() {
        const sink = new Array(1024).fill(null);
        return {
          run(n) {
            for (let i = 0; i < n; i++) {
              const b = Buffer.allocUnsafe(arenaSizes[i & 65535]);
              b[0] = i;
              sink[i & 1023] = b;
            }
            return 0;
          },
        };
      },
    },
    {
      name: '@thi.ng/malloc MemPool + freeAll',
      kind: 'baseline',
      make() {
        const pool = new MemPool({ size: 1 << 22 });
        const u8 = new Uint8Array(pool.buf);
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              const p = pool.malloc(arenaSizes[i & 65535]);
              if (p === 0) failures++;
              else u8[p] = i;
              if ((i & (ARENA_RESET - 1)) === ARENA_RESET - 1) pool.freeAll();
            }
            pool.freeAll();
            return failures;
          },
        };
      },
    },
    {
      name: 'floor: JS bump offset',
      kind: 'floor',
      make() {
        const u8 = new Uint8Array(1 << 21);
        let top = 0;
        return {
          run(n) {
            let failures = 0;
            for (let i = 0; i < n; i++) {
              const o = (top + 7) & ~7;
              const end = o + arenaSizes[i & 65535];
              if (end > u8.length) failures++;
              else {
                u8[o] = i;
                top = end;
              }
              if ((i & (ARENA_RESET - 1)) === ARENA_RESET - 1) top = 0;
            }
            top = 0;
            return failures;
          },
        };
      },
    },
  ],
  opts,
);

// ----------------------------------------------------------- heap_pair64
// Order matters: the first case is made and optimised before any other
// HeapAllocator class has run in this process; the last case makes Buddy,
// Slab, FitList and a subclass of TlsfAllocator (six receiver classes with
// TlsfAllocator, more than V8's four-map polymorphic limit) allocate and free
// first, then times a fresh TlsfAllocator from a loop of its own. Equal
// figures mean the shared code stayed monomorphic.
const heapMissing =
  typeof api?.TlsfAllocator === 'function' ? null : 'dist/index.js exports no TlsfAllocator';
const HEAP_BYTES = 1 << 22;
runWorkload(
  { name: 'heap_pair64', op: 'alloc(64) + free of a variable-size allocator', baseOps: 4096 },
  [
    {
      // The same class before any other ran (monomorphic call sites): the
      // reference the cases below, run after five other classes, compare to.
      name: 'floor: TlsfAllocator as the first class to run',
      kind: 'floor',
      skip: heapMissing,
      make() {
        const a = new api.TlsfAllocator({ size: HEAP_BYTES });
        return {
          run(n) {
            for (let i = 0; i < n; i++) a.free(a.alloc(64));
            return 0;
          },
          teardown: () => a.destroy(),
        };
      },
    },
    {
      name: 'BuddyAllocator',
      kind: 'ours',
      skip: heapMissing,
      make() {
        const a = new api.BuddyAllocator({ size: HEAP_BYTES });
        return {
          run(n) {
            for (let i = 0; i < n; i++) a.free(a.alloc(64));
            return 0;
          },
          teardown: () => a.destroy(),
        };
      },
    },
    {
      name: 'SlabAllocator',
      kind: 'ours',
      skip: heapMissing,
      make() {
        const a = new api.SlabAllocator({ size: HEAP_BYTES });
        return {
          run(n) {
            for (let i = 0; i < n; i++) a.free(a.alloc(64));
            return 0;
          },
          teardown: () => a.destroy(),
        };
      },
    },
    {
      name: 'FitListAllocator first-fit',
      kind: 'ours',
      skip: heapMissing,
      make() {
        const a = new api.FitListAllocator({ size: HEAP_BYTES, policy: 'first' });
        return {
          run(n) {
            for (let i = 0; i < n; i++) a.free(a.alloc(64));
            return 0;
          },
          teardown: () => a.destroy(),
        };
      },
    },
    {
      name: 'TlsfAllocator, after 5 other classes ran',
      kind: 'ours',
      skip: heapMissing,
      make() {
        class TaggedTlsf extends api.TlsfAllocator {}
        class TaggedBuddy extends api.BuddyAllocator {}
        const others = [
          new api.BuddyAllocator({ size: HEAP_BYTES }),
          new api.SlabAllocator({ size: HEAP_BYTES }),
          new api.FitListAllocator({ size: HEAP_BYTES, policy: 'best' }),
          new TaggedTlsf({ size: HEAP_BYTES }),
          new TaggedBuddy({ size: HEAP_BYTES }),
        ];
        for (const o of others) {
          for (let i = 0; i < 50000; i++) o.free(o.alloc(64));
          o.destroy();
        }
        const a = new api.TlsfAllocator({ size: HEAP_BYTES });
        return {
          run(n) {
            for (let i = 0; i < n; i++) a.free(a.alloc(64));
            return 0;
          },
          teardown: () => a.destroy(),
        };
      },
    },
  ],
  opts,
);
