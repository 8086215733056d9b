// SPDX-License-Identifier: Apache-2.0
// Live updates for the dashboard over Server-Sent Events (GET /ops/events). Each client first gets
// `snapshot` (fleet, ledger and the page's reference data), then changes: `kiosk` (one kiosk's
// view), `summary` (alerts, exposure, live declines, Help requests, ignored counts) and `ledger`
// (today's sales, stored payments, refunds). Times are ISO 8601 with the deployment's offset.
// Changes are found by comparing what was last sent with the state now: on every fleet message
// (coalesced), on a tick (alerts and staleness change with time alone), and after payment events
// (the ledger). Limits: clients at once, bytes buffered per client (a client that stops reading is
// dropped), and a heartbeat comment so proxies and the browser notice a dead connection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { TimeZone } from '../../shared/time-zone.ts';
import type { FleetState } from './fleet-state.ts';
import { presentFleet, presentKiosk, presentSummary, type PresentedSummary } from './present.ts';
import type { LedgerSummary } from './sales-queries.ts';

export const LIVE_DEFAULTS = Object.freeze({
  /** Fleet changes are pushed at most this often, in ms. */
  coalesceMs: 100,
  /** Time-driven changes (alerts, staleness) are looked for this often, in ms. */
  tickMs: 2_000,
  /** The ledger is re-read this often even without payment events, in ms. */
  ledgerRefreshMs: 15_000,
  /** After a payment event the ledger is re-read this much later, in ms (events come in bursts). */
  ledgerDebounceMs: 500,
  /** A comment line is sent this often on an idle stream, in ms. */
  heartbeatMs: 15_000,
  /** A client with more than this many bytes unsent is dropped, in bytes. */
  clientBufferBytesMax: 1024 * 1024,
  /** The browser waits this long before reconnecting, in ms (the SSE `retry` field). */
  retryMs: 2_000,
});

/** Every timing and limit of the live stream, in the units its name says. */
export type LiveTimings = { [K in keyof typeof LIVE_DEFAULTS]: number };

export interface OpsLiveOptions {
  fleet: FleetState;
  ledger: () => Promise<LedgerSummary>;
  tz: TimeZone;
  /** Reference data sent with every snapshot (reason sentences, filter choices, the time zone). */
  extras?: () => Record<string, unknown>;
  clientsMax: number;
  log: Logger;
  timings?: Partial<LiveTimings>;
}

/** Compared without `at`, which changes on every look. */
const summaryKey = (s: PresentedSummary) => JSON.stringify({ ...s, at: '' });

export class OpsLive {
  readonly #o: OpsLiveOptions;
  readonly #t: LiveTimings;
  readonly #clients = new Set<ServerResponse>();
  readonly #sentKiosks = new Map<string, string>();
  #sentSummary = '';
  #sentLedger = '';
  #pushTimer: NodeJS.Timeout | null = null;
  #ledgerTimer: NodeJS.Timeout | null = null;
  #ledgerBusy = false;
  #ledgerAgain = false;
  readonly #intervals: NodeJS.Timeout[];
  #closed = false;
  #attaching = 0;

  constructor(o: OpsLiveOptions) {
    this.#o = o;
    this.#t = { ...LIVE_DEFAULTS, ...o.timings };
    this.#intervals = [
      setInterval(() => this.#pushFleet(), this.#t.tickMs),
      setInterval(() => this.ledgerChanged(0), this.#t.ledgerRefreshMs),
      setInterval(() => this.#broadcast(': heartbeat\n\n'), this.#t.heartbeatMs),
    ];
    for (const i of this.#intervals) i.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Starts a stream; false (and nothing written) when the client cap is reached. */
  async attach(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (this.#closed || this.#clients.size + this.#attaching >= this.#o.clientsMax) return false;
    this.#attaching += 1;
    let gone = false;
    const drop = () => {
      gone = true;
      this.#clients.delete(res);
    };
    req.on('close', drop);
    res.on('error', drop);
    try {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
      res.write(`retry: ${this.#t.retryMs}\n\n`);
      const ledger = await this.#o.ledger();
      if (gone || this.#closed) return true;
      this.#send(res, 'snapshot', { ...this.#o.extras?.(), fleet: presentFleet(this.#o.fleet.snapshot(), this.#o.tz), ledger });
      this.#clients.add(res);
      // What was last sent is forgotten, so anything that changed while this snapshot was being
      // taken reaches this client too (the others get a harmless repeat).
      this.#sentKiosks.clear();
      this.#sentSummary = '';
      this.#sentLedger = '';
      this.fleetChanged();
    } catch (err) {
      this.#o.log.error({ err }, 'dashboard snapshot failed');
      res.end();
    } finally {
      this.#attaching -= 1;
    }
    return true;
  }

  /** A fleet message arrived: push what changed soon (coalesced). */
  fleetChanged(): void {
    if (this.#closed || this.#pushTimer) return;
    this.#pushTimer = setTimeout(() => {
      this.#pushTimer = null;
      this.#pushFleet();
    }, this.#t.coalesceMs);
  }

  /** The ledger may have changed (a payment event): re-read it after `delayMs`. */
  ledgerChanged(delayMs = this.#t.ledgerDebounceMs): void {
    if (this.#closed || this.#ledgerTimer) return;
    this.#ledgerTimer = setTimeout(() => {
      this.#ledgerTimer = null;
      void this.#pushLedger();
    }, delayMs);
  }

  close(): void {
    this.#closed = true;
    for (const i of this.#intervals) clearInterval(i);
    if (this.#pushTimer) clearTimeout(this.#pushTimer);
    if (this.#ledgerTimer) clearTimeout(this.#ledgerTimer);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #pushFleet(): void {
    const snap = this.#o.fleet.snapshot();
    for (const k of snap.kiosks) {
      const json = JSON.stringify(presentKiosk(k, this.#o.tz));
      if (this.#sentKiosks.get(k.kioskId) === json) continue;
      this.#sentKiosks.set(k.kioskId, json);
      this.#broadcast(frame('kiosk', json));
    }
    const summary = presentSummary(snap, this.#o.tz);
    const key = summaryKey(summary);
    if (key !== this.#sentSummary) {
      this.#sentSummary = key;
      this.#broadcast(frame('summary', JSON.stringify(summary)));
    }
  }

  async #pushLedger(): Promise<void> {
    if (this.#ledgerBusy) {
      this.#ledgerAgain = true;
      return;
    }
    this.#ledgerBusy = true;
    try {
      do {
        this.#ledgerAgain = false;
        if (this.#clients.size === 0) {
          this.#sentLedger = '';
          break;
        }
        const json = JSON.stringify(await this.#o.ledger());
        if (json !== this.#sentLedger) {
          this.#sentLedger = json;
          this.#broadcast(frame('ledger', json));
        }
      } while (this.#ledgerAgain && !this.#closed);
    } catch (err) {
      this.#o.log.error({ err }, 'dashboard ledger refresh failed');
    } finally {
      this.#ledgerBusy = false;
    }
  }

  #send(res: ServerResponse, event: string, body: unknown): void {
    this.#write(res, frame(event, JSON.stringify(body)));
  }

  #broadcast(text: string): void {
    for (const res of this.#clients) this.#write(res, text);
  }

  #write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.#t.clientBufferBytesMax) {
      this.#o.log.warn('dashboard client is not reading; dropped');
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}

/** One SSE frame; JSON never holds a raw newline, so one `data:` line suffices. */
function frame(event: string, json: string): string {
  return `event: ${event}\ndata: ${json}\n\n`;
}
