// SPDX-License-Identifier: Apache-2.0
// Starts a whole kiosk from its validated config: durable stores first (the outbox must open, or the
// kiosk does not start: it never sells on top of a store it could not read), then the hardware, the
// web screen, the uplink (which keeps reconnecting in the background: a kiosk boots without its
// uplink), and the kiosk itself. close() stops it in reverse order. Under systemd (`service`), the
// kiosk then reports READY=1 and feeds the watchdog while it is healthy, and STOPPING=1 on close.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { lastWill } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import type { Display } from '../display/display.ts';
import { FileOutbox } from '../outbox/file-outbox.ts';
import { MqttUplink } from '../uplink/mqtt-uplink.ts';
import { bootClock, readBootId } from './boot-clock.ts';
import { kioskPassword, kioskTls, type KioskConfig } from './config.ts';
import { openHardware } from './hardware.ts';
import { Kiosk } from './kiosk.ts';
import { rtcSetSystemClock } from './rtc.ts';
import { initialKioskState, KioskStateStore } from './kiosk-state.ts';
import { SimLink } from './sim-link.ts';
import type { ServiceNotifier } from './service-notify.ts';
import { systemTimers } from '../timers.ts';
import { createWebDisplay, type WebDisplay } from '../display/web/web-display.ts';
import type { SimControls } from '../display/web/sim-controls.ts';

export interface RunningKiosk {
  readonly kiosk: Kiosk;
  readonly uplink: MqttUplink;
  /** The kiosk's web screen, when configured. */
  readonly webUrl: string | undefined;
  /** Present on a simulated kiosk: what its screen's controls drive. */
  readonly sim: SimControls | undefined;
  close(): Promise<void>;
}

export interface RunKioskOptions {
  log?: Logger;
  service?: ServiceNotifier | undefined;
  /** What sets the screen's port, named if it is taken (default: display.web.port in the kiosk config). */
  screenPortSetting?: string;
}

export async function runKiosk(cfg: Readonly<KioskConfig>, o: RunKioskOptions = {}): Promise<RunningKiosk> {
  const log = (o.log ?? pino({ level: 'info' })).child({ kioskId: cfg.kioskId });
  await mkdir(cfg.dataDir, { recursive: true });
  const outbox = await FileOutbox.open({ path: join(cfg.dataDir, 'outbox.json') });
  if (outbox.recovery.source === 'backup') log.error({ problems: outbox.recovery.problems }, 'outbox loaded from its backup');
  const closers: Array<() => Promise<void>> = [() => outbox.close()];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'close failed'));
  };
  try {
    const { store: state, loaded } = await KioskStateStore.open(join(cfg.dataDir, 'kiosk-state.json'), initialKioskState(cfg.policy));
    if (loaded.source === 'backup') log.error({ problems: loaded.problems }, 'kiosk state loaded from its backup');
    closers.push(() => state.close());
    const hardware = await openHardware(cfg, log);
    closers.push(() => hardware.close());

    const link = hardware.simulated ? new SimLink() : undefined;
    let kiosk: Kiosk | undefined;
    const sim: SimControls | undefined = hardware.simulated
      ? {
          scan: (text) => hardware.simScanner?.emitScan(text),
          press: (button) => kiosk?.press(button),
          setUplink: (up) => link?.set(up),
          uplinkUp: () => link?.isUp() ?? true,
          products: () => kiosk?.catalog?.items() ?? [],
          outputs: () => hardware.simOutputs?.state(),
          onChange: (fn) => hardware.simOutputs?.onChange(fn) ?? (() => undefined),
        }
      : undefined;

    const displays: Display[] = hardware.lcd ? [hardware.lcd] : [];
    let web: WebDisplay | undefined;
    if (cfg.display.web) {
      web = await createWebDisplay({
        host: cfg.display.web.host,
        port: cfg.display.web.port,
        logger: log,
        ...(sim ? { sim } : {}),
        ...(o.screenPortSetting ? { portSetting: o.screenPortSetting } : {}),
      });
      const opened = web;
      closers.push(() => opened.close());
      displays.push(web);
      log.info({ url: web.url }, 'kiosk screen');
    }

    // The uplink last: a screen port that is taken stops the start before this kiosk logs in to the
    // broker (where it would take over the session of a kiosk already running with the same id).
    const tls = kioskTls(cfg);
    const uplink = MqttUplink.open({
      url: cfg.mqtt.url,
      kioskId: cfg.kioskId,
      username: cfg.mqtt.username ?? cfg.kioskId,
      password: kioskPassword(cfg),
      requestTimeoutMs: cfg.timing.requestTimeoutMs,
      logger: log,
      clock: bootClock,
      ...(tls ? { tls } : {}),
      will: { topic: topics.kioskStatus(cfg.kioskId), payload: JSON.stringify(lastWill(cfg.firmware)), retain: true },
      subscriptions: [topics.kioskCommands(cfg.kioskId), topics.revocations, topics.catalog],
      ...(link ? { link } : {}),
    });
    closers.push(() => uplink.close());

    const rtc = rtcSetSystemClock(cfg.offline.clock.rtc);
    log.info(
      { rtc, setting: cfg.offline.clock.rtc },
      rtc ? 'system clock set by a battery-backed RTC at boot' : 'no RTC set the system clock at boot',
    );
    const bootPrefix = randomBytes(8).toString('hex');
    let n = 0;
    kiosk = new Kiosk({
      config: cfg,
      clock: bootClock,
      monotonicEpoch: readBootId(),
      rtc,
      uplink,
      outbox,
      state,
      ed: nodeEd25519,
      hardware: { scanner: hardware.scanner, gpio: hardware.gpio, displays, simulated: hardware.simulated },
      newId: () => `${bootPrefix}${(++n).toString(36)}`,
      timers: systemTimers,
      log,
    });
    kiosk.start();
    const running = kiosk;
    let stopped = false;
    closers.push(async () => {
      stopped = true;
      await running.stop();
    });
    const service = o.service;
    // Up: hardware open, screen serving; the uplink connects in the background (not waited for).
    // Healthy: not stopping, and the kiosk still reads its stores, clock and checkout (status()).
    await service?.ready(() => {
      if (stopped) return false;
      try {
        running.status();
        return true;
      } catch (e) {
        log.error({ err: (e as Error).message }, 'kiosk status failed');
        return false;
      }
    });
    const close = async () => {
      await service?.stopping();
      await closeAll();
    };
    return { kiosk: running, uplink, webUrl: web?.url, sim, close };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
