// SPDX-License-Identifier: Apache-2.0
// docs/console.md documents exactly the console's commands, each with a mosquitto equivalent where
// one exists, and the exit codes of exit-codes.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONSOLE_COMMANDS } from './console-commands.ts';
import { EXIT } from './exit-codes.ts';

const doc = readFileSync(new URL('../docs/console.md', import.meta.url), 'utf8');

describe('docs/console.md', () => {
  it('has a section per command, each usage as in the code, and no other', () => {
    const headings = [...doc.matchAll(/^### (.+)$/gm)].map((m) => m[1]!);
    const documented = headings.flatMap((h) => h.split(', ').map((part) => part.split(' ')[0]!));
    expect(documented.sort()).toEqual(CONSOLE_COMMANDS.map((c) => c.name).sort());
    for (const c of CONSOLE_COMMANDS.filter((c) => !['help', 'quit'].includes(c.name))) {
      expect(headings, c.name).toContain(c.usage);
    }
  });

  it('shows a mosquitto line for every command that a kiosk or topic answers', () => {
    for (const c of CONSOLE_COMMANDS.filter((c) => !['help', 'quit'].includes(c.name))) {
      const section = doc.split(`### ${c.usage}`)[1]!.split('\n### ')[0]!;
      expect(section, c.name).toMatch(/mosquitto_(sub|pub)|kp_cmd/);
    }
  });

  it('lists the exit codes', () => {
    for (const code of Object.values(EXIT)) expect(doc).toMatch(new RegExp(`^\\| ${code} \\| `, 'm'));
  });
});
