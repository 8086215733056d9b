// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { CHECKOUT_CONFIG_DEFAULTS, makeCheckoutConfig, RELAY_PULSE_ABSOLUTE_MAX_MS, relayOnMs } from './config.ts';

describe('checkout config', () => {
  it('is frozen, with defaults and overrides', () => {
    const c = makeCheckoutConfig({ codeWaitMs: 30_000 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(CHECKOUT_CONFIG_DEFAULTS)).toBe(true);
    expect(c.codeWaitMs).toBe(30_000);
    expect(c.resultShowMs).toBe(CHECKOUT_CONFIG_DEFAULTS.resultShowMs);
  });

  it('keeps the relay pulse within its hard cap by default', () => {
    expect(CHECKOUT_CONFIG_DEFAULTS.relayPulseMs).toBeLessThanOrEqual(CHECKOUT_CONFIG_DEFAULTS.relayPulseMaxMs);
    expect(makeCheckoutConfig()).toEqual(CHECKOUT_CONFIG_DEFAULTS);
  });

  it('refuses a relay pulse longer than its cap, and a cap above the absolute maximum', () => {
    expect(() => makeCheckoutConfig({ relayPulseMs: 2_001, relayPulseMaxMs: 2_000 })).toThrow(/must not exceed relayPulseMaxMs/);
    expect(() => makeCheckoutConfig({ relayPulseMs: 100, relayPulseMaxMs: RELAY_PULSE_ABSOLUTE_MAX_MS + 1 })).toThrow(
      /relayPulseMaxMs must be at most/,
    );
  });

  it('refuses zero, negative, fractional and absurd values', () => {
    expect(() => makeCheckoutConfig({ codeWaitMs: 0 })).toThrow(/codeWaitMs must be a positive integer/);
    expect(() => makeCheckoutConfig({ payAnswerMs: -1 })).toThrow(/positive integer/);
    expect(() => makeCheckoutConfig({ resultShowMs: 1.5 })).toThrow(/positive integer/);
    expect(() => makeCheckoutConfig({ basketIdleMs: Number.NaN })).toThrow(/positive integer/);
    expect(() => makeCheckoutConfig({ basketIdleMs: 3_600_001 })).toThrow(/at most 3600000 ms/);
    expect(() => makeCheckoutConfig({ statusAttemptsMax: 1001 })).toThrow(/at most 1000/);
  });

  it('clamps the commanded relay on-time to the cap even for an unchecked config object', () => {
    const unchecked = { ...CHECKOUT_CONFIG_DEFAULTS, relayPulseMs: 60_000, relayPulseMaxMs: 1_500 };
    expect(relayOnMs(unchecked)).toBe(1_500);
    expect(relayOnMs({ ...unchecked, relayPulseMaxMs: 60_000 })).toBe(RELAY_PULSE_ABSOLUTE_MAX_MS);
    expect(relayOnMs(CHECKOUT_CONFIG_DEFAULTS)).toBe(CHECKOUT_CONFIG_DEFAULTS.relayPulseMs);
  });
});
