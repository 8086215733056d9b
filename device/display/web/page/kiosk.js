// SPDX-License-Identifier: Apache-2.0
// The kiosk screen's renderer: one EventSource to /events, each message a ScreenModel
// (device/display/web/screen-model.ts) drawn with textContent only. Reconnects by itself; after a
// short loss it covers the screen with "Please wait" rather than show a stale result.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const DISCONNECTED_AFTER_MS = 2000;
  const RECONNECT_MAX_MS = 10000;
  let reconnectMs = 500;
  let source = null;
  let lostTimer = null;
  let productsKey = '';

  const setText = (el, text) => {
    if (el.textContent !== text) el.textContent = text;
  };
  const show = (el, on) => {
    el.hidden = !on;
  };

  function fillParagraphs(el, lines) {
    el.replaceChildren(
      ...lines.map((line) => {
        const p = document.createElement('p');
        p.textContent = line;
        return p;
      }),
    );
  }

  function renderBasket(basket) {
    show($('basket'), basket !== null && basket.itemCount > 0);
    if (!basket) return;
    $('items').replaceChildren(
      ...basket.items.map((item) => {
        const li = document.createElement('li');
        const name = document.createElement('span');
        const price = document.createElement('span');
        name.textContent = item.name;
        price.textContent = item.price;
        li.append(name, price);
        return li;
      }),
    );
    // A long basket shows its latest items; the total below always covers all of them.
    const list = $('items');
    // Twice: showing the "earlier items" line takes room from the list.
    for (let pass = 0; pass < 2; pass++) {
      list.scrollTop = list.scrollHeight;
      let above = 0;
      for (const li of list.children) if (li.offsetTop - list.offsetTop < list.scrollTop) above++;
      const hidden = basket.itemCount - basket.items.length + above;
      show($('more'), hidden > 0);
      setText($('more'), hidden > 0 ? `+ ${hidden} earlier item(s)` : '');
    }
    setText($('total'), basket.total);
  }

  function render(m) {
    const screen = $('screen');
    screen.className = `tone-${m.tone}`;
    screen.dataset.screen = m.screen;
    setText($('title'), m.title);
    fillParagraphs($('lines'), m.lines);
    show($('hint'), m.hint !== null);
    setText($('hint'), m.hint ?? '');
    renderBasket(m.basket);
    show($('offline'), m.offline);
    show($('message'), m.message !== null);
    setText($('message-text'), m.message ?? '');
    setText($('staff'), `${m.kioskId} · ${m.staff}`);
    setText($('faults'), m.faults.length ? `faults: ${m.faults.join(', ')}` : '');
    if (m.sim && $('sim')) renderSim(m.sim);
  }

  function connected() {
    reconnectMs = 500;
    if (lostTimer !== null) {
      clearTimeout(lostTimer);
      lostTimer = null;
    }
    show($('disconnected'), false);
  }

  function lost() {
    if (lostTimer === null) lostTimer = setTimeout(() => show($('disconnected'), true), DISCONNECTED_AFTER_MS);
  }

  function connect() {
    source = new EventSource('/events');
    source.onmessage = (e) => {
      connected();
      let model;
      try {
        model = JSON.parse(e.data);
      } catch {
        return;
      }
      render(model);
    };
    source.onerror = () => {
      lost();
      // The browser retries a dropped stream by itself, but gives up on an HTTP error (503 when the
      // screen is full, or a restarting kiosk): then we start over, backing off.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, reconnectMs);
        reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MAX_MS);
      }
    };
  }

  // The simulated kiosk's panel (present only when the kiosk runs with simulated hardware).
  function status(text, isError) {
    const el = $('sim-status');
    el.textContent = text;
    el.classList.toggle('error', Boolean(isError));
  }

  async function send(path, body, type) {
    try {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': type ?? 'application/json' },
        body: type ? body : JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        status(answer.error ? `${answer.error.code}: ${answer.error.message}` : `HTTP ${res.status}`, true);
        return null;
      }
      return answer;
    } catch (e) {
      status(`The kiosk did not answer: ${e.message}`, true);
      return null;
    }
  }

  // The simulated LEDs, buzzer and relay: a lamp each, its state in words, and how often the
  // buzzer and relay switched on (a beep is shorter than a glance).
  function renderOutputs(o) {
    show($('sim-outputs'), o !== null);
    show($('sim-outputs-none'), o === null);
    if (o === null) return;
    const set = (id, on, onWord, offWord) => {
      const el = $(id);
      el.classList.toggle('on', on);
      setText(el.querySelector('.state'), on ? onWord : offWord);
    };
    set('sim-led-ready', o.leds.ready, 'on', 'off');
    set('sim-led-offline', o.leds.offline, 'on', 'off');
    set('sim-led-fault', o.leds.fault, 'on', 'off');
    set('sim-buzzer', o.buzzer, 'sounding', 'silent');
    set('sim-relay', o.relay, 'on', 'off');
    setText($('sim-buzzer').querySelector('.count'), o.beeps === 1 ? '1 beep' : `${o.beeps} beeps`);
    setText($('sim-relay').querySelector('.count'), o.pulses === 1 ? '1 pulse' : `${o.pulses} pulses`);
  }

  function renderSim(sim) {
    renderOutputs(sim.outputs);
    const box = $('sim-uplink');
    box.checked = sim.uplinkUp;
    const label = $('sim-uplink-label');
    setText(label, sim.uplinkUp ? 'Kiosk uplink: connected' : 'Kiosk uplink: cut');
    label.classList.toggle('cut', !sim.uplinkUp);
    const key = JSON.stringify(sim.products);
    if (key === productsKey) return;
    productsKey = key;
    const list = $('sim-products');
    if (sim.products.length === 0) {
      const p = document.createElement('p');
      p.className = 'note';
      p.textContent = 'No product list yet.';
      list.replaceChildren(p);
      return;
    }
    list.replaceChildren(
      ...sim.products.map((product) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'sim-product';
        b.append(product.label);
        const price = document.createElement('small');
        price.textContent = product.price;
        b.append(price);
        b.addEventListener('click', async () => {
          const ok =
            'slot' in product.action
              ? await send('/sim/button', { button: { slot: product.action.slot } })
              : await send('/sim/scan', { text: product.action.gtin });
          if (ok) status(`${'slot' in product.action ? 'Pressed' : 'Scanned'} ${product.label}`);
        });
        return b;
      }),
    );
  }

  async function uploadImage(file) {
    if (!file) return;
    status('Reading the QR code…');
    const answer = await send('/sim/image', file, file.type || 'application/octet-stream');
    if (answer) status(`Read a code of ${answer.text.length} characters and scanned it.`);
  }

  function wireSim() {
    $('sim-scan').addEventListener('click', async () => {
      const text = $('sim-code').value.trim();
      if (!text) {
        status('Paste a code first.', true);
        return;
      }
      if (await send('/sim/scan', { text })) {
        $('sim-code').value = '';
        status('Scanned the pasted code.');
      }
    });
    for (const b of document.querySelectorAll('#sim [data-button]')) {
      b.addEventListener('click', async () => {
        if (await send('/sim/button', { button: b.dataset.button })) status(`Pressed ${b.textContent}`);
      });
    }
    $('sim-uplink').addEventListener('change', async (e) => {
      const up = e.target.checked;
      if (await send('/sim/uplink', { up })) status(up ? 'Uplink connected.' : 'Uplink cut.');
    });
    $('sim-file').addEventListener('change', (e) => {
      void uploadImage(e.target.files[0]);
      e.target.value = '';
    });
    const drop = $('sim-drop');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      void uploadImage(e.dataTransfer.files[0]);
    });
  }

  // A dropped file that misses the zone must not navigate the kiosk away from its screen.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  if ($('sim')) wireSim();
  connect();
})();
