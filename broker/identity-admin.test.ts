// SPDX-License-Identifier: Apache-2.0
// Identity administration (file edits, CLI) and reloading a running broker's identities.
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from './broker.ts';
import { addIdentity, IdentityAdminError, removeIdentity } from './identity-admin.ts';
import { loadIdentities, verifyPassword } from './identities.ts';
import { brokerCommand, reloadIdentities } from './main.ts';
import { CHEAP_SCRYPT } from './testing/test-identities.ts';
import { WAIT_MS, within } from '../shared/testing/wait.ts';

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

let dir: string;
let file: string;
const brokers: RunningBroker[] = [];
const clients: MqttClient[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kp-ids-'));
  file = join(dir, 'identities.json');
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

async function connect(url: string, username: string, password: string): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    username,
    password,
    clientId: `kp-${username}-${Math.random().toString(16).slice(2, 10)}`,
  });
  clients.push(client);
  await within(
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    }),
    { what: `CONNACK for ${username}` },
  );
  return client;
}

async function connackCode(url: string, username: string, password: string): Promise<number | undefined> {
  return connect(url, username, password).then(
    () => undefined,
    (e: unknown) => (e as { code?: number }).code,
  );
}

function closed(client: MqttClient): Promise<void> {
  return within(new Promise<void>((resolve) => client.once('close', () => resolve())), { what: 'the connection to close' });
}

