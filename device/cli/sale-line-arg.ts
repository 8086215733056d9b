// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk pay --line gtin=4901000000013,qty=2,price=150`: what a payment sold, one product
// per --line, for the operator's sales by product and slot (the `lines` of the pay request,
// shared/kiosk-messages.ts). Keys: gtin (GTIN-13) and/or slot (1-999), qty (default 1), price
// (the unit price in minor units, in the payment's currency). Checked against the protocol's schema.
import { SALE_LINES_MAX, saleLine, type SaleLine } from '../../shared/kiosk-messages.ts';
import { isValidAmount, type Currency } from '../../shared/money.ts';

export const LINE_ARG_HELP = 'gtin=GTIN13 and/or slot=N, qty=N (default 1), price=N (unit price, minor units)';

const KEYS = new Set(['gtin', 'slot', 'qty', 'price']);

export type LineArgs = { ok: true; lines: SaleLine[] } | { ok: false; message: string };

/** The --line values as sale lines, or what is wrong with the first bad one. */
export function parseLineArgs(specs: readonly string[], currency: Currency): LineArgs {
  if (specs.length > SALE_LINES_MAX) return { ok: false, message: `at most ${SALE_LINES_MAX} --line values` };
  const lines: SaleLine[] = [];
  for (const spec of specs) {
    const fields = new Map<string, string>();
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part.trim() : part.slice(0, eq).trim();
      if (eq < 0 || !KEYS.has(key))
        return { ok: false, message: `--line ${JSON.stringify(spec)}: "${key}" is not one of ${LINE_ARG_HELP}` };
      if (fields.has(key)) return { ok: false, message: `--line ${JSON.stringify(spec)}: ${key} given twice` };
      fields.set(key, part.slice(eq + 1).trim());
    }
    const int = (key: string) => (fields.has(key) ? (/^\d{1,16}$/.test(fields.get(key)!) ? Number(fields.get(key)) : NaN) : undefined);
    const price = int('price');
    if (price === undefined)
      return { ok: false, message: `--line ${JSON.stringify(spec)}: price=N (the unit price in minor units) is required` };
    const slot = int('slot');
    const candidate = {
      ...(fields.has('gtin') ? { gtin: fields.get('gtin') } : {}),
      ...(slot === undefined ? {} : { slot }),
      qty: int('qty') ?? 1,
      unitPrice: { value: price, currency },
    };
    const checked = saleLine.safeParse(candidate);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      return { ok: false, message: `--line ${JSON.stringify(spec)}: ${issue?.path.join('.') || 'line'} ${issue?.message ?? 'is invalid'}` };
    }
    lines.push(checked.data);
  }
  return { ok: true, lines };
}

/** What the lines add up to, in minor units, or undefined past the largest amount a payment may have. */
export function linesTotal(lines: readonly SaleLine[]): number | undefined {
  let sum = 0;
  for (const l of lines) {
    sum += l.qty * l.unitPrice.value;
    if (!isValidAmount(sum)) return undefined;
  }
  return sum;
}
