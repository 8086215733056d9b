// SPDX-License-Identifier: Apache-2.0
// `alerts [--follow] [--count N]`: prints the server's newest alerts from the retained
// kp/v1/server/alerts list; with --follow, then each new alert as the server publishes it, until
// Ctrl-C, a lost connection or N new alerts. --json: the list as one object, then one object per
// new alert. Exit 3 when no list came within --timeout (the server is not running, or not on
// this broker) and the command does not follow.
import type { PublishedServerAlert } from '../shared/alert-messages.ts';
import { AlertView } from './alert-view.ts';
import { formatAlertLine, formatAlerts } from './alert-format.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { formatSeconds } from './format.ts';
import type { ConsoleSession } from './run-action.ts';

export async function runAlerts(follow: boolean, count: number | null, s: ConsoleSession, signal?: AbortSignal): Promise<ExitCode> {
  const view = new AlertView(s.client);
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const print = (a: PublishedServerAlert) => {
    if (s.json) s.out.write(JSON.stringify({ alert: a }) + '\n');
    else s.out.write(formatAlertLine(a, s.clock.nowMs()) + '\n');
    seen += 1;
    if (count !== null && seen >= count) finish();
  };
  let lost = false;
  const onClose = () => {
    lost = true;
    s.err.write(`connection to the broker lost; run ${s.cmd(follow ? 'alerts --follow' : 'alerts')} again once it is back\n`);
    finish();
  };
  try {
    let list;
    try {
      list = await view.start(s.timeoutMs);
    } catch (e) {
      s.err.write(`${(e as Error).message}\n`);
      return EXIT.NO_ANSWER;
    }
    if (list === undefined) {
      s.err.write(
        `no alert list from the server in ${formatSeconds(s.timeoutMs)}: is the payment server (kioskpay server, or kioskpay up) running and connected to this broker? (--url names the broker; --timeout S waits longer)\n`,
      );
      if (!follow) return EXIT.NO_ANSWER;
    } else if (s.json) {
      s.out.write(JSON.stringify({ at: list.at, alerts: list.alerts }) + '\n');
    } else {
      s.out.write(formatAlerts(list.alerts, s.clock.nowMs()) + '\n');
    }
    if (!follow) return EXIT.OK;
    view.follow(print); // new alerts that came while the list was printed come first
    if (!s.json && s.isTTY) s.err.write("following the server's alerts; Ctrl-C stops\n");
    if (signal?.aborted) return EXIT.OK;
    signal?.addEventListener('abort', () => finish(), { once: true });
    s.client.on('close', onClose);
    await done;
    return lost ? EXIT.NO_ANSWER : EXIT.OK;
  } finally {
    s.client.off('close', onClose);
    await view.stop();
  }
}
