// SPDX-License-Identifier: Apache-2.0
// Entry point of the kiosk's precompiled bundle (bin/build-kiosk.ts -> dist/kiosk/kiosk.mjs):
// `node kiosk.mjs [run] --config kiosk.json [--sim]` and `node kiosk.mjs doctor --config kiosk.json`.
// Same programs as `kioskpay kiosk run` and `kioskpay kiosk doctor`, without TypeScript compiled at
// start-up: what a Pi runs.
import { doctorCommand } from './doctor.ts';
import { runCommand } from './run.ts';

const [first, ...rest] = process.argv.slice(2);
process.exitCode =
  first === 'doctor' ? await doctorCommand(rest) : first === 'run' ? await runCommand(rest) : await runCommand(process.argv.slice(2));
