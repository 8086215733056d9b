// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { canPublish, canSubscribe, TOPIC_BYTES_MAX, type AclSubject } from './acl.ts';

const k1: AclSubject = { role: 'kiosk', kioskId: 'k1' };
const server: AclSubject = { role: 'server' };
const technician: AclSubject = { role: 'technician' };
const operator: AclSubject = { role: 'operator' };
const everybody = [k1, server, technician, operator];

describe('canPublish', () => {
  it('lets a kiosk publish only to its own request topic, never retained', () => {
    expect(canPublish(k1, topics.kioskRequests('k1'), false)).toBe(true);
    expect(canPublish(k1, topics.kioskRequests('k1'), true)).toBe(false);
    expect(canPublish(k1, topics.kioskRequests('k2'), false)).toBe(false);
    expect(canPublish(k1, topics.kioskReplies('k1'), false)).toBe(false);
    expect(canPublish(k1, topics.issuerKeys, false)).toBe(false);
    expect(canPublish(k1, topics.revocations, true)).toBe(false);
  });

  it('lets the server answer any kiosk, but not retained', () => {
    for (const id of ['k1', 'k2', 'a', 'z9-kiosk-0001', 'x'.repeat(32)]) {
      expect(canPublish(server, topics.kioskReplies(id), false)).toBe(true);
      expect(canPublish(server, topics.kioskReplies(id), true)).toBe(false);
    }
  });

  it('lets the server publish its broadcasts, retained or not', () => {
    for (const t of [topics.issuerKeys, topics.revocations]) {
      expect(canPublish(server, t, true)).toBe(true);
      expect(canPublish(server, t, false)).toBe(true);
    }
  });

  it('refuses the server kiosk request topics and reply topics of ids that are not kiosk ids', () => {
    expect(canPublish(server, topics.kioskRequests('k1'), false)).toBe(false);
    for (const t of ['kp/v1/kiosk/K1/res', 'kp/v1/kiosk/-k/res', `kp/v1/kiosk/${'x'.repeat(33)}/res`, 'kp/v1/kiosk//res',
      'kp/v1/kiosk/k1/res/extra', 'kp/v1/kiosk/k1/res/', '/kp/v1/kiosk/k1/res', 'kp/v2/kiosk/k1/res', 'kp/v1/kiosk/k1/req']) {
      expect(canPublish(server, t, false), t).toBe(false);
    }
  });

  it('lets technicians and operators publish nothing yet', () => {
    for (const who of [technician, operator]) {
      for (const t of [topics.kioskRequests('k1'), topics.kioskReplies('k1'), topics.issuerKeys, topics.revocations]) {
        expect(canPublish(who, t, false)).toBe(false);
        expect(canPublish(who, t, true)).toBe(false);
      }
    }
  });

  it('refuses $SYS and every other $ topic to everybody', () => {
    for (const who of everybody) {
      for (const t of ['$SYS/broker/clients', '$SYS/', '$SYS', `$share/g/${topics.kioskRequests('k1')}`, `$${topics.kioskRequests('k1')}`]) {
        expect(canPublish(who, t, false), `${who.role} ${t}`).toBe(false);
      }
    }
  });

  it('refuses wildcards, NUL, empty, overlong and overdeep topics', () => {
    const nul = `${topics.kioskRequests('k1')}\u0000`;
    const tricks = ['kp/v1/kiosk/+/req', 'kp/v1/kiosk/k1/#', '#', '+', 'kp/#', nul, '', 'kp/v1/kiosk/k1/req/a/b/c/d',
      `${topics.kioskRequests('k1')}/${'x'.repeat(TOPIC_BYTES_MAX)}`];
    for (const who of everybody) {
      for (const t of tricks) {
        expect(canPublish(who, t, false), `${who.role} ${JSON.stringify(t)}`).toBe(false);
      }
    }
    expect(canPublish(server, 'kp/v1/kiosk/+/res', false)).toBe(false);
    expect(canPublish(server, `${topics.issuerKeys}\u0000`, true)).toBe(false);
  });

  it('refuses a kiosk whose id is not a valid kiosk id, whatever the topic', () => {
    const bad: AclSubject = { role: 'kiosk', kioskId: '+' };
    expect(canPublish(bad, 'kp/v1/kiosk/+/req', false)).toBe(false);
    const empty: AclSubject = { role: 'kiosk', kioskId: '' };
    expect(canPublish(empty, 'kp/v1/kiosk//req', false)).toBe(false);
  });
});

