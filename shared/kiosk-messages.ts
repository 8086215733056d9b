// SPDX-License-Identifier: Apache-2.0
// Kiosk <-> server messages over MQTT (protocol v1). Every payload is one JSON object with `v: 1`,
// a `type`, and a correlation id: `id` on requests, `re` (the request's id) on replies.
// The kiosk id is never in the payload: the server takes it from the topic, which the broker's ACL
// ties to the kiosk's identity.
import { z } from 'zod';
import { CATALOG_SLOT_MAX, gtin13Schema } from './catalog/catalog.ts';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import type { Money } from './money.ts';
import { amountSchema, codeTextSchema, idSchema, timestampMsSchema } from './schemas.ts';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

/** Largest MQTT payload either side accepts, in bytes. */
export const KIOSK_MESSAGE_BYTES_MAX = 256 * 1024;
/** Largest settlement batch. */
export const SETTLE_ITEMS_MAX = 100;

const v = z.literal(1);
const errorCodeSchema = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);

// ---- kiosk -> server ----------------------------------------------------------------------------

/** Most lines one sale lists. */
export const SALE_LINES_MAX = 100;
/** Most units of one product on one line. */
export const SALE_LINE_QTY_MAX = 999;

/**
 * One line of what a payment bought, for the operator's sales reports: the product by GTIN, by
 * vending slot, or both; how many; the unit price. Descriptive only: the amount is what is charged.
 */
export const saleLine = z
  .strictObject({
    gtin: gtin13Schema.optional(),
    slot: z.int().min(1).max(CATALOG_SLOT_MAX).optional(),
    qty: z.int().min(1).max(SALE_LINE_QTY_MAX),
    unitPrice: amountSchema,
  })
  .refine((l) => l.gtin !== undefined || l.slot !== undefined, { message: 'a line names a gtin, a slot, or both' });
export type SaleLine = z.infer<typeof saleLine>;
/** The lines of one sale: 1 to SALE_LINES_MAX (also how a kiosk's outbox keeps them with a stored payment). */
export const saleLinesSchema = z.array(saleLine).min(1).max(SALE_LINES_MAX);

/**
 * True when the lines add up to the amount exactly, in its currency. The server records lines
 * only then (a payment whose lines do not add up is recorded without them; it is never refused for it).
 */
export function linesMatchAmount(lines: readonly SaleLine[], amount: Money): boolean {
  let sum = 0;
  for (const l of lines) {
    if (l.unitPrice.currency !== amount.currency) return false;
    sum += l.qty * l.unitPrice.value;
    if (!Number.isSafeInteger(sum)) return false;
  }
  return sum === amount.value;
}

/** Pay with a scanned code while the kiosk is online. */
export const payRequest = z.strictObject({
  v,
  type: z.literal('pay'),
  id: idSchema,
  /** The kiosk's own transaction id: the idempotency key. Never reused for another payment. */
  txId: idSchema,
  code: codeTextSchema,
  amount: amountSchema,
  /** What was sold (optional): recorded for the operator's sales by product and slot. */
  lines: saleLinesSchema.optional(),
});

/** Ask what became of a transaction id (after a timeout). */
export const statusRequest = z.strictObject({ v, type: z.literal('status'), id: idSchema, txId: idSchema });

/** Cancel a transaction id: refunds it if approved, and makes sure it can never be approved later. */
export const voidRequest = z.strictObject({ v, type: z.literal('void'), id: idSchema, txId: idSchema });

/** One offline payment that the kiosk approved and stored while its uplink was down. */
export const settleItem = z.strictObject({
  txId: idSchema,
  code: codeTextSchema,
  amount: amountSchema,
  /** Kiosk's trusted time when it accepted the code. */
  capturedAt: timestampMsSchema,
  /** What was sold (optional), as in `pay`. */
  lines: saleLinesSchema.optional(),
});

export const settleRequest = z.strictObject({
  v,
  type: z.literal('settle'),
  id: idSchema,
  items: z.array(settleItem).min(1).max(SETTLE_ITEMS_MAX),
});

