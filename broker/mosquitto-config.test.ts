// SPDX-License-Identifier: Apache-2.0
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { KIOSK_MESSAGE_BYTES_MAX } from '../shared/kiosk-messages.ts';
import { topics } from '../shared/topics.ts';
import { canPublish, canReceive, type AclSubject } from './acl.ts';
import type { IdentityWithPassword } from './identities.ts';
import {
  MOSQUITTO_MAX_PACKET_BYTES,
  mosquittoAclFile,
  mosquittoConf,
  mosquittoConfigCommand,
  mosquittoPasswordLine,
  mosquittoPasswordLineWithSalt,
  parseIdentitiesWithPasswords,
} from './mosquitto-config.ts';

const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd';

const IDS: IdentityWithPassword[] = [
  { username: 'server', password: 'server-pw', role: 'server' },
  { username: 'k1', password: 'k1-pw', role: 'kiosk', kioskId: 'k1' },
  { username: 'kiosk-22', password: 'k22-pw', role: 'kiosk', kioskId: 'kiosk-22' },
  { username: 'tech.a', password: 'tech-pw', role: 'technician' },
  { username: 'ops', password: 'ops-pw', role: 'operator' },
];

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

/** The ACL file as user -> [access, topic][] (comments and blank lines dropped). */
function parseAcl(text: string): Map<string, [string, string][]> {
  const byUser = new Map<string, [string, string][]>();
  let user: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(' ');
    if (words[0] === 'user' && words.length === 2) {
      user = words[1]!;
      byUser.set(user, []);
    } else if (words[0] === 'topic' && words.length === 3 && user) {
      byUser.get(user)!.push([words[1]!, words[2]!]);
    } else {
      throw new Error(`unexpected ACL line ${JSON.stringify(line)}`);
    }
  }
  return byUser;
}

