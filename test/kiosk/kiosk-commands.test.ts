// SPDX-License-Identifier: Apache-2.0
// Technician commands and telemetry on the running kiosk, and how it copes with its hardware:
// expiry and replay refused, one ack per command, policy kept across restarts, a scanner that is
// unplugged and comes back, garbage from the scanner, and the vending relay.
import { shopperAccountId } from '../../server/domain/ids.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../shared/topics.ts';
import { kioskStatusMessage } from '../../shared/kiosk-telemetry.ts';
import { eventually } from '../../shared/testing/wait.ts';
import { startHarness, TEA, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

let ids = 0;
function command(k: Harness, body: Record<string, unknown>, o: { id?: string; ttlMs?: number } = {}) {
  const id = o.id ?? `cmd-${++ids}`;
  k.uplink.deliver(topics.kioskCommands('k1'), {
    v: 1,
    type: 'command',
    id,
    expiresAt: k.world.clock.nowMs() + (o.ttlMs ?? 60_000),
    by: 'tech-1',
    ...body,
  });
  return id;
}

async function ackOf(k: Harness, id: string) {
  await k.until(() => k.uplink.messages('ack').some((a) => a['re'] === id && a['type'] === 'ack'), `ack of ${id}`);
  return k.uplink.messages('ack').find((a) => a['re'] === id && a['type'] === 'ack')!;
}

describe('kiosk: technician commands', () => {
  it('answers status with a valid status message', async () => {
    h = await startHarness();
    const ack = await ackOf(h, command(h, { name: 'status' }));
    expect(ack['ok']).toBe(true);
    const parsed = kioskStatusMessage.safeParse(ack['result']);
    expect(parsed.success).toBe(true);
    expect(ack['result']).toMatchObject({
      state: 'online',
      mode: 'self-checkout',
      catalogVersion: 1,
      clock: { trusted: true },
      queue: { count: 0 },
    });
  });

  it('refuses an expired command, a repeated id, and one that lives too long; each gets exactly one ack', async () => {
    h = await startHarness();
    const expired = await ackOf(h, command(h, { name: 'status' }, { ttlMs: -1_000 }));
    expect(expired).toMatchObject({ ok: false, error: { code: 'COMMAND_EXPIRED' } });
    const first = command(h, { name: 'status' }, { id: 'same-id' });
    await ackOf(h, first);
    command(h, { name: 'status' }, { id: 'same-id' });
    await h.until(() => h!.uplink.messages('ack').filter((a) => a['re'] === 'same-id').length === 2, 'second ack');
    expect(
      h.uplink
        .messages('ack')
        .filter((a) => a['re'] === 'same-id')
        .map((a) => a['ok']),
    ).toEqual([true, false]);
    expect(h.uplink.messages('ack').at(-1)).toMatchObject({ error: { code: 'COMMAND_REPEATED' } });
    const tooLong = await ackOf(h, command(h, { name: 'status' }, { ttlMs: 3_600_000 }));
    expect(tooLong).toMatchObject({ ok: false, error: { code: 'COMMAND_MALFORMED' } });
    h.uplink.deliver(topics.kioskCommands('k1'), { v: 1, type: 'command', id: 'bad-1', name: 'launch-rockets' });
    expect(await ackOf(h, 'bad-1')).toMatchObject({ ok: false, error: { code: 'COMMAND_MALFORMED' } });
  });

  it('sets the policy, keeps it across a restart, and force-offline stores an offline code while online', async () => {
    h = await startHarness();
    const ack = await ackOf(h, command(h, { name: 'set-policy', policy: { mode: 'force-offline', caps: { storedCountMax: 5 } } }));
    expect(ack).toMatchObject({ ok: true, result: { policy: { mode: 'force-offline', caps: { storedCountMax: 5 } } } });
    expect(h.display.last.policyMode).toBe('force-offline');
    const { dir, world } = h;
    await h.stop();
    h = undefined;
    const again = await startHarness({ world, dir });
    try {
      expect(again.kiosk.status().policy).toMatchObject({ mode: 'force-offline', caps: { storedCountMax: 5 } });
      const phone = await world.phone(1_000);
      await world.credential(phone);
      await again.scan(TEA);
      again.kiosk.press('pay');
      const before = again.uplink.requestTypes.length;
      await again.scan(world.offlineCode(phone));
      await again.until(() => again.kiosk.checkoutState === 'approved', 'approved');
      // No pay request: stored locally. (The start-up forwarding may already have sent it in a settle.)
      expect(again.uplink.requestTypes.slice(before)).not.toContain('pay');
      // ...and it is forwarded on the next run. The kiosk's own forwarding (after the clock sync)
      // may be running when the command arrives, which refuses it as busy: ask again until a run is
      // the command's own. Either way the payment is settled once.
      const fwdAck = await eventually(
        async () => {
          const ack = await ackOf(again, command(again, { name: 'forward' }));
          if (ack['ok'] === true) return ack;
          expect(ack).toMatchObject({ error: { code: 'COMMAND_BUSY' } });
          return undefined;
        },
        { what: 'a forward command not refused as busy', intervalMs: 50 },
      );
      expect(fwdAck).toMatchObject({ ok: true, result: { end: 'drained' } });
      expect(again.uplink.requestTypes.filter((t) => t === 'settle').length).toBeGreaterThanOrEqual(1);
      expect(again.outbox.stats().count).toBe(0);
      expect(await world.balance(shopperAccountId(phone.walletId))).toBe(1_000 - 150);
    } finally {
      await again.close();
      await world.close();
    }
  });

  it('lists stored payments without their codes, shows a technician message, and tests the buzzer', async () => {
    h = await startHarness();
    const phone = await h.world.phone(1_000);
    await h.world.credential(phone);
    await h.cut();
    await h.scan(TEA);
    h.kiosk.press('pay');
    const code = h.world.offlineCode(phone);
    await h.scan(code);
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'approved');
    await h.restore();
    // Forwarding starts at once on restore; list what is there first on a cut uplink instead.
    await h.until(() => h!.outbox.stats().count === 0, 'forwarded');
    const list = await ackOf(h, command(h, { name: 'list-stored' }));
    expect(list).toMatchObject({ ok: true, result: { items: [] } });
    expect(JSON.stringify(h.uplink.published)).not.toContain(code);

    const msg = await ackOf(h, command(h, { name: 'display-message', text: 'Back in 5 minutes', seconds: 10 }));
    expect(msg).toMatchObject({ ok: true });
    expect(h.display.last.message).toBe('Back in 5 minutes');
    await h.advance(10_000);
    expect(h.display.last.message).toBeUndefined();

    const writes = h.lines.history.length;
    expect(await ackOf(h, command(h, { name: 'test', target: 'buzzer' }))).toMatchObject({ ok: true });
    await h.advance(2_000);
    expect(h.lines.history.length).toBeGreaterThan(writes);
  });
});