/** NTP-style time request: t0 is the kiosk's clock when sending. */
export const timeRequest = z.strictObject({ v, type: z.literal('time'), id: idSchema, t0: z.number().finite() });

export const kioskRequest = z.discriminatedUnion('type', [payRequest, statusRequest, voidRequest, settleRequest, timeRequest]);
export type KioskRequest = z.infer<typeof kioskRequest>;
export type PayRequest = z.infer<typeof payRequest>;
export type SettleRequest = z.infer<typeof settleRequest>;
export type SettleItem = z.infer<typeof settleItem>;

// ---- server -> kiosk ----------------------------------------------------------------------------

/** The state of a kiosk transaction. `unknown`: the server never saw this txId, or (to a pay) its ledger cannot tell whether it committed. */
export const txStatusSchema = z.enum(['approved', 'declined', 'voided', 'unknown']);
export type TxStatus = z.infer<typeof txStatusSchema>;

export const paymentKindSchema = z.enum(['online', 'offline-qr', 'offline-numeric']);
export type PaymentKind = z.infer<typeof paymentKindSchema>;

/** Answer to pay, status and void. The same txId always gets the same answer (until voided). */
export const payResult = z.strictObject({
  v,
  type: z.literal('pay.result'),
  re: idSchema,
  txId: idSchema,
  status: txStatusSchema,
  /** Present when declined (and on a void of an unknown/declined tx, the original reason). */
  reason: errorCodeSchema.optional(),
  kind: paymentKindSchema.optional(),
  amount: amountSchema.optional(),
  paymentId: z.string().optional(),
  /** Server time of the decision. */
  at: z.number().optional(),
});
export type PayResult = z.infer<typeof payResult>;

export const settleItemResult = z.strictObject({
  txId: idSchema,
  status: z.enum(['settled', 'declined']),
  reason: errorCodeSchema.optional(),
  paymentId: z.string().optional(),
});
export type SettleItemResult = z.infer<typeof settleItemResult>;

export const settleResult = z.strictObject({
  v,
  type: z.literal('settle.result'),
  re: idSchema,
  items: z.array(settleItemResult),
});
export type SettleResult = z.infer<typeof settleResult>;

export const timeResult = z.strictObject({
  v,
  type: z.literal('time.result'),
  re: idSchema,
  t0: z.number(),
  t1: z.number(),
  t2: z.number(),
});
export type TimeResult = z.infer<typeof timeResult>;

/** A request the server could not take at all. `re` is null when the request had no readable id. */
export const errorReply = z
  .strictObject({
    v,
    type: z.literal('error'),
    re: idSchema.nullable(),
    code: errorCodeSchema,
    message: z.string(),
    /** With RATE_LIMITED: the request was not handled; send the same request again after this many ms. */
    retryAfterMs: z.number().int().min(0).max(60_000).optional(),
  })
  .refine((r) => r.retryAfterMs === undefined || r.code === 'RATE_LIMITED', {
    message: 'retryAfterMs only with RATE_LIMITED',
    path: ['retryAfterMs'],
  });
export type ErrorReply = z.infer<typeof errorReply>;

export const kioskReply = z.discriminatedUnion('type', [payResult, settleResult, timeResult, errorReply]);
export type KioskReply = z.infer<typeof kioskReply>;

/** Which reply type answers which request type. */
export interface KioskOperations {
  pay: { request: PayRequest; reply: PayResult };
  status: { request: z.infer<typeof statusRequest>; reply: PayResult };
  void: { request: z.infer<typeof voidRequest>; reply: PayResult };
  settle: { request: SettleRequest; reply: SettleResult };
  time: { request: z.infer<typeof timeRequest>; reply: TimeResult };
}

/** The reply type that answers each request type (an `error` reply answers any). */
export const REPLY_TYPE = Object.freeze({
  pay: 'pay.result',
  status: 'pay.result',
  void: 'pay.result',
  settle: 'settle.result',
  time: 'time.result',
} as const satisfies { [K in keyof KioskOperations]: KioskOperations[K]['reply']['type'] });

