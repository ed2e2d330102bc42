// #/workers: this server's workers and the tasks it serves, the jobs
// running, and, when several servers share a PostgreSQL store, each of
// them, the age of its heartbeat and the tasks it serves.

import {badge, el, fmtSeconds, getJSON, progressBar, renderIfChanged, timeCell} from './lib.js';

function runningFor(job) {
  return el('span', {dataset: {since: job.started}},
    fmtSeconds((Date.now() - Date.parse(job.started)) / 1000));
}

function meter(share) {
  const bar = el('span', {class: 'bar'});
  bar.style.width = `${Math.round(share * 100)}%`;
  return el('span', {class: 'meter', title: `${Math.round(share * 100)} %`}, bar);
}

function render(answer) {
  const s = answer.server;
  const parts = [
    el('section', {class: 'server-card', id: 'this-server'},
      el('h2', {}, s.id ? `This server: ${s.id}` : 'This server'),
      el('p', {}, `${s.busy} of ${s.size} workers busy · ${s.free} free`),
      meter(s.utilisation),
      el('p', {id: 'this-server-tasks'}, 'Serves: ', s.tasks.length ? s.tasks.flatMap((name, i) =>
        [i ? ', ' : '', name, s.limits[name] ? el('span', {class: 'muted'}, ` (${s.limits[name]})`) : ''])
        : el('span', {class: 'muted'}, 'no task'))),
    el('h2', {}, 'Running jobs'),
    answer.running.length ? el('table', {class: 'running', id: 'running-table'},
      el('thead', {}, el('tr', {}, ['ID', 'Task', 'Status', 'Started', 'Running for', 'Progress', 'Where']
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, answer.running.map((job) => el('tr', {dataset: {id: job.id}},
        el('td', {class: 'num'}, el('a', {href: `#/jobs/${job.id}`}, job.id)),
        el('td', {}, job.task), el('td', {}, badge(job.status)),
        el('td', {}, timeCell(job.started)),
        el('td', {class: 'num'}, job.started ? runningFor(job) : ''),
        el('td', {}, progressBar(job.progress)),
        el('td', {}, job.here ? 'this server' : 'another server')))))
      : el('p', {class: 'empty'}, 'No job is running.'),
    el('h2', {}, 'Servers'),
  ];
  if (answer.servers === null) {
    parts.push(el('p', {class: 'muted', id: 'servers-note'},
      'This server has its store to itself (SQLite or memory); with a shared PostgreSQL ' +
      'store, every server and its heartbeat are listed here.'));
  } else {
    parts.push(el('table', {class: 'servers', id: 'servers-table'},
      el('thead', {}, el('tr', {}, ['Server', 'Last heartbeat', 'Age', 'Running', 'Serves']
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, answer.servers.map((server) => el('tr', {class: server.this ? 'this' : ''},
        el('td', {}, server.id, server.this ? el('span', {class: 'muted'}, ' (this one)') : ''),
        el('td', {}, timeCell(server.heartbeat)),
        el('td', {class: server.age > 30 ? 'num warn' : 'num'},
          el('span', {dataset: {since: server.heartbeat}}, fmtSeconds(server.age))),
        el('td', {class: 'num'}, server.running),
        el('td', {}, server.tasks.join(', ') || el('span', {class: 'muted'}, 'nothing')))))));
  }
  return parts;
}

export function mount(container, params, app) {
  const body = el('div', {id: 'workers'});
  container.append(el('h1', {}, 'Workers'), body);
  return {
    title: 'Workers',
    async refresh() {
      const answer = await getJSON('/api/workers');
      // Heartbeat ages move on with every poll: leave them out of the
      // comparison; liven() moves them on in place.
      const {now, ...shown} = answer;
      shown.servers = shown.servers && shown.servers.map(({age, ...server}) => server);
      renderIfChanged(body, shown, () => render(answer));
    },
  };
}
