// GC is a backstop, not the contract: a pool collected without destroy() is
// released and reported once (MP_LEAK warning); a destroyed pool is not
// released again. In a child process, since it needs --expose-gc.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('garbage collection', () => {
  it('releases pools collected without destroy() and warns once per pool', () => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', join(root, 'test/js/fixtures/gc-leak.cjs'), join(root, 'dist/index.js')],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({
      live: 1,
      warnings: ['MP_LEAK', 'MP_LEAK', 'MP_LEAK'],
      keptWorks: true,
    });
  });
});
