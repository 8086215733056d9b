// SPDX-License-Identifier: Apache-2.0
// The arm64 kiosk release, booted: builds the linux-arm64 artefact, installs it with its own
// deploy/install.sh into a temp root (twice: the second run changes nothing and keeps the config),
// runs its self-check under qemu-aarch64 (every native module loads, or the test stops here), then
// starts the kiosk with the release's own arm64 Node under qemu against the real broker and server
// of this machine (x86-64), with a serial scanner on a socat pseudo-terminal and buttons on the
// gpiod backend. It sells once online, once offline with its uplink cut (a TCP proxy between kiosk
// and broker), and after the uplink returns the offline payment is settled in the server's ledger.
// Needs qemu-user-static, libc6/libstdc++6/libatomic1-arm64-cross, g++-aarch64-linux-gnu and socat
// (.ci/run installs them). Run alone: `npm run test:arm64`. Real time: every wait is bounded, every
// process is killed in afterAll.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKiosk } from '../../bin/build-kiosk.ts';
import { buildRelease } from '../../bin/release-artefact.ts';
import { startSystem, type RunningSystem } from '../../bin/system.ts';
import { SIM_GPIO_PINS } from '../../device/kiosk/hardware.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { fromBase64url, toBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { money } from '../../shared/money.ts';
import { eventually } from '../../shared/testing/wait.ts';
import { ManagedProcess, killAllManaged } from '../chaos/managed-process.ts';
import { startFakeButtons, type FakeButtons } from './fake-buttons.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];
const ITEM = '4901000000013';
const { buttons } = SIM_GPIO_PINS;

let dir: string;
let installed: string;
let system: RunningSystem;
let proxy: TcpProxy;
let fakeButtons: FakeButtons;
let scannerFd: number | undefined;
let kioskUrl: string;
const timings: string[] = [];

function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return fn().finally(() => timings.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`));
}

/** The shared bounded poll, with this test's longer bound (qemu runs the kiosk about ten times slower). */
const until = (what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<unknown> =>
  eventually(cond, { what, timeoutMs, intervalMs: 50 });

async function view(): Promise<{ screen: { name: string }; storedCount: number; offline: boolean }> {
  return (await (await fetch(kioskUrl + '/view', { signal: AbortSignal.timeout(5_000) })).json()) as never;
}

/** What a serial scanner sends for one barcode: its text and the CR suffix. */
function scan(text: string): void {
  writeSync(scannerFd!, `${text}\r`);
}

async function balance(walletId: string): Promise<number> {
  return system.server.ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(walletId)))!.balance);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kp-arm64-'));
  const rootDir = join(dir, 'root');

  const release = await step('build', () => buildRelease({ target: 'linux-arm64', bundle: buildKiosk, outDir: join(dir, 'dist') }));
  mkdirSync(join(dir, 'unpacked'));
  execFileSync('tar', ['-xzf', release.tarball, '-C', join(dir, 'unpacked')]);
  const unpacked = join(dir, 'unpacked', `kioskpay-kiosk-${release.manifest.version}-linux-arm64`);

  // Installed into a temp root; the self-check runs under qemu below, not in install.sh.
  const install = () =>
    execFileSync('sh', [join(unpacked, 'deploy', 'install.sh'), '--root', rootDir, '--skip-self-check'], { encoding: 'utf8' });
  install();
  installed = join(rootDir, 'opt', 'kioskpay-kiosk', 'current');
  expect(readlinkSync(installed)).toBe(`kioskpay-kiosk-${release.manifest.version}-linux-arm64`);
  const cfgPath = join(rootDir, 'etc', 'kioskpay', 'kiosk.json');
  expect(existsSync(cfgPath)).toBe(true);
  writeFileSync(cfgPath, '{"edited": true}\n');
  const again = install();
  expect(again).toContain('already installed');
  expect(readFileSync(cfgPath, 'utf8')).toBe('{"edited": true}\n');
  expect(readFileSync(join(rootDir, 'etc', 'group'), 'utf8')).toMatch(/^gpio:.*kioskpay/m);

  // Every native module loads under arm64 before anything else is tried.
  await step('self-check under qemu', async () => {
    const check = ManagedProcess.start('self-check', QEMU[0]!, [
      ...QEMU.slice(1),
      join(installed, 'node', 'bin', 'node'),
      join(installed, 'app', 'self-check.mjs'),
    ]);
    await check.waitForLine(/^self-check: all \d+ passed$/, 60_000);
    await check.exited;
  });

  system = await startSystem({
    dataDir: join(dir, 'server'),
    mqttPort: 0,
    httpPort: 0,
    kioskIds: ['kiosk-1'],
    log: pino({ level: 'silent' }),
  });
  const login = system.kiosks[0]!;
  proxy = await startTcpProxy(Number(new URL(login.url).port));

  // A serial scanner: two linked ptys; the kiosk opens one, the test writes to the other.
  const socat = ManagedProcess.start('socat', 'socat', [
    '-d',
    '-d',
    `pty,raw,echo=0,link=${join(dir, 'scanner')}`,
    `pty,raw,echo=0,link=${join(dir, 'scanner-host')}`,
  ]);
  await until('socat ptys', async () => existsSync(join(dir, 'scanner')) && existsSync(join(dir, 'scanner-host')), 10_000);
  expect(socat.alive).toBe(true);
  scannerFd = openSync(join(dir, 'scanner-host'), 'r+');

  fakeButtons = startFakeButtons();
  writeFileSync(
    join(dir, 'kiosk.json'),
    JSON.stringify({
      kioskId: login.kioskId,
      dataDir: join(dir, 'kiosk'),
      allowVolatileDataDir: true, // the temp dir may be tmpfs
      mqtt: { url: `mqtt://127.0.0.1:${proxy.port}`, username: login.username, password: login.password },
      issuerKeys: [...system.server.ctx.issuer.publicKeys()].map(([keyId, k]) => ({ keyId, publicKey: toBase64url(k) })),
      scanner: { kind: 'serial', path: join(dir, 'scanner'), suffix: 'CR', aim: 'off' },
      gpio: { backend: 'gpiod', chip: 'gpiochip0', pins: SIM_GPIO_PINS },
      display: { web: { host: '127.0.0.1', port: 0 } },
      timing: { heartbeatMs: 30_000, clockSyncMs: 300_000, forwardRetryMs: 1_000, requestTimeoutMs: 10_000 },
    }),
  );

  await step('kiosk start under qemu', async () => {
    const kiosk = ManagedProcess.start(
      'kiosk (arm64)',
      QEMU[0]!,
      [
        ...QEMU.slice(1),
        join(installed, 'node', 'bin', 'node'),
        join(installed, 'app', 'kiosk.mjs'),
        '--config',
        join(dir, 'kiosk.json'),
        '--log-level',
        'warn',
      ],
      { ...process.env, PATH: `${fakeButtons.binDir}:${process.env.PATH ?? ''}` },
    );
    kioskUrl = (await kiosk.waitForLine(/screen: (http:\/\/\S+)/, 90_000))[1]!;
    await until(
      'kiosk online and idle',
      async () => {
        const v = await view();
        return !v.offline && v.screen.name === 'idle';
      },
      60_000,
    );
  });
}, 300_000);

