// SPDX-License-Identifier: Apache-2.0
// The operator dashboard in the browser. Listens to /ops/events (a snapshot, then changes) for the
// fleet, Help requests, alerts, exposure, stored payments and declines; asks /ops/api/sales,
// /ops/api/transactions and /ops/api/audit for reports, and POSTs refunds to /ops/api/refund and
// Help requests handled to /ops/api/help/handled with the session's CSRF token. Times come from the server as ISO 8601 with the deployment's offset and
// are shown as local time with that offset; ages ("3 min ago") tick every second against the
// server's clock. Every CSV export is the text the server sent with the rows on screen. Plain
// script, no libraries; every value from the server goes into the page as text (textContent, SVG
// attributes), never as HTML.
(function () {
  'use strict';
  var body = document.body;
  var csrf = (document.querySelector('meta[name="kp-csrf"]') || { content: '' }).content;
  var EXP = { JPY: 0, USD: 2, EUR: 2 };
  var state = { kiosks: {}, summary: null, ledger: null, reasons: {}, skewMs: 0, sales: null, tx: null, audit: null, refunding: null };

  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function empty(node, text) {
    clear(node).appendChild(el('p', { class: 'empty' }, text));
  }

  /** Integer minor units to text, as shared/money.ts formatMoney does. */
  function money(value, currency) {
    var exp = EXP[currency] || 0;
    var abs = Math.abs(value),
      unit = 10 ** exp;
    var major = Math.floor(abs / unit).toLocaleString('en-US');
    var minor = exp > 0 ? '.' + String(abs % unit).padStart(exp, '0') : '';
    var sign = value < 0 ? '-' : '';
    return currency === 'JPY' ? sign + '\u00a5' + major : sign + currency + ' ' + major + minor;
  }
  /** Text typed in major units ("1,200", "12.34") to minor units, or null. */
  function minorUnits(text, currency) {
    var exp = EXP[currency] || 0;
    var m = /^(\d{1,13})(?:\.(\d+))?$/.exec(String(text).replace(/,/g, '').trim());
    if (!m || (m[2] !== undefined && m[2].length > exp)) return null;
    return Number(m[1]) * 10 ** exp + Number((m[2] || '').padEnd(exp, '0') || '0');
  }
  function majorText(value, currency) {
    var exp = EXP[currency] || 0;
    return exp === 0 ? String(value) : (value / 10 ** exp).toFixed(exp);
  }

  // ---- time: the server's ISO 8601 with offset, shown as local time with the offset ----------------
  /** 2026-11-28T21:00:03+09:00 -> 21:00:03 +09:00 */
  function timeOf(iso) {
    return iso ? iso.slice(11, 19) + ' ' + iso.slice(19) : '\u2014';
  }
  /** 2026-11-28T21:00:03+09:00 -> 2026-11-28 21:00:03 +09:00 */
  function dateTimeOf(iso) {
    return iso ? iso.slice(0, 10) + ' ' + timeOf(iso) : '\u2014';
  }
  function serverNow() {
    return Date.now() + state.skewMs;
  }
  function age(iso) {
    var s = Math.max(0, Math.round((serverNow() - Date.parse(iso)) / 1000));
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.floor(s / 60) + ' min';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  /** An element whose text is kept as "<prefix><age><suffix>" every second. */
  function ageEl(tag, iso, prefix, suffix, attrs) {
    var a = attrs || {};
    a['data-age-since'] = iso;
    a['data-age-prefix'] = prefix || '';
    a['data-age-suffix'] = suffix || '';
    a.title = dateTimeOf(iso);
    return el(tag, a, (prefix || '') + age(iso) + (suffix || ''));
  }
  function tickAges() {
    var list = document.querySelectorAll('[data-age-since]');
    for (var i = 0; i < list.length; i++) {
      var e = list[i];
      e.textContent = e.getAttribute('data-age-prefix') + age(e.getAttribute('data-age-since')) + e.getAttribute('data-age-suffix');
    }
  }
  function learnServerTime(iso) {
    if (iso) state.skewMs = Date.parse(iso) - Date.now();
  }

  function reasonText(code) {
    if (!code) return '';
    var s = state.reasons[code];
    return s ? s + ' (' + code + ')' : code;
  }

  // ---- the fleet, Help requests, alerts, exposure -------------------------------------------------
  function linkOf(k) {
    return k.link === 'online' && k.stale ? 'stale' : k.link;
  }

  function drawFleet() {
    var grid = clear($('fleet'));
    var ids = Object.keys(state.kiosks).sort();
    var counts = { online: 0, offline: 0, unknown: 0, stale: 0 };
    ids.forEach(function (id) {
      var k = state.kiosks[id];
      var link = linkOf(k);
      counts[link] += 1;
      var card = el('div', {
        class: 'kiosk',
        'data-kiosk-id': id,
        'data-link': k.link,
        'data-stale': String(k.stale),
        'data-checkout': k.checkout || '',
      });
      var head = el('div', { class: 'kiosk-head' });
      head.appendChild(el('span', { class: 'badge ' + link, 'data-testid': 'badge-' + id }, link.toUpperCase()));
      head.appendChild(el('b', null, id));
      card.appendChild(head);
      var b = el('div', { class: 'kiosk-body' });
      var since = el(
        'div',
        null,
        (k.link === 'online' ? 'online since ' : k.link === 'offline' ? 'offline since ' : 'not heard since ') + timeOf(k.since) + ' ',
      );
      since.appendChild(ageEl('span', k.since, '(', ')'));
      if (k.offlineReason) since.appendChild(document.createTextNode(k.offlineReason === 'lost' ? ' connection lost' : ' shut down'));
      if (k.link === 'offline') since.className = 'bad';
      b.appendChild(since);
      if (k.mode) b.appendChild(el('div', null, k.mode + ' \u00b7 ' + (k.policy ? k.policy.mode : '?') + ' \u00b7 ' + (k.checkout || '')));
      if (k.queue && k.policy) {
        var q = el(
          'div',
          null,
          'stored ' +
            k.queue.count +
            '/' +
            k.policy.caps.storedCountMax +
            ' \u00b7 ' +
            money(k.queue.amount.value, k.queue.amount.currency) +
            ' / ' +
            money(k.policy.caps.storedAmountMax, k.queue.amount.currency),
        );
        if (k.queue.count * 5 >= k.policy.caps.storedCountMax * 4 || k.queue.amount.value * 5 >= k.policy.caps.storedAmountMax * 4)
          q.className = 'warn';
        b.appendChild(q);
      }
      if (k.clock) {
        var c = el(
          'div',
          null,
          'clock ' +
            (k.clock.trusted ? 'trusted' : 'NOT trusted') +
            (k.clock.uncertaintyMs !== null ? ' \u00b1' + k.clock.uncertaintyMs + ' ms' : ''),
        );
        if (!k.clock.trusted) c.className = 'warn';
        b.appendChild(c);
      }
      if (k.faults?.length) b.appendChild(el('div', { class: 'bad' }, k.faults.join('; ')));
      var heard = el('div', { class: 'heard' });
      if (k.lastHeardAt === null) heard.textContent = 'never heard';
      else heard.appendChild(ageEl('span', k.lastHeardAt, 'last heard ', ' ago'));
      if (k.firmware) heard.appendChild(document.createTextNode(' \u00b7 ' + k.firmware));
      b.appendChild(heard);
      card.appendChild(b);
      grid.appendChild(card);
    });
    if (ids.length === 0) empty(grid, 'No kiosk has reported yet.');
    $('fleet-count').textContent =
      ids.length +
      ' kiosks: ' +
      counts.online +
      ' online, ' +
      counts.offline +
      ' offline' +
      (counts.stale ? ', ' + counts.stale + ' stale' : '') +
      (counts.unknown ? ', ' + counts.unknown + ' never heard' : '');
  }

  function drawSummary() {
    var s = state.summary;
    if (!s) return;
    var help = clear($('help'));
    var open = 0;
    s.help.forEach(function (h) {
      var li = el(
        'li',
        { class: h.handled ? 'handled' : 'critical', 'data-kiosk-id': h.kioskId, 'data-handled-by': h.handled ? h.handled.by : null },
        h.kioskId + ': a shopper pressed Help' + (h.count > 1 ? ' (' + h.count + ' times)' : '') + ' at ' + timeOf(h.at) + ', ',
      );
      li.appendChild(ageEl('span', h.at, '', ' ago'));
      if (h.handled) {
        li.appendChild(document.createTextNode('; handled by ' + h.handled.by + ' at ' + timeOf(h.handled.at) + ', '));
        li.appendChild(ageEl('span', h.handled.at, '', ' ago', { class: 'handled-age' }));
      } else {
        open += 1;
        li.appendChild(el('button', { type: 'button', 'data-help-handled': h.kioskId }, 'Mark handled'));
      }
      help.appendChild(li);
    });
    if (s.help.length === 0) help.appendChild(el('li', { class: 'empty' }, 'No open Help requests.'));
    var handled = s.help.length - open;
    $('help-count').textContent = [open ? open + ' open' : '', handled ? handled + ' handled' : ''].filter(Boolean).join(', ');
    var list = clear($('alerts'));
    s.alerts.forEach(function (a) {
      var attrs = { class: a.severity, 'data-kind': a.kind, 'data-kiosk-id': a.kioskId };
      if (a.walletId) attrs['data-wallet-id'] = a.walletId;
      if (a.amount) attrs['data-amount'] = String(a.amount.value);
      var li = el('li', attrs, a.message + ' ');
      li.appendChild(ageEl('small', a.since, '(since ' + timeOf(a.since) + ', ', ')'));
      list.appendChild(li);
    });
    if (s.alerts.length === 0) list.appendChild(el('li', { class: 'empty' }, 'No alerts.'));
    var ex = clear($('exposure'));
    if (s.exposure.length === 0) ex.appendChild(el('div', { class: 'figure' }, money(0, 'JPY')));
    s.exposure.forEach(function (x) {
      ex.appendChild(el('div', { class: 'figure', 'data-currency': x.currency }, money(x.amount, x.currency)));
      ex.appendChild(el('div', { class: 'empty' }, x.count + ' stored payments not yet settled, across the fleet (last known)'));
    });
    drawDeclines();
  }

  function reasonTable(rows) {
    var t = el('table');
    var head = el('tr');
    ['Reason', 'Code', 'Count'].forEach(function (h, i) {
      head.appendChild(el('th', i === 2 ? { class: 'num' } : null, h));
    });
    t.appendChild(head);
    rows.forEach(function (r) {
      var tr = el('tr', { 'data-reason': r.reason });
      tr.appendChild(el('td', { class: 'sentence' }, (state.reasons[r.code || r.reason] || 'Reason not recorded.') + (r.suffix || '')));
      tr.appendChild(el('td', null, r.code || r.reason));
      tr.appendChild(el('td', { class: 'num' }, r.count));
      t.appendChild(tr);
    });
    return t;
  }
  function entries(map) {
    return Object.keys(map)
      .map(function (k) {
        return { reason: k, count: map[k] };
      })
      .sort(function (a, b) {
        return b.count - a.count;
      });
  }

  function drawDeclines() {
    var box = clear($('declines'));
    var l = state.ledger,
      s = state.summary;
    box.appendChild(el('h3', null, 'Recorded by the server today'));
    if (l?.declines.length) box.appendChild(reasonTable(l.declines));
    else box.appendChild(el('p', { class: 'empty' }, 'None.'));
    box.appendChild(el('h3', null, 'Reported live by kiosks (including declines decided on the kiosk)'));
    var live = s
      ? entries(s.declines.checkout).concat(
          entries(s.declines.settlement).map(function (r) {
            return { reason: r.reason + ' (settlement)', code: r.reason, suffix: ' At settlement.', count: r.count };
          }),
        )
      : [];
    if (live.length) box.appendChild(reasonTable(live));
    else box.appendChild(el('p', { class: 'empty' }, 'None.'));
  }

  function drawStored() {
    var l = state.ledger;
    if (!l) return;
    var st = l.stored;
    var sum = clear($('stored-summary'));
    var parts = st.settled.map(function (s) {
      return s.count + ' settled (' + s.amount.text + ')';
    });
    var declined = st.declined.reduce(function (n, d) {
      return n + d.count;
    }, 0);
    parts.push(declined + ' declined at settlement');
    sum.appendChild(
      el('p', null, parts.join(' \u00b7 ') + (st.truncated ? ' (first ' + st.items.length + ' shown; totals cover the newest only)' : '')),
    );
    var t = clear($('stored'));
    var head = el('tr');
    ['Kiosk', 'Transaction', 'Captured', 'Received', 'Amount', 'State'].forEach(function (h, i) {
      head.appendChild(el('th', i === 4 ? { class: 'num' } : null, h));
    });
    t.appendChild(head);
    st.items.forEach(function (p) {
      var tr = el('tr', { 'data-tx-id': p.txId });
      tr.appendChild(el('td', null, p.kioskId));
      tr.appendChild(el('td', null, p.txId));
      tr.appendChild(el('td', null, timeOf(p.capturedAt)));
      tr.appendChild(el('td', null, timeOf(p.receivedAt)));
      tr.appendChild(el('td', { class: 'num' }, p.amount.text));
      tr.appendChild(
        el(
          'td',
          { class: 'state-' + p.state },
          p.state === 'settled' ? 'settled' : 'declined: ' + reasonText(p.reason) + (p.replay ? ' (replay)' : ''),
        ),
      );
      t.appendChild(tr);
    });
    if (st.items.length === 0) {
      var tr = el('tr');
      tr.appendChild(el('td', { colspan: '6', class: 'empty' }, 'None received today.'));
      t.appendChild(tr);
    }
  }

  // ---- charts -------------------------------------------------------------------------------------
  /** Horizontal or vertical bars of minor-unit amounts; `part` (refunds) is drawn over the end of a bar. */
  function barChart(rows, o) {
    var max =
      rows.reduce(function (m, r) {
        return Math.max(m, r.total);
      }, 0) || 1;
    var svg;
    if (o.horizontal) {
      var rowH = 22,
        labelW = o.labelW || 150,
        w = 620,
        valueW = 120;
      svg = svgEl('svg', {
        width: w,
        height: rows.length * rowH + 4,
        viewBox: '0 0 ' + w + ' ' + (rows.length * rowH + 4),
        role: 'img',
        'aria-label': o.label,
      });
      rows.forEach(function (r, i) {
        var y = i * rowH + 2,
          span = w - labelW - valueW;
        var len = Math.round((r.total * span) / max),
          part = Math.round(((r.part || 0) * span) / max);
        svg.appendChild(svgEl('text', { x: 0, y: y + 14 }, r.label.length > 24 ? r.label.slice(0, 23) + '\u2026' : r.label));
        svg.appendChild(svgEl('rect', { class: 'bar', x: labelW, y: y, width: Math.max(len, 1), height: rowH - 6 }));
        if (part > 0) svg.appendChild(svgEl('rect', { class: 'bar part', x: labelW + len - part, y: y, width: part, height: rowH - 6 }));
        svg.appendChild(svgEl('text', { x: labelW + len + 6, y: y + 14 }, r.text));
      });
    } else {
      var h = 120,
        bw = Math.max(8, Math.min(44, Math.floor(900 / Math.max(rows.length, 1)) - 6)),
        gap = 6,
        top = 16,
        bottom = 18;
      var width = Math.max(rows.length * (bw + gap), 40);
      // A label needs about 36 px; amounts go on top of the bars while there is room for them.
      var every = Math.max(1, Math.ceil(36 / (bw + gap)));
      var amounts = bw + gap >= 40;
      svg = svgEl('svg', {
        width: width,
        height: h + top + bottom,
        viewBox: '0 0 ' + width + ' ' + (h + top + bottom),
        role: 'img',
        'aria-label': o.label,
      });
      rows.forEach(function (r, i) {
        var x = i * (bw + gap),
          len = Math.round((r.total * h) / max),
          part = Math.round(((r.part || 0) * h) / max);
        var rect = svgEl('rect', { class: 'bar', x: x, y: top + h - len, width: bw, height: len, 'data-label': r.label });
        rect.appendChild(svgEl('title', {}, r.label + ': ' + r.text));
        svg.appendChild(rect);
        if (part > 0) svg.appendChild(svgEl('rect', { class: 'bar part', x: x, y: top + h - len, width: bw, height: part }));
        if (i % every === 0) svg.appendChild(svgEl('text', { x: x, y: top + h + 13 }, r.short || r.label));
        if (amounts && r.total > 0) svg.appendChild(svgEl('text', { x: x, y: top + h - len - 4 }, r.text.split(' ')[0]));
      });
    }
    return svg;
  }

  // ---- requests -----------------------------------------------------------------------------------
  function getJson(path) {
    return fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (r) {
      if (r.status === 401) {
        location.assign('/ops/login');
        throw new Error('logged out');
      }
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b?.error ? b.error.message + ' (' + b.error.code + ')' : 'HTTP ' + r.status);
        return b;
      });
    });
  }
  function query(form) {
    var p = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (v, k) {
      if (String(v).trim() !== '') p.set(k, String(v).trim());
    });
    return p.toString();
  }
  function fillKiosks(select, kiosks) {
    var keep = select.value;
    while (select.options.length > 1) select.remove(1);
    kiosks.forEach(function (k) {
      select.appendChild(el('option', { value: k }, k));
    });
    select.value = keep;
  }

  // ---- sales --------------------------------------------------------------------------------------
  function salesRowText(r) {
    return r.amount.text + ' (' + r.payments + ')';
  }

  function loadSales() {
    $('sales-error').textContent = '';
    return getJson('/ops/api/sales?' + query($('sales-form'))).then(
      function (r) {
        state.sales = r;
        drawSales();
      },
      function (e) {
        $('sales-error').textContent = e.message;
      },
    );
  }

  function drawSales() {
    var r = state.sales;
    if (!r) return;
    $('sales-range').textContent =
      (r.from === r.to ? r.from : r.from + ' to ' + r.to) +
      ' \u00b7 ' +
      r.timeZoneLabel +
      (r.kioskId ? ' \u00b7 ' + r.kioskId : '') +
      (r.product ? ' \u00b7 ' + r.product.label : '');
    var totals = clear($('sales-totals'));
    r.totals.forEach(function (t) {
      var f = el('div', { class: 'figure-box', 'data-currency': t.currency });
      f.appendChild(el('div', { class: 'figure' }, t.amount.text));
      f.appendChild(el('div', { class: 'caption' }, t.payments + ' payments' + (t.units ? ', ' + t.units + ' items' : '')));
      if (t.refunded) f.appendChild(el('div', { class: 'caption' }, 'refunded ' + t.refunded.text + ' \u00b7 net ' + t.net.text));
      else f.appendChild(el('div', { class: 'caption' }, 'refunds are per payment, not per product'));
      totals.appendChild(f);
    });
    var primary = r.totals[0] ? r.totals[0].currency : 'JPY';
    var perTime = r.byHour.length ? r.byHour : r.byDay;
    $('sales-time-title').textContent = r.byHour.length ? 'Per hour' : 'Per day';
    var ct = clear($('chart-time'));
    ct.appendChild(
      barChart(
        perTime
          .filter(function (x) {
            return x.currency === primary;
          })
          .map(function (x) {
            var label = x.hour || x.date;
            return {
              label: label,
              short: x.hour ? x.hour.slice(0, 2) : x.date.slice(5),
              total: x.amount.value,
              part: x.refunded ? x.refunded.value : 0,
              text: salesRowText(x),
            };
          }),
        { horizontal: false, label: 'Sales per ' + (r.byHour.length ? 'hour' : 'day') + ', ' + primary },
      ),
    );
    var ck = clear($('chart-kiosk'));
    var kiosks = r.byKiosk.filter(function (k) {
      return k.currency === primary;
    });
    if (kiosks.length === 0) empty(ck, 'No sales.');
    else
      ck.appendChild(
        barChart(
          kiosks.map(function (k) {
            return { label: k.kioskId, total: k.amount.value, part: k.refunded ? k.refunded.value : 0, text: salesRowText(k) };
          }),
          { horizontal: true, label: 'Sales per kiosk', labelW: 110 },
        ),
      );
    table(
      $('sales-kiosks'),
      ['Kiosk', 'Payments', 'Items', 'Sales', 'Refunded', 'Net'],
      r.byKiosk.map(function (k) {
        return {
          attrs: { 'data-kiosk-id': k.kioskId },
          cells: [k.kioskId, k.payments, k.units, k.amount.text, k.refunded ? k.refunded.text : '\u2014', k.net ? k.net.text : '\u2014'],
        };
      }),
      [1, 2, 3, 4, 5],
    );
    $('sales-product-title').textContent = r.groupBy;
    var cp = clear($('chart-product'));
    var products = r.byProduct
      .filter(function (p) {
        return p.currency === primary;
      })
      .slice(0, 15);
    if (products.length === 0) empty(cp, 'No sales.');
    else
      cp.appendChild(
        barChart(
          products.map(function (p) {
            return { label: p.label, total: p.amount.value, text: salesRowText(p) };
          }),
          { horizontal: true, label: 'Sales per ' + r.groupBy },
        ),
      );
    table(
      $('sales-products-table'),
      [r.groupBy === 'slot' ? 'Slot' : 'Product', 'Payments', 'Items', 'Sales'],
      r.byProduct.map(function (p) {
        return { attrs: { 'data-product': p.key }, cells: [p.label, p.payments, p.units, p.amount.text] };
      }),
      [1, 2, 3],
    );
  }

  /** A table of text cells; `num` lists the right-aligned columns, `wrap` those whose text may wrap. */
  function table(t, header, rows, num, wrap) {
    wrap = wrap || [];
    clear(t);
    var head = el('tr');
    header.forEach(function (h, i) {
      head.appendChild(el('th', num.indexOf(i) >= 0 ? { class: 'num' } : null, h));
    });
    t.appendChild(head);
    rows.forEach(function (row) {
      var tr = el('tr', row.attrs);
      row.cells.forEach(function (c, i) {
        var cls = num.indexOf(i) >= 0 ? 'num' : wrap.indexOf(i) >= 0 ? 'wrap' : null;
        if (c instanceof Node) {
          var td = el('td', cls ? { class: cls } : null);
          td.appendChild(c);
          tr.appendChild(td);
        } else tr.appendChild(el('td', cls ? { class: cls } : null, c));
      });
      t.appendChild(tr);
    });
    if (rows.length === 0) {
      var tr = el('tr');
      tr.appendChild(el('td', { colspan: String(header.length), class: 'empty' }, 'Nothing in this range.'));
      t.appendChild(tr);
    }
  }

  // ---- transactions and refunds -------------------------------------------------------------------
  function loadTransactions() {
    $('tx-error').textContent = '';
    return getJson('/ops/api/transactions?' + query($('tx-form'))).then(
      function (r) {
        state.tx = r;
        drawTransactions();
      },
      function (e) {
        $('tx-error').textContent = e.message;
      },
    );
  }

  function statusText(t) {
    if (t.status === 'declined' || (t.status === 'voided' && t.reason)) return t.status + ': ' + reasonText(t.reason);
    return t.status;
  }

  function drawTransactions() {
    var r = state.tx;
    if (!r) return;
    $('tx-summary').textContent =
      r.items.length + (r.truncated ? '+ (the newest shown)' : '') + ' found, ' + r.from + ' to ' + r.to + ', ' + r.timeZoneLabel;
    table(
      $('tx-table'),
      ['Time', 'Kiosk', 'Transaction', 'Products', 'Amount', 'Refunded', 'Status', '', 'Payment', 'Wallet', 'Kind'],
      r.items.map(function (t) {
        var actions = el('span', { class: 'actions' });
        if (t.refundable.value > 0) {
          actions.appendChild(el('button', { type: 'button', 'data-refund': t.paymentId, 'data-action': 'refund' }, 'Refund\u2026'));
          actions.appendChild(el('button', { type: 'button', 'data-refund': t.paymentId, 'data-action': 'void' }, 'Void\u2026'));
        }
        return {
          attrs: { 'data-payment-id': t.paymentId, 'data-tx-id': t.txId, 'data-status': t.status, class: 'status-' + t.status },
          cells: [
            dateTimeOf(t.at),
            t.kioskId,
            t.txId,
            t.products || '\u2014',
            t.amount.text,
            t.refunded.value ? t.refunded.text : '',
            statusText(t),
            actions,
            t.paymentId,
            t.walletId || '\u2014',
            t.kind || '\u2014',
          ],
        };
      }),
      [4, 5],
      [3, 6],
    );
  }

  function newRequestKey() {
    var b = new Uint8Array(18);
    crypto.getRandomValues(b);
    var s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_');
  }

  function openRefund(paymentId, action) {
    var t = state.tx?.items.filter(function (x) {
      return x.paymentId === paymentId;
    })[0];
    if (!t) return;
    state.refunding = { item: t, requestKey: newRequestKey() };
    $('refund-title').textContent = (action === 'void' ? 'Void ' : 'Refund ') + t.paymentId;
    $('refund-payment').textContent =
      t.amount.text +
      ' at ' +
      t.kioskId +
      ' (' +
      t.txId +
      ', ' +
      dateTimeOf(t.at) +
      ')' +
      (t.products ? ': ' + t.products : '') +
      '. Refunded so far ' +
      t.refunded.text +
      '; up to ' +
      t.refundable.text +
      ' can be given back.';
    $('refund-action').value = action;
    $('refund-amount').value = majorText(t.refundable.value, t.refundable.currency);
    $('refund-reason').value = '';
    syncRefundAction();
    $('refund-form').hidden = false;
    $('refund-result').textContent = '';
    $('refund-reason').focus();
  }
  function syncRefundAction() {
    var isVoid = $('refund-action').value === 'void';
    $('refund-amount-label').hidden = isVoid;
    $('refund-amount').disabled = isVoid;
  }

  /** POSTs an operator's action as JSON with the session's CSRF token; resolves with the answer, rejects with its message. */
  function postAction(path, payload) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify(payload),
    }).then(function (resp) {
      return resp.json().then(function (b) {
        if (!resp.ok) throw new Error(b?.error ? b.error.message + ' (' + b.error.code + ')' : 'HTTP ' + resp.status);
        return b;
      });
    });
  }

  function submitRefund() {
    var r = state.refunding;
    if (!r) return;
    var action = $('refund-action').value;
    var amount = null;
    if (action === 'refund') {
      amount = minorUnits($('refund-amount').value, r.item.amount.currency);
      if (amount === null || amount < 1) {
        showRefundResult('bad', 'Enter an amount in ' + r.item.amount.currency + '.');
        return;
      }
    }
    var payload = {
      paymentId: r.item.paymentId,
      action: action,
      amount: amount,
      reason: $('refund-reason').value,
      requestKey: r.requestKey,
    };
    $('refund-submit').disabled = true;
    postAction('/ops/api/refund', payload)
      .then(
        function (b) {
          state.refunding = null;
          $('refund-form').hidden = true;
          showRefundResult(
            'ok',
            (b.action.action === 'void' ? 'Voided ' : 'Refunded ') +
              b.action.amount.text +
              ' of ' +
              b.payment.paymentId +
              ' (' +
              b.payment.kioskId +
              ', ' +
              b.payment.txId +
              '), recorded under ' +
              b.action.operator +
              '. So far ' +
              b.refunded.text +
              ' of ' +
              b.payment.amount.text +
              ' refunded; the shopper\u2019s balance is now ' +
              b.shopperBalance.text +
              '.',
            b,
          );
          return Promise.all([loadTransactions(), loadAudit(), loadSales()]);
        },
        function (e) {
          // The same request key is kept: sending again cannot give money back twice.
          showRefundResult('bad', 'Refused: ' + e.message);
        },
      )
      .then(function () {
        $('refund-submit').disabled = false;
      });
  }
  function showRefundResult(kind, text, b) {
    var p = $('refund-result');
    p.className = kind;
    p.textContent = text;
    if (b) {
      p.setAttribute('data-payment-id', b.payment.paymentId);
      p.setAttribute('data-balance', String(b.shopperBalance.value));
    }
  }

  // ---- Help requests handled ----------------------------------------------------------------------
  function markHandled(kioskId, button) {
    button.disabled = true;
    $('help-result').className = '';
    $('help-result').textContent = '';
    postAction('/ops/api/help/handled', { kioskId: kioskId }).then(
      function (b) {
        // The stream brings the same to every dashboard; this one need not wait for it.
        if (state.summary) {
          state.summary.help = state.summary.help.map(function (h) {
            return h.kioskId === b.request.kioskId ? b.request : h;
          });
          drawSummary();
        }
        loadAudit();
      },
      function (e) {
        button.disabled = false;
        $('help-result').className = 'bad';
        $('help-result').textContent = 'Not marked: ' + e.message;
      },
    );
  }
  /** Which Help requests are handled, and when: the audit log is asked again when it changes. */
  function handledKey(s) {
    return (s?.help || [])
      .filter(function (h) {
        return h.handled;
      })
      .map(function (h) {
        return h.kioskId + '@' + h.handled.at;
      })
      .join(' ');
  }

  // ---- the audit log ------------------------------------------------------------------------------
  function loadAudit() {
    var to = state.ledger ? state.ledger.day : '';
    return getJson('/ops/api/audit' + (to ? '?to=' + to : '')).then(
      function (r) {
        state.audit = r;
        drawAudit();
      },
      function () {},
    );
  }
  function drawAudit() {
    var r = state.audit;
    if (!r) return;
    table(
      $('audit'),
      ['Time', 'Operator', 'Action', 'Payment or kiosk', 'Amount', 'Reason'],
      r.items.map(function (a) {
        var help = a.help;
        return {
          attrs: { 'data-action-id': a.id, 'data-action': a.action, 'data-payment-id': a.paymentId, 'data-kiosk-id': a.kioskId },
          cells: [
            dateTimeOf(a.at),
            a.operator,
            help ? 'Help handled' : a.action,
            a.paymentId || a.kioskId,
            a.amount ? a.amount.text : '\u2014',
            help
              ? 'a shopper pressed Help' +
                (help.presses > 1 ? ' (' + help.presses + ' times)' : '') +
                ', the last at ' +
                timeOf(help.requestedAt)
              : a.reason,
          ],
        };
      }),
      [4],
    );
  }

  // ---- exports ------------------------------------------------------------------------------------
  function exportOf(which) {
    if (which === 'tx') return state.tx?.csv;
    if (which === 'audit') return state.audit?.csv;
    return state.sales?.csv[which.slice('sales-'.length)];
  }
  function download(csv) {
    // A byte order mark, so spreadsheets read the UTF-8 (product names, yen signs) as such.
    var url = URL.createObjectURL(new Blob(['\ufeff' + csv.text], { type: 'text/csv;charset=utf-8' }));
    var a = el('a', { href: url, download: csv.filename });
    body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
  }

  // ---- the live stream ----------------------------------------------------------------------------
  function setLive(text, cls) {
    var l = $('live');
    l.textContent = text;
    l.className = 'live ' + cls;
    body.setAttribute('data-live', cls);
  }

  var started = false;
  function onSnapshot(s) {
    state.reasons = s.reasons || {};
    if (s.timeZoneLabel) $('tz').textContent = 'Times in ' + s.timeZoneLabel;
    state.kiosks = {};
    s.fleet.kiosks.forEach(function (k) {
      state.kiosks[k.kioskId] = k;
    });
    state.summary = {
      at: s.fleet.at,
      alerts: s.fleet.alerts,
      exposure: s.fleet.exposure,
      declines: s.fleet.declines,
      help: s.fleet.help,
      ignored: s.fleet.ignored,
    };
    learnServerTime(s.fleet.at);
    state.ledger = s.ledger;
    if (s.choices) {
      fillKiosks($('sales-kiosk'), s.choices.kiosks);
      fillKiosks($('tx-kiosk'), s.choices.kiosks);
      [
        ['sales-products', s.choices.products],
        ['sales-slots', s.choices.slots],
      ].forEach(function (g) {
        var group = clear($(g[0]));
        g[1].forEach(function (o) {
          group.appendChild(el('option', { value: o.value }, o.label));
        });
      });
    }
    drawFleet();
    drawSummary();
    drawStored();
    drawDeclines();
    if (!started) {
      started = true;
      var today = s.ledger.day;
      $('sales-from').value = today;
      $('sales-to').value = today;
      var week = new Date(Date.parse(today + 'T00:00:00Z') - 6 * 86400000).toISOString().slice(0, 10);
      $('tx-from').value = week;
      $('tx-to').value = today;
      loadSales();
      loadTransactions();
      loadAudit();
    }
  }

  var refreshTimer = null;
  function onLedger(l) {
    state.ledger = l;
    drawStored();
    drawDeclines();
    // Sales and refunds changed: the reports on screen are asked again (a moment later: events come in bursts).
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      loadSales();
      loadAudit();
    }, 300);
  }

  function connect() {
    var es = new EventSource('/ops/events');
    es.addEventListener('open', function () {
      setLive('live', 'on');
    });
    es.addEventListener('snapshot', function (e) {
      onSnapshot(JSON.parse(e.data));
    });
    es.addEventListener('kiosk', function (e) {
      var k = JSON.parse(e.data);
      state.kiosks[k.kioskId] = k;
      drawFleet();
    });
    es.addEventListener('summary', function (e) {
      var before = handledKey(state.summary);
      state.summary = JSON.parse(e.data);
      learnServerTime(state.summary.at);
      drawSummary();
      drawFleet();
      // Another operator marked a Help request handled: the audit log has a new row.
      if (handledKey(state.summary) !== before) loadAudit();
    });
    es.addEventListener('ledger', function (e) {
      onLedger(JSON.parse(e.data));
    });
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CLOSED) {
        // A refused stream (401 after the session expired, 503 when full) is not retried by the browser.
        setLive('disconnected', 'off');
        setTimeout(function () {
          fetch('/ops/api/snapshot', { credentials: 'same-origin' }).then(
            function (r) {
              if (r.status === 401) location.assign('/ops/login');
              else connect();
            },
            function () {
              connect();
            },
          );
        }, 5000);
      } else {
        setLive('reconnecting', 'off');
      }
    });
  }

  $('sales-form').addEventListener('submit', function (e) {
    e.preventDefault();
    loadSales();
  });
  $('tx-form').addEventListener('submit', function (e) {
    e.preventDefault();
    loadTransactions();
  });
  $('refund-form').addEventListener('submit', function (e) {
    e.preventDefault();
    submitRefund();
  });
  $('refund-action').addEventListener('change', syncRefundAction);
  $('refund-cancel').addEventListener('click', function () {
    state.refunding = null;
    $('refund-form').hidden = true;
  });
  body.addEventListener('click', function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    if (t.hasAttribute('data-refund')) openRefund(t.getAttribute('data-refund'), t.getAttribute('data-action'));
    if (t.hasAttribute('data-help-handled')) markHandled(t.getAttribute('data-help-handled'), t);
    if (t.hasAttribute('data-export')) {
      var csv = exportOf(t.getAttribute('data-export'));
      if (csv) download(csv);
    }
  });
  setInterval(tickAges, 1000);
  connect();
})();
