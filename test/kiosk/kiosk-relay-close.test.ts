// SPDX-License-Identifier: Apache-2.0
// A vending kiosk switched off while its relay is still dispensing: the GPIO closes under the pulse,
// which rejects with GpioClosedError. That is shutdown, not a relay fault: nothing may be left as an
// unhandled rejection (which ends a Node process).
import { afterEach, describe, expect, it } from 'vitest';
import { turns } from '../../shared/testing/wait.ts';
import { startHarness, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => {
  unhandled.push(e);
};
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await h?.close();
  h = undefined;
});

describe('a kiosk stopped during a relay pulse', () => {
  it('leaves no unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    h = await startHarness({ config: { mode: 'vending' } });
    const phone = await h.world.phone(1_000);
    h.kiosk.press({ slot: 2 });
    await h.flush();
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'dispensing', 'dispensing');
    await h.stop(); // the pulse is still running: the GPIO closes under it (afterEach removes its folder)
    // The GPIO, its pulse and the kiosk's timers are in-process fakes: the rejection and its
    // handling are promise callbacks, and Node reports an unhandled one after the turn it was
    // made in. Turns of the event loop, not time, let every one of them run before looking.
    await turns();
    expect(unhandled.map((e) => (e as Error).stack)).toEqual([]);
  });
});
