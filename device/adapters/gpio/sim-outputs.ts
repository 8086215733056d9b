// SPDX-License-Identifier: Apache-2.0
// What the simulated kiosk's outputs are doing, in kiosk terms, for its web screen: the three LEDs
// (ready, offline, fault), the buzzer and the relay, read from the simulated lines (sim-lines.ts)
// through the same pin map the kiosk's GPIO drives. A buzzer beep or a relay pulse can be shorter
// than a person notices, so each also counts its switch-ons.
import type { GpioPinMap } from './gpio.ts';
import type { Level } from './lines.ts';
import type { SimLines } from './sim-lines.ts';

export interface SimOutputState {
  readonly leds: { readonly ready: boolean; readonly offline: boolean; readonly fault: boolean };
  readonly buzzer: boolean;
  readonly relay: boolean;
  /** Times the buzzer switched on since the kiosk started. */
  readonly beeps: number;
  /** Times the relay switched on since the kiosk started. */
  readonly pulses: number;
}

export class SimOutputs {
  readonly #lines: SimLines;
  readonly #pins: Pick<GpioPinMap, 'leds' | 'buzzer' | 'relay'>;
  readonly #relayOn: Level;
  readonly #listeners = new Set<() => void>();
  readonly #unsubscribe: () => void;
  #beeps = 0;
  #pulses = 0;

  constructor(lines: SimLines, pins: Pick<GpioPinMap, 'leds' | 'buzzer' | 'relay'>, o: { relayActiveLow?: boolean } = {}) {
    this.#lines = lines;
    this.#pins = pins;
    this.#relayOn = o.relayActiveLow ? 0 : 1;
    const watched = new Set([pins.leds.ready, pins.leds.offline, pins.leds.fault, pins.buzzer, pins.relay]);
    let buzzer = this.#on(pins.buzzer, 1);
    let relay = this.#on(pins.relay, this.#relayOn);
    let last = JSON.stringify(this.state());
    this.#unsubscribe = lines.onWrite((w) => {
      if (!watched.has(w.bcm)) return;
      const nowBuzzer = this.#on(pins.buzzer, 1);
      const nowRelay = this.#on(pins.relay, this.#relayOn);
      if (nowBuzzer && !buzzer) this.#beeps += 1;
      if (nowRelay && !relay) this.#pulses += 1;
      buzzer = nowBuzzer;
      relay = nowRelay;
      const key = JSON.stringify(this.state());
      if (key === last) return; // a write of the level the line already had
      last = key;
      for (const fn of [...this.#listeners]) fn();
    });
  }

  state(): SimOutputState {
    const p = this.#pins;
    return {
      leds: { ready: this.#on(p.leds.ready, 1), offline: this.#on(p.leds.offline, 1), fault: this.#on(p.leds.fault, 1) },
      buzzer: this.#on(p.buzzer, 1),
      relay: this.#on(p.relay, this.#relayOn),
      beeps: this.#beeps,
      pulses: this.#pulses,
    };
  }

  /** Calls fn after every change of an output (a write of the same level is none). Returns an unsubscribe. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  #on(bcm: number, onLevel: Level): boolean {
    return this.#lines.level(bcm) === onLevel;
  }
}
