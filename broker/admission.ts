// SPDX-License-Identifier: Apache-2.0
// Admission control for logins, so that a flood of wrong passwords cannot keep real clients out.
// A password check is scrypt (about 50 ms of CPU and 16 MiB): without limits, 64 parallel CONNECTs
// with wrong passwords filled every check slot and real kiosks got CONNACK 3 for tens of seconds.
//
// - Known-good lane: a (username, stored hash, presented password) that verified before is
//   admitted again without scrypt and without waiting for a slot. The broker keeps, per identity,
//   an HMAC (random per-process key) of the last passwords that verified, never the password.
// - Per source address: at most `perAddressInFlightMax` password checks at once.
// - Per source address and per username: after a failed login, further slow-lane attempts are
//   refused (CONNACK 3, no scrypt) for an exponentially growing time, reset by a success.
// All refusals here are CONNACK 3 (server unavailable): the client retries later.
import { createHmac, randomBytes } from 'node:crypto';

export interface AdmissionLimits {
  /** Password checks at once from one source address. */
  readonly perAddressInFlightMax: number;
  /** Backoff after the first failure, in ms; doubles with each further failure. */
  readonly backoffBaseMs: number;
  /** Longest backoff, in ms. */
  readonly backoffMaxMs: number;
  /** Verified logins remembered for the known-good lane (oldest forgotten first). */
  readonly knownLoginsMax: number;
}

/** Keys tracked for backoff and concurrency at most (oldest forgotten first), so memory stays bounded. */
const TRACKED_MAX = 100_000;

interface Backoff {
  failures: number;
  until: number;
}

export class LoginAdmission {
  readonly #limits: AdmissionLimits;
  readonly #now: () => number;
  readonly #key = randomBytes(32);
  readonly #known = new Set<string>();
  readonly #backoff = new Map<string, Backoff>();
  readonly #inFlight = new Map<string, number>();

  constructor(limits: AdmissionLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  #tag(username: string, passwordHash: string, password: Uint8Array): string {
    return createHmac('sha256', this.#key)
      .update(username)
      .update('\0')
      .update(passwordHash)
      .update('\0')
      .update(password)
      .digest('base64');
  }

  /** True when this identity verified with exactly this password before (and its hash is unchanged). */
  isKnown(username: string, passwordHash: string, password: Uint8Array): boolean {
    return this.#known.has(this.#tag(username, passwordHash, password));
  }

  /** Why a slow-lane check must not start now, or undefined when it may. */
  refusal(address: string, username: string): string | undefined {
    const now = this.#now();
    if ((this.#backoff.get(`a:${address}`)?.until ?? 0) > now) return 'too many failed logins from this address; retry later';
    if ((this.#backoff.get(`u:${username}`)?.until ?? 0) > now) return 'too many failed logins for this username; retry later';
    if ((this.#inFlight.get(address) ?? 0) >= this.#limits.perAddressInFlightMax) return 'too many logins at once from this address';
    return undefined;
  }

  /** A slow-lane check starts; call the returned function when it ends. */
  start(address: string): () => void {
    this.#inFlight.set(address, (this.#inFlight.get(address) ?? 0) + 1);
    bound(this.#inFlight);
    return () => {
      const n = (this.#inFlight.get(address) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(address);
      else this.#inFlight.set(address, n);
    };
  }

  succeeded(address: string, username: string, passwordHash: string, password: Uint8Array): void {
    this.#backoff.delete(`a:${address}`);
    this.#backoff.delete(`u:${username}`);
    const tag = this.#tag(username, passwordHash, password);
    this.#known.delete(tag);
    this.#known.add(tag);
    if (this.#known.size > this.#limits.knownLoginsMax) this.#known.delete(this.#known.values().next().value as string);
  }

  failed(address: string, username: string | undefined): void {
    this.#fail(`a:${address}`);
    if (username !== undefined) this.#fail(`u:${username}`);
  }

  #fail(key: string): void {
    const failures = (this.#backoff.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(this.#limits.backoffMaxMs, this.#limits.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
    this.#backoff.delete(key);
    this.#backoff.set(key, { failures, until: this.#now() + delay });
    bound(this.#backoff);
  }
}

function bound(map: Map<string, unknown>): void {
  if (map.size > TRACKED_MAX) map.delete(map.keys().next().value as string);
}
