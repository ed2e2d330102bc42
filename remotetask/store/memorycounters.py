"""Progress, completion calls and per-minute counters in the memory store.

What ``IJobStore`` keeps beside the jobs themselves: the latest progress of
a run, the completion calls owed to callers, and the counters of each
minute. Each change goes through the store's undo log (``memoryundo``),
so that it rolls back with the jobs.
"""

from remotetask.core.status import FINISHED, QUEUED


class MemoryCallsAndCounters:
    """For ``MemoryJobStore``, which provides ``transaction``, ``_lock``,
    ``_rows``, ``_notifications``, ``_minutes``, ``_touch``, ``_keep`` and
    ``_event``."""

    def _owe(self, row):
        """The job ``row`` ended: owe its caller a completion call."""
        if row['notify'] is not None and row['status'] in FINISHED:
            self._keep(self._notifications, row['id'])
            self._notifications[row['id']] = dict(
                job=row['id'], url=row['notify'], status=row['status'],
                since=row['completed'], due=row['completed'], attempts=0,
                token=None)

    def setProgress(self, reports):
        changed = 0
        with self.transaction():
            for jobid, token, progress in reports:
                row = self._rows.get(jobid)
                if row is not None and token is not None \
                        and row['token'] == token:
                    self._touch(jobid)
                    row['progress'] = progress
                    changed += 1
        return changed

    def claimNotifications(self, now, limit, token, lease):
        with self.transaction():
            due = sorted((n for n in self._notifications.values()
                          if n['due'] <= now),
                         key=lambda n: (n['due'], n['job']))[:limit]
            for notification in due:
                self._keep(self._notifications, notification['job'])
                notification.update(due=lease, token=token)
            return sorted(({key: n[key] for key in (
                'job', 'url', 'status', 'since', 'attempts', 'token')}
                for n in due), key=lambda n: n['job'])

    def nextNotification(self):
        with self._lock:
            return min((n['due'] for n in self._notifications.values()),
                       default=None)

    def recordNotification(self, jobid, token, due, event):
        with self.transaction():
            notification = self._notifications.get(jobid)
            if notification is None or notification['token'] != token:
                return False
            self._keep(self._notifications, jobid)
            if due is None:
                del self._notifications[jobid]
            else:
                notification.update(due=due, token=None,
                                    attempts=notification['attempts'] + 1)
            row = self._rows[jobid]
            self._touch(jobid)
            self._event(row, event)
            return True

    def _minute(self, minute, server):
        self._keep(self._minutes, (minute, server))
        return self._minutes.setdefault((minute, server), dict(
            finished=0, failed=0, queued=None))

    def countRuns(self, minute, server, finished, failed):
        with self.transaction():
            counters = self._minute(minute, server)
            counters['finished'] += finished
            counters['failed'] += failed

    def sampleQueue(self, minute, server):
        with self.transaction():
            self._minute(minute, server)['queued'] = sum(
                1 for row in self._rows.values() if row['status'] == QUEUED)

    def minutes(self, since):
        summed = {}
        with self._lock:
            for (minute, _), counters in self._minutes.items():
                if minute < since:
                    continue
                total = summed.setdefault(minute, dict(
                    minute=minute, finished=0, failed=0, queued=None))
                total['finished'] += counters['finished']
                total['failed'] += counters['failed']
                if counters['queued'] is not None:
                    total['queued'] = max(total['queued'] or 0,
                                          counters['queued'])
        return [summed[minute] for minute in sorted(summed)]

    def purgeMinutes(self, before):
        with self.transaction():
            doomed = [key for key in self._minutes if key[0] < before]
            for key in doomed:
                self._keep(self._minutes, key)
                del self._minutes[key]
            return len(doomed)
