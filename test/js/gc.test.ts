// GC is a backstop, not the contract: a pool collected without destroy() is
// released and reported once (MP_LEAK warning); a destroyed pool is not
// released again. In a child process, since it needs --expose-gc.
import { describe, expect, it } from 'vitest';
import { runGcFixture } from './processes';

describe('garbage collection', () => {
  it('releases pools collected without destroy() and warns once per pool', () => {
    expect(runGcFixture('gc-leak.cjs')).toEqual({
      live: 1,
      warnings: ['MP_LEAK', 'MP_LEAK', 'MP_LEAK'],
      keptWorks: true,
    });
  });
});
