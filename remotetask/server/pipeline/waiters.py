"""Clients waiting for jobs to end (``wait``, ``addAndWait``).

A waiter is answered the moment its job's end is committed: the service
tells of every end (``TaskService.onEnd``), whether this server recorded
it, a client cancelled the job, or, on a shared store, another server did
(its notification). Nothing polls per waited job. Only where ends can go
unheard (a shared store whose notifications dropped for a while) are the
waited jobs' statuses read, with the other watchers' in one read
(``catchup.CatchUp``), which tells ``caughtUp`` what it found.

``maxWaiters`` bounds how many may wait at once; beyond it a wait is
refused at once (``ServerBusy``) rather than held.
"""

from twisted.internet import defer

from remotetask.core.status import FINISHED
from remotetask.errors import ServerBusy


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

    def __init__(self, service, read, clock, maxWaiters=10000):
        self.service = service
        self.read = read
        self.clock = clock
        self.maxWaiters = maxWaiters
        self._waiting = {}
        self._count = 0

    def __len__(self):
        return self._count

    @defer.inlineCallbacks
    def wait(self, jobid, timeout, fresh=False):
        """``fresh``: the job was added, new, by the write whose answer
        this is called from, on the reactor thread: it had not ended at
        that commit, and no end of it can have been told since (ends are
        told on this thread, after their own commits), so its status is
        not read (``addAndWait``: a read of the store pool less)."""
        if self._count >= self.maxWaiters:
            raise ServerBusy(
                f'{self.maxWaiters} clients are already waiting for jobs on '
                'this server (--max-waiters); try again shortly.')
        # Listen before looking, so that an end between the two is heard.
        waiter = defer.Deferred()
        self._waiting.setdefault(jobid, []).append(waiter)
        self._count += 1
        if fresh and timeout > 0:
            status = None
        else:
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

    def watched(self):
        """The jobs waited for (``catchup.CatchUp``)."""
        return list(self._waiting)

    def caughtUp(self, statuses, jobids):
        """``statuses`` read for ``jobids``: answer the waiters of those
        that ended, or are gone (they read NoSuchJob)."""
        for jobid in jobids:
            status = statuses.get(jobid)
            if jobid in self._waiting and (status is None
                                           or status in FINISHED):
                self.ended(jobid, status)

    def releaseAll(self):
        """Answer every waiter now (the server stops): each reads its
        job's status."""
        for jobid in list(self._waiting):
            self.ended(jobid, None)
