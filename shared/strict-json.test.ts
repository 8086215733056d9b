// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses when no object repeats a key', () => {
    for (const t of [
      '{}',
      '[]',
      '1',
      '"a"',
      'null',
      '{"a":{"a":1},"b":[{"a":1},{"a":2}]}',
      '{"a\\"":"{\\"a\\":1,\\"a\\":2}","b":"\\\\"}',
      ' { "x" : [ 1 , { "y" : true } ] } ',
    ]) {
      expect(parseStrictJson(t)).toEqual(JSON.parse(t));
    }
  });

  it('refuses a repeated key at any depth, also when spelled with escapes', () => {
    for (const t of [
      '{"a":1,"a":2}',
      '{"v":1,"amount":{"value":1,"value":900}}',
      '[{"a":1},{"b":1,"b":2}]',
      '{"a":1,"\\u0061":2}',
      '{"__proto__":1,"__proto__":2}',
    ]) {
      expect(() => parseStrictJson(t), t).toThrow(StrictJsonError);
    }
  });

  it('refuses text that is not JSON', () => {
    for (const t of ['', '{', '{"a":1,}', "{'a':1}", 'NaN']) expect(() => parseStrictJson(t), t).toThrow(/not JSON/);
  });
});
