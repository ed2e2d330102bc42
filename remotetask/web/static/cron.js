// #/cron: every cron and delayed job: its schedule in words, next and last
// run, how the last run ended, and missed runs; Run now and Cancel.

import {actionButtons, badge, el, fmtTime, getJSON, relativeSpan, renderIfChanged, timeCell} from './lib.js';

function lastRun(job, timezone) {
  if (job.running) return el('span', {}, badge('processing'));
  if (!job.lastStarted) return el('span', {class: 'muted'}, 'not yet');
  return el('span', {}, timeCell(job.lastStarted, timezone), ' ',
    job.lastError ? el('span', {class: 'err', title: job.lastError}, 'failed')
      : el('span', {class: 'ok'}, 'ok'));
}

function render({jobs, timezone}, app) {
  if (!jobs.length) {
    return el('p', {class: 'empty'}, 'No cron jobs. Add one with addCronJob over XML-RPC.');
  }
  return el('table', {class: 'cron', id: 'cron-table'},
    el('thead', {}, el('tr', {}, ['ID', 'Task', 'Schedule', 'Next run', 'Last run', 'Runs',
      'Missed', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, jobs.map((job) => el('tr', {dataset: {id: job.id}},
      el('td', {class: 'num'}, el('a', {href: `#/jobs/${job.id}`}, job.id)),
      el('td', {}, job.task, job.status === 'delayed' ? [' ', badge('delayed')] : ''),
      el('td', {}, job.schedule, job.crontab ? el('code', {class: 'crontab'}, job.crontab) : ''),
      el('td', {class: 'next-run'}, job.nextRun ? [fmtTime(job.nextRun, timezone), relativeSpan(job.nextRun)] : ''),
      el('td', {}, lastRun(job, timezone)),
      el('td', {class: 'num'}, job.runs),
      el('td', {class: job.missed ? 'num warn' : 'num'}, job.missed),
      el('td', {class: 'actions'}, actionButtons(
        {...job, status: job.running ? 'processing' : job.status}, app.refresh, ['run', 'cancel']))))));
}

export function mount(container, params, app) {
  const body = el('div', {id: 'cron'});
  const zone = el('p', {class: 'muted', id: 'cron-zone'});
  container.append(el('h1', {}, 'Cron jobs'), zone, body);
  return {
    title: 'Cron',
    async refresh() {
      const answer = await getJSON('/api/cron');
      zone.textContent = `Schedules are read, and next runs shown, in ${answer.timezone}.`;
      renderIfChanged(body, answer, () => render(answer, app));
    },
  };
}
