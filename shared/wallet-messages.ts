// SPDX-License-Identifier: Apache-2.0
// Wallet <-> server HTTP/JSON API (v1), documented in docs/openapi.yaml. Requests are validated by
// the server with these schemas; the wallet validates responses with them too.
// Authentication: `Authorization: Bearer <token>` from enrollment, on every /v1/wallet/* route.
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { amountSchema, balanceSchema, currencySchema, timestampMsSchema } from './schemas.ts';
import { paymentKindSchema } from './kiosk-messages.ts';

/** Largest request body the server reads, in bytes. */
export const WALLET_BODY_BYTES_MAX = 16 * 1024;

const b64url = (bytes: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`));

export const enrollRequest = z.strictObject({ currency: currencySchema.optional() });
export const enrollResponse = z.strictObject({
  walletId: z.string(),
  /** Bearer token; shown once, the server keeps only its hash. */
  token: z.string(),
  currency: currencySchema,
});

export const walletInfo = z.strictObject({
  walletId: z.string(),
  balance: balanceSchema,
  /** Whether the server would issue an offline credential now, and if not, why. */
  offlineEligible: z.boolean(),
  offlineIneligibleReason: z.string().optional(),
});

export const topupRequest = z.strictObject({ amount: amountSchema });

export const onlineCodeResponse = z.strictObject({
  /** 20 digits; shown as QR and as a Code 128 barcode. Single use. */
  code: z.string().regex(/^\d{20}$/),
  issuedAt: z.number(),
  expiresAt: z.number(),
});

export const credentialRequest = z.strictObject({
  /** The phone's own Ed25519 public key (raw 32 bytes, base64url). The private key never leaves it. */
  publicKey: b64url(32),
});

export const limitsSchema = z.strictObject({
  currency: currencySchema,
  perPayment: z.int().min(0),
  daily: z.strictObject({ amount: z.int().min(0), count: z.int().min(0) }),
  monthly: z.strictObject({ amount: z.int().min(0), count: z.int().min(0) }),
});
export type OfflineLimits = z.infer<typeof limitsSchema>;

export const credentialResponse = z.strictObject({
  /** The signed offline credential, base64url of its binary layout (docs/protocol.md). */
  credential: z.string(),
  credentialId: z.string().regex(/^[0-9a-f]{16}$/),
  notBefore: timestampMsSchema,
  notAfter: timestampMsSchema,
  limits: limitsSchema,
  /** Symmetric secret for the numeric offline code; the server stores it (claim 9). */
  numeric: z.strictObject({
    handle: z.string().regex(/^\d{8}$/),
    secret: b64url(32),
    stepMs: z.int().min(1000),
  }),
  /** Suggested moment to renew, well before expiry. */
  renewAfter: timestampMsSchema,
});

export const timeSyncRequest = z.strictObject({ t0: z.number().finite() });
export const timeSyncResponse = z.strictObject({ t0: z.number(), t1: z.number(), t2: z.number() });

export const paymentRecord = z.strictObject({
  paymentId: z.string(),
  kind: paymentKindSchema,
  /** approved: charged online; settled: an offline payment stored by a kiosk and settled later. */
  status: z.enum(['approved', 'settled', 'declined', 'voided']),
  amount: amountSchema,
  kioskId: z.string(),
  at: z.number(),
  reason: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]).optional(),
  /** For offline codes: credential id and counter (QR form) or time step (numeric form), so the phone can match its pending codes. */
  offline: z.strictObject({ credentialId: z.string(), counter: z.int() }).optional(),
  /**
   * What an operator has refunded of an approved or settled payment so far, when anything (up to
   * all of `amount`): the shopper is charged `amount` less this (paymentCharge). The refunds are in
   * the balance already. A voided payment carries none: nothing of it is charged.
   */
  refunded: amountSchema.optional(),
});
export const historyResponse = z.strictObject({ payments: z.array(paymentRecord) });

/**
 * GET /v1/issuer-keys: the issuer's public keys, signed by the issuer. `body` is the JSON text of
 * `{keys:[{keyId,publicKey}],issuedAt,validUntil}` (ms since the epoch) and `sig` the Ed25519
 * signature, base64url, over "kioskpay/issuer-keys/v1\0" followed by the UTF-8 bytes of `body`.
 */
export const issuerKeysDocument = z.strictObject({
  v: z.literal(1),
  type: z.literal('issuer-keys'),
  body: z.string(),
  keyId: z.int(),
  sig: z.string(),
});

export const errorBody = z.strictObject({
  error: z.strictObject({ code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]), message: z.string() }),
});

export type EnrollResponse = z.infer<typeof enrollResponse>;
export type WalletInfo = z.infer<typeof walletInfo>;
export type OnlineCodeResponse = z.infer<typeof onlineCodeResponse>;
export type CredentialResponse = z.infer<typeof credentialResponse>;
export type TimeSyncResponse = z.infer<typeof timeSyncResponse>;
export type PaymentRecord = z.infer<typeof paymentRecord>;
export type HistoryResponse = z.infer<typeof historyResponse>;
export type IssuerKeysDocument = z.infer<typeof issuerKeysDocument>;

/** What the shopper is charged for a payment now, in minor units: its amount less refunds, 0 unless approved or settled. */
export function paymentCharge(p: PaymentRecord): number {
  if (p.status !== 'approved' && p.status !== 'settled') return 0;
  return p.amount.value - (p.refunded?.value ?? 0);
}

/** The routes, written once for server and clients. */
export const walletRoutes = {
  enroll: { method: 'POST', path: '/v1/wallets' },
  info: { method: 'GET', path: '/v1/wallet' },
  topup: { method: 'POST', path: '/v1/wallet/topup' },
  onlineCode: { method: 'POST', path: '/v1/wallet/codes' },
  credential: { method: 'POST', path: '/v1/wallet/credentials' },
  history: { method: 'GET', path: '/v1/wallet/payments' },
  time: { method: 'POST', path: '/v1/time' },
  issuerKeys: { method: 'GET', path: '/v1/issuer-keys' },
} as const;
