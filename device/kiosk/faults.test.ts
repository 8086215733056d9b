// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { CheckoutEvent } from '../domain/checkout/types.ts';
import { ManualTimers } from '../timers.ts';
import { KioskFaults } from './faults.ts';

function faults(initial: Parameters<KioskFaults['set']>[0][] = []) {
  const timers = new ManualTimers();
  const sent: CheckoutEvent[] = [];
  const events: Array<{ fault: string; raised: boolean }> = [];
  const f = new KioskFaults(
    {
      runner: { send: (e) => sent.push(e) },
      gpio: undefined,
      view: { faults: () => undefined },
      telemetry: { event: (e) => void events.push(e as { fault: string; raised: boolean }), changed: () => undefined },
      timers,
      graceMs: { 'catalog-unavailable': 1_000 },
    },
    initial,
  );
  return { f, timers, sent, events };
}

describe('KioskFaults', () => {
  it('reports a fault without a grace at once, and its clearing', () => {
    const t = faults();
    t.f.set('scanner-unavailable', true);
    expect(t.events).toEqual([{ kind: 'fault', fault: 'scanner-unavailable', raised: true }]);
    expect([...t.f.raised]).toEqual(['scanner-unavailable']);
    t.f.set('scanner-unavailable', false);
    expect(t.events.map((e) => e.raised)).toEqual([true, false]);
    expect(t.sent.at(-1)).toEqual({ type: 'faultCleared' });
  });

  it('takes the checkout out of service at once for a fault in its grace, but reports it only when the grace ends', () => {
    const t = faults(['catalog-unavailable']);
    t.f.apply();
    expect(t.sent).toEqual([{ type: 'faultRaised', fault: 'catalog-unavailable' }]);
    expect(t.f.raised.size).toBe(0);
    t.timers.advance(999);
    expect(t.events).toEqual([]);
    t.timers.advance(1);
    expect(t.events).toEqual([{ kind: 'fault', fault: 'catalog-unavailable', raised: true }]);
    expect([...t.f.raised]).toEqual(['catalog-unavailable']);
  });

  it('reports nothing for a fault that clears within its grace, and never later', () => {
    const t = faults();
    t.f.set('catalog-unavailable', true);
    t.timers.advance(500);
    t.f.set('catalog-unavailable', false);
    t.timers.advance(10_000);
    expect(t.events).toEqual([]);
    expect(t.sent.at(-1)).toEqual({ type: 'faultCleared' });
  });

  it('ends no grace after stop()', () => {
    const t = faults(['catalog-unavailable']);
    t.f.stop();
    t.timers.advance(10_000);
    expect(t.events).toEqual([]);
  });
});
