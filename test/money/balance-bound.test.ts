// SPDX-License-Identifier: Apache-2.0
// Issue 12, finding 4: no account balance goes above 10^12 minor units (shared/money.ts MONEY_MAX),
// whatever credits it: a top-up over the wallet HTTP API (a real socket), a payment to a merchant,
// a refund, an offline settlement. Before the bound, dev top-ups reached 5 x 10^12. A refused credit
// is the typed BALANCE_LIMIT and leaves every balance as it was.
import { afterEach, describe, expect, it } from 'vitest';
import { merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import { MONEY_MAX } from '../../shared/money.ts';
import { startHttpEnv, type HttpEnv } from '../security/http-env.ts';

let env: HttpEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('the balance bound on every credit (issue 12, finding 4)', () => {
  it('refuses a top-up over the HTTP API that would pass 10^12, and keeps the balance', async () => {
    env = await startHttpEnv();
    const p = await env.phone(0);
    const topup = (value: number) => env!.call('POST', '/v1/wallet/topup', p.token, { amount: { value, currency: 'JPY' } });
    for (let i = 0; i < 5; i += 1) expect(await topup(MONEY_MAX / 5)).toEqual({ status: 200, code: null });
    // Before the bound these were accepted: the balance reached 5 x 10^12.
    expect(await topup(1)).toEqual({ status: 422, code: 'BALANCE_LIMIT' });
    expect(await topup(MONEY_MAX)).toEqual({ status: 422, code: 'BALANCE_LIMIT' });
    expect(await env.w.balance(shopperAccountId(p.walletId))).toBe(MONEY_MAX);
  });

  it('declines a payment whose merchant credit would pass 10^12; the shopper keeps the money', async () => {
    env = await startHttpEnv();
    const p = await env.phone(5_000);
    await env.w.credit(merchantAccountId('shop'), MONEY_MAX - 100);
    // The refusal is a typed error reply (the payment unit rolled back whole), not an approval.
    const refused = await env.w.send('k1', {
      v: 1,
      type: 'pay',
      id: 'p-1',
      txId: 'tx-full',
      code: await env.w.onlineCode(p),
      amount: { value: 101, currency: 'JPY' },
    });
    expect(refused).toMatchObject({ type: 'error', code: 'BALANCE_LIMIT' });
    expect(await env.w.balance(shopperAccountId(p.walletId))).toBe(5_000);
    expect(await env.w.pay('k1', await env.w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(await env.w.balance(merchantAccountId('shop'))).toBe(MONEY_MAX);
  });

  it('refuses a refund (void) that would take the shopper above 10^12, and leaves the payment approved', async () => {
    env = await startHttpEnv();
    const p = await env.phone(MONEY_MAX);
    expect(await env.w.pay('k1', await env.w.onlineCode(p), 100, 'tx-refund')).toMatchObject({ status: 'approved' });
    await env.w.credit(shopperAccountId(p.walletId), 100);
    const reply = await env.w.send('k1', { v: 1, type: 'void', id: 'v-1', txId: 'tx-refund' });
    expect(reply).toMatchObject({ code: 'BALANCE_LIMIT' });
    expect(await env.w.balance(shopperAccountId(p.walletId))).toBe(MONEY_MAX);
    expect(await env.w.balance(merchantAccountId('shop'))).toBe(100);
  });

  // The item is declined on its own (recorded, kept for review on the kiosk); before, the whole
  // batch was an error reply, so the kiosk's outbox could never get past it.
  it('declines an offline settlement item whose credit would take the merchant above 10^12', async () => {
    env = await startHttpEnv();
    const p = await env.phoneWithCredential(5_000);
    await env.w.credit(merchantAccountId('shop'), MONEY_MAX);
    const code = env.w.offlineCode(p);
    const reply = await env.w.send('k1', {
      v: 1,
      type: 'settle',
      id: 's-1',
      items: [{ txId: 'off-1', code, amount: { value: 500, currency: 'JPY' }, capturedAt: env.w.clock.nowMs() }],
    });
    expect(reply).toMatchObject({ type: 'settle.result', items: [{ txId: 'off-1', status: 'declined', reason: 'BALANCE_LIMIT' }] });
    expect(await env.w.balance(merchantAccountId('shop'))).toBe(MONEY_MAX);
    expect(await env.w.balance(shopperAccountId(p.walletId))).toBe(5_000);
  });
});
