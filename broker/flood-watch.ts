// SPDX-License-Identifier: Apache-2.0
// Notices login floods so the broker can tell the server (kp/v1/broker/alerts), which shows them
// to operators. Fed by the broker with every failed password check (CONNACK 4) and every login
// deferred by admission control (CONNACK 3, admission.ts), per source address and per username.
//
// An episode of a key (an address, or a username) begins with its first failed or deferred login
// and ends when nothing failed or was deferred for `quietMs`; a username's episode also ends when
// that username logs in (an address's does not: a kiosk behind the attacker's NAT proves nothing).
// An alert is raised when a key reaches `alertAttempts` failed-or-deferred logins in its episode,
// at least one of them a failed password check (so a client only ever deferred by the global check
// cap raises nothing). One alert covers both keys of the attempt that crossed: neither raises
// another in its episode. At most `alertsPerMinute` alerts in any 60 s over all keys; the rest are
// withheld and counted in the next one. Pure: the clock is injected; memory is bounded.
import type { LoginCounts } from '../shared/alert-messages.ts';

export interface FloodWatchLimits {
  /** Failed-or-deferred logins of one address or username in one episode that raise an alert. */
  readonly alertAttempts: number;
  /** An episode ends after this long without a failed or deferred login, in ms. */
  readonly quietMs: number;
  /** Alerts raised at most in any 60 s, over all addresses and usernames. */
  readonly alertsPerMinute: number;
}

export interface FloodAlert {
  readonly trigger: 'address' | 'username';
  readonly address: string;
  /** Undefined when the client sent no username. */
  readonly username: string | undefined;
  readonly addressCounts: LoginCounts;
  readonly usernameCounts: LoginCounts;
  /** When the triggering key's episode began, on the watch's clock. */
  readonly sinceMs: number;
  /** Alerts withheld by the rate limit since the previous alert. */
  readonly suppressed: number;
}

/** Keys tracked at most (least recently touched forgotten first), so memory stays bounded. */
const TRACKED_MAX = 100_000;
const MINUTE_MS = 60_000;

interface Episode {
  startMs: number;
  lastMs: number;
  failed: number;
  deferred: number;
  alerted: boolean;
}

export class LoginFloodWatch {
  readonly #limits: FloodWatchLimits;
  readonly #now: () => number;
  readonly #episodes = new Map<string, Episode>();
  /** Times of the alerts raised within the last minute. */
  #raised: number[] = [];
  #suppressed = 0;

  constructor(limits: FloodWatchLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  /** A password check failed (CONNACK 4). Returns the alert to publish, if this raised one. */
  failed(address: string, username: string | undefined): FloodAlert | undefined {
    return this.#attempt(address, username, 'failed');
  }

  /** A login was deferred without a password check (CONNACK 3). */
  deferred(address: string, username: string | undefined): FloodAlert | undefined {
    return this.#attempt(address, username, 'deferred');
  }

  /** `username` logged in with its password: its episode is over. */
  succeeded(username: string): void {
    this.#episodes.delete(`u:${username}`);
  }

  #attempt(address: string, username: string | undefined, how: 'failed' | 'deferred'): FloodAlert | undefined {
    const now = this.#now();
    const a = this.#touch(`a:${address}`, now, how);
    const u = username === undefined || username === '' ? undefined : this.#touch(`u:${username}`, now, how);
    const crossed = (e: Episode | undefined) =>
      e !== undefined && !e.alerted && e.failed >= 1 && e.failed + e.deferred >= this.#limits.alertAttempts;
    const trigger = crossed(a) ? a : crossed(u) ? u : undefined;
    if (trigger === undefined) return undefined;
    a.alerted = true;
    if (u) u.alerted = true;
    this.#raised = this.#raised.filter((t) => now - t < MINUTE_MS);
    if (this.#raised.length >= this.#limits.alertsPerMinute) {
      this.#suppressed += 1;
      return undefined;
    }
    this.#raised.push(now);
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    const counts = (e: Episode | undefined): LoginCounts => ({ failed: e?.failed ?? 0, deferred: e?.deferred ?? 0 });
    return {
      trigger: trigger === a ? 'address' : 'username',
      address,
      username: u === undefined ? undefined : username,
      addressCounts: counts(a),
      usernameCounts: counts(u),
      sinceMs: trigger.startMs,
      suppressed,
    };
  }

  #touch(key: string, now: number, how: 'failed' | 'deferred'): Episode {
    const old = this.#episodes.get(key);
    const e = old && now - old.lastMs <= this.#limits.quietMs ? old : { startMs: now, lastMs: now, failed: 0, deferred: 0, alerted: false };
    e.lastMs = now;
    if (how === 'failed') e.failed += 1;
    else e.deferred += 1;
    this.#episodes.delete(key);
    this.#episodes.set(key, e);
    if (this.#episodes.size > TRACKED_MAX) this.#episodes.delete(this.#episodes.keys().next().value as string);
    return e;
  }
}
