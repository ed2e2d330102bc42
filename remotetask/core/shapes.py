"""The adds of ``TaskService`` that may make jobs wait: in batches
(``addMany``, ``addEach``), and the shapes (``addChain``, ``addGroup``);
and what a job waits for (``getDependencies``).

A mixin of ``TaskService``, which provides ``store``, ``maxAfter``,
``maxSteps``, ``_checkTask``, ``_checkNotify``, ``_addedEvent`` and the
listeners; the rules are in ``remotetask.core.workflows``.
"""

import time

from remotetask.core import workflows
from remotetask.core.status import QUEUED, Status
from remotetask.errors import RemoteTaskError


class WaitingAdds:
    """See the module docstring."""

    def _planned(self, planned, served):
        task, planned = planned
        self._checkTask(task, served)
        self._checkNotify(planned.entry.notify)
        return planned

    def isServed(self, task):
        """Whether a job of ``task`` may be added (some server serves
        it)."""
        try:
            self._checkTask(task)
        except RemoteTaskError:
            return False
        return True

    def addMany(self, requests):
        """Add jobs in one transaction; return their ids. Each request is
        ``(task, input)``, ``(task, input, startLater)`` or ``(task, input,
        options)``, ``options`` a dict of ``add``'s keyword arguments.
        Nothing is added if any of them is refused."""
        now, served = time.time(), {}
        return self._store([self._planned(workflows.plan(
            request, now, maxAfter=self.maxAfter), served)
            for request in requests], now)

    def _store(self, planned, now, refused=None):
        ids = workflows.storePlanned(self, planned, now,
                                     self._addedEvent(now), refused) \
            if planned else []
        if any(jobid is not None for jobid in ids):
            self._added()
        return ids

    def addChain(self, steps):
        """Add a chain in one transaction: each step (``[task, input]``
        or ``[task, input, options]``) waits for the one before it, its
        input joined to that one's result (``passResults``); return the
        ids in order. Nothing is added if a step is refused."""
        now, served = time.time(), {}
        return self._store([self._planned(item, served) for item in
                            workflows.chainPlan(
                                steps, now, self.maxSteps, self.maxAfter)],
                           now)

    def addGroup(self, steps, then=None):
        """Add a group in one transaction: the steps, and ``then`` (a
        step, or None), which waits for them all with their results
        (``passResults``); return the ids in order, ``then``'s last."""
        now, served = time.time(), {}
        return self._store([self._planned(item, served) for item in
                            workflows.groupPlan(
                                steps, then, now, self.maxSteps,
                                self.maxAfter)], now)

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

    def addEach(self, requests):
        """Add jobs (requests as ``addMany`` takes them), the valid ones in
        one transaction; return, in order, each one's id or the
        ``RemoteTaskError`` that refused it (for ``system.multicall``)."""
        now, served = time.time(), {}
        results, planned, slots = [], [], []
        for request in requests:
            try:
                planned.append(self._planned(workflows.plan(
                    request, now, maxAfter=self.maxAfter), served))
            except RemoteTaskError as error:
                results.append(error)
            else:
                slots.append(len(results))
                results.append(None)
        refused = {}
        for index, jobid in enumerate(self._store(planned, now, refused)):
            results[slots[index]] = refused.get(index, jobid)
        return results
