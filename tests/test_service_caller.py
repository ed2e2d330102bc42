"""What a caller sees of one job through the TaskService, on every store:
its events, its progress, its completion call, and the per-minute
counters the chart is drawn from."""


import pytest

from remotetask import InvalidArgument, SimpleTask, reportProgress
from remotetask.core import events, notifying
from remotetask.core.runner import Outcome
from tests.tasks import Flaky

ALLOWED = (notifying.parsePrefix('http://127.0.0.1:9000/hooks'),)


def names(service, jobid):
    return [event['event'] for event in service.getJob(jobid).events]


def test_a_job_retried_once_reads_added_started_retried_started_ended(
        service):
    """The events of a job that failed once and was retried are, oldest
    first: added, started (attempt 1), retried (why), started (attempt 2),
    ended; each names this server and has its time."""
    service.registry.register('flaky', SimpleTask(Flaky(2), backoff=0.01))
    jobid = service.add('flaky')
    service.process()
    service.clock.advance(60)
    service.process()
    found = service.getJob(jobid).events
    assert [event['event'] for event in found] == [
        'added', 'started', 'retried', 'started', 'ended']
    assert [event.get('attempt') for event in found] == [
        None, 1, 1, 2, 2]
    assert found[2]['why'] == 'attempt 1 failed'
    assert found[-1]['status'] == 'completed'
    assert {event['server'] for event in found} == {
        service.routing.serverName}
    at = [event['at'].timestamp() for event in found]
    assert at == [at[0]] * 3 + [at[0] + 60] * 2


def test_cancel_and_start_are_events_and_a_cancel_is_an_end(service,
                                                            clock):
    """startJob and cancelJob record their events; a cancelled job's
    completed is the moment it was cancelled."""
    jobid = service.add('echo', startLater=True)
    service.startJob(jobid)
    clock.advance(5)
    service.cancelJob(jobid)
    job = service.getJob(jobid)
    assert [event['event'] for event in job.events] == [
        'added', 'queued', 'cancelled']
    assert job.completed.timestamp() == clock.seconds()
    assert job.events[-1]['at'].timestamp() == clock.seconds()


def test_a_run_put_back_at_shutdown_says_so(service):
    """A started run given back (the server stops) records a put-back
    saying why; one that had not started records nothing."""
    first, second = service.add('echo'), service.add('echo')
    rows = service.running.claim(2)
    service.running.markStarted([(rows[0]['id'], rows[0]['token'])])
    service.running.recordRuns(putBack=[(rows[0], True), (rows[1], False)])
    assert names(service, first) == ['added', 'started', 'put back']
    assert service.getJob(first).events[-1]['why'] == events.SHUTDOWN
    assert names(service, second) == ['added']


def test_recovery_after_a_crash_says_so(service):
    """Jobs an earlier run left processing go back with a put-back event
    saying the server crashed."""
    jobid = service.add('echo')
    service.running.claimNext()
    assert service.running.recoverAbandoned() == 1
    last = service.getJob(jobid).events[-1]
    assert (last['event'], last['why']) == ('put back', events.CRASH)


def test_notify_is_refused_unless_an_allowed_prefix_holds_it(service):
    """With no prefix allowed every notify URL is refused, naming
    --notify-allow; with one, URLs under it are taken, up to MAX_URL
    characters, and others (another host that merely starts with its
    text, credentials, one character too long) refused."""
    with pytest.raises(InvalidArgument, match='--notify-allow'):
        service.add('echo', notify='http://127.0.0.1:9000/hooks')
    service.notifyAllow = ALLOWED
    jobid = service.add('echo', notify='http://127.0.0.1:9000/hooks/a')
    assert service.getJob(jobid).notify == 'http://127.0.0.1:9000/hooks/a'
    longest = 'http://127.0.0.1:9000/hooks/'
    longest += 'x' * (notifying.MAX_URL - len(longest))
    service.add('echo', notify=longest)
    for url in ('http://127.0.0.1:9000/hooksmore',
                'http://127.0.0.1:90001/hooks',
                'http://127.0.0.1:9000@evil.example/hooks',
                'http://user:pw@127.0.0.1:9000/hooks', 'ftp://127.0.0.1/',
                longest + 'x', 42):
        with pytest.raises(InvalidArgument):
            service.add('echo', notify=url)
    assert service.store.count() == 2


def finishedWithNotify(service):
    service.notifyAllow = ALLOWED
    jobid = service.add('echo', notify='http://127.0.0.1:9000/hooks')
    service.process()
    return jobid


def test_a_call_made_is_recorded_as_notified(service):
    """A job with notify owes one call when it ends; a call made is
    recorded on the job and no longer owed."""
    jobid = finishedWithNotify(service)
    row, = service.completions.claimNotifications(10, lease=60)
    assert (row['job'], row['status']) == (jobid, 'completed')
    assert service.completions.recordNotification(row) is None
    assert service.completions.nextNotification() is None
    last = service.getJob(jobid).events[-1]
    assert (last['event'], last['attempt'], last['url']) == (
        'notified', 1, 'http://127.0.0.1:9000/hooks')


