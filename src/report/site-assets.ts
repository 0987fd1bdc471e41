// The site's own style and scripts (vega and vega-lite are copied from node_modules beside them).
// Plain scripts, no modules: pages opened over file:// may not fetch or import anything.

export const CSS = `:root { --fg: #1d2329; --muted: #5b6670; --line: #d9dee3; --bg: #f6f7f9; --accent: #2b6cb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 14px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
main { padding: 16px 24px 40px; max-width: 1500px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 10px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; }
.chart { min-height: 60px; }
#search { width: 100%; max-width: 520px; font-size: 15px; padding: 7px 10px; border: 1px solid var(--line); border-radius: 4px; }
#label-list { list-style: none; padding: 0; margin: 10px 0 0; columns: 3 320px; column-gap: 24px; }
#label-list li { break-inside: avoid; padding: 2px 0; }
#label-list .n { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; }
img.figure { max-width: 100%; height: auto; border: 1px solid var(--line); background: #000; image-rendering: auto; }
.mosaicwrap { position: relative; display: inline-block; line-height: 0; }
.mosaicwrap img { width: min(100%, max(320px, calc(var(--cols) * 24px))); height: auto; image-rendering: pixelated; background: #000; border: 1px solid var(--line); }
.mosaicwrap a { position: absolute; }
.mosaicwrap a:hover { outline: 2px solid #ffd600; }
.gridwrap { position: relative; display: inline-block; max-width: 100%; line-height: 0; }
.gridwrap img { max-width: 100%; height: auto; background: #000; }
.gridwrap a { position: absolute; }
.gridwrap a:hover { outline: 2px solid #ffd600; }
ol.prov { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 10px; }
ol.prov li { display: flex; gap: 10px; border: 1px solid var(--line); border-radius: 4px; padding: 8px; }
ol.prov li:target { outline: 2px solid #ffd600; }
.sprite { flex: none; background-repeat: no-repeat; background-color: #000; }
.nosrc { flex: none; width: 128px; height: 128px; background: #eee; color: var(--muted); font-size: 11px; padding: 6px; overflow: hidden; }
dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 1px 8px; font-size: 12px; min-width: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: 12px; }
`;

/** Index page: the overview charts and the label search. */
export const INDEX_JS = `(function () {
  'use strict';
  var charts = window.REPORT_CHARTS || {};
  Object.keys(charts).forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) return;
    var spec = vegaLite.compile(charts[id]).spec;
    new vega.View(vega.parse(spec), { renderer: 'svg', container: el, hover: true })
      .runAsync()
      .then(function () { el.setAttribute('data-rendered', '1'); })
      .catch(function (e) { el.textContent = 'chart failed: ' + e; console.error(e); });
  });

  // The label list: all labels are in labels.js (one short entry each); at most SHOW are drawn,
  // so a 1,000-label release stays quick to filter.
  var SHOW = 400;
  var labels = window.REPORT_LABELS || [];
  var input = document.getElementById('search');
  var list = document.getElementById('label-list');
  var count = document.getElementById('search-count');
  var hay = labels.map(function (l) { return (l[0] + ' ' + l[1] + ' ' + l[2] + ' ' + l[5]).toLowerCase(); });
  function render() {
    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var frag = document.createDocumentFragment();
    var matched = 0;
    for (var i = 0; i < labels.length; i++) {
      var ok = true;
      for (var w = 0; w < words.length; w++) if (hay[i].indexOf(words[w]) < 0) { ok = false; break; }
      if (!ok) continue;
      matched++;
      if (matched > SHOW) continue;
      var l = labels[i];
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = 'labels/' + encodeURIComponent(l[2]) + '.html';
      a.textContent = l[0];
      li.appendChild(a);
      var n = document.createElement('span');
      n.className = 'n';
      n.textContent = ' ' + l[1] + ' · ' + l[3].toLocaleString('en-US') + ' images · ' + l[5];
      li.appendChild(n);
      frag.appendChild(li);
    }
    list.replaceChildren(frag);
    count.textContent = matched + ' of ' + labels.length + ' labels' + (matched > SHOW ? ' (first ' + SHOW + ' shown: keep typing)' : '');
  }
  input.addEventListener('input', render);
  render();

  // The mosaic: one link per tile, placed over the picture in percent (it scales with the page).
  var wrap = document.getElementById('mosaic-wrap');
  if (wrap) {
    var cols = Number(wrap.getAttribute('data-cols'));
    var rows = Number(wrap.getAttribute('data-rows'));
    wrap.style.setProperty('--cols', String(cols));
    var tiles = document.createDocumentFragment();
    labels.forEach(function (l, i) {
      var a = document.createElement('a');
      a.href = 'labels/' + encodeURIComponent(l[2]) + '.html';
      a.title = l[0] + ' (' + l[1] + ')';
      a.style.left = (100 * (i % cols)) / cols + '%';
      a.style.top = (100 * Math.floor(i / cols)) / rows + '%';
      a.style.width = 100 / cols + '%';
      a.style.height = 100 / rows + '%';
      tiles.appendChild(a);
    });
    wrap.appendChild(tiles);
  }
})();
`;
