// SPDX-License-Identifier: Apache-2.0
// Settlement of offline payments that a kiosk accepted and stored while its own uplink was down
// ("double offline"). Each item settles exactly once: idempotent on (kiosk, txId), and on the code's
// (credential, counter). Loss rule (docs/protocol.md, "Who bears a loss"):
//  - The kiosk checked signatures, validity, time window and the per-payment limit; an item that
//    fails one of those is declined (the kiosk should not have accepted it: the merchant bears it).
//  - A revocation the kiosk could not yet know (revoked less than revocationMaxAgeMs before capture)
//    does not stop settlement.
//  - Rolling limits (24 h, 30 days) cannot be checked by one kiosk: items within them are paid, items
//    past them are declined. That bounds the merchant's exposure to the credential's signed limits.
//  - The same code settled by two kiosks (a copy replayed): the first settles; the copy is flagged as a
//    replay, the credential is revoked, and the copy is still paid if it fits the rolling limits.
//  - The shopper is charged even below zero; a negative balance blocks new offline credentials.
import { decodeCode, type DecodedOfflineQr } from '../../shared/codes/decode.ts';
import { checkOfflineTerms } from '../../shared/codes/offline-terms.ts';
import { bytesEqual } from '../../shared/bytes.ts';
import type { DeclineCode } from '../../shared/errors.ts';
import type { SettleItem, SettleItemResult } from '../../shared/kiosk-messages.ts';
import type { PaymentRow, StoreTx } from '../ports/store.ts';
import type { ServerContext } from './context.ts';
import { requestHash } from './ids.ts';
import { checkRollingLimits } from './offline-spend.ts';
import { record, requireKiosk, type Decision } from './payments.ts';

export async function settle(ctx: ServerContext, kioskId: string, items: readonly SettleItem[]): Promise<SettleItemResult[]> {
  // Signatures are checked concurrently (on every core); then one unit per item is queued in the
  // batch's order, so rolling limits count items in the order the kiosk took them, and the units
  // share commits.
  const checked = await Promise.all(items.map(async (item) => {
    const decoded = decodeCode(item.code);
    const signature = decoded.ok && decoded.code.kind === 'offline-qr' ? await ctx.offlineVerifier.verifyAsync(decoded.code) : undefined;
    return { item, decoded, signature };
  }));
  const outcomes = await Promise.all(checked.map((c) => settleOne(ctx, kioskId, c)));
  if (outcomes.some((o) => o.revoked)) ctx.onRevocation();
  return outcomes.map((o) => o.result);
}

interface Checked { item: SettleItem; decoded: ReturnType<typeof decodeCode>; signature: Awaited<ReturnType<ServerContext['offlineVerifier']['verifyAsync']>> | undefined }

function settleOne(ctx: ServerContext, kioskId: string, { item, decoded, signature }: Checked): Promise<{ result: SettleItemResult; revoked: boolean }> {
  const hash = requestHash(item.code, item.amount.value, item.amount.currency);
  return ctx.store.unit(async (tx) => {
    const kiosk = await requireKiosk(tx, kioskId);
    const existing = await tx.getPaymentByTx(kioskId, item.txId);
    if (existing) return { result: existing.requestHash === hash ? itemResult(existing) : { txId: item.txId, status: 'declined', reason: 'TX_CONFLICT' }, revoked: false };
    const now = ctx.clock.nowMs();
    let d: Decision;
    let replay = false;
    if (!decoded.ok) d = { approved: false, kind: null, reason: 'CODE_MALFORMED' };
    else if (decoded.code.kind !== 'offline-qr') d = { approved: false, kind: decoded.code.kind, reason: 'OFFLINE_FORM_REQUIRED' };
    else if (signature && !signature.ok) d = { approved: false, kind: 'offline-qr', reason: signature.reason };
    else {
      const r = await decideStored(ctx, tx, decoded.code, item, now);
      d = r.decision;
      replay = r.replay;
    }
    const row = await record(ctx, tx, kiosk, item.txId, hash, item.amount, d, item.capturedAt, 'settled', replay);
    if (replay && d.credentialId) {
      await tx.revokeCredential(d.credentialId, now, 'double-spend');
      if (d.walletId) await tx.setWalletOfflineBlocked(d.walletId, 'double-spend');
      ctx.log.warn({ kioskId, txId: item.txId, credentialId: d.credentialId }, 'offline code replayed across kiosks; credential revoked');
    }
    return { result: itemResult(row), revoked: replay };
  });
}

async function decideStored(ctx: ServerContext, tx: StoreTx, code: DecodedOfflineQr, item: SettleItem, now: number): Promise<{ decision: Decision; replay: boolean }> {
  const kind = 'offline-qr' as const;
  const { counter, credential } = code;
  const no = (reason: DeclineCode, extra: Partial<Extract<Decision, { approved: false }>> = {}) => ({ decision: { approved: false as const, kind, reason, ...extra }, replay: false });
  const stored = await tx.getCredential(credential.credentialId);
  if (!stored || !bytesEqual(stored.bytes, code.credentialBytes)) return no('CREDENTIAL_INVALID');
  const ids = { walletId: stored.walletId, credentialId: stored.id, counter };
  // A capture time in the future is a kiosk clock fault; refuse rather than trust it.
  if (item.capturedAt > now + ctx.config.offlineWindowMs) return no('TIME_OUT_OF_WINDOW', ids);
  if (stored.revokedAt !== null && stored.revokedAt + ctx.config.revocationMaxAgeMs < item.capturedAt) return no('CREDENTIAL_REVOKED', ids);
  const t = checkOfflineTerms({ credential, timestampMs: code.timestampMs, amount: item.amount, referenceTimeMs: item.capturedAt, windowMs: ctx.config.offlineWindowMs });
  if (!t.ok) return no(t.reason, ids);
  const wallet = await tx.getWallet(stored.walletId);
  const account = wallet && (await tx.getAccount(wallet.accountId));
  if (!account) throw new Error(`credential ${stored.id} has no wallet account`);
  if (account.currency !== item.amount.currency) return no('CURRENCY_MISMATCH', ids);
  const limit = await checkRollingLimits(tx, stored.walletId, credential.limits, item.amount.value, item.capturedAt);
  const replay = (await tx.getOfflineUse(stored.id, 'qr', counter)) !== undefined;
  if (limit) return { decision: { approved: false, kind, reason: limit, ...ids }, replay };
  return {
    decision: {
      approved: true, kind, walletId: stored.walletId, shopperAccount: account.id, credentialId: stored.id, counter,
      consume: async (t2, paymentId) => { await t2.claimOfflineUse(stored.id, 'qr', counter, paymentId); },
    },
    replay,
  };
}

function itemResult(p: PaymentRow): SettleItemResult {
  if (p.status === 'settled' || p.status === 'approved') return { txId: p.txId, status: 'settled', paymentId: p.id };
  return { txId: p.txId, status: 'declined', paymentId: p.id, ...(p.reason ? { reason: p.reason } : {}) };
}
