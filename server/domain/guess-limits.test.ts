// SPDX-License-Identifier: Apache-2.0
// Guessing 20-digit codes: per-handle, per-kiosk and global lockouts (guess-limits.ts, payments.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { luhnCheckDigit } from '../../shared/codes/luhn.ts';
import { makeWorld, T0, type World } from '../testing/world.ts';
import { GuessLimiter, type GuessLimitsConfig } from './guess-limits.ts';

const MIN = 60_000;
const limits: GuessLimitsConfig = {
  handle: { max: 3, windowMs: MIN, lockMs: 10 * MIN },
  kiosk: { max: 5, windowMs: MIN, lockMs: 10 * MIN },
  global: { max: 8, windowMs: MIN, lockMs: 10 * MIN },
};

let w: World;
afterEach(async () => {
  await w.close();
});

const withLuhn = (d19: string) => d19 + luhnCheckDigit(d19);
/** A numeric code for `handle` whose MAC is not the real one (the real code's MAC digits, shifted by i + 1). */
function wrongMac(real: string, i: number): string {
  const mac = String((Number(real.slice(11, 19)) + i + 1) % 100_000_000).padStart(8, '0');
  return withLuhn(real.slice(0, 11) + mac);
}
const onlineGuess = (i: number) => withLuhn('31' + String(12_345_678_901_234_567n + BigInt(i)).padStart(17, '0'));
const guessAlerts = () => w.ctx.alerts.since(0).filter((a) => a.kind === 'code-guessing');

