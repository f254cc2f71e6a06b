// binding.gyp (node-gyp) and CMakeLists.txt (cmake-js, C tests) compile the
// same core sources; both compile every glue file of native/napi.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string): string => readFileSync(join(root, p), 'utf8');

function cmakeCoreSources(): string[] {
  const m = /set\(MP_CORE_SOURCES\s+([^)]*)\)/.exec(read('CMakeLists.txt'));
  if (!m) throw new Error('MP_CORE_SOURCES not found in CMakeLists.txt');
  return m[1].split(/\s+/).filter((s) => s && !s.startsWith('#'));
}

interface GypFile {
  targets: { target_name: string; sources: string[] }[];
}

function gyp(): GypFile {
  // gyp files are Python literals; ours is JSON once '#' comment lines are removed.
  const text = read('binding.gyp')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  return JSON.parse(text) as GypFile;
}

describe('build files', () => {
  it('binding.gyp lists exactly the core sources of CMakeLists.txt (MP_CORE_SOURCES)', () => {
    const cmake = cmakeCoreSources();
    const gypSources = gyp().targets[0].sources.filter((s) => s.startsWith('native/core/'));
    expect(new Set(cmake).size).toBe(cmake.length);
    expect([...gypSources].sort()).toEqual([...cmake].sort());
  });

  it('every .c file of native/core is in the core list', () => {
    const files = readdirSync(join(root, 'native/core'))
      .filter((f) => f.endsWith('.c'))
      .map((f) => `native/core/${f}`);
    expect(cmakeCoreSources().sort()).toEqual(files.sort());
  });

  it('both builds compile every .c file of native/napi and the same addon name', () => {
    const target = gyp().targets[0];
    expect(target.target_name).toBe('memory_pool_core');
    const expansion = target.sources.find((s) => s.startsWith('<!@('));
    expect(expansion).toContain("readdirSync('native/napi')");
    const addon = read('cmake/addon.cmake');
    expect(addon).toMatch(/file\(GLOB MP_NAPI_SOURCES [^)]*native\/napi\/\*\.c\)/);
    expect(addon).toContain('${MP_CORE_SOURCES}');
    expect(addon).toContain('OUTPUT_NAME memory_pool_core');
    expect(read('CMakeLists.txt')).toContain('include(cmake/addon.cmake)');
  });
});
