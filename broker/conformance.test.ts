// SPDX-License-Identifier: Apache-2.0
// The broker in conformance mode against the ten behaviours the Eclipse Paho MQTT 3.1.1
// interoperability suite checks (our own tests, not the suite's), plus the rules that keep
// conformance mode from widening anything for kp/v1 identities. Real sockets on port 0, MQTT.js
// clients speaking 3.1.1, and a small raw client where MQTT.js will not misbehave on purpose.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import {
  conformanceCanPublish,
  conformanceCanSubscribe,
  filterCovers,
  PAHO_CONFORMANCE,
  startBroker,
  type RunningBroker,
} from './broker.ts';
import { identitiesFromPasswords, type IdentityTable } from './identities.ts';
import { eventually, WAIT_MS, within } from '../shared/testing/wait.ts';
import { CHEAP_SCRYPT } from './testing/test-identities.ts';

let identities: IdentityTable;
beforeAll(async () => {
  identities = await identitiesFromPasswords(
    [
      { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' },
      { username: 'server', password: 'pw-server', role: 'server' },
      { username: 'paho', password: 'pw-paho', role: 'test' },
    ],
    CHEAP_SCRYPT,
  );
});
const passwords: Record<string, string> = { k1: 'pw-k1', server: 'pw-server', paho: 'pw-paho' };

const brokers: RunningBroker[] = [];
const clients: MqttClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(conformance = true): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, identities, ...(conformance ? { conformance: PAHO_CONFORMANCE } : {}) });
  brokers.push(b);
  return b;
}

interface Connected {
  client: MqttClient;
  sessionPresent: boolean;
}

async function connectFull(b: RunningBroker, username = 'paho', extra: IClientOptions = {}): Promise<Connected> {
  const client = mqtt.connect(b.url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    username,
    ...(passwords[username] === undefined ? {} : { password: passwords[username] }),
    clientId: `kp-${username}-${Math.random().toString(16).slice(2, 10)}`,
    ...extra,
  });
  clients.push(client);
  const sessionPresent = await within(
    new Promise<boolean>((resolve, reject) => {
      client.once('connect', (connack) => resolve(connack.sessionPresent));
      client.once('error', reject);
    }),
    { what: `CONNACK for ${username}` },
  );
  return { client, sessionPresent };
}

async function connect(b: RunningBroker, username = 'paho', extra: IClientOptions = {}): Promise<MqttClient> {
  return (await connectFull(b, username, extra)).client;
}

async function connackCode(b: RunningBroker, username: string, extra: IClientOptions = {}): Promise<number | undefined> {
  return connect(b, username, extra).then(
    () => undefined,
    (e: unknown) => (e as { code?: number }).code,
  );
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

function inbox(client: MqttClient) {
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    for (const w of waiters.splice(0)) w();
  });
  return {
    messages,
    /** Resolves once `count` messages are in, whatever they are. */
    atLeast(count: number, what: string): Promise<Received[]> {
      return within(
        new Promise<Received[]>((resolve) => {
          const check = () => (messages.length >= count ? resolve(messages) : waiters.push(check));
          check();
        }),
        { what },
      );
    },
  };
}

async function subscribeCodes(client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((g) => g.qos);
  } catch (e) {
    const granted = (e as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw e;
    return granted;
  }
}

// --- A raw MQTT 3.1.1 client, for what MQTT.js refuses to send or always does (acks, pings). ---

function utf8(text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), body]);
}

interface RawConnect {
  clientId: string;
  clean: boolean;
  keepalive: number;
  username: string;
  password: string;
  will?: { topic: string; payload: string; qos: 0 | 1 | 2 };
}

function connectPacket(o: RawConnect): Buffer {
  let flags = 0x80 | 0x40 | (o.clean ? 0x02 : 0);
  if (o.will) flags |= 0x04 | (o.will.qos << 3);
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepalive);
  const payload = [utf8(o.clientId), ...(o.will ? [utf8(o.will.topic), utf8(o.will.payload)] : []), utf8(o.username), utf8(o.password)];
  return packet(0x10, Buffer.concat([utf8('MQTT'), Buffer.from([4, flags]), keepalive, ...payload]));
}

function subscribePacket(messageId: number, filter: string, qos: number): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  return packet(0x82, Buffer.concat([id, utf8(filter), Buffer.from([qos])]));
}

