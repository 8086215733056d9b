// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk`: a kiosk on the command line, for demos, scripts and field tests. It speaks the
// real protocol over MQTT with the kiosk's own broker identity. (The full kiosk program with scanner,
// GPIO and display is `kioskpay kiosk run`, built on the same uplink.)
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { timeSample } from '../../shared/time-sync.ts';
import { isCurrency, money, formatMoney } from '../../shared/money.ts';
import { ERRORS, isErrorCode } from '../../shared/errors.ts';
import { MqttUplink } from '../uplink/mqtt-uplink.ts';
import { kioskPassword, loadKioskConfig } from '../kiosk/config.ts';
import { payOnline, voidTx, type OnlineOutcome } from '../domain/online-payment.ts';
import { linesTotal, parseLineArgs } from './sale-line-arg.ts';

const CONNECTION_HELP = `Connection (a kiosk config written by 'kioskpay up' holds all of them):
  --config FILE      a kiosk config (its kioskId and mqtt url, username, password or
                     passwordFile), or JSON {"url","kioskId","username","password"}
  --url URL          broker URL
  --kiosk-id ID      this kiosk's id (also its broker user name)
  password: KIOSKPAY_KIOSK_PASSWORD, or the config file
  --timeout MS       answer timeout per request (default 5000)
  --json             machine-readable output
`;

const HELP =
  `Usage: kioskpay kiosk <run|doctor|pay|status|void|time> [options]

  [run] --config kiosk.json [--sim]                      run the kiosk (see kioskpay kiosk run --help)
  doctor --config kiosk.json [--sim] [--json]            check this machine before it sells (see kioskpay kiosk doctor --help)

  pay --code TEXT --amount N [--line SPEC]... [--currency JPY] [--tx ID]
                                                         pay with a scanned code (online)
  status --tx ID                                         what became of a transaction
  void --tx ID                                           cancel a transaction
  time                                                   measure the clock offset to the server

'kioskpay kiosk <subcommand> --help' shows a subcommand's help.

` + CONNECTION_HELP;

/** `kioskpay kiosk <sub> --help`: each subcommand's own help. */
const SUB_HELP: Record<string, string> = {
  pay: `Usage: kioskpay kiosk pay --code TEXT --amount N [--line SPEC]... [--currency JPY] [--tx ID] [connection]

Pays with a scanned or typed code, online, as the kiosk does: the server decides. TEXT is the code's
text as the wallet shows it: 20 digits (spaces or hyphens between the groups are fine, as in
'3162 8705 ...'), or an offline QR code's text. N is in minor units (yen, cents). --tx names the
transaction (default: a new id), so the same payment can be asked again or voided.

--line SPEC says what was sold, one product per --line, for the operator's sales by product and
slot. SPEC is gtin=GTIN13 and/or slot=N, qty=N (default 1), price=N (the unit price in minor
units), e.g. --line gtin=4901000000013,qty=2,price=150. With --line, --amount may be left out: it
is what the lines add up to (given, it must be equal). Without --line the sale is not itemised.

Exit status: 0 approved; 1 declined, refused or no answer (void it once the uplink is back); 2 wrong
usage.

${CONNECTION_HELP}`,
  status: `Usage: kioskpay kiosk status --tx ID [connection]

What became of a transaction this kiosk asked for: approved, declined (with the reason), voided.
Exit status: 0 answered; 1 refused; 2 wrong usage.

${CONNECTION_HELP}`,
  void: `Usage: kioskpay kiosk void --tx ID [connection]

Cancels a transaction: a payment whose answer never came, or one the shopper walked away from. A
voided transaction can never charge, even if its payment request arrives later.
Exit status: 0 voided, or it was declined (nothing charged); 1 refused or no answer; 2 wrong usage.

${CONNECTION_HELP}`,
  time: `Usage: kioskpay kiosk time [connection]

Measures this machine's clock offset to the server, and the round trip, as the kiosk syncs its clock.
Exit status: 0 measured; 1 refused or no answer; 2 wrong usage.

${CONNECTION_HELP}`,
};

interface Conn {
  url: string;
  kioskId: string;
  username: string;
  password: string;
}

