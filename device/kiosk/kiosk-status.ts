// SPDX-License-Identifier: Apache-2.0
// The kiosk's status message (shared/kiosk-telemetry.ts, docs/protocol.md section 9) as it would be
// published now: checkout state, policy, stored queue, clock trust, hardware health and faults.
import type { HealthState, OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import type { FaultKind } from '../domain/checkout/types.ts';
import type { TrustedTime } from '../domain/offline/trusted-clock.ts';
import { FAULT_WORDS } from '../display/words.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { KioskConfig } from './config.ts';
import type { KioskHardware } from './wire-kiosk.ts';
import type { KioskState } from './kiosk-state.ts';

export interface StatusInputs {
  config: Readonly<KioskConfig>;
  outbox: Pick<OutboxStore, 'stats'>;
  state: Readonly<KioskState>;
  /** The trusted clock now, the wall clock now, and the server time of the last sync. */
  time: TrustedTime;
  wallNowMs: number;
  lastSyncAt: number | null;
  checkout: OnlineStatus['checkout'];
  forwarding: { done: number; total: number } | undefined;
  hardware: KioskHardware;
  faults: ReadonlySet<FaultKind>;
  catalogVersion: number | undefined;
}

function health(h: KioskHardware, faults: ReadonlySet<FaultKind>): { scanner: HealthState; gpio: HealthState; display: HealthState } {
  const displays = h.displays;
  return {
    scanner: h.scanner.status === 'unavailable' ? 'fault' : 'ok',
    gpio: h.gpio ? (faults.has('relay-unavailable') ? 'fault' : 'ok') : 'absent',
    display: displays.length === 0 ? 'absent' : displays.every((d) => d.health === 'ok') ? 'ok' : 'fault',
  };
}

export function kioskStatus(i: StatusInputs): Omit<OnlineStatus, 'seq'> {
  const cfg = i.config;
  const stats = i.outbox.stats();
  const t = i.time;
  return {
    v: 1,
    type: 'status',
    state: 'online',
    at: t.estimateMs,
    firmware: cfg.firmware,
    mode: cfg.mode,
    checkout: i.checkout,
    policy: i.state.policy,
    currency: cfg.currency,
    queue: {
      count: stats.count,
      amount: { value: stats.amountByCurrency[cfg.currency] ?? 0, currency: cfg.currency },
      oldestCapturedAt: stats.oldestCapturedAt,
      declined: i.state.declined.length,
      forwarding: i.forwarding ?? null,
      voidsPending: i.state.voidLater.length,
    },
    clock: {
      trusted: t.trusted && t.uncertaintyMs <= cfg.offline.clockUncertaintyMaxMs,
      offsetMs: t.trusted ? Math.round(t.estimateMs - i.wallNowMs) : null,
      uncertaintyMs: Number.isFinite(t.uncertaintyMs) ? Math.round(t.uncertaintyMs) : null,
      lastSyncAt: i.lastSyncAt,
    },
    health: health(i.hardware, i.faults),
    faults: [...i.faults].map((f) => FAULT_WORDS[f]),
    catalogVersion: i.catalogVersion ?? null,
    heartbeatMs: cfg.timing.heartbeatMs,
  };
}
