// SPDX-License-Identifier: Apache-2.0
// The server's persistence port. The domain talks only to this; SQLite is the embedded adapter and
// PostgreSQL (adapters/pg-store.ts) is the shared one; one contract suite (ports/store-contract.ts) runs against both.
import type { Currency } from '../../shared/money.ts';
import type { PaymentKind } from '../../shared/kiosk-messages.ts';
import type { ErrorCode } from '../../shared/errors.ts';

export type AccountKind = 'issuance' | 'shopper' | 'merchant';
export interface Account {
  id: string;
  kind: AccountKind;
  currency: Currency;
  balance: number;
  createdAt: number;
}

export type TransferKind = 'topup' | 'payment' | 'refund';
export interface Transfer {
  paymentId: string | null;
  debitAccount: string;
  creditAccount: string;
  amount: number;
  currency: Currency;
  kind: TransferKind;
  at: number;
}

export interface Wallet {
  id: string;
  accountId: string;
  tokenHash: string;
  createdAt: number;
  offlineBlocked: string | null;
}

export interface OnlineCodeRow {
  codeHash: string;
  walletId: string;
  issuedAt: number;
  expiresAt: number;
  usedBy: string | null;
}

export interface CredentialRow {
  id: string; // 16 hex
  walletId: string;
  keyId: number;
  /** The exact signed bytes handed to the phone (claim 9: the server stores what it issued). */
  bytes: Uint8Array;
  notBefore: number;
  notAfter: number;
  numericHandle: string;
  numericSecret: Uint8Array;
  stepMs: number;
  issuedAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
}

export type PaymentStatus = 'approved' | 'settled' | 'declined' | 'voided';
export interface PaymentRow {
  id: string;
  kioskId: string;
  txId: string;
  /** null for a void tombstone of a txId the server never saw. */
  kind: PaymentKind | null;
  status: PaymentStatus;
  reason: ErrorCode | null;
  amount: number;
  currency: Currency;
  walletId: string | null;
  merchantAccount: string;
  credentialId: string | null;
  /** Offline QR counter, or the numeric code's time step. */
  counter: number | null;
  /** Time the payment counts at for limits: decision time online, capture time when settled. */
  at: number;
  /** Hash of (code, amount, currency): a repeated txId with other content is a conflict. */
  requestHash: string;
  /** True when this offline code was already used by another payment (double spend). */
  replay: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface KioskRow {
  id: string;
  merchantAccount: string;
  createdAt: number;
}

/** Approved payments summed per kiosk, currency, form and time bucket (operator dashboard). */
export interface SalesBucket {
  kioskId: string;
  currency: Currency;
  offline: boolean;
  bucket: number;
  count: number;
  amount: number;
}
export interface DeclineCount {
  reason: ErrorCode | null;
  count: number;
}

/** One line of a sale as the kiosk listed it (shared/kiosk-messages.ts saleLine), in the payment's currency. */
export interface SaleLineRow {
  gtin: string | null;
  slot: number | null;
  qty: number;
  unitPrice: number;
}

/**
 * One product of a sales filter, as an operator names it: by GTIN or by vending slot, with the
 * other key of the same catalog product (null when the catalog has none). A line is of it when it
 * names the key, or names no such key and names the other one: so a filter for slot 3 takes the
 * vending sales from slot 3 and the scans of slot 3's product at a self-checkout, and a filter for
 * a GTIN takes that product's scans and the sales of its slot from a kiosk that sent only the slot.
 */
export type ProductMatch = { by: 'gtin'; gtin: string; slot: number | null } | { by: 'slot'; slot: number; gtin: string | null };

/** Which payments a sales report covers: approved and settled ones with `at` in [fromMs, toMs), optionally of one kiosk or one product. */
export interface SalesFilter {
  fromMs: number;
  toMs: number;
  kioskId: string | null;
  /** Only lines of this product; the amounts are then those lines' amounts. */
  product: ProductMatch | null;
}

/** Sales grouped per kiosk, per product (gtin, slot) or per quarter hour of server time (floor(at / 900_000)). */
export type SalesGrouping = 'kiosk' | 'product' | 'quarter-hour';
export const QUARTER_HOUR_MS = 900_000;

/**
 * One group of a sales report, per currency. A payment without lines counts as one line of no
 * product (gtin and slot null) worth its amount, with no units.
 */
export interface SalesGroup {
  /** Set for 'kiosk'. */
  kioskId: string | null;
  /** Set for 'product' (both null: sales without lines). */
  gtin: string | null;
  slot: number | null;
  /** Set for 'quarter-hour'. */
  quarter: number | null;
  currency: Currency;
  /** Distinct payments in the group. */
  payments: number;
  units: number;
  amount: number;
}

/** Refunds (ledger transfers of kind `refund`) of the payments a filter covers, per kiosk or quarter hour. */
export interface RefundGroup {
  kioskId: string | null;
  quarter: number | null;
  currency: Currency;
  amount: number;
}

/** Transaction search: every field set narrows it; `text` matches a payment id or a kiosk txId exactly. */
export interface PaymentSearch {
  fromMs: number;
  toMs: number;
  kioskId: string | null;
  text: string | null;
  walletId: string | null;
  amount: number | null;
}

/** A payment found by a search, with what has been refunded of it. */
export interface FoundPayment extends PaymentRow {
  refunded: number;
}

export type OpsActionKind = 'refund' | 'void';
/** An operator's refund or void: the operator audit log, one row per action that moved money or voided. */
export interface OpsActionRow {
  id: string;
  /** The client's idempotency key: a repeat with the same key gets the same answer. */
  requestKey: string;
  /** Hash of what was asked (payment, action, amount, reason): the same key asking otherwise is refused. */
  requestHash: string;
  at: number;
  /** The operator login that did it. */
  operator: string;
  action: OpsActionKind;
  paymentId: string;
  /** Minor units credited back to the shopper (0 for a void of a payment already refunded whole). */
  amount: number;
  currency: Currency;
  reason: string;
}

/**
 * An operator marked a shopper's Help request handled: the operator audit log's other kind of row
 * (the requests themselves live in the server's memory, server/ops/fleet-state.ts).
 */
export interface HelpHandledRow {
  id: string;
  at: number;
  /** The operator login that did it. */
  operator: string;
  kioskId: string;
  /** The request's latest press, by the server's clock. */
  requestedAt: number;
  /** Presses the request counted. */
  presses: number;
}

/** Offline spending of one wallet in a time range: approved online-offline and settled payments. */
export interface OfflineUsage {
  amount: number;
  count: number;
}

export interface StoreTx {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  createAccount(a: Account): Promise<void>;
  getAccount(id: string): Promise<Account | undefined>;
  /** Moves money: debit account down, credit account up, and records the transfer. */
  transfer(t: Transfer): Promise<void>;
  /** Sum of all balances per currency (always zero: double entry). */
  balanceTotals(): Promise<Map<Currency, number>>;

