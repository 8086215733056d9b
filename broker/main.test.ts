// SPDX-License-Identifier: Apache-2.0
import mqtt from 'mqtt';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPassword } from './identities.ts';
import { brokerCommand } from './main.ts';
import { hasOpenssl, makeTestCertificates } from './testing/test-certificates.ts';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c, _e, done) {
        chunks.push(String(c));
        done();
      },
    }),
    text: () => chunks.join(''),
  };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('kioskpay broker hash-password', () => {
  it('prints a hash of the password read from stdin, without its trailing newline', async () => {
    const out = capture();
    const code = await brokerCommand(['hash-password'], {
      stdin: Readable.from(['s3cret pass\n']),
      stdout: out.stream,
      stderr: capture().stream,
    });
    expect(code).toBe(0);
    const hash = out.text().trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('s3cret pass', hash)).toBe(true);
    expect(out.text()).not.toContain('s3cret');
  });

  it('refuses an empty password with exit code 2', async () => {
    const err = capture();
    expect(await brokerCommand(['hash-password'], { stdin: Readable.from(['\n']), stdout: capture().stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toContain('empty password');
  });
});

describe('kioskpay broker', () => {
  it('prints help with --help', async () => {
    const out = capture();
    expect(await brokerCommand(['--help'], { stdout: out.stream })).toBe(0);
    expect(out.text()).toContain('--identities FILE');
    expect(out.text()).toContain('hash-password');
  });

  it('exits 2 on an unknown option, a bad port or no identities file', async () => {
    expect(await brokerCommand(['--bogus'], { stderr: capture().stream })).toBe(2);
    expect(await brokerCommand(['--port', '70000', '--identities', 'x.json'], { stderr: capture().stream })).toBe(2);
    const err = capture();
    expect(await brokerCommand(['--port', '0'], { stderr: err.stream })).toBe(2);
    expect(err.text()).toContain('--identities FILE is required');
  });

  it('serves the identities file until shut down, then closes cleanly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-broker-'));
    const ids = join(dir, 'ids.json');
    const hashOut = capture();
    await brokerCommand(['hash-password'], { stdin: Readable.from(['pw-k1']), stdout: hashOut.stream });
    await writeFile(ids, JSON.stringify([{ username: 'k1', passwordHash: hashOut.text().trim(), role: 'kiosk', kioskId: 'k1' }]));

    const logs = new PassThrough();
    const listening = new Promise<string>((resolve) => {
      logs.on('data', (line: Buffer) => {
        const entry = JSON.parse(String(line)) as { msg: string; url?: string };
        if (entry.msg === 'broker listening' && entry.url) resolve(entry.url);
      });
    });
    const shutdown = new AbortController();
    const running = brokerCommand(['--port', '0', '--identities', ids], {
      shutdown: shutdown.signal,
      logger: pino({ level: 'info' }, logs),
    });
    const url = await listening;
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      username: 'k1',
      password: 'pw-k1',
      clientId: 'kp-k1-main',
      reconnectPeriod: 0,
    });
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    shutdown.abort();
    expect(await running).toBe(0);
    await clientClosed;
    await client.endAsync(true);
  });
});

describe('kioskpay broker TLS and Redis flags', () => {
  it('exits 2 when the TLS and Redis flags do not fit together', async () => {
    const cases: [string[], RegExp][] = [
      [['--tls-cert', 'c.pem'], /--tls-cert and --tls-key go together/],
      [['--tls-key', 'k.pem'], /--tls-cert and --tls-key go together/],
      [['--require-client-cert'], /need --tls-cert/],
      [['--tls-ca', 'ca.pem'], /need --tls-cert/],
      [['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--require-client-cert'], /need --tls-ca/],
      [['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--request-client-cert'], /need --tls-ca/],
      [['--redis-prefix', 'x:'], /--redis-prefix needs --redis/],
    ];
    for (const [flags, message] of cases) {
      const err = capture();
      expect(await brokerCommand(['--port', '0', '--identities', 'ids.json', ...flags], { stderr: err.stream }), flags.join(' ')).toBe(2);
      expect(err.text()).toMatch(message);
    }
    const help = capture();
    await brokerCommand(['--help'], { stdout: help.stream });
    for (const flag of ['--tls-cert', '--tls-key', '--tls-ca', '--require-client-cert', '--request-client-cert', '--redis URL'])
      expect(help.text()).toContain(flag);
  });

  it.skipIf(!hasOpenssl())(
    'serves mqtts:// with --tls-cert, --tls-key, --tls-ca and --require-client-cert (skipped without openssl)',
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'kp-broker-tls-'));
      const certs = makeTestCertificates();
      try {
        const file = async (name: string, text: string) => {
          await writeFile(join(dir!, name), text);
          return join(dir!, name);
        };
        const ids = join(dir, 'ids.json');
        const hashOut = capture();
        await brokerCommand(['hash-password'], { stdin: Readable.from(['pw-k1']), stdout: hashOut.stream });
        await writeFile(ids, JSON.stringify([{ username: 'k1', passwordHash: hashOut.text().trim(), role: 'kiosk', kioskId: 'k1' }]));
        const flags = [
          '--tls-cert',
          await file('server.crt', certs.server.cert),
          '--tls-key',
          await file('server.key', certs.server.key),
          '--tls-ca',
          await file('ca.crt', certs.ca),
          '--require-client-cert',
        ];

        const logs = new PassThrough();
        const listening = new Promise<string>((resolve) => {
          logs.on('data', (line: Buffer) => {
            const entry = JSON.parse(String(line)) as { msg: string; url?: string };
            if (entry.msg === 'broker listening' && entry.url) resolve(entry.url);
          });
        });
        const shutdown = new AbortController();
        const running = brokerCommand(['--port', '0', '--identities', ids, ...flags], {
          shutdown: shutdown.signal,
          logger: pino({ level: 'info' }, logs),
        });
        const url = await listening;
        expect(url).toMatch(/^mqtts:\/\//);
        const k1 = certs.client('k1');
        const client = await mqtt.connectAsync(url, {
          protocolVersion: 4,
          username: 'k1',
          password: 'pw-k1',
          clientId: 'kp-k1-tls',
          reconnectPeriod: 0,
          connectTimeout: 3_000,
          ca: certs.ca,
          cert: k1.cert,
          key: k1.key,
          servername: 'localhost',
        });
        expect(client.connected).toBe(true);
        await client.endAsync(true);
        shutdown.abort();
        expect(await running).toBe(0);
      } finally {
        certs.remove();
      }
    },
  );
});
