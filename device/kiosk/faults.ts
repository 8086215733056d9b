// SPDX-License-Identifier: Apache-2.0
// The kiosk's hardware and catalog faults (domain/checkout/types.ts FaultKind): while any is raised
// the checkout is out of service (the first one is its reason); a reported fault also lights the
// fault LED, is listed on the screen and in the status, and its raising and clearing are telemetry
// events. A fault that normally clears by itself has a grace: a missing catalog is what every new
// kiosk starts with (the server's retained catalog comes a moment after it connects, or after a
// `reload-catalog`), so it is reported only if it lasts its grace, the checkout's catalogWaitMs,
// when the checkout also warns about it (machine.ts). One that clears within its grace was never
// reported, so its clearing is not reported either.
import type { TimerHandle } from '../timers.ts';
import type { FaultKind } from '../domain/checkout/types.ts';
import { FAULT_WORDS } from '../display/words.ts';
import type { KioskGpio } from '../adapters/gpio/gpio.ts';
import type { CheckoutRunner, TimerPort } from './checkout-runner.ts';
import type { KioskView } from './kiosk-view.ts';
import type { Telemetry } from './telemetry.ts';

export interface FaultsDeps {
  runner: Pick<CheckoutRunner, 'send'>;
  gpio: KioskGpio | undefined;
  view: Pick<KioskView, 'faults'>;
  telemetry: Pick<Telemetry, 'event' | 'changed'>;
  timers: TimerPort;
  /** How long a fault that normally clears by itself may last before it is reported, in ms. */
  graceMs: Readonly<Partial<Record<FaultKind, number>>>;
}

export class KioskFaults {
  readonly #d: FaultsDeps;
  /** Every raised fault: the checkout is out of service while any is. */
  readonly #raised = new Set<FaultKind>();
  /** Raised faults still within their grace (not reported yet), with the timer that reports them. */
  readonly #inGrace = new Map<FaultKind, TimerHandle>();

  /** `raised`: the faults the kiosk starts with; none is reported before its grace (if any) is over. */
  constructor(deps: FaultsDeps, raised: Iterable<FaultKind>) {
    this.#d = deps;
    for (const fault of raised) {
      this.#raised.add(fault);
      this.#startGrace(fault);
    }
  }

  /** The reported faults (what the status, the LED and the screen's list show). */
  get raised(): ReadonlySet<FaultKind> {
    return new Set([...this.#raised].filter((f) => !this.#inGrace.has(f)));
  }

  set(fault: FaultKind, raised: boolean): void {
    if (raised === this.#raised.has(fault)) return;
    if (raised) {
      this.#raised.add(fault);
      if (this.#startGrace(fault)) return this.apply();
    } else {
      this.#raised.delete(fault);
      const grace = this.#inGrace.get(fault);
      if (grace !== undefined) {
        this.#d.timers.clearTimeout(grace);
        this.#inGrace.delete(fault);
        return this.apply();
      }
    }
    this.#report(fault, raised);
  }

  /** Shows the faults as they are: the checkout (all of them), the LED and the screen (the reported ones). */
  apply(): void {
    const first = this.#raised.values().next().value;
    this.#d.runner.send(first === undefined ? { type: 'faultCleared' } : { type: 'faultRaised', fault: first });
    const reported = this.raised;
    this.#d.gpio?.setLed('fault', reported.size > 0);
    this.#d.view.faults([...reported].map((f) => FAULT_WORDS[f]));
  }

  /** Shutdown: no grace ends after this. */
  stop(): void {
    for (const t of this.#inGrace.values()) this.#d.timers.clearTimeout(t);
    this.#inGrace.clear();
  }

  /** Starts the fault's grace, if it has one; true then. */
  #startGrace(fault: FaultKind): boolean {
    const ms = this.#d.graceMs[fault];
    if (ms === undefined) return false;
    const timer = this.#d.timers.setTimeout(() => {
      this.#inGrace.delete(fault);
      this.#report(fault, true);
    }, ms);
    this.#inGrace.set(fault, timer);
    return true;
  }

  #report(fault: FaultKind, raised: boolean): void {
    this.#d.telemetry.event({ kind: 'fault', fault, raised });
    this.apply();
    this.#d.telemetry.changed();
  }
}
