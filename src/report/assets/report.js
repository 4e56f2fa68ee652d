// The page of `tt report`. Its data comes from the JSON block above (never run as
// script); every label reaches the page through textContent or the canvas, never
// innerHTML, so a hostile hashtag is shown as text.
'use strict';

const DATA = JSON.parse(document.getElementById('data').textContent);
const COLORS = ['#1d9bf0', '#f91880', '#00ba7c', '#ffd400', '#7856ff', '#ff7a00', '#8b98a5', '#e0245e', '#17bf63', '#794bc4'];
const MAX_LABEL = 40;
const $ = (id) => document.getElementById(id);
let marked = null; // [first bin, last bin] of the selected burst

function cut(text) {
  const chars = Array.from(text);
  return chars.length > MAX_LABEL ? chars.slice(0, MAX_LABEL - 1).join('') + '…' : text;
}

function iso(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

// A timeline label: as precise as the period needs.
function when(ms) {
  const p = DATA.summary.period_ms;
  const s = iso(ms);
  if (p % 86400000 === 0) return s.slice(0, 10);
  if (p % 60000 === 0) return s.slice(0, 10) + ' ' + s.slice(11, 16);
  return s.slice(0, 10) + ' ' + s.slice(11, 19);
}

function duration(ms) {
  const units = [[604800000, 'w'], [86400000, 'd'], [3600000, 'h'], [60000, 'min'], [1000, 's']];
  for (const [u, name] of units) {
    if (ms >= u && ms % u === 0) return (ms / u) + ' ' + name;
  }
  return ms + ' ms';
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls === 'tag') {
    const span = document.createElement('bdi');
    span.className = 'tag';
    span.textContent = text;
    span.title = text;
    td.appendChild(span);
  } else {
    td.textContent = text;
    if (cls) td.className = cls;
  }
  tr.appendChild(td);
  return td;
}

function summary() {
  const s = DATA.summary;
  $('title-range').textContent = s.from + ' to ' + s.to;
  const mode = s.counting + (s.half_life_s !== null ? ' (half-life ' + duration(s.half_life_s * 1000) + ')' : '');
  const rows = [
    ['Covered', s.from + ' – ' + s.to],
    ['Batches', s.batches.toLocaleString('en') + ' of ' + duration(s.batch_ms)],
    ['Posts', s.posts.toLocaleString('en')],
    ['Distinct tags', s.tags.toLocaleString('en')],
    ['Counting', mode],
    ['Burst threshold', 'trend above ' + s.burst_trend],
    ['Tags kept', s.kept + ' (' + s.dropped.toLocaleString('en') + ' less used ones left out)'],
  ];
  for (const [k, v] of rows) {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    div.append(dt, dd);
    $('summary').appendChild(div);
  }
  $('period').textContent = '(uses per ' + duration(s.period_ms) + ')';
  $('leaders-every').textContent = duration(DATA.leaders_every_ms);
  $('bursts-note').textContent = '(' + DATA.bursts.length + ')';
}

// Draws the selected burst's span behind the lines.
const markPlugin = {
  id: 'mark',
  beforeDatasetsDraw(chart) {
    if (!marked) return;
    const x = chart.scales.x;
    const area = chart.chartArea;
    const half = (x.getPixelForValue(1) - x.getPixelForValue(0)) / 2;
    const left = x.getPixelForValue(marked[0]) - half;
    const right = x.getPixelForValue(marked[1]) + half;
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(249, 24, 128, 0.15)';
    ctx.fillRect(Math.max(left, area.left), area.top, Math.min(right, area.right) - Math.max(left, area.left), area.bottom - area.top);
    ctx.restore();
  },
};

function dataset(i, k) {
  const s = DATA.series[i];
  const color = COLORS[k % COLORS.length];
  return { label: cut('#' + s.text), data: s.uses, borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 1.5, tension: 0, seriesIndex: i };
}

