// SPDX-License-Identifier: Apache-2.0
// `kioskpay up` as a person runs it, as processes: a taken broker or screen port is named with the
// flag that moves it (--mqtt-port, --kiosk-port); the DATA/up/<kiosk>.json files are complete kiosk
// configs: one of them parses with parseKioskConfig, `kioskpay kiosk --config FILE --sim` runs it as
// a second kiosk of its own that connects and sells (its screen saying "Approved" before "Thank
// you"), and `kioskpay kiosk pay --config` still takes the same files.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKioskConfig } from '../device/kiosk/config.ts';
import { SseReader } from '../device/display/web/web-test-kit.ts';
import { eventually } from '../shared/testing/wait.ts';

const bin = new URL('../bin/kioskpay.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kp-up-'));
const children: ChildProcessWithoutNullStreams[] = [];
/** Bounded waits for processes that start a broker, a server and kiosks. */
const START_MS = 40_000;

interface Proc {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d;
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Stops a process (SIGINT, as Ctrl-C does) and waits for it; SIGKILL if it does not go. */
async function stop(p: Proc, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  try {
    return await p.exit;
  } finally {
    clearTimeout(timer);
  }
}

async function squat(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function json<T>(url: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const r = await fetch(url, {
    method: init.method ?? 'GET',
    signal: AbortSignal.timeout(5_000),
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('kioskpay up', () => {
  it(
    'names --mqtt-port when the broker port is taken, and --kiosk-port when a screen port is',
    async () => {
      const busy = await squat();
      try {
        const broker = start([
          'up',
          '--data-dir',
          join(dir, 'busy-mqtt'),
          '--mqtt-port',
          String(busy.port),
          '--http-port',
          '0',
          '--kiosk-port',
          '0',
        ]);
        expect(await broker.exit).toBe(1);
        expect(broker.err()).toContain(`kioskpay up: port ${busy.port} on 127.0.0.1 is already in use`);
        expect(broker.err()).toContain(`choose another port with --mqtt-port N, or --mqtt-port 0 for any free port`);
        expect(broker.err()).not.toMatch(/--port\b/);

        const screen = start([
          'up',
          '--data-dir',
          join(dir, 'busy-screen'),
          '--mqtt-port',
          '0',
          '--http-port',
          '0',
          '--kiosk-port',
          String(busy.port),
          '--sim-kiosks',
          '1',
        ]);
        expect(await screen.exit).toBe(1);
        expect(screen.err()).toContain(
          `the kiosk screen's port ${busy.port} on 127.0.0.1 is already in use; choose another with --kiosk-port (0 = any free port)`,
        );
      } finally {
        busy.server.close();
      }
    },
    2 * START_MS,
  );

  it(
    'writes complete kiosk configs: a second kiosk runs from one as is, connects and sells',
    async () => {
      const data = join(dir, 'data');
      const up = start([
        'up',
        '--data-dir',
        data,
        '--mqtt-port',
        '0',
        '--http-port',
        '0',
        '--kiosk-port',
        '0',
        '--kiosks',
        '2',
        '--sim-kiosks',
        '1',
      ]);
      let done = false;
      try {
        const banner = await eventually(() => (up.out().includes('Ctrl-C stops everything.') ? up.out() : undefined), {
          what: 'the banner',
          timeoutMs: START_MS,
        });
        const api = /wallet API {2}(http:\/\/\S+)/.exec(banner)![1]!;
        const broker = /broker {6}(mqtt:\/\/\S+)/.exec(banner)![1]!;
        expect(banner).toContain(`complete kiosk configs in ${join(data, 'up')}/<kiosk>.json`);
        const configPath = /kiosk-2 is not running: start it with {2}npx kioskpay kiosk --config (\S+)/.exec(banner)?.[1];
        expect(configPath, banner).toBe(join(data, 'up', 'kiosk-2.json'));

        // The file is a kiosk config, not a broker login: it parses, with everything a kiosk needs.
        expect(statSync(configPath!).mode & 0o777).toBe(0o600);
        const config = parseKioskConfig(JSON.parse(readFileSync(configPath!, 'utf8')), configPath, dirname(configPath!));
        expect(config).toMatchObject({
          kioskId: 'kiosk-2',
          mode: 'vending',
          sim: true,
          dataDir: join(data, 'kiosks', 'kiosk-2'),
          mqtt: { url: broker, username: 'kiosk-2' },
        });
        // The issuer keys the banner prints (and signs at /v1/issuer-keys).
        const printed = [...banner.matchAll(/issuer key (\d+): (\S+)/g)].map((m) => ({ keyId: Number(m[1]), publicKey: m[2] }));
        expect(printed.length).toBeGreaterThan(0);
        expect(config.issuerKeys).toEqual(printed);

        // It runs as is, as a kiosk process of its own.
        const kiosk = start(['kiosk', '--config', configPath!, '--sim', '--log-level', 'warn']);
        let sold = false;
        try {
          const screen = await eventually(() => /kiosk kiosk-2 screen: (http:\/\/\S+) \(simulated hardware\)/.exec(kiosk.out())?.[1], {
            what: 'the kiosk screen',
            timeoutMs: START_MS,
          });
          type View = { screen: { name: string }; offline: boolean };
          type Product = { name: string; slot?: number; price: { value: number; currency: string } };
          await eventually(
            async () => {
              const v = await json<View>(`${screen}/view`);
              return v.screen.name === 'idle' && !v.offline ? true : undefined;
            },
            { what: 'kiosk-2 online and idle', timeoutMs: START_MS },
          );
          const product = await eventually(
            async () => (await json<{ products: Product[] }>(`${screen}/sim/state`)).products.find((p) => p.slot === 1),
            { what: 'the catalog', timeoutMs: START_MS },
          );

          const wallet = await json<{ token: string }>(`${api}/v1/wallets`, { method: 'POST', body: {} });
          await json(`${api}/v1/wallet/topup`, {
            method: 'POST',
            token: wallet.token,
            body: { amount: { value: 5_000, currency: 'JPY' } },
          });
          const titles = await SseReader.open(screen);
          try {
            await json(`${screen}/sim/button`, { method: 'POST', body: { button: { slot: 1 } } });
            await eventually(async () => ((await json<View>(`${screen}/view`)).screen.name === 'awaitingCode' ? true : undefined), {
              what: 'awaiting the code',
              timeoutMs: START_MS,
            });
            const { code } = await json<{ code: string }>(`${api}/v1/wallet/codes`, { method: 'POST', token: wallet.token, body: {} });
            await json(`${screen}/sim/scan`, { method: 'POST', body: { text: code } });
            const shown = () => titles.frames.map((f) => (f as { title: string }).title);
            await eventually(() => (shown().some((t) => t.startsWith('Thank you')) ? true : undefined), {
              what: '"Thank you" on the screen',
              timeoutMs: START_MS,
            });
            const seen = shown();
            expect(seen.indexOf('Approved'), seen.join(' | ')).toBeGreaterThanOrEqual(0);
            expect(seen.indexOf('Approved'), seen.join(' | ')).toBeLessThan(seen.findIndex((t) => t.startsWith('Thank you')));
          } finally {
            titles.close();
          }
          const after = await json<{ balance: { value: number } }>(`${api}/v1/wallet`, { token: wallet.token });
          expect(after.balance.value).toBe(5_000 - product.price.value);
          sold = true;
        } finally {
          const code = await stop(kiosk, 'SIGTERM');
          if (sold) expect(code, kiosk.out() + kiosk.err()).toBe(0);
        }

        // `kiosk pay --config` takes the same files (the running kiosk-1's login).
        const w = await json<{ token: string }>(`${api}/v1/wallets`, { method: 'POST', body: {} });
        await json(`${api}/v1/wallet/topup`, { method: 'POST', token: w.token, body: { amount: { value: 1_000, currency: 'JPY' } } });
        const { code } = await json<{ code: string }>(`${api}/v1/wallet/codes`, { method: 'POST', token: w.token, body: {} });
        const pay = start(['kiosk', 'pay', '--config', join(data, 'up', 'kiosk-1.json'), '--amount', '300', '--code', code]);
        expect(await pay.exit, pay.out() + pay.err()).toBe(0);
        expect(pay.out()).toMatch(/^APPROVED kiosk-1-/);
        done = true;
      } finally {
        const code = await stop(up);
        if (done) expect(code, up.err()).toBe(0);
      }
    },
    3 * START_MS,
  );
});
