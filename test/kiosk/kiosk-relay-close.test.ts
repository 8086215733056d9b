// SPDX-License-Identifier: Apache-2.0
// A vending kiosk switched off while its relay is still dispensing: the GPIO closes under the pulse,
// which rejects with GpioClosedError. That is shutdown, not a relay fault: nothing may be left as an
// unhandled rejection (which ends a Node process).
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => {
  unhandled.push(e);
};
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await h?.stop();
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
    await h.stop(); // the pulse is still running: the GPIO closes under it
    h = undefined;
    // Let every pending callback and rejection run before looking.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    expect(unhandled.map((e) => (e as Error).stack)).toEqual([]);
  });
});
