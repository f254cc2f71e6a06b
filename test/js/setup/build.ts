// Vitest global setup: builds what the suites load when it is missing or
// older than its sources — the addon (build/Release, via node-gyp: no clean,
// since build/ also holds the CMake builds) and dist/ (workers, child
// processes and the ESM/CJS identity test load the compiled package).
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function stale(output: string, inputs: string[]): boolean {
  const out = join(root, output);
  if (!existsSync(out)) return true;
  const built = statSync(out).mtimeMs;
  return inputs.some(
    (input) => existsSync(join(root, input)) && newestMtime(join(root, input)) > built,
  );
}

/** Runs an npm script quietly; its output is shown only when it fails. */
function run(script: string, output: string): void {
  try {
    execSync(`npm run ${script}`, { cwd: root, stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`npm run ${script} failed`);
  }
  const now = new Date();
  utimesSync(join(root, output), now, now); // make's no-op rebuild leaves it older than its inputs
}

export default function setup(): void {
  const addon = 'build/Release/memory_pool_core.node';
  if (stale(addon, ['native', 'include', 'binding.gyp'])) run('build:native', addon);
  if (stale('dist/index.mjs', ['lib', 'scripts/emit-esm.mjs', 'tsconfig.json']))
    run('build:ts', 'dist/index.mjs');
}
