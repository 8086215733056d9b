// SPDX-License-Identifier: Apache-2.0
// What a kiosk sold reaches the operator's sales by product and slot: the running kiosk (checkout,
// offline desk, file outbox, forwarder) against the real server domain, read back through the ops
// sales report (server/ops/reports.ts, what /ops/api/sales answers). Online and offline (stored,
// forwarded, settled), self-checkout and vending, and an outbox stored before kiosks listed their
// sales, which still forwards and settles (its payments read "Not itemised").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCode } from '../../shared/codes/decode.ts';
import type { CatalogMessage } from '../../shared/catalog/catalog.ts';
import { FileOutbox } from '../../device/outbox/file-outbox.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { parseSalesQuery, salesReport, type ReportContext } from '../../server/ops/reports.ts';
import { makeWorld, type World } from '../../server/testing/world.ts';
import { TimeZone } from '../../shared/time-zone.ts';
import { DEMO_CATALOG, startHarness, TEA, type Harness } from './kiosk-harness.ts';

const GUM = '4006381333931';
const yen = (value: number) => ({ value, currency: 'JPY' });

let h: Harness | undefined;
/** A world or directory a test made itself (the harness closes only its own). */
let world: World | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await world?.close();
  world = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function report(world: World, group: 'product' | 'slot' = 'product') {
  const rc: ReportContext = {
    store: world.ctx.store,
    tz: TimeZone.parse('UTC'),
    clock: world.clock,
    currency: 'JPY',
    catalog: () => DEMO_CATALOG as CatalogMessage,
    kioskIds: ['k1'],
  };
  return salesReport(rc, parseSalesQuery(new URLSearchParams({ group }), rc));
}

/** The product table, as rows the operator reads. */
async function byProduct(world: World, group: 'product' | 'slot' = 'product') {
  return (await report(world, group)).byProduct.map((r) => ({
    label: r.label,
    payments: r.payments,
    units: r.units,
    amount: r.amount.value,
  }));
}

/** Self-checkout: tea, gum, tea scanned, pay pressed. */
async function teaGumTea(k: Harness) {
  for (const gtin of [TEA, GUM, TEA]) await k.scan(gtin);
  k.kiosk.press('pay');
  await k.flush();
  expect(k.kiosk.checkoutState).toBe('awaitingCode');
}

