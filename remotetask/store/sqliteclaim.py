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
        found = self._rows(f'claim_{kind}_jobs', **self.claimed,
                           allowed=json.dumps(allowed), limit=limit)
        return self._inOrder(kind, found)

    def saveStarts(self, logs):
        for task, starts in logs.items():
            self.connection.execute(self.queries['save_rate_starts'], dict(
                task=task, starts=json.dumps(starts)))
