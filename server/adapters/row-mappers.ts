// SPDX-License-Identifier: Apache-2.0
// Database rows to the Store port's types and back, shared by the SQLite and PostgreSQL adapters. The
// two drivers differ only in how numbers and flags arrive (better-sqlite3: numbers and 0/1; pg: BIGINT
// as strings and booleans), so each adapter passes its own `n` and `flag`.
import type { ErrorCode } from '../../shared/errors.ts';
import type { PaymentKind } from '../../shared/kiosk-messages.ts';
import type { Currency } from '../../shared/money.ts';
import type {
  Account,
  CredentialRow,
  HelpHandledRow,
  KioskRow,
  OnlineCodeRow,
  OpsActionRow,
  PaymentRow,
  PaymentStatus,
  RefundGroup,
  SaleLineRow,
  SalesGroup,
  Wallet,
} from '../ports/store.ts';

export type Row = Record<string, unknown>;

export const s = (r: Row, k: string) => r[k] as string;
export const ns = (r: Row, k: string) => (r[k] === null ? null : (r[k] as string));
const u8 = (r: Row, k: string) => new Uint8Array(r[k] as Buffer);

export function rowMappers(n: (r: Row, k: string) => number, flag: (r: Row, k: string) => boolean) {
  const nn = (r: Row, k: string) => (r[k] === null ? null : n(r, k));
  return {
    toAccount: (r: Row): Account => ({
      id: s(r, 'id'),
      kind: s(r, 'kind') as Account['kind'],
      currency: s(r, 'currency') as Currency,
      balance: n(r, 'balance'),
      createdAt: n(r, 'created_at'),
    }),
    toWallet: (r: Row): Wallet => ({
      id: s(r, 'id'),
      accountId: s(r, 'account_id'),
      tokenHash: s(r, 'token_hash'),
      createdAt: n(r, 'created_at'),
      offlineBlocked: ns(r, 'offline_blocked'),
    }),
    toCode: (r: Row): OnlineCodeRow => ({
      codeHash: s(r, 'code_hash'),
      walletId: s(r, 'wallet_id'),
      issuedAt: n(r, 'issued_at'),
      expiresAt: n(r, 'expires_at'),
      usedBy: ns(r, 'used_by'),
    }),
    toCredential: (r: Row): CredentialRow => ({
      id: s(r, 'id'),
      walletId: s(r, 'wallet_id'),
      keyId: n(r, 'key_id'),
      bytes: u8(r, 'bytes'),
      notBefore: n(r, 'not_before'),
      notAfter: n(r, 'not_after'),
      numericHandle: s(r, 'numeric_handle'),
      numericSecret: u8(r, 'numeric_secret'),
      stepMs: n(r, 'step_ms'),
      issuedAt: n(r, 'issued_at'),
      revokedAt: nn(r, 'revoked_at'),
      revokeReason: ns(r, 'revoke_reason'),
    }),
    toPayment: (r: Row): PaymentRow => ({
      id: s(r, 'id'),
      kioskId: s(r, 'kiosk_id'),
      txId: s(r, 'tx_id'),
      kind: ns(r, 'kind') as PaymentKind | null,
      status: s(r, 'status') as PaymentStatus,
      reason: ns(r, 'reason') as ErrorCode | null,
      amount: n(r, 'amount'),
      currency: s(r, 'currency') as Currency,
      walletId: ns(r, 'wallet_id'),
      merchantAccount: s(r, 'merchant_account'),
      credentialId: ns(r, 'credential_id'),
      counter: nn(r, 'counter'),
      at: n(r, 'at'),
      requestHash: s(r, 'request_hash'),
      replay: flag(r, 'replay'),
      createdAt: n(r, 'created_at'),
      updatedAt: n(r, 'updated_at'),
    }),
    toKiosk: (r: Row): KioskRow => ({ id: s(r, 'id'), merchantAccount: s(r, 'merchant_account'), createdAt: n(r, 'created_at') }),
    toLine: (r: Row): SaleLineRow => ({ gtin: ns(r, 'gtin'), slot: nn(r, 'slot'), qty: n(r, 'qty'), unitPrice: n(r, 'unit_price') }),
    toSalesGroup: (r: Row): SalesGroup => ({
      kioskId: ns(r, 'kiosk_id'),
      gtin: ns(r, 'gtin'),
      slot: nn(r, 'slot'),
      quarter: nn(r, 'quarter'),
      currency: s(r, 'currency') as Currency,
      payments: n(r, 'payments'),
      units: n(r, 'units'),
      amount: n(r, 'amount'),
    }),
    toRefundGroup: (r: Row): RefundGroup => ({
      kioskId: ns(r, 'kiosk_id'),
      quarter: nn(r, 'quarter'),
      currency: s(r, 'currency') as Currency,
      amount: n(r, 'amount'),
    }),
    toAction: (r: Row): OpsActionRow => ({
      id: s(r, 'id'),
      requestKey: s(r, 'request_key'),
      requestHash: s(r, 'request_hash'),
      at: n(r, 'at'),
      operator: s(r, 'operator'),
      action: s(r, 'action') as OpsActionRow['action'],
      paymentId: s(r, 'payment_id'),
      amount: n(r, 'amount'),
      currency: s(r, 'currency') as Currency,
      reason: s(r, 'reason'),
    }),
    toHelpHandled: (r: Row): HelpHandledRow => ({
      id: s(r, 'id'),
      at: n(r, 'at'),
      operator: s(r, 'operator'),
      kioskId: s(r, 'kiosk_id'),
      requestedAt: n(r, 'requested_at'),
      presses: n(r, 'presses'),
    }),
  };
}

/** A payment's values in the order of the payments table's columns (`flag` writes the replay flag). */
export const paymentValues = (p: PaymentRow, flag: (b: boolean) => unknown): unknown[] => [
  p.id,
  p.kioskId,
  p.txId,
  p.kind,
  p.status,
  p.reason,
  p.amount,
  p.currency,
  p.walletId,
  p.merchantAccount,
  p.credentialId,
  p.counter,
  p.at,
  p.requestHash,
  flag(p.replay),
  p.createdAt,
  p.updatedAt,
];

/** A credential's values in the order of the credentials table's columns. */
export const credentialValues = (c: CredentialRow): unknown[] => [
  c.id,
  c.walletId,
  c.keyId,
  c.bytes,
  c.notBefore,
  c.notAfter,
  c.numericHandle,
  c.numericSecret,
  c.stepMs,
  c.issuedAt,
  c.revokedAt,
  c.revokeReason,
];
