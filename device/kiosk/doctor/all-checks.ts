// SPDX-License-Identifier: Apache-2.0
// Every area `kioskpay kiosk doctor` checks, in the order they are printed.
import type { NamedCheck } from './doctor.ts';
import { clockChecks } from './clock-checks.ts';
import { gpioChecks } from './gpio-checks.ts';
import { scannerChecks } from './scanner-checks.ts';
import { storageChecks } from './storage-checks.ts';
import { uplinkChecks } from './uplink-checks.ts';

export const ALL_CHECKS: readonly NamedCheck[] = [
  { area: 'gpio', check: gpioChecks },
  { area: 'scanner', check: scannerChecks },
  { area: 'clock', check: clockChecks },
  { area: 'storage', check: storageChecks },
  { area: 'uplink', check: uplinkChecks },
];
