"""Stopping the runs of jobs cancelled while they were here.

A job claimed by this server may be running in a worker, waiting in a
worker's inbox, or held by the feeder when a client cancels it, on this
server or on another one sharing the store. The cancel itself is a
compare-and-set in the store (and clears the claim, so a late end is not
recorded); this part makes the run stop too, at the moment the service
tells of the end (``TaskService.onEnd``), or when a read of the statuses
of the jobs here finds it (``catchup.CatchUp``, where ends may have gone
unheard).
"""

from remotetask.core.status import CANCELLED

CANCELLED_WHILE_RUNNING = 'The job was cancelled while it ran.'


class CancelWatch:
    """Calls ``stop(run)`` for runs in ``table`` (the in-flight table)
    whose jobs were cancelled; the run's ``cancelled`` flag says it was
    asked (once)."""

    def __init__(self, table, stop):
        self.table = table
        self.stop = stop

    def ended(self, jobid, status):
        """The service (or another server) says ``jobid`` ended."""
        if status == CANCELLED:
            self._stop(jobid)

    def watched(self):
        """The jobs here (``catchup.CatchUp``)."""
        return list(self.table.runs)

    def caughtUp(self, statuses, jobids):
        """``statuses`` read for ``jobids``: stop the cancelled."""
        for jobid in jobids:
            if statuses.get(jobid) == CANCELLED:
                self._stop(jobid)

    def _stop(self, jobid):
        run = self.table.get(jobid)
        if run is not None and not run.cancelled:
            run.cancelled = True
            self.stop(run)