export async function kioskCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'run') return (await import('./run.ts')).runCommand(argv.slice(1));
  const doctorAt = argv.indexOf('doctor');
  if (doctorAt >= 0 && argv.slice(0, doctorAt).every((a) => a.startsWith('-') && !['--config', '--timeout', '--root'].includes(a))) {
    return (await import('./doctor.ts')).doctorCommand(argv.filter((_a, i) => i !== doctorAt));
  }
  // `kioskpay kiosk --config kiosk.json [--sim]` with no subcommand runs the kiosk too.
  const sub0 = argv.find((a) => !a.startsWith('-') && ['pay', 'status', 'void', 'time'].includes(a));
  if (sub0 === undefined && argv.some((a) => a === '--config' || a.startsWith('--config=')))
    return (await import('./run.ts')).runCommand(argv);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        url: { type: 'string' },
        'kiosk-id': { type: 'string' },
        code: { type: 'string' },
        amount: { type: 'string' },
        currency: { type: 'string' },
        tx: { type: 'string' },
        timeout: { type: 'string' },
        line: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`kioskpay kiosk: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const sub = positionals[0];
  if (v.help) {
    if (sub === 'run') return (await import('./run.ts')).runCommand(['--help']);
    if (sub === 'doctor') return (await import('./doctor.ts')).doctorCommand(['--help']);
    process.stdout.write((sub !== undefined ? SUB_HELP[sub] : undefined) ?? HELP);
    return 0;
  }
  if (!sub) {
    process.stdout.write(HELP);
    return 2;
  }
  let file: Partial<Conn>;
  try {
    file = v.config ? connectionOf(v.config) : {};
  } catch (e) {
    process.stderr.write(`kioskpay kiosk ${sub}: ${(e as Error).message}\n`);
    return 2;
  }
  const conn: Conn = {
    url: v.url ?? file.url ?? 'mqtt://127.0.0.1:1884',
    kioskId: v['kiosk-id'] ?? file.kioskId ?? '',
    username: v['kiosk-id'] ?? file.username ?? file.kioskId ?? '',
    password: process.env['KIOSKPAY_KIOSK_PASSWORD'] ?? file.password ?? '',
  };
  if (!conn.kioskId) {
    process.stderr.write('kioskpay kiosk: --kiosk-id or --config is required\n');
    return 2;
  }
  const usage = (m: string) => {
    process.stderr.write(`kioskpay kiosk ${sub}: ${m}\n`);
    return 2;
  };
  if (!['pay', 'status', 'void', 'time'].includes(sub)) return usage('unknown subcommand');
  if (v.line && sub !== 'pay') return usage('--line is for pay only');
  if (sub === 'pay' && (!v.code || (!v.amount && !v.line))) return usage('--code and --amount (or --line) are required');
  if ((sub === 'status' || sub === 'void') && !v.tx) return usage('--tx is required');
  const currency = v.currency ?? 'JPY';
  if (!isCurrency(currency)) return usage(`unknown currency ${currency}`);
  const parsedLines = v.line ? parseLineArgs(v.line, currency) : undefined;
  if (parsedLines && !parsedLines.ok) return usage(parsedLines.message);
  const lines = parsedLines?.ok ? parsedLines.lines : undefined;
  const linesSum = lines ? linesTotal(lines) : undefined;
  if (lines && linesSum === undefined) return usage('the --line values add up to more than a payment may be');
  const amountValue = v.amount !== undefined ? Number(v.amount) : (linesSum ?? 0);
  if (sub === 'pay' && (!Number.isSafeInteger(amountValue) || amountValue < 1))
    return usage('--amount must be a positive integer of minor units');
  if (lines && linesSum !== amountValue) return usage(`the --line values add up to ${linesSum}, not --amount ${amountValue}`);

  const uplink = await MqttUplink.connect({ ...conn, requestTimeoutMs: Number(v.timeout ?? 5000) });
  try {
    const nextId = () => randomUUID();
    const print = (o: unknown, text: string) => process.stdout.write(v.json ? JSON.stringify(o) + '\n' : text + '\n');
    switch (sub) {
      case 'pay': {
        const txId = v.tx ?? `${conn.kioskId}-${Date.now()}-${randomUUID().slice(0, 8)}`;
        const out = await payOnline(uplink, { txId, code: v.code!.trim(), amount: money(amountValue, currency), lines }, { nextId });
        print({ txId, ...out }, describe(txId, out));
        return out.outcome === 'approved' ? 0 : 1;
      }
      case 'status': {
        const r = await uplink.request<'status'>({ v: 1, type: 'status', id: nextId(), txId: v.tx! });
        print(r, r.type === 'error' ? `error ${r.code}: ${r.message}` : `${v.tx}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
        return r.type === 'error' ? 1 : 0;
      }
      case 'void': {
        const out = await voidTx(uplink, v.tx!, nextId);
        print({ txId: v.tx, ...out }, describe(v.tx!, out));
        return out.outcome === 'voided' || out.outcome === 'declined' ? 0 : 1;
      }
      case 'time': {
        const t0 = Date.now();
        const r = await uplink.request<'time'>({ v: 1, type: 'time', id: nextId(), t0 });
        const t3 = Date.now();
        if (r.type === 'error') {
          print(r, `error ${r.code}`);
          return 1;
        }
        const s = timeSample(r.t0, r.t1, r.t2, t3);
        print(s, `offset ${s.offsetMs} ms, round trip ${s.roundTripMs} ms`);
        return 0;
      }
    }
    return 2;
  } finally {
    await uplink.close();
  }
}

/** The broker login in a kiosk config (`mqtt` section, password or passwordFile), or in a plain login file. */
function connectionOf(path: string): Partial<Conn> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read --config ${path}: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`--config ${path} is not a JSON object`);
  if (!('mqtt' in json)) return json as Partial<Conn>;
  const cfg = loadKioskConfig(path);
  return { url: cfg.mqtt.url, kioskId: cfg.kioskId, username: cfg.mqtt.username ?? cfg.kioskId, password: kioskPassword(cfg) };
}

function describe(txId: string, o: OnlineOutcome): string {
  switch (o.outcome) {
    case 'approved':
      return `APPROVED ${txId}: ${o.result.amount ? formatMoney(o.result.amount) : ''} (${o.result.kind ?? ''}, ${o.result.paymentId ?? ''})`;
    case 'declined':
    case 'voided': {
      const reason = o.result.reason;
      return `${o.outcome.toUpperCase()} ${txId}: ${reason ?? ''}${reason && isErrorCode(reason) ? ` - ${ERRORS[reason].shopper}` : ''}`;
    }
    case 'error':
      return `ERROR ${o.code}: ${o.message}`;
    case 'not-sent':
      return `NOT SENT ${txId}: the uplink is down; nothing was charged`;
    case 'indeterminate':
      return `NO ANSWER for ${txId}: void it when the uplink is back ('kioskpay kiosk void --tx ${txId}')`;
  }
}
