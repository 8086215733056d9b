// SPDX-License-Identifier: Apache-2.0
// docs/protocol.md lists exactly the codes of shared/errors.ts, with the same kind and HTTP status,
// and exactly the technician command error codes of shared/kiosk-commands.ts, with their meaning.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ERROR_CODES } from '../shared/errors.ts';
import { COMMAND_ERRORS, COMMAND_ERROR_CODES } from '../shared/kiosk-commands.ts';

const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (decline|error) \| (\d{3}) \|/gm)].map((m) => ({
  code: m[1]!,
  kind: m[2]!,
  http: Number(m[3]),
}));

describe('docs/protocol.md error table', () => {
  it('lists every code exactly once, and no other', () => {
    expect(rows.map((r) => r.code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('gives each code its kind and HTTP status', () => {
    for (const r of rows) {
      const spec = ERRORS[r.code as keyof typeof ERRORS];
      expect({ code: r.code, kind: r.kind, http: r.http }).toEqual({ code: r.code, kind: spec.kind, http: spec.http });
    }
  });
});

describe('docs/protocol.md command error table', () => {
  const commandRows = [...doc.matchAll(/^\| `(COMMAND_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => ({ code: m[1]!, meaning: m[2]! }));

  it('lists every command error code exactly once, with the meaning the console shows', () => {
    expect(commandRows).toEqual(COMMAND_ERROR_CODES.map((code) => ({ code, meaning: COMMAND_ERRORS[code] })));
  });
});
