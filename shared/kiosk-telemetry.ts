// SPDX-License-Identifier: Apache-2.0
// What a kiosk tells the fleet about itself (protocol v1, docs/protocol.md section 8):
// - `status` on kp/v1/kiosk/{id}/status, retained, republished on every change and every heartbeat.
//   The kiosk's MQTT last will is the `offline` form, so a kiosk that vanishes reads as offline.
// - `event` on kp/v1/kiosk/{id}/events, QoS 1, not retained: payments, forwarding, faults.
// Neither ever carries a payment code or anything that could be replayed as one.
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { kioskPolicySchema } from './kiosk-policy.ts';
import { amountSchema, balanceSchema, currencySchema, idSchema } from './schemas.ts';

const v = z.literal(1);
const errorCodeSchema = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);
const ms = z.number().finite();

export const CHECKOUT_STATE_NAMES = [
  'idle',
  'basket',
  'awaitingCode',
  'authorising',
  'dispensing',
  'approved',
  'declined',
  'fault',
] as const;
export const HEALTH_STATES = ['ok', 'fault', 'absent'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export const kioskHealthSchema = z.strictObject({
  scanner: z.enum(HEALTH_STATES),
  gpio: z.enum(HEALTH_STATES),
  display: z.enum(HEALTH_STATES),
});
export type KioskHealth = z.infer<typeof kioskHealthSchema>;

/** The durable outbox: stored offline payments not yet acknowledged, and declines kept for review. */
export const queueSummarySchema = z.strictObject({
  count: z.int().min(0),
  amount: balanceSchema,
  oldestCapturedAt: ms.nullable(),
  /** Stored payments the server declined at settlement (revoked, replayed): kept and reported. */
  declined: z.int().min(0),
  /** Forwarding in progress: done of total in this run; null when idle. */
  forwarding: z.strictObject({ done: z.int().min(0), total: z.int().min(0) }).nullable(),
  /**
   * Online payments the kiosk gave up on without an answer, still to be voided when the server
   * answers (the shopper may have been charged for goods not handed out until then). Absent from
   * kiosks older than this field.
   */
  voidsPending: z.int().min(0).optional(),
});
export type QueueSummary = z.infer<typeof queueSummarySchema>;

export const clockSummarySchema = z.strictObject({
  /** Synced with the server since boot and within the policy's uncertainty. */
  trusted: z.boolean(),
  /** Server time minus the kiosk's wall clock at the last sync, ms; null before any sync. */
  offsetMs: ms.nullable(),
  /** How far the kiosk's estimate of server time may be off, ms; null when unbounded. */
  uncertaintyMs: ms.nullable(),
  lastSyncAt: ms.nullable(),
});
export type ClockSummary = z.infer<typeof clockSummarySchema>;

export const onlineStatusSchema = z.strictObject({
  v,
  type: z.literal('status'),
  state: z.literal('online'),
  /** The kiosk's best estimate of server time when this was published. */
  at: ms,
  /** Increases with every status the kiosk publishes since it started. */
  seq: z.int().min(0),
  firmware: z.string().max(64),
  mode: z.enum(['self-checkout', 'vending']),
  checkout: z.enum(CHECKOUT_STATE_NAMES),
  policy: kioskPolicySchema,
  currency: currencySchema,
  queue: queueSummarySchema,
  clock: clockSummarySchema,
  health: kioskHealthSchema,
  /** Faults in words for a technician, e.g. "scanner unavailable"; empty when healthy. */
  faults: z.array(z.string().max(200)).max(16),
  catalogVersion: z.int().min(0).nullable(),
  /** Heartbeat period: a status older than about twice this is stale. */
  heartbeatMs: z.int().min(1),
});
export type OnlineStatus = z.infer<typeof onlineStatusSchema>;

/** The last will (reason `lost`) or a clean shutdown (`shutdown`). */
export const offlineStatusSchema = z.strictObject({
  v,
  type: z.literal('status'),
  state: z.literal('offline'),
  reason: z.enum(['lost', 'shutdown']),
  firmware: z.string().max(64),
});
export type OfflineStatus = z.infer<typeof offlineStatusSchema>;

export const kioskStatusMessage = z.discriminatedUnion('state', [onlineStatusSchema, offlineStatusSchema]);
export type KioskStatusMessage = z.infer<typeof kioskStatusMessage>;

const eventBase = { v, type: z.literal('event'), at: ms };

export const kioskEventMessage = z.discriminatedUnion('kind', [
  /** A payment ended on the kiosk; `offline` when it was stored for later settlement. */
  z.strictObject({
    ...eventBase,
    kind: z.literal('payment'),
    txId: idSchema,
    amount: amountSchema,
    outcome: z.enum(['approved', 'declined']),
    offline: z.boolean(),
    reason: errorCodeSchema.optional(),
  }),
  /** Forwarding stored payments: emitted after each batch and at the end. */
  z.strictObject({
    ...eventBase,
    kind: z.literal('forward'),
    done: z.int().min(0),
    total: z.int().min(0),
    settled: z.int().min(0),
    declined: z.int().min(0),
    finished: z.boolean(),
    end: z.string().max(32).optional(),
  }),
  /** One stored payment the server refused at settlement; kept on the kiosk for review. */
  z.strictObject({ ...eventBase, kind: z.literal('settle-declined'), txId: idSchema, amount: amountSchema, reason: errorCodeSchema }),
  z.strictObject({ ...eventBase, kind: z.literal('fault'), fault: z.string().max(64), raised: z.boolean() }),
  z.strictObject({ ...eventBase, kind: z.literal('uplink'), online: z.boolean() }),
]);
export type KioskEventMessage = z.infer<typeof kioskEventMessage>;

/** The offline form of a kiosk's status, as its last will. */
export function lastWill(firmware: string): OfflineStatus {
  return { v: 1, type: 'status', state: 'offline', reason: 'lost', firmware };
}
