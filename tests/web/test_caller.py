"""The JSON view of what a caller sees of a job (its progress, events and
completion call) and the chart, through a real site."""

import time

import pytest_twisted

from remotetask.core import notifying
from remotetask.core.runner import Outcome


@pytest_twisted.ensureDeferred
async def test_a_job_shows_its_progress_events_and_zone(web):
    """/api/jobs/ID has the latest progress report, the events oldest
    first with ISO times, the notify URL and the cron zone; the list's
    rows carry the progress for their bars."""
    web.service.notifyAllow = (notifying.parsePrefix('http://h/'),)
    jobid = web.service.add('echo', 1, notify='http://h/cb')
    row, = web.service.running.claim(1, started=time.time())
    web.service.running.recordRuns(reports=[(row, dict(
        fraction=0.25, message='a quarter', at=time.time()))])
    job = (await web.get(f'/api/jobs/{jobid}')).json()
    assert (job['progress']['fraction'], job['progress']['message']) == (
        0.25, 'a quarter')
    assert job['progress']['at'].endswith('+00:00')
    assert [event['event'] for event in job['events']] == [
        'added', 'started']
    assert job['events'][1]['attempt'] == 1
    assert job['notify'] == 'http://h/cb'
    assert job['timezone']
    listed = (await web.get('/api/jobs')).json()['jobs'][0]
    assert listed['progress']['message'] == 'a quarter'


@pytest_twisted.ensureDeferred
async def test_add_takes_a_notify_url_the_operator_allowed(web):
    """POST /api/jobs takes notify as one of add's options: a URL the
    operator allowed is kept, any other refused naming --notify-allow,
    one of the wrong type refused."""
    web.service.notifyAllow = (notifying.parsePrefix('http://h/'),)
    response = await web.post('/api/jobs', {
        'task': 'echo', 'input': 1, 'notify': 'http://h/x'})
    assert response.code == 201
    assert web.service.getJob(response.json()['id']).notify == 'http://h/x'
    for notify, words in (('http://other/', '--notify-allow'),
                          (1, 'options.notify must be str')):
        response = await web.post('/api/jobs', {'task': 'echo',
                                                'notify': notify})
        assert (response.code, words in response.json()['error']) == (
            400, True), notify


@pytest_twisted.ensureDeferred
async def test_the_chart_has_every_minute_of_its_span(web):
    """/api/chart?span=hour has the last 60 minutes, oldest first, each
    with the runs that ended well and badly then and the queue's depth
    sampled (null where none was); span=day has 1440; another span is a
    400."""
    web.service.add('echo', 1)
    rows = web.service.running.claim(1, started=time.time())
    web.service.running.recordRuns(finished=[(rows[0], Outcome.failed('no'))])
    web.service.add('echo', 2)
    web.service.running.sampleQueue()
    hour = (await web.get('/api/chart?span=hour')).json()
    assert len(hour['minutes']) == 60
    minutes = hour['minutes']
    assert sum(m['finished'] for m in minutes) == 0
    assert sum(m['failed'] for m in minutes) == 1
    assert max(m['queued'] or 0 for m in minutes) == 1
    assert minutes[0]['queued'] is None
    assert minutes[0]['minute'] < minutes[-1]['minute']
    day = (await web.get('/api/chart?span=day')).json()
    assert len(day['minutes']) == 1440
    response = await web.get('/api/chart?span=week')
    assert response.code == 400
