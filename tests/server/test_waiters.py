"""Waiters: answered by the end itself, bounded, never polled per job."""

from twisted.internet import task

from remotetask.errors import ServerBusy
from remotetask.server.pipeline.waiters import Waiters
from tests.server.fakes import HeldWrites, makeService, synchronous


def failureOf(d):
    """The Failure a fired Deferred failed with (consumed)."""
    failures = []
    d.addErrback(failures.append)
    assert len(failures) == 1, d
    return failures[0]


def makeWaiters(read=synchronous, maxWaiters=10):
    service, clock = makeService(), task.Clock()
    return Waiters(service, read, clock, maxWaiters), service, clock


def test_a_waiter_is_answered_when_the_end_is_told():
    """wait() on a queued job answers with the status the end carries,
    at that moment, reading nothing more."""
    waiters, service, clock = makeWaiters()
    jobid = service.add('echo', 1)
    waited = waiters.wait(jobid, 30)
    assert not waited.called and len(waiters) == 1
    waiters.ended(jobid, 'completed')
    assert waited.result == 'completed'
    assert len(waiters) == 0
    assert clock.getDelayedCalls() == []


def test_a_waiter_times_out_with_the_status_then():
    """Past its timeout a waiter answers with the job's status as it is
    then, and is forgotten."""
    waiters, service, clock = makeWaiters()
    jobid = service.add('echo', 1)
    waited = waiters.wait(jobid, 5)
    clock.advance(4.9)
    assert not waited.called
    clock.advance(0.1)
    assert waited.result == 'queued'
    assert len(waiters) == 0


def test_a_finished_job_is_answered_at_once():
    """A job already ended answers at once, as does a timeout of 0."""
    waiters, service, clock = makeWaiters()
    jobid = service.add('echo', 1)
    service.cancel(jobid)
    assert waiters.wait(jobid, 30).result == 'cancelled'
    other = service.add('echo', 1)
    assert waiters.wait(other, 0).result == 'queued'
    assert len(waiters) == 0


def test_an_end_told_while_the_status_is_read_is_not_lost():
    """The waiter listens before it reads: an end told between the two
    answers it, not the timeout."""
    read = HeldWrites()
    waiters, service, clock = makeWaiters(read=read)
    jobid = service.add('echo', 1)
    waited = waiters.wait(jobid, 30)
    waiters.ended(jobid, 'completed')
    read.runNext()
    assert waited.result == 'completed'
    assert clock.getDelayedCalls() == []


def test_a_fresh_job_is_waited_for_without_reading_its_status():
    """wait(fresh=True), for a job its caller has just added, reads no
    status: it is answered by the end told later, or at its timeout with
    the status read then; with a timeout of 0 it reads at once."""
    read = HeldWrites()
    waiters, service, clock = makeWaiters(read=read)
    jobid = service.add('echo', 1)
    waited = waiters.wait(jobid, 30, fresh=True)
    assert read.calls == [] and not waited.called
    waiters.ended(jobid, 'completed')
    assert waited.result == 'completed'
    timedOut = waiters.wait(service.add('echo', 2), 5, fresh=True)
    assert read.calls == []
    clock.advance(5)
    assert len(read.calls) == 1
    read.runNext()
    assert timedOut.result == 'queued'
    atOnce = waiters.wait(service.add('echo', 3), 0, fresh=True)
    assert len(read.calls) == 1
    read.runNext()
    assert atOnce.result == 'queued' and len(waiters) == 0


def test_waiters_are_bounded():
    """Up to maxWaiters wait; one more is refused at once with
    ServerBusy, and a place freed is taken again."""
    waiters, service, clock = makeWaiters(maxWaiters=2)
    jobs = [service.add('echo', i) for i in range(3)]
    first, second = (waiters.wait(jobid, 30) for jobid in jobs[:2])
    refused = failureOf(waiters.wait(jobs[2], 30))
    assert refused.check(ServerBusy)
    assert '--max-waiters' in refused.getErrorMessage()
    waiters.ended(jobs[0], 'completed')
    third = waiters.wait(jobs[2], 30)
    assert not third.called
    waiters.releaseAll()
    assert (second.result, third.result) == ('queued', 'queued')
