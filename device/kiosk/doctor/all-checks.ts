// SPDX-License-Identifier: Apache-2.0
// Every area `kioskpay kiosk doctor` checks, in the order they are printed.
import type { NamedCheck } from './doctor.ts';
import { storageChecks } from './storage-checks.ts';
import { uplinkChecks } from './uplink-checks.ts';

export const ALL_CHECKS: readonly NamedCheck[] = [
  // The hardware areas (gpio-checks.ts: gpioChecks, scanner-checks.ts: scannerChecks,
  // clock-checks.ts: clockChecks) are listed here, before storage, when they are merged.
  { area: 'storage', check: storageChecks },
  { area: 'uplink', check: uplinkChecks },
];