describe('kiosk: telemetry', () => {
  it('publishes a retained status and its changes, and its events wait while the uplink is down', async () => {
    h = await startHarness();
    await h.advance(1_000);
    const retained = h.uplink.published.filter((p) => p.topic === topics.kioskStatus('k1'));
    expect(retained.length).toBeGreaterThan(0);
    expect(retained.every((p) => p.retain)).toBe(true);
    await h.cut();
    await h.scan(TEA);
    h.kiosk.press('cancel');
    await h.flush();
    const eventsBefore = h.uplink.messages('events').length;
    await h.restore();
    await h.advance(1_000);
    const events = h.uplink.messages('events');
    expect(events.length).toBeGreaterThan(eventsBefore);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'uplink', online: false }));
    const heartbeatBefore = h.uplink.messages('status').length;
    await h.advance(h.config.timing.heartbeatMs);
    expect(h.uplink.messages('status').length).toBeGreaterThan(heartbeatBefore);
  });
});

describe('kiosk: hardware', () => {
  it('shows "out of service" while the scanner is unplugged and sells again when it comes back', async () => {
    h = await startHarness();
    h.scanner.unplug();
    await h.flush();
    expect(h.kiosk.checkoutState).toBe('fault');
    expect(h.display.last.faults).toContain('scanner unavailable');
    expect(h.kiosk.status().health.scanner).toBe('fault');
    h.scanner.replug();
    await h.flush();
    expect(h.kiosk.checkoutState).toBe('idle');
    await h.scan(TEA);
    expect(h.kiosk.checkoutState).toBe('basket');
  });

  it('survives garbage from the scanner: binary noise, an over-long line, a bad barcode', async () => {
    h = await startHarness();
    h.scanner.emitBytes(Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d]));
    h.scanner.emitBytes('x'.repeat(5_000) + '\r');
    await h.scan('4901234567890'); // wrong check digit
    await h.flush();
    expect(h.kiosk.checkoutState).toBe('idle');
    await h.scan(TEA);
    h.kiosk.press('pay');
    await h.scan('KP1.not-a-code');
    expect(h.kiosk.checkoutState).toBe('awaitingCode');
    expect(h.display.last.hint?.hint).toBe('unreadable-code');
  });

  it('vending: a slot button, an approved payment, and one relay pulse under the cap', async () => {
    h = await startHarness({ config: { mode: 'vending' } });
    const phone = await h.world.phone(1_000);
    h.kiosk.press({ slot: 2 });
    await h.flush();
    expect(h.display.last.screen).toMatchObject({ name: 'awaitingCode', basket: { total: { value: 120 } } });
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'dispensing', 'dispensing');
    const relayPin = 16;
    expect(h.lines.level(relayPin)).toBe(1);
    await h.advance(2_000);
    expect(h.lines.level(relayPin)).toBe(0);
    expect(h.lines.history.filter((w) => w.bcm === relayPin).map((w) => w.level)).toEqual([1, 0]);
  });
});
