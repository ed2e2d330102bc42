"""A claim's steps on SQLite (see ``remotetask.store.claiming``)."""

import json

from remotetask.store.claiming import SQLClaimSteps


class SQLiteClaim(SQLClaimSteps):
    """A claim's steps on one connection, inside its transaction, with the
    store's ``queries``; JSON arrays and objects carry the tasks and how
    many of each to take."""

    _list = staticmethod(json.dumps)

    def limitState(self, tasks):
        tasks = json.dumps(tasks)
        running = {row['task']: row['running']
                   for row in self._rows('running_counts', tasks=tasks)}
        starts = {row['task']: json.loads(row['starts'])
                  for row in self._rows('rate_starts', tasks=tasks)}
        return running, starts

    def claimBatch(self, kind, allowed, limit):
        name, params = self._batchQuery(kind, allowed, limit)
        found = self._rows(name, **self.claimed, **params)
        return self._inOrder(kind, found)

    @staticmethod
    def _batchQuery(kind, allowed, limit):
        """``(name, parameters)`` of the statement that claims the batch:
        for queued jobs of one task, or of tasks that no limit holds back
        (most claims), one that ranks nothing within a task: ranking costs
        SQLite more than the seeks, on every claim; for one job (every
        task allows it), one that seeks each task's first job."""
        if kind == 'queued' and limit == 1:
            return 'claim_queued_first', dict(tasks=json.dumps(list(allowed)))
        if kind == 'queued' and len(allowed) == 1:
            (task, count), = allowed.items()
            return 'claim_queued_task', dict(task=task,
                                             limit=min(count, limit))
        if kind == 'queued' and min(allowed.values()) >= limit:
            return 'claim_queued_any', dict(tasks=json.dumps(list(allowed)),
                                            limit=limit)
        return f'claim_{kind}_jobs', dict(allowed=json.dumps(allowed),
                                          limit=limit)

    def saveStarts(self, logs):
        for task, starts in logs.items():
            self.connection.execute(self.queries['save_rate_starts'], dict(
                task=task, starts=json.dumps(starts)))
