// SPDX-License-Identifier: Apache-2.0
// Alerts an operator can act on that come from the server's own decisions (not from kiosk status):
// a copied offline code, a kiosk claiming one code twice, a credential revoked, a stored payment
// declined for the shopper's limits, a kiosk or handle locked out for guessing 20-digit codes, and
// a login flood the broker reported (mqtt/broker-alerts.ts). Any part of the server raises them
// through `ctx.alerts`; the operator dashboard (/ops) shows the recent ones with the fleet's
// alerts, consoles read the newest on kp/v1/server/alerts (mqtt/alerts-broadcast.ts), and they are
// logged. Kept in memory (the newest `max`); the ledger keeps the facts (payments flagged replay,
// the revoked credential), so a restart loses only the notice, never the money trail. When full,
// a login-flood alert is forgotten before any other, so a long flood cannot push money alerts out.
import type { AlertSeverity, ServerAlertKind } from '../../shared/alert-messages.ts';
import type { Money } from '../../shared/money.ts';

export type { ServerAlertKind } from '../../shared/alert-messages.ts';

export interface NewServerAlert {
  kind: ServerAlertKind;
  severity: AlertSeverity;
  at: number;
  kioskId: string | null;
  walletId: string | null;
  amount: Money | null;
  message: string;
}

/** A raised alert: `seq` numbers this process's alerts from 1, in the order raised. */
export interface ServerAlert extends NewServerAlert {
  seq: number;
}

export class AlertSink {
  readonly #max: number;
  readonly #items: ServerAlert[] = [];
  readonly #listeners = new Set<() => void>();
  #seq = 0;

  constructor(max = 200) {
    this.#max = max;
  }

  raise(a: NewServerAlert): void {
    this.#seq += 1;
    this.#items.push({ ...a, seq: this.#seq });
    if (this.#items.length > this.#max) {
      const flood = this.#items.findIndex((x) => x.kind === 'login-flood');
      this.#items.splice(flood >= 0 && flood < this.#items.length - 1 ? flood : 0, 1);
    }
    for (const fn of this.#listeners) fn();
  }

  /** Alerts raised at or after `sinceMs`, oldest first. */
  since(sinceMs: number): ServerAlert[] {
    return this.#items.filter((a) => a.at >= sinceMs).map((a) => ({ ...a }));
  }

  /** The `n` most recently raised alerts, oldest first. */
  newest(n: number): ServerAlert[] {
    return this.#items.slice(Math.max(0, this.#items.length - n)).map((a) => ({ ...a }));
  }

  /** Calls `fn` after each raise; returns the unsubscribe function. */
  onRaise(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }
}
