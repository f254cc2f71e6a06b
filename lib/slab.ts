/**
 * SlabAllocator: size classes of fixed slots carved from slabs. A request
 * takes a slot of the first class that holds it; a slab whose last slot is
 * freed goes back to the pool and may serve any class. O(1) alloc and free.
 * Sizes above the largest class are refused (InvalidArgumentError from the
 * core, counted in failedAllocCount). All metadata lives on the native heap,
 * never in the region: writes anywhere in `bytes` change user data only.
 * The API is HeapAllocator's, plus per-class statistics.
 */
import { objectArg, show, uint32Arg } from './args';
import { binding, MAX_REGION_BYTES } from './binding';
import { errorFromStatus, InvalidArgumentError } from './errors';
import { HeapAllocator, HeapAttachRequest, type HeapOptions, type HeapPlan } from './heap';
import type { SlabClassStats } from './stats';

/** The core's default slab size. */
const DEFAULT_SLAB_SIZE = 65536;
/** MP_SLAB_MAX_CLASSES of the C header. */
const MAX_CLASSES = 64;

export interface SlabOptions extends HeapOptions {
  /** Bytes per slab, a power of two in [4096, 2^30]; default 65536. `size` is
   * rounded down to whole slabs and must hold one. */
  slabSize?: number;
  /** Slot sizes of the classes: 1..64 strictly ascending multiples of 8, each
   * <= slabSize. Default: 8, 16, 32, ... maxClassSize. */
  classSizes?: readonly number[] | Int32Array;
  /** Largest default class, a power of two in [8, slabSize]; default 4096.
   * Not with classSizes. */
  maxClassSize?: number;
}

function slabPlan(options: SlabOptions): HeapPlan {
  const ctx = 'new SlabAllocator()';
  objectArg(options, 'options', ctx);
  const size = uint32Arg(options.size, 'size', ctx, 1, MAX_REGION_BYTES);
  const slabSize =
    options.slabSize === undefined ? 0 : uint32Arg(options.slabSize, 'slabSize', ctx, 1);
  if (size < (slabSize || DEFAULT_SLAB_SIZE)) {
    throw new InvalidArgumentError(
      `${ctx}: size ${size} does not hold one slab of ${slabSize || DEFAULT_SLAB_SIZE} bytes`,
    );
  }
  let classSizes: Int32Array | null = null;
  const given = options.classSizes;
  if (given !== undefined) {
    if (!Array.isArray(given) && !(given instanceof Int32Array)) {
      throw new InvalidArgumentError(
        `${ctx}: classSizes must be an array of numbers, got ${show(given)}`,
      );
    }
    if (given.length === 0 || given.length > MAX_CLASSES) {
      throw new InvalidArgumentError(
        `${ctx}: classSizes must list 1 to ${MAX_CLASSES} sizes, got ${given.length}`,
      );
    }
    if (options.maxClassSize !== undefined)
      throw new InvalidArgumentError(`${ctx}: give classSizes or maxClassSize, not both`);
    classSizes = Int32Array.from(given, (v, i) =>
      uint32Arg(v, `classSizes[${i}]`, ctx, 1, MAX_REGION_BYTES),
    );
  }
  const maxClassSize =
    options.maxClassSize === undefined
      ? 0
      : uint32Arg(options.maxClassSize, 'maxClassSize', ctx, 1);
  return {
    family: 'slab',
    className: 'SlabAllocator',
    options,
    regionBytes: size,
    create: (view, regionBytes, flags) =>
      binding.slab_create(
        view,
        regionBytes,
        slabSize,
        classSizes,
        classSizes?.length ?? 0,
        maxClassSize,
        flags,
      ),
  };
}

export class SlabAllocator extends HeapAllocator {
  static readonly family = 'slab';

  #classCount: number;

  /** Manages `size` bytes rounded down to whole slabs; the region must start
   * 16-byte aligned (byteOffset a multiple of 16). */
  constructor(options: SlabOptions) {
    super(options instanceof HeapAttachRequest ? options : slabPlan(options));
    this.#classCount = binding.slab_class_count(this.liveId('new SlabAllocator()'));
  }

  /** Number of size classes. */
  get classCount(): number {
    return this.#classCount;
  }

  /** Counters of class `index` (0 .. classCount - 1, smallest slots first). */
  classStats(index: number): SlabClassStats {
    const ctx = 'SlabAllocator.classStats()';
    const id = this.liveId(ctx);
    uint32Arg(index, 'index', ctx, 0, this.#classCount - 1);
    const result = binding.slab_class_stats<SlabClassStats>(id, index);
    if (typeof result === 'number') throw errorFromStatus(result, ctx);
    return result;
  }
}
