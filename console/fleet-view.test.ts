// SPDX-License-Identifier: Apache-2.0
// The fleet view from status messages (fed by hand, no broker): online, offline with and without
// a known time, invalid messages ignored, a cleared retained status forgotten; and the phrases the
// console builds from it.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/clock.ts';
import { DEFAULT_KIOSK_POLICY } from '../shared/kiosk-policy.ts';
import { lastWill, type OnlineStatus } from '../shared/kiosk-telemetry.ts';
import { topics } from '../shared/topics.ts';
import { FleetView } from './fleet-view.ts';
import { formatFleet, formatStatus, lastSeenPhrase } from './format.ts';

const T0 = new Date(2026, 10, 28, 12, 0, 0).getTime();

function online(at: number): OnlineStatus {
  return {
    v: 1,
    type: 'status',
    state: 'online',
    at,
    seq: 1,
    firmware: 'f',
    mode: 'self-checkout',
    checkout: 'idle',
    policy: DEFAULT_KIOSK_POLICY,
    currency: 'JPY',
    queue: { count: 2, amount: { value: 1200, currency: 'JPY' }, oldestCapturedAt: at, declined: 0, forwarding: null },
    clock: { trusted: false, offsetMs: null, uncertaintyMs: null, lastSyncAt: null },
    health: { scanner: 'fault', gpio: 'ok', display: 'ok' },
    faults: ['scanner unavailable'],
    catalogVersion: null,
    heartbeatMs: 30_000,
  };
}

function setup() {
  const clock = new ManualClock(T0);
  const client = new EventEmitter();
  const fleet = new FleetView(client as unknown as MqttClient, clock);
  const deliver = (kioskId: string, body: unknown, retain: boolean) =>
    client.emit('message', topics.kioskStatus(kioskId), Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { retain });
  return { clock, fleet, deliver };
}

describe('FleetView', () => {
  it('knows when a kiosk went offline only if it saw it happen', () => {
    const { clock, fleet, deliver } = setup();
    deliver('k1', online(T0), true);
    deliver('k2', lastWill('f'), true);
    deliver('k3', '{"v":1,"type":"status","state":"sideways"}', true);
    expect(fleet.ids()).toEqual(['k1', 'k2']);
    expect(fleet.invalid).toBe(1);
    expect(lastSeenPhrase(fleet.get('k2'), clock.nowMs())).toBe('it is offline');
    clock.advance(3 * 60_000);
    deliver('k1', lastWill('f'), false);
    expect(fleet.get('k1')!.offlineSinceMs).toBe(T0 + 3 * 60_000);
    clock.advance(60_000);
    deliver('k1', lastWill('f'), true); // a redelivered retained copy keeps the first time
    expect(lastSeenPhrase(fleet.get('k1'), clock.nowMs())).toBe('it is offline since 12:03 +00:00');
    expect(lastSeenPhrase(undefined, clock.nowMs())).toBe('no status was ever seen from it');
    deliver('k2', '', true);
    expect(fleet.ids()).toEqual(['k1']);
  });

  it('marks a status older than two heartbeats stale, and shows untrusted clocks and faults', () => {
    const { clock, fleet, deliver } = setup();
    deliver('k1', online(T0), true);
    expect(formatFleet(fleet.list(), clock.nowMs())).toMatch(
      /\nk1\s+online\s+self-checkout\s+prefer-online\s+2\s+¥1,200\s+UNTRUSTED\s+never\s+scanner unavailable$/,
    );
    clock.advance(61_000);
    expect(formatFleet(fleet.list(), clock.nowMs())).toMatch(/\nk1\s+stale\s/);
    expect(lastSeenPhrase(fleet.get('k1'), clock.nowMs())).toBe('its last status is from 12:00 +00:00');
  });
});

describe('formatStatus', () => {
  it('names the payments the kiosk still has to void, and says nothing of them when there are none or the kiosk does not say', () => {
    const queueLine = (queue: Partial<OnlineStatus['queue']>) =>
      formatStatus('k1', { ...online(T0), queue: { ...online(T0).queue, ...queue } }, T0)
        .split('\n')
        .find((l) => l.trimStart().startsWith('queue'));
    expect(queueLine({ voidsPending: 2 })).toMatch(/, 0 declined kept, 2 to void$/);
    expect(queueLine({ voidsPending: 0 })).toMatch(/, 0 declined kept$/);
    expect(queueLine({})).toMatch(/, 0 declined kept$/);
  });
});
