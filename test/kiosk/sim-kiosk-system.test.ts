// SPDX-License-Identifier: Apache-2.0
// What `npm start` gives a person, end to end through the real broker, server and the simulated
// kiosk's web screen (the same HTTP controls its page uses): sell online, cut the kiosk's uplink with
// the screen's switch, keep selling with offline codes, restore it, and see everything forwarded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimKiosks } from '../../bin/sim-kiosks.ts';
import { startSystem, type RunningSystem } from '../../bin/system.ts';
import type { RunningKiosk } from '../../device/kiosk/run-kiosk.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { money } from '../../shared/money.ts';

let dir: string;
let system: RunningSystem;
let kiosks: RunningKiosk[];
type LogLine = { level: number; kioskId?: string; msg: string; fault?: string };
/** The kiosks' log lines (pino, info and up). */
const kioskLog: LogLine[] = [];

async function post(url: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
}

async function view(url: string): Promise<{ screen: { name: string; reason?: string }; storedCount: number; offline: boolean }> {
  return (await (await fetch(url + '/view', { signal: AbortSignal.timeout(5_000) })).json()) as never;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kp-simsys-'));
  system = await startSystem({ dataDir: join(dir, 'server'), mqttPort: 0, httpPort: 0, kioskIds: ['kiosk-1', 'kiosk-2'], log: pino({ level: 'silent' }) });
  kiosks = await startSimKiosks(system, { dataDir: join(dir, 'kiosks'), screenPort: 0, count: 2, log: pino({ level: 'info' }, { write: (line: string) => void kioskLog.push(JSON.parse(line) as LogLine) }) });
}, 30_000);

afterAll(async () => {
  for (const k of kiosks ?? []) await k.close();
  await system?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the simulated kiosk of npm start', () => {
  it('starts with an empty data directory without a catalog warning: it waits for the retained one', async () => {
    for (const k of kiosks) await until(`${k.kiosk.status().mode} kiosk has the catalog`, async () => k.kiosk.catalog !== undefined);
    const mine = (id: string) => kioskLog.filter((l) => l.kioskId === id);
    for (const id of ['kiosk-1', 'kiosk-2']) {
      const msgs = mine(id).map((l) => l.msg);
      // Out of service for that moment, logged at info, then cleared when the catalog came.
      expect(msgs, id).toContain('waiting-for-catalog');
      expect(msgs.indexOf('fault-cleared'), id).toBeGreaterThan(msgs.indexOf('waiting-for-catalog'));
      expect(mine(id).filter((l) => l.level >= 40 && l.msg !== 'SIMULATED HARDWARE: no scanner, GPIO or LCD is driven; use the kiosk web screen to scan and press buttons, and to see the LEDs, buzzer and relay'), id).toEqual([]);
    }
  });

  it('sells online, keeps selling offline after its uplink is cut from its screen, and forwards when it returns', async () => {
    const [k] = kiosks;
    const url = k!.webUrl!;
    expect(k!.sim).toBeDefined();
    await until('kiosk ready', async () => (await view(url)).screen.name === 'idle' && !(await view(url)).offline);
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(10_000));

    // Online.
    await post(url, '/sim/scan', { text: '4901000000013' });
    await post(url, '/sim/button', { button: 'pay' });
    await post(url, '/sim/scan', { text: (await issueOnlineCode(ctx, w.walletId)).code });
    await until('online approval', async () => (await view(url)).screen.name === 'approved');
    const afterOnline = await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance);
    expect(afterOnline).toBeLessThan(10_000);
    await post(url, '/sim/button', { button: 'cancel' });

    // Cut the uplink from the screen, sell with an offline code.
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(4));
    const credential = fromBase64url((await issueCredential(ctx, w.walletId, phone.publicKey)).credential)!;
    await post(url, '/sim/uplink', { up: false });
    await until('offline indicator', async () => (await view(url)).offline);
    await post(url, '/sim/scan', { text: '4901000000013' });
    await post(url, '/sim/button', { button: 'pay' });
    await post(url, '/sim/scan', { text: makeOfflineCode({ credential, timestampMs: Date.now(), counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519) });
    await until('offline approval', async () => (await view(url)).screen.name === 'approved');
    expect((await view(url)).storedCount).toBe(1);
    // The server has not seen it yet.
    expect(await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance)).toBe(afterOnline);

    // Restore: forwarded and settled.
    await post(url, '/sim/uplink', { up: true });
    await until('forwarded', async () => (await view(url)).storedCount === 0 && !(await view(url)).offline, 15_000);
    await until('settled', async () => (await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))!.balance)) < afterOnline);
    const totals = await ctx.store.unit((tx) => tx.balanceTotals());
    expect([...totals.values()].every((t) => t === 0)).toBe(true);
  }, 60_000);

  it('the second simulated kiosk is a vending machine: a slot button starts the sale', async () => {
    const url = kiosks[1]!.webUrl!;
    await until('kiosk ready', async () => (await view(url)).screen.name === 'idle');
    await post(url, '/sim/button', { button: { slot: 1 } });
    await until('awaiting code', async () => (await view(url)).screen.name === 'awaitingCode');
    await post(url, '/sim/button', { button: 'cancel' });
  }, 30_000);
});
