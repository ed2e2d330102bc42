"""The notifier on task.Clock: completion calls made once, retried with
backoff, cut off at their time limit, bounded in number, and waited for
at stop. The calls are held by the test; the service and its store in memory
are real."""

from twisted.internet import defer, error, task
from twisted.web.xmlrpc import Fault

from remotetask.core import notifying
from remotetask.core.status import CANCELLED, QUEUED
from remotetask.server.pipeline.notifier import Notifier
from tests.server.fakes import makeService, synchronous

URL = 'http://127.0.0.1:9000/hooks'
#: When the test's jobs ended (the clock starts there).
ENDED = 1000.0


class Calls:
    """A ``call`` whose answers the test gives."""

    def __init__(self):
        self.made = []

    def __call__(self, url, method, *args):
        d = defer.Deferred()
        self.made.append(((url, method) + args, d))
        return d

    def answer(self, index=0, value=True):
        self.made[index][1].callback(value)

    def fail(self, index=0, failure=None):
        self.made[index][1].errback(failure or error.ConnectionRefusedError())

    def args(self):
        return [args for args, _ in self.made]


def ended(service, count=1):
    """``count`` jobs with notify that ended (cancelled) at ENDED."""
    service.notifyAllow = (notifying.parsePrefix(URL),)
    ids = []
    for _ in range(count):
        jobid = service.add('echo', notify=URL)
        service.store.transition(jobid, {QUEUED}, CANCELLED, ENDED)
        ids.append(jobid)
    return ids


def makeNotifier(concurrency=10, timeout=10.0):
    service, clock, calls = makeService(), task.Clock(), Calls()
    clock.advance(ENDED)
    notifier = Notifier(service, synchronous, synchronous, clock, calls,
                        timeout=timeout, concurrency=concurrency)
    return notifier, service, clock, calls


def events(service, jobid):
    return [(event['event'], event.get('attempt'))
            for event in service.getJob(jobid).events
            if event['event'].startswith('notif')]


def test_a_due_call_is_made_once_and_recorded():
    """At start the owed call is made, jobEnded(id, status) at its URL;
    once answered it is recorded and not made again."""
    notifier, service, clock, calls = makeNotifier()
    jobid, = ended(service)
    notifier.startService()
    assert calls.args() == [(URL, 'jobEnded', jobid, 'cancelled')]
    calls.answer()
    assert events(service, jobid) == [('notified', 1)]
    clock.advance(3600)
    assert len(calls.made) == 1
    assert notifier.inFlight == {}


def test_a_wake_makes_a_call_owed_since_the_last_look():
    """wake() (an end that owes a call was recorded) claims at once,
    without waiting for the next tick."""
    notifier, service, clock, calls = makeNotifier()
    notifier.startService()
    jobid, = ended(service)
    notifier.wake()
    assert calls.args() == [(URL, 'jobEnded', jobid, 'cancelled')]


def test_a_refused_call_is_tried_again_with_backoff_until_answered():
    """A call refused is made again 1 s later, then 2 s after that; each
    attempt is an event, and an answer ends it."""
    notifier, service, clock, calls = makeNotifier()
    jobid, = ended(service)
    notifier.startService()
    calls.fail(0)
    clock.advance(0.99)
    assert len(calls.made) == 1
    clock.advance(0.01)
    assert len(calls.made) == 2
    calls.fail(1)
    clock.advance(1.99)
    assert len(calls.made) == 2
    clock.advance(0.01)
    calls.answer(2)
    assert events(service, jobid) == [
        ('notify failed', 1), ('notify failed', 2), ('notified', 3)]
    assert service.completions.nextNotification() is None


def test_a_call_without_answer_is_cut_off_at_its_timeout():
    """A call still unanswered after timeout is cancelled and recorded as
    failed, saying so; a fault answer is a failure too."""
    notifier, service, clock, calls = makeNotifier(timeout=5.0)
    jobid, = ended(service)
    notifier.startService()
    clock.advance(4.9)
    assert notifier.inFlight
    clock.advance(0.1)
    assert notifier.inFlight == {}
    why = service.getJob(jobid).events[-1]['why']
    assert why == 'no answer within 5 s'
    clock.advance(1.0)
    calls.fail(1, Fault(8001, 'no such method'))
    assert 'fault 8001' in service.getJob(jobid).events[-1]['why']


def test_no_more_than_concurrency_calls_are_made_at_once():
    """With concurrency 2 and three calls owed, two are made; the third
    waits, owed in the store, until one of them ends."""
    notifier, service, clock, calls = makeNotifier(concurrency=2)
    first, second, third = ended(service, 3)
    notifier.startService()
    assert [args[2] for args in calls.args()] == [first, second]
    clock.advance(5)
    assert len(calls.made) == 2
    calls.answer(0)
    assert [args[2] for args in calls.args()] == [first, second, third]


def test_a_call_is_given_up_at_the_retry_time():
    """Past notifyRetryTime after the end, a failed call is given up:
    its last event says so and nothing is owed any more."""
    notifier, service, clock, calls = makeNotifier()
    service.notifyRetryTime = 2.0
    jobid, = ended(service)
    notifier.startService()
    for index in range(3):
        calls.fail(index)
        clock.advance(1.0)
    assert len(calls.made) == 3
    assert service.getJob(jobid).events[-1]['gaveUp'] is True
    assert service.completions.nextNotification() is None


def test_stopping_waits_for_the_calls_being_made():
    """stopService() claims no more and fires once the calls being made
    have ended and been recorded."""
    notifier, service, clock, calls = makeNotifier()
    jobid, = ended(service)
    notifier.startService()
    stopped = notifier.stopService()
    assert not stopped.called
    ended(service)
    clock.advance(5)
    assert len(calls.made) == 1
    calls.answer()
    assert stopped.called
    assert events(service, jobid) == [('notified', 1)]


class Transport:
    stopped = False

    def stopProducing(self):
        self.stopped = True


def answerOf(*chunks):
    """What an _Answer makes of a body in ``chunks``."""
    from twisted.python.failure import Failure
    from twisted.web.client import ResponseDone
    from remotetask.server.pipeline.notifier import _Answer
    reader, transport = _Answer(), Transport()
    reader.makeConnection(transport)
    for chunk in chunks:
        reader.dataReceived(chunk)
    reader.connectionLost(Failure(ResponseDone()))
    results = []
    reader.done.addBoth(results.append)
    return results[0], transport.stopped


def test_an_answer_is_read_up_to_MAX_ANSWER_bytes():
    """An answer of MAX_ANSWER bytes is read whole; one byte more stops
    the reading and fails the call."""
    from remotetask.server.pipeline.notifier import MAX_ANSWER, CallFailed
    body, stopped = answerOf(b'x' * (MAX_ANSWER - 1), b'x')
    assert (len(body), stopped) == (MAX_ANSWER, False)
    failure, stopped = answerOf(b'x' * MAX_ANSWER, b'x')
    assert failure.check(CallFailed) and stopped
