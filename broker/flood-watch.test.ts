// SPDX-License-Identifier: Apache-2.0
// The login-flood watch on an injected clock: one alert per address or username per episode, only
// with a failed password among the attempts, episodes ending on quiet (and a username's on its
// login), and a global rate limit whose withheld alerts are counted in the next.
import { describe, expect, it } from 'vitest';
import { loginFloodAlertMessage, shownUsername } from './flood-alert-message.ts';
import { LoginFloodWatch, type FloodAlert, type FloodWatchLimits } from './flood-watch.ts';

const LIMITS: FloodWatchLimits = { alertAttempts: 10, quietMs: 300_000, alertsPerMinute: 3 };

function watch(limits: Partial<FloodWatchLimits> = {}) {
  let now = 1_000;
  const w = new LoginFloodWatch({ ...LIMITS, ...limits }, () => now);
  return {
    w,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

/** Runs `n` attempts and returns the alerts raised. */
function attempts(n: number, one: () => FloodAlert | undefined): FloodAlert[] {
  return Array.from({ length: n }, one).filter((a): a is FloodAlert => a !== undefined);
}

describe('LoginFloodWatch', () => {
  it('raises one alert covering the address and the username when a flood crosses the threshold', () => {
    const { w } = watch();
    expect(attempts(9, () => w.deferred('10.0.0.9', 'k2'))).toEqual([]); // deferred only: no failed password yet
    const [alert, ...more] = attempts(1, () => w.failed('10.0.0.9', 'k2'));
    expect(more).toEqual([]);
    expect(alert).toEqual({
      trigger: 'address',
      address: '10.0.0.9',
      username: 'k2',
      sinceMs: 1_000,
      suppressed: 0,
      addressCounts: { failed: 1, deferred: 9 },
      usernameCounts: { failed: 1, deferred: 9 },
    });
    // The rest of the episode raises nothing, for either key.
    expect(attempts(1_000, () => w.deferred('10.0.0.9', 'k2'))).toEqual([]);
    expect(attempts(50, () => w.failed('10.0.0.9', 'k2'))).toEqual([]);
  });

  it('raises nothing for fewer attempts, nor for a client only ever deferred', () => {
    const { w } = watch();
    expect(attempts(9, () => w.failed('10.0.0.1', 'k1'))).toEqual([]);
    expect(attempts(100, () => w.deferred('10.0.0.2', 'k3'))).toEqual([]);
  });

  it('names the username that crossed when one name is tried from many addresses', () => {
    const { w } = watch();
    const alerts = attempts(
      10,
      (() => {
        let i = 0;
        return () => w.failed(`10.0.1.${i++}`, 'ops');
      })(),
    );
    expect(alerts).toEqual([
      expect.objectContaining({
        trigger: 'username',
        username: 'ops',
        address: '10.0.1.9',
        usernameCounts: { failed: 10, deferred: 0 },
        addressCounts: { failed: 1, deferred: 0 },
      }),
    ]);
  });

  it("starts a new episode after quietMs without attempts, and a username's after its login", () => {
    const { w, advance } = watch();
    expect(attempts(10, () => w.failed('10.0.0.9', 'k2'))).toHaveLength(1);
    advance(300_000);
    expect(attempts(10, () => w.failed('10.0.0.9', 'k2'))).toEqual([]); // not quiet long enough: same episode
    advance(300_001);
    expect(attempts(10, () => w.failed('10.0.0.9', 'k2'))).toEqual([expect.objectContaining({ sinceMs: 601_001 })]);
    // A login of the username ends its episode; the address's goes on.
    w.succeeded('k2');
    expect(attempts(10, () => w.failed('10.0.0.9', 'k2'))).toEqual([
      expect.objectContaining({ trigger: 'username', addressCounts: { failed: 20, deferred: 0 } }),
    ]);
  });

  it('withholds alerts past alertsPerMinute and counts them in the next one', () => {
    const { w, advance } = watch();
    const flood = (i: number) => attempts(10, () => w.failed(`10.0.2.${i}`, `user-${i}`));
    expect([0, 1, 2].flatMap(flood)).toHaveLength(3);
    expect([3, 4].flatMap(flood)).toEqual([]);
    advance(60_000);
    expect(flood(5)).toEqual([expect.objectContaining({ address: '10.0.2.5', suppressed: 2 })]);
    expect(flood(6)).toEqual([expect.objectContaining({ suppressed: 0 })]);
    // A withheld flood does not come back later in its episode.
    advance(60_000);
    expect(flood(3)).toEqual([]);
  });
});

describe('loginFloodAlertMessage', () => {
  const alert: FloodAlert = {
    trigger: 'username',
    address: '::ffff:127.0.0.1',
    username: 'k2',
    addressCounts: { failed: 4, deferred: 60 },
    usernameCounts: { failed: 4, deferred: 60 },
    sinceMs: 500,
    suppressed: 1,
  };

  it('dates the episode on the wall clock and names a kiosk identity', () => {
    const m = loginFloodAlertMessage(alert, { username: 'k2', passwordHash: 'x', role: 'kiosk', kioskId: 'k2' }, 1_700_000_010_000, 2_500);
    expect(m).toEqual({
      v: 1,
      type: 'login-flood',
      at: 1_700_000_010_000,
      trigger: 'username',
      address: '::ffff:127.0.0.1',
      username: 'k2',
      usernameKnown: true,
      kioskId: 'k2',
      addressCounts: { failed: 4, deferred: 60 },
      usernameCounts: { failed: 4, deferred: 60 },
      since: 1_700_000_008_000,
      suppressed: 1,
    });
    expect(loginFloodAlertMessage({ ...alert, username: undefined }, undefined, 1_700_000_010_000, 2_500)).toMatchObject({
      username: null,
      usernameKnown: false,
      kioskId: null,
    });
  });

  it('reduces a hostile username to printable ASCII, clipped', () => {
    expect(shownUsername('\u001b[2Jroot\u202e')).toBe('?[2Jroot?');
    expect(shownUsername('x'.repeat(500))).toBe('x'.repeat(64));
    expect(shownUsername('')).toBeNull();
    expect(loginFloodAlertMessage({ ...alert, username: 'é\u0007' }, undefined, 1_700_000_010_000, 2_500).username).toBe('??');
  });
});
