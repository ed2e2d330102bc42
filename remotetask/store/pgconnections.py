"""A PostgreSQL connection per thread, and a transaction per store call.

Each thread of a ``PostgreSQLJobStore`` (the writer, the read pool, the
heartbeat) keeps one connection, set up in ``connect()``, which holds every
setting with the reason for it. A call is one transaction on it (as
twisted's ``adbapi.runInteraction``: a return commits, a raise rolls back),
or joins the one open on the thread (``Transactions``). How a
failure reads to the caller is decided here, in one place: refused by the
database (nothing written), unavailable (fault 6, nothing written), or
lost while committing (fault 10, outcome unknown); and an outage is
logged once (``OutageLog``), not by every caller.
"""

import contextlib
import os
import secrets
import socket
import threading

import psycopg
from psycopg.rows import dict_row
from twisted.logger import Logger

from remotetask.errors import StoreOutcomeUnknown, StoreUnavailable
from remotetask.store.nesting import Transactions
from remotetask.store.pgwatch import CallWatch


def reason(error):
    """libpq's message on one line."""
    return ' '.join(str(error).split())


def defaultServerId():
    """``host:pid:random``: unique to this process, readable in a listing."""
    return f'{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}'


def describe(params):
    """Where the store is, for messages: never the password."""
    host = params.get('host') or params.get('hostaddr') or 'localhost'
    port = params.get('port') or '5432'
    dbname = params.get('dbname') or params.get('user') or '(default)'
    return f'PostgreSQL database {dbname!r} on {host}:{port}'


class PostgreSQLConnections:
    """The connections of one ``PostgreSQLJobStore``: to the database
    ``params`` (the caller's connection parameters) described as
    ``where``, known there as ``serverId``, running its named ``queries``;
    each failure to reach it is told to ``outage`` (an ``OutageLog``).

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

    def __init__(self, params, where, serverId, queries, outage, timeout):
        self.params = params
        self.where = where
        self.serverId = serverId
        self.queries = queries
        self.outage = outage
        self.timeout = timeout
        self.transactions = Transactions(self._outermost)
        self._local = threading.local()
        # Every connection open, for close().
        self._connections = set()
        self._lock = threading.Lock()
        # None while migrating (see watch()).
        self._watch = None

    def watch(self):
        """From now on, cut a call with no answer at all after
        ``timeout`` + 5 seconds (``pgwatch``); not before: a migration may
        take long, and is not cut short."""
        self._watch = CallWatch(self.timeout + 5.0, self.where)

    def connect(self, autocommit=False):
        """A new connection, every setting made (with autocommit, for
        LISTEN)."""
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
            **{**defaults, **self.params})
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

    def connection(self):
        """This thread's connection, opened if need be."""
        connection = getattr(self._local, 'connection', None)
        if connection is None or connection.closed:
            connection = self.connect()
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
    def _outermost(self):
        """One transaction on this thread's connection (see
        ``Transactions``): a return commits, a raise rolls back (as
        twisted's ``adbapi.runInteraction``). The watch cuts a call that
        gets no answer at all; a failure to reach the database is the
        start of an outage, a commit its end (``OutageLog``)."""
        local = self._local
        kept = getattr(local, 'connection', None)
        reused = kept is not None and not kept.closed
        connection, committing = None, False
        watch = self._watch
        try:
            connection = self.connection()
            if watch is not None:
                watch.begin(connection)
            yield connection
            committing = True
            connection.commit()
        except psycopg.Error as error:
            lost = connection is None or connection.broken \
                or connection.closed
            self._abandon(connection)
            if not (lost or isinstance(error, psycopg.OperationalError)):
                # Refused by the database (a constraint, bad data):
                # nothing was written, and it is no outage.
                raise
            unavailable = self._unavailable(error, lost, committing, reused)
            if not unavailable.connectionLost:
                self.outage.failed(unavailable)
            raise unavailable from error
        except BaseException:
            self._abandon(connection)
            raise
        finally:
            # After the roll-back, which the watch guards as well.
            if watch is not None and connection is not None:
                watch.end(connection)
        self.outage.succeeded()

    def _unavailable(self, error, lost, committing, reused):
        """The error to raise for a failed transaction: whether anything
        may have been written, and whether trying again at once may work
        (a kept connection found dead, the server having restarted)."""
        if not lost:
            return StoreUnavailable(
                f'The job store ({self.where}) could not do that now: '
                f'{reason(error)}')
        if committing:
            return StoreOutcomeUnknown(
                f'Lost the job store ({self.where}) while committing; the '
                f'change may or may not have been saved: {reason(error)}')
        unavailable = StoreUnavailable(
            f'Cannot reach the job store ({self.where}): {reason(error)}')
        unavailable.connectionLost = reused
        return unavailable

    def run(self, work):
        """Return ``work(connection)``, run as one transaction (or as part
        of the one open on this thread).

        If the connection this thread kept is found dead (the server
        restarted) before COMMIT was sent, nothing was written: the call is
        tried once more on a fresh one. A fresh connection failing is not
        retried at once, nor is one lost during COMMIT (outcome unknown).
        """
        for attempt in (1, 2):
            try:
                with self.transactions.transaction() as connection:
                    return work(connection)
            except StoreUnavailable as error:
                if attempt == 2 or not error.connectionLost:
                    raise
                self.log.info('Lost the connection to {where} ({error}); '
                              'reconnecting', where=self.where, error=error)

    def one(self, name, /, **params):
        """The first row of the query ``name``, or None."""
        return self.run(lambda connection: connection.execute(
            self.queries[name], params).fetchone())

    def read(self, name, /, **params):
        """Every row of the query ``name``."""
        return self.run(lambda connection: connection.execute(
            self.queries[name], params).fetchall())

    #: The rows a statement gives: every call is one transaction, so a
    #: write runs as a read does.
    write = read

    def change(self, name, /, **params):
        """How many rows the statement ``name`` changed."""
        return self.run(lambda connection: connection.execute(
            self.queries[name], params).rowcount)

    def close(self):
        """Close every connection, and stop the watch."""
        with self._lock:
            connections, self._connections = self._connections, set()
        if self._watch is not None:
            self._watch.stop()
        for connection in connections:
            self._close(connection)
        self._local = threading.local()
        self.transactions.reset()
