// SPDX-License-Identifier: Apache-2.0
// Every text the wallet shows, in English and Japanese. A missing key is a type error: both tables
// have the same keys. `{name}` marks a parameter.

const en = {
  appTitle: 'kioskpay wallet',
  language: '日本語',
  welcomeTitle: 'Pay at kiosks with your phone',
  welcomeBody: 'Create a wallet on this phone. Its keys stay on the phone; the private key never leaves it.',
  createWallet: 'Create wallet',
  balance: 'Balance',
  pay: 'Pay',
  offlineMode: 'Offline mode',
  history: 'History',
  methods: 'Payment method',
  back: 'Back',
  cancel: 'Cancel',
  close: 'Close',
  offlineBanner: 'OFFLINE',
  offlineReady: 'Offline payment ready until {until}.',
  offlineUnavailable: 'Offline payment unavailable: {reason}',
  clockSynced: 'Clock synced with the server ({offset} s off).',
  clockNotSynced: 'Clock not yet synced with the server.',
  noNetwork: 'No network. Showing saved data.',
  waitingTitle: 'Getting your code…',
  waitingBody: 'Asking the server for a one-time code.',
  onlineCodeTitle: 'Show this code to the kiosk',
  expiresIn: 'New code in {s} s',
  halfSheetTitle: 'Pay offline?',
  halfSheetTimeout: 'The server did not send a code within {s} seconds.',
  halfSheetNetwork: 'This phone cannot reach the server right now.',
  halfSheetServer: 'The server cannot give a code right now.',
  useOffline: 'Use offline payment',
  whatIsOffline: 'What is offline payment?',
  explainTitle: 'Offline payment',
  explain1:
    'When your phone has no connection, it can still make a payment code by itself. The kiosk checks the code without asking the server.',
  explain2:
    'The code changes every few seconds and works once. Your payment appears in History as “pending” and is confirmed when the kiosk reports it to the server.',
  explain3:
    'Offline payments have limits per payment, per day and per month. The phone needs to go online at least once a week to keep offline payment available.',
  offlineCodeTitle: 'Show this offline code to the kiosk',
  offlineCodeNote: 'Code #{counter} · made at {time} (server time) · new code in {s} s',
  showNumeric: 'Barcode (number) instead',
  showQr: 'QR code instead',
  numericNote: 'For kiosks with a barcode scanner. New code at {time}.',
  numericWait: 'This number was already shown. A new one in {s} s.',
  copyCode: 'Copy the code',
  copied: 'Copied. Paste it where the kiosk asks for a code.',
  copyFailed: 'Could not copy: select the text and copy it.',
  codeText: 'The code as text',
  paidTitle: 'Paid',
  paidBody: '{amount} at {kiosk}',
  historyTitle: 'History',
  historyEmpty: 'No payments yet.',
  pendingOffline: 'Offline payment · waiting for confirmation',
  pendingNote: 'Code shown at {time}. If you paid with it, the kiosk reports it when it is online.',
  statusPaid: 'Paid',
  statusDeclined: 'Declined',
  statusVoided: 'Cancelled',
  statusRefunded: 'Refunded',
  refundedNote: 'Refunded {refunded} of {amount}',
  kindOnline: 'Online',
  kindOffline: 'Offline',
  methodsTitle: 'Payment method',
  methodBalance: 'Wallet balance',
  selected: 'Selected',
  topupDemo: 'Add {amount} (demo)',
  topupDone: 'Added {amount}.',
  credentialTitle: 'Offline payment',
  validUntil: 'Valid until',
  renewAfter: 'Renews after',
  perPayment: 'Per payment',
  perDay: 'Per 24 hours',
  perMonth: 'Per 30 days',
  countTimes: '{amount}, {count} payments',
  clockOffset: 'Clock correction',
  errorPrefix: 'Something went wrong: {message}',
  reason_never_enrolled: 'this phone has no wallet yet.',
  reason_no_credential: 'no offline key yet. Go online once to get one.',
  reason_no_credential_ineligible: 'the server does not allow offline payment for this wallet ({why}).',
  reason_credential_expired: 'the offline key has expired. Go online once to renew it.',
  reason_credential_not_yet_valid: 'the offline key is not valid yet. Check the phone clock.',
  reason_clock_never_synced: 'the clock was never synced with the server. Go online once.',
  reason_limits_daily: 'the offline limit for today is used up.',
  reason_limits_monthly: 'the offline limit for this month is used up.',
  reason_limits_empty: 'no offline allowance: the balance was empty when the offline key was issued. Top up while online.',
} as const;

export type MessageKey = keyof typeof en;

