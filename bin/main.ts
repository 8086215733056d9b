// SPDX-License-Identifier: Apache-2.0
// The `kioskpay` command: one entry point, a subcommand per process. Each subcommand's module is
// loaded only when used, so `kioskpay wallet` never loads the server's native modules.

const HELP = `Usage: kioskpay <command> [options]

Commands:
  up        run the whole system on this machine (broker, server, demo kiosk identities)
  server    run the payment server (wallet HTTP API, kiosk MQTT API)
  broker    run the embedded MQTT broker (authenticated, deny-by-default ACL)
  wallet    the shopper's wallet on the command line (enroll, codes, history)
  kiosk     the kiosk program (run, doctor) and a kiosk on the command line (pay, status, void, time)
  console   the technician console over MQTT (interactive, or one command for scripts)
  demo      scripted end-to-end demo; exits 0 only if every outcome is the expected one

Run 'kioskpay <command> --help' for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  up: async () => (await import('./up.ts')).upCommand,
  server: async () => (await import('../server/main.ts')).serverCommand,
  broker: async () => (await import('../broker/main.ts')).brokerCommand,
  wallet: async () => (await import('../wallet/cli/main.ts')).walletCommand,
  kiosk: async () => (await import('../device/cli/main.ts')).kioskCommand,
  console: async () => (await import('../console/main.ts')).consoleCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`kioskpay: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (e) {
    process.stderr.write(`kioskpay ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
