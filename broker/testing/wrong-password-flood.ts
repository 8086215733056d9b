// SPDX-License-Identifier: Apache-2.0
// A flood of MQTT 3.1.1 CONNECTs with wrong passwords, written straight onto TCP sockets on
// loopback (a client library would not send them all at once). The caller keeps the sockets and
// destroys them after the test.
import { connect as tcpConnect, type Socket } from 'node:net';

const utf8 = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT packet: clean session, username and password, keepalive 30 s (short fields only). */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([utf8('MQTT'), Buffer.from([4, 0xc2, 0, 30]), utf8(clientId), utf8(username), utf8(password)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * `n` CONNECTs as `username` with wrong passwords, all at once, to 127.0.0.1:`port`. Resolves when
 * every one was written (`until: 'written'`), or when every one got its CONNACK or was closed
 * (`until: 'answered'`). Each socket is pushed onto `sockets`.
 */
export async function wrongPasswordFlood(
  port: number,
  n: number,
  username: string,
  until: 'written' | 'answered',
  sockets: Socket[],
): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve) => {
          const packet = connectPacket(`kp-${username}-flood-${i}`, username, `wrong-${i}`);
          const s = tcpConnect(port, '127.0.0.1', () => s.write(packet, () => (until === 'written' ? resolve() : undefined)));
          let bytes = 0;
          s.on('data', (d: Buffer) => {
            bytes += d.length;
            if (bytes >= 4) resolve();
          });
          s.on('error', () => resolve());
          if (until === 'answered') s.on('close', () => resolve());
          sockets.push(s);
        }),
    ),
  );
}
