// SPDX-License-Identifier: Apache-2.0
// The uplink against the real embedded broker (port 0) and a tiny fake server that answers on the
// kiosk's reply topic with the server identity: first the Uplink contract (device/uplink/
// uplink-contract.ts, which the simulated uplink passes too), then what only MQTT has: sockets,
// logins, the ACL, a broker that restarts, and a process that must be able to exit.
import { spawn } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
// A cross-process test: it needs the real broker, so it reaches into broker/ (tests only).
import { startBroker, type RunningBroker } from '../broker/broker.ts';
import type { IdentityTable } from '../broker/identities.ts';
import { testIdentities } from '../broker/testing/test-identities.ts';
import { eventually, nextEvent, WAIT_MS, within } from '../shared/testing/wait.ts';
import { kioskRequest, type KioskRequest, type PayRequest, type PayResult } from '../shared/kiosk-messages.ts';
import { kioskIdOfRequestTopic, topics } from '../shared/topics.ts';
import { SimLink } from '../device/kiosk/sim-link.ts';
import { ManualTimers } from '../device/timers.ts';
import { MqttUplink, UPLINK_DEFAULTS, type UplinkOptions } from '../device/uplink/mqtt-uplink.ts';
import { UplinkConnectError, UplinkOfflineError } from '../device/uplink/uplink.ts';
import { uplinkContract, type ServerSide } from '../device/uplink/uplink-contract.ts';

let identities: IdentityTable;
beforeAll(async () => {
  identities = await testIdentities();
});

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
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { text: () => lines.join(''), logger: pino({ level: 'debug' }, stream) };
}

async function uplink(b: RunningBroker, extra: Partial<UplinkOptions> = {}): Promise<MqttUplink> {
  const u = await MqttUplink.connect({ url: b.url, kioskId: 'k1', username: 'k1', password: 'pw-k1', requestTimeoutMs: WAIT_MS, ...extra });
  uplinks.push(u);
  return u;
}

/** A fake payment server. `answer` returns the raw payloads to send back (strings or objects), in order. */
interface Responder {
  received: KioskRequest[];
  reply(kioskId: string, payload: unknown): Promise<void>;
}

