// SPDX-License-Identifier: Apache-2.0
// The project's rule for a test file that needs PostgreSQL and cannot reach it: under CI (which
// always has it) a test that fails with the reason; elsewhere a warning, and the file's suite skips.
import { describe, it } from 'vitest';

/**
 * What a test file does when PostgreSQL is unreachable (`unreachable` from probePostgres): under CI
 * it registers a test that fails with the reason; elsewhere it warns. True when the suite may run.
 */
export function requirePostgres(unreachable: string | undefined, suite: string): boolean {
  if (unreachable === undefined) return true;
  if (process.env['CI']) {
    describe(suite, () => {
      it('reaches PostgreSQL (required in CI)', () => {
        throw new Error(unreachable);
      });
    });
  } else console.warn(`Skipping ${suite}: ${unreachable}. Set KP_TEST_DATABASE_URL, or CI=1 to make this a failure.`);
  return false;
}
