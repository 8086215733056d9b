// SPDX-License-Identifier: Apache-2.0
// The Pi-native LCD adapter: a 20x4 HD44780 behind a PCF8574 I2C backpack, driven by the kernel
// (`dtoverlay=hd44780-i2c-lcd` gives /dev/lcd, the charlcd driver). We write text and escapes to
// the device (charlcd-escapes.ts). Failure semantics: lcd-screen.ts.
// - Opened write-only and non-blocking, never created: without the driver there is no /dev/lcd,
//   and a plain open(..., 'w') would make a regular file there that hides the real node later. A
//   path that is not a character device (or a FIFO, as tests use) is refused.
// - At each open: display on, cursor and blink off, backlight on, clear; then the latest view.
// - Each view is laid out by lcdLines(); a draw writes only the cells that changed (row-diff.ts),
//   each run placed with a goto escape, in one write; at most one draw per drawIntervalMs and one
//   write at a time.
// - Open or write failing (ENOENT: no overlay or driver; EBUSY: charlcd allows one open and someone
//   else has it; EACCES; ENODEV, ENXIO, EIO, EPIPE) and the node vanishing or being replaced
//   (checked every probeIntervalMs): health 'fault', the device is closed and opened again with
//   capped exponential backoff (injected timers).
// - The kernel does not report I2C errors to the writer (the backpack is driven through a GPIO
//   expander whose errors the hd44780 driver ignores): an unplugged backpack is not a fault here.
import { constants, type FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import type { HealthState } from '../../../../shared/kiosk-telemetry.ts';
import type { DisplayView } from '../../../display/display.ts';
import { systemTimers, type TimerHandle, type Timers } from '../../../timers.ts';
import { CHARLCD_CLEAR, CHARLCD_SETUP, charlcdWriteAt } from './charlcd-escapes.ts';
import { lcdRomCodes } from './lcd-charset.ts';
import type { LcdDisplay, LcdState } from './lcd-display.ts';
import { LCD_COLS_MAX, LCD_COLS_MIN, LCD_ROWS_MAX, LCD_ROWS_MIN, lcdLines } from './lcd-lines.ts';
import { blankLines } from './lcd-screen.ts';
import { changedSpan } from './row-diff.ts';

export const CHARLCD_DEFAULTS = Object.freeze({
  path: '/dev/lcd',
  cols: 20,
  rows: 4,
  /** Shortest gap between two draws; renders in between are coalesced into the next draw. */
  drawIntervalMs: 100,
  /** How often the device node is checked while nothing is written. */
  probeIntervalMs: 2_000,
  retryInitialMs: 1_000,
  retryMaxMs: 30_000,
});

const settingsSchema = z.strictObject({
  path: z.string().min(1).default(CHARLCD_DEFAULTS.path),
  cols: z.int().min(LCD_COLS_MIN).max(LCD_COLS_MAX).default(CHARLCD_DEFAULTS.cols),
  rows: z.int().min(LCD_ROWS_MIN).max(LCD_ROWS_MAX).default(CHARLCD_DEFAULTS.rows),
  drawIntervalMs: z.int().min(0).max(10_000).default(CHARLCD_DEFAULTS.drawIntervalMs),
  probeIntervalMs: z.int().min(1).max(600_000).default(CHARLCD_DEFAULTS.probeIntervalMs),
  retryInitialMs: z.int().min(1).max(600_000).default(CHARLCD_DEFAULTS.retryInitialMs),
  retryMaxMs: z.int().min(1).max(3_600_000).default(CHARLCD_DEFAULTS.retryMaxMs),
});
type Settings = z.infer<typeof settingsSchema>;

export interface CharlcdDisplayOptions extends z.input<typeof settingsSchema> {
  timers?: Timers;
  logger?: Logger;
}

/** The LCD on /dev/lcd; `bytesWritten` and `busy` let tests and diagnostics see its progress. */
export interface CharlcdDisplay extends LcdDisplay {
  /** Bytes the device accepted since start. */
  readonly bytesWritten: number;
  /** A write is in flight or a draw is queued. */
  readonly busy: boolean;
}

export class CharlcdOptionsError extends Error {
  override readonly name = 'CharlcdOptionsError';
  readonly code = 'LCD_BAD_OPTIONS';
}

/** Opens the device and starts drawing; a missing device is a fault retried in the background. */
export async function createCharlcdDisplay(o: CharlcdDisplayOptions = {}): Promise<CharlcdDisplay> {
  const { timers, logger, ...rest } = o;
  const parsed = settingsSchema.safeParse(rest);
  if (!parsed.success) throw new CharlcdOptionsError(`LCD options: ${z.prettifyError(parsed.error)}`);
  const lcd = new CharlcdLcd(
    parsed.data,
    timers ?? systemTimers,
    (logger ?? pino({ level: 'silent' })).child({ component: 'lcd', path: parsed.data.path }),
  );
  await lcd.start();
  return lcd;
}

/** Where a device node is: its identity, to notice it vanishing or being replaced. */
interface NodeId {
  dev: number;
  ino: number;
  rdev: number;
}

const HINTS: Record<string, string> = {
  ENOENT: 'no device: is dtoverlay=hd44780-i2c-lcd in config.txt and I2C enabled?',
  EBUSY: 'another process has the LCD open (charlcd allows one)',
  EACCES: 'no permission: the kiosk user needs write access to the device (udev rule)',
};

class CharlcdLcd implements CharlcdDisplay {
  readonly cols: number;
  readonly rows: number;
  readonly #s: Settings;
  readonly #timers: Timers;
  readonly #log: Logger;
  #state: LcdState = 'connecting';
  /** Bumped whenever an attempt ends, so late completions of its writes are ignored. */
  #gen = 0;
  #failures = 0;
  #fh: FileHandle | undefined;
  #node: NodeId | undefined;
  #glass: string[];
  #latest: string[] | undefined;
  #writing: Promise<void> | undefined;
  #drawQueued = false;
  #drawTimer: TimerHandle | undefined;
  #lastDrawAt = Number.NEGATIVE_INFINITY;
  #probeTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #closing: Promise<void> | undefined;
  #bytesWritten = 0;

  constructor(s: Settings, timers: Timers, log: Logger) {
    this.#s = s;
    this.cols = s.cols;
    this.rows = s.rows;
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
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  get busy(): boolean {
    return this.#writing !== undefined || this.#drawQueued;
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

  start(): Promise<void> {
    return this.#connect();
  }

  async #connect(): Promise<void> {
    const gen = ++this.#gen;
    this.#state = 'connecting';
    let fh: FileHandle | undefined;
    try {
      fh = await fsp.open(this.#s.path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      const st = await fh.stat();
      if (!st.isCharacterDevice() && !st.isFIFO())
        throw Object.assign(new Error(`${this.#s.path} is not a character device`), { code: 'ENOTCHR' });
      if (gen !== this.#gen) throw new Error('closed while opening');
      this.#fh = fh;
      this.#node = { dev: st.dev, ino: st.ino, rdev: st.rdev };
    } catch (e) {
      await fh?.close().catch(() => undefined);
      this.#fail(gen, 'open-failed', e);
      return;
    }
    this.#glass = blankLines(this.cols, this.rows);
    this.#write(gen, CHARLCD_SETUP, () => {
      this.#state = 'ready';
      this.#failures = 0;
      this.#log.info('lcd ready');
      this.#scheduleProbe(gen);
      this.#requestDraw();
    });
  }

  /** Writes `bytes` whole (one at a time); `then` runs if it succeeded and the attempt is current. */
  #write(gen: number, bytes: Buffer, then: () => void): void {
    const fh = this.#fh;
    if (!fh) return;
    const run = (async () => {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        if (bytesWritten <= 0) throw Object.assign(new Error('the device accepted no bytes'), { code: 'EIO' });
        off += bytesWritten;
        this.#bytesWritten += bytesWritten;
      }
    })();
    this.#writing = run.then(
      () => {
        this.#writing = undefined;
        if (gen === this.#gen) then();
      },
      (e: unknown) => {
        this.#writing = undefined;
        this.#fail(gen, 'write-failed', e);
      },
    );
  }

  #fail(gen: number, reason: string, err?: unknown): void {
    if (gen !== this.#gen || this.#state === 'closed') return;
    this.#gen++;
    this.#state = 'fault';
    this.#failures++;
    this.#stopTimers();
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const message = err instanceof Error ? err.message : undefined;
    this.#log.warn(
      {
        reason,
        code,
        ...(message ? { err: message } : {}),
        ...(code && HINTS[code] ? { hint: HINTS[code] } : {}),
        failures: this.#failures,
      },
      'lcd fault',
    );
    void this.#release();
    const delay = Math.min(this.#s.retryMaxMs, this.#s.retryInitialMs * 2 ** Math.min(this.#failures - 1, 30));
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== 'closed') void this.#connect();
    }, delay);
  }

  async #close(): Promise<void> {
    const wasReady = this.#state === 'ready';
    this.#state = 'closed';
    const gen = ++this.#gen;
    this.#stopTimers();
    this.#retryTimer = this.#cancel(this.#retryTimer);
    await this.#writing;
    if (wasReady && this.#fh) {
      this.#write(gen, CHARLCD_CLEAR, () => {
        this.#glass = blankLines(this.cols, this.rows);
      });
      await this.#writing;
    }
    await this.#release();
  }

  async #release(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.#node = undefined;
    // A write still in flight holds the handle; close it after that write settles.
    await this.#writing;
    await fh?.close().catch((e: unknown) => void this.#log.warn({ err: (e as Error).message }, 'lcd close failed'));
  }

  #requestDraw(): void {
    if (this.#state !== 'ready' || this.#drawQueued || this.#writing) return;
    const want = this.#latest;
    if (!want || want.every((row, r) => row === this.#glass[r])) return;
    this.#drawQueued = true;
    const gen = this.#gen;
    const wait = Math.max(0, this.#lastDrawAt + this.#s.drawIntervalMs - this.#timers.now());
    if (wait === 0) queueMicrotask(() => this.#draw(gen));
    else this.#drawTimer = this.#timers.setTimeout(() => this.#draw(gen), wait);
  }

  #draw(gen: number): void {
    if (gen !== this.#gen || this.#state !== 'ready') return;
    this.#drawQueued = false;
    this.#drawTimer = undefined;
    const want = this.#latest;
    if (!want) return;
    const parts: Buffer[] = [];
    const next = [...this.#glass];
    for (let r = 0; r < this.rows; r++) {
      const wanted = want[r] ?? '';
      const span = changedSpan(next[r] ?? '', wanted);
      if (!span) continue;
      parts.push(charlcdWriteAt(span.start, r, lcdRomCodes(wanted.slice(span.start, span.end))));
      next[r] = wanted;
    }
    if (parts.length === 0) return;
    this.#lastDrawAt = this.#timers.now();
    // The glass is taken as written once the device accepted the bytes; a later view is drawn then.
    this.#write(gen, Buffer.concat(parts), () => {
      this.#glass = next;
      this.#requestDraw();
    });
  }

  #scheduleProbe(gen: number): void {
    this.#probeTimer = this.#timers.setTimeout(() => {
      this.#probeTimer = undefined;
      void this.#probe(gen);
    }, this.#s.probeIntervalMs);
  }

  /** The node must still be the one we opened: gone (driver unbound, overlay removed) or replaced is a fault. */
  async #probe(gen: number): Promise<void> {
    if (gen !== this.#gen || !this.#node) return;
    const was = this.#node;
    try {
      const st = await fsp.stat(this.#s.path);
      if (st.dev !== was.dev || st.ino !== was.ino || st.rdev !== was.rdev)
        throw Object.assign(new Error('the device node was replaced'), { code: 'ENODEV' });
    } catch (e) {
      this.#fail(gen, 'device-gone', e);
      return;
    }
    if (gen === this.#gen) this.#scheduleProbe(gen);
  }

  #stopTimers(): void {
    this.#drawTimer = this.#cancel(this.#drawTimer);
    this.#drawQueued = false;
    this.#probeTimer = this.#cancel(this.#probeTimer);
  }

  #cancel(handle: TimerHandle | undefined): undefined {
    if (handle !== undefined) this.#timers.clearTimeout(handle);
    return undefined;
  }
}