/** Mosquitto's topic matching of a topic name against an ACL pattern ('+' one level, '#' the rest). */
function aclMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length || (p[i] !== '+' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

describe('mosquittoPasswordLine', () => {
  it('writes $7$101$<12-byte salt>$<64-byte PBKDF2-SHA512 hash> in padded base64', async () => {
    const line = await mosquittoPasswordLine('k1', 'secret');
    const m = /^k1:\$7\$101\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(line);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64')).toHaveLength(12);
    expect(m![1]).toHaveLength(16);
    expect(Buffer.from(m![2]!, 'base64')).toHaveLength(64);
    expect(m![2]).toHaveLength(88);
    expect(m![2]!.endsWith('==')).toBe(true);
    // A fresh salt each time.
    expect(await mosquittoPasswordLine('k1', 'secret')).not.toBe(line);
  });

  it('matches a line mosquitto_passwd wrote (same salt, same hash)', async () => {
    // Recorded from mosquitto_passwd 2.0.11: `mosquitto_passwd -b -c f alice secret`.
    const recorded =
      'alice:$7$101$0e1DozXibwJcVdZo$hEIYnbXHdwex+/lkt3NoJOwyU4gYqAyZJWcTLTKGCy0pwWwWUbOX3M5Mw4yKYXhHPUqCuVgoDuIUikgKg4fpkQ==';
    expect(await mosquittoPasswordLineWithSalt('alice', 'secret', Buffer.from('0e1DozXibwJcVdZo', 'base64'))).toBe(recorded);
  });

  it.skipIf(!existsSync(MOSQUITTO_PASSWD))(
    'matches the format of a line mosquitto_passwd writes on this machine, and recomputes its hash',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kp-mpw-'));
      try {
        const file = join(dir, 'pw');
        execFileSync(MOSQUITTO_PASSWD, ['-b', '-c', file, 'bob', 'pässwörd with spaces']);
        const theirs = (await readFile(file, 'utf8')).trim();
        const [, , iterations, salt] = theirs.split('$');
        const ours = await mosquittoPasswordLineWithSalt('bob', 'pässwörd with spaces', Buffer.from(salt!, 'base64'), Number(iterations));
        expect(ours).toBe(theirs);
        const shape = (l: string) => l.replace(/[A-Za-z0-9+/]/g, 'x');
        expect(shape(await mosquittoPasswordLine('bob', 'other'))).toBe(shape(theirs));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses names that would break the file and empty or oversized passwords', async () => {
    await expect(mosquittoPasswordLine('a:b', 'x')).rejects.toThrow(/password file/);
    await expect(mosquittoPasswordLine('a b', 'x')).rejects.toThrow(/password file/);
    await expect(mosquittoPasswordLine('a', '')).rejects.toThrow(/password/);
    await expect(mosquittoPasswordLine('a', 'x'.repeat(1025))).rejects.toThrow(/password/);
  });
});

describe('parseIdentitiesWithPasswords', () => {
  it('applies the identities file rules', () => {
    expect(parseIdentitiesWithPasswords(IDS)).toEqual(IDS);
    expect(() => parseIdentitiesWithPasswords([{ username: 'k9', password: 'x', role: 'kiosk', kioskId: 'k8' }])).toThrow(
      /username must equal its kioskId/,
    );
    expect(() => parseIdentitiesWithPasswords([{ username: 'K+', password: 'x', role: 'kiosk', kioskId: 'K+' }])).toThrow();
    expect(() => parseIdentitiesWithPasswords([{ username: 'a#', password: 'x', role: 'server' }])).toThrow(/username/);
    expect(() => parseIdentitiesWithPasswords([IDS[0], IDS[0]])).toThrow(/duplicate/);
    expect(() => parseIdentitiesWithPasswords([{ username: 's', password: '', role: 'server' }])).toThrow(/password/);
    expect(() => parseIdentitiesWithPasswords([{ username: 's', passwordHash: 'x', role: 'server' }])).toThrow();
    expect(() => parseIdentitiesWithPasswords([{ username: 't', password: 'x', role: 'technician', kioskId: 'k1' }])).toThrow(/only kiosk/);
    expect(() => parseIdentitiesWithPasswords([{ username: 'paho', password: 'x', role: 'test' }])).toThrow(
      /role: must be kiosk, server, technician or operator/,
    );
  });
});

describe('mosquittoAclFile', () => {
  const acl = parseAcl(mosquittoAclFile(IDS));

  it("writes one user block per identity with the role's grants", () => {
    expect([...acl.keys()]).toEqual(IDS.map((i) => i.username));
    const broadcasts = (access: string) => ['keys', 'revocations', 'catalog'].map((b) => [access, `kp/v1/server/${b}`]);
    expect(acl.get('k1')).toEqual([
      ['write', 'kp/v1/kiosk/k1/req'],
      ['read', 'kp/v1/kiosk/k1/res'],
      ['write', 'kp/v1/kiosk/k1/status'],
      ['write', 'kp/v1/kiosk/k1/events'],
      ['read', 'kp/v1/kiosk/k1/cmd'],
      ['write', 'kp/v1/kiosk/k1/ack'],
      ...broadcasts('read'),
    ]);
    // The server's alerts are for staff only (they name wallets); the broker's alerts for the server only.
    expect(acl.get('server')).toEqual([
      ['read', 'kp/v1/kiosk/+/req'],
      ['write', 'kp/v1/kiosk/+/res'],
      ['read', 'kp/v1/kiosk/+/status'],
      ['read', 'kp/v1/kiosk/+/events'],
      ['readwrite', 'kp/v1/kiosk/+/cmd'],
      ['read', 'kp/v1/kiosk/+/ack'],
      ...broadcasts('readwrite'),
      ['readwrite', 'kp/v1/server/alerts'],
      ['read', 'kp/v1/broker/alerts'],
    ]);
    expect(acl.get('tech.a')).toEqual([
      ['read', 'kp/v1/kiosk/+/status'],
      ['read', 'kp/v1/kiosk/+/events'],
      ['write', 'kp/v1/kiosk/+/cmd'],
      ['read', 'kp/v1/kiosk/+/ack'],
      ...broadcasts('read'),
      ['read', 'kp/v1/server/alerts'],
    ]);
    expect(acl.get('ops')).toEqual([
      ['read', 'kp/v1/kiosk/+/status'],
      ['read', 'kp/v1/kiosk/+/events'],
      ...broadcasts('read'),
      ['read', 'kp/v1/server/alerts'],
    ]);
  });

  it('is deny by default: no grant of #, of $ topics, or before the first user line', () => {
    const text = mosquittoAclFile(IDS);
    const firstUser = text.split('\n').findIndex((l) => l.startsWith('user '));
    expect(
      text
        .split('\n')
        .slice(0, firstUser)
        .every((l) => l === '' || l.startsWith('#')),
    ).toBe(true);
    expect(text).not.toMatch(/^pattern /m);
    for (const grants of acl.values()) {
      for (const [access, topic] of grants) {
        expect(['read', 'write', 'readwrite']).toContain(access);
        expect(topic.split('/')).not.toContain('#');
        expect(topic.startsWith('$')).toBe(false);
        expect(topic.startsWith('kp/v1/')).toBe(true);
      }
    }
  });

  it('grants exactly what broker/acl.ts allows, on a sample of topics', () => {
    const sample = [
      ...['k1', 'kiosk-22', 'k3'].flatMap((k) => [
        topics.kioskRequests(k),
        topics.kioskReplies(k),
        topics.kioskStatus(k),
        topics.kioskEvents(k),
        topics.kioskCommands(k),
        topics.kioskAcks(k),
      ]),
      topics.issuerKeys,
      topics.revocations,
      topics.catalog,
      topics.serverAlerts,
      topics.brokerAlerts,
      'kp/v1/broker/other',
      'kp/v1/server/other',
      'kp/v1/kiosk/k1/telemetry',
      'kp/v1/kiosk/k1/req/x',
      'kp/v1/kiosk/k1',
      'other/topic',
      '$SYS/broker/uptime',
    ];
    for (const id of IDS) {
      const subject: AclSubject = id.role === 'kiosk' ? { role: 'kiosk', kioskId: id.kioskId } : { role: id.role };
      const grants = acl.get(id.username)!;
      for (const topic of sample) {
        const write = grants.some(([a, p]) => a !== 'read' && aclMatches(p, topic));
        const read = grants.some(([a, p]) => a !== 'write' && aclMatches(p, topic));
        expect(write, `${id.username} write ${topic}`).toBe(canPublish(subject, topic, false));
        // Mosquitto filters each delivery by `read`, as canReceive does in the embedded broker.
        expect(read, `${id.username} read ${topic}`).toBe(canReceive(subject, topic));
      }
    }
  });
});

describe('mosquittoConf', () => {
  const files = { kioskPasswordFile: '/etc/kp/passwd-kiosks', staffPasswordFile: '/etc/kp/passwd-staff', aclFile: '/etc/kp/acl' };
  it("writes a kiosks' and a staff listener with authentication, the ACL, TCP_NODELAY and our packet limit", () => {
    const conf = mosquittoConf({ port: 18_830, staffPort: 18_831, ...files });
    const lines = conf.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const l of [
      'per_listener_settings true',
      'listener 18830 127.0.0.1',
      'listener 18831 127.0.0.1',
      'allow_anonymous false',
      'password_file /etc/kp/passwd-kiosks',
      'password_file /etc/kp/passwd-staff',
      'use_username_as_clientid true',
      'acl_file /etc/kp/acl',
      'set_tcp_nodelay true',
      `max_packet_size ${MOSQUITTO_MAX_PACKET_BYTES}`,
      'persistence false',
    ])
      expect(lines).toContain(l);
    expect(MOSQUITTO_MAX_PACKET_BYTES).toBeGreaterThan(KIOSK_MESSAGE_BYTES_MAX);
    expect(lines.some((l) => /^max_inflight_messages [1-9][0-9]*$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('user '))).toBe(false);
    // Each listener's settings follow its own `listener` line; per_listener_settings comes first.
    const kiosks = lines.indexOf('listener 18830 127.0.0.1');
    const staff = lines.indexOf('listener 18831 127.0.0.1');
    expect(lines.indexOf('per_listener_settings true')).toBeLessThan(kiosks);
    expect(lines.indexOf('password_file /etc/kp/passwd-kiosks')).toBeGreaterThan(kiosks);
    expect(lines.indexOf('use_username_as_clientid true')).toBeGreaterThan(kiosks);
    expect(lines.indexOf('use_username_as_clientid true')).toBeLessThan(staff);
    expect(lines.indexOf('password_file /etc/kp/passwd-staff')).toBeGreaterThan(staff);
    expect(lines.filter((l) => l === 'allow_anonymous false')).toHaveLength(2);
  });

  it('adds persistence, hosts and user when asked, and refuses values that would inject lines', () => {
    const conf = mosquittoConf({
      port: 1883,
      staffPort: 1885,
      ...files,
      persistenceDir: '/var/lib/kp',
      host: '0.0.0.0',
      staffHost: '10.0.0.1',
      user: 'mosquitto',
    });
    expect(conf).toContain('persistence true\npersistence_location /var/lib/kp/\n');
    expect(conf).toContain('listener 1883 0.0.0.0\n');
    expect(conf).toContain('listener 1885 10.0.0.1\n');
    expect(conf).toContain('user mosquitto\n');
    expect(() => mosquittoConf({ port: 1883, staffPort: 1885, ...files, kioskPasswordFile: '/p\nallow_anonymous true' })).toThrow();
    expect(() => mosquittoConf({ port: 0, staffPort: 1885, ...files })).toThrow(/port/);
    expect(() => mosquittoConf({ port: 1883, staffPort: 1883, ...files })).toThrow(/different ports/);
    expect(() => mosquittoConf({ port: 1883, staffPort: 1885, ...files, user: 'root\nx' })).toThrow();
  });
});