async function responder(b: RunningBroker, answer: (req: KioskRequest, r: Responder) => unknown[] | undefined): Promise<Responder> {
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
const approved = (req: KioskRequest): PayResult => ({
  v: 1,
  type: 'pay.result',
  re: req.id,
  txId: (req as PayRequest).txId,
  status: 'approved',
  amount,
});

/** The process's exit, or undefined if it did not exit within `ms` (then it is killed). */
function exitOf(child: ReturnType<typeof spawn>, ms: number): Promise<number | null | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(undefined);
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

uplinkContract('MqttUplink over the embedded broker', async (o) => {
  const b = await startBroker({ port: 0, identities });
  const server = await mqtt.connectAsync(b.url, { protocolVersion: 4, username: 'server', password: 'pw-server', reconnectPeriod: 0 });
  const side: ServerSide = {
    received: [],
    published: [],
    reply: async (payload) => {
      await server.publishAsync(topics.kioskReplies('k1'), payload, { qos: 1 });
    },
    retain: async (topic, payload) => {
      await server.publishAsync(topic, payload, { qos: 1, retain: true });
    },
  };
  server.on('message', (topic, payload) => {
    if (topic === topics.kioskEvents('k1')) {
      side.published.push({ topic, payload: payload.toString() });
      return;
    }
    const req = kioskRequest.parse(JSON.parse(payload.toString())) as KioskRequest;
    side.received.push(req);
    void (async () => {
      const reply = await o.answer(req, side);
      if (reply) await side.reply(JSON.stringify(reply));
    })();
  });
  await server.subscribeAsync([topics.allKioskRequests, topics.kioskEvents('k1')], { qos: 1 });
  const timers = new ManualTimers();
  const link = new SimLink();
  const uplink = await MqttUplink.connect({
    url: b.url,
    kioskId: 'k1',
    username: 'k1',
    password: 'pw-k1',
    requestTimeoutMs: o.requestTimeoutMs,
    timers,
    random: o.random,
    subscriptions: o.subscriptions,
    link,
  });
  const next = (event: 'connected' | 'disconnected') => nextEvent(uplink, event);
  return {
    uplink,
    timers,
    server: side,
    cut: async () => {
      const down = next('disconnected');
      link.set(false);
      await down;
    },
    restore: async () => {
      const back = next('connected');
      link.set(true);
      await back;
    },
    dispose: async () => {
      await uplink.close();
      await server.endAsync(true);
      await b.close();
    },
  };
});

describe('MqttUplink', () => {
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
    expect(await within(u.request(pay('m1')), { what: 'the valid reply' })).toEqual(approved(pay('m1')));
    expect(text().match(/invalid reply dropped/g)).toHaveLength(3);
    expect(text().match(/reply does not answer its request/g)).toHaveLength(2);
    expect(text()).not.toContain('SECRET-CODE-TEXT');
    expect(text()).not.toContain('not json');
  });

  it('ignores replies for other ids', async () => {
    const b = await broker();
    await responder(b, (req) => [
      { ...approved(req), re: 'other-id' },
      { v: 1, type: 'error', re: null, code: 'INTERNAL', message: 'x' },
      approved(req),
    ]);
    const u = await uplink(b);
    expect(await within(u.request(pay('mine')), { what: 'the reply' })).toMatchObject({ re: 'mine', txId: 'tx-mine' });
  });

  it('sends a retry with the same txId as it is, without deduplicating', async () => {
    const b = await broker();
    const server = await responder(b, (req) => [approved(req)]);
    const u = await uplink(b);
    await u.request(pay('a1', 'tx-same'));
    await u.request(pay('a2', 'tx-same'));
    expect(server.received.map((r) => [r.id, (r as PayRequest).txId])).toEqual([
      ['a1', 'tx-same'],
      ['a2', 'tx-same'],
    ]);
  });

  it('sets TCP_NODELAY on its socket', async () => {
    const b = await broker();
    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    await uplink(b);
    const mine = spy.mock.contexts.filter((s) => (s as net.Socket).remotePort === b.port);
    expect(mine.length).toBeGreaterThan(0);
    expect(spy.mock.calls[spy.mock.contexts.indexOf(mine[0])]).toEqual([true]);
  });

  it('fails fast while disconnected, and reconnects when the broker is back', async () => {
    const b = await broker();
    const u = await uplink(b);
    const events: string[] = [];
    u.on('connected', () => events.push('connected')).on('disconnected', () => events.push('disconnected'));
    const down = nextEvent(u, 'disconnected');
    await b.close();
    await down;
    expect(u.connected).toBe(false);
    await expect(u.request(pay('offline'))).rejects.toBeInstanceOf(UplinkOfflineError);

    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    const up = nextEvent(u, 'connected', undefined, { what: "'connected' again" });
    const b2 = await broker(b.port);
    await responder(b2, (req) => [approved(req)]);
    await up;
    expect(events).toEqual(['disconnected', 'connected']);
    expect(await within(u.request(pay('back')), { what: 'the reply after reconnecting' })).toMatchObject({ re: 'back' });
    expect(spy.mock.contexts.some((s) => (s as net.Socket).remotePort === b2.port)).toBe(true);
  });

  it('open() returns at once, fails fast until connected, then emits connected', async () => {
    const b = await broker();
    await responder(b, (req) => [approved(req)]);
    const u = MqttUplink.open({ url: b.url, kioskId: 'k1', username: 'k1', password: 'pw-k1' });
    uplinks.push(u);
    const up = nextEvent(u, 'connected');
    expect(u.connected).toBe(false);
    await expect(u.request(pay('early'))).rejects.toBeInstanceOf(UplinkOfflineError);
    await up;
    expect(await within(u.request(pay('later')), { what: 'the reply' })).toMatchObject({ re: 'later' });
  });

  it('rejects connect() with UplinkConnectError when the broker refuses the password', async () => {
    const b = await broker();
    const err = await MqttUplink.connect({ url: b.url, kioskId: 'k1', username: 'k1', password: 'wrong' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UplinkConnectError);
    expect(err).toMatchObject({ returnCode: 4 });
  });

  it("rejects connect() when the ACL refuses the kiosk's reply subscription", async () => {
    const b = await broker();
    // The connect timeout runs on manual timers: it passes once the broker's refusal is seen.
    const timers = new ManualTimers();
    const { text, logger } = logSink();
    const connecting = MqttUplink.connect({ url: b.url, kioskId: 'k2', username: 'k1', password: 'pw-k1', timers, logger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await eventually(() => text().includes('Identifier rejected'), { what: "the broker's CONNACK 2 in the uplink's log" });
    timers.advance(UPLINK_DEFAULTS.connectTimeoutMs);
    const err = await connecting;
    expect(err).toBeInstanceOf(UplinkConnectError);
    // Since client ids are bound to identities (issue 12), k1 is refused already at CONNECT: its
    // uplink for k2 asks for client id kp-k2-..., which is k2's (CONNACK 2), before it could
    // subscribe to k2's replies.
    expect((err as Error).message).toMatch(/Identifier rejected/);
  });

  // close() right after a refused login once left MQTT.js reconnecting for ever, which kept the
  // kiosk CLI (and `kiosk doctor`) from exiting. The child process closes everything and must exit.
  it.each(['connect', 'open'])(
    'lets the process exit after %s() is refused with CONNACK 4 and closed',
    async (mode) => {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('./uplink-close-child.ts', import.meta.url).pathname, mode], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += String(d);
      });
      child.stderr!.on('data', (d: Buffer) => {
        err += String(d);
      });
      const code = await exitOf(child, 20_000);
      expect(out.trim(), err).toBe('{"refused":4}');
      expect(code, 'the child did not exit within 20 s of closing everything (killed)').toBe(0);
    },
    30_000,
  );

  it('rejects connect() after connectTimeoutMs when nothing listens', async () => {
    const b = await broker();
    const url = b.url;
    await b.close();
    const timers = new ManualTimers();
    const { text, logger } = logSink();
    const connecting = MqttUplink.connect({
      url,
      kioskId: 'k1',
      username: 'k1',
      password: 'pw-k1',
      connectTimeoutMs: 300,
      timers,
      logger,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await eventually(() => text().includes('ECONNREFUSED'), { what: "the refused connection in the uplink's log" });
    timers.advance(300);
    const err = await connecting;
    expect(err).toBeInstanceOf(UplinkConnectError);
    expect((err as Error).message).toMatch(/within 300 ms.*ECONNREFUSED/);
  });
});
