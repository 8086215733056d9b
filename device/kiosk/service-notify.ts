// SPDX-License-Identifier: Apache-2.0
// Tells systemd how the kiosk is doing (deploy/pi/kioskpay-kiosk.service, Type=notify): READY=1
// once the kiosk is up (hardware open, screen serving; never waiting for the network), WATCHDOG=1
// every half watchdog interval from the kiosk's own event loop while it is healthy, STOPPING=1 when
// it shuts down. Node cannot send to systemd's AF_UNIX datagram socket itself, so each state goes
// through the `systemd-notify` tool, which waits (BARRIER=1) until systemd has read the message,
// so systemd still finds the sender in the unit when it reads it (the unit has NotifyAccess=all).
// Without NOTIFY_SOCKET (not under systemd) nothing is sent. docs/decisions.md has the reasoning.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import type { TimerHandle, Timers } from '../timers.ts';

/** Sends one notification state (e.g. 'READY=1'); resolves once the service manager has read it. */
export type NotifySend = (state: string) => Promise<void>;

/** The `systemd-notify` tool as a NotifySend, bounded by `timeoutMs` (its own barrier wait is 5 s). */
export function systemdNotifyTool(o: { socket: string; timeoutMs: number; command?: string }): NotifySend {
  return (state) =>
    new Promise<void>((resolve, reject) => {
      execFile(
        o.command ?? 'systemd-notify',
        [state],
        { env: { ...process.env, NOTIFY_SOCKET: o.socket }, timeout: o.timeoutMs, killSignal: 'SIGKILL' },
        (err, _out, stderr) => {
          if (err) reject(new Error(`systemd-notify ${state} failed: ${stderr.trim() || err.message}`));
          else resolve();
        },
      );
    });
}

export interface ServiceNotifierOptions {
  send: NotifySend;
  timers: Timers;
  /** The watchdog interval (WATCHDOG_USEC) when systemd watches this process; undefined: no watchdog. */
  watchdogMs: number | undefined;
  log: Logger;
}

export class ServiceNotifier {
  readonly #o: ServiceNotifierOptions;
  #healthy: () => boolean = () => false;
  #timer: TimerHandle | undefined;
  #inFlight = false;
  #stopped = false;

  constructor(o: ServiceNotifierOptions) {
    this.#o = o;
  }

  /**
   * From systemd's environment: undefined without NOTIFY_SOCKET. The watchdog is ours only when
   * WATCHDOG_USEC is set and WATCHDOG_PID is unset or this process.
   */
  static fromEnv(env: NodeJS.ProcessEnv, o: { timers: Timers; log: Logger; pid?: number; send?: NotifySend }): ServiceNotifier | undefined {
    const socket = env['NOTIFY_SOCKET'];
    if (!socket) return undefined;
    const usec = Number(env['WATCHDOG_USEC']);
    const forUs = env['WATCHDOG_PID'] === undefined || Number(env['WATCHDOG_PID']) === (o.pid ?? process.pid);
    const watchdogMs = Number.isSafeInteger(usec) && usec > 0 && forUs ? Math.max(1, Math.floor(usec / 1000)) : undefined;
    const send = o.send ?? systemdNotifyTool({ socket, timeoutMs: Math.max(1000, Math.min(10_000, (watchdogMs ?? 20_000) / 2)) });
    return new ServiceNotifier({ send, timers: o.timers, watchdogMs, log: o.log.child({ component: 'systemd' }) });
  }

  get watchdogMs(): number | undefined {
    return this.#o.watchdogMs;
  }

  /** READY=1, then WATCHDOG=1 every half interval while `healthy()` says the kiosk's main loop is sound. */
  async ready(healthy: () => boolean): Promise<void> {
    this.#healthy = healthy;
    await this.#send('READY=1');
    if (this.#o.watchdogMs !== undefined && !this.#stopped) this.#schedule();
  }

  /** Stops the watchdog pings and sends STOPPING=1. */
  async stopping(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#send('STOPPING=1');
  }

  #schedule(): void {
    this.#timer = this.#o.timers.setTimeout(() => this.#tick(), Math.max(1, Math.floor(this.#o.watchdogMs! / 2)));
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#schedule();
    if (!this.#healthy()) {
      this.#o.log.error('kiosk not healthy: watchdog ping withheld (systemd restarts the kiosk when the interval passes)');
      return;
    }
    // A ping still on its way (a hung helper) is not doubled; if it never arrives, systemd acts.
    if (this.#inFlight) return;
    this.#inFlight = true;
    void this.#send('WATCHDOG=1').finally(() => {
      this.#inFlight = false;
    });
  }

  async #send(state: string): Promise<void> {
    try {
      await this.#o.send(state);
    } catch (e) {
      this.#o.log.warn({ err: (e as Error).message, state }, 'systemd notification not delivered');
    }
  }
}
