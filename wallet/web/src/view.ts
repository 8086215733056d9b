// SPDX-License-Identifier: Apache-2.0
// Draws the Model into the page: one function per screen, plain DOM, no framework. The only HTML
// parsed from strings is the code images' SVG, which our own code libraries produced. Texts come
// from i18n.ts; <main data-screen> names the screen for tests and styles.
import { formatMoney } from '../../../shared/money.ts';
import { paymentCharge, type PaymentRecord } from '../../../shared/wallet-messages.ts';
import { offlineSessions, sessionPayment } from '../../core/offline-sessions.ts';
import { groupDigits } from './code-images.ts';
import { formatTime, translator, type MessageKey, type Translate } from './i18n.ts';
import type { Model, Screen } from './model.ts';
import { describeOfflineStatus, offlineStatus } from './offline-status.ts';
import type { WalletApp } from './wallet-app.ts';

type Child = Node | string | undefined | false;
type Attrs = Record<string, string | ((e: Event) => void)>;

function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== undefined && c !== false) el.append(c);
  return el;
}

/** An element holding SVG markup made by qrcode or bwip-js. */
function svgBox(className: string, svg: string, label: string): HTMLElement {
  const box = h('div', { class: className, role: 'img', 'aria-label': label });
  box.innerHTML = svg;
  return box;
}

interface Ctx {
  m: Readonly<Model>;
  t: Translate;
  app: WalletApp;
}

export function render(root: HTMLElement, m: Readonly<Model>, app: WalletApp): void {
  const t = translator(m.lang);
  document.documentElement.lang = m.lang;
  document.title = t('appTitle');
  root.dataset.screen = m.screen.name;
  root.replaceChildren(...screen({ m, t, app }, m.screen));
  updateCountdowns(root, m);
}

/** Called every second on code screens: only the countdown texts change. */
export function updateCountdowns(root: HTMLElement, m: Readonly<Model>): void {
  const t = translator(m.lang);
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-deadline]'))) {
    const s = Math.max(0, Math.ceil((Number(el.dataset.deadline) - m.nowMs) / 1000));
    el.textContent = t(el.dataset.key as MessageKey, { s, ...(JSON.parse(el.dataset.params ?? '{}') as Record<string, string>) });
  }
}

function countdown(key: MessageKey, deadlineMs: number, params: Record<string, string | number> = {}): HTMLElement {
  return h('p', { class: 'countdown', 'data-deadline': String(deadlineMs), 'data-key': key, 'data-params': JSON.stringify(params) });
}

function bar(c: Ctx, title: string, back?: () => void): HTMLElement {
  return h(
    'header',
    { class: 'bar' },
    back && h('button', { onclick: back, 'aria-label': c.t('back') }, '‹ ' + c.t('back')),
    h('h1', {}, title),
    h('button', { onclick: () => c.app.toggleLang(), lang: c.m.lang === 'en' ? 'ja' : 'en' }, c.t('language')),
  );
}

function message(c: Ctx): Child {
  const msg = c.m.message;
  return (
    msg &&
    h(
      'p',
      { class: msg.kind === 'error' ? 'error' : 'note', role: msg.kind === 'error' ? 'alert' : 'status' },
      msg.kind === 'error' ? c.t('errorPrefix', { message: msg.text }) : msg.text,
    )
  );
}

function screen(c: Ctx, s: Screen): Node[] {
  switch (s.name) {
    case 'loading':
      return [h('p', { class: 'loading' }, 'kioskpay')];
    case 'welcome':
      return welcome(c);
    case 'home':
      return home(c);
    case 'waiting':
      return waiting(c);
    case 'half-sheet':
      return [...waiting(c), halfSheet(c, s)];
    case 'offline-explain':
      return explain(c, s);
    case 'online-code':
      return onlineCode(c, s);
    case 'offline-code':
      return offlineCode(c, s);
    case 'paid':
      return paid(c, s.payment);
    case 'history':
      return history(c);
    case 'methods':
      return methods(c);
  }
}

function welcome(c: Ctx): Node[] {
  return [
    bar(c, c.t('appTitle')),
    h(
      'section',
      { class: 'content' },
      h('div', { class: 'card' }, h('h2', {}, c.t('welcomeTitle')), h('p', {}, c.t('welcomeBody'))),
      message(c),
      h('button', { class: 'primary', onclick: () => void c.app.enroll() }, c.t('createWallet')),
    ),
  ];
}

