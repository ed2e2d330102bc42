"""A claim's steps on the memory store (see
``remotetask.store.claiming``)."""

import collections

from remotetask.core.status import CRONJOB, DELAYED, PROCESSING
from remotetask.store.claiming import ClaimSteps


class MemoryClaim(ClaimSteps):
    """A claim's steps on a memory store, under its lock; it works on the
    store's rows and indexes as the store's own methods do."""

    def __init__(self, store, claimed):
        self.store = store
        self.claimed = claimed

    def claimableTasks(self):
        rows = self.store._rows
        return sorted(set(self.store._queues) | {
            rows[i]['task'] for i in self.store._scheduled})

    def limitState(self, tasks):
        # Looks at every job: what a store in memory can afford, for the
        # limited tasks alone.
        running = collections.Counter(
            row['task'] for row in self.store._rows.values()
            if row['task'] in tasks and (
                row['status'] == PROCESSING or (
                    row['status'] == CRONJOB and row['token'] is not None)))
        return running, {task: self.store._starts.get(task, [])
                         for task in tasks}

    def _take(self, row):
        self.store._touch(row['id'])
        return self.store._claimed(row, self.claimed)

    def cronRun(self, tasks, nextDue):
        now = self.claimed['now']
        due = [row for row in map(self.store._rows.get,
                                  self.store._scheduled)
               if row['status'] == CRONJOB and row['task'] in tasks
               and row['due'] is not None and row['due'] <= now]
        row = min(due, key=lambda r: (r['due'], r['id']), default=None)
        if row is None:
            return None
        self.store._touch(row['id'])
        row['due'] = nextDue(dict(row), now)
        return self.store._claimed(row, self.claimed)

    def claimBatch(self, kind, allowed, limit):
        now = self.claimed['now']
        if kind == 'delayed':
            due = sorted((row for row in map(self.store._rows.get,
                                             self.store._scheduled)
                          if row['status'] == DELAYED
                          and row['task'] in allowed
                          and row['due'] is not None and row['due'] <= now),
                         key=lambda r: (r['due'], r['id']))
            taken, chosen = collections.Counter(), []
            for row in due:
                if len(chosen) < limit and \
                        taken[row['task']] < allowed[row['task']]:
                    taken[row['task']] += 1
                    chosen.append(row)
        else:
            candidates = []
            for task, count in allowed.items():
                candidates += self.store._queued(task, now, count, pop=True)
            candidates.sort(key=lambda r: (-r['priority'], r['id']))
            chosen = candidates[:limit]
            for row in candidates[limit:]:
                self.store._index(row)  # back in its queue
        claimed = []
        for row in chosen:
            self.store._touch(row['id'])
            row['status'] = str(PROCESSING)
            claimed.append(self.store._claimed(row, self.claimed))
        return claimed

    def saveStarts(self, logs):
        # Not undone by a rollback: a rolled back claim leaves its starts
        # counted, which errs on the side of fewer starts.
        self.store._starts.update(logs)
