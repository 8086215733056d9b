// SPDX-License-Identifier: Apache-2.0
// Values written into SQL text as literals, for the batched `EXECUTE name(...)` statements of
// pg-batch.ts (node-postgres sends one statement per round trip with parameters, but any number
// in one simple query). Every value becomes a quoted literal that PostgreSQL coerces to the prepared
// statement's parameter type, exactly as it would a parameter sent as text: strings quoted (doubling
// quotes and backslashes), integers refused unless safe, bytes as hex, arrays in array syntax.

/**
 * A string as a PostgreSQL string constant (the same rule as node-postgres' escapeLiteral). Native
 * searches and replaces: the array literals of a merged statement run to kilobytes, and walking them
 * a character at a time was a tenth of the store's time in Node.
 */
export function quote(text: string): string {
  if (text.includes('\0')) throw new Error('a string holding NUL cannot be stored');
  const quoted = text.includes("'") ? text.replaceAll("'", "''") : text;
  return text.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

function scalar(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`refusing to send ${v}: not a safe integer`);
    return String(v);
  }
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  throw new Error(`cannot send a ${typeof v} to PostgreSQL`);
}

const NEEDS_ESCAPE = /[\\"]/;
const ESCAPED = /[\\"]/g;

/** One element of an array literal: NULL, or double-quoted with `"` and `\` escaped. */
function element(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  const text = scalar(v);
  return `"${NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, '\\$&') : text}"`;
}

/** A value as a literal of unknown type, which the statement's parameter type then gives a meaning. */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return quote(`{${v.map(element).join(',')}}`);
  return quote(scalar(v));
}
