// SPDX-License-Identifier: Apache-2.0
// Payments a kiosk asks for while it is online (claim 7): online one-time codes, and offline codes
// (QR and numeric) checked against the offline authentication conditions (claims 8, 9).
// Idempotent by (kiosk, txId): the first answer is stored and every repeat gets it back.
import { decodeCode, type DecodedCode, type DecodedNumericOffline, type DecodedOfflineQr } from '../../shared/codes/decode.ts';
import { parseCredential, type OfflineCredential } from '../../shared/codes/credential.ts';
import { checkOfflineTerms } from '../../shared/codes/offline-terms.ts';
import { verifyNumericOfflineCode } from '../../shared/codes/numeric-offline.ts';
import { bytesEqual } from '../../shared/bytes.ts';
import { KioskpayError, type DeclineCode } from '../../shared/errors.ts';
import {
  linesMatchAmount,
  type PayRequest,
  type PayResult,
  type PaymentKind,
  type SaleLine,
  type TxStatus,
} from '../../shared/kiosk-messages.ts';
import type { Money } from '../../shared/money.ts';
import type { CredentialRow, KioskRow, OnlineCodeRow, PaymentRow, StoreTx } from '../ports/store.ts';
import type { ServerContext } from './context.ts';
import { merchantAccountId, newPaymentId, requestHash, sha256Hex } from './ids.ts';
import { checkRollingLimits } from './offline-spend.ts';
import { creditBack, refundable } from './refunds.ts';

/** What an authorisation decided; the caller records it. */
export type Decision =
  | {
      approved: true;
      kind: PaymentKind;
      walletId: string;
      shopperAccount: string;
      credentialId?: string;
      counter?: number;
      consume: (tx: StoreTx, paymentId: string) => Promise<void>;
    }
  | { approved: false; kind: PaymentKind | null; reason: DeclineCode; walletId?: string; credentialId?: string; counter?: number };

const decline = (reason: DeclineCode, kind: PaymentKind | null, extra: Partial<Extract<Decision, { approved: false }>> = {}): Decision => ({
  approved: false,
  kind,
  reason,
  ...extra,
});

export async function pay(ctx: ServerContext, kioskId: string, req: PayRequest): Promise<PayResult> {
  const decoded = decodeCode(req.code);
  // Signatures are checked before the store unit, so the unit holds the write lock only for lookups.
  const signature =
    decoded.ok && decoded.code.kind === 'offline-qr' ? await ctx.offlineVerifier.verifyAsync(decoded.code) : { ok: true as const };
  const hash = requestHash(req.code, req.amount.value, req.amount.currency);
  const onlineHash = decoded.ok && decoded.code.kind === 'online' ? sha256Hex(decoded.code.text) : undefined;
  return ctx.store.unit(async (tx) => {
    // The three lookups do not depend on each other, so they are asked at once: a store that batches
    // (PostgreSQL) answers them in one round trip. The code is not looked up while guesses are locked out.
    const kioskRead = requireKiosk(tx, kioskId);
    const existingRead = settledLater(tx.getPaymentByTx(kioskId, req.txId));
    const codeRead =
      onlineHash !== undefined && !ctx.guessLimits.locked(kioskId, null) ? settledLater(tx.getOnlineCode(onlineHash)) : undefined;
    const kiosk = await kioskRead;
    const existing = await existingRead;
    // A voided txId can never charge: a late or altered pay for it is declined TX_VOIDED (protocol 3.4).
    if (existing)
      return replyFor(
        req.id,
        existing,
        existing.requestHash === hash ? undefined : existing.status === 'voided' ? 'TX_VOIDED' : 'TX_CONFLICT',
      );
    const now = ctx.clock.nowMs();
    let d: Decision;
    if (!decoded.ok) d = decline('CODE_MALFORMED', null);
    else if (!signature.ok) d = decline(signature.reason, decoded.code.kind);
    else
      d = await authorize(
        ctx,
        tx,
        kioskId,
        decoded.code,
        req.amount,
        now,
        onlineHash === undefined ? undefined : { hash: onlineHash, read: codeRead },
      );
    const row = await record(ctx, tx, kiosk, req.txId, hash, req.amount, d, now, 'approved', false, req.lines);
    return replyFor(req.id, row);
  });
}

