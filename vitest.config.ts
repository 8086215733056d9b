import { defineConfig } from 'vitest/config';

// Two projects: `unit` is every test beside its code (one module or one process at a time: some
// open real sockets, none starts the whole system); `e2e` is test/ (whole systems, real processes,
// browsers, simulation). `npm test` runs both; `npm run test:unit` and `test:e2e` run one.
const common = { testTimeout: 30_000, hookTimeout: 30_000, pool: 'forks' } as const;
// Two test files at once (vitest's default is one per core less one: a single worker on the 2-core
// machines CI runs on, which left a core idle while the simulation computed). KP_TEST_WORKERS overrides.
const maxWorkers = Number(process.env['KP_TEST_WORKERS'] ?? 2);

export default defineConfig({
  test: {
    maxWorkers,
    projects: [
      {
        test: {
          ...common,
          name: 'unit',
          include: ['{shared,server,device,broker,wallet,console,bin,bench,docs}/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
      // test/arm64: the arm64 boot test, its own CI step (npm run test:arm64).
      { test: { ...common, name: 'e2e', include: ['test/**/*.test.ts'], exclude: ['test/arm64/**', '**/node_modules/**'] } },
    ],
  },
});
