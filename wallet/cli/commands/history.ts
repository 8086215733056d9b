// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet history`: payments as the server records them. Offline payments show up here once
// a kiosk has forwarded them; the shopper gets no completion screen at the till (PayPay's behaviour).
import { formatMoney } from '../../../shared/money.ts';
import { paymentCharge } from '../../../shared/wallet-messages.ts';
import { HISTORY_LIMIT_MAX } from '../../core/api-client.ts';
import { correctedNowMs, reconcilePending } from '../../core/wallet-state.ts';
import { STATE_OPTION_HELP, UsageError, apiFor, isoTime, printJson, requireEnrolled, stringOption, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const historyCommand: Command = {
  name: 'history',
  summary: 'list recent payments (offline ones appear once settled)',
  help: `Usage: kioskpay wallet history [--limit N] [--json] [--state FILE] [--server URL]

Lists the wallet's payments, newest first, and forgets the offline codes that the server has now
seen. A sale an operator refunded in part or in whole says what was refunded and what is still
charged (the balance holds the refund already). Offline codes that were shown but not yet seen are
counted at the end.

Options:
  --limit N         at most N payments, 1..${HISTORY_LIMIT_MAX} (default 50)
  --json            print {payments, pendingOfflineCodes}
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one
`,
  options: { limit: { type: 'string' }, json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(ctx) {
    const limitText = stringOption(ctx.values, 'limit');
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX || !/^\d+$/.test(limitText ?? '50'))
      throw new UsageError(`--limit must be an integer 1..${HISTORY_LIMIT_MAX}`);
    let state = requireEnrolled(await ctx.store.load());
    const h = await apiFor(ctx, state).history(limit);
    const now = ctx.env.clock.nowMs();
    const reconciled = reconcilePending(state, h.payments, correctedNowMs(state, now) ?? now);
    if (reconciled !== state) await ctx.store.save(reconciled);
    state = requireEnrolled(await housekeeping(ctx, reconciled));
    if (ctx.values.json) {
      printJson(ctx, { payments: h.payments, pendingOfflineCodes: state.pending.length });
      return 0;
    }
    const lines = h.payments.map((p) =>
      [
        isoTime(p.at),
        p.status.padEnd(8),
        p.kind.padEnd(15),
        formatMoney(p.amount).padStart(12),
        `kiosk ${p.kioskId}`,
        p.reason ?? '',
        p.refunded ? `refunded ${formatMoney(p.refunded)}, charged ${formatMoney({ ...p.amount, value: paymentCharge(p) })}` : '',
        p.offline ? `(code #${p.offline.counter})` : '',
      ]
        .filter((x) => x !== '')
        .join('  '),
    );
    if (lines.length === 0) lines.push('No payments yet.');
    if (state.pending.length > 0) lines.push(`${state.pending.length} offline code(s) shown and not yet seen by the server.`);
    ctx.env.stdout(lines.join('\n') + '\n');
    return 0;
  },
};
