"""The JSON view, through a real site on a real SQLite store."""

import pytest_twisted
from twisted.internet import defer

from remotetask import SimpleTask
from remotetask.core.limits import Limit, Rate
from remotetask.core.status import Status
from tests import tasks
from tests.web.conftest import eventually


def addJobs(service):
    """Three echo jobs, a start-later one and a crash, all waiting."""
    ids = [service.add('echo', {'name': name}) for name in
           ('ann', 'bob', 'Needle in the hay')]
    ids.append(service.add('echo', {'later': True}, startLater=True))
    return ids, service.add('crash', {'file': 'broken.mp4'})


@pytest_twisted.ensureDeferred
async def test_summary_counts_by_status_and_task(web):
    """/api/summary counts jobs by status and by task as the store does,
    with the queue's depth and the wait of its oldest job."""
    addJobs(web.service)
    summary = (await web.get('/api/summary')).json()
    assert sorted((c['status'], c['task'], c['count'])
                  for c in summary['counts']) == sorted(
        (c['status'], c['task'], c['count']) for c in web.store.counts())
    assert summary['byStatus']['queued'] == 4
    assert summary['byStatus']['start later'] == 1
    assert summary['byTask'] == {'echo': 4, 'crash': 1}
    assert (summary['total'], summary['queueDepth']) == (5, 4)
    assert summary['oldestQueuedAge'] >= 0
    assert summary['workers'] == dict(id=None, size=2, live=0, busy=0,
                                      running=[])


@pytest_twisted.ensureDeferred
async def test_job_list_pages_newest_first_and_filters(web):
    """/api/jobs lists newest first; its cursor leads to the next page;
    status, task and text narrow the list."""
    ids, crash = addJobs(web.service)
    page = (await web.get('/api/jobs?limit=2')).json()
    assert [job['id'] for job in page['jobs']] == [crash, ids[3]]
    assert page['next'] == ids[3]
    page = (await web.get(f'/api/jobs?limit=2&before={page["next"]}')).json()
    assert [job['id'] for job in page['jobs']] == [ids[2], ids[1]]
    found = (await web.get('/api/jobs?text=needle')).json()
    assert [job['id'] for job in found['jobs']] == [ids[2]]
    assert found['next'] is None
    later = (await web.get('/api/jobs?status=start+later&task=echo')).json()
    assert [job['id'] for job in later['jobs']] == [ids[3]]
    job = later['jobs'][0]
    assert (job['task'], job['status'], job['input']) == (
        'echo', 'start later', '{"later":true}')
    assert job['created'].endswith('+00:00')


@pytest_twisted.ensureDeferred
async def test_bad_filters_are_refused_saying_why(web):
    """An unknown status, a limit out of range or a bad cursor is a 400
    with a JSON message; an unknown address is a 404."""
    for query, words in [('status=done', 'status must be one of'),
                         ('limit=0', 'limit must be'),
                         ('before=x', 'before must be')]:
        response = await web.get(f'/api/jobs?{query}')
        assert response.code == 400
        assert words in response.json()['error']
        assert response.header('content-type').startswith(
            'application/json')
    response = await web.get('/api/nothing')
    assert (response.code, response.json()['code']) == (404, 2)


@pytest_twisted.ensureDeferred
async def test_job_page_has_error_traceback_and_attempts(web):
    """/api/jobs/ID has the input as JSON, the error, the traceback and
    every failed attempt with its times."""
    crash = web.service.add('crash', {'file': 'broken.mp4'})
    web.service.process()
    job = (await web.get(f'/api/jobs/{crash}')).json()
    assert job['status'] == 'error'
    assert job['input'] == {'file': 'broken.mp4'}
    assert job['error'].startswith('ValueError: cannot handle')
    assert 'Traceback (most recent call last)' in job['traceback']
    assert [a['attempt'] for a in job['history']] == [1]
    assert job['history'][0]['completed'].endswith('+00:00')
    assert job['started'] and job['completed']
    missing = await web.get('/api/jobs/999')
    assert (missing.code, missing.json()['code']) == (404, 2)
    assert (await web.get('/api/jobs/x')).code == 404


@pytest_twisted.ensureDeferred
async def test_cron_view_says_when_in_words(web):
    """/api/cron lists cron and delayed jobs with the schedule in words,
    the next run, the last run and the missed runs."""
    daily = web.service.addCronJob('echo', {}, hour=(3,), minute=(30,))
    crontab = web.service.addCronJob('echo', {}, crontab='*/5 * * * 1-5')
    delayed = web.service.addCronJob('echo', {}, delay=600)
    web.service.add('echo', {})
    jobs = {job['id']: job for job in
            (await web.get('/api/cron')).json()['jobs']}
    assert set(jobs) == {daily, crontab, delayed}
    assert jobs[daily]['schedule'] == 'at 03:30'
    assert jobs[crontab]['schedule'] == 'every 5 minutes on Monday-Friday'
    assert jobs[crontab]['crontab'] == '*/5 * * * 1-5'
    assert jobs[delayed]['status'] == 'delayed'
    assert all(job['nextRun'] for job in jobs.values())
    assert jobs[daily]['lastStarted'] is None
    assert jobs[daily]['missed'] == 0
    detail = (await web.get(f'/api/jobs/{daily}')).json()
    assert (detail['schedule'], detail['nextRun']) == (
        'at 03:30', jobs[daily]['nextRun'])


