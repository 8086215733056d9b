// SPDX-License-Identifier: Apache-2.0
// Whether offline mode can be offered now, and if not, the reason the app shows: never enrolled, no
// credential (and whether the server refuses one), credential expired or not yet valid, clock never
// synced, or the rolling limits used up as far as the phone can tell.
import type { PaymentRecord, WalletInfo } from '../../../shared/wallet-messages.ts';
import { offlineLimitsLeft } from '../../core/offline-limits.ts';
import { offlineAvailability } from '../../core/offline-codes.ts';
import type { WalletState } from '../../core/wallet-state.ts';
import type { MessageKey, Translate } from './i18n.ts';

export type OfflineStatus =
  | { available: true; notAfterMs: number }
  | { available: false; key: MessageKey; params?: Record<string, string> };

export function offlineStatus(
  state: WalletState | undefined,
  info: WalletInfo | undefined,
  payments: readonly PaymentRecord[],
  localNowMs: number,
): OfflineStatus {
  if (state === undefined) return { available: false, key: 'reason_never_enrolled' };
  const a = offlineAvailability(state, localNowMs);
  if (!a.available) {
    if (a.reason === 'no-credential' && info?.offlineEligible === false) {
      return { available: false, key: 'reason_no_credential_ineligible', params: { why: info.offlineIneligibleReason ?? '-' } };
    }
    const l = state.credential?.limits;
    if (l && (l.perPayment === 0 || l.daily.amount === 0 || l.monthly.amount === 0))
      return { available: false, key: 'reason_limits_empty' };
    // The phone's own count of the codes it has shown (wallet/core/offline-limits.ts); the web app makes no capped codes.
    const keys = {
      'never-enrolled': 'reason_never_enrolled',
      'no-credential': 'reason_no_credential',
      'credential-expired': 'reason_credential_expired',
      'credential-not-yet-valid': 'reason_credential_not_yet_valid',
      'clock-never-synced': 'reason_clock_never_synced',
      'offline-limit-daily': 'reason_limits_daily',
      'offline-limit-monthly': 'reason_limits_monthly',
      'cap-over-per-payment': 'reason_limits_daily',
    } as const satisfies Record<typeof a.reason, MessageKey>;
    return { available: false, key: keys[a.reason] };
  }
  const limits = offlineLimitsLeft(a.credential.limits, payments, a.correctedNowMs, state.shown ?? [], a.credential.limits.perPayment);
  const l = a.credential.limits;
  if (l.perPayment === 0 || l.daily.amount === 0 || l.monthly.amount === 0) return { available: false, key: 'reason_limits_empty' };
  if (!limits.ok) return { available: false, key: limits.window === 'daily' ? 'reason_limits_daily' : 'reason_limits_monthly' };
  return { available: true, notAfterMs: a.credential.notAfterMs };
}

export function describeOfflineStatus(s: OfflineStatus, t: Translate, formatUntil: (ms: number) => string): string {
  return s.available ? t('offlineReady', { until: formatUntil(s.notAfterMs) }) : t('offlineUnavailable', { reason: t(s.key, s.params) });
}
