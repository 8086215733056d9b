// SPDX-License-Identifier: Apache-2.0
// Issue 12: the broker speaks MQTT 3.1.1 (protocol level 4) only. A 3.1 CONNECT (`MQIsdp`, level 3)
// with valid credentials gets CONNACK 1, unacceptable protocol version, over a raw socket. Before
// the check, aedes accepted it (CONNACK 0).
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from './broker.ts';
import { testIdentities } from './testing/test-identities.ts';
import { WAIT_MS } from '../shared/testing/wait.ts';

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker({ port: 0, identities: await testIdentities() });
});
afterAll(async () => {
  await broker.close();
});

const utf8 = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT with username and password, clean session, keepalive 30 s, for protocol name/level. */
function connectPacket(protocolName: string, level: number, clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([utf8(protocolName), Buffer.from([level, 0xc2, 0, 30]), utf8(clientId), utf8(username), utf8(password)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** The first four bytes the broker answers (a CONNACK), or what it sent before closing. */
function firstAnswer(packet: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(broker.port, '127.0.0.1', () => s.write(packet));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no CONNACK within ${WAIT_MS} ms (got ${got.toString('hex')})`));
    }, WAIT_MS);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) {
        clearTimeout(timer);
        s.destroy();
        resolve(got.subarray(0, 4));
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', () => {});
  });
}

describe('MQTT protocol version', () => {
  it('refuses MQTT 3.1 (MQIsdp, level 3) with CONNACK 1, and accepts 3.1.1 with the same login', async () => {
    expect([...(await firstAnswer(connectPacket('MQIsdp', 3, 'kp-k1-v31', 'k1', 'pw-k1')))]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect([...(await firstAnswer(connectPacket('MQTT', 4, 'kp-k1-v311', 'k1', 'pw-k1')))]).toEqual([0x20, 0x02, 0x00, 0x00]);
  });
});
