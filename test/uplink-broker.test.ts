// SPDX-License-Identifier: Apache-2.0
// The uplink against the real embedded broker (port 0) and a tiny fake server that answers on the
// kiosk's reply topic with the server identity.
import mqtt, { type MqttClient } from 'mqtt';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
// A cross-process test: it needs the real broker, so it reaches into broker/ (tests only).
import { startBroker, type RunningBroker } from '../broker/broker.ts';
import type { IdentityTable } from '../broker/identities.ts';
import { testIdentities } from '../broker/testing/test-identities.ts';
import type { ErrorReply, KioskRequest, PayRequest, PayResult } from '../shared/kiosk-messages.ts';
import { kioskIdOfRequestTopic, topics } from '../shared/topics.ts';
import { MqttUplink, type UplinkOptions } from '../device/uplink/mqtt-uplink.ts';
import { UplinkClosedError, UplinkConnectError, UplinkOfflineError, UplinkTimeoutError } from '../device/uplink/uplink.ts';

const WAIT_MS = 2_000;

let identities: IdentityTable;
beforeAll(async () => {
  identities = await testIdentities();
});

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const brokers: RunningBroker[] = [];
const uplinks: MqttUplink[] = [];
const responders: MqttClient[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(uplinks.splice(0).map((u) => u.close()));
  await Promise.all(responders.splice(0).map((r) => r.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(port = 0): Promise<RunningBroker> {
  const b = await startBroker({ port, identities });
  brokers.push(b);
  return b;
}

function logSink(): { text: () => string; logger: pino.Logger } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { text: () => lines.join(''), logger: pino({ level: 'debug' }, stream) };
}

async function uplink(b: RunningBroker, extra: Partial<UplinkOptions> = {}): Promise<MqttUplink> {
  const u = await MqttUplink.connect({ url: b.url, kioskId: 'k1', username: 'k1', password: 'pw-k1', requestTimeoutMs: 1_000, ...extra });
  uplinks.push(u);
  return u;
}

/** A fake payment server. `answer` returns the raw payloads to send back (strings or objects), in order. */
interface Responder { received: KioskRequest[]; reply(kioskId: string, payload: unknown): Promise<void> }

async function responder(b: RunningBroker, answer: (req: KioskRequest, r: Responder) => unknown[] | void): Promise<Responder> {
  const client = await mqtt.connectAsync(b.url, { protocolVersion: 4, username: 'server', password: 'pw-server', reconnectPeriod: 0 });
  responders.push(client);
  const r: Responder = {
    received: [],
    async reply(kioskId, payload) {
      await client.publishAsync(topics.kioskReplies(kioskId), typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
    },
  };
  client.on('message', (topic, payload) => {
    const kioskId = kioskIdOfRequestTopic(topic)!;
    const req = JSON.parse(payload.toString()) as KioskRequest;
    r.received.push(req);
    void (async () => {
      for (const out of answer(req, r) ?? []) await r.reply(kioskId, out);
    })();
  });
  await client.subscribeAsync(topics.allKioskRequests, { qos: 1 });
  return r;
}

const amount = { value: 500, currency: 'JPY' as const };
const pay = (id: string, txId = `tx-${id}`): PayRequest => ({ v: 1, type: 'pay', id, txId, code: 'SECRET-CODE-TEXT', amount });
const approved = (req: KioskRequest): PayResult => ({ v: 1, type: 'pay.result', re: req.id, txId: (req as PayRequest).txId, status: 'approved', amount });

describe('MqttUplink', () => {
  it('sends a request and resolves with the reply whose re is its id', async () => {
    const b = await broker();
    const server = await responder(b, (req) => [approved(req)]);
    const u = await uplink(b);
    expect(u.connected).toBe(true);
    const reply = await within(u.request(pay('r1')), 'the reply');
    expectTypeOf(reply).toEqualTypeOf<PayResult | ErrorReply>();
    expect(reply).toEqual({ v: 1, type: 'pay.result', re: 'r1', txId: 'tx-r1', status: 'approved', amount });
    expect(server.received).toEqual([pay('r1')]);
    expect(u.pendingRequests).toBe(0);
  });

  it('resolves with an error reply for its id', async () => {
    const b = await broker();
    await responder(b, (req) => [{ v: 1, type: 'error', re: req.id, code: 'MALFORMED_MESSAGE', message: 'no' }]);
    const u = await uplink(b);
    expect(await within(u.request({ v: 1, type: 'status', id: 's1', txId: 't1' }), 'the reply'))
      .toEqual({ v: 1, type: 'error', re: 's1', code: 'MALFORMED_MESSAGE', message: 'no' });
  });

  it('rejects with UplinkTimeoutError when no reply comes, clears its timer, and drops a late reply', async () => {
    const b = await broker();
    const { text, logger } = logSink();
    const server = await responder(b, () => []);
    const u = await uplink(b, { requestTimeoutMs: 150, logger });
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const started = performance.now();
    const err = await within(u.request(pay('slow')).then(() => undefined, (e: unknown) => e), 'the timeout');
    expect(err).toBeInstanceOf(UplinkTimeoutError);
    expect(err).toMatchObject({ name: 'UplinkTimeoutError', requestId: 'slow', timeoutMs: 150 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(setSpy.mock.calls.filter((c) => c[1] === 150)).toHaveLength(1);
    expect(u.pendingRequests).toBe(0);
    // Sent exactly once: no resend, no new id.
    expect(server.received).toEqual([pay('slow')]);
    // The late reply is dropped; a second fake server answers the next request.
    await server.reply('k1', approved(pay('slow')));
    await responder(b, (req) => [approved(req)]);
    expect(await within(u.request(pay('after')), 'the next reply')).toMatchObject({ re: 'after' });
    expect(text()).toContain('matches no pending request');
  });

  it('clears the timeout timer of a request that was answered', async () => {
    const b = await broker();
    await responder(b, (req) => [approved(req)]);
    const u = await uplink(b, { requestTimeoutMs: 4321 });
    const setSpy = vi.spyOn(globalThis, 'setTimeout');
    const clearSpy = vi.spyOn(globalThis, 'clearTimeout');
    await within(u.request(pay('r1')), 'the reply');
    const timer = setSpy.mock.results[setSpy.mock.calls.findIndex((c) => c[1] === 4321)]?.value as unknown;
    expect(timer).toBeDefined();
    expect(clearSpy.mock.calls.some((c) => c[0] === timer)).toBe(true);
  });

  it('ignores malformed replies and replies that do not answer the request, and never logs payloads', async () => {
    const b = await broker();
    const { text, logger } = logSink();
    await responder(b, (req) => [
      'not json {',
      { v: 1, type: 'pay.result', re: req.id },
      { v: 1, type: 'time.result', re: req.id, t0: 1, t1: 2, t2: 3 },
      { ...approved(req), txId: 'someone-elses-tx' },
      { v: 2, type: 'pay.result', re: req.id, txId: 'x', status: 'approved' },
      approved(req),
    ]);
    const u = await uplink(b, { logger });
    expect(await within(u.request(pay('m1')), 'the valid reply')).toEqual(approved(pay('m1')));
    expect(text().match(/invalid reply dropped/g)).toHaveLength(3);
    expect(text().match(/reply does not answer its request/g)).toHaveLength(2);
    expect(text()).not.toContain('SECRET-CODE-TEXT');
    expect(text()).not.toContain('not json');
  });

  it('ignores replies for other ids', async () => {
    const b = await broker();
    await responder(b, (req) => [{ ...approved(req), re: 'other-id' }, { v: 1, type: 'error', re: null, code: 'INTERNAL', message: 'x' }, approved(req)]);
    const u = await uplink(b);
    expect(await within(u.request(pay('mine')), 'the reply')).toMatchObject({ re: 'mine', txId: 'tx-mine' });
  });

  it('matches concurrent requests by id when replies come back in reverse order', async () => {
    const b = await broker();
    const seen: KioskRequest[] = [];
    const server = await responder(b, (req, r) => {
      seen.push(req);
      if (seen.length === 5) void (async () => { for (const q of [...seen].reverse()) await r.reply('k1', approved(q)); })();
    });
    const u = await uplink(b);
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const replies = await within(Promise.all(ids.map((id) => u.request(pay(id)))), 'five replies');
    expect(replies.map((r) => [r.re, r.type === 'pay.result' ? r.txId : null])).toEqual(ids.map((id) => [id, `tx-${id}`]));
    expect(server.received).toHaveLength(5);
  });

  it('sends a retry with the same txId as it is, without deduplicating', async () => {
    const b = await broker();
    const server = await responder(b, (req) => [approved(req)]);
    const u = await uplink(b);
    await u.request(pay('a1', 'tx-same'));
    await u.request(pay('a2', 'tx-same'));
    expect(server.received.map((r) => [r.id, (r as PayRequest).txId])).toEqual([['a1', 'tx-same'], ['a2', 'tx-same']]);
  });

  it('sets TCP_NODELAY on its socket', async () => {
    const b = await broker();
    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    await uplink(b);
    const mine = spy.mock.contexts.filter((s) => (s as net.Socket).remotePort === b.port);
    expect(mine.length).toBeGreaterThan(0);
    expect(spy.mock.calls[spy.mock.contexts.indexOf(mine[0])]).toEqual([true]);
  });

  it('rejects pending and later requests with UplinkClosedError on close', async () => {
    const b = await broker();
    await responder(b, () => []);
    const u = await uplink(b, { requestTimeoutMs: 60_000 });
    const pending = u.request(pay('p1')).then(() => undefined, (e: unknown) => e);
    await u.close();
    expect(await pending).toBeInstanceOf(UplinkClosedError);
    expect(u.pendingRequests).toBe(0);
    expect(u.connected).toBe(false);
    await expect(u.request(pay('p2'))).rejects.toBeInstanceOf(UplinkClosedError);
    await u.close();
  });

  it('refuses programmer errors: a duplicate pending id and a malformed request', async () => {
    const b = await broker();
    await responder(b, () => []);
    const u = await uplink(b);
    const first = u.request(pay('dup')).catch(() => undefined);
    await expect(u.request(pay('dup'))).rejects.toThrow('already pending');
    await expect(u.request({ ...pay('bad'), amount: { value: 1.5, currency: 'JPY' } })).rejects.toThrow('invalid pay request');
    await u.close();
    await first;
  });

  it('fails fast while disconnected, and reconnects when the broker is back', async () => {
    const b = await broker();
    const u = await uplink(b);
    const events: string[] = [];
    u.on('connected', () => events.push('connected')).on('disconnected', () => events.push('disconnected'));
    const down = within(new Promise<void>((resolve) => u.on('disconnected', resolve)), "'disconnected'");
    await b.close();
    await down;
    expect(u.connected).toBe(false);
    await expect(u.request(pay('offline'))).rejects.toBeInstanceOf(UplinkOfflineError);

    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    const up = within(new Promise<void>((resolve) => u.on('connected', resolve)), "'connected' again", 3_000);
    const b2 = await broker(b.port);
    await responder(b2, (req) => [approved(req)]);
    await up;
    expect(events).toEqual(['disconnected', 'connected']);
    expect(await within(u.request(pay('back')), 'the reply after reconnecting')).toMatchObject({ re: 'back' });
    expect(spy.mock.contexts.some((s) => (s as net.Socket).remotePort === b2.port)).toBe(true);
  });

  it('open() returns at once, fails fast until connected, then emits connected', async () => {
    const b = await broker();
    await responder(b, (req) => [approved(req)]);
    const u = MqttUplink.open({ url: b.url, kioskId: 'k1', username: 'k1', password: 'pw-k1' });
    uplinks.push(u);
    const up = within(new Promise<void>((resolve) => u.on('connected', resolve)), "'connected'");
    expect(u.connected).toBe(false);
    await expect(u.request(pay('early'))).rejects.toBeInstanceOf(UplinkOfflineError);
    await up;
    expect(await within(u.request(pay('later')), 'the reply')).toMatchObject({ re: 'later' });
  });

  it('rejects connect() with UplinkConnectError when the broker refuses the password', async () => {
    const b = await broker();
    const err = await MqttUplink.connect({ url: b.url, kioskId: 'k1', username: 'k1', password: 'wrong' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UplinkConnectError);
    expect(err).toMatchObject({ returnCode: 4 });
  });

  it("rejects connect() when the ACL refuses the kiosk's reply subscription", async () => {
    const b = await broker();
    const err = await MqttUplink.connect({ url: b.url, kioskId: 'k2', username: 'k1', password: 'pw-k1', connectTimeoutMs: 1_000 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UplinkConnectError);
    // Since client ids are bound to identities (issue 12), k1 is refused already at CONNECT: its
    // uplink for k2 asks for client id kp-k2-..., which is k2's (CONNACK 2), before it could
    // subscribe to k2's replies.
    expect((err as Error).message).toMatch(/Identifier rejected/);
  });

  it('rejects connect() after connectTimeoutMs when nothing listens', async () => {
    const b = await broker();
    const url = b.url;
    await b.close();
    const err = await MqttUplink.connect({ url, kioskId: 'k1', username: 'k1', password: 'pw-k1', connectTimeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UplinkConnectError);
    expect((err as Error).message).toMatch(/within 300 ms.*ECONNREFUSED/);
  });
});
