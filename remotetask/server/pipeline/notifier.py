"""Completion calls: telling a job's caller that it ended.

A job added with ``notify=URL`` owes, once it has ended (completed, error
or cancelled), a call of the XML-RPC method ``jobEnded(id, status)`` at
URL (the method's name is ``--notify-method``). The store keeps what is
owed, written with the end itself, so nothing is lost when the server
stops; this service makes the calls. It claims due calls through the
writer (``service.completions.claimNotifications``: on a shared store
each is made by one server at a time, for a lease of the call's time
limit and some), makes each without blocking anything (a Twisted
client, at most ``concurrency`` at once, each cut off after ``timeout``
seconds), and records how it went
(``service.completions.recordNotification``): made, or failed and due
again after a backoff, until ``--notify-retry-time`` after the end
(``remotetask.core.notifying``). Every attempt is an event of the job.

It looks for due calls when the dispatcher says an end owes one, and once
every ``interval`` seconds (a cheap read of when the next one is due):
retries come due, and another server's ends, or an earlier run's, are
found that way. A call is made at least once; a server that dies during a
call (after the caller got it, before it was recorded) has it made again
by the next claim, after the lease.
"""

import io
import xmlrpc.client
from xmlrpc.client import Fault

from twisted.application.service import Service
from twisted.internet import defer, error, protocol, task
from twisted.logger import Logger
from twisted.python import failure
from twisted.web.client import (
    Agent, FileBodyProducer, HTTPConnectionPool, ResponseDone)
from twisted.web.http_headers import Headers

from remotetask.errors import StoreUnavailable
from remotetask.server.pipeline.callbound import CallEndpoints

#: Seconds beyond a call's time limit that its claim is held.
LEASE_MARGIN = 30.0
#: The longest answer read from a caller's server; a longer one is a
#: failed call (the answer to jobEnded is meant to be empty or small).
MAX_ANSWER = 65536


class CallFailed(Exception):
    """The caller's server did not answer as XML-RPC does."""


def xmlrpcCall(reactor, timeout):
    """``call(url, method, *args)``: a Deferred of an XML-RPC call's
    answer (a ``Fault`` answer is a failure), made with Twisted's Agent,
    connecting within ``timeout`` seconds, keeping no connection between
    calls, reading at most ``MAX_ANSWER`` bytes (https needs Twisted's TLS
    extra)."""
    agent = Agent.usingEndpointFactory(
        reactor, CallEndpoints(reactor, timeout),
        pool=HTTPConnectionPool(reactor, persistent=False))

    def call(url, method, *args):
        body = xmlrpc.client.dumps(args, method).encode('utf-8')
        d = agent.request(
            b'POST', url.encode('utf-8'),
            Headers({b'content-type': [b'text/xml'],
                     b'user-agent': [b'remotetask']}),
            FileBodyProducer(io.BytesIO(body)))
        d.addCallback(_answer)
        return d
    return call


class _Answer(protocol.Protocol):
    """Collects a response body of at most ``MAX_ANSWER`` bytes into
    ``done``; cancelling ``done`` drops the connection."""

    def __init__(self):
        self.done = defer.Deferred(self._cancel)
        self.chunks, self.size = [], 0

    def _cancel(self, done):
        if self.transport is not None:
            self.transport.stopProducing()

    def dataReceived(self, data):
        self.size += len(data)
        if self.size > MAX_ANSWER:
            self.transport.stopProducing()
            return
        self.chunks.append(data)

    def connectionLost(self, reason):
        if self.done.called:
            return
        if self.size > MAX_ANSWER:
            self.done.errback(CallFailed(
                f'the answer is longer than {MAX_ANSWER} bytes'))
        elif reason.check(ResponseDone):
            self.done.callback(b''.join(self.chunks))
        else:
            self.done.errback(reason)


def _answer(response):
    reader = _Answer()
    response.deliverBody(reader)

    def parse(body):
        if response.code != 200:
            raise CallFailed(f'the server answered HTTP {response.code}')
        try:
            return xmlrpc.client.loads(body)[0]
        except Fault:
            raise
        except Exception as error:
            raise CallFailed(f'the answer is not XML-RPC ({error})')
    return reader.done.addCallback(parse)


def describe(failure):
    """Why a call failed, for the job's events and the log."""
    if failure.check(Fault):
        return (f'the caller answered with fault {failure.value.faultCode}: '
                f'{failure.value.faultString}')
    if failure.check(error.ConnectionRefusedError):
        return 'the connection was refused'
    return failure.getErrorMessage() or failure.type.__name__


