import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes, not threads: tests open real sockets, fork clusters, preload shims and
    // count the process's descriptors.
    pool: 'forks',
    maxWorkers: 2,
    // Checks that each file removed the temp directories it made.
    setupFiles: ['test/setup/temp-dirs.ts'],
    // Generous ceilings: every wait inside a test has its own, shorter, loud timeout.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A flaky pass would hide a real race: never retry.
    retry: 0,
  },
});
