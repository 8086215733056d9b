// SPDX-License-Identifier: Apache-2.0
// The console's view of the server's alerts, from kp/v1/server/alerts: the retained list (the
// server's newest alerts) and then each alert that was not in an earlier list, once, in order.
// Alerts are told apart by the publishing server process (`instance`) and their `seq`, so
// replicas publishing in turn and a restarted server are both read right. Messages that fail the
// shared schema are counted and ignored. At most SEEN_MAX alerts are remembered.
import type { MqttClient } from 'mqtt';
import {
  ALERT_PAYLOAD_BYTES_MAX,
  serverAlertsMessage,
  type PublishedServerAlert,
  type ServerAlertsMessage,
} from '../shared/alert-messages.ts';
import { parseJsonMessage } from '../shared/kiosk-messages.ts';
import { topics } from '../shared/topics.ts';

const SEEN_MAX = 10_000;
/** Lists kept that came between the first and follow(); later ones would repeat them anyway. */
const QUEUED_MAX = 100;

export class AlertView {
  readonly #client: MqttClient;
  readonly #seen = new Set<string>();
  readonly #onMessage = (topic: string, payload: Buffer) => {
    if (topic === topics.serverAlerts) this.#receive(payload);
  };
  /** The list that came first (normally the retained one); its alerts are the ones not new. */
  #first: ServerAlertsMessage | undefined;
  /** Lists that came after the first and before follow(). */
  readonly #queued: ServerAlertsMessage[] = [];
  #follower: ((a: PublishedServerAlert) => void) | undefined;
  #arrived: (() => void) | undefined;
  invalid = 0;

  constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', this.#onMessage);
  }

  /**
   * Subscribes and waits up to `waitMs` for the retained list, which the server keeps there while
   * it runs. Resolves with it, or undefined when none came. Throws when the broker refuses the
   * subscription (kiosk logins may not read alerts).
   */
  async start(waitMs: number): Promise<ServerAlertsMessage | undefined> {
    const arrived = new Promise<void>((resolve) => {
      this.#arrived = resolve;
    });
    const granted = await this.#client.subscribeAsync(topics.serverAlerts, { qos: 1 });
    if (granted[0]?.qos === 128)
      throw new Error(`the broker refused the subscription to ${topics.serverAlerts} (alerts are for technicians and operators)`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      arrived,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return this.#first;
  }

  /**
   * From now on calls `fn` with each alert not in the first list and not seen before, in order,
   * starting with those that came meanwhile. When no first list came, every alert is new.
   */
  follow(fn: (a: PublishedServerAlert) => void): void {
    this.#follower = fn;
    for (const m of this.#queued.splice(0)) this.#take(m);
  }

  /** Stops listening and unsubscribes (when still connected). */
  async stop(): Promise<void> {
    this.#client.off('message', this.#onMessage);
    this.#follower = undefined;
    if (this.#client.connected) await this.#client.unsubscribeAsync(topics.serverAlerts).catch(() => undefined);
  }

  #receive(payload: Buffer): void {
    if (payload.byteLength === 0) return; // the retained list was cleared
    const parsed = parseJsonMessage(serverAlertsMessage, payload, ALERT_PAYLOAD_BYTES_MAX);
    if (!parsed.ok) {
      this.invalid += 1;
      return;
    }
    if (this.#follower) {
      this.#take(parsed.value);
      return;
    }
    if (this.#first === undefined) {
      this.#first = parsed.value;
      this.#take(parsed.value);
      this.#arrived?.();
    } else if (this.#queued.length < QUEUED_MAX) {
      this.#queued.push(parsed.value);
    }
  }

  /** Marks the list's alerts seen, handing the unseen ones to the follower (if following). */
  #take(m: ServerAlertsMessage): void {
    for (const a of m.alerts) {
      const key = `${m.instance}:${a.seq}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.values().next().value as string);
      this.#follower?.(a);
    }
  }
}
