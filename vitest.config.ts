import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // PGlite is single-threaded WASM; forks keep one instance per file isolated and parallel.
    pool: 'forks',
    // Vitest's default (cores - 1) runs one file at a time on a 2-core machine, while the longest
    // files mostly wait on servers and simulated clocks they spawned: two at a time halves the run.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
