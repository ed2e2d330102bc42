"""What the dashboard and /metrics read of the memory store.

These look at every job, which is what a store in memory can afford; the
SQL stores answer the same from their indexes.
"""

import collections

from remotetask.core.status import QUEUED
from remotetask.store import paging


class MemoryLooking:
    """``counts``, ``oldestQueued`` and ``newest`` for ``MemoryJobStore``,
    which provides ``_lock`` and ``_rows``."""

    def counts(self):
        with self._lock:
            counted = collections.Counter(
                (row['status'], row['task']) for row in self._rows.values())
        return [dict(status=status, task=task, count=count)
                for (status, task), count in sorted(counted.items())]

    def oldestQueued(self, now):
        with self._lock:
            head = min((row for row in self._rows.values()
                        if row['status'] == QUEUED
                        and (row['due'] is None or row['due'] <= now)),
                       key=lambda row: row['id'], default=None)
        if head is None:
            return None
        return head['created'] if head['due'] is None else head['due']

    def newest(self, status=None, task=None, text=None, before=None,
               limit=50, scan=10000, owner=None):
        scan = paging.scanFor(status, task, text, limit, scan, owner)
        text = None if text is None else text.lower()
        # As the SQL stores' indexes: by owner alone, else by status or
        # task; the other filters among the candidates.
        served = status if owner is None else None
        with self._lock:
            candidates = [
                row for jobid, row in sorted(self._rows.items(),
                                             reverse=True)
                if (before is None or jobid < before)
                and (owner is None or row['addedby'] == owner)
                and (served is None or row['status'] == status)
                and (owner is not None or status is not None
                     or task is None or row['task'] == task)][:scan]
            jobs = [_preview(row) for row in candidates
                    if (task is None or row['task'] == task)
                    and (status is None or row['status'] == status)
                    and (text is None or _contains(row['input'], text)
                         or _contains(row['error'], text))][:limit]
        floor = candidates[-1]['id'] if candidates else None
        return jobs, paging.nextCursor(jobs, limit, floor, len(candidates),
                                       scan)


def _contains(stored, text):
    return stored is not None and text in stored.lower()


def _preview(row):
    """A row of a page: the keys ``newest`` promises, input and error cut
    to ``paging.PREVIEW`` characters."""
    page = {key: row[key] for key in paging.PAGE_KEYS}
    for key in ('input', 'error'):
        if page[key] is not None:
            page[key] = page[key][:paging.PREVIEW]
    return page