class Notifier(Service):
    """Makes the completion calls jobs owe; see the module docstring.

    ``read`` and ``write`` run service calls off the reactor thread (the
    read pool, the store writer); ``call(url, method, jobid, status)``
    makes one call (``xmlrpcCall`` when None).
    """

    name = 'notifier'
    log = Logger()

    def __init__(self, service, read, write, clock=None, call=None,
                 method='jobEnded', timeout=10.0, concurrency=10,
                 interval=1.0):
        if clock is None:
            from twisted.internet import reactor as clock
        self.service = service
        self.read = read
        self.write = write
        self.clock = clock
        self.call = call or xmlrpcCall(clock, timeout)
        self.method = method
        self.timeout = timeout
        self.concurrency = concurrency
        self.interval = interval
        #: Calls being made (or recorded): job id -> Deferred.
        self.inFlight = {}
        self._claiming = None
        self._again = False
        self._loop = self._loopDone = None

    def wake(self):
        """Claim due calls now, as many as there is room for."""
        if not self.running:
            return
        if self._claiming is not None:
            self._again = True
            return
        room = self.concurrency - len(self.inFlight)
        if room <= 0:
            return
        self._claiming = self.write(
            self.service.completions.claimNotifications, room,
            self.timeout + LEASE_MARGIN, self.clock.seconds())
        self._claiming.addCallbacks(self._claimed, self._claimFailed,
                                    (room,))

    def _claimed(self, rows, asked):
        self._claiming = None
        for row in rows:
            self._make(row)
        again, self._again = self._again, False
        # A full claim may have left due calls behind.
        if again or len(rows) == asked:
            self.wake()

    def _claimFailed(self, failure):
        self._claiming = None
        self._again = False
        # An unavailable store is logged once, by the store (its outage).
        if not failure.check(StoreUnavailable):
            self.log.warn('Claiming completion calls failed; trying again '
                          'shortly: {error}', error=failure.getErrorMessage())

    def _make(self, row):
        try:
            d = self.call(row['url'], self.method, row['job'],
                          row['status'])
        except Exception:
            d = defer.fail()
        # Cut off at the time limit (whatever the cancelled call then
        # fails with, it failed for want of an answer).
        late = []
        timer = self.clock.callLater(
            self.timeout, lambda: late.append(True) or d.cancel())

        def ended(result):
            if timer.active():
                timer.cancel()
            if late:
                return f'no answer within {self.timeout:g} s'
            return None if not isinstance(result, failure.Failure) \
                else describe(result)
        d.addBoth(ended)
        d.addCallback(self._record, row)
        d.addErrback(lambda failure: self.log.failure(
            'Recording the completion call of job {id} failed; it is made '
            'again after its lease', failure, id=row['job']))
        d.addBoth(self._done, row)
        self.inFlight[row['job']] = d

    @defer.inlineCallbacks
    def _record(self, why, row):
        due = yield self.write(self.service.completions.recordNotification,
                               row, why, self.clock.seconds())
        if why is None:
            self.log.info('Job {id} ended {status}: told {url}',
                          id=row['job'], status=row['status'],
                          url=row['url'])
        elif due is None:
            self.log.warn('Job {id} ended {status}: {url} could not be told '
                          '({why}); given up', id=row['job'],
                          status=row['status'], url=row['url'], why=why)
        elif due is not False:
            self.log.info('Job {id} ended {status}: {url} could not be told '
                          '({why}); trying again in {delay:.0f} s',
                          id=row['job'], status=row['status'],
                          url=row['url'], why=why,
                          delay=due - self.clock.seconds())

    def _done(self, result, row):
        self.inFlight.pop(row['job'], None)
        self._tick()

    def _tick(self):
        """Claim when a call is due (a retry, another server's end)."""
        if self._claiming is not None or \
                len(self.inFlight) >= self.concurrency:
            return
        d = self.read(self.service.completions.nextNotification)

        def due(when):
            if when is not None and when <= self.clock.seconds():
                self.wake()
        d.addCallback(due)
        d.addErrback(self._lookingFailed)
        return d

    def _lookingFailed(self, failure):
        if not failure.check(StoreUnavailable):  # see _claimFailed
            self.log.warn('Looking for completion calls failed: {error}',
                          error=failure.getErrorMessage())

    def startService(self):
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loopDone = self._loop.start(self.interval, now=True)

    @defer.inlineCallbacks
    def stopService(self):
        """Claim no more; let the calls being made end (each within its
        time limit) and be recorded."""
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
            yield self._loopDone
        self._loop = None
        pending = list(self.inFlight.values())
        if self._claiming is not None:
            pending.append(self._claiming)
        yield defer.DeferredList(pending, consumeErrors=True)
