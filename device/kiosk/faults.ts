// SPDX-License-Identifier: Apache-2.0
// The kiosk's hardware and catalog faults (domain/checkout/types.ts FaultKind): while any is raised
// the checkout is out of service (the first one is its reason), the fault LED is on and the screen
// lists them; each change is a telemetry event and changes the status.
import type { FaultKind } from '../domain/checkout/types.ts';
import { FAULT_WORDS } from '../display/words.ts';
import type { KioskGpio } from '../adapters/gpio/gpio.ts';
import type { CheckoutRunner } from './checkout-runner.ts';
import type { KioskView } from './kiosk-view.ts';
import type { Telemetry } from './telemetry.ts';

export interface FaultsDeps {
  runner: Pick<CheckoutRunner, 'send'>;
  gpio: KioskGpio | undefined;
  view: Pick<KioskView, 'faults'>;
  telemetry: Pick<Telemetry, 'event' | 'changed'>;
}

export class KioskFaults {
  readonly #d: FaultsDeps;
  readonly #raised: Set<FaultKind>;

  constructor(deps: FaultsDeps, raised: Iterable<FaultKind>) {
    this.#d = deps;
    this.#raised = new Set(raised);
  }

  get raised(): ReadonlySet<FaultKind> {
    return this.#raised;
  }

  set(fault: FaultKind, raised: boolean): void {
    if (raised === this.#raised.has(fault)) return;
    if (raised) this.#raised.add(fault);
    else this.#raised.delete(fault);
    this.#d.telemetry.event({ kind: 'fault', fault, raised });
    this.apply();
    this.#d.telemetry.changed();
  }

  /** Shows the faults as they are: the checkout, the LED, the screen. */
  apply(): void {
    const first = this.#raised.values().next().value;
    this.#d.runner.send(first === undefined ? { type: 'faultCleared' } : { type: 'faultRaised', fault: first });
    this.#d.gpio?.setLed('fault', first !== undefined);
    this.#d.view.faults([...this.#raised].map((f) => FAULT_WORDS[f]));
  }
}
