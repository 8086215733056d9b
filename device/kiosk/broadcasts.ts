// SPDX-License-Identifier: Apache-2.0
// The server's retained broadcasts on the running kiosk: the signed revocation list and the product
// catalog. Each is checked before it is taken (the list by its signature and age,
// domain/offline/revocation-cache.ts; the catalog by its schema and version, shared/catalog), and
// kept in the kiosk state, so that a kiosk that boots without its uplink can still sell.
import type { Logger } from 'pino';
import { isNewerCatalog, parseCatalog, type Catalog, type CatalogMessage } from '../../shared/catalog/catalog.ts';
import type { Clock } from '../../shared/clock.ts';
import { topics } from '../../shared/topics.ts';
import type { RevocationCache } from '../domain/offline/revocation-cache.ts';
import type { Uplink } from '../uplink/uplink.ts';
import type { TimerPort } from './checkout-runner.ts';
import type { KioskState } from './kiosk-state.ts';
import type { KioskStateWriter } from './state-writer.ts';

/** How long the `reload-catalog` command waits for the broker to send the catalog again, and how often it looks. */
export const CATALOG_RELOAD_WAIT_MS = 5_000;
const CATALOG_RELOAD_POLL_MS = 50;

export interface BroadcastsDeps {
  /** The kiosk's currency (a catalog in another one is taken, with a warning). */
  currency: string;
  revocations: RevocationCache;
  state: KioskStateWriter;
  uplink: Pick<Uplink, 'resubscribe'>;
  clock: Pick<Clock, 'monotonicMs'>;
  timers: TimerPort;
  log: Logger;
  /** A new revocation list was taken. */
  onRevocations: () => void;
  /** A new catalog arrived over the uplink, or it was dropped for a reload. */
  onCatalog: (present: boolean) => void;
}

export class KioskBroadcasts {
  readonly #d: BroadcastsDeps;
  #catalog: Catalog | undefined;

  constructor(deps: BroadcastsDeps) {
    this.#d = deps;
  }

  get catalog(): Catalog | undefined {
    return this.#catalog;
  }

  /** At start: what the state kept (not saved again, not reported). */
  restore(st: Readonly<KioskState>): void {
    if (st.revocations) this.#d.revocations.accept(st.revocations);
    if (st.catalog) this.#takeCatalog(st.catalog, false);
  }

  /** A message on the revocation or catalog topic; others are not broadcasts and are ignored. */
  receive(topic: string, payload: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.#d.log.warn({ topic }, 'broadcast is not JSON; ignored');
      return;
    }
    if (topic === topics.revocations) {
      const r = this.#d.revocations.accept(json);
      if (r.accepted) {
        void this.#d.state.save('revocation list', (s) => ({ ...s, revocations: json as never }));
        this.#d.onRevocations();
      } else this.#d.log.info({ reason: r.reason }, 'revocation list not taken');
    } else if (topic === topics.catalog) {
      this.#takeCatalog(json, true);
    }
  }

  /**
   * The `reload-catalog` command: drops the catalog, subscribes again so that the broker sends the
   * retained one, and waits up to CATALOG_RELOAD_WAIT_MS for it. Rejects if the state cannot be saved.
   */
  async reload(): Promise<{ version: number | null }> {
    const d = this.#d;
    this.#catalog = undefined;
    await d.state.update('catalog dropped', (s) => ({ ...s, catalog: null }));
    d.onCatalog(false);
    await d.uplink.resubscribe(topics.catalog);
    const deadline = d.clock.monotonicMs() + CATALOG_RELOAD_WAIT_MS;
    const arrived = () => this.#catalog as Catalog | undefined;
    while (!arrived() && d.clock.monotonicMs() < deadline) await new Promise<void>((r) => d.timers.setTimeout(r, CATALOG_RELOAD_POLL_MS));
    return { version: arrived()?.version ?? null };
  }

  #takeCatalog(json: unknown, received: boolean): void {
    const parsed = parseCatalog(json);
    if (!parsed.ok) {
      this.#d.log.warn({ problem: parsed.message }, 'catalog refused');
      return;
    }
    if (!isNewerCatalog(this.#catalog, parsed.catalog)) return;
    this.#catalog = parsed.catalog;
    if (parsed.catalog.currency !== this.#d.currency)
      this.#d.log.warn({ currency: parsed.catalog.currency }, 'catalog currency differs from the kiosk currency');
    if (received) {
      void this.#d.state.save('catalog', (s) => ({ ...s, catalog: json as CatalogMessage }));
      this.#d.onCatalog(true);
    }
  }
}
