// SPDX-License-Identifier: Apache-2.0
// Throwaway certificates for TLS tests, made with the openssl CLI into a temp dir: a CA, a server
// certificate for 127.0.0.1/localhost, and client certificates with a given CN (one also from a
// second, untrusted CA). Undefined when openssl is absent: the tests say so and skip.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly ca: string;
  readonly server: KeyPair;
  /** Client certificates signed by `ca`, by CN. */
  client(cn: string): KeyPair;
  /** A client certificate with this CN signed by another CA, which the broker does not trust. */
  untrustedClient(cn: string): KeyPair;
  /** Removes the temp dir. */
  remove(): void;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const DAYS = '2';

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'kp-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const newCa = (name: string) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      DAYS,
      '-subj',
      `/CN=${name}`,
    );
  const sign = (name: string, cn: string, ca: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      DAYS,
      '-extfile',
      ext.startsWith('/') ? ext : join(dir, ext),
    );
    return { cert: read(`${name}.crt`), key: read(`${name}.key`) };
  };
  newCa('test-ca');
  newCa('other-ca');
  execFileSync(
    'sh',
    [
      '-c',
      'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n" > server.ext; printf "extendedKeyUsage=clientAuth\\n" > client.ext',
    ],
    { cwd: dir },
  );
  const server = sign('server', 'localhost', 'test-ca', 'server.ext');
  const clients = new Map<string, KeyPair>();
  let n = 0;
  return {
    ca: read('test-ca.crt'),
    server,
    client(cn) {
      const key = `trusted:${cn}`;
      if (!clients.has(key)) clients.set(key, sign(`client-${n++}`, cn, 'test-ca', 'client.ext'));
      return clients.get(key)!;
    },
    untrustedClient(cn) {
      const key = `untrusted:${cn}`;
      if (!clients.has(key)) clients.set(key, sign(`client-${n++}`, cn, 'other-ca', 'client.ext'));
      return clients.get(key)!;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
