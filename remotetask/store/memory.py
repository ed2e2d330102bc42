"""A job store in this process's memory, for library use and tests.

It keeps the ``IJobStore`` contract except durability: nothing survives
the process. The contract tests run against it and the SQLite store alike.
A transaction is the store's lock held throughout, with an undo log of the
rows it touched, so that a raise rolls back as a database would.
"""

import collections
import heapq
import itertools
import json
import threading

from zope.interface import implementer

from remotetask.core import events
from remotetask.core.entries import Entry
from remotetask.errors import NoSuchJob, NotAllowed
from remotetask.interfaces import IJobStore
from remotetask.core.status import (
    CRONJOB, DELAYED, ERROR, FINISHED, PROCESSING, QUEUED, STARTLATER)
from remotetask.store.apitokens import MemoryApiTokens
from remotetask.store.claiming import claimRuns
from remotetask.store.memoryclaim import MemoryClaim
from remotetask.store.memorycounters import MemoryCallsAndCounters
from remotetask.store.memorylooking import MemoryLooking
from remotetask.store.memoryundo import UndoLog
from remotetask.store.memorywaiting import MemoryGraph
from remotetask.store.nesting import JoinedTransactions
from remotetask.store.waiting import WaitingJobs

#: The statuses in which a job holds its key (see IJobStore.add).
_KEEPS_KEY = (QUEUED, PROCESSING, STARTLATER)


