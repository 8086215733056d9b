// SPDX-License-Identifier: Apache-2.0
// The kiosk's way to its broker: the password file (mode 0600), the TLS files (present, readable,
// PEM, certificate in date with CN = kioskId, key matching it), a bounded TCP connect to the broker,
// and a real MQTT login with the kiosk's credentials that tells a bad password (CONNACK 4) from a
// refused identity (CONNACK 5) and from a broker that never answers.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createConnection, isIP } from 'node:net';
import { MqttUplink } from '../../uplink/mqtt-uplink.ts';
import { UplinkConnectError } from '../../uplink/uplink.ts';
import { kioskPassword, kioskTls, type KioskConfig } from '../config.ts';
import type { CheckResult, DoctorCheck } from './check.ts';

export interface UplinkCheckOptions {
  /** Wall-clock milliseconds for certificate validity (tests pass a fixed time). */
  now?: () => number;
}

const errText = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

async function passwordCheck(cfg: Readonly<KioskConfig>): Promise<CheckResult> {
  const file = cfg.mqtt.passwordFile;
  if (cfg.mqtt.password !== undefined) {
    return {
      id: 'uplink.password',
      title: 'The broker password is written in the config file itself',
      status: 'warn',
      fix: 'move it to a file of its own: set mqtt.passwordFile, chmod 0600 it, chown it to the kiosk user',
    };
  }
  const id = 'uplink.password';
  let mode: number;
  try {
    mode = (await stat(file!)).mode;
  } catch (e) {
    return {
      id,
      title: `Password file ${file} is missing`,
      status: 'fail',
      detail: errText(e),
      fix: `sudo install -m 0600 -o kioskpay -g kioskpay /dev/null ${file}, then write the kiosk's broker password into it`,
    };
  }
  let text: string;
  try {
    text = (await readFile(file!, 'utf8')).trim();
  } catch (e) {
    return {
      id,
      title: `Password file ${file} is not readable by this user`,
      status: 'fail',
      detail: errText(e),
      fix: `sudo chown kioskpay:kioskpay ${file} (and run the doctor as the kiosk's user)`,
    };
  }
  if (text === '')
    return { id, title: `Password file ${file} is empty`, status: 'fail', fix: `write the kiosk's broker password into ${file}` };
  if ((mode & 0o077) !== 0) {
    return {
      id,
      title: `Password file ${file} has mode ${octal(mode)}: others can read the kiosk's password`,
      status: 'fail',
      fix: `sudo chmod 0600 ${file}`,
    };
  }
  return { id, title: `Password file ${file} is readable, mode ${octal(mode)}`, status: 'pass' };
}

