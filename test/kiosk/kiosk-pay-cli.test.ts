// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk pay --line ...` through the real broker and server: the sale is approved and the
// server records what it sold, so the operator's sales by product list it; without --line the same
// command still pays, not itemised.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollWallet, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { money } from '../../shared/money.ts';
import { startTestSystem, type TestSystem } from '../system-kit.ts';

const run = promisify(execFile);
const bin = new URL('../../bin/kioskpay.js', import.meta.url).pathname;

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem('paycli', ['kiosk-1']);
}, 30_000);

afterAll(async () => {
  await system?.close();
});

async function kioskPay(...args: string[]): Promise<{ code: number; out: string }> {
  const k = system.kiosks[0]!;
  try {
    const r = await run(process.execPath, [bin, 'kiosk', 'pay', '--url', k.url, '--kiosk-id', k.kioskId, ...args], {
      timeout: 30_000,
      env: { ...process.env, KIOSKPAY_KIOSK_PASSWORD: k.password },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('kioskpay kiosk pay --line', () => {
  it("pays the lines' total and the server records what was sold; without --line the sale is not itemised", async () => {
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const sold = await kioskPay(
      '--code',
      (await issueOnlineCode(ctx, w.walletId)).code,
      '--line',
      'gtin=4901000000013,qty=2,price=150',
      '--line',
      'slot=3,price=130',
    );
    expect(sold.code, sold.out).toBe(0);
    expect(sold.out).toMatch(/^APPROVED .*¥430/m);
    const plain = await kioskPay('--code', (await issueOnlineCode(ctx, w.walletId)).code, '--amount', '200');
    expect(plain.code, plain.out).toBe(0);

    const groups = await ctx.store.unit((tx) =>
      tx.salesGroups({ fromMs: 0, toMs: ctx.clock.nowMs() + 1, kioskId: null, product: null }, 'product'),
    );
    const rows = groups
      .map((g) => ({ gtin: g.gtin, slot: g.slot, payments: g.payments, units: g.units, amount: g.amount }))
      .sort((a, b) => b.amount - a.amount);
    expect(rows).toEqual([
      { gtin: '4901000000013', slot: null, payments: 1, units: 2, amount: 300 },
      { gtin: null, slot: null, payments: 1, units: 0, amount: 200 },
      { gtin: null, slot: 3, payments: 1, units: 1, amount: 130 },
    ]);
  }, 60_000);

  it('refuses lines that do not add up to --amount before connecting (exit 2)', async () => {
    const r = await kioskPay('--code', '31000000000000000000', '--amount', '400', '--line', 'gtin=4901000000013,qty=2,price=150');
    expect(r).toEqual({ code: 2, out: 'kioskpay kiosk pay: the --line values add up to 300, not --amount 400\n' });
  });
});
