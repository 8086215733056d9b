// SPDX-License-Identifier: Apache-2.0
// The broker over real sockets (port 0) with MQTT.js clients speaking 3.1.1.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KIOSK_MESSAGE_BYTES_MAX } from '../shared/kiosk-messages.ts';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import type { IdentityTable } from './identities.ts';
import { testIdentities } from './testing/test-identities.ts';
import { WAIT_MS, within } from '../shared/testing/wait.ts';

let identities: IdentityTable;
beforeAll(async () => {
  // Hashed once: the table is immutable configuration.
  identities = await testIdentities([{ username: 'tech', password: 'pw-tech', role: 'technician' }]);
});

const passwords: Record<string, string> = { k1: 'pw-k1', k2: 'pw-k2', server: 'pw-server', tech: 'pw-tech' };

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Each test's world: its brokers, clients and servers, all closed in afterEach. */
const brokers: RunningBroker[] = [];
const clients: MqttClient[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

function logSink(): { lines: string[]; logger: pino.Logger } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

async function broker(logger?: pino.Logger): Promise<RunningBroker> {
  // No login backoff: these tests log in wrongly and then again from one loopback address.
  const b = await startBroker({ port: 0, identities, limits: { authBackoffBaseMs: 0 }, ...(logger ? { logger } : {}) });
  brokers.push(b);
  return b;
}

async function connect(b: RunningBroker, username: string | undefined, extra: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(b.url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...(username ? { username, password: passwords[username], clientId: `kp-${username}-${Math.random().toString(16).slice(2, 10)}` } : {}),
    ...extra,
  });
  clients.push(client);
  await within(
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    }),
    { what: `CONNACK for ${username ?? 'anonymous'}` },
  );
  return client;
}

/** Collects messages and waits for one that matches. */
function inbox(client: MqttClient) {
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    for (const w of waiters.splice(0)) w();
  });
  return {
    messages,
    next(match: (m: Received) => boolean, what: string): Promise<Received> {
      return within(
        new Promise<Received>((resolve) => {
          const check = () => {
            const hit = messages.find(match);
            if (hit) resolve(hit);
            else waiters.push(check);
          };
          check();
        }),
        { what },
      );
    },
  };
}

/** SUBACK return codes per filter, in order. MQTT.js rejects when any is 0x80, with the SUBACK attached. */
async function subscribeCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (e) {
    const granted = (e as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw e;
    return granted;
  }
}

function closed(client: MqttClient): Promise<void> {
  return within(new Promise<void>((resolve) => client.once('close', () => resolve())), { what: 'the connection to close' });
}

async function connackError(b: RunningBroker, username: string | undefined, extra: IClientOptions = {}): Promise<number | undefined> {
  const err = await connect(b, username, extra).then(
    () => undefined,
    (e: unknown) => e as { code?: number },
  );
  return err?.code;
}

describe('authentication', () => {
  it('refuses anonymous clients with CONNACK 5', async () => {
    const b = await broker();
    expect(await connackError(b, undefined)).toBe(5);
  });

  it('refuses a wrong password and an unknown user with CONNACK 4, and never logs the password', async () => {
    const { lines, logger } = logSink();
    const b = await broker(logger);
    expect(await connackError(b, 'k1', { password: 'wrong-secret-123' })).toBe(4);
    expect(await connackError(b, 'nobody', { password: 'pw-k1' })).toBe(4);
    expect(lines.join('')).toContain('connection refused');
    expect(lines.join('')).not.toContain('wrong-secret-123');
    expect(lines.join('')).not.toContain('pw-k1');
  });

  it('accepts each identity with its own password', async () => {
    const b = await broker();
    for (const name of ['k1', 'server', 'tech']) await connect(b, name);
  });

  it('refuses client ids longer than 64 bytes with CONNACK 2', async () => {
    const b = await broker();
    expect(await connackError(b, 'k1', { clientId: 'c'.repeat(65) })).toBe(2);
    await connect(b, 'k1', { clientId: `kp-k1-${'c'.repeat(58)}` });
  });

  it('refuses a keepalive of 0 (never) or above 300 s, so dead kiosks are noticed', async () => {
    const b = await broker();
    expect(await connackError(b, 'k1', { keepalive: 0 })).toBe(6);
    expect(await connackError(b, 'k1', { keepalive: 301 })).toBe(6);
    await connect(b, 'k1', { keepalive: 300 });
  });

  it('does not let one identity take over the client id of another', async () => {
    const b = await broker();
    const server = await connect(b, 'server', { clientId: 'kioskpay-server' });
    expect(await connackError(b, 'k1', { clientId: 'kioskpay-server' })).toBe(2);
    expect(server.connected).toBe(true);
  });

  it("binds client ids to identities: a kiosk cannot squat the server's id while the server is away (issue 12, finding 3)", async () => {
    const b = await broker();
    // The server is down. Before the binding, k1 got in as `kioskpay-server`, and the server coming
    // back got CONNACK 2 for as long as k1 stayed.
    expect(await connackError(b, 'k1', { clientId: 'kioskpay-server' })).toBe(2);
    expect(await connackError(b, 'tech', { clientId: 'kioskpay-server' })).toBe(2);
    expect(await connackError(b, 'k1', { clientId: 'kp-k2-1234abcd' })).toBe(2);
    expect(await connackError(b, 'k1', { clientId: 'k2' })).toBe(2);
    expect(await connackError(b, 'server', { clientId: 'kp-k1-1234abcd' })).toBe(2);
    expect((await connect(b, 'server', { clientId: 'kioskpay-server' })).connected).toBe(true);
    for (const id of ['k1', 'kp-k1', 'kp-k1-1234abcd']) expect((await connect(b, 'k1', { clientId: id })).connected).toBe(true);
    expect((await connect(b, 'tech', { clientId: 'kp-console-0123456789ab' })).connected).toBe(true);
    expect((await connect(b, 'tech', { clientId: 'kp-tech-laptop' })).connected).toBe(true);
  });

  it('lets an identity take over its own client id, as a reconnecting kiosk does', async () => {
    const b = await broker();
    const first = await connect(b, 'k1', { clientId: 'kp-k1' });
    const firstClosed = closed(first);
    await connect(b, 'k1', { clientId: 'kp-k1' });
    await firstClosed;
  });

  it('refuses at CONNECT a last will the identity could not publish', async () => {
    const b = await broker();
    const will = { topic: topics.kioskRequests('k2'), payload: Buffer.from('{}'), qos: 1 as const, retain: false };
    expect(await connackError(b, 'k1', { will })).toBe(5);
    await connect(b, 'k1', { will: { ...will, topic: topics.kioskRequests('k1') } });
  });
});

