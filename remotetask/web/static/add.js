// #/add: add a job: a task picked from the server's, its input as JSON
// (checked here as it is typed, and by the server), started now or later.

import {ApiError, el, getJSON, me, notice, post} from './lib.js';

export function mount(container, params, app) {
  const task = el('select', {id: 'add-task', name: 'task', required: true});
  const about = el('p', {class: 'muted', id: 'add-about'});
  const input = el('textarea', {id: 'add-input', name: 'input', rows: 10, spellcheck: 'false'}, '{}');
  const check = el('p', {class: 'check', id: 'add-check', 'aria-live': 'polite'});
  const later = el('input', {type: 'checkbox', id: 'add-later', name: 'startLater'});
  const priority = el('input', {type: 'number', id: 'add-priority', name: 'priority', min: -100,
    max: 100, step: 1, value: 0});
  const key = el('input', {type: 'text', id: 'add-key', name: 'key', maxlength: 200,
    placeholder: 'none'});
  const delay = el('input', {type: 'number', id: 'add-delay', name: 'delay', min: 0, step: 'any',
    placeholder: '0'});
  const submit = el('button', {type: 'submit', class: 'primary', id: 'add-submit'}, 'Add job');
  let descriptions = {};

  function validate() {
    try {
      JSON.parse(input.value);
      check.textContent = 'Valid JSON.';
      check.className = 'check ok';
      return true;
    } catch (error) {
      check.textContent = `Not valid JSON: ${error.message}`;
      check.className = 'check err';
      return false;
    }
  }

  const form = el('form', {class: 'add', id: 'add-form', novalidate: true},
    el('label', {for: 'add-task'}, 'Task'), task, about,
    el('label', {for: 'add-input'}, 'Input (JSON)'), input, check,
    el('label', {for: 'add-priority'}, 'Priority (-100 to 100, higher runs first)'), priority,
    el('label', {for: 'add-key'}, 'Unique key (while a job of this task with it is unfinished, ' +
      'adding it again adds nothing)'), key,
    el('label', {for: 'add-delay'}, 'Delay (seconds before it may start)'), delay,
    el('label', {class: 'inline'}, later, ' Start later (wait as “start later” until started)'),
    el('div', {}, submit));
  input.addEventListener('input', validate);
  task.addEventListener('change', () => { about.textContent = descriptions[task.value] || ''; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!validate()) return;
    submit.disabled = true;
    try {
      const job = {task: task.value, input: JSON.parse(input.value), startLater: later.checked,
        priority: Number(priority.value || 0)};
      if (key.value) job.key = key.value;
      if (delay.value) job.delay = Number(delay.value);
      const answer = await post('/api/jobs', job);
      notice(`Job ${answer.id} added`, 'ok');
      app.go(`#/jobs/${answer.id}`);
    } catch (error) {
      check.textContent = error instanceof ApiError ? error.message : String(error);
      check.className = 'check err';
    } finally {
      submit.disabled = false;
    }
  });
  container.append(el('h1', {}, 'Add a job'), form);
  validate();
  if (!me.mayAdd) {
    submit.disabled = true;
    submit.title = me.why || 'Not allowed';
    form.prepend(el('p', {class: 'check err', id: 'add-refused'}, me.why || 'Not allowed'));
  }

  getJSON('/api/tasks').then((answer) => {
    descriptions = answer.tasks;
    const names = Object.keys(descriptions);
    task.replaceChildren(...names.map((n) => el('option', {value: n}, n)));
    if (!names.length) task.append(el('option', {value: ''}, 'no tasks on this server'));
    about.textContent = descriptions[task.value] || '';
  }).catch((error) => notice(error.message));

  return {title: 'Add a job', async refresh() {}};
}
