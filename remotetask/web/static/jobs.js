// #/jobs: counts by status and task, the chart of the last hour or day,
// and the job list, newest first, with filters (status, task, text) and
// keyset paging (Older / Newer); a running job shows its progress.

import {mountChart} from './chart.js';
import {STATUSES, actionButtons, badge, dueSpan, el, fmtSeconds, getJSON, plural, progressBar,
  renderIfChanged, timeCell, took} from './lib.js';

const LIMIT = 50;

export function mount(container, params, app) {
  const state = {
    status: params.get('status') || '', task: params.get('task') || '',
    text: params.get('text') || '', before: Number(params.get('before')) || null, newer: [],
  };
  let tasks = [];
  getJSON('/api/tasks').then((answer) => { tasks = Object.keys(answer.tasks); }).catch(() => {});

  const cards = el('section', {class: 'cards', id: 'status-cards'});
  const chart = mountChart();
  const facts = el('p', {class: 'facts', id: 'queue-facts'});
  const unserved = el('p', {class: 'warn', id: 'unserved'});
  const byTask = el('div', {id: 'by-task'});
  const statusSelect = el('select', {id: 'filter-status', 'aria-label': 'Status'},
    el('option', {value: ''}, 'any status'), STATUSES.map((s) => el('option', {value: s}, s)));
  const taskSelect = el('select', {id: 'filter-task', 'aria-label': 'Task'});
  const textInput = el('input', {id: 'filter-text', type: 'search', maxlength: 200,
    placeholder: 'Text in input or error', 'aria-label': 'Text in input or error'});
  const tbody = el('tbody');
  const pager = el('div', {class: 'pager', id: 'pager'});
  statusSelect.value = state.status;
  textInput.value = state.text;

  function query(extra) {
    const q = new URLSearchParams(extra);
    for (const name of ['status', 'task', 'text']) if (state[name]) q.set(name, state[name]);
    if (state.before) q.set('before', state.before);
    return q;
  }

  function filtersChanged(push) {
    state.before = null;
    state.newer = [];
    go(push);
  }

  function go(push) {
    const hash = `#/jobs?${query()}`;
    if (push) history.pushState(null, '', hash); else history.replaceState(null, '', hash);
    app.refresh();
  }

  statusSelect.addEventListener('change', () => { state.status = statusSelect.value; filtersChanged(); });
  taskSelect.addEventListener('change', () => { state.task = taskSelect.value; filtersChanged(); });
  let typing = null;
  textInput.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.text = textInput.value.trim(); filtersChanged(); }, 300);
  });
  const clear = el('button', {type: 'button', class: 'plain', id: 'filter-clear', onclick: () => {
    Object.assign(state, {status: '', task: '', text: ''});
    statusSelect.value = taskSelect.value = textInput.value = '';
    filtersChanged();
  }}, 'Clear');

  function pick(name, value) {
    state[name] = state[name] === value ? '' : value;
    statusSelect.value = state.status;
    taskSelect.value = state.task;
    filtersChanged();
  }

  container.append(
    el('h1', {}, 'Jobs'), cards, facts, unserved, chart.node,
    el('div', {class: 'split'},
      el('section', {class: 'list'},
        el('div', {class: 'filters'}, statusSelect, taskSelect, textInput, clear),
        el('table', {class: 'jobs', id: 'jobs-table'},
          el('thead', {}, el('tr', {}, ['ID', 'Task', 'Status', 'Created', 'Took', 'Tries',
            'Input or error', ''].map((h) => el('th', {}, h)))),
          tbody),
        pager),
      el('aside', {class: 'side'}, el('h2', {}, 'By task'), byTask)));

  function renderCards({byStatus, selected}) {
    return STATUSES.map((status) => el('button', {
      type: 'button', class: `card s-${status.replace(' ', '-')}${selected === status ? ' selected' : ''}`,
      dataset: {status}, onclick: () => pick('status', status),
    }, el('span', {class: 'count'}, (byStatus[status] || 0).toLocaleString('en')),
    el('span', {class: 'label'}, status)));
  }

  // Per task: what waits, runs and failed, and all of its jobs; the
  // tooltip has every status.
  function renderByTask(counts) {
    const names = [...new Set(counts.map((c) => c.task))].sort();
    if (!names.length) return el('p', {class: 'empty'}, 'No jobs yet.');
    const columns = [['queued', ['queued']], ['running', ['processing']], ['failed', ['error']],
      ['all', STATUSES]];
    const count = (task, statuses) => counts.filter((c) => c.task === task && statuses.includes(c.status))
      .reduce((sum, c) => sum + c.count, 0);
    const shown = (n) => (n ? n.toLocaleString('en') : '·');
    return el('table', {class: 'by-task', id: 'by-task-table'},
      el('thead', {}, el('tr', {}, el('th', {}, 'task'), columns.map(([label]) => el('th', {class: 'num'}, label)))),
      el('tbody', {}, names.map((task) => el('tr', {
        title: counts.filter((c) => c.task === task).map((c) => `${c.status} ${c.count}`).join(' · '),
      },
      el('td', {}, el('a', {href: '#', onclick: (e) => { e.preventDefault(); pick('task', task); }}, task)),
      columns.map(([label, statuses]) => el('td', {class: `num${label === 'failed' && count(task, statuses) ? ' err' : ''}`},
        shown(count(task, statuses))))))));
  }

  function renderRows({jobs}) {
    if (!jobs.length) return el('tr', {}, el('td', {colspan: 8, class: 'empty'}, 'No jobs match.'));
    return jobs.map((job) => el('tr', {dataset: {id: job.id, status: job.status}},
      el('td', {class: 'num'}, el('a', {href: `#/jobs/${job.id}`}, job.id)),
      el('td', {}, job.task),
      el('td', {}, badge(job.status), dueSpan(job)),
      el('td', {}, timeCell(job.created)),
      el('td', {class: 'num took'}, took(job),
        job.status === 'processing' ? progressBar(job.progress) : null),
      el('td', {class: 'num'}, job.attempts),
      el('td', {class: job.error ? 'preview err' : 'preview'}, job.error || job.input || ''),
      el('td', {class: 'actions'}, actionButtons(job, app.refresh))));
  }

  function renderPager({next, count}) {
    const parts = [];
    if (state.before) {
      parts.push(el('button', {type: 'button', onclick: () => { state.before = null; state.newer = []; go(true); }}, 'Newest'));
    }
    if (state.newer.length) {
      parts.push(el('button', {type: 'button', onclick: () => { state.before = state.newer.pop(); go(true); }}, '← Newer'));
    }
    if (next) {
      parts.push(el('button', {type: 'button', id: 'older', onclick: () => {
        state.newer.push(state.before);
        state.before = next;
        go(true);
      }}, 'Older →'));
      if (count < LIMIT) {
        parts.push(el('span', {class: 'hint'},
          `Searched down to job ${next}; Older searches further.`));
      }
    }
    return parts;
  }

  function syncTasks(byTask) {
    const names = [...new Set([...tasks, ...Object.keys(byTask), state.task].filter(Boolean))].sort();
    renderIfChanged(taskSelect, names, () => [el('option', {value: ''}, 'any task'),
      ...names.map((n) => el('option', {value: n}, n))]);
    taskSelect.value = state.task;
  }

  return {
    title: 'Jobs',
    async refresh() {
      const [summary, page] = await Promise.all([
        getJSON('/api/summary'), getJSON(`/api/jobs?${query({limit: LIMIT})}`),
        chart.refresh()]);
      renderIfChanged(cards, {byStatus: summary.byStatus, selected: state.status}, renderCards);
      const age = summary.oldestQueuedAge;
      const w = summary.workers;
      facts.textContent = `${plural(summary.total, 'job')} · ` +
        `${summary.queueDepth.toLocaleString('en')} queued` +
        (age === null ? '' : ` · the oldest has waited ${fmtSeconds(age)}`) +
        (w ? ` · ${w.busy} of ${w.size} workers busy` : '');
      // Queued jobs of a task no server alive serves wait for one.
      unserved.textContent = summary.unserved.length ? 'No server serves ' +
        `${summary.unserved.join(', ')}: their queued jobs wait until one does.` : '';
      renderIfChanged(byTask, summary.counts, renderByTask);
      syncTasks(summary.byTask);
      renderIfChanged(tbody, {jobs: page.jobs}, renderRows);
      renderIfChanged(pager, {next: page.next, count: page.jobs.length, before: state.before,
        newer: state.newer.length}, renderPager);
    },
  };
}
