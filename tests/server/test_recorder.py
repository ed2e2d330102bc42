"""The recorder: the workers' news in batches, kept through outages."""

from twisted.internet import task

from remotetask.core.runner import Outcome
from remotetask.errors import StoreUnavailable
from remotetask.server.recorder import Recorder
from tests.server.fakes import HeldWrites, makeService


def claimed(service, count):
    for index in range(count):
        service.add('echo', index)
    return service.claim(count)


def makeRecorder():
    service, write, clock = makeService(), HeldWrites(), task.Clock()
    recorded = []
    recorder = Recorder(service, write,
                        lambda *args: recorded.append(args), clock)
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
    assert [jobid for jobid, _ in args[0]] == [second['id'], third['id']]
    assert [row['id'] for row, _ in args[1]] == [first['id'], second['id']]
    assert recorded == []
    write.runNext()
    assert [(row['id'], status) for row, _, status, _ in recorded] == [
        (first['id'], 'completed'), (second['id'], 'completed')]
    assert service.getStatus(first['id']) == 'completed'


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
    assert (args[0], args[1]) == ([(slow['id'], slow['token'])], [])
    write.runNext()
    assert service.getJob(slow['id']).attempts == 1
    recorder.started(fast)
    recorder.ended(fast, Outcome(True, '1'), 0.001)
    (_, function, args, _), = write.calls
    assert [jobid for jobid, _ in args[0]] == [fast['id']]
    assert [row['id'] for row, _ in args[1]] == [fast['id']]
    write.runNext()
    assert clock.getDelayedCalls() == []


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
    assert [status for _, _, status, _ in recorded] == ['completed']
    assert service.getResult(row['id']) == 'done'


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
    assert service.getStatus(row['id']) == 'queued'


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
    assert service.getStatus(row['id']) == 'processing'
