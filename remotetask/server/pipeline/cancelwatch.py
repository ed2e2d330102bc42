"""Stopping the runs of jobs cancelled while they were here.

A job claimed by this server may be running in a worker, waiting in a
worker's inbox, or held by the feeder when a client cancels it, on this
server or on another one sharing the store. The cancel itself is a
compare-and-set in the store (and clears the claim, so a late end is not
recorded); this part makes the run stop too, at the moment the service
tells of the end (``TaskService.onEnd``). On a shared store that ended a
job with no status in its notification, or whose notifications may have
been missed, one read of all the jobs here catches up (``catchUp``).
"""

from twisted.internet import defer
from twisted.logger import Logger

from remotetask.core.status import CANCELLED
from remotetask.errors import StoreUnavailable

CANCELLED_WHILE_RUNNING = 'The job was cancelled while it ran.'


class CancelWatch:
    """Calls ``stop(run)`` for runs in ``table`` (the in-flight table)
    whose jobs were cancelled; the run's ``cancelled`` flag says it was
    asked (once)."""

    log = Logger()

    def __init__(self, service, read, table, stop):
        self.service = service
        self.read = read
        self.table = table
        self.stop = stop
        self._polling = False

    def ended(self, jobid, status):
        """The service (or another server) says ``jobid`` ended."""
        if jobid not in self.table:
            return
        if status == CANCELLED:
            self._stop(jobid)
        elif status is None:
            self.catchUp([jobid])

    def _stop(self, jobid):
        run = self.table.get(jobid)
        if run is not None and not run.cancelled:
            run.cancelled = True
            self.stop(run)

    def _catchUpFailed(self, failure):
        # An unavailable store is logged once, by the store (its outage).
        if not failure.check(StoreUnavailable):
            self.log.warn('Looking for cancelled jobs failed: {error}',
                          error=failure.getErrorMessage())

    def catchUp(self, jobids=None):
        """Read the statuses of the jobs here (or ``jobids``) in one call
        and stop those cancelled."""
        jobids = list(self.table.runs if jobids is None else jobids)
        if self._polling or not jobids:
            return defer.succeed(None)
        self._polling = True
        d = self.read(self.service.reads.statuses, jobids)

        def found(statuses):
            for jobid, status in statuses.items():
                if status == CANCELLED:
                    self._stop(jobid)
        d.addCallback(found)
        d.addErrback(self._catchUpFailed)

        def polled(result):
            self._polling = False
            return result
        return d.addBoth(polled)
