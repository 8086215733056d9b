// SPDX-License-Identifier: Apache-2.0
// The console's picture of the fleet, from the retained kp/v1/kiosk/+/status messages: one entry per
// kiosk with its last status and when the console received it. A kiosk seen going offline during
// this session gets `offlineSince`; one that was already offline when the console started has
// none (a retained last will carries no time). Status messages that fail the shared schema are
// counted and ignored. At most KIOSKS_MAX kiosks are kept (a limit on everything).
import type { MqttClient } from 'mqtt';
import type { Clock } from '../shared/clock.ts';
import { parseJsonMessage } from '../shared/kiosk-messages.ts';
import { kioskStatusMessage, type KioskStatusMessage } from '../shared/kiosk-telemetry.ts';
import { parseKioskTopic, topics } from '../shared/topics.ts';

export const KIOSKS_MAX = 10_000;
/** Largest status payload looked at, in bytes. */
const STATUS_BYTES_MAX = 64 * 1024;

export interface FleetEntry {
  readonly kioskId: string;
  readonly status: KioskStatusMessage;
  /** Console wall time when this status arrived. */
  readonly receivedAtMs: number;
  /** When the console saw it go offline; null when online or offline since before the console started. */
  readonly offlineSinceMs: number | null;
}

/** The broker refused the subscription to every kiosk's status: not a technician or operator login. */
export class FleetRefusedError extends Error {
  override name = 'FleetRefusedError';
}

export class FleetView {
  readonly #client: MqttClient;
  readonly #clock: Clock;
  readonly #entries = new Map<string, FleetEntry>();
  readonly #listeners = new Set<(e: FleetEntry) => void>();
  #messages = 0;
  invalid = 0;

  constructor(client: MqttClient, clock: Clock) {
    this.#client = client;
    this.#clock = clock;
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet.retain));
  }

  /**
   * Subscribes to every kiosk's status and waits until the retained ones have arrived: the broker
   * sends them right after the SUBACK, so this waits until `quietMs` pass without one (at most
   * `waitMaxMs`). Throws FleetRefusedError when the broker refuses the subscription.
   */
  async start(quietMs = 150, waitMaxMs = 3_000): Promise<void> {
    const granted = await this.#client.subscribeAsync(topics.allKioskStatus, { qos: 1 });
    if (granted[0]?.qos === 128) {
      throw new FleetRefusedError(
        `the broker refused this login the kiosks' status (${topics.allKioskStatus}); log in as a technician or operator: --login FILE (kioskpay up writes DATA/up/technician.json), or --username and --password`,
      );
    }
    // Real timers, not the injected clock: this waits on the network, and a fake clock must not hang it.
    const stepMs = 25;
    let lastCount = -1;
    let quietSteps = 0;
    for (let i = 0; i < waitMaxMs / stepMs && quietSteps * stepMs < quietMs; i++) {
      await new Promise((r) => setTimeout(r, stepMs));
      if (this.#messages === lastCount) quietSteps += 1;
      else {
        quietSteps = 0;
        lastCount = this.#messages;
      }
    }
  }

  get(kioskId: string): FleetEntry | undefined {
    return this.#entries.get(kioskId);
  }

  /** Every known kiosk, by id. */
  list(): FleetEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.kioskId < b.kioskId ? -1 : a.kioskId > b.kioskId ? 1 : 0));
  }

  ids(): string[] {
    return this.list().map((e) => e.kioskId);
  }

  onChange(fn: (e: FleetEntry) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const t = parseKioskTopic(topic);
    if (t?.leaf !== 'status') return;
    this.#messages += 1;
    if (payload.byteLength === 0) {
      this.#entries.delete(t.kioskId);
      return;
    } // retained message cleared
    const parsed = parseJsonMessage(kioskStatusMessage, payload, STATUS_BYTES_MAX);
    if (!parsed.ok) {
      this.invalid += 1;
      return;
    }
    const prev = this.#entries.get(t.kioskId);
    if (!prev && this.#entries.size >= KIOSKS_MAX) return;
    const now = this.#clock.nowMs();
    const status = parsed.value;
    const offlineSinceMs =
      status.state === 'online' ? null : prev?.status.state === 'offline' ? prev.offlineSinceMs : prev || !retained ? now : null;
    const entry: FleetEntry = { kioskId: t.kioskId, status, receivedAtMs: now, offlineSinceMs };
    this.#entries.set(t.kioskId, entry);
    for (const fn of this.#listeners) fn(entry);
  }
}
