// SPDX-License-Identifier: Apache-2.0
// `kioskpay console` against the real simulated kiosks of `npm start` (issue 5, "Done when"): list,
// status, forward (with stored offline payments), set policy, LED, buzzer and relay tests, each
// acknowledged by the kiosk and the outputs visible on its screen's event stream; and the server's
// audit log holds every command and its ack.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimKiosks } from '../../bin/sim-kiosks.ts';
import { SseReader } from '../../device/display/web/web-test-kit.ts';
import type { RunningKiosk } from '../../device/kiosk/run-kiosk.ts';
import { enrollWallet, issueCredential, topUp } from '../../server/domain/wallets.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { money } from '../../shared/money.ts';
import { runConsole as runConsoleAs } from '../console-kit.ts';
import { startTestSystem, type TestSystem } from '../system-kit.ts';
import { eventually } from '../../shared/testing/wait.ts';

let system: TestSystem;
let kiosks: RunningKiosk[];

const runConsole = (...argv: string[]) => runConsoleAs(system.technicianLogin, argv);

beforeAll(async () => {
  system = await startTestSystem('console-sim', ['kiosk-1', 'kiosk-2']);
  kiosks = await startSimKiosks(system, { dataDir: join(system.dir, 'kiosks'), screenPort: 0, count: 2, log: pino({ level: 'silent' }) });
  await eventually(() => kiosks.every((k) => k.uplink.connected && k.kiosk.status().clock.trusted && k.kiosk.catalog !== undefined), {
    what: 'kiosks ready',
  });
}, 30_000);

afterAll(async () => {
  for (const k of kiosks ?? []) await k.close();
  await system?.close();
});

describe('kioskpay console with the simulated kiosks of npm start', () => {
  it("lists both kiosks online and shows one kiosk's status", async () => {
    const list = await runConsole('list', '--json');
    expect(list.code).toBe(0);
    expect(list.out).toContain('kiosk-1');
    expect(list.out).toContain('kiosk-2');
    const status = await runConsole('status', 'kiosk-1', '--json');
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(JSON.stringify(parsed)).toContain('"mode":"self-checkout"');
  }, 30_000);

  it('sets the policy and the kiosk acknowledges and keeps it', async () => {
    const r = await runConsole('policy', 'kiosk-1', '--mode', 'force-offline', '--stored-count-max', '50');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/force-offline/);
    expect(kiosks[0]!.kiosk.status().policy).toMatchObject({ mode: 'force-offline', caps: { storedCountMax: 50 } });
  }, 30_000);

  it('forwards stored offline payments on command, with acknowledgement', async () => {
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(10_000));
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(6));
    const credential = fromBase64url((await issueCredential(ctx, w.walletId, phone.publicKey)).credential)!;
    const k = kiosks[0]!;
    const gtin = k.kiosk.catalog!.items()[0]!.gtin;
    // force-offline (previous test): the code is stored locally although the uplink is up.
    k.sim!.scan(gtin);
    k.sim!.press('pay');
    k.sim!.scan(makeOfflineCode({ credential, timestampMs: Date.now(), counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519));
    await eventually(() => k.kiosk.status().queue.count === 1, { what: 'stored' });
    const r = await runConsole('forward', 'kiosk-1', '--json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/"settled":1/);
    expect(k.kiosk.status().queue.count).toBe(0);
    const stored = await runConsole('stored', 'kiosk-1', '--json');
    expect(stored.code).toBe(0);
  }, 30_000);

  it("runs the LED, buzzer and relay tests on the simulated GPIO, and the kiosk's screen shows them", async () => {
    type Outputs = {
      leds: { ready: boolean; offline: boolean; fault: boolean };
      buzzer: boolean;
      relay: boolean;
      beeps: number;
      pulses: number;
    };
    const screen = await SseReader.open(kiosks[1]!.webUrl!);
    try {
      const outputs = () => screen.frames.map((f) => (f as { sim: { outputs: Outputs } }).sim.outputs);
      await screen.frame(0);
      expect(outputs()[0]).toMatchObject({ leds: { ready: true, offline: false, fault: false } });
      const before = outputs().at(-1)!;

      const r = await runConsole('test', 'kiosk-2', 'led');
      expect(r.code).toBe(0);
      expect(r.out).toBe('kiosk-2 acknowledged: led test done\n');
      // All three lit for the test, then back to what they mean.
      const lit = outputs().findIndex((o) => o.leds.ready && o.leds.offline && o.leds.fault);
      expect(lit).toBeGreaterThan(0);
      await screen.until('LEDs back', () =>
        outputs()
          .slice(lit)
          .some((o) => o.leds.ready && !o.leds.offline && !o.leds.fault),
      );

      expect((await runConsole('test', 'kiosk-2', 'buzzer')).code).toBe(0);
      await screen.until('the attention pattern counted', () => outputs().at(-1)!.beeps === before.beeps + 3 && !outputs().at(-1)!.buzzer);
      expect((await runConsole('test', 'kiosk-2', 'relay')).code).toBe(0);
      expect(outputs().some((o) => o.relay)).toBe(true);
      await screen.until('the relay pulse counted', () => outputs().at(-1)!.pulses === before.pulses + 1 && !outputs().at(-1)!.relay);
    } finally {
      screen.close();
    }
  }, 30_000);

  it("the server's audit log holds each command and its acknowledgement", async () => {
    const audit = join(system.dir, 'server', 'audit.log');
    await eventually(
      () => {
        try {
          return readFileSync(audit, 'utf8').includes('"test"');
        } catch {
          return false;
        }
      },
      { what: 'audit written' },
    );
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const text = JSON.stringify(lines);
    for (const name of ['status', 'set-policy', 'forward', 'test']) expect(text).toContain(`"${name}"`);
    expect(text).toContain('kiosk-1');
  }, 30_000);
});
