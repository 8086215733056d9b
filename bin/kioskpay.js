#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The `kioskpay` command. Registers tsx so the TypeScript sources run as they are (no build step),
// then hands over to the subcommand dispatcher.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
