// SPDX-License-Identifier: Apache-2.0
// The /ops routes over real HTTP (port 0) against a test world: login, cookie flags, lockout,
// every route behind the session, the JSON snapshot and the live stream. The MQTT feed is not
// started: fleet messages are fed to the fleet state directly.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_KIOSK_POLICY } from '../../shared/kiosk-policy.ts';
import { lastWill } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import { makeWorld, type World } from '../testing/world.ts';
import { hashOperatorPassword } from './operator-auth.ts';
import { createOps, type Ops } from './ops.ts';
import { within } from '../../shared/testing/wait.ts';

const PASSWORD = 'a long operator password';

let w: World;
let ops: Ops;
let http: Server;
let base: string;

beforeEach(async () => {
  w = await makeWorld({
    operators: [{ username: 'ops', passwordHash: await hashOperatorPassword(PASSWORD, { N: 1024, r: 8, p: 1 }) }],
    ops: { liveClientsMax: 1 },
  });
  ops = createOps(w.ctx, { timings: { tickMs: 20, coalesceMs: 5 } });
  http = createServer((req, res) => {
    if (!ops.handler(req, res)) {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await ops.close();
  await new Promise<void>((r) => {
    http.close(() => r());
    http.closeAllConnections();
  });
  await w.close();
});

const get = (path: string, cookie?: string) => fetch(base + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const postLogin = (username: string, password: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/ops/login`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username, password }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });

async function login(): Promise<string> {
  const r = await postLogin('ops', PASSWORD);
  expect(r.status).toBe(303);
  const set = r.headers.get('set-cookie') ?? '';
  return set.split(';')[0]!;
}

describe('operator dashboard HTTP', () => {
  it('sends a visitor without a session to the login page, and refuses the API and stream', async () => {
    const page = await get('/ops');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/ops/login');
    for (const path of ['/ops/api/snapshot', '/ops/events', '/ops/anything']) expect((await get(path)).status).toBe(401);
    expect((await get('/ops/api/snapshot', 'kp_ops=' + 'A'.repeat(43))).status).toBe(401);
    const loginPage = await get('/ops/login');
    expect(loginPage.status).toBe(200);
    expect(await loginPage.text()).toContain('<form class="login" method="post" action="/ops/login">');
    expect(loginPage.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie on /ops for 12 hours on login', async () => {
    const r = await postLogin('ops', PASSWORD);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/ops');
    const set = r.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^kp_ops=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/ops; HttpOnly; SameSite=Strict$/);
    const page = await get('/ops', set.split(';')[0]);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="fleet"');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
  });

  it('refuses a wrong password, then locks the account after five failures', async () => {
    const wrong = await postLogin('ops', 'nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('Wrong username or password.');
    for (let i = 0; i < 4; i++) await postLogin('ops', `nope ${i}`);
    const locked = await postLogin('ops', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('set-cookie')).toBeNull();
    expect(Number(locked.headers.get('retry-after'))).toBe(15 * 60);
    w.clock.advance(15 * 60_000);
    expect((await postLogin('ops', PASSWORD)).status).toBe(303);
  });

  it('refuses a login form from another origin, of another type, or too large', async () => {
    expect((await postLogin('ops', PASSWORD, { origin: 'http://evil.example' })).status).toBe(403);
    const json = await fetch(`${base}/ops/login`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    expect((await postLogin('ops', 'x'.repeat(5000))).status).toBe(413);
  });

  it("serves the fleet and today's ledger as JSON to a logged-in operator", async () => {
    const cookie = await login();
    ops.fleet.apply(topics.kioskStatus('k1'), JSON.stringify(lastWill('kp-1')));
    const r = await get('/ops/api/snapshot', cookie);
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      operator: string;
      fleet: { kiosks: Array<{ kioskId: string; link: string }> };
      ledger: { day: string };
    };
    expect(body.operator).toBe('ops');
    expect(body.fleet.kiosks.map((k) => [k.kioskId, k.link])).toEqual([
      ['k1', 'offline'],
      ['k2', 'unknown'],
      ['k3', 'unknown'],
    ]);
    expect(body.ledger.day).toBe('2026-11-28');
  });

  it('shows a copied offline code and the revocation that follows as alerts with kiosk, wallet and amount', async () => {
    const cookie = await login();
    const p = await w.phone(20_000);
    await w.credential(p);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    await w.settle('k1', [{ txId: 'a-1', code, amount: { value: 1_000, currency: 'JPY' }, capturedAt: at }]);
    await w.settle('k3', [{ txId: 'b-1', code, amount: { value: 1_000, currency: 'JPY' }, capturedAt: at + 5_000 }]);
    const body = (await (await get('/ops/api/snapshot', cookie)).json()) as { fleet: { alerts: Array<Record<string, unknown>> } };
    const money = body.fleet.alerts.filter((a) => a['kind'] === 'offline-copy' || a['kind'] === 'credential-revoked');
    expect(money.map((a) => [a['kind'], a['kioskId'], a['walletId'], (a['amount'] as { value: number }).value, a['severity']])).toEqual([
      ['offline-copy', 'k3', p.walletId, 1_000, 'critical'],
      ['credential-revoked', 'k3', p.walletId, 1_000, 'critical'],
    ]);
    expect(String(money[0]!['message'])).toContain('k1 took first');
  });

  it('streams a snapshot first, then the change when a kiosk goes offline; caps the streams', async () => {
    const cookie = await login();
    ops.fleet.apply(
      topics.kioskStatus('k2'),
      JSON.stringify({
        v: 1,
        type: 'status',
        state: 'online',
        at: w.clock.nowMs(),
        seq: 1,
        firmware: 'kp-1',
        mode: 'vending',
        checkout: 'idle',
        policy: DEFAULT_KIOSK_POLICY,
        currency: 'JPY',
        queue: { count: 0, amount: { value: 0, currency: 'JPY' }, oldestCapturedAt: null, declined: 0, forwarding: null },
        clock: { trusted: true, offsetMs: 0, uncertaintyMs: 5, lastSyncAt: w.clock.nowMs() },
        health: { scanner: 'ok', gpio: 'ok', display: 'ok' },
        faults: [],
        catalogVersion: null,
        heartbeatMs: 30_000,
      }),
    );
    const ac = new AbortController();
    const r = await fetch(`${base}/ops/events`, { headers: { cookie }, signal: ac.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = sseFrames(r.body!);
    const first = await nextFrame(frames, () => true);
    expect(first.event).toBe('snapshot');
    const snap = JSON.parse(first.data) as { fleet: { kiosks: Array<{ kioskId: string; link: string }> } };
    expect(snap.fleet.kiosks.find((k) => k.kioskId === 'k2')?.link).toBe('online');

    expect((await get('/ops/events', cookie)).status).toBe(503); // liveClientsMax is 1

    ops.fleet.apply(topics.kioskStatus('k2'), JSON.stringify(lastWill('kp-1')));
    const change = await nextFrame(
      frames,
      (f) => f.event === 'kiosk' && (JSON.parse(f.data) as { kioskId: string; link: string }).link === 'offline',
    );
    expect(JSON.parse(change.data)).toMatchObject({ kioskId: 'k2', link: 'offline', offlineReason: 'lost' });
    ac.abort();
  });

  it('pushes the ledger again when a payment lands, and sends heartbeats on an idle stream', async () => {
    await ops.close();
    ops = createOps(w.ctx, { timings: { tickMs: 20, coalesceMs: 5, ledgerRefreshMs: 30, heartbeatMs: 30 } });
    const cookie = await login();
    const ac = new AbortController();
    const r = await fetch(`${base}/ops/events`, { headers: { cookie }, signal: ac.signal });
    const frames = sseFrames(r.body!, { comments: true });
    expect((await nextFrame(frames, () => true)).event).toBe('snapshot');
    await nextFrame(frames, (f) => f.event === 'comment' && f.data === 'heartbeat');
    const phone = await w.phone(5_000);
    expect((await w.pay('k3', await w.onlineCode(phone), 1_234)).status).toBe('approved');
    const ledger = await nextFrame(frames, (f) => f.event === 'ledger' && f.data.includes('"value":1234'));
    expect(JSON.parse(ledger.data)).toMatchObject({ totals: [{ currency: 'JPY', count: 1, amount: { value: 1234, text: '¥1,234' } }] });
    ac.abort();
  });

  it('serves the sales report, the transaction search and the audit log as JSON with ISO 8601 times, and names a bad parameter', async () => {
    const cookie = await login();
    const phone = await w.phone(5_000);
    const r = await w.send('k1', {
      v: 1,
      type: 'pay',
      id: 'c-l',
      txId: 'with-lines',
      code: await w.onlineCode(phone),
      amount: { value: 300, currency: 'JPY' },
      lines: [{ slot: 2, qty: 2, unitPrice: { value: 150, currency: 'JPY' } }],
    });
    expect(r).toMatchObject({ status: 'approved' });
    const sales = (await (await get('/ops/api/sales?product=slot:2', cookie)).json()) as {
      from: string;
      timeZone: string;
      totals: Array<{ amount: { value: number } }>;
      byKiosk: Array<{ kioskId: string; amount: { value: number } }>;
      csv: { byDay: { text: string } };
    };
    expect([sales.from, sales.timeZone, sales.totals[0]?.amount.value]).toEqual(['2026-11-28', 'Asia/Tokyo', 300]);
    expect(sales.csv.byDay.text).toContain('2026-11-28,2026-11-28T00:00:00+09:00,JPY,1,2,300,,');
    const tx = (await (await get('/ops/api/transactions?q=with-lines', cookie)).json()) as {
      items: Array<{ at: string; products: string }>;
    };
    expect(tx.items).toEqual([expect.objectContaining({ at: '2026-11-28T21:00:00+09:00', products: '2 × slot 2' })]);
    expect(await (await get('/ops/api/audit', cookie)).json()).toMatchObject({ items: [], truncated: false });
    const bad = await get('/ops/api/sales?from=yesterday', cookie);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'MALFORMED_MESSAGE', message: 'from must be a date like 2026-11-28' } });
    expect((await get('/ops/api/sales')).status).toBe(401);
    expect((await fetch(`${base}/ops/api/sales`, { method: 'POST', headers: { cookie } })).status).toBe(405);
  });

  it("refunds only with the session's CSRF token, from the same origin, as JSON; the operator is the session's login", async () => {
    const cookie = await login();
    const html = await (await get('/ops', cookie)).text();
    const csrf = /<meta name="kp-csrf" content="([A-Za-z0-9_-]{43})">/.exec(html)?.[1];
    expect(csrf).toBeDefined();
    const phone = await w.phone(5_000);
    const paid = await w.pay('k1', await w.onlineCode(phone), 1_000);
    const body = (o: Record<string, unknown> = {}) =>
      JSON.stringify({
        paymentId: paid.paymentId,
        action: 'refund',
        amount: 400,
        reason: 'coffee was cold',
        requestKey: 'http-refund-key-001',
        operator: undefined,
        ...o,
      });
    const post = (headers: Record<string, string>, text = body()) =>
      fetch(`${base}/ops/api/refund`, { method: 'POST', body: text, headers: { cookie, 'content-type': 'application/json', ...headers } });
    const refused = async (r: Response, status: number, code: string) => {
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
    };
    await refused(await post({}), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': 'A'.repeat(43) }), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, origin: 'http://evil.example' }), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, 'sec-fetch-site': 'cross-site' }), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refused(
      await post(
        { 'x-csrf-token': csrf! },
        JSON.stringify({
          paymentId: paid.paymentId,
          action: 'refund',
          amount: 1,
          reason: 'x',
          requestKey: 'http-refund-key-009',
          operator: 'mallory',
        }),
      ),
      400,
      'MALFORMED_MESSAGE',
    );
    expect(
      (
        await fetch(`${base}/ops/api/refund`, {
          method: 'POST',
          body: body(),
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf! },
        })
      ).status,
    ).toBe(401);
    expect(await w.balance(`shopper:${phone.walletId}`)).toBe(4_000);

    const ok = await post({ 'x-csrf-token': csrf!, origin: base, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      repeated: false,
      action: { operator: 'ops', action: 'refund', amount: { value: 400 }, reason: 'coffee was cold', at: '2026-11-28T21:00:00+09:00' },
      refunded: { value: 400 },
      remaining: { value: 600 },
      shopperBalance: { value: 4_400, text: '¥4,400' },
    });
    expect(await (await post({ 'x-csrf-token': csrf! })).json()).toMatchObject({ repeated: true, shopperBalance: { value: 4_400 } });
    await refused(
      await post({ 'x-csrf-token': csrf! }, body({ amount: 601, requestKey: 'http-refund-key-002' })),
      422,
      'REFUND_EXCEEDS_PAID',
    );
    await refused(await post({ 'x-csrf-token': csrf! }, body({ amount: 5 })), 409, 'REQUEST_KEY_CONFLICT');
    await refused(
      await post({ 'x-csrf-token': csrf! }, body({ paymentId: 'pay_none', requestKey: 'http-refund-key-003' })),
      404,
      'NOT_FOUND',
    );
    const audit = (await (await get('/ops/api/audit', cookie)).json()) as { items: Array<{ operator: string; amount: { value: number } }> };
    expect(audit.items.map((a) => [a.operator, a.amount.value])).toEqual([['ops', 400]]);
  });

  it("lists a kiosk's Help request in the snapshot and pushes it on the stream, with times in ISO 8601", async () => {
    const cookie = await login();
    const ac = new AbortController();
    const r = await fetch(`${base}/ops/events`, { headers: { cookie }, signal: ac.signal });
    const frames = sseFrames(r.body!);
    const snap = JSON.parse((await nextFrame(frames, (f) => f.event === 'snapshot')).data) as {
      timeZone: string;
      reasons: Record<string, string>;
      fleet: { at: string; help: unknown[] };
    };
    expect(snap.timeZone).toBe('Asia/Tokyo');
    expect(snap.reasons['OFFLINE_LIMIT_DAILY']).toBe('The offline amount or count in the last 24 hours would exceed the limit.');
    expect([snap.fleet.at, snap.fleet.help]).toEqual(['2026-11-28T21:00:00+09:00', []]);
    w.clock.advance(5_000);
    ops.fleet.apply(
      topics.kioskEvents('k2'),
      JSON.stringify({ v: 1, type: 'event', at: w.clock.nowMs(), kind: 'fault', fault: 'help-requested', raised: true }),
    );
    // One push: the kiosks that changed, then the summary. The stream's real-time tick may push k2
    // before the event too (its clock moved): the frame wanted is the one that heard the event.
    const heard = (f: Frame) =>
      f.event === 'kiosk' && (JSON.parse(f.data) as { kioskId: string; lastHeardAt: string | null }).lastHeardAt !== null;
    const kiosk = await nextFrame(frames, (f) => heard(f) && f.data.includes('"kioskId":"k2"'));
    expect(JSON.parse(kiosk.data)).toMatchObject({
      kioskId: 'k2',
      lastHeardAt: '2026-11-28T21:00:05+09:00',
      since: '2026-11-28T21:00:00+09:00',
    });
    const summary = await nextFrame(frames, (f) => f.event === 'summary' && f.data.includes('"help":[{'));
    expect(JSON.parse(summary.data)).toMatchObject({
      at: '2026-11-28T21:00:05+09:00',
      help: [{ kioskId: 'k2', at: '2026-11-28T21:00:05+09:00', count: 1, handled: null }],
    });
    ac.abort();
    const body = (await (await get('/ops/api/snapshot', cookie)).json()) as { fleet: { help: Array<{ kioskId: string }> } };
    expect(body.fleet.help.map((h) => h.kioskId)).toEqual(['k2']);
  });

  it('marks a Help request handled only with the CSRF token, pushes it handled to every dashboard, and audits it once', async () => {
    const cookie = await login();
    const csrf = /<meta name="kp-csrf" content="([A-Za-z0-9_-]{43})">/.exec(await (await get('/ops', cookie)).text())?.[1];
    expect(csrf).toBeDefined();
    const post = (headers: Record<string, string>, text = JSON.stringify({ kioskId: 'k2' })) =>
      fetch(`${base}/ops/api/help/handled`, {
        method: 'POST',
        body: text,
        headers: { cookie, 'content-type': 'application/json', ...headers },
      });
    const refused = async (r: Response, status: number, code: string) => {
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
    };
    const press = () =>
      ops.fleet.apply(
        topics.kioskEvents('k2'),
        JSON.stringify({ v: 1, type: 'event', at: w.clock.nowMs(), kind: 'fault', fault: 'help-requested', raised: true }),
      );
    await refused(await post({ 'x-csrf-token': csrf! }), 404, 'NOT_FOUND');
    press();
    w.clock.advance(10_000);
    press();
    const ac = new AbortController();
    const frames = sseFrames((await fetch(`${base}/ops/events`, { headers: { cookie }, signal: ac.signal })).body!);
    await nextFrame(frames, (f) => f.event === 'snapshot');
    w.clock.advance(20_000);
    await refused(await post({}), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, origin: 'http://evil.example' }), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, 'sec-fetch-site': 'cross-site' }), 403, 'CSRF_REFUSED');
    await refused(await post({ 'x-csrf-token': csrf!, 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refused(await post({ 'x-csrf-token': csrf! }, JSON.stringify({ kioskId: 'k2', operator: 'mallory' })), 400, 'MALFORMED_MESSAGE');
    expect(ops.fleet.helpRequest('k2')?.handled).toBeNull();

    const ok = await post({ 'x-csrf-token': csrf!, origin: base, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    const handled = { by: 'ops', at: '2026-11-28T21:00:30+09:00' };
    expect(await ok.json()).toEqual({
      repeated: false,
      request: { kioskId: 'k2', at: '2026-11-28T21:00:10+09:00', count: 2, handled },
      record: {
        id: expect.stringMatching(/^help_[0-9a-f]{24}$/),
        at: handled.at,
        operator: 'ops',
        kioskId: 'k2',
        requestedAt: '2026-11-28T21:00:10+09:00',
        presses: 2,
      },
    });
    // Every dashboard sees it handled, still listed.
    const summary = await nextFrame(frames, (f) => f.event === 'summary' && f.data.includes('"handled":{'));
    expect(JSON.parse(summary.data).help).toEqual([{ kioskId: 'k2', at: '2026-11-28T21:00:10+09:00', count: 2, handled }]);
    ac.abort();
    // A second click records nothing and says how it was handled.
    expect(await (await post({ 'x-csrf-token': csrf! })).json()).toMatchObject({ repeated: true, record: null, request: { handled } });
    const audit = (await (await get('/ops/api/audit', cookie)).json()) as { items: unknown[] };
    expect(audit.items).toEqual([
      {
        id: expect.stringMatching(/^help_/),
        at: handled.at,
        operator: 'ops',
        action: 'help-handled',
        paymentId: null,
        kioskId: 'k2',
        amount: null,
        reason: '',
        help: { requestedAt: '2026-11-28T21:00:10+09:00', presses: 2 },
      },
    ]);
    // The shopper presses again: a new request, open.
    w.clock.advance(1_000);
    press();
    expect(ops.fleet.helpRequest('k2')).toMatchObject({ count: 1, handled: null });
    expect((await fetch(`${base}/ops/api/help/handled`, { headers: { cookie } })).status).toBe(405);
  });

  it('ends the session on logout', async () => {
    const cookie = await login();
    const out = await fetch(`${base}/ops/logout`, { method: 'POST', redirect: 'manual', headers: { cookie } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^kp_ops=; Max-Age=0; Path=\/ops; HttpOnly; SameSite=Strict$/);
    expect((await get('/ops/api/snapshot', cookie)).status).toBe(401);
  });

  it('leaves paths outside /ops alone', async () => {
    expect((await get('/opsx')).status).toBe(404);
    expect((await get('/wallet/')).status).toBe(404);
  });
});

interface Frame {
  event: string;
  data: string;
}

/** SSE frames; with `comments`, a comment line comes out as event `comment`. */
async function* sseFrames(body: ReadableStream<Uint8Array>, o: { comments?: boolean } = {}): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buf = '';
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) yield { event, data };
      else if (o.comments && block.startsWith(': ')) yield { event: 'comment', data: block.slice(2) };
    }
  }
}

async function nextFrame(frames: AsyncGenerator<Frame>, want: (f: Frame) => boolean): Promise<Frame> {
  const find = (async () => {
    for (;;) {
      const n = await frames.next();
      if (n.done) throw new Error('stream ended');
      if (want(n.value)) return n.value;
    }
  })();
  return within(find, { what: 'such a frame on the stream' });
}
