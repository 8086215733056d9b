// SPDX-License-Identifier: Apache-2.0
// The technician console against the real broker and server (bin/system.ts: startBroker on port 0
// with technician and kiosk identities), with a small fake kiosk written here from the shared
// schemas: it publishes a retained status, answers commands with acks, sends progress while
// forwarding and refuses what it cannot do. Kiosk k2 is offline (its last will). Also checks that
// the server's audit log recorded the commands and their acks.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSystem } from '../bin/system.ts';
import { kioskCommand, type CommandReply, type KioskCommand, type StoredPayment } from '../shared/kiosk-commands.ts';
import { applyPolicyChange, DEFAULT_KIOSK_POLICY, type KioskPolicy } from '../shared/kiosk-policy.ts';
import { lastWill, type KioskEventMessage, type OnlineStatus } from '../shared/kiosk-telemetry.ts';
import { topics } from '../shared/topics.ts';
import { consoleCommand } from '../console/main.ts';
import { Capture, runConsole as runConsoleAs, type ConsoleRunOptions } from './console-kit.ts';
import { connectAs, startTestSystem, type TestSystem } from './system-kit.ts';
import { eventually } from '../shared/testing/wait.ts';

let system: TestSystem;
let kiosk: FakeKiosk;

/** Kiosk k1 as far as the console can tell: retained status, command answers, events. */
class FakeKiosk {
  policy: KioskPolicy = DEFAULT_KIOSK_POLICY;
  readonly received: KioskCommand[] = [];
  /** While set, commands are kept in `ignored` and never answered (a kiosk online but busy or hung). */
  mute = false;
  readonly ignored: KioskCommand[] = [];
  readonly stored: StoredPayment[] = [
    { txId: 'tx-1', amount: { value: 450, currency: 'JPY' }, capturedAt: Date.now() - 60_000, state: 'stored' },
    {
      txId: 'tx-2',
      amount: { value: 300, currency: 'JPY' },
      capturedAt: Date.now() - 30_000,
      state: 'declined',
      reason: 'CREDENTIAL_REVOKED',
    },
  ];
  seq = 0;
  constructor(
    readonly id: string,
    readonly client: MqttClient,
  ) {}

  static async start(s: RunningSystem, id: string): Promise<FakeKiosk> {
    const login = s.kiosks.find((k) => k.kioskId === id)!;
    const client = await connectAs(login, 'fake', {
      will: { topic: topics.kioskStatus(id), payload: Buffer.from(JSON.stringify(lastWill('fake/1'))), qos: 1, retain: true },
    });
    const k = new FakeKiosk(id, client);
    client.on('message', (_t, p) => void k.onCommand(p));
    expect((await client.subscribeAsync(topics.kioskCommands(id), { qos: 1 }))[0]!.qos).toBe(1);
    await k.publishStatus();
    return k;
  }

  status(): OnlineStatus {
    const now = Date.now();
    return {
      v: 1,
      type: 'status',
      state: 'online',
      at: now,
      seq: this.seq++,
      firmware: 'fake/1',
      mode: 'vending',
      checkout: 'idle',
      policy: this.policy,
      currency: 'JPY',
      queue: { count: 1, amount: { value: 450, currency: 'JPY' }, oldestCapturedAt: now - 60_000, declined: 1, forwarding: null },
      clock: { trusted: true, offsetMs: -3, uncertaintyMs: 5, lastSyncAt: now - 1000 },
      health: { scanner: 'ok', gpio: 'ok', display: 'ok' },
      faults: [],
      catalogVersion: 1,
      heartbeatMs: 3_600_000,
    };
  }

  async publishStatus(): Promise<void> {
    await this.client.publishAsync(topics.kioskStatus(this.id), JSON.stringify(this.status()), { qos: 1, retain: true });
  }

  async event(e: KioskEventMessage): Promise<void> {
    await this.client.publishAsync(topics.kioskEvents(this.id), JSON.stringify(e), { qos: 1 });
  }

  async reply(r: CommandReply): Promise<void> {
    await this.client.publishAsync(topics.kioskAcks(this.id), JSON.stringify(r), { qos: 1 });
  }

