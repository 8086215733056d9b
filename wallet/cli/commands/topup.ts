// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet topup AMOUNT`: demo/dev only; the server refuses unless top-up is enabled.
import { CURRENCIES, MONEY_MAX, formatMoney, type Currency, type Money } from '../../../shared/money.ts';
import { STATE_OPTION_HELP, UsageError, apiFor, printJson, requireEnrolled, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const topupCommand: Command = {
  name: 'topup',
  summary: 'add demo money to the wallet (DEMO/DEV ONLY)',
  help: `Usage: kioskpay wallet topup AMOUNT [--json] [--state FILE] [--server URL]

DEMO / DEVELOPMENT ONLY. Creates money out of thin air on a server started with top-up enabled;
a production server refuses with TOPUP_DISABLED. AMOUNT is in the wallet's currency, in major
units with its usual decimals: "5000" (JPY), "12.50" (USD, EUR).

Options:
  --json            print the wallet info as JSON
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one
`,
  options: { json: { type: 'boolean' } },
  positionals: [1, 1],
  async run(ctx) {
    const state = requireEnrolled(await ctx.store.load());
    const amount = parseAmount(ctx.positionals[0]!, state.enrollment.currency);
    const info = await apiFor(ctx, state).topup(amount);
    await housekeeping(ctx, state);
    if (ctx.values.json) printJson(ctx, info);
    else ctx.env.stdout(`Topped up ${formatMoney(amount)}. Balance: ${formatMoney(info.balance)}\n`);
    return 0;
  },
};

/** "12.50" in USD -> 1250 minor units. Strict: no signs, no exponents, no more decimals than the currency has. */
export function parseAmount(text: string, currency: Currency): Money {
  const exp = CURRENCIES[currency];
  const m = (exp > 0 ? new RegExp(`^(\\d{1,13})(?:\\.(\\d{1,${exp}}))?$`) : /^(\d{1,13})$/).exec(text);
  if (!m)
    throw new UsageError(
      `AMOUNT must be a positive number in ${currency}${exp > 0 ? ` with at most ${exp} decimals` : ' without decimals'}, got '${text}'`,
    );
  const value = Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || '0');
  if (!Number.isSafeInteger(value) || value < 1 || value > MONEY_MAX)
    throw new UsageError(`AMOUNT must be between 1 and ${MONEY_MAX} minor units`);
  return { value, currency };
}
