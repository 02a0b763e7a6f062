// pspsim dashboard: live journal rows (server-sent events from the control
// API) and the control forms (fetch, same-origin, JSON). No framework: the
// pages are complete without this file; it only adds live updates and the
// buttons that change state.
(function () {
  'use strict';
  var root = document.body.getAttribute('data-root') || './';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function time(t) { return String(t || '').replace('T', ' ').replace(/(\.\d+)?Z$/, ''); }

  // failed mirrors the server's failedEvent: why an event stands out, or ''.
  function failed(e) {
    var k = e.kind || '', d = e.data || {};
    if (/refused|failed|leak|missed|error|expired/.test(k) || k.indexOf('fault.fired') === 0) return k;
    if (d.outcome && d.outcome !== 'delivered') return 'delivery ' + d.outcome;
    if (typeof d.status === 'number' && d.status >= 400) return 'HTTP ' + d.status;
    if (d.code && d.code !== '0') return 'code ' + d.code;
    if (d.to === 'FAILED' || d.to === 'DECLINED') return 'status ' + d.to;
    return '';
  }

  function row(e) {
    var why = failed(e);
    var tr = el('tr', 'ev fresh sys-' + String(e.system).replace(/\./g, '-') + (why ? ' bad' : ''));
    tr.setAttribute('data-seq', e.seq);
    tr.appendChild(el('td', 'seq', String(e.seq)));
    tr.appendChild(el('td', 't', time(e.time)));
    var s = el('td'); s.appendChild(el('span', 'sys', e.system)); tr.appendChild(s);
    tr.appendChild(el('td', 'kind', e.kind));
    var td = el('td'), det = el('details'), sum = el('summary');
    if (why) { sum.appendChild(el('strong', 'why', why)); sum.appendChild(document.createTextNode(' ')); }
    sum.appendChild(document.createTextNode(e.message || ''));
    det.appendChild(sum);
    if (e.ids) {
      var p = el('p', 'ids');
      Object.keys(e.ids).sort().forEach(function (k) {
        var a = el('a', 'id'); a.href = root + 'dash/search?q=' + encodeURIComponent(e.ids[k]);
        a.appendChild(el('b', '', k)); a.appendChild(document.createTextNode(' ' + e.ids[k]));
        p.appendChild(a); p.appendChild(document.createTextNode(' '));
      });
      det.appendChild(p);
    }
    if (e.data) det.appendChild(el('pre', '', JSON.stringify(e.data, null, 2)));
    td.appendChild(det); tr.appendChild(td);
    return tr;
  }

  // Live journal: every element with data-stream gets new rows on top. The
  // control API's stream names each event by its kind, which EventSource
  // can only hear one name at a time, so the stream is read with fetch and
  // parsed here (it also reconnects from the last sequence number seen).
  document.querySelectorAll('[data-stream]').forEach(function (box) {
    if (!window.fetch || !window.TextDecoder) return;
    var body = box.querySelector('#event-rows'), state = document.getElementById('live-state');
    var keep = +box.getAttribute('data-keep') || 200, base = box.getAttribute('data-stream');
    var last = +(box.getAttribute('data-after') || 0);
    function show(s) { box.setAttribute('data-live-state', s); if (state) state.textContent = s === 'open' ? 'live' : s; }
    function add(data) {
      var e; try { e = JSON.parse(data); } catch (x) { return; }
      if (e.seq <= last) return;
      last = e.seq;
      body.insertBefore(row(e), body.firstChild);
      while (body.children.length > keep) body.removeChild(body.lastChild);
      box.setAttribute('data-live-count', String((+box.getAttribute('data-live-count') || 0) + 1));
    }
    function connect() {
      var url = base;
      if (last > 0) url += (url.indexOf('?') < 0 ? '?' : '&') + 'after=' + last;
      fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/event-stream' } }).then(function (r) {
        if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
        show('open');
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = '';
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) throw new Error('closed');
            buf += dec.decode(res.value, { stream: true });
            var i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              var block = buf.slice(0, i); buf = buf.slice(i + 2);
              var data = [];
              block.split('\n').forEach(function (l) { if (l.indexOf('data:') === 0) data.push(l.slice(5).replace(/^ /, '')); });
              if (data.length) add(data.join('\n'));
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () { show('reconnecting…'); setTimeout(connect, 2000); });
    }
    connect();
  });

  // Control forms: <form data-api="METHOD" data-path="_sim/…">.
  document.querySelectorAll('form[data-api]').forEach(function (f) {
    f.querySelectorAll('[data-set]').forEach(function (b) {
      b.addEventListener('click', function () {
        var kv = b.getAttribute('data-set').split('=');
        f.elements[kv[0]].value = kv[1];
        f.requestSubmit ? f.requestSubmit() : f.submit();
      });
    });
    f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var out = f.querySelector('output');
      var say = function (t, ok) { if (out) { out.textContent = t; out.className = ok ? 'ok' : 'bad'; } };
      if (f.getAttribute('data-confirm') && !window.confirm(f.getAttribute('data-confirm'))) return;
      var kind = f.getAttribute('data-body');
      var body;
      if (kind === 'json' || kind === 'yaml') {
        body = f.elements.body.value;
      } else {
        var o = {}, any = false;
        Array.prototype.forEach.call(f.elements, function (i) {
          if (!i.name || i.type === 'submit' || i.type === 'button') return;
          var v = i.value.trim();
          if (v === '') return;
          o[i.name] = i.getAttribute('data-list') ? v.split(/[\s,]+/).filter(Boolean) : v;
          any = true;
        });
        body = JSON.stringify(any ? o : {});
      }
      var send = function (text) {
        var list;
        try { list = JSON.parse(text); } catch (x) { say('not JSON: ' + x.message); return; }
        if (!Array.isArray(list)) list = [list];
        var method = f.getAttribute('data-api');
        var chain = Promise.resolve();
        list.forEach(function (item) {
          chain = chain.then(function () {
            return fetch(root + f.getAttribute('data-path'), {
              method: method, credentials: 'same-origin',
              headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
              body: JSON.stringify(item)
            }).then(function (r) {
              return r.text().then(function (t) {
                if (!r.ok) {
                  var msg = t; try { var j = JSON.parse(t); msg = (j.error && (j.error.field ? j.error.field + ': ' : '') + j.error.message) || t; } catch (x) {}
                  throw new Error(msg);
                }
              });
            });
          });
        });
        chain.then(function () { say('done', true); setTimeout(function () { location.reload(); }, 300); })
          .catch(function (e) { say(e.message); });
      };
      if (kind === 'yaml') {
        fetch(root + f.getAttribute('data-convert'), {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/yaml', 'Accept': 'application/json' }, body: body
        }).then(function (r) { return r.text().then(function (t) { if (!r.ok) throw new Error(t); return t; }); })
          .then(send).catch(function (e) { say(e.message); });
      } else {
        send(body);
      }
    });
  });
})();
