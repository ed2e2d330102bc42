"""The shared job store: PostgreSQL, for one or several servers.

Every setting lives in ``_connect()``. The queries live in
``postgresql.sql``. Each thread gets its own connection, and each method is
one transaction on it: a return commits, a raise rolls back (as in
twisted's ``adbapi.runInteraction``). Claims use ``FOR UPDATE SKIP LOCKED``
so that servers sharing the database each take a different job without
waiting on one another.
"""

import contextlib
import os
import secrets
import socket
import threading

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from twisted.logger import Logger
from zope.interface import implementer

from remotetask.errors import (
    NoSuchJob, StoreOutcomeUnknown, StoreUnavailable)
from remotetask.core.status import FINISHED, QUEUED
from remotetask.interfaces import IJobStore
from remotetask.store import paging
from remotetask.store.outage import OutageLog
from remotetask.store.pglisten import NotificationListener, reason as _reason
from remotetask.store.pgwatch import CallWatch
from remotetask.store.sqlfile import loadQueries, migrations

QUERIES = loadQueries('postgresql.sql')
MIGRATIONS = migrations(QUERIES)

#: The default of ``--store-timeout``: seconds a call may take.
TIMEOUT = 10.0

#: The order claimed rows are handed out in (RETURNING has none of its
#: own): delayed jobs by due time, queued ones by id, as the queries chose.
_CLAIM_ORDER = {'claim_delayed_jobs': lambda row: (row['due'], row['id']),
                'claim_queued_jobs': lambda row: row['id']}


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


