// SPDX-License-Identifier: Apache-2.0
// Settlement of offline payments that a kiosk accepted and stored while its own uplink was down
// ("double offline"). Each item settles exactly once: idempotent on (kiosk, txId), and each code
// (credential, counter) pays at most once, whatever batch, kiosk or order it arrives in. Loss rules
// (docs/protocol.md, "Who bears a loss", with its case table):
//  - The kiosk checked signatures, validity, time window and the per-payment limit; an item that
//    fails one of those is declined (the kiosk should not have accepted it: the merchant bears it).
//  - A revocation the kiosk could not yet know (revoked less than revocationMaxAgeMs before capture)
//    does not stop settlement.
//  - Rolling limits (24 h, 30 days) cannot be checked by one kiosk: items within them are paid, items
//    past them are declined. That bounds the merchant's exposure to the credential's signed limits.
//  - One code claimed twice: the capture that came first (capture time; ties by arrival) is paid, the
//    later one is declined COUNTER_REUSED and its merchant bears it. When the earlier capture arrives
//    after its copy was paid, the copy is reversed (refunded from its merchant to the shopper). The
//    shopper pays once and the copy counts toward none of their limits. A copy at another kiosk means
//    the code left the phone: the credential is revoked; the same kiosk claiming it twice does not.
//  - The shopper is charged even below zero; a negative balance blocks new offline credentials.
//  - An item whose credit would take an account past the balance bound (10^12 minor units: a full
//    merchant balance, or a shopper's on a refund) is declined BALANCE_LIMIT on its own, recorded like
//    any decline; the rest of the batch settles, so one full balance never jams a kiosk's outbox.
import { decodeCode, type DecodedOfflineQr } from '../../shared/codes/decode.ts';
import { checkOfflineTerms } from '../../shared/codes/offline-terms.ts';
import { bytesEqual } from '../../shared/bytes.ts';
import { formatMoney } from '../../shared/money.ts';
import { KioskpayError, type DeclineCode } from '../../shared/errors.ts';
import type { SettleItem, SettleItemResult } from '../../shared/kiosk-messages.ts';
import type { PaymentRow, StoreTx } from '../ports/store.ts';
import type { NewServerAlert } from './alerts.ts';
import type { ServerContext } from './context.ts';
import { requestHash } from './ids.ts';
import { checkRollingLimits } from './offline-spend.ts';
import { record, requireKiosk, type Decision } from './payments.ts';
import { creditBack, refundable } from './refunds.ts';

export async function settle(ctx: ServerContext, kioskId: string, items: readonly SettleItem[]): Promise<SettleItemResult[]> {
  // Signatures are checked concurrently (on every core); then one unit per item is queued in the
  // batch's order, so rolling limits count items in the order the kiosk took them, and the units
  // share commits.
  const checked = await Promise.all(
    items.map(async (item) => {
      const decoded = decodeCode(item.code);
      const signature = decoded.ok && decoded.code.kind === 'offline-qr' ? await ctx.offlineVerifier.verifyAsync(decoded.code) : undefined;
      return { item, decoded, signature };
    }),
  );
  const outcomes = await Promise.all(checked.map((c) => settleOne(ctx, kioskId, c)));
  for (const a of outcomes.flatMap((o) => o.alerts)) ctx.alerts.raise(a);
  if (outcomes.some((o) => o.revoked)) ctx.onRevocation();
  return outcomes.map((o) => o.result);
}

interface Checked {
  item: SettleItem;
  decoded: ReturnType<typeof decodeCode>;
  signature: Awaited<ReturnType<ServerContext['offlineVerifier']['verifyAsync']>> | undefined;
}
interface Outcome {
  result: SettleItemResult;
  revoked: boolean;
  alerts: NewServerAlert[];
}

/** The payment that holds the code's use when this item arrived, and whether this item came first. */
interface Rival {
  prior: PaymentRow;
  displaces: boolean;
}

async function settleOne(ctx: ServerContext, kioskId: string, checked: Checked): Promise<Outcome> {
  try {
    return await settleUnit(ctx, kioskId, checked);
  } catch (e) {
    // The store refused a credit and rolled the unit back whole: nothing of this item was booked.
    if (!(e instanceof KioskpayError && e.code === 'BALANCE_LIMIT')) throw e;
    ctx.log.warn({ kioskId, txId: checked.item.txId, err: e.message }, 'settlement item declined: balance bound');
    return declineUnit(ctx, kioskId, checked, 'BALANCE_LIMIT');
  }
}

