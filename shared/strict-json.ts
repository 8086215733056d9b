// SPDX-License-Identifier: Apache-2.0
// JSON.parse that refuses an object with the same key twice. JSON.parse keeps the last of
// duplicates silently, so `{"amount":1,"amount":900}` would mean one thing to a log, a signature
// check or another parser that keeps the first, and another to us. Every JSON body we accept (wallet
// HTTP API, MQTT payloads) goes through here. Keys are compared after unescaping (`"a"` and
// `"\u0061"` are the same key).

export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

/** Parses `text` as JSON; throws StrictJsonError when it is not JSON or an object repeats a key. */
export function parseStrictJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new StrictJsonError(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw new StrictJsonError(`duplicate key ${JSON.stringify(duplicate)}`);
  return value;
}

/**
 * The first key that appears twice in one object of `text`, which must be valid JSON (checked by
 * JSON.parse first): a single pass that knows only strings, braces, brackets, colons and commas.
 */
function firstDuplicateKey(text: string): string | undefined {
  /** One entry per open container: the keys seen so far for an object, null for an array. */
  const stack: (Set<string> | null)[] = [];
  /** The last structural character outside strings: a string after `{` or `,` in an object is a key. */
  let prev = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i += 1; text[i] !== '"'; i += 1) if (text[i] === '\\') i += 1;
      const keys = stack[stack.length - 1];
      if (keys && (prev === '{' || prev === ',')) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      prev = '"';
    } else if (c === '{') {
      stack.push(new Set());
      prev = c;
    } else if (c === '[') {
      stack.push(null);
      prev = c;
    } else if (c === '}' || c === ']') {
      stack.pop();
      prev = c;
    } else if (c === ',' || c === ':') {
      prev = c;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      prev = 'v'; // a number, true, false or null
    }
  }
  return undefined;
}