describe('publishing', () => {
  it("delivers a kiosk's request on its own topic to the server", async () => {
    const b = await broker();
    const server = await connect(b, 'server');
    const serverInbox = inbox(server);
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const k1 = await connect(b, 'k1');
    await k1.publishAsync(topics.kioskRequests('k1'), '{"hello":1}', { qos: 1 });
    const m = await serverInbox.next((x) => x.topic === topics.kioskRequests('k1'), 'the request');
    expect(m.payload).toBe('{"hello":1}');
  });

  it("closes a kiosk that publishes to another kiosk's topic, and nothing reaches the server", async () => {
    const b = await broker();
    const server = await connect(b, 'server');
    const serverInbox = inbox(server);
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const k1 = await connect(b, 'k1');
    const k1Closed = closed(k1);
    k1.publish(topics.kioskRequests('k2'), '{"forged":true}', { qos: 1 });
    await k1Closed;
    // A later, allowed request arrives; the forged one never did.
    const k2 = await connect(b, 'k2');
    await k2.publishAsync(topics.kioskRequests('k2'), '{"real":true}', { qos: 1 });
    await serverInbox.next((x) => x.payload === '{"real":true}', 'the allowed request');
    expect(serverInbox.messages.map((x) => x.payload)).toEqual(['{"real":true}']);
  });

  it('closes a kiosk that publishes a retained message, and nothing is retained', async () => {
    const b = await broker();
    const k1 = await connect(b, 'k1');
    const k1Closed = closed(k1);
    k1.publish(topics.kioskRequests('k1'), '{"sticky":true}', { qos: 1, retain: true });
    await k1Closed;
    const server = await connect(b, 'server');
    const serverInbox = inbox(server);
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const again = await connect(b, 'k1');
    await again.publishAsync(topics.kioskRequests('k1'), '{"live":true}', { qos: 1 });
    await serverInbox.next((x) => x.payload === '{"live":true}', 'the live request');
    expect(serverInbox.messages.map((x) => x.payload)).toEqual(['{"live":true}']);
  });

  it('closes any client that publishes under $SYS/', async () => {
    const b = await broker();
    for (const name of ['server', 'k1']) {
      const c = await connect(b, name);
      const cClosed = closed(c);
      c.publish('$SYS/broker/fake', 'x', { qos: 1 });
      await cClosed;
    }
  });

  it('closes a technician that publishes anything', async () => {
    const b = await broker();
    const tech = await connect(b, 'tech');
    const techClosed = closed(tech);
    tech.publish(topics.revocations, '{}', { qos: 1, retain: true });
    await techClosed;
  });

  it('accepts a payload of exactly 256 KiB and closes a client that sends one byte more', async () => {
    const b = await broker();
    const server = await connect(b, 'server');
    const serverInbox = inbox(server);
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const k1 = await connect(b, 'k1');
    await k1.publishAsync(topics.kioskRequests('k1'), Buffer.alloc(KIOSK_MESSAGE_BYTES_MAX, 0x61), { qos: 1 });
    await serverInbox.next((x) => x.payload.length === KIOSK_MESSAGE_BYTES_MAX, 'the 256 KiB request');
    const k1Closed = closed(k1);
    k1.publish(topics.kioskRequests('k1'), Buffer.alloc(KIOSK_MESSAGE_BYTES_MAX + 1, 0x62), { qos: 1 });
    await k1Closed;
    const k2 = await connect(b, 'k2');
    await k2.publishAsync(topics.kioskRequests('k2'), 'after', { qos: 1 });
    await serverInbox.next((x) => x.payload === 'after', 'a later request');
    expect(serverInbox.messages.map((x) => x.payload.length)).toEqual([KIOSK_MESSAGE_BYTES_MAX, 5]);
  });

  it('closes a client whose packet announces far more than the limit before it is buffered', async () => {
    const { lines, logger } = logSink();
    const b = await broker(logger);
    const k1 = await connect(b, 'k1');
    const k1Closed = closed(k1);
    // A 10 MiB publish: the broker closes on the header instead of buffering it all.
    k1.publish(topics.kioskRequests('k1'), Buffer.alloc(10 * 1024 * 1024), { qos: 0 });
    await k1Closed;
    expect(lines.join('')).toContain('packet too large');
  });
});