async function authorize(
  ctx: ServerContext,
  tx: StoreTx,
  kioskId: string,
  code: DecodedCode,
  amount: Money,
  now: number,
  /** The online code's hash, and its row if it was already asked for. */
  online?: { hash: string; read: Promise<OnlineCodeRow | undefined> | undefined },
): Promise<Decision> {
  switch (code.kind) {
    case 'online': {
      const hash = online?.hash ?? sha256Hex(code.text);
      return guarded(ctx, kioskId, null, () => authorizeOnline(tx, hash, amount, now, online?.read));
    }
    case 'offline-qr':
      return authorizeOfflineQr(ctx, tx, code, amount, now);
    case 'offline-numeric':
      return guarded(ctx, kioskId, code.handle, () => authorizeNumeric(ctx, tx, code, amount, now));
  }
}

/** Lookups that fail when the code was guessed: an online code never issued, a numeric MAC that matches no step, a handle never issued. */
const GUESS_FAILURES: readonly DeclineCode[] = ['CODE_UNKNOWN', 'SIGNATURE_INVALID', 'CREDENTIAL_INVALID'];

/**
 * A 20-digit code can be guessed (docs/security.md, "Guessing numeric codes"): refused while its
 * handle, its kiosk or the server is locked out; a failed lookup is counted, and a lockout it starts
 * raises one alert. The handle counts only when it names a stored credential (the decline then names its wallet).
 */
async function guarded(ctx: ServerContext, kioskId: string, handle: string | null, lookup: () => Promise<Decision>): Promise<Decision> {
  const kind = handle === null ? 'online' : 'offline-numeric';
  if (ctx.guessLimits.locked(kioskId, handle)) return decline('CODE_GUESS_LOCKED', kind);
  const d = await lookup();
  if (d.approved || !GUESS_FAILURES.includes(d.reason)) return d;
  const walletId = d.walletId ?? null;
  for (const lock of ctx.guessLimits.fail(kioskId, walletId === null ? null : handle)) {
    const what =
      lock.scope === 'global'
        ? 'every kiosk'
        : lock.scope === 'kiosk'
          ? `kiosk ${kioskId}`
          : `numeric handle ${lock.key} (wallet ${walletId})`;
    ctx.alerts.raise({
      kind: 'code-guessing',
      severity: 'critical',
      at: ctx.clock.nowMs(),
      kioskId,
      walletId,
      amount: null,
      message: `too many failed 20-digit code lookups: ${what} refused until ${new Date(lock.untilMs).toISOString()} (last failure from kiosk ${kioskId})`,
    });
  }
  return d;
}

/** [PROTO-ONLINE] exists, unused, unexpired, same currency, funds suffice; consumed on approval. */
async function authorizeOnline(
  tx: StoreTx,
  codeHash: string,
  amount: Money,
  now: number,
  read: Promise<OnlineCodeRow | undefined> | undefined,
): Promise<Decision> {
  const code = await (read ?? tx.getOnlineCode(codeHash));
  if (!code) return decline('CODE_UNKNOWN', 'online');
  if (code.usedBy !== null) return decline('CODE_USED', 'online', { walletId: code.walletId });
  if (now > code.expiresAt) return decline('CODE_EXPIRED', 'online', { walletId: code.walletId });
  const funds = await checkFunds(tx, code.walletId, amount);
  if (funds.reason) return decline(funds.reason, 'online', { walletId: code.walletId });
  return {
    approved: true,
    kind: 'online',
    walletId: code.walletId,
    shopperAccount: funds.account,
    consume: (t, paymentId) => t.markOnlineCodeUsed(codeHash, paymentId),
  };
}

/** [PROTO-OFFLINE] claims 8 and 9: stored credential, not revoked, time window, counter unused, limits, funds. */
async function authorizeOfflineQr(ctx: ServerContext, tx: StoreTx, code: DecodedOfflineQr, amount: Money, now: number): Promise<Decision> {
  const stored = await tx.getCredential(code.credential.credentialId);
  if (!stored || !bytesEqual(stored.bytes, code.credentialBytes)) return decline('CREDENTIAL_INVALID', 'offline-qr');
  return authorizeOfflineSpend(
    ctx,
    tx,
    { stored, credential: code.credential, form: 'qr', counter: code.counter, timestampMs: code.timestampMs, amountCap: code.amountCap },
    amount,
    now,
  );
}