function pemBlocks(text: string, label: string): string[] {
  return [...text.matchAll(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g'))].map((m) => m[0]);
}

function commonName(cert: X509Certificate): string | undefined {
  return /^CN=(.*)$/m.exec(cert.subject)?.[1];
}

function validity(cert: X509Certificate, nowMs: number): string | undefined {
  if (Date.parse(cert.validTo) <= nowMs) return `expired on ${cert.validTo}`;
  if (Date.parse(cert.validFrom) > nowMs) return `not valid before ${cert.validFrom} (is the clock right?)`;
  return undefined;
}

async function tlsChecks(cfg: Readonly<KioskConfig>, nowMs: number): Promise<CheckResult[]> {
  const t = cfg.mqtt.tls;
  const secure = cfg.mqtt.url.startsWith('mqtts://');
  if (!t) {
    return [
      secure
        ? {
            id: 'uplink.tls',
            title: "No mqtt.tls files: the broker is verified against the system's CA store, and no client certificate is sent",
            status: 'pass',
          }
        : { id: 'uplink.tls', title: 'Plain MQTT (mqtt://): no TLS files to check', status: 'skip' },
    ];
  }
  const out: CheckResult[] = [];
  if (!secure)
    out.push({
      id: 'uplink.tls',
      title: 'mqtt.tls is set but the URL is mqtt://: the TLS files are not used',
      status: 'warn',
      fix: 'use mqtts://host:8883 in mqtt.url, or remove mqtt.tls',
    });
  const read = async (id: string, field: string, path: string): Promise<string | undefined> => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      out.push({
        id,
        title: `mqtt.tls.${field} ${path} cannot be read`,
        status: 'fail',
        detail: errText(e),
        fix: `copy the file to ${path}, readable by the kiosk user`,
      });
      return undefined;
    }
  };

  if (t.caFile) {
    const text = await read('uplink.tls.ca', 'caFile', t.caFile);
    if (text !== undefined) {
      const certs: X509Certificate[] = [];
      let bad: string | undefined;
      for (const b of pemBlocks(text, 'CERTIFICATE')) {
        try {
          certs.push(new X509Certificate(b));
        } catch (e) {
          bad = (e as Error).message;
        }
      }
      const expired = certs.map((c) => validity(c, nowMs)).find((v) => v !== undefined);
      out.push(
        certs.length === 0 || bad !== undefined
          ? {
              id: 'uplink.tls.ca',
              title: `mqtt.tls.caFile ${t.caFile} holds no valid PEM certificate`,
              status: 'fail',
              detail: bad ?? 'no -----BEGIN CERTIFICATE----- block',
              fix: "copy the broker's CA certificate (PEM) there",
            }
          : expired
            ? {
                id: 'uplink.tls.ca',
                title: `The broker CA in ${t.caFile} is ${expired}`,
                status: 'fail',
                fix: "install the broker's current CA certificate",
              }
            : {
                id: 'uplink.tls.ca',
                title: `Broker CA: ${certs.map((c) => c.subject.replace(/\n/g, ', ')).join('; ')}`,
                status: 'pass',
                detail: `valid to ${certs.map((c) => c.validTo).join(', ')}`,
              },
      );
    }
  }

  let cert: X509Certificate | undefined;
  if (t.certFile) {
    const text = await read('uplink.tls.cert', 'certFile', t.certFile);
    if (text !== undefined) {
      const block = pemBlocks(text, 'CERTIFICATE')[0];
      try {
        if (!block) throw new Error('no -----BEGIN CERTIFICATE----- block');
        cert = new X509Certificate(block);
      } catch (e) {
        out.push({
          id: 'uplink.tls.cert',
          title: `mqtt.tls.certFile ${t.certFile} is not a PEM certificate`,
          status: 'fail',
          detail: (e as Error).message,
          fix: "copy the kiosk's client certificate (PEM) there",
        });
      }
      if (cert) {
        const cn = commonName(cert);
        const when = validity(cert, nowMs);
        if (when)
          out.push({
            id: 'uplink.tls.cert',
            title: `The kiosk certificate is ${when}`,
            status: 'fail',
            detail: `valid ${cert.validFrom} to ${cert.validTo}`,
            fix: `issue a new client certificate with CN=${cfg.kioskId}`,
          });
        else if (cn !== cfg.kioskId)
          out.push({
            id: 'uplink.tls.cert',
            title: `The kiosk certificate's CN is ${cn ?? '(none)'}, not the kiosk id ${cfg.kioskId}`,
            status: 'fail',
            detail: 'the broker refuses a certificate whose CN is not the login name',
            fix: `issue a client certificate with CN=${cfg.kioskId}`,
          });
        else out.push({ id: 'uplink.tls.cert', title: `Kiosk certificate CN=${cn}, valid to ${cert.validTo}`, status: 'pass' });
      }
    }
  }

  if (t.keyFile) {
    const text = await read('uplink.tls.key', 'keyFile', t.keyFile);
    if (text !== undefined) {
      let key: KeyObject | undefined;
      try {
        key = createPrivateKey(text);
      } catch (e) {
        out.push({
          id: 'uplink.tls.key',
          title: `mqtt.tls.keyFile ${t.keyFile} is not a PEM private key`,
          status: 'fail',
          detail: (e as Error).message,
          fix: "copy the kiosk's private key (PEM, unencrypted) there",
        });
      }
      if (key) {
        const mode = (await stat(t.keyFile)).mode;
        if (cert && !cert.checkPrivateKey(key))
          out.push({
            id: 'uplink.tls.key',
            title: 'The private key does not belong to the kiosk certificate',
            status: 'fail',
            fix: 'copy the key that was made with this certificate',
          });
        else if ((mode & 0o077) !== 0)
          out.push({
            id: 'uplink.tls.key',
            title: `Private key ${t.keyFile} has mode ${octal(mode)}: others can read it`,
            status: 'fail',
            fix: `sudo chmod 0600 ${t.keyFile}`,
          });
        else
          out.push({
            id: 'uplink.tls.key',
            title: `Private key ${t.keyFile} is readable, mode ${octal(mode)}${cert ? ', matches the certificate' : ''}`,
            status: 'pass',
          });
      }
    }
  }
  return out;
}

/** host and port of an mqtt:// or mqtts:// URL (defaults 1883 and 8883). */
export function brokerAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : u.protocol === 'mqtts:' ? 8883 : 1883 };
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    });
  });
}