describe('guessing numeric codes', () => {
  it('locks a handle after repeated wrong MACs, with one alert; other wallets, other forms and the wallet after the lockout keep working', async () => {
    w = await makeWorld({ codeGuessLimits: limits });
    const p = await w.phone(20_000);
    await w.credential(p);
    const q = await w.phone(20_000);
    await w.credential(q);
    const real = w.numericCode(p);
    for (let i = 0; i < 3; i++) expect((await w.pay('k1', wrongMac(real, i), 100)).reason).toBe('SIGNATURE_INVALID');
    // Locked: even the honest code, at another kiosk, is refused while the lock lasts.
    expect((await w.pay('k1', wrongMac(real, 9), 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect((await w.pay('k2', real, 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect(guessAlerts()).toEqual([
      expect.objectContaining({ kind: 'code-guessing', severity: 'critical', kioskId: 'k1', walletId: p.walletId }),
    ]);
    // Another wallet's numeric code, and this wallet's online and QR codes, are not locked.
    expect(await w.pay('k2', w.numericCode(q), 100)).toMatchObject({ status: 'approved' });
    expect(await w.pay('k2', await w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(await w.pay('k1', w.offlineCode(p), 100)).toMatchObject({ status: 'approved' });
    // The lockout lasts exactly lockMs.
    w.clock.advance(10 * MIN - 1);
    expect((await w.pay('k2', w.numericCode(p), 100)).reason).toBe('CODE_GUESS_LOCKED');
    w.clock.advance(1);
    expect(await w.pay('k2', w.numericCode(p), 100)).toMatchObject({ status: 'approved', kind: 'offline-numeric' });
    expect(guessAlerts()).toHaveLength(1);
  });

  it('locks a kiosk that guesses one-time codes and unknown handles; other kiosks and its QR codes keep working', async () => {
    w = await makeWorld({ codeGuessLimits: limits });
    const p = await w.phone(20_000);
    await w.credential(p);
    for (let i = 0; i < 3; i++) expect((await w.pay('k1', onlineGuess(i), 100)).reason).toBe('CODE_UNKNOWN');
    for (const h of ['00000001', '00000002'])
      expect((await w.pay('k1', withLuhn('32' + h + '012345678'), 100)).reason).toBe('CREDENTIAL_INVALID');
    expect((await w.pay('k1', await w.onlineCode(p), 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect((await w.pay('k1', w.numericCode(p), 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect(guessAlerts()).toEqual([expect.objectContaining({ kioskId: 'k1', walletId: null })]);
    expect(await w.pay('k1', w.offlineCode(p), 100)).toMatchObject({ status: 'approved', kind: 'offline-qr' });
    expect(await w.pay('k2', await w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(await w.pay('k2', w.numericCode(p), 100)).toMatchObject({ status: 'approved' });
    w.clock.advance(10 * MIN);
    expect(await w.pay('k1', await w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(guessAlerts()).toHaveLength(1);
  });

  it('locks 20-digit codes everywhere when kiosks together pass the global limit; QR codes keep working', async () => {
    w = await makeWorld({ codeGuessLimits: limits });
    const p = await w.phone(20_000);
    await w.credential(p);
    for (let i = 0; i < 4; i++) expect((await w.pay('k1', onlineGuess(i), 100)).reason).toBe('CODE_UNKNOWN');
    for (let i = 4; i < 8; i++) expect((await w.pay('k2', onlineGuess(i), 100)).reason).toBe('CODE_UNKNOWN');
    expect((await w.pay('k3', await w.onlineCode(p), 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect((await w.pay('k3', w.numericCode(p), 100)).reason).toBe('CODE_GUESS_LOCKED');
    expect(await w.pay('k3', w.offlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(guessAlerts()).toEqual([expect.objectContaining({ kioskId: 'k2', message: expect.stringContaining('every kiosk') })]);
    w.clock.advance(10 * MIN);
    expect(await w.pay('k3', await w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
  });

  it('does not count a code that was found (already used) or a repeated txId', async () => {
    w = await makeWorld({ codeGuessLimits: limits });
    const p = await w.phone(20_000);
    const code = await w.onlineCode(p);
    expect(await w.pay('k1', code, 100)).toMatchObject({ status: 'approved' });
    for (let i = 0; i < 6; i++) expect((await w.pay('k1', code, 100)).reason).toBe('CODE_USED');
    for (let i = 0; i < 6; i++) expect((await w.pay('k1', onlineGuess(0), 100, 'tx-same')).reason).toBe('CODE_UNKNOWN');
    expect(await w.pay('k1', await w.onlineCode(p), 100)).toMatchObject({ status: 'approved' });
    expect(guessAlerts()).toHaveLength(0);
  });
});

describe('GuessLimiter with a fake clock', () => {
  const rule = { max: 3, windowMs: MIN, lockMs: 10 * MIN };
  const run = () => {
    const clock = new ManualClock(T0);
    const g = new GuessLimiter(clock, { handle: rule, kiosk: { ...rule, max: 100 }, global: { ...rule, max: 100 } });
    const log: unknown[] = [];
    for (const at of [0, 30_000, 60_000, 61_000]) {
      clock.advance(at - (clock.nowMs() - T0));
      log.push(g.fail('k1', 'h1'));
    }
    return { clock, g, log };
  };

  it('slides its window and locks for exactly lockMs, the same on every run', () => {
    const { clock, g, log } = run();
    // At 60 s the failure at 0 has left the one-minute window (2 counted, no lock); at 61 s three are inside it.
    expect(log).toEqual([[], [], [], [{ scope: 'handle', key: 'h1', untilMs: T0 + 61_000 + 10 * MIN }]]);
    expect(run().log).toEqual(log);
    expect(g.locked('k2', 'h1')).toEqual({ scope: 'handle', key: 'h1', untilMs: T0 + 61_000 + 10 * MIN });
    expect(g.locked('k1', 'h2')).toBeNull();
    clock.advance(10 * MIN - 1);
    expect(g.locked('k1', 'h1')).not.toBeNull();
    expect(g.fail('k1', 'h1')).toEqual([]);
    clock.advance(1);
    expect(g.locked('k1', 'h1')).toBeNull();
  });

  it('never lets more than max × (1 + 24 h / lockMs) failures through in a day of guessing every second', () => {
    const clock = new ManualClock(T0);
    const g = new GuessLimiter(clock, { handle: rule, kiosk: rule, global: rule });
    let counted = 0;
    for (let s = 0; s < 86_400; s++, clock.advance(1000)) {
      if (g.locked('k1', 'h1')) continue;
      counted++;
      g.fail('k1', 'h1');
    }
    expect(counted).toBe(3 * (86_400_000 / (10 * MIN)));
    expect(counted).toBeLessThanOrEqual(rule.max * (1 + 86_400_000 / rule.lockMs));
  });

  it('refuses a lock shorter than its window', () => {
    expect(() => new GuessLimiter(new ManualClock(T0), { ...limits, kiosk: { max: 1, windowMs: MIN, lockMs: MIN - 1 } })).toThrow(/lockMs/);
  });
});
