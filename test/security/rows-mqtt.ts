// SPDX-License-Identifier: Apache-2.0
// Matrix rows against the real broker with the payment server behind it: impersonation between
// kiosks, and staff roles stepping outside their grants (broker/acl.ts). A refused publish closes
// the publisher's connection (MQTT 3.1.1 has no negative PUBACK); the rows then ask the server,
// through a legitimate kiosk, whether the forged request left any trace.
import { topics } from '../../shared/topics.ts';
import type { AttackRow, Outcome } from './matrix.ts';
import type { MqttEnv, TestClient } from './mqtt-env.ts';

const pay = (id: string, txId: string, code: string) => ({ v: 1, type: 'pay', id, txId, code, amount: { value: 1_000, currency: 'JPY' } });

/** What the server knows of `txId` at `kioskId`, asked by that kiosk over its own topics. */
async function traceOf(e: MqttEnv, kiosk: TestClient, kioskId: string, txId: string): Promise<unknown> {
  return (await e.request(kiosk, kioskId, { v: 1, type: 'status', id: `status-${txId}`, txId })).status;
}

/** The refused-publish outcome, downgraded when the server did process the forged request. */
async function publishOutcome(e: MqttEnv, publisher: TestClient, witness: TestClient, kioskId: string, txId: string): Promise<Outcome> {
  const closed = await publisher.closedByBroker();
  if ((await traceOf(e, witness, kioskId, txId)) !== 'unknown') return 'PROCESSED';
  return closed ? 'PUBLISH_REFUSED' : 'DELIVERED';
}

async function subscribeOutcome(client: TestClient, filter: string): Promise<Outcome> {
  try {
    const granted = await client.c.subscribeAsync(filter, { qos: 1 });
    return granted.every((g) => g.qos === 128) ? 'SUBACK_REFUSED' : 'DELIVERED';
  } catch (err) {
    const codes = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (codes === undefined) throw err;
    return codes.every((q) => q === 128) ? 'SUBACK_REFUSED' : 'DELIVERED';
  }
}

export const mqttRows: AttackRow<MqttEnv>[] = [
  {
    name: "broker: a kiosk publishing a pay request on another kiosk's request topic",
    outcome: 'PUBLISH_REFUSED',
    async arrange(e) {
      const code = await e.onlineCode();
      const [k1, k2] = [await e.login('k1'), await e.login('k2')];
      return async () => {
        k1.c.publish(topics.kioskRequests('k2'), JSON.stringify(pay('forged', 'forged-tx', code)), { qos: 1 }, () => {});
        return publishOutcome(e, k1, k2, 'k2', 'forged-tx');
      };
    },
  },
  {
    name: 'broker: a kiosk publishing its pay request as retained',
    outcome: 'PUBLISH_REFUSED',
    async arrange(e) {
      const code = await e.onlineCode();
      const [k1, witness] = [await e.login('k1'), await e.login('k1')];
      return async () => {
        k1.c.publish(topics.kioskRequests('k1'), JSON.stringify(pay('kept', 'kept-tx', code)), { qos: 1, retain: true }, () => {});
        return publishOutcome(e, k1, witness, 'k1', 'kept-tx');
      };
    },
  },
  {
    name: "broker: a kiosk logging in under another kiosk's name",
    outcome: 'CONNACK_REFUSED',
    async arrange(e) {
      await e.onlineCode();
      return async () => {
        try {
          await e.login('k2', e.passwordOf('k1'));
          return 'DELIVERED';
        } catch (err) {
          return (err as { code?: unknown }).code === 5 || (err as { code?: unknown }).code === 4 ? 'CONNACK_REFUSED' : 'DELIVERED';
        }
      };
    },
  },
  {
    name: "broker: a kiosk subscribing to another kiosk's replies",
    outcome: 'SUBACK_REFUSED',
    async arrange(e) {
      await e.onlineCode();
      const k1 = await e.login('k1');
      return () => subscribeOutcome(k1, topics.kioskReplies('k2'));
    },
  },
  {
    name: 'broker: a technician publishing a pay request',
    outcome: 'PUBLISH_REFUSED',
    async arrange(e) {
      const code = await e.onlineCode();
      const [tech, k1] = [await e.login('technician'), await e.login('k1')];
      return async () => {
        tech.c.publish(topics.kioskRequests('k1'), JSON.stringify(pay('by-tech', 'tech-tx', code)), { qos: 1 }, () => {});
        return publishOutcome(e, tech, k1, 'k1', 'tech-tx');
      };
    },
  },
  {
    name: 'broker: a technician subscribing to the codes in kiosk requests',
    outcome: 'SUBACK_REFUSED',
    async arrange(e) {
      await e.onlineCode();
      const tech = await e.login('technician');
      return () => subscribeOutcome(tech, topics.allKioskRequests);
    },
  },
  {
    name: 'broker: an operator publishing a technician command',
    outcome: 'PUBLISH_REFUSED',
    async arrange(e) {
      await e.onlineCode();
      const [op, tech, k1] = [await e.login('operator'), await e.login('technician'), await e.login('k1')];
      await k1.c.subscribeAsync(topics.kioskCommands('k1'), { qos: 1 });
      const command = (id: string, by: string) =>
        JSON.stringify({ v: 1, type: 'command', id, expiresAt: e.server.ctx.clock.nowMs() + 60_000, by, name: 'test', target: 'relay' });
      return async () => {
        op.c.publish(topics.kioskCommands('k1'), command('cmd-op', 'operator'), { qos: 1 }, () => {});
        const closed = await op.closedByBroker();
        // A barrier: the technician's command, published after the refusal, must be the first k1 gets.
        await tech.c.publishAsync(topics.kioskCommands('k1'), command('cmd-tech', 'technician'), { qos: 1 });
        const first = await k1.waitFor((m) => m.topic === topics.kioskCommands('k1'), 'a command');
        if ((JSON.parse(first.payload) as { id: string }).id !== 'cmd-tech') return 'DELIVERED';
        return closed ? 'PUBLISH_REFUSED' : 'DELIVERED';
      };
    },
  },
  {
    name: 'broker: an operator subscribing to the codes in kiosk requests',
    outcome: 'SUBACK_REFUSED',
    async arrange(e) {
      await e.onlineCode();
      const op = await e.login('operator');
      return () => subscribeOutcome(op, topics.allKioskRequests);
    },
  },
  {
    name: "broker: malformed payload on a kiosk's own request topic",
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      await e.onlineCode();
      const k1 = await e.login('k1');
      await k1.c.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 });
      return async () => {
        await k1.c.publishAsync(topics.kioskRequests('k1'), '{"v":1,"type":"pay","amount":', { qos: 1 });
        const reply = await k1.waitFor((m) => m.topic === topics.kioskReplies('k1'), 'the error reply');
        return (JSON.parse(reply.payload) as { code: Outcome }).code;
      };
    },
  },
];
