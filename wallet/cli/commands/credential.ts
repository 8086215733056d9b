// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet credential`: fetches or renews the offline credential (claims 3 and 4). On first
// use it makes the phone's key pair from fresh random bytes and saves it before the public key leaves.
import { formatMoney } from '../../../shared/money.ts';
import { ensurePhoneKey, fetchOfflineCredential } from '../../core/offline-credential.ts';
import { STATE_OPTION_HELP, apiFor, isoTime, printJson, requireEnrolled, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const credentialCommand: Command = {
  name: 'credential',
  summary: 'fetch or renew the offline credential',
  help: `Usage: kioskpay wallet credential [--json] [--state FILE] [--server URL]

Fetches a new offline credential: the server signs this phone's public key with a validity period
and offline limits, and hands out the secret for the numeric offline code. The first time, a new
Ed25519 key pair is made here; its private key never leaves the state file. Other commands renew
the credential by themselves once it is past the server's suggested renewal time.

Options:
  --json            print {credentialId, notBefore, notAfter, renewAfter, limits}
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one
`,
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(ctx) {
    const loaded = requireEnrolled(await ctx.store.load());
    const keyed = ensurePhoneKey(loaded, ctx.env.random);
    // The seed is durable before the public key is sent, so an issued credential is never orphaned.
    if (keyed.created) await ctx.store.save(keyed.state);
    const withCredential = await fetchOfflineCredential(keyed.state, apiFor(ctx, keyed.state), ctx.env.ed, ctx.env.clock.nowMs());
    await ctx.store.save(withCredential);
    const state = await housekeeping(ctx, withCredential);
    const c = state.credential ?? withCredential.credential!;
    if (ctx.values.json) {
      printJson(ctx, {
        credentialId: c.credentialId,
        notBefore: c.notBeforeMs,
        notAfter: c.notAfterMs,
        renewAfter: c.renewAfterMs,
        limits: c.limits,
      });
      return 0;
    }
    const l = c.limits;
    const m = (value: number) => formatMoney({ value, currency: l.currency });
    ctx.env.stdout(
      [
        `Offline credential ${c.credentialId}${keyed.created ? ' (new phone key)' : ''}`,
        `  valid ${isoTime(c.notBeforeMs)} .. ${isoTime(c.notAfterMs)}, renew after ${isoTime(c.renewAfterMs)}`,
        `  limits: ${m(l.perPayment)} per payment; ${m(l.daily.amount)} and ${l.daily.count} payments per 24 h; ${m(l.monthly.amount)} and ${l.monthly.count} per 30 days`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
