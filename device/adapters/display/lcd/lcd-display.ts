// SPDX-License-Identifier: Apache-2.0
// The real LCD adapter: a 20x4 HD44780 character LCD with an I2C backpack, on an Arduino running
// StandardFirmata, driven by johnny-five's LCD. Failure semantics: lcd-screen.ts.
// - johnny-five is imported here only, dynamically: it pulls serialport 8, whose native binding is
//   not built; firmata-link.ts opens the board over serialport 13 instead.
// - Boards are created with { repl: false, debug: false, sigint: false }: no REPL on stdin and no
//   SIGINT handler that force-exits the kiosk.
// - Each view is laid out by lcdLines(); a draw writes only the cells that changed (row-diff.ts),
//   at most one draw per drawIntervalMs, and waits while Firmata's writes back up.
// - A board error, close or unplug, or no 'ready' within readyTimeoutMs: health 'fault', the port
//   is released and opened again with capped exponential backoff (injected timers). An IO given by
//   the caller (`io`) is not ours to reopen: it stays 'fault' until close().
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import type { HealthState } from '../../../../shared/kiosk-telemetry.ts';
import type { DisplayView } from '../../../display/display.ts';
import { systemTimers, type TimerHandle, type Timers } from '../../../timers.ts';
import type { BindingInterface } from '../../scanner/binding-types.ts';
import { openFirmataSerial, type FirmataLikeIo, type IoConnection } from './firmata-link.ts';
import { lcdRomCodes } from './lcd-charset.ts';
import { LCD_COLS_MAX, LCD_COLS_MIN, LCD_ROWS_MAX, LCD_ROWS_MIN, lcdLines } from './lcd-lines.ts';
import { blankLines, type LcdScreen } from './lcd-screen.ts';
import { changedSpan } from './row-diff.ts';

/** Backpack controllers johnny-five's LCD knows (PCF8574 family, MJKDZ, Grove JHD1313M1). */
export const LCD_CONTROLLERS = ['PCF8574', 'PCF8574A', 'PCF8574AT', 'MJKDZ', 'LCM1602', 'JHD1313M1'] as const;
export type LcdController = (typeof LCD_CONTROLLERS)[number];

export const LCD_DEFAULTS = Object.freeze({
  controller: 'PCF8574' as LcdController,
  cols: 20,
  rows: 4,
  /** StandardFirmata's baud rate. */
  baudRate: 57_600,
  /** Shortest gap between two draws; renders in between are coalesced into the next draw. */
  drawIntervalMs: 100,
  /** Firmata writes not yet sent above which a draw waits (about half a second of 57,600 baud). */
  pendingWritesMax: 400,
  /** The Arduino resets when the port opens (about 2 s of bootloader), then Firmata's handshake. */
  readyTimeoutMs: 20_000,
  retryInitialMs: 1_000,
  retryMaxMs: 30_000,
  /** Longest wait for the last writes and for the port's close. */
  closeTimeoutMs: 1_000,
});

const settingsSchema = z.strictObject({
  controller: z.enum(LCD_CONTROLLERS).default(LCD_DEFAULTS.controller),
  /** I2C address of the backpack; default johnny-five's (0x27, 0x3F for PCF8574A/AT, 0x3E for JHD1313M1). */
  address: z.int().min(0).max(127).optional(),
  cols: z.int().min(LCD_COLS_MIN).max(LCD_COLS_MAX).default(LCD_DEFAULTS.cols),
  rows: z.int().min(LCD_ROWS_MIN).max(LCD_ROWS_MAX).default(LCD_DEFAULTS.rows),
  serialPath: z.string().min(1).optional(),
  baudRate: z.int().min(1_200).max(2_000_000).default(LCD_DEFAULTS.baudRate),
  drawIntervalMs: z.int().min(0).max(10_000).default(LCD_DEFAULTS.drawIntervalMs),
  pendingWritesMax: z.int().min(1).max(100_000).default(LCD_DEFAULTS.pendingWritesMax),
  readyTimeoutMs: z.int().min(1).max(600_000).default(LCD_DEFAULTS.readyTimeoutMs),
  retryInitialMs: z.int().min(1).max(600_000).default(LCD_DEFAULTS.retryInitialMs),
  retryMaxMs: z.int().min(1).max(3_600_000).default(LCD_DEFAULTS.retryMaxMs),
  closeTimeoutMs: z.int().min(1).max(60_000).default(LCD_DEFAULTS.closeTimeoutMs),
});
type Settings = z.infer<typeof settingsSchema>;

