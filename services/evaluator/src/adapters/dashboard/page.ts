/**
 * The analysts' dashboard page: one HTML document, one stylesheet and one small script, all served
 * by the evaluator (no CDN, works offline). Charts are inline SVG drawn by the script below from the
 * JSON API (`/api/runs`, `/api/tenants/:tenant/runs/:runId`, `/api/live`, `/api/tenants/:tenant/live`).
 * The script builds DOM nodes (never innerHTML with data).
 *
 * Two views: Runs (`#tenant=T&run=R`: finite runs' HPR-Bench reports) and Live (`#live=T`: a tenant's
 * live clickstream per minute — updates, users, freshness, early share, flip rate, confidence, the
 * rolling tag score of labelled users — and its tag value distribution per dimension).
 *
 * Access: the JSON API takes a bearer token (a tenant's or the admin's). The page takes it once —
 * typed into its form, or given as `#token=…` at the end of the address, which the script removes
 * from the address at once — keeps it in the tab's `sessionStorage` (never in a cookie, so no other
 * site can make the browser send it) and sends it as `Authorization: Bearer …` with every fetch.
 * Without a token, or when the API answers 401, it shows why and asks for one.
 */

/** Reference figures of the paper (UserGPT Technical Report, arXiv 2605.08766). */
export const PAPER = { tag_avg_at_k: 0.7325, acc_ex: 0.7528, compression_bytes: 0.979 } as const;

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PersonaStream · HPR-Bench</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<header>
  <h1>PersonaStream <span>HPR-Bench runs</span></h1>
  <p class="sub">Scores from ClickHouse · paper reference: Avg@10 ${PAPER.tag_avg_at_k} · Acc_Ex ${PAPER.acc_ex} · compression ${(PAPER.compression_bytes * 100).toFixed(1)}%</p>
  <nav><a href="#" id="nav-runs" class="tab">Runs</a><a href="#live" id="nav-live" class="tab">Live</a><a href="#" id="nav-token" class="tab token">Change token</a></nav>
</header>
<main id="auth-view" hidden>
  <section class="card" id="auth">
    <h2>Access token</h2>
    <p class="message"></p>
    <form id="auth-form" autocomplete="off">
      <label>Token <input type="password" id="auth-token" autocomplete="off" spellcheck="false" size="48"></label>
      <button type="submit">Open the dashboard</button>
    </form>
  </section>
</main>
<main id="runs-view">
  <section class="card" id="runs-card">
    <h2>Runs</h2>
    <div id="runs"><p class="muted">Loading…</p></div>
  </section>
  <section id="detail"></section>
</main>
<main id="live-view" hidden>
  <section class="card" id="live-card">
    <h2>Live clickstream</h2>
    <div class="controls">
      <label>Tenant <select id="live-tenant"></select></label>
      <label>Last <select id="live-range">
        <option value="30">30 minutes</option>
        <option value="60" selected>60 minutes</option>
        <option value="180">3 hours</option>
        <option value="720">12 hours</option>
        <option value="1440">24 hours</option>
      </select></label>
      <span class="muted" id="live-updated"></span>
    </div>
  </section>
  <section id="live-detail"></section>
</main>
<script src="/dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { --bg:#f5f6f8; --card:#fff; --ink:#1d2433; --muted:#6b7385; --line:#e3e6ec; --ours:#2f6fde; --paper:#9aa3b5;
  --prior:#e39b2d; --raw:#3aa57a; --f1:#8e5bd6; --bad:#d64545; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { padding:16px 24px 8px; }
