"""Jobs that wait for other jobs, in the memory store.

The edges and counts that ``remotetask.store.waiting`` reads and writes,
kept as the SQL stores keep them in their tables (``dependencies``,
``waits``), each change through the store's undo log so that it rolls
back with the jobs.
"""

from remotetask.core.status import FINISHED, QUEUED
from remotetask.store.waiting import WaitSteps


class MemoryWaitSteps(WaitSteps):
    """The steps on ``store`` (a ``MemoryJobStore``), inside its
    transaction."""

    def __init__(self, store):
        self.store = store

    def states(self, ids):
        rows = self.store._rows
        return {jobid: dict(id=jobid, task=rows[jobid]['task'],
                            status=rows[jobid]['status'],
                            schedule=rows[jobid]['schedule'])
                for jobid in ids if jobid in rows}

    def insertWait(self, jobid, after, ended, pending, onFailure,
                   passResults):
        store, ended = self.store, set(ended)
        for dependency in after:
            store._setEdge(jobid, dependency, dependency in ended)
        store._keep(store._waits, jobid)
        store._waits[jobid] = dict(pending=pending, onfailure=onFailure,
                                   **{'pass': passResults})

    def countEnd(self, ids):
        store, counted = self.store, []
        for dependency in ids:
            for jobid, ended in sorted(store._dependents.get(
                    dependency, {}).items()):
                if not ended:
                    store._setEdge(jobid, dependency, True)
                    counted.append((jobid, dependency))
        return counted

    def countDown(self, jobid, n):
        store = self.store
        wait = store._waits.get(jobid)
        if wait is None:
            return None
        store._keep(store._waits, jobid)
        wait['pending'] -= n
        return dict(wait, job=jobid)

    def results(self, jobid):
        rows = self.store._rows
        return rows[jobid]['input'], [
            (i, rows[i]['status'], rows[i]['output'])
            for i in sorted(self.store._dependencies.get(jobid, ()))]

    def _waiting(self, jobid):
        row = self.store._rows.get(jobid)
        if row is None or row['status'] != 'waiting':
            return None
        self.store._touch(jobid)
        return row

    def queue(self, jobid, input, event):
        row = self._waiting(jobid)
        if row is None:
            return False
        row['status'] = str(QUEUED)
        if input is not None:
            row['input'] = input
        self.store._event(row, event)
        self.store._index(row)
        return True

    def end(self, jobid, status, error, now, event):
        row = self._waiting(jobid)
        if row is None:
            return False
        row.update(status=str(status), error=error, completed=now)
        self.store._event(row, event)
        self.store._owe(row)
        return True


class MemoryGraph:
    """The graph's tables and reads, for ``MemoryJobStore``, which provides
    ``transaction``, ``_lock``, ``_rows``, ``_keep`` and ``_event``."""

    def _initGraph(self):
        # dependent -> {dependency: ended}, and dependency -> {dependent:
        # ended}: both directions of each edge, each looked up by key.
        self._dependencies = {}
        self._dependents = {}
        # dependent -> {pending, onfailure, pass}.
        self._waits = {}

    def _setEdge(self, jobid, dependency, ended):
        for table, one, other in ((self._dependencies, jobid, dependency),
                                  (self._dependents, dependency, jobid)):
            self._keep(table, one)
            table.setdefault(one, {})[other] = ended

    def _steps(self):
        return MemoryWaitSteps(self)

    def _withSteps(self, work):
        with self.transaction():
            return work(self._steps())

    def _graphRows(self, ids, limit):
        return [dict(id=i, task=self._rows[i]['task'],
                     status=self._rows[i]['status'])
                for i in sorted(ids)[:limit] if i in self._rows]

    def dependencies(self, jobid, limit=1000):
        with self._lock:
            return self._graphRows(self._dependencies.get(jobid, ()), limit)

    def dependents(self, jobid, limit=1000):
        with self._lock:
            return self._graphRows(self._dependents.get(jobid, ()), limit)

    def _needed(self, jobid):
        """Whether an unfinished job waits for ``jobid`` (retention keeps
        it)."""
        return any(self._rows[i]['status'] not in FINISHED
                   for i in self._dependents.get(jobid, ())
                   if i in self._rows)

    def _forgetGraph(self, jobid):
        """``jobid`` is deleted: its edges and count go with it."""
        for table, other in ((self._dependencies, self._dependents),
                             (self._dependents, self._dependencies)):
            for peer in table.get(jobid, ()):
                self._keep(other, peer)
                other.get(peer, {}).pop(jobid, None)
            self._keep(table, jobid)
            table.pop(jobid, None)
        self._keep(self._waits, jobid)
        self._waits.pop(jobid, None)

