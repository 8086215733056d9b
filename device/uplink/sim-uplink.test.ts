// SPDX-License-Identifier: Apache-2.0
// The simulated uplink passes the Uplink contract. Its network delivers on the event loop
// (setImmediate), so messages cross without any real wait; its deadlines run on ManualTimers.
import { describe, expect, it } from 'vitest';
import { kioskRequest, type KioskRequest } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { nextEvent, turns } from '../../shared/testing/wait.ts';
import { ManualTimers, type Timers } from '../timers.ts';
import { SimNetwork, SimUplink } from './sim-uplink.ts';
import { uplinkContract, type ServerSide } from './uplink-contract.ts';

/** Network deliveries on the event loop, in order. */
const eventLoop: Pick<Timers, 'setTimeout'> = { setTimeout: (fn) => setImmediate(fn) };

/** The uplink's next 'connected' or 'disconnected' (bounded). */
const once = (uplink: SimUplink, event: 'connected' | 'disconnected') => nextEvent(uplink, event);

uplinkContract('SimUplink', async (o) => {
  const timers = new ManualTimers();
  const retained = new Map<string, string>();
  let network: SimNetwork | undefined;
  const server: ServerSide = {
    received: [],
    published: [],
    reply: async (payload) => network!.sendReply(payload),
    retain: async (topic, payload) => {
      retained.set(topic, payload);
      if (o.subscriptions.includes(topic)) network!.broadcast(topic, payload);
    },
  };
  network = new SimNetwork({
    kioskId: 'k1',
    timers: eventLoop,
    server: async (_kioskId, payload) => {
      const req = kioskRequest.parse(JSON.parse(new TextDecoder().decode(payload))) as KioskRequest;
      server.received.push(req);
      return o.answer(req, server);
    },
    retained: () => [...retained].filter(([topic]) => o.subscriptions.includes(topic)).map(([topic, payload]) => ({ topic, payload })),
    onPublish: (topic, payload) => server.published.push({ topic, payload }),
  });
  const uplink = new SimUplink(network, { timers, requestTimeoutMs: o.requestTimeoutMs, random: o.random });
  const up = once(uplink, 'connected');
  network.attach(uplink, 0);
  await up;
  const net = network;
  return {
    uplink,
    timers,
    server,
    cut: async () => {
      const down = once(uplink, 'disconnected');
      net.cut();
      await down;
    },
    restore: async () => {
      const back = once(uplink, 'connected');
      net.restore(0);
      await back;
    },
    dispose: () => uplink.close(),
  };
});

describe('SimUplink beyond the contract', () => {
  it('a killed client (power loss) settles nothing and emits nothing more', async () => {
    const timers = new ManualTimers();
    const network = new SimNetwork({ kioskId: 'k1', timers: eventLoop, server: async () => undefined });
    const uplink = new SimUplink(network, { timers, requestTimeoutMs: 1_000 });
    const up = once(uplink, 'connected');
    network.attach(uplink, 0);
    await up;
    const events: string[] = [];
    uplink.on('disconnected', () => events.push('disconnected'));
    let settled = false;
    void uplink.request({ v: 1, type: 'time', id: 't1', t0: 1 }).finally(() => {
      settled = true;
    });
    network.detach();
    timers.advance(10_000);
    await turns();
    expect(settled).toBe(false);
    expect(events).toEqual([]);
    expect(uplink.connected).toBe(false);
    expect(timers.pending).toBe(0);
  });

  it('sends retained broadcasts flagged as retained on connecting, and live ones not', async () => {
    const network = new SimNetwork({
      kioskId: 'k1',
      timers: eventLoop,
      server: async () => undefined,
      retained: () => [{ topic: topics.catalog, payload: 'c1' }],
    });
    const uplink = new SimUplink(network, { timers: new ManualTimers() });
    const seen: Array<[string, boolean]> = [];
    uplink.on('message', (_topic, payload, retained) => seen.push([payload.toString(), retained]));
    network.attach(uplink, 0);
    await turns();
    network.broadcast(topics.catalog, 'c2');
    await turns();
    expect(seen).toEqual([
      ['c1', true],
      ['c2', false],
    ]);
    await uplink.close();
  });
});
