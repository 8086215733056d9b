// SPDX-License-Identifier: Apache-2.0
// Chaos with real processes (issue 6), on the server's SQLite ledger in its data dir, which outlives
// every restart: the scenario and its checks are in chaos-scenario.ts (chaos-pg.test.ts runs them on
// PostgreSQL). CHAOS_SEED changes the seed; CHAOS_MS shortens or lengthens the chaos phase (default
// 60 s).
import { chaosSuite } from './chaos-scenario.ts';
import { checkInvariants } from './invariants.ts';

chaosSuite('chaos: real broker, server and kiosk processes killed and cut at random', {
  seed: Number(process.env['CHAOS_SEED'] ?? 20261128),
  chaosMs: Number(process.env['CHAOS_MS'] ?? 60_000),
  ledger: async () => ({
    check: async (input, ledgerPath) => checkInvariants({ ...input, ledgerPath }),
    dispose: async () => {},
  }),
});
