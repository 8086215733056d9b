// SPDX-License-Identifier: Apache-2.0
// The kiosk's GPIO port, in kiosk terms: status LEDs, buzzer, relay, buttons. The implementation
// (kiosk-gpio.ts) is written once over GpioLines (lines.ts) and runs on sysfs/onoff, libgpiod tools
// or simulated lines. Pin numbers in config are BCM numbers.
import { z } from 'zod';
import { BCM_MAX, BCM_MIN, GPIO_BIASES, type GpioBias } from './lines.ts';

export type LedName = 'ready' | 'offline' | 'fault';
export type BeepPattern = 'accept' | 'decline' | 'attention';
export type KioskButton = 'cancel' | 'help' | 'pay' | { slot: number };

/** The relay is never held on longer than this, whatever a caller asks for. */
export const RELAY_ON_MS_MAX = 10_000;
export const DEBOUNCE_MS_DEFAULT = 30;

/**
 * Buzzer patterns: alternating on/off durations in ms, starting with "on". The buzzer is always off
 * after the last step.
 */
export const BEEP_PATTERNS: Readonly<Record<BeepPattern, readonly number[]>> = {
  accept: [80, 60, 80],
  decline: [400],
  attention: [100, 100, 100, 100, 100],
};

/**
 * Failure semantics:
 * - After `close()`, `setLed`, `beep` and `onButton` throw GpioClosedError and `pulseRelay` rejects
 *   with it.
 * - `setLed` / `beep` throw only for a closed port or a line write that fails synchronously.
 * - `beep` replaces a pattern that is still playing (the buzzer goes off, then the new one starts).
 * - `pulseRelay(onMs)` clamps `onMs` to RELAY_ON_MS_MAX and rejects with RangeError (relay untouched)
 *   for a value that is not a finite number > 0. It rejects with GpioBusyError while another pulse is
 *   running (pulses never overlap or extend each other). The relay is switched off at the end of the
 *   pulse in every case: normal end, a failed write, and `close()` during the pulse (the pulse then
 *   rejects with GpioClosedError whose `canceled` is true, because the on-time was cut short).
 * - Button listeners are called once per debounced press; an exception in one listener is reported to
 *   the `onError` option and does not stop the others.
 * - `close()` stops patterns, ends a running pulse, switches every output off (relay first) and
 *   releases every line. It is idempotent.
 */
export interface KioskGpio {
  setLed(led: LedName, on: boolean): void;
  beep(pattern: BeepPattern): void;
  pulseRelay(onMs: number): Promise<void>;
  onButton(fn: (b: KioskButton) => void): () => void;
  close(): Promise<void>;
}

export class GpioClosedError extends Error {
  override readonly name = 'GpioClosedError';
  constructor(
    message = 'GPIO is closed',
    readonly canceled = false,
  ) {
    super(message);
  }
}

export class GpioBusyError extends Error {
  override readonly name = 'GpioBusyError';
}

const bcm = z.number().int().min(BCM_MIN).max(BCM_MAX);

/** The pin map in kiosk config: BCM numbers, all distinct. */
export const GpioPinMapSchema = z
  .object({
    leds: z.object({ ready: bcm, offline: bcm, fault: bcm }).strict(),
    buzzer: bcm,
    relay: bcm,
    buttons: z.object({ cancel: bcm, help: bcm, pay: bcm.optional() }).strict(),
    /** Vending slot buttons: slots[i] is the BCM pin of slot i. */
    slots: z.array(bcm).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Map<number, string>();
    const add = (pin: number | undefined, path: (string | number)[]): void => {
      if (pin === undefined) return;
      const name = path.join('.');
      const other = seen.get(pin);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path, message: `BCM ${pin} is used by both ${other} and ${name}` });
      } else seen.set(pin, name);
    };
    add(m.leds.ready, ['leds', 'ready']);
    add(m.leds.offline, ['leds', 'offline']);
    add(m.leds.fault, ['leds', 'fault']);
    add(m.buzzer, ['buzzer']);
    add(m.relay, ['relay']);
    add(m.buttons.cancel, ['buttons', 'cancel']);
    add(m.buttons.help, ['buttons', 'help']);
    add(m.buttons.pay, ['buttons', 'pay']);
    for (const [i, p] of m.slots.entries()) add(p, ['slots', i]);
  });
export type GpioPinMap = z.infer<typeof GpioPinMapSchema>;

export const GpioConfigSchema = z
  .object({
    pins: GpioPinMapSchema,
    debounceMs: z.number().int().min(0).max(1000).default(DEBOUNCE_MS_DEFAULT),
    /** Buttons wired to ground with a pull-up: pressed reads 0 (the usual wiring). */
    buttonsActiveLow: z.boolean().default(true),
    /**
     * The pull the button inputs ask for (libgpiod backend; sysfs cannot set one, see README.md).
     * Default: pull-up for active-low buttons, else pull-down.
     */
    buttonsBias: z.enum(GPIO_BIASES as [GpioBias, ...GpioBias[]]).optional(),
    /** Many relay boards switch on when their input is low. */
    relayActiveLow: z.boolean().default(false),
  })
  .strict();
export type GpioConfig = z.infer<typeof GpioConfigSchema>;

/** The bias the button lines get: the configured one, else the one the wiring needs. */
export function buttonsBias(cfg: Pick<GpioConfig, 'buttonsBias' | 'buttonsActiveLow'>): GpioBias {
  return cfg.buttonsBias ?? (cfg.buttonsActiveLow ? 'pull-up' : 'pull-down');
}

/** Every button line of a pin map (cancel, help, pay, slots), in that order. */
export function buttonPins(pins: GpioPinMap): number[] {
  return [pins.buttons.cancel, pins.buttons.help, ...(pins.buttons.pay === undefined ? [] : [pins.buttons.pay]), ...pins.slots];
}
export type GpioConfigInput = z.input<typeof GpioConfigSchema>;
