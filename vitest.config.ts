import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // test/arm64: the arm64 boot test, its own CI step (npm run test:arm64).
    exclude: ['node_modules/**', 'test/arm64/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
