// SPDX-License-Identifier: Apache-2.0
// The chaos test's checker on small hand-made ledgers: a consistent one passes, and each kind of
// damage the chaos test exists to catch is named (so a checker that sees nothing cannot pass it).
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialKioskState } from '../../device/kiosk/kiosk-state.ts';
import { SQLITE_SCHEMA } from '../../server/adapters/sqlite-schema.ts';
import type { Attempt } from './chaos-driver.ts';
import { checkInvariants } from './invariants.ts';
import type { KioskStores } from './kiosk-stores.ts';

let dir: string;
let db: Database.Database;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-chaos-inv-'));
  path = join(dir, 'ledger.sqlite');
  db = new Database(path);
  db.exec(SQLITE_SCHEMA);
  for (const [id, kind] of [
    ['issuance:JPY', 'issuance'],
    ['shopper:w1', 'shopper'],
    ['merchant:shop', 'merchant'],
  ] as const) {
    db.prepare('INSERT INTO accounts VALUES (?, ?, ?, 0, 0)').run(id, kind, 'JPY');
  }
  transfer(null, 'issuance:JPY', 'shopper:w1', 1_000);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function transfer(paymentId: string | null, from: string, to: string, amount: number): void {
  db.prepare(
    'INSERT INTO transfers (payment_id, debit_account, credit_account, amount, currency, kind, at) VALUES (?, ?, ?, ?, ?, ?, 0)',
  ).run(paymentId, from, to, amount, 'JPY', 'x');
  db.prepare('UPDATE accounts SET balance = balance - ? WHERE id = ?').run(amount, from);
  db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?').run(amount, to);
}

/** A settled offline payment of credential c1 with this counter, charged 150. */
function settled(id: string, kioskId: string, counter: number): void {
  db.prepare(`INSERT INTO payments (id, kiosk_id, tx_id, kind, status, reason, amount, currency, wallet_id, merchant_account, credential_id, counter, at, request_hash, replay, created_at, updated_at)
    VALUES (?, ?, ?, 'offline-qr', 'settled', NULL, 150, 'JPY', 'w1', 'merchant:shop', 'c1', ?, 0, 'h', 0, 0, 0)`).run(
    id,
    kioskId,
    `tx-${id}`,
    counter,
  );
  transfer(id, 'shopper:w1', 'merchant:shop', 150);
}

function attempt(n: number, counter: number, outcome: Attempt['outcome']): Attempt {
  return { n, kind: 'offline', code: `code-${counter}`, key: `c1:${counter}`, kioskId: 'k1', walletId: 'w1', amount: 150, outcome };
}

function run(
  attempts: Attempt[],
  stores: KioskStores = { outbox: [], state: initialKioskState(), sources: { outbox: 'main', state: 'main' } },
) {
  db.close();
  const r = checkInvariants({
    ledgerPath: path,
    attempts,
    wallets: [{ walletId: 'w1', topup: 1_000 }],
    thinWallets: new Set(),
    merchant: 'shop',
    kiosks: new Map([['k1', stores]]),
  });
  db = new Database(path);
  return r;
}

describe('the chaos invariants', () => {
  it('pass a ledger where each approval is charged once', () => {
    settled('p1', 'k1', 1);
    const { violations, facts } = run([attempt(1, 1, { result: 'approved' }), attempt(2, 2, { result: 'lost' })]);
    expect(violations).toEqual([]);
    expect(facts).toMatchObject({ presented: 2, approvedSeen: 1, lost: 1, charged: 1, settledOffline: 1 });
  });

  it('name a code charged twice', () => {
    settled('p1', 'k1', 1);
    settled('p2', 'k2', 1);
    const { violations } = run([attempt(1, 1, { result: 'approved' })]);
    expect(violations.some((v) => v.includes('charged 2 times'))).toBe(true);
  });

  it('name an approval that nothing charged, and a charge nobody presented', () => {
    settled('p1', 'k1', 7);
    const { violations } = run([attempt(1, 1, { result: 'approved' })]);
    expect(violations.some((v) => v.includes('said approved but nothing is charged'))).toBe(true);
    expect(violations.some((v) => v.includes('never presented'))).toBe(true);
  });

  it('name a decline that was charged', () => {
    settled('p1', 'k1', 1);
    const { violations } = run([attempt(1, 1, { result: 'declined', reason: 'INTERNAL' })]);
    expect(violations.some((v) => v.includes('said declined (INTERNAL) but the code is charged'))).toBe(true);
  });

  it('name a ledger that does not sum to zero, and a balance its transfers do not explain', () => {
    db.prepare("UPDATE accounts SET balance = balance + 5 WHERE id = 'merchant:shop'").run();
    const { violations } = run([]);
    expect(violations.some((v) => v.includes('JPY balances sum to 5'))).toBe(true);
    expect(violations.some((v) => v.includes('account merchant:shop holds 5 but its transfers net 0'))).toBe(true);
  });

  it('name what a kiosk still holds and a kept decline the ledger does not have', () => {
    const state = {
      ...initialKioskState(),
      voidLater: ['t9'],
      declined: [{ txId: 'tx-zz', amount: { value: 150, currency: 'JPY' as const }, capturedAt: 0, reason: 'OFFLINE_LIMIT_DAILY', at: 0 }],
    };
    const entry = {
      txId: 't1',
      code: 'KP1.x',
      amount: { value: 150, currency: 'JPY' as const },
      capturedAt: 0,
      credentialId: '00'.repeat(8),
      counter: 1,
    };
    const { violations } = run([], { outbox: [entry], state, sources: { outbox: 'main', state: 'main' } });
    expect(violations).toEqual(
      expect.arrayContaining([
        'k1: 1 payments still in its outbox',
        'k1: 1 transactions still to void',
        'k1: keeps decline tx-zz (OFFLINE_LIMIT_DAILY) but the ledger has no such payment',
      ]),
    );
  });
});
