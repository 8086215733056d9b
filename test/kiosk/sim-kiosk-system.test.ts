// SPDX-License-Identifier: Apache-2.0
// What `npm start` gives a person, end to end through the real broker, server and the simulated
// kiosk's web screen (the same HTTP controls its page uses): sell online, cut the kiosk's uplink with
// the screen's switch, keep selling with offline codes, restore it, and see everything forwarded;
// the operator's sales by product (and by slot for the vending kiosk) list what each sale sold.
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimKiosks } from '../../bin/sim-kiosks.ts';
import type { RunningKiosk } from '../../device/kiosk/run-kiosk.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { money } from '../../shared/money.ts';
import { startTestSystem, type TestSystem } from '../system-kit.ts';
import { eventually } from '../../shared/testing/wait.ts';

let system: TestSystem;
let kiosks: RunningKiosk[];
type LogLine = { level: number; kioskId?: string; msg: string; fault?: string };
/** The kiosks' log lines (pino, info and up). */
const kioskLog: LogLine[] = [];

async function post(url: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
}

async function view(url: string): Promise<{ screen: { name: string; reason?: string }; storedCount: number; offline: boolean }> {
  return (await (await fetch(url + '/view', { signal: AbortSignal.timeout(5_000) })).json()) as never;
}

/** The operator's sales by product or slot, from the dashboard's JSON API (a login, then /ops/api/sales). */
async function salesByProduct(
  group: 'product' | 'slot',
  kiosk?: string,
): Promise<Array<{ label: string; payments: number; units: number; amount: number }>> {
  const base = system.server.httpUrl;
  const login = await fetch(`${base}/ops/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams(system.operatorLogin).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    signal: AbortSignal.timeout(5_000),
  });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  // A range of local dates around now, whatever the deployment's time zone.
  const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
  const q = new URLSearchParams({ group, from: day(-2), to: day(2), ...(kiosk ? { kiosk } : {}) });
  const r = await fetch(`${base}/ops/api/sales?${q}`, { headers: { cookie }, signal: AbortSignal.timeout(5_000) });
  expect(r.status).toBe(200);
  const report = (await r.json()) as { byProduct: Array<{ label: string; payments: number; units: number; amount: { value: number } }> };
  return report.byProduct.map((p) => ({ label: p.label, payments: p.payments, units: p.units, amount: p.amount.value }));
}

beforeAll(async () => {
  system = await startTestSystem('simsys', ['kiosk-1', 'kiosk-2']);
  kiosks = await startSimKiosks(system, {
    dataDir: join(system.dir, 'kiosks'),
    screenPort: 0,
    count: 2,
    log: pino({ level: 'info' }, { write: (line: string) => void kioskLog.push(JSON.parse(line) as LogLine) }),
  });
}, 30_000);

afterAll(async () => {
  for (const k of kiosks ?? []) await k.close();
  await system?.close();
});

describe('the simulated kiosk of npm start', () => {
  it('starts with an empty data directory without a catalog warning: it waits for the retained one', async () => {
    for (const k of kiosks)
      await eventually(async () => k.kiosk.catalog !== undefined, { what: `${k.kiosk.status().mode} kiosk has the catalog` });
    const mine = (id: string) => kioskLog.filter((l) => l.kioskId === id);
    for (const id of ['kiosk-1', 'kiosk-2']) {
      const msgs = mine(id).map((l) => l.msg);
      // Out of service for that moment, logged at info, then cleared when the catalog came.
      expect(msgs, id).toContain('waiting-for-catalog');
      expect(msgs.indexOf('fault-cleared'), id).toBeGreaterThan(msgs.indexOf('waiting-for-catalog'));
      expect(
        mine(id).filter(
          (l) =>
            l.level >= 40 &&
            l.msg !==
              'SIMULATED HARDWARE: no scanner, GPIO or LCD is driven; use the kiosk web screen to scan and press buttons, and to see the LEDs, buzzer and relay',
        ),
        id,
      ).toEqual([]);
    }
  });

  it('sells online, keeps selling offline after its uplink is cut from its screen, and forwards when it returns', async () => {
    const [k] = kiosks;
    const url = k!.webUrl!;
    expect(k!.sim).toBeDefined();
    await eventually(async () => (await view(url)).screen.name === 'idle' && !(await view(url)).offline, { what: 'kiosk ready' });
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(10_000));

    // Online.
    await post(url, '/sim/scan', { text: '4901000000013' });
    await post(url, '/sim/button', { button: 'pay' });
    await post(url, '/sim/scan', { text: (await issueOnlineCode(ctx, w.walletId)).code });
    await eventually(async () => (await view(url)).screen.name === 'approved', { what: 'online approval' });
    const afterOnline = await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance);
    expect(afterOnline).toBe(10_000 - 150);
    // The kiosk said what it sold: the operator sees it by product.
    expect(await salesByProduct('product')).toEqual([{ label: 'Green tea 500ml (4901000000013)', payments: 1, units: 1, amount: 150 }]);
    await post(url, '/sim/button', { button: 'cancel' });

    // Cut the uplink from the screen, sell with an offline code.
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(4));
    const credential = fromBase64url((await issueCredential(ctx, w.walletId, phone.publicKey)).credential)!;
    await post(url, '/sim/uplink', { up: false });
    await eventually(async () => (await view(url)).offline, { what: 'offline indicator' });
    await post(url, '/sim/scan', { text: '4901000000013' });
    await post(url, '/sim/button', { button: 'pay' });
    await post(url, '/sim/scan', {
      text: makeOfflineCode({ credential, timestampMs: Date.now(), counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519),
    });
    await eventually(async () => (await view(url)).screen.name === 'approved', { what: 'offline approval' });
    expect((await view(url)).storedCount).toBe(1);
    // The server has not seen it yet.
    expect(await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance)).toBe(afterOnline);

    // Restore: forwarded and settled.
    await post(url, '/sim/uplink', { up: true });
    await eventually(async () => (await view(url)).storedCount === 0 && !(await view(url)).offline, {
      what: 'forwarded',
      timeoutMs: 15_000,
    });
    await eventually(
      async () => (await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance)) < afterOnline,
      { what: 'settled' },
    );
    const totals = await ctx.store.unit((tx) => tx.balanceTotals());
    expect([...totals.values()].every((t) => t === 0)).toBe(true);
    // The stored payment kept its lines through the outbox and the settle request.
    expect(await salesByProduct('product')).toEqual([{ label: 'Green tea 500ml (4901000000013)', payments: 2, units: 2, amount: 300 }]);
  }, 60_000);

  it('the second simulated kiosk is a vending machine: a slot button starts the sale, reported by its slot', async () => {
    const url = kiosks[1]!.webUrl!;
    await eventually(async () => (await view(url)).screen.name === 'idle' && !(await view(url)).offline, { what: 'kiosk ready' });
    await post(url, '/sim/button', { button: { slot: 1 } });
    await eventually(async () => (await view(url)).screen.name === 'awaitingCode', { what: 'awaiting code' });
    await post(url, '/sim/button', { button: 'cancel' });
    await eventually(async () => (await view(url)).screen.name === 'idle', { what: 'idle again' });

    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(1_000));
    await post(url, '/sim/button', { button: { slot: 2 } });
    await eventually(async () => (await view(url)).screen.name === 'awaitingCode', { what: 'awaiting code' });
    await post(url, '/sim/scan', { text: (await issueOnlineCode(ctx, w.walletId)).code });
    await eventually(async () => ['dispensing', 'approved'].includes((await view(url)).screen.name), { what: 'paid' });
    expect(await salesByProduct('slot', 'kiosk-2')).toEqual([{ label: 'Slot 2: Mineral water 500ml', payments: 1, units: 1, amount: 110 }]);
    // The relay pulse is over once the screen says approved (the kiosk is closed after this test).
    await eventually(async () => (await view(url)).screen.name === 'approved', { what: 'approved after dispensing' });
  }, 30_000);
});
