// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet code`: the code to show at the till (claim 1). Without --online/--offline it does
// what the app does: ask the server for a one-time code and, if none arrives within 3 s or the
// server cannot be reached, show an offline code instead.
import { ONLINE_TIMEOUT_MS_DEFAULT, ONLINE_TIMEOUT_MS_MAX, payCode, type PayCode, type PayCodeMode } from '../../core/pay-code.ts';
import {
  STATE_OPTION_HELP,
  UsageError,
  apiFor,
  isoTime,
  printJson,
  requireEnrolled,
  stringOption,
  type Command,
  type CommandContext,
} from '../command.ts';
import { housekeeping } from '../housekeeping.ts';
import { groupDigits, isDigitCode, terminalQr, writeCode128Png, writeQrPng } from '../render.ts';

export const codeCommand: Command = {
  name: 'code',
  summary: 'show a payment code (online, falling back to offline after 3 s)',
  help: `Usage: kioskpay wallet code [--online|--offline] [--numeric] [--max AMOUNT] [--png FILE]
                          [--barcode FILE] [--json] [--timeout MS] [--state FILE] [--server URL]

Shows a code for the kiosk to scan: the QR code drawn on the terminal (only when stdout is one; into
a pipe or a file the text alone), a caption and the code's text, which a kiosk's code field takes as
well. By default it asks the server for a one-time code and, when none arrives within --timeout
(3000 ms, as PayPay's app) or the server cannot be reached, shows an offline code made on this
machine from the offline credential and the synced clock. Every offline code uses
a new counter, saved before the code is shown. The result of an offline payment shows up later in
'kioskpay wallet history'.

Offline limits: every offline code shown counts toward the credential's rolling limits (count and
amount, 24 hours and 30 days) at once, at its --max amount or, without one, at the per-payment
limit, until history shows what it was charged. Past a limit no offline code is made.

Options:
  --online          only the online one-time code; fail if the server does not give one in time
  --offline         only an offline code; do not contact the server
  --numeric         the offline code in its 20-digit numeric form (for barcode scanners)
  --max AMOUNT      offline QR only: the most a kiosk may charge for it, in minor units (signed into
                    the code); it also counts only this much toward the offline amount limits
  --png FILE        also write the code as a QR code PNG
  --barcode FILE    also write a 20-digit code (online or --numeric) as a Code 128 PNG
  --json            print {kind, text, expiresAt?, counter?} instead of drawing the QR code
  --timeout MS      how long to wait for the online code, 1..${ONLINE_TIMEOUT_MS_MAX} (default ${ONLINE_TIMEOUT_MS_DEFAULT})
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one

Exit status: 0 a code was shown; 1 no code (the error code says why, e.g. OFFLINE_UNAVAILABLE);
2 wrong usage.
`,
  options: {
    online: { type: 'boolean' },
    offline: { type: 'boolean' },
    numeric: { type: 'boolean' },
    png: { type: 'string' },
    barcode: { type: 'string' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    max: { type: 'string' },
  },
  positionals: [0, 0],
  async run(ctx) {
    const { mode, timeoutMs, amountCap } = parseCodeOptions(ctx);
    const state = requireEnrolled(await ctx.store.load());
    const api = apiFor(ctx, state);
    const r = await payCode(
      state,
      {
        fetchOnlineCode: (opts) => api.onlineCode(opts),
        persist: (s) => ctx.store.save(s),
        clock: ctx.env.clock,
        ed: ctx.env.ed,
        timers: ctx.env.timers,
      },
      { mode, form: ctx.values.numeric ? 'numeric' : 'qr', onlineTimeoutMs: timeoutMs, ...(amountCap === undefined ? {} : { amountCap }) },
    );
    const code = r.code;
    if (code.kind !== 'online' && code.fallback !== undefined) {
      ctx.note(
        code.fallback === 'timeout'
          ? `no one-time code within ${timeoutMs} ms; showing an offline code`
          : `the server could not give a one-time code (${code.fallback}); showing an offline code`,
      );
    }
    await writeImages(ctx, code);
    await show(ctx, code);
    // The server just answered, so this is a good moment for the background work.
    if (code.kind === 'online') await housekeeping(ctx, r.state);
    return 0;
  },
};

function parseCodeOptions(ctx: CommandContext): { mode: PayCodeMode; timeoutMs: number; amountCap: number | undefined } {
  if (ctx.values.online && ctx.values.offline) throw new UsageError('--online and --offline exclude each other');
  const mode: PayCodeMode = ctx.values.online ? 'online' : ctx.values.offline ? 'offline' : 'auto';
  const t = stringOption(ctx.values, 'timeout');
  const timeoutMs = t === undefined ? ONLINE_TIMEOUT_MS_DEFAULT : Number(t);
  if (t !== undefined && (!/^\d+$/.test(t) || timeoutMs < 1 || timeoutMs > ONLINE_TIMEOUT_MS_MAX))
    throw new UsageError(`--timeout must be an integer 1..${ONLINE_TIMEOUT_MS_MAX} (milliseconds)`);
  const max = stringOption(ctx.values, 'max');
  if (max !== undefined && (!/^\d{1,10}$/.test(max) || Number(max) > 0xffff_ffff))
    throw new UsageError('--max must be a whole amount in minor units, e.g. 500');
  if (max !== undefined && ctx.values.numeric) throw new UsageError('--max applies to the offline QR code only, not --numeric');
  return { mode, timeoutMs, amountCap: max === undefined ? undefined : Number(max) };
}

async function writeImages(ctx: CommandContext, code: PayCode): Promise<void> {
  const png = stringOption(ctx.values, 'png');
  if (png !== undefined) await writeQrPng(png, code.text);
  const barcode = stringOption(ctx.values, 'barcode');
  if (barcode !== undefined) {
    if (isDigitCode(code.text)) await writeCode128Png(barcode, code.text);
    else ctx.note('no barcode written: the offline QR code has no barcode form (use --numeric)');
  }
}

async function show(ctx: CommandContext, code: PayCode): Promise<void> {
  if (ctx.values.json) {
    printJson(ctx, {
      kind: code.kind,
      text: code.text,
      ...(code.kind === 'online' ? { expiresAt: code.expiresAtMs } : {}),
      ...(code.kind === 'offline-qr' ? { counter: code.counter } : {}),
      ...(code.kind === 'offline-numeric' ? { counter: code.step } : {}),
    });
    return;
  }
  const caption =
    code.kind === 'online'
      ? `Online code ${groupDigits(code.text)} (one use, expires ${isoTime(code.expiresAtMs)})`
      : code.kind === 'offline-numeric'
        ? `Offline code ${groupDigits(code.text)} (numeric, server time ${isoTime(code.timestampMs)}); the result appears later in 'kioskpay wallet history'`
        : `Offline code #${code.counter} (server time ${isoTime(code.timestampMs)}); the result appears later in 'kioskpay wallet history'\nText: ${code.text}`;
  // QR art only on a terminal: into a pipe or a file it is noise (the text above is the code; --png draws it).
  const art = ctx.env.stdoutIsTerminal ? `${await terminalQr(code.text)}\n` : '';
  ctx.env.stdout(`${art}${caption}\n`);
}
