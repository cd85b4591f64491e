/**
 * The analysts' dashboard page: one HTML document, one stylesheet and one small script, all served
 * by the evaluator (no CDN, works offline). Charts are inline SVG drawn by the script below from the
 * JSON API (`/api/runs`, `/api/runs/:id`). The script builds DOM nodes (never innerHTML with data).
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
</header>
<main>
  <section class="card" id="runs-card">
    <h2>Runs</h2>
    <div id="runs"><p class="muted">Loading…</p></div>
  </section>
  <section id="detail"></section>
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
  function getJSON(url) {
    return fetch(url).then(function (r) {
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
    var head = h('tr', {}, ['run', 'completed (UTC)', 'users', 'test users', 'Avg@k', 'Acc_Ex', 'halluc.', 'compression', 'backend', 'stack'].map(function (c, i) {
      return h('th', { class: i >= 2 && i <= 7 ? 'num' : '', text: c });
    }));
    var rows = runs.map(function (r) {
      var tr = h('tr', { class: 'run' + (r.run_id === selected ? ' selected' : ''), 'data-run': r.run_id }, [
        h('td', { text: r.run_id }), h('td', { text: when(r.completed_ms) }),
        h('td', { class: 'num', text: String(r.users) }), h('td', { class: 'num', text: String(r.test_users) }),
        h('td', { class: 'num', text: num(r.tag_avg_at_k) }), h('td', { class: 'num', text: num(r.acc_ex) }),
        h('td', { class: 'num', text: num(r.hallucination_rate) }), h('td', { class: 'num', text: pct(r.compression_bytes) }),
        h('td', { text: r.backend }), h('td', { text: r.stack }),
      ]);
      tr.addEventListener('click', function () { location.hash = '#run=' + encodeURIComponent(r.run_id); });
      return tr;
    });
    box.appendChild(h('table', {}, [h('thead', {}, [head]), h('tbody', {}, rows)]));
  }

  function renderDetail(r) {
    var box = document.getElementById('detail');
    box.textContent = '';
    var b = r.baselines || {}, prior = b.prior || {}, raw = b.raw_frequency || {};
    box.appendChild(h('h2', { text: 'Run ' + r.run_id }));
    box.appendChild(h('p', { class: 'meta', text: r.users + ' users (' + r.test_users + ' scored, ' + r.scored_split + ' split) · ' +
      r.events + ' events · ' + r.updates + ' persona updates · backend ' + r.backend + ' · stack ' + r.stack +
      (r.seed === null ? '' : ' · seed ' + r.seed) + ' · k = ' + r.samples + ' · ' + num(r.events_per_s, 1) + ' events/s over ' + num(r.wall_s, 1) + ' s' }));
    box.appendChild(h('div', { class: 'kpis' }, [
      kpi('Tag Avg@' + (r.samples || 1), num(r.tag_avg_at_k), [['paper', num(PAPER.tag_avg_at_k, 4)], ['prior', num(prior.tag_avg_at_k)], ['raw freq.', num(raw.tag_avg_at_k)]]),
      kpi('Acc_Ex (summaries)', num(r.acc_ex), [['paper', num(PAPER.acc_ex, 4)], ['prior', num(prior.acc_ex)], ['raw freq.', num(raw.acc_ex)]]),
      kpi('Compression (bytes)', pct(r.compression_bytes), [['paper', pct(PAPER.compression_bytes)], ['tokens', pct(r.compression_tokens)]]),
      kpi('Hallucination rate', num(r.hallucination_rate), [['calibration ECE', num(r.calibration_ece)]]),
      kpi('Retention', r.retention === null ? 'n/a' : num(r.retention), [['raw-input score', r.retention === null ? 'not measured' : 'measured']]),
      kpi('Update latency p50', num(r.latency.p50_ms, 0) + ' ms', [['p99', num(r.latency.p99_ms, 0) + ' ms'], ['n', String(r.latency.count)]]),
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

  function selectedFromHash() {
    var m = /run=([^&]+)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function showRun(id) {
    document.body.removeAttribute('data-ready');
    renderRuns(runsCache, id);
    if (!id) { document.body.setAttribute('data-ready', '1'); return; }
    getJSON('/api/runs/' + encodeURIComponent(id)).then(function (r) {
      renderDetail(r);
      document.body.setAttribute('data-ready', '1');
    }).catch(function (e) {
      var box = document.getElementById('detail');
      box.textContent = '';
      box.appendChild(h('p', { class: 'error', text: 'Could not load run ' + id + ': ' + e.message }));
      document.body.setAttribute('data-ready', '1');
    });
  }

  window.addEventListener('hashchange', function () { showRun(selectedFromHash()); });
  getJSON('/api/runs').then(function (body) {
    runsCache = body.runs || [];
    showRun(selectedFromHash() || (runsCache[0] && runsCache[0].run_id) || null);
  }).catch(function (e) {
    var box = document.getElementById('runs');
    box.textContent = '';
    box.appendChild(h('p', { class: 'error', text: 'Could not load runs: ' + e.message }));
    document.body.setAttribute('data-ready', '1');
  });
})();
`;
