"""The dispatcher: start-up, the tick, the flow of a run, cancels, and
the orderly stop, on task.Clock with the real service and a fake pool."""

from twisted.internet import defer, task

from remotetask import SimpleTask, TaskService
from remotetask.core.limits import Limit
from remotetask.core.runner import Outcome
from remotetask.errors import StoreUnavailable
from remotetask.server.pipeline.cancelwatch import CANCELLED_WHILE_RUNNING
from remotetask.server.pipeline.dispatcher import Dispatcher
from tests import tasks
from tests.server.fakes import (
    FakePool, HeldWrites, direct, makeDispatcher, makeService, start,
    synchronous)


def given(pool):
    return [run.id for run in pool.given]


def test_start_puts_back_what_an_earlier_run_left_and_feeds_workers():
    """Start-up puts jobs left claimed back in the queue, then the first
    tick hands due jobs to the workers, as many as they take."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=2)
    ids = [service.add('echo', i) for i in range(3)]
    service.running.claim(1)
    dispatcher.startService()
    assert given(pool) == ids[:2]
    assert service.getStatus(ids[0]) == 'processing'
    assert service.getJob(ids[0]).attempts == 0


def test_a_run_flows_from_start_to_end_and_wakes_its_waiter():
    """The pool's start counts the attempt; its end is recorded, the
    waiter answered, the metrics told, and the freed worker fed."""
    dispatcher, service, pool, clock, ended = makeDispatcher(size=1)
    dispatcher.startService()
    first, second = service.add('echo', 1), service.add('echo', 2)
    waited = dispatcher.waiters.wait(first, 30)
    run, = pool.given
    clock.advance(2.0)
    start(dispatcher, run)
    assert (run.row['attempts'], run.row['started']) == (1, 2.0)
    assert dispatcher.workers()['running'] == [first]
    clock.advance(dispatcher.recorder.startDelay)
    assert service.getJob(first).attempts == 1
    pool.given.clear()
    dispatcher.jobEnded(run, Outcome(True, '"one"'), 0.5)
    dispatcher.workerFree()
    assert waited.result == 'completed'
    assert service.getResult(first) == 'one'
    assert ended == [('echo', 0.5, True)]
    assert given(pool) == [second]
    assert list(dispatcher.table.runs) == [second]


def test_an_add_wakes_the_feeder_at_once():
    """A job added between ticks is handed out without waiting for the
    next one."""
    dispatcher, service, pool, clock, _ = makeDispatcher()
    dispatcher.startService()
    jobid = service.add('echo', 1)
    assert given(pool) == [jobid]


def test_a_cancel_stops_a_run_here_and_drops_a_held_one():
    """Cancelling a job handed to the pool stops it there; one held by
    the feeder is dropped and never handed out."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1)
    dispatcher.startService()
    dispatcher.feeder.claimLatency.add(1.0)
    dispatcher.feeder.runTime.add(0.001)
    pool.queuesAhead = False
    running, held = service.add('echo', 1), service.add('echo', 2)
    assert given(pool) == [running]
    assert list(dispatcher.table.waiting) == [held]
    service.cancel(running)
    assert pool.stopped == [(running, CANCELLED_WHILE_RUNNING)]
    service.cancel(held)
    assert list(dispatcher.table.waiting) == []
    assert held not in dispatcher.table
    pool.given.clear()
    dispatcher.workerFree()
    assert pool.given == []


def test_an_end_told_without_its_status_is_read_and_a_cancel_stops():
    """An end told without its status (another server's notification)
    for a job here is read; the run stops if it was cancelled, and goes
    on if not."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    assert given(pool) == [jobid]
    dispatcher.ended(jobid, None)
    assert pool.stopped == []
    # Cancelled by another server on the same store: not told here.
    TaskService(store=service.store).cancel(jobid)
    assert pool.stopped == []
    dispatcher.ended(jobid, None)
    assert pool.stopped == [(jobid, CANCELLED_WHILE_RUNNING)]


def test_feeding_starts_even_when_recovery_cannot_yet():
    """A store that refuses writes at start delays recovery, not
    feeding: the tick tries recovery again, and jobs run meanwhile;
    the recovery then puts back the earlier run's claims only, not
    those this run made meanwhile."""
    refusing = [True]

    def write(function, *args):
        if refusing[0] and function.__name__ == 'recoverAbandoned':
            return defer.fail(StoreUnavailable('read-only'))
        return synchronous(function, *args)
    dispatcher, service, pool, clock, _ = makeDispatcher(write=write)
    left = service.add('echo', 0)
    service.running.claim(1)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    assert given(pool) == [jobid]
    refusing[0] = False
    clock.advance(1)
    assert given(pool) == [jobid, left]
    assert service.getStatus(jobid) == 'processing'


def test_a_job_cancelled_as_it_starts_is_stopped():
    """A job cancelled while it waited in a worker, whose recall crossed
    its start, is stopped when the start arrives."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    run, = pool.given
    service.cancel(jobid)
    assert pool.stopped == [(jobid, CANCELLED_WHILE_RUNNING)]
    start(dispatcher, run)
    assert pool.stopped == [(jobid, CANCELLED_WHILE_RUNNING)] * 2


