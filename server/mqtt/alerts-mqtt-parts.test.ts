// SPDX-License-Identifier: Apache-2.0
// The server's two alert topics, without a broker: the broker's login-flood reports raised as
// alerts (broker-alerts.ts), and the retained list consoles read (alerts-broadcast.ts).
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ALERT_MESSAGE_MAX,
  SERVER_ALERTS_PUBLISHED_MAX,
  serverAlertsMessage,
  type LoginFloodMessage,
} from '../../shared/alert-messages.ts';
import { money } from '../../shared/money.ts';
import type { ServerAlert } from '../domain/alerts.ts';
import { makeWorld, T0, type World } from '../testing/world.ts';
import { serverAlertsPayload } from './alerts-broadcast.ts';
import { loginFloodAlert, raiseBrokerAlert } from './broker-alerts.ts';

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

const report: LoginFloodMessage = {
  v: 1,
  type: 'login-flood',
  at: T0 - 5_000,
  trigger: 'address',
  address: '203.0.113.7',
  username: 'k2',
  usernameKnown: true,
  kioskId: 'k2',
  addressCounts: { failed: 4, deferred: 60 },
  usernameCounts: { failed: 4, deferred: 60 },
  since: T0 - 6_000,
  suppressed: 0,
};
const silent = pino({ level: 'silent' });

describe('login floods from the broker', () => {
  it('become alerts naming address, username, kiosk and counts; critical for a real identity', () => {
    expect(loginFloodAlert(report, T0)).toEqual({
      kind: 'login-flood',
      severity: 'critical',
      at: T0,
      kioskId: 'k2',
      walletId: null,
      amount: null,
      message:
        'login flood (by address) from 203.0.113.7, username "k2" (kiosk k2): 4 wrong passwords and 60 deferred logins from the address, ' +
        `4 and 60 for the username, since ${new Date(T0 - 6_000).toISOString()}; the broker defers further attempts`,
    });
    const stranger = loginFloodAlert({ ...report, username: 'admin', usernameKnown: false, kioskId: null, suppressed: 3 }, T0);
    expect(stranger).toMatchObject({ severity: 'warning', kioskId: null });
    expect(stranger.message).toMatch(/username "admin" \(not an identity\).*; 3 more flood alerts withheld before this one$/);
  });

  it('raises a valid report once, and ignores a retained or unreadable one', () => {
    raiseBrokerAlert(w.ctx, Buffer.from(JSON.stringify(report)), false, silent);
    raiseBrokerAlert(w.ctx, Buffer.from(JSON.stringify(report)), true, silent);
    raiseBrokerAlert(w.ctx, Buffer.from(JSON.stringify({ ...report, username: 'x\u001b[2J' })), false, silent);
    raiseBrokerAlert(w.ctx, Buffer.from('{"v":1,"type":"login-flood","v":1}'), false, silent);
    expect(w.ctx.alerts.since(0).map((a) => [a.kind, a.kioskId])).toEqual([['login-flood', 'k2']]);
  });
});

describe('the retained alert list', () => {
  const alert = (seq: number, extra: Partial<ServerAlert> = {}): ServerAlert => ({
    seq,
    kind: 'offline-copy',
    severity: 'critical',
    at: T0 + seq,
    kioskId: 'k2',
    walletId: 'w_0123',
    amount: money(1_100),
    message: `copy ${seq}`,
    ...extra,
  });

  it('holds the newest alerts with kiosk, wallet and amount, valid by the shared schema', () => {
    const m = serverAlertsPayload(
      Array.from({ length: 60 }, (_, i) => alert(i + 1)),
      'ab'.repeat(8),
      T0,
    );
    expect(serverAlertsMessage.parse(m)).toEqual(m);
    expect(m.alerts).toHaveLength(SERVER_ALERTS_PUBLISHED_MAX);
    expect(m.alerts[0]).toEqual({
      seq: 11,
      kind: 'offline-copy',
      severity: 'critical',
      at: T0 + 11,
      kioskId: 'k2',
      walletId: 'w_0123',
      amount: { value: 1_100, currency: 'JPY' },
      message: 'copy 11',
    });
    expect(m.alerts.at(-1)?.seq).toBe(60);
  });

  it('makes texts printable and short, and leaves out an alert the schema refuses', () => {
    const left: number[] = [];
    const m = serverAlertsPayload(
      [
        alert(1, { message: 'evil \u001b]0;owned\u0007 \u202eok' }),
        alert(2, { message: 'y'.repeat(ALERT_MESSAGE_MAX + 10) }),
        alert(3, { kioskId: 'Not A Kiosk' }),
      ],
      'ab'.repeat(8),
      T0,
      (a) => left.push(a.seq),
    );
    expect(m.alerts.map((a) => a.message)).toEqual(['evil ?]0;owned? ?ok', `${'y'.repeat(ALERT_MESSAGE_MAX - 3)}...`]);
    expect(left).toEqual([3]);
  });
});
