"""The shapes of jobs that wait for others (``addChain``, ``addGroup``),
and what a job waits for (``getDependencies``), for ``TaskService``.

A mixin of ``TaskService``, which provides ``store``, ``maxAfter``,
``maxSteps``, ``_checkTask``, ``_checkNotify``, ``_store`` (which adds
planned jobs in one transaction) and the listeners; the rules are in
``remotetask.core.workflows``.
"""

import time

from remotetask.core import workflows
from remotetask.core.status import QUEUED, Status
from remotetask.errors import RemoteTaskError


class WaitingAdds:
    """See the module docstring."""

    def _checked(self, item, served, owner=None):
        """The ``Planned`` job of ``item`` (``(task, planned)``), its task
        and completion URL checked, added by ``owner``; ``served``: the
        cluster's tasks, kept between the checks of one batch."""
        task, planned = item
        self._checkTask(task, served)
        self._checkNotify(planned.entry.notify)
        if owner is not None:
            planned = planned._replace(
                entry=planned.entry._replace(owner=owner))
        return planned

    def isServed(self, task):
        """Whether a job of ``task`` may be added (some server serves
        it)."""
        try:
            self._checkTask(task)
        except RemoteTaskError:
            return False
        return True

    def addChain(self, steps, owner=None):
        """Add a chain in one transaction: each step (``[task, input]``
        or ``[task, input, options]``) waits for the one before it, its
        input joined to that one's result (``passResults``); return the
        ids in order. Nothing is added if a step is refused. ``owner``:
        who adds it, as ``add`` takes it."""
        now, served = time.time(), {}
        return self._store([self._checked(item, served, owner) for item in
                            workflows.chainPlan(
                                steps, now, self.maxSteps, self.maxAfter)],
                           now, owner=owner)

    def addGroup(self, steps, then=None, owner=None):
        """Add a group in one transaction: the steps, and ``then`` (a
        step, or None), which waits for them all with their results
        (``passResults``); return the ids in order, ``then``'s last."""
        now, served = time.time(), {}
        return self._store([self._checked(item, served, owner) for item in
                            workflows.groupPlan(
                                steps, then, now, self.maxSteps,
                                self.maxAfter)], now, owner=owner)

    def getDependencies(self, jobid, limit=1000):
        """``(dependencies, dependents)`` of ``jobid``: ``[{id, task,
        status}]`` of the jobs it waits (or waited) for, and of those that
        wait (or waited) for it, at most ``limit`` of each."""
        self.store.get(jobid)
        return (self.store.dependencies(jobid, limit),
                self.store.dependents(jobid, limit))

    def _waitsChanged(self, changes):
        """The store released or ended waiting jobs (committed)."""
        for jobid, status in changes:
            if status == QUEUED:
                self._tellAdded()
            else:
                self._tellEnded(jobid, Status(status))