  createWallet(w: Wallet): Promise<void>;
  getWallet(id: string): Promise<Wallet | undefined>;
  findWalletByTokenHash(hash: string): Promise<Wallet | undefined>;
  setWalletOfflineBlocked(id: string, reason: string | null): Promise<void>;

  insertOnlineCode(c: OnlineCodeRow): Promise<void>;
  getOnlineCode(codeHash: string): Promise<OnlineCodeRow | undefined>;
  markOnlineCodeUsed(codeHash: string, paymentId: string): Promise<void>;
  /** Deletes codes that expired before `beforeMs`; returns how many. */
  deleteExpiredOnlineCodes(beforeMs: number): Promise<number>;
  countActiveOnlineCodes(walletId: string, nowMs: number): Promise<number>;

  insertCredential(c: CredentialRow): Promise<void>;
  getCredential(id: string): Promise<CredentialRow | undefined>;
  findCredentialByHandle(handle: string): Promise<CredentialRow | undefined>;
  revokeCredential(id: string, at: number, reason: string): Promise<void>;
  /** Revoked credentials that have not expired by `nowMs`. */
  listRevokedCredentialIds(nowMs: number): Promise<string[]>;

  /** Records the first use of (credential, form, counter); false when it was used before. */
  claimOfflineUse(credentialId: string, form: 'qr' | 'numeric', counter: number, paymentId: string): Promise<boolean>;
  getOfflineUse(credentialId: string, form: 'qr' | 'numeric', counter: number): Promise<string | undefined>;
  /** Gives a used (credential, form, counter) to another payment: an earlier capture displaces a copy. */
  reassignOfflineUse(credentialId: string, form: 'qr' | 'numeric', counter: number, paymentId: string): Promise<void>;