let chart = null;
function timeline() {
  chart = new Chart($('timeline'), {
    type: 'line',
    data: { labels: DATA.bins.map(when), datasets: DATA.shown.map((i, k) => dataset(i, k)) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: { x: { ticks: { maxTicksLimit: 12, maxRotation: 0 } }, y: { beginAtZero: true, title: { display: true, text: 'uses' } } },
      plugins: { legend: { position: 'bottom' } },
    },
    plugins: [markPlugin],
  });
}

function addTag() {
  const byName = new Map();
  DATA.series.forEach((s, i) => {
    byName.set(s.tag, i);
    byName.set(s.text.toLowerCase(), i);
    const opt = document.createElement('option');
    opt.value = s.text;
    $('tag-list').appendChild(opt);
  });
  $('add').addEventListener('change', () => {
    const want = $('add').value.trim().replace(/^[#＃]/, '');
    const i = byName.get(want) ?? byName.get(want.toLowerCase());
    if (i === undefined) {
      $('add-status').textContent = want ? 'no kept tag ' + want : '';
      return;
    }
    if (!chart.data.datasets.some((d) => d.seriesIndex === i)) {
      chart.data.datasets.push(dataset(i, chart.data.datasets.length));
      chart.update();
    }
    $('add-status').textContent = 'added ' + cut('#' + DATA.series[i].text);
    $('add').value = '';
  });
}

function bursts() {
  const body = $('bursts').tBodies[0];
  DATA.bursts.forEach((b) => {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    cell(tr, '#' + b.text, 'tag');
    cell(tr, iso(b.start));
    cell(tr, iso(b.peak_at));
    cell(tr, String(b.peak), 'num');
    cell(tr, b.batches + ' × ' + duration(DATA.summary.batch_ms), 'num');
    cell(tr, b.uses.toLocaleString('en'), 'num');
    const select = () => {
      for (const r of body.rows) r.removeAttribute('aria-selected');
      tr.setAttribute('aria-selected', 'true');
      marked = [b.bins[0], b.bins[1]];
      if (!chart.data.datasets.some((d) => d.seriesIndex === b.series)) {
        chart.data.datasets.push(dataset(b.series, chart.data.datasets.length));
      }
      chart.update();
    };
    tr.addEventListener('click', select);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(); } });
    body.appendChild(tr);
  });
}

function leaders() {
  const body = $('leaders').tBodies[0];
  for (const p of DATA.leaders) {
    const tr = document.createElement('tr');
    cell(tr, iso(p.start));
    for (let k = 0; k < 3; k++) {
      const t = p.top[k];
      cell(tr, t ? '#' + t[0] + ' (' + t[1].toLocaleString('en') + ')' : '', t ? 'tag' : undefined);
    }
    body.appendChild(tr);
  }
}

function csvField(v) {
  const s = String(v);
  // A leading =, +, - or @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(s) ? "'" + s : s;
  return /[",\r\n]/.test(safe) ? '"' + safe.replace(/"/g, '""') + '"' : safe;
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function downloads() {
  $('csv-series').addEventListener('click', () => {
    const rows = [['period_start', 'tag', 'text', 'uses']];
    DATA.series.forEach((s) => s.uses.forEach((n, b) => { if (n > 0) rows.push([iso(DATA.bins[b]), s.tag, s.text, n]); }));
    download('tt-report-series.csv', rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n', 'text/csv');
  });
  $('csv-bursts').addEventListener('click', () => {
    const rows = [['tag', 'text', 'start', 'peak_at', 'peak_score', 'batches', 'uses']];
    DATA.bursts.forEach((b) => rows.push([b.tag, b.text, iso(b.start), iso(b.peak_at), b.peak, b.batches, b.uses]));
    download('tt-report-bursts.csv', rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n', 'text/csv');
  });
  $('png-timeline').addEventListener('click', () => {
    const a = document.createElement('a');
    a.href = chart.toBase64Image('image/png', 1);
    a.download = 'tt-report-timeline.png';
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
}

summary();
timeline();
addTag();
bursts();
leaders();
downloads();
document.body.dataset.readyMs = String(Math.round(performance.now()));
document.body.dataset.ready = 'true';
