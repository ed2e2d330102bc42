"""The steps of a claim, in order, for every store.

``IJobStore.claim`` hands out cron runs first, then delayed jobs, then
queued ones, only of the tasks asked for, and within the tasks' limits
(``remotetask.core.limits``). The order and the arithmetic are the same
for every store; how each step reads and writes is the store's
(``ClaimSteps``). ``claimRuns`` runs inside the store's transaction, and
the store makes sure that no other claim can change what the limits are
computed from until it commits (SQLite: one writer at a time;
PostgreSQL: ``limitState`` locks the limited tasks' rows).
"""

import operator

from remotetask.core.limits import Budget


class ClaimSteps:
    """What a store does at each step of a claim (all inside one
    transaction)."""

    def claimableTasks(self):
        """Every task that has queued, cron or delayed jobs (a claim asked
        for any task)."""
        raise NotImplementedError

    def withWork(self, tasks, scheduled):
        """Those of the limited ``tasks`` (sorted) that have a due job
        this claim could take (a cron or delayed one only if
        ``scheduled``): the others are left out of the claim, so that it
        need not wait for their locks. A store whose claims never wait for
        one another (one writer at a time) may return ``tasks``."""
        return tasks

    def scheduledDue(self):
        """Whether a cron or delayed job of any task may be due: when
        none is, a claim skips their steps (most claims of a busy queue;
        each step costs a statement). May answer True when unsure."""
        return True

    def limitState(self, tasks):
        """``(running, starts)`` of the limited ``tasks`` (sorted), read
        once no other claim can change them (see ``Budget``)."""
        raise NotImplementedError

    def cronRun(self, tasks, nextDue):
        """Claim the cron run due first among ``tasks``; its row or None."""
        raise NotImplementedError

    def claimBatch(self, kind, allowed, limit):
        """Claim up to ``limit`` due ``kind`` ('delayed' or 'queued') jobs,
        at most ``allowed[task]`` of each task, in the order they should
        run; their rows."""
        raise NotImplementedError

    def saveStarts(self, logs):
        """Keep ``{task: starts}``, the rate-limited tasks' last starts."""
        raise NotImplementedError


class SQLClaimSteps(ClaimSteps):
    """What the SQL stores' steps share: one connection, inside the claim's
    transaction, the store's named ``queries``, and the time the claim is
    made (``claimed``)."""

    def __init__(self, connection, queries, claimed):
        self.connection = connection
        self.queries = queries
        self.claimed = claimed

    def _rows(self, name, **params):
        return self.connection.execute(self.queries[name], params).fetchall()

    def _list(self, values):
        """``values`` as the store's queries take a list."""
        return values

    def claimableTasks(self):
        return [row['task'] for row in self._rows('claimable_tasks')]

    def scheduledDue(self):
        return self.connection.execute(self.queries['scheduled_due'], dict(
            now=self.claimed['now'])).fetchone()['due']

    def cronRun(self, tasks, nextDue):
        now = self.claimed['now']
        row = self.connection.execute(self.queries['due_cron_job'], dict(
            now=now, tasks=self._list(tasks))).fetchone()
        if row is None:
            return None
        return self.connection.execute(self.queries['claim_cron_job'], dict(
            self.claimed, id=row['id'], due=row['due'],
            next=nextDue(row, now))).fetchone()

    @staticmethod
    def _inOrder(kind, rows):
        """The rows of a batch in the order the queries chose (RETURNING
        has none of its own): delayed jobs by due time, queued ones by
        priority, then id."""
        # By id, then (a stable sort) by the kind's own order: keys read
        # in C, not by a function called per row of a batch of hundreds.
        rows = sorted(rows, key=_BY_ID)
        order, reverse = _CLAIM_ORDER[kind]
        rows.sort(key=order, reverse=reverse)
        return rows


_BY_ID = operator.itemgetter('id')
#: What claimed rows are sorted by after their id, and whether downwards.
_CLAIM_ORDER = {'delayed': (operator.itemgetter('due'), False),
                'queued': (operator.itemgetter('priority'), True)}


def claimRuns(steps, limit, nextDue, scheduled, tasks, limits, now):
    """Claim up to ``limit`` runs through ``steps``; see the module
    docstring and ``IJobStore.claim``."""
    scheduled = scheduled and steps.scheduledDue()
    if tasks is None:
        tasks = steps.claimableTasks()
    limits = {task: value for task, value in (limits or {}).items()
              if value and task in set(tasks)}
    if limits:
        busy = steps.withWork(sorted(limits), scheduled)
        tasks = [task for task in tasks if task not in limits or
                 task in busy]
        limits = {task: limits[task] for task in busy}
    running, starts = (steps.limitState(sorted(limits)) if limits
                       else ({}, {}))
    budget = Budget(tasks, limits, running, starts, now)
    rows = []
    while scheduled and len(rows) < limit:
        open = sorted(budget.allowed(1))
        row = steps.cronRun(open, nextDue) if open else None
        if row is None:
            break
        rows.append(row)
        budget.take([row])
    for kind in (['delayed'] if scheduled else []) + ['queued']:
        allowed = budget.allowed(limit - len(rows))
        if allowed:
            found = steps.claimBatch(kind, allowed, limit - len(rows))
            rows += found
            budget.take(found)
    logs = budget.startLogs()
    if logs:
        steps.saveStarts(logs)
    return rows
