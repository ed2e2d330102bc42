"""A claim's steps on PostgreSQL (see ``remotetask.store.claiming``)."""

import json

from remotetask.store.claiming import ClaimSteps

#: The order claimed rows are handed out in (RETURNING has none of its
#: own): delayed jobs by due time, queued ones by priority, then id, as
#: the queries chose.
_CLAIM_ORDER = {'delayed': lambda row: (row['due'], row['id']),
                'queued': lambda row: (-row['priority'], row['id'])}


class PostgreSQLClaim(ClaimSteps):
    """A claim's steps on one connection, inside its transaction, with
    the store's ``queries``."""

    def __init__(self, connection, queries, claimed):
        self.connection = connection
        self.queries = queries
        self.claimed = claimed

    def _rows(self, name, **params):
        return self.connection.execute(self.queries[name], params).fetchall()

    def claimableTasks(self):
        return [row['task'] for row in self._rows('claimable_tasks')]

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

    def cronRun(self, tasks, nextDue):
        now = self.claimed['now']
        row = self.connection.execute(self.queries['due_cron_job'], dict(
            now=now, tasks=tasks)).fetchone()
        if row is None:
            return None
        return self.connection.execute(self.queries['claim_cron_job'], dict(
            self.claimed, id=row['id'], due=row['due'],
            next=nextDue(row, now))).fetchone()

    def claimBatch(self, kind, allowed, limit):
        tasks = sorted(allowed)
        found = self._rows(f'claim_{kind}_jobs', **self.claimed, tasks=tasks,
                           allowed=[allowed[task] for task in tasks],
                           limit=limit)
        return sorted(found, key=_CLAIM_ORDER[kind])

    def saveStarts(self, logs):
        tasks = sorted(logs)
        self.connection.execute(self.queries['save_rate_starts'], dict(
            tasks=tasks, starts=[json.dumps(logs[task]) for task in tasks]))