function home(c: Ctx): Node[] {
  const { m, t } = c;
  const status = offlineStatus(m.state, m.info, m.payments, m.nowMs);
  const clock = m.state?.clock;
  return [
    bar(c, t('appTitle')),
    !m.reachable && h('div', { class: 'banner-offline', role: 'status' }, t('offlineBanner')),
    h(
      'section',
      { class: 'content' },
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'balance-label' }, t('balance')),
        h('div', { class: 'balance', 'data-balance': '' }, m.info ? formatMoney(m.info.balance) : '—'),
        h(
          'p',
          { class: `status ${status.available ? 'ok' : 'bad'}`, 'data-offline-status': status.available ? 'ready' : status.key },
          describeOfflineStatus(status, t, (ms) => formatTime(m.lang, ms, true)),
        ),
        h(
          'p',
          { class: `status ${clock ? 'ok' : 'warn'}` },
          clock ? t('clockSynced', { offset: (clock.offsetMs / 1000).toFixed(1) }) : t('clockNotSynced'),
        ),
        !m.reachable && h('p', { class: 'note' }, t('noNetwork')),
      ),
      message(c),
      h('button', { class: 'primary', onclick: () => void c.app.pay() }, t('pay')),
      h(
        'div',
        { class: 'row' },
        h('button', { class: 'secondary', onclick: () => void c.app.offlineMode() }, t('offlineMode')),
        h('button', { class: 'secondary', onclick: () => c.app.history() }, t('history')),
      ),
      h('button', { class: 'secondary', onclick: () => c.app.methods() }, t('methods')),
    ),
  ].filter((x): x is HTMLElement => x !== false);
}

function waiting(c: Ctx): Node[] {
  return [
    bar(c, c.t('pay')),
    h(
      'section',
      { class: 'content center' },
      h('div', { class: 'spinner', role: 'progressbar', 'aria-label': c.t('waitingTitle') }),
      h('h2', {}, c.t('waitingTitle')),
      h('p', { class: 'note' }, c.t('waitingBody')),
      h('button', { class: 'secondary', onclick: () => c.app.home() }, c.t('cancel')),
    ),
  ];
}

