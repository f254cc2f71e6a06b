/**
 * Release is explicit: destroy() / [Symbol.dispose]. This registry is the
 * backstop: a pool object collected without destroy() has its native pool
 * detached here (never twice: destroy() unregisters) and a warning names
 * the leak. FinalizationRegistry callbacks run late or, at exit, not at all;
 * the addon's env cleanup hook releases whatever remains when the thread ends.
 */
import { binding } from './binding';

interface Tracked {
  id: number;
  what: string;
}

const registry = new FinalizationRegistry<Tracked>(({ id, what }) => {
  binding.pool_destroy(id);
  process.emitWarning(`${what} was garbage-collected without destroy(); its memory was released`, {
    type: 'MemoryPoolLeakWarning',
    code: 'MP_LEAK',
  });
});

/** Starts watching `owner`, which holds native pool `id`. */
export function track(owner: object, id: number, what: string): void {
  registry.register(owner, { id, what }, owner);
}

/** Stops watching `owner` (call from destroy()). */
export function untrack(owner: object): void {
  registry.unregister(owner);
}
