// SPDX-License-Identifier: Apache-2.0
// The kiosk's web screen over real HTTP on port 0: the page, the event stream (current view at once,
// throttled updates that end on the latest view, heartbeats, a client cap), /view, /healthz, and the
// simulated kiosk's routes against a fake SimControls.
import { afterEach, describe, expect, it } from 'vitest';
import { money } from '../../../shared/money.ts';
import { createWebDisplay, type WebDisplay } from './web-display.ts';
import { basketOf, basketView, FakeSimControls, idleView, ManualTimers, OUTPUTS_OFF, postJson, SseReader } from './web-test-kit.ts';
import { eventually } from '../../../shared/testing/wait.ts';

const PUSH_MS = 33;
const HEARTBEAT_MS = 15_000;
let open: WebDisplay[] = [];
let readers: SseReader[] = [];

afterEach(async () => {
  for (const r of readers) r.close();
  for (const d of open) await d.close();
  open = [];
  readers = [];
});

async function screen(o: { sim?: FakeSimControls; sseClientsMax?: number; timers?: ManualTimers } = {}): Promise<WebDisplay> {
  const d = await createWebDisplay({ port: 0, pushIntervalMs: PUSH_MS, heartbeatMs: HEARTBEAT_MS, ...o });
  open.push(d);
  return d;
}

async function events(d: WebDisplay): Promise<SseReader> {
  const r = await SseReader.open(d.url);
  readers.push(r);
  return r;
}

describe('the kiosk web screen', () => {
  it('serves one self-contained page with a CSP that allows no outside resource', async () => {
    const d = await screen();
    const r = await fetch(`${d.url}/`);
    const html = await r.text();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'none'.*script-src 'sha256-/);
    expect(html).toContain('new EventSource');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toContain('Simulated kiosk');
    expect(d.health).toBe('ok');
  });

  it('sends a new event client the current view at once, then later renders', async () => {
    const d = await screen();
    const b = basketOf({ name: 'Green tea', price: money(150, 'JPY') });
    d.render(basketView(b));
    const r = await events(d);
    const first = await r.frame(0);
    expect(first).toMatchObject({
      screen: 'basket',
      title: 'Total ¥150',
      basket: { total: '¥150', items: [{ name: 'Green tea', price: '¥150' }] },
    });
    expect(first).not.toHaveProperty('sim');
    d.render(idleView({ screen: { name: 'approved', total: money(150, 'JPY') } }));
    expect(await r.frame(1)).toMatchObject({ screen: 'approved', tone: 'good', title: 'Approved', lines: ['¥150 paid. Thank you!'] });
  });

  it('coalesces a burst of renders into one push that carries the latest view', async () => {
    const timers = new ManualTimers();
    const d = await screen({ timers });
    const r = await events(d);
    d.render(idleView());
    expect(await r.frame(0)).toMatchObject({ screen: 'idle' });
    for (let n = 1; n <= 5; n++)
      d.render(basketView(basketOf(...Array.from({ length: n }, () => ({ name: 'Tea', price: money(100, 'JPY') })))));
    expect(timers.fire(PUSH_MS)).toBe(1);
    const second = await r.frame(1);
    expect(second).toMatchObject({ screen: 'basket', basket: { itemCount: 5, total: '¥500' } });
    // The interval after a push with nothing new ends the throttle: no timer is left behind.
    expect(timers.fire(PUSH_MS)).toBe(1);
    expect(timers.pending(PUSH_MS)).toBe(0);
    d.render(idleView({ offline: true }));
    expect(await r.frame(2)).toMatchObject({ screen: 'idle', offline: true });
    expect(r.frames).toHaveLength(3);
  });

  it('sends comment heartbeats to idle event streams', async () => {
    const timers = new ManualTimers();
    const d = await screen({ timers });
    const r = await events(d);
    expect(timers.fire(HEARTBEAT_MS)).toBe(1);
    await r.until('a heartbeat', () => r.comments.length === 1);
    expect(r.comments[0]).toBe(': heartbeat');
    expect(timers.pending(HEARTBEAT_MS)).toBe(1);
  });

  it('refuses event streams beyond its cap with 503 and takes one again after a client leaves', async () => {
    const d = await screen({ sseClientsMax: 2 });
    const a = await events(d);
    await events(d);
    const third = await fetch(`${d.url}/events`);
    expect(third.status).toBe(503);
    expect(await third.json()).toMatchObject({ ok: false, error: { code: 'TOO_MANY_CLIENTS' } });
    a.close();
    await eventually(async () => ((await (await fetch(`${d.url}/healthz`)).json()) as { clients: number }).clients === 1, {
      what: 'the closed stream to be released',
    });
    const again = await events(d);
    d.render(idleView());
    expect(await again.frame(0)).toMatchObject({ screen: 'idle' });
  });

  it('answers /view with the current DisplayView and 503 before the first render', async () => {
    const d = await screen();
    expect((await fetch(`${d.url}/view`)).status).toBe(503);
    const v = basketView(basketOf({ name: 'Tea', price: money(100, 'JPY') }), { storedCount: 3, forwarding: { done: 1, total: 3 } });
    d.render(v);
    expect(await (await fetch(`${d.url}/view`)).json()).toEqual(JSON.parse(JSON.stringify(v)));
    expect(await (await fetch(`${d.url}/healthz`)).json()).toMatchObject({ ok: true, health: 'ok', rendered: true });
  });

  it('puts staff information, faults, the hint and a technician message into the model', async () => {
    const d = await screen();
    const r = await events(d);
    d.render(
      idleView({
        storedCount: 4,
        forwarding: { done: 2, total: 4 },
        faults: ['scanner unavailable'],
        message: 'Back in 5 minutes',
        hint: { hint: 'unknown-product', text: 'This product is not sold here.' },
      }),
    );
    expect(await r.frame(0)).toMatchObject({
      staff: 'policy prefer-online · stored 4 · forwarding 2/4',
      faults: ['scanner unavailable'],
      message: 'Back in 5 minutes',
      hint: 'This product is not sold here.',
    });
  });

  it('answers unknown routes 404 and wrong methods 405, as typed JSON', async () => {
    const d = await screen();
    expect(await (await fetch(`${d.url}/nope`)).json()).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await fetch(`${d.url}/view`, { method: 'DELETE' })).status).toBe(405);
    expect((await postJson(`${d.url}/view`, {})).status).toBe(405);
  });

  it('refuses a request that names a foreign host (DNS rebinding)', async () => {
    const d = await screen();
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${d.url}/view`, { headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('is unhealthy and refuses connections after close', async () => {
    const d = await createWebDisplay({ port: 0 });
    await d.close();
    expect(d.health).toBe('fault');
    await expect(fetch(`${d.url}/healthz`)).rejects.toThrow();
    await d.close();
  });

  it('says which setting moves it when its port is taken', async () => {
    const first = await screen();
    const port = Number(new URL(first.url).port);
    await expect(createWebDisplay({ port })).rejects.toThrow(
      `the kiosk screen's port ${port} on 127.0.0.1 is already in use; choose another with display.web.port in the kiosk config (0 = any free port)`,
    );
    await expect(createWebDisplay({ port, portSetting: '--kiosk-port' })).rejects.toThrow(
      'choose another with --kiosk-port (0 = any free port)',
    );
  });
});

