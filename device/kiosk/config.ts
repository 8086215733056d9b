// SPDX-License-Identifier: Apache-2.0
// The kiosk's configuration file (`kioskpay kiosk run --config kiosk.json`), validated once at start
// with errors that name the field, then frozen. Hardware sections say which adapter to use; `--sim`
// (or `"sim": true`) replaces every piece of hardware with its simulated twin, and says so.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { kioskPolicySchema } from '../../shared/kiosk-policy.ts';
import { currencySchema } from '../../shared/schemas.ts';
import { isKioskId } from '../../shared/topics.ts';
import { GpioConfigSchema } from '../adapters/gpio/gpio.ts';
import { RTC_DRIFT_MS_PER_HOUR_DEFAULT } from '../domain/offline/trusted-clock.ts';
import { OFFLINE_WINDOW_MS_DEFAULT } from '../../shared/codes/offline-terms.ts';

const ms = (max: number) => z.int().min(1).max(max);
const b64url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a raw 32-byte Ed25519 public key in base64url (43 characters)');

const scannerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('serial'),
    /** Prefer /dev/serial/by-id/... */
    path: z.string().min(1),
    baudRate: z.int().min(1200).max(921_600).default(9600),
    suffix: z.enum(['CR', 'LF', 'CRLF']).default('CR'),
    aim: z.enum(['auto', 'off']).default('auto'),
  }),
  z.strictObject({
    kind: z.literal('hid'),
    /** A scanner in USB HID keyboard mode: /dev/input/by-id/usb-...-event-kbd */
    path: z.string().min(1),
    keymap: z.enum(['us']).default('us'),
    aim: z.enum(['auto', 'off']).default('auto'),
  }),
  z.strictObject({ kind: z.literal('sim') }),
]);

const gpioSchema = z.discriminatedUnion('backend', [
  GpioConfigSchema.extend({ backend: z.literal('sysfs'), sysfsRoot: z.string().default('/sys') }).strict(),
  /** `chip`: a name, number or /dev path; omitted, the header's chip is found by label (gpiochip0 on a Pi 4, RP1 on a Pi 5). */
  GpioConfigSchema.extend({ backend: z.literal('gpiod'), chip: z.string().min(1).optional() }).strict(),
  z.strictObject({ backend: z.literal('sim') }),
  z.strictObject({ backend: z.literal('none') }),
]);

const displaySchema = z.strictObject({
  /** The kiosk's own web screen (HDMI panel in Chromium kiosk mode; the simulated kiosk's face). */
  web: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.int().min(0).max(65_535).default(8090) }).optional(),
  /**
   * A 20x4 I2C character LCD: `charlcd` through the kernel's /dev/lcd (dtoverlay=hd44780-i2c-lcd), or
   * `firmata` on an Arduino running StandardFirmata. A config without `kind` means firmata.
   */
  lcd: z
    .preprocess(
      (v) => (typeof v === 'object' && v !== null && !('kind' in v) ? { ...v, kind: 'firmata' } : v),
      z.discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('charlcd'),
          path: z.string().min(1).default('/dev/lcd'),
          cols: z.int().min(16).max(40).default(20),
          rows: z.int().min(2).max(4).default(4),
        }),
        z.strictObject({
          kind: z.literal('firmata'),
          serialPath: z.string().min(1),
          controller: z.enum(['PCF8574', 'PCF8574A', 'PCF8574AT', 'MJKDZ', 'LCM1602', 'JHD1313M1']).default('PCF8574'),
          address: z.int().min(0).max(127).optional(),
        }),
      ]),
    )
    .optional(),
});