/**
 * True when `reply` can be the answer to `request` (whose id its `re` names): an `error` reply, or
 * the reply type of the request's operation that, for `pay`, `status` and `void`, names the same
 * txId and, for `time`, echoes the same `t0`. Section 3.3 of docs/protocol.md.
 */
export function answers(request: KioskRequest, reply: KioskReply): boolean {
  if (reply.type === 'error') return true;
  if (reply.type !== REPLY_TYPE[request.type]) return false;
  if (reply.type === 'pay.result' && 'txId' in request) return reply.txId === request.txId;
  if (reply.type === 'time.result' && request.type === 'time') return reply.t0 === request.t0;
  return true;
}

// ---- retained broadcasts ------------------------------------------------------------------------

export const issuerKeysMessage = z.strictObject({
  v,
  type: z.literal('issuer-keys'),
  keys: z
    .array(
      z.strictObject({
        keyId: z.int().min(0).max(255),
        /** Raw 32-byte Ed25519 public key, base64url. */
        publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
      }),
    )
    .max(16),
  at: z.number(),
});
export type IssuerKeysMessage = z.infer<typeof issuerKeysMessage>;

/**
 * Revocation list. `body` is the JSON text that was signed (so nobody has to canonicalise JSON);
 * `sig` is the issuer's Ed25519 signature over "kioskpay/revocations/v1\0" + body, base64url.
 */
/** Domain-separation prefix of the revocation list signature. */
export const REVOCATIONS_SIGNING_PREFIX = 'kioskpay/revocations/v1\0';

export const revocationsMessage = z.strictObject({
  v,
  type: z.literal('revocations'),
  keyId: z.int().min(0).max(255),
  body: z.string().max(200_000),
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type RevocationsMessage = z.infer<typeof revocationsMessage>;

export const revocationsBody = z.strictObject({
  /** Increases with every new list. */
  seq: z.int().min(0),
  issuedAt: z.number(),
  /** Revoked credential ids, hex (16 characters). */
  credentials: z.array(z.string().regex(/^[0-9a-f]{16}$/)).max(10_000),
});
export type RevocationsBody = z.infer<typeof revocationsBody>;

/** One decoder for every payload (not fatal: invalid UTF-8 becomes U+FFFD, as before). */
const utf8 = new TextDecoder();

/** Parses a raw MQTT payload into a typed value, or says precisely why it cannot. */
export function parseJsonMessage<T>(
  schema: z.ZodType<T>,
  payload: Uint8Array | string,
  maxBytes = KIOSK_MESSAGE_BYTES_MAX,
):
  | { ok: true; value: T }
  | { ok: false; code: 'MALFORMED_MESSAGE' | 'MESSAGE_TOO_LARGE' | 'UNKNOWN_MESSAGE_TYPE'; message: string; id: string | null } {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > maxBytes) return { ok: false, code: 'MESSAGE_TOO_LARGE', message: `payload of ${size} bytes exceeds ${maxBytes}`, id: null };
  let json: unknown;
  try {
    json = parseStrictJson(typeof payload === 'string' ? payload : utf8.decode(payload));
  } catch (e) {
    return {
      ok: false,
      code: 'MALFORMED_MESSAGE',
      message: `payload is ${e instanceof StrictJsonError && e.message.startsWith('duplicate') ? `refused: ${e.message}` : 'not JSON'}`,
      id: null,
    };
  }
  const id = readId(json);
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const unknownType = issue?.code === 'invalid_union' && issue.path.length === 1 && issue.path[0] === 'type';
  return {
    ok: false,
    code: unknownType ? 'UNKNOWN_MESSAGE_TYPE' : 'MALFORMED_MESSAGE',
    message: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid message',
    id,
  };
}

function readId(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) return null;
  const id = (json as Record<string, unknown>)['id'];
  return idSchema.safeParse(id).success ? (id as string) : null;
}
