// SPDX-License-Identifier: Apache-2.0
// `kioskpay demo` (npm run demo): starts a broker and the server, enrolls a wallet with the real
// wallet CLI, and plays a scripted kiosk over MQTT through every kind of payment. Prints each step
// and the final balances; exits 0 only if every outcome is the expected one.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { payOnline } from '../device/domain/online-payment.ts';
import { formatMoney, money } from '../shared/money.ts';
import type { Clock } from '../shared/clock.ts';
import { startSystem } from './system.ts';

const run = promisify(execFile);
const bin = new URL('./kioskpay.js', import.meta.url).pathname;

export async function demoCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('Usage: kioskpay demo\n\nScripted end-to-end demo on a temporary data directory; exits 0 only if every outcome is the expected one.\n');
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-demo-'));
  // The server's clock can be moved forward to show an expired code without waiting five minutes.
  let skewMs = 0;
  const clock: Clock = { nowMs: () => Date.now() + skewMs, monotonicMs: () => performance.now() + skewMs };
  const system = await startSystem({ dataDir: join(dir, 'server'), mqttPort: 0, httpPort: 0, kioskIds: ['kiosk-1', 'kiosk-2'], clock, log: pino({ level: 'warn' }),
    // PayPay's launch limits allow 2 offline payments a day; the demo makes 3 (the QR codes capped at
    // their amounts with --max, so the wallet's own count of shown codes leaves room for them).
    server: { limits: { daily: { amount: 10_000, count: 5 } } } });
  const uplinks = await Promise.all(system.kiosks.map((k) => MqttUplink.connect({ ...k, requestTimeoutMs: 5000 })));
  const state = join(dir, 'wallet.json');
  const wallet = async (...args: string[]) => (await run(process.execPath, [bin, 'wallet', ...args, '--state', state], { timeout: 30_000 })).stdout;
  const walletJson = async (...args: string[]) => JSON.parse(await wallet(...args, '--json')) as Record<string, unknown>;
  const nextId = () => randomUUID();
  let failures = 0;
  const step = (name: string, ok: boolean, detail: string) => {
    if (!ok) failures++;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(50)} ${detail}\n`);
  };
  const pay = async (kiosk: number, code: string, value: number) => {
    const out = await payOnline(uplinks[kiosk]!, { txId: `demo-${randomUUID()}`, code, amount: money(value) }, { nextId });
    return out.outcome === 'approved' || out.outcome === 'declined' ? { outcome: out.outcome, reason: out.result.reason ?? '' } : { outcome: out.outcome, reason: '' };
  };
  try {
    process.stdout.write(`kioskpay demo: broker ${system.broker.url}, server ${system.server.httpUrl}\n\n`);
    await wallet('enroll', '--server', system.server.httpUrl);
    await wallet('topup', '20000');
    await wallet('sync');
    await wallet('credential');
    step('wallet enrolled, topped up, synced, credential', true, '¥20,000');

    const online = String((await walletJson('code', '--online')).text);
    let r = await pay(0, online, 1_200);
    step('online code at kiosk-1, ¥1,200', r.outcome === 'approved', r.outcome);

    const offline = String((await walletJson('code', '--offline', '--max', '800')).text);
    r = await pay(0, offline, 800);
    step('offline QR code at kiosk-1, ¥800', r.outcome === 'approved', `${r.outcome} (${offline.length} characters)`);

    // Typed at the kiosk as the wallet shows it: in groups of four, with spaces.
    const numeric = String((await walletJson('code', '--offline', '--numeric')).text).replace(/(\d{4})(?=\d)/g, '$1 ');
    r = await pay(1, numeric, 500);
    step('offline numeric code at kiosk-2 as shown, ¥500', r.outcome === 'approved', `${r.outcome} (${numeric})`);

    r = await pay(1, offline, 800);
    step('the same offline QR code replayed at kiosk-2', r.outcome === 'declined' && r.reason === 'COUNTER_REUSED', `${r.outcome} ${r.reason}`);

    r = await pay(0, online, 1_200);
    step('the used online code presented again', r.outcome === 'declined' && r.reason === 'CODE_USED', `${r.outcome} ${r.reason}`);

    const stale = String((await walletJson('code', '--online')).text);
    skewMs += 6 * 60_000;
    r = await pay(0, stale, 300);
    step('an online code six minutes later', r.outcome === 'declined' && r.reason === 'CODE_EXPIRED', `${r.outcome} ${r.reason}`);
    skewMs -= 6 * 60_000;

    // kiosk-2 loses its uplink, accepts an offline code on its own, and settles it when back.
    const stored = String((await walletJson('code', '--offline', '--max', '400')).text);
    const capturedAt = clock.nowMs();
    const settled = await uplinks[1]!.request<'settle'>({ v: 1, type: 'settle', id: nextId(), items: [{ txId: `demo-${randomUUID()}`, code: stored, amount: money(400), capturedAt }] });
    const item = settled.type === 'settle.result' ? settled.items[0] : undefined;
    step('stored offline payment settled later, ¥400', item?.status === 'settled', item ? `${item.status} ${item.reason ?? ''}` : JSON.stringify(settled));

    const info = await walletJson('balance');
    const balance = (info['balance'] as { value: number } | undefined)?.value;
    const merchant = await system.server.ctx.store.unit(async (tx) => (await tx.getAccount('merchant:demo-shop'))?.balance);
    const totals = await system.server.ctx.store.unit((tx) => tx.balanceTotals());
    const expectedShopper = 20_000 - 1_200 - 800 - 500 - 400;
    step('shopper balance', balance === expectedShopper, formatMoney(money(balance ?? 0)));
    step('merchant balance (demo-shop)', merchant === 1_200 + 800 + 500 + 400, formatMoney(money(merchant ?? 0)));
    step('ledger sums to zero (double entry)', [...totals.values()].every((t) => t === 0), JSON.stringify(Object.fromEntries(totals)));
  } catch (e) {
    failures++;
    process.stdout.write(`FAIL  demo aborted: ${e instanceof Error ? e.message : String(e)}\n`);
  } finally {
    await Promise.all(uplinks.map((u) => u.close()));
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(failures === 0 ? '\nAll outcomes as expected.\n' : `\n${failures} unexpected outcome(s).\n`);
  return failures === 0 ? 0 : 1;
}
