// SPDX-License-Identifier: Apache-2.0
// A publish budget per login, enforced by the broker: a kiosk (or staff) login that publishes more
// than `perSec` messages a second, after a burst of `burst`, is disconnected, and its username gets
// CONNACK 3 for a while (doubling with each repeat, reset by a quiet spell). The server's own
// per-kiosk request limits answer RATE_LIMITED, but every flooding message still has to reach the
// server to be refused, and an honest kiosk's request waits behind all of them on the server's one
// connection; refusing at the broker keeps a flood off that connection. An honest kiosk sends one
// request at a time plus telemetry, orders of magnitude below the budget. The server login is exempt.
// MQTT 3.1.1 has no negative PUBACK, so closing the connection is the only refusal there is.

export interface PublishBudgetLimits {
  /** Sustained publishes a second per connection. */
  readonly perSec: number;
  /** Publishes allowed at once above the sustained rate. */
  readonly burst: number;
  /** How long a username that went over is refused logins, in ms; doubles per repeat. */
  readonly penaltyBaseMs: number;
  /** Longest such refusal, in ms. */
  readonly penaltyMaxMs: number;
}

/** Penalised usernames remembered at most (oldest forgotten first), so memory stays bounded. */
const TRACKED_MAX = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}
interface Penalty {
  strikes: number;
  until: number;
}

export class PublishBudget {
  readonly #limits: PublishBudgetLimits;
  readonly #now: () => number;
  readonly #buckets = new WeakMap<object, Bucket>();
  readonly #penalties = new Map<string, Penalty>();

  constructor(limits: PublishBudgetLimits, now: () => number) {
    if (!(limits.perSec > 0 && limits.burst >= 1 && limits.penaltyBaseMs > 0 && limits.penaltyMaxMs >= limits.penaltyBaseMs)) {
      throw new Error('publish budget: perSec > 0, burst >= 1 and 0 < penaltyBaseMs <= penaltyMaxMs');
    }
    this.#limits = limits;
    this.#now = now;
  }

  /** Takes one publish from this connection's budget; false when it is spent. */
  take(connection: object): boolean {
    const now = this.#now();
    const b = this.#buckets.get(connection) ?? { tokens: this.#limits.burst, at: now };
    b.tokens = Math.min(this.#limits.burst, b.tokens + ((now - b.at) / 1000) * this.#limits.perSec);
    b.at = now;
    this.#buckets.set(connection, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Records that `username` went over its budget; returns how long its logins are refused, in ms. */
  penalise(username: string): number {
    const now = this.#now();
    const prior = this.#penalties.get(username);
    // A quiet spell as long as the longest penalty since the last one forgives the strikes.
    const strikes = prior && now - prior.until < this.#limits.penaltyMaxMs ? prior.strikes + 1 : 1;
    const ms = Math.min(this.#limits.penaltyMaxMs, this.#limits.penaltyBaseMs * 2 ** (strikes - 1));
    this.#penalties.delete(username);
    this.#penalties.set(username, { strikes, until: now + ms });
    if (this.#penalties.size > TRACKED_MAX) this.#penalties.delete(this.#penalties.keys().next().value!);
    return ms;
  }

  /** Why `username` may not log in now, or undefined. */
  refusal(username: string): string | undefined {
    const p = this.#penalties.get(username);
    if (!p || p.until <= this.#now()) return undefined;
    return `published over its budget; logins refused for ${Math.ceil((p.until - this.#now()) / 1000)} s`;
  }
}
