"""The shared job store: PostgreSQL, for one or several servers.

The queries live in ``postgresql.sql``. Each thread gets its own
connection, and each method is one transaction on it (``pgconnections``,
where every connection setting lives, in ``connect()``). Claims use
``FOR UPDATE SKIP LOCKED`` so that servers sharing the database each take
a different job without waiting on one another.
"""

import os
import secrets
import socket

import psycopg
from psycopg.conninfo import conninfo_to_dict
from zope.interface import implementer

from remotetask.core import events
from remotetask.core.entries import Entry
from remotetask.errors import NoSuchJob, NotAllowed
from remotetask.core.status import FINISHED, QUEUED
from remotetask.interfaces import IJobStore, ISharedJobStore
from remotetask.store import paging
from remotetask.store.apitokens import SQLApiTokens
from remotetask.store.claiming import claimRuns
from remotetask.store.notifications import recordCall
from remotetask.store.outage import OutageLog
from remotetask.store.pgclaim import PostgreSQLClaim
from remotetask.store.pgconnections import PostgreSQLConnections
from remotetask.store.pglisten import NotificationListener
from remotetask.store.pgschema import migrate
from remotetask.store.pgservers import SharedServers
from remotetask.store.sqlfile import loadQueries, migrations
from remotetask.store.waiting import SQLWaitSteps, WaitingJobs

QUERIES = loadQueries('postgresql.sql')
MIGRATIONS = migrations(QUERIES)

#: The default of ``--store-timeout``: seconds a call may take.
TIMEOUT = 10.0


def defaultServerId():
    """``host:pid:random``: unique to this process, readable in a listing."""
    return f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}'


def _describe(params):
    """Where the store is, for messages: never the password."""
    host = params.get('host') or params.get('hostaddr') or 'localhost'
    port = params.get('port') or '5432'
    dbname = params.get('dbname') or params.get('user') or '(default)'
    return f'PostgreSQL database {dbname!r} on {host}:{port}'


def _isJobId(jobid):
    # A str or float would reach PostgreSQL as a DataError, not NoSuchJob.
    return isinstance(jobid, int) and not isinstance(jobid, bool)


def _finishParams(jobid, token, status, output, error, traceback, now,
                  due=None, attempt=None, event=None, progress=None,
                  started=None, startEvent=None, *, keep, server):
    """finish_job's parameters for one run (``IJobStore.finish``'s
    arguments, the last ones optional)."""
    return dict(id=jobid, token=token,
                status=None if status is None else str(status),
                output=output, error=error, traceback=traceback, now=now,
                due=due, attempt=attempt, event=event, keep=keep,
                progress=progress, started=started, startEvent=startEvent,
                server=server)