function halfSheet(c: Ctx, s: Extract<Screen, { name: 'half-sheet' }>): Node {
  const { t } = c;
  const why =
    s.cause === 'timeout'
      ? t('halfSheetTimeout', { s: Math.round(c.m.onlineTimeoutMs / 1000) })
      : s.cause === 'network' || s.cause === 'offline'
        ? t('halfSheetNetwork')
        : t('halfSheetServer');
  return h(
    'div',
    { class: 'scrim' },
    h(
      'div',
      { class: 'sheet', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sheet-title' },
      h('h2', { id: 'sheet-title' }, t('halfSheetTitle')),
      h('p', {}, why),
      s.status.available
        ? h('button', { class: 'primary', onclick: () => void c.app.offlineMode() }, t('useOffline'))
        : h('p', { class: 'error', 'data-offline-status': s.status.key }, describeOfflineStatus(s.status, t, String)),
      h('button', { class: 'link', onclick: () => c.app.explainOffline() }, t('whatIsOffline')),
      h('button', { class: 'secondary', onclick: () => c.app.home() }, t('cancel')),
    ),
  );
}

function explain(c: Ctx, s: Extract<Screen, { name: 'offline-explain' }>): Node[] {
  const { t } = c;
  return [
    bar(c, t('explainTitle'), () => c.app.closeExplanation()),
    h(
      'section',
      { class: 'content' },
      h('div', { class: 'card' }, h('p', {}, t('explain1')), h('p', {}, t('explain2')), h('p', {}, t('explain3'))),
      s.back === 'half-sheet' && h('button', { class: 'primary', onclick: () => void c.app.offlineMode() }, t('useOffline')),
      h('button', { class: 'secondary', onclick: () => c.app.closeExplanation() }, t('back')),
    ),
  ];
}

/**
 * Puts `text` on the clipboard: the Clipboard API where the page may use it (a secure context with
 * the permission), else a selected hidden text area and the copy command. True when it worked.
 */
async function copyToClipboard(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, page not focused): try the old way.
  }
  const area = h('textarea', { readonly: '', 'aria-hidden': 'true', class: 'offscreen' }) as HTMLTextAreaElement;
  area.value = text;
  document.body.append(area);
  try {
    area.select();
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** A button that copies a code's exact text (no spaces), and a line that says whether it worked. */
function copyButton(c: Ctx, text: string): HTMLElement {
  const status = h('p', { class: 'copy-status note', role: 'status' });
  const copy = async () => {
    const ok = await copyToClipboard(text);
    status.textContent = c.t(ok ? 'copied' : 'copyFailed');
    status.dataset.copied = String(ok);
  };
  return h(
    'div',
    { class: 'copy' },
    h('button', { class: 'secondary', 'data-copy': text, onclick: () => void copy() }, c.t('copyCode')),
    status,
  );
}

function onlineCode(c: Ctx, s: Extract<Screen, { name: 'online-code' }>): Node[] {
  const { t } = c;
  return [
    bar(c, t('pay')),
    h(
      'section',
      { class: 'code-screen' },
      h('h2', {}, t('onlineCodeTitle')),
      svgBox('qr', s.qrSvg, t('onlineCodeTitle')),
      s.barcodeSvg && svgBox('barcode', s.barcodeSvg, groupDigits(s.text)),
      h('p', { class: 'digits' }, groupDigits(s.text)),
      copyButton(c, s.text),
      countdown('expiresIn', s.renewAtLocalMs),
      h('button', { class: 'secondary', onclick: () => c.app.home() }, t('close')),
    ),
  ];
}

function offlineCode(c: Ctx, s: Extract<Screen, { name: 'offline-code' }>): Node[] {
  const { t, m } = c;
  const code = s.code;
  const body: Child[] = [h('h2', {}, t('offlineCodeTitle'))];
  if (!s.status.available)
    body.push(h('p', { class: 'error', 'data-offline-status': s.status.key }, describeOfflineStatus(s.status, t, String)));
  else if (s.retryAtLocalMs !== undefined) body.push(countdown('numericWait', s.retryAtLocalMs));
  else if (code?.form === 'numeric' && code.barcodeSvg) {
    body.push(
      svgBox('barcode', code.barcodeSvg, groupDigits(code.text)),
      h('p', { class: 'digits' }, groupDigits(code.text)),
      copyButton(c, code.text),
      h('p', { class: 'note' }, t('numericNote', { time: formatTime(m.lang, code.nextAtLocalMs) })),
    );
  } else if (code) {
    body.push(
      svgBox('qr', code.qrSvg, t('offlineCodeTitle')),
      countdown('offlineCodeNote', code.nextAtLocalMs, { counter: code.counter, time: formatTime(m.lang, code.timestampMs) }),
      h('p', { class: 'code-text', 'aria-label': t('codeText'), 'data-code-text': '' }, code.text),
      copyButton(c, code.text),
    );
  }
  if (s.status.available) {
    const other = s.form === 'qr' ? 'numeric' : 'qr';
    body.push(
      h('button', { class: 'link', onclick: () => void c.app.offlineMode(other) }, t(other === 'numeric' ? 'showNumeric' : 'showQr')),
    );
  }
  body.push(h('button', { class: 'secondary', onclick: () => c.app.home() }, t('close')));
  return [h('div', { class: 'banner-offline', role: 'status' }, t('offlineBanner')), h('section', { class: 'code-screen' }, ...body)];
}

function paid(c: Ctx, p: PaymentRecord): Node[] {
  return [
    bar(c, c.t('pay')),
    h(
      'section',
      { class: 'content center' },
      h('p', { class: 'done', 'aria-hidden': 'true' }, '✓'),
      h('h2', {}, c.t('paidTitle')),
      h('p', { 'data-paid': p.paymentId }, c.t('paidBody', { amount: formatMoney(p.amount), kiosk: p.kioskId })),
      h('button', { class: 'primary', onclick: () => c.app.home() }, c.t('close')),
    ),
  ];
}

function statusTag(c: Ctx, p: PaymentRecord): HTMLElement {
  if ((p.status === 'approved' || p.status === 'settled') && paymentCharge(p) === 0)
    return h('span', { class: 'tag refunded' }, c.t('statusRefunded'));
  if (p.status === 'approved' || p.status === 'settled') return h('span', { class: 'tag paid' }, c.t('statusPaid'));
  if (p.status === 'voided') return h('span', { class: 'tag declined' }, c.t('statusVoided'));
  return h('span', { class: 'tag declined' }, `${c.t('statusDeclined')}${p.reason ? ` · ${p.reason}` : ''}`);
}

function history(c: Ctx): Node[] {
  const { m, t } = c;
  const items: HTMLElement[] = [];
  for (const s of offlineSessions(m.state?.pending ?? []).reverse()) {
    if (sessionPayment(s, m.payments)) continue;
    items.push(
      h(
        'li',
        { 'data-pending': String(s.firstShownAtMs) },
        h(
          'div',
          { class: 'what' },
          h('span', {}, t('pendingOffline')),
          h('span', { class: 'when' }, t('pendingNote', { time: formatTime(m.lang, s.lastShownAtMs, true) })),
        ),
        h('span', { class: 'tag pending' }, '…'),
      ),
    );
  }
  for (const p of m.payments) {
    // A sale an operator refunded in part shows what it charges now, and what was refunded of what.
    const charge = p.refunded ? formatMoney({ ...p.amount, value: paymentCharge(p) }) : formatMoney(p.amount);
    items.push(
      h(
        'li',
        {
          'data-payment': p.paymentId,
          'data-status': p.status,
          'data-kind': p.kind,
          ...(p.refunded ? { 'data-refunded': String(p.refunded.value) } : {}),
        },
        h(
          'div',
          { class: 'what' },
          h('span', {}, `${p.kioskId} · ${t(p.kind === 'online' ? 'kindOnline' : 'kindOffline')}`),
          h('span', { class: 'when' }, formatTime(m.lang, p.at, true)),
          p.refunded &&
            h('span', { class: 'refund' }, t('refundedNote', { refunded: formatMoney(p.refunded), amount: formatMoney(p.amount) })),
        ),
        h('div', { class: 'what' }, h('span', { class: 'amount' }, charge), statusTag(c, p)),
      ),
    );
  }
  return [
    bar(c, t('historyTitle'), () => c.app.home()),
    !m.reachable && h('div', { class: 'banner-offline', role: 'status' }, t('offlineBanner')),
    h(
      'section',
      { class: 'content' },
      h('div', { class: 'card' }, items.length === 0 ? h('p', { class: 'note' }, t('historyEmpty')) : h('ul', { class: 'list' }, ...items)),
    ),
  ].filter((x): x is HTMLElement => x !== false);
}

function methods(c: Ctx): Node[] {
  const { m, t } = c;
  const cred = m.state?.credential;
  const clock = m.state?.clock;
  const currency = m.state?.enrollment?.currency ?? 'JPY';
  const amount = (value: number) => formatMoney({ value, currency });
  const facts: Child[] = cred
    ? [
        h('dt', {}, t('validUntil')),
        h('dd', {}, formatTime(m.lang, cred.notAfterMs, true)),
        h('dt', {}, t('renewAfter')),
        h('dd', {}, formatTime(m.lang, cred.renewAfterMs, true)),
        h('dt', {}, t('perPayment')),
        h('dd', {}, amount(cred.limits.perPayment)),
        h('dt', {}, t('perDay')),
        h('dd', {}, t('countTimes', { amount: amount(cred.limits.daily.amount), count: cred.limits.daily.count })),
        h('dt', {}, t('perMonth')),
        h('dd', {}, t('countTimes', { amount: amount(cred.limits.monthly.amount), count: cred.limits.monthly.count })),
      ]
    : [];
  if (clock)
    facts.push(
      h('dt', {}, t('clockOffset')),
      h('dd', { 'data-clock-offset': String(clock.offsetMs) }, `${(clock.offsetMs / 1000).toFixed(1)} s`),
    );
  const status = offlineStatus(m.state, m.info, m.payments, m.nowMs);
  return [
    bar(c, t('methodsTitle'), () => c.app.home()),
    h(
      'section',
      { class: 'content' },
      h(
        'div',
        { class: 'card method selected', 'aria-current': 'true' },
        h(
          'div',
          { class: 'what' },
          h('strong', {}, t('methodBalance')),
          h('span', { class: 'note' }, m.info ? formatMoney(m.info.balance) : '—'),
        ),
        h('span', { class: 'tag paid' }, t('selected')),
      ),
      message(c),
      h('button', { class: 'secondary', onclick: () => void c.app.topupDemo() }, t('topupDemo', { amount: amount(10_000) })),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, t('credentialTitle')),
        h(
          'p',
          { class: `status ${status.available ? 'ok' : 'bad'}`, 'data-offline-status': status.available ? 'ready' : status.key },
          describeOfflineStatus(status, t, (ms) => formatTime(m.lang, ms, true)),
        ),
        h('dl', { class: 'facts' }, ...facts),
      ),
    ),
  ];
}
