"""The embedded job store: one SQLite file, or a database in memory.

The queries live in ``sqlite.sql``. Each thread gets its own connection
(SQLite connections are not to be shared between threads mid-transaction);
in WAL mode readers on those connections never wait for the writer
(``sqliteconnections``, where every connection setting lives, in
``_connect()``).
"""

import json

from zope.interface import alsoProvides, implementer

from remotetask.core import events
from remotetask.core.bounds import (
    BEFORE_EVERY_ID, MAX_STORED_INT, MIN_STORED_INT)
from remotetask.core.entries import Entry
from remotetask.core.status import FINISHED
from remotetask.errors import NoSuchJob
from remotetask.core.interfaces import IJobStore, IQuickWrites
from remotetask.store import paging
from remotetask.store.apitokens import SQLApiTokens
from remotetask.store.claiming import claimRuns
from remotetask.store.filelock import FileLock
from remotetask.store.notifications import CallsAndCounters
from remotetask.store.outage import OutageLog
from remotetask.store.sqliteadd import insertJobs
from remotetask.store.sqliteclaim import SQLiteClaim
from remotetask.store.sqliteconnections import (
    SQLiteConnections, memoryTarget)
from remotetask.store.sqlitefinish import SQLiteWaitSteps, finishRuns
from remotetask.store.sqliteschema import migrate, schemaVersion
from remotetask.store.sqlfile import loadQueries, migrations
from remotetask.store.waiting import WaitingJobs
from remotetask.store.writes import (
    changeJob, keyFree, scheduleFirstRuns)

QUERIES = loadQueries('sqlite.sql')
MIGRATIONS = migrations(QUERIES)

#: The ``path`` of a store in memory (SQLite's own name for one).
MEMORY = ':memory:'


def _isStorableId(jobid):
    return type(jobid) is int and MIN_STORED_INT <= jobid <= MAX_STORED_INT