@pytest_twisted.ensureDeferred
async def test_add_checks_task_and_input(web):
    """POST /api/jobs adds a job of a known task with a JSON input; an
    unknown task, a body that is not JSON, another content type, or an
    int, NaN or infinity XML-RPC could not carry back is refused with a
    400 saying why."""
    response = await web.post('/api/jobs', {'task': 'echo',
                                            'input': {'a': [1, 2.5, None]}})
    assert response.code == 201
    jobid = response.json()['id']
    assert web.service.getJob(jobid).input == {'a': [1, 2.5, None]}
    refused = [
        ({'task': 'nope', 'input': 1}, 'no task named'),
        ({'task': 'echo', 'input': 2 ** 40}, 'integer'),
        ({'task': 'echo', 'startLater': 'yes'}, 'startLater'),
        ({'task': 'echo', 'extra': 1}, "unknown members: 'extra'"),
        ({'task': 'echo', 'priority': 'high'}, 'priority must be int'),
        ({'task': 'echo', 'delay': -1}, 'delay must be'),
        (['echo'], 'Send {"task"'),
    ]
    for body, words in refused:
        response = await web.post('/api/jobs', body)
        assert response.code == 400, body
        assert words in response.json()['error'], body
    response = await web.request(
        'POST', '/api/jobs', b'{"task": ', {'Content-Type': 'application/json',
                                            'X-Remotetask-CSRF': web.csrf})
    assert 'not valid JSON' in response.json()['error']
    response = await web.request(
        'POST', '/api/jobs', b'task=echo', {'X-Remotetask-CSRF': web.csrf})
    assert 'application/json' in response.json()['error']
    for literal in (b'NaN', b'Infinity', b'-Infinity'):
        response = await web.request(
            'POST', '/api/jobs', b'{"task": "echo", "input": [%s]}' % literal,
            {'Content-Type': 'application/json',
             'X-Remotetask-CSRF': web.csrf})
        assert response.code == 400, literal
        assert 'neither NaN nor infinity' in response.json()['error']
    assert web.store.count() == 1


@pytest_twisted.ensureDeferred
async def test_add_takes_the_options_of_xmlrpc_add(web):
    """POST /api/jobs takes add's options beside task and input, as the
    XML-RPC options struct has them: priority, key, delay, startLater and
    maxAttempts; a key already held answers the job that holds it."""
    options = dict(priority=5, key='nightly', delay=3600, maxAttempts=2)
    response = await web.post('/api/jobs', dict(task='echo', input=1,
                                                **options))
    assert response.code == 201
    jobid = response.json()['id']
    job = web.service.getJob(jobid)
    assert (job.priority, job.key, job.maxAttempts) == (5, 'nightly', 2)
    assert job.due > job.created.timestamp() + 3500
    again = await web.post('/api/jobs', dict(task='echo', key='nightly'))
    assert again.json() == dict(id=jobid)
    detail = (await web.get(f'/api/jobs/{jobid}')).json()
    assert (detail['priority'], detail['key'], detail['maxAttempts'],
            detail['server']) == (5, 'nightly', 2, None)


@pytest_twisted.ensureDeferred
async def test_actions_need_the_csrf_token_and_this_site(web):
    """An action without the page's token, with another token, or from a
    page of another site is refused (403) and changes nothing."""
    jobid = web.service.add('echo', {})
    attempts = [dict(csrf=False), dict(csrf='forged'),
                dict(headers={'Origin': 'http://evil.example'}),
                dict(headers={'Sec-Fetch-Site': 'cross-site'})]
    for attempt in attempts:
        response = await web.post(f'/api/jobs/{jobid}/cancel', **attempt)
        assert response.code == 403, attempt
        assert 'X-Remotetask-CSRF' in response.json()['error'] or \
            'this site' in response.json()['error']
    assert web.service.getStatus(jobid) == 'queued'
    response = await web.post(f'/api/jobs/{jobid}/cancel', headers={
        'Origin': web.url, 'Sec-Fetch-Site': 'same-origin'})
    assert response.json() == dict(id=jobid, status='cancelled')