describe('canSubscribe', () => {
  it('lets a kiosk subscribe to its replies and the two broadcasts, exactly', () => {
    expect(canSubscribe(k1, topics.kioskReplies('k1'))).toBe(true);
    expect(canSubscribe(k1, topics.issuerKeys)).toBe(true);
    expect(canSubscribe(k1, topics.revocations)).toBe(true);
  });

  it("refuses a kiosk other kiosks' topics, its own requests and every wildcard trick", () => {
    for (const f of [topics.kioskReplies('k2'), topics.kioskRequests('k1'), topics.kioskRequests('k2'), 'kp/v1/kiosk/+/res',
      'kp/v1/kiosk/k1/#', 'kp/v1/kiosk/k1/+', 'kp/v1/kiosk/#', 'kp/v1/+/k1/res', 'kp/v1/server/#', 'kp/v1/server/+', 'kp/#', '#', '+/+/+/+/+',
      topics.allKioskRequests, `$share/g/${topics.kioskReplies('k1')}`, '$SYS/#', `${topics.kioskReplies('k1')}\u0000`, '',
      `${topics.kioskReplies('k1')}/`]) {
      expect(canSubscribe(k1, f), JSON.stringify(f)).toBe(false);
    }
  });

  it('lets the server subscribe to all kiosk requests, plainly or shared, and to its broadcasts', () => {
    expect(canSubscribe(server, topics.allKioskRequests)).toBe(true);
    expect(canSubscribe(server, `$share/servers/${topics.allKioskRequests}`)).toBe(true);
    expect(canSubscribe(server, `$share/a-b_C9/${topics.allKioskRequests}`)).toBe(true);
    expect(canSubscribe(server, topics.issuerKeys)).toBe(true);
    expect(canSubscribe(server, topics.revocations)).toBe(true);
  });

  it('refuses the server replies, broad wildcards and malformed share groups', () => {
    for (const f of ['kp/v1/kiosk/+/res', 'kp/v1/kiosk/#', 'kp/v1/kiosk/+/+', 'kp/#', '#', '$SYS/#', topics.kioskReplies('k1'),
      topics.kioskRequests('k1'), `$share//${topics.allKioskRequests}`, `$share/+/${topics.allKioskRequests}`,
      `$share/#/${topics.allKioskRequests}`, `$share/a/b/${topics.allKioskRequests}`, `$share/${'g'.repeat(33)}/${topics.allKioskRequests}`,
      '$share/g/kp/v1/kiosk/#', '$share/g/#', `$share/g/${topics.allKioskRequests}/x`, `${topics.allKioskRequests}\u0000`]) {
      expect(canSubscribe(server, f), JSON.stringify(f)).toBe(false);
    }
  });

  it('lets technicians and operators read only the retained broadcasts', () => {
    for (const who of [technician, operator]) {
      expect(canSubscribe(who, topics.issuerKeys)).toBe(true);
      expect(canSubscribe(who, topics.revocations)).toBe(true);
      for (const f of [topics.allKioskRequests, topics.kioskReplies('k1'), topics.kioskRequests('k1'), 'kp/v1/server/+', 'kp/#', '#', '$SYS/#']) {
        expect(canSubscribe(who, f), `${who.role} ${f}`).toBe(false);
      }
    }
  });

  it('refuses overlong and overdeep filters to everybody', () => {
    for (const who of everybody) {
      expect(canSubscribe(who, `${topics.issuerKeys}/${'x'.repeat(TOPIC_BYTES_MAX)}`)).toBe(false);
      expect(canSubscribe(who, 'a/b/c/d/e/f/g/h/i')).toBe(false);
    }
  });
});
