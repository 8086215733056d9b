// SPDX-License-Identifier: Apache-2.0
// Reads the server's catalog: the JSON file named by config `catalogFile` (a catalog message as in
// shared/catalog/catalog.ts, docs/protocol.md), or the built-in demo catalog without one. A file
// that is missing, not JSON, too large or invalid is refused with an error that names the file and
// the offending field (e.g. `items.3.gtin: must be 13 digits with a correct GS1 check digit`).
import { readFileSync, statSync } from 'node:fs';
import { catalogMessage, parseCatalog, type CatalogMessage } from '../../shared/catalog/catalog.ts';
import { DEMO_CATALOG } from './demo-catalog.ts';

/** Largest catalog file read, in bytes (10,000 items fit in well under this). */
export const CATALOG_FILE_BYTES_MAX = 4 * 1024 * 1024;

export class CatalogFileError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`catalogFile ${path}: ${detail}`);
    this.name = 'CatalogFileError';
  }
}

/** The catalog to publish: the file's, validated, or the demo catalog when `path` is undefined. Throws CatalogFileError. */
export function loadCatalog(path: string | undefined): CatalogMessage {
  if (path === undefined) return DEMO_CATALOG;
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > CATALOG_FILE_BYTES_MAX) throw new CatalogFileError(path, `file is ${size} bytes, at most ${CATALOG_FILE_BYTES_MAX}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof CatalogFileError) throw e;
    throw new CatalogFileError(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CatalogFileError(path, `not valid JSON (${(e as Error).message})`);
  }
  const checked = parseCatalog(json);
  if (!checked.ok) throw new CatalogFileError(path, checked.message);
  return catalogMessage.parse(json);
}
