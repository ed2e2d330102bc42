"""A client's writes, as the XML-RPC and the JSON faces make them: in
the name of the request's ``Principal`` (None on an open server).

Each method decides whether the caller may write it
(``remotetask.core.permissions``), checks that the jobs an add waits for
are ones the caller may see, makes the write through ``JobWrites``
(which wakes whoever waits for a job to claim), and turns a change the
job's status refuses into ``NotAllowed`` saying why. It runs in one call
of the server's writer, so that the checks and the write share one
transaction; a refusal writes nothing, and fails that call alone.
"""

from remotetask.core.longwrites import large, manyAdds, mayTakeLong
from remotetask.core.permissions import (
    byOf, checkAdd, checkChange, hiddenWaits, ownerOf, refuseHiddenWaits,
    scoped, seesAll, waitedFor)
from remotetask.core.status import (
    CANCELLABLE, CRONJOB, DELAYED, ERROR, PROCESSING, STARTLATER, Status)
from remotetask.errors import NoSuchJob, NotAllowed, RemoteTaskError

#: The changes a client may ask for: what the faces call them, the
#: words for them (doing, done), the ``JobWrites`` method, and the
#: statuses that allow them.
CHANGES = {
    'start': ('starting', 'started', 'startJob', frozenset({STARTLATER})),
    'cancel': ('cancelling', 'cancelled', 'cancelJob',
               frozenset(CANCELLABLE | {PROCESSING})),
    'retry': ('retrying', 'retried', 'retry', frozenset({ERROR})),
    'run': ('running now', 'run now', 'runNow',
            frozenset({CRONJOB, DELAYED})),
}


class ClientWrites:
    """The writes of ``writes`` (a ``JobWrites``) in a caller's name;
    ``reads`` (a ``JobReads``) tells which jobs the caller may see."""

    def __init__(self, writes, reads):
        self.writes = writes
        self.reads = reads

    def _refuseHidden(self, caller, keywordsList):
        """``NoSuchJob``, as for an unknown id, if an add's ``after``
        names a job ``caller`` may not see."""
        ids = waitedFor(keywordsList)
        if ids and not seesAll(caller):
            refuseHiddenWaits(self.reads, caller, ids)

    @mayTakeLong(when=large)
    def add(self, caller, task, input=None, keywords=None):
        """Add a job of ``task`` (``keywords``: ``add``'s options) for
        ``caller``; its id."""
        keywords = keywords or {}
        checkAdd(caller, task)
        if keywords.get('after'):
            self._refuseHidden(caller, [keywords])
        return self.writes.add(task, input, owner=ownerOf(caller),
                               **keywords)

    @mayTakeLong(when=manyAdds)
    def addEach(self, caller, requests):
        """For ``system.multicall``: each of ``requests`` (``(task, input,
        keywords)``, or the ``RemoteTaskError`` that refused it already)
        added if ``caller`` may, the valid ones in one transaction; in
        order, each one's id or the error that refused it."""
        results, valid = list(requests), []
        for index, request in enumerate(requests):
            if isinstance(request, RemoteTaskError):
                continue
            try:
                checkAdd(caller, request[0])
            except RemoteTaskError as error:
                results[index] = error
            else:
                valid.append(index)
        adding = valid if seesAll(caller) else self._seen(
            caller, requests, valid, results)
        answers = self.writes.addEach([requests[index] for index in adding],
                                      ownerOf(caller))
        for index, answer in zip(adding, answers):
            results[index] = answer
        return results

    def _seen(self, caller, requests, valid, results):
        """Of the ``valid`` positions of ``requests``, those whose jobs
        waited for ``caller`` may see; the others' results become the
        ``NoSuchJob`` an unknown id gets."""
        waited = waitedFor(requests[index][2] for index in valid)
        hidden = set(hiddenWaits(self.reads, caller, waited))
        seen = []
        for index in valid:
            unseen = sorted(hidden.intersection(
                requests[index][2].get('after') or ()))
            if unseen:
                results[index] = NoSuchJob.withId(unseen[0])
            else:
                seen.append(index)
        return seen

    def _checkSteps(self, caller, steps):
        for task, _, _ in steps:
            checkAdd(caller, task)
        self._refuseHidden(caller, [keywords for _, _, keywords in steps])

    @mayTakeLong(when=large)
    def addChain(self, caller, steps):
        """Add a chain of ``steps`` (``[task, input, keywords]``) for
        ``caller``; the ids in order."""
        self._checkSteps(caller, steps)
        return self.writes.addChain(steps, owner=ownerOf(caller))

    @mayTakeLong(when=large)
    def addGroup(self, caller, steps, then=None):
        """Add a group of ``steps`` and its ``then`` (a step or None) for
        ``caller``; the ids in order, ``then``'s last."""
        self._checkSteps(caller, steps + ([then] if then else []))
        return self.writes.addGroup(steps, then, owner=ownerOf(caller))

    def change(self, caller, action, jobid):
        """Make the change ``action`` (one of ``CHANGES``) to job
        ``jobid`` in the name of ``caller``, who must be allowed to change
        jobs and see this one; the job's status after it. A job whose
        status does not allow it is refused with ``NotAllowed``, which
        says its status and the statuses that allow ``action``."""
        doing, done, method, allowed = CHANGES[action]
        checkChange(caller, f'{doing} job {jobid!r}')
        view = scoped(self.reads, caller)
        if view is not self.reads:
            view.getRow(jobid)
        if not getattr(self.writes, method)(jobid, by=byOf(caller)):
            raise NotAllowed.inStatus(jobid, self.reads.getStatus(jobid),
                                      done, allowed)
        return Status(self.reads.getStatus(jobid))
