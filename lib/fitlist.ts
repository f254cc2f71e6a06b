/**
 * FitListAllocator: a free-list allocator with first-, best- or worst-fit
 * placement, splitting blocks on alloc and coalescing neighbours on free,
 * O(log n) per operation. Blocks are 16-byte granules; all block state lives
 * on the native heap, never in the region: writes anywhere in `bytes` change
 * user data only. The API is HeapAllocator's.
 */
import { objectArg, show, uint32Arg } from './args';
import { binding, MAX_REGION_BYTES } from './binding';
import { InvalidArgumentError } from './errors';
import { HeapAllocator, HeapAttachRequest, type HeapOptions, type HeapPlan } from './heap';

export type FitPolicy = 'first' | 'best' | 'worst';

/** MP_FitPolicy values of the C header, by name. */
const POLICIES: Readonly<Record<FitPolicy, number>> = { first: 0, best: 1, worst: 2 };

export interface FitListOptions extends HeapOptions {
  /** 'first': lowest address that fits; 'best': smallest block that fits;
   * 'worst': largest block. */
  policy: FitPolicy;
}

function fitListPlan(options: FitListOptions): HeapPlan {
  const ctx = 'new FitListAllocator()';
  objectArg(options, 'options', ctx);
  const size = uint32Arg(options.size, 'size', ctx, 16, MAX_REGION_BYTES);
  const { policy } = options;
  if (typeof policy !== 'string' || !Object.hasOwn(POLICIES, policy)) {
    throw new InvalidArgumentError(
      `${ctx}: policy must be 'first', 'best' or 'worst', got ${show(policy)}`,
    );
  }
  const policyValue = POLICIES[policy];
  return {
    family: 'fitlist',
    className: 'FitListAllocator',
    options,
    regionBytes: size,
    create: (view, regionBytes, flags) =>
      binding.fitlist_create(view, regionBytes, policyValue, flags),
  };
}

export class FitListAllocator extends HeapAllocator {
  static readonly family = 'fitlist';

  /** Manages the whole 16-byte granules of `size` bytes (>= 16) from the
   * first 16-byte aligned address at byteOffset. */
  constructor(options: FitListOptions) {
    super(options instanceof HeapAttachRequest ? options : fitListPlan(options));
  }
}
