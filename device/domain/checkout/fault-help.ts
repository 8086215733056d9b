// SPDX-License-Identifier: Apache-2.0
// What each checkout fault means and what fixes it, for the warning the kiosk logs (a technician
// reads it in the kiosk's log or journal). Plain words; commands named as a technician types them.
import type { FaultKind } from './types.ts';

export const FAULT_HELP: Readonly<Record<FaultKind, { readonly meaning: string; readonly fix: string }>> = Object.freeze({
  'scanner-unavailable': {
    meaning: 'the code scanner is unplugged or does not answer',
    fix: 'check its cable and the scanner section of the kiosk config; kioskpay kiosk doctor --config FILE tests it',
  },
  'display-unavailable': {
    meaning: 'the LCD does not answer',
    fix: 'check its wiring and display.lcd in the kiosk config; kioskpay kiosk doctor --config FILE tests it',
  },
  'relay-unavailable': {
    meaning: 'a dispenser relay pulse failed',
    fix: 'check the relay board and gpio.pins.relay in the kiosk config; kioskpay console test KIOSK relay tries one pulse',
  },
  'catalog-unavailable': {
    meaning: 'the kiosk has no product list: none cached in its data directory and none from the server yet',
    fix: 'the payment server publishes its catalog when it connects to the broker: check that it runs on the broker in mqtt.url, then kioskpay console reload-catalog KIOSK asks for it again',
  },
});
