// SPDX-License-Identifier: Apache-2.0
// The kiosk's policy mode decides where each kind of code goes (outcomes.ts routeCode).
import { describe, expect, it } from 'vitest';
import type { PolicyMode } from '../../../shared/kiosk-policy.ts';
import { routeCode } from './outcomes.ts';
import { NUMERIC_OFFLINE_CODE, OFFLINE_QR_CODE, ofType, ONLINE_CODE, toAuthorising, toAwaitingCode, world } from './test-world.ts';

describe('checkout policy: routeCode', () => {
  const table: Array<[PolicyMode, boolean, 'online' | 'offline-qr' | 'offline-numeric', string]> = [
    ['prefer-online', true, 'online', 'server'],
    ['prefer-online', true, 'offline-qr', 'server'],
    ['prefer-online', true, 'offline-numeric', 'server'],
    ['prefer-online', false, 'online', 'OFFLINE_FORM_REQUIRED'],
    ['prefer-online', false, 'offline-qr', 'precheck'],
    ['prefer-online', false, 'offline-numeric', 'OFFLINE_FORM_REQUIRED'],
    ['require-online', true, 'offline-qr', 'server'],
    ['require-online', false, 'online', 'KIOSK_OFFLINE_UNAVAILABLE'],
    ['require-online', false, 'offline-qr', 'KIOSK_OFFLINE_UNAVAILABLE'],
    ['require-online', false, 'offline-numeric', 'KIOSK_OFFLINE_UNAVAILABLE'],
    ['force-offline', true, 'offline-qr', 'precheck'],
    ['force-offline', false, 'offline-qr', 'precheck'],
    ['force-offline', true, 'online', 'server'],
    ['force-offline', true, 'offline-numeric', 'server'],
    ['force-offline', false, 'online', 'OFFLINE_FORM_REQUIRED'],
  ];
  it.each(table)('%s, uplink online=%s, %s code -> %s', (policy, online, kind, expected) => {
    expect(routeCode(kind, online, policy)).toBe(expected);
  });
});

describe('checkout policy: the machine', () => {
  it('force-offline pre-checks an offline QR code while the uplink is up, and sends nothing', () => {
    const w = world({ policy: 'force-offline' });
    toAwaitingCode(w);
    const fx = w.scan(OFFLINE_QR_CODE);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'prechecking', uplinkOnline: true });
    expect(ofType(fx, 'precheckOffline')).toHaveLength(1);
    expect(ofType(fx, 'sendPay')).toHaveLength(0);
    expect(ofType(fx, 'show')[0]?.screen).toMatchObject({ name: 'authorising', offline: true });
  });

  it('force-offline still sends an online code to the server', () => {
    const w = world({ policy: 'force-offline' });
    toAwaitingCode(w);
    expect(ofType(w.scan(ONLINE_CODE), 'sendPay')).toHaveLength(1);
  });

  it('require-online declines every code while the uplink is down, minting no txId', () => {
    for (const code of [OFFLINE_QR_CODE, ONLINE_CODE, NUMERIC_OFFLINE_CODE]) {
      const w = world({ policy: 'require-online', online: false });
      toAwaitingCode(w);
      w.scan(code);
      expect(w.state).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
      expect(w.minted).toEqual([]);
    }
  });

  it('require-online declines an offline QR code whose pay could not be sent, instead of storing it', () => {
    const w = world({ policy: 'require-online' });
    const txId = toAuthorising(w, OFFLINE_QR_CODE);
    const fx = w.send({ type: 'paySendFailed', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
    expect(ofType(fx, 'precheckOffline')).toHaveLength(0);
  });

  it('a policy change applies to the next code', () => {
    const w = world({ online: false });
    toAwaitingCode(w);
    w.setPolicy('require-online');
    w.scan(OFFLINE_QR_CODE);
    expect(w.state).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
  });
});
