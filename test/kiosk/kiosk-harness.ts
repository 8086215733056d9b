// SPDX-License-Identifier: Apache-2.0
// A whole kiosk in one process for tests: the real Kiosk (checkout, offline desk, file outbox and
// state on a temp dir, telemetry, commands) on simulated hardware, wired to the REAL server domain
// (server/testing/world.ts) through an in-memory uplink that delivers each request to the server's
// dispatcher. One manual clock drives both; `cut()` and `restore()` play the kiosk's uplink.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { toBase64url } from '../../shared/bytes.ts';
import type { Clock } from '../../shared/clock.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { topics } from '../../shared/topics.ts';
import type { Display, DisplayView } from '../../device/display/display.ts';
import { createKioskGpio } from '../../device/adapters/gpio/kiosk-gpio.ts';
import { SimLines } from '../../device/adapters/gpio/sim-lines.ts';
import { ManualTimers } from '../../device/timers.ts';
import { SimScanner } from '../../device/adapters/scanner/sim-scanner.ts';
import { parseKioskConfig, type KioskConfigInput } from '../../device/kiosk/config.ts';
import { SIM_GPIO_PINS } from '../../device/kiosk/hardware.ts';
import { Kiosk } from '../../device/kiosk/kiosk.ts';
import { initialKioskState, KioskStateStore } from '../../device/kiosk/kiosk-state.ts';
import type { DurableJsonOptions } from '../../device/outbox/durable-json-adapter.ts';
import { FileOutbox, type FileOutboxOptions } from '../../device/outbox/file-outbox.ts';
import { UplinkOfflineError } from '../../device/uplink/uplink.ts';
import { buildRevocations } from '../../server/domain/revocations.ts';
import { makeWorld, type World } from '../../server/testing/world.ts';
import { eventually, turns } from '../../shared/testing/wait.ts';

export const DEMO_CATALOG = {
  v: 1,
  type: 'catalog',
  version: 1,
  currency: 'JPY',
  items: [
    { gtin: '4901234567894', name: 'Green tea', price: { value: 150, currency: 'JPY' }, slot: 1 },
    { gtin: '4006381333931', name: 'Gum', price: { value: 120, currency: 'JPY' }, slot: 2 },
  ],
};
export const TEA = '4901234567894';

/** The server side of the kiosk's MQTT link, in memory. */
export class WorldUplink {
  readonly #events = new EventEmitter();
  readonly published: Array<{ topic: string; payload: string; retain: boolean }> = [];
  connected = true;
  requests = 0;
  /** The type of every request that reached the server, in order. */
  readonly requestTypes: string[] = [];
  /** While true, requests reach the server but their replies are lost (never resolve). */
  loseReplies = false;

  constructor(
    private readonly world: World,
    private readonly kioskId: string,
  ) {}

  async request(req: { type: string }): Promise<never> {
    if (!this.connected) throw new UplinkOfflineError();
    this.requests++;
    this.requestTypes.push(req.type);
    const reply = await this.world.send(this.kioskId, req);
    if (this.loseReplies) return new Promise<never>(() => {});
    return reply as never;
  }

  async publish(topic: string, payload: string, o: { retain?: boolean } = {}): Promise<void> {
    if (!this.connected) throw new UplinkOfflineError();
    this.published.push({ topic, payload, retain: o.retain ?? false });
  }

