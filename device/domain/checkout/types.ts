// SPDX-License-Identifier: Apache-2.0
// The checkout machine's vocabulary: states, the events the shell feeds in, the effects it gets
// back, and what it is given (context). All plain data, so a state or an effect list can be logged
// (without codes), compared in tests, and replayed.
import type { Clock } from '../../../shared/clock.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { SaleLine, TxStatus } from '../../../shared/kiosk-messages.ts';
import type { Money } from '../../../shared/money.ts';
import type { DecodedCode, DecodedOfflineQr } from '../../../shared/codes/decode.ts';
import type { Basket } from './basket.ts';
import type { Catalog } from '../../../shared/catalog/catalog.ts';
import type { PolicyMode } from '../../../shared/kiosk-policy.ts';
import type { CheckoutConfig } from './config.ts';

export type CheckoutMode = 'self-checkout' | 'vending';
export type FaultKind = 'scanner-unavailable' | 'display-unavailable' | 'relay-unavailable' | 'catalog-unavailable';

export interface CheckoutContext {
  readonly mode: CheckoutMode;
  readonly config: CheckoutConfig;
  /** Monotonic time sets deadlines (for every event but `tick`, which carries its own time). */
  readonly clock: Clock;
  /** A fresh kiosk transaction id, never used before. */
  readonly nextTxId: () => string;
  /** The cached catalog, if the kiosk has one. */
  readonly catalog: () => Catalog | undefined;
  /** The kiosk's current payment policy mode (set by the server or a technician). */
  readonly policyMode: () => PolicyMode;
}

/** One payment attempt. `code`, decoded once at the scan, is kept only while the attempt is in flight, and never logged. */
export interface Attempt {
  readonly txId: string;
  readonly code: DecodedCode;
  readonly amount: Money;
  /** What the basket sold, adding up to `amount` (basket.ts saleLinesOf); absent when it cannot be listed. */
  readonly lines?: readonly SaleLine[] | undefined;
}

/**
 * What the local pre-check accepted (the kiosk's offline desk, domain/offline/offline-precheck.ts):
 * the outbox entry is written from exactly this, so the code is not decoded again and the capture
 * time is the one the pre-check judged the code's time window against.
 */
export interface PrecheckedPayment {
  readonly code: DecodedOfflineQr;
  readonly amount: Money;
  /** The settle item's capturedAt: the trusted clock's estimate at the check, Unix ms. */
  readonly capturedAtMs: number;
}

/**
 * Steps of `authorising`:
 *  paying        `pay` sent, waiting for its answer
 *  askingStatus  no answer in time: `status` of the same txId (attempt n)
 *  voiding       the fate is unknown or the shopper cancelled: `void` the same txId (attempt n)
 *  prechecking   uplink down, offline QR: the local pre-check is running
 *  storing       pre-check passed: the payment is being written to the durable outbox
 *  discarding    the write did not finish in time: waiting until the kiosk has durably recorded
 *                that this txId must never settle, so that the screen's decline is the truth
 */
export type AuthorisingStep = 'paying' | 'askingStatus' | 'voiding' | 'prechecking' | 'storing' | 'discarding';

interface Common {
  readonly uplinkOnline: boolean;
  /** A fault reported while a payment was in flight: entered when the kiosk would go idle. */
  readonly pendingFault?: FaultKind | undefined;
}

export type CheckoutState = Common &
  (
    | { readonly name: 'idle' }
    | { readonly name: 'basket'; readonly basket: Basket; readonly deadlineMs: number }
    | { readonly name: 'awaitingCode'; readonly basket: Basket; readonly declines: number; readonly deadlineMs: number }
    | {
        readonly name: 'authorising';
        readonly basket: Basket;
        readonly declines: number;
        readonly attempt: Attempt;
        readonly step: AuthorisingStep;
        /** Requests sent in this step (status and void are retried). */
        readonly tries: number;
        /** The shopper pressed cancel: a void that ends goes idle instead of offering a retry. */
        readonly cancelled: boolean;
        /** Steps `storing` and `discarding`: what the pre-check accepted, being written (or given up on). */
        readonly prechecked?: PrecheckedPayment | undefined;
        readonly deadlineMs: number;
      }
    | { readonly name: 'dispensing'; readonly txId: string; readonly slot: number; readonly total: Money; readonly deadlineMs: number }
    | { readonly name: 'approved'; readonly txId: string; readonly total: Money; readonly deadlineMs: number }
    | {
        readonly name: 'declined';
        readonly basket: Basket;
        readonly declines: number;
        readonly reason: ErrorCode;
        readonly deadlineMs: number;
      }
    /** `deadlineMs`: waiting for the first catalog; at the deadline the kiosk warns (once). */
    | { readonly name: 'fault'; readonly fault: FaultKind; readonly deadlineMs?: number }
  );

export type StateName = CheckoutState['name'];

