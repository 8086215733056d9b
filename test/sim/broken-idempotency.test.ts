// SPDX-License-Identifier: Apache-2.0
// The mutation check: with a server dispatcher that forgets the txIds of `pay` and `settle` it has
// seen (broken-dispatcher.ts), the simulator must find a violation within a few seeds, and the same
// seeds must pass against the real dispatcher.
import { describe, expect, it } from 'vitest';
import { forgetfulDispatcher } from './broken-dispatcher.ts';
import { runSimulation } from './simulator.ts';

const SEEDS_MAX = 40;
const STEPS = 60;

describe('simulation against a broken idempotency check', () => {
  it(`finds a violation within ${SEEDS_MAX} seeds`, async () => {
    let found: { seed: number; violations: string[]; forgotten: number } | undefined;
    for (let seed = 1; seed <= SEEDS_MAX && !found; seed++) {
      const dispatcher = forgetfulDispatcher();
      const r = await runSimulation({ seed, steps: STEPS, dispatcher });
      if (!r.ok) found = { seed, violations: r.violations, forgotten: dispatcher.forgotten() };
    }
    expect(found, 'the simulator did not notice a server that forgets txIds').toBeDefined();
    console.log(
      `broken idempotency caught at seed ${found!.seed} (${found!.forgotten} repeats handled as new):\n  ${found!.violations.join('\n  ')}`,
    );
    expect(found!.forgotten).toBeGreaterThan(0);
    // The same seed is clean against the real dispatcher: the violation is the mutation's.
    const clean = await runSimulation({ seed: found!.seed, steps: STEPS });
    expect(clean.violations).toEqual([]);
  }, 300_000);
});
