// SPDX-License-Identifier: Apache-2.0
// docs/configuration.md lists exactly the keys of the server's config schema, each with the default
// the schema really gives (or "unset" for an optional key without one), so the page `kioskpay server
// --help` points to cannot drift from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServerConfig, serverConfigSchema } from '../server/config.ts';

const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
const rows = new Map([...doc.matchAll(/^\| `([A-Za-z.]+)` \| (.+?) \| .+ \|$/gm)].map((m) => [m[1]!, m[2]!]));

/** Every leaf key of the parsed defaults, dotted, with its value; objects that are not arrays are walked. */
function leaves(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

describe('docs/configuration.md', () => {
  const defaults = leaves(parseServerConfig({}) as unknown as Record<string, unknown>);
  const optional = Object.keys(serverConfigSchema.shape).filter((k) => !defaults.some(([d]) => d === k || d.startsWith(`${k}.`)));

  it('documents every key of the schema, and no other', () => {
    expect([...rows.keys()].sort()).toEqual([...defaults.map(([k]) => k), ...optional].sort());
  });

  it.each(defaults)('gives %s its real default', (key, value) => {
    expect(rows.get(key)).toBe(`\`${JSON.stringify(value)}\``);
  });

  it('says "unset" for optional keys without a default', () => {
    for (const key of optional) expect(rows.get(key), key).toBe('unset');
  });

  it('is the page the server help points to', () => {
    const main = readFileSync(new URL('../server/main.ts', import.meta.url), 'utf8');
    expect(main).toContain('docs/configuration.md');
  });
});