@implementer(IJobStore)
class PostgreSQLJobStore(NotificationListener):
    """Jobs in a PostgreSQL database; see ``IJobStore`` for the contract.

    ``dsn`` is a libpq connection string or URL; its parameters win over
    the defaults chosen in ``_connect()``. ``serverId`` names this server
    among those sharing the database (default ``host:pid:random``). Each
    claim records it as the job's ``owner``, and ``requeue()`` (a server's
    recovery at start) moves only the jobs this serverId claimed: one
    server restarting never takes another's running jobs. So a server gets
    its own leftovers back only if it keeps its serverId; otherwise
    ``recoverLost()``, run by any live server, returns a dead one's jobs.

    Beyond ``IJobStore``: ``listen()`` wakes a server when another one adds
    a job; ``heartbeat()`` and ``recoverLost()`` find dead servers.

    ``timeout`` bounds a call: the server cancels a statement after that
    many seconds and gives up waiting for a lock after half of it; a
    connection attempt gives up after a quarter of it (at least 2 s); and
    a call with no answer at all (a stopped backend) is cut by the client
    after ``timeout`` + 5 seconds (``pgwatch``). Each fails with
    ``StoreUnavailable`` (fault 6), or ``StoreOutcomeUnknown`` (fault 10)
    if lost while committing. An outage is logged once when it begins and
    once when it ends (``outage``).
    """

    log = Logger()

    def __init__(self, dsn, serverId=None, timeout=TIMEOUT):
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            # Its message may quote the string, password and all.
            raise ValueError('Not a valid PostgreSQL connection string or '
                             'URL.') from None
        self.serverId = serverId or defaultServerId()
        self.where = _describe(params)
        self.timeout = timeout
        self.outage = OutageLog(self.where)
        self._params = params
        self._local = threading.local()
        self._connections = set()
        self._listeners = set()
        self._lock = threading.Lock()
        self._watch = None
        self._migrate()
        # Only now: a migration may take long, and is not cut short.
        self._watch = CallWatch(timeout + 5.0, self.where)

    def __repr__(self):
        return f'<{type(self).__name__} {self.where} as {self.serverId!r}>'

    def _connect(self, autocommit=False):
        defaults = dict(
            # A server that is down, or does not answer, must not hang a
            # thread for the operating system's TCP timeout (minutes):
            # fault 6 within seconds instead. A healthy server connects in
            # milliseconds (libpq wants whole seconds, at least 2).
            connect_timeout=max(2, round(self.timeout / 4)),
            # Notice a database host that vanished (no reset sent) within
            # about a minute instead of two hours, so it can be replaced.
            keepalives=1, keepalives_idle=30, keepalives_interval=10,
            keepalives_count=3,
            # pg_stat_activity then shows which server holds a connection.
            application_name=f'remotetask {self.serverId}'[:63])
        connection = psycopg.connect(
            # Each method is one transaction, committed by _run(); the
            # listener alone runs in autocommit, as LISTEN requires.
            autocommit=autocommit,
            # Rows as dicts with the column names, as IJobStore returns.
            row_factory=dict_row,
            **{**defaults, **self._params})
        try:
            # Acknowledged means durable: a database or role configured
            # with synchronous_commit = off could lose the last commits in a
            # crash. Stronger settings (remote_write, remote_apply) stay.
            connection.execute(
                "SELECT set_config('synchronous_commit', 'on', false) "
                "WHERE current_setting('synchronous_commit') = 'off'")
            # Every method ends its transaction at once; one left open
            # longer is a stuck thread holding row locks, and is ended.
            connection.execute(
                "SET idle_in_transaction_session_timeout = '60s'")
            # A statement that runs past the store's timeout (a table
            # locked by hand, a runaway query) is cancelled: the call
            # fails with fault 6 within seconds rather than hang its
            # thread, and with it every client queued behind it. Waiting
            # for a lock gives up sooner, saying so.
            connection.execute(
                "SELECT set_config('statement_timeout', %s, false), "
                "set_config('lock_timeout', %s, false)",
                (f'{int(self.timeout * 1000)}ms',
                 f'{int(self.timeout * 500)}ms'))
            if not autocommit:
                connection.commit()
        except BaseException:
            connection.close()
            raise
        return connection

    def _connection(self):
        connection = getattr(self._local, 'connection', None)
        if connection is None or connection.closed:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._connections.add(connection)
        return connection

    def _discard(self, connection):
        self._local.connection = None
        with self._lock:
            self._connections.discard(connection)
        self._close(connection)

    def _close(self, connection):
        # Under the watch's lock: it may be shutting down this socket.
        watch = self._watch
        if watch is None:
            connection.close()
            return
        with watch.lock:
            connection.close()

    def _abandon(self, connection):
        """Roll back a failed transaction; drop a connection that is lost."""
        if connection is not None:
            try:
                if not connection.broken:
                    return connection.rollback()
            except psycopg.Error:
                pass
            self._discard(connection)

    @contextlib.contextmanager
    def transaction(self):
        """See ``IJobStore.transaction``: one transaction on this thread's
        connection, which the store's methods called inside it join; a
        return commits, a raise rolls back (as twisted's
        ``adbapi.runInteraction``)."""
        local = self._local
        if getattr(local, 'depth', 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        kept = getattr(local, 'connection', None)
        reused = kept is not None and not kept.closed
        connection, committing = None, False
        watch = self._watch
        local.after = []
        try:
            try:
                connection = local.txConnection = self._connection()
                if watch is not None:
                    watch.begin(connection)
                local.depth = 1
                try:
                    yield
                finally:
                    local.depth = 0
                committing = True
                connection.commit()
            except psycopg.Error as error:
                lost = connection is None or connection.broken \
                    or connection.closed
                if not (lost or isinstance(error, psycopg.OperationalError)):
                    # Refused by the database (a constraint, bad data):
                    # nothing was written, and it is no outage.
                    self._abandon(connection)
                    raise
                self._abandon(connection)
                unavailable = self._unavailable(error, lost, committing,
                                                reused)
                if not unavailable.connectionLost:
                    self.outage.failed(unavailable)
                raise unavailable from error
            except BaseException:
                self._abandon(connection)
                raise
            finally:
                if watch is not None and connection is not None:
                    watch.end(connection)
        except BaseException:
            local.after = []
            raise
        self.outage.succeeded()
        after, local.after = local.after, []
        for callback in after:
            callback()

    def afterCommit(self, callback):
        """See ``IJobStore.afterCommit``."""
        if getattr(self._local, 'depth', 0):
            self._local.after.append(callback)
        else:
            callback()

    def _unavailable(self, error, lost, committing, reused):
        """The error to raise for a failed transaction: whether anything
        may have been written, and whether trying again at once may work
        (a kept connection found dead, the server having restarted)."""
        if not lost:
            return StoreUnavailable(
                f'The job store ({self.where}) could not do that now: '
                f'{_reason(error)}')
        if committing:
            return StoreOutcomeUnknown(
                f'Lost the job store ({self.where}) while committing; the '
                f'change may or may not have been saved: {_reason(error)}')
        unavailable = StoreUnavailable(
            f'Cannot reach the job store ({self.where}): {_reason(error)}')
        unavailable.connectionLost = reused
        return unavailable

    def _run(self, work):
        """Return ``work(connection)``, run as one transaction (or as part
        of the one open on this thread).

        If the connection this thread kept is found dead (the server
        restarted) before COMMIT was sent, nothing was written: the call is
        tried once more on a fresh one. A fresh connection failing is not
        retried at once, nor is one lost during COMMIT (outcome unknown).
        """
        for attempt in (1, 2):
            try:
                with self.transaction():
                    return work(self._local.txConnection)
            except StoreUnavailable as error:
                if attempt == 2 or not error.connectionLost:
                    raise
                self.log.info('Lost the connection to {where} ({error}); '
                              'reconnecting', where=self.where, error=error)

    def _one(self, name, **params):
        return self._run(lambda connection: connection.execute(
            QUERIES[name], params).fetchone())

    def _all(self, name, **params):
        return self._run(lambda connection: connection.execute(
            QUERIES[name], params).fetchall())

    def _count(self, name, **params):
        return self._run(lambda connection: connection.execute(
            QUERIES[name], params).rowcount)

    def _migrate(self):
        def migrate(connection):
            # A migration may rebuild a large table, and wait for another
            # server's: not bounded by the store's timeout.
            connection.execute("SET LOCAL statement_timeout = 0")
            connection.execute("SET LOCAL lock_timeout = 0")
            connection.execute(QUERIES['lock_schema'])
            connection.execute(QUERIES['create_schema_table'])
            version = connection.execute(
                QUERIES['schema_version']).fetchone()['version']
            for number, script in MIGRATIONS:
                if number > version:
                    connection.execute(script)
                    connection.execute(QUERIES['record_migration'],
                                       dict(version=number))
        self._run(migrate)

    @property
    def schemaVersion(self):
        return self._one('schema_version')['version']

    def add(self, task, input, status, schedule, now):
        return self._one('insert_job', task=task, status=str(status),
                         input=input, schedule=schedule, now=now)['id']

    def addMany(self, entries, now):
        tasks, inputs, statuses, schedules = (
            [list(column) for column in zip(*entries)] or [[], [], [], []])
        batch = dict(now=now, tasks=tasks, inputs=inputs, schedules=schedules,
                     statuses=[str(status) for status in statuses])

        def insert(connection):
            ids = [row['id'] for row in
                   connection.execute(QUERIES['insert_jobs'], batch)]
            if ids:
                connection.execute(QUERIES['notify_jobs'])
            return sorted(ids)
        return self._run(insert)

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

    def find(self, status=None, task=None, after=None, limit=100):
        after = 0 if after is None else after
        if status is not None:
            return self._all('find_jobs_by_status', status=str(status),
                             task=task, after=after, limit=limit)
        if task is not None:
            return self._all('find_jobs_by_task', task=task, after=after,
                             limit=limit)
        return self._all('find_jobs', after=after, limit=limit)

    def transition(self, jobid, fromStatuses, toStatus):
        if not _isJobId(jobid):
            raise NoSuchJob.withId(jobid)

        def transition(connection):
            changed = connection.execute(QUERIES['transition_job'], dict(
                id=jobid, to=str(toStatus),
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
              scheduled=True):
        claimed = dict(now=now, token=token, started=started,
                       owner=self.serverId, claimed=now)

        def claim(connection):
            rows = []
            while scheduled and len(rows) < limit:
                row = connection.execute(QUERIES['due_cron_job'],
                                         dict(now=now)).fetchone()
                if row is None:
                    break
                row = connection.execute(QUERIES['claim_cron_job'], dict(
                    claimed, id=row['id'], due=row['due'],
                    next=nextDue(row, now))).fetchone()
                if row is not None:
                    rows.append(row)
            names = (['claim_delayed_jobs'] if scheduled else []) + [
                'claim_queued_jobs']
            for name in names:
                if len(rows) < limit:
                    found = connection.execute(QUERIES[name], dict(
                        claimed, limit=limit - len(rows))).fetchall()
                    rows += sorted(found, key=_CLAIM_ORDER[name])
            return rows
        return self._run(claim)

    def markStarted(self, runs, now):
        if not runs:
            return 0
        ids, tokens = (list(column) for column in zip(*runs))
        return self._count('mark_started', ids=ids, tokens=tokens, now=now)

    def finish(self, jobid, token, status, output, error, traceback, now,
               due=None, attempt=None):
        if token is None:
            return False

        def finish(connection):
            finished = connection.execute(QUERIES['finish_job'], dict(
                id=jobid, token=token,
                status=None if status is None else str(status),
                output=output, error=error, traceback=traceback, now=now,
                due=due, attempt=attempt)).rowcount == 1
            if finished and status in FINISHED:
                connection.execute(QUERIES['notify_finished'],
                                   dict(id=jobid, status=str(status)))
            return finished
        return self._run(finish)

    def release(self, jobid, token, started=False):
        if token is None:
            return False

        def release(connection):
            released = connection.execute(QUERIES['release_job'], dict(
                id=jobid, token=token, started=bool(started))).rowcount == 1
            if released:
                connection.execute(QUERIES['notify_jobs'])
            return released
        return self._run(release)

    def skipRuns(self, jobid, due, next, missed):
        return self._count('skip_runs', id=jobid, due=due, next=next,
                           missed=missed) == 1

    def hasDue(self, now):
        return self._one('has_due', now=now)['due']

    def requeue(self, statuses, toStatus):
        return self._count('requeue_own_claims', owner=self.serverId,
                           statuses=[str(s) for s in statuses],
                           to=str(toStatus))

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
               limit=50, scan=10000):
        scan = paging.scanFor(status, task, text, limit, scan)
        name = ('newest_jobs_by_status' if status is not None else
                'newest_jobs_by_task' if task is not None else 'newest_jobs')
        rows = self._all(
            name, status=None if status is None else str(status), task=task,
            text=None if text is None else text.lower(),
            before=2 ** 31 if before is None else before, limit=limit,
            scan=scan)
        return paging.fromBoundedRows(rows, limit, scan)

    def _changeOne(self, name, notify, **params):
        """Run the update ``name`` on one job; whether it changed it, or
        ``NoSuchJob`` if there is no such job. ``notify``: wake the
        servers' dispatchers when it did."""
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
            return False
        return self._run(change)

    def retry(self, jobid):
        return self._changeOne('retry_job', True, id=jobid)

    def runNow(self, jobid, now):
        return self._changeOne('run_now', True, id=jobid, now=now)

    # Beyond IJobStore: several servers on one database.

    def servers(self):
        """Return ``[{id, heartbeat, running}]``: the servers sharing the
        database, when each last heartbeated, and how many jobs each is
        running; for the dashboard's workers view."""
        return self._all('list_servers')

    def heartbeat(self, now):
        """Record that this server (``serverId``) is alive at ``now``."""
        self._count('heartbeat', id=self.serverId, now=now)

    def recoverLost(self, now, timeout):
        """Put back in the queue the jobs held by servers that have not
        heartbeated for ``timeout`` seconds; return their ids, ascending.

        A job that started less than ``timeout`` ago is left alone even if
        its server never heartbeated, so a server that heartbeats at least
        every ``timeout`` seconds, from its start, keeps its jobs. The lost
        servers' heartbeat rows are forgotten.
        """
        cutoff = now - timeout

        def recover(connection):
            ids = sorted(row['id'] for row in connection.execute(
                QUERIES['requeue_lost_claims'], dict(cutoff=cutoff)))
            connection.execute(QUERIES['forget_lost_servers'],
                               dict(cutoff=cutoff))
            if ids:
                connection.execute(QUERIES['notify_jobs'])
            return ids
        return self._run(recover)

    def close(self):
        with self._lock:
            listeners, self._listeners = self._listeners, set()
            connections, self._connections = self._connections, set()
        for stop in listeners:
            stop()
        if self._watch is not None:
            self._watch.stop()
        for connection in connections:
            self._close(connection)
        self._local = threading.local()
