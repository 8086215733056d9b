// SPDX-License-Identifier: Apache-2.0
// NTP-style sync of the kiosk's trusted clock with the server, over the uplink's `time` request.
// Four exchanges, the one with the shortest round trip wins (shared/time-sync.ts). t0 and t3 are
// MONOTONIC readings (a wall-clock step during the exchange cannot skew the sample); the server's
// t1 and t2 are its wall clock. The trusted clock keeps a sample only if it is at least as tight as
// what it already has (domain/offline/trusted-clock.ts). ClockKeeper runs it on the running kiosk,
// with the persisting of the clock's state.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import { bestSample, timeSample, type TimeSample } from '../../shared/time-sync.ts';
import { TrustedClock, type TrustedClockOptions, type TrustedTime } from '../domain/offline/trusted-clock.ts';
import type { TimerHandle } from '../timers.ts';
import type { Uplink } from '../uplink/uplink.ts';
import type { TimerPort } from './checkout-runner.ts';
import type { KioskStateWriter } from './state-writer.ts';

/** How often the clock's lower bound and the last-uplink time are saved while running. */
export const CLOCK_PERSIST_MS = 60_000;

export const CLOCK_SYNC_SAMPLES = 4;

export type ClockSyncResult = { ok: true; sample: TimeSample; taken: boolean } | { ok: false; reason: string };

/** Measures up to `samples` exchanges and offers the best to the trusted clock. Never throws. */
export async function syncClock(
  uplink: Pick<Uplink, 'request'>,
  trusted: TrustedClock,
  clock: Clock,
  nextId: () => string,
  samples = CLOCK_SYNC_SAMPLES,
): Promise<ClockSyncResult> {
  const taken: TimeSample[] = [];
  let failure = 'no answer';
  for (let i = 0; i < samples; i++) {
    const t0 = clock.monotonicMs();
    try {
      const reply = await uplink.request({ v: 1, type: 'time', id: nextId(), t0 });
      const t3 = clock.monotonicMs();
      if (reply.type === 'error') {
        failure = `server error ${reply.code}`;
        continue;
      }
      taken.push(timeSample(t0, reply.t1, reply.t2, t3));
    } catch (e) {
      failure = (e as Error).message;
      break;
    }
  }
  const best = bestSample(taken);
  if (!best) return { ok: false, reason: failure };
  return { ok: true, sample: best, taken: trusted.sync(best, clock.monotonicMs(), clock.nowMs()) };
}

export interface ClockKeeperDeps {
  /** The trusted clock's saved state (kiosk state `clock`), and how to read it back. */
  saved: unknown;
  options: TrustedClockOptions;
  clock: Clock;
  uplink: Pick<Uplink, 'connected' | 'request'>;
  state: KioskStateWriter;
  newId: () => string;
  timers: TimerPort;
  log: Logger;
  /** Between syncs while the uplink is up, in ms. */
  syncEveryMs: number;
  /** After each periodic save (what the clock allows may have changed with time). */
  onTick: () => void;
  /** A sync ended with a sample. */
  onSynced: () => void;
}

/**
 * The running kiosk's trusted clock: synced on each connection and every syncEveryMs while
 * connected, and its state (with when the kiosk last reached the server) saved every
 * CLOCK_PERSIST_MS, after each sync and at stop. Its saves never reject (state-writer.ts).
 */
export class ClockKeeper {
  readonly #d: ClockKeeperDeps;
  readonly #trusted: TrustedClock;
  #persistTimer: TimerHandle | undefined;
  #syncTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(deps: ClockKeeperDeps) {
    this.#d = deps;
    this.#trusted = TrustedClock.restore(deps.saved, deps.clock.nowMs(), deps.clock.monotonicMs(), deps.options);
  }

  now(): TrustedTime {
    return this.#trusted.now(this.#d.clock.monotonicMs());
  }

  /** The server time of the last sync, if any. */
  lastSyncAt(): number | null {
    const sync = this.#trusted.toState(this.#d.clock.monotonicMs()).sync;
    return sync ? Math.round(sync.serverTimeMs) : null;
  }

  start(): void {
    this.#schedulePersist();
  }

  /** Saves the clock's state, and the last-uplink time when connected with a server-synced clock. */
  persist(): Promise<boolean> {
    const mono = this.#d.clock.monotonicMs();
    const t = this.now();
    const fromServer = this.#d.uplink.connected && t.trusted && t.source === 'server';
    return this.#d.state.save('clock', (s) => ({
      ...s,
      clock: this.#trusted.toState(mono),
      lastUplinkAtMs: fromServer ? t.estimateMs : s.lastUplinkAtMs,
    }));
  }

  /** Syncs now (never rejects), then saves. */
  async sync(): Promise<void> {
    const d = this.#d;
    const r = await syncClock(d.uplink, this.#trusted, d.clock, d.newId);
    if (r.ok) {
      d.log.info({ offsetMs: r.sample.offsetMs, roundTripMs: r.sample.roundTripMs, taken: r.taken }, 'clock synced');
      await this.persist();
      d.onSynced();
    } else d.log.warn({ reason: r.reason }, 'clock sync failed');
  }

  /** Syncs again after syncEveryMs, and so on while the uplink stays up. */
  scheduleSync(): void {
    const timers = this.#d.timers;
    if (this.#syncTimer !== undefined) timers.clearTimeout(this.#syncTimer);
    this.#syncTimer = timers.setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#stopped || !this.#d.uplink.connected) return;
      void this.sync().finally(() => this.scheduleSync());
    }, this.#d.syncEveryMs);
  }

  /** No more timers (the kiosk's last persist() follows at the end of its stop). */
  stop(): void {
    this.#stopped = true;
    for (const t of [this.#persistTimer, this.#syncTimer]) if (t !== undefined) this.#d.timers.clearTimeout(t);
  }

  #schedulePersist(): void {
    this.#persistTimer = this.#d.timers.setTimeout(() => {
      void this.persist();
      this.#d.onTick();
      if (!this.#stopped) this.#schedulePersist();
    }, CLOCK_PERSIST_MS);
  }
}
