// SPDX-License-Identifier: Apache-2.0
// The simulated character LCD: keeps its rows in memory (the simulated kiosk and tests read them).
// Same semantics as LcdDisplay (lcd-screen.ts): a detached sim is 'fault' and keeps the latest view,
// drawn when attach() is called, as a real LCD draws it when its board is ready again.
import type { HealthState } from '../../../../shared/kiosk-telemetry.ts';
import type { DisplayView } from '../../../display/display.ts';
import { blankLines, type LcdScreen } from './lcd-screen.ts';
import { assertLcdSize, LCD_COLS, LCD_ROWS, lcdLines } from './lcd-lines.ts';

export interface SimLcdOptions {
  cols?: number;
  rows?: number;
  /** Starts without a device (as a real LCD before its board is ready); attach() connects it. */
  detached?: boolean;
}

export class SimLcd implements LcdScreen {
  readonly cols: number;
  readonly rows: number;
  #glass: string[];
  #latest: string[] | undefined;
  #attached: boolean;
  #closed = false;
  /** Times the glass changed; a test control (coalescing shows here). */
  framesDrawn = 0;

  constructor(o: SimLcdOptions = {}) {
    this.cols = o.cols ?? LCD_COLS;
    this.rows = o.rows ?? LCD_ROWS;
    assertLcdSize(this.cols, this.rows);
    this.#glass = blankLines(this.cols, this.rows);
    this.#attached = !o.detached;
  }

  get health(): HealthState {
    return this.#attached && !this.#closed ? 'ok' : 'fault';
  }

  get lines(): readonly string[] {
    return [...this.#glass];
  }

  render(view: DisplayView): void {
    if (this.#closed) return;
    try {
      this.#latest = lcdLines(view, this.cols, this.rows);
    } catch {
      return; // a layout bug must not stop the kiosk; the glass keeps the previous view
    }
    this.#draw();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#attached) this.#glass = blankLines(this.cols, this.rows);
  }

  // ---- test controls ----

  /** The LCD goes away (unplug): health 'fault'; the glass keeps whatever it showed. */
  detach(): void {
    this.#attached = false;
  }

  /** The LCD is back: it starts blank and shows the latest view. */
  attach(): void {
    if (this.#closed || this.#attached) return;
    this.#attached = true;
    this.#glass = blankLines(this.cols, this.rows);
    this.#draw();
  }

  #draw(): void {
    if (!this.#attached || this.#latest === undefined) return;
    if (this.#latest.every((l, i) => l === this.#glass[i])) return;
    this.#glass = [...this.#latest];
    this.framesDrawn++;
  }
}