const TCP_FIX: Record<string, string> = {
  ECONNREFUSED: "nothing listens there: check mqtt.url's port and that the broker runs",
  ENOTFOUND: 'the host name does not resolve: check mqtt.url and /etc/resolv.conf',
  EAI_AGAIN: 'DNS did not answer: check the network (ip addr; ping the gateway)',
  ENETUNREACH: 'no route: check the cable or Wi-Fi (ip route)',
  EHOSTUNREACH: 'host unreachable: check the network and the broker host',
  TIMEOUT: 'no answer: a firewall drops the packets, or the host is down',
};

async function reachCheck(cfg: Readonly<KioskConfig>, timeoutMs: number): Promise<CheckResult> {
  const { host, port } = brokerAddress(cfg.mqtt.url);
  const where = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  try {
    await tcpConnect(host, port, timeoutMs);
    return { id: 'uplink.tcp', title: `Broker ${where} accepts TCP connections`, status: 'pass' };
  } catch (e) {
    const code = errText(e);
    return {
      id: 'uplink.tcp',
      title: `Broker ${where} is unreachable (${code})`,
      status: 'fail',
      detail: (e as Error).message,
      fix: TCP_FIX[code] ?? 'check mqtt.url and the network',
    };
  }
}

async function loginCheck(cfg: Readonly<KioskConfig>, timeoutMs: number): Promise<CheckResult> {
  const id = 'uplink.login';
  const username = cfg.mqtt.username ?? cfg.kioskId;
  let password: string;
  let tls: ReturnType<typeof kioskTls>;
  try {
    password = kioskPassword(cfg);
    tls = kioskTls(cfg);
  } catch (e) {
    return { id, title: 'MQTT login not tried: the credentials cannot be read', status: 'skip', detail: (e as Error).message };
  }
  try {
    const uplink = await MqttUplink.connect({
      url: cfg.mqtt.url,
      kioskId: cfg.kioskId,
      username,
      password,
      connectTimeoutMs: timeoutMs,
      ...(tls ? { tls } : {}),
    });
    await uplink.close();
    return { id, title: `MQTT login as ${username} accepted (CONNACK 0), reply topic subscribed`, status: 'pass' };
  } catch (e) {
    const code = e instanceof UplinkConnectError ? e.returnCode : undefined;
    if (code === 4) {
      return {
        id,
        title: `The broker refused ${username}'s login: bad user name or password (CONNACK 4)`,
        status: 'fail',
        detail: (e as Error).message,
        fix: `compare ${cfg.mqtt.passwordFile ?? 'mqtt.password'} with the broker's identity for ${username}${cfg.mqtt.tls?.certFile ? '; with TLS, also the client certificate (CN must be the user name)' : ''}`,
      };
    }
    if (code === 3) {
      return {
        id,
        title: `The broker turned ${username}'s login away for now (CONNACK 3: server unavailable)`,
        status: 'fail',
        detail: (e as Error).message,
        fix: 'the broker holds off an address and a user name for a while after failed logins (docs/broker.md, admission control): fix the password, wait a minute and run the doctor again',
      };
    }
    if (code === 5) {
      return {
        id,
        title: `The broker refused ${username}: not authorised (CONNACK 5)`,
        status: 'fail',
        detail: (e as Error).message,
        fix: `give ${username} the kiosk role for kiosk id ${cfg.kioskId} in the broker's identities`,
      };
    }
    return {
      id,
      title: `No MQTT login within ${timeoutMs} ms`,
      status: 'fail',
      detail: (e as Error).message,
      fix: cfg.mqtt.url.startsWith('mqtts://')
        ? "a TLS problem shows in the detail: check mqtt.tls.caFile (the broker's CA) and servername"
        : 'check that the broker at mqtt.url speaks MQTT on that port',
    };
  }
}

export function makeUplinkChecks(o: UplinkCheckOptions = {}): DoctorCheck {
  const now = o.now ?? Date.now;
  return async (cfg, env) => {
    const out: CheckResult[] = [await passwordCheck(cfg), ...(await tlsChecks(cfg, now()))];
    const reach = await reachCheck(cfg, env.probeTimeoutMs);
    out.push(reach);
    out.push(
      reach.status === 'fail'
        ? { id: 'uplink.login', title: 'MQTT login not tried: the broker is unreachable', status: 'skip' }
        : await loginCheck(cfg, env.probeTimeoutMs),
    );
    return out;
  };
}

export const uplinkChecks: DoctorCheck = makeUplinkChecks();
