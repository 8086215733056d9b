// SPDX-License-Identifier: Apache-2.0
// The operator dashboard in the browser: listens to /ops/events (a snapshot, then changes) and
// draws the fleet, alerts, exposure, today's sales as inline SVG bar charts, stored offline
// payments and declines. Plain script, no libraries; every value from the server goes into the page
// as text (textContent, SVG attributes), never as HTML.
(function () {
  'use strict';
  var body = document.body;
  var utcOffsetMs = Number(body.getAttribute('data-utc-offset-ms')) || 0;
  var EXP = { JPY: 0, USD: 2, EUR: 2 };
  var state = { kiosks: {}, summary: null, ledger: null };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function empty(node, text) { clear(node).appendChild(el('p', { class: 'empty' }, text)); }

  /** Integer minor units to text, as shared/money.ts formatMoney does. */
  function money(value, currency) {
    var exp = EXP[currency] || 0;
    var abs = Math.abs(value), unit = Math.pow(10, exp);
    var major = Math.floor(abs / unit).toLocaleString('en-US');
    var minor = exp > 0 ? '.' + String(abs % unit).padStart(exp, '0') : '';
    var sign = value < 0 ? '-' : '';
    return currency === 'JPY' ? sign + '\u00a5' + major : sign + currency + ' ' + major + minor;
  }
  function clock(ms) { return ms === null || ms === undefined ? '\u2014' : new Date(ms + utcOffsetMs).toISOString().slice(11, 19); }
  function ago(ms, now) {
    var s = Math.max(0, Math.round((now - ms) / 1000));
    return s < 120 ? s + ' s' : Math.floor(s / 60) + ' min';
  }

  function linkOf(k) { return k.link === 'online' && k.stale ? 'stale' : k.link; }

  function drawFleet() {
    var grid = clear($('fleet'));
    var ids = Object.keys(state.kiosks).sort();
    var now = state.summary ? state.summary.at : Date.now();
    var counts = { online: 0, offline: 0, unknown: 0, stale: 0 };
    ids.forEach(function (id) {
      var k = state.kiosks[id];
      var link = linkOf(k);
      counts[link] += 1;
      var card = el('div', { class: 'kiosk', 'data-kiosk-id': id, 'data-link': k.link, 'data-stale': String(k.stale) });
      var head = el('div', { class: 'kiosk-head' });
      head.appendChild(el('span', { class: 'badge ' + link, 'data-testid': 'badge-' + id }, link.toUpperCase()));
      head.appendChild(el('b', null, id));
      card.appendChild(head);
      var b = el('div', { class: 'kiosk-body' });
      var since = el('div', null, (k.link === 'online' ? 'online since ' : k.link === 'offline' ? 'offline since ' : 'not heard since ') + clock(k.since)
        + (k.offlineReason ? ' (' + (k.offlineReason === 'lost' ? 'connection lost' : 'shut down') + ')' : ''));
      if (k.link === 'offline') since.className = 'bad';
      b.appendChild(since);
      if (k.mode) b.appendChild(el('div', null, k.mode + ' \u00b7 ' + (k.policy ? k.policy.mode : '?') + ' \u00b7 ' + (k.checkout || '')));
      if (k.queue && k.policy) {
        var q = el('div', null, 'stored ' + k.queue.count + '/' + k.policy.caps.storedCountMax + ' \u00b7 '
          + money(k.queue.amount.value, k.queue.amount.currency) + ' / ' + money(k.policy.caps.storedAmountMax, k.queue.amount.currency));
        if (k.queue.count * 5 >= k.policy.caps.storedCountMax * 4 || k.queue.amount.value * 5 >= k.policy.caps.storedAmountMax * 4) q.className = 'warn';
        b.appendChild(q);
      }
      if (k.clock) {
        var c = el('div', null, 'clock ' + (k.clock.trusted ? 'trusted' : 'NOT trusted') + (k.clock.uncertaintyMs !== null ? ' \u00b1' + k.clock.uncertaintyMs + ' ms' : ''));
        if (!k.clock.trusted) c.className = 'warn';
        b.appendChild(c);
      }
      if (k.faults && k.faults.length) b.appendChild(el('div', { class: 'bad' }, k.faults.join('; ')));
      b.appendChild(el('div', null, 'last heard ' + (k.lastHeardAt === null ? 'never' : ago(k.lastHeardAt, now) + ' ago') + (k.firmware ? ' \u00b7 ' + k.firmware : '')));
      card.appendChild(b);
      grid.appendChild(card);
    });
    if (ids.length === 0) empty(grid, 'No kiosk has reported yet.');
    $('fleet-count').textContent = ids.length + ' kiosks: ' + counts.online + ' online, ' + counts.offline + ' offline'
      + (counts.stale ? ', ' + counts.stale + ' stale' : '') + (counts.unknown ? ', ' + counts.unknown + ' never heard' : '');
  }

  function drawSummary() {
    var s = state.summary;
    if (!s) return;
    var list = clear($('alerts'));
    s.alerts.forEach(function (a) {
      var attrs = { class: a.severity, 'data-kind': a.kind, 'data-kiosk-id': a.kioskId };
      if (a.walletId) attrs['data-wallet-id'] = a.walletId;
      if (a.amount) attrs['data-amount'] = String(a.amount.value);
      list.appendChild(el('li', attrs, a.message));
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
    head.appendChild(el('th', null, 'Reason'));
    head.appendChild(el('th', { class: 'num' }, 'Count'));
    t.appendChild(head);
    rows.forEach(function (r) {
      var tr = el('tr', { 'data-reason': r.reason });
      tr.appendChild(el('td', null, r.reason));
      tr.appendChild(el('td', { class: 'num' }, r.count));
      t.appendChild(tr);
    });
    return t;
  }
  function entries(map) { return Object.keys(map).map(function (k) { return { reason: k, count: map[k] }; }).sort(function (a, b) { return b.count - a.count; }); }

  function drawDeclines() {
    var box = clear($('declines'));
    var l = state.ledger, s = state.summary;
    box.appendChild(el('h3', null, 'Recorded by the server today'));
    if (l && l.declines.length) box.appendChild(reasonTable(l.declines)); else box.appendChild(el('p', { class: 'empty' }, 'None.'));
    box.appendChild(el('h3', null, 'Reported live by kiosks (including declines decided on the kiosk)'));
    var live = s ? entries(s.declines.checkout).concat(entries(s.declines.settlement).map(function (r) { return { reason: r.reason + ' (settlement)', count: r.count }; })) : [];
    if (live.length) box.appendChild(reasonTable(live)); else box.appendChild(el('p', { class: 'empty' }, 'None.'));
  }

  /** Horizontal or vertical bars; each row has total and offline (drawn over it) in minor units. */
  function barChart(rows, o) {
    var max = rows.reduce(function (m, r) { return Math.max(m, r.total); }, 0) || 1;
    var svg;
    if (o.horizontal) {
      var rowH = 22, labelW = 90, w = 560, valueW = 90;
      svg = svgEl('svg', { width: w, height: rows.length * rowH + 4, viewBox: '0 0 ' + w + ' ' + (rows.length * rowH + 4), role: 'img', 'aria-label': o.label });
      rows.forEach(function (r, i) {
        var y = i * rowH + 2, span = w - labelW - valueW;
        var len = Math.round((r.total * span) / max), off = Math.round((r.offline * span) / max);
        svg.appendChild(svgEl('text', { x: 0, y: y + 14 }, r.label));
        svg.appendChild(svgEl('rect', { class: 'bar', x: labelW, y: y, width: Math.max(len, 1), height: rowH - 6 }));
        if (off > 0) svg.appendChild(svgEl('rect', { class: 'bar offline', x: labelW + len - off, y: y, width: off, height: rowH - 6 }));
        svg.appendChild(svgEl('text', { x: labelW + len + 6, y: y + 14 }, r.text));
      });
    } else {
      var h = 120, bw = 26, gap = 6, top = 16, bottom = 18;
      var width = rows.length * (bw + gap);
      svg = svgEl('svg', { width: width, height: h + top + bottom, viewBox: '0 0 ' + width + ' ' + (h + top + bottom), role: 'img', 'aria-label': o.label });
      rows.forEach(function (r, i) {
        var x = i * (bw + gap), len = Math.round((r.total * h) / max), off = Math.round((r.offline * h) / max);
        var rect = svgEl('rect', { class: 'bar', x: x, y: top + h - len, width: bw, height: len });
        rect.appendChild(svgEl('title', {}, r.label + ': ' + r.text));
        svg.appendChild(rect);
        if (off > 0) svg.appendChild(svgEl('rect', { class: 'bar offline', x: x, y: top + h - off, width: bw, height: off }));
        if (i % 3 === 0) svg.appendChild(svgEl('text', { x: x, y: top + h + 13 }, r.label));
        if (r.total > 0) svg.appendChild(svgEl('text', { x: x, y: top + h - len - 4 }, r.text.split(' ')[0]));
      });
    }
    return svg;
  }

  function drawLedger() {
    var l = state.ledger;
    if (!l) return;
    $('day').textContent = l.day;
    var totals = clear($('totals'));
    if (l.totals.length === 0) totals.appendChild(el('div', { class: 'figure' }, money(0, 'JPY')));
    l.totals.forEach(function (t) { totals.appendChild(el('div', { class: 'figure', 'data-currency': t.currency }, t.amount.text + '  \u00b7  ' + t.count + ' payments')); });
    var ck = clear($('chart-kiosk'));
    if (l.perKiosk.length === 0) empty(ck, 'No sales yet today.');
    else ck.appendChild(barChart(l.perKiosk.map(function (k) {
      return { label: k.kioskId, total: k.amount.value, offline: k.offlineAmount.value, text: k.amount.text + ' (' + k.count + ')' };
    }), { horizontal: true, label: 'Sales per kiosk' }));
    var ch = clear($('chart-hour'));
    if (l.perHour.length === 0) empty(ch, 'No sales yet today.');
    l.perHour.forEach(function (c) {
      if (l.perHour.length > 1) ch.appendChild(el('h3', null, c.currency));
      ch.appendChild(barChart(c.hours.map(function (x) {
        return { label: String(x.hour).padStart(2, '0'), total: x.amount.value, offline: 0, text: x.amount.text + ' (' + x.count + ')' };
      }), { horizontal: false, label: 'Sales per hour, ' + c.currency }));
    });
    drawStored(l.stored);
    drawDeclines();
  }

  function drawStored(st) {
    var sum = clear($('stored-summary'));
    var parts = st.settled.map(function (s) { return s.count + ' settled (' + s.amount.text + ')'; });
    var declined = st.declined.reduce(function (n, d) { return n + d.count; }, 0);
    parts.push(declined + ' declined at settlement');
    sum.appendChild(el('p', null, parts.join(' \u00b7 ') + (st.truncated ? ' (first ' + st.items.length + ' shown; totals cover the newest only)' : '')));
    var t = clear($('stored'));
    var head = el('tr');
    ['Kiosk', 'Transaction', 'Captured', 'Received', 'Amount', 'State'].forEach(function (h, i) { head.appendChild(el('th', i === 4 ? { class: 'num' } : null, h)); });
    t.appendChild(head);
    st.items.forEach(function (p) {
      var tr = el('tr', { 'data-tx-id': p.txId });
      tr.appendChild(el('td', null, p.kioskId));
      tr.appendChild(el('td', null, p.txId));
      tr.appendChild(el('td', null, clock(p.capturedAt)));
      tr.appendChild(el('td', null, clock(p.receivedAt)));
      tr.appendChild(el('td', { class: 'num' }, p.amount.text));
      tr.appendChild(el('td', { class: 'state-' + p.state }, p.state === 'settled' ? 'settled' : 'declined: ' + (p.reason || '?') + (p.replay ? ' (replay)' : '')));
      t.appendChild(tr);
    });
    if (st.items.length === 0) {
      var tr = el('tr');
      tr.appendChild(el('td', { colspan: '6', class: 'empty' }, 'None received today.'));
      t.appendChild(tr);
    }
  }

  function setLive(text, cls) {
    var l = $('live');
    l.textContent = text;
    l.className = 'live ' + cls;
    body.setAttribute('data-live', cls);
  }

  function onSnapshot(s) {
    state.kiosks = {};
    s.fleet.kiosks.forEach(function (k) { state.kiosks[k.kioskId] = k; });
    state.summary = { at: s.fleet.at, alerts: s.fleet.alerts, exposure: s.fleet.exposure, declines: s.fleet.declines, ignored: s.fleet.ignored };
    state.ledger = s.ledger;
    drawFleet(); drawSummary(); drawLedger();
  }

  function connect() {
    var es = new EventSource('/ops/events');
    es.addEventListener('open', function () { setLive('live', 'on'); });
    es.addEventListener('snapshot', function (e) { onSnapshot(JSON.parse(e.data)); });
    es.addEventListener('kiosk', function (e) { var k = JSON.parse(e.data); state.kiosks[k.kioskId] = k; drawFleet(); });
    es.addEventListener('summary', function (e) { state.summary = JSON.parse(e.data); drawSummary(); drawFleet(); });
    es.addEventListener('ledger', function (e) { state.ledger = JSON.parse(e.data); drawLedger(); });
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CLOSED) {
        // A refused stream (401 after the session expired, 503 when full) is not retried by the browser.
        setLive('disconnected', 'off');
        setTimeout(function () {
          fetch('/ops/api/snapshot', { credentials: 'same-origin' }).then(function (r) {
            if (r.status === 401) location.assign('/ops/login'); else connect();
          }, function () { connect(); });
        }, 5000);
      } else {
        setLive('reconnecting', 'off');
      }
    });
  }
  connect();
})();