def test_a_failed_call_backs_off_and_is_given_up_at_the_retry_time(
        service):
    """A failed call is due again after 1 s, then 2 s, ...; the attempt
    at notifyRetryTime after the end is the last: one that fails then is
    given up, and each attempt is an event."""
    jobid = finishedWithNotify(service)
    service.notifyRetryTime = 10.0
    calls = service.completions
    row, = calls.claimNotifications(10, lease=60)
    since = row['since']
    assert calls.recordNotification(row, 'refused', now=since) == \
        since + 1.0
    row, = calls.claimNotifications(10, 60, now=since + 1.0)
    assert calls.recordNotification(row, 'refused', now=since + 1.0) == \
        since + 3.0
    row, = calls.claimNotifications(10, 60, now=since + 9.5)
    assert calls.recordNotification(row, 'refused', now=since + 9.5) == \
        since + 10.0
    row, = calls.claimNotifications(10, 60, now=since + 10.0)
    assert calls.recordNotification(row, 'refused', now=since + 10.0) \
        is None
    assert service.completions.nextNotification() is None
    failures = [event for event in service.getJob(jobid).events
                if event['event'] == 'notify failed']
    assert [event['attempt'] for event in failures] == [1, 2, 3, 4]
    assert failures[0]['retryIn'] == 1.0 and failures[0]['why'] == 'refused'
    assert failures[-1]['gaveUp'] is True and 'retryIn' not in failures[-1]


def test_a_lost_claim_on_a_call_records_nothing(service):
    """A claim past its lease, taken by another, can no longer record."""
    finishedWithNotify(service)
    first, = service.completions.claimNotifications(10, lease=0)
    second, = service.completions.claimNotifications(10, lease=60)
    assert service.completions.recordNotification(first) is False
    assert service.completions.recordNotification(second) is None


def test_progress_in_the_legacy_loop_is_written_at_a_bounded_rate(service):
    """A task in the service's own loop that reports many times has its
    reports written at most once per progressInterval, and its last one
    with its end; outside a job, reportProgress does nothing."""
    reportProgress(0.5, 'nowhere')
    writes = []
    setProgress = service.store.setProgress
    service.store.setProgress = lambda reports: writes.append(
        reports) or setProgress(reports)

    def report(input):
        for step in range(1, 101):
            reportProgress(step / 100, f'step {step}')
        return input
    service.registry.register('report', SimpleTask(report))
    service.progressInterval = 3600
    jobid = service.add('report')
    service.process()
    assert writes == []
    assert service.getJob(jobid).progress['message'] == 'step 100'
    service.progressInterval = 0
    jobid = service.add('report')
    service.process()
    assert len(writes) == 100
    progress = service.getJob(jobid).progress
    assert (progress['fraction'], progress['message']) == (1.0, 'step 100')
    assert progress['at'] <= service.getJob(jobid).completed


def test_recordRuns_keeps_the_reports_and_counts_the_runs(service):
    """recordRuns writes the runs' latest reports before their ends and
    adds the batch's ends to this minute's counters: finished for those
    that ended well, failed for failures, retried or not."""
    ids = [service.add('echo') for _ in range(3)]
    rows = service.running.claim(3, started=service.clock.seconds())
    report = dict(fraction=0.5, message='half', at=service.clock.seconds())
    service.running.recordRuns(reports=[(rows[0], report)], finished=[
        (rows[0], Outcome(True, '1')), (rows[1], Outcome.failed('no')),
        (rows[2], Outcome.failed('busy', retry=True))])
    assert service.getJob(ids[0]).progress['message'] == 'half'
    minute = int(service.clock.seconds() // 60)
    counted = service.reads.minutes(minute - 1)
    assert sum(row['finished'] for row in counted) == 1
    assert sum(row['failed'] for row in counted) == 2
    service.running.sampleQueue()
    assert service.reads.minutes(minute)[-1]['queued'] == 1


def test_ends_of_one_batch_each_name_their_own_attempt(service):
    """Runs that end well in one recordRuns, on different attempts (one
    job retried, the others on their first), each get an ended event
    with their own attempt; one that ended well with an error message
    keeps it in its event."""
    service.registry.register('flaky', SimpleTask(Flaky(2), backoff=0.01))
    retried = service.add('flaky')
    service.process()
    service.clock.advance(60)
    first = [service.add('echo') for _ in range(2)]
    rows = service.running.claim(3, started=service.clock.seconds())
    assert sorted(row['id'] for row in rows) == sorted([retried] + first)
    service.running.recordRuns(finished=[
        (row, Outcome(True, '1', 'odd' if row['id'] == first[1] else None))
        for row in rows])
    ended = {jobid: service.getJob(jobid).events[-1]
             for jobid in [retried] + first}
    assert {jobid: (event['event'], event['attempt'], event['status'])
            for jobid, event in ended.items()} == {
        retried: ('ended', 2, 'completed'), first[0]: ('ended', 1, 'completed'),
        first[1]: ('ended', 1, 'completed')}
    assert 'error' not in ended[first[0]]
    assert ended[first[1]]['error'] == 'odd'
