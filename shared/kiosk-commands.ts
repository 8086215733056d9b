// SPDX-License-Identifier: Apache-2.0
// Technician (or server) commands to one kiosk, and the kiosk's acknowledgements (protocol v1,
// docs/protocol.md section 9).
//   command  on kp/v1/kiosk/{id}/cmd, QoS 1, never retained
//   ack      on kp/v1/kiosk/{id}/ack: exactly one final ack per command id (ok or error), and for
//            long operations `progress` messages before it
// Every command carries a unique `id` and an `expiresAt` (server time, ms). The kiosk refuses a
// command whose expiry has passed by its trusted clock (COMMAND_EXPIRED), one whose expiry lies
// more than COMMAND_TTL_MAX_MS ahead (COMMAND_MALFORMED), and one whose id it has already seen
// (COMMAND_REPEATED): a command replayed from a capture or redelivered by QoS 1 runs once.
import { z } from 'zod';
import { policyChangeSchema } from './kiosk-policy.ts';
import { idSchema } from './schemas.ts';

/** A command may live at most this long; the kiosk remembers ids this long. */
export const COMMAND_TTL_MAX_MS = 10 * 60_000;
/** Default time to live a console gives a command. */
export const COMMAND_TTL_DEFAULT_MS = 60_000;
/** Longest message a technician may put on a kiosk's screen. */
export const DISPLAY_MESSAGE_MAX = 120;

const v = z.literal(1);
const base = {
  v,
  type: z.literal('command'),
  id: idSchema,
  /** Server time, ms, after which the kiosk refuses the command. */
  expiresAt: z.number().finite(),
  /** Who sent it, for the audit log (the broker's ACL decides who may send at all). */
  by: z.string().min(1).max(64),
};

export const COMMAND_NAMES = ['status', 'forward', 'set-policy', 'display-message', 'test', 'reload-catalog', 'list-stored'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const kioskCommand = z.discriminatedUnion('name', [
  /** Answer with the kiosk's current status message (online form). */
  z.strictObject({ ...base, name: z.literal('status') }),
  /** Forward stored offline payments now; progress acks follow each batch. */
  z.strictObject({ ...base, name: z.literal('forward') }),
  z.strictObject({ ...base, name: z.literal('set-policy'), policy: policyChangeSchema }),
  /** Show a message over the kiosk's screen for a while (0 clears it). */
  z.strictObject({
    ...base,
    name: z.literal('display-message'),
    text: z.string().max(DISPLAY_MESSAGE_MAX),
    seconds: z.int().min(0).max(3600),
  }),
  /** Exercise one output: an LED for a second, a buzzer pattern, or one relay pulse (capped by the kiosk). */
  z.strictObject({ ...base, name: z.literal('test'), target: z.enum(['led', 'buzzer', 'relay']) }),
  /** Drop the cached catalog and take the server's retained one again. */
  z.strictObject({ ...base, name: z.literal('reload-catalog') }),
  /** The stored offline payments and the declines kept for review (no codes). */
  z.strictObject({ ...base, name: z.literal('list-stored') }),
]);
export type KioskCommand = z.infer<typeof kioskCommand>;

export const COMMAND_ERROR_CODES = [
  'COMMAND_MALFORMED',
  'COMMAND_EXPIRED',
  'COMMAND_REPEATED',
  'COMMAND_BUSY',
  'COMMAND_UNSUPPORTED',
  'COMMAND_FAILED',
] as const;
export type CommandErrorCode = (typeof COMMAND_ERROR_CODES)[number];

/** What each command error means, for the console and docs/protocol.md. */
export const COMMAND_ERRORS: Readonly<Record<CommandErrorCode, string>> = Object.freeze({
  COMMAND_MALFORMED: 'The command does not match the schema, or its expiry is too far ahead.',
  COMMAND_EXPIRED: "The command expired before the kiosk received it (by the kiosk's trusted clock).",
  COMMAND_REPEATED: 'A command with this id was already received; it ran at most once.',
  COMMAND_BUSY: 'The kiosk is already doing this (for example forwarding); try again when it has finished.',
  COMMAND_UNSUPPORTED: 'This kiosk has no such hardware or feature.',
  COMMAND_FAILED: 'The kiosk tried and failed; the message says why.',
});

export const storedPaymentSchema = z.strictObject({
  txId: idSchema,
  amount: z.strictObject({ value: z.int(), currency: z.string() }),
  capturedAt: z.number().finite(),
  state: z.enum(['stored', 'declined']),
  reason: z.string().max(64).optional(),
});
export type StoredPayment = z.infer<typeof storedPaymentSchema>;

export const commandAck = z.discriminatedUnion('ok', [
  z.strictObject({ v, type: z.literal('ack'), re: idSchema, ok: z.literal(true), result: z.record(z.string(), z.unknown()) }),
  z.strictObject({
    v,
    type: z.literal('ack'),
    re: idSchema,
    ok: z.literal(false),
    error: z.strictObject({ code: z.enum(COMMAND_ERROR_CODES), message: z.string().max(500) }),
  }),
]);
export type CommandAck = z.infer<typeof commandAck>;

export const commandProgress = z.strictObject({
  v,
  type: z.literal('progress'),
  re: idSchema,
  done: z.int().min(0),
  total: z.int().min(0),
});
export type CommandProgress = z.infer<typeof commandProgress>;

export const commandReply = z.discriminatedUnion('type', [commandAck, commandProgress]);
export type CommandReply = z.infer<typeof commandReply>;