describe('kiosk sale lines: sales by product', () => {
  it('an online sale shows up itemised by product, and its lines add up to what was charged', async () => {
    h = await startHarness();
    const phone = await h.world.phone(1_000);
    await teaGumTea(h);
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'approved');
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(1_000 - 420);
    expect(await byProduct(h.world)).toEqual([
      { label: 'Green tea (4901234567894)', payments: 1, units: 2, amount: 300 },
      { label: 'Gum (4006381333931)', payments: 1, units: 1, amount: 120 },
    ]);
    expect((await report(h.world)).totals).toEqual([
      expect.objectContaining({ payments: 1, amount: expect.objectContaining({ value: 420 }) }),
    ]);
  });

  it('an offline sale keeps its lines in the outbox, and shows up itemised once forwarded and settled', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    await h.cut();
    await teaGumTea(h);
    await h.scan(h.world.offlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'offline approval');
    const lines = [
      { gtin: TEA, qty: 2, unitPrice: yen(150) },
      { gtin: GUM, qty: 1, unitPrice: yen(120) },
    ];
    expect(h.outbox.list()).toEqual([expect.objectContaining({ amount: yen(420), lines })]);
    expect(await byProduct(h.world)).toEqual([]);

    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect(
      h.uplink
        .messages('events')
        .filter((e) => e['kind'] === 'forward' && e['finished'] === true)
        .at(-1),
    ).toMatchObject({ settled: 1, declined: 0 });
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 420);
    expect(await byProduct(h.world)).toEqual([
      { label: 'Green tea (4901234567894)', payments: 1, units: 2, amount: 300 },
      { label: 'Gum (4006381333931)', payments: 1, units: 1, amount: 120 },
    ]);
  });

  it('keeps the lines of a stored payment across a restart of the kiosk before it forwards', async () => {
    world = await makeWorld();
    dir = mkdtempSync(join(tmpdir(), 'kp-kiosk-lines-'));
    const first = await startHarness({ world, dir });
    h = first;
    const phone = await world.phone(5_000);
    await world.credential(phone);
    await first.cut();
    await teaGumTea(first);
    await first.scan(world.offlineCode(phone));
    await first.until(() => first.kiosk.checkoutState === 'approved', 'offline approval');
    await first.stop(); // power off with the payment stored; its directory stays
    h = undefined;
    h = await startHarness({ world, dir, offline: true, epoch: 'second-boot' });
    expect(h.outbox.list()).toEqual([
      expect.objectContaining({
        lines: [
          { gtin: TEA, qty: 2, unitPrice: yen(150) },
          { gtin: GUM, qty: 1, unitPrice: yen(120) },
        ],
      }),
    ]);
    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect((await byProduct(world)).map((r) => [r.label, r.units])).toEqual([
      ['Green tea (4901234567894)', 2],
      ['Gum (4006381333931)', 1],
    ]);
  });

  it('a vending sale names the slot it was dispensed from', async () => {
    h = await startHarness({ config: { mode: 'vending' } });
    const phone = await h.world.phone(1_000);
    h.kiosk.press({ slot: 2 });
    await h.flush();
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'dispensing', 'dispensing');
    await h.advance(2_000); // the relay pulse ends before the kiosk is closed
    expect(await byProduct(h.world, 'slot')).toEqual([{ label: 'Slot 2: Gum', payments: 1, units: 1, amount: 120 }]);
    expect(await byProduct(h.world, 'product')).toEqual([{ label: 'Gum (4006381333931)', payments: 1, units: 1, amount: 120 }]);
  });

  it('an outbox stored before kiosks listed their sales still forwards and settles, next to one that lists them', async () => {
    world = await makeWorld();
    const phone = await world.phone(5_000);
    await world.credential(phone);
    dir = mkdtempSync(join(tmpdir(), 'kp-kiosk-lines-'));
    // An entry as kiosk software before sale lines stored it: no `lines` field. FileOutbox writes an
    // entry without lines byte for byte as that software did (device/outbox/file-outbox.test.ts
    // checks it against a file it wrote), so this is the file such a kiosk leaves behind.
    const code = world.offlineCode(phone);
    const decoded = decodeCode(code);
    if (!decoded.ok || decoded.code.kind !== 'offline-qr') throw new Error('expected an offline QR code');
    const old = await FileOutbox.open({ path: join(dir, 'outbox.json') });
    await old.append({
      txId: 'k1-before-lines-1',
      code,
      amount: yen(270) as never,
      capturedAt: world.clock.nowMs(),
      credentialId: decoded.code.credential.credentialId,
      counter: decoded.code.counter,
    });
    await old.close();

    // The kiosk starts on it (as after an upgrade) and forwards it as soon as it is online.
    h = await startHarness({ world, dir });
    await h.until(() => h!.outbox.stats().count === 0, 'old outbox drained');
    expect(
      h.uplink
        .messages('events')
        .filter((e) => e['kind'] === 'forward' && e['finished'] === true)
        .at(-1),
    ).toMatchObject({ settled: 1, declined: 0 });
    expect(await world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 270);

    await h.cut();
    await teaGumTea(h);
    await h.scan(world.offlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'offline approval');
    expect(h.outbox.list().map((e) => e.lines?.length)).toEqual([2]);
    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect(await world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 270 - 420);
    expect(await byProduct(world)).toEqual([
      { label: 'Green tea (4901234567894)', payments: 1, units: 2, amount: 300 },
      { label: 'Not itemised (the kiosk sent no lines)', payments: 1, units: 0, amount: 270 },
      { label: 'Gum (4006381333931)', payments: 1, units: 1, amount: 120 },
    ]);
  });
});
