// What every view shares: talking to /api, building elements, showing
// times and statuses. Data from jobs is only ever put in the page as text
// (textContent), never as HTML.

const token = document.querySelector('meta[name="remotetask-csrf"]').content;

export const STATUSES = ['waiting', 'queued', 'processing', 'start later', 'delayed',
  'cronjob', 'completed', 'error', 'cancelled'];

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError((body && body.error) || `${response.status} ${response.statusText}`,
      response.status);
  }
  return body;
}

// Against the origin, not the page's address: opened as
// http://user:password@host/, that address has credentials in it, and
// fetch() refuses any URL that does.
const url = (path) => new URL(path, location.origin);

export async function getJSON(path) {
  return answer(await fetch(url(path), {cache: 'no-store', headers: {Accept: 'application/json'}}));
}

// Actions: the page's token goes in a header no other site can send.
export async function post(path, body) {
  return answer(await fetch(url(path), {
    method: 'POST', cache: 'no-store',
    headers: {'Content-Type': 'application/json', 'X-Remotetask-CSRF': token},
    body: JSON.stringify(body === undefined ? {} : body),
  }));
}

// el('a', {href: '#', class: 'x', onclick: f}, 'text', child, ...)
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Formatters by zone (undefined: the viewer's own), made once each.
const formats = new Map();

function format(zone) {
  if (!formats.has(zone)) {
    formats.set(zone, new Intl.DateTimeFormat('en-GB', {
      timeZone: zone, hourCycle: 'h23', timeZoneName: 'short',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit'}));
  }
  return formats.get(zone);
}

// A time with its zone: "2026-11-27 21:27:03 UTC", in `zone` (an IANA
// name such as the server's cron zone) or else the viewer's own.
export function fmtTime(iso, zone) {
  if (!iso) return '';
  let parts;
  try {
    parts = Object.fromEntries(format(zone).formatToParts(new Date(iso))
      .map((part) => [part.type, part.value]));
  } catch (error) {
    if (zone === undefined) throw error;
    return fmtTime(iso);  // a zone this browser does not know
  }
  return `${parts.year}-${parts.month}-${parts.day} ` +
    `${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

// "1 job", "2 jobs", "1,024 jobs".
export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

export function fmtSeconds(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const s = Math.abs(seconds);
  if (s < 10) return `${s.toFixed(s < 1 ? 2 : 1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

export function relative(iso) {
  if (!iso) return '';
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Math.abs(seconds) < 1) return 'now';
  return seconds > 0 ? `in ${fmtSeconds(seconds)}` : `${fmtSeconds(seconds)} ago`;
}

// A time as the viewer's local time (or in `zone`), with its zone, and
// how long ago in its tooltip.
export function timeCell(iso, zone) {
  return iso ? el('time', {datetime: iso, title: relative(iso)}, fmtTime(iso, zone)) : '';
}

// "in 5 min" / "3 s ago", kept current by liven() without redrawing.
export function relativeSpan(iso) {
  return el('span', {class: 'muted', dataset: {relative: iso}}, ` (${relative(iso)})`);
}

// How long a job took, or, while it runs, "running for" so far, kept
// current.
export function took(job) {
  if (!job.started) return '';
  if (job.status !== 'processing' && job.completed && job.completed >= job.started) {
    return fmtSeconds((Date.parse(job.completed) - Date.parse(job.started)) / 1000);
  }
  if (job.status !== 'processing') return '';
  return el('span', {class: 'running-for', dataset: {since: job.started, prefix: 'running for '}},
    `running for ${fmtSeconds((Date.now() - Date.parse(job.started)) / 1000)}`);
}

// A progress report ({fraction, message, at}) as a bar with its
// percentage and message; nothing without one.
export function progressBar(progress) {
  if (!progress) return null;
  const percent = Math.round(progress.fraction * 100);
  const fill = el('span', {class: 'fill'});
  fill.style.width = `${percent}%`;
  return el('div', {class: 'progress', role: 'progressbar', 'aria-valuemin': 0,
    'aria-valuemax': 100, 'aria-valuenow': percent,
    title: progress.at ? `reported ${fmtTime(progress.at)}` : null},
  el('span', {class: 'track'}, fill),
  el('span', {class: 'label'}, `${percent}%${progress.message ? ` · ${progress.message}` : ''}`));
}

// Move on the times that count from now, in place: a poll need not redraw
// a table (and lose a half-done click) just because a second passed.
export function liven(root) {
  for (const node of root.querySelectorAll('[data-since]')) {
    node.textContent = (node.dataset.prefix || '') +
      fmtSeconds((Date.now() - Date.parse(node.dataset.since)) / 1000);
  }
  for (const node of root.querySelectorAll('[data-relative]')) {
    const prefix = node.dataset.prefix;
    node.textContent = prefix ? `${prefix}${relative(node.dataset.relative)}`
      : ` (${relative(node.dataset.relative)})`;
  }
}

// For a queued job not yet due (added with a delay, or waiting for its
// retry): "due in 59 min 30 s", kept current; else nothing.
export function dueSpan(job) {
  if (job.status !== 'queued' || !job.due || Date.parse(job.due) - Date.now() < 1000) return null;
  return el('span', {class: 'due muted', dataset: {relative: job.due, prefix: 'due '}},
    `due ${relative(job.due)}`);
}

export function badge(status) {
  return el('span', {class: `badge s-${status.replace(' ', '-')}`}, status);
}

export function notice(message, kind = 'error') {
  const box = document.getElementById('notice');
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 8000 : 3000);
}

// Who the page's user is and what its role lets it do (GET /api/me),
// read once by app.js before the first view is shown.
export const me = {mayAdd: true, mayChange: true, why: null};

export async function loadMe() {
  try {
    Object.assign(me, await getJSON('/api/me'));
  } catch (error) {
    // An older server: every button works, as before.
  }
}

// The actions a job allows, as the server does.
const ACTIONS = {
  cancel: {label: 'Cancel', when: ['waiting', 'queued', 'processing', 'start later', 'delayed', 'cronjob'],
    confirm: true},
  retry: {label: 'Retry', when: ['error']},
  run: {label: 'Run now', when: ['cronjob', 'delayed']},
  start: {label: 'Start', when: ['start later']},
};

async function act(button, job, action, done) {
  const spec = ACTIONS[action];
  if (spec.confirm && !button.classList.contains('armed')) {
    button.classList.add('armed');
    button.textContent = `${spec.label}? Click again`;
    setTimeout(() => { button.classList.remove('armed'); button.textContent = spec.label; }, 4000);
    return;
  }
  button.disabled = true;
  try {
    const result = await post(`/api/jobs/${job.id}/${action}`);
    notice(`Job ${job.id}: ${result.status}`, 'ok');
  } catch (error) {
    notice(`Job ${job.id}: ${error.message}`);
  } finally {
    button.disabled = false;
    if (done) done();
  }
}

export function actionButtons(job, done, only) {
  return Object.entries(ACTIONS)
    .filter(([name, spec]) => spec.when.includes(job.status) && (!only || only.includes(name)))
    .map(([name, spec]) => {
      const button = el('button', {type: 'button', class: `act act-${name}`,
        dataset: {action: name, id: job.id}}, spec.label);
      if (!me.mayChange) {
        button.disabled = true;
        button.title = me.why || 'Not allowed';
        return button;
      }
      button.addEventListener('click', () => act(button, job, name, done));
      return button;
    });
}

// Replace the children of `node` only when `data` changed, so that a poll
// that brings nothing new leaves the page (and a selection) alone.
const rendered = new WeakMap();

export function renderIfChanged(node, data, render) {
  const text = JSON.stringify(data);
  if (rendered.get(node) === text) return;
  rendered.set(node, text);
  node.replaceChildren(...[render(data)].flat().filter((child) => child !== null && child !== undefined));
}