export const kioskConfigSchema = z.strictObject({
  kioskId: z.string().refine(isKioskId, 'must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit'),
  mode: z.enum(['self-checkout', 'vending']).default('self-checkout'),
  currency: currencySchema.default('JPY'),
  /** Outbox, state and logs; relative paths are taken from the config file's folder. */
  dataDir: z.string().min(1),
  /** Start even when dataDir is on tmpfs, ramfs, overlay or zram (tests, demos): payments there die with a reboot. */
  allowVolatileDataDir: z.boolean().default(false),
  firmware: z.string().max(64).default('kioskpay-kiosk/0.1'),
  mqtt: z
    .strictObject({
      url: z.string().regex(/^mqtts?:\/\//, 'must start with mqtt:// (or mqtts://)'),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      /** A file holding the password (preferred on a Pi: mode 0600, owned by the kiosk user). */
      passwordFile: z.string().min(1).optional(),
      /** For mqtts://: PEM files of the broker's CA and this kiosk's client certificate (CN = kioskId). */
      tls: z
        .strictObject({
          caFile: z.string().min(1).optional(),
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          servername: z.string().min(1).optional(),
        })
        .optional(),
    })
    .refine((m) => m.password !== undefined || m.passwordFile !== undefined, 'needs password or passwordFile'),
  /** The server's issuer public keys, pinned at provisioning (never learned over MQTT). */
  issuerKeys: z
    .array(z.strictObject({ keyId: z.int().min(0).max(255), publicKey: b64url32 }))
    .min(1)
    .max(16),
  sim: z.boolean().default(false),
  scanner: scannerSchema.default({ kind: 'sim' }),
  gpio: gpioSchema.default({ backend: 'sim' }),
  display: displaySchema.default({ web: { host: '127.0.0.1', port: 8090 } }),
  /** Overrides of the checkout's time and size limits (device/domain/checkout/config.ts). */
  checkout: z.record(z.string(), z.int()).default({}),
  /** The policy until the server or a technician sets another (then the kiosk keeps that one). */
  policy: kioskPolicySchema.optional(),
  offline: z
    .strictObject({
      windowMs: ms(3_600_000).default(OFFLINE_WINDOW_MS_DEFAULT),
      clockUncertaintyMaxMs: z.int().min(0).max(600_000).default(60_000),
      /** Up to this age the revocation list is fresh (the server's revocationMaxAgeMs); the policy grades older lists. */
      revocationMaxAgeMs: ms(7 * 24 * 3_600_000).default(6 * 3_600_000),
      /** Trusting the system clock after a reboot without uplink (device/domain/offline/README.md, "Clock policy"). */
      clock: z
        .strictObject({
          /** 'auto': trusted when /sys/class/rtc/rtc0 set the system clock at boot (hctosys = 1); 'present'/'absent' override. */
          rtc: z.enum(['auto', 'present', 'absent']).default('auto'),
          /** Uncertainty added per hour since the last server sync while the time comes from the RTC. */
          driftAllowanceMsPerHour: z.int().min(0).max(60_000).default(RTC_DRIFT_MS_PER_HOUR_DEFAULT),
        })
        .prefault({}),
    })
    .prefault({}),
  timing: z
    .strictObject({
      heartbeatMs: ms(3_600_000).default(30_000),
      clockSyncMs: ms(24 * 3_600_000).default(300_000),
      /** While stored payments wait and the uplink is up, forwarding is retried this often. */
      forwardRetryMs: ms(3_600_000).default(30_000),
      requestTimeoutMs: ms(60_000).default(5_000),
    })
    .default({ heartbeatMs: 30_000, clockSyncMs: 300_000, forwardRetryMs: 30_000, requestTimeoutMs: 5_000 }),
});

export type KioskConfig = z.infer<typeof kioskConfigSchema>;
export type KioskConfigInput = z.input<typeof kioskConfigSchema>;

export class KioskConfigError extends Error {
  override readonly name = 'KioskConfigError';
}

/** Validates a parsed config; throws KioskConfigError listing every problem with its field path. */
export function parseKioskConfig(json: unknown, source = 'kiosk config', baseDir = process.cwd()): Readonly<KioskConfig> {
  const parsed = kioskConfigSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new KioskConfigError(`${source} is not valid:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const dataDir = isAbsolute(c.dataDir) ? c.dataDir : resolve(baseDir, c.dataDir);
  const mqtt = { ...c.mqtt, username: c.mqtt.username ?? c.kioskId };
  if (mqtt.passwordFile && !isAbsolute(mqtt.passwordFile)) mqtt.passwordFile = resolve(baseDir, mqtt.passwordFile);
  if (c.sim)
    return Object.freeze({
      ...c,
      dataDir,
      mqtt,
      scanner: { kind: 'sim' as const },
      gpio: { backend: 'sim' as const },
      display: { ...c.display, lcd: undefined },
    });
  return Object.freeze({ ...c, dataDir, mqtt });
}

/** Reads and validates a config file; `sim` forces simulated hardware (the --sim flag). */
export function loadKioskConfig(path: string, o: { sim?: boolean } = {}): Readonly<KioskConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KioskConfigError(`cannot read kiosk config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new KioskConfigError(`kiosk config ${path} is not JSON: ${(e as Error).message}`);
  }
  if (o.sim && typeof json === 'object' && json !== null) json = { ...json, sim: true };
  return parseKioskConfig(json, `kiosk config ${path}`, dirname(resolve(path)));
}

/** The uplink's TLS material, read from the configured files (mqtts:// only). */
export function kioskTls(c: Readonly<KioskConfig>): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | undefined {
  const t = c.mqtt.tls;
  if (!t) return undefined;
  const read = (field: string, path: string | undefined) => {
    if (path === undefined) return {};
    try {
      return { [field]: readFileSync(path) };
    } catch (e) {
      throw new KioskConfigError(`cannot read mqtt.tls.${field}File ${path}: ${(e as Error).message}`);
    }
  };
  return {
    ...read('ca', t.caFile),
    ...read('cert', t.certFile),
    ...read('key', t.keyFile),
    ...(t.servername ? { servername: t.servername } : {}),
  };
}

/** The broker password, from the config or its password file. */
export function kioskPassword(c: Readonly<KioskConfig>): string {
  if (c.mqtt.password !== undefined) return c.mqtt.password;
  try {
    return readFileSync(c.mqtt.passwordFile!, 'utf8').trim();
  } catch (e) {
    throw new KioskConfigError(`cannot read mqtt.passwordFile ${c.mqtt.passwordFile}: ${(e as Error).message}`);
  }
}
