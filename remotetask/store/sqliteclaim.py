"""A claim's steps on SQLite (see ``remotetask.store.claiming``)."""

import json

from remotetask.store.claiming import ClaimSteps

#: The order claimed rows are handed out in (RETURNING has none of its
#: own): delayed jobs by due time, queued ones by priority, then id, as
#: the queries chose.
_CLAIM_ORDER = {'delayed': lambda row: (row['due'], row['id']),
                'queued': lambda row: (-row['priority'], row['id'])}


class SQLiteClaim(ClaimSteps):
    """A claim's steps on one connection, inside its transaction, with the
    store's ``queries``; JSON arrays and objects carry the tasks and how
    many of each to take."""

    def __init__(self, connection, queries, claimed):
        self.connection = connection
        self.queries = queries
        self.claimed = claimed

    def _rows(self, name, **params):
        return self.connection.execute(self.queries[name], params).fetchall()

    def claimableTasks(self):
        return [row['task'] for row in self._rows('claimable_tasks')]

    def limitState(self, tasks):
        tasks = json.dumps(tasks)
        running = {row['task']: row['running']
                   for row in self._rows('running_counts', tasks=tasks)}
        starts = {row['task']: json.loads(row['starts'])
                  for row in self._rows('rate_starts', tasks=tasks)}
        return running, starts

    def cronRun(self, tasks, nextDue):
        row = self.connection.execute(self.queries['due_cron_job'], dict(
            now=self.claimed['now'], tasks=json.dumps(tasks))).fetchone()
        if row is None:
            return None
        return self.connection.execute(self.queries['claim_cron_job'], dict(
            self.claimed, id=row['id'], due=row['due'],
            next=nextDue(row, self.claimed['now']))).fetchone()

    def claimBatch(self, kind, allowed, limit):
        found = self._rows(f'claim_{kind}_jobs', **self.claimed,
                           allowed=json.dumps(allowed), limit=limit)
        return sorted(found, key=_CLAIM_ORDER[kind])

    def saveStarts(self, logs):
        for task, starts in logs.items():
            self.connection.execute(self.queries['save_rate_starts'], dict(
                task=task, starts=json.dumps(starts)))
