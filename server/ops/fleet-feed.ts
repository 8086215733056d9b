// SPDX-License-Identifier: Apache-2.0
// The dashboard's own MQTT subscription: every kiosk's retained status and its events, fed into
// FleetState. A second client with the server's login and its own client id (`<mqttClientId>-ops`):
// the broker refuses one client id held by two connections, and keeping the dashboard off the
// payment client means a slow dashboard can never hold up a payment reply. MQTT 3.1.1, QoS 1,
// clean session (retained statuses are delivered again on every reconnect).
import mqtt, { type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { topics } from '../../shared/topics.ts';
import type { ApplyResult, FleetState } from './fleet-state.ts';

export interface FleetFeedOptions {
  url: string;
  username: string;
  password: string;
  /** The payment client's id; the feed connects as `${clientId}-ops`. */
  clientId: string;
  fleet: FleetState;
  log: Logger;
  /** Called after every message FleetState took (not for ignored ones). */
  onApplied: (r: Extract<ApplyResult, { applied: 'status' | 'event' }>) => void;
}

export interface FleetFeed {
  /** True while connected and subscribed. */
  readonly live: boolean;
  close(): Promise<void>;
}

export const FEED_CLIENT_SUFFIX = '-ops';

/** Connects in the background and keeps reconnecting; never throws at start. */
export function startFleetFeed(o: FleetFeedOptions): FleetFeed {
  const log = o.log.child({ component: 'ops-feed' });
  let live = false;
  const client: MqttClient = mqtt.connect(o.url, {
    protocolVersion: 4,
    clientId: `${o.clientId}${FEED_CLIENT_SUFFIX}`.slice(0, 64),
    username: o.username,
    password: o.password,
    clean: true,
    reconnectPeriod: 1000,
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    queueQoSZero: false,
  });
  client.on('connect', () => {
    (client.stream as Socket).setNoDelay?.(true);
    void client
      .subscribeAsync([topics.allKioskStatus, topics.allKioskEvents], { qos: 1 })
      .then((granted) => {
        const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) log.error({ refused }, 'broker refused the fleet subscriptions; the dashboard shows no live fleet');
        else log.info({ url: o.url }, 'fleet feed subscribed');
        live = refused.length === 0;
      })
      .catch((err: unknown) => log.warn({ err }, 'fleet subscribe failed'));
  });
  client.on('close', () => {
    live = false;
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'fleet feed mqtt error'));
  client.on('message', (topic, payload, packet) => {
    const r = o.fleet.apply(topic, payload, { retained: packet.retain });
    if (r.applied === false) {
      log.debug({ topic, cause: r.cause }, 'fleet message ignored');
      return;
    }
    try {
      o.onApplied(r);
    } catch (err) {
      log.error({ err }, 'fleet listener failed');
    }
  });
  return {
    get live() {
      return live;
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
