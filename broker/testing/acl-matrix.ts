// SPDX-License-Identifier: Apache-2.0
// The ACL "done when" matrix of issue 5 as tests against a running broker with real MQTT clients,
// run against the embedded broker (broker/acl-matrix.test.ts) and against Mosquitto 2 with the
// generated ACL (test/mosquitto-interop.test.ts). The brokers refuse differently:
//   - the embedded broker closes the connection of a client that publishes where it may not (MQTT
//     3.1.1 has no negative PUBACK) and refuses a subscription it may not make (SUBACK 0x80);
//   - Mosquitto acknowledges and drops such a publish, and grants the subscription but delivers
//     only messages the client may read.
// Either way, what must hold is the same: nobody sees a message that was refused, and nobody
// receives a topic it may not read. Absence is checked behind a barrier, never after a sleep: a
// later allowed message from the same publisher, which the broker delivers in order.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { topics } from '../../shared/topics.ts';
import { WAIT_MS, within } from '../../shared/testing/wait.ts';

/** How the broker under test refuses (see the top of this file). */
export type DenialStyle = 'disconnect' | 'drop';

export interface MatrixLogin {
  readonly username: string;
  readonly password: string;
}

/** Logins for kiosks k1 and k2, the server, a technician and an operator. */
export interface MatrixLogins {
  readonly k1: MatrixLogin;
  readonly k2: MatrixLogin;
  readonly server: MatrixLogin;
  readonly tech: MatrixLogin;
  readonly ops: MatrixLogin;
}

export interface MatrixTarget {
  /** `mqtt://...` or `mqtts://...` of the running broker. */
  readonly url: string;
  /** Where staff (server, technician, operator) log in, when not at `url` (Mosquitto's staff listener). */
  readonly staffUrl?: string;
  readonly logins: MatrixLogins;
  readonly denial: DenialStyle;
  /** Extra MQTT.js options (TLS CA, client certificates). */
  readonly clientOptions?: mqtt.IClientOptions;
}

const tag = () => randomBytes(6).toString('hex');

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

interface TestClient {
  readonly c: MqttClient;
  readonly seen: Seen[];
  /** Resolves once a message satisfying `pred` has arrived; rejects after WAIT_MS. */
  waitFor(pred: (m: Seen) => boolean, what: string): Promise<Seen>;
}

/**
 * Registers the matrix as vitest tests in the current describe block. `target()` is called inside
 * each test, so it may be filled in by a beforeAll.
 */
