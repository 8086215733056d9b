// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { canPublish, canReceive, canSubscribe, SERVER_BROADCASTS, TOPIC_BYTES_MAX, type AclSubject } from './acl.ts';

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

  it('lets the server publish its broadcasts (keys, revocations, catalog), retained or not', () => {
    for (const t of [topics.issuerKeys, topics.revocations, topics.catalog]) {
      expect(canPublish(server, t, true)).toBe(true);
      expect(canPublish(server, t, false)).toBe(true);
    }
  });

  it('refuses the server kiosk request topics and reply topics of ids that are not kiosk ids', () => {
    expect(canPublish(server, topics.kioskRequests('k1'), false)).toBe(false);
    for (const t of [
      'kp/v1/kiosk/K1/res',
      'kp/v1/kiosk/-k/res',
      `kp/v1/kiosk/${'x'.repeat(33)}/res`,
      'kp/v1/kiosk//res',
      'kp/v1/kiosk/k1/res/extra',
      'kp/v1/kiosk/k1/res/',
      '/kp/v1/kiosk/k1/res',
      'kp/v2/kiosk/k1/res',
      'kp/v1/kiosk/k1/req',
    ]) {
      expect(canPublish(server, t, false), t).toBe(false);
    }
  });

  it('lets technicians and operators publish nothing but (technicians) commands', () => {
    for (const who of [technician, operator]) {
      for (const t of [
        topics.kioskRequests('k1'),
        topics.kioskReplies('k1'),
        topics.kioskStatus('k1'),
        topics.kioskEvents('k1'),
        topics.kioskAcks('k1'),
        ...SERVER_BROADCASTS,
      ]) {
        expect(canPublish(who, t, false)).toBe(false);
        expect(canPublish(who, t, true)).toBe(false);
      }
    }
    expect(canPublish(technician, topics.kioskCommands('k1'), false)).toBe(true);
    expect(canPublish(operator, topics.kioskCommands('k1'), false)).toBe(false);
  });

  it('refuses $SYS and every other $ topic to everybody', () => {
    for (const who of everybody) {
      for (const t of [
        '$SYS/broker/clients',
        '$SYS/',
        '$SYS',
        `$share/g/${topics.kioskRequests('k1')}`,
        `$${topics.kioskRequests('k1')}`,
      ]) {
        expect(canPublish(who, t, false), `${who.role} ${t}`).toBe(false);
      }
    }
  });

  it('refuses wildcards, NUL, empty, overlong and overdeep topics', () => {
    const nul = `${topics.kioskRequests('k1')}\u0000`;
    const tricks = [
      'kp/v1/kiosk/+/req',
      'kp/v1/kiosk/k1/#',
      '#',
      '+',
      'kp/#',
      nul,
      '',
      'kp/v1/kiosk/k1/req/a/b/c/d',
      `${topics.kioskRequests('k1')}/${'x'.repeat(TOPIC_BYTES_MAX)}`,
    ];
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
  it('lets a kiosk subscribe to its replies, its commands and the three broadcasts, exactly', () => {
    expect(canSubscribe(k1, topics.kioskReplies('k1'))).toBe(true);
    expect(canSubscribe(k1, topics.kioskCommands('k1'))).toBe(true);
    expect(canSubscribe(k1, topics.issuerKeys)).toBe(true);
    expect(canSubscribe(k1, topics.revocations)).toBe(true);
    expect(canSubscribe(k1, topics.catalog)).toBe(true);
  });

  it("refuses a kiosk other kiosks' topics, its own requests and every wildcard trick", () => {
    for (const f of [
      topics.kioskReplies('k2'),
      topics.kioskRequests('k1'),
      topics.kioskRequests('k2'),
      'kp/v1/kiosk/+/res',
      'kp/v1/kiosk/k1/#',
      'kp/v1/kiosk/k1/+',
      'kp/v1/kiosk/#',
      'kp/v1/+/k1/res',
      'kp/v1/server/#',
      'kp/v1/server/+',
      'kp/#',
      '#',
      '+/+/+/+/+',
      topics.allKioskRequests,
      `$share/g/${topics.kioskReplies('k1')}`,
      '$SYS/#',
      `${topics.kioskReplies('k1')}\u0000`,
      '',
      `${topics.kioskReplies('k1')}/`,
    ]) {
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
    for (const f of [
      'kp/v1/kiosk/+/res',
      'kp/v1/kiosk/#',
      'kp/v1/kiosk/+/+',
      'kp/#',
      '#',
      '$SYS/#',
      topics.kioskReplies('k1'),
      topics.kioskRequests('k1'),
      `$share//${topics.allKioskRequests}`,
      `$share/+/${topics.allKioskRequests}`,
      `$share/#/${topics.allKioskRequests}`,
      `$share/a/b/${topics.allKioskRequests}`,
      `$share/${'g'.repeat(33)}/${topics.allKioskRequests}`,
      '$share/g/kp/v1/kiosk/#',
      '$share/g/#',
      `$share/g/${topics.allKioskRequests}/x`,
      `${topics.allKioskRequests}\u0000`,
    ]) {
      expect(canSubscribe(server, f), JSON.stringify(f)).toBe(false);
    }
  });

  it('lets technicians and operators read the retained broadcasts, never requests or replies', () => {
    for (const who of [technician, operator]) {
      for (const t of SERVER_BROADCASTS) expect(canSubscribe(who, t)).toBe(true);
      for (const f of [
        topics.allKioskRequests,
        topics.kioskReplies('k1'),
        topics.kioskRequests('k1'),
        'kp/v1/server/+',
        'kp/#',
        '#',
        '$SYS/#',
      ]) {
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

/** Every kiosk topic of kiosks k1 and k2, and the broadcasts. */
const KIOSK_TOPIC_FNS = {
  req: topics.kioskRequests,
  res: topics.kioskReplies,
  status: topics.kioskStatus,
  events: topics.kioskEvents,
  cmd: topics.kioskCommands,
  ack: topics.kioskAcks,
} as const;
type Leaf = keyof typeof KIOSK_TOPIC_FNS;
const LEAVES = Object.keys(KIOSK_TOPIC_FNS) as Leaf[];

describe('the kiosk telemetry and command topics (issue 5)', () => {
  it('lets a kiosk publish its status retained, its requests, events and acks only unretained, and nothing of another kiosk', () => {
    const expected: Record<Leaf, [plain: boolean, retained: boolean]> = {
      req: [true, false],
      res: [false, false],
      status: [true, true],
      events: [true, false],
      cmd: [false, false],
      ack: [true, false],
    };
    for (const leaf of LEAVES) {
      const [plain, retained] = expected[leaf];
      expect(canPublish(k1, KIOSK_TOPIC_FNS[leaf]('k1'), false), `own ${leaf}`).toBe(plain);
      expect(canPublish(k1, KIOSK_TOPIC_FNS[leaf]('k1'), true), `own ${leaf} retained`).toBe(retained);
      for (const retain of [false, true]) expect(canPublish(k1, KIOSK_TOPIC_FNS[leaf]('k2'), retain), `k2 ${leaf}`).toBe(false);
    }
    for (const t of SERVER_BROADCASTS) for (const retain of [false, true]) expect(canPublish(k1, t, retain), t).toBe(false);
  });

  it("lets nobody but kiosk K publish K's status", () => {
    for (const who of [server, technician, operator, { role: 'kiosk', kioskId: 'k2' } as const]) {
      for (const retain of [false, true]) expect(canPublish(who, topics.kioskStatus('k1'), retain), who.role).toBe(false);
    }
  });

  it('lets the server publish commands to any kiosk, unretained, and the retained catalog', () => {
    for (const id of ['k1', 'k2', 'z9-kiosk-0001']) {
      expect(canPublish(server, topics.kioskCommands(id), false)).toBe(true);
      expect(canPublish(server, topics.kioskCommands(id), true)).toBe(false);
      for (const leaf of ['req', 'status', 'events', 'ack'] as const)
        expect(canPublish(server, KIOSK_TOPIC_FNS[leaf](id), false), leaf).toBe(false);
    }
    expect(canPublish(server, topics.catalog, true)).toBe(true);
    expect(canPublish(server, 'kp/v1/kiosk/+/cmd', false)).toBe(false);
    expect(canPublish(server, 'kp/v1/kiosk/K1/cmd', false)).toBe(false);
  });

  it('lets technicians publish commands to any kiosk but never retained; operators never', () => {
    expect(canPublish(technician, topics.kioskCommands('k2'), false)).toBe(true);
    expect(canPublish(technician, topics.kioskCommands('k2'), true)).toBe(false);
    expect(canPublish(technician, 'kp/v1/kiosk/+/cmd', false)).toBe(false);
    for (const retain of [false, true]) expect(canPublish(operator, topics.kioskCommands('k2'), retain)).toBe(false);
  });

  it('grants each role exactly its kiosk-wide filters and their per-kiosk forms', () => {
    const any = (leaf: Leaf) => `kp/v1/kiosk/+/${leaf}`;
    const wide: Record<'server' | 'technician' | 'operator', Leaf[]> = {
      server: ['req', 'status', 'events', 'cmd', 'ack'],
      technician: ['status', 'events', 'ack'],
      operator: ['status', 'events'],
    };
    for (const who of [server, technician, operator] as const) {
      for (const leaf of LEAVES) {
        const granted = wide[who.role].includes(leaf);
        expect(canSubscribe(who, any(leaf)), `${who.role} ${any(leaf)}`).toBe(granted);
        // Per-kiosk forms of the same grants; the server's requests only kiosk-wide (as before).
        expect(canSubscribe(who, KIOSK_TOPIC_FNS[leaf]('k1')), `${who.role} ${leaf} of k1`).toBe(granted && leaf !== 'req');
        expect(canReceive(who, KIOSK_TOPIC_FNS[leaf]('k1')), `${who.role} receives ${leaf}`).toBe(granted);
      }
      for (const t of SERVER_BROADCASTS) {
        expect(canSubscribe(who, t)).toBe(true);
        expect(canReceive(who, t)).toBe(true);
      }
    }
    expect(canSubscribe(k1, topics.allKioskStatus)).toBe(false);
    expect(canSubscribe(k1, topics.allKioskCommands)).toBe(false);
  });

  it('refuses every other wildcard and $SYS to every role', () => {
    const tricks = [
      'kp/v1/kiosk/#',
      'kp/#',
      '#',
      '+/#',
      'kp/v1/+/+/status',
      'kp/v1/kiosk/+/+',
      'kp/v1/kiosk/k1/+',
      'kp/v1/kiosk/k1/#',
      'kp/v1/+/k1/status',
      '+/v1/kiosk/+/status',
      'kp/v1/kiosk/+/status/#',
      'kp/v1/kiosk/+/res',
      'kp/v1/server/+',
      'kp/v1/server/#',
      '$SYS/#',
      '$SYS/broker/clients/connected',
      '$SYS',
      '+/+/+/+/+',
      `$share/g/${topics.allKioskStatus}`,
    ];
    for (const who of everybody) {
      for (const f of tricks) expect(canSubscribe(who, f), `${who.role} ${f}`).toBe(false);
    }
  });

  it('decides each delivery: a kiosk receives only its own replies and commands and the broadcasts', () => {
    for (const leaf of LEAVES) {
      expect(canReceive(k1, KIOSK_TOPIC_FNS[leaf]('k1')), leaf).toBe(leaf === 'res' || leaf === 'cmd');
      expect(canReceive(k1, KIOSK_TOPIC_FNS[leaf]('k2')), `k2 ${leaf}`).toBe(false);
    }
    for (const t of SERVER_BROADCASTS) expect(canReceive(k1, t)).toBe(true);
    for (const who of everybody) {
      for (const t of ['$SYS/broker/uptime', 'other/topic', 'kp/v1/kiosk/k1', 'kp/v1/kiosk/k1/res/x', 'kp/v1/kiosk/+/status', '']) {
        expect(canReceive(who, t), `${who.role} ${t}`).toBe(false);
      }
    }
    expect(canReceive({ role: 'kiosk', kioskId: 'K+' }, topics.issuerKeys)).toBe(false);
  });
});

describe('the alert topics (issue 12)', () => {
  it("lets staff read the server's alerts and kiosks not: they name wallets", () => {
    for (const who of [server, technician, operator]) {
      expect(canSubscribe(who, topics.serverAlerts), who.role).toBe(true);
      expect(canReceive(who, topics.serverAlerts), who.role).toBe(true);
    }
    expect(canSubscribe(k1, topics.serverAlerts)).toBe(false);
    expect(canReceive(k1, topics.serverAlerts)).toBe(false);
  });

  it('lets only the server publish its alerts, retained or not', () => {
    for (const retain of [false, true]) {
      expect(canPublish(server, topics.serverAlerts, retain)).toBe(true);
      for (const who of [k1, technician, operator]) expect(canPublish(who, topics.serverAlerts, retain), who.role).toBe(false);
    }
  });

  it("lets only the server read the broker's alerts, and no client publish them (the broker does)", () => {
    expect(canSubscribe(server, topics.brokerAlerts)).toBe(true);
    expect(canReceive(server, topics.brokerAlerts)).toBe(true);
    for (const who of [k1, technician, operator]) {
      expect(canSubscribe(who, topics.brokerAlerts), who.role).toBe(false);
      expect(canReceive(who, topics.brokerAlerts), who.role).toBe(false);
    }
    for (const who of everybody)
      for (const retain of [false, true]) expect(canPublish(who, topics.brokerAlerts, retain), who.role).toBe(false);
    for (const who of everybody)
      for (const f of ['kp/v1/broker/+', 'kp/v1/broker/#', 'kp/v1/+/alerts']) expect(canSubscribe(who, f), `${who.role} ${f}`).toBe(false);
  });
});
