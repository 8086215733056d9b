// SPDX-License-Identifier: Apache-2.0
// Keeps kp/v1/server/alerts (retained) equal to the server's newest alerts, so consoles, which
// speak only MQTT, see what /ops shows. One JSON message (shared/alert-messages.ts) with the newest
// SERVER_ALERTS_PUBLISHED_MAX alerts, re-published after each raise (raises that come while a
// publish is under way are folded into one more) and on every connect, so a restarted broker or
// server has it again. Staff only (broker/acl.ts): alerts name wallets.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  ALERT_MESSAGE_MAX,
  serverAlertSchema,
  serverAlertsMessage,
  SERVER_ALERTS_PUBLISHED_MAX,
  type PublishedServerAlert,
  type ServerAlertsMessage,
} from '../../shared/alert-messages.ts';
import { toHex } from '../../shared/bytes.ts';
import { topics } from '../../shared/topics.ts';
import type { ServerAlert } from '../domain/alerts.ts';
import type { ServerContext } from '../domain/context.ts';

/** Control and bidirectional-override characters become `?`; the text is clipped to ALERT_MESSAGE_MAX. */
function printableText(text: string): string {
  const clean = text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '?');
  return clean.length <= ALERT_MESSAGE_MAX ? clean : `${clean.slice(0, ALERT_MESSAGE_MAX - 3)}...`;
}

/** The published form of alerts; one that still fails the schema is left out (and reported). */
export function serverAlertsPayload(
  alerts: readonly ServerAlert[],
  instance: string,
  atMs: number,
  onInvalid: (a: ServerAlert, reason: string) => void = () => {},
): ServerAlertsMessage {
  const published: PublishedServerAlert[] = [];
  for (const a of alerts.slice(-SERVER_ALERTS_PUBLISHED_MAX)) {
    const p = serverAlertSchema.safeParse({
      seq: a.seq,
      kind: a.kind,
      severity: a.severity,
      at: a.at,
      kioskId: a.kioskId,
      walletId: a.walletId,
      amount: a.amount === null ? null : { value: a.amount.value, currency: a.amount.currency },
      message: printableText(a.message),
    });
    if (p.success) published.push(p.data);
    else onInvalid(a, p.error.issues[0]?.message ?? 'invalid');
  }
  return serverAlertsMessage.parse({ v: 1, type: 'server-alerts', instance, at: atMs, alerts: published });
}

export interface AlertBroadcast {
  /** Publishes the current list now (on connect); resolves when the broker has it. */
  publish(): Promise<void>;
  close(): void;
}

export function startAlertBroadcast(ctx: ServerContext, client: MqttClient, log: Logger): AlertBroadcast {
  const instance = toHex(ctx.random.bytes(8));
  let running: Promise<void> | undefined;
  let again = false;
  const once = async () => {
    if (!client.connected) return;
    const message = serverAlertsPayload(ctx.alerts.newest(SERVER_ALERTS_PUBLISHED_MAX), instance, ctx.clock.nowMs(), (a, reason) =>
      log.error({ seq: a.seq, kind: a.kind, reason }, 'alert left out of kp/v1/server/alerts'),
    );
    await client.publishAsync(topics.serverAlerts, JSON.stringify(message), { qos: 1, retain: true });
  };
  const publish = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await once();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const unsubscribe = ctx.alerts.onRaise(() => void publish().catch((err: unknown) => log.error({ err }, 'alerts publish failed')));
  return { publish, close: unsubscribe };
}
