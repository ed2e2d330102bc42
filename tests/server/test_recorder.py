"""The recorder: the workers' news in batches, kept through outages."""

from twisted.internet import task

from remotetask.core.runner import Outcome
from remotetask.errors import StoreUnavailable
from remotetask.server.pipeline.inflight import Run
from remotetask.server.pipeline.recorder import UNRECORDABLE, Recorder
from tests.server.fakes import HeldWrites, makeService


def claimed(service, count):
    """``count`` runs claimed, as the in-flight table holds them."""
    for index in range(count):
        service.add('echo', index)
    return [Run(row) for row in service.running.claim(count)]


def makeRecorder():
    service, write, clock = makeService(), HeldWrites(), task.Clock()
    recorded = []
    recorder = Recorder(service, write,
                        lambda run, status: recorded.append((run, status)),
                        clock)
    return recorder, service, write, clock, recorded


def test_news_arriving_during_a_write_goes_in_one_next_write():
    """While one write is in flight, starts and ends pile up; the next
    write takes them all, and each end is reported once committed."""
    recorder, service, write, clock, recorded = makeRecorder()
    first, second, third = claimed(service, 3)
    recorder.started(first)
    clock.advance(recorder.startDelay)
    assert len(write.calls) == 1
    recorder.started(second)
    recorder.started(third)
    recorder.ended(first, Outcome(True, '1'), 0.1)
    recorder.ended(second, Outcome(True, '2'), 0.2)
    assert len(write.calls) == 1
    write.runNext()
    assert len(write.calls) == 1
    (_, function, args, _), = write.calls
    assert sorted(jobid for jobid, _ in args[0]) == [second.id, third.id]
    assert sorted(row['id'] for row, _ in args[1]) == [first.id, second.id]
    assert recorded == []
    write.runNext()
    assert sorted((run.id, status) for run, status in recorded) == [
        (first.id, 'completed'), (second.id, 'completed')]
    assert service.getStatus(first.id) == 'completed'


def test_a_start_waits_briefly_for_its_end_to_share_a_write():
    """A start alone is written after startDelay; a start whose end comes
    sooner goes in the same write as the end."""
    recorder, service, write, clock, recorded = makeRecorder()
    slow, fast = claimed(service, 2)
    recorder.started(slow)
    clock.advance(recorder.startDelay - 0.001)
    assert write.calls == []
    clock.advance(0.001)
    (_, function, args, _), = write.calls
    assert (args[0], args[1]) == ([(slow.id, slow.row['token'])], [])
    write.runNext()
    assert service.getJob(slow.id).attempts == 1
    recorder.started(fast)
    recorder.ended(fast, Outcome(True, '1'), 0.001)
    (_, function, args, _), = write.calls
    assert [jobid for jobid, _ in args[0]] == [fast.id]
    assert [row['id'] for row, _ in args[1]] == [fast.id]
    write.runNext()
    # The start's timer, left to run out, finds nothing more to write.
    clock.advance(recorder.startDelay)
    assert write.calls == []
    assert clock.getDelayedCalls() == []


def test_starts_share_one_timer_left_to_run_out():
    """Short jobs' starts and ends arm one timer between them, not one
    each: the ends take their starts along without cancelling it, and
    when it runs out it writes the start still owed, in one write."""
    recorder, service, write, clock, recorded = makeRecorder()
    first, second, third = claimed(service, 3)
    recorder.started(first)
    recorder.ended(first, Outcome(True, '1'), 0.001)
    write.runNext()
    clock.advance(recorder.startDelay / 2)
    recorder.started(second)
    recorder.ended(second, Outcome(True, '2'), 0.001)
    write.runNext()
    recorder.started(third)
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(recorder.startDelay / 2)
    (_, function, args, _), = write.calls
    assert (args[0], args[1]) == ([(third.id, third.row['token'])], [])
    write.runNext()
    assert clock.getDelayedCalls() == []
    assert service.getJob(third.id).attempts == 1


def test_an_end_the_store_cannot_take_is_kept_and_tried_again():
    """An outcome refused with StoreUnavailable is kept and written
    later, waiting longer after each failure."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.ended(row, Outcome(True, '"done"'), 1.0)
    write.failNext(StoreUnavailable('disk full'))
    assert write.calls == []
    clock.advance(0.5)
    write.failNext(StoreUnavailable('disk full'))
    clock.advance(0.9)
    assert write.calls == []
    clock.advance(0.1)
    write.runNext()
    assert [status for _, status in recorded] == ['completed']
    assert service.getResult(row.id) == 'done'


def test_idle_fires_when_everything_is_written():
    """idle() fires at once with nothing pending, else once the pending
    news is written."""
    recorder, service, write, clock, recorded = makeRecorder()
    assert recorder.idle().called
    row, = claimed(service, 1)
    recorder.putBack(row, started=False)
    idle = recorder.idle()
    assert not idle.called
    write.runNext()
    assert idle.called
    assert service.getStatus(row.id) == 'queued'


def test_when_stopping_a_store_outage_leaves_news_to_recovery():
    """While stopping, the store gets one last try; if it refuses, the
    news is left to the next start-up rather than holding the stop."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.ended(row, Outcome(True, '1'), 1.0)
    write.failNext(StoreUnavailable('gone'))
    recorder.stopping = True
    idle = recorder.idle()
    write.failNext(StoreUnavailable('still gone'))
    assert idle.called
    assert recorded == []
    assert service.getStatus(row.id) == 'processing'


