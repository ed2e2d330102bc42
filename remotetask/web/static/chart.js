// The front page's chart: runs that finished and failed per minute, and
// the queue's depth, over the last hour or the last day, drawn as plain
// SVG from /api/chart (the store's per-minute counters).

import {el, getJSON, renderIfChanged} from './lib.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 170;
const PAD = {top: 24, right: 52, bottom: 22, left: 52};
// The day is shown in ten-minute bars; the hour minute by minute.
const SPANS = {hour: {label: 'Last hour', bucket: 1}, day: {label: 'Last day', bucket: 10}};

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const clock = new Intl.DateTimeFormat('en-GB', {hour: '2-digit', minute: '2-digit',
  hourCycle: 'h23', timeZoneName: 'short'});

// Minutes into bars of `size` minutes: runs summed, the deepest queue.
function buckets(minutes, size) {
  const bars = [];
  for (let i = 0; i < minutes.length; i += size) {
    const group = minutes.slice(i, i + size);
    const sampled = group.map((m) => m.queued).filter((q) => q !== null);
    bars.push({
      minute: group[0].minute,
      finished: group.reduce((sum, m) => sum + m.finished, 0),
      failed: group.reduce((sum, m) => sum + m.failed, 0),
      queued: sampled.length ? Math.max(...sampled) : null,
    });
  }
  return bars;
}

// A round number at or above `value`, for an axis.
function ceiling(value) {
  if (value <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function draw(bars, width, size) {
  const w = width - PAD.left - PAD.right;
  const h = HEIGHT - PAD.top - PAD.bottom;
  const runs = ceiling(Math.max(...bars.map((b) => b.finished + b.failed), 0));
  const depth = ceiling(Math.max(...bars.map((b) => b.queued || 0), 0));
  const slot = w / bars.length;
  const x = (i) => PAD.left + i * slot;
  const y = (n, top) => PAD.top + h - (n / top) * h;
  const parts = [
    svg('line', {class: 'axis', x1: PAD.left, x2: PAD.left + w, y1: PAD.top + h, y2: PAD.top + h}),
    svg('text', {class: 'tick', x: PAD.left - 6, y: PAD.top + 4, 'text-anchor': 'end'}, String(runs)),
    svg('text', {class: 'tick', x: PAD.left - 6, y: PAD.top + h, 'text-anchor': 'end'}, '0'),
    svg('text', {class: 'tick queue', x: PAD.left + w + 6, y: PAD.top + 4}, String(depth)),
    svg('text', {class: 'tick queue', x: PAD.left + w + 6, y: PAD.top + h}, '0'),
    // What each scale counts: runs per bar on the left, jobs queued on
    // the right.
    svg('text', {class: 'scale', id: 'chart-runs-scale', x: 2, y: PAD.top - 10},
      size > 1 ? `runs / ${size} min` : 'runs / min'),
    svg('text', {class: 'scale queue', id: 'chart-queue-scale', x: width - 2, y: PAD.top - 10,
      'text-anchor': 'end'}, 'queued'),
  ];
  bars.forEach((bar, i) => {
    const top = y(bar.finished + bar.failed, runs);
    const middle = y(bar.finished, runs);
    const gap = Math.min(1, slot / 4);
    const when = clock.format(new Date(bar.minute));
    const tip = `${when}${size > 1 ? ` (${size} min)` : ''}: ${bar.finished} finished, ` +
      `${bar.failed} failed${bar.queued === null ? '' : `, ${bar.queued} queued`}`;
    parts.push(svg('g', {class: 'bar', 'data-minute': bar.minute},
      svg('title', {}, tip),
      svg('rect', {class: 'hover', x: x(i), y: PAD.top, width: slot, height: h}),
      bar.finished ? svg('rect', {class: 'finished', x: x(i) + gap, y: middle,
        width: Math.max(0.5, slot - 2 * gap), height: PAD.top + h - middle}) : null,
      bar.failed ? svg('rect', {class: 'failed', x: x(i) + gap, y: top,
        width: Math.max(0.5, slot - 2 * gap), height: middle - top}) : null));
  });
  // The queue's depth: a line through the minutes that were sampled, a
  // dot on each (a lone sample has no line).
  const sampled = bars.map((bar, i) => (bar.queued === null ? null
    : [x(i) + slot / 2, y(bar.queued, depth)])).filter(Boolean);
  if (sampled.length > 1) {
    const points = sampled.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
    // A pale halo under the line keeps it readable across the bars.
    parts.push(svg('polyline', {class: 'queue-halo', points}));
    parts.push(svg('polyline', {class: 'queue', points}));
  }
  for (const [px, py] of sampled) {
    parts.push(svg('circle', {class: 'queue', cx: px.toFixed(1), cy: py.toFixed(1), r: 2.5}));
  }
  for (const i of [0, Math.floor(bars.length / 2), bars.length - 1]) {
    parts.push(svg('text', {class: 'tick', x: x(i) + slot / 2, y: HEIGHT - 6,
      'text-anchor': i === 0 ? 'start' : i === bars.length - 1 ? 'end' : 'middle'},
    clock.format(new Date(bars[i].minute))));
  }
  return svg('svg', {class: 'chart', id: 'chart-svg', width, height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`, role: 'img',
    'aria-label': 'Runs finished and failed, and queue depth, per minute'}, parts);
}

export function mountChart() {
  let span = 'hour';
  const body = el('div', {class: 'chart-body'});
  const totals = el('span', {class: 'chart-totals', id: 'chart-totals'});
  const buttons = Object.entries(SPANS).map(([name, spec]) => el('button', {
    type: 'button', class: 'plain', dataset: {span: name},
    onclick: () => { span = name; sync(); panel.refresh(); }}, spec.label));
  function sync() {
    for (const button of buttons) button.classList.toggle('selected', button.dataset.span === span);
  }
  sync();
  const node = el('section', {class: 'chart-panel', id: 'chart'},
    el('div', {class: 'chart-head'},
      el('h2', {}, 'Throughput'),
      el('span', {class: 'legend'},
        el('span', {class: 'key finished'}, 'finished'), el('span', {class: 'key failed'}, 'failed'),
        el('span', {class: 'key queue'}, 'queue depth')),
      totals, el('span', {class: 'spans'}, buttons)),
    body);
  const panel = {
    node,
    async refresh() {
      const answer = await getJSON(`/api/chart?span=${span}`);
      const bars = buckets(answer.minutes, SPANS[span].bucket);
      const width = Math.max(320, body.clientWidth || 900);
      const finished = bars.reduce((sum, b) => sum + b.finished, 0);
      const failed = bars.reduce((sum, b) => sum + b.failed, 0);
      totals.textContent = `${finished.toLocaleString('en')} finished · ${failed.toLocaleString('en')} failed`;
      renderIfChanged(body, {bars, width, span}, () => draw(bars, width, SPANS[span].bucket));
    },
  };
  return panel;
}
