// SPDX-License-Identifier: Apache-2.0
// What must hold after every simulated run, once the world is healed and quiet. Each check returns
// sentences naming the kiosk, txId or wallet, so a failing seed says what went wrong.
//   1. money is conserved: the ledger sums to zero per currency;
//   2. no payment the kiosk approved is lost: each one is charged exactly once under its txId, or
//      (offline only) the server declined it at settlement and the kiosk kept the decline;
//      An approval declined COUNTER_REUSED is the later capture of a code another payment holds:
//      by the loss rule (docs/protocol.md) its merchant bears it; it must be flagged and later;
//   3. nothing is charged twice: a charge belongs to a txId a kiosk started, an online code is
//      charged at most once, an offline code (credential, form, counter) at most once;
//   4. every stored offline payment ended settled, or declined and kept in the kiosk's declines (or
//      was discarded after the checkout gave up on its write); no outbox holds anything;
//   5. balances match the ledger: each wallet's balance is its top-ups minus its charged payments,
//      each merchant's is the sum of its charged payments;
//   6. nothing is charged that the shopper was not shown as approved, except an attempt that a
//      kiosk power loss interrupted (counted, see docs/simulation.md);
//   7. no loss to an honest party: the payment a copy lost to was captured no later than the copy
//      (the honest first sale is never the one refused), the shopper is charged once (3, 5), and
//      nothing the dishonest kiosk claims (copies, duplicates in a batch, inflated amounts) is
//      charged (sim-dishonest.ts); 8. (simulator.ts) the server answers every flood message.
import type { PaymentRow, StoreTx } from '../../server/ports/store.ts';
import { merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import type { Attempt, SimKiosk } from './sim-kiosk.ts';
import type { SimServer } from './sim-server.ts';
import { DISHONEST_KIOSK } from './sim-dishonest.ts';

export interface PhoneLedger {
  walletId: string;
  toppedUp: number;
}

export interface InvariantReport {
  violations: string[];
  /**
   * Charged attempts a power loss interrupted before the screen said approved. Offline: the write
   * landed as the power went (outbox-store.ts: an interrupted append may survive). Online: the
   * server approved `pay` while the kiosk died; the rebooted kiosk no longer knows the txId, so it
   * never voids it (see docs/simulation.md, findings).
   */
  chargedAfterPowerLoss: { online: number; offline: number };
  /** Approved copies of an offline code refused by the loss rule (their merchant bears them). */
  copiesRefused: number;
  /** Of those, copies one kiosk took twice (first online, then offline within the window). */
  copiesSameKiosk: number;
  charged: number;
  settledOffline: number;
  declinedAtSettlement: number;
}

const charged = (p: PaymentRow) => p.status === 'approved' || p.status === 'settled';

export async function checkInvariants(
  server: SimServer,
  kiosks: readonly SimKiosk[],
  phones: readonly PhoneLedger[],
): Promise<InvariantReport> {
  const v: string[] = [];
  const report: InvariantReport = {
    violations: v,
    chargedAfterPowerLoss: { online: 0, offline: 0 },
    copiesRefused: 0,
    copiesSameKiosk: 0,
    charged: 0,
    settledOffline: 0,
    declinedAtSettlement: 0,
  };
  const attempts = new Map<string, Attempt>();
  for (const k of kiosks) for (const [txId, a] of k.record.attempts) attempts.set(`${k.id}/${txId}`, a);
  const byKiosk = new Map(kiosks.map((k) => [k.id, k] as const));

  await server.store.unit(async (tx) => {
    // 1. conservation
    for (const [currency, sum] of await tx.balanceTotals()) if (sum !== 0) v.push(`[1] ledger sums to ${sum} ${currency}, not 0`);

    // All payment rows that belong to a wallet (rows without one never moved money).
    const rows: PaymentRow[] = [];
    for (const p of phones) rows.push(...(await tx.listPaymentsByWallet(p.walletId, 1_000_000)));
    const chargedRows = rows.filter(charged);
    report.charged = chargedRows.length;

    // 2. approvals are charged exactly once, or declined at settlement and kept
    for (const k of kiosks) {
      const declinedKept = new Set(k.state?.state.declined.map((d) => d.txId) ?? []);
      for (const txId of k.record.approved) {
        const row = await tx.getPaymentByTx(k.id, txId);
        const a = k.record.attempts.get(txId);
        if (!row) v.push(`[2] ${k.id} approved ${txId} but the server has no payment for it`);
        else if (row.reason === 'COUNTER_REUSED' && row.status === 'declined') {
          const lost = await copyRuleBroken(tx, row);
          if (lost) v.push(`[7] ${k.id} ${txId} was refused as a copy but ${lost}`);
          else {
            report.copiesRefused++;
            const holder = await holderOf(tx, row);
            if (holder?.kioskId === row.kioskId) report.copiesSameKiosk++;
          }
        } else if (charged(row)) {
          if (a?.code && rowsFor(chargedRows, k.id, txId) !== 1)
            v.push(`[2] ${k.id} ${txId} is charged ${rowsFor(chargedRows, k.id, txId)} times`);
        } else if (row.status === 'declined' && k.record.stored.has(txId)) {
          if (!declinedKept.has(txId))
            v.push(`[2] ${k.id} approved ${txId} offline; the server declined it (${row.reason}) and the kiosk did not keep the decline`);
        } else v.push(`[2] ${k.id} approved ${txId} but the server holds it as ${row.status} (${row.reason ?? ''})`);
      }
    }

    // The recorder itself: every approval screen was recorded with its txId, and no other.
    for (const k of kiosks) {
      if (k.record.approvedScreens !== k.record.approved.size)
        v.push(`[2] ${k.id} showed "approved" ${k.record.approvedScreens} times but recorded ${k.record.approved.size} approvals`);
    }

    // 3. no double charge, and 6. no charge without approval
    const byOnlineCode = new Map<string, PaymentRow[]>();
    const byCounter = new Map<string, PaymentRow[]>();
    for (const row of chargedRows) {
      const a = attempts.get(`${row.kioskId}/${row.txId}`);
      if (row.kioskId === DISHONEST_KIOSK.id) {
        v.push(`[7] the dishonest kiosk's claim ${row.txId} is charged ${row.amount} to ${row.walletId}`);
        continue;
      }
      if (!a) {
        v.push(`[3] ${row.kioskId} ${row.txId} is charged ${row.amount} but no kiosk ever started that txId`);
        continue;
      }
      if (row.kind === 'online') byOnlineCode.set(a.code, [...(byOnlineCode.get(a.code) ?? []), row]);
      else if (row.credentialId !== null && row.counter !== null) {
        const key = `${row.credentialId}:${row.kind}:${row.counter}`;
        byCounter.set(key, [...(byCounter.get(key) ?? []), row]);
      }
      const k = byKiosk.get(row.kioskId);
      if (k && !k.record.approved.has(row.txId)) {
        if (k.record.interrupted.has(row.txId)) {
          if (k.record.stored.has(row.txId)) report.chargedAfterPowerLoss.offline++;
          else report.chargedAfterPowerLoss.online++;
        } else
          v.push(
            `[6] ${row.kioskId} ${row.txId} is charged ${row.amount} (${row.kind}, ${row.status}) but the screen never said approved${k.record.declined.has(row.txId) ? ` (it said declined: ${k.record.declined.get(row.txId)})` : ''}`,
          );
      }
    }
    for (const [code, list] of byOnlineCode) {
      if (list.length > 1)
        v.push(
          `[3] online code ${code.slice(0, 8)}… charged ${list.length} times: ${list.map((r) => `${r.kioskId}/${r.txId}`).join(', ')}`,
        );
    }
    for (const [key, list] of byCounter) {
      if (list.length > 1)
        v.push(`[3] offline code ${key} charged ${list.length} times: ${list.map((r) => `${r.kioskId}/${r.txId}`).join(', ')}`);
    }

    // 4. stored offline payments end settled or declined-and-kept
    for (const k of kiosks) {
      const count = k.outbox?.stats().count;
      if (count === undefined) v.push(`[4] ${k.id} is off at the end`);
      else if (count > 0)
        v.push(
          `[4] ${k.id} still holds ${count} stored payments: ${k
            .outbox!.list()
            .map((e) => e.txId)
            .join(', ')}`,
        );
      const declinedKept = new Set(k.state?.state.declined.map((d) => d.txId) ?? []);
      for (const txId of k.record.stored) {
        const row = await tx.getPaymentByTx(k.id, txId);
        if (row && charged(row)) report.settledOffline++;
        else if (row?.status === 'declined' && row.reason === 'COUNTER_REUSED' && !(await copyRuleBroken(tx, row))) continue;
        else if (row?.status === 'declined' && declinedKept.has(txId)) report.declinedAtSettlement++;
        else if (!row && k.record.storeTimeouts.has(txId)) continue;
        else if (!row) v.push(`[4] ${k.id} stored ${txId} and it vanished without reaching the server`);
        else v.push(`[4] ${k.id} stored ${txId}; the server holds it as ${row.status} (${row.reason ?? ''}) and the kiosk kept no decline`);
      }
    }

    // 5. balances match the ledger
    const merchants = new Map<string, number>();
    for (const p of phones) {
      const account = await tx.getAccount(shopperAccountId(p.walletId));
      const spent = chargedRows.filter((r) => r.walletId === p.walletId).reduce((s, r) => s + r.amount, 0);
      if (!account) v.push(`[5] wallet ${p.walletId} has no account`);
      else if (account.balance !== p.toppedUp - spent)
        v.push(`[5] wallet ${p.walletId} holds ${account.balance}; top-ups ${p.toppedUp} minus charged ${spent} is ${p.toppedUp - spent}`);
    }
    for (const k of server.config.kiosks) merchants.set(merchantAccountId(k.merchant), 0);
    for (const r of chargedRows) merchants.set(r.merchantAccount, (merchants.get(r.merchantAccount) ?? 0) + r.amount);
    for (const [id, sum] of merchants) {
      const account = await tx.getAccount(id);
      if (account?.balance !== sum) v.push(`[5] merchant ${id} holds ${account?.balance}; its charged payments sum to ${sum}`);
    }
  });
  return report;
}

const formOf = (row: PaymentRow) => (row.kind === 'offline-numeric' ? 'numeric' : 'qr');

async function holderOf(tx: StoreTx, row: PaymentRow): Promise<PaymentRow | undefined> {
  if (row.credentialId === null || row.counter === null) return undefined;
  const id = await tx.getOfflineUse(row.credentialId, formOf(row), row.counter);
  return id === undefined ? undefined : tx.getPayment(id);
}

/** Why a payment refused as a copy breaks the loss rule, or undefined when it keeps it. */
async function copyRuleBroken(tx: StoreTx, row: PaymentRow): Promise<string | undefined> {
  const holder = await holderOf(tx, row);
  if (!holder || holder.id === row.id) return 'no other payment holds its code';
  // A voided holder (the kiosk gave the online payment up and it was refunded) still came first.
  if (!charged(holder) && holder.status !== 'voided')
    return `the payment holding its code (${holder.kioskId}/${holder.txId}) is ${holder.status}`;
  if (holder.at > row.at)
    return `the payment holding its code (${holder.kioskId}/${holder.txId}) was captured later (${holder.at} > ${row.at})`;
  return undefined;
}

function rowsFor(rows: readonly PaymentRow[], kioskId: string, txId: string): number {
  return rows.filter((r) => r.kioskId === kioskId && r.txId === txId).length;
}
