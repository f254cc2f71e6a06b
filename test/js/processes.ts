// Shared by the suites that run code outside the vitest process: worker
// threads over a fixture (test/js/fixtures/*.cjs) and child processes with
// --expose-gc. Both load the built package (dist/index.js), passed to the
// fixture as `dist` (workerData) or as the second argument (child process).
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The package root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The built CommonJS entry the fixtures load. */
export const dist = join(root, 'dist', 'index.js');

const fixture = (name: string): string => join(root, 'test', 'js', 'fixtures', name);

/** A worker running fixture `script` with workerData `{ dist, ...data }`. */
export function startWorker(script: string, data: Record<string, unknown>): Worker {
  return new Worker(fixture(script), { workerData: { dist, ...data } });
}

/**
 * Runs fixture `script` in a worker; resolves with its first message and its
 * exit code, and rejects with the first error it raised. Both waits start at
 * once: a worker that posts and exits can deliver both events in one turn,
 * and an 'exit' listener added after the message would miss it.
 */
export async function runWorker<T>(
  script: string,
  data: Record<string, unknown>,
): Promise<{ message: T; code: number }> {
  const worker = startWorker(script, data);
  const errors: Error[] = [];
  worker.on('error', (e) => errors.push(e));
  const exited = once(worker, 'exit');
  const [message] = (await once(worker, 'message')) as [T];
  const [code] = (await exited) as [number];
  if (errors.length) throw errors[0];
  return { message, code };
}

/** Runs fixture `script` in `node --expose-gc` (argument: dist) and parses what it prints as JSON. */
export function runGcFixture<T = unknown>(script: string): T {
  const out = execFileSync(process.execPath, ['--expose-gc', fixture(script), dist], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as T;
}
