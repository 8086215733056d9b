// SPDX-License-Identifier: Apache-2.0
// Server configuration: one schema, defaults with units in the names, validated and frozen at start-up.
import { z } from 'zod';
import { currencySchema } from '../shared/schemas.ts';
import { isKioskId } from '../shared/topics.ts';
import { SETTLE_ITEMS_MAX } from '../shared/kiosk-messages.ts';
import { OFFLINE_WINDOW_MS_DEFAULT } from '../shared/codes/offline-terms.ts';
import { isOperatorPasswordHash, OPERATOR_USERNAME } from './ops/operator-auth.ts';
import { isTimeZone, machineTimeZone, TimeZone } from '../shared/time-zone.ts';

const DAY_MS = 86_400_000;

/** A sliding-window limit on failed code lookups; the lock must outlast the window (domain/guess-limits.ts). */
const guessRule = (max: number, windowMs: number, lockMs: number) =>
  z
    .strictObject({
      max: z.int().min(1).default(max),
      windowMs: z.int().min(1000).default(windowMs),
      lockMs: z.int().min(1000).default(lockMs),
    })
    .refine((r) => r.lockMs >= r.windowMs, 'lockMs must be at least windowMs')
    .prefault({});

export const serverConfigSchema = z.strictObject({
  dataDir: z.string().default('./data/server'),
  httpHost: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  httpPort: z.int().min(0).max(65535).default(8080),
  mqttUrl: z.string().default('mqtt://127.0.0.1:1884'),
  mqttUsername: z.string().default('server'),
  mqttPassword: z.string().default(''),
  /** Client id; replicas need distinct ids. */
  mqttClientId: z.string().max(64).default('kioskpay-server'),
  /** MQTT shared-subscription group for replicas ('' subscribes plainly). */
  mqttShareGroup: z.string().default(''),
  currency: currencySchema.default('JPY'),
  /** The deployment's time zone for every time shown (local days, hours, dates): an IANA name or a fixed offset like +09:00; unset: the machine's (deploymentTimeZone). */
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Tokyo, or a fixed offset such as +09:00').optional(),
  /** Demo/dev only: lets any wallet top itself up with free money. */
  topupEnabled: z.boolean().default(false),
  /** One-time code validity (PayPay: 5 minutes). */
  onlineCodeTtlMs: z
    .int()
    .min(10_000)
    .default(5 * 60_000),
  /** Unused, unexpired one-time codes a wallet may hold; the oldest stop being issued past this. */
  onlineCodesPerWalletMax: z.int().min(1).default(10),
  /** Offline credential validity ("opened online within a week"). */
  credentialTtlMs: z
    .int()
    .min(60_000)
    .default(7 * DAY_MS),
  /** The wallet is told to renew this long before expiry. */
  credentialRenewBeforeMs: z
    .int()
    .min(0)
    .default(2 * DAY_MS),
  /** Offline code timestamps are accepted within this distance of the reference time (claim 8). */
  offlineWindowMs: z.int().min(1000).default(OFFLINE_WINDOW_MS_DEFAULT),
  numericStepMs: z.int().min(1000).default(30_000),
  /** A kiosk refuses offline codes once its revocation list is older than this (signed into the list's use). */
  revocationMaxAgeMs: z
    .int()
    .min(60_000)
    .default(6 * 3_600_000),
  /** The revocation list is re-signed and re-published this often even when unchanged. */
  revocationRepublishMs: z
    .int()
    .min(1000)
    .default(10 * 60_000),
  /** Offline limits written into every credential (PayPay's launch values, JPY). */
  limits: z
    .strictObject({
      perPayment: z.int().min(0).default(5_000),
      daily: z.strictObject({ amount: z.int().min(0).default(10_000), count: z.int().min(0).max(255).default(2) }).prefault({}),
      monthly: z.strictObject({ amount: z.int().min(0).default(50_000), count: z.int().min(0).max(255).default(10) }).prefault({}),
    })
    .prefault({}),
  /** Registered kiosks and the merchant account each one pays into. Unknown kiosks are refused. */
  kiosks: z
    .array(z.strictObject({ id: z.string().refine(isKioskId, 'invalid kiosk id'), merchant: z.string().regex(/^[a-z0-9-]{1,32}$/) }))
    .default([]),
  /** Wallet HTTP API: requests per second per client address, and burst. */
  httpRatePerSec: z.number().min(1).default(50),
  httpRateBurst: z.int().min(1).default(200),
  /** Kiosk requests over MQTT: per kiosk, requests per second and burst, and requests being handled at once. More are refused with RATE_LIMITED. */
  kioskRequestsPerSec: z.number().min(1).default(20),
  kioskRequestBurst: z.int().min(1).default(40),
  kioskInFlightMax: z.int().min(1).default(8),
  /** Failed lookups of 20-digit codes (domain/guess-limits.ts): per numeric handle, per kiosk and in all; lockMs >= windowMs. */
  codeGuessLimits: z
    .strictObject({
      handle: guessRule(10, 3_600_000, 3_600_000),
      kiosk: guessRule(20, 3_600_000, 3_600_000),
      global: guessRule(100, 1_800_000, 1_800_000),
    })
    .prefault({}),
  /** Store units waiting at most (the group-commit queue); requests past it get RATE_LIMITED with retryAfterMs. At least one full settle batch (one unit per item). */
  storeQueuedUnitsMax: z.int().min(SETTLE_ITEMS_MAX).default(10_000),
  /** Failed bearer-token checks per client address per minute before it is refused (brute force). */
  authFailuresPerMinuteMax: z.int().min(1).default(20),
  /** Built wallet web app (wallet/web/dist) served at /wallet/; unset serves none. */
  walletDir: z.string().optional(),
  /** PostgreSQL ledger for several replicas (docs/scaling.md), from env DATABASE_URL; unset keeps SQLite in dataDir. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** Product catalog (JSON catalog message) published retained to kiosks; unset publishes the built-in demo catalog. */
  catalogFile: z.string().optional(),
  /** How often catalogFile is checked for changes, in ms; a valid change is re-published. */
  catalogPollMs: z.int().min(100).default(2_000),
  /** Technician command audit log (<dataDir>/audit.log): rotate past this size, in bytes. */
  auditLogBytesMax: z
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  /** Operator dashboard logins (/ops): scrypt hashes as written by hashOperatorPassword or `kioskpay broker hash-password`. */
  operators: z
    .array(
      z.strictObject({
        username: z.string().regex(OPERATOR_USERNAME, 'must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'),
        passwordHash: z.string().refine(isOperatorPasswordHash, 'must be scrypt$N$r$p$saltB64$hashB64'),
      }),
    )
    .max(100)
    .default([]),
  /** Operator dashboard (/ops): alerts, the sales day and live-update limits. */
  ops: z
    .strictObject({
      /** A kiosk offline (or never heard) this long raises an alert, in ms. */
      offlineAlertMs: z
        .int()
        .min(0)
        .default(5 * 60_000),
      /** Replaced by the top-level `timeZone`; refused with that advice so an old config does not silently change its days. */
      utcOffset: z
        .undefined({
          error:
            'ops.utcOffset is replaced by the top-level timeZone: an IANA name such as "Asia/Tokyo", or a fixed offset such as "+09:00"',
        })
        .optional(),
      /** A kiosk's Help request stays on the dashboard this long, in ms. */
      helpRequestMs: z
        .int()
        .min(60_000)
        .default(30 * 60_000),
      /** Live-update (SSE) connections at once; more get 503. */
      liveClientsMax: z.int().min(1).max(1_000).default(32),
      /** Session cookie lifetime, in ms. */
      sessionTtlMs: z
        .int()
        .min(60_000)
        .default(12 * 3_600_000),
      /** Add the Secure flag to the session cookie (set it when /ops is served over HTTPS). */
      cookieSecure: z.boolean().default(false),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ServerConfig = Readonly<z.infer<typeof serverConfigSchema>>;

/** The configured time zone, or the machine's when none is configured. */
export function deploymentTimeZone(config: Pick<ServerConfig, 'timeZone'>): TimeZone {
  return TimeZone.parse(config.timeZone ?? machineTimeZone());
}

export function parseServerConfig(input: unknown): ServerConfig {
  return deepFreeze(serverConfigSchema.parse(input));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
