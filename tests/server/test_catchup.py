"""Catching up with ends that went unheard: one read for the waiters and
the cancel watch, and what each does with what it found."""

from twisted.internet import task

from remotetask.errors import NoSuchJob
from remotetask.server.pipeline.cancelwatch import CancelWatch
from remotetask.server.pipeline.catchup import CatchUp
from remotetask.server.pipeline.inflight import InFlight, Run
from remotetask.server.pipeline.waiters import Waiters
from tests.server.fakes import HeldWrites, makeService, synchronous


class CountedReads:
    """A ``read`` made at once, keeping the ids of each statuses read."""

    def __init__(self):
        self.reads = []

    def __call__(self, function, *args):
        if function.__name__ == 'statuses':
            self.reads.append(sorted(args[0]))
        return synchronous(function, *args)


def makeCatchUp(read):
    service, table, stopped = makeService(), InFlight(), []
    waiters = Waiters(service, read, task.Clock())
    watch = CancelWatch(table, lambda run: stopped.append(run.id))
    return CatchUp(service, read, [waiters, watch]), service, waiters, \
        table, stopped


def failureOf(d):
    failures = []
    d.addErrback(failures.append)
    assert len(failures) == 1, d
    return failures[0]


def test_one_read_answers_waiters_and_stops_cancelled_runs():
    """catchUp() reads the statuses of the waited jobs and of the jobs
    here in one call: a waited job that ended is answered with its
    status, one removed meanwhile with NoSuchJob, one still queued keeps
    waiting; a run here whose job was cancelled is stopped."""
    read = CountedReads()
    catchUp, service, waiters, table, stopped = makeCatchUp(read)
    done, removed, still, here = (service.add('echo', i) for i in range(4))
    waits = [waiters.wait(jobid, 30) for jobid in (done, removed, still)]
    service.cancel(removed)
    service.clean()
    for row in service.running.claim(4):
        if row['id'] == here:
            table.hold(Run(row))
    service.cancel(done)
    service.cancel(here)
    read.reads.clear()
    catchUp()
    assert waits[0].result == 'cancelled'
    assert failureOf(waits[1]).check(NoSuchJob)
    assert not waits[2].called
    assert stopped == [here]
    assert read.reads == [sorted([done, removed, still, here])]


def test_ids_asked_for_during_a_read_are_read_together_after_it():
    """Jobs asked for while a read is in flight are read in one call
    right after it, and both callers hear when that is done."""
    read = HeldWrites()
    catchUp, service, waiters, table, stopped = makeCatchUp(read)
    first = catchUp([1])
    second, third = catchUp([2]), catchUp([3])
    assert len(read.calls) == 1
    read.runNext()
    assert not first.called
    _, _, (ids,), _ = read.calls[0]
    assert ids == [2, 3]
    read.runNext()
    assert first.called and second.called and third.called


def test_nothing_watched_reads_nothing():
    """With no waiter and no job here, a catch-up reads nothing."""
    read = CountedReads()
    catchUp, *_ = makeCatchUp(read)
    assert catchUp().called
    assert read.reads == []
