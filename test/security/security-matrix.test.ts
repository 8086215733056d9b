// SPDX-License-Identifier: Apache-2.0
// The security matrix (docs/security.md): one row per attack, each with its expected typed outcome,
// and for every row the ledger seen through the Store (balances, totals, payments that moved money;
// at the kiosk also its outbox of payments to claim) is the same just before and just after the
// attack. Rows live in matrix-rows.ts; controls.ts shows that each place's snapshot does see a
// legitimate payment.
import { describe, expect, it } from 'vitest';
import { CONTROLS } from './controls.ts';
import { MATRIX } from './matrix-rows.ts';

for (const place of [...new Set(MATRIX.map((r) => r.place))]) {
  describe(`security matrix: ${place}`, () => {
    for (const row of MATRIX.filter((r) => r.place === place)) {
      it(`${row.name} -> ${row.outcome}, ledger unchanged`, async () => {
        const { outcome, before, after } = await row.run();
        expect(outcome).toBe(row.outcome);
        expect(after).toEqual(before);
      });
    }
  });
}

describe('security matrix controls: the snapshot sees money move', () => {
  for (const row of CONTROLS) {
    it(`${row.place}: ${row.name} -> ${row.outcome}, ledger changed`, async () => {
      const { outcome, before, after } = await row.run();
      expect(outcome).toBe(row.outcome);
      expect(after).not.toEqual(before);
    });
  }
});
