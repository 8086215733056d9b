// SPDX-License-Identifier: Apache-2.0
// The scanner's doctor checks on a fake /dev tree laid out as udev makes it (relative by-id links).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKioskConfig, type KioskConfig, type KioskConfigInput } from '../config.ts';
import type { CheckResult, DoctorEnv } from './check.ts';
import { scannerChecks } from './scanner-checks.ts';

const example = new URL('../../../docs/examples/kiosk.json', import.meta.url).pathname;
const SERIAL = '/dev/serial/by-id/usb-Acme_2D_Scanner_0001-if00';
const KBD = '/dev/input/by-id/usb-Acme_2D_Scanner_0001-event-kbd';

function config(scanner: KioskConfigInput['scanner']): Readonly<KioskConfig> {
  const json = JSON.parse(readFileSync(example, 'utf8')) as Record<string, unknown>;
  return parseKioskConfig({ ...json, scanner }, 'test', dirname(example));
}

let root: string;
let env: DoctorEnv;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kp-doctor-'));
  env = { root, probeTimeoutMs: 2_000 };
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:kiosk\ninput:x:105:\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function file(path: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), '');
}
function link(path: string, target: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
}
/** The scanner in serial (CDC) mode, as udev names it. */
function serialMode(): void {
  file('/dev/ttyACM0');
  link(SERIAL, '../../ttyACM0');
}
/** The scanner in keyboard mode. */
function keyboardMode(): void {
  file('/dev/input/event3');
  link(KBD, '../event3');
}
function byId(results: CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

describe('scanner doctor checks', () => {
  it('serial scanner present: where the by-id link points, readable, a tty', async () => {
    serialMode();
    const r = byId(await scannerChecks(config({ kind: 'serial', path: SERIAL }), env));
    expect(r['scanner.present']).toMatchObject({ status: 'pass', title: expect.stringContaining('resolves to /dev/ttyACM0') });
    expect(r['scanner.readable']).toMatchObject({ status: 'pass' });
    expect(r['scanner.mode']).toMatchObject({ status: 'pass', title: expect.stringContaining('a tty') });
  });

  it('hid scanner present: an input event device', async () => {
    keyboardMode();
    const r = byId(await scannerChecks(config({ kind: 'hid', path: KBD, keymap: 'us' }), env));
    expect(r['scanner.present']).toMatchObject({ status: 'pass', title: expect.stringContaining('/dev/input/event3') });
    expect(r['scanner.mode']).toMatchObject({ status: 'pass', title: expect.stringContaining('input event device') });
  });

  it('serial configured, but the scanner is in keyboard mode: says so and gives both fixes', async () => {
    keyboardMode();
    const results = await scannerChecks(config({ kind: 'serial', path: SERIAL }), env);
    const r = byId(results);
    expect(r['scanner.present']).toMatchObject({ status: 'fail' });
    expect(r['scanner.mode']).toMatchObject({ status: 'fail', title: expect.stringContaining('USB HID keyboard mode') });
    expect(r['scanner.mode']!.fix).toContain('configuration barcode');
    expect(r['scanner.mode']!.fix).toContain(JSON.stringify({ kind: 'hid', path: KBD, keymap: 'us' }));
    expect(results.map((x) => x.id)).toEqual(['scanner.present', 'scanner.mode']);
  });

  it('hid configured, but the scanner is in serial mode', async () => {
    serialMode();
    const r = byId(await scannerChecks(config({ kind: 'hid', path: KBD }), env));
    expect(r['scanner.mode']).toMatchObject({ status: 'fail', title: expect.stringContaining('USB serial (CDC) mode') });
    expect(r['scanner.mode']!.fix).toContain(JSON.stringify({ kind: 'serial', path: SERIAL }));
  });

  it('a path that leads to the wrong kind of node names the right config', async () => {
    keyboardMode();
    const r = byId(await scannerChecks(config({ kind: 'serial', path: KBD }), env));
    expect(r['scanner.mode']).toMatchObject({ status: 'fail', fix: expect.stringContaining('"kind":"hid"') });
  });

  it('a dangling by-id link (unplugged scanner) is missing; nothing anywhere says check the cable', async () => {
    link(SERIAL, '../../ttyACM0');
    const r = byId(await scannerChecks(config({ kind: 'serial', path: SERIAL }), env));
    expect(r['scanner.present']).toMatchObject({ status: 'fail' });
    expect(r['scanner.mode']).toMatchObject({ status: 'fail', title: 'No scanner is connected in either USB mode' });
  });

  it('a node that cannot be opened fails readable (a socket: ENXIO)', async () => {
    mkdirSync(join(root, 'dev/serial/by-id'), { recursive: true });
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(root, 'dev/ttyACM0'), r));
    try {
      link(SERIAL, '../../ttyACM0');
      const r = byId(await scannerChecks(config({ kind: 'serial', path: SERIAL }), env));
      expect(r['scanner.readable']).toMatchObject({ status: 'fail', title: expect.stringContaining('ENXIO') });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it.skipIf(process.getuid?.() === 0)('a node this user may not read names its group in the fix', async () => {
    serialMode();
    chmodSync(join(root, 'dev/ttyACM0'), 0o000);
    const r = byId(await scannerChecks(config({ kind: 'serial', path: SERIAL }), env));
    expect(r['scanner.readable']).toMatchObject({ status: 'fail', fix: expect.stringContaining('usermod -aG') });
  });

  it('a simulated scanner is skipped', async () => {
    expect(await scannerChecks(config({ kind: 'sim' }), env)).toEqual([expect.objectContaining({ status: 'skip' })]);
  });
});