def report(fraction, message=None):
    return dict(fraction=fraction, message=message, at=0.0)


def writtenReports(write):
    """The reports the next pending write carries: {jobid: message}."""
    (_, _, args, _), = write.calls
    return {row['id']: got['message'] for row, got in args[3]}


def test_progress_waits_for_its_interval_the_latest_winning():
    """A job's first report goes at once; those that come within
    progressInterval of it wait, each replacing the one before, and the
    latest is written when the interval is up."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.progress(row, report(0.1, 'first'))
    assert writtenReports(write) == {row.id: 'first'}
    write.runNext()
    for step in range(2, 101):
        recorder.progress(row, report(step / 100, f'step {step}'))
    assert write.calls == []
    clock.advance(0.99)
    assert write.calls == []
    clock.advance(0.01)
    assert writtenReports(write) == {row.id: 'step 100'}
    write.runNext()
    assert service.getJob(row.id).progress['message'] == 'step 100'


def test_a_job_end_takes_its_waiting_report_with_it():
    """A report still waiting for its interval goes in the same write as
    the job's end, before it, so that the last report is never lost."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.progress(row, report(0.1))
    write.runNext()
    recorder.progress(row, report(1.0, 'done'))
    recorder.ended(row, Outcome(True, '1'), 0.5)
    assert writtenReports(write) == {row.id: 'done'}
    write.runNext()
    job = service.getJob(row.id)
    assert (job.status, job.progress['message']) == ('completed', 'done')
    clock.advance(5)
    assert write.calls == []


def test_reports_of_many_jobs_share_a_write_and_each_keeps_its_rate():
    """Reports arriving while a write is in flight go in the next one
    together; each job's rate is its own."""
    recorder, service, write, clock, recorded = makeRecorder()
    first, second = claimed(service, 2)
    recorder.started(first)
    clock.advance(recorder.startDelay)
    assert len(write.calls) == 1
    recorder.progress(first, report(0.1, 'a'))
    recorder.progress(second, report(0.2, 'b'))
    assert len(write.calls) == 1
    write.runNext()
    assert writtenReports(write) == {first.id: 'a', second.id: 'b'}
    write.runNext()
    clock.advance(0.5)
    recorder.progress(first, report(0.3, 'c'))
    assert write.calls == []
    clock.advance(0.5)
    assert writtenReports(write) == {first.id: 'c'}


def test_idle_does_not_wait_for_reports_that_wait_for_their_time():
    """Stopping does not wait for a report that is not due: the run it
    belongs to ends or is put back with it."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.progress(row, report(0.1))
    write.runNext()
    recorder.progress(row, report(0.2))
    recorder.stopping = True
    assert recorder.idle().called
    clock.advance(5)
    assert write.calls == []


def test_a_batch_failing_otherwise_than_an_outage_is_written_run_by_run():
    """A write that fails for another reason than StoreUnavailable (a
    bug, a value the store refuses) loses nothing: each of its runs is
    written alone, so that the others are recorded; the end the store
    refuses is recorded as an error saying so (issue 19, defect 1: the
    batch was dropped, its jobs shown running for ever)."""
    recorder, service, write, clock, recorded = makeRecorder()
    first, good, bad = claimed(service, 3)
    recorder.ended(first, Outcome(True, '1'), 0.1)
    recorder.ended(good, Outcome(True, '"fine"'), 0.1)
    recorder.ended(bad, Outcome(True, '"refused"'), 0.1)
    write.runNext()
    recorded.clear()
    (_, _, args, _), = write.calls
    assert [row['id'] for row, _ in args[1]] == [good.id, bad.id]
    write.failNext(RuntimeError('the store refused a value'))
    assert recorded == []
    write.runNext()
    (_, _, args, _), = write.calls
    assert [row['id'] for row, _ in args[1]] == [bad.id]
    write.failNext(RuntimeError('the store refused a value'))
    (_, _, args, _), = write.calls
    (row, outcome), = args[1]
    assert outcome.error.startswith(UNRECORDABLE)
    write.runNext()
    assert [(run.id, status) for run, status in recorded] == [
        (good.id, 'completed'), (bad.id, 'error')]
    assert service.getResult(good.id) == 'fine'
    assert 'the store refused a value' in service.getError(bad.id)
    assert recorder.idle().called


def test_a_run_that_cannot_be_written_at_all_is_given_up():
    """A run whose end fails alone, even as an error, is given up here
    (left to recovery): reported with no status, so that nothing waits
    for it, and the recorder is idle."""
    recorder, service, write, clock, recorded = makeRecorder()
    row, = claimed(service, 1)
    recorder.ended(row, Outcome(True, '1'), 0.1)
    write.failNext(RuntimeError('broken'))
    write.failNext(RuntimeError('broken'))
    assert [(run.id, status) for run, status in recorded] == [(row.id, None)]
    assert write.calls == []
    assert recorder.idle().called