/** Numeric offline code: only the server can check it, with the secret it stored (claim 9). */
async function authorizeNumeric(
  ctx: ServerContext,
  tx: StoreTx,
  code: DecodedNumericOffline,
  amount: Money,
  now: number,
): Promise<Decision> {
  const kind = 'offline-numeric';
  const stored = await tx.findCredentialByHandle(code.handle);
  if (!stored) return decline('CREDENTIAL_INVALID', kind);
  const parsed = parseCredential(stored.bytes);
  if (!parsed.ok) throw new Error(`stored credential ${stored.id} does not parse: ${parsed.detail}`);
  const mac = verifyNumericOfflineCode(code, stored.numericSecret, now, stored.stepMs, ctx.config.offlineWindowMs);
  if (!mac.ok) return decline(mac.reason, kind, { walletId: stored.walletId, credentialId: stored.id });
  return authorizeOfflineSpend(
    ctx,
    tx,
    { stored, credential: parsed.credential, form: 'numeric', counter: mac.step, timestampMs: mac.timestampMs },
    amount,
    now,
  );
}

interface OfflineUse {
  stored: CredentialRow;
  credential: OfflineCredential;
  form: 'qr' | 'numeric';
  counter: number;
  timestampMs: number;
  amountCap?: number | null;
}

/** The conditions both offline forms share, once the code is known to come from a stored credential. */
async function authorizeOfflineSpend(ctx: ServerContext, tx: StoreTx, u: OfflineUse, amount: Money, now: number): Promise<Decision> {
  const kind = u.form === 'qr' ? 'offline-qr' : 'offline-numeric';
  const { stored } = u;
  const ids = { walletId: stored.walletId, credentialId: stored.id, counter: u.counter };
  if (stored.revokedAt !== null) return decline('CREDENTIAL_REVOKED', kind, ids);
  const terms = checkOfflineTerms({
    credential: u.credential,
    timestampMs: u.timestampMs,
    amount,
    amountCap: u.amountCap,
    referenceTimeMs: now,
    windowMs: ctx.config.offlineWindowMs,
  });
  if (!terms.ok) return decline(terms.reason, kind, ids);
  if (await tx.getOfflineUse(stored.id, u.form, u.counter)) return decline('COUNTER_REUSED', kind, ids);
  const limit = await checkRollingLimits(tx, stored.walletId, u.credential.limits, amount.value, now);
  if (limit) return decline(limit, kind, ids);
  const funds = await checkFunds(tx, stored.walletId, amount);
  if (funds.reason) return decline(funds.reason, kind, ids);
  return {
    approved: true,
    kind,
    walletId: stored.walletId,
    shopperAccount: funds.account,
    credentialId: stored.id,
    counter: u.counter,
    consume: async (t, paymentId) => {
      await t.claimOfflineUse(stored.id, u.form, u.counter, paymentId);
    },
  };
}

async function checkFunds(tx: StoreTx, walletId: string, amount: Money): Promise<{ account: string; reason?: DeclineCode }> {
  const wallet = await tx.getWallet(walletId);
  const account = wallet && (await tx.getAccount(wallet.accountId));
  if (!account) throw new Error(`wallet ${walletId} has no account`);
  if (account.currency !== amount.currency) return { account: account.id, reason: 'CURRENCY_MISMATCH' };
  if (account.balance < amount.value) return { account: account.id, reason: 'INSUFFICIENT_FUNDS' };
  return { account: account.id };
}

/**
 * Stores the decision, and on approval moves the money and consumes the code, in the same unit.
 * The sale's lines, when the kiosk sent them, are stored with it if they add up to the amount
 * (otherwise the payment is stored without them, and a warning logged).
 */
