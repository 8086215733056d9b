// SPDX-License-Identifier: Apache-2.0
// The baseline of the online runs: a raw MQTT echo responder in the same setup as the server (the
// broker on its own thread, the kiosks on theirs, the responder on the main thread where the server
// runs), answering every request at once with a reply of the size of a real pay.result.
import mqtt from 'mqtt';
import type { Socket } from 'node:net';
import { hashPassword } from '../broker/identities.ts';
import type { BrokerLimits } from '../broker/broker.ts';
import { topics } from '../shared/topics.ts';
import { startBrokerInWorker } from './broker-worker.ts';
import { startKioskLoad, type KioskLoad } from './kiosk-load.ts';

export interface Echo {
  /** The kiosks, connected, sending pay requests with a fixed code. */
  load: KioskLoad;
  close(): Promise<void>;
}

export async function startEcho(kiosks: number, limits: Partial<BrokerLimits>): Promise<Echo> {
  const pw = 'bench-echo';
  const hash = await hashPassword(pw);
  const ids = Array.from({ length: kiosks }, (_, i) => `echo-${i}`);
  const broker = await startBrokerInWorker({
    port: 0,
    limits,
    identities: [
      { username: 'server', passwordHash: hash, role: 'server' },
      ...ids.map((id) => ({ username: id, passwordHash: hash, role: 'kiosk' as const, kioskId: id })),
    ],
  });
  const responder = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    username: 'server',
    password: pw,
    clientId: 'echo-responder',
  });
  (responder.stream as Socket).setNoDelay(true);
  await responder.subscribeAsync(topics.allKioskRequests, { qos: 1 });
  responder.on('message', (topic, payload) => {
    const kioskId = topic.split('/')[3]!;
    const req = JSON.parse(payload.toString()) as { id: string; txId: string };
    responder.publish(
      topics.kioskReplies(kioskId),
      JSON.stringify({
        v: 1,
        type: 'pay.result',
        re: req.id,
        txId: req.txId,
        status: 'approved',
        kind: 'online',
        amount: { value: 100, currency: 'JPY' },
        paymentId: 'pay_000000000000000000000000',
        at: Date.now(),
      }),
      { qos: 1 },
    );
  });
  const load = await startKioskLoad(
    ids.map((id) => ({ url: broker.url, kioskId: id, username: id, password: pw })),
    { fixed: '31000000000000000000' },
    broker.threadId,
  );
  return {
    load,
    async close() {
      await load.close();
      await responder.endAsync();
      await broker.close();
    },
  };
}
