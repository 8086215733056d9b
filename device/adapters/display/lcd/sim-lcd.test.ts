// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { lcdContract } from './lcd-contract.ts';
import { lcdLines } from './lcd-lines.ts';
import { SCREENS, viewOf } from './lcd-test-views.ts';
import { SimLcd } from './sim-lcd.ts';

lcdContract('SimLcd', async () => {
  const screen = new SimLcd({ detached: true });
  return {
    screen,
    glass: () => [...screen.lines],
    flush: async () => {},
    connect: async () => screen.attach(),
    fail: async () => screen.detach(),
    recover: async () => screen.attach(),
  };
});

describe('SimLcd', () => {
  it('is attached and ok by default, and draws at once', () => {
    const lcd = new SimLcd();
    expect(lcd.health).toBe('ok');
    lcd.render(viewOf(SCREENS.idle));
    expect(lcd.lines).toEqual(lcdLines(viewOf(SCREENS.idle)));
  });

  it('counts a frame only when the glass changes', () => {
    const lcd = new SimLcd();
    lcd.render(viewOf(SCREENS.idle));
    lcd.render(viewOf(SCREENS.idle));
    lcd.render(viewOf(SCREENS.idle, { offline: true }));
    expect(lcd.framesDrawn).toBe(2);
  });

  it('takes another size', () => {
    const lcd = new SimLcd({ cols: 16, rows: 2 });
    lcd.render(viewOf(SCREENS.approved));
    expect(lcd.lines).toEqual(['Approved        ', '¥1,200 paid...  ']);
    expect(() => new SimLcd({ cols: 100 })).toThrow(/cols/);
  });
});
