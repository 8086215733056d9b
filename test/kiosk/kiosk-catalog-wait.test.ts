// SPDX-License-Identifier: Apache-2.0
// A new kiosk has no catalog until the server's retained one arrives, a moment after it connects.
// That wait is not a fault: the kiosk is out of service meanwhile, but it reports (telemetry event,
// status, fault LED) a missing catalog only if none came within the checkout's catalogWaitMs.
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../shared/topics.ts';
import { CHECKOUT_CONFIG_DEFAULTS } from '../../device/domain/checkout/config.ts';
import { SIM_GPIO_PINS } from '../../device/kiosk/hardware.ts';
import { DEMO_CATALOG, startHarness, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const catalogFaults = (k: Harness) =>
  k.uplink.messages('events').filter((e) => e['kind'] === 'fault' && e['fault'] === 'catalog-unavailable');
const faultLed = (k: Harness) => k.lines.level(SIM_GPIO_PINS.leds.fault) === 1;

describe('a kiosk waiting for its first catalog', () => {
  it('reports no catalog fault when the retained catalog comes within catalogWaitMs', async () => {
    h = await startHarness({ broadcasts: false });
    expect(h.kiosk.checkoutState).toBe('fault'); // out of service: there is nothing to sell yet
    expect(h.kiosk.status().faults).toEqual([]);
    expect(faultLed(h)).toBe(false);
    await h.advance(CHECKOUT_CONFIG_DEFAULTS.catalogWaitMs - 100);
    h.uplink.deliver(topics.catalog, DEMO_CATALOG);
    await h.flush();
    expect(h.kiosk.checkoutState).toBe('idle');
    await h.advance(2 * CHECKOUT_CONFIG_DEFAULTS.catalogWaitMs);
    expect(catalogFaults(h)).toEqual([]);
    expect(h.uplink.messages('status').map((s) => s['faults'])).not.toContainEqual(['product list unavailable']);
    expect(faultLed(h)).toBe(false);
  });

  it('reports the fault once no catalog came within catalogWaitMs, and its end when one comes', async () => {
    h = await startHarness({ broadcasts: false });
    await h.advance(CHECKOUT_CONFIG_DEFAULTS.catalogWaitMs - 100);
    expect(catalogFaults(h)).toEqual([]);
    await h.advance(100);
    expect(catalogFaults(h)).toEqual([expect.objectContaining({ raised: true })]);
    expect(h.kiosk.status().faults).toEqual(['product list unavailable']);
    expect(faultLed(h)).toBe(true);
    h.uplink.deliver(topics.catalog, DEMO_CATALOG);
    await h.flush();
    expect(catalogFaults(h).map((e) => e['raised'])).toEqual([true, false]);
    expect(h.kiosk.status().faults).toEqual([]);
    expect(faultLed(h)).toBe(false);
    expect(h.kiosk.checkoutState).toBe('idle');
  });
});
