// #/jobs/42: everything about one job: its progress, its input, output,
// error and traceback, every failed attempt, its times, its life as a
// timeline of events, the graph of the jobs it waits for and that wait for
// it and, for a cron job, its schedule (in the server's cron zone).

import {actionButtons, badge, el, fmtTime, getJSON, progressBar, relativeSpan,
  renderIfChanged, timeCell, took} from './lib.js';
import {graph} from './graph.js';

// What an event's details say, in words.
const DETAILS = {
  attempt: (v) => `attempt ${v}`, status: (v) => v, why: (v) => v, error: (v) => v,
  retryIn: (v) => `again in ${v} s`, url: (v) => v, gaveUp: () => 'given up',
  lost: (v) => `from ${v}`,
};

function details(event) {
  return Object.entries(event).filter(([key]) => !['at', 'event', 'server'].includes(key))
    .map(([key, value]) => (DETAILS[key] ? DETAILS[key](value) : `${key} ${value}`)).join(' · ');
}

// An attempt that ended in error, its last: marked apart from a success.
function failed(event) {
  return event.event === 'ended' && event.status === 'error';
}

function timeline(events) {
  if (!events.length) return null;
  return el('section', {class: 'block'}, el('h2', {}, 'Timeline'),
    el('ol', {class: 'timeline', id: 'timeline'}, events.map((event) => el('li', {
      class: `ev ev-${event.event.replace(/ /g, '-')}${failed(event) ? ' ev-failed' : ''}`,
      dataset: {event: event.event}},
    el('span', {class: 'dot'}),
    el('span', {class: 'when'}, timeCell(event.at)),
    el('span', {class: 'what'}, event.event),
    el('span', {class: 'details'}, details(event)),
    el('span', {class: 'server muted'}, event.server)))));
}

function json(value) {
  return value === null || value === undefined ? '' : JSON.stringify(value, null, 2);
}

// A member too large to send (the server's --max-answer-size) is left
// out, and job.omitted gives its stored size instead.
function shown(job, name, text) {
  const size = job.omitted && job.omitted[name];
  return size ? `(${size} bytes stored: more than the server sends in one ` +
    'answer; see --max-answer-size)' : text;
}

function block(title, text, kind, id) {
  if (!text) return null;
  return el('section', {class: 'block'}, el('h2', {}, title),
    el('pre', {class: kind || '', id}, text));
}

function fact(label, value) {
  return value === '' || value === null || value === undefined ? null
    : [el('dt', {}, label), el('dd', {}, value)];
}

function render(job, app) {
  const attempts = job.history.length ? el('section', {class: 'block'},
    el('h2', {}, 'Failed attempts'),
    el('table', {class: 'attempts', id: 'attempts'},
      el('thead', {}, el('tr', {}, ['#', 'Started', 'Ended', 'Took', 'Error'].map((h) => el('th', {}, h)))),
      el('tbody', {}, job.history.map((a) => el('tr', {},
        el('td', {class: 'num'}, a.attempt ?? ''), el('td', {}, timeCell(a.started)),
        el('td', {}, timeCell(a.completed)), el('td', {class: 'num'}, took(a)),
        el('td', {class: 'err'}, a.error || '')))))) : null;
  const next = job.nextRun ? el('span', {}, fmtTime(job.nextRun, job.timezone),
    relativeSpan(job.nextRun)) : '';
  const running = job.status === 'processing';
  return [
    el('div', {class: 'title'},
      el('h1', {}, `Job ${job.id}`), badge(job.status),
      el('span', {class: 'actions'}, actionButtons(job, app.refresh))),
    job.progress ? el('div', {class: `job-progress${running ? '' : ' ended'}`, id: 'job-progress'},
      progressBar(job.progress)) : null,
    el('dl', {class: 'facts-grid', id: 'job-facts'},
      fact('Task', job.task), fact('Status', job.status),
      fact('Schedule', job.schedule ? `${job.schedule} (${job.timezone})` : ''),
      fact('Crontab', job.crontab || ''),
      fact('Next run', next), fact('Missed runs', job.schedule ? String(job.missed) : ''),
      fact('Created', timeCell(job.created)), fact('Started', timeCell(job.started)),
      fact('Ended', running ? '' : timeCell(job.completed)),
      fact(running ? 'Running for' : 'Took', took(job)),
      fact('Attempts', job.maxAttempts ? `${job.attempts} of at most ${job.maxAttempts}`
        : String(job.attempts)),
      fact('Priority', job.priority ? String(job.priority) : ''),
      fact('Key', job.key || ''), fact('Server', job.server || ''),
      fact('Added by', job.owner || ''),
      fact('Tells', job.notify || ''),
      fact('Due', job.status === 'queued' && job.due ? timeCell(job.due) : '')),
    graph(job),
    block('Error', shown(job, 'error', job.error), 'err', 'job-error'),
    block('Traceback', shown(job, 'traceback', job.traceback), 'traceback', 'job-traceback'),
    block('Input', shown(job, 'input', json(job.input)), '', 'job-input'),
    block('Output', shown(job, 'output', json(job.output)), '', 'job-output'),
    attempts,
    timeline(job.events),
  ];
}

export function mount(container, jobid, app) {
  const body = el('div', {class: 'job'});
  container.append(el('p', {class: 'crumbs'}, el('a', {href: '#/jobs'}, '← All jobs')), body);
  return {
    title: `Job ${jobid}`,
    async refresh() {
      try {
        const job = await getJSON(`/api/jobs/${jobid}`);
        renderIfChanged(body, job, () => render(job, app));
      } catch (error) {
        if (error.status !== 404) throw error;
        renderIfChanged(body, 'gone', () => el('p', {class: 'empty'}, error.message));
      }
    },
  };
}