@implementer(IJobStore)
class SQLiteJobStore:
    """Jobs in one SQLite file; see ``IJobStore`` for the contract.

    ``path`` ``':memory:'`` (``MEMORY``) keeps them in this process's
    memory instead, for library use and tests: the contract holds except
    durability, since the database goes when the store is closed.

    ``synchronous`` is SQLite's setting of that name. ``NORMAL`` (the
    default) makes every committed write survive the death of the process,
    kill -9 included; an operating-system crash or power loss may lose the
    last transactions, never corrupt the file. ``FULL`` makes each commit
    wait for the disk (fsync), which also survives power loss, at the cost
    of one fsync per write.

    ``maxEvents`` bounds each job's events (``remotetask.core.events``).
    """

    queries = QUERIES
    maxEvents = events.MAX_EVENTS

    def __init__(self, path, synchronous='NORMAL', busyTimeout=10.0,
                 serverId=None):
        if synchronous.upper() not in ('NORMAL', 'FULL', 'EXTRA'):
            raise ValueError(
                f'synchronous must be NORMAL, FULL or EXTRA, '
                f'not {synchronous!r}')
        self.path = str(path)
        #: Recorded on the jobs this server starts (None: nothing is).
        self.serverId = serverId
        self.synchronous = synchronous.upper()
        self.busyTimeout = busyTimeout
        inMemory = self.path == MEMORY
        target = memoryTarget() if inMemory else self.path
        # One log line when writing starts failing, one when it works again.
        self.outage = OutageLog(self.path)
        self.connections = SQLiteConnections(
            target, QUERIES, self.outage, self.synchronous, busyTimeout,
            uri=inMemory)
        self.waiting = WaitingJobs(self._withSteps, self.afterCommit,
                                   lambda: self.serverId)
        self._read = self.connections.read
        self._transaction = self.connections.transactions.transaction
        self.apiTokens = SQLApiTokens(self._read, self.connections.write)
        self.calls = CallsAndCounters(self.connections)
        # One server at a time on a file: taken before anything reads or
        # writes it, so that no second server migrates or recovers its
        # jobs. None in memory: no other process can reach it.
        self.lock = None if inMemory else FileLock(
            f'{self.path}.lock', f'The job store {self.path}')
        try:
            self._migrate()
        except BaseException:
            self._release()
            raise
        if self.synchronous == 'NORMAL':
            # A commit is an append to the log (or to memory), no fsync.
            alsoProvides(self, IQuickWrites)

    def __repr__(self):
        return f'<{type(self).__name__} {self.path!r}>'

    def _migrate(self):
        try:
            self.connections.run(lambda connection: migrate(connection,
                                                            MIGRATIONS))
        finally:
            # The constructing thread (the reactor's, in the server) makes
            # no other store calls: keep no connection open for it.
            self.connections.closeOwn()

    @property
    def schemaVersion(self):
        return schemaVersion(self.connections.connection())

    @property
    def maxPassed(self):
        """See ``IJobStore.maxPassed``."""
        return self.waiting.maxPassed

    @maxPassed.setter
    def maxPassed(self, value):
        self.waiting.maxPassed = value

    def transaction(self):
        return self.connections.transactions.transaction()

    def afterCommit(self, callback):
        self.connections.transactions.afterCommit(callback)

    def writingNow(self):
        """See ``IQuickWrites``."""
        return self.connections.writingNow()

    def checkpoint(self):
        """See ``IQuickWrites``."""
        self.connections.checkpoint()

    def add(self, task, input, status, schedule, now, priority=0, key=None,
            due=None, maxAttempts=None, notify=None, event=None, owner=None):
        return self.addMany([Entry(task, input, status, schedule, priority,
                                   key, due, maxAttempts, notify, owner)],
                            now, event)[0]

    def addMany(self, entries, now, event=None):
        with self._transaction() as connection:
            return insertJobs(connection, QUERIES, [
                Entry(*entry) for entry in entries], now, event,
                self.maxEvents)

    def get(self, jobid):
        try:
            row = self._read('get_job', id=jobid).fetchone()
        except OverflowError:
            row = None
        if row is None:
            raise NoSuchJob.withId(jobid)
        return row

    def statuses(self, ids):
        return {row['id']: row['status'] for row in self._read(
            'get_statuses', ids=json.dumps([i for i in ids
                                            if _isStorableId(i)]))}

    def ids(self, after=0, limit=None):
        limit = -1 if limit is None else limit
        return [row['id'] for row in
                self._read('job_ids', after=after, limit=limit)]

    def count(self):
        return self._read('count_jobs').fetchone()['count(*)']

    def find(self, status=None, task=None, after=None, limit=100,
             owner=None):
        return self._read(
            paging.throughIndex('find', status, task, owner), owner=owner,
            status=None if status is None else str(status), task=task,
            after=0 if after is None else after, limit=limit)

    def transition(self, jobid, fromStatuses, toStatus, now=None,
                   event=None):
        with self._transaction() as connection:
            row = connection.execute(QUERIES['get_status'],
                                     dict(id=jobid)).fetchone()
            if row is None:
                raise NoSuchJob.withId(jobid)
            if row['status'] not in fromStatuses:
                return False
            connection.execute(QUERIES['set_status'], dict(
                id=jobid, status=str(toStatus), now=now, event=event,
                keep=self.maxEvents))
            if toStatus in FINISHED:
                connection.execute(QUERIES['notify_end'], dict(id=jobid))
                self.waiting.ended(self._steps(connection),
                                   [(jobid, toStatus)], now)
            return True

    def scheduleFirstRuns(self, now, firstDue):
        # Called before every claim: look first, write only when needed.
        if self._read('unscheduled_jobs').fetchone() is None:
            return 0
        return self.connections.run(lambda connection: scheduleFirstRuns(
            connection, QUERIES, now, firstDue))

    def claim(self, now, limit, token, nextDue, started=None,
              scheduled=True, tasks=None, limits=None, event=None):
        # One writer at a time (BEGIN IMMEDIATE): nothing can change the
        # limits' counts between reading them and claiming.
        with self._transaction() as connection:
            return claimRuns(
                SQLiteClaim(connection, QUERIES, dict(
                    now=now, token=token, started=started, claimed=now,
                    server=self.serverId, keep=self.maxEvents,
                    event=event if started is not None else None)),
                limit, nextDue, scheduled, tasks, limits, now)

    def markStarted(self, runs, now, event=None):
        with self._transaction() as connection:
            return sum(connection.execute(QUERIES['mark_started'], dict(
                id=jobid, token=token, now=now, event=event,
                keep=self.maxEvents, server=self.serverId)).rowcount
                for jobid, token in runs)

    def finish(self, jobid, token, status, output, error, traceback, now,
               due=None, attempt=None, event=None, progress=None,
               started=None, startEvent=None):
        return self.finishMany([(jobid, token, status, output, error,
                                 traceback, now, due, attempt, event,
                                 progress, started, startEvent)])[0]

    def finishMany(self, runs):
        # As a set (sqlitefinish); the dependents counted down once.
        runs = list(runs)
        if all(run[1] is None for run in runs):
            return [False] * len(runs)
        with self._transaction() as connection:
            recorded, ended = finishRuns(connection, QUERIES, runs,
                                         self.maxEvents, self.serverId)
            if ended:
                self.waiting.ended(self._steps(connection), ended, max(
                    (run[6] for run, done in zip(runs, recorded)
                     if done and run[6] is not None), default=None))
            return recorded

    def _steps(self, connection):
        return SQLiteWaitSteps(connection, QUERIES, self.maxEvents)

    def _withSteps(self, work):
        with self._transaction() as connection:
            return work(self._steps(connection))

    def dependencyStates(self, ids):
        return self.waiting.dependencyStates(ids)

    def wait(self, jobid, after, onFailure, passResults, now):
        return self.waiting.wait(jobid, after, onFailure, passResults, now)

    def watchWaits(self, callback):
        self.waiting.watchWaits(callback)

    def dependencies(self, jobid, limit=1000):
        return [dict(row) for row in self._read(
            'job_dependencies', id=jobid, limit=limit).fetchall()]

    def dependents(self, jobid, limit=1000):
        return [dict(row) for row in self._read(
            'job_dependents', id=jobid, limit=limit).fetchall()]

    def release(self, jobid, token, started=False, event=None):
        if token is None:
            return False
        with self._transaction() as connection:
            return connection.execute(QUERIES['release_job'], dict(
                id=jobid, token=token, started=int(started), event=event,
                keep=self.maxEvents)).rowcount == 1

    def releaseClaims(self, tokens):
        with self._transaction() as connection:
            return connection.execute(QUERIES['release_claims'], dict(
                tokens=json.dumps(list(tokens)))).rowcount

    def skipRuns(self, jobid, due, next, missed):
        with self._transaction() as connection:
            return connection.execute(QUERIES['skip_runs'], dict(
                id=jobid, due=due, next=next, missed=missed)).rowcount == 1

    def hasDue(self, now):
        row = self._read('has_due', now=now).fetchone()
        return bool(next(iter(row.values())))

    def requeue(self, statuses, toStatus, event=None, before=None):
        with self._transaction() as connection:
            return sum(connection.execute(QUERIES['requeue_claimed'], dict(
                status=str(status), to=str(toStatus), event=event,
                keep=self.maxEvents, before=before)).rowcount
                for status in statuses)

    def setSchedule(self, jobid, schedule):
        with self._transaction() as connection:
            cursor = connection.execute(QUERIES['set_schedule'],
                                        dict(id=jobid, schedule=schedule))
            if cursor.rowcount == 0:
                raise NoSuchJob.withId(jobid)

    def purge(self, statuses, before, limit):
        with self._transaction() as connection:
            return sum(connection.execute(QUERIES['purge_jobs'], dict(
                status=str(status), before=before, limit=limit)).rowcount
                for status in statuses)

    def clean(self, statuses):
        with self._transaction() as connection:
            return connection.execute(QUERIES['clean_jobs'], dict(
                statuses=json.dumps([str(s) for s in statuses]))).rowcount

    # Looking: the dashboard and /metrics.

    def counts(self):
        return self._read('count_by_status_and_task').fetchall()

    def oldestQueued(self, now):
        row = self._read('oldest_queued', now=now).fetchone()
        return None if row is None else row['since']

    def newest(self, status=None, task=None, text=None, before=None,
               limit=50, scan=10000, owner=None):
        scan = paging.scanFor(status, task, text, limit, scan, owner)
        name = paging.throughIndex('newest', status, task, owner)
        rows = self._read(
            name, status=None if status is None else str(status), task=task,
            owner=owner,
            text=None if text is None else text.lower(),
            before=BEFORE_EVERY_ID if before is None else before, limit=limit,
            scan=scan).fetchall()
        return paging.fromBoundedRows(rows, limit, scan)

    def _changeOne(self, name, refusal=None, **params):
        """Run the update ``name`` on one job (``changeJob``)."""
        with self._transaction() as connection:
            return changeJob(connection, QUERIES, name, params, refusal)

    def retry(self, jobid, event=None):
        return self._changeOne('retry_job', keyFree(jobid, QUERIES),
                               id=jobid, event=event, keep=self.maxEvents)

    def runNow(self, jobid, now, event=None):
        return self._changeOne('run_now', id=jobid, now=now, event=event,
                               keep=self.maxEvents)

    # Progress, completion calls and the per-minute counters.

    def setProgress(self, reports):
        with self._transaction() as connection:
            return sum(connection.execute(QUERIES['set_progress'], dict(
                id=jobid, token=token, progress=progress)).rowcount
                for jobid, token, progress in reports)

    def claimNotifications(self, now, limit, token, lease):
        return self.calls.claimNotifications(now, limit, token, lease)

    def nextNotification(self):
        return self.calls.nextNotification()

    def recordNotification(self, jobid, token, due, event):
        return self.calls.recordNotification(jobid, token, due, event,
                                             self.maxEvents)

    def countRuns(self, minute, server, finished, failed):
        self.calls.countRuns(minute, server, finished, failed)

    def sampleQueue(self, minute, server):
        self.calls.sampleQueue(minute, server)

    def minutes(self, since):
        return self.calls.minutes(since)

    def purgeMinutes(self, before):
        return self.calls.purgeMinutes(before)

    def close(self):
        self._release()

    def _release(self):
        self.connections.close()
        if self.lock is not None:
            self.lock.release()