def test_a_job_held_back_by_a_limit_goes_out_when_a_run_ends_anywhere():
    """With a concurrency limit of 1, the second job waits, queued, while
    the first runs; the end of the first (here, or told by another
    server) hands it out at once, without waiting for the tick."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=2)
    service.limits['echo'] = Limit(1, None)
    dispatcher.startService()
    first, second = service.add('echo', 1), service.add('echo', 2)
    assert given(pool) == [first]
    assert service.getStatus(second) == 'queued'
    run, = pool.given
    pool.given.clear()
    clock.advance(1)  # a tick: the limit still holds the second back
    assert given(pool) == []
    # Ended on another server (its pool took the run over, say): the
    # store has the end, and the cluster's notification reaches ended().
    assert service.store.finish(first, run.row['token'], 'completed', '1',
                                None, None, 2.0)
    dispatcher.ended(first, 'completed')
    assert given(pool) == [second]


def test_a_claimed_job_of_a_task_this_server_lost_goes_back_unfailed():
    """A run whose task left this server's registry between its claim
    and its hand-out is put back in the queue, not failed, and no claim
    here takes it again."""
    dispatcher, service, pool, clock, ended = makeDispatcher(size=2)
    service.registry.register('brief', SimpleTask(tasks.echo))
    jobid = service.add('brief', 1)
    row, = service.running.claim(1)
    service.registry.unregister('brief')
    dispatcher.startService()
    dispatcher._admit([row])
    assert service.getStatus(jobid) == 'queued'
    assert service.getJob(jobid).attempts == 0
    clock.advance(1)
    assert given(pool) == [] and ended == []
    assert service.getStatus(jobid) == 'queued'


def test_without_limits_an_end_elsewhere_claims_nothing():
    """Without limited tasks an end on another server makes no job
    claimable, so it sends no claim to the store (idle servers of a busy
    cluster would otherwise claim at every end)."""
    writes = HeldWrites()
    dispatcher, service, pool, clock, _ = makeDispatcher(write=writes)
    dispatcher.startService()
    while writes.calls:
        writes.runNext()
    dispatcher.feeder.startFeeding()
    dispatcher.ended(99, 'completed')
    assert writes.calls == []
    service.limits['echo'] = Limit(1, None)
    dispatcher._limited = bool(service.routing.taskLimits())
    dispatcher.ended(99, 'completed')
    assert [call[1] for call in writes.calls] == [service.running.claim]


def test_progress_of_a_held_run_is_recorded_and_of_others_dropped():
    """A report for a run held here reaches the store through the
    recorder; one for a job not held here (ended, put back) is dropped."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    run, = pool.given
    start(dispatcher, run)
    dispatcher.jobProgress(run, dict(fraction=0.5, message='half', at=1.0))
    assert service.getJob(jobid).progress['message'] == 'half'
    dispatcher.jobEnded(run, Outcome(True, '1'), 0.1)
    dispatcher.jobProgress(run, dict(fraction=0.9, at=2.0))
    assert service.getJob(jobid).progress['fraction'] == 0.5


def test_a_report_that_comes_with_the_end_is_written_with_it():
    """The last report carried by a run's end is written by the write of
    that end, in one transaction, not by a write of its own before it;
    the job then shows it."""
    writes = HeldWrites()
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1,
                                                         write=writes)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    while writes.calls:
        writes.runNext()
    run, = pool.given
    start(dispatcher, run)
    clock.advance(1.0)  # the start's own write
    while writes.calls:
        writes.runNext()
    dispatcher.jobEnded(run, Outcome(True, '1'), 0.1,
                        dict(fraction=1.0, message='done', at=2.0))
    recorded = [call for call in writes.calls
                if call[1] == service.running.recordRuns]
    assert len(recorded) == 1
    _, _, (started, ended, putBack, reports), _ = recorded[0]
    assert [row['id'] for row, _ in ended] == [jobid]
    assert [report['message'] for _, report in reports] == ['done']
    while writes.calls:
        writes.runNext()
    assert service.getJob(jobid).progress['message'] == 'done'


