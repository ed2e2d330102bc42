"""A claim's steps on PostgreSQL (see ``remotetask.store.claiming``)."""

import json

from remotetask.store.claiming import SQLClaimSteps


class PostgreSQLClaim(SQLClaimSteps):
    """A claim's steps on one connection, inside its transaction, with
    the store's ``queries``."""

    def withWork(self, tasks, scheduled):
        return [row['task'] for row in self._rows(
            'limited_with_work', tasks=tasks, now=self.claimed['now'],
            scheduled=scheduled)]

    def limitState(self, tasks):
        # The lock first, in a statement of its own (see
        # claim_limited_tasks); a row missing is made, then locked.
        rows = self._rows('claim_limited_tasks', tasks=tasks)
        if len(rows) < len(tasks):
            self.connection.execute(self.queries['add_limited_tasks'],
                                    dict(tasks=tasks))
            rows = self._rows('claim_limited_tasks', tasks=tasks)
        starts = {row['task']: row['starts'] for row in rows}
        running = {row['task']: row['running']
                   for row in self._rows('running_counts', tasks=tasks)}
        return running, starts

    def claimBatch(self, kind, allowed, limit):
        tasks = sorted(allowed)
        found = self._rows(f'claim_{kind}_jobs', **self.claimed, tasks=tasks,
                           allowed=[allowed[task] for task in tasks],
                           limit=limit)
        return self._inOrder(kind, found)

    def saveStarts(self, logs):
        tasks = sorted(logs)
        self.connection.execute(self.queries['save_rate_starts'], dict(
            tasks=tasks, starts=[json.dumps(logs[task]) for task in tasks]))