export interface LcdDisplayOptions extends z.input<typeof settingsSchema> {
  /** A Firmata-compatible IO owned by the caller (tests pass mock-firmata). Not reopened on a fault. */
  io?: unknown;
  /** Opens a fresh IO for each attempt (another transport, or tests of the reconnect path). */
  openIo?: () => IoConnection | Promise<IoConnection>;
  /** With serialPath: the serialport binding (default the native one; tests pass MockBinding). */
  binding?: BindingInterface;
  timers?: Timers;
  logger?: Logger;
}

/** Bad options: a start-up error that names the field. */
export class LcdOptionsError extends Error {
  override readonly name = 'LcdOptionsError';
  readonly code = 'LCD_BAD_OPTIONS';
}

/** connecting: waiting for the board; ready: drawing; fault: waiting to reopen (or given up); closed. */
export type LcdState = 'connecting' | 'ready' | 'fault' | 'closed';

export interface LcdDisplay extends LcdScreen {
  readonly state: LcdState;
  /** Failed attempts since the LCD was last ready. */
  readonly failures: number;
}

export async function createLcdDisplay(o: LcdDisplayOptions): Promise<LcdDisplay> {
  const { io, openIo, binding, timers, logger, ...rest } = o;
  const parsed = settingsSchema.safeParse(rest);
  if (!parsed.success) throw new LcdOptionsError(`LCD options: ${z.prettifyError(parsed.error)}`);
  // The Grove JHD1313M1 is a 16x2 module and johnny-five addresses only two rows on it.
  const grove = parsed.data.controller === 'JHD1313M1';
  if (grove && (rest.rows ?? 2) > 2) throw new LcdOptionsError('LCD options: rows: the JHD1313M1 has 2 rows');
  const s: Settings = grove ? { ...parsed.data, rows: 2, cols: rest.cols ?? 16 } : parsed.data;
  const sources = [io !== undefined, openIo !== undefined, s.serialPath !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new LcdOptionsError('LCD options: give exactly one of io, openIo or serialPath');
  if (io !== undefined && !isIo(io)) throw new LcdOptionsError('LCD options: io must be a Firmata-compatible IO (an EventEmitter)');
  const t = timers ?? systemTimers;
  const open: () => Promise<IoConnection> =
    io !== undefined
      ? async () => ({ io: io as FirmataLikeIo, release: async () => {} })
      : openIo !== undefined
        ? async () => openIo()
        : () =>
            openFirmataSerial({
              path: s.serialPath!,
              baudRate: s.baudRate,
              timers: t,
              closeTimeoutMs: s.closeTimeoutMs,
              ...(binding ? { binding } : {}),
            });
  const lcd = new FirmataLcd(s, open, io === undefined, t, (logger ?? pino({ level: 'silent' })).child({ component: 'lcd' }));
  await lcd.start();
  return lcd;
}

function isIo(x: unknown): x is FirmataLikeIo {
  return typeof x === 'object' && x !== null && typeof (x as { on?: unknown }).on === 'function';
}

// ---- johnny-five, loaded on first use ----

interface FiveBoard {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  timer?: unknown;
}
interface FiveLcd {
  cursor(row: number, col: number): FiveLcd;
  print(text: string, options?: { dontProcessSpecials?: boolean }): FiveLcd;
  clear(): FiveLcd;
}
interface Five {
  Board: (new (options: object) => FiveBoard) & { readonly cache: FiveBoard[] };
  LCD: new (options: object) => FiveLcd;
}

const JOHNNY_FIVE: string = 'johnny-five';
let five: Promise<Five> | undefined;
function loadFive(): Promise<Five> {
  five ??= import(JOHNNY_FIVE).then((m: { default?: Five } & Partial<Five>) => m.default ?? (m as Five));
  return five;
}

// ---- the adapter ----

class FirmataLcd implements LcdDisplay {
  readonly cols: number;
  readonly rows: number;
  readonly #s: Settings;
  readonly #open: () => Promise<IoConnection>;
  readonly #reopens: boolean;
  readonly #timers: Timers;
  readonly #log: Logger;
  #state: LcdState = 'connecting';
  /** Bumped whenever an attempt ends, so late events from its IO and board are ignored. */
  #gen = 0;
  #failures = 0;
  #five: Five | undefined;
  #conn: IoConnection | undefined;
  #board: FiveBoard | undefined;
  #lcd: FiveLcd | undefined;
  #glass: string[];
  #latest: string[] | undefined;
  #drawQueued = false;
  #drawTimer: TimerHandle | undefined;
  #lastDrawAt = Number.NEGATIVE_INFINITY;
  #readyTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #closing: Promise<void> | undefined;
  /** Releases still running (a fault's teardown is not awaited; close() waits for it). */
  readonly #releasing = new Set<Promise<void>>();

  constructor(s: Settings, open: () => Promise<IoConnection>, reopens: boolean, timers: Timers, log: Logger) {
    this.#s = s;
    this.cols = s.cols;
    this.rows = s.rows;
    this.#open = open;
    this.#reopens = reopens;
    this.#timers = timers;
    this.#log = log;
    this.#glass = blankLines(s.cols, s.rows);
  }

  get health(): HealthState {
    return this.#state === 'ready' ? 'ok' : 'fault';
  }
  get state(): LcdState {
    return this.#state;
  }
  get failures(): number {
    return this.#failures;
  }
  get lines(): readonly string[] {
    return [...this.#glass];
  }

  render(view: DisplayView): void {
    if (this.#state === 'closed') return;
    try {
      this.#latest = lcdLines(view, this.cols, this.rows);
    } catch (e) {
      this.#log.error({ err: (e as Error).message }, 'lcd layout failed; keeping the previous view');
      return;
    }
    this.#requestDraw();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Starts the first attempt; resolves once it waits for the board's 'ready' (or has failed). */
  start(): Promise<void> {
    return this.#connect();
  }

  async #connect(): Promise<void> {
    const gen = ++this.#gen;
    this.#state = 'connecting';
    this.#readyTimer = this.#timers.setTimeout(() => this.#fail(gen, 'ready-timeout'), this.#s.readyTimeoutMs);
    let conn: IoConnection;
    let five: Five;
    try {
      five = this.#five ??= await loadFive();
      conn = await this.#open();
    } catch (e) {
      this.#fail(gen, 'open-failed', e);
      return;
    }
    if (gen !== this.#gen) {
      await this.#release(conn); // closed or timed out while opening
      return;
    }
    this.#conn = conn;
    // Listeners stay on the IO and board for good: they must swallow late errors (an unhandled
    // 'error' event would crash the kiosk), and the generation check makes them inert.
    const failOn = (reason: string) => (err?: unknown) => this.#fail(gen, reason, err);
    conn.io.on('error', failOn('io-error'));
    conn.io.on('close', failOn('io-closed'));
    conn.io.on('disconnect', failOn('io-disconnected'));
    try {
      const board = new five.Board({ io: conn.io, repl: false, debug: false, sigint: false, timeout: this.#s.readyTimeoutMs });
      this.#board = board;
      board.on('error', failOn('board-error'));
      board.on('ready', () => this.#onReady(gen, five, board));
    } catch (e) {
      this.#fail(gen, 'board-failed', e);
      return;
    }
    try {
      await conn.connect?.();
    } catch (e) {
      this.#fail(gen, 'open-failed', e);
      return;
    }
    // Closed or failed while the port was opening: the teardown found it not yet open.
    if (gen !== this.#gen) await this.#release(conn);
  }

  #onReady(gen: number, five: Five, board: FiveBoard): void {
    if (gen !== this.#gen) return;
    const { controller, rows, cols, address } = this.#s;
    try {
      this.#lcd = new five.LCD({ controller, rows, cols, board, ...(address !== undefined ? { address } : {}) });
    } catch (e) {
      this.#fail(gen, 'lcd-init-failed', e);
      return;
    }
    this.#readyTimer = this.#cancel(this.#readyTimer);
    this.#state = 'ready';
    this.#failures = 0;
    this.#glass = blankLines(cols, rows); // the LCD's initialisation clears it
    this.#log.info({ controller }, 'lcd ready');
    this.#requestDraw();
  }

  #fail(gen: number, reason: string, err?: unknown): void {
    if (gen !== this.#gen || this.#state === 'closed') return;
    this.#gen++;
    this.#state = 'fault';
    this.#failures++;
    this.#stopDrawing();
    this.#readyTimer = this.#cancel(this.#readyTimer);
    const message = err instanceof Error ? err.message : typeof err === 'string' ? err : undefined;
    this.#log.warn({ reason, ...(message ? { err: message } : {}), failures: this.#failures }, 'lcd fault');
    void this.#teardown();
    if (!this.#reopens) return;
    const delay = Math.min(this.#s.retryMaxMs, this.#s.retryInitialMs * 2 ** Math.min(this.#failures - 1, 30));
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== 'closed') void this.#connect();
    }, delay);
  }

  async #close(): Promise<void> {
    const lcd = this.#state === 'ready' ? this.#lcd : undefined;
    this.#state = 'closed';
    this.#gen++;
    this.#stopDrawing();
    this.#readyTimer = this.#cancel(this.#readyTimer);
    this.#retryTimer = this.#cancel(this.#retryTimer);
    if (lcd) {
      try {
        lcd.clear();
        this.#glass = blankLines(this.cols, this.rows);
      } catch (e) {
        this.#log.warn({ err: (e as Error).message }, 'lcd clear at close failed');
      }
    }
    await this.#teardown();
    await Promise.all([...this.#releasing]);
  }

  /** Lets go of the current attempt's board and IO. */
  async #teardown(): Promise<void> {
    const { conn, board } = { conn: this.#conn, board: this.#board };
    this.#conn = undefined;
    this.#board = undefined;
    this.#lcd = undefined;
    if (board) {
      // johnny-five keeps every board in a module-wide list and may have a 10 s "no ready" timer.
      clearTimeout(board.timer as ReturnType<typeof setTimeout>);
      const cache = this.#five?.Board.cache;
      const i = cache ? cache.indexOf(board) : -1;
      if (cache && i >= 0) cache.splice(i, 1);
    }
    if (conn) await this.#release(conn);
  }

  #release(conn: IoConnection): Promise<void> {
    const p = Promise.resolve()
      .then(() => conn.release())
      .catch((e: unknown) => void this.#log.warn({ err: (e as Error).message }, 'lcd release failed'))
      .finally(() => this.#releasing.delete(p));
    this.#releasing.add(p);
    return p;
  }

  #requestDraw(): void {
    if (this.#state !== 'ready' || this.#drawQueued) return;
    this.#drawQueued = true;
    const gen = this.#gen;
    const wait = Math.max(0, this.#lastDrawAt + this.#s.drawIntervalMs - this.#timers.now());
    if (wait === 0) queueMicrotask(() => this.#draw(gen));
    else this.#drawTimer = this.#timers.setTimeout(() => this.#draw(gen), wait);
  }

  #draw(gen: number): void {
    if (gen !== this.#gen || this.#state !== 'ready' || !this.#lcd) return;
    this.#drawQueued = false;
    this.#drawTimer = undefined;
    if ((this.#conn?.io.pending ?? 0) > this.#s.pendingWritesMax) {
      // The serial line is behind: try again later rather than queue more.
      this.#drawQueued = true;
      this.#drawTimer = this.#timers.setTimeout(() => this.#draw(gen), Math.max(1, this.#s.drawIntervalMs));
      return;
    }
    const want = this.#latest;
    if (!want) return;
    this.#lastDrawAt = this.#timers.now();
    try {
      for (let r = 0; r < this.rows; r++) {
        const shown = this.#glass[r] ?? '';
        const wanted = want[r] ?? '';
        const span = changedSpan(shown, wanted);
        if (!span) continue;
        const text = String.fromCharCode(...lcdRomCodes(wanted.slice(span.start, span.end)));
        this.#lcd.cursor(r, span.start).print(text, { dontProcessSpecials: true });
        this.#glass[r] = wanted;
      }
    } catch (e) {
      this.#fail(gen, 'write-failed', e);
    }
  }

  #stopDrawing(): void {
    this.#drawTimer = this.#cancel(this.#drawTimer);
    this.#drawQueued = false;
  }

  /** Cancels a timer; returns undefined to store back in its field. */
  #cancel(handle: TimerHandle | undefined): undefined {
    if (handle !== undefined) this.#timers.clearTimeout(handle);
    return undefined;
  }
}
