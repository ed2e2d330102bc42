// The dashboard: a view per address (#/jobs, #/jobs/42, #/cron, #/workers,
// #/add), each refreshed every two seconds while the page is shown.

import {liven, loadMe, notice} from './lib.js';
import * as jobs from './jobs.js';
import * as job from './job.js';
import * as cron from './cron.js';
import * as workers from './workers.js';
import * as add from './add.js';

const POLL_MS = 2000;
const view = document.getElementById('view');
const live = document.getElementById('live');
let current = null;
let timer = null;
let busy = false;

function route() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/jobs').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'jobs' && parts[1]) return {name: 'jobs', module: job, args: [Number(parts[1])]};
  const module = {jobs, cron, workers, add}[parts[0]] || jobs;
  return {name: parts[0] in {jobs, cron, workers, add} ? parts[0] : 'jobs', module, args: [params]};
}

function setLive(ok, message) {
  live.className = `live ${ok ? 'ok' : 'down'}`;
  live.textContent = message;
}

// Refresh the view now; a refresh still running is not doubled.
async function refresh() {
  if (!current || busy) return;
  busy = true;
  const shown = current;
  try {
    await shown.refresh();
    liven(view);
    if (shown === current) {
      const d = new Date();
      setLive(true, `live · ${d.toLocaleTimeString([], {hour12: false, timeZoneName: 'short'})}`);
    }
  } catch (error) {
    setLive(false, error.status === 401 ? 'not signed in' : `offline: ${error.message}`);
  } finally {
    busy = false;
  }
}

function schedule() {
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

function show() {
  const {name, module, args} = route();
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.dataset.view === name);
  }
  if (current && current.unmount) current.unmount();
  view.replaceChildren();
  busy = false;
  current = module.mount(view, ...args, {refresh: () => refresh(), go: (hash) => { location.hash = hash; }});
  document.title = `${current.title} · remotetask`;
  refresh();
  schedule();
}

window.addEventListener('hashchange', show);
document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
window.addEventListener('unhandledrejection', (event) => notice(String(event.reason)));
loadMe().then(show);
