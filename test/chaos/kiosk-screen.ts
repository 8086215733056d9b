// SPDX-License-Identifier: Apache-2.0
// A shopper at a simulated kiosk, through the same HTTP controls its web page uses (/sim/scan,
// /sim/button, /sim/uplink) and what the screen shows (GET /view). Every call is bounded; a kiosk
// that was killed simply stops answering, which the caller reads as "lost".

/** What the chaos test reads from /view. */
export interface ScreenView {
  kioskId: string;
  screen: { name: string; reason?: string };
  storedCount: number;
  offline: boolean;
}

const CALL_MS = 3_000;
const POLL_MS = 25;

export async function post(url: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(CALL_MS),
  });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}

/** The screen of `kioskId`; a port reused by another kiosk after a restart is an error, not its view. */
export async function view(url: string, kioskId?: string): Promise<ScreenView> {
  const r = await fetch(url + '/view', { signal: AbortSignal.timeout(CALL_MS) });
  if (!r.ok) throw new Error(`/view: HTTP ${r.status}`);
  const v = (await r.json()) as ScreenView;
  if (kioskId !== undefined && v.kioskId !== kioskId) throw new Error(`${url} is ${v.kioskId}'s screen now, not ${kioskId}'s`);
  return v;
}

/** Polls /view until `accept` returns a value; undefined after `ms` or when the screen stops answering `failuresMax` times. */
export async function watchScreen<T>(
  url: string,
  kioskId: string,
  accept: (v: ScreenView) => T | undefined,
  ms: number,
  failuresMax = 5,
): Promise<T | undefined> {
  const end = Date.now() + ms;
  let failures = 0;
  while (Date.now() < end) {
    try {
      const hit = accept(await view(url, kioskId));
      if (hit !== undefined) return hit;
      failures = 0;
    } catch {
      if (++failures >= failuresMax) return undefined;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return undefined;
}

export type PayOutcome =
  | { result: 'approved' }
  | { result: 'declined'; reason: string }
  /** The kiosk died, or the screen never reached a verdict in time: the code may or may not be charged. */
  | { result: 'lost' };

/** Screens that end an attempt. */
const VERDICTS = new Set(['approved', 'declined']);
/** The longest a verdict may take: pay answer, three status asks and three voids at the kiosk's short timings, with margin. */
export const VERDICT_WAIT_MS = 20_000;

/**
 * Puts one product in the basket and presses pay. Resolves with whether the screen shows the offline
 * label once the kiosk waits for a code; undefined when it is not ready (busy screen, fault,
 * killed): nothing was presented then.
 */
export async function startSale(url: string, kioskId: string, gtin: string): Promise<{ offline: boolean } | undefined> {
  try {
    const v = await view(url, kioskId);
    if (v.screen.name !== 'idle') {
      await post(url, '/sim/button', { button: 'cancel' });
      return undefined;
    }
    await post(url, '/sim/scan', { text: gtin });
    if (!(await watchScreen(url, kioskId, (s) => (s.screen.name === 'basket' ? true : undefined), 3_000, 2))) return undefined;
    await post(url, '/sim/button', { button: 'pay' });
    return await watchScreen(url, kioskId, (s) => (s.screen.name === 'awaitingCode' ? { offline: s.offline } : undefined), 3_000, 2);
  } catch {
    return undefined;
  }
}

/** Scans the code and watches the screen until it says approved or declined (or the kiosk is lost). */
export async function presentCode(url: string, kioskId: string, code: string): Promise<PayOutcome> {
  try {
    await post(url, '/sim/scan', { text: code });
  } catch {
    // The scan may still have reached the kiosk before it died: the screen decides.
  }
  const verdict = await watchScreen(url, kioskId, (s) => (VERDICTS.has(s.screen.name) ? s.screen : undefined), VERDICT_WAIT_MS);
  if (!verdict) return { result: 'lost' };
  // Back to idle for the next shopper; a kiosk that died meanwhile does not matter here.
  await post(url, '/sim/button', { button: 'cancel' }).catch(() => undefined);
  return verdict.name === 'approved' ? { result: 'approved' } : { result: 'declined', reason: verdict.reason ?? 'unknown' };
}
