import { defineConfig } from 'vitest/config';

// vitest transforms TypeScript itself (vite), so tests import src/*.ts directly: no
// tsx or ts-node. End-to-end tests spawn the built bin/run.js (`npm test` builds first).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Otherwise output written by commands under test is swallowed (STACK-NOTES).
    disableConsoleIntercept: true,
    // Whole-store scans, drills and CLI spawns are slow on a loaded 2-core CI runner.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child processes, not worker threads: each test file gets a real process, so
    // process.exitCode, SIGINT listeners, process.chdir and the store LOCK's pid behave
    // as in the CLI, and one file's stdout/stderr stubs cannot leak into another.
    pool: 'forks',
  },
});