h1 { margin:0; font-size:20px; } h1 span { color:var(--muted); font-weight:400; margin-left:6px; }
h2 { margin:0 0 10px; font-size:15px; } h3 { margin:0 0 8px; font-size:13px; color:var(--muted); font-weight:600; }
.sub { margin:4px 0 0; color:var(--muted); font-size:12px; }
main { padding:8px 24px 24px; display:grid; gap:16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.muted { color:var(--muted); }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr.run { cursor:pointer; } tr.run:hover { background:#f0f4fc; } tr.run.selected { background:#e6eefc; }
td.summary { white-space:normal; max-width:520px; color:var(--muted); font-size:12px; }
.grid { display:grid; gap:16px; grid-template-columns:repeat(auto-fit, minmax(440px, 1fr)); }
.kpis { display:grid; gap:12px; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); margin-bottom:16px; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:10px 14px; }
.kpi .label { color:var(--muted); font-size:12px; }
.kpi .value { font-size:24px; font-weight:650; font-variant-numeric:tabular-nums; }
.kpi .ref { color:var(--muted); font-size:12px; }
.kpi .ref b { color:var(--ink); font-weight:600; }
.chart svg { width:100%; height:auto; display:block; }
.chart .axis { stroke:#c9ced8; stroke-width:1; }
.chart .grid-line { stroke:#eef0f4; stroke-width:1; }
.chart text { fill:var(--muted); font-size:11px; }
.chart text.value { fill:var(--ink); font-size:10px; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); margin:2px 0 6px; flex-wrap:wrap; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.meta { color:var(--muted); font-size:12px; margin:0 0 12px; }
.error { color:var(--bad); }
nav { margin-top:10px; display:flex; gap:6px; }
nav .tab { padding:5px 14px; border-radius:6px; color:var(--ink); text-decoration:none; border:1px solid var(--line); background:var(--card); }
nav .tab.active { background:var(--ours); border-color:var(--ours); color:#fff; }
.controls { display:flex; gap:18px; align-items:center; flex-wrap:wrap; }
.controls select { font:inherit; padding:3px 6px; margin-left:6px; }
nav .tab.token { margin-left:auto; color:var(--muted); }
#auth form { display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
#auth input { font:inherit; padding:4px 6px; margin-left:6px; }
#auth button { font:inherit; padding:4px 12px; }
#auth[data-auth="refused"] .message { color:var(--bad); }
[hidden] { display:none !important; }
`;

/**
 * The client script. Plain ES2017 in a string (no backticks or template placeholders inside), so it
 * ships as-is from `src` and `dist` alike.
 */
export const DASHBOARD_JS = `(function () {
  'use strict';
  var PAPER = { tag_avg_at_k: 0.7325, acc_ex: 0.7528, compression_bytes: 0.979 };
  var COLORS = { ours: '#2f6fde', paper: '#9aa3b5', prior: '#e39b2d', raw: '#3aa57a', f1: '#8e5bd6' };
  var NS = 'http://www.w3.org/2000/svg';

  function h(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function s(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function tip(node, text) { node.appendChild(s('title', {}, text)); return node; }
  function num(v, d) { return v === null || v === undefined || isNaN(v) ? '—' : Number(v).toFixed(d === undefined ? 3 : d); }
  function pct(v, d) { return v === null || v === undefined ? '—' : (v * 100).toFixed(d === undefined ? 1 : d) + '%'; }
  function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '—'; }
  // ---- access token ---------------------------------------------------------------------------

  var TOKEN_KEY = 'personastream.evaluator.token';
  var memoryToken = null; // when sessionStorage is unavailable
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || memoryToken; } catch (e) { return memoryToken; }
  }
  function storeToken(token) {
    memoryToken = token || null;
    try { if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* memory only */ }
  }
  // #…&token=T: kept for the session and taken out of the address (history, bookmarks, screen shares)
  function takeTokenFromHash() {
    var m = /(^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    storeToken(decodeURIComponent(m[2]));
    var rest = location.hash.slice(1).split('&').filter(function (p) { return p.indexOf('token=') !== 0; }).join('&');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  var AUTH_TEXT = {
    missing: 'This dashboard needs an access token: your tenant’s token (EVALUATOR_TENANT_TOKENS) or the admin token (EVALUATOR_ADMIN_TOKEN). Enter it below, or open the dashboard with #token=… at the end of its address.',
    refused: 'The evaluator refused this token',
  };
  // Shows the token form instead of the views; why: 'missing' or 'refused' (with the API's reason).
  function showAuth(why, reason) {
    if (liveTimer) { clearInterval(liveTimer); liveTimer = null; }
    document.getElementById('runs-view').hidden = true;
    document.getElementById('live-view').hidden = true;
    document.getElementById('auth-view').hidden = false;
    var box = document.getElementById('auth');
    box.setAttribute('data-auth', why);
    box.querySelector('.message').textContent = why === 'refused'
      ? AUTH_TEXT.refused + ' (' + (reason || 'HTTP 401') + '). Enter another one below.'
      : AUTH_TEXT.missing;
    document.getElementById('auth-token').value = '';
    document.getElementById('auth-token').focus();
    ready();
  }

  function getJSON(url) {
    var token = storedToken();
    if (!token) { showAuth('missing'); return new Promise(function () {}); }
    return fetch(url, { headers: { authorization: 'Bearer ' + token } }).then(function (r) {
      if (r.status === 401) {
        // the token is unknown (or was revoked): forget it and ask again; the view that asked is
        // replaced by the form, so its promise never settles
        storeToken(null);
        return r.json().catch(function () { return {}; }).then(function (b) {
          showAuth('refused', b.error);
          return new Promise(function () {});
        });
      }
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || ('HTTP ' + r.status)); });
      return r.json();
    });
  }
  function legend(items) {
    return h('div', { class: 'legend' }, items.map(function (it) {
      var dot = h('i'); dot.style.background = it[1];
      return h('span', {}, [dot, it[0]]);
    }));
  }
  function chartCard(name, title, legendItems) {
    var card = h('section', { class: 'card chart', 'data-chart': name }, [h('h2', { text: title })]);
    if (legendItems) card.appendChild(legend(legendItems));
    return card;
  }

  // Grouped vertical bars: categories × series, values in [0, max].
  function groupedBars(categories, series, opts) {
    var W = 560, H = opts.height || 240, L = opts.left || 44, R = 10, T = 14, B = 40;
    var max = opts.max || 1;
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var plotH = H - T - B, plotW = W - L - R;
    for (var g = 0; g <= 4; g++) {
      var gy = T + plotH - (plotH * g) / 4;
      root.appendChild(s('line', { class: 'grid-line', x1: L, x2: W - R, y1: gy, y2: gy }));
      root.appendChild(s('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end' }, opts.format((max * g) / 4)));
    }
    var groupW = plotW / categories.length, barW = Math.min(28, (groupW - 12) / series.length);
    categories.forEach(function (cat, ci) {
      var x0 = L + ci * groupW + (groupW - barW * series.length) / 2;
      series.forEach(function (se, si) {
        var v = se.values[ci];
        if (v === null || v === undefined) return;
        var bh = Math.max(1, (Math.min(v, max) / max) * plotH);
        var rect = s('rect', { class: 'bar', x: x0 + si * barW, y: T + plotH - bh, width: barW - 2, height: bh, fill: se.color, rx: 2 });
        root.appendChild(tip(rect, se.name + ' · ' + cat + ': ' + opts.format(v)));
        root.appendChild(s('text', { class: 'value', x: x0 + si * barW + (barW - 2) / 2, y: T + plotH - bh - 3, 'text-anchor': 'middle' }, opts.short(v)));
      });
      root.appendChild(s('text', { x: L + ci * groupW + groupW / 2, y: H - B + 16, 'text-anchor': 'middle' }, cat));
    });
    root.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
    return root;
  }

  // Horizontal bars per dimension: accuracy and macro-F1.
  function dimensionBars(dims, prior) {
    var rowH = 26, W = 560, L = 130, R = 44, T = 6;
    var H = T + dims.length * rowH + 24;
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var plotW = W - L - R;
    for (var g = 0; g <= 4; g++) {
      var gx = L + (plotW * g) / 4;
      root.appendChild(s('line', { class: 'grid-line', x1: gx, x2: gx, y1: T, y2: H - 20 }));
      root.appendChild(s('text', { x: gx, y: H - 6, 'text-anchor': 'middle' }, (g / 4).toFixed(2)));
    }
    dims.forEach(function (d, i) {
      var y = T + i * rowH;
      root.appendChild(s('text', { x: L - 8, y: y + 15, 'text-anchor': 'end' }, d.dimension));
      var wa = Math.max(1, d.accuracy * plotW), wf = Math.max(1, d.macro_f1 * plotW);
      root.appendChild(tip(s('rect', { class: 'bar', x: L, y: y + 3, width: wa, height: 10, fill: COLORS.ours, rx: 2 }),
        d.dimension + ' accuracy ' + num(d.accuracy) + ' (support ' + d.support + ')'));
      root.appendChild(tip(s('rect', { class: 'bar', x: L, y: y + 14, width: wf, height: 7, fill: COLORS.f1, rx: 2 }),
        d.dimension + ' macro-F1 ' + num(d.macro_f1) + (d.ece === null ? '' : ' · ECE ' + num(d.ece))));
      root.appendChild(s('text', { class: 'value', x: L + wa + 4, y: y + 12 }, num(d.accuracy, 2)));
    });
    root.appendChild(s('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - 20 }));
    return root;
  }

  // Line chart of the convergence curve with reference lines.
  function lineChart(points, refs) {
    var W = 560, H = 260, L = 44, R = 14, T = 12, B = 36;
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var plotW = W - L - R, plotH = H - T - B;
    function X(v) { return L + v * plotW; }
    function Y(v) { return T + plotH - v * plotH; }
    for (var g = 0; g <= 4; g++) {
      root.appendChild(s('line', { class: 'grid-line', x1: L, x2: W - R, y1: Y(g / 4), y2: Y(g / 4) }));
      root.appendChild(s('text', { x: L - 6, y: Y(g / 4) + 4, 'text-anchor': 'end' }, (g / 4).toFixed(2)));
    }
    for (var t = 0; t <= 10; t += 2) root.appendChild(s('text', { x: X(t / 10), y: H - B + 16, 'text-anchor': 'middle' }, (t * 10) + '%'));
    root.appendChild(s('text', { x: L + plotW / 2, y: H - 4, 'text-anchor': 'middle' }, 'share of the user history seen'));
    refs.forEach(function (r) {
      if (r.y === null || r.y === undefined) return;
      root.appendChild(tip(s('line', { class: 'ref', x1: L, x2: W - R, y1: Y(r.y), y2: Y(r.y), stroke: r.color, 'stroke-dasharray': '5 4', 'stroke-width': 1.5 }), r.label + ' ' + num(r.y)));
      root.appendChild(s('text', { x: W - R - 4, y: Y(r.y) - 4, 'text-anchor': 'end' }, r.label));
    });
    var d = points.map(function (p, i) { return (i ? 'L' : 'M') + X(p.bucket).toFixed(1) + ' ' + Y(p.tag_score).toFixed(1); }).join(' ');
    if (d) root.appendChild(s('path', { class: 'line', d: d, fill: 'none', stroke: COLORS.ours, 'stroke-width': 2.5 }));
    points.forEach(function (p) {
      root.appendChild(tip(s('circle', { class: 'point', cx: X(p.bucket), cy: Y(p.tag_score), r: 4, fill: COLORS.ours }),
        '≤' + Math.round(p.bucket * 100) + '% of history: tag score ' + num(p.tag_score) + ' (' + p.points + ' updates, ' + p.users + ' users)'));
    });
    root.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: Y(0), y2: Y(0) }));
    return root;
  }

  // Histogram of per-user compression ratios.
  function histogram(values, paperValue) {
    var W = 560, H = 240, L = 40, R = 26, T = 16, B = 36, bins = 20;
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var lo = Math.min.apply(null, values.concat([paperValue])), hi = 1;
    lo = Math.max(0, Math.floor(lo * 50) / 50 - 0.02);
    var width = (hi - lo) / bins, counts = [];
    for (var i = 0; i < bins; i++) counts.push(0);
    values.forEach(function (v) { counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++; });
    var max = Math.max.apply(null, counts.concat([1]));
    var plotW = W - L - R, plotH = H - T - B, bw = plotW / bins;
    function X(v) { return L + ((v - lo) / (hi - lo)) * plotW; }
    for (var g = 0; g <= 4; g++) {
      var gy = T + plotH - (plotH * g) / 4;
      root.appendChild(s('line', { class: 'grid-line', x1: L, x2: W - R, y1: gy, y2: gy }));
      root.appendChild(s('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end' }, String(Math.round((max * g) / 4))));
    }
    counts.forEach(function (c, i) {
      if (!c) return;
      var bh = (c / max) * plotH;
      root.appendChild(tip(s('rect', { class: 'bar', x: L + i * bw + 1, y: T + plotH - bh, width: bw - 2, height: bh, fill: COLORS.raw, rx: 2 }),
        pct(lo + i * width) + '–' + pct(lo + (i + 1) * width) + ': ' + c + ' users'));
    });
    for (var t = 0; t <= 4; t++) { var v = lo + ((hi - lo) * t) / 4; root.appendChild(s('text', { x: X(v), y: H - B + 16, 'text-anchor': 'middle' }, pct(v))); }
    root.appendChild(tip(s('line', { class: 'ref', x1: X(paperValue), x2: X(paperValue), y1: T, y2: T + plotH, stroke: COLORS.paper, 'stroke-dasharray': '5 4', 'stroke-width': 1.5 }), 'paper ' + pct(paperValue)));
    root.appendChild(s('text', { x: X(paperValue), y: T - 4, 'text-anchor': 'middle' }, 'paper'));
    root.appendChild(s('text', { x: L + plotW / 2, y: H - 4, 'text-anchor': 'middle' }, 'compression per user (1 − semantized / raw bytes)'));
    root.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
    return root;
  }

  function kpi(label, value, refs) {
    return h('div', { class: 'kpi' }, [
      h('div', { class: 'label', text: label }),
      h('div', { class: 'value', text: value }),
      h('div', { class: 'ref' }, refs.map(function (r, i) { return h('span', {}, [(i ? ' · ' : '') + r[0] + ' ', h('b', { text: r[1] })]); })),
    ]);
  }

  var runsCache = [];

  function renderRuns(runs, selected) {
    var box = document.getElementById('runs');
    box.textContent = '';
    if (!runs.length) { box.appendChild(h('p', { class: 'muted', text: 'No run scored yet. Run "npx personastream bench" or the demo.' })); return; }
    var head = h('tr', {}, ['tenant', 'run', 'completed (UTC)', 'users', 'test users', 'Avg@k', 'Acc_Ex', 'halluc.', 'compression', 'backend', 'stack'].map(function (c, i) {
      return h('th', { class: i >= 3 && i <= 8 ? 'num' : '', text: c });
    }));
    var rows = runs.map(function (r) {
      var isSel = selected && r.tenant === selected.tenant && r.run_id === selected.run;
      var tr = h('tr', { class: 'run' + (isSel ? ' selected' : ''), 'data-run': r.run_id, 'data-tenant': r.tenant }, [
        h('td', { text: r.tenant }), h('td', { text: r.run_id }), h('td', { text: when(r.completed_ms) }),
        h('td', { class: 'num', text: String(r.users) }), h('td', { class: 'num', text: String(r.test_users) }),
        h('td', { class: 'num', text: num(r.tag_avg_at_k) }), h('td', { class: 'num', text: num(r.acc_ex) }),
        h('td', { class: 'num', text: num(r.hallucination_rate) }), h('td', { class: 'num', text: pct(r.compression_bytes) }),
        h('td', { text: r.backend }), h('td', { text: r.stack }),
      ]);
      tr.addEventListener('click', function () { location.hash = runHash(r.tenant, r.run_id); });
      return tr;
    });
    box.appendChild(h('table', {}, [h('thead', {}, [head]), h('tbody', {}, rows)]));
  }

  function renderDetail(r) {
    var box = document.getElementById('detail');
    box.textContent = '';
    var b = r.baselines || {}, prior = b.prior || {}, raw = b.raw_frequency || {}, items = b.raw_items || {};
    box.appendChild(h('h2', { text: 'Run ' + r.run_id }));
    box.appendChild(h('p', { class: 'meta', text: 'tenant ' + r.tenant }));
    box.appendChild(h('p', { class: 'meta', text: r.users + ' users (' + r.test_users + ' scored, ' + r.scored_split + ' split) · ' +
      r.events + ' events · ' + r.updates + ' persona updates · backend ' + r.backend + ' · stack ' + r.stack +
      (r.seed === null ? '' : ' · seed ' + r.seed) + ' · k = ' + r.samples + ' · ' + num(r.events_per_s, 1) + ' events/s over ' + num(r.wall_s, 1) + ' s' }));
    box.appendChild(h('div', { class: 'kpis' }, [
      kpi('Tag Avg@' + (r.samples || 1), num(r.tag_avg_at_k), [['paper', num(PAPER.tag_avg_at_k, 4)], ['prior', num(prior.tag_avg_at_k)], ['raw freq.', num(raw.tag_avg_at_k)], ['raw items', num(items.tag_avg_at_k)]]),
      kpi('Acc_Ex (summaries)', num(r.acc_ex), [['paper', num(PAPER.acc_ex, 4)], ['prior', num(prior.acc_ex)], ['raw freq.', num(raw.acc_ex)]]),
      kpi('Compression (bytes)', pct(r.compression_bytes), [['paper', pct(PAPER.compression_bytes)], ['tokens', pct(r.compression_tokens)]]),
      kpi('Hallucination rate', num(r.hallucination_rate), [['calibration ECE', num(r.calibration_ece)]]),
      kpi('Retention (÷ raw items)', r.retention === null || r.retention === undefined ? 'n/a' : num(r.retention),
        [['vs unfiltered', r.retention_vs_unfiltered === null || r.retention_vs_unfiltered === undefined ? 'n/a' : num(r.retention_vs_unfiltered)]]),
      kpi('Update latency p50', num(r.latency.p50_ms, 0) + ' ms', [['p99', num(r.latency.p99_ms, 0) + ' ms'], ['n', String(r.latency.count)]]),
      kpi('Freshness p50', r.freshness_p50_ms === null || r.freshness_p50_ms === undefined ? 'n/a' : num(r.freshness_p50_ms, 0) + ' ms',
        [['p99', r.freshness_p99_ms === null || r.freshness_p99_ms === undefined ? 'n/a' : num(r.freshness_p99_ms, 0) + ' ms'], ['event entry → persona', '']]),
    ]));

    var grid = h('div', { class: 'grid' });
    box.appendChild(grid);

    var head = chartCard('headline', 'Headline metrics vs paper and baselines',
      [['this run', COLORS.ours], ['paper', COLORS.paper], ['prior', COLORS.prior], ['raw frequency', COLORS.raw]]);
    head.appendChild(groupedBars(['Tag Avg@k', 'Acc_Ex', 'Compression'], [
      { name: 'this run', color: COLORS.ours, values: [r.tag_avg_at_k, r.acc_ex, r.compression_bytes] },
      { name: 'paper', color: COLORS.paper, values: [PAPER.tag_avg_at_k, PAPER.acc_ex, PAPER.compression_bytes] },
      { name: 'prior', color: COLORS.prior, values: [prior.tag_avg_at_k, prior.acc_ex, null] },
      { name: 'raw frequency', color: COLORS.raw, values: [raw.tag_avg_at_k, raw.acc_ex, null] },
    ], { max: 1, format: function (v) { return num(v, 2); }, short: function (v) { return num(v, 2); } }));
    grid.appendChild(head);

    var dims = chartCard('dimensions', 'Per-dimension scores', [['accuracy (exact / Jaccard)', COLORS.ours], ['macro-F1', COLORS.f1]]);
    dims.appendChild(dimensionBars(r.dimensions || [], prior));
    grid.appendChild(dims);

    var conv = chartCard('convergence', 'Convergence: tag score by history seen', [['this run', COLORS.ours], ['prior baseline', COLORS.prior], ['paper Avg@10', COLORS.paper]]);
    conv.appendChild(lineChart(r.convergence || [], [
      { y: prior.tag_avg_at_k, label: 'prior', color: COLORS.prior },
      { y: PAPER.tag_avg_at_k, label: 'paper', color: COLORS.paper },
    ]));
    grid.appendChild(conv);

    var ratios = (r.user_rows || []).map(function (u) { return u.compression_bytes; }).filter(function (v) { return v !== null && v !== undefined; });
    var comp = chartCard('compression', 'Compression per user (' + ratios.length + ' users)', [['users', COLORS.raw], ['paper ' + pct(PAPER.compression_bytes), COLORS.paper]]);
    comp.appendChild(histogram(ratios, PAPER.compression_bytes));
    grid.appendChild(comp);

    var lat = chartCard('latency', 'Pipeline latency: event ingest → persona update (' + r.latency.count + ' updates)');
    var L = r.latency, maxL = Math.max(L.max_ms, 1);
    lat.appendChild(groupedBars(['p50', 'p90', 'p99', 'max', 'mean'], [
      { name: 'latency', color: COLORS.ours, values: [L.p50_ms, L.p90_ms, L.p99_ms, L.max_ms, L.mean_ms] },
    ], { max: maxL * 1.1, height: 220, left: 64, format: function (v) { return Math.round(v) + ' ms'; }, short: function (v) { return String(Math.round(v)); } }));
    grid.appendChild(lat);

    var worst = (r.user_rows || []).filter(function (u) { return u.scored; }).sort(function (a, b) { return a.tag_score - b.tag_score; }).slice(0, 8);
    var users = h('section', { class: 'card', 'data-table': 'worst-users' }, [h('h2', { text: 'Lowest-scoring users' })]);
    users.appendChild(h('table', {}, [
      h('thead', {}, [h('tr', {}, ['user', 'tag score', 'Acc_Ex', 'halluc.', 'windows', 'summary'].map(function (c, i) { return h('th', { class: i >= 1 && i <= 4 ? 'num' : '', text: c }); }))]),
      h('tbody', {}, worst.map(function (u) {
        return h('tr', {}, [h('td', { text: u.user_id }), h('td', { class: 'num', text: num(u.tag_score) }), h('td', { class: 'num', text: num(u.acc_ex) }),
          h('td', { class: 'num', text: u.hallucinated_facts + '/' + u.stated_facts }), h('td', { class: 'num', text: String(u.windows_seen) }),
          h('td', { class: 'summary', text: u.has_persona ? u.summary : '(no persona)' })]);
      })),
    ]));
    box.appendChild(users);
  }

  function runHash(tenant, run) { return '#tenant=' + encodeURIComponent(tenant) + '&run=' + encodeURIComponent(run); }
  function hashParam(name) {
    var m = new RegExp('[#&]' + name + '(?:=([^&]*))?(?:&|$)').exec(location.hash);
    return m ? decodeURIComponent(m[1] || '') : null;
  }
  // #tenant=T&run=R; an older #run=R link resolves to the tenant that has run R when only one has it
  function selectedFromHash() {
    var tenant = hashParam('tenant'), run = hashParam('run');
    if (!run) return null;
    if (!tenant) {
      var owners = runsCache.filter(function (r) { return r.run_id === run; });
      if (owners.length !== 1) return { tenant: null, run: run };
      tenant = owners[0].tenant;
    }
    return { tenant: tenant, run: run };
  }
  function ready() { document.body.setAttribute('data-ready', '1'); }
  function runUrl(sel) { return '/api/tenants/' + encodeURIComponent(sel.tenant) + '/runs/' + encodeURIComponent(sel.run); }

  function showRun(sel) {
    document.body.removeAttribute('data-ready');
    renderRuns(runsCache, sel);
    if (!sel) { ready(); return; }
    if (!sel.tenant) {
      var none = document.getElementById('detail');
      none.textContent = '';
      none.appendChild(h('p', { class: 'error', text: 'Run ' + sel.run + ' not found: runs are per tenant (#tenant=T&run=R)' }));
      ready();
      return;
    }
    getJSON(runUrl(sel)).then(function (r) {
      renderDetail(r);
      ready();
    }).catch(function (e) {
      var box = document.getElementById('detail');
      box.textContent = '';
      box.appendChild(h('p', { class: 'error', text: 'Could not load run ' + sel.run + ' of tenant ' + sel.tenant + ': ' + e.message }));
      ready();
    });
  }

  // ---- Live view -------------------------------------------------------------------------------

  var LIVE = { updates: '#2f6fde', users: '#3aa57a', p50: '#2f6fde', p99: '#d64545', early: '#e39b2d', flips: '#8e5bd6', conf: '#3aa57a', score: '#2f6fde' };
  var liveTimer = null;

  function hhmm(ms) { return new Date(ms).toISOString().slice(11, 16); }

  // A chart over the minutes of [from, to): bars or lines (with points), values null = gap.
  function timeChart(minutes, from, to, series, opts) {
    var W = 560, H = opts.height || 200, L = opts.left || 48, R = 12, T = 12, B = 30;
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    var plotW = W - L - R, plotH = H - T - B, span = Math.max(60000, to - from);
    var max = opts.max;
    if (max === undefined) {
      max = 0;
      series.forEach(function (se) { minutes.forEach(function (m) { var v = m[se.key]; if (v !== null && v !== undefined) max = Math.max(max, v); }); });
      max = max > 0 ? max * 1.1 : 1;
    }
    function X(ms) { return L + ((ms - from) / span) * plotW; }
    function Y(v) { return T + plotH - (Math.min(v, max) / max) * plotH; }
    for (var g = 0; g <= 4; g++) {
      root.appendChild(s('line', { class: 'grid-line', x1: L, x2: W - R, y1: Y((max * g) / 4), y2: Y((max * g) / 4) }));
      root.appendChild(s('text', { x: L - 6, y: Y((max * g) / 4) + 4, 'text-anchor': 'end' }, opts.format((max * g) / 4)));
    }
    for (var t = 0; t <= 4; t++) {
      var tm = from + (span * t) / 4;
      root.appendChild(s('text', { x: X(tm), y: H - B + 16, 'text-anchor': t === 0 ? 'start' : t === 4 ? 'end' : 'middle' }, hhmm(tm)));
    }
    var slot = Math.max(2, (60000 / span) * plotW);
    series.forEach(function (se, si) {
      var pts = minutes.filter(function (m) { return m[se.key] !== null && m[se.key] !== undefined; });
      if (se.kind === 'bar') {
        var bw = Math.max(1.5, slot / series.length - 1);
        pts.forEach(function (m) {
          var v = m[se.key], y = Y(v);
          root.appendChild(tip(s('rect', { class: 'bar', x: X(m.minute_ms) + si * bw, y: y, width: bw, height: Math.max(1, T + plotH - y), fill: se.color }),
            hhmm(m.minute_ms) + ' ' + se.name + ': ' + opts.format(v)));
        });
        return;
      }
      var d = pts.map(function (m, i) { return (i ? 'L' : 'M') + (X(m.minute_ms) + slot / 2).toFixed(1) + ' ' + Y(m[se.key]).toFixed(1); }).join(' ');
      if (d) root.appendChild(s('path', { class: 'line', d: d, fill: 'none', stroke: se.color, 'stroke-width': 2, 'data-series': se.key }));
      pts.forEach(function (m) {
        root.appendChild(tip(s('circle', { class: 'point', cx: X(m.minute_ms) + slot / 2, cy: Y(m[se.key]), r: 2.5, fill: se.color, 'data-series': se.key }),
          hhmm(m.minute_ms) + ' ' + se.name + ': ' + opts.format(m[se.key])));
      });
    });
    root.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
    return root;
  }

  // Tag value distribution: one block of horizontal bars per dimension (share of the dimension's users).
  function tagBars(tags) {
    var dims = [];
    tags.forEach(function (t) { if (dims.indexOf(t.dimension) < 0) dims.push(t.dimension); });
    var rowH = 18, W = 560, L = 150, R = 90, headH = 20, y = 4, H = 4;
    dims.forEach(function (d) { H += headH + tags.filter(function (t) { return t.dimension === d; }).length * rowH + 6; });
    var root = s('svg', { viewBox: '0 0 ' + W + ' ' + Math.max(H, 30), role: 'img' });
    var plotW = W - L - R;
    dims.forEach(function (d) {
      var group = s('g', { class: 'dimension', 'data-dimension': d });
      group.appendChild(s('text', { class: 'value', x: 4, y: y + 14 }, d));
      y += headH;
      tags.filter(function (t) { return t.dimension === d; }).forEach(function (t) {
        group.appendChild(s('text', { x: L - 8, y: y + 13, 'text-anchor': 'end' }, t.value));
        var w = Math.max(1, t.share * plotW);
        group.appendChild(tip(s('rect', { class: 'bar', x: L, y: y + 3, width: w, height: rowH - 6, fill: COLORS.ours, rx: 2 }),
          d + ' = ' + t.value + ': ' + t.users + ' users (' + pct(t.share) + ')'));
        group.appendChild(s('text', { class: 'value', x: L + w + 4, y: y + 13 }, pct(t.share) + ' · ' + t.users));
        y += rowH;
      });
      y += 6;
      root.appendChild(group);
    });
    return root;
  }

  function renderLive(body) {
    var box = document.getElementById('live-detail');
    box.textContent = '';
    var ms = body.minutes || [], from = body.from_ms, to = body.to_ms;
    var total = 0, scored = 0;
    ms.forEach(function (m) { total += m.updates; scored += m.scored_updates; });
    document.getElementById('live-updated').textContent = 'tenant ' + body.tenant + ' · ' + total + ' updates in ' + ms.length +
      ' active minutes · ' + hhmm(from) + '–' + hhmm(to) + ' UTC';
    if (!ms.length) {
      box.appendChild(h('p', { class: 'muted', 'data-empty': 'live', text: 'No live persona update of tenant ' + body.tenant + ' in this range.' }));
      return;
    }
    var grid = h('div', { class: 'grid' });
    box.appendChild(grid);
    var n = function (v) { return String(Math.round(v)); };
    var msFmt = function (v) { return v >= 10000 ? (v / 1000).toFixed(0) + ' s' : Math.round(v) + ' ms'; };
    var share = function (v) { return pct(v, 0); };
    var c;
    c = chartCard('live-updates', 'Persona updates per minute', [['updates', LIVE.updates]]);
    c.appendChild(timeChart(ms, from, to, [{ name: 'updates', key: 'updates', color: LIVE.updates, kind: 'bar' }], { format: n }));
    grid.appendChild(c);
    c = chartCard('live-users', 'Distinct users per minute', [['users', LIVE.users]]);
    c.appendChild(timeChart(ms, from, to, [{ name: 'users', key: 'users', color: LIVE.users }], { format: n }));
    grid.appendChild(c);
    c = chartCard('live-freshness', 'Freshness: event entry → persona update', [['p50', LIVE.p50], ['p99', LIVE.p99]]);
    c.appendChild(timeChart(ms, from, to, [
      { name: 'p50', key: 'freshness_p50_ms', color: LIVE.p50 },
      { name: 'p99', key: 'freshness_p99_ms', color: LIVE.p99 },
    ], { format: msFmt, left: 56 }));
    grid.appendChild(c);
    c = chartCard('live-early', 'Share of early updates (sessions in progress) and flip rate', [['early share', LIVE.early], ['flip rate', LIVE.flips]]);
    c.appendChild(timeChart(ms, from, to, [
      { name: 'early share', key: 'early_share', color: LIVE.early },
      { name: 'flip rate', key: 'flip_rate', color: LIVE.flips },
    ], { format: share, max: 1 }));
    grid.appendChild(c);
    c = chartCard('live-confidence', 'Mean tag confidence', [['confidence', LIVE.conf]]);
    c.appendChild(timeChart(ms, from, to, [{ name: 'confidence', key: 'mean_confidence', color: LIVE.conf }], { format: function (v) { return num(v, 2); }, max: 1 }));
    grid.appendChild(c);
    if (scored > 0) {
      c = chartCard('live-score', 'Rolling tag score of labelled users (' + scored + ' scored updates)', [['mean tag score of the minute', LIVE.score]]);
      c.appendChild(timeChart(ms, from, to, [{ name: 'tag score', key: 'tag_score', color: LIVE.score }], { format: function (v) { return num(v, 2); }, max: 1 }));
      grid.appendChild(c);
    }
    var tags = chartCard('live-tags', 'Tag value distribution per dimension (each active user’s latest persona in the range)');
    var tagGrid = h('div', { class: 'grid' });
    var all = body.tags || [], dims = [];
    all.forEach(function (t) { if (dims.indexOf(t.dimension) < 0) dims.push(t.dimension); });
    dims.forEach(function (d) { tagGrid.appendChild(h('div', {}, [tagBars(all.filter(function (t) { return t.dimension === d; }))])); });
    tags.appendChild(tagGrid);
    box.appendChild(tags);
  }

  function loadLive(tenant) {
    var minutes = document.getElementById('live-range').value;
    document.body.removeAttribute('data-ready');
    return getJSON('/api/tenants/' + encodeURIComponent(tenant) + '/live?minutes=' + encodeURIComponent(minutes)).then(function (body) {
      renderLive(body);
      ready();
    }).catch(function (e) {
      var box = document.getElementById('live-detail');
      box.textContent = '';
      box.appendChild(h('p', { class: 'error', text: 'Could not load the live metrics of ' + tenant + ': ' + e.message }));
      ready();
    });
  }

  function showLive(tenant) {
    document.body.removeAttribute('data-ready');
    getJSON('/api/live').then(function (body) {
      var tenants = (body.tenants || []).map(function (t) { return t.tenant; });
      if (tenant && tenants.indexOf(tenant) < 0) tenants.push(tenant);
      var select = document.getElementById('live-tenant');
      select.textContent = '';
      tenants.forEach(function (t) { select.appendChild(h('option', { value: t, text: t })); });
      var chosen = tenant || tenants[0];
      if (!chosen) {
        var box = document.getElementById('live-detail');
        box.textContent = '';
        box.appendChild(h('p', { class: 'muted', 'data-empty': 'live', text: 'No tenant has sent live events in the last 24 hours.' }));
        ready();
        return;
      }
      select.value = chosen;
      loadLive(chosen);
    }).catch(function (e) {
      var box = document.getElementById('live-detail');
      box.textContent = '';
      box.appendChild(h('p', { class: 'error', text: 'Could not load the live tenants: ' + e.message }));
      ready();
    });
  }

  function route() {
    takeTokenFromHash();
    if (!storedToken()) { showAuth('missing'); return; }
    document.getElementById('auth-view').hidden = true;
    var live = hashParam('live');
    var isLive = live !== null;
    document.getElementById('runs-view').hidden = isLive;
    document.getElementById('live-view').hidden = !isLive;
    document.getElementById('nav-runs').className = 'tab' + (isLive ? '' : ' active');
    document.getElementById('nav-live').className = 'tab' + (isLive ? ' active' : '');
    if (liveTimer) { clearInterval(liveTimer); liveTimer = null; }
    if (isLive) {
      showLive(live || null);
      liveTimer = setInterval(function () { var t = document.getElementById('live-tenant').value; if (t) loadLive(t); }, 30000);
      return;
    }
    if (!runsLoaded) { loadRuns(); return; }
    showRun(selectedFromHash() || firstRun());
  }

  var runsLoaded = false;
  function firstRun() { return runsCache[0] ? { tenant: runsCache[0].tenant, run: runsCache[0].run_id } : null; }
  function loadRuns() {
    document.body.removeAttribute('data-ready');
    getJSON('/api/runs').then(function (body) {
      runsCache = body.runs || [];
      runsLoaded = true;
      showRun(selectedFromHash() || firstRun());
    }).catch(function (e) {
      var box = document.getElementById('runs');
      box.textContent = '';
      box.appendChild(h('p', { class: 'error', text: 'Could not load runs: ' + e.message }));
      ready();
    });
  }

  document.getElementById('live-tenant').addEventListener('change', function (e) { location.hash = '#live=' + encodeURIComponent(e.target.value); });
  document.getElementById('live-range').addEventListener('change', function () { var t = document.getElementById('live-tenant').value; if (t) loadLive(t); });
  document.getElementById('auth-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var token = document.getElementById('auth-token').value.trim();
    if (!token) return;
    storeToken(token);
    runsLoaded = false; // another token may see other runs
    route();
  });
  document.getElementById('nav-token').addEventListener('click', function (e) {
    e.preventDefault();
    storeToken(null);
    showAuth('missing');
  });
  window.addEventListener('hashchange', route);
  route();
})();
`;
