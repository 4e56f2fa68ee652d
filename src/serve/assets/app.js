// The live page of `tt serve`. Every label reaches the page through textContent or the
// canvas (never innerHTML), so a hostile hashtag is shown as text and never runs.
'use strict';

const HISTORY = 60; // batches drawn in the history chart
const COLORS = ['#1d9bf0', '#f91880', '#00ba7c', '#ffd400', '#7856ff', '#ff7a00', '#8b98a5', '#e0245e', '#17bf63', '#794bc4'];
const $ = (id) => document.getElementById(id);
const state = { history: [], latestKey: null };
let bar = null;
let line = null;

function valueOf(t, by) {
  if (by === 'trend') return t.trend;
  if (by === 'users' && t.users !== undefined) return t.users;
  return t.count;
}

function fmt(n) {
  if (typeof n !== 'number') return '';
  return Number.isInteger(n) ? n.toLocaleString() : n.toFixed(2);
}

// A tag as the charts draw it: isolated (U+2068 ... U+2069), so right-to-left text or a
// U+202E override inside it cannot reorder the characters around it, and cut at 32
// characters with an ellipsis, so one long tag cannot push the chart off the page.
function label(text) {
  const chars = Array.from(String(text));
  const shown = chars.length > 32 ? chars.slice(0, 31).join('') + '\u2026' : chars.join('');
  return '#\u2068' + shown + '\u2069';
}

function charts() {
  if (bar || !window.Chart) return;
  Chart.defaults.animation = false;
  Chart.defaults.color = getComputedStyle(document.body).color;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  bar = new Chart($('bar'), {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'count', data: [], backgroundColor: COLORS[0] }] },
    options: { indexAxis: 'y', responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } },
  });
  line = new Chart($('line'), {
    type: 'line',
    data: { labels: [], datasets: [] },
    options: { responsive: true, maintainAspectRatio: false, spanGaps: true, elements: { point: { radius: 0 } } },
  });
}

function render() {
  const lb = state.history[state.history.length - 1];
  if (!lb) return;
  const by = lb.by || 'count';
  const top = Array.isArray(lb.top) ? lb.top : [];
  // Status line.
  const parts = ['Batch ' + lb.batch];
  if (lb.end) parts.push(String(lb.end).replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));
  const prev = state.history[state.history.length - 2];
  if (prev && lb.posts !== undefined && prev.end && lb.end) {
    const secs = (Date.parse(lb.end) - Date.parse(prev.end)) / 1000;
    if (secs > 0) parts.push(Math.round(lb.posts / secs).toLocaleString() + ' posts with a tag/s');
  }
  parts.push('ranked by ' + by);
  $('status').textContent = parts.join(' · ');
  $('by-label').textContent = '(by ' + by + ')';
  // The accessible table: the same leaders as text.
  const rows = top.map((t) => {
    const tr = document.createElement('tr');
    for (const v of [String(t.rank), '#' + t.text, fmt(valueOf(t, by === 'trend' ? 'count' : by)), fmt(t.trend)]) {
      const td = document.createElement('td');
      td.textContent = v;
      td.dir = 'auto';
      td.title = v;
      tr.appendChild(td);
    }
    tr.dataset.tag = t.tag;
    return tr;
  });
  $('leaders').querySelector('tbody').replaceChildren(...rows);
  charts();
  if (!bar) return;
  bar.data.labels = top.map((t) => label(t.text));
  bar.data.datasets[0].data = top.map((t) => valueOf(t, by));
  bar.data.datasets[0].label = by;
  bar.update();
  const hist = state.history.slice(-HISTORY);
  line.data.labels = hist.map((h) => String(h.end || h.batch).slice(11, 19));
  line.data.datasets = top.slice(0, 5).map((t, i) => ({
    label: label(t.text),
    borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length],
    data: hist.map((h) => {
      const e = (h.top || []).find((x) => x.tag === t.tag);
      return e ? valueOf(e, by) : null;
    }),
  }));
  line.update();
}

function push(lb) {
  if (!lb || !Array.isArray(lb.top)) return;
  const key = lb.batch + ' ' + lb.end;
  if (key === state.latestKey) return;
  state.latestKey = key;
  state.history.push(lb);
  if (state.history.length > 4 * HISTORY) state.history.shift();
  // How many leaderboards this page has taken in (read by the browser test).
  document.body.dataset.received = String(Number(document.body.dataset.received || 0) + 1);
  render();
}

function poll() {
  $('mode').textContent = 'updated by polling every 2 s';
  const tick = async () => {
    try {
      const r = await fetch('/api/top.json', { cache: 'no-store' });
      if (r.ok) push(await r.json());
    } catch (e) { /* the server may be restarting: try again */ }
  };
  tick();
  setInterval(tick, 2000);
}

function live() {
  if (!window.EventSource) return poll();
  const es = new EventSource('/events');
  let failures = 0;
  es.onopen = () => { $('mode').textContent = 'live (server-sent events)'; };
  es.onmessage = (e) => { failures = 0; push(JSON.parse(e.data)); };
  es.onerror = () => {
    failures += 1;
    if (failures >= 3) { es.close(); poll(); }
  };
}

async function start() {
  try {
    const r = await fetch('/api/history.json', { cache: 'no-store' });
    if (r.ok) for (const lb of await r.json()) push(lb);
  } catch (e) { /* live() catches up */ }
  charts();
  render();
  live();
}

start();
