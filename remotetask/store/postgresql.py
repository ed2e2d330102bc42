"""The shared job store: PostgreSQL, for one or several servers.

The queries live in ``postgresql.sql``. Each thread gets its own
connection, and each method is one transaction on it (``pgconnections``,
where every connection setting lives, in ``connect()``). Claims use
``FOR UPDATE SKIP LOCKED`` so that servers sharing the database each take
a different job without waiting on one another.
"""

import psycopg
from psycopg.conninfo import conninfo_to_dict
from zope.interface import implementer

from remotetask.core import events
from remotetask.core.bounds import BEFORE_EVERY_ID, MAX_INT, MIN_INT
from remotetask.core.entries import Entry
from remotetask.errors import NoSuchJob
from remotetask.core.status import FINISHED
from remotetask.core.interfaces import IJobStore, ISharedJobStore
from remotetask.store import paging
from remotetask.store.apitokens import SQLApiTokens
from remotetask.store.claiming import claimRuns
from remotetask.store.notifications import CallsAndCounters
from remotetask.store.outage import OutageLog
from remotetask.store.pgclaim import PostgreSQLClaim
from remotetask.store.pgconnections import (
    PostgreSQLConnections, defaultServerId, describe)
from remotetask.store.pglisten import NotificationListener
from remotetask.store.pgschema import migrate
from remotetask.store.pgservers import SharedServers
from remotetask.store.pgwrites import (
    changeJobs, finishRuns, insertJobs, transitionJob)
from remotetask.store.sqlfile import loadQueries, migrations
from remotetask.store.waiting import SQLWaitSteps, WaitingJobs
from remotetask.store.writes import (
    changeJob, insertJob, keyFree, scheduleFirstRuns)

QUERIES = loadQueries('postgresql.sql')
MIGRATIONS = migrations(QUERIES)

#: The default of ``--store-timeout``: seconds a call may take.
TIMEOUT = 10.0


def _isJobId(jobid):
    # A str or float would reach PostgreSQL as a DataError, not NoSuchJob.
    return isinstance(jobid, int) and not isinstance(jobid, bool)