/** Records the item as declined for `reason` (or answers the decision already stored for its txId). */
function declineUnit(ctx: ServerContext, kioskId: string, { item, decoded }: Checked, reason: DeclineCode): Promise<Outcome> {
  const hash = requestHash(item.code, item.amount.value, item.amount.currency);
  return ctx.store.unit(async (tx): Promise<Outcome> => {
    const kiosk = await requireKiosk(tx, kioskId);
    const existing = await tx.getPaymentByTx(kioskId, item.txId);
    if (existing)
      return {
        result: existing.requestHash === hash ? itemResult(existing) : { txId: item.txId, status: 'declined', reason: 'TX_CONFLICT' },
        revoked: false,
        alerts: [],
      };
    const code = decoded.ok && decoded.code.kind === 'offline-qr' ? decoded.code : undefined;
    const stored = code && (await tx.getCredential(code.credential.credentialId));
    const ids = stored && code ? { walletId: stored.walletId, credentialId: stored.id, counter: code.counter } : {};
    const row = await record(
      ctx,
      tx,
      kiosk,
      item.txId,
      hash,
      item.amount,
      { approved: false, kind: 'offline-qr', reason, ...ids },
      item.capturedAt,
      'settled',
      false,
      item.lines,
    );
    return { result: itemResult(row), revoked: false, alerts: [] };
  });
}

function settleUnit(ctx: ServerContext, kioskId: string, { item, decoded, signature }: Checked): Promise<Outcome> {
  const hash = requestHash(item.code, item.amount.value, item.amount.currency);
  return ctx.store.unit(async (tx): Promise<Outcome> => {
    const kiosk = await requireKiosk(tx, kioskId);
    const existing = await tx.getPaymentByTx(kioskId, item.txId);
    if (existing)
      return {
        result: existing.requestHash === hash ? itemResult(existing) : { txId: item.txId, status: 'declined', reason: 'TX_CONFLICT' },
        revoked: false,
        alerts: [],
      };
    const now = ctx.clock.nowMs();
    let d: Decision;
    let rival: Rival | undefined;
    if (!decoded.ok) d = { approved: false, kind: null, reason: 'CODE_MALFORMED' };
    else if (decoded.code.kind !== 'offline-qr') d = { approved: false, kind: decoded.code.kind, reason: 'OFFLINE_FORM_REQUIRED' };
    else if (signature && !signature.ok) d = { approved: false, kind: 'offline-qr', reason: signature.reason };
    else ({ decision: d, rival } = await decideStored(ctx, tx, decoded.code, item, now));
    const replay = rival !== undefined && (d.approved || d.reason === 'COUNTER_REUSED');
    const row = await record(ctx, tx, kiosk, item.txId, hash, item.amount, d, item.capturedAt, 'settled', replay, item.lines);
    const alerts: NewServerAlert[] = [];
    if (!d.approved && (d.reason === 'OFFLINE_LIMIT_DAILY' || d.reason === 'OFFLINE_LIMIT_MONTHLY')) {
      alerts.push(
        alert(
          now,
          'offline-limit',
          'warning',
          row,
          `${kioskId} stored ${fmt(row)} from wallet ${row.walletId} past the shopper's ${d.reason === 'OFFLINE_LIMIT_DAILY' ? '24 h' : '30 day'} offline limit: declined, the merchant bears it`,
        ),
      );
    }
    if (!replay || !rival) return { result: itemResult(row), revoked: false, alerts };
    // The later of the two captures is the copy; its kiosk bears it.
    const copy = d.approved ? { ...rival.prior, status: 'declined' as const } : row;
    const first = d.approved ? row : rival.prior;
    const sameKiosk = copy.kioskId === first.kioskId;
    const what = `${copy.kioskId} took ${fmt(copy)} from wallet ${copy.walletId} with a code ${sameKiosk ? 'it had already claimed' : `${first.kioskId} took first`} (captured ${new Date(first.at).toISOString()} and ${new Date(copy.at).toISOString()}): ${d.approved ? 'the copy is reversed' : 'declined'}, ${copy.kioskId}'s merchant bears it`;
    alerts.push(alert(now, sameKiosk ? 'duplicate-claim' : 'offline-copy', 'critical', copy, what));
    ctx.log.warn(
      { kioskId, txId: item.txId, copyKiosk: copy.kioskId, firstKiosk: first.kioskId, credentialId: row.credentialId },
      sameKiosk ? 'kiosk claimed one offline code twice' : 'offline code copied to another kiosk',
    );
    if (sameKiosk || !row.credentialId) return { result: itemResult(row), revoked: false, alerts };
    const cred = await tx.getCredential(row.credentialId);
    if (cred && cred.revokedAt === null) {
      await tx.revokeCredential(row.credentialId, now, 'double-spend');
      if (row.walletId) await tx.setWalletOfflineBlocked(row.walletId, 'double-spend');
      alerts.push(
        alert(
          now,
          'credential-revoked',
          'critical',
          copy,
          `credential ${row.credentialId} of wallet ${row.walletId} revoked after its code was used at ${first.kioskId} and ${copy.kioskId}; the wallet gets no new offline credential until support clears it`,
        ),
      );
      return { result: itemResult(row), revoked: true, alerts };
    }
    return { result: itemResult(row), revoked: false, alerts };
  });
}