@pytest_twisted.ensureDeferred
async def test_cancel_start_and_refusals(web):
    """Cancel and start change the job and answer its new status; an
    action its state does not allow is a 409 naming the state."""
    queued = web.service.add('echo', {})
    later = web.service.add('echo', {}, startLater=True)
    assert (await web.post(f'/api/jobs/{later}/start')).json() == dict(
        id=later, status='queued')
    assert (await web.post(f'/api/jobs/{queued}/cancel')).json()[
        'status'] == 'cancelled'
    for action in ('cancel', 'retry', 'run', 'start'):
        response = await web.post(f'/api/jobs/{queued}/{action}')
        assert response.code == 409, action
        assert response.json()['error'].startswith(
            f"Job {queued}'s status is 'cancelled', so it cannot be ")
    assert (await web.post('/api/jobs/999/cancel')).code == 404
    assert (await web.post(f'/api/jobs/{queued}/explode')).code == 404


@pytest_twisted.ensureDeferred
async def test_retry_runs_a_failed_job_again(web):
    """Retry re-queues a failed job with fresh attempts, and the
    dispatcher runs it at once; its history keeps the failure."""
    jobid = web.service.add('flaky', None)
    web.startWorkers()
    await eventually(lambda: web.service.getStatus(jobid) == 'error')
    answer = (await web.post(f'/api/jobs/{jobid}/retry')).json()
    assert answer['id'] == jobid
    await eventually(lambda: web.service.getStatus(jobid) == 'completed')
    job = (await web.get(f'/api/jobs/{jobid}')).json()
    assert (job['output'], job['attempts'], len(job['history'])) == (2, 1, 1)


@pytest_twisted.ensureDeferred
async def test_run_now_runs_a_cron_job_and_keeps_its_schedule(web):
    """Run now makes a cron job due at once: it runs, and its next run
    is again the one its schedule gives."""
    jobid = web.service.addCronJob('echo', 'tick', hour=(3,), minute=(30,))
    web.startWorkers()
    before = (await web.get('/api/cron')).json()['jobs'][0]['nextRun']
    await web.post(f'/api/jobs/{jobid}/run')
    await eventually(lambda: web.store.get(jobid)['completed'] is not None)
    job = (await web.get('/api/cron')).json()['jobs'][0]
    # The same day and minute; the seconds are the run's, as in the
    # original's schedules.
    assert (job['runs'], job['lastError'], job['nextRun'][:16]) == (
        1, None, before[:16])
    assert web.service.getResult(jobid) == 'tick'


@pytest_twisted.ensureDeferred
async def test_workers_view_shows_running_jobs(web):
    """/api/workers shows this server's workers, busy and free, the tasks
    it serves with their limits, and the jobs running on it; a store of
    its own has no server list."""
    web.service.limits['sleep'] = Limit(3, Rate(10, 60.0))
    web.startWorkers()
    jobid = web.service.add('sleep', 0.5)
    await eventually(lambda: web.service.getStatus(jobid) == 'processing'
                     and jobid in web.dispatcher.workers()["running"])
    view = (await web.get('/api/workers')).json()
    tasks = view['server'].pop('tasks')
    assert view['server'] == dict(id=None, size=2, busy=1, free=1,
                                  utilisation=0.5,
                                  limits={'sleep': '3 at once, 10/m'})
    assert tasks == sorted(web.service.getAvailableTasks())
    assert {'echo', 'sleep'} <= set(tasks)
    assert [(job['id'], job['here']) for job in view['running']] == [
        (jobid, True)]
    assert view['servers'] is None
    await eventually(lambda: web.service.getStatus(jobid) == 'completed')


@pytest_twisted.ensureDeferred
async def test_tasks_lists_names_and_descriptions(web):
    """/api/tasks gives each task's one-line description, for the add
    form."""
    answer = (await web.get('/api/tasks')).json()
    assert answer['tasks']['echo'] == 'Return the input unchanged.'
    assert set(answer['tasks']) >= {'echo', 'crash', 'sleep', 'flaky'}


@pytest_twisted.ensureDeferred
async def test_summary_names_tasks_whose_queued_jobs_no_server_serves(web):
    """A job whose task no server serves waits, queued, and the summary
    names its task, until a server serves it again."""
    web.service.registry.register('leaving', SimpleTask(tasks.echo))
    web.service.add('leaving', 1)
    web.service.add('echo', 1)
    web.service.registry.unregister('leaving')
    summary = (await web.get('/api/summary')).json()
    assert summary['unserved'] == ['leaving']
    assert summary['byStatus']['queued'] == 2


@pytest_twisted.ensureDeferred
async def test_summary_is_read_once_for_many_pages(web):
    """Many pages polling the summary at once cost one store read."""
    web.service.add('echo', {})
    answers = await defer.gatherResults(
        [web.get('/api/summary') for _ in range(5)])
    assert len({answer.json()['now'] for answer in answers}) == 1
    assert all(answer.json()['byStatus'][str(Status.QUEUED)] == 1
               for answer in answers)
