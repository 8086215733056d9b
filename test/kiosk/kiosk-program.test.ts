// SPDX-License-Identifier: Apache-2.0
// The kiosk program as a process: `kioskpay kiosk doctor` (tsx) and `kiosk.mjs doctor` (the
// precompiled bundle) against our broker on port 0 with their exit codes 0/1/2; `kiosk run`
// refusing a data directory on this machine's /dev/shm (tmpfs) with exit 2; and, under a fake
// systemd (NOTIFY_SOCKET on a real AF_UNIX datagram socket), READY=1, WATCHDOG=1 and STOPPING=1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKiosk } from '../../bin/build-kiosk.ts';
import { startBroker, type RunningBroker } from '../../broker/broker.ts';
import { testIdentities } from '../../broker/testing/test-identities.ts';
import { hasTool, NotifyListener } from '../../device/kiosk/testing/notify-listener.ts';

const bin = new URL('../../bin/kioskpay.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kp-program-'));
let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker({ port: 0, identities: await testIdentities(), logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function configFile(o: { dataDir?: string; password?: string; extra?: object } = {}): string {
  const pw = join(dir, `pw${n}`);
  writeFileSync(pw, o.password ?? 'pw-k1', { mode: 0o600 });
  const path = join(dir, `kiosk${n++}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      kioskId: 'k1',
      dataDir: o.dataDir ?? join(dir, `data${n}`),
      mqtt: { url: broker.url, passwordFile: pw },
      issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
      display: { web: { host: '127.0.0.1', port: 0 } },
      ...o.extra,
    }),
  );
  return path;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not exit within ${timeoutMs} ms: ${out} ${err}`));
    }, timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('kioskpay kiosk doctor', () => {
  it('exits 0 on a healthy simulated kiosk, with --json', async () => {
    const r = await run([bin, 'kiosk', 'doctor', '--config', configFile(), '--sim', '--json']);
    const report = JSON.parse(r.out) as { ok: boolean; results: Array<{ id: string; status: string }> };
    expect(report.ok, r.out).toBe(true);
    expect(r.code).toBe(0);
    expect(report.results.map((x) => x.id)).toEqual(
      expect.arrayContaining(['storage.durable', 'storage.write', 'uplink.tcp', 'uplink.login']),
    );
  });

  it('exits 1 when the broker refuses the password, and prints the fix', async () => {
    const r = await run([bin, 'kiosk', 'doctor', '--config', configFile({ password: 'wrong' }), '--sim']);
    expect(r.code).toBe(1);
    expect(r.out).toContain("FAIL  The broker refused k1's login: bad user name or password (CONNACK 4)");
    expect(r.out).toContain('NOT READY to sell');
  });

  it('exits 2 on a config error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ kioskId: 'K 1' }));
    const r = await run([bin, 'kiosk', 'doctor', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('kioskId');
  });

  it('runs from the precompiled kiosk.mjs as `kiosk.mjs doctor`', async () => {
    const out = join(new URL('../../dist', import.meta.url).pathname, `test-doctor-${process.pid}`);
    try {
      const { outFile } = await buildKiosk(out); // inside the project: its packages resolve from node_modules
      const r = await run([outFile, 'doctor', '--config', configFile(), '--sim', '--json']);
      expect(r.code, r.out + r.err).toBe(0);
      expect((JSON.parse(r.out) as { ok: boolean }).ok).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('kioskpay kiosk run', () => {
  it.skipIf(!existsSync('/dev/shm'))('refuses a data directory on tmpfs with exit 2 and the fix', async () => {
    const shm = mkdtempSync('/dev/shm/kp-program-');
    try {
      const r = await run([bin, 'kiosk', 'run', '--sim', '--config', configFile({ dataDir: join(shm, 'data') })]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/refusing to start: the data directory .* is on tmpfs/);
      expect(r.err).toContain('--allow-volatile-data-dir');
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasTool('python3', ['-c', '']) || !hasTool('systemd-notify', ['--version']))(
    'under systemd: READY=1 once up, WATCHDOG=1 while running, STOPPING=1 on SIGTERM',
    async () => {
      const listener = await NotifyListener.start('auto');
      const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/kp-program-') : mkdtempSync(join(dir, 'v-'));
      try {
        // A volatile data directory, allowed explicitly: the kiosk starts (and says so in its log).
        const p = spawn(
          process.execPath,
          [
            bin,
            'kiosk',
            'run',
            '--sim',
            '--allow-volatile-data-dir',
            '--log-level',
            'warn',
            '--config',
            configFile({ dataDir: join(shm, 'data') }),
          ],
          {
            env: { ...process.env, NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '400000' },
            stdio: ['ignore', 'ignore', 'ignore'],
          },
        );
        const exit = new Promise<number | null>((r) => p.once('exit', r));
        await listener.waitFor((x) => x.state === 'READY=1', 'READY=1', 20_000);
        await listener.waitFor((x) => x.state === 'WATCHDOG=1', 'WATCHDOG=1');
        p.kill('SIGTERM');
        await listener.waitFor((x) => x.state === 'STOPPING=1', 'STOPPING=1');
        expect(await exit).toBe(0);
        const states = listener.lines.map((x) => x.state).filter((s) => s !== undefined && s !== 'BARRIER=1');
        expect(states[0]).toBe('READY=1');
        expect(states.at(-1)).toBe('STOPPING=1');
      } finally {
        listener.close();
        rmSync(shm, { recursive: true, force: true });
      }
    },
  );
});