interface RawPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** A socket that speaks only what the test writes, and collects every packet the broker sends. */
async function rawClient(b: RunningBroker) {
  const socket = tcpConnect(b.port, '127.0.0.1');
  sockets.push(socket);
  await within(new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)), { what: 'TCP connect' });
  const packets: RawPacket[] = [];
  const waiters: Array<() => void> = [];
  let buffered = Buffer.alloc(0);
  let closedFlag = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedFlag = true;
      for (const w of waiters.splice(0)) w();
      resolve();
    }),
  );
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (; i < buffered.length && i <= 4; i += 1) {
        length += (buffered[i]! & 0x7f) * multiplier;
        multiplier *= 128;
        if ((buffered[i]! & 0x80) === 0) break;
      }
      if (i >= buffered.length || buffered.length < i + 1 + length) break;
      packets.push({ type: buffered[0]! >> 4, flags: buffered[0]! & 0x0f, body: buffered.subarray(i + 1, i + 1 + length) });
      buffered = buffered.subarray(i + 1 + length);
    }
    for (const w of waiters.splice(0)) w();
  });
  return {
    packets,
    closed,
    isClosed: () => closedFlag,
    write: (p: Buffer) => socket.write(p),
    /** Resolves with the packets once `count` of `type` arrived. */
    waitFor(type: number, count: number, what: string): Promise<RawPacket[]> {
      return within(
        new Promise<RawPacket[]>((resolve, reject) => {
          const check = () => {
            const hits = packets.filter((p) => p.type === type);
            if (hits.length >= count) resolve(hits);
            else if (closedFlag) reject(new Error(`connection closed while waiting for ${what}`));
            else waiters.push(check);
          };
          check();
        }),
        { what },
      );
    },
    destroy: () => socket.destroy(),
  };
}

const CONNACK = 2;
const PUBLISH = 3;
const SUBACK = 9;

function publishTopic(p: RawPacket): string {
  return p.body.subarray(2, 2 + p.body.readUInt16BE(0)).toString('utf8');
}

describe('conformance rules (pure)', () => {
  it('match topics like MQTT, with $ topics matched only by a filter naming their first level', () => {
    expect(filterCovers('#', 'TopicA/B')).toBe(true);
    expect(filterCovers('TopicA/#', 'TopicA')).toBe(true);
    expect(filterCovers('TopicA/+', 'TopicA/B/C')).toBe(false);
    expect(filterCovers('+/+', '/TopicA')).toBe(true);
    expect(filterCovers('#', '$TopicA/B')).toBe(false);
    expect(filterCovers('+/B', '$TopicA/B')).toBe(false);
    expect(filterCovers('$TopicA/#', '$TopicA/B')).toBe(true);
    // Filter coverage: `test/+` covers `test/nosubscribe`, not the other way round.
    expect(filterCovers('test/+', 'test/nosubscribe')).toBe(true);
    expect(filterCovers('test/nosubscribe', 'test/+')).toBe(false);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
  });

  it('allow publishing only on the allowed test topics, never $SYS, kp/v1 or denied ones', () => {
    for (const t of ['TopicA', 'TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA', '$TopicA/B'])
      expect(conformanceCanPublish(PAHO_CONFORMANCE, t), t).toBe(true);
    for (const t of [
      'test/nosubscribe',
      topics.kioskRequests('k1'),
      topics.issuerKeys,
      '$SYS/broker',
      'other',
      'TopicA/+',
      'TopicA/#',
      '',
      'a\u0000b',
    ]) {
      expect(conformanceCanPublish(PAHO_CONFORMANCE, t), t).toBe(false);
    }
    expect(conformanceCanPublish({ allow: [], deny: [] }, 'TopicA')).toBe(false); // deny by default
  });

  it('allow any well-formed subscription but denied filters, $SYS and $share', () => {
    for (const f of ['#', '+/+', 'TopicA/#', 'test/#', '/+']) expect(conformanceCanSubscribe(PAHO_CONFORMANCE, f), f).toBe(true);
    for (const f of ['test/nosubscribe', '$SYS/#', '$SYS', '$share/g/TopicA', '', 'a/'.repeat(10)])
      expect(conformanceCanSubscribe(PAHO_CONFORMANCE, f), f).toBe(false);
  });
});

