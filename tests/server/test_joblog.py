"""The per-job log line: formatted once, written per batch."""

from twisted.internet import task
from twisted.logger import globalLogPublisher

from remotetask.core.runner import Outcome
from remotetask.server.pipeline.inflight import Run
from remotetask.server.pipeline.joblog import JobLog


def ended(jobid, outcome, seconds=0.5):
    run = Run(dict(id=jobid, task='t'))
    run.outcome, run.seconds = outcome, seconds
    return run


class Events(list):
    """The JobLog events published while it is used as a context."""

    def __enter__(self):
        globalLogPublisher.addObserver(self.seen)
        return self

    def __exit__(self, *exc):
        globalLogPublisher.removeObserver(self.seen)

    def seen(self, event):
        if event.get('log_namespace', '').endswith('JobLog'):
            self.append(event['lines'].splitlines())


def test_failed_keeps_only_failures_and_retries_and_none_keeps_nothing():
    """With 'failed', only runs that failed get a line (a retry says
    so); with 'none', none does and no timer is set."""
    clock = task.Clock()
    with Events() as events:
        log = JobLog('failed', clock)
        log.ended(ended(1, Outcome(True, '1')), 'completed')
        log.ended(ended(2, Outcome.failed('boom')), 'queued')
        log.ended(ended(3, Outcome.failed('bang')), 'error')
        clock.advance(log.interval)
        quiet = JobLog('none', clock)
        quiet.ended(ended(4, Outcome.failed('boom')), 'error')
        assert clock.getDelayedCalls() == []
    assert events == [['Job 2 (t) ended in 0.500 s: boom (will be retried)',
                       'Job 3 (t) ended in 0.500 s: bang']]


def test_flush_writes_what_waits_at_once_and_once():
    """flush() (the server stops) writes the waiting lines now, and the
    timer that would have written them is gone."""
    clock = task.Clock()
    with Events() as events:
        log = JobLog('all', clock)
        log.ended(ended(1, Outcome(True, '1')), 'completed')
        log.flush()
        assert events == [['Job 1 (t) ended in 0.500 s: ok']]
        assert clock.getDelayedCalls() == []
        log.flush()
    assert len(events) == 1
