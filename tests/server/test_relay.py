"""The relay: calls from other threads run in the reactor thread, in
order, with one wake-up per burst; a call from the reactor thread runs
at once unless relayed calls still wait."""

import threading

import pytest
from twisted.python import threadable

from remotetask.server.pipeline.relay import ThreadRelay
from tests.server.fakes import RecordingReactor


@pytest.fixture
def reactorThread():
    """This thread is the reactor's for the test."""
    before = threadable.ioThread
    threadable.ioThread = threadable.getThreadID()
    yield
    threadable.ioThread = before


def fromAnotherThread(function, *args):
    thread = threading.Thread(target=function, args=args)
    thread.start()
    thread.join()


def test_a_call_from_the_reactor_thread_runs_at_once(reactorThread):
    """Relayed from the reactor thread with nothing waiting, a call runs
    at once: no wake-up of the reactor (the waker pipe) for it."""
    reactor, done = RecordingReactor(), []
    relay = ThreadRelay(reactor)
    relay(done.append, 1)
    assert done == [1]
    assert reactor.calls == []


def test_calls_from_other_threads_wake_the_reactor_once_and_keep_order(
        reactorThread):
    """Calls relayed from other threads wait for one wake-up; a call
    from the reactor thread meanwhile waits behind them, and one made
    by a relayed call runs after the others taken with it."""
    reactor, done = RecordingReactor(), []
    relay = ThreadRelay(reactor)
    fromAnotherThread(relay, done.append, 1)
    fromAnotherThread(relay, lambda: (done.append(2), relay(done.append, 4)))
    relay(done.append, 3)
    assert done == [] and len(reactor.calls) == 1
    reactor.runAll()
    assert done == [1, 2, 3]
    reactor.runAll()
    assert done == [1, 2, 3, 4]
    relay(done.append, 5)
    assert done[-1] == 5


def test_a_failing_call_is_logged_not_raised(reactorThread):
    """What a relayed call raises is logged; the caller (perhaps in the
    middle of a commit) and the calls after it go on."""
    from twisted.logger import globalLogPublisher
    logged, done = [], []
    globalLogPublisher.addObserver(logged.append)
    try:
        relay = ThreadRelay(RecordingReactor())
        relay(lambda: 1 / 0)
        relay(done.append, 1)
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert done == [1]
    failures = [event['log_failure'] for event in logged
                if 'log_failure' in event]
    assert failures and failures[0].check(ZeroDivisionError)
