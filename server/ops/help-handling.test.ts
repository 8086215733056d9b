// SPDX-License-Identifier: Apache-2.0
// Marking a Help request handled against the real store: one audit row however often it is asked,
// none for a request that is not listed, and a request whose row cannot be written stays open.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TimeZone } from '../../shared/time-zone.ts';
import { topics } from '../../shared/topics.ts';
import type { ServerContext } from '../domain/context.ts';
import { makeWorld, type World } from '../testing/world.ts';
import { FleetState } from './fleet-state.ts';
import { markHelpHandled } from './help-handling.ts';

let w: World;
let fleet: FleetState;
beforeEach(async () => {
  w = await makeWorld();
  fleet = new FleetState({ clock: w.clock, offlineAlertMs: 60_000, timeZone: TimeZone.parse('Asia/Tokyo') });
});
afterEach(async () => {
  await w.close();
});

const press = (kioskId: string) =>
  fleet.apply(
    topics.kioskEvents(kioskId),
    JSON.stringify({ v: 1, type: 'event', at: w.clock.nowMs(), kind: 'fault', fault: 'help-requested', raised: true }),
  );
const audit = () => w.ctx.store.unit((tx) => tx.listHelpHandled({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, 10));

describe('marking a Help request handled', () => {
  it('records who and when once, however many operators click', async () => {
    press('k1');
    w.clock.advance(5_000);
    const [first, second] = await Promise.all([markHelpHandled(w.ctx, fleet, 'k1', 'alice'), markHelpHandled(w.ctx, fleet, 'k1', 'bob')]);
    expect(first.record).toMatchObject({
      operator: 'alice',
      kioskId: 'k1',
      at: w.clock.nowMs(),
      requestedAt: w.clock.nowMs() - 5_000,
      presses: 1,
    });
    expect(second).toEqual({ request: first.request, record: null });
    expect(first.request.handled).toEqual({ by: 'alice', at: w.clock.nowMs() });
    expect(await audit()).toEqual([first.record]);
  });

  it('refuses a kiosk with no Help request listed, and records nothing', async () => {
    await expect(markHelpHandled(w.ctx, fleet, 'k9', 'alice')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await audit()).toEqual([]);
  });

  it('leaves the request open when its record cannot be written', async () => {
    press('k1');
    const failing: ServerContext = { ...w.ctx, store: { unit: () => Promise.reject(new Error('disk full')), close: async () => {} } };
    await expect(markHelpHandled(failing, fleet, 'k1', 'alice')).rejects.toThrow('disk full');
    expect(fleet.helpRequest('k1')?.handled).toBeNull();
    expect((await markHelpHandled(w.ctx, fleet, 'k1', 'alice')).record).not.toBeNull();
  });
});
