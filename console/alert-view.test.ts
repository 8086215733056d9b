// SPDX-License-Identifier: Apache-2.0
// The console's alert view and its words, on a stand-in MQTT client (messages are handed to it
// directly): the retained list first, then each new alert once and in order, across replicas and
// restarts; what the broker refuses; and the table people read.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { PublishedServerAlert, ServerAlertsMessage } from '../shared/alert-messages.ts';
import { topics } from '../shared/topics.ts';
import { formatAlertLine, formatAlerts } from './alert-format.ts';
import { AlertView } from './alert-view.ts';

const AT = new Date(2026, 10, 28, 12, 3).getTime();

class StandIn extends EventEmitter {
  connected = true;
  subscribed: string[] = [];
  constructor(readonly qos = 1) {
    super();
  }
  async subscribeAsync(topic: string) {
    this.subscribed.push(topic);
    return [{ topic, qos: this.qos }];
  }
  async unsubscribeAsync(topic: string) {
    this.subscribed = this.subscribed.filter((t) => t !== topic);
  }
  send(m: ServerAlertsMessage | string, topic: string = topics.serverAlerts) {
    this.emit('message', topic, Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)), { retain: false });
  }
}

const alert = (seq: number, extra: Partial<PublishedServerAlert> = {}): PublishedServerAlert => ({
  seq,
  kind: 'offline-copy',
  severity: 'critical',
  at: AT,
  kioskId: 'k2',
  walletId: 'w_ab12',
  amount: { value: 1_100, currency: 'JPY' },
  message: `copy ${seq}`,
  ...extra,
});
const list = (seqs: number[], instance = 'a'.repeat(16)): ServerAlertsMessage => ({
  v: 1,
  type: 'server-alerts',
  instance,
  at: AT,
  alerts: seqs.map((s) => alert(s)),
});

describe('AlertView', () => {
  it('returns the first list, then hands over each new alert once, in order, including those that came meanwhile', async () => {
    const c = new StandIn();
    const view = new AlertView(c as unknown as MqttClient);
    const started = view.start(5_000);
    c.send(list([1, 2]));
    expect((await started)?.alerts.map((a) => a.seq)).toEqual([1, 2]);
    c.send(list([1, 2, 3])); // before follow(): kept
    const got: string[] = [];
    view.follow((a) => got.push(`${a.seq}`));
    c.send(list([1, 2, 3, 4]));
    c.send(list([3, 4]));
    c.send(list([1], 'b'.repeat(16))); // another replica, or a restarted server: its seq 1 is new
    c.send('{"v":1,"type":"server-alerts"}');
    c.send('');
    c.send(list([9]), topics.catalog); // another topic on the same client
    expect(got).toEqual(['3', '4', '1']);
    expect(view.invalid).toBe(1);
    await view.stop();
    expect(c.subscribed).toEqual([]);
    c.send(list([5]));
    expect(got).toHaveLength(3);
  });

  it('resolves undefined when no list comes in time, and then every alert is new', async () => {
    const c = new StandIn();
    const view = new AlertView(c as unknown as MqttClient);
    expect(await view.start(0)).toBeUndefined();
    const got: number[] = [];
    view.follow((a) => got.push(a.seq));
    c.send(list([1, 2]));
    expect(got).toEqual([1, 2]);
  });

  it('says so when the broker refuses the subscription (SUBACK 0x80)', async () => {
    await expect(new AlertView(new StandIn(128) as unknown as MqttClient).start(0)).rejects.toThrow(
      /refused the subscription to kp\/v1\/server\/alerts/,
    );
  });
});

describe('alert words', () => {
  it('prints time, severity, kind, kiosk, wallet, amount and message, with - where there is none', () => {
    const rows = formatAlerts(
      [
        alert(1),
        alert(2, { kind: 'login-flood', severity: 'warning', kioskId: null, walletId: null, amount: null, message: 'login flood' }),
      ],
      AT,
    ).split('\n');
    expect(rows).toEqual([
      'TIME          SEVERITY  KIND          KIOSK  WALLET  AMOUNT  MESSAGE',
      '12:03 +00:00  critical  offline-copy  k2     w_ab12  ¥1,100  copy 1',
      '12:03 +00:00  warning   login-flood   -      -       -       login flood',
    ]);
    expect(formatAlertLine(alert(3, { amount: { value: 1_234, currency: 'USD' } }), AT)).toBe(
      '12:03 +00:00  critical  offline-copy  k2  w_ab12  USD 12.34  copy 3',
    );
    expect(formatAlerts([], AT)).toBe('no alerts from the server');
  });
});