  async resubscribe(): Promise<void> {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // biome-ignore lint/suspicious/noExplicitAny: the EventEmitter signature, narrowed per event by the overloads above
  on(event: string, fn: (...args: any[]) => void): this {
    this.#events.on(event, fn);
    return this;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // biome-ignore lint/suspicious/noExplicitAny: the EventEmitter signature, narrowed per event by the overloads above
  off(event: string, fn: (...args: any[]) => void): this {
    this.#events.off(event, fn);
    return this;
  }

  setConnected(up: boolean): void {
    if (up === this.connected) return;
    this.connected = up;
    this.#events.emit(up ? 'connected' : 'disconnected');
  }

  deliver(topic: string, message: unknown): void {
    this.#events.emit('message', topic, Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)), false);
  }

  /** Messages published on one of this kiosk's topics, parsed. */
  messages(leaf: 'status' | 'events' | 'ack'): Array<Record<string, unknown>> {
    const topic = { status: topics.kioskStatus, events: topics.kioskEvents, ack: topics.kioskAcks }[leaf](this.kioskId);
    return this.published.filter((p) => p.topic === topic).map((p) => JSON.parse(p.payload) as Record<string, unknown>);
  }
}

export class RecordingDisplay implements Display {
  readonly views: DisplayView[] = [];
  health: 'ok' | 'fault' = 'ok';
  render(view: DisplayView): void {
    this.views.push(view);
  }
  get last(): DisplayView {
    return this.views[this.views.length - 1]!;
  }
  async close(): Promise<void> {}
}

export interface HarnessOptions {
  config?: Partial<KioskConfigInput>;
  world?: World;
  dir?: string;
  /** Deliver a catalog and a revocation list at start (default true). */
  broadcasts?: boolean;
  /** The monotonic epoch (boot id); a different one than before plays a reboot. */
  epoch?: string;
  /** Start with the uplink down. */
  offline?: boolean;
  /** A battery-backed RTC set the kiosk's wall clock at this boot (KioskDeps.rtc). */
  rtc?: boolean;
  /**
   * The kiosk's own clock instead of the shared one: its wall clock this far from true time (a
   * fake-hwclock boot sets it back by the power cut), its monotonic clock from 0 at this boot.
   */
  wallOffsetMs?: number;
  /** The outbox file's write hook (FileOutboxOptions.onWriteStep): awaiting in it stalls a real write. */
  outboxWriteStep?: FileOutboxOptions['onWriteStep'];
  /** The kiosk state file's write hook (the durable adapter's onStep): throwing in it fails that write. */
  stateWriteStep?: DurableJsonOptions['onStep'];
}

/**
 * Folders harnesses made. A harness started on one of them (the same kiosk after a restart) owns it
 * too: the first was only stopped, so whichever closes removes it; a folder a test made is the test's.
 */
const harnessDirs = new Set<string>();

export async function startHarness(o: HarnessOptions = {}) {
  const world = o.world ?? (await makeWorld());
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'kp-kiosk-'));
  const ownsDir = o.dir === undefined || harnessDirs.has(o.dir);
  if (ownsDir) harnessDirs.add(dir);
  let stopping: Promise<void> | undefined;
  const kioskId = 'k1';
  const keys = [...world.ctx.issuer.publicKeys()].map(([keyId, key]) => ({ keyId, publicKey: toBase64url(key) }));
  const config = parseKioskConfig({
    kioskId,
    dataDir: dir,
    mqtt: { url: 'mqtt://127.0.0.1:1', password: 'x' },
    issuerKeys: keys,
    sim: true,
    display: {},
    ...o.config,
  });
  const timers = new ManualTimers();
  const log = pino({ level: 'silent' });
  const uplink = new WorldUplink(world, kioskId);
  uplink.connected = o.offline !== true;
  const scanner = new SimScanner();
  const lines = new SimLines();
  const gpio = createKioskGpio(lines, { pins: SIM_GPIO_PINS }, { timers });
  const display = new RecordingDisplay();
  const outbox = await FileOutbox.open({
    path: join(dir, 'outbox.json'),
    ...(o.outboxWriteStep ? { onWriteStep: o.outboxWriteStep } : {}),
  });
  const { store: state } = await KioskStateStore.open(
    join(dir, 'kiosk-state.json'),
    initialKioskState(config.policy),
    o.stateWriteStep ? { onStep: o.stateWriteStep } : {},
  );
  let n = 0;
  const monoAtBoot = world.clock.monotonicMs();
  const clock: Clock =
    o.wallOffsetMs === undefined
      ? world.clock
      : {
          nowMs: () => world.clock.nowMs() + o.wallOffsetMs!,
          monotonicMs: () => world.clock.monotonicMs() - monoAtBoot,
        };
  const kiosk = new Kiosk({
    config,
    clock,
    monotonicEpoch: o.epoch ?? 'test-boot',
    rtc: o.rtc,
    uplink: uplink as never,
    outbox,
    state,
    ed: nodeEd25519,
    hardware: { scanner, gpio, displays: [display], simulated: true },
    newId: () => `id${++n}`,
    timers,
    log,
  });
  kiosk.start();
  /** Lets promise chains (fsync'd writes, server answers) run. */
  const flush = turns;
  const h = {
    world,
    kiosk,
    uplink,
    scanner,
    gpio,
    lines,
    display,
    outbox,
    state,
    timers,
    dir,
    config,
    flush,
    /** Advances the shared manual clock in 100 ms steps (or `stepMs`), firing timers, letting I/O settle at the end. */
    async advance(ms: number, stepMs = 100) {
      for (let left = ms; left > 0; left -= stepMs) {
        const step = Math.min(stepMs, left);
        world.clock.advance(step);
        timers.advance(step);
      }
      await flush();
    },
    scan: async (text: string) => {
      scanner.emitScan(text);
      await flush();
    },
    /** Waits (real time, bounded) until the condition holds. */
    async until(cond: () => boolean, what: string) {
      await eventually(cond, { what });
    },
    async deliverBroadcasts() {
      uplink.deliver(topics.catalog, DEMO_CATALOG);
      uplink.deliver(topics.revocations, await buildRevocations(world.ctx));
      await flush();
    },
    cut: async () => {
      uplink.setConnected(false);
      await flush();
    },
    restore: async () => {
      uplink.setConnected(true);
      await flush(40);
    },
    /** Stops the kiosk and closes its files (a power cut); once, however often called. */
    stop() {
      stopping ??= (async () => {
        await kiosk.stop();
        await gpio.close();
        await scanner.stop();
        await state.close();
        await outbox.close();
      })();
      return stopping;
    },
    async close() {
      await h.stop();
      if (!o.world) await world.close();
      if (ownsDir) {
        rmSync(dir, { recursive: true, force: true });
        harnessDirs.delete(dir);
      }
    },
  };
  await flush();
  if (o.broadcasts !== false) await h.deliverBroadcasts();
  return h;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;
