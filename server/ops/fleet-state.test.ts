// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { DEFAULT_KIOSK_POLICY } from '../../shared/kiosk-policy.ts';
import { lastWill, type KioskEventMessage, type OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import { TimeZone } from '../../shared/time-zone.ts';
import { FleetState, VOIDS_PENDING_ALERT_MS } from './fleet-state.ts';

const T0 = Date.UTC(2026, 10, 28, 3, 0, 0); // 12:00 in +09:00
const JST = TimeZone.parse('Asia/Tokyo');
const MIN = 60_000;

function online(over: Partial<OnlineStatus> = {}, at = T0): OnlineStatus {
  return {
    v: 1,
    type: 'status',
    state: 'online',
    at,
    seq: 1,
    firmware: 'kp-1.0',
    mode: 'vending',
    checkout: 'idle',
    policy: DEFAULT_KIOSK_POLICY,
    currency: 'JPY',
    queue: { count: 0, amount: { value: 0, currency: 'JPY' }, oldestCapturedAt: null, declined: 0, forwarding: null },
    clock: { trusted: true, offsetMs: 3, uncertaintyMs: 20, lastSyncAt: at },
    health: { scanner: 'ok', gpio: 'ok', display: 'ok' },
    faults: [],
    catalogVersion: 1,
    heartbeatMs: 30_000,
    ...over,
  };
}

const ev = (e: Omit<KioskEventMessage, 'v' | 'type' | 'at'> & Record<string, unknown>, at = T0) =>
  JSON.stringify({ v: 1, type: 'event', at, ...e });

function world(o: { known?: string[] } = {}) {
  const clock = new ManualClock(T0);
  const fleet = new FleetState({ clock, offlineAlertMs: 5 * MIN, timeZone: JST, knownKioskIds: o.known ?? [] });
  const status = (id: string, s: unknown, retained = false) => fleet.apply(topics.kioskStatus(id), JSON.stringify(s), { retained });
  return { clock, fleet, status };
}

describe('fleet state', () => {
  it('shows configured kiosks as unknown until they report, then online with their status', () => {
    const { fleet, status, clock } = world({ known: ['k1', 'k2'] });
    expect(fleet.snapshot().kiosks.map((k) => [k.kioskId, k.link])).toEqual([
      ['k1', 'unknown'],
      ['k2', 'unknown'],
    ]);
    clock.advance(1000);
    expect(status('k1', online({ mode: 'self-checkout' }))).toEqual({ applied: 'status', kioskId: 'k1' });
    const k1 = fleet.kiosk('k1')!;
    expect(k1).toMatchObject({
      link: 'online',
      since: T0 + 1000,
      mode: 'self-checkout',
      policy: DEFAULT_KIOSK_POLICY,
      lastHeardAt: T0 + 1000,
      stale: false,
    });
    expect(k1.queue?.count).toBe(0);
  });

  it('marks a kiosk offline on its last will, keeping its last queue as exposure', () => {
    const { fleet, status, clock } = world();
    status(
      'k1',
      online({ queue: { count: 3, amount: { value: 1500, currency: 'JPY' }, oldestCapturedAt: T0, declined: 0, forwarding: null } }),
    );
    status(
      'k2',
      online({ queue: { count: 1, amount: { value: 200, currency: 'JPY' }, oldestCapturedAt: T0, declined: 0, forwarding: null } }),
    );
    clock.advance(10_000);
    status('k1', lastWill('kp-1.0'));
    const snap = fleet.snapshot();
    expect(snap.kiosks.find((k) => k.kioskId === 'k1')).toMatchObject({ link: 'offline', offlineReason: 'lost', since: T0 + 10_000 });
    expect(snap.exposure).toEqual([{ currency: 'JPY', amount: 1700, count: 4 }]);
  });

  it('raises the offline alert only once the kiosk has been offline for the configured minutes', () => {
    const { fleet, status, clock } = world();
    status('k1', online());
    status('k1', lastWill('kp-1.0'));
    clock.advance(5 * MIN - 1);
    expect(fleet.snapshot().alerts).toEqual([]);
    clock.advance(1);
    expect(fleet.snapshot().alerts).toEqual([expect.objectContaining({ kind: 'offline', kioskId: 'k1', severity: 'critical', since: T0 })]);
    status('k1', online({}, T0 + 5 * MIN));
    expect(fleet.snapshot().alerts).toEqual([]);
  });

  it('alerts on a kiosk never heard from after the configured minutes', () => {
    const { fleet, clock } = world({ known: ['k9'] });
    clock.advance(5 * MIN);
    expect(fleet.snapshot().alerts.map((a) => [a.kind, a.kioskId])).toEqual([['offline', 'k9']]);
  });

  it('alerts when the queue reaches 80% of either cap, and not below', () => {
    const { fleet, status } = world();
    const caps = { storedCountMax: 10, storedAmountMax: 10_000, offlineDurationMaxMs: 3_600_000 };
    const q = (count: number, value: number) => ({
      count,
      amount: { value, currency: 'JPY' as const },
      oldestCapturedAt: T0,
      declined: 0,
      forwarding: null,
    });
    status('k1', online({ policy: { ...DEFAULT_KIOSK_POLICY, caps }, queue: q(7, 7_999) }));
    expect(fleet.snapshot().alerts).toEqual([]);
    status('k1', online({ policy: { ...DEFAULT_KIOSK_POLICY, caps }, queue: q(8, 100) }));
    expect(fleet.snapshot().alerts.map((a) => a.kind)).toEqual(['queue-near-cap']);
    status('k1', online({ policy: { ...DEFAULT_KIOSK_POLICY, caps }, queue: q(1, 8_000) }));
    expect(fleet.snapshot().alerts.map((a) => a.kind)).toEqual(['queue-near-cap']);
  });

  it('alerts on payments a kiosk still has to void only once they have waited five minutes, and clears with them', () => {
    const { fleet, status, clock } = world();
    const q = (voidsPending?: number) => ({
      count: 0,
      amount: { value: 0, currency: 'JPY' as const },
      oldestCapturedAt: null,
      declined: 0,
      forwarding: null,
      ...(voidsPending === undefined ? {} : { voidsPending }),
    });
    // A kiosk older than the field, and one with nothing to void.
    status('k1', online({ queue: q() }));
    clock.advance(VOIDS_PENDING_ALERT_MS);
    status('k1', online({ queue: q(0) }));
    expect(fleet.snapshot().alerts).toEqual([]);
    const since = clock.nowMs();
    status('k1', online({ queue: q(2) }));
    clock.advance(VOIDS_PENDING_ALERT_MS - 1);
    status('k1', online({ queue: q(1) }));
    expect(fleet.snapshot().alerts).toEqual([]);
    clock.advance(1);
    expect(fleet.snapshot().alerts).toMatchObject([{ kind: 'voids-pending', kioskId: 'k1', severity: 'warning', since }]);
    expect(fleet.snapshot().alerts[0]!.message).toMatch(/^k1 has 1 online payment to void for 5 min/);
    status('k1', online({ queue: q(0) }));
    expect(fleet.snapshot().alerts).toEqual([]);
  });

  it('alerts on an untrusted clock and on faults, with the time they started', () => {
    const { fleet, status, clock } = world();
    status('k1', online({ clock: { trusted: false, offsetMs: null, uncertaintyMs: null, lastSyncAt: null } }));
    clock.advance(30_000);
    status(
      'k1',
      online({ clock: { trusted: false, offsetMs: null, uncertaintyMs: null, lastSyncAt: null }, faults: ['scanner unavailable'] }),
    );
    const alerts = fleet.snapshot().alerts;
    expect(alerts.find((a) => a.kind === 'clock-untrusted')?.since).toBe(T0);
    expect(alerts.find((a) => a.kind === 'faults')).toMatchObject({ since: T0 + 30_000, message: 'k1: scanner unavailable' });
  });

  it('calls a status stale when it is older than twice the heartbeat', () => {
    const { fleet, status, clock } = world();
    status('k1', online({ heartbeatMs: 30_000 }));
    clock.advance(60_000);
    expect(fleet.kiosk('k1')?.stale).toBe(false);
    clock.advance(1);
    expect(fleet.kiosk('k1')?.stale).toBe(true);
    expect(fleet.snapshot().alerts.map((a) => a.kind)).toEqual(['stale']);
  });

  it('dates a retained online status by its own time, so an old retained status reads stale at once', () => {
    const { fleet, status } = world();
    status('k1', online({ heartbeatMs: 30_000 }, T0 - 10 * MIN), true);
    expect(fleet.kiosk('k1')).toMatchObject({ link: 'online', stale: true, lastStatusAt: T0 - 10 * MIN });
  });

  it('counts declines by reason from payment and settle-declined events, restarting each local day', () => {
    const { fleet, clock } = world();
    const events = topics.kioskEvents('k1');
    fleet.apply(
      events,
      ev({
        kind: 'payment',
        txId: 't1',
        amount: { value: 100, currency: 'JPY' },
        outcome: 'declined',
        offline: false,
        reason: 'INSUFFICIENT_FUNDS',
      }),
    );
    fleet.apply(
      events,
      ev({
        kind: 'payment',
        txId: 't2',
        amount: { value: 100, currency: 'JPY' },
        outcome: 'declined',
        offline: true,
        reason: 'INSUFFICIENT_FUNDS',
      }),
    );
    fleet.apply(events, ev({ kind: 'payment', txId: 't3', amount: { value: 100, currency: 'JPY' }, outcome: 'approved', offline: false }));
    expect(
      fleet.apply(
        events,
        ev({ kind: 'settle-declined', txId: 't4', amount: { value: 100, currency: 'JPY' }, reason: 'CREDENTIAL_REVOKED' }),
      ),
    ).toEqual({ applied: 'event', kioskId: 'k1', event: 'settle-declined' });
    expect(fleet.snapshot().declines).toEqual({
      sinceMs: Date.UTC(2026, 10, 27, 15),
      checkout: { INSUFFICIENT_FUNDS: 2 },
      settlement: { CREDENTIAL_REVOKED: 1 },
    });
    expect(fleet.kiosk('k1')?.lastHeardAt).toBe(T0);
    clock.advance(12 * 3_600_000); // local midnight
    expect(fleet.snapshot().declines).toEqual({ sinceMs: Date.UTC(2026, 10, 28, 15), checkout: {}, settlement: {} });
  });

  it('lists Help requests newest first with their presses, until they expire or the kiosk clears them', () => {
    const { fleet, clock } = world();
    const help = (id: string, raised = true) =>
      fleet.apply(topics.kioskEvents(id), ev({ kind: 'fault', fault: 'help-requested', raised }, clock.nowMs()));
    expect(help('k1')).toEqual({ applied: 'event', kioskId: 'k1', event: 'fault' });
    clock.advance(MIN);
    help('k2');
    clock.advance(MIN);
    help('k1');
    fleet.apply(topics.kioskEvents('k3'), ev({ kind: 'fault', fault: 'scanner', raised: true }));
    expect(fleet.snapshot().help).toEqual([
      { kioskId: 'k1', at: T0 + 2 * MIN, count: 2, handled: null },
      { kioskId: 'k2', at: T0 + MIN, count: 1, handled: null },
    ]);
    help('k1', false);
    expect(fleet.snapshot().help.map((h) => h.kioskId)).toEqual(['k2']);
    clock.advance(29 * MIN - 1);
    expect(fleet.snapshot().help.map((h) => h.kioskId)).toEqual(['k2']);
    clock.advance(1);
    expect(fleet.snapshot().help).toEqual([]);
    help('k2');
    expect(fleet.snapshot().help).toEqual([{ kioskId: 'k2', at: T0 + 31 * MIN, count: 1, handled: null }]);
  });

  it('marks a Help request handled: it stays listed until it expires, a press since the operator looked keeps it open, the next press opens a new one', () => {
    const { fleet, clock } = world();
    const help = (id: string) =>
      fleet.apply(topics.kioskEvents(id), ev({ kind: 'fault', fault: 'help-requested', raised: true }, clock.nowMs()));
    expect(fleet.markHelpHandled('k1', T0, 'alice', T0)).toBeUndefined();
    help('k1');
    clock.advance(MIN);
    help('k1');
    // The operator saw the first press only: the second keeps it open.
    expect(fleet.markHelpHandled('k1', T0, 'alice', clock.nowMs())).toEqual({ kioskId: 'k1', at: T0 + MIN, count: 2, handled: null });
    clock.advance(MIN);
    const handled = { by: 'alice', at: T0 + 2 * MIN };
    expect(fleet.markHelpHandled('k1', T0 + MIN, 'alice', T0 + 2 * MIN)).toEqual({ kioskId: 'k1', at: T0 + MIN, count: 2, handled });
    // Handled once: a second operator changes nothing.
    expect(fleet.markHelpHandled('k1', T0 + MIN, 'bob', T0 + 3 * MIN)?.handled).toEqual(handled);
    expect(fleet.snapshot().help).toEqual([{ kioskId: 'k1', at: T0 + MIN, count: 2, handled }]);
    // Its record could not be written: open again (only the marking at that time is undone).
    fleet.reopenHelp('k1', T0 + 3 * MIN);
    expect(fleet.helpRequest('k1')?.handled).toEqual(handled);
    fleet.reopenHelp('k1', T0 + 2 * MIN);
    expect(fleet.helpRequest('k1')?.handled).toBeNull();
    fleet.markHelpHandled('k1', T0 + MIN, 'alice', T0 + 2 * MIN);
    // The shopper presses again: a new request of one press, open.
    clock.advance(MIN);
    help('k1');
    expect(fleet.helpRequest('k1')).toEqual({ kioskId: 'k1', at: T0 + 3 * MIN, count: 1, handled: null });
    fleet.markHelpHandled('k1', T0 + 3 * MIN, 'bob', T0 + 3 * MIN);
    // A handled request expires like an open one, 30 min after its latest press.
    clock.advance(30 * MIN - 1);
    expect(fleet.snapshot().help.map((h) => h.handled?.by)).toEqual(['bob']);
    clock.advance(1);
    expect(fleet.snapshot().help).toEqual([]);
    expect(fleet.helpRequest('k1')).toBeUndefined();
  });

  it('ignores and counts garbage: wrong topics, bad JSON, wrong schema, oversize payloads', () => {
    const { fleet } = world();
    expect(fleet.apply('kp/v1/kiosk/k1/req', '{}')).toEqual({ applied: false, cause: 'topic' });
    expect(fleet.apply('kp/v1/kiosk/BAD!/status', JSON.stringify(online()))).toEqual({ applied: false, cause: 'topic' });
    expect(fleet.apply(topics.kioskStatus('k1'), 'not json')).toEqual({ applied: false, cause: 'payload' });
    expect(fleet.apply(topics.kioskStatus('k1'), JSON.stringify({ ...online(), extra: 1 }))).toEqual({ applied: false, cause: 'payload' });
    expect(fleet.apply(topics.kioskEvents('k1'), JSON.stringify({ v: 1, type: 'event', at: T0, kind: 'nope' }))).toEqual({
      applied: false,
      cause: 'payload',
    });
    expect(fleet.apply(topics.kioskStatus('k1'), 'x'.repeat(20_000))).toEqual({ applied: false, cause: 'payload' });
    const snap = fleet.snapshot();
    expect(snap.ignored).toEqual({ topic: 2, payload: 4, kiosksMax: 0 });
    expect(snap.kiosks).toEqual([]);
  });

  it('tracks at most kiosksMax kiosks', () => {
    const clock = new ManualClock(T0);
    const fleet = new FleetState({ clock, offlineAlertMs: MIN, timeZone: JST, kiosksMax: 2 });
    for (const id of ['a1', 'a2', 'a3']) fleet.apply(topics.kioskStatus(id), JSON.stringify(online()));
    const snap = fleet.snapshot();
    expect(snap.kiosks.map((k) => k.kioskId)).toEqual(['a1', 'a2']);
    expect(snap.ignored.kiosksMax).toBe(1);
  });

  it('hands out copies: changing a view does not change the state', () => {
    const { fleet, status } = world();
    status('k1', online({ faults: ['x'] }));
    fleet.kiosk('k1')!.faults.push('y');
    expect(fleet.kiosk('k1')!.faults).toEqual(['x']);
  });
});
