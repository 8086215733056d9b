// SPDX-License-Identifier: Apache-2.0
// An offline payment whose outbox write stalls past storeOfflineMs is declined ("declined:
// INTERNAL"); the shopper was told "not paid", so it must never settle: not when the late write
// lands while the forwarder runs (simulation seed 626 before the fix), and not after a power cut
// between that write landing and its removal. The real kiosk, file outbox and state on a temp dir,
// and the real server domain; the stall is a real file write held at its fsync step.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shopperAccountId } from '../../server/domain/ids.ts';
import type { DurableWriteStep } from '../../device/outbox/durable-json-adapter.ts';
import { makeWorld, type World } from '../../server/testing/world.ts';
import { startHarness, TEA, type Harness } from './kiosk-harness.ts';

/** Holds outbox writes at 'temp-synced' (written and fsync'd, not yet renamed in) while `stalled`. */
class WriteGate {
  stalled = false;
  readonly held: Array<() => void> = [];
  readonly step = async (s: DurableWriteStep): Promise<void> => {
    if (s !== 'temp-synced' || !this.stalled) return;
    await new Promise<void>((resolve) => this.held.push(resolve));
  };

  releaseOne(): void {
    this.held.shift()?.();
  }

  releaseAll(): void {
    this.stalled = false;
    while (this.held.length > 0) this.releaseOne();
  }
}

/** The checkout's default storeOfflineMs (device/domain/checkout/config.ts). */
const STORE_OFFLINE_MS = 5_000;
const opened: Harness[] = [];
const dirs: string[] = [];
let gate: WriteGate;
let world: World | undefined;
afterEach(async () => {
  gate?.releaseAll();
  for (const h of opened.splice(0)) await h.close();
  await world?.close();
  world = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Uplink cut, an offline code shown, its append held: the checkout gives up and declines. Then the
 * uplink is back, the late append lands, and its removal is held. Returns the declined txId.
 */
async function declinedWhileTheAppendLandsLate(h: Harness, code: string): Promise<string> {
  await h.cut();
  await h.scan(TEA);
  h.kiosk.press('pay');
  await h.flush();
  gate.stalled = true;
  await h.scan(code);
  await h.until(() => gate.held.length === 1, 'the append held at its fsync step');
  await h.advance(STORE_OFFLINE_MS + 100);
  await h.until(() => h.display.last.screen.name === 'declined', 'the decline');
  expect(h.display.last.screen).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
  const txId = h.state.state.discarded[0];
  expect(txId, 'the declined txId is durably listed before the screen says declined').toBeDefined();
  await h.restore();
  gate.releaseOne();
  await h.until(() => h.outbox.list().some((e) => e.txId === txId) && gate.held.length === 1, 'the late append landed, its removal held');
  return txId!;
}

async function forwardWhenIdle(h: Harness) {
  await h.until(() => h.kiosk.status().queue.forwarding === null, 'no forwarding run going on');
  return h.kiosk.forwardNow();
}

describe('kiosk: an offline store the checkout gave up on never settles', () => {
  it('does not forward a late append the checkout declined, while its removal is still being written', async () => {
    gate = new WriteGate();
    world = await makeWorld();
    const h = await startHarness({ world, outboxWriteStep: gate.step });
    opened.push(h);
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    const txId = await declinedWhileTheAppendLandsLate(h, h.world.offlineCode(phone));

    // The reconnection's own forwarding run and the server had their chance; then one more run.
    await h.flush(100);
    expect(h.uplink.requestTypes).not.toContain('settle');
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    const report = await forwardWhenIdle(h);
    expect(report.batches, 'no settle holds the declined payment').toBe(0);
    expect(h.uplink.requestTypes).not.toContain('settle');
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000);

    gate.releaseAll();
    await h.until(() => h.outbox.stats().count === 0 && h.state.state.discarded.length === 0, 'the entry removed, then unlisted');
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    expect(h.outbox.list().map((e) => e.txId)).not.toContain(txId);
  });

  it('removes it at the next start when the power is cut after the late append landed and before its removal', async () => {
    gate = new WriteGate();
    world = await makeWorld();
    const h = await startHarness({ world, outboxWriteStep: gate.step });
    opened.push(h);
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    const txId = await declinedWhileTheAppendLandsLate(h, h.world.offlineCode(phone));

    // The power cut: what the files hold now is all the next boot sees (the removal is still held).
    const disk = mkdtempSync(join(tmpdir(), 'kp-kiosk-cut-'));
    dirs.push(disk);
    cpSync(h.dir, disk, { recursive: true });
    gate.releaseAll();
    await h.close();
    opened.splice(opened.indexOf(h), 1);

    // The premise, read from the copied file itself (the next start may sweep it at once).
    expect(readFileSync(join(disk, 'outbox.json'), 'utf8'), 'the cut left the entry on disk').toContain(JSON.stringify(txId));
    gate = new WriteGate();
    const again = await startHarness({ world, dir: disk, epoch: 'after-the-cut' });
    opened.push(again);
    await again.until(
      () => again.outbox.stats().count === 0 || again.uplink.requestTypes.includes('settle'),
      'the landed entry removed at start',
    );
    expect(again.uplink.requestTypes).not.toContain('settle');
    expect(again.state.state.discarded).toEqual([]);
    await forwardWhenIdle(again);
    expect(again.uplink.requestTypes).not.toContain('settle');
    expect(await again.world.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    expect(again.outbox.list().map((e) => e.txId)).not.toContain(txId);
  });
});
