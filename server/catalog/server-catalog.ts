// SPDX-License-Identifier: Apache-2.0
// The catalog the server publishes (retained on kp/v1/server/catalog; see server/mqtt/kiosk-mqtt.ts).
// Loaded and validated at start: an invalid `catalogFile` stops the server with CatalogFileError.
// Afterwards the file is watched by polling its size and mtime every `pollMs` (fs.watchFile: it
// also sees editors that save by rename, and needs no signal handling); a changed file that is
// valid replaces the catalog and listeners are told, an invalid one is logged and ignored, so the
// kiosks keep the last good catalog. Kiosks take only a higher `version` (isNewerCatalog), so a
// change is published but logged as ignored-by-kiosks when its version did not increase.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import type { CatalogMessage } from '../../shared/catalog/catalog.ts';
import { loadCatalog } from './catalog-file.ts';

export interface ServerCatalogOptions {
  /** The catalog file; undefined serves the built-in demo catalog and watches nothing. */
  path: string | undefined;
  /** How often the file is checked for changes, in ms. */
  pollMs: number;
  log: Logger;
}

export class ServerCatalog {
  readonly #o: ServerCatalogOptions;
  #current: CatalogMessage;
  readonly #listeners: Array<(c: CatalogMessage) => void> = [];
  #watcher: ((now: Stats, before: Stats) => void) | null = null;

  /** Throws CatalogFileError when the file is missing or invalid. */
  constructor(options: ServerCatalogOptions) {
    this.#o = options;
    this.#current = loadCatalog(options.path);
  }

  current(): CatalogMessage {
    return this.#current;
  }

  /** Calls `fn` with every valid new catalog read from the file. */
  onChange(fn: (c: CatalogMessage) => void): void {
    this.#listeners.push(fn);
  }

  /** Starts watching the file (no-op for the demo catalog). */
  start(): void {
    const path = this.#o.path;
    if (path === undefined || this.#watcher) return;
    this.#watcher = (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
      this.reload();
    };
    watchFile(path, { interval: this.#o.pollMs, persistent: false }, this.#watcher);
  }

  /** Reads the file again; keeps the current catalog when the file is invalid. Never throws. */
  reload(): boolean {
    let next: CatalogMessage;
    try {
      next = loadCatalog(this.#o.path);
    } catch (err) {
      this.#o.log.error({ err: (err as Error).message }, 'catalog file changed but is invalid; keeping the current catalog');
      return false;
    }
    if (next.version <= this.#current.version) {
      this.#o.log.warn(
        { version: next.version, current: this.#current.version },
        'catalog version did not increase; kiosks will keep their cached catalog',
      );
    }
    this.#current = next;
    this.#o.log.info({ version: next.version, items: next.items.length }, 'catalog reloaded');
    for (const fn of this.#listeners) {
      try {
        fn(next);
      } catch (err) {
        this.#o.log.error({ err }, 'catalog listener failed');
      }
    }
    return true;
  }

  close(): void {
    if (this.#watcher && this.#o.path !== undefined) unwatchFile(this.#o.path, this.#watcher);
    this.#watcher = null;
  }
}
