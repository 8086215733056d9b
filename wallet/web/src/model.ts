// SPDX-License-Identifier: Apache-2.0
// What the wallet app shows: the current screen and the data behind it. The controller
// (wallet-app.ts) owns and changes it; the view (view.ts) only reads it.
import type { FallbackCause } from '../../core/pay-code.ts';
import type { WalletState } from '../../core/wallet-state.ts';
import type { PaymentRecord, WalletInfo } from '../../../shared/wallet-messages.ts';
import type { Lang } from './i18n.ts';
import type { OfflineStatus } from './offline-status.ts';

/** Why the half sheet offers offline mode: the pay-code fallback causes, or the phone knows it is offline. */
export type HalfSheetCause = FallbackCause | 'offline';

export interface ShownOfflineCode {
  form: 'qr' | 'numeric';
  text: string;
  /** SVG of the QR code (both forms), and of the Code 128 barcode (numeric form only). */
  qrSvg: string;
  barcodeSvg?: string;
  counter: number;
  /** Corrected (server) time the code carries. */
  timestampMs: number;
  /** Local time the next code replaces it. */
  nextAtLocalMs: number;
}

export type Screen =
  | { name: 'loading' }
  | { name: 'welcome' }
  | { name: 'home' }
  | { name: 'waiting' }
  | { name: 'half-sheet'; cause: HalfSheetCause; status: OfflineStatus }
  | { name: 'offline-explain'; back: 'half-sheet' | 'home'; cause: HalfSheetCause }
  | { name: 'online-code'; text: string; qrSvg: string; barcodeSvg?: string; expiresAtLocalMs: number; renewAtLocalMs: number }
  | { name: 'offline-code'; form: 'qr' | 'numeric'; status: OfflineStatus; code?: ShownOfflineCode; retryAtLocalMs?: number }
  | { name: 'paid'; payment: PaymentRecord }
  | { name: 'history' }
  | { name: 'methods' };

export type ScreenName = Screen['name'];

export interface Model {
  screen: Screen;
  state: WalletState | undefined;
  /** Last balance and history from the server (cached, so they show offline too). */
  info: WalletInfo | undefined;
  payments: PaymentRecord[];
  /** The phone has a network and the last call to the server got an answer. */
  reachable: boolean;
  lang: Lang;
  message?: { kind: 'error' | 'info'; text: string };
  /** Local wall-clock time of the last render or tick. */
  nowMs: number;
  onlineTimeoutMs: number;
  offlineRefreshMs: number;
}