  async onCommand(payload: Buffer): Promise<void> {
    const cmd = kioskCommand.parse(JSON.parse(payload.toString()));
    if (this.mute) {
      this.ignored.push(cmd);
      return;
    }
    this.received.push(cmd);
    const ok = (result: Record<string, unknown>) => this.reply({ v: 1, type: 'ack', re: cmd.id, ok: true, result });
    switch (cmd.name) {
      case 'status':
        return ok(this.status());
      case 'forward':
        for (let done = 200; done <= 800; done += 200) await this.reply({ v: 1, type: 'progress', re: cmd.id, done, total: 800 });
        return ok({ end: 'done', settled: 799, declined: 1, remaining: 0 });
      case 'set-policy':
        this.policy = applyPolicyChange(this.policy, cmd.policy);
        await this.publishStatus();
        return ok({ policy: this.policy });
      case 'list-stored':
        return ok({ items: this.stored });
      case 'display-message':
        return ok({ shown: cmd.seconds > 0, seconds: cmd.seconds });
      case 'reload-catalog':
        return ok({ version: 1 });
      case 'test':
        if (cmd.target === 'relay')
          return this.reply({
            v: 1,
            type: 'ack',
            re: cmd.id,
            ok: false,
            error: { code: 'COMMAND_UNSUPPORTED', message: 'this kiosk has no relay' },
          });
        return ok({ target: cmd.target });
    }
  }
}

/** Runs `kioskpay console ...argv` in-process as the technician; returns exit code and output. */
const runConsole = (argv: string[], o: ConsoleRunOptions = {}) => runConsoleAs(system.technicianLogin, argv, o);

beforeAll(async () => {
  system = await startTestSystem('console', ['k1', 'k2']);
  kiosk = await FakeKiosk.start(system, 'k1');
  // k2 comes online and vanishes: the broker publishes its retained last will.
  const k2 = await FakeKiosk.start(system, 'k2');
  k2.client.stream.destroy();
  k2.client.end(true);
  const probe = await connectAs(system.technicianLogin, 'probe');
  const offline = new Promise<void>((resolve) =>
    probe.on('message', (_t, p) => {
      if (JSON.parse(p.toString()).state === 'offline') resolve();
    }),
  );
  await probe.subscribeAsync(topics.kioskStatus('k2'), { qos: 1 });
  await offline;
  await probe.endAsync();
});

afterAll(async () => {
  await kiosk?.client.endAsync();
  await system?.close();
});