/** Which request an answer answers; the server's reply to `pay`, `status` and `void` is the same PayResult. */
export type AnswerTo = 'pay' | 'status' | 'void';

export type CheckoutEvent =
  | { readonly type: 'scan'; readonly text: string }
  | { readonly type: 'slotPressed'; readonly slot: number }
  | { readonly type: 'payPressed' }
  | { readonly type: 'cancelPressed' }
  /** The shell's heartbeat: fires every timeout whose deadline is at or before `nowMonotonicMs`. */
  | { readonly type: 'tick'; readonly nowMonotonicMs: number }
  | { readonly type: 'uplinkChanged'; readonly online: boolean }
  /** A PayResult for our txId, with which request it answers. */
  | {
      readonly type: 'txAnswer';
      readonly answers: AnswerTo;
      readonly txId: string;
      readonly status: TxStatus;
      readonly reason?: ErrorCode | undefined;
    }
  /** An error reply (the server refused the request itself). */
  | { readonly type: 'txError'; readonly txId: string; readonly code: ErrorCode }
  /** `pay` was not sent because the uplink is down (OnlineOutcome 'not-sent'): nothing can have been charged. */
  | { readonly type: 'paySendFailed'; readonly txId: string }
  | { readonly type: 'precheckResult'; readonly txId: string; readonly ok: true; readonly payment: PrecheckedPayment }
  | { readonly type: 'precheckResult'; readonly txId: string; readonly ok: false; readonly reason: ErrorCode }
  /** The outbox entry is on disk and fsync'd. */
  | { readonly type: 'offlineStored'; readonly txId: string }
  | { readonly type: 'offlineStoreFailed'; readonly txId: string }
  /** The kiosk has durably recorded that this txId never settles (discardOffline done). */
  | { readonly type: 'offlineDiscarded'; readonly txId: string }
  | { readonly type: 'faultRaised'; readonly fault: FaultKind }
  | { readonly type: 'faultCleared' };

export type Screen =
  | { readonly name: 'idle'; readonly mode: CheckoutMode }
  | { readonly name: 'basket'; readonly basket: Basket }
  | { readonly name: 'awaitingCode'; readonly basket: Basket }
  | { readonly name: 'authorising'; readonly total: Money; readonly offline: boolean }
  | { readonly name: 'dispensing'; readonly slot: number }
  | { readonly name: 'approved'; readonly total: Money }
  | { readonly name: 'declined'; readonly reason: ErrorCode; readonly text: string }
  | { readonly name: 'fault'; readonly fault: FaultKind };

/** Short messages over the current screen; the display layer words them. */
export type Hint =
  | 'choose-products-first'
  | 'unknown-product'
  | 'basket-full'
  | 'products-not-sold-here'
  | 'press-a-product-button'
  | 'unreadable-code'
  | 'please-wait'
  | 'not-ready';

export type CheckoutEffect =
  | { readonly type: 'show'; readonly screen: Screen }
  | { readonly type: 'hint'; readonly hint: Hint; readonly text?: string }
  | { readonly type: 'beep'; readonly pattern: 'accept' | 'decline' }
  | { readonly type: 'offlineIndicator'; readonly on: boolean }
  /** Never longer than config.relayPulseMaxMs. */
  | { readonly type: 'pulseRelay'; readonly slot: number; readonly onMs: number }
  /** `lines`, when present, go on the `pay` request (they add up to `amount`). */
  | {
      readonly type: 'sendPay';
      readonly txId: string;
      readonly code: DecodedCode;
      readonly amount: Money;
      readonly lines?: readonly SaleLine[];
    }
  | { readonly type: 'sendStatus'; readonly txId: string }
  | { readonly type: 'sendVoid'; readonly txId: string }
  /** Run the local pre-check, then answer precheckResult (with what it accepted). */
  | { readonly type: 'precheckOffline'; readonly txId: string; readonly code: DecodedOfflineQr; readonly amount: Money }
  /** Write what the pre-check accepted (with the sale's lines, when present) to the durable outbox and fsync, then answer offlineStored / offlineStoreFailed. */
  | { readonly type: 'storeOffline'; readonly txId: string; readonly payment: PrecheckedPayment; readonly lines?: readonly SaleLine[] }
  /**
   * The store did not answer in time: durably record that this txId never settles (whether or not
   * its write lands later), then answer offlineDiscarded. Repeated while no answer comes.
   */
  | { readonly type: 'discardOffline'; readonly txId: string }
  /** Neither status nor void could settle this txId: the shell keeps it and voids it when the uplink is back. */
  | { readonly type: 'voidLater'; readonly txId: string }
  /** Structured log line; never holds a code. */
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn' | 'error';
      readonly event: string;
      readonly detail?: Readonly<Record<string, string | number | boolean>>;
    };

export interface Transition {
  readonly state: CheckoutState;
  readonly effects: readonly CheckoutEffect[];
}
