// SPDX-License-Identifier: Apache-2.0
// A seeded random walk over the machine: thousands of events of every kind, in any state, checked
// against the invariants that must hold whatever the shopper, the network or the hardware does.
import { describe, expect, it } from 'vitest';
import { linesMatchAmount } from '../../../shared/kiosk-messages.ts';
import type { Money } from '../../../shared/money.ts';
import type { CheckoutEvent } from './types.ts';
import { accepted, NUMERIC_OFFLINE_CODE, OFFLINE_QR_CODE, ONLINE_CODE, prechecked, TEA, GUM, world } from './test-world.ts';

/** mulberry32: small, seeded, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvent(r: () => number, w: ReturnType<typeof world>): CheckoutEvent | { advanceMs: number } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const s = w.state;
  const txId = s.name === 'authorising' && r() < 0.9 ? s.attempt.txId : pick(w.minted.length > 0 ? w.minted : ['tx-0']);
  const status = pick(['approved', 'declined', 'voided', 'unknown'] as const);
  /** The pre-check accepts the amount of the attempt in flight (any other txId's result is stale). */
  const amount: Money = s.name === 'authorising' ? s.attempt.amount : { value: 150, currency: 'JPY' };
  return pick<() => CheckoutEvent | { advanceMs: number }>([
    () => ({
      type: 'scan',
      text: pick([TEA.gtin, GUM.gtin, '036000291452', ONLINE_CODE, NUMERIC_OFFLINE_CODE, OFFLINE_QR_CODE, 'junk', '4901234567895']),
    }),
    () => ({ type: 'slotPressed', slot: pick([1, 2, 3, 9]) }),
    () => ({ type: 'payPressed' }),
    () => ({ type: 'cancelPressed' }),
    () => ({ advanceMs: pick([1, 100, 999, 2_000, 3_000, 5_000, 60_000, 120_000]) }),
    () => ({ advanceMs: pick([1, 500, 3_000, 5_000]) }),
    () => ({ type: 'uplinkChanged', online: r() < 0.6 }),
    () => ({
      type: 'txAnswer',
      answers: pick(['pay', 'status', 'void'] as const),
      txId,
      status,
      reason: r() < 0.5 ? 'CODE_USED' : undefined,
    }),
    () => ({ type: 'txError', txId, code: 'INTERNAL' }),
    () => ({ type: 'paySendFailed', txId }),
    () => (r() < 0.7 ? accepted(txId, prechecked(amount)) : { type: 'precheckResult', txId, ok: false, reason: 'COUNTER_REUSED' }),
    () => ({ type: 'offlineStored', txId }),
    () => ({ type: 'offlineStoreFailed', txId }),
    () => ({ type: 'offlineDiscarded', txId }),
    () => (r() < 0.5 ? { type: 'faultRaised', fault: 'scanner-unavailable' } : { type: 'faultCleared' }),
  ])();
}

describe('checkout: random walk', () => {
  for (const mode of ['self-checkout', 'vending'] as const) {
    it(`keeps its invariants over 20,000 random events in ${mode} mode`, () => {
      const seed = 0x5eed + (mode === 'vending' ? 1 : 0);
      const r = rng(seed);
      const w = world({ mode, config: { relayPulseMs: 700, relayPulseMaxMs: 900 } });
      const paid = new Set<string>();
      const stored = new Set<string>();
      /** txIds whose `pay` never left the kiosk (paySendFailed): the offline path may take them. */
      const notSent = new Set<string>();
      const reached = new Set<string>();
      for (let i = 0; i < 20_000; i++) {
        const before = w.state;
        const e = randomEvent(r, w);
        const fx = 'advanceMs' in e ? w.advance(e.advanceMs) : w.send(e);
        const where = `seed ${seed}, step ${i}, ${before.name} + ${JSON.stringify(e)}`;
        if (
          'type' in e &&
          e.type === 'paySendFailed' &&
          w.state.name === 'authorising' &&
          w.state.step === 'prechecking' &&
          before.name === 'authorising' &&
          before.step === 'paying'
        )
          notSent.add(e.txId);
        reached.add(w.state.name + ('step' in w.state ? `/${w.state.step}` : ''));
        for (const f of fx) {
          if (f.type === 'pulseRelay') {
            expect(f.onMs, where).toBeLessThanOrEqual(900);
            // A relay fires only on a definite approval or a stored offline payment, for the attempt in flight.
            expect(before.name, where).toBe('authorising');
            const ok = 'type' in e && ((e.type === 'txAnswer' && e.status === 'approved') || e.type === 'offlineStored');
            expect(ok, where).toBe(true);
          }
          if (f.type === 'sendPay' || f.type === 'storeOffline') {
            // Every sale says what it sold, and the lines add up to exactly what is charged.
            const amount = f.type === 'sendPay' ? f.amount : f.payment.amount;
            expect(f.lines !== undefined && linesMatchAmount(f.lines, amount), `${where}: lines ${JSON.stringify(f.lines)}`).toBe(true);
            if (mode === 'vending')
              expect(
                f.lines?.every((l) => l.slot !== undefined),
                where,
              ).toBe(true);
            else
              expect(
                f.lines?.every((l) => l.slot === undefined && l.gtin !== undefined),
                where,
              ).toBe(true);
          }
          if (f.type === 'sendPay') {
            expect(paid.has(f.txId), `${where}: pay sent twice for ${f.txId}`).toBe(false);
            paid.add(f.txId);
          }
          if (f.type === 'storeOffline') {
            expect((paid.has(f.txId) && !notSent.has(f.txId)) || stored.has(f.txId), `${where}: txId reused offline`).toBe(false);
            stored.add(f.txId);
          }
          if (f.type === 'sendStatus' || f.type === 'sendVoid') expect(paid.has(f.txId), where).toBe(true);
          if (f.type === 'log') expect(JSON.stringify(f), where).not.toMatch(/31123456789|KP1\./);
        }
        if (w.state.name === 'approved' && before.name === 'authorising' && before.step === 'storing')
          expect(stored.has(before.attempt.txId), where).toBe(true);
        if ('basket' in w.state) expect(Number.isSafeInteger(w.state.basket.total.value), where).toBe(true);
        if (mode === 'vending' && 'basket' in w.state) expect(w.state.basket.items.length, where).toBe(1);
      }
      // The walk must actually visit every state and authorising step, or it proves little.
      const expected = [
        'idle',
        'awaitingCode',
        'authorising/paying',
        'authorising/askingStatus',
        'authorising/voiding',
        'authorising/prechecking',
        'authorising/storing',
        'approved',
        'declined',
        'fault',
        ...(mode === 'vending' ? ['dispensing'] : ['basket', 'authorising/discarding']),
      ];
      for (const name of expected) expect(reached, `seed ${seed}: never reached ${name}`).toContain(name);
    });
  }
});
