// SPDX-License-Identifier: Apache-2.0
// The command audit log: one line per command and per final ack, names joined, progress skipped,
// malformed input recorded without crashing, rotation capped by size and file count.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { AuditLog } from './audit-log.ts';

let dir: string;
const clock = new ManualClock(1_795_867_200_000);
const cmd = (id: string, extra: Record<string, unknown>) =>
  JSON.stringify({ v: 1, type: 'command', id, expiresAt: clock.nowMs() + 60_000, by: 'tech-yamada', ...extra });
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('AuditLog', () => {
  it('records a command with its arguments and its final ack with the command name, skipping progress', () => {
    const path = join(dir, 'audit.log');
    const log = new AuditLog({ path, clock });
    log.recordCommand('k1', cmd('c-1', { name: 'set-policy', policy: { mode: 'force-offline' } }));
    clock.advance(5);
    log.recordAck('k1', JSON.stringify({ v: 1, type: 'progress', re: 'c-1', done: 1, total: 2 }));
    log.recordAck('k1', JSON.stringify({ v: 1, type: 'ack', re: 'c-1', ok: true, result: { policy: { mode: 'force-offline' } } }));
    log.recordCommand('k2', cmd('c-2', { name: 'forward' }));
    log.recordAck(
      'k2',
      JSON.stringify({ v: 1, type: 'ack', re: 'c-2', ok: false, error: { code: 'COMMAND_BUSY', message: 'already forwarding' } }),
    );
    log.close();
    const got = lines(path);
    expect(got).toEqual([
      {
        at: 1_795_867_200_000,
        kind: 'command',
        kioskId: 'k1',
        id: 'c-1',
        name: 'set-policy',
        by: 'tech-yamada',
        expiresAt: 1_795_867_260_000,
        args: { policy: { mode: 'force-offline' } },
      },
      {
        at: 1_795_867_200_005,
        kind: 'ack',
        kioskId: 'k1',
        re: 'c-1',
        name: 'set-policy',
        ok: true,
        result: { policy: { mode: 'force-offline' } },
      },
      {
        at: 1_795_867_200_005,
        kind: 'command',
        kioskId: 'k2',
        id: 'c-2',
        name: 'forward',
        by: 'tech-yamada',
        expiresAt: 1_795_867_260_005,
        args: {},
      },
      {
        at: 1_795_867_200_005,
        kind: 'ack',
        kioskId: 'k2',
        re: 'c-2',
        name: 'forward',
        ok: false,
        error: { code: 'COMMAND_BUSY', message: 'already forwarding' },
      },
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('records malformed commands and acks instead of throwing, and summarises a large result', () => {
    const path = join(dir, 'audit.log');
    const log = new AuditLog({ path, clock });
    log.recordCommand('k1', 'not json');
    log.recordCommand('k1', cmd('c-3', { name: 'self-destruct' }));
    log.recordAck('k1', JSON.stringify({ v: 1, type: 'ack', re: 'c-9', ok: 'maybe' }));
    const items = Array.from({ length: 50 }, (_, i) => ({
      txId: `t${i}`,
      amount: { value: 100, currency: 'JPY' },
      capturedAt: 1,
      state: 'stored',
    }));
    log.recordAck('k1', JSON.stringify({ v: 1, type: 'ack', re: 'c-4', ok: true, result: { items } }));
    log.close();
    const got = lines(path);
    expect(got.map((l) => [l['kind'], 'id' in l ? l['id'] : l['re']])).toEqual([
      ['malformed', null],
      ['malformed', 'c-3'],
      ['malformed', 'c-9'],
      ['ack', 'c-4'],
    ]);
    expect(got[3]!['name']).toBeNull();
    expect(got[3]!['result']).toMatchObject({ omitted: true, keys: ['items'] });
  });

  it('appends across restarts and rotates when the size cap would be passed, keeping filesKept files', () => {
    const path = join(dir, 'audit.log');
    const first = new AuditLog({ path, clock });
    first.recordCommand('k1', cmd('c-0', { name: 'status' }));
    first.close();
    const log = new AuditLog({ path, clock, bytesMax: 1024, filesKept: 2 });
    for (let i = 1; i <= 40; i++) log.recordCommand('k1', cmd(`c-${i}`, { name: 'display-message', text: 'x'.repeat(40), seconds: 5 }));
    log.close();
    expect(existsSync(`${path}.1`) && existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(statSync(p).size).toBeLessThanOrEqual(1024);
    const ids = [...lines(`${path}.2`), ...lines(`${path}.1`), ...lines(path)].map((l) => Number(String(l['id']).slice(2)));
    // Contiguous and ending with the newest: rotation lost only the oldest lines.
    expect(ids.at(-1)).toBe(40);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => 41 - ids.length + i));
  });
});
