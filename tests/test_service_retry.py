"""Attempts, retries, lost workers and cancelling running jobs, on every
store, through the TaskService."""

from remotetask import SimpleTask
from remotetask.core.runner import Outcome
from tests.tasks import Flaky


def runDue(service):
    """Run what comes due within the backoff: an hour later, on the
    service's (fake) clock."""
    service.clock.advance(3600)
    service.process()


def test_retry_until_success(service, clock):
    """TaskError(retry=True) sends the job back to the queue with a due
    time; it runs again and completes, with the failures in history."""
    service.registry.register('flaky', SimpleTask(Flaky(3), backoff=60))
    jobid = service.add('flaky')
    service.process()
    job = service.jobs[jobid]
    assert (job.status, job.attempts, job.error) == (
        'queued', 1, 'attempt 1 failed')
    assert clock.seconds() + 30 <= job.due <= clock.seconds() + 60
    clock.advance(29)
    service.process()
    assert service.getStatus(jobid) == 'queued'
    runDue(service)
    runDue(service)
    job = service.jobs[jobid]
    assert (job.status, job.attempts, job.output, job.error) == (
        'completed', 3, 3, None)
    assert [h['error'] for h in job.history] == [
        'attempt 1 failed', 'attempt 2 failed']
    assert [h['attempt'] for h in job.history] == [1, 2]


def test_retries_stop_at_maxAttempts(service):
    """After maxAttempts the job ends in error with every attempt kept."""
    service.registry.register('flaky',
                              SimpleTask(Flaky(10), maxAttempts=2))
    jobid = service.add('flaky')
    for _ in range(5):
        runDue(service)
    job = service.jobs[jobid]
    assert (job.status, job.attempts, job.error) == (
        'error', 2, 'attempt 2 failed')
    assert len(job.history) == 2


def test_retryOn_exception_types(service):
    """Exceptions of a task's retryOn types are retried; others not."""
    calls = []

    def connect(input):
        calls.append(input)
        raise ConnectionError('refused')
    service.registry.register('connect', SimpleTask(
        connect, retryOn=(ConnectionError,), maxAttempts=3))
    retried = service.add('connect', 'a')
    service.registry.register('crashing', SimpleTask(
        lambda input: 1 / 0, retryOn=(ConnectionError,)))
    once = service.add('crashing')
    for _ in range(5):
        runDue(service)
    assert calls == ['a', 'a', 'a']
    assert service.getStatus(retried) == 'error'
    assert service.jobs[once].attempts == 1
    assert service.getError(once) == 'ZeroDivisionError: division by zero'


def test_plain_failures_are_not_retried(service):
    """A TaskError without retry ends the job at once."""
    jobid = service.add('fail')
    runDue(service)
    job = service.jobs[jobid]
    assert (job.status, job.attempts, len(job.history)) == ('error', 1, 1)


def test_backoff_doubles_with_jitter_and_a_cap(service):
    """The wait before attempt n+1 is backoff * 2**(n-1), capped at
    maxBackoff, times a jitter from 0.5 to 1."""
    service.registry.register('t', SimpleTask(lambda x: x, backoff=10,
                                              maxBackoff=35))
    waits = [service.running._backoff(dict(task='t', attempts=n))
             for n in (1, 2, 3, 4)]
    for wait, full in zip(waits, (10, 20, 35, 35)):
        assert full * 0.5 <= wait <= full


def test_a_job_lost_too_often_ends_in_error(service):
    """A job whose worker or server was lost (claimed, never finished,
    recovered) runs again until its attempts are used up, then ends in
    error saying so."""
    service.registry.register('lossy', SimpleTask(lambda x: x,
                                                  maxAttempts=2))
    jobid = service.add('lossy', 1)
    for _ in range(2):
        assert service.running.claimNext()['id'] == jobid
        assert service.running.recoverAbandoned() == 1
    assert service.running.claimNext() is None
    job = service.jobs[jobid]
    assert job.status == 'error'
    assert 'lost with its worker or server' in job.error
    assert 'all of its 2 attempts' in job.error


def test_a_claimed_job_that_never_started_is_not_charged(service):
    """A job claimed to wait beside busy workers, and lost with its
    server before it started, comes back with no attempt counted: a task
    allowed one attempt still runs."""
    service.registry.register('once', SimpleTask(lambda x: x,
                                                 maxAttempts=1))
    jobid = service.add('once', 1)
    for _ in range(3):
        row, = service.running.claim(1)
        assert row['id'] == jobid
        assert service.running.recoverAbandoned() == 1
    assert service.getJob(jobid).attempts == 0
    assert service.processNext()
    job = service.getJob(jobid)
    assert (job.status, job.attempts, job.output) == ('completed', 1, 1)


def test_cancel_a_running_job(service):
    """cancelJob() of a processing job marks it cancelled; the end of its
    run is then not recorded."""
    jobid = service.add('echo', 1)
    row = service.running.claimNext()
    assert service.cancelJob(jobid) is True
    assert service.isCancelled(jobid)
    assert service.running.finishRun(row, Outcome(True, '1')) is None
    job = service.jobs[jobid]
    assert (job.status, job.output) == ('cancelled', None)