afterAll(async () => {
  if (scannerFd !== undefined) closeSync(scannerFd);
  await killAllManaged();
  fakeButtons?.close();
  await proxy?.close();
  await system?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`arm64 boot: ${timings.join(', ')}\n`);
});

describe('the linux-arm64 kiosk release under qemu', () => {
  it('sells online, sells offline with its uplink cut, and settles the offline payment once the uplink returns', async () => {
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(10_000));

    await step('online sale', async () => {
      scan(ITEM);
      await until('item in the cart', async () => (await view()).screen.name !== 'idle');
      await fakeButtons.press(buttons.pay);
      await until('awaiting a code', async () => (await view()).screen.name === 'awaitingCode');
      scan((await issueOnlineCode(ctx, w.walletId)).code);
      await until('online approval', async () => (await view()).screen.name === 'approved');
    });
    const afterOnline = await balance(w.walletId);
    expect(afterOnline).toBeLessThan(10_000);
    await fakeButtons.press(buttons.cancel);
    await until('idle again', async () => (await view()).screen.name === 'idle');

    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(7));
    const credential = fromBase64url((await issueCredential(ctx, w.walletId, phone.publicKey)).credential)!;
    proxy.cut();
    await step('offline sale', async () => {
      await until('offline indicator', async () => (await view()).offline);
      scan(ITEM);
      await until('item in the cart', async () => (await view()).screen.name !== 'idle');
      await fakeButtons.press(buttons.pay);
      await until('awaiting a code', async () => (await view()).screen.name === 'awaitingCode');
      scan(makeOfflineCode({ credential, timestampMs: Date.now(), counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519));
      await until('offline approval', async () => (await view()).screen.name === 'approved');
    });
    expect((await view()).storedCount).toBe(1);
    expect(await balance(w.walletId)).toBe(afterOnline);

    proxy.restore();
    await step('forward and settle', async () => {
      await until(
        'forwarded',
        async () => {
          const v = await view();
          return !v.offline && v.storedCount === 0;
        },
        60_000,
      );
      await until('settled in the ledger', async () => (await balance(w.walletId)) < afterOnline);
    });
    const totals = await ctx.store.unit((tx) => tx.balanceTotals());
    expect([...totals.values()].every((t) => t === 0)).toBe(true);
  }, 240_000);
});
