// SPDX-License-Identifier: Apache-2.0
// The `kioskpay wallet` CLI end to end, against a small fake wallet server on a real socket (port 0).
// The fake speaks the shared schemas and signs real credentials; it can stall the one-time-code route.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64url } from '../../shared/bytes.ts';
import { parseOfflineQrText } from '../../shared/codes/offline-code.ts';
import { verifyOfflineQr } from '../../shared/codes/verify-offline.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import {
  credentialRequest,
  enrollRequest,
  timeSyncRequest,
  topupRequest,
  walletRoutes,
  type PaymentRecord,
} from '../../shared/wallet-messages.ts';
import { testIssuer, issueTestCredential, type IssueOptions } from '../testing/fixtures.ts';
import type { CliEnv } from './command.ts';
import { walletCommand } from './main.ts';

const TOKEN = 'fake-token-0123456789abcdef';
/** The fake server's clock runs this far ahead of the machine's: offline codes must carry its time. */
const SERVER_AHEAD_MS = 5_000;
const ZBARIMG = '/usr/bin/zbarimg';

interface FakeServer {
  url: string;
  stallCodes: boolean;
  issue: IssueOptions;
  payments: PaymentRecord[];
  balance: number;
  seen: string[];
  credentialsIssued: number;
  close(): Promise<void>;
}

async function startFakeServer(): Promise<FakeServer> {
  const fake: FakeServer = {
    url: '',
    stallCodes: false,
    issue: {},
    payments: [],
    balance: 0,
    seen: [],
    credentialsIssued: 0,
    close: async () => {},
  };
  let credentialSeed = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    fake.seen.push(`${req.method} ${path}`);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const now = Date.now() + SERVER_AHEAD_MS;
    const route = (r: { method: string; path: string }) => req.method === r.method && path === r.path;
    if (route(walletRoutes.time)) return send(200, { t0: timeSyncRequest.parse(body).t0, t1: now, t2: now });
    if (route(walletRoutes.enroll)) {
      enrollRequest.parse(body ?? {});
      return send(200, { walletId: 'w_cli', token: TOKEN, currency: 'JPY' });
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { error: { code: 'UNAUTHORIZED', message: 'Missing or invalid wallet token.' } });
    const info = () => ({ walletId: 'w_cli', balance: { value: fake.balance, currency: 'JPY' }, offlineEligible: true });
    if (route(walletRoutes.info)) return send(200, info());
    if (route(walletRoutes.topup)) {
      fake.balance += topupRequest.parse(body).amount.value;
      return send(200, info());
    }
    if (route(walletRoutes.onlineCode)) {
      if (fake.stallCodes) return; // never answers; closed at teardown
      return send(200, { code: '31' + String(now).padStart(18, '0'), issuedAt: now, expiresAt: now + 300_000 });
    }
    if (route(walletRoutes.credential)) {
      const pub = fromBase64url(credentialRequest.parse(body).publicKey)!;
      fake.credentialsIssued++;
      return send(200, issueTestCredential(pub, now, { seed: ++credentialSeed, ...fake.issue }));
    }
    if (route(walletRoutes.history)) return send(200, { payments: fake.payments });
    return send(404, { error: { code: 'NOT_FOUND', message: 'No such resource.' } });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(400).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return fake;
}

let dir: string;
let fake: FakeServer;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kp-wallet-cli-'));
  fake = await startFakeServer();
});
afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `kioskpay wallet ...` in-process with captured output (not a terminal) and the environment given. */
async function walletIn(env: Partial<CliEnv>, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await walletCommand(args, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    homeDir: dir,
    vars: {},
    platform: 'linux',
    stdoutIsTerminal: false,
    ...env,
  });
  return { code, out, err };
}

/** Runs `kioskpay wallet ...` in-process with captured output and a private state file. */
async function wallet(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return walletIn({}, ...args, '--state', join(dir, 'wallet.json'));
}

async function walletJson(...args: string[]): Promise<Record<string, unknown>> {
  const r = await wallet(...args, '--json');
  expect(r.err.includes('Error') ? r.err : '', r.err).toBe('');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
}

async function readState(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, 'wallet.json'), 'utf8')) as Record<string, unknown>;
}