@implementer(IJobStore)
class MemoryJobStore(UndoLog, MemoryLooking, MemoryCallsAndCounters,
                     JoinedTransactions, MemoryGraph, WaitingJobs):
    """Jobs in this process's memory; see the module docstring.

    ``maxEvents`` bounds each job's events (``remotetask.core.events``).
    """

    #: Recorded on the jobs it starts (None: nothing is).
    serverId = None
    maxEvents = events.MAX_EVENTS

    def __init__(self):
        self._lock = threading.RLock()
        self._local = threading.local()
        self._rows = {}
        self._nextId = itertools.count(1)
        # Each task's queue: (-priority, id) of the jobs that were queued
        # when pushed; stale entries are skipped when met.
        self._queues = collections.defaultdict(list)
        # Cron and delayed jobs: few, so claims may look at all of them.
        self._scheduled = set()
        # (task, key) -> the id of the job that last took the key; it
        # holds it while it is unfinished (checked when looked up).
        self._keys = {}
        # The last starts of each rate-limited task.
        self._starts = {}
        self.apiTokens = MemoryApiTokens()
        # Completion calls owed, by job id; rolled back with the jobs.
        self._notifications = {}
        # (minute, server) -> {finished, failed, queued}.
        self._minutes = {}
        self._initGraph()

    def _newRow(self, entry, now, event=None):
        holder = self._keyHolder(entry.task, entry.key)
        if holder is not None:
            return holder
        jobid = next(self._nextId)
        self._touch(jobid)
        row = dict(id=jobid, task=entry.task, status=str(entry.status),
                   input=entry.input, output=None, error=None,
                   traceback=None, created=now, started=None,
                   completed=None, schedule=entry.schedule, due=entry.due,
                   attempts=0, token=None, history=None, missed=0,
                   claimed=None, priority=entry.priority, key=entry.key,
                   maxattempts=entry.maxattempts, server=None,
                   progress=None,
                   events=events.append(None, event, self.maxEvents),
                   notify=entry.notify, addedby=entry.owner)
        self._rows[jobid] = row
        self._index(row)
        return jobid

    def _keyHolder(self, task, key, other=None):
        """The id of the unfinished job of ``task`` holding ``key`` (other
        than ``other``), or None."""
        jobid = self._keys.get((task, key)) if key is not None else None
        row = self._rows.get(jobid)
        if row is None or jobid == other or row['key'] != key or \
                row['status'] not in _KEEPS_KEY:
            return None
        return jobid

    def _index(self, row):
        if row['status'] == QUEUED:
            heapq.heappush(self._queues[row['task']],
                           (-row['priority'], row['id']))
        elif row['status'] in (CRONJOB, DELAYED):
            self._scheduled.add(row['id'])
        if row['key'] is not None and row['status'] in _KEEPS_KEY:
            self._keys[(row['task'], row['key'])] = row['id']

    def add(self, task, input, status, schedule, now, priority=0, key=None,
            due=None, maxAttempts=None, notify=None, event=None, owner=None):
        with self.transaction():
            return self._newRow(Entry(task, input, status, schedule,
                                      priority, key, due, maxAttempts,
                                      notify, owner), now, event)

    def addMany(self, entries, now, event=None):
        with self.transaction():
            return [self._newRow(Entry(*entry), now, event)
                    for entry in entries]

    def _event(self, row, event, **details):
        """Append ``event`` (JSON text or None) with ``details`` to the
        row's events."""
        if event is not None and details:
            event = json.dumps(dict(json.loads(event), **details),
                               separators=(',', ':'), ensure_ascii=False)
        row['events'] = events.append(row['events'], event, self.maxEvents)

    def get(self, jobid):
        with self._lock:
            try:
                return dict(self._rows[jobid])
            except (KeyError, TypeError):
                raise NoSuchJob.withId(jobid) from None

    def statuses(self, ids):
        with self._lock:
            return {jobid: self._rows[jobid]['status'] for jobid in ids
                    if jobid in self._rows}

    def ids(self, after=0, limit=None):
        with self._lock:
            found = sorted(i for i in self._rows if i > after)
        return found if limit is None else found[:limit]

    def count(self):
        with self._lock:
            return len(self._rows)

    def find(self, status=None, task=None, after=None, limit=100,
             owner=None):
        with self._lock:
            rows = [dict(row) for jobid, row in sorted(self._rows.items())
                    if (after is None or jobid > after)
                    and (owner is None or row['addedby'] == owner)
                    and (status is None or row['status'] == status)
                    and (task is None or row['task'] == task)]
        return rows[:limit]

    def transition(self, jobid, fromStatuses, toStatus, now=None,
                   event=None):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None:
                raise NoSuchJob.withId(jobid)
            if row['status'] not in fromStatuses:
                return False
            self._touch(jobid)
            row['status'] = str(toStatus)
            row['token'] = None
            if toStatus in FINISHED and now is not None:
                row['completed'] = now
            self._event(row, event)
            self._index(row)
            self._owe(row)
            self._ended(self._steps(), [(jobid, toStatus)], now)
            return True

    def scheduleFirstRuns(self, now, firstDue):
        with self.transaction():
            unseen = [self._rows[i] for i in sorted(self._scheduled)
                      if i in self._rows and self._rows[i]['due'] is None
                      and self._rows[i]['status'] in (CRONJOB, DELAYED)]
            for row in unseen:
                self._touch(row['id'])
                row['due'] = firstDue(dict(row), now)
            return len(unseen)

    def _dueScheduled(self, now, status):
        due = [self._rows[i] for i in self._scheduled
               if self._rows[i]['status'] == status
               and self._rows[i]['due'] is not None
               and self._rows[i]['due'] <= now]
        return min(due, key=lambda r: (r['due'], r['id']), default=None)

    def _due(self, row, now):
        return row['due'] is None or row['due'] <= now

    def _queued(self, task, now, count, pop):
        """Up to ``count`` due queued jobs of ``task``, in the order they
        are claimed; taken off its queue if ``pop`` (those passed over,
        waiting for their due time, are put back)."""
        queue, found, waiting = self._queues.get(task, []), [], []
        seen = set()
        while queue and len(found) < count:
            entry = heapq.heappop(queue)
            row = self._rows.get(entry[1])
            if row is None or row['status'] != QUEUED or entry in seen:
                continue  # stale: its job moved on, or was pushed twice
            seen.add(entry)
            (found if self._due(row, now) else waiting).append(entry)
        for entry in waiting + ([] if pop else found):
            heapq.heappush(queue, entry)
        return [self._rows[jobid] for _, jobid in found]

    def claim(self, now, limit, token, nextDue, started=None,
              scheduled=True, tasks=None, limits=None, event=None):
        with self.transaction():
            self._scheduled = {i for i in self._scheduled if i in self._rows
                               and self._rows[i]['status'] in
                               (CRONJOB, DELAYED)}
            return claimRuns(MemoryClaim(self, dict(
                now=now, token=token, started=started, event=event)),
                limit, nextDue, scheduled, tasks, limits, now)

    def _claimed(self, row, claimed):
        """Mark ``row`` claimed as ``claimed`` says; a copy of it."""
        row['token'] = claimed['token']
        row['claimed'] = claimed['now']
        if claimed['started'] is not None:
            row['started'] = claimed['started']
            row['attempts'] += 1
            row['server'] = self.serverId
            row['progress'] = None
            self._event(row, claimed['event'], attempt=row['attempts'])
        return dict(row)

    def markStarted(self, runs, now, event=None):
        marked = 0
        with self.transaction():
            for jobid, token in runs:
                row = self._rows.get(jobid)
                if row is not None and token is not None \
                        and row['token'] == token:
                    self._touch(jobid)
                    row['started'] = now
                    row['attempts'] += 1
                    row['server'] = self.serverId
                    row['progress'] = None
                    self._event(row, event, attempt=row['attempts'])
                    marked += 1
        return marked

    def finish(self, jobid, token, status, output, error, traceback, now,
               due=None, attempt=None, event=None, progress=None,
               started=None, startEvent=None):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None or token is None or row['token'] != token:
                return False
            if started is not None:
                self.markStarted([(jobid, token)], started, startEvent)
            self._touch(jobid)
            if status is not None:
                row['status'] = str(status)
            if status == QUEUED:
                row['due'] = due
            if attempt is not None:
                history = json.loads(row['history'] or '[]')
                history.append(json.loads(attempt))
                row['history'] = json.dumps(history, separators=(',', ':'))
            row.update(output=output, error=error, traceback=traceback,
                       completed=now, token=None)
            if progress is not None:
                row['progress'] = progress
            self._event(row, event)
            self._index(row)
            if status is not None:
                self._owe(row)
            self._ended(self._steps(), [(jobid, status)], now)
            return True

    def finishMany(self, runs):
        # In memory, sending them together saves nothing: one at a time
        # (the dependents of the jobs that end counted down once).
        with self.transaction(), self._gatheringEnds(self._steps()):
            return [self.finish(*run) for run in runs]

    def release(self, jobid, token, started=False, event=None):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None or token is None or row['token'] != token:
                return False
            self._touch(jobid)
            if row['status'] == PROCESSING:
                row['status'] = str(QUEUED)
            row['token'] = None
            if started:
                row['attempts'] = max(0, row['attempts'] - 1)
            self._event(row, event)
            self._index(row)
            return True

    def releaseClaims(self, tokens):
        tokens = set(tokens)
        with self.transaction():
            held = [row for row in self._rows.values()
                    if row['token'] is not None and row['token'] in tokens]
            for row in held:
                self._touch(row['id'])
                if row['status'] == PROCESSING:
                    row['status'] = str(QUEUED)
                row['token'] = None
                self._index(row)
            return len(held)

    def skipRuns(self, jobid, due, next, missed):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None or row['status'] != CRONJOB or row['due'] != due:
                return False
            self._touch(jobid)
            row['due'] = next
            row['missed'] += missed
            return True

    def hasDue(self, now):
        with self._lock:
            return (any(self._queued(task, now, 1, pop=False)
                        for task in list(self._queues))
                    or any(self._dueScheduled(now, s) is not None
                           for s in (CRONJOB, DELAYED)))

    def requeue(self, statuses, toStatus, event=None, before=None):
        with self.transaction():
            moved = 0
            for row in self._rows.values():
                if row['status'] in statuses and row['token'] is not None \
                        and (before is None or row.get('claimed') is None
                             or row['claimed'] < before):
                    self._touch(row['id'])
                    row['status'] = str(toStatus)
                    row['token'] = None
                    self._event(row, event)
                    self._index(row)
                    moved += 1
            return moved

    def setSchedule(self, jobid, schedule):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None:
                raise NoSuchJob.withId(jobid)
            self._touch(jobid)
            row['schedule'] = schedule
            row['due'] = None

    def purge(self, statuses, before, limit):
        with self.transaction():
            doomed = []
            for status in statuses:
                doomed += sorted(
                    i for i, row in self._rows.items()
                    if row['status'] == status and row['completed'] is not None
                    and row['completed'] < before
                    and not self._needed(i))[:limit]
            return self._delete(doomed)

    def clean(self, statuses):
        with self.transaction():
            doomed = [i for i, row in self._rows.items()
                      if row['status'] in statuses and not self._needed(i)]
            return self._delete(doomed)

    def _delete(self, doomed):
        for jobid in doomed:
            self._touch(jobid)
            del self._rows[jobid]
            self._keep(self._notifications, jobid)
            self._notifications.pop(jobid, None)
            self._forgetGraph(jobid)
        return len(doomed)

    def _changeOne(self, jobid, allowed, change):
        with self.transaction():
            row = self._rows.get(jobid)
            if row is None:
                raise NoSuchJob.withId(jobid)
            if not allowed(row):
                return False
            self._touch(jobid)
            change(row)
            self._index(row)
            return True

    def retry(self, jobid, event=None):
        with self.transaction():
            row = self._rows.get(jobid)
            holder = None if row is None or row['status'] != ERROR else \
                self._keyHolder(row['task'], row['key'], other=jobid)
            if holder is not None:
                raise NotAllowed.keyHeld(jobid, holder)

            def retry(row):
                row.update(status=str(QUEUED), due=None, token=None,
                           attempts=0)
                self._event(row, event)
            return self._changeOne(
                jobid, lambda row: row['status'] == ERROR, retry)

    def runNow(self, jobid, now, event=None):
        def run(row):
            row['due'] = now
            self._event(row, event)
        return self._changeOne(
            jobid, lambda row: row['status'] in (CRONJOB, DELAYED)
            and row['token'] is None, run)

    def close(self):
        pass