describe('conformance mode over MQTT 3.1.1', () => {
  it('basic: connects with no session present and delivers QoS 0, 1 and 2 publishes', async () => {
    const b = await broker();
    const { client, sessionPresent } = await connectFull(b, 'paho', { clean: true });
    expect(sessionPresent).toBe(false);
    const box = inbox(client);
    await client.subscribeAsync('TopicA', { qos: 2 });
    await client.publishAsync('TopicA', 'qos 0', { qos: 0 });
    await client.publishAsync('TopicA', 'qos 1', { qos: 1 });
    await client.publishAsync('TopicA', 'qos 2', { qos: 2 });
    const got = await box.atLeast(3, 'three messages');
    expect(got.map((m) => [m.payload, m.qos])).toEqual([
      ['qos 0', 0],
      ['qos 1', 1],
      ['qos 2', 2],
    ]);
  });

  it('retained messages: kept per topic for later subscribers, and cleared by an empty retained publish', async () => {
    const b = await broker();
    const pub = await connect(b);
    // A live subscriber's copies are the barrier: the broker stores a retained message before routing it.
    const live = await connect(b);
    const liveBox = inbox(live);
    await live.subscribeAsync('+/+', { qos: 2 });
    await pub.publishAsync('TopicA/B', 'qos 0', { qos: 0, retain: true });
    await pub.publishAsync('Topic/C', 'qos 1', { qos: 1, retain: true });
    await pub.publishAsync('TopicA/C', 'qos 2', { qos: 2, retain: true });
    await liveBox.atLeast(3, 'the three publishes, live');
    const sub = await connect(b);
    const box = inbox(sub);
    await sub.subscribeAsync('+/+', { qos: 2 });
    const got = await box.atLeast(3, 'three retained messages');
    expect(got.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['Topic/C=qos 1', 'TopicA/B=qos 0', 'TopicA/C=qos 2']);
    expect(got.every((m) => m.retain)).toBe(true);

    for (const t of ['TopicA/B', 'Topic/C', 'TopicA/C']) await pub.publishAsync(t, '', { qos: 1, retain: true });
    // Barrier: a retained marker stored after the clearing publishes comes to a later subscriber;
    // the cleared ones, stored before it, would have come first.
    await pub.publishAsync('TopicA/M', 'marker', { qos: 1, retain: true });
    await liveBox.atLeast(7, 'the clearing publishes and the marker, live');
    const later = await connect(b);
    const laterBox = inbox(later);
    await later.subscribeAsync('+/+', { qos: 2 });
    await laterBox.atLeast(1, 'the retained marker');
    expect(laterBox.messages.map((m) => `${m.topic}=${m.payload}`)).toEqual(['TopicA/M=marker']);
  });

  it('zero-length client id: CONNACK 2 without a clean session; with one, a unique id is assigned', async () => {
    const b = await broker();
    const unclean = await rawClient(b);
    unclean.write(connectPacket({ clientId: '', clean: false, keepalive: 10, username: 'paho', password: 'pw-paho' }));
    const [connack] = await unclean.waitFor(CONNACK, 1, 'CONNACK to an unclean empty client id');
    expect([...connack!.body]).toEqual([0, 2]);
    await within(unclean.closed, { what: 'the refused connection to close' });

    // Two clean ones at once: if they shared an id, the second would take over the first.
    const first = await rawClient(b);
    const second = await rawClient(b);
    for (const c of [first, second])
      c.write(connectPacket({ clientId: '', clean: true, keepalive: 10, username: 'paho', password: 'pw-paho' }));
    for (const c of [first, second])
      expect([...(await c.waitFor(CONNACK, 1, 'CONNACK to a clean empty client id'))[0]!.body]).toEqual([0, 0]);
    for (const [c, id] of [
      [first, 1],
      [second, 2],
    ] as const) {
      c.write(subscribePacket(id, 'TopicA', 1));
      await c.waitFor(SUBACK, 1, 'SUBACK');
    }
    const pub = await connect(b);
    await pub.publishAsync('TopicA', 'to both', { qos: 1 });
    for (const c of [first, second]) expect(publishTopic((await c.waitFor(PUBLISH, 1, 'the message'))[0]!)).toBe('TopicA');
    expect(first.isClosed() || second.isClosed()).toBe(false);
  });

  it('offline message queueing: QoS 1 and 2 messages wait for a persistent session', async () => {
    const b = await broker();
    const a = await connect(b, 'paho', { clientId: 'paho-a', clean: false });
    await a.subscribeAsync('+/+', { qos: 2 });
    await a.endAsync();
    // A live subscriber's copies are the barrier: the broker queues for offline sessions before routing.
    const live = await connect(b);
    const liveBox = inbox(live);
    await live.subscribeAsync('+/+', { qos: 2 });
    const pub = await connect(b, 'paho', { clean: true });
    await pub.publishAsync('TopicA/B', 'qos 0', { qos: 0 });
    await pub.publishAsync('Topic/C', 'qos 1', { qos: 1 });
    await pub.publishAsync('TopicA/C', 'qos 2', { qos: 2 });
    await liveBox.atLeast(3, 'the three publishes, live');

    const again = mqtt.connect(b.url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'paho',
      password: 'pw-paho',
      clientId: 'paho-a',
      clean: false,
    });
    clients.push(again);
    const box = inbox(again); // before CONNACK: the queue is flushed right after it
    const sessionPresent = await within(
      new Promise<boolean>((resolve, reject) => {
        again.once('connect', (c) => resolve(c.sessionPresent));
        again.once('error', reject);
      }),
      { what: 'the reconnect' },
    );
    expect(sessionPresent).toBe(true);
    const has = (payload: string) => box.messages.some((m) => m.payload === payload);
    await eventually(() => has('qos 1') && has('qos 2'), { what: 'the queued QoS 1 and 2 messages' });
    // Barrier: a live message published now arrives after any copy queued before it.
    await pub.publishAsync('TopicA/B', 'marker', { qos: 2 });
    await eventually(() => has('marker'), { what: 'the live marker' });
    const queued = box.messages.map((m) => m.payload).filter((p) => p !== 'marker');
    // Each once; queueing QoS 0 is optional.
    expect([
      ['qos 1', 'qos 2'],
      ['qos 0', 'qos 1', 'qos 2'],
    ]).toContainEqual(queued.sort());
  });

  it('overlapping subscriptions: one message at the highest QoS, or one per matching subscription', async () => {
    const b = await broker();
    const client = await connect(b);
    const box = inbox(client);
    await client.subscribeAsync({ 'TopicA/#': { qos: 2 }, 'TopicA/+': { qos: 1 } });
    await client.publishAsync('TopicA/C', 'overlapping topic filters', { qos: 2 });
    // Barrier: a second message's copy arrives after every copy of the first.
    await client.publishAsync('TopicA/C', 'marker', { qos: 2 });
    await eventually(() => box.messages.some((m) => m.payload === 'marker'), { what: 'the marker' });
    const qos = box.messages
      .filter((m) => m.payload === 'overlapping topic filters')
      .map((m) => m.qos)
      .sort();
    expect([[2], [1, 2]]).toContainEqual(qos);
  });

  it('keepalive: a silent client is disconnected after 1.5 keepalives and its will is published', async () => {
    const b = await broker();
    // The watcher asks for keepalive 0 (never), which conformance mode allows a test identity.
    const watcher = await connect(b, 'paho', { keepalive: 0 });
    const box = inbox(watcher);
    await watcher.subscribeAsync('/TopicA', { qos: 2 });
    const silent = await rawClient(b);
    const started = Date.now();
    silent.write(
      connectPacket({
        clientId: 'silent',
        clean: true,
        keepalive: 1,
        username: 'paho',
        password: 'pw-paho',
        will: { topic: '/TopicA', payload: 'keepalive expiry', qos: 1 },
      }),
    );
    expect([...(await silent.waitFor(CONNACK, 1, 'CONNACK'))[0]!.body]).toEqual([0, 0]);
    await within(silent.closed, { what: 'the broker to close the silent client' });
    // A lower bound only: a loaded machine can make the close later, never earlier.
    const [will] = await box.atLeast(1, 'the will');
    expect(will).toMatchObject({ topic: '/TopicA', payload: 'keepalive expiry' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  });

  it('redelivery on reconnect: unacknowledged QoS 1 and 2 messages are sent again to the resumed session', async () => {
    const b = await broker();
    const raw = await rawClient(b);
    raw.write(connectPacket({ clientId: 'paho-b', clean: false, keepalive: 10, username: 'paho', password: 'pw-paho' }));
    await raw.waitFor(CONNACK, 1, 'CONNACK');
    raw.write(subscribePacket(1, 'TopicA/#', 2));
    await raw.waitFor(SUBACK, 1, 'SUBACK');
    const pub = await connect(b);
    await pub.publishAsync('TopicA/B', 'one', { qos: 1 });
    await pub.publishAsync('TopicA/C', 'two', { qos: 2 });
    // Received, never acknowledged (no PUBACK, no PUBREC), then the connection drops.
    const unacked = await raw.waitFor(PUBLISH, 2, 'two publishes');
    expect(unacked.map(publishTopic)).toEqual(['TopicA/B', 'TopicA/C']);
    raw.destroy();
    await raw.closed;

    const again = mqtt.connect(b.url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'paho',
      password: 'pw-paho',
      clientId: 'paho-b',
      clean: false,
    });
    clients.push(again);
    const box = inbox(again);
    await box.atLeast(2, 'the redelivered messages');
    expect(box.messages.map((m) => `${m.topic}=${m.payload}/${m.qos}`).sort()).toEqual(['TopicA/B=one/1', 'TopicA/C=two/2']);
  });

  it('subscribe failure: SUBACK 0x80 for the denied filter, the others granted, the connection kept', async () => {
    const b = await broker();
    const client = await connect(b);
    expect(await subscribeCodes(client, { 'test/nosubscribe': { qos: 2 }, TopicA: { qos: 2 }, '$SYS/#': { qos: 0 } })).toEqual([
      0x80, 2, 0x80,
    ]);
    expect(client.connected).toBe(true);
  });

  it('$ topics: wildcard filters never match a topic starting with $', async () => {
    const b = await broker();
    const client = await connect(b, 'paho', { keepalive: 0 });
    const box = inbox(client);
    await client.subscribeAsync({ '+/+': { qos: 2 }, '#': { qos: 2 } });
    await client.publishAsync('$TopicA/B', 'dollar', { qos: 1 });
    await client.publishAsync('TopicA/B', 'plain', { qos: 1 });
    // Barrier: the last message arrives after anything published before it.
    await client.publishAsync('TopicA/B', 'marker', { qos: 1 });
    await eventually(() => box.messages.some((m) => m.payload === 'marker'), { what: 'the marker' });
    // One copy or one per matching filter (both are allowed), and nothing on $TopicA/B.
    expect(box.messages.some((m) => m.payload === 'plain')).toBe(true);
    expect(box.messages.every((m) => m.topic === 'TopicA/B')).toBe(true);
  });

  it('unsubscribe: no more messages on the filter unsubscribed, the others keep flowing', async () => {
    const b = await broker();
    const sub = await connect(b);
    const box = inbox(sub);
    for (const f of ['TopicA', 'TopicA/B', 'Topic/C']) await sub.subscribeAsync(f, { qos: 2 });
    await sub.unsubscribeAsync('TopicA');
    const pub = await connect(b);
    for (const t of ['TopicA', 'TopicA/B', 'Topic/C']) await pub.publishAsync(t, '', { qos: 1 });
    // Barrier: the last message arrives after anything published before it.
    await pub.publishAsync('Topic/C', 'marker', { qos: 1 });
    await eventually(() => box.messages.some((m) => m.payload === 'marker'), { what: 'the marker' });
    expect(box.messages.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['Topic/C=', 'Topic/C=marker', 'TopicA/B=']);
  });
});

