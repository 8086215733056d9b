// SPDX-License-Identifier: Apache-2.0
// CSV for the dashboard's exports (RFC 4180): fields separated by commas, records ended by CRLF, a
// field quoted (its quotes doubled) when it holds a comma, a quote, CR or LF. A text cell that a
// spreadsheet would run as a formula (starting with = + - @, or a tab or CR) gets a leading
// apostrophe first, so opening an export never runs what a kiosk id, a product name or a refund
// reason smuggled in. Numbers (integer minor units, counts) are written as they are.

export type CsvValue = string | number | null;

/** Starts a spreadsheet formula (or hides one behind a control character). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field: formula-guarded when text, quoted when needed. null is an empty field. */
export function csvCell(v: CsvValue): string {
  if (v === null) return '';
  let t: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a CSV number: ${v}`);
    t = String(v);
  } else {
    t = FORMULA_START.test(v) ? `'${v}` : v;
  }
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** A whole file: the header, then one record per row, each ended by CRLF. */
export function csvTable(header: readonly string[], rows: ReadonlyArray<readonly CsvValue[]>): string {
  for (const r of rows) if (r.length !== header.length) throw new Error(`CSV row has ${r.length} fields, the header ${header.length}`);
  return [header, ...rows].map((r) => r.map(csvCell).join(',') + '\r\n').join('');
}

/** A download: what the page offers under "Export CSV". */
export interface CsvExport {
  filename: string;
  text: string;
}
