// SPDX-License-Identifier: Apache-2.0
// Wallet operations behind the HTTP API: enroll, demo top-up, one-time codes, offline credentials,
// balance and history. Every function takes an authenticated wallet id (see authenticate()).
import { toBase64url, toHex } from '../../shared/bytes.ts';
import { makeOnlineCode } from '../../shared/codes/online-code.ts';
import { signCredential } from '../../shared/codes/credential.ts';
import { KioskpayError } from '../../shared/errors.ts';
import type { Currency, Money } from '../../shared/money.ts';
import type { PaymentStatus, PaymentRow, StoreTx } from '../ports/store.ts';
import type { CredentialResponse, EnrollResponse, OnlineCodeResponse, PaymentRecord, WalletInfo } from '../../shared/wallet-messages.ts';
import type { ServerContext } from './context.ts';
import { issuanceAccountId, newId, sha256Hex, shopperAccountId } from './ids.ts';

export async function enrollWallet(ctx: ServerContext, currency: Currency = ctx.config.currency): Promise<EnrollResponse> {
  const now = ctx.clock.nowMs();
  const walletId = newId('w', ctx.random);
  const token = toBase64url(ctx.random.bytes(32));
  await ctx.store.unit(async (tx) => {
    await tx.createAccount({ id: shopperAccountId(walletId), kind: 'shopper', currency, balance: 0, createdAt: now });
    await tx.createWallet({
      id: walletId,
      accountId: shopperAccountId(walletId),
      tokenHash: sha256Hex(token),
      createdAt: now,
      offlineBlocked: null,
    });
  });
  return { walletId, token, currency };
}

/** The wallet a bearer token belongs to, or undefined. Tokens are stored only as hashes. */
export async function authenticate(ctx: ServerContext, token: string): Promise<string | undefined> {
  if (token.length < 20 || token.length > 200) return undefined;
  const w = await ctx.store.unit((tx) => tx.findWalletByTokenHash(sha256Hex(token)));
  return w?.id;
}

/** Demo/dev only: creates money out of the issuance account. Refused unless enabled. */
export async function topUp(ctx: ServerContext, walletId: string, amount: Money): Promise<WalletInfo> {
  if (!ctx.config.topupEnabled) throw new KioskpayError('TOPUP_DISABLED');
  return ctx.store.unit(async (tx) => {
    const account = await walletAccount(tx, walletId);
    if (account.currency !== amount.currency) throw new KioskpayError('CURRENCY_MISMATCH');
    const issuance = issuanceAccountId(amount.currency);
    if (!(await tx.getAccount(issuance)))
      await tx.createAccount({ id: issuance, kind: 'issuance', currency: amount.currency, balance: 0, createdAt: ctx.clock.nowMs() });
    await tx.transfer({
      paymentId: null,
      debitAccount: issuance,
      creditAccount: account.id,
      amount: amount.value,
      currency: amount.currency,
      kind: 'topup',
      at: ctx.clock.nowMs(),
    });
    return info(tx, walletId);
  });
}

export async function walletInfo(ctx: ServerContext, walletId: string): Promise<WalletInfo> {
  return ctx.store.unit((tx) => info(tx, walletId));
}

async function info(tx: StoreTx, walletId: string): Promise<WalletInfo> {
  const account = await walletAccount(tx, walletId);
  const eligible = account.balance >= 0;
  return {
    walletId,
    balance: { value: account.balance, currency: account.currency },
    offlineEligible: eligible,
    ...(eligible ? {} : { offlineIneligibleReason: 'negative balance: settle it (top up) before offline payment is offered again' }),
  };
}

async function walletAccount(tx: StoreTx, walletId: string) {
  const wallet = await tx.getWallet(walletId);
  const account = wallet && (await tx.getAccount(wallet.accountId));
  if (!account) throw new KioskpayError('UNAUTHORIZED');
  return account;
}

