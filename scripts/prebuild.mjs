// `npm run prebuild`: prebuildify --napi --strip, writing prebuilds/<platform>-<arch>/.
//
// prebuildify always runs `node-gyp rebuild`, and node-gyp's clean step
// deletes ./build, which is also where the CMake builds live (build/<name>).
// So the native sources are copied to a staging directory, prebuildify runs
// there, and only its prebuilds/ output lands in the package root.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const stage = mkdtempSync(join(tmpdir(), 'mp-prebuild-'));
try {
  for (const entry of ['package.json', 'binding.gyp', 'include', 'native']) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  const env = { ...process.env };
  env.PREBUILD_NODE_GYP ??= join(root, 'node_modules', '.bin', 'node-gyp');
  // Offline builds: use the headers installed next to this node when npm did not say where they are.
  const nodePrefix = resolve(dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'common.gypi'))) {
    env.npm_config_nodedir = nodePrefix;
  }
  const bin = require.resolve('prebuildify/bin.js');
  const args = [bin, '--napi', '--strip', '--cwd', stage, '--out', root, ...process.argv.slice(2)];
  const run = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  if (run.status !== 0) process.exitCode = run.status ?? 1;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
