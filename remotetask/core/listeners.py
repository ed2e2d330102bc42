"""Who is told when jobs may be claimed or have ended: the one path of a
wake-up.

Listeners hear about a change only once it is committed
(``IJobStore.afterCommit``), so that whoever they wake can read what they
were told about. Every role of the service that changes jobs (the
client's writes, running, the store's release of waiting jobs) tells
through one ``Listeners``.
"""

from remotetask.core.status import QUEUED, Status


class Listeners:
    """The callbacks of one service, told after ``store``'s commits."""

    def __init__(self, store):
        self.store = store
        self._addListeners = []
        self._pendingListeners = []
        self._endListeners = []
        self._endsListeners = []
        store.watchWaits(self.waitsChanged)

    def onAdd(self, callback):
        """Call ``callback()`` after every committed change that may have
        made a job claimable (an add, a start, a retry), e.g. to wake a
        dispatcher. It is called in the thread that made the change."""
        self._addListeners.append(callback)

    def onAddPending(self, callback):
        """Call ``callback()`` inside every transaction that may make a
        job claimable, before it commits, in its thread: for a caller that
        claims within that same transaction (the daemon's feeder, whose
        claim then sees the job and costs no transaction of its own). The
        change may yet roll back; ``onAdd`` still tells of it once
        committed."""
        self._pendingListeners.append(callback)

    def onEnd(self, callback):
        """Call ``callback(jobid, status)`` after a job's end is committed:
        completed, error or cancelled (a running job too). It is called in
        the thread that made the change."""
        self._endListeners.append(callback)

    def onEnds(self, callback):
        """Call ``callback(ends)`` after every committed change that ended
        jobs, with all of them (``[(jobid, status)]``, as ``onEnd``
        tells each): for a caller that takes a batch's ends at once (the
        daemon's dispatcher, told of a hundred ends per write)."""
        self._endsListeners.append(callback)

    def added(self):
        """A job may have become claimable: tell those waiting for the
        commit once committed, and those claiming in the transaction now."""
        for callback in self._pendingListeners:
            callback()
        self.store.afterCommit(self._tellAdded)

    def ended(self, jobid, status):
        """``jobid`` ended as ``status``: tell once committed."""
        self.endedMany([(jobid, status)])

    def endedMany(self, ends):
        """The jobs ``ends`` (``[(jobid, status)]``) ended: tell once
        committed, in order (one wait for the commit for them all)."""
        if ends:
            self.store.afterCommit(lambda: self._tellEnded(ends))

    def waitsChanged(self, changes):
        """The store released or ended waiting jobs (``[(id, status)]``,
        committed already)."""
        ends = []
        for jobid, status in changes:
            if status == QUEUED:
                if ends:
                    self._tellEnded(ends)
                    ends = []
                self._tellAdded()
            else:
                ends.append((jobid, Status(status)))
        if ends:
            self._tellEnded(ends)

    def _tellAdded(self):
        for callback in self._addListeners:
            callback()

    def _tellEnded(self, ends):
        if self._endListeners:
            for jobid, status in ends:
                for callback in self._endListeners:
                    callback(jobid, status)
        for callback in self._endsListeners:
            callback(ends)
