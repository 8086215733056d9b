// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { money } from '../../../../shared/money.ts';
import { isLcdChar } from './lcd-charset.ts';
import { compactMoney, ellipsize, lcdLines, wrap } from './lcd-lines.ts';
import { basketOf, SCREENS, viewOf } from './lcd-test-views.ts';

function expectShape(lines: string[], cols = 20, rows = 4): void {
  expect(lines).toHaveLength(rows);
  for (const l of lines) {
    expect(l).toHaveLength(cols);
    for (const ch of l) expect(isLcdChar(ch), `'${ch}' in "${l}"`).toBe(true);
  }
}

describe('lcdLines: every screen on a 20x4 LCD', () => {
  const expected: Record<keyof typeof SCREENS, string[]> = {
    idle: ['Welcome', 'Scan your first', 'product to start.', ''],
    basket: ['Total ¥1,200', '2 item(s)', 'Scan more product...', ''],
    awaitingCode: ['Pay ¥1,200', 'Scan your payment', 'code.', ''],
    authorising: ['Paying ¥1,200', 'Contacting your', 'wallet...', ''],
    dispensing: ['Approved', 'Your product is on', 'its way.', ''],
    approved: ['Approved', '¥1,200 paid. Thank', 'you!', ''],
    declined: ['Not paid', 'This code cannot be', 'read. Please...', ''],
    fault: ['Out of service', 'Sorry, this kiosk', 'cannot take...', ''],
  };
  for (const [name, screen] of Object.entries(SCREENS)) {
    it(`lays out '${name}' as title, body and status`, () => {
      const lines = lcdLines(viewOf(screen));
      expectShape(lines);
      expect(lines).toEqual(expected[name as keyof typeof SCREENS].map((l) => l.padEnd(20)));
    });
  }

  it('a vending machine says Approved while it dispenses, then Thank you', () => {
    expect(lcdLines(viewOf(SCREENS.dispensing, { mode: 'vending' }))[0]).toBe('Approved            ');
    expect(lcdLines(viewOf({ name: 'approved', total: money(150, 'JPY') }, { mode: 'vending' })).slice(0, 3)).toEqual([
      'Thank you!          ',
      '¥150 paid. Please   ',
      'take your product.  ',
    ]);
  });

  it('idle in vending mode asks for a product button', () => {
    expect(lcdLines(viewOf({ name: 'idle', mode: 'vending' }))[1]).toBe('Press a product     ');
  });

  it('a declined screen with its own text shows that text', () => {
    const lines = lcdLines(viewOf({ name: 'declined', reason: 'CODE_MALFORMED', text: 'Balance too low.' }));
    expect(lines[1]).toBe('Balance too low.    ');
  });

  it('every screen keeps its shape on 16x2, 20x2, 20x4 and 40x4 modules', () => {
    for (const screen of Object.values(SCREENS)) {
      for (const [cols, rows] of [
        [16, 2],
        [20, 2],
        [20, 4],
        [40, 4],
        [16, 3],
      ] as const) {
        expectShape(lcdLines(viewOf(screen, { offline: true, storedCount: 12, message: 'Back in 5 minutes ✋' }), cols, rows), cols, rows);
      }
    }
  });

  it('refuses an unsupported size as a programmer error', () => {
    expect(() => lcdLines(viewOf(SCREENS.idle), 8, 2)).toThrow(/cols/);
    expect(() => lcdLines(viewOf(SCREENS.idle), 20, 5)).toThrow(/rows/);
  });
});

describe('lcdLines: the title and its amount', () => {
  it('shows a US dollar amount with its code', () => {
    const v = viewOf({ name: 'awaitingCode', basket: basketOf(money(123456, 'USD')) });
    expect(lcdLines(v)[0]).toBe('Pay USD 1,234.56    ');
  });

  it('drops the label, then the grouping, but never cuts an amount', () => {
    const big = viewOf({ name: 'authorising', total: money(987_654_321_098, 'JPY'), offline: false });
    expect(lcdLines(big)[0]).toBe('¥987,654,321,098    '); // "Paying ¥987,654,321,098" is 23 wide
    const huge = viewOf({ name: 'approved', total: money(1_000_000_000_000, 'USD') });
    expect(lcdLines(huge)[0]).toBe('Approved            ');
    const hugePay = viewOf({ name: 'awaitingCode', basket: basketOf(money(1_000_000_000_000, 'USD')) });
    expect(lcdLines(hugePay)[0]).toBe('USD 10000000000.00  ');
    expect(lcdLines(hugePay, 16, 2)[0]).toBe('#'.repeat(16));
  });

  it('compactMoney writes minor units exactly, without floats', () => {
    expect(compactMoney(money(5, 'EUR'))).toBe('EUR 0.05');
    expect(compactMoney(money(100_000, 'JPY'))).toBe('¥100000');
  });

  it('keeps "USD 1,234.56" on one row in the body', () => {
    const v = viewOf({ name: 'approved', total: money(123456, 'USD') });
    expect(lcdLines(v).slice(1, 3)).toEqual(['USD 1,234.56 paid.  ', 'Thank you!          ']);
  });
});