const ja: Record<MessageKey, string> = {
  appTitle: 'kioskpay ウォレット',
  language: 'English',
  welcomeTitle: 'スマホでキオスク決済',
  welcomeBody: 'このスマホにウォレットを作成します。鍵はスマホに保存され、秘密鍵が外に出ることはありません。',
  createWallet: 'ウォレットを作成',
  balance: '残高',
  pay: '支払う',
  offlineMode: 'オフラインモード',
  history: '取引履歴',
  methods: '支払い方法',
  back: '戻る',
  cancel: 'キャンセル',
  close: '閉じる',
  offlineBanner: 'オフライン',
  offlineReady: 'オフライン支払いは {until} まで利用できます。',
  offlineUnavailable: 'オフライン支払いは利用できません：{reason}',
  clockSynced: 'サーバーと時刻を同期しました（{offset} 秒のずれ）。',
  clockNotSynced: 'サーバーとの時刻同期がまだです。',
  noNetwork: 'ネットワークに接続していません。保存済みの情報を表示しています。',
  waitingTitle: 'コードを取得しています…',
  waitingBody: 'サーバーにワンタイムコードを要求しています。',
  onlineCodeTitle: 'このコードをキオスクに見せてください',
  expiresIn: '{s} 秒後に新しいコード',
  halfSheetTitle: 'オフラインで支払いますか？',
  halfSheetTimeout: '{s} 秒以内にサーバーからコードが届きませんでした。',
  halfSheetNetwork: '現在このスマホはサーバーに接続できません。',
  halfSheetServer: '現在サーバーがコードを発行できません。',
  useOffline: 'オフライン支払いを使う',
  whatIsOffline: 'オフライン支払いとは？',
  explainTitle: 'オフライン支払い',
  explain1: '通信できないときも、スマホが自分で支払いコードを作れます。キオスクはサーバーに問い合わせずにコードを確認します。',
  explain2:
    'コードは数秒ごとに変わり、1回だけ使えます。支払いは取引履歴に「確認待ち」と表示され、キオスクがサーバーに報告すると確定します。',
  explain3: 'オフライン支払いには1回・1日・1か月あたりの上限があります。利用を続けるには、少なくとも週に1回オンラインにしてください。',
  offlineCodeTitle: 'このオフラインコードをキオスクに見せてください',
  offlineCodeNote: 'コード #{counter} ・ {time}（サーバー時刻）作成 ・ {s} 秒後に更新',
  showNumeric: 'バーコード（数字）で表示',
  showQr: 'QRコードで表示',
  numericNote: 'バーコードリーダーのキオスク用。{time} に新しいコード。',
  numericWait: 'この番号は表示済みです。{s} 秒後に新しい番号。',
  copyCode: 'コードをコピー',
  copied: 'コピーしました。キオスクのコード入力欄に貼り付けてください。',
  copyFailed: 'コピーできませんでした。テキストを選択してコピーしてください。',
  codeText: 'コードのテキスト',
  paidTitle: '支払い完了',
  paidBody: '{kiosk} で {amount}',
  historyTitle: '取引履歴',
  historyEmpty: '取引はまだありません。',
  pendingOffline: 'オフライン支払い ・ 確認待ち',
  pendingNote: '{time} に表示したコード。支払いに使った場合、キオスクがオンラインになると報告されます。',
  statusPaid: '支払い済み',
  statusDeclined: '拒否',
  statusVoided: '取消',
  statusRefunded: '返金済み',
  refundedNote: '{amount} のうち {refunded} を返金',
  kindOnline: 'オンライン',
  kindOffline: 'オフライン',
  methodsTitle: '支払い方法',
  methodBalance: 'ウォレット残高',
  selected: '選択中',
  topupDemo: '{amount} をチャージ（デモ）',
  topupDone: '{amount} をチャージしました。',
  credentialTitle: 'オフライン支払い',
  validUntil: '有効期限',
  renewAfter: '更新予定',
  perPayment: '1回あたり',
  perDay: '24時間あたり',
  perMonth: '30日あたり',
  countTimes: '{amount}・{count} 回',
  clockOffset: '時刻の補正',
  errorPrefix: 'エラーが発生しました：{message}',
  reason_never_enrolled: 'このスマホにはまだウォレットがありません。',
  reason_no_credential: 'オフライン用の鍵がまだありません。一度オンラインにしてください。',
  reason_no_credential_ineligible: 'このウォレットはオフライン支払いを利用できません（{why}）。',
  reason_credential_expired: 'オフライン用の鍵の期限が切れました。一度オンラインにして更新してください。',
  reason_credential_not_yet_valid: 'オフライン用の鍵はまだ有効ではありません。スマホの時計を確認してください。',
  reason_clock_never_synced: 'サーバーと時刻を同期したことがありません。一度オンラインにしてください。',
  reason_limits_daily: '本日のオフライン支払いの上限に達しました。',
  reason_limits_monthly: '今月のオフライン支払いの上限に達しました。',
  reason_limits_empty: 'オフライン支払い枠がありません：鍵の発行時に残高がありませんでした。オンラインでチャージしてください。',
};

export type Lang = 'en' | 'ja';
const TABLES: Record<Lang, Record<MessageKey, string>> = { en, ja };

/** The phone's preferred language if we have it, else English. */
export function preferredLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'ja' || base === 'en') return base;
  }
  return 'en';
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const table = TABLES[lang];
  return (key, params = {}) => table[key].replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** Time of day in the phone's locale, for the language shown. */
export function formatTime(lang: Lang, ms: number, withDate = false): string {
  const d = new Date(ms);
  return withDate
    ? d.toLocaleString(lang === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' })
    : d.toLocaleTimeString(lang === 'ja' ? 'ja-JP' : 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
