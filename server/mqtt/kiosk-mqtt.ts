// SPDX-License-Identifier: Apache-2.0
// The server's MQTT side: takes kiosk requests, answers on each kiosk's reply topic, and keeps the
// retained broadcasts (issuer keys, revocation list, catalog, the alerts for staff) current; raises
// the broker's login-flood reports as alerts. MQTT 3.1.1, QoS 1, TCP_NODELAY.
import mqtt, { type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import { kioskIdOfRequestTopic, parseKioskTopic, topics } from '../../shared/topics.ts';
import type { ServerCatalog } from '../catalog/server-catalog.ts';
import type { ServerContext } from '../domain/context.ts';
import { handleKioskPayload } from '../domain/kiosk-api.ts';
import { RateLimiter } from '../http/rate-limiter.ts';
import { kioskRequest, parseJsonMessage, type ErrorReply, type KioskReply } from '../../shared/kiosk-messages.ts';
import { KioskpayError } from '../../shared/errors.ts';
import { buildRevocations } from '../domain/revocations.ts';
import type { AuditLog } from '../fleet/audit-log.ts';
import { startAlertBroadcast } from './alerts-broadcast.ts';
import { raiseBrokerAlert } from './broker-alerts.ts';

/** Optional parts: the command audit log (subscribes to every kiosk's cmd and ack) and the catalog. */
export interface KioskMqttParts {
  audit?: AuditLog;
  catalog?: ServerCatalog;
}

export interface KioskMqtt {
  /** Re-signs and re-publishes the revocation list now. */
  publishRevocations(): Promise<void>;
  close(): Promise<void>;
}

export async function startKioskMqtt(ctx: ServerContext, parts: KioskMqttParts = {}): Promise<KioskMqtt> {
  const c = ctx.config;
  const client: MqttClient = mqtt.connect(c.mqttUrl, {
    protocolVersion: 4,
    clientId: c.mqttClientId,
    username: c.mqttUsername,
    password: c.mqttPassword,
    clean: true,
    reconnectPeriod: 1000,
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    queueQoSZero: false,
  });
  const log = ctx.log.child({ component: 'kiosk-mqtt' });
  const filter = c.mqttShareGroup ? `$share/${c.mqttShareGroup}/${topics.allKioskRequests}` : topics.allKioskRequests;

  const publishRetained = async (topic: string, body: unknown) => {
    await client.publishAsync(topic, JSON.stringify(body), { qos: 1, retain: true });
  };
  const publishRevocations = async () => {
    if (!client.connected) return;
    await publishRetained(topics.revocations, await buildRevocations(ctx));
  };
  const publishCatalog = async () => {
    if (parts.catalog && client.connected) await publishRetained(topics.catalog, parts.catalog.current());
  };
  parts.catalog?.onChange(() => void publishCatalog().catch((err: unknown) => log.error({ err }, 'catalog publish failed')));
  const alerts = startAlertBroadcast(ctx, client, log);
  const subscribeBrokerAlerts = async () => {
    const granted = await client.subscribeAsync(topics.brokerAlerts, { qos: 1 });
    if (granted.some((g) => g.qos === 128))
      log.error({ granted }, 'broker refused the subscription to its alerts; login floods are not shown');
  };
  const subscribeAudit = async () => {
    if (!parts.audit) return;
    const granted = await client.subscribeAsync([topics.allKioskCommands, topics.allKioskAcks], { qos: 1 });
    if (granted.some((g) => g.qos === 128))
      log.error({ granted }, 'broker refused the audit subscriptions; technician commands are not audited');
  };

  client.on('connect', () => {
    (client.stream as Socket).setNoDelay?.(true);
    log.info({ url: c.mqttUrl }, 'connected to broker');
    void (async () => {
      await client.subscribeAsync(filter, { qos: 1 });
      await publishRetained(topics.issuerKeys, ctx.issuer.keysMessage(ctx.clock.nowMs()));
      await publishRevocations();
      await publishCatalog();
      await alerts.publish();
      await subscribeBrokerAlerts();
      await subscribeAudit();
    })().catch((err: unknown) => log.error({ err }, 'could not subscribe or publish broadcasts'));
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));
  client.on('offline', () => log.warn('broker unreachable; retrying'));

  // Per-kiosk limits: one kiosk flooding requests must not take the store from the others.
  const requestBudget = new RateLimiter(ctx.clock, c.kioskRequestsPerSec, c.kioskRequestBurst);
  const inFlight = new Map<string, number>();
  /** The wait a refused kiosk is told (ms, machine-readable): one request's worth of its budget. */
  const retryAfterMs = Math.ceil(1000 / c.kioskRequestsPerSec);
  /** Why this kiosk's request is refused now, or undefined when it may be handled. */
  const overLimit = (kioskId: string): string | undefined => {
    if ((inFlight.get(kioskId) ?? 0) >= c.kioskInFlightMax)
      return `more than ${c.kioskInFlightMax} requests of this kiosk in progress; retry after ${retryAfterMs} ms`;
    if (!requestBudget.take(kioskId))
      return `more than ${c.kioskRequestsPerSec} requests per second from this kiosk; retry after ${retryAfterMs} ms`;
    return undefined;
  };

  /** Publishes a reply on the kiosk's reply topic. */
  const answer = (kioskId: string, reply: KioskReply) =>
    client.publishAsync(topics.kioskReplies(kioskId), JSON.stringify(reply), { qos: 1 });

  client.on('message', (topic, payload, packet) => {
    if (topic === topics.brokerAlerts) {
      raiseBrokerAlert(ctx, payload, packet.retain, log);
      return;
    }
    const leaf = parseKioskTopic(topic);
    if (parts.audit && leaf && !packet.retain && (leaf.leaf === 'cmd' || leaf.leaf === 'ack')) {
      if (leaf.leaf === 'cmd') parts.audit.recordCommand(leaf.kioskId, payload);
      else parts.audit.recordAck(leaf.kioskId, payload);
      return;
    }
    const kioskId = kioskIdOfRequestTopic(topic);
    if (!kioskId) return;
    // A request kept as retained (Mosquitto's ACL cannot forbid the flag) would be replayed to every
    // new subscriber; a request is live or nothing.
    if (packet.retain) {
      log.warn({ kioskId }, 'retained kiosk request ignored');
      return;
    }
    const refusal = overLimit(kioskId);
    if (refusal !== undefined) {
      const parsed = parseJsonMessage(kioskRequest, payload);
      const re = parsed.ok ? parsed.value.id : parsed.id;
      log.warn({ kioskId, reason: refusal }, 'kiosk request refused: rate limit');
      void client
        .publishAsync(
          topics.kioskReplies(kioskId),
          JSON.stringify({
            v: 1,
            type: 'error',
            re,
            ...new KioskpayError('RATE_LIMITED', refusal, { retryAfterMs }).toWire(),
          } satisfies ErrorReply),
          { qos: 1 },
        )
        .catch((err: unknown) => log.error({ err, kioskId }, 'could not answer kiosk'));
      return;
    }
    inFlight.set(kioskId, (inFlight.get(kioskId) ?? 0) + 1);
    void handleKioskPayload(ctx, kioskId, payload)
      .then((reply) => answer(kioskId, reply))
      .catch((err: unknown) => log.error({ err, kioskId }, 'could not answer kiosk'))
      .finally(() => {
        const n = (inFlight.get(kioskId) ?? 1) - 1;
        if (n <= 0) inFlight.delete(kioskId);
        else inFlight.set(kioskId, n);
      });
  });

  const republish = setInterval(
    () => void publishRevocations().catch((err: unknown) => log.error({ err }, 'revocation publish failed')),
    c.revocationRepublishMs,
  );
  republish.unref();

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`could not connect to the MQTT broker at ${c.mqttUrl} within 10 s`)), 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  }).catch(async (e: unknown) => {
    alerts.close();
    client.end(true);
    throw e;
  });

  return {
    publishRevocations,
    async close() {
      clearInterval(republish);
      alerts.close();
      await client.endAsync();
    },
  };
}