@implementer(IJobStore, ISharedJobStore)
class PostgreSQLJobStore:
    """Jobs in a PostgreSQL database; see ``IJobStore`` for the contract,
    and ``ISharedJobStore`` for what several servers sharing it add.

    ``dsn`` is a libpq connection string or URL; its parameters win over
    the defaults chosen in ``_connect()``. ``serverId`` names this server
    among those sharing the database (default ``host:pid:random``). Each
    claim records it as the job's ``owner``, and ``requeue()`` (a server's
    recovery at start) moves only the jobs this serverId claimed: one
    server restarting never takes another's running jobs. So a server gets
    its own leftovers back only if it keeps its serverId; otherwise
    ``recoverLost()``, run by any live server, returns a dead one's jobs.

    Beyond ``IJobStore`` (``ISharedJobStore``): ``listen()`` wakes a
    server when another one adds a job (``pglisten``); ``heartbeat()`` and
    ``recoverLost()`` find dead servers; ``announce()`` records the tasks
    this server serves, beside its heartbeat, and ``servedTasks()`` those
    of every server alive, that is one whose heartbeat is at most
    ``heartbeatTimeout`` seconds old (``pgservers``).

    ``maxEvents`` bounds each job's events (``remotetask.core.events``).

    ``timeout`` bounds a call: the server cancels a statement after that
    many seconds and gives up waiting for a lock after half of it; a
    connection attempt gives up after a quarter of it (at least 2 s); and
    a call with no answer at all (a stopped backend) is cut by the client
    after ``timeout`` + 5 seconds (``pgwatch``). Each fails with
    ``StoreUnavailable`` (fault 6), or ``StoreOutcomeUnknown`` (fault 10)
    if lost while committing. An outage is logged once when it begins and
    once when it ends (``outage``).
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
        self.where = _describe(params)
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
        self.apiTokens = SQLApiTokens(self.connections.all,
                                      self.connections.all)
        self._run = self.connections.run
        self._one = self.connections.one
        self._all = self.connections.all
        self._count = self.connections.count
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

    @property
    def tasks(self):
        """The tasks this server serves, as its heartbeats record them."""
        return self.shared.tasks

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
        columns = [list(column) for column in zip(*entries)] or [[]] * 10
        batch = dict(now=now, tasks=columns[0], inputs=columns[1],
                     statuses=[str(status) for status in columns[2]],
                     schedules=columns[3], priorities=columns[4],
                     dues=columns[6], maxattempts=columns[7],
                     notifies=columns[8], owners=columns[9], event=event,
                     keep=self.maxEvents)

        def insert(connection):
            ids = [row['id'] for row in
                   connection.execute(QUERIES['insert_jobs'], batch)]
            if ids:
                connection.execute(QUERIES['notify_jobs'])
            return sorted(ids)
        return self._run(insert)

    def _insert(self, connection, entry, now, event):
        """Insert ``entry`` with its first ``event``, or return the id of
        the unfinished job of its task that holds its key. Atomic between
        servers: the unique index makes a second insert wait for the first
        one's transaction, and find the key taken if it committed. The
        holder may finish between the two statements; then the insert is
        tried again."""
        params = dict(entry._asdict(), status=str(entry.status), now=now,
                      event=event, keep=self.maxEvents)
        while True:
            row = connection.execute(QUERIES['insert_job'],
                                     params).fetchone()
            if row is None:
                row = connection.execute(QUERIES['keyed_job'],
                                         params).fetchone()
            if row is not None:
                return row['id']

    def get(self, jobid):
        row = self._one('get_job', id=jobid) if _isJobId(jobid) else None
        if row is None:
            raise NoSuchJob.withId(jobid)
        return row

    def statuses(self, ids):
        ids = [i for i in ids if _isJobId(i) and -2 ** 31 <= i < 2 ** 31]
        return {row['id']: row['status']
                for row in self._all('get_statuses', ids=ids)} if ids else {}

    def ids(self, after=0, limit=None):
        return [row['id'] for row in
                self._all('job_ids', after=after, limit=limit)]

    def count(self):
        return self._one('count_jobs')['count']

    def find(self, status=None, task=None, after=None, limit=100,
             owner=None):
        after = 0 if after is None else after
        if owner is not None:
            return self._all('find_owned_jobs', owner=owner, task=task,
                             status=None if status is None else str(status),
                             after=after, limit=limit)
        if status is not None:
            return self._all('find_jobs_by_status', status=str(status),
                             task=task, after=after, limit=limit)
        if task is not None:
            return self._all('find_jobs_by_task', task=task, after=after,
                             limit=limit)
        return self._all('find_jobs', after=after, limit=limit)

    def transition(self, jobid, fromStatuses, toStatus, now=None,
                   event=None):
        if not _isJobId(jobid):
            raise NoSuchJob.withId(jobid)

        def transition(connection):
            changed = connection.execute(QUERIES['transition_job'], dict(
                id=jobid, to=str(toStatus), now=now, event=event,
                keep=self.maxEvents,
                allowed=[str(s) for s in fromStatuses])).fetchone()
            if changed is None:
                if connection.execute(QUERIES['job_exists'],
                                      dict(id=jobid)).fetchone() is None:
                    raise NoSuchJob.withId(jobid)
                return False
            if toStatus == QUEUED:
                connection.execute(QUERIES['notify_jobs'])
            elif toStatus in FINISHED:
                connection.execute(QUERIES['notify_finished'],
                                   dict(id=jobid, status=str(toStatus)))
                if changed['notify'] is not None:
                    connection.execute(QUERIES['notify_end'], dict(id=jobid))
                self.waiting.ended(self._steps(connection), [(jobid, toStatus)],
                            now)
            return True
        return self._run(transition)

    def scheduleFirstRuns(self, now, firstDue):
        def schedule(connection):
            rows = connection.execute(QUERIES['unscheduled_jobs']).fetchall()
            for row in rows:
                connection.execute(QUERIES['set_due'], dict(
                    id=row['id'], due=firstDue(row, now)))
            return len(rows)
        return self._run(schedule)

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
        # One round trip for the lot: executemany sends the statements in
        # pipeline mode, and the answers are read after. A run without a
        # token (never claimed) is not recorded.
        runs = list(runs)
        claimed = [run for run in runs if run[1] is not None]
        if not claimed:
            return [False] * len(runs)
        params = [_finishParams(*run, keep=self.maxEvents,
                                server=self.serverId) for run in claimed]

        def finish(connection):
            with connection.cursor() as cursor:
                cursor.executemany(QUERIES['finish_job'], params,
                                   returning=True)
                answers = [cursor.fetchone()]
                while cursor.nextset():
                    answers.append(cursor.fetchone())
                owed = [dict(id=run[0])
                        for run, answer in zip(claimed, answers)
                        if answer['finished'] and run[2] in FINISHED
                        and answer['notify'] is not None]
                if owed:
                    cursor.executemany(QUERIES['notify_end'], owed)
            self.waiting.ended(self._steps(connection), [
                (run[0], run[2]) for run, answer in zip(claimed, answers)
                if answer['finished']], claimed[0][6])
            finished = iter(bool(answer['finished']) for answer in answers)
            return [run[1] is not None and next(finished) for run in runs]
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

        def release(connection):
            released = connection.execute(QUERIES['release_job'], dict(
                id=jobid, token=token, started=bool(started), event=event,
                keep=self.maxEvents)).rowcount == 1
            if released:
                connection.execute(QUERIES['notify_jobs'])
            return released
        return self._run(release)

    def releaseClaims(self, tokens):
        def release(connection):
            released = connection.execute(QUERIES['release_claims'], dict(
                tokens=list(tokens))).rowcount
            if released:
                connection.execute(QUERIES['notify_jobs'])
            return released
        return self._run(release)

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
        name = ('newest_owned_jobs' if owner is not None else
                'newest_jobs_by_status' if status is not None else
                'newest_jobs_by_task' if task is not None else 'newest_jobs')
        rows = self._all(
            name, status=None if status is None else str(status), task=task,
            owner=owner,
            text=None if text is None else text.lower(),
            before=2 ** 31 if before is None else before, limit=limit,
            scan=scan)
        return paging.fromBoundedRows(rows, limit, scan)

    def _changeOne(self, name, notify, unless=None, **params):
        """Run the update ``name`` on one job; whether it changed it, or
        ``NoSuchJob`` if there is no such job. ``notify``: wake the
        servers' dispatchers when it did. ``unless(connection)``, when it
        did not, may raise the refusal that says why."""
        jobid = params['id']
        if not _isJobId(jobid):
            raise NoSuchJob.withId(jobid)

        def change(connection):
            if connection.execute(QUERIES[name], params).rowcount == 1:
                if notify:
                    connection.execute(QUERIES['notify_jobs'])
                return True
            if connection.execute(QUERIES['job_exists'],
                                  dict(id=jobid)).fetchone() is None:
                raise NoSuchJob.withId(jobid)
            if unless is not None:
                unless(connection)
            return False
        return self._run(change)

    def retry(self, jobid, event=None):
        def keyFree(connection):
            holder = connection.execute(QUERIES['key_holder'],
                                        dict(id=jobid)).fetchone()
            if holder is not None and holder['id'] != jobid:
                raise NotAllowed.keyHeld(jobid, holder['id'])
        return self._changeOne('retry_job', True, id=jobid, unless=keyFree,
                               event=event, keep=self.maxEvents)

    def runNow(self, jobid, now, event=None):
        return self._changeOne('run_now', True, id=jobid, now=now,
                               event=event, keep=self.maxEvents)

    # Progress, completion calls and the per-minute counters.

    def setProgress(self, reports):
        if not reports:
            return 0
        ids, tokens, texts = (list(column) for column in zip(*reports))
        return self._count('set_progress', ids=ids, tokens=tokens,
                           reports=texts)

    def claimNotifications(self, now, limit, token, lease):
        rows = self._all('claim_notifications', now=now, limit=limit,
                         token=token, lease=lease)
        return sorted(rows, key=lambda row: row['job'])

    def nextNotification(self):
        return self._one('next_notification')['due']

    def recordNotification(self, jobid, token, due, event):
        return self._run(lambda connection: recordCall(
            connection, QUERIES, jobid, token, due, event, self.maxEvents))

    def countRuns(self, minute, server, finished, failed):
        self._count('count_runs', minute=minute, server=server,
                    finished=finished, failed=failed)

    def sampleQueue(self, minute, server):
        self._count('sample_queue', minute=minute, server=server)

    def minutes(self, since):
        return self._all('minutes_since', since=since)

    def purgeMinutes(self, before):
        return self._count('purge_minutes', before=before)

    def close(self):
        self.listener.stopAll()
        self.connections.close()