describe('lcdLines: hint, technician message and status', () => {
  it('a hint comes first in the body, then as much of the screen as fits', () => {
    const v = viewOf(SCREENS.basket, { hint: { hint: 'please-wait', text: 'Please wait…' } });
    expect(lcdLines(v).slice(1, 3)).toEqual(['Please wait...      ', '2 item(s)           ']);
  });

  it('a long hint takes the whole body and ends with an ellipsis', () => {
    const v = viewOf(SCREENS.basket, { hint: { hint: 'basket-full', text: 'The basket is full. Please pay for these items first.' } });
    expect(lcdLines(v).slice(1, 3)).toEqual(['The basket is full. ', 'Please pay for...   ']);
  });

  it('a technician message goes over the hint and the screen', () => {
    const v = viewOf(SCREENS.awaitingCode, { message: 'Cleaning until 15:10, sorry!', hint: { hint: 'please-wait', text: 'Please wait' } });
    const lines = lcdLines(v);
    expect(lines[0]).toBe('Pay ¥1,200          '); // the amount stays in view
    expect(lines.slice(1, 3)).toEqual(['Cleaning until      ', '15:10, sorry!       ']);
    const short = lcdLines(
      viewOf(SCREENS.awaitingCode, { message: 'Cleaning at 15:00', hint: { hint: 'please-wait', text: 'Please wait' } }),
    );
    expect(short.slice(1, 3)).toEqual(['Cleaning at 15:00   ', 'Please wait         ']);
  });

  it('a message in Japanese or with emoji falls back to ? and stays inside the row', () => {
    const v = viewOf(SCREENS.idle, { message: '点検中です 🔧 Maintenance' });
    expect(lcdLines(v).slice(1, 3)).toEqual(['? ? Maintenance     ', 'Scan your first...  ']);
  });

  it('OFFLINE sits discreetly at the right of the status line', () => {
    expect(lcdLines(viewOf(SCREENS.idle, { offline: true }))[3]).toBe('             OFFLINE');
  });

  it('the status line shows stored payments, forwarding progress and faults', () => {
    expect(lcdLines(viewOf(SCREENS.idle, { storedCount: 3 }))[3]).toBe('3 stored            ');
    expect(lcdLines(viewOf(SCREENS.idle, { storedCount: 3, forwarding: { done: 1, total: 3 } }))[3]).toBe('sending 1/3         ');
    expect(lcdLines(viewOf(SCREENS.idle, { faults: ['scanner unavailable'] }))[3]).toBe('!scanner unavailable');
    expect(lcdLines(viewOf(SCREENS.idle, { faults: ['scanner unavailable'], offline: true }))[3]).toBe('!1 fault     OFFLINE');
    expect(lcdLines(viewOf(SCREENS.idle, { faults: ['a', 'b'], storedCount: 12 }))[3]).toBe('12 stored !2 faults ');
    expect(lcdLines(viewOf(SCREENS.idle, { faults: ['a', 'b'], storedCount: 12, offline: true }))[3]).toBe('12 stored !  OFFLINE');
  });

  it('the stored count is never pushed out by faults', () => {
    const line = lcdLines(
      viewOf(SCREENS.idle, { faults: ['scanner unavailable', 'dispenser unavailable'], storedCount: 12, offline: true }),
    )[3]!;
    expect(line.startsWith('12 stored')).toBe(true);
    expect(line.endsWith('OFFLINE')).toBe(true);
    expect(line).toContain('!');
  });

  it('odd counts never throw and never print a wrong number', () => {
    expect(lcdLines(viewOf(SCREENS.idle, { storedCount: Number.NaN }))[3]).toBe('                    ');
    expect(lcdLines(viewOf(SCREENS.idle, { forwarding: { done: -1, total: 2.5 } }))[3]).toBe('sending ?/?         ');
  });
});

describe('wrap and ellipsize', () => {
  it('wraps greedily and cuts a word longer than a row', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrap('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    expect(wrap('  a \n\n b  ', 10)).toEqual(['a b']);
    expect(wrap('', 10)).toEqual([]);
  });

  it('ellipsizes at a word boundary when that keeps half the row, else mid-word', () => {
    expect(ellipsize('Scan more products, or press Pay.', 20)).toBe('Scan more product...');
    expect(ellipsize('Please pay for these items first.', 20)).toBe('Please pay for...');
    expect(ellipsize('short', 20)).toBe('short');
    expect(ellipsize('¥1,200 paid. Thank you!', 16)).toBe('¥1,200 paid...');
  });
});
