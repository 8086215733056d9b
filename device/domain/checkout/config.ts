// SPDX-License-Identifier: Apache-2.0
// Every time limit and size limit of the checkout in one object, units last in the names. Built
// once (validated and frozen) and passed down; main.ts may override values from the kiosk config.
import { assert } from '../../../shared/assert.ts';

export interface CheckoutConfig {
  /** Self-checkout: a basket nobody touches for this long is cleared. */
  readonly basketIdleMs: number;
  /** How long the kiosk waits for a payment code before voiding the basket. */
  readonly codeWaitMs: number;
  /** How long the kiosk waits for the answer to `pay` before asking `status`. */
  readonly payAnswerMs: number;
  /** How long each `status` request waits for its answer. */
  readonly statusAnswerMs: number;
  /** `status` requests after a `pay` timeout, before the kiosk voids the txId. */
  readonly statusAttemptsMax: number;
  /** How long each `void` request waits for its answer. */
  readonly voidAnswerMs: number;
  /** `void` requests before the txId is handed to the shell as unresolved. */
  readonly voidAttemptsMax: number;
  /** How long the local offline pre-check may take (it is CPU only; 2 ms is the target). */
  readonly precheckMs: number;
  /** How long writing an offline payment to the durable outbox may take. */
  readonly storeOfflineMs: number;
  /** How long the approved screen stays before the kiosk is idle again. */
  readonly resultShowMs: number;
  /** How long the declined screen stays before the kiosk asks for a code again. */
  readonly declineShowMs: number;
  /** Vending: time for the product to drop after the relay pulse starts. */
  readonly dispenseMs: number;
  /** Vending: relay on-time per dispense. */
  readonly relayPulseMs: number;
  /** Hard cap on any relay on-time; relayPulseMs may not exceed it and no effect ever does. */
  readonly relayPulseMaxMs: number;
  /** Most items in one basket; a scan past it is refused with a hint. */
  readonly basketItemsMax: number;
  /** Declined payments per basket before the kiosk gives up and goes idle. */
  readonly declinesPerBasketMax: number;
  /**
   * Without a product list the kiosk waits this long (out of service, logged at info) before it
   * warns: a new kiosk gets the server's retained catalog a moment after it connects.
   */
  readonly catalogWaitMs: number;
}

/** No configuration may set a relay on-time above this: a stuck motor or an open gate is a hazard. */
export const RELAY_PULSE_ABSOLUTE_MAX_MS = 10_000;
/** No timeout in the checkout may be longer than this (a limit on the limits). */
export const CHECKOUT_TIMEOUT_ABSOLUTE_MAX_MS = 3_600_000;

export const CHECKOUT_CONFIG_DEFAULTS: CheckoutConfig = Object.freeze({
  basketIdleMs: 120_000,
  codeWaitMs: 60_000,
  payAnswerMs: 5_000,
  statusAnswerMs: 3_000,
  statusAttemptsMax: 3,
  voidAnswerMs: 3_000,
  voidAttemptsMax: 3,
  precheckMs: 2_000,
  storeOfflineMs: 5_000,
  resultShowMs: 5_000,
  declineShowMs: 4_000,
  dispenseMs: 3_000,
  relayPulseMs: 800,
  relayPulseMaxMs: 2_000,
  basketItemsMax: 50,
  declinesPerBasketMax: 3,
  catalogWaitMs: 15_000,
});

const COUNTS = new Set<keyof CheckoutConfig>(['statusAttemptsMax', 'voidAttemptsMax', 'basketItemsMax', 'declinesPerBasketMax']);

/** Defaults with overrides, checked and frozen. A bad value is a programmer/config error: it throws. */
export function makeCheckoutConfig(overrides: Partial<CheckoutConfig> = {}): CheckoutConfig {
  const c: CheckoutConfig = { ...CHECKOUT_CONFIG_DEFAULTS, ...overrides };
  for (const [key, value] of Object.entries(c) as Array<[keyof CheckoutConfig, number]>) {
    assert(Number.isSafeInteger(value) && value > 0, `checkout config ${key} must be a positive integer, got ${value}`);
    if (COUNTS.has(key)) assert(value <= 1000, `checkout config ${key} must be at most 1000, got ${value}`);
    else
      assert(
        value <= CHECKOUT_TIMEOUT_ABSOLUTE_MAX_MS,
        `checkout config ${key} must be at most ${CHECKOUT_TIMEOUT_ABSOLUTE_MAX_MS} ms, got ${value}`,
      );
  }
  assert(
    c.relayPulseMaxMs <= RELAY_PULSE_ABSOLUTE_MAX_MS,
    `relayPulseMaxMs must be at most ${RELAY_PULSE_ABSOLUTE_MAX_MS} ms, got ${c.relayPulseMaxMs}`,
  );
  assert(c.relayPulseMs <= c.relayPulseMaxMs, `relayPulseMs (${c.relayPulseMs}) must not exceed relayPulseMaxMs (${c.relayPulseMaxMs})`);
  return Object.freeze(c);
}

/** The relay on-time to command: never above the hard cap, whatever the config object holds. */
export function relayOnMs(config: CheckoutConfig): number {
  return Math.min(config.relayPulseMs, config.relayPulseMaxMs, RELAY_PULSE_ABSOLUTE_MAX_MS);
}
