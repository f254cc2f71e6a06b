// Loads what the JS benches measure: the package's compiled classes (dist/)
// and the raw addon (for the empty-call floor). Anything missing becomes a
// skip reason shown in the results, never a fake number.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

export function loadPackage() {
  let api = null;
  let apiMissing = null;
  try {
    api = require(join(repoRoot, 'dist', 'index.js'));
  } catch (e) {
    apiMissing = `dist/ not loadable (run npm run build): ${firstLine(e)}`;
  }
  let binding = null;
  let noopMissing = null;
  try {
    binding = require('node-gyp-build')(repoRoot);
    if (typeof binding.noop !== 'function')
      noopMissing = 'the addon exports no noop(): the call floor needs one (see bench/README.md)';
  } catch (e) {
    noopMissing = `addon not loadable: ${firstLine(e)}`;
  }
  const missing = (name) => {
    if (apiMissing) return apiMissing;
    return typeof api[name] === 'function' ? null : `dist/index.js exports no ${name}`;
  };
  return {
    api,
    binding,
    noopMissing,
    fixedMissing: missing('FixedPool'),
    arenaMissing: missing('Arena'),
  };
}