@implementer(IJobStore, ISharedJobStore)
class PostgreSQLJobStore:
    """Jobs in a PostgreSQL database; see ``IJobStore`` for the contract,
    and ``ISharedJobStore`` for what several servers sharing it add: the
    servers' heartbeats and tasks, the recovery of a lost one's jobs
    (``pgservers``), and the wake-ups between them (``pglisten``).

    ``dsn`` is a libpq connection string or URL; its parameters win over
    the defaults chosen in ``connect()`` (``pgconnections``). ``serverId``
    names this server among those sharing the database (default
    ``host:pid:random``). Each claim records it as the job's ``owner``,
    and ``requeue()`` (a server's recovery at start) moves only the jobs
    this serverId claimed: one server restarting never takes another's
    running jobs. So a server gets its own leftovers back only if it keeps
    its serverId; otherwise ``recoverLost()``, run by any live server,
    returns a dead one's jobs: one whose heartbeat is more than
    ``heartbeatTimeout`` seconds old.

    ``maxEvents`` bounds each job's events (``remotetask.core.events``).
    ``timeout`` bounds a call (see ``PostgreSQLConnections``).
    """

    queries = QUERIES
    maxEvents = events.MAX_EVENTS

    def __init__(self, dsn, serverId=None, heartbeatTimeout=30.0,
                 timeout=TIMEOUT):
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            # Its message may quote the string, password and all.
            raise ValueError('Not a valid PostgreSQL connection string or '
                             'URL.') from None
        self.serverId = serverId or defaultServerId()
        self.heartbeatTimeout = heartbeatTimeout
        self.where = describe(params)
        self.timeout = timeout
        self.outage = OutageLog(self.where)
        self.connections = PostgreSQLConnections(
            params, self.where, self.serverId, QUERIES, self.outage, timeout)
        self.shared = SharedServers(self.connections, self.serverId,
                                    heartbeatTimeout)
        self.listener = NotificationListener(self.connections.connect,
                                             self.where, QUERIES)
        self.waiting = WaitingJobs(self._withSteps, self.afterCommit,
                                   lambda: self.serverId)
        self.apiTokens = SQLApiTokens(self.connections.read,
                                      self.connections.write)
        self.calls = CallsAndCounters(self.connections)
        self._run = self.connections.run
        self._one = self.connections.one
        self._all = self.connections.read
        self._count = self.connections.change
        self._run(lambda connection: migrate(connection, QUERIES,
                                             MIGRATIONS))
        self.connections.watch()

    def __repr__(self):
        return f'<{type(self).__name__} {self.where} as {self.serverId!r}>'

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

    # ISharedJobStore: the servers sharing the database.

    def servers(self):
        return self.shared.servers()

    def heartbeat(self, now):
        self.shared.heartbeat(now)

    def announce(self, tasks, limited, now):
        self.shared.announce(tasks, limited, now)

    def withdraw(self):
        self.shared.withdraw()

    def servedTasks(self, now):
        return self.shared.servedTasks(now)

    def lastServedTasks(self):
        return self.shared.lastServedTasks()

    def recoverLost(self, now, timeout):
        return self.shared.recoverLost(now, timeout, self.maxEvents)

    def listen(self, callback, finished=None):
        return self.listener.listen(callback, finished)

    @property
    def schemaVersion(self):
        return self._one('schema_version')['version']

    def add(self, task, input, status, schedule, now, priority=0, key=None,
            due=None, maxAttempts=None, notify=None, event=None, owner=None):
        entry = Entry(task, input, status, schedule, priority, key, due,
                      maxAttempts, notify, owner)
        return self._run(lambda connection: self._insert(connection, entry,
                                                         now, event))

    def addMany(self, entries, now, event=None):
        entries = [Entry(*entry) for entry in entries]
        if any(entry.key is not None for entry in entries):
            return self._run(lambda connection: [
                self._insert(connection, entry, now, event)
                for entry in entries])
        return self._run(lambda connection: insertJobs(
            connection, QUERIES, entries, now, event, self.maxEvents))

    def _insert(self, connection, entry, now, event):
        return insertJob(connection, QUERIES, entry, now, event,
                         self.maxEvents)

    def get(self, jobid):
        row = self._one('get_job', id=jobid) if _isJobId(jobid) else None
        if row is None:
            raise NoSuchJob.withId(jobid)
        return row

    def statuses(self, ids):
        ids = [i for i in ids if _isJobId(i) and MIN_INT <= i <= MAX_INT]
        return {row['id']: row['status']
                for row in self._all('get_statuses', ids=ids)} if ids else {}

    def ids(self, after=0, limit=None):
        return [row['id'] for row in
                self._all('job_ids', after=after, limit=limit)]

    def count(self):
        return self._one('count_jobs')['count']

    def find(self, status=None, task=None, after=None, limit=100,
             owner=None):
        return self._all(
            paging.throughIndex('find', status, task, owner), owner=owner,
            status=None if status is None else str(status), task=task,
            after=0 if after is None else after, limit=limit)

    def transition(self, jobid, fromStatuses, toStatus, now=None,
                   event=None):
        if not _isJobId(jobid):
            raise NoSuchJob.withId(jobid)

        def transition(connection):
            changed = transitionJob(connection, QUERIES, dict(
                id=jobid, to=str(toStatus), now=now, event=event,
                keep=self.maxEvents,
                allowed=[str(s) for s in fromStatuses]), toStatus)
            if changed and toStatus in FINISHED:
                self.waiting.ended(self._steps(connection),
                                   [(jobid, toStatus)], now)
            return changed
        return self._run(transition)

    def scheduleFirstRuns(self, now, firstDue):
        return self._run(lambda connection: scheduleFirstRuns(
            connection, QUERIES, now, firstDue))

    def claim(self, now, limit, token, nextDue, started=None,
              scheduled=True, tasks=None, limits=None, event=None):
        claimed = dict(now=now, token=token, started=started,
                       owner=self.serverId, claimed=now,
                       event=event if started is not None else None,
                       keep=self.maxEvents)
        return self._run(lambda connection: claimRuns(
            PostgreSQLClaim(connection, QUERIES, claimed), limit, nextDue,
            scheduled, tasks, limits, now))

    def markStarted(self, runs, now, event=None):
        if not runs:
            return 0
        ids, tokens = (list(column) for column in zip(*runs))
        return self._count('mark_started', ids=ids, tokens=tokens, now=now,
                           owner=self.serverId, event=event,
                           keep=self.maxEvents)

    def finish(self, jobid, token, status, output, error, traceback, now,
               due=None, attempt=None, event=None, progress=None,
               started=None, startEvent=None):
        return self.finishMany([(jobid, token, status, output, error,
                                 traceback, now, due, attempt, event,
                                 progress, started, startEvent)])[0]

    def finishMany(self, runs):
        # A run without a token (never claimed) is not recorded.
        runs = list(runs)
        claimed = [run for run in runs if run[1] is not None]
        if not claimed:
            return [False] * len(runs)

        def finish(connection):
            recorded = finishRuns(connection, QUERIES, claimed,
                                  self.maxEvents, self.serverId)
            self.waiting.ended(self._steps(connection), [
                (run[0], run[2]) for run, done in zip(claimed, recorded)
                if done], claimed[0][6])
            recorded = iter(recorded)
            return [run[1] is not None and next(recorded) for run in runs]
        return self._run(finish)

    def _steps(self, connection):
        return SQLWaitSteps(connection, QUERIES, self.maxEvents)

    def _withSteps(self, work):
        return self._run(lambda connection: work(self._steps(connection)))

    def dependencyStates(self, ids):
        return self.waiting.dependencyStates(ids)

    def wait(self, jobid, after, onFailure, passResults, now):
        return self.waiting.wait(jobid, after, onFailure, passResults, now)

    def watchWaits(self, callback):
        self.waiting.watchWaits(callback)

    def dependencies(self, jobid, limit=1000):
        return self._all('job_dependencies', id=jobid, limit=limit) \
            if _isJobId(jobid) else []

    def dependents(self, jobid, limit=1000):
        return self._all('job_dependents', id=jobid, limit=limit) \
            if _isJobId(jobid) else []

    def release(self, jobid, token, started=False, event=None):
        if token is None:
            return False
        return self._run(lambda connection: changeJobs(
            connection, QUERIES, 'release_job', dict(
                id=jobid, token=token, started=bool(started), event=event,
                keep=self.maxEvents))) == 1

    def releaseClaims(self, tokens):
        return self._run(lambda connection: changeJobs(
            connection, QUERIES, 'release_claims', dict(tokens=list(tokens))))

    def skipRuns(self, jobid, due, next, missed):
        return self._count('skip_runs', id=jobid, due=due, next=next,
                           missed=missed) == 1

    def hasDue(self, now):
        return self._one('has_due', now=now)['due']

    def requeue(self, statuses, toStatus, event=None, before=None):
        return self._count('requeue_own_claims', owner=self.serverId,
                           statuses=[str(s) for s in statuses],
                           to=str(toStatus), event=event,
                           keep=self.maxEvents, before=before)

    def setSchedule(self, jobid, schedule):
        if not _isJobId(jobid) or self._count(
                'set_schedule', id=jobid, schedule=schedule) == 0:
            raise NoSuchJob.withId(jobid)

    def purge(self, statuses, before, limit):
        return sum(self._count('purge_jobs', status=str(status),
                               before=before, limit=limit)
                   for status in statuses)

    def clean(self, statuses):
        return self._count('clean_jobs', statuses=[str(s) for s in statuses])

    # Looking: the dashboard and /metrics.

    def counts(self):
        return self._all('count_by_status_and_task')

    def oldestQueued(self, now):
        row = self._one('oldest_queued', now=now)
        return None if row is None else row['since']

    def newest(self, status=None, task=None, text=None, before=None,
               limit=50, scan=10000, owner=None):
        scan = paging.scanFor(status, task, text, limit, scan, owner)
        name = paging.throughIndex('newest', status, task, owner)
        rows = self._all(
            name, status=None if status is None else str(status), task=task,
            owner=owner,
            text=None if text is None else text.lower(),
            before=BEFORE_EVERY_ID if before is None else before, limit=limit,
            scan=scan)
        return paging.fromBoundedRows(rows, limit, scan)

    def _changeOne(self, name, refusal=None, **params):
        """Run the update ``name`` on one job (``changeJob``)."""
        if not _isJobId(params['id']):
            raise NoSuchJob.withId(params['id'])
        return self._run(lambda connection: changeJob(
            connection, QUERIES, name, params, refusal, wake=True))

    def retry(self, jobid, event=None):
        return self._changeOne('retry_job', keyFree(jobid, QUERIES),
                               id=jobid, event=event, keep=self.maxEvents)

    def runNow(self, jobid, now, event=None):
        return self._changeOne('run_now', id=jobid, now=now, event=event,
                               keep=self.maxEvents)

    # Progress, completion calls and the per-minute counters.

    def setProgress(self, reports):
        if not reports:
            return 0
        ids, tokens, texts = (list(column) for column in zip(*reports))
        return self._count('set_progress', ids=ids, tokens=tokens,
                           reports=texts)

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
        self.listener.stopAll()
        self.connections.close()