describe('subscribing', () => {
  it("refuses a kiosk the reply wildcard and another kiosk's replies with SUBACK 128", async () => {
    const b = await broker();
    const k1 = await connect(b, 'k1');
    const codes = await subscribeCodes(k1, [
      topics.kioskReplies('k1'),
      'kp/v1/kiosk/+/res',
      topics.kioskReplies('k2'),
      'kp/v1/kiosk/k1/#',
      '#',
      'kp/#',
    ]);
    expect(codes).toEqual([1, 128, 128, 128, 128, 128]);
    expect(k1.connected).toBe(true);
  });

  it("delivers the server's reply to its kiosk only", async () => {
    const b = await broker();
    const k1 = await connect(b, 'k1');
    const k2 = await connect(b, 'k2');
    const k1Inbox = inbox(k1);
    const k2Inbox = inbox(k2);
    await k1.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 });
    expect(await subscribeCodes(k2, [topics.kioskReplies('k2'), 'kp/v1/kiosk/+/res'])).toEqual([1, 128]);
    const server = await connect(b, 'server');
    await server.publishAsync(topics.kioskReplies('k1'), 'for k1', { qos: 1 });
    await server.publishAsync(topics.kioskReplies('k2'), 'for k2', { qos: 1 });
    await k1Inbox.next((m) => m.payload === 'for k1', 'the reply to k1');
    await k2Inbox.next((m) => m.payload === 'for k2', 'the reply to k2');
    expect(k2Inbox.messages.map((m) => m.payload)).toEqual(['for k2']);
    expect(k1Inbox.messages.map((m) => m.payload)).toEqual(['for k1']);
  });

  it("keeps the server's retained keys for a kiosk that subscribes later", async () => {
    const b = await broker();
    const server = await connect(b, 'server');
    const serverInbox = inbox(server);
    await server.subscribeAsync(topics.issuerKeys, { qos: 1 });
    await server.publishAsync(topics.issuerKeys, '{"keys":1}', { qos: 1, retain: true });
    // The server's own copy is routed only after the broker stored the retained message.
    await serverInbox.next((m) => m.payload === '{"keys":1}', "the server's own copy");
    const k1 = await connect(b, 'k1');
    const k1Inbox = inbox(k1);
    await k1.subscribeAsync(topics.issuerKeys, { qos: 1 });
    const m = await k1Inbox.next((x) => x.topic === topics.issuerKeys, 'the retained keys');
    expect(m).toEqual({ topic: topics.issuerKeys, payload: '{"keys":1}', retain: true });
  });

  it('grants the server the shared form of its request subscription', async () => {
    const b = await broker();
    const server = await connect(b, 'server');
    expect(
      await subscribeCodes(server, [`$share/servers/${topics.allKioskRequests}`, topics.allKioskRequests, 'kp/v1/kiosk/+/res']),
    ).toEqual([1, 1, 128]);
  });

  it('lets a technician read the broadcasts and nothing else', async () => {
    const b = await broker();
    const tech = await connect(b, 'tech');
    expect(await subscribeCodes(tech, [topics.issuerKeys, topics.revocations, topics.allKioskRequests, '$SYS/#'])).toEqual([
      1, 1, 128, 128,
    ]);
  });
});

describe('startBroker', () => {
  it('says the port is in use and suggests --port 0 when it is', async () => {
    const squatter = createServer();
    servers.push(squatter);
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    await expect(startBroker({ port, identities })).rejects.toThrow(
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port 0`),
    );
  });

  it('names the flag of the command that started it when the port is taken', async () => {
    const squatter = createServer();
    servers.push(squatter);
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const err = await startBroker({ port, identities, portFlag: '--mqtt-port' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('choose another port with --mqtt-port N, or --mqtt-port 0 for any free port');
    expect(err?.message).not.toMatch(/--port\b/);
  });

  it('reports its port and url, and close() disconnects clients', async () => {
    const b = await startBroker({ port: 0, identities });
    expect(b.port).toBeGreaterThan(0);
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    const k1 = await connect(b, 'k1');
    const k1Closed = closed(k1);
    await b.close();
    await k1Closed;
    await b.close();
  });
});
