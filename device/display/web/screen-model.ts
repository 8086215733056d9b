// SPDX-License-Identifier: Apache-2.0
// What the kiosk's web page draws, computed here from a DisplayView so the page stays a dumb
// renderer: every word (words.ts) and every amount (formatMoney) is prepared on the kiosk, and the
// page only puts text into elements. Plain JSON; never holds a payment code (a view has none).
import { formatMoney } from '../../../shared/money.ts';
import type { CheckoutMode } from '../../domain/checkout/types.ts';
import type { DisplayView } from '../display.ts';
import { screenWords, type ScreenWords } from '../words.ts';
import type { SimOutputState } from '../../adapters/gpio/sim-outputs.ts';
import type { SimControls } from './sim-controls.ts';

/** Most basket lines sent to the page (it shows the latest ones; the total covers all). */
export const SCREEN_LINES_MAX = 50;
/** Most product buttons on the simulated kiosk's panel. */
export const SIM_PRODUCTS_MAX = 48;

export interface SimProductButton {
  readonly label: string;
  readonly price: string;
  /** Vending: press this slot; self-checkout: scan this GTIN. */
  readonly action: { readonly slot: number } | { readonly gtin: string };
}

export interface ScreenModel {
  readonly kioskId: string;
  readonly mode: CheckoutMode;
  readonly screen: DisplayView['screen']['name'];
  readonly tone: ScreenWords['tone'];
  readonly title: string;
  readonly lines: readonly string[];
  readonly hint: string | null;
  readonly basket: {
    readonly items: readonly { readonly name: string; readonly price: string }[];
    readonly itemCount: number;
    readonly total: string;
  } | null;
  readonly offline: boolean;
  readonly message: string | null;
  /** Small staff information: stored offline payments, forwarding progress, policy. */
  readonly staff: string;
  readonly faults: readonly string[];
  /** The simulated kiosk's panel: uplink switch, product buttons, and its outputs (null without GPIO). */
  readonly sim?: { readonly uplinkUp: boolean; readonly products: readonly SimProductButton[]; readonly outputs: SimOutputState | null };
}

function staffLine(view: DisplayView): string {
  const parts = [`policy ${view.policyMode}`, `stored ${view.storedCount}`];
  if (view.forwarding) parts.push(`forwarding ${view.forwarding.done}/${view.forwarding.total}`);
  return parts.join(' · ');
}

function basketOf(view: DisplayView): ScreenModel['basket'] {
  const b = view.basket;
  if (!b) return null;
  return {
    items: b.items.slice(-SCREEN_LINES_MAX).map((i) => ({ name: i.name, price: formatMoney(i.price) })),
    itemCount: b.items.length,
    total: formatMoney(b.total),
  };
}

function simProducts(sim: SimControls, mode: CheckoutMode): SimProductButton[] {
  const out: SimProductButton[] = [];
  for (const p of sim.products()) {
    if (out.length >= SIM_PRODUCTS_MAX) break;
    if (mode === 'vending') {
      if (p.slot !== undefined) out.push({ label: `${p.slot}. ${p.name}`, price: formatMoney(p.price), action: { slot: p.slot } });
    } else out.push({ label: p.name, price: formatMoney(p.price), action: { gtin: p.gtin } });
  }
  return out;
}

export function screenModel(view: DisplayView, sim?: SimControls): ScreenModel {
  const words = screenWords(view);
  const model: ScreenModel = {
    kioskId: view.kioskId,
    mode: view.mode,
    screen: view.screen.name,
    tone: words.tone,
    title: words.title,
    lines: words.lines,
    hint: view.hint?.text ?? null,
    basket: basketOf(view),
    offline: view.offline,
    message: view.message ?? null,
    staff: staffLine(view),
    faults: view.faults,
  };
  return sim
    ? { ...model, sim: { uplinkUp: sim.uplinkUp(), products: simProducts(sim, view.mode), outputs: sim.outputs() ?? null } }
    : model;
}
