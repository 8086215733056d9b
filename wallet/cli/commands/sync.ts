// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet sync`: measures the offset to the server's clock now (claim 5). Offline codes carry
// the corrected time, and the server accepts them only within a window around its own clock.
import { syncClock } from '../../core/clock-sync.ts';
import { withClockSync } from '../../core/wallet-state.ts';
import { STATE_OPTION_HELP, apiFor, printJson, requireEnrolled, type Command } from '../command.ts';
import { housekeeping } from '../housekeeping.ts';

export const syncCommand: Command = {
  name: 'sync',
  summary: "synchronise with the server's clock",
  help: `Usage: kioskpay wallet sync [--json] [--state FILE] [--server URL]

Measures the offset between this machine's clock and the server's with four NTP-style exchanges and
keeps the one with the shortest round trip. Other commands do this by themselves when the last sync
is more than an hour old.

Options:
  --json            print {offsetMs, uncertaintyMs, roundTripMs, answered}
${STATE_OPTION_HELP}
  --server URL      use this server instead of the stored one
`,
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(ctx) {
    const state = requireEnrolled(await ctx.store.load());
    const r = await syncClock(apiFor(ctx, state), ctx.env.clock);
    const synced = withClockSync(state, r.sample, r.syncedAtMs);
    await ctx.store.save(synced);
    await housekeeping(ctx, synced);
    const s = r.sample;
    if (ctx.values.json)
      printJson(ctx, { offsetMs: s.offsetMs, uncertaintyMs: s.uncertaintyMs, roundTripMs: s.roundTripMs, answered: r.answered });
    else
      ctx.env.stdout(
        `Clock offset ${s.offsetMs >= 0 ? '+' : ''}${s.offsetMs} ms (±${s.uncertaintyMs} ms, round trip ${s.roundTripMs} ms, ${r.answered} samples)\n`,
      );
    return 0;
  },
};
