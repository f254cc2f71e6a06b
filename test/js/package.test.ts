// Packaging: `npm run prebuild` + `npm pack` give a tarball that installs
// with install scripts disabled, offline, on a PATH with no compiler (only
// node and npm), and works from require and from import — the addon comes
// from prebuilds/, nothing is compiled at install time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'mp-package-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function npmPath(): string {
  return execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
}

const USE_POOL = `
  const p = new FixedPool({ objectSize: 16, capacity: 4 });
  const off = p.alloc();
  p.view(off).fill(42);
  const ok = p.bytes[off] === 42 && p.stats().allocated === 1;
  p.free(off);
  p.destroy();
`;

describe('package', () => {
  it('installs from the packed tarball without scripts or a compiler and works via require and import', () => {
    const run = (
      cmd: string,
      args: string[],
      cwd: string,
      env: NodeJS.ProcessEnv = process.env,
    ): string =>
      execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

    run('npm', ['run', 'prebuild'], root);
    expect(
      readdirSync(join(root, 'prebuilds', `${process.platform}-${process.arch}`)).some((f) =>
        f.endsWith('.node'),
      ),
    ).toBe(true);
    // --ignore-scripts: dist/ is fresh (global setup); re-running prepare would rewrite it under
    // the suites that load it concurrently.
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], root);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    // A PATH holding node and npm only: no cc, no make, no python.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(npmPath(), join(bin, 'npm'));
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
    delete env.npm_config_nodedir;
    expect(() => run('sh', ['-c', 'command -v cc || command -v gcc'], app, env)).toThrow();
    run(
      'npm',
      [
        'install',
        join(work, tarball!),
        '--ignore-scripts',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
      ],
      app,
      env,
    );

    const pkgDir = join(app, 'node_modules', 'memory-pool-core');
    const loaded = run(
      process.execPath,
      ['-e', `console.log(require('node-gyp-build').path(${JSON.stringify(pkgDir)}))`],
      app,
      env,
    );
    expect(loaded).toContain(join('prebuilds', `${process.platform}-${process.arch}`));
    expect(readdirSync(pkgDir)).not.toContain('build');

    const cjs = run(
      process.execPath,
      ['-e', `const { FixedPool } = require('memory-pool-core');${USE_POOL} console.log(ok)`],
      app,
      env,
    );
    expect(cjs.trim()).toBe('true');
    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { FixedPool } from 'memory-pool-core';${USE_POOL} console.log(ok)`,
      ],
      app,
      env,
    );
    expect(esm.trim()).toBe('true');
  }, 240_000);
});
