"""The dispatcher's orderly stop: claimed runs given back, running ones
let finish within the grace, then put back with their attempt; a second
Ctrl-C hurries it. On task.Clock with the real service and a fake
pool."""

from remotetask.core.runner import Outcome
from remotetask.server.pipeline.inflight import STOPPED
from tests.server.fakes import makeDispatcher, start


def test_stop_gives_back_unstarted_runs_and_waits_for_running_ones():
    """On stop, runs handed out but not started go back to the queue
    with no attempt counted; a running one may finish within the grace
    period and is recorded."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=2)
    dispatcher.startService()
    running, waiting = service.add('echo', 1), service.add('echo', 2)
    first, second = pool.given
    start(dispatcher, first)
    pool.recallWaiting = lambda: dispatcher.jobReturned(second)
    stopped = dispatcher.stopService()
    assert service.getStatus(waiting) == 'queued'
    assert service.getJob(waiting).attempts == 0
    assert not stopped.called
    clock.advance(10)
    dispatcher.jobEnded(first, Outcome(True, '1'), 10.0)
    assert stopped.called
    assert service.getStatus(running) == 'completed'


def test_past_the_grace_a_running_job_is_put_back_with_its_attempt():
    """A job still running at the end of the grace period has its worker
    killed; it goes back to the queue with the attempt given back."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1,
                                                         grace=30.0)
    dispatcher.startService()
    jobid = service.add('sleep', 300)
    run, = pool.given
    start(dispatcher, run)
    killed = []
    pool.kill = lambda: killed.append(True) or dispatcher.jobEnded(
        run, Outcome.failed(STOPPED), 30.0)
    stopped = dispatcher.stopService()
    clock.advance(29.9)
    assert not killed
    clock.advance(0.1)
    assert killed and stopped.called
    job = service.getJob(jobid)
    assert (job.status, job.attempts) == ('queued', 0)


def test_a_thread_that_outlives_the_grace_is_put_back_and_its_end_ignored():
    """A run that cannot be killed (a thread) is put back a few seconds
    after the grace; its late end is not recorded."""
    dispatcher, service, pool, clock, ended = makeDispatcher(size=1,
                                                             grace=1.0)
    dispatcher.startService()
    jobid = service.add('sleep', 300)
    run, = pool.given
    start(dispatcher, run)
    stopped = dispatcher.stopService()
    clock.advance(6.0)
    assert stopped.called
    assert service.getStatus(jobid) == 'queued'
    dispatcher.jobEnded(run, Outcome(True, '300'), 400.0)
    assert service.getStatus(jobid) == 'queued'
    assert ended == []


def runningOne(grace):
    """A started dispatcher with one worker running a long job: the
    dispatcher, its service, pool, clock, the job's row and id."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1,
                                                         grace=grace)
    dispatcher.startService()
    jobid = service.add('sleep', 300)
    row, = pool.given
    dispatcher.jobStarted(row)
    return dispatcher, service, pool, clock, row, jobid


def test_hurry_kills_running_jobs_at_once_and_puts_them_back():
    """hurry() (a second Ctrl-C) during the grace kills the workers at the
    next turn instead of at the grace's end; the job goes back to the
    queue with its attempt given back. Before a stop it does nothing."""
    dispatcher, service, pool, clock, row, jobid = runningOne(600.0)
    dispatcher.hurry()
    killed = []
    pool.kill = lambda: killed.append(True) or dispatcher.jobEnded(
        row, Outcome.failed(STOPPED), 30.0)
    stopped = dispatcher.stopService()
    clock.advance(1)
    assert not killed and not stopped.called
    dispatcher.hurry()
    clock.advance(0)
    assert killed and stopped.called
    job = service.getJob(jobid)
    assert (job.status, job.attempts) == ('queued', 0)


def test_hurry_gives_an_unkillable_thread_a_few_seconds_not_the_grace():
    """A run that cannot be killed (a thread) is put back REAP seconds
    after hurry(), not after the grace period."""
    from remotetask.server.pipeline.dispatcher import REAP
    dispatcher, service, pool, clock, row, jobid = runningOne(600.0)
    stopped = dispatcher.stopService()
    clock.advance(10)
    dispatcher.hurry()
    clock.advance(REAP - 0.1)
    assert not stopped.called
    clock.advance(0.1)
    assert stopped.called
    assert service.getStatus(jobid) == 'queued'
