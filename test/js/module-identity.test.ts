// `import` and `require` of the package give one module instance: the ESM
// entry re-exports the CommonJS build, so classes, errors and the addon are
// shared (instanceof works across both). Checked in a child process on the
// compiled package, by file and by package name (self-reference).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function node(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('require vs import', () => {
  it('give the same class objects and the same set of exports', () => {
    const out = node(`
      import { createRequire } from 'node:module';
      import * as esm from 'memory-pool-core';
      import esmDefault from 'memory-pool-core';
      const require = createRequire(import.meta.url);
      const cjs = require('memory-pool-core');
      const esmNames = Object.keys(esm).filter((k) => k !== 'default').sort();
      const cjsNames = Object.keys(cjs).filter((k) => k !== '__esModule').sort();
      const same = esmNames.every((k) => esm[k] === cjs[k]);
      const pool = new esm.FixedPool({ objectSize: 8, capacity: 4 });
      let caught;
      try { pool.free(3); } catch (e) { caught = e; }
      console.log(JSON.stringify({
        sameNames: JSON.stringify(esmNames) === JSON.stringify(cjsNames),
        count: esmNames.length,
        same,
        defaultIsCjs: esmDefault === cjs,
        instanceOf: pool instanceof cjs.FixedPool,
        errorClass: caught instanceof cjs.InvalidAddressError,
        fileUrlSame: (await import('./dist/index.mjs')).FixedPool === require('./dist/index.js').FixedPool,
      }));
      pool.destroy();
    `);
    expect(JSON.parse(out)).toEqual({
      sameNames: true,
      count: expect.any(Number),
      same: true,
      defaultIsCjs: true,
      instanceOf: true,
      errorClass: true,
      fileUrlSame: true,
    });
  });
});
