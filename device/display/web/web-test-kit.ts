// SPDX-License-Identifier: Apache-2.0
// Test helpers for the kiosk's web screen: a SimControls fake that records calls, hand-driven
// timers, views for each screen, and a small SSE reader with bounded waits.
import type { TimerHandle } from '../../timers.ts';
import { request, type IncomingMessage } from 'node:http';
import { money, type Money } from '../../../shared/money.ts';
import type { KioskButton } from '../../adapters/gpio/gpio.ts';
import type { SimOutputState } from '../../adapters/gpio/sim-outputs.ts';
import type { Basket } from '../../domain/checkout/basket.ts';
import type { DisplayView } from '../display.ts';
import type { SimControls, SimProduct } from './sim-controls.ts';
import type { HubTimers } from './sse-hub.ts';

export type SimCall = { scan: string } | { press: KioskButton } | { setUplink: boolean };

export class FakeSimControls implements SimControls {
  readonly calls: SimCall[] = [];
  up = true;
  constructor(readonly items: SimProduct[] = PRODUCTS) {}
  scan(text: string): void {
    this.calls.push({ scan: text });
  }
  press(button: KioskButton): void {
    this.calls.push({ press: button });
  }
  setUplink(up: boolean): void {
    this.up = up;
    this.calls.push({ setUplink: up });
  }
  uplinkUp(): boolean {
    return this.up;
  }
  products(): readonly SimProduct[] {
    return this.items;
  }
  /** What outputs() answers; setOutputs() changes it and tells the screen. */
  out: SimOutputState | undefined = OUTPUTS_OFF;
  readonly #listeners = new Set<() => void>();
  outputs(): SimOutputState | undefined {
    return this.out;
  }
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }
  setOutputs(change: Partial<SimOutputState>): void {
    this.out = { ...(this.out ?? OUTPUTS_OFF), ...change };
    for (const fn of [...this.#listeners]) fn();
  }
  /** Screens listening for output changes. */
  get listeners(): number {
    return this.#listeners.size;
  }
}

export const OUTPUTS_OFF: SimOutputState = Object.freeze({
  leds: { ready: false, offline: false, fault: false },
  buzzer: false,
  relay: false,
  beeps: 0,
  pulses: 0,
});

export const PRODUCTS: SimProduct[] = [
  { gtin: '4901234567894', name: 'Green tea 500 ml', price: money(150, 'JPY'), slot: 1 },
  { gtin: '4006381333931', name: 'Rice ball (salmon)', price: money(180, 'JPY'), slot: 2 },
  { gtin: '5901234123457', name: 'Chocolate bar', price: money(120, 'JPY') },
];

/** Timers fired by hand, by their delay. */
export class ManualTimers implements HubTimers {
  #next = 1;
  readonly #pending = new Map<TimerHandle, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id: TimerHandle = { id: this.#next++ };
    this.#pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle);
  }
  /** How many timers with this delay are waiting. */
  pending(ms: number): number {
    return [...this.#pending.values()].filter((t) => t.ms === ms).length;
  }
  /** Fires the waiting timers with this delay (not the ones they schedule). */
  fire(ms: number): number {
    const due = [...this.#pending.entries()].filter(([, t]) => t.ms === ms);
    for (const [id] of due) this.#pending.delete(id);
    for (const [, t] of due) t.fn();
    return due.length;
  }
}

export function basketOf(...items: { name: string; price: Money; gtin?: string }[]): Basket {
  const total = items.reduce((sum, i) => sum + i.price.value, 0);
  return {
    currency: 'JPY',
    items: items.map((i) => ({ gtin: i.gtin ?? '4901234567894', name: i.name, price: i.price })),
    total: money(total, 'JPY'),
  };
}

export function idleView(over: Partial<DisplayView> = {}): DisplayView {
  return {
    kioskId: 'kiosk-7',
    mode: 'self-checkout',
    screen: { name: 'idle', mode: 'self-checkout' },
    offline: false,
    policyMode: 'prefer-online',
    storedCount: 0,
    faults: [],
    ...over,
  };
}

export function basketView(basket: Basket, over: Partial<DisplayView> = {}): DisplayView {
  return idleView({ screen: { name: 'basket', basket }, basket, ...over });
}

/** One SSE connection: its frames (parsed `data:` JSON) and raw comments, read with bounded waits. */
export class SseReader {
  readonly frames: unknown[] = [];
  readonly comments: string[] = [];
  #buffer = '';
  #waiters: Array<() => void> = [];
  private constructor(
    readonly res: IncomingMessage,
    readonly close: () => void,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        for (const line of block.split('\n')) {
          if (line.startsWith('data: ')) this.frames.push(JSON.parse(line.slice(6)));
          else if (line.startsWith(':')) this.comments.push(line);
        }
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static open(url: string): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`events: HTTP ${res.statusCode}`));
        }
        resolve(new SseReader(res, () => req.destroy()));
      });
      req.on('error', reject);
      req.setTimeout(5_000, () => req.destroy(new Error('events: no answer')));
      req.end();
    });
  }

  /** Waits (at most 5 s) until `cond` holds over what has arrived. */
  async until(what: string, cond: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async frame(n: number): Promise<Record<string, unknown>> {
    await this.until(`frame ${n}`, () => this.frames.length > n);
    return this.frames[n] as Record<string, unknown>;
  }
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
