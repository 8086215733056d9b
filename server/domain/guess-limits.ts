// SPDX-License-Identifier: Apache-2.0
// Limits on failed lookups of the 20-digit codes (online one-time codes and numeric offline codes),
// the only codes a kiosk can guess: per numeric-code handle (the 8 digits that name a wallet's
// secret), per kiosk, and for the whole server. Each scope is a sliding window: `max` failures within
// `windowMs` lock the scope for `lockMs`; while locked, lookups in it are refused (CODE_GUESS_LOCKED)
// and not counted, and when the lock starts its window is emptied, so after the lock the scope has its
// full allowance again. With lockMs >= windowMs a scope never sees more than max × (1 + 24 h / lockMs)
// failures in any 24 hours (docs/security.md, "Guessing numeric codes").
// The numbers are server configuration (`codeGuessLimits`). In memory, per server process (each
// replica keeps its own count); time comes from the injected clock.
import type { Clock } from '../../shared/clock.ts';

export interface GuessRule {
  max: number;
  windowMs: number;
  lockMs: number;
}
export interface GuessLimitsConfig {
  handle: GuessRule;
  kiosk: GuessRule;
  global: GuessRule;
}
export type GuessScope = keyof GuessLimitsConfig;

export interface Lockout {
  scope: GuessScope;
  key: string;
  untilMs: number;
}

interface Slot {
  failures: number[];
  lockedUntil: number;
}

export class GuessLimiter {
  readonly #clock: Clock;
  readonly #limits: GuessLimitsConfig;
  readonly #slots = new Map<string, Slot>();

  constructor(clock: Clock, limits: GuessLimitsConfig) {
    for (const [scope, r] of Object.entries(limits)) {
      if (!(r.max >= 1 && r.windowMs > 0 && r.lockMs >= r.windowMs))
        throw new Error(`guess limit ${scope}: need max >= 1 and lockMs >= windowMs > 0`);
    }
    this.#clock = clock;
    this.#limits = limits;
  }

  /** The lock that refuses a lookup by this kiosk (of this handle, for a numeric code) now, if any. */
  locked(kioskId: string, handle: string | null): Lockout | null {
    const now = this.#clock.nowMs();
    for (const [scope, key] of this.#keys(kioskId, handle)) {
      const slot = this.#slots.get(`${scope}:${key}`);
      if (slot && slot.lockedUntil > now) return { scope, key, untilMs: slot.lockedUntil };
    }
    return null;
  }

  /**
   * Counts a failed lookup in every scope it belongs to; `handle` only when it names a stored
   * credential (unknown handles count for the kiosk and globally). Returns the locks this failure
   * started: each lock is reported exactly once, when it starts.
   */
  fail(kioskId: string, handle: string | null): Lockout[] {
    const now = this.#clock.nowMs();
    const started: Lockout[] = [];
    for (const [scope, key] of this.#keys(kioskId, handle)) {
      const rule = this.#limits[scope];
      const id = `${scope}:${key}`;
      const slot = this.#slots.get(id) ?? { failures: [], lockedUntil: 0 };
      if (slot.lockedUntil > now) continue;
      slot.failures = slot.failures.filter((t) => t > now - rule.windowMs);
      slot.failures.push(now);
      if (slot.failures.length >= rule.max) {
        slot.failures = [];
        slot.lockedUntil = now + rule.lockMs;
        started.push({ scope, key, untilMs: slot.lockedUntil });
      }
      this.#slots.set(id, slot);
    }
    this.#sweep(now);
    return started;
  }

  #keys(kioskId: string, handle: string | null): [GuessScope, string][] {
    const keys: [GuessScope, string][] = [
      ['global', '*'],
      ['kiosk', kioskId],
    ];
    if (handle !== null) keys.push(['handle', handle]);
    return keys;
  }

  /** Forgets scopes with nothing left to remember (keys are registered kiosks and stored handles, so this only trims). */
  #sweep(now: number): void {
    if (this.#slots.size < 1024) return;
    for (const [id, slot] of this.#slots) {
      const rule = this.#limits[id.slice(0, id.indexOf(':')) as GuessScope];
      if (slot.lockedUntil <= now && slot.failures.every((t) => t <= now - rule.windowMs)) this.#slots.delete(id);
    }
  }
}
