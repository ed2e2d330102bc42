"""Clients waiting for jobs to end (``wait``, ``addAndWait``).

A waiter is answered the moment its job's end is committed: the service
tells of every end (``TaskService.onEnd``), whether this server recorded
it, a client cancelled the job, or, on a shared store, another server did
(its notification). Nothing polls per waited job. Only where ends can go
unheard (a shared store whose notifications dropped for a while) does one
read of all the waited jobs' statuses, every ``pollInterval`` seconds and
when told that notifications were missed, catch up.

``maxWaiters`` bounds how many may wait at once; beyond it a wait is
refused at once (``ServerBusy``) rather than held.
"""

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.core.status import FINISHED
from remotetask.errors import ServerBusy, StoreUnavailable


def _cancelling(result, timer):
    if timer.active():
        timer.cancel()
    return result


class Waiters:
    """``wait(jobid, timeout)``: a Deferred of the job's status once it
    has ended, or after ``timeout`` seconds, whichever comes first.

    ``read(function, *args)`` runs a service call off the reactor thread
    (the read pool); ``service.reads.getStatus`` and ``.statuses``
    are read through it.
    """

    log = Logger()

    def __init__(self, service, read, clock, maxWaiters=10000,
                 pollInterval=None):
        self.service = service
        self.read = read
        self.clock = clock
        self.maxWaiters = maxWaiters
        self.pollInterval = pollInterval
        self._waiting = {}
        self._count = 0
        self._polling = False

    def __len__(self):
        return self._count

    @defer.inlineCallbacks
    def wait(self, jobid, timeout):
        if self._count >= self.maxWaiters:
            raise ServerBusy(
                f'{self.maxWaiters} clients are already waiting for jobs on '
                'this server (--max-waiters); try again shortly.')
        # Listen before looking, so that an end between the two is heard.
        waiter = defer.Deferred()
        self._waiting.setdefault(jobid, []).append(waiter)
        self._count += 1
        try:
            status = yield self.read(self.service.reads.getStatus, jobid)
        except BaseException:
            self._forget(jobid, waiter)
            raise
        if not waiter.called:
            if status in FINISHED or timeout <= 0:
                self._forget(jobid, waiter)
                return status
            timer = self.clock.callLater(timeout, self._timeUp, jobid,
                                         waiter)
            waiter.addBoth(_cancelling, timer)
        ended = yield waiter
        if ended is None:
            # Timed out, or ended with a status not told: read it.
            ended = yield self.read(self.service.reads.getStatus, jobid)
        return ended

    def _timeUp(self, jobid, waiter):
        if self._forget(jobid, waiter):
            waiter.callback(None)

    def _forget(self, jobid, waiter):
        waiters = self._waiting.get(jobid, [])
        if waiter not in waiters:
            return False
        waiters.remove(waiter)
        if not waiters:
            del self._waiting[jobid]
        self._count -= 1
        return True

    def ended(self, jobid, status):
        """``jobid`` ended with ``status`` (None: unknown, read it)."""
        for waiter in self._waiting.pop(jobid, []):
            self._count -= 1
            waiter.callback(status)

    def catchUp(self):
        """Read every waited job's status at once and answer those that
        ended (for ends that may have gone unheard)."""
        if self._polling or not self._waiting:
            return defer.succeed(None)
        self._polling = True
        d = self.read(self.service.reads.statuses, list(self._waiting))

        def found(statuses):
            for jobid in list(self._waiting):
                status = statuses.get(jobid)
                if status is None or status in FINISHED:
                    self.ended(jobid, status)
        d.addCallback(found)
        d.addErrback(self._catchUpFailed)
        d.addBoth(self._polled)
        return d

    def _catchUpFailed(self, failure):
        # An unavailable store is logged once, by the store (its outage).
        if not failure.check(StoreUnavailable):
            self.log.warn('Catching up with waited jobs failed: {error}',
                          error=failure.getErrorMessage())

    def _polled(self, result):
        self._polling = False
        return result

    def releaseAll(self):
        """Answer every waiter now (the server stops): each reads its
        job's status."""
        for jobid in list(self._waiting):
            self.ended(jobid, None)