export async function record(
  ctx: ServerContext,
  tx: StoreTx,
  kiosk: KioskRow,
  txId: string,
  hash: string,
  amount: Money,
  d: Decision,
  at: number,
  approvedStatus: 'approved' | 'settled',
  replay = false,
  lines?: readonly SaleLine[],
): Promise<PaymentRow> {
  const now = ctx.clock.nowMs();
  const row: PaymentRow = {
    id: newPaymentId(now, ctx.random),
    kioskId: kiosk.id,
    txId,
    kind: d.kind,
    status: d.approved ? approvedStatus : 'declined',
    reason: d.approved ? null : d.reason,
    amount: amount.value,
    currency: amount.currency,
    walletId: d.walletId ?? null,
    merchantAccount: kiosk.merchantAccount,
    credentialId: d.credentialId ?? null,
    counter: d.counter ?? null,
    at,
    requestHash: hash,
    replay,
    createdAt: now,
    updatedAt: now,
  };
  await tx.insertPayment(row);
  if (lines && linesMatchAmount(lines, amount)) {
    await tx.insertPaymentLines(
      row.id,
      lines.map((l) => ({ gtin: l.gtin ?? null, slot: l.slot ?? null, qty: l.qty, unitPrice: l.unitPrice.value })),
    );
  } else if (lines) {
    ctx.log.warn({ kioskId: kiosk.id, txId, amount }, 'sale lines do not add up to the amount; payment recorded without them');
  }
  if (d.approved) {
    await tx.transfer({
      paymentId: row.id,
      debitAccount: d.shopperAccount,
      creditAccount: kiosk.merchantAccount,
      amount: amount.value,
      currency: amount.currency,
      kind: 'payment',
      at: now,
    });
    await d.consume(tx, row.id);
  }
  return row;
}

/** A read started before it is awaited: if the unit ends first (it threw), its failure is not unhandled. */
function settledLater<T>(read: Promise<T>): Promise<T> {
  read.catch(() => {});
  return read;
}

export async function requireKiosk(tx: StoreTx, kioskId: string): Promise<KioskRow> {
  const kiosk = await tx.getKiosk(kioskId);
  if (!kiosk) throw new KioskpayError('UNKNOWN_KIOSK', `kiosk ${kioskId} is not registered`);
  return kiosk;
}

/** The kiosk-facing view of a stored payment. Settled offline payments read as approved. */
export function replyFor(re: string, p: PaymentRow | undefined, override?: DeclineCode): PayResult {
  if (!p) return { v: 1, type: 'pay.result', re, txId: '', status: 'unknown' };
  if (override) return { v: 1, type: 'pay.result', re, txId: p.txId, status: 'declined', reason: override };
  const status: TxStatus = p.status === 'settled' ? 'approved' : p.status;
  return {
    v: 1,
    type: 'pay.result',
    re,
    txId: p.txId,
    status,
    paymentId: p.id,
    at: p.updatedAt,
    ...(p.kind ? { kind: p.kind } : {}),
    ...(p.amount > 0 ? { amount: { value: p.amount, currency: p.currency } } : {}),
    ...(p.reason ? { reason: p.reason } : {}),
  };
}

/** What became of a txId. */
export async function status(ctx: ServerContext, kioskId: string, re: string, txId: string): Promise<PayResult> {
  const p = await ctx.store.unit(async (tx) => {
    await requireKiosk(tx, kioskId);
    return tx.getPaymentByTx(kioskId, txId);
  });
  return p ? replyFor(re, p) : { v: 1, type: 'pay.result', re, txId, status: 'unknown' };
}

/**
 * Voids a txId: an approved online payment is refunded; an unknown txId gets a tombstone so a late
 * copy of the request can never be approved. Declined stays declined; a settled offline payment
 * (goods already handed out while offline) cannot be voided and reads as approved.
 */
export async function voidTx(ctx: ServerContext, kioskId: string, re: string, txId: string): Promise<PayResult> {
  return ctx.store.unit(async (tx) => {
    const kiosk = await requireKiosk(tx, kioskId);
    const now = ctx.clock.nowMs();
    const p = await tx.getPaymentByTx(kioskId, txId);
    if (!p) {
      const row: PaymentRow = {
        id: newPaymentId(now, ctx.random),
        kioskId,
        txId,
        kind: null,
        status: 'voided',
        reason: 'TX_VOIDED',
        amount: 0,
        currency: ctx.config.currency,
        walletId: null,
        merchantAccount: kiosk.merchantAccount,
        credentialId: null,
        counter: null,
        at: now,
        requestHash: '',
        replay: false,
        createdAt: now,
        updatedAt: now,
      };
      await tx.insertPayment(row);
      return replyFor(re, row);
    }
    if (p.status === 'approved') {
      // What an operator refunded already is not given back twice.
      const left = await refundable(tx, p);
      if (left > 0) await creditBack(tx, p, left, now);
      await tx.updatePayment(p.id, 'voided', 'TX_VOIDED', now);
      return replyFor(re, { ...p, status: 'voided', reason: 'TX_VOIDED', updatedAt: now });
    }
    return replyFor(re, p);
  });
}

export { merchantAccountId };
