// SPDX-License-Identifier: Apache-2.0
// `npm run test:arm64`: the arm64 boot test alone (test/arm64/kiosk-arm64-boot.test.ts); the default
// `npm test` run leaves test/arm64 out (vitest.config.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/arm64/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
