// SPDX-License-Identifier: Apache-2.0
// Test support for the checkout machine (not used by production code): a world with a ManualClock,
// a counting txId source, a catalog, and helpers that drive the machine and collect its effects.
import { ManualClock } from '../../../shared/clock.ts';
import { decodeCode, type DecodedCode, type DecodedOfflineQr } from '../../../shared/codes/decode.ts';
import { luhnCheckDigit } from '../../../shared/codes/luhn.ts';
import { fixture } from '../../../shared/codes/test-fixtures.ts';
import { parseCatalog, type Catalog } from '../../../shared/catalog/catalog.ts';
import type { PolicyMode } from '../../../shared/kiosk-policy.ts';
import type { Money } from '../../../shared/money.ts';
import { makeCheckoutConfig, type CheckoutConfig } from './config.ts';
import { initialCheckoutState, reduce } from './machine.ts';
import type { CheckoutContext, CheckoutEffect, CheckoutEvent, CheckoutMode, CheckoutState, PrecheckedPayment } from './types.ts';

export const WALL_T0_MS = 1_700_000_000_000;

/** Payment codes of each kind (valid formats; the machine never verifies them itself). */
export const ONLINE_CODE = withLuhn('31' + '12345678901234567');
export const NUMERIC_OFFLINE_CODE = withLuhn('32' + '12345678' + '4' + '87654321');
export const OFFLINE_QR_CODE = fixture().offlineCode;

function withLuhn(body: string): string {
  return body + luhnCheckDigit(body);
}

/** A payment code as the scan decodes it (attempts and effects carry codes decoded). */
export function decoded(text: string): DecodedCode {
  const d = decodeCode(text);
  if (!d.ok) throw new Error(`not a payment code: ${d.detail}`);
  return d.code;
}

/** The offline QR code, decoded. */
export const OFFLINE_QR = decoded(OFFLINE_QR_CODE) as DecodedOfflineQr;

/** What the pre-check accepts for OFFLINE_QR_CODE at `amount` (150 JPY, a tea), captured at `capturedAtMs`. */
export function prechecked(amount: Money = { value: 150, currency: 'JPY' }, capturedAtMs = WALL_T0_MS): PrecheckedPayment {
  return { code: OFFLINE_QR, amount, capturedAtMs };
}

/** The pre-check's acceptance of the attempt `txId`. */
export function accepted(txId: string, payment = prechecked()): CheckoutEvent {
  return { type: 'precheckResult', txId, ok: true, payment };
}

export const TEA = { gtin: '4901234567894', name: 'Green tea', price: { value: 150, currency: 'JPY' }, slot: 1 };
export const GUM = { gtin: '4006381333931', name: 'Gum', price: { value: 120, currency: 'JPY' }, slot: 2 };
/** Listed under its UPC-A code 036000291452 with the leading 0. */
export const WATER = { gtin: '0036000291452', name: 'Water', price: { value: 100, currency: 'JPY' }, slot: 3 };

export function catalogOf(items: unknown[], currency = 'JPY'): Catalog {
  const r = parseCatalog({ v: 1, type: 'catalog', version: 1, currency, items });
  if (!r.ok) throw new Error(r.message);
  return r.catalog;
}

export interface WorldOptions {
  mode?: CheckoutMode;
  online?: boolean;
  config?: Partial<CheckoutConfig>;
  catalog?: Catalog | null;
  policy?: PolicyMode;
}

export function world(o: WorldOptions = {}) {
  const clock = new ManualClock(WALL_T0_MS);
  const minted: string[] = [];
  let policy: PolicyMode = o.policy ?? 'prefer-online';
  const catalog = o.catalog === null ? undefined : (o.catalog ?? catalogOf([TEA, GUM, WATER]));
  const ctx: CheckoutContext = {
    mode: o.mode ?? 'self-checkout',
    config: makeCheckoutConfig(o.config),
    clock,
    nextTxId: () => {
      const id = `tx-${minted.length + 1}`;
      minted.push(id);
      return id;
    },
    catalog: () => catalog,
    policyMode: () => policy,
  };
  let state: CheckoutState = initialCheckoutState(o.online ?? true);
  const log: Array<{ event: CheckoutEvent; effects: readonly CheckoutEffect[] }> = [];
  const send = (event: CheckoutEvent): CheckoutEffect[] => {
    const t = reduce(state, event, ctx);
    state = t.state;
    log.push({ event, effects: t.effects });
    return [...t.effects];
  };
  return {
    clock,
    ctx,
    minted,
    log,
    get state(): CheckoutState {
      return state;
    },
    send,
    setPolicy: (p: PolicyMode) => {
      policy = p;
    },
    scan: (text: string) => send({ type: 'scan', text }),
    /** Moves the clock and ticks at the new time. */
    advance: (ms: number) => {
      clock.advance(ms);
      return send({ type: 'tick', nowMonotonicMs: clock.monotonicMs() });
    },
    allEffects: () => log.flatMap((l) => l.effects),
  };
}

export type World = ReturnType<typeof world>;

export function ofType<T extends CheckoutEffect['type']>(
  effects: readonly CheckoutEffect[],
  type: T,
): Array<Extract<CheckoutEffect, { type: T }>> {
  return effects.filter((e): e is Extract<CheckoutEffect, { type: T }> => e.type === type);
}

/** Self-checkout: tea in the basket, pay pressed. Vending: slot 1 pressed. */
export function toAwaitingCode(w: World): void {
  if (w.ctx.mode === 'vending') w.send({ type: 'slotPressed', slot: 1 });
  else {
    w.scan(TEA.gtin);
    w.send({ type: 'payPressed' });
  }
}

export function toAuthorising(w: World, code = ONLINE_CODE): string {
  toAwaitingCode(w);
  w.scan(code);
  const s = w.state;
  if (s.name !== 'authorising') throw new Error(`expected authorising, got ${s.name}`);
  return s.attempt.txId;
}
