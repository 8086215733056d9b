// SPDX-License-Identifier: Apache-2.0
// docs/security.md's matrix and the suite stay in step: every row of the suite is a line of the
// document's matrix with the same expected outcome, and every line of the matrix is a row of the suite.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MATRIX } from './matrix-rows.ts';

interface DocLine {
  attack: string;
  outcome: string;
  test: string;
}

/** The table lines of the "## The matrix" section, with backticks removed from outcome and test. */
function documentedMatrix(markdown: string): DocLine[] {
  const start = markdown.indexOf('\n## The matrix\n');
  if (start < 0) throw new Error('docs/security.md has no "## The matrix" section');
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const unquote = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1] ?? `(not in backticks) ${cell}`;
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| attack |'))
    .map((l) => {
      const cells = l.slice(2, -2).split(' | ');
      if (cells.length !== 3) throw new Error(`matrix line does not have 3 cells: ${l}`);
      return { attack: cells[0]!, outcome: unquote(cells[1]!), test: unquote(cells[2]!) };
    });
}

const doc = documentedMatrix(readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8'));

describe('docs/security.md lists the security matrix', () => {
  it('names each test of the suite once', () => {
    const names = MATRIX.map((r) => r.name);
    expect(new Set(names).size, 'suite row names are unique').toBe(names.length);
    const documented = doc.map((l) => l.test);
    expect(new Set(documented).size, 'document lines are unique').toBe(documented.length);
    expect(
      names.filter((n) => !documented.includes(n)),
      'in the suite, missing from the document',
    ).toEqual([]);
    expect(
      documented.filter((n) => !names.includes(n)),
      'in the document, not in the suite',
    ).toEqual([]);
  });

  it('gives each test the outcome the suite expects, and says what the attack is', () => {
    for (const line of doc) {
      const row = MATRIX.find((r) => r.name === line.test);
      expect(line.outcome, line.test).toBe(row?.outcome);
      expect(line.attack.trim().length, `attack column of ${line.test}`).toBeGreaterThan(0);
    }
  });
});
