// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet balance`: the server's view of the account, and the phone's offline readiness.
import { formatMoney } from '../../../shared/money.ts';
import { offlineAvailability } from '../../core/offline-codes.ts';
import { offlineUnavailableText } from '../../core/pay-code.ts';
import { STATE_OPTION_HELP, apiFor, isoTime, printJson, requireEnrolled, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const balanceCommand: Command = {
  name: 'balance',
  summary: 'show the balance and whether offline payment is ready',
  help: `Usage: kioskpay wallet balance [--json] [--state FILE] [--server URL]

Shows the balance from the server, whether the server allows offline payment for this wallet, and
whether this phone could show an offline code right now (credential, clock sync).

Options:
  --json            print {walletId, balance, offlineEligible, offlineIneligibleReason?, offline}
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one
`,
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(ctx) {
    let state = requireEnrolled(await ctx.store.load());
    const info = await apiFor(ctx, state).info();
    state = requireEnrolled(await housekeeping(ctx, state));
    const a = offlineAvailability(state, ctx.env.clock.nowMs());
    const offline = a.available
      ? { available: true, credentialId: a.credential.credentialId, notAfter: a.credential.notAfterMs, pendingCodes: state.pending.length }
      : { available: false, reason: a.reason, pendingCodes: state.pending.length };
    if (ctx.values.json) {
      printJson(ctx, { ...info, offline });
      return 0;
    }
    const lines = [`Wallet ${info.walletId}: balance ${formatMoney(info.balance)}`];
    lines.push(
      info.offlineEligible
        ? 'Server allows offline payment.'
        : `Server does not allow offline payment: ${info.offlineIneligibleReason ?? 'no reason given'}`,
    );
    lines.push(
      a.available
        ? `Offline code ready (credential ${a.credential.credentialId}, valid until ${isoTime(a.credential.notAfterMs)}).`
        : `No offline code possible now (${a.reason}): ${offlineUnavailableText(a.reason)}.`,
    );
    if (state.pending.length > 0) lines.push(`${state.pending.length} offline code(s) shown and not yet seen in history.`);
    ctx.env.stdout(lines.join('\n') + '\n');
    return 0;
  },
};
