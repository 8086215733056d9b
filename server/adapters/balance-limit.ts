// SPDX-License-Identifier: Apache-2.0
// The balance bound (shared/money.ts MONEY_MAX, 10^12 minor units) on every credit. Both stores
// credit with a conditional UPDATE (balance + amount <= MONEY_MAX), so the check and the credit are
// one statement inside the unit's transaction; a refused credit rolls the whole unit back.
import { KioskpayError } from '../../shared/errors.ts';
import { MONEY_MAX } from '../../shared/money.ts';
import type { Transfer } from '../ports/store.ts';

/** The typed refusal of a credit that would take `t.creditAccount` above MONEY_MAX. */
export function balanceLimit(t: Transfer): KioskpayError {
  return new KioskpayError(
    'BALANCE_LIMIT',
    `a ${t.kind} credit of ${t.amount} ${t.currency} would take account ${t.creditAccount} above ${MONEY_MAX} minor units`,
  );
}
