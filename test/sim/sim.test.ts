// SPDX-License-Identifier: Apache-2.0
// The simulator in CI: 1,000 seeds (SIM_SEEDS to change, SIM_STEPS for steps per seed, SIM_FIRST for
// the first seed) must all keep the invariants, and a seed must replay exactly; then 50 of them
// (SIM_REPLICA_SEEDS) again with three server replicas on the one ledger. A failure prints
// each failing seed, its violations and the command that replays it.
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimResult } from './simulator.ts';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 1_000);
const STEPS = Number(process.env['SIM_STEPS'] ?? 40);
const FIRST = Number(process.env['SIM_FIRST'] ?? 1);
/** Seeds run again with three server replicas on the one ledger (sim-server.ts). */
const REPLICA_SEEDS = Number(process.env['SIM_REPLICA_SEEDS'] ?? 50);

describe('deterministic simulation', () => {
  it('replays a seed exactly: the same trace, the same outcome', async () => {
    const a = await runSimulation({ seed: 4242, steps: 80 });
    const b = await runSimulation({ seed: 4242, steps: 80 });
    expect(a.stats['attempts']).toBeGreaterThan(0);
    expect(b.digest).toBe(a.digest);
    expect(b.stats).toEqual(a.stats);
    expect(b.violations).toEqual(a.violations);
  });

  it(`keeps every invariant over ${SEEDS} seeds of ${STEPS} steps`, async () => {
    const failures: SimResult[] = [];
    const totals: Record<string, number> = {};
    for (let i = 0; i < SEEDS; i++) {
      const r = await runSimulation({ seed: FIRST + i, steps: STEPS });
      for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
      if (!r.ok) failures.push(r);
    }
    const described = failures.map((r) =>
      [
        `seed ${r.seed}: ${r.violations.join(' | ')}`,
        ...r.trace.slice(-15).map((l) => `    ${l}`),
        `  replay: npm run sim -- --seed ${r.seed} --steps ${STEPS} --verbose`,
      ].join('\n'),
    );
    expect(described, described.join('\n\n')).toEqual([]);
    // The faults really happened (a run that exercises nothing would pass trivially).
    for (const what of [
      'approved',
      'settledOffline',
      'declinedAtSettlement',
      'powerLosses',
      'tornWrites',
      'messagesDropped',
      'messagesDuplicated',
      'serverRestarts',
      'dishonestClaims',
      'floodMessages',
      'copiesRefused',
    ]) {
      expect(totals[what] ?? 0, what).toBeGreaterThan(0);
    }
    console.log(`simulation: ${SEEDS} seeds x ${STEPS} steps: ${JSON.stringify(totals)}`);
  }, 900_000);

  it(`keeps every invariant with three server replicas over ${REPLICA_SEEDS} seeds, and replays such a run exactly`, async () => {
    const failures: string[] = [];
    let races = 0;
    for (let i = 0; i < REPLICA_SEEDS; i++) {
      const r = await runSimulation({ seed: FIRST + i, steps: STEPS, replicas: 3 });
      races += r.stats['replicaRaces'] ?? 0;
      if (!r.ok)
        failures.push(
          `seed ${r.seed}: ${r.violations.join(' | ')}\n  replay: npm run sim -- --seed ${r.seed} --steps ${STEPS} --replicas 3 --verbose`,
        );
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(races, 'requests handed to two replicas at once').toBeGreaterThan(0);
    // On SQLite in memory the replicas share one connection: the run is still the seed's alone.
    const [a, b] = [
      await runSimulation({ seed: 4242, steps: 80, replicas: 3 }),
      await runSimulation({ seed: 4242, steps: 80, replicas: 3 }),
    ];
    expect(b.digest).toBe(a.digest);
    expect(b.stats).toEqual(a.stats);
  }, 300_000);
});
