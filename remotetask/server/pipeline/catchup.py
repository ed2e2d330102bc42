"""Catching up with ends that went unheard: one read for every part that
listens for ends.

The waiters and the cancel watch hear of ends as they are committed
(``TaskService.onEnd``; on a shared store, other servers' notifications
too). Where an end can go unheard (a shared store whose notifications
dropped for a while, or one that said a job ended without saying how),
the statuses of the jobs they watch are read, in one call for all of
them, and each part is told what was found. This is the only place that
reads for them.
"""

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.errors import StoreUnavailable


class CatchUp:
    """``catchUp(jobids=None)``: read the statuses of ``jobids`` (by
    default, every job that one of ``watchers`` watches) through
    ``read(service.reads.statuses, ids)``, then call each watcher's
    ``caughtUp(statuses, ids)``; a Deferred that fires when done. Each
    watcher names its jobs with ``watched()``.

    One read at a time: jobs asked for while one is in flight are read
    right after it, together."""

    log = Logger()

    def __init__(self, service, read, watchers):
        self.service = service
        self.read = read
        self.watchers = watchers
        self._reading = None
        # What to read once the read in flight is done: a set of ids, or
        # ALL; None for nothing.
        self._next = None

    def __call__(self, jobids=None):
        wanted = ALL if jobids is None else set(jobids)
        if self._reading is not None:
            self._next = ALL if ALL in (wanted, self._next) else (
                wanted | (self._next or set()))
            return self._reading
        ids = sorted({jobid for watcher in self.watchers
                      for jobid in watcher.watched()}
                     if wanted is ALL else wanted)
        if not ids:
            return defer.succeed(None)
        d = self.read(self.service.reads.statuses, ids)
        d.addCallback(self._found, ids)
        d.addErrback(self._failed)
        self._reading = done = defer.Deferred()
        d.addBoth(self._readAgain, done)
        return done

    def _found(self, statuses, ids):
        for watcher in self.watchers:
            watcher.caughtUp(statuses, ids)

    def _failed(self, failure):
        # An unavailable store is logged once, by the store (its outage).
        if not failure.check(StoreUnavailable):
            self.log.warn('Catching up with the ends of jobs failed: '
                          '{error}', error=failure.getErrorMessage())

    def _readAgain(self, _, done):
        self._reading = None
        wanted, self._next = self._next, None
        if wanted is None:
            done.callback(None)
        else:
            self(None if wanted is ALL else wanted).chainDeferred(done)


#: Every job watched (what ``catchUp()`` reads by default).
ALL = 'all'
