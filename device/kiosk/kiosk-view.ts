// SPDX-License-Identifier: Apache-2.0
// What the kiosk shows, kept as one DisplayView and pushed to every Display on each change.
// A technician's message expires by itself; a hint lasts until the next screen.
import type { Logger } from 'pino';
import type { TimerHandle } from '../timers.ts';
import type { PolicyMode } from '../../shared/kiosk-policy.ts';
import type { CheckoutMode, Hint, Screen } from '../domain/checkout/types.ts';
import type { Display, DisplayView } from '../display/display.ts';
import type { TimerPort } from './checkout-runner.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class KioskView {
  readonly #displays: readonly Display[];
  readonly #timers: TimerPort;
  readonly #log: Logger;
  #view: Mutable<DisplayView>;
  #messageTimer: TimerHandle | undefined;

  constructor(o: {
    kioskId: string;
    mode: CheckoutMode;
    policyMode: PolicyMode;
    displays: readonly Display[];
    timers: TimerPort;
    log: Logger;
  }) {
    this.#displays = o.displays;
    this.#timers = o.timers;
    this.#log = o.log;
    this.#view = {
      kioskId: o.kioskId,
      mode: o.mode,
      screen: { name: 'idle', mode: o.mode },
      offline: false,
      policyMode: o.policyMode,
      storedCount: 0,
      faults: [],
    };
  }

  get current(): DisplayView {
    return this.#view;
  }

  screen(screen: Screen, hint: { hint: Hint; text: string } | null): void {
    const basket = 'basket' in screen ? screen.basket : screen.name === 'authorising' ? this.#view.basket : undefined;
    this.#set({ screen, hint: hint ?? undefined, basket });
  }

  offline(on: boolean): void {
    if (this.#view.offline !== on) this.#set({ offline: on });
  }

  /** Sets whether the kiosk, offline, can take no payment at all; returns whether that changed. */
  offlineUnavailable(on: boolean): boolean {
    if ((this.#view.offlineUnavailable ?? false) === on) return false;
    this.#set({ offlineUnavailable: on });
    return true;
  }

  policy(mode: PolicyMode): void {
    if (this.#view.policyMode !== mode) this.#set({ policyMode: mode });
  }

  stored(count: number, forwarding: { done: number; total: number } | undefined): void {
    this.#set({ storedCount: count, forwarding });
  }

  faults(faults: readonly string[]): void {
    this.#set({ faults: [...faults] });
  }

  /** Shows a technician's message for `seconds` (0 or an empty text clears it). */
  message(text: string, seconds: number): void {
    if (this.#messageTimer !== undefined) this.#timers.clearTimeout(this.#messageTimer);
    this.#messageTimer = undefined;
    if (seconds <= 0 || text.length === 0) {
      this.#set({ message: undefined });
      return;
    }
    this.#set({ message: text });
    this.#messageTimer = this.#timers.setTimeout(() => {
      this.#messageTimer = undefined;
      this.#set({ message: undefined });
    }, seconds * 1000);
  }

  stop(): void {
    if (this.#messageTimer !== undefined) this.#timers.clearTimeout(this.#messageTimer);
  }

  #set(change: Partial<DisplayView>): void {
    this.#view = { ...this.#view, ...change };
    for (const d of this.#displays) {
      try {
        d.render(this.#view);
      } catch (e) {
        this.#log.error({ err: (e as Error).message }, 'display render failed');
      }
    }
  }
}