describe('kioskpay broker mosquitto-config', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes passwd (0600), acl and mosquitto.conf from identities with passwords', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-mcfg-'));
    const src = join(dir, 'ids.json');
    await writeFile(src, JSON.stringify(IDS));
    const out = join(dir, 'out');
    const stdout = capture();
    expect(
      await mosquittoConfigCommand(['--identities-with-passwords', src, '--out', out, '--port', '18999', '--staff-port', '18998'], {
        stdout: stdout.stream,
        stderr: capture().stream,
      }),
    ).toBe(0);
    const kiosks = await readFile(join(out, 'passwd-kiosks'), 'utf8');
    const staff = await readFile(join(out, 'passwd-staff'), 'utf8');
    const names = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]);
    expect(names(kiosks)).toEqual(IDS.filter((i) => i.role === 'kiosk').map((i) => i.username));
    expect(names(staff)).toEqual(IDS.filter((i) => i.role !== 'kiosk').map((i) => i.username));
    expect(kiosks + staff).not.toContain('k1-pw');
    for (const f of ['passwd-kiosks', 'passwd-staff']) expect((await stat(join(out, f))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'acl'), 'utf8')).toBe(mosquittoAclFile(IDS));
    const conf = await readFile(join(out, 'mosquitto.conf'), 'utf8');
    expect(conf).toContain('listener 18999 127.0.0.1\n');
    expect(conf).toContain('listener 18998 127.0.0.1\n');
    expect(conf).toContain(`password_file ${join(out, 'passwd-kiosks')}\n`);
    expect(conf).toContain(`password_file ${join(out, 'passwd-staff')}\n`);
    expect(stdout.text()).toContain('mosquitto -c');
    // Run again over existing files: still 0600, fresh salts.
    expect(
      await mosquittoConfigCommand(['--identities-with-passwords', src, '--out', out], {
        stdout: capture().stream,
        stderr: capture().stream,
      }),
    ).toBe(0);
    expect((await stat(join(out, 'passwd-kiosks'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'passwd-kiosks'), 'utf8')).not.toBe(kiosks);
  });

  it('prints help, and refuses missing options, bad ports and bad identity files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-mcfg-'));
    const out = capture();
    expect(await mosquittoConfigCommand(['--help'], { stdout: out.stream, stderr: capture().stream })).toBe(0);
    expect(out.text()).toContain('--identities-with-passwords');
    const run = async (argv: string[]) => {
      const err = capture();
      return { code: await mosquittoConfigCommand(argv, { stdout: capture().stream, stderr: err.stream }), err: err.text() };
    };
    expect(await run(['--out', dir])).toMatchObject({ code: 2, err: expect.stringContaining('--identities-with-passwords') });
    expect(await run(['--identities-with-passwords', 'x.json'])).toMatchObject({ code: 2, err: expect.stringContaining('--out') });
    expect(await run(['--identities-with-passwords', 'x.json', '--out', dir, '--port', '70000'])).toMatchObject({ code: 2 });
    expect(await run(['--identities-with-passwords', 'x.json', '--out', dir, '--staff-port', '0'])).toMatchObject({ code: 2 });
    expect(await run(['--bogus'])).toMatchObject({ code: 2 });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ username: 'k1', password: 'x', role: 'kiosk', kioskId: 'k2' }]));
    expect(await run(['--identities-with-passwords', bad, '--out', join(dir, 'o')])).toMatchObject({
      code: 1,
      err: expect.stringContaining('kioskId'),
    });
    await writeFile(bad, '{not json');
    expect(await run(['--identities-with-passwords', bad, '--out', join(dir, 'o')])).toMatchObject({
      code: 1,
      err: expect.stringContaining('not valid JSON'),
    });
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });
});