  insertPayment(p: PaymentRow): Promise<void>;
  getPayment(id: string): Promise<PaymentRow | undefined>;
  getPaymentByTx(kioskId: string, txId: string): Promise<PaymentRow | undefined>;
  updatePayment(id: string, status: PaymentStatus, reason: ErrorCode | null, at: number): Promise<void>;
  /** A wallet's payments, newest first (at, then creation), at most `limit`, each with what was refunded of it: one read, no lock. */
  listPaymentsByWallet(walletId: string, limit: number): Promise<FoundPayment[]>;
  offlineUsage(walletId: string, sinceMs: number): Promise<OfflineUsage>;

  /**
   * Approved and settled payments with `at` in [fromMs, toMs), grouped by kiosk, currency, form
   * (offline = any offline kind) and bucket: floor((at - fromMs) / bucketMs).
   */
  salesBuckets(fromMs: number, toMs: number, bucketMs: number): Promise<SalesBucket[]>;
  /** Declined payments with `at` in [fromMs, toMs), counted per reason. */
  declineCounts(fromMs: number, toMs: number): Promise<DeclineCount[]>;
  /**
   * Offline payments that kiosks stored and forwarded for settlement, received (created) since
   * `sinceMs`, newest first: settled ones, and offline-QR declines whose capture time is at least
   * `captureLeadMs` before receipt (the ledger has no column for the path a decline came by).
   */
  listStoredPayments(sinceMs: number, captureLeadMs: number, limit: number): Promise<PaymentRow[]>;

  /** Records the lines of a payment (numbered in order). */
  insertPaymentLines(paymentId: string, lines: readonly SaleLineRow[]): Promise<void>;
  /** The lines of each payment named, in order; payments without lines are absent from the map. */
  listPaymentLines(paymentIds: readonly string[]): Promise<Map<string, SaleLineRow[]>>;
  /** Sales of the filter, grouped. */
  salesGroups(filter: SalesFilter, by: SalesGrouping): Promise<SalesGroup[]>;
  /** Refunds of the payments the filter covers (its product part ignored), grouped. */
  refundGroups(filter: Omit<SalesFilter, 'product'>, by: Exclude<SalesGrouping, 'product'>): Promise<RefundGroup[]>;
  /** Payments matching the search, newest first (at, then id), at most `limit`. */
  searchPayments(q: PaymentSearch, limit: number): Promise<FoundPayment[]>;
  /** Sum of the ledger's refund transfers of a payment (0 when none); locks the payment on PostgreSQL (a refund counts on it). */
  refundedAmount(paymentId: string): Promise<number>;

  insertOpsAction(a: OpsActionRow): Promise<void>;
  getOpsActionByKey(requestKey: string): Promise<OpsActionRow | undefined>;
  /** Operator actions with `at` in [fromMs, toMs) (every action of the payment instead, when `paymentId` is set), newest first, at most `limit`. */
  listOpsActions(q: { fromMs: number; toMs: number; paymentId: string | null }, limit: number): Promise<OpsActionRow[]>;
  insertHelpHandled(h: HelpHandledRow): Promise<void>;
  /** Help requests marked handled with `at` in [fromMs, toMs), newest first (at, then id), at most `limit`. */
  listHelpHandled(q: { fromMs: number; toMs: number }, limit: number): Promise<HelpHandledRow[]>;

  getKiosk(id: string): Promise<KioskRow | undefined>;
  upsertKiosk(k: KioskRow): Promise<void>;
}

export interface Store {
  /**
   * Runs `fn` atomically against the store. Units run one at a time in submission order; an adapter
   * may commit several units together (group commit) but resolves each only once its commit is
   * durable. If `fn` throws, only its own changes are undone and the promise rejects.
   * `fn` must await only the StoreTx: no network or timers inside a unit.
   */
  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A unit's COMMIT went out and its answer never came (the connection broke, or the wait for it
 * ended): the unit may or may not be in the ledger. A caller must not say "nothing happened": a
 * kiosk's pay is answered `unknown` (the kiosk then voids it, and the void settles it either way).
 */
export class CommitUnknownError extends Error {
  override readonly name = 'CommitUnknownError';
  constructor(options: { cause: unknown }) {
    super(`the store's COMMIT was sent but its answer was lost (${String(options.cause)}); the unit may or may not be committed`, options);
  }
}
