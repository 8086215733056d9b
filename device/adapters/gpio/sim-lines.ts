// SPDX-License-Identifier: Apache-2.0
// Simulated GPIO lines, with test controls on the instance: `level(bcm)`, `press(bcm)`,
// `release(bcm)`, `drive(bcm, level)`, `history` of writes, `onWrite(fn)`, `claimed`, `closed`.
import {
  claimLine,
  GpioLineError,
  isEdge,
  type Edge,
  type GpioLines,
  type InLine,
  type InputOptions,
  type Level,
  type OutLine,
} from './lines.ts';

export interface SimWrite {
  readonly bcm: number;
  readonly level: Level;
}

export interface SimLinesOptions {
  /** Level of an input nobody drives: 1 for buttons with pull-ups (the default). */
  inputIdle?: Level;
  /** Level `press()` drives: the opposite of `inputIdle` unless given. */
  pressedLevel?: Level;
}

interface SimInput {
  readonly edge: Edge;
  level: Level;
  readonly listeners: Set<(level: Level) => void>;
}

/** Most writes kept in `history` (a simulated kiosk runs for days; older writes are dropped). */
export const SIM_HISTORY_MAX = 10_000;

export class SimLines implements GpioLines {
  /** The `write()`s on output lines, in order (initial levels are not writes); the newest SIM_HISTORY_MAX. */
  readonly history: SimWrite[] = [];
  readonly #writeListeners = new Set<(w: SimWrite) => void>();
  readonly #outputs = new Map<number, Level>();
  readonly #inputs = new Map<number, SimInput>();
  readonly #claimed = new Set<number>();
  readonly #held = new Map<number, Level>();
  readonly #idle: Level;
  readonly #pressed: Level;
  #closed = false;

  constructor(opts: SimLinesOptions = {}) {
    this.#idle = opts.inputIdle ?? 1;
    this.#pressed = opts.pressedLevel ?? (this.#idle === 1 ? 0 : 1);
  }

  output(bcm: number, initial: Level = 0): OutLine {
    claimLine(this.#claimed, bcm, this.#closed);
    this.#outputs.set(bcm, initial);
    return {
      bcm,
      write: (level: Level): void => {
        if (this.#closed) throw new GpioLineError(`BCM ${bcm}: GPIO lines are closed`, 'CLOSED');
        this.#outputs.set(bcm, level);
        const w = { bcm, level };
        this.history.push(w);
        if (this.history.length > SIM_HISTORY_MAX) this.history.splice(0, this.history.length - SIM_HISTORY_MAX);
        for (const fn of [...this.#writeListeners]) fn(w);
      },
    };
  }

  /** `opts.bias` is not simulated: an input idles at `inputIdle` whatever it asks for. */
  input(bcm: number, edge: Edge, _opts?: InputOptions): InLine {
    claimLine(this.#claimed, bcm, this.#closed);
    const inp: SimInput = { edge, level: this.#held.get(bcm) ?? this.#idle, listeners: new Set() };
    this.#inputs.set(bcm, inp);
    return {
      bcm,
      initial: Promise.resolve(inp.level),
      onEdge: (fn) => {
        const wrapped = (l: Level): void => fn(l);
        inp.listeners.add(wrapped);
        return () => void inp.listeners.delete(wrapped);
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#writeListeners.clear();
    for (const inp of this.#inputs.values()) inp.listeners.clear();
    this.#claimed.clear();
  }

  // ---- test controls ----

  /** Calls fn after every write on an output line (not after close). Returns an unsubscribe. */
  onWrite(fn: (w: SimWrite) => void): () => void {
    this.#writeListeners.add(fn);
    return () => void this.#writeListeners.delete(fn);
  }

  /** The current level of an output or input line, or undefined if the line is not claimed. */
  level(bcm: number): Level | undefined {
    return this.#outputs.get(bcm) ?? this.#inputs.get(bcm)?.level;
  }

  /** Lines currently claimed (empty after close). */
  get claimed(): readonly number[] {
    return [...this.#claimed].sort((a, b) => a - b);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Drives an input line to `level`; listeners see it if it is an edge of the requested kind. */
  drive(bcm: number, level: Level): void {
    const inp = this.#inputs.get(bcm);
    if (!inp) throw new Error(`SimLines: BCM ${bcm} is not an input`);
    const prev = inp.level;
    inp.level = level;
    if (this.#closed || !isEdge(inp.edge, prev, level)) return;
    for (const fn of [...inp.listeners]) fn(level);
  }

  /** Sets the level an input reads when it is claimed later (a button held at boot). */
  hold(bcm: number, level: Level): void {
    this.#held.set(bcm, level);
  }

  /** Holds a button down (drives the pressed level). */
  press(bcm: number): void {
    this.drive(bcm, this.#pressed);
  }

  /** Lets a button go (drives the idle level). */
  release(bcm: number): void {
    this.drive(bcm, this.#idle);
  }

  /** Contact bounce: drives each level in turn, with no time between them. */
  bounce(bcm: number, levels: readonly Level[]): void {
    for (const l of levels) this.drive(bcm, l);
  }
}
