// SPDX-License-Identifier: Apache-2.0
// The real kiosk program (`kioskpay kiosk run --sim`, a child process) killed with SIGKILL at random
// points between the scan of an offline code and the server's acknowledgement of its settlement,
// then restarted, round after round. Afterwards, from the server's ledger: every payment the kiosk's
// screen called approved is settled, none is settled twice, and the ledger still sums to zero.
// Real time and real processes: every wait is bounded, every child is killed in afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { enrollWallet, issueCredential, topUp } from '../../server/domain/wallets.ts';
import { fromBase64url, toBase64url } from '../../shared/bytes.ts';
import { parseCredential } from '../../shared/codes/credential.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { money } from '../../shared/money.ts';
import { seededRandom } from '../../shared/random.ts';
import { startTestSystem, type TestSystem } from '../system-kit.ts';
import { eventually } from '../../shared/testing/wait.ts';

/** The credential id: bytes 0..8 of the credential as 16 hex characters (shared/codes/credential.ts). */
function toHexId(credential: Uint8Array): string {
  const d = parseCredential(credential);
  if (!d.ok) throw new Error(d.detail);
  return d.credential.credentialId;
}

const bin = new URL('../../bin/kioskpay.js', import.meta.url).pathname;
const ROUNDS = 6;
const PRICE = 150;
/** The bound on waiting for a kiosk process to be ready, offline or drained. */
const READY_MS = 15_000;

let system: TestSystem;
let cfgPath: string;
const children = new Set<ChildProcess>();

async function post(url: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
}

async function view(url: string): Promise<{ screen: { name: string }; storedCount: number; offline: boolean }> {
  const r = await fetch(url + '/view', { signal: AbortSignal.timeout(5_000) });
  return (await r.json()) as never;
}

/** Starts the kiosk program and resolves with its screen URL once it is connected and has its catalog. */
async function startKiosk(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'kiosk', 'run', '--config', cfgPath, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('kiosk did not print its screen URL')), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /screen: (http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`kiosk exited early with ${code}`)));
  });
  // Ready to sell: online (status synced) and out of the catalog fault.
  await eventually(
    async () => {
      const v = await view(url);
      return !v.offline && v.screen.name === 'idle' ? true : undefined;
    },
    { what: 'kiosk ready', timeoutMs: READY_MS },
  );
  return { child, url };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  system = await startTestSystem('sigkill', ['kiosk-1'], {
    server: { limits: { daily: { amount: 1_000_000, count: 255 }, monthly: { amount: 1_000_000, count: 255 } } },
  });
  const login = system.kiosks[0]!;
  cfgPath = join(system.dir, 'kiosk.json');
  writeFileSync(
    cfgPath,
    JSON.stringify({
      kioskId: login.kioskId,
      dataDir: join(system.dir, 'kiosk'),
      sim: true,
      allowVolatileDataDir: true, // the temp dir may be tmpfs (Trixie's /tmp)
      mqtt: { url: login.url, username: login.username, password: login.password },
      issuerKeys: [...system.server.ctx.issuer.publicKeys()].map(([keyId, k]) => ({ keyId, publicKey: toBase64url(k) })),
      display: { web: { host: '127.0.0.1', port: 0 } },
      timing: { heartbeatMs: 30_000, clockSyncMs: 300_000, forwardRetryMs: 1_000, requestTimeoutMs: 5_000 },
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([...children].map(kill));
  await system?.close();
});

describe('kiosk process killed with SIGKILL between scan and acknowledgement', () => {
  it(`loses no approved payment and charges none twice over ${ROUNDS} kill rounds`, async () => {
    const ctx = system.server.ctx;
    const wallet = await enrollWallet(ctx);
    await topUp(ctx, wallet.walletId, money(100_000));
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(9));
    const credential = fromBase64url((await issueCredential(ctx, wallet.walletId, phone.publicKey)).credential)!;
    const random = seededRandom(20261128);
    let counter = 0;
    let approvedSeen = 0;
    let presented = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const { child, url } = await startKiosk();
      await post(url, '/sim/uplink', { up: false });
      await eventually(async () => ((await view(url)).offline ? true : undefined), { what: 'offline', timeoutMs: READY_MS });
      await post(url, '/sim/scan', { text: '4901000000013' });
      await post(url, '/sim/button', { button: 'pay' });
      const code = makeOfflineCode(
        { credential, timestampMs: Date.now(), counter: ++counter, phoneSecretKey: phone.secretKey },
        nodeEd25519,
      );
      presented++;
      // Kill somewhere between "code scanned" and well after "approved": 0-60 ms, seeded.
      const delay = Math.floor((random.bytes(1)[0]! / 256) * 60);
      const scanned = post(url, '/sim/scan', { text: code });
      await new Promise((r) => setTimeout(r, delay));
      const last = await view(url).catch(() => undefined);
      await kill(child);
      await scanned.catch(() => undefined);
      if (last?.screen.name === 'approved') approvedSeen++;

      // Restart with the uplink up: it forwards what it stored. Every other round, kill it again
      // in the middle of forwarding (after the settle request may have left, before the ack).
      const second = await startKiosk();
      if (round % 2 === 1) {
        await new Promise((r) => setTimeout(r, Math.floor((random.bytes(1)[0]! / 256) * 30)));
        await kill(second.child);
        const third = await startKiosk();
        await eventually(async () => ((await view(third.url)).storedCount === 0 ? true : undefined), {
          what: 'outbox drained',
          timeoutMs: READY_MS,
        });
        await kill(third.child);
      } else {
        await eventually(async () => ((await view(second.url)).storedCount === 0 ? true : undefined), {
          what: 'outbox drained',
          timeoutMs: READY_MS,
        });
        await kill(second.child);
      }
    }

    const payments = await ctx.store.unit((tx) => tx.balanceTotals());
    expect([...payments.values()].every((t) => t === 0)).toBe(true);
    const balance = await ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(wallet.walletId)))?.balance);
    const charged = (100_000 - balance!) / PRICE;
    // Every approval the screen showed is charged; nothing is charged that was not presented, nor twice.
    expect(Number.isInteger(charged)).toBe(true);
    expect(charged).toBeGreaterThanOrEqual(approvedSeen);
    expect(charged).toBeLessThanOrEqual(presented);
    // A code settled twice would have revoked the credential (the loss rule): it must not be.
    const cred = await ctx.store.unit((tx) => tx.getCredential(toHexId(credential)));
    expect(cred?.revokedAt ?? null).toBeNull();
    process.stdout.write(
      `sigkill: ${ROUNDS} rounds, ${presented} codes presented, ${approvedSeen} approvals seen before the kill, ${charged} charged\n`,
    );
  }, 240_000);
});
