/**
 * BuddyAllocator: a binary buddy system over one region. Blocks are powers
 * of two from minBlockSize up; a request takes the smallest block that holds
 * it (split from a larger one when needed) and a freed block merges with its
 * buddy. O(log(max / min)) per alloc and free. All block state lives on the
 * native heap, never in the region: writes anywhere in `bytes` change user
 * data only. The API is HeapAllocator's.
 */
import { objectArg, show, uint32Arg } from './args';
import { binding, MAX_REGION_BYTES } from './binding';
import { InvalidArgumentError } from './errors';
import { HeapAllocator, HeapAttachRequest, type HeapOptions, type HeapPlan } from './heap';

const DEFAULT_MIN_BLOCK_SIZE = 64;

export interface BuddyOptions extends HeapOptions {
  /** Smallest block, a power of two >= 16; default 64. `size` is rounded down
   * to a multiple of it. */
  minBlockSize?: number;
  /** Largest block, a power of two in [minBlockSize, size]; default: the
   * largest power of two that fits `size`. */
  maxBlockSize?: number;
}

/** A power of two in [min, 2^30], else InvalidArgumentError. */
function blockSizeArg(value: unknown, name: string, ctx: string, min: number): number {
  const v = uint32Arg(value, name, ctx, min, 2 ** 30);
  if ((v & (v - 1)) !== 0)
    throw new InvalidArgumentError(`${ctx}: ${name} must be a power of two, got ${show(v)}`);
  return v;
}

function buddyPlan(options: BuddyOptions): HeapPlan {
  const ctx = 'new BuddyAllocator()';
  objectArg(options, 'options', ctx);
  const size = uint32Arg(options.size, 'size', ctx, 1, MAX_REGION_BYTES);
  const min =
    options.minBlockSize === undefined
      ? DEFAULT_MIN_BLOCK_SIZE
      : blockSizeArg(options.minBlockSize, 'minBlockSize', ctx, 16);
  const max =
    options.maxBlockSize === undefined
      ? 0
      : blockSizeArg(options.maxBlockSize, 'maxBlockSize', ctx, min);
  const managed = size - (size % min);
  if (managed === 0) {
    throw new InvalidArgumentError(`${ctx}: size ${size} is less than one block of ${min} bytes`);
  }
  return {
    family: 'buddy',
    className: 'BuddyAllocator',
    options,
    // The core starts the region at a multiple of min: a 16-byte aligned
    // start loses at most min - 16 bytes, so this manages exactly `managed`.
    regionBytes: managed + min - 16,
    create: (view, regionBytes, flags) => binding.buddy_create(view, regionBytes, min, max, flags),
  };
}

export class BuddyAllocator extends HeapAllocator {
  static readonly family = 'buddy';

  /**
   * Manages `size` bytes rounded down to a multiple of minBlockSize
   * (regionBytes tells; one block less if the buffer's start at byteOffset is
   * not 16-byte aligned). Needs size + minBlockSize - 16 bytes of buffer:
   * the core aligns the region start to minBlockSize.
   */
  constructor(options: BuddyOptions) {
    super(options instanceof HeapAttachRequest ? options : buddyPlan(options));
  }
}
