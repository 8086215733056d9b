// SPDX-License-Identifier: Apache-2.0
// The simulated kiosk's network cable: the "cut uplink" switch on its screen. Cutting it drops the
// MQTT connection (the broker then publishes the kiosk's last will) and fails every reconnect until
// it is restored, exactly what a pulled cable or a dead mobile router does to the real kiosk.
import type { UplinkLink } from '../uplink/mqtt-uplink.ts';

export class SimLink implements UplinkLink {
  #up = true;
  readonly #listeners = new Set<(up: boolean) => void>();

  isUp(): boolean {
    return this.#up;
  }

  set(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    for (const fn of [...this.#listeners]) fn(up);
  }

  onChange(fn: (up: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