describe('kioskpay console, one-shot', () => {
  it('list shows live state from retained status, as text and as JSON', async () => {
    const text = await runConsole(['list']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^KIOSK\s+STATE\s+MODE\s+POLICY\s+QUEUE\s+AMOUNT\s+CLOCK\s+LAST SYNC\s+FAULTS/);
    expect(text.out).toMatch(/\nk1\s+online\s+vending\s+prefer-online\s+1\s+¥450\s+trusted\s+\d\d:\d\d [+-]\d\d:\d\d\s+-/);
    expect(text.out).toMatch(/\nk2\s+offline\s+-/);
    const json = await runConsole(['list', '--json']);
    const lines = json.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as { kiosks: Array<{ kioskId: string; state: string }> };
    expect(parsed.kiosks.map((k) => [k.kioskId, k.state])).toEqual([
      ['k1', 'online'],
      ['k2', 'offline'],
    ]);
  });

  it('status asks the kiosk and prints its answer (text and JSON)', async () => {
    const text = await runConsole(['status', 'k1']);
    expect(text.code).toBe(0);
    expect(text.out).toContain('k1: online, vending, checkout idle, firmware fake/1');
    expect(text.out).toContain('queue     1 stored, ¥450');
    expect(text.out).toContain('clock     trusted, offset -3 ms ±5 ms');
    const json = await runConsole(['--json', 'status', 'k1']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.out) as { kioskId: string; command: string; outcome: string; status: OnlineStatus };
    expect(r).toMatchObject({ kioskId: 'k1', command: 'status', outcome: 'acknowledged' });
    expect(r.status.queue.count).toBe(1);
    const sent = kiosk.received.at(-1)!;
    expect(sent.by).toBe(system.technicianLogin.username);
    expect(sent.expiresAt - Date.now()).toBeGreaterThan(50_000);
  });

  it('forward draws a progress bar on a TTY and reports the result', async () => {
    const r = await runConsole(['forward', 'k1'], { isTTY: true });
    expect(r.code).toBe(0);
    expect(r.out).toContain('\rk1 forward [###############...............] 400/800  50%');
    expect(r.out).toContain('800/800 100%\n');
    expect(r.out).toContain('k1 acknowledged: forwarding ended (done): 799 settled, 1 declined, 0 remaining');
    const piped = await runConsole(['forward', 'k1', '--json']);
    expect(piped.out).not.toContain('[#');
    expect(JSON.parse(piped.out)).toMatchObject({ outcome: 'acknowledged', result: { settled: 799 } });
  });

  it('policy sets the mode and caps, and shows the policy when given no option', async () => {
    const r = await runConsole(['policy', 'k1', '--mode', 'force-offline', '--stored-count-max', '100', '--offline-duration-max-h', '12']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('k1 acknowledged: policy is now force-offline; at most 100 stored payments, 200000 minor units, 12 h offline\n');
    expect(kiosk.policy).toEqual({
      ...DEFAULT_KIOSK_POLICY,
      mode: 'force-offline',
      caps: { storedCountMax: 100, storedAmountMax: 200_000, offlineDurationMaxMs: 12 * 3_600_000 },
    });
    const shown = await runConsole(['policy', 'k1']);
    expect(shown.out).toContain('k1 policy: force-offline; at most 100 stored payments');
  });

  it('stored, message, test and reload-catalog', async () => {
    const stored = await runConsole(['stored', 'k1']);
    expect(stored.out).toMatch(
      /TX\s+AMOUNT\s+CAPTURED\s+STATE\s+REASON\ntx-1\s+¥450\s+\d\d:\d\d [+-]\d\d:\d\d\s+stored\s*\ntx-2\s+¥300\s+\d\d:\d\d [+-]\d\d:\d\d\s+declined\s+CREDENTIAL_REVOKED/,
    );
    const msg = await runConsole(['message', 'k1', 'Out of order, sorry', '--seconds', '60']);
    expect(msg.out).toBe('k1 acknowledged: message shown for 60 s\n');
    expect(kiosk.received.at(-1)).toMatchObject({ name: 'display-message', text: 'Out of order, sorry', seconds: 60 });
    expect((await runConsole(['test', 'k1', 'led'])).out).toBe('k1 acknowledged: led test done\n');
    expect((await runConsole(['reload-catalog', 'k1'])).out).toBe('k1 acknowledged: catalog reloaded (version 1)\n');
  });

  it('a refusal exits 1 and says why, and what shows more', async () => {
    const r = await runConsole(['test', 'k1', 'relay']);
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      'k1 refused: COMMAND_UNSUPPORTED (this kiosk has no relay); kioskpay console status k1 shows which hardware it has\n',
    );
    const json = await runConsole(['test', 'k1', 'relay', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ outcome: 'refused', error: { code: 'COMMAND_UNSUPPORTED' } });
  });

  it('an offline kiosk exits 3 at once from its retained status, sends nothing, and says how to see it return', async () => {
    // The longest --timeout there is: the answer must not wait for any of it (the test's own timeout
    // would end it first). The audit-log test below checks that no command reached the broker for k2.
    const r = await runConsole(['status', 'k2', '--timeout', '600']);
    expect(r.code).toBe(3);
    expect(r.err).toBe('');
    expect(r.out).toBe(
      'not sent to k2: it is offline; it takes commands only while connected: kioskpay console list shows when it is back\n',
    );
    for (const argv of [
      ['forward', 'k2'],
      ['stored', 'k2'],
      ['policy', 'k2', '--mode', 'force-offline'],
      ['message', 'k2', 'hi'],
      ['test', 'k2', 'led'],
      ['reload-catalog', 'k2'],
    ]) {
      const o = await runConsole([...argv, '--timeout', '600']);
      expect(o.code, argv.join(' ')).toBe(3);
      expect(o.out, argv.join(' ')).toMatch(/^not sent to k2: it is offline; /);
    }
    const json = await runConsole(['forward', 'k2', '--timeout', '600', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toEqual({
      kioskId: 'k2',
      command: 'forward',
      id: null,
      outcome: 'offline',
      offlineSince: null,
      message: 'not sent to k2: it is offline; it takes commands only while connected: kioskpay console list shows when it is back',
    });
  });

  it('an online kiosk that does not answer exits 3 after --timeout, with how to wait longer', async () => {
    kiosk.mute = true;
    try {
      const r = await runConsole(['reload-catalog', 'k1', '--timeout', '0.3']);
      expect(r.code).toBe(3);
      expect(r.out).toMatch(
        /^no answer from k1 in 0\.3 s \(it was online at \d\d:\d\d [+-]\d\d:\d\d\); give it longer with --timeout S, or see what it is doing with kioskpay console watch k1\n$/,
      );
      const json = await runConsole(['forward', 'k1', '--timeout', '0.2', '--json']);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.out)).toMatchObject({ kioskId: 'k1', command: 'forward', outcome: 'timeout', timeoutMs: 200 });
    } finally {
      kiosk.mute = false;
    }
  });

  it('an unknown kiosk exits 2 at once with the nearest known ids, sending nothing', async () => {
    const before = kiosk.received.length;
    // The longest --timeout there is: the answer must not wait for any of it.
    const r = await runConsole(['status', 'k9', '--timeout', '600']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe('kioskpay console: unknown kiosk k9; did you mean k1 or k2? (kioskpay console list shows every kiosk)\n');
    for (const argv of [
      ['forward', 'k3'],
      ['policy', 'kk1', '--mode', 'force-offline'],
      ['policy', 'k3'],
      ['test', 'k-1', 'led'],
      ['message', 'k9', 'hello'],
      ['watch', 'k9'],
      ['stored', 'k12'],
    ]) {
      const u = await runConsole([...argv, '--timeout', '600']);
      expect(u.code, argv.join(' ')).toBe(2);
      expect(u.err, argv.join(' ')).toMatch(
        /^kioskpay console: unknown kiosk \S+; did you mean k1( or k2)?\? \(kioskpay console list shows every kiosk\)\n$/,
      );
    }
    const far = await runConsole(['status', 'lobby-entrance']);
    expect(far.err).toBe('kioskpay console: unknown kiosk lobby-entrance; the kiosks are k1, k2 (kioskpay console list shows them all)\n');
    const json = await runConsole(['forward', 'k9', '--timeout', '600', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual({
      kioskId: 'k9',
      outcome: 'unknown-kiosk',
      suggestions: ['k1', 'k2'],
      message: 'unknown kiosk k9; did you mean k1 or k2? (kioskpay console list shows every kiosk)',
    });
    expect(kiosk.received.length).toBe(before);
  });

  it('usage errors exit 2 before connecting; an unreachable broker exits 3', async () => {
    for (const argv of [
      ['policy', 'k1', '--mode', 'sideways'],
      ['test', 'k1', 'smoke'],
      ['status'],
      ['status', 'K1!'],
      ['frobnicate'],
      ['list', '--timeout', 'soon'],
      ['policy', 'k1', '--stored-count-max', '0'],
    ]) {
      const r = await runConsole(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/^kioskpay console: /);
    }
    // Each names what fixes it.
    expect((await runConsole(['stauts', 'k1'])).err).toContain('unknown command "stauts"; did you mean status? "help" lists the commands');
    expect((await runConsole(['status', 'K1'])).err).toContain(
      '"K1" is not a kiosk id (1-32 of a-z, 0-9 and -); did you mean k1? ("list" shows the kiosks)',
    );
    expect((await runConsole(['policy', 'k1', '--mode', 'sideways'])).err).toContain(
      '--mode must be one of prefer-online, require-online, force-offline',
    );
    const stdout = new Capture();
    const stderr = new Capture();
    const down = await consoleCommand(['list'], {
      env: { KIOSKPAY_MQTT_URL: 'mqtt://127.0.0.1:1', KIOSKPAY_MQTT_USERNAME: 'x' },
      stdout,
      stderr,
    });
    expect(down).toBe(3);
    expect(stderr.text).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:1: .*; is the broker running there\? check --url/);
    const t = system.technicianLogin;
    const wrong = new Capture();
    expect(
      await consoleCommand(['list'], {
        env: { KIOSKPAY_MQTT_URL: t.url, KIOSKPAY_MQTT_USERNAME: t.username, KIOSKPAY_MQTT_PASSWORD: 'wrong' },
        stdout,
        stderr: wrong,
      }),
    ).toBe(3);
    expect(wrong.text).toMatch(/refused the login of technician .*; check --username and --password, or the --login file/);
    const noLogin = new Capture();
    expect(await consoleCommand(['list'], { env: {}, stdout, stderr: noLogin })).toBe(2);
    expect(noLogin.text).toContain('no broker url: give --url or KIOSKPAY_MQTT_URL');
  });

  it('takes the login from a --login file', async () => {
    const file = join(system.dir, 'login.json');
    writeFileSync(file, JSON.stringify(system.technicianLogin));
    const stdout = new Capture();
    const code = await consoleCommand(['list', '--json', '--login', file], { env: {}, stdout, stderr: new Capture() });
    expect(code).toBe(0);
    expect(JSON.parse(stdout.text).kiosks).toHaveLength(2);
  });

  it('watch prints events live until --count', async () => {
    const events = setInterval(
      () => void kiosk.event({ v: 1, type: 'event', at: Date.now(), kind: 'fault', fault: 'scanner', raised: true }),
      50,
    );
    try {
      const r = await runConsole(['watch', 'k1', '--count', '2', '--json']);
      expect(r.code).toBe(0);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kioskId: string; event: KioskEventMessage });
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ kioskId: 'k1', event: { kind: 'fault', fault: 'scanner', raised: true } });
    } finally {
      clearInterval(events);
    }
  });

  it('the server audit log holds every command and its ack', async () => {
    const path = join(system.dir, 'server', 'audit.log');
    const sentIds = kiosk.received.map((c) => c.id);
    const read = () =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const records = await eventually(
      () => {
        const all = read();
        return sentIds.every((id) => all.some((r) => r['kind'] === 'ack' && r['re'] === id)) && all;
      },
      { what: 'an ack in the audit log for every command sent' },
    );
    for (const id of sentIds) {
      expect(
        records.filter((r) => r['kind'] === 'command' && r['id'] === id),
        id,
      ).toHaveLength(1);
      expect(
        records.filter((r) => r['kind'] === 'ack' && r['re'] === id),
        id,
      ).toHaveLength(1);
    }
    const policy = records.find((r) => r['kind'] === 'command' && r['name'] === 'set-policy')!;
    expect(policy).toMatchObject({ kioskId: 'k1', by: system.technicianLogin.username, args: { policy: { mode: 'force-offline' } } });
    const refused = records.find((r) => r['kind'] === 'ack' && r['ok'] === false)!;
    expect(refused).toMatchObject({ name: 'test', error: { code: 'COMMAND_UNSUPPORTED' } });
    // The commands k1 ignored were sent and recorded, with no ack. The offline k2 and unknown kiosks
    // got none (the later k1 acks waited for above were published after them).
    for (const c of kiosk.ignored) {
      expect(records.filter((r) => r['kind'] === 'command' && r['id'] === c.id)).toHaveLength(1);
      expect(records.filter((r) => r['kind'] === 'ack' && r['re'] === c.id)).toEqual([]);
    }
    expect(kiosk.ignored.length).toBe(2);
    expect(records.filter((r) => r['kioskId'] !== 'k1')).toEqual([]);
  });
});