describe('the simulated kiosk routes', () => {
  it('are all 404 on a real kiosk', async () => {
    const d = await screen();
    for (const path of ['/sim/scan', '/sim/button', '/sim/uplink'])
      expect((await postJson(`${d.url}${path}`, { text: 'x' })).status).toBe(404);
    expect(
      (await fetch(`${d.url}/sim/image`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(8) })).status,
    ).toBe(404);
    expect((await fetch(`${d.url}/sim/state`)).status).toBe(404);
  });

  it('puts the panel on the page and its state into every frame', async () => {
    const sim = new FakeSimControls();
    const d = await screen({ sim });
    expect(await (await fetch(`${d.url}/`)).text()).toContain('Simulated kiosk');
    const r = await events(d);
    d.render(idleView({ mode: 'vending', screen: { name: 'idle', mode: 'vending' } }));
    const f = await r.frame(0);
    // Vending: only slotted products, each pressing its slot.
    expect(f.sim).toEqual({
      uplinkUp: true,
      products: [
        { label: '1. Green tea 500 ml', price: '¥150', action: { slot: 1 } },
        { label: '2. Rice ball (salmon)', price: '¥180', action: { slot: 2 } },
      ],
      outputs: OUTPUTS_OFF,
    });
    d.render(idleView());
    expect(((await r.frame(1)).sim as { products: unknown[] }).products).toContainEqual({
      label: 'Chocolate bar',
      price: '¥120',
      action: { gtin: '5901234123457' },
    });
  });

  it('pushes a change of the simulated outputs without a new view, and stops listening when closed', async () => {
    const sim = new FakeSimControls();
    const d = await screen({ sim });
    const r = await events(d);
    d.render(idleView());
    await r.frame(0);
    sim.setOutputs({ leds: { ready: true, offline: false, fault: true }, buzzer: true, beeps: 1 });
    expect((await r.frame(1)).sim).toMatchObject({
      outputs: { leds: { ready: true, offline: false, fault: true }, buzzer: true, relay: false, beeps: 1, pulses: 0 },
    });
    expect(await (await fetch(`${d.url}/sim/state`)).json()).toMatchObject({ outputs: { buzzer: true, beeps: 1 } });
    sim.out = undefined; // a kiosk without GPIO
    d.render(idleView());
    await r.until('a frame without outputs', () => r.frames.some((f) => (f as { sim: { outputs: unknown } }).sim.outputs === null));
    expect(sim.listeners).toBe(1);
    await d.close();
    expect(sim.listeners).toBe(0);
  });

  it('call the matching SimControls method for scan, button and uplink', async () => {
    const sim = new FakeSimControls();
    const d = await screen({ sim });
    expect(await postJson(`${d.url}/sim/scan`, { text: '  4901234567894\n' })).toEqual({ status: 200, json: { ok: true } });
    expect((await postJson(`${d.url}/sim/button`, { button: 'pay' })).status).toBe(200);
    expect((await postJson(`${d.url}/sim/button`, { button: 'cancel' })).status).toBe(200);
    expect((await postJson(`${d.url}/sim/button`, { button: 'help' })).status).toBe(200);
    expect((await postJson(`${d.url}/sim/button`, { button: { slot: 3 } })).status).toBe(200);
    expect(await postJson(`${d.url}/sim/uplink`, { up: false })).toEqual({ status: 200, json: { ok: true, uplinkUp: false } });
    expect(sim.calls).toEqual([
      { scan: '4901234567894' },
      { press: 'pay' },
      { press: 'cancel' },
      { press: 'help' },
      { press: { slot: 3 } },
      { setUplink: false },
    ]);
    expect(await (await fetch(`${d.url}/sim/state`)).json()).toMatchObject({
      ok: true,
      uplinkUp: false,
      products: [{ gtin: '4901234567894' }, {}, {}],
    });
  });

  it('pushes the new uplink state to every screen when the switch is flipped', async () => {
    const sim = new FakeSimControls();
    const d = await screen({ sim });
    d.render(idleView());
    const r = await events(d);
    expect(await r.frame(0)).toMatchObject({ sim: { uplinkUp: true } });
    await postJson(`${d.url}/sim/uplink`, { up: false });
    expect(await r.frame(1)).toMatchObject({ sim: { uplinkUp: false } });
  });

  it('refuse malformed JSON, bodies that fail the schema, other media types and cross-site posts without calling the kiosk', async () => {
    const sim = new FakeSimControls();
    const d = await screen({ sim });
    const bad = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const r = await postJson(`${d.url}${path}`, body, headers);
      return [r.status, (r.json.error as { code: string }).code];
    };
    expect(await bad('/sim/scan', '{"text":')).toEqual([400, 'MALFORMED_JSON']);
    expect(await bad('/sim/scan', { text: '' })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/scan', { text: 'a\u0000b' })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/scan', { text: 'x'.repeat(513) })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/scan', { text: 'x', extra: 1 })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/button', { button: 'open-door' })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/button', { button: { slot: 0 } })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/uplink', { up: 'no' })).toEqual([400, 'INVALID_BODY']);
    expect(await bad('/sim/scan', 'x'.repeat(5_000))).toEqual([413, 'BODY_TOO_LARGE']);
    expect(await bad('/sim/scan', { text: 'x' }, { 'content-type': 'text/plain' })).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(await bad('/sim/scan', { text: 'x' }, { origin: 'http://evil.example' })).toEqual([403, 'FORBIDDEN_ORIGIN']);
    expect(sim.calls).toEqual([]);
  });

  it('still draw the shopper screen when the kiosk cannot list its products', async () => {
    const sim = new FakeSimControls();
    sim.products = () => {
      throw new Error('catalog store gone');
    };
    const d = await screen({ sim });
    const r = await events(d);
    d.render(idleView());
    const f = await r.frame(0);
    expect(f).toMatchObject({ screen: 'idle', title: 'Welcome' });
    expect(f).not.toHaveProperty('sim');
  });

  it('answer 500 and keep serving when the kiosk throws', async () => {
    const sim = new FakeSimControls();
    sim.press = () => {
      throw new Error('gpio closed');
    };
    const d = await screen({ sim });
    const r = await postJson(`${d.url}/sim/button`, { button: 'pay' });
    expect(r).toMatchObject({ status: 500, json: { ok: false, error: { code: 'INTERNAL' } } });
    expect((await postJson(`${d.url}/sim/scan`, { text: '4901234567894' })).status).toBe(200);
  });
});
