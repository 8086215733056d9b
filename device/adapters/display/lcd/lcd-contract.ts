// SPDX-License-Identifier: Apache-2.0
// The contract both LCD adapters pass (run from lcd-display.test.ts with mock-firmata and an
// HD44780 model, and from sim-lcd.test.ts), in the style of MQTT.js abstractStoreTest. The
// semantics checked here are written on LcdScreen (lcd-screen.ts).
import { describe, expect, it } from 'vitest';
import { money } from '../../../../shared/money.ts';
import { isLcdChar } from './lcd-charset.ts';
import { lcdLines } from './lcd-lines.ts';
import { blankLines, type LcdScreen } from './lcd-screen.ts';
import { basketOf, SCREENS, viewOf } from './lcd-test-views.ts';

export interface LcdUnderTest {
  /** Made before its device is ready. */
  screen: LcdScreen;
  /** What the glass shows, read from the device side (for the real adapter: decoded from its writes). */
  glass(): string[];
  /** Lets due draws happen (advances injected timers past the draw interval, runs callbacks). */
  flush(): Promise<void>;
  /** The device becomes ready. */
  connect(): Promise<void>;
  /** The device fails (unplug, IO error). */
  fail(): Promise<void>;
  /** The device is back and ready again (after any reopen delay). */
  recover(): Promise<void>;
}

export function lcdContract(name: string, make: () => Promise<LcdUnderTest>): void {
  describe(`LCD contract: ${name}`, () => {
    const basket = viewOf(SCREENS.basket);
    const pay = viewOf(SCREENS.awaitingCode, { offline: true, storedCount: 2 });

    it('shows the latest view as lcdLines() lays it out once ready, and reports ok', async () => {
      const t = await make();
      await t.connect();
      expect(t.screen.health).toBe('ok');
      t.screen.render(basket);
      await t.flush();
      expect(t.glass()).toEqual(lcdLines(basket, t.screen.cols, t.screen.rows));
      expect(t.screen.lines).toEqual(t.glass());
      await t.screen.close();
    });

    it('keeps a view rendered before ready and draws it at ready', async () => {
      const t = await make();
      expect(t.screen.health).toBe('fault');
      t.screen.render(basket);
      t.screen.render(pay);
      await t.flush();
      expect(t.glass()).toEqual(blankLines(t.screen.cols, t.screen.rows));
      await t.connect();
      await t.flush();
      expect(t.glass()).toEqual(lcdLines(pay, t.screen.cols, t.screen.rows));
      await t.screen.close();
    });

    it('coalesces a burst of renders: the glass ends on the last view', async () => {
      const t = await make();
      await t.connect();
      for (let i = 1; i <= 20; i++) t.screen.render(viewOf({ name: 'basket', basket: basketOf(money(100 * i)) }));
      await t.flush();
      await t.flush();
      expect(t.glass()[0]).toBe('Total ¥2,000'.padEnd(t.screen.cols));
      await t.screen.close();
    });

    it('a device fault makes health fault; when it is back the latest view is drawn again', async () => {
      const t = await make();
      await t.connect();
      t.screen.render(basket);
      await t.flush();
      await t.fail();
      expect(t.screen.health).toBe('fault');
      expect(() => t.screen.render(pay)).not.toThrow();
      await t.recover();
      await t.flush();
      expect(t.screen.health).toBe('ok');
      expect(t.glass()).toEqual(lcdLines(pay, t.screen.cols, t.screen.rows));
      await t.screen.close();
    });

    it('never throws on hostile text and keeps every row inside the LCD set', async () => {
      const t = await make();
      await t.connect();
      const message = `\u0000\u001b[2J 🔥 ご注意 ${'x'.repeat(10_000)}\n\\~`;
      expect(() => t.screen.render(viewOf(SCREENS.idle, { message, faults: ['\u202eevil'], storedCount: -5 }))).not.toThrow();
      await t.flush();
      const glass = t.glass();
      expect(glass).toHaveLength(t.screen.rows);
      for (const row of glass) {
        expect(row).toHaveLength(t.screen.cols);
        for (const ch of row) expect(isLcdChar(ch)).toBe(true);
      }
      expect(glass[1]?.trim()).not.toBe('');
      await t.screen.close();
    });

    it('close is idempotent, blanks the glass and ignores later renders', async () => {
      const t = await make();
      await t.connect();
      t.screen.render(basket);
      await t.flush();
      await Promise.all([t.screen.close(), t.screen.close()]);
      await t.screen.close();
      expect(t.screen.health).toBe('fault');
      expect(t.glass()).toEqual(blankLines(t.screen.cols, t.screen.rows));
      expect(() => t.screen.render(pay)).not.toThrow();
      await t.flush();
      expect(t.glass()).toEqual(blankLines(t.screen.cols, t.screen.rows));
    });
  });
}