def test_an_end_that_owes_a_call_wakes_the_notifier():
    """onNotifyOwed is called when the end of a job with notify is
    recorded here, and on a cancel; not for other ends."""
    from remotetask.core import notifying
    dispatcher, service, pool, clock, _ = makeDispatcher(size=2)
    owed = []
    dispatcher.onNotifyOwed = lambda: owed.append(True)
    service.notifyAllow = (notifying.parsePrefix('http://h/'),)
    dispatcher.startService()
    quiet = service.add('echo', 1)
    told = service.add('echo', 2, notify='http://h/')
    runs = {run.id: run for run in pool.given}
    for jobid in (quiet, told):
        start(dispatcher, runs[jobid])
    dispatcher.jobEnded(runs[quiet], Outcome(True, '1'), 0.1)
    assert owed == []
    dispatcher.jobEnded(runs[told], Outcome(True, '2'), 0.1)
    assert owed == [True]
    dispatcher.ended(99, 'cancelled')
    assert owed == [True, True]


def test_the_queue_depth_is_sampled_at_start_and_every_sampleInterval():
    """The chart's queue depth is sampled by the first tick and then once
    per sampleInterval, not at every tick."""
    dispatcher, service, pool, clock, _ = makeDispatcher(size=1)
    samples = []
    service.running.sampleQueue = lambda: samples.append(clock.seconds())
    dispatcher.startService()
    assert samples == [0.0]
    clock.advance(59)
    assert samples == [0.0]
    clock.advance(1)
    assert samples == [0.0, 60.0]


def test_an_end_the_store_refuses_ends_the_run_and_the_stop_does_not_wait():
    """A recording write that fails for another reason than an outage
    does not leave its run in flight (issue 19, defect 1): the job's end
    is written as an error saying why, its waiter is answered, it is no
    longer shown running, and stopping does not wait out the grace."""
    refuse = [True]

    def write(function, *args):
        if refuse[0] and function.__name__ == 'recordRuns' and args[1]:
            refuse[0] = False
            return defer.fail(RuntimeError('the store refused a value'))
        return synchronous(function, *args)
    dispatcher, service, pool, clock, ended = makeDispatcher(
        size=1, write=write, grace=30.0)
    dispatcher.startService()
    jobid = service.add('echo', 1)
    waited = dispatcher.waiters.wait(jobid, 60)
    run, = pool.given
    start(dispatcher, run)
    dispatcher.jobEnded(run, Outcome(True, '"x"'), 0.1)
    assert waited.result == 'error'
    assert 'the store refused a value' in service.getError(jobid)
    assert dispatcher.workers()['running'] == []
    stopped = dispatcher.stopService()
    assert stopped.called


def test_the_log_line_of_each_end_is_written_per_batch():
    """Ended runs' lines are formatted as they end and written together,
    one log event per interval, in order."""
    from twisted.logger import globalLogPublisher
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        dispatcher, service, pool, clock, _ = makeDispatcher(size=2)
        dispatcher.startService()
        first, second = service.add('echo', 1), service.add('echo', 2)
        for run in list(pool.given):
            start(dispatcher, run)
            dispatcher.jobEnded(run, Outcome(True, '1'), 0.25)
        lines = [e for e in events if e.get('log_namespace', '').endswith(
            'JobLog')]
        assert lines == []
        clock.advance(dispatcher.jobLog.interval)
        event, = [e for e in events if e.get('log_namespace', '').endswith(
            'JobLog')]
        assert event['lines'].splitlines() == [
            f'Job {first} (echo) ended in 0.250 s: ok',
            f'Job {second} (echo) ended in 0.250 s: ok']
    finally:
        globalLogPublisher.removeObserver(events.append)


def test_an_add_wakes_the_feeder_once_from_one_path():
    """One committed add is one wake-up and one claim: from the service's
    committed event on a store one server holds; on a shared store only
    from the store's notification (the cluster calls added()), which
    tells of this server's adds too."""
    writes = HeldWrites()
    service, clock, pool = makeService(), task.Clock(), FakePool(2)
    own = Dispatcher(service, pool, synchronous, writes, direct,
                     clock=clock)
    own.feeder.startFeeding()
    service.add('echo', 1)
    assert [call[1] for call in writes.calls] == [service.running.claim]
    writes.runNext()
    assert writes.calls == []
    service, pool = makeService(), FakePool(2)
    shared = Dispatcher(service, pool, synchronous, writes, direct,
                        clock=clock, shared=True)
    shared.feeder.startFeeding()
    jobid = service.add('echo', 1)
    assert writes.calls == []
    shared.added()
    writes.runNext()
    assert given(pool) == [jobid] and writes.calls == []
