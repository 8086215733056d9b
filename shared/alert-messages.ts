// SPDX-License-Identifier: Apache-2.0
// Operator alerts on MQTT, written once:
//   kp/v1/broker/alerts  the embedded broker tells the server about a login flood (login-flood);
//   kp/v1/server/alerts  the server's newest alerts, retained, for consoles (server-alerts). Staff
//                        only: an alert names a wallet.
// Every text field is printable (no control or bidirectional-override characters), so a console
// may print what passed these schemas without an operator's terminal being steered by it.
import { z } from 'zod';
import { MONEY_MAX } from './money.ts';
import { currencySchema, idSchema } from './schemas.ts';
import { isKioskId } from './topics.ts';

/** What the server raises alerts about (server/domain/alerts.ts says when). */
export const SERVER_ALERT_KINDS = [
  'offline-copy',
  'duplicate-claim',
  'credential-revoked',
  'offline-limit',
  'code-guessing',
  'login-flood',
] as const;
export type ServerAlertKind = (typeof SERVER_ALERT_KINDS)[number];
export const ALERT_SEVERITIES = ['critical', 'warning'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Alerts in one kp/v1/server/alerts message at most: the server's newest. */
export const SERVER_ALERTS_PUBLISHED_MAX = 50;
/** Longest alert text, in UTF-16 code units; the server clips longer ones. */
export const ALERT_MESSAGE_MAX = 500;
/** Largest alert message accepted on either topic, in bytes (50 alerts of at most about 1 KiB). */
export const ALERT_PAYLOAD_BYTES_MAX = 128 * 1024;

const PRINTABLE = /^[^\p{Cc}\u202a-\u202e\u2066-\u2069]*$/u;
const printable = (max: number) => z.string().max(max).regex(PRINTABLE, 'must not contain control characters');
const kioskIdSchema = z.string().refine(isKioskId, 'must be a kiosk id');
const msSchema = z.int().min(0);

/** One server alert as published: `seq` numbers the alerts of one server process from 1. */
export const serverAlertSchema = z.strictObject({
  seq: z.int().min(1),
  kind: z.enum(SERVER_ALERT_KINDS),
  severity: z.enum(ALERT_SEVERITIES),
  /** Server clock, Unix ms. */
  at: msSchema,
  kioskId: kioskIdSchema.nullable(),
  walletId: idSchema.nullable(),
  /** Integer minor units with a currency, or null when the alert concerns no amount. */
  amount: z.strictObject({ value: z.int().min(0).max(MONEY_MAX), currency: currencySchema }).nullable(),
  message: printable(ALERT_MESSAGE_MAX),
});
export type PublishedServerAlert = z.infer<typeof serverAlertSchema>;

/** kp/v1/server/alerts (retained): the newest alerts of the server process `instance`, oldest first. */
export const serverAlertsMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal('server-alerts'),
  /** Random per server process: `seq` restarts with a new instance. */
  instance: z.string().regex(/^[0-9a-f]{16}$/),
  at: msSchema,
  alerts: z.array(serverAlertSchema).max(SERVER_ALERTS_PUBLISHED_MAX),
});
export type ServerAlertsMessage = z.infer<typeof serverAlertsMessage>;

/** Failed password checks (CONNACK 4) and logins deferred without one (CONNACK 3) in one episode. */
export const loginCountsSchema = z.strictObject({ failed: z.int().min(0), deferred: z.int().min(0) });
export type LoginCounts = z.infer<typeof loginCountsSchema>;

/**
 * kp/v1/broker/alerts (never retained): a source address or a username crossed the broker's flood
 * threshold. At most one per address or username per episode (broker/flood-watch.ts).
 */
export const loginFloodMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal('login-flood'),
  /** Broker clock, Unix ms. */
  at: msSchema,
  /** Which of the two crossed the threshold. */
  trigger: z.enum(['address', 'username']),
  /** The client's source address as the broker saw it (`unknown` when it had none). */
  address: z.string().regex(/^[0-9A-Za-z.:%_-]{1,64}$/),
  /** The username tried, as printable ASCII (others as `?`), clipped to 64; null when none was sent. */
  username: z
    .string()
    .regex(/^[\x20-\x7e]{1,64}$/)
    .nullable(),
  /** The username is one of the broker's identities. */
  usernameKnown: z.boolean(),
  /** That identity's kiosk id, when it is a kiosk. */
  kioskId: kioskIdSchema.nullable(),
  addressCounts: loginCountsSchema,
  usernameCounts: loginCountsSchema,
  /** When the triggering episode began, broker clock, Unix ms. */
  since: msSchema,
  /** Flood alerts the broker withheld (its rate limit) since the previous one it published. */
  suppressed: z.int().min(0),
});
export type LoginFloodMessage = z.infer<typeof loginFloodMessage>;
