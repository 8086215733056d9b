// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet enroll --server URL`: creates a wallet on the server and a new state file.
import { isServerUrl } from '../../core/api-client.ts';
import { currencySchema } from '../../../shared/schemas.ts';
import { WalletError } from '../../core/wallet-errors.ts';
import { newWalletState, withEnrollment } from '../../core/wallet-state.ts';
import { STATE_OPTION_HELP, UsageError, apiFor, printJson, stringOption, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const enrollCommand: Command = {
  name: 'enroll',
  summary: 'create a wallet on a server (stores the server URL and token)',
  help: `Usage: kioskpay wallet enroll --server URL [--currency JPY|USD|EUR] [--json] [--state FILE]

Creates a new wallet on the payment server and writes its state file (token, and later the phone
key and offline credential; mode 0600). The server URL is stored and used by every other command.
Refuses to overwrite a state file that is already enrolled.

Options:
  --server URL      payment server, e.g. http://127.0.0.1:8080 (required)
  --currency CODE   account currency (default: the server's)
  --json            print {walletId, currency, serverUrl}
${STATE_OPTION_HELP}
`,
  options: { currency: { type: 'string' }, json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(ctx) {
    const server = stringOption(ctx.values, 'server');
    if (server === undefined) throw new UsageError('enroll needs --server URL');
    if (!isServerUrl(server)) throw new UsageError(`--server must be an http(s) URL, got '${server}'`);
    const currencyText = stringOption(ctx.values, 'currency');
    const currency = currencyText === undefined ? undefined : currencySchema.safeParse(currencyText.toUpperCase());
    if (currency !== undefined && !currency.success) throw new UsageError(`--currency must be one of ${currencySchema.options.join(', ')}`);
    const existing = await ctx.store.load();
    // Only an enrolled state can exist on disk (enroll is what creates it), so this guards every key.
    if (existing?.enrollment)
      throw new WalletError(
        'ALREADY_ENROLLED',
        { walletId: existing.enrollment.walletId },
        `${ctx.store.path} is already enrolled as wallet ${existing.enrollment.walletId}; use --state FILE for another wallet`,
      );
    const fresh = newWalletState(server);
    const e = await apiFor(ctx, fresh).enroll(currency?.data);
    let state = withEnrollment(fresh, e, ctx.env.clock.nowMs());
    await ctx.store.save(state);
    state = await housekeeping(ctx, state);
    if (ctx.values.json) printJson(ctx, { walletId: e.walletId, currency: e.currency, serverUrl: server });
    else
      ctx.env.stdout(
        `Enrolled wallet ${e.walletId} (${e.currency}) on ${server}\nState: ${ctx.store.path}\nNext: 'kioskpay wallet credential' for offline payment.\n`,
      );
    return 0;
  },
};
