// SPDX-License-Identifier: Apache-2.0
// The Display port: what the kiosk shows, as one plain view object, rendered by each adapter
// (the kiosk's web screen for an HDMI panel and the simulated kiosk, a 20x4 character LCD over
// Firmata). The kiosk shell builds a new view on every change and calls render(); an adapter never
// reaches back into the kiosk. Views hold no payment code.
import type { PolicyMode } from '../../shared/kiosk-policy.ts';
import type { HealthState } from '../../shared/kiosk-telemetry.ts';
import type { Basket } from '../domain/checkout/basket.ts';
import type { CheckoutMode, Hint, Screen } from '../domain/checkout/types.ts';

export interface DisplayView {
  readonly kioskId: string;
  readonly mode: CheckoutMode;
  readonly screen: Screen;
  /** The basket behind the current screen, when there is one (basket, awaitingCode, authorising). */
  readonly basket?: Basket | undefined;
  /** A short message over the screen (unknown product, please wait ...), already in words. */
  readonly hint?: { readonly hint: Hint; readonly text: string } | undefined;
  /** The kiosk's uplink is down: a discreet indicator, never alarming to the shopper. */
  readonly offline: boolean;
  /** The uplink is down AND no offline code can be taken (clock, revocation list, caps, policy): say so before a scan. */
  readonly offlineUnavailable?: boolean | undefined;
  readonly policyMode: PolicyMode;
  /** A technician's message (display-message command), shown over everything until it expires. */
  readonly message?: string | undefined;
  /** Stored offline payments being forwarded: done of total. */
  readonly forwarding?: { readonly done: number; readonly total: number } | undefined;
  /** Stored offline payments not yet acknowledged by the server. */
  readonly storedCount: number;
  /** Faults in words for a technician (shown small). */
  readonly faults: readonly string[];
}

export interface Display {
  /** Shows this view; returns at once (an adapter draws asynchronously and never throws here). */
  render(view: DisplayView): void;
  /** ok while the adapter can draw; fault when its device is gone (the kiosk reports it). */
  readonly health: HealthState;
  close(): Promise<void>;
}
