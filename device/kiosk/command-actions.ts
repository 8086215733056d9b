// SPDX-License-Identifier: Apache-2.0
// What each technician command does on the running kiosk; commands.ts checks each command before
// and acks it after. `test` exercises the GPIO outputs, `reload-catalog` asks the broker for the
// retained catalog again (broadcasts.ts), `set-policy` saves the policy before answering.
import type { Logger } from 'pino';
import { commandReply, type CommandReply, type StoredPayment } from '../../shared/kiosk-commands.ts';
import { applyPolicyChange, type KioskPolicy } from '../../shared/kiosk-policy.ts';
import type { OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import type { KioskGpio } from '../adapters/gpio/gpio.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { Uplink } from '../uplink/uplink.ts';
import type { KioskBroadcasts } from './broadcasts.ts';
import type { TimerPort } from './checkout-runner.ts';
import { CommandFailure, type CommandActions } from './commands.ts';
import type { KioskForwarder } from './kiosk-forwarder.ts';
import type { KioskStateWriter } from './state-writer.ts';

/** How long `test led` keeps every LED on, in ms. */
export const LED_TEST_MS = 1_000;
/** The longest relay pulse of `test relay`, in ms (and never more than the checkout's own limit). */
export const RELAY_TEST_PULSE_MS = 500;

export interface CommandHost {
  status(): OnlineStatus;
  forwarder: Pick<KioskForwarder, 'run'>;
  broadcasts: Pick<KioskBroadcasts, 'reload'>;
  state: KioskStateWriter;
  outbox: Pick<OutboxStore, 'list'>;
  gpio: KioskGpio | undefined;
  /** The checkout's longest relay pulse, in ms. */
  relayPulseMaxMs: number;
  timers: TimerPort;
  /** A saved policy is in force: the screen and telemetry follow. */
  policyChanged(next: KioskPolicy): void;
  message(text: string, seconds: number): void;
  /** What the offline and fault LEDs show outside a test. */
  lights(): { offline: boolean; fault: boolean };
}

export function commandActions(h: CommandHost): CommandActions {
  const gpio = () => {
    if (!h.gpio) throw new CommandFailure('COMMAND_UNSUPPORTED', 'this kiosk has no GPIO');
    return h.gpio;
  };
  return {
    status: () => h.status() as unknown as Record<string, unknown>,
    forward: async (progress) => {
      const r = await h.forwarder.run(progress);
      return { end: r.end, settled: r.settled.length, declined: r.declined.length, remaining: r.remaining };
    },
    setPolicy: async (change) => {
      let next: KioskPolicy;
      try {
        next = applyPolicyChange(h.state.state.policy, change);
      } catch (e) {
        throw new CommandFailure('COMMAND_MALFORMED', `policy not valid: ${(e as Error).message}`);
      }
      await h.state.update('policy', (s) => ({ ...s, policy: next }));
      h.policyChanged(next);
      return next;
    },
    displayMessage: (text, seconds) => h.message(text, seconds),
    test: async (target) => {
      const g = gpio();
      if (target === 'buzzer') g.beep('attention');
      else if (target === 'relay') await g.pulseRelay(Math.min(RELAY_TEST_PULSE_MS, h.relayPulseMaxMs));
      else {
        for (const led of ['ready', 'offline', 'fault'] as const) g.setLed(led, true);
        await new Promise<void>((resolve) => h.timers.setTimeout(resolve, LED_TEST_MS));
        const lights = h.lights();
        g.setLed('ready', true);
        g.setLed('offline', lights.offline);
        g.setLed('fault', lights.fault);
      }
    },
    reloadCatalog: () => h.broadcasts.reload(),
    listStored: (): StoredPayment[] => [
      ...h.outbox.list().map((e) => ({ txId: e.txId, amount: { ...e.amount }, capturedAt: e.capturedAt, state: 'stored' as const })),
      ...h.state.state.declined.map((r) => ({
        txId: r.txId,
        amount: { ...r.amount },
        capturedAt: r.capturedAt,
        state: 'declined' as const,
        reason: r.reason,
      })),
    ],
  };
}

/** Sends each command reply (progress and the final ack) on the kiosk's ack topic; one not sent is logged. */
export function ackPublisher(uplink: Pick<Uplink, 'publish'>, kioskId: string, log: Logger): (m: CommandReply) => void {
  return (m) => {
    const checked = commandReply.safeParse(m);
    if (!checked.success) log.error({ issue: checked.error.issues[0]?.message }, 'built an invalid command reply');
    uplink
      .publish(topics.kioskAcks(kioskId), JSON.stringify(m))
      .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'ack not sent'));
  };
}
