// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { BEEP_PATTERNS, GpioConfigSchema, GpioPinMapSchema } from './gpio.ts';

const PINS = {
  leds: { ready: 5, offline: 6, fault: 13 },
  buzzer: 12,
  relay: 17,
  buttons: { cancel: 22, help: 23, pay: 24 },
  slots: [25, 26],
};

describe('GPIO config schema', () => {
  it('accepts a valid pin map and fills defaults', () => {
    const cfg = GpioConfigSchema.parse({ pins: { ...PINS, slots: undefined } });
    expect(cfg.debounceMs).toBe(30);
    expect(cfg.buttonsActiveLow).toBe(true);
    expect(cfg.relayActiveLow).toBe(false);
    expect(cfg.pins.slots).toEqual([]);
  });

  it('refuses a pin used twice, naming both uses', () => {
    const r = GpioPinMapSchema.safeParse({ ...PINS, buzzer: 17 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('BCM 17 is used by both buzzer and relay');
    expect(GpioPinMapSchema.safeParse({ ...PINS, slots: [25, 5] }).success).toBe(false);
  });

  it('refuses pins outside BCM 0..27 and non-integers', () => {
    expect(GpioPinMapSchema.safeParse({ ...PINS, relay: 28 }).success).toBe(false);
    expect(GpioPinMapSchema.safeParse({ ...PINS, relay: -1 }).success).toBe(false);
    expect(GpioPinMapSchema.safeParse({ ...PINS, relay: 4.5 }).success).toBe(false);
    expect(GpioPinMapSchema.safeParse({ ...PINS, relay: 0 }).success).toBe(true);
    expect(GpioPinMapSchema.safeParse({ ...PINS, relay: 27 }).success).toBe(true);
  });

  it('refuses unknown keys (a typo in config is an error, not a silent default)', () => {
    expect(GpioPinMapSchema.safeParse({ ...PINS, realy: 4 }).success).toBe(false);
    expect(GpioConfigSchema.safeParse({ pins: PINS, debounce: 10 }).success).toBe(false);
  });

  it('beep patterns are on/off sequences of positive durations starting with on', () => {
    for (const steps of Object.values(BEEP_PATTERNS)) {
      expect(steps.length % 2).toBe(1); // ends with an "on" step; the buzzer goes off after it
      for (const ms of steps) expect(ms).toBeGreaterThan(0);
    }
  });
});