describe('conformance mode stays confined to test identities', () => {
  it('without conformance mode a test identity is refused with CONNACK 5, and keepalive 0 with 6', async () => {
    const b = await broker(false);
    expect(await connackCode(b, 'paho')).toBe(5);
    expect(await connackCode(b, 'k1', { keepalive: 0 })).toBe(6);
  });

  it('kp/v1 identities keep their ACL and keepalive limits', async () => {
    const b = await broker();
    expect(await connackCode(b, 'k1', { keepalive: 0 })).toBe(5);
    expect(await connackCode(b, 'k1', { keepalive: 301 })).toBe(5);
    expect(await connackCode(b, 'paho', { keepalive: 301 })).toBe(5);
    const k1 = await connect(b, 'k1', { keepalive: 300 });
    expect(await subscribeCodes(k1, { TopicA: { qos: 1 }, '#': { qos: 1 } })).toEqual([0x80, 0x80]);
    const closed = within(new Promise<void>((resolve) => k1.once('close', () => resolve())), { what: 'k1 to be closed' });
    k1.publish('TopicA', 'x', { qos: 1 });
    await closed;
  });

  it('a test identity subscribed to # never sees kp/v1 traffic, and may not publish there', async () => {
    const b = await broker();
    const paho = await connect(b);
    const box = inbox(paho);
    await paho.subscribeAsync('#', { qos: 1 });
    const server = await connect(b, 'server');
    await server.publishAsync(topics.kioskReplies('k1'), 'secret reply', { qos: 1 });
    // Barrier: the marker is sent after the broker acknowledged the reply, so routed after it.
    await paho.publishAsync('TopicA', 'marker', { qos: 1 });
    await box.atLeast(1, 'the marker');
    expect(box.messages.map((m) => m.payload)).toEqual(['marker']);

    const closed = within(new Promise<void>((resolve) => paho.once('close', () => resolve())), { what: 'paho to be closed' });
    paho.publish(topics.kioskRequests('k1'), '{"forged":true}', { qos: 1 });
    await closed;
  });
});
