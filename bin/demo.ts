// SPDX-License-Identifier: Apache-2.0
// `kioskpay demo` (npm run demo): starts a broker and the server, enrolls a wallet with the real
// wallet CLI, and plays a scripted kiosk over MQTT through every kind of payment, each sale with the
// lines of what it sold (products of the demo catalog). Prints each step, what the sales by product
// hold, and the final balances; exits 0 only if every outcome is the expected one.
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
import type { SaleLine } from '../shared/kiosk-messages.ts';
import { DEMO_CATALOG } from '../server/catalog/demo-catalog.ts';
import { startSystem } from './system.ts';

const run = promisify(execFile);
const bin = new URL('./kioskpay.js', import.meta.url).pathname;

/** A basket from the catalog the demo server publishes: [product name, how many] (a slot: vended from it). */
interface Basket {
  value: number;
  lines: SaleLine[];
  text: string;
}
function basket(...picks: Array<[name: string, qty: number, vended?: 'vended']>): Basket {
  const lines = picks.map(([name, qty, vended]) => {
    const item = DEMO_CATALOG.items.find((i) => i.name === name);
    if (!item) throw new Error(`no ${name} in the demo catalog`);
    return { gtin: item.gtin, ...(vended && item.slot !== undefined ? { slot: item.slot } : {}), qty, unitPrice: { ...item.price } };
  });
  const value = lines.reduce((sum, l) => sum + l.qty * l.unitPrice.value, 0);
  return { value, lines, text: picks.map(([name, qty]) => `${qty} x ${name}`).join(', ') };
}

