// SPDX-License-Identifier: Apache-2.0
// What the simulated kiosk's screen can drive: the kiosk runtime implements this when its hardware
// is simulated, and the web screen's "Simulated kiosk" panel calls it. A real kiosk has none, and its
// screen then answers 404 to every /sim route.
import type { Money } from '../../../shared/money.ts';
import type { KioskButton } from '../../adapters/gpio/gpio.ts';
import type { SimOutputState } from '../../adapters/gpio/sim-outputs.ts';

/** A product the panel offers as a button: scanned by GTIN (self-checkout) or by slot (vending). */
export interface SimProduct {
  readonly gtin: string;
  readonly name: string;
  readonly price: Money;
  readonly slot?: number | undefined;
}

/**
 * Failure semantics: every method returns at once. A call the kiosk cannot act on (scanner not ready,
 * no catalog yet) is simply without effect, as it would be on real hardware; a method that throws is
 * answered 500 by the screen, which keeps running.
 */
export interface SimControls {
  /** The scanner reads this text (a product barcode or a wallet's payment code). */
  scan(text: string): void;
  press(button: KioskButton): void;
  /** Plugs (true) or pulls (false) the kiosk's network cable. */
  setUplink(up: boolean): void;
  uplinkUp(): boolean;
  /** The kiosk's cached catalog, in catalog order (empty before the first catalog arrives). */
  products(): readonly SimProduct[];
  /** The simulated LEDs, buzzer and relay; undefined when the kiosk has no GPIO (`"gpio": {"backend": "none"}`). */
  outputs(): SimOutputState | undefined;
  /** Calls fn whenever what the panel shows changes apart from the view (an output). Returns an unsubscribe. */
  onChange(fn: () => void): () => void;
}