/** Issues a single-use one-time code (patent "first state"). Only its hash is stored. */
export async function issueOnlineCode(ctx: ServerContext, walletId: string): Promise<OnlineCodeResponse> {
  const now = ctx.clock.nowMs();
  const code = makeOnlineCode(ctx.random);
  const expiresAt = now + ctx.config.onlineCodeTtlMs;
  await ctx.store.unit(async (tx) => {
    if ((await tx.countActiveOnlineCodes(walletId, now)) >= ctx.config.onlineCodesPerWalletMax)
      throw new KioskpayError('RATE_LIMITED', 'too many unused one-time codes; use or let one expire', {
        retryAfterMs: ctx.config.onlineCodeTtlMs,
      });
    await tx.insertOnlineCode({ codeHash: sha256Hex(code), walletId, issuedAt: now, expiresAt, usedBy: null });
  });
  return { code, issuedAt: now, expiresAt };
}

/**
 * Issues an offline credential for the phone's public key (claim 3), and the numeric secret that the
 * server stores (claim 9). Amount limits are never above the balance at issue time (PayPay's rule).
 */
export async function issueCredential(ctx: ServerContext, walletId: string, phonePublicKey: Uint8Array): Promise<CredentialResponse> {
  const now = ctx.clock.nowMs();
  const c = ctx.config;
  // Credential times are whole seconds on the wire.
  const notBefore = Math.floor(now / 1000) * 1000;
  const notAfter = notBefore + Math.floor(c.credentialTtlMs / 1000) * 1000;
  return ctx.store.unit(async (tx) => {
    const account = await walletAccount(tx, walletId);
    if (account.balance < 0) throw new KioskpayError('OFFLINE_NOT_ELIGIBLE');
    const cap = (x: number) => Math.min(x, account.balance);
    const limits = {
      currency: account.currency,
      perPayment: cap(c.limits.perPayment),
      daily: { amount: cap(c.limits.daily.amount), count: c.limits.daily.count },
      monthly: { amount: cap(c.limits.monthly.amount), count: c.limits.monthly.count },
    };
    const credentialId = toHex(ctx.random.bytes(8));
    const bytes = signCredential(
      {
        keyId: ctx.issuer.keyId,
        credentialId,
        publicKey: phonePublicKey,
        accountAlias: toHex(ctx.random.bytes(6)),
        notBeforeMs: notBefore,
        notAfterMs: notAfter,
        limits,
      },
      ctx.issuer.secretKey,
      ctx.ed,
    );
    let handle = '';
    for (let i = 0; i < 20 && handle === ''; i++) {
      const h = String(ctx.random.bytes(4).reduce((a, b) => a * 256 + b, 0) % 100_000_000).padStart(8, '0');
      if (!(await tx.findCredentialByHandle(h))) handle = h;
    }
    if (handle === '') throw new Error('could not find a free numeric handle');
    const secret = ctx.random.bytes(32);
    await tx.insertCredential({
      id: credentialId,
      walletId,
      keyId: ctx.issuer.keyId,
      bytes,
      notBefore,
      notAfter,
      numericHandle: handle,
      numericSecret: secret,
      stepMs: c.numericStepMs,
      issuedAt: now,
      revokedAt: null,
      revokeReason: null,
    });
    return {
      credential: toBase64url(bytes),
      credentialId,
      notBefore,
      notAfter,
      limits,
      numeric: { handle, secret: toBase64url(secret), stepMs: c.numericStepMs },
      renewAfter: Math.max(notBefore, notAfter - c.credentialRenewBeforeMs),
    };
  });
}

/**
 * The wallet's payments, newest first, each sale with what an operator refunded of it (read in the
 * same unit as the payments, so the history and the balance agree).
 */
export async function paymentHistory(ctx: ServerContext, walletId: string, limit: number): Promise<PaymentRecord[]> {
  const rows = await ctx.store.unit((tx) => tx.listPaymentsByWallet(walletId, limit));
  return rows.filter((p) => p.kind !== null).map((p) => toRecord(p, p.status === 'approved' || p.status === 'settled' ? p.refunded : 0));
}

function toRecord(p: PaymentRow, refunded: number): PaymentRecord {
  const status: PaymentStatus = p.status;
  return {
    paymentId: p.id,
    kind: p.kind!,
    status,
    amount: { value: p.amount, currency: p.currency },
    kioskId: p.kioskId,
    at: p.at,
    ...(p.reason ? { reason: p.reason } : {}),
    ...(p.credentialId !== null && p.counter !== null && p.kind !== 'online'
      ? { offline: { credentialId: p.credentialId, counter: p.counter } }
      : {}),
    ...(refunded > 0 ? { refunded: { value: refunded, currency: p.currency } } : {}),
  };
}