describe('addIdentity / removeIdentity', () => {
  it('creates the file (mode 0600) with scrypt hashes only, and appends further identities', async () => {
    await addIdentity(file, { username: 'k1', password: 'secret-k1', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    await addIdentity(file, { username: 'ops', password: 'secret-ops', role: 'operator' }, CHEAP_SCRYPT);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('secret');
    const json = JSON.parse(text) as Array<Record<string, string>>;
    expect(json.map(({ passwordHash: _h, ...rest }) => rest)).toEqual([
      { username: 'k1', role: 'kiosk', kioskId: 'k1' },
      { username: 'ops', role: 'operator' },
    ]);
    expect(await verifyPassword('secret-ops', json[1]!.passwordHash!)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadIdentities(file)).size).toBe(2);
    // No temp files left behind.
    expect(await readdir(dir)).toEqual(['identities.json']);
  });

  it('refuses a duplicate username and an invalid entry, leaving the file unchanged', async () => {
    await addIdentity(file, { username: 'k1', password: 'pw', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    const before = await readFile(file, 'utf8');
    await expect(addIdentity(file, { username: 'k1', password: 'pw2', role: 'server' }, CHEAP_SCRYPT)).rejects.toThrow(IdentityAdminError);
    await expect(addIdentity(file, { username: 'k2', password: 'pw', role: 'kiosk', kioskId: 'k3' }, CHEAP_SCRYPT)).rejects.toThrow(
      /username must equal its kioskId/,
    );
    await expect(addIdentity(file, { username: 'srv', password: 'pw', role: 'server', kioskId: 'x' }, CHEAP_SCRYPT)).rejects.toThrow(
      /only kiosk identities/,
    );
    await expect(addIdentity(file, { username: 'bad name', password: 'pw', role: 'server' }, CHEAP_SCRYPT)).rejects.toThrow(/username/);
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('removes an identity, and refuses an unknown username', async () => {
    await addIdentity(file, { username: 'a', password: 'pw', role: 'server' }, CHEAP_SCRYPT);
    await addIdentity(file, { username: 'b', password: 'pw', role: 'technician' }, CHEAP_SCRYPT);
    await removeIdentity(file, 'a');
    expect((await loadIdentities(file)).list().map((i) => i.username)).toEqual(['b']);
    const err = await removeIdentity(file, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityAdminError);
    expect((err as IdentityAdminError).reason).toBe('unknown');
  });

  it('refuses to edit a file that is not a valid identities file', async () => {
    await writeFile(file, '{not json');
    await expect(addIdentity(file, { username: 'a', password: 'pw', role: 'server' }, CHEAP_SCRYPT)).rejects.toThrow(/not valid JSON/);
    await expect(removeIdentity(file, 'a')).rejects.toThrow(/not valid JSON/);
    expect(await readFile(file, 'utf8')).toBe('{not json');
  });
});

describe('kioskpay broker add-identity / remove-identity', () => {
  it('add-identity reads the password from stdin and writes its hash', async () => {
    const out = capture();
    const code = await brokerCommand(['add-identity', '--identities', file, '--username', 'k7', '--role', 'kiosk', '--kiosk-id', 'k7'], {
      stdin: Readable.from(['kiosk seven pw\n']),
      stdout: out.stream,
      stderr: capture().stream,
    });
    expect(code).toBe(0);
    expect(out.text()).toContain('added k7');
    const [id] = (await loadIdentities(file)).list();
    expect(id).toMatchObject({ username: 'k7', role: 'kiosk', kioskId: 'k7' });
    expect(await verifyPassword('kiosk seven pw', id!.passwordHash)).toBe(true);
  });

  it('exits 1 on a duplicate or an unknown username, 2 on bad usage, 0 on --help', async () => {
    await addIdentity(file, { username: 'srv', password: 'pw', role: 'server' }, CHEAP_SCRYPT);
    const err = capture();
    expect(
      await brokerCommand(['add-identity', '--identities', file, '--username', 'srv', '--role', 'server'], {
        stdin: Readable.from(['pw\n']),
        stdout: capture().stream,
        stderr: err.stream,
      }),
    ).toBe(1);
    expect(err.text()).toContain('already exists');
    const err2 = capture();
    expect(
      await brokerCommand(['remove-identity', '--identities', file, '--username', 'ghost'], {
        stdout: capture().stream,
        stderr: err2.stream,
      }),
    ).toBe(1);
    expect(err2.text()).toContain('no identity with username "ghost"');
    expect(
      await brokerCommand(['add-identity', '--identities', file, '--username', 'x', '--role', 'root'], {
        stdin: Readable.from(['pw']),
        stderr: capture().stream,
      }),
    ).toBe(2);
    expect(
      await brokerCommand(['add-identity', '--identities', file, '--username', 'x', '--role', 'server'], {
        stdin: Readable.from(['\n']),
        stderr: capture().stream,
      }),
    ).toBe(2);
    expect(await brokerCommand(['remove-identity', '--username', 'srv'], { stderr: capture().stream })).toBe(2);
    expect(await brokerCommand(['remove-identity', '--identities', file, '--bogus'], { stderr: capture().stream })).toBe(2);
    for (const which of ['add-identity', 'remove-identity']) {
      const out = capture();
      expect(await brokerCommand([which, '--help'], { stdout: out.stream })).toBe(0);
      expect(out.text()).toContain(`kioskpay broker ${which}`);
    }
    const out = capture();
    expect(await brokerCommand(['remove-identity', '--identities', file, '--username', 'srv'], { stdout: out.stream })).toBe(0);
    expect((await loadIdentities(file)).size).toBe(0);
  });
});

describe('reloading identities', () => {
  it('new logins use the new table and live connections of removed identities are closed', async () => {
    await addIdentity(file, { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    await addIdentity(file, { username: 'server', password: 'pw-server', role: 'server' }, CHEAP_SCRYPT);
    const broker = await startBroker({ port: 0, identities: await loadIdentities(file), limits: { authBackoffBaseMs: 0 } });
    brokers.push(broker);
    const k1 = await connect(broker.url, 'k1', 'pw-k1');
    const server = await connect(broker.url, 'server', 'pw-server');
    expect(await connackCode(broker.url, 'k2', 'pw-k2')).toBe(4);

    await removeIdentity(file, 'k1');
    await addIdentity(file, { username: 'k2', password: 'pw-k2', role: 'kiosk', kioskId: 'k2' }, CHEAP_SCRYPT);
    const k1Closed = closed(k1);
    const lines = capture();
    expect(await reloadIdentities(broker, file, pino({ level: 'info' }, lines.stream))).toBe(true);
    await k1Closed;
    expect(lines.text()).toContain('"identities":2');
    expect(lines.text()).toContain('"disconnected":1');
    expect(server.connected).toBe(true);
    expect(await connackCode(broker.url, 'k1', 'pw-k1')).toBe(4);
    await connect(broker.url, 'k2', 'pw-k2');
  });

  it('a bad file keeps the old table and logs an error', async () => {
    await addIdentity(file, { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    const broker = await startBroker({ port: 0, identities: await loadIdentities(file), limits: { authBackoffBaseMs: 0 } });
    brokers.push(broker);
    const k1 = await connect(broker.url, 'k1', 'pw-k1');
    for (const bad of ['[', '[{"username":"k1","role":"kiosk"}]', '{}']) {
      await writeFile(file, bad);
      const lines = capture();
      expect(await reloadIdentities(broker, file, pino({ level: 'info' }, lines.stream))).toBe(false);
      expect(JSON.parse(lines.text().trim())).toMatchObject({ level: 50, msg: 'identities reload failed; keeping the current identities' });
    }
    await rm(file);
    expect(await reloadIdentities(broker, file, pino({ level: 'silent' }))).toBe(false);
    expect(k1.connected).toBe(true);
    await connect(broker.url, 'k1', 'pw-k1');
  });

  it('closes connections whose identity changed role or password', async () => {
    await addIdentity(file, { username: 'ops', password: 'old', role: 'operator' }, CHEAP_SCRYPT);
    const broker = await startBroker({ port: 0, identities: await loadIdentities(file), limits: { authBackoffBaseMs: 0 } });
    brokers.push(broker);
    const ops = await connect(broker.url, 'ops', 'old');
    await removeIdentity(file, 'ops');
    await addIdentity(file, { username: 'ops', password: 'new', role: 'operator' }, CHEAP_SCRYPT);
    const opsClosed = closed(ops);
    expect(await reloadIdentities(broker, file, pino({ level: 'silent' }))).toBe(true);
    await opsClosed;
    expect(await connackCode(broker.url, 'ops', 'old')).toBe(4);
    await connect(broker.url, 'ops', 'new');
  });

  /** Runs `kioskpay broker` on port 0 with this reload trigger; resolves with its url and a stop function. */
  async function runBroker(onReload?: (reload: () => void) => () => void) {
    const logs = new PassThrough();
    const entries: Array<{ msg: string; url?: string; identities?: number }> = [];
    const waiters: Array<() => void> = [];
    logs.on('data', (line: Buffer) => {
      entries.push(JSON.parse(String(line)) as { msg: string });
      for (const w of waiters.splice(0)) w();
    });
    const logged = (msg: string) =>
      within(
        new Promise<(typeof entries)[number]>((resolve) => {
          const check = () => {
            const hit = entries.find((e) => e.msg === msg);
            if (hit) resolve(hit);
            else waiters.push(check);
          };
          check();
        }),
        { what: `log "${msg}"` },
      );
    const shutdown = new AbortController();
    const running = brokerCommand(['--port', '0', '--identities', file], {
      shutdown: shutdown.signal,
      logger: pino({ level: 'info' }, logs),
      ...(onReload ? { onReload } : {}),
    });
    const { url } = await logged('broker listening');
    return {
      url: url!,
      logged,
      stop: async () => {
        shutdown.abort();
        expect(await running).toBe(0);
      },
    };
  }

  it('kioskpay broker reloads the file when its reload trigger fires', async () => {
    await addIdentity(file, { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    let trigger: (() => void) | undefined;
    const b = await runBroker((reload) => {
      trigger = reload;
      return () => {
        trigger = undefined;
      };
    });
    const k1 = await connect(b.url, 'k1', 'pw-k1');
    await removeIdentity(file, 'k1');
    const k1Closed = closed(k1);
    trigger!();
    expect(await b.logged('identities reloaded')).toMatchObject({ identities: 0 });
    await k1Closed;
    await b.stop();
    expect(trigger).toBeUndefined();
  });

  // A real SIGHUP to this process is safe only in a process of our own (vitest's forks pool) and
  // while our listener is installed: Node's default action for SIGHUP ends the process.
  it.runIf(isMainThread && process.platform !== 'win32')('kioskpay broker reloads the file on a real SIGHUP', async () => {
    await addIdentity(file, { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' }, CHEAP_SCRYPT);
    const before = process.listenerCount('SIGHUP');
    const b = await runBroker();
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    await addIdentity(file, { username: 'k2', password: 'pw-k2', role: 'kiosk', kioskId: 'k2' }, CHEAP_SCRYPT);
    process.kill(process.pid, 'SIGHUP');
    expect(await b.logged('identities reloaded')).toMatchObject({ identities: 2 });
    await connect(b.url, 'k2', 'pw-k2');
    await b.stop();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});
