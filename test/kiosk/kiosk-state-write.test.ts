// SPDX-License-Identifier: Apache-2.0
// A kiosk whose state file cannot be written keeps running: a write nobody waits for (here a new
// catalog from the server) that fails is logged and reported as the `state-not-saved` fault event,
// never left as an unhandled rejection (which ends a Node process), and the report is cleared by the
// next write that lands. Writes are failed in the real state store, through its durable adapter's hook.
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../shared/topics.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { STATE_NOT_SAVED } from '../../device/kiosk/state-writer.ts';
import { DEMO_CATALOG, startHarness, TEA, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
  await h?.close();
  h = undefined;
});

describe('kiosk: a state write that fails', () => {
  it('is reported, not thrown: the kiosk keeps its catalog in memory, sells, and clears the report once a write lands', async () => {
    let failing = false;
    h = await startHarness({
      stateWriteStep: (step) => {
        if (failing && step === 'temp-written') throw new Error('EIO: disk failing (test)');
      },
    });
    process.on('unhandledRejection', onUnhandled);
    const k = h;
    const stateFaults = () => k.uplink.messages('events').filter((e) => e['kind'] === 'fault' && e['fault'] === STATE_NOT_SAVED);

    failing = true;
    k.uplink.deliver(topics.catalog, { ...DEMO_CATALOG, version: 2 });
    k.uplink.deliver(topics.catalog, { ...DEMO_CATALOG, version: 3 });
    await k.until(() => stateFaults().length > 0, 'the state-not-saved report');
    // Node reports an unhandled rejection once the microtasks of the turn that made it have run:
    // these turns of the event loop are past that.
    await k.flush();
    expect(unhandled).toEqual([]);
    expect(stateFaults()).toEqual([expect.objectContaining({ raised: true })]);
    expect(k.kiosk.catalog?.version).toBe(3);

    // The disk recovers: the next sale's records land, the report is cleared, the sale goes through.
    failing = false;
    const phone = await k.world.phone(1_000);
    await k.scan(TEA);
    k.kiosk.press('pay');
    await k.flush();
    await k.scan(await k.world.onlineCode(phone));
    await k.until(() => k.kiosk.checkoutState === 'approved', 'approved');
    expect(await k.world.balance(shopperAccountId(phone.walletId))).toBe(850);
    await k.until(() => stateFaults().length === 2, 'the report cleared');
    expect(stateFaults().map((e) => e['raised'])).toEqual([true, false]);
    expect(unhandled).toEqual([]);
  });
});
