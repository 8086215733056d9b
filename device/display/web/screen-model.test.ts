// SPDX-License-Identifier: Apache-2.0
// The page's model of a view: words from words.ts, amounts formatted on the kiosk, bounded lists.
import { describe, expect, it } from 'vitest';
import { money } from '../../../shared/money.ts';
import { screenModel, SCREEN_LINES_MAX, SIM_PRODUCTS_MAX } from './screen-model.ts';
import { basketOf, basketView, FakeSimControls, idleView } from './web-test-kit.ts';

describe('screenModel', () => {
  it('words every screen and marks its tone', () => {
    expect(screenModel(idleView())).toMatchObject({ title: 'Welcome', tone: 'neutral', hint: null, basket: null, message: null });
    expect(screenModel(idleView({ screen: { name: 'authorising', total: money(300, 'JPY'), offline: true } }))).toMatchObject({
      title: 'Paying ¥300',
      tone: 'busy',
      lines: ['Checking your offline code…'],
    });
    expect(screenModel(idleView({ screen: { name: 'declined', reason: 'CODE_EXPIRED', text: '' } }))).toMatchObject({
      tone: 'bad',
      lines: ['This code has expired. Please refresh the code in your app.'],
    });
    expect(screenModel(idleView({ screen: { name: 'fault', fault: 'scanner-unavailable' } }))).toMatchObject({
      title: 'Out of service',
      tone: 'bad',
    });
  });

  it('sends at most SCREEN_LINES_MAX basket lines, the latest ones, with the total of all', () => {
    const items = Array.from({ length: SCREEN_LINES_MAX + 7 }, (_, i) => ({ name: `Item ${i}`, price: money(10, 'JPY') }));
    const m = screenModel(basketView(basketOf(...items)));
    expect(m.basket!.items).toHaveLength(SCREEN_LINES_MAX);
    expect(m.basket!.items[0]!.name).toBe('Item 7');
    expect(m.basket!.itemCount).toBe(SCREEN_LINES_MAX + 7);
    expect(m.basket!.total).toBe('¥570');
  });

  it('offers at most SIM_PRODUCTS_MAX product buttons', () => {
    const many = Array.from({ length: SIM_PRODUCTS_MAX + 10 }, (_, i) => ({ gtin: String(i), name: `P${i}`, price: money(100, 'JPY') }));
    expect(screenModel(idleView(), new FakeSimControls(many)).sim!.products).toHaveLength(SIM_PRODUCTS_MAX);
  });
});
