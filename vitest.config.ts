import { defineConfig } from 'vitest/config';

// Forks, not threads: the suites start worker_threads of their own and load a
// native addon, and each test file gets a clean process (its own addon env).
export default defineConfig({
  test: {
    include: ['test/js/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/js/setup/build.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
