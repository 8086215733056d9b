// SPDX-License-Identifier: Apache-2.0
// Chaos with real processes (chaos-scenario.ts) on the server's PostgreSQL ledger (pg-ledger.ts: a
// fresh schema, dropped afterwards): the server is SIGKILLed in the middle of its group commits and
// of its roll-ups of postings, kiosks re-send and replay, and the same invariants as on SQLite must
// hold, with every balance read through the store. CHAOS_SEED changes the seed; CHAOS_MS the chaos
// phase (default 30 s, half of the SQLite run's). PostgreSQL unreachable: a failure under CI, a
// warning and a skip elsewhere.
import { probePostgres, TEST_DATABASE_URL } from '../../server/testing/pg-test-db.ts';
import { requirePostgres } from '../../server/testing/require-postgres.ts';
import { chaosSuite } from './chaos-scenario.ts';
import { pgChaosLedger } from './pg-ledger.ts';

const SUITE = 'chaos on PostgreSQL: real broker, server and kiosk processes killed and cut at random';

const reachable = requirePostgres(await probePostgres(), SUITE);

chaosSuite(SUITE, {
  seed: Number(process.env['CHAOS_SEED'] ?? 20261128),
  chaosMs: Number(process.env['CHAOS_MS'] ?? 30_000),
  // Server kills 35 times in 100 (SQLite's run: 15): each lands in the middle of group
  // commits and roll-ups of postings.
  faultMix: [30, 25, 35],
  ledger: () => pgChaosLedger(TEST_DATABASE_URL),
  skip: !reachable,
});