export function aclMatrixTests(target: () => MatrixTarget): void {
  const open: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  });

  async function login(who: MatrixLogin): Promise<TestClient> {
    const t = target();
    const staff = who.username !== t.logins.k1.username && who.username !== t.logins.k2.username;
    const c = await mqtt.connectAsync(staff ? (t.staffUrl ?? t.url) : t.url, {
      protocolVersion: 4,
      username: who.username,
      password: who.password,
      clientId: `kp-${who.username}-m-${tag()}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
      ...t.clientOptions,
    });
    open.push(c);
    const seen: Seen[] = [];
    const waiters = new Set<() => void>();
    c.on('message', (topic, payload, packet) => {
      seen.push({ topic, payload: payload.toString(), retain: packet.retain });
      for (const w of [...waiters]) w();
    });
    const waitFor = (pred: (m: Seen) => boolean, what: string) =>
      new Promise<Seen>((resolve, reject) => {
        const check = () => {
          const hit = seen.find(pred);
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${who.username}: no ${what} within ${WAIT_MS} ms; saw ${JSON.stringify(seen.map((m) => m.topic))}`));
        }, WAIT_MS);
        waiters.add(check);
        check();
      });
    return { c, seen, waitFor };
  }

  /** The SUBACK return codes, in order (MQTT.js rejects when one is 0x80, with the packet attached). */
  async function subscribeCodes(client: TestClient, filters: string[]): Promise<number[]> {
    try {
      return (await client.c.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
    } catch (e) {
      const granted = (e as { packet?: { granted?: number[] } }).packet?.granted;
      if (!granted) throw e;
      return granted;
    }
  }

  /** Subscribes with filters the client may use; every grant must be QoS 1. */
  async function subscribeAllowed(client: TestClient, filters: string[]): Promise<void> {
    expect(await subscribeCodes(client, filters), `grants for ${filters.join(' ')}`).toEqual(filters.map(() => 1));
  }

  /**
   * Subscribes with filters the client may not use: the embedded broker answers SUBACK 0x80 for
   * each; Mosquitto may grant them (it filters deliveries) or refuse them.
   */
  async function subscribeForbidden(client: TestClient, filters: string[]): Promise<void> {
    const codes = await subscribeCodes(client, filters);
    expect(codes).toHaveLength(filters.length);
    codes.forEach((code, i) => {
      if (target().denial === 'disconnect') expect(code, `SUBACK for ${filters[i]}`).toBe(128);
      else expect([1, 128], `SUBACK for ${filters[i]}`).toContain(code);
    });
  }

  /**
   * A fresh connection of `who` publishes `payload` where it may not. The embedded broker must
   * close that connection; Mosquitto must acknowledge and keep it. Either way it is dropped.
   */
  async function publishForbidden(who: MatrixLogin, topic: string, payload: string, retain: boolean): Promise<void> {
    const violator = await login(who);
    if (target().denial === 'disconnect') {
      const closed = new Promise<void>((resolve) => violator.c.once('close', () => resolve()));
      violator.c.publish(topic, payload, { qos: 1, retain }, () => {});
      await within(closed, { what: `the broker to disconnect ${who.username} for publishing to ${topic}` });
    } else {
      await violator.c.publishAsync(topic, payload, { qos: 1, retain });
      expect(violator.c.connected).toBe(true);
    }
  }

  /** A fresh subscriber's view of the retained message on `topic` (its payload), after a barrier. */
  async function retainedOn(who: MatrixLogin, topic: string): Promise<string> {
    const reader = await login(who);
    await subscribeAllowed(reader, [topic]);
    return (await reader.waitFor((m) => m.topic === topic && m.retain, `retained message on ${topic}`)).payload;
  }

  it("a kiosk cannot publish on another kiosk's request, status, events or ack topics", async () => {
    const { k1, k2, server } = target().logins;
    const observer = await login(server);
    await subscribeAllowed(observer, [topics.allKioskRequests, topics.allKioskStatus, topics.allKioskEvents, topics.allKioskAcks]);
    const forged = `forged-${tag()}`;
    for (const topic of [topics.kioskRequests('k2'), topics.kioskEvents('k2'), topics.kioskAcks('k2')])
      await publishForbidden(k1, topic, forged, false);
    await publishForbidden(k1, topics.kioskStatus('k2'), forged, true);
    // Barrier: k2's own messages on the same topics arrive; the forged ones never did.
    const kiosk2 = await login(k2);
    const own = `own-${tag()}`;
    for (const topic of [topics.kioskRequests('k2'), topics.kioskEvents('k2'), topics.kioskAcks('k2')])
      await kiosk2.c.publishAsync(topic, own, { qos: 1 });
    for (const topic of [topics.kioskRequests('k2'), topics.kioskEvents('k2'), topics.kioskAcks('k2')])
      await observer.waitFor((m) => m.topic === topic && m.payload === own, `own message on ${topic}`);
    expect(observer.seen.filter((m) => m.payload === forged)).toEqual([]);
  });

  it("a kiosk cannot receive another kiosk's replies or commands, nor anything through #, kp/# or $SYS/#", async () => {
    const { k1, server } = target().logins;
    const kiosk1 = await login(k1);
    await subscribeForbidden(kiosk1, [
      topics.kioskReplies('k2'),
      topics.kioskCommands('k2'),
      '#',
      'kp/#',
      'kp/v1/kiosk/#',
      'kp/v1/kiosk/+/cmd',
      'kp/v1/+/+/status',
      '$SYS/#',
    ]);
    await subscribeAllowed(kiosk1, [topics.kioskReplies('k1')]);
    const srv = await login(server);
    const secret = `for-k2-${tag()}`;
    await srv.c.publishAsync(topics.kioskReplies('k2'), secret, { qos: 1 });
    await srv.c.publishAsync(topics.kioskCommands('k2'), secret, { qos: 1 });
    const barrier = `barrier-${tag()}`;
    await srv.c.publishAsync(topics.kioskReplies('k1'), barrier, { qos: 1 });
    await kiosk1.waitFor((m) => m.payload === barrier, 'its own reply');
    // '#' may still show k1 the broadcasts on Mosquitto (it may read them); never another kiosk's traffic.
    expect(kiosk1.seen.filter((m) => m.payload === secret || m.topic.startsWith('$') || m.topic.includes('/k2/'))).toEqual([]);
  });

  it("a kiosk cannot overwrite the server's retained broadcasts; technicians and operators neither", async () => {
    const { k1, server, tech, ops } = target().logins;
    const srv = await login(server);
    const original = `catalog-${tag()}`;
    await srv.c.publishAsync(topics.catalog, original, { qos: 1, retain: true });
    for (const who of [k1, tech, ops]) await publishForbidden(who, topics.catalog, `forged-${tag()}`, true);
    expect(await retainedOn(k1, topics.catalog)).toBe(original);
  });

  it("a kiosk's retained status is overwritten only by that kiosk", async () => {
    const { k1, k2, server, tech } = target().logins;
    const kiosk1 = await login(k1);
    const mine = `status-${tag()}`;
    await kiosk1.c.publishAsync(topics.kioskStatus('k1'), mine, { qos: 1, retain: true });
    for (const who of [k2, server, tech]) await publishForbidden(who, topics.kioskStatus('k1'), `forged-${tag()}`, true);
    expect(await retainedOn(tech, topics.kioskStatus('k1'))).toBe(mine);
    // Its own overwrite works, and clearing it leaves no retained status behind for later tests.
    const newer = `status-${tag()}`;
    await kiosk1.c.publishAsync(topics.kioskStatus('k1'), newer, { qos: 1, retain: true });
    expect(await retainedOn(server, topics.kioskStatus('k1'))).toBe(newer);
    await kiosk1.c.publishAsync(topics.kioskStatus('k1'), '', { qos: 1, retain: true });
  });

  it('an operator cannot send commands; a technician and the server can', async () => {
    const { k1, server, tech, ops } = target().logins;
    const kiosk1 = await login(k1);
    await subscribeAllowed(kiosk1, [topics.kioskCommands('k1')]);
    const forged = `op-cmd-${tag()}`;
    await publishForbidden(ops, topics.kioskCommands('k1'), forged, false);
    const fromTech = `tech-cmd-${tag()}`;
    const technician = await login(tech);
    await technician.c.publishAsync(topics.kioskCommands('k1'), fromTech, { qos: 1 });
    await kiosk1.waitFor((m) => m.payload === fromTech, "the technician's command");
    const fromServer = `srv-cmd-${tag()}`;
    await (await login(server)).c.publishAsync(topics.kioskCommands('k1'), fromServer, { qos: 1 });
    await kiosk1.waitFor((m) => m.payload === fromServer, "the server's command");
    expect(kiosk1.seen.filter((m) => m.payload === forged)).toEqual([]);
  });

  it("the server's alerts reach technicians and operators, never a kiosk; only the server publishes them (issue 12)", async () => {
    const { k1, server, tech, ops } = target().logins;
    const srv = await login(server);
    const original = `alerts-${tag()}`;
    await srv.c.publishAsync(topics.serverAlerts, original, { qos: 1, retain: true });
    // One k1 connection at a time: Mosquitto forces a kiosk's client id to its username.
    for (const who of [k1, tech, ops]) await publishForbidden(who, topics.serverAlerts, `forged-${tag()}`, true);
    // Nobody publishes the broker's alerts but the broker itself, not even the server.
    for (const who of [k1, tech, ops, server]) await publishForbidden(who, topics.brokerAlerts, `forged-${tag()}`, false);
    const kiosk1 = await login(k1);
    await subscribeForbidden(kiosk1, [topics.serverAlerts, topics.brokerAlerts]);
    await subscribeAllowed(kiosk1, [topics.kioskReplies('k1')]);
    expect(await retainedOn(tech, topics.serverAlerts)).toBe(original);
    expect(await retainedOn(ops, topics.serverAlerts)).toBe(original);
    // Barrier: a reply published after the alerts reaches k1; the alerts never did.
    const newer = `alerts-${tag()}`;
    await srv.c.publishAsync(topics.serverAlerts, newer, { qos: 1, retain: true });
    const barrier = `barrier-${tag()}`;
    await srv.c.publishAsync(topics.kioskReplies('k1'), barrier, { qos: 1 });
    await kiosk1.waitFor((m) => m.payload === barrier, 'its own reply');
    expect(kiosk1.seen.filter((m) => m.topic === topics.serverAlerts || m.topic === topics.brokerAlerts)).toEqual([]);
    await srv.c.publishAsync(topics.serverAlerts, '', { qos: 1, retain: true }); // leave no retained alerts for later tests
  });

  it('each staff role receives what it may read: status and events for all, acks for technician and server', async () => {
    const { k1, server, tech, ops } = target().logins;
    const operator = await login(ops);
    await subscribeAllowed(operator, [topics.allKioskStatus, topics.allKioskEvents, topics.kioskStatus('k1')]);
    await subscribeForbidden(operator, [topics.allKioskAcks, topics.allKioskCommands, topics.allKioskRequests]);
    const technician = await login(tech);
    await subscribeAllowed(technician, [topics.allKioskEvents, topics.allKioskAcks, topics.kioskAcks('k1')]);
    await subscribeForbidden(technician, [topics.allKioskCommands, topics.allKioskRequests, topics.kioskReplies('k1')]);
    const audit = await login(server);
    await subscribeAllowed(audit, [topics.allKioskCommands, topics.allKioskAcks]);
    const kiosk1 = await login(k1);
    const ack = `ack-${tag()}`;
    const event = `event-${tag()}`;
    await kiosk1.c.publishAsync(topics.kioskAcks('k1'), ack, { qos: 1 });
    await kiosk1.c.publishAsync(topics.kioskEvents('k1'), event, { qos: 1 });
    await technician.waitFor((m) => m.payload === ack, 'the ack');
    await audit.waitFor((m) => m.payload === ack, 'the ack (server)');
    await operator.waitFor((m) => m.payload === event, 'the event');
    // The event came after the ack from the same kiosk: the operator was never sent the ack.
    expect(operator.seen.filter((m) => m.payload === ack)).toEqual([]);
    // The server's audit subscription sees commands.
    const cmd = `cmd-${tag()}`;
    await technician.c.publishAsync(topics.kioskCommands('k2'), cmd, { qos: 1 });
    await audit.waitFor((m) => m.payload === cmd && m.topic === topics.kioskCommands('k2'), 'the command (audit)');
  });
}