/** What zbarimg reads from an image, without its trailing newline. */
function zbarDecode(file: string): string {
  return execFileSync(ZBARIMG, ['--raw', '-q', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\n$/, '');
}

function expectVerifiedOfflineCode(text: unknown, counter: number): void {
  const decoded = parseOfflineQrText(String(text));
  if (!decoded.ok) throw new Error(decoded.detail);
  expect(decoded.code.counter).toBe(counter);
  expect(verifyOfflineQr(decoded.code, testIssuer.keys, naclEd25519)).toEqual({ ok: true });
  // Made on the server's clock (5 s ahead), not the machine's.
  expect(Math.abs(decoded.code.timestampMs - (Date.now() + SERVER_AHEAD_MS))).toBeLessThan(2_000);
}

describe('kioskpay wallet', () => {
  it('enrolls, gets a credential, and shows offline, online and fallback codes', async () => {
    const enrolled = await wallet('enroll', '--server', fake.url);
    expect(enrolled.code, enrolled.err).toBe(0);
    expect(enrolled.out).toContain('Enrolled wallet w_cli');
    expect((await stat(join(dir, 'wallet.json'))).mode & 0o777).toBe(0o600);
    expect(fake.seen.filter((s) => s === 'POST /v1/time')).toHaveLength(4);

    const credential = await walletJson('credential');
    expect(credential).toMatchObject({ credentialId: expect.stringMatching(/^[0-9a-f]{16}$/), limits: { perPayment: 5_000 } });
    expect(await readState()).toMatchObject({ phoneKeySeed: expect.any(String), nextCounter: 1 });

    const offline = await walletJson('code', '--offline');
    expect(Object.keys(offline).sort()).toEqual(['counter', 'kind', 'text']);
    expect(offline).toMatchObject({ kind: 'offline-qr', counter: 1 });
    expectVerifiedOfflineCode(offline.text, 1);

    const online = await walletJson('code', '--online');
    expect(online).toEqual({ kind: 'online', text: expect.stringMatching(/^\d{20}$/), expiresAt: expect.any(Number) });

    fake.stallCodes = true;
    const started = Date.now();
    const fallback = await wallet('code', '--json', '--timeout', '200');
    expect(fallback.code, fallback.err).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fallback.err).toContain('no one-time code within 200 ms');
    const fell = JSON.parse(fallback.out) as Record<string, unknown>;
    expect(fell).toMatchObject({ kind: 'offline-qr', counter: 2 });
    expectVerifiedOfflineCode(fell.text, 2);

    const stalledOnline = await wallet('code', '--online', '--timeout', '200');
    expect(stalledOnline.code).toBe(1);
    expect(stalledOnline.err).toContain('NETWORK_TIMEOUT');

    expect(await readState()).toMatchObject({ nextCounter: 3 });
  });

  it('writes the code as a QR PNG that decodes to exactly the code text', async () => {
    await wallet('enroll', '--server', fake.url);
    await wallet('credential');
    const png = join(dir, 'code.png');
    const r = await wallet('code', '--offline', '--png', png, '--json');
    expect(r.code, r.err).toBe(0);
    const text = (JSON.parse(r.out) as { text: string }).text;
    const bytes = await readFile(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    if (!existsSync(ZBARIMG)) {
      console.warn(`skipping QR decode check: ${ZBARIMG} is not installed`);
      return;
    }
    expect(zbarDecode(png)).toBe(text);
  });

  it('draws the QR code on the terminal and writes a Code 128 PNG for 20-digit codes', async () => {
    await wallet('enroll', '--server', fake.url);
    await wallet('credential');
    const barcode = join(dir, 'barcode.png');
    const r = await walletIn(
      { stdoutIsTerminal: true },
      'code',
      '--offline',
      '--numeric',
      '--barcode',
      barcode,
      '--state',
      join(dir, 'wallet.json'),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/[█▀▄]/);
    expect(r.out).toMatch(/Offline code \d{4} \d{4} \d{4} \d{4} \d{4} \(numeric/);
    expect([...(await readFile(barcode)).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const digits = /Offline code ([\d ]{24})/.exec(r.out)![1]!.replaceAll(' ', '');
    if (existsSync(ZBARIMG)) expect(zbarDecode(barcode)).toBe(digits);
    // The same time step is never shown twice.
    const again = await walletIn({ stdoutIsTerminal: true }, 'code', '--offline', '--numeric', '--state', join(dir, 'wallet.json'));
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/OFFLINE_UNAVAILABLE: .*already shown; a new one in \d+ s/);
  });

  it("prints the offline code's text; draws QR art only when stdout is a terminal", async () => {
    // TEST_LIMITS allow two offline codes a day: one into a pipe, one onto a terminal.
    await wallet('enroll', '--server', fake.url);
    await wallet('credential');
    const state = join(dir, 'wallet.json');
    const piped = await walletIn({}, 'code', '--offline', '--state', state);
    expect(piped.code, piped.err).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the terminal escapes that must not reach a pipe
    expect(piped.out).not.toMatch(/[█▀▄]|\u001b/);
    expect(piped.out).toMatch(
      /^Offline code #1 \(server time [^)]+\); the result appears later in 'kioskpay wallet history'\nText: 33[0-9]{507}\n$/,
    );
    expectVerifiedOfflineCode(/Text: ([0-9]+)/.exec(piped.out)![1], 1);
    const terminal = await walletIn({ stdoutIsTerminal: true }, 'code', '--offline', '--state', state);
    expect(terminal.out).toMatch(/[█▀▄]/);
    expect(terminal.out).toMatch(/\nOffline code #2 .*\nText: 33[0-9]{507}\n$/);
  });

  it('takes --state anywhere on the line: before the command, after it, or as --state=FILE', async () => {
    const state = join(dir, 'elsewhere', 'w.json');
    expect((await walletIn({}, '--state', state, 'enroll', '--server', fake.url)).code).toBe(0);
    expect(existsSync(state)).toBe(true);
    expect((await walletIn({}, '--server', fake.url, '--state', state, 'credential')).code).toBe(0);
    const before = await walletIn({}, `--state=${state}`, 'code', '--offline', '--json');
    expect(before.code, before.err).toBe(0);
    expect(JSON.parse(before.out)).toMatchObject({ kind: 'offline-qr', counter: 1 });
    const after = await walletIn({}, 'code', '--offline', '--state', state, '--json');
    expect(JSON.parse(after.out)).toMatchObject({ counter: 2 });
    // Options of a command may stand before it too, values and all.
    const png = join(dir, 'c.png');
    expect((await walletIn({}, '--png', png, '--state', state, 'code', '--online')).code).toBe(0);
    expect(existsSync(png)).toBe(true);
    // No state file in the default place was touched.
    expect(existsSync(join(dir, '.local'))).toBe(false);
  });

  it("keeps the state in the platform's data directory ($XDG_DATA_HOME) and says where in --help", async () => {
    const xdg = join(dir, 'xdg-data');
    const env = { vars: { XDG_DATA_HOME: xdg } };
    const help = await walletIn(env, '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain(
      `--state FILE      the wallet state file: private keys and counters, mode 0600. Default here:\n                    ${join(xdg, 'kioskpay', 'wallet.json')}\n`,
    );
    expect(help.out).toContain('$XDG_DATA_HOME/kioskpay/wallet.json');
    expect((await walletIn(env, 'code', '--help')).out).toContain(
      `--state FILE      wallet state file (default ${join(xdg, 'kioskpay', 'wallet.json')})`,
    );
    expect((await walletIn(env, 'help', 'code')).out).toContain('Usage: kioskpay wallet code');
    expect((await walletIn(env, 'enroll', '--server', fake.url)).code).toBe(0);
    expect((await stat(join(xdg, 'kioskpay', 'wallet.json'))).mode & 0o777).toBe(0o600);
    // Unset: ~/.local/share.
    expect((await walletIn({}, '--help')).out).toContain(join(dir, '.local', 'share', 'kioskpay', 'wallet.json'));
  });

  it('keeps using a state file in the old place (~/.kioskpay) when the new one does not exist, and says so', async () => {
    const legacy = join(dir, '.kioskpay', 'wallet.json');
    expect((await walletIn({}, '--state', legacy, 'enroll', '--server', fake.url)).code).toBe(0);
    const r = await walletIn({}, 'balance');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      `using ${legacy}, where versions before this one kept the wallet; move it to ${join(dir, '.local', 'share', 'kioskpay', 'wallet.json')}`,
    );
    expect(existsSync(join(dir, '.local'))).toBe(false);
    expect((await walletIn({}, '--help')).out).toContain(`In use: ${legacy}, the place before this version`);
  });

  it('tops up (demo), shows the balance, and forgets offline codes that history reports', async () => {
    await wallet('enroll', '--server', fake.url);
    await wallet('credential');
    expect((await wallet('topup', '3000')).out).toContain('Balance: ¥3,000');
    const balance = await walletJson('balance');
    expect(balance).toMatchObject({ balance: { value: 3_000, currency: 'JPY' }, offline: { available: true, pendingCodes: 0 } });
    const code = await walletJson('code', '--offline');
    const state = (await readState()) as { credential: { credentialId: string }; pending: unknown[] };
    expect(state.pending).toHaveLength(1);
    fake.payments = [
      {
        paymentId: 'p1',
        kind: 'offline-qr',
        status: 'settled',
        amount: { value: 500, currency: 'JPY' },
        kioskId: 'k1',
        at: Date.now(),
        offline: { credentialId: state.credential.credentialId, counter: code.counter as number },
      },
    ];
    expect(await walletJson('history')).toMatchObject({ payments: [{ paymentId: 'p1' }], pendingOfflineCodes: 0 });
    expect(((await readState()) as { pending: unknown[] }).pending).toEqual([]);
    const text = await wallet('history');
    expect(text.out).toMatch(/settled\s+offline-qr\s+¥500\s+kiosk k1\s+\(code #1\)/);
    // An operator gave back part of it: history says how much, and what is still charged.
    fake.payments = [{ ...fake.payments[0]!, refunded: { value: 120, currency: 'JPY' } }];
    expect((await wallet('history')).out).toMatch(/settled\s+offline-qr\s+¥500\s+kiosk k1\s+refunded ¥120, charged ¥380\s+\(code #1\)/);
    expect(await walletJson('history')).toMatchObject({ payments: [{ paymentId: 'p1', refunded: { value: 120, currency: 'JPY' } }] });
  });

  it('counts every offline code it shows toward the rolling limits and refuses past them', async () => {
    // TEST_LIMITS: 5,000 per payment; 10,000 and 2 payments per 24 h.
    await wallet('enroll', '--server', fake.url);
    await wallet('credential');
    expect((await walletJson('code', '--offline')).counter).toBe(1);
    expect((await walletJson('code', '--offline')).counter).toBe(2);
    const third = await wallet('code', '--offline');
    expect(third).toMatchObject({
      code: 1,
      err: expect.stringContaining(
        'OFFLINE_UNAVAILABLE: no offline code: the offline codes shown in the last 24 hours use up the offline limit',
      ),
    });
    const balance = await wallet('balance');
    expect(balance.out).toContain('No offline code possible now (offline-limit-daily)');
    expect(balance.out).not.toContain('Offline code ready');
    // History shows what the two codes were charged: the count (2) is still used up.
    const state = (await readState()) as { credential: { credentialId: string } };
    fake.payments = [1, 2].map((counter) => ({
      paymentId: `p${counter}`,
      kind: 'offline-qr' as const,
      status: 'settled' as const,
      amount: { value: 300, currency: 'JPY' as const },
      kioskId: 'k1',
      at: Date.now(),
      offline: { credentialId: state.credential.credentialId, counter },
    }));
    await wallet('history');
    expect((await wallet('code', '--offline')).code).toBe(1);
    // One was declined after all (0 charged): one more code fits, capped or not.
    fake.payments[1] = { ...fake.payments[1]!, status: 'declined' };
    await wallet('history');
    const capped = await walletJson('code', '--offline', '--max', '700');
    expect(parseOfflineQrText(String(capped.text))).toMatchObject({ ok: true, code: { version: 3, amountCap: 700 } });
    expect((await wallet('code', '--offline', '--max', '100')).code).toBe(1);
    expect((await wallet('code', '--offline', '--max', '5001')).code).toBe(1);
  });

  it('renews the credential by itself once it is past renewAfter', async () => {
    fake.issue = { renewBeforeMs: 7 * 86_400_000 }; // renewAfter = notBefore: due at once
    await wallet('enroll', '--server', fake.url);
    const first = await walletJson('credential');
    const before = fake.credentialsIssued;
    const r = await wallet('balance');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('offline credential renewed');
    expect(fake.credentialsIssued).toBe(before + 1);
    expect(((await readState()) as { credential: { credentialId: string } }).credential.credentialId).not.toBe(first.credentialId);
  });

  it('syncs the clock on request', async () => {
    await wallet('enroll', '--server', fake.url);
    const r = await walletJson('sync');
    expect(r).toMatchObject({ answered: 4 });
    expect(Math.abs((r.offsetMs as number) - SERVER_AHEAD_MS)).toBeLessThan(1_000);
  });

  it('exits 1 with a typed code for operating errors', async () => {
    const notEnrolled = await wallet('code');
    expect(notEnrolled).toMatchObject({ code: 1, err: expect.stringContaining('NOT_ENROLLED') });
    await wallet('enroll', '--server', fake.url);
    const again = await wallet('enroll', '--server', fake.url);
    expect(again).toMatchObject({ code: 1, err: expect.stringContaining('ALREADY_ENROLLED') });
    const noCredential = await wallet('code', '--offline');
    expect(noCredential).toMatchObject({
      code: 1,
      err: expect.stringContaining('OFFLINE_UNAVAILABLE: no offline code: no offline credential yet'),
    });
    await fake.close();
    const down = await wallet('balance');
    expect(down).toMatchObject({ code: 1, err: expect.stringContaining('NETWORK_UNREACHABLE') });
  });

  it('exits 2 for wrong usage and 0 for every --help', async () => {
    await wallet('enroll', '--server', fake.url);
    for (const args of [
      ['code', '--online', '--offline'],
      ['code', '--timeout', 'soon'],
      ['code', '--bogus'],
      ['topup'],
      ['topup', '12.5'],
      ['enroll'],
      ['enroll', '--server', 'ftp://x'],
      ['frobnicate'],
      [],
    ]) {
      expect((await wallet(...args)).code, args.join(' ')).toBe(2);
    }
    expect((await walletIn({})).code).toBe(2);
    for (const name of ['enroll', 'topup', 'balance', 'history', 'sync', 'credential', 'code']) {
      const r = await wallet(name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: kioskpay wallet ${name}`);
    }
    expect((await wallet('topup', '--help')).out).toContain('DEMO / DEVELOPMENT ONLY');
  });
});
