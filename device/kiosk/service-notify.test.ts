// SPDX-License-Identifier: Apache-2.0
// The kiosk's systemd notifications against a real AF_UNIX datagram socket (notify-listener.py):
// the real systemd-notify tool, run as an unprivileged user so it sends under its own PID, is still
// alive when a busy listener reads its message (it waits on BARRIER=1), where a sender that exits at
// once (socat) is gone: the race that makes systemd drop messages. Then the ServiceNotifier's
// READY=1, WATCHDOG=1 at half the interval while healthy (manual timers), and STOPPING=1.
import { spawn } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualTimers } from '../timers.ts';
import { ServiceNotifier, systemdNotifyTool } from './service-notify.ts';
import { hasTool, NotifyListener } from './testing/notify-listener.ts';

const silent = pino({ level: 'silent' });
const ready = hasTool('python3', ['-c', '']) && hasTool('systemd-notify', ['--version']);
const canDropPrivileges = process.getuid?.() === 0 && hasTool('setpriv', ['--version']) && hasTool('socat', ['-V']);
let listener: NotifyListener | undefined;
afterEach(() => {
  listener?.close();
  listener = undefined;
});

function exited(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'] });
  if (input !== undefined) p.stdin!.end(input);
  let done = false;
  const code = new Promise<number | null>((r) =>
    p.once('exit', (c) => {
      done = true;
      r(c);
    }),
  );
  return { code, done: () => done };
}

describe.skipIf(!ready)('systemd notifications on a real AF_UNIX datagram socket (skipped without python3 and systemd-notify)', () => {
  it.skipIf(!canDropPrivileges)(
    'systemd-notify stays alive until its message is read; a sender that exits at once does not (needs root to drop to nobody, and socat)',
    async () => {
      listener = await NotifyListener.start('gated');
      const l = listener;
      const tool = exited('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'systemd-notify', 'READY=1'], {
        NOTIFY_SOCKET: l.socket,
      });
      await l.waitFor((x) => x.arrived === 'READY=1', 'READY=1 to arrive');
      expect(tool.done()).toBe(false);
      l.go();
      expect(await l.waitFor((x) => x.state === 'READY=1', 'READY=1 to be read')).toMatchObject({ alive: true });
      await l.waitFor((x) => x.arrived === 'BARRIER=1', 'the barrier');
      expect(tool.done()).toBe(false); // still waiting for the barrier's descriptor to be closed
      l.go();
      expect(await l.waitFor((x) => x.state === 'BARRIER=1', 'the barrier to be read')).toMatchObject({ fds: 1 });
      expect(await tool.code).toBe(0);

      // The unkind case the fake must catch: socat sends and exits before the listener reads.
      const naive = exited('socat', ['-', `UNIX-SENDTO:${l.socket}`], {}, 'WATCHDOG=1');
      await l.waitFor((x) => x.arrived === 'WATCHDOG=1', 'the socat datagram to arrive');
      await naive.code;
      l.go();
      expect(await l.waitFor((x) => x.state === 'WATCHDOG=1', 'the socat datagram to be read')).toMatchObject({ alive: false });
    },
  );

  it('ServiceNotifier sends READY=1, WATCHDOG=1 every half interval while healthy, and STOPPING=1', async () => {
    listener = await NotifyListener.start('auto');
    const l = listener;
    const timers = new ManualTimers();
    const notifier = ServiceNotifier.fromEnv(
      { NOTIFY_SOCKET: l.socket, WATCHDOG_USEC: '10000000', WATCHDOG_PID: '4242' },
      { timers, log: silent, pid: 4242 },
    )!;
    expect(notifier.watchdogMs).toBe(10_000);
    let healthy = true;
    await notifier.ready(() => healthy);
    await l.waitFor((x) => x.state === 'BARRIER=1', 'the barrier after READY=1');
    expect(l.lines.filter((x) => x.state !== undefined).map((x) => x.state)).toEqual(['READY=1', 'BARRIER=1']);

    timers.advance(4_999);
    timers.advance(1);
    await l.waitFor((x) => x.state === 'WATCHDOG=1', 'the first watchdog ping');
    const pings = () => l.lines.filter((x) => x.state === 'WATCHDOG=1').length;
    healthy = false;
    timers.advance(5_000); // withheld: not healthy
    healthy = true;
    await notifier.stopping();
    timers.advance(20_000); // stopped: no more pings
    await l.waitFor((x) => x.state === 'STOPPING=1', 'STOPPING=1');
    expect(pings()).toBe(1);
    expect(l.lines.filter((x) => x.state !== undefined && x.state !== 'BARRIER=1').map((x) => x.state)).toEqual([
      'READY=1',
      'WATCHDOG=1',
      'STOPPING=1',
    ]);
  });
});

describe('ServiceNotifier.fromEnv', () => {
  it('is undefined without NOTIFY_SOCKET, so nothing is sent outside systemd', () => {
    expect(ServiceNotifier.fromEnv({ WATCHDOG_USEC: '1000000' }, { timers: new ManualTimers(), log: silent })).toBeUndefined();
  });

  it('has no watchdog when WATCHDOG_PID names another process', () => {
    const n = ServiceNotifier.fromEnv(
      { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '7' },
      { timers: new ManualTimers(), log: silent, pid: 8, send: async () => undefined },
    );
    expect(n?.watchdogMs).toBeUndefined();
  });

  it('does not stack pings behind a helper that hangs', async () => {
    const timers = new ManualTimers();
    const sent: string[] = [];
    const n = ServiceNotifier.fromEnv(
      { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '2000000' },
      {
        timers,
        log: silent,
        send: (s) => {
          sent.push(s);
          return s === 'WATCHDOG=1' ? new Promise(() => undefined) : Promise.resolve();
        },
      },
    )!;
    await n.ready(() => true);
    timers.advance(5_000);
    expect(sent).toEqual(['READY=1', 'WATCHDOG=1']);
  });

  it('reports a failing tool without throwing', async () => {
    const send = systemdNotifyTool({ socket: '/nonexistent/notify', timeoutMs: 5_000, command: 'false' });
    await expect(send('READY=1')).rejects.toThrow(/READY=1 failed/);
  });
});
