// SPDX-License-Identifier: Apache-2.0
// Alerts an operator can act on that come from the server's own decisions (not from kiosk status):
// a copied offline code, a kiosk claiming one code twice, a credential revoked, a stored payment
// declined for the shopper's limits, a kiosk or handle locked out for guessing 20-digit codes. Any part of the server raises them through `ctx.alerts`; the
// operator dashboard (/ops) shows the recent ones with the fleet's alerts, and they are logged.
// Kept in memory (the newest `max`); the ledger keeps the facts (payments flagged replay, the
// revoked credential), so a restart loses only the notice, never the money trail.
import type { Money } from '../../shared/money.ts';

export type ServerAlertKind = 'offline-copy' | 'duplicate-claim' | 'credential-revoked' | 'offline-limit' | 'code-guessing';

export interface ServerAlert {
  kind: ServerAlertKind;
  severity: 'critical' | 'warning';
  at: number;
  kioskId: string | null;
  walletId: string | null;
  amount: Money | null;
  message: string;
}

export class AlertSink {
  readonly #max: number;
  readonly #items: ServerAlert[] = [];
  readonly #listeners = new Set<() => void>();

  constructor(max = 200) { this.#max = max; }

  raise(a: ServerAlert): void {
    this.#items.push(a);
    if (this.#items.length > this.#max) this.#items.splice(0, this.#items.length - this.#max);
    for (const fn of this.#listeners) fn();
  }

  /** Alerts raised at or after `sinceMs`, oldest first. */
  since(sinceMs: number): ServerAlert[] {
    return this.#items.filter((a) => a.at >= sinceMs).map((a) => ({ ...a }));
  }

  /** Calls `fn` after each raise; returns the unsubscribe function. */
  onRaise(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => { this.#listeners.delete(fn); };
  }
}
