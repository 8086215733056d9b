// SPDX-License-Identifier: Apache-2.0
// Entry point of the kiosk's precompiled bundle (bin/build-kiosk.ts -> dist/kiosk/kiosk.mjs):
// `node dist/kiosk/kiosk.mjs --config kiosk.json [--sim]`. Same program as `kioskpay kiosk run`,
// without TypeScript compiled at start-up: what a Pi should run.
import { runCommand } from './run.ts';

process.exitCode = await runCommand(process.argv.slice(2));
