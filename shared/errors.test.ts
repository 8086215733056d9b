// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ERRORS, KioskpayError } from './errors.ts';

describe('KioskpayError', () => {
  it('carries the typed details of its code onto the wire, and nothing for codes without details', () => {
    const limited = new KioskpayError('RATE_LIMITED', 'slow down', { retryAfterMs: 250 });
    expect(limited.details).toEqual({ retryAfterMs: 250 });
    expect(limited.toWire()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 250 });
    const declined = new KioskpayError('CODE_USED');
    expect(declined.details).toBeUndefined();
    expect(declined.toWire()).toEqual({ code: 'CODE_USED', message: ERRORS.CODE_USED.meaning });
  });

  it('makes a missing or misplaced detail a compile error', () => {
    // @ts-expect-error RATE_LIMITED needs its wait
    expect(new KioskpayError('RATE_LIMITED').details).toBeUndefined();
    // @ts-expect-error CODE_USED carries no details
    expect(new KioskpayError('CODE_USED', 'x', { retryAfterMs: 1 }).code).toBe('CODE_USED');
  });
});