export async function demoCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'Usage: kioskpay demo\n\nScripted end-to-end demo on a temporary data directory; exits 0 only if every outcome is the expected one.\n',
    );
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-demo-'));
  // The server's clock can be moved forward to show an expired code without waiting five minutes.
  let skewMs = 0;
  const clock: Clock = { nowMs: () => Date.now() + skewMs, monotonicMs: () => performance.now() + skewMs };
  const system = await startSystem({
    dataDir: join(dir, 'server'),
    mqttPort: 0,
    httpPort: 0,
    kioskIds: ['kiosk-1', 'kiosk-2'],
    clock,
    log: pino({ level: 'warn' }),
    // PayPay's launch limits allow 2 offline payments a day; the demo makes 3 (the QR codes capped at
    // their amounts with --max, so the wallet's own count of shown codes leaves room for them).
    server: { limits: { daily: { amount: 10_000, count: 5 } } },
  });
  const uplinks = await Promise.all(system.kiosks.map((k) => MqttUplink.connect({ ...k, requestTimeoutMs: 5000 })));
  const state = join(dir, 'wallet.json');
  const wallet = async (...args: string[]) =>
    (await run(process.execPath, [bin, 'wallet', ...args, '--state', state], { timeout: 30_000 })).stdout;
  const walletJson = async (...args: string[]) => JSON.parse(await wallet(...args, '--json')) as Record<string, unknown>;
  const nextId = () => randomUUID();
  let failures = 0;
  const step = (name: string, ok: boolean, detail: string) => {
    if (!ok) failures++;
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(50)} ${detail}\n`);
  };
  const pay = async (kiosk: number, code: string, sale: Basket) => {
    const out = await payOnline(
      uplinks[kiosk]!,
      { txId: `demo-${randomUUID()}`, code, amount: money(sale.value), lines: sale.lines },
      { nextId },
    );
    return out.outcome === 'approved' || out.outcome === 'declined'
      ? { outcome: out.outcome, reason: out.result.reason ?? '' }
      : { outcome: out.outcome, reason: '' };
  };
  try {
    process.stdout.write(`kioskpay demo: broker ${system.broker.url}, server ${system.server.httpUrl}\n\n`);
    await wallet('enroll', '--server', system.server.httpUrl);
    await wallet('topup', '20000');
    await wallet('sync');
    await wallet('credential');
    step('wallet enrolled, topped up, synced, credential', true, '¥20,000');

    // Each sale says what it sold (its lines), as the kiosk program does: the operator's sales by product.
    const lunch = basket(['Rice ball salmon', 2], ['Instant noodles cup', 2], ['Chocolate bar', 2], ['Barley tea 600ml', 1]);
    const online = String((await walletJson('code', '--online')).text);
    let r = await pay(0, online, lunch);
    step('online code at kiosk-1, ¥1,200', r.outcome === 'approved' && lunch.value === 1_200, `${r.outcome} (${lunch.text})`);

    const snacks = basket(['Melon bread', 1], ['Potato chips', 1], ['Instant noodles cup', 1], ['Orange juice 350ml', 1]);
    const offline = String((await walletJson('code', '--offline', '--max', '800')).text);
    r = await pay(0, offline, snacks);
    step(
      'offline QR code at kiosk-1, ¥800',
      r.outcome === 'approved' && snacks.value === 800,
      `${r.outcome} (${offline.length} characters)`,
    );

    // Typed at the kiosk as the wallet shows it: in groups of four, with spaces.
    const drinks = basket(['Green tea 500ml', 1], ['Mineral water 500ml', 1], ['Chocolate bar', 2]);
    const numeric = String((await walletJson('code', '--offline', '--numeric')).text).replace(/(\d{4})(?=\d)/g, '$1 ');
    r = await pay(1, numeric, drinks);
    step('offline numeric code at kiosk-2 as shown, ¥500', r.outcome === 'approved' && drinks.value === 500, `${r.outcome} (${numeric})`);

    r = await pay(1, offline, snacks);
    step(
      'the same offline QR code replayed at kiosk-2',
      r.outcome === 'declined' && r.reason === 'COUNTER_REUSED',
      `${r.outcome} ${r.reason}`,
    );

    r = await pay(0, online, lunch);
    step('the used online code presented again', r.outcome === 'declined' && r.reason === 'CODE_USED', `${r.outcome} ${r.reason}`);

    const stale = String((await walletJson('code', '--online')).text);
    skewMs += 6 * 60_000;
    r = await pay(0, stale, basket(['Green tea 500ml', 2]));
    step('an online code six minutes later', r.outcome === 'declined' && r.reason === 'CODE_EXPIRED', `${r.outcome} ${r.reason}`);
    skewMs -= 6 * 60_000;

    // kiosk-2, a vending machine, loses its uplink, accepts an offline code on its own for what slot
    // 6 dispenses, and settles it (with its line) when back.
    const juice = basket(['Orange juice 350ml', 1, 'vended']);
    const stored = String((await walletJson('code', '--offline', '--max', String(juice.value))).text);
    const capturedAt = clock.nowMs();
    const settled = await uplinks[1]!.request<'settle'>({
      v: 1,
      type: 'settle',
      id: nextId(),
      items: [{ txId: `demo-${randomUUID()}`, code: stored, amount: money(juice.value), capturedAt, lines: juice.lines }],
    });
    const item = settled.type === 'settle.result' ? settled.items[0] : undefined;
    step(
      'stored vending payment settled later, ¥170',
      item?.status === 'settled',
      item ? `${item.status} ${item.reason ?? ''}` : JSON.stringify(settled),
    );

    // What /ops reports by product: every approved sale itemised, none "Not itemised".
    const groups = await system.server.ctx.store.unit((tx) =>
      tx.salesGroups({ fromMs: 0, toMs: clock.nowMs() + 1, kioskId: null, product: null }, 'product'),
    );
    const units = groups.reduce((n, g) => n + g.units, 0);
    const expectedUnits = [lunch, snacks, drinks, juice].reduce((n, b) => n + b.lines.reduce((m, l) => m + l.qty, 0), 0);
    step(
      'sales by product: every sale itemised',
      groups.every((g) => g.gtin !== null || g.slot !== null) && units === expectedUnits,
      `${units} items of ${new Set(groups.map((g) => g.gtin)).size} products`,
    );

    const info = await walletJson('balance');
    const balance = (info['balance'] as { value: number } | undefined)?.value;
    const merchant = await system.server.ctx.store.unit(async (tx) => (await tx.getAccount('merchant:demo-shop'))?.balance);
    const totals = await system.server.ctx.store.unit((tx) => tx.balanceTotals());
    const expectedShopper = 20_000 - 1_200 - 800 - 500 - 170;
    step('shopper balance', balance === expectedShopper, formatMoney(money(balance ?? 0)));
    step('merchant balance (demo-shop)', merchant === 1_200 + 800 + 500 + 170, formatMoney(money(merchant ?? 0)));
    step(
      'ledger sums to zero (double entry)',
      [...totals.values()].every((t) => t === 0),
      JSON.stringify(Object.fromEntries(totals)),
    );
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