describe('kioskpay console, interactive', () => {
  it('runs lines from stdin, keeps them in the history file, and quits', async () => {
    const history = join(system.dir, 'history');
    writeFileSync(history, 'list\n');
    const stdin = new PassThrough();
    const run = runConsole(['--history', history], { stdin });
    stdin.write('help test\n');
    stdin.write('message k1 "Back in 5 minutes" --seconds 300\n');
    stdin.write('quit\n');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.out).toContain('test KIOSK led|buzzer|relay');
    expect(r.out).toContain('k1 acknowledged: message shown for 300 s');
    expect(kiosk.received.at(-1)).toMatchObject({ name: 'display-message', text: 'Back in 5 minutes' });
    expect(readFileSync(history, 'utf8')).toBe('list\nhelp test\nmessage k1 "Back in 5 minutes" --seconds 300\nquit\n');
  });

  it('says what is wrong with a bad line and carries on', async () => {
    const stdin = new PassThrough();
    const run = runConsole(['--history', join(system.dir, 'history2')], { stdin });
    stdin.end('policy k1 --mode sideways\nmessage k1 "unclosed\nstatus k9\nstatus k2\nlist\n');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.out).toContain('--mode must be one of prefer-online, require-online, force-offline');
    expect(r.out).toContain('unknown kiosk k9; did you mean k1 or k2? (list shows every kiosk)\n');
    expect(r.out).toContain('not sent to k2: it is offline; it takes commands only while connected: list shows when it is back\n');
    expect(r.out).toContain('unclosed " quote');
    expect(r.out).toMatch(/\nk1\s+online/);
  });
});
