// SPDX-License-Identifier: Apache-2.0
// Exit codes of one-shot `kioskpay console` commands, for scripts.
export const EXIT = Object.freeze({
  /** Done, and the kiosk acknowledged (when a kiosk was asked). */
  OK: 0,
  /** The kiosk answered with a refusal (ack ok:false). */
  REFUSED: 1,
  /** Bad command line: unknown command, unknown kiosk (no retained status), missing or invalid argument, no usable login. */
  USAGE: 2,
  /** No answer: the kiosk is offline (its retained status says so; nothing is sent), it did not answer in time, or not connected to the broker. */
  NO_ANSWER: 3,
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
