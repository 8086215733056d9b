// SPDX-License-Identifier: Apache-2.0
// Entry point of the wallet web app: picks the browser adapters (IndexedDB, Web Crypto randomness,
// tweetnacl, setTimeout, Web Locks), registers the service worker that makes the app open offline,
// and wires the controller to the view. Nothing below this file touches `window` or `navigator`.
import { systemClock } from '../../../shared/clock.ts';
import { naclEd25519 } from '../../../shared/crypto/ed25519-nacl.ts';
import { cryptoRandom } from '../../../shared/random.ts';
import { ONLINE_TIMEOUT_MS_MAX } from '../../core/pay-code.ts';
import { systemTimers } from '../../core/timers.ts';
import { preferredLang, type Lang } from './i18n.ts';
import { KeyValueDb } from './idb.ts';
import { IdbWalletCache, IdbWalletStateStore } from './idb-state-store.ts';
import type { ScreenName } from './model.ts';
import { render, updateCountdowns } from './view.ts';
import { WalletApp } from './wallet-app.ts';

const LANG_KEY = 'kioskpay.lang';
/** Screens that show a code: kept awake while shown (a web app cannot set the brightness itself). */
const CODE_SCREENS: ReadonlySet<ScreenName> = new Set(['online-code', 'offline-code']);

/** `?wait=MS` overrides PayPay's 3 s wait for the online code (demos, slow networks). */
function onlineTimeoutFromUrl(): number | undefined {
  const text = new URL(location.href).searchParams.get('wait');
  if (text === null || !/^\d{1,5}$/.test(text)) return undefined;
  const ms = Number(text);
  return ms >= 1 && ms <= ONLINE_TIMEOUT_MS_MAX ? ms : undefined;
}

function savedLang(): Lang {
  try {
    const v = localStorage.getItem(LANG_KEY);
    if (v === 'en' || v === 'ja') return v;
  } catch {
    /* storage disabled: fall back to the browser's languages */
  }
  return preferredLang(navigator.languages ?? [navigator.language]);
}

async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('sw.js', { scope: './' });
  } catch (e) {
    console.warn('service worker registration failed; the app will not open offline', e);
  }
}

function keepAwake(): (screen: ScreenName) => void {
  let lock: WakeLockSentinel | undefined;
  let wanted = false;
  const acquire = async () => {
    if (!wanted || lock || !('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
    try {
      lock = await navigator.wakeLock.request('screen');
      lock.addEventListener('release', () => {
        lock = undefined;
      });
    } catch {
      /* refused (battery saver): the code still shows */
    }
  };
  document.addEventListener('visibilitychange', () => void acquire());
  return (screen) => {
    wanted = CODE_SCREENS.has(screen);
    if (wanted) void acquire();
    else if (lock) void lock.release();
  };
}

async function main(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) throw new Error('index.html has no #app');
  void registerServiceWorker();
  const db = await KeyValueDb.open();
  const timeout = onlineTimeoutFromUrl();
  const app = new WalletApp({
    baseUrl: location.origin,
    store: new IdbWalletStateStore(db),
    cache: new IdbWalletCache(db),
    clock: systemClock,
    timers: systemTimers,
    ed: naclEd25519,
    random: cryptoRandom,
    isOnline: () => navigator.onLine,
    ...(navigator.locks ? { locks: navigator.locks } : {}),
    lang: savedLang(),
    saveLang: (lang) => {
      try {
        localStorage.setItem(LANG_KEY, lang);
      } catch {
        /* not kept: fine */
      }
    },
    ...(timeout === undefined ? {} : { onlineTimeoutMs: timeout }),
  });
  const awake = keepAwake();
  app.subscribe((m, reason) => {
    if (reason === 'tick') return updateCountdowns(root, m);
    render(root, m, app);
    awake(m.screen.name);
  });
  window.addEventListener('online', () => app.networkChanged());
  window.addEventListener('offline', () => app.networkChanged());
  await app.start();
}

main().catch((e: unknown) => {
  const root = document.getElementById('app');
  if (root) root.textContent = `kioskpay wallet could not start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