async function decideStored(
  ctx: ServerContext,
  tx: StoreTx,
  code: DecodedOfflineQr,
  item: SettleItem,
  now: number,
): Promise<{ decision: Decision; rival?: Rival }> {
  const kind = 'offline-qr' as const;
  const { counter, credential } = code;
  const no = (reason: DeclineCode, extra: Partial<Extract<Decision, { approved: false }>> = {}) => ({
    decision: { approved: false as const, kind, reason, ...extra },
  });
  const stored = await tx.getCredential(credential.credentialId);
  if (!stored || !bytesEqual(stored.bytes, code.credentialBytes)) return no('CREDENTIAL_INVALID');
  const ids = { walletId: stored.walletId, credentialId: stored.id, counter };
  // A capture time in the future is a kiosk clock fault; refuse rather than trust it.
  if (item.capturedAt > now + ctx.config.offlineWindowMs) return no('TIME_OUT_OF_WINDOW', ids);
  if (stored.revokedAt !== null && stored.revokedAt + ctx.config.revocationMaxAgeMs < item.capturedAt) return no('CREDENTIAL_REVOKED', ids);
  const t = checkOfflineTerms({
    credential,
    timestampMs: code.timestampMs,
    amount: item.amount,
    amountCap: code.amountCap,
    referenceTimeMs: item.capturedAt,
    windowMs: ctx.config.offlineWindowMs,
  });
  if (!t.ok) return no(t.reason, ids);
  const wallet = await tx.getWallet(stored.walletId);
  const account = wallet && (await tx.getAccount(wallet.accountId));
  if (!account) throw new Error(`credential ${stored.id} has no wallet account`);
  if (account.currency !== item.amount.currency) return no('CURRENCY_MISMATCH', ids);
  const useId = await tx.getOfflineUse(stored.id, 'qr', counter);
  const prior = useId === undefined ? undefined : await tx.getPayment(useId);
  if (useId !== undefined && !prior) throw new Error(`offline use ${stored.id}/${counter} names no payment ${useId}`);
  // Only a paid claim captured strictly later gives way; ties go to the one that arrived first.
  const displaces = prior !== undefined && (prior.status === 'approved' || prior.status === 'settled') && item.capturedAt < prior.at;
  const rival = prior && { prior, displaces };
  if (prior && !displaces) return { ...no('COUNTER_REUSED', ids), rival: { prior, displaces } };
  const limit = await checkRollingLimits(tx, stored.walletId, credential.limits, item.amount.value, item.capturedAt, prior);
  if (limit) return no(limit, ids);
  return {
    decision: {
      approved: true,
      kind,
      walletId: stored.walletId,
      shopperAccount: account.id,
      credentialId: stored.id,
      counter,
      consume: async (t2, paymentId) => {
        if (!prior) {
          await t2.claimOfflineUse(stored.id, 'qr', counter, paymentId);
          return;
        }
        // The copy is reversed: its shopper gets back what an operator did not already refund.
        const left = await refundable(t2, prior);
        if (left > 0) await creditBack(t2, prior, left, now);
        await t2.updatePayment(prior.id, 'declined', 'COUNTER_REUSED', now);
        await t2.reassignOfflineUse(stored.id, 'qr', counter, paymentId);
      },
    },
    ...(rival ? { rival } : {}),
  };
}

const fmt = (p: PaymentRow) => formatMoney({ value: p.amount, currency: p.currency });

function alert(
  at: number,
  kind: NewServerAlert['kind'],
  severity: NewServerAlert['severity'],
  p: PaymentRow,
  message: string,
): NewServerAlert {
  return { kind, severity, at, kioskId: p.kioskId, walletId: p.walletId, amount: { value: p.amount, currency: p.currency }, message };
}

function itemResult(p: PaymentRow): SettleItemResult {
  if (p.status === 'settled' || p.status === 'approved') return { txId: p.txId, status: 'settled', paymentId: p.id };
  return { txId: p.txId, status: 'declined', paymentId: p.id, ...(p.reason ? { reason: p.reason } : {}) };
}
