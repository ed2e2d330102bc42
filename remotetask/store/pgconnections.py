"""A PostgreSQL connection per thread, and a transaction per store call.

Each thread of a ``PostgreSQLJobStore`` (the writer, the read pool, the
heartbeat) keeps one connection, set up in ``_connect()``, which holds every
setting with the reason for it. A call is one transaction on it (as
twisted's ``adbapi.runInteraction``: a return commits, a raise rolls back),
or joins the one open on the thread (``JoinedTransactions``). How a
failure reads to the caller is decided here, in one place: refused by the
database (nothing written), unavailable (fault 6, nothing written), or
lost while committing (fault 10, outcome unknown); and an outage is
logged once (``OutageLog``), not by every caller.
"""

import contextlib

import psycopg
from psycopg.rows import dict_row

from remotetask.errors import StoreOutcomeUnknown, StoreUnavailable
from remotetask.store.pglisten import reason as _reason


class ConnectionPerThread:
    """The connections of ``PostgreSQLJobStore``, which provides
    ``queries``, ``serverId``, ``timeout``, ``where``, ``log``, ``outage``
    (an ``OutageLog``), ``_params`` (the caller's connection parameters),
    ``_local`` (a ``threading.local``), ``_lock``, ``_connections`` (every
    connection open, for ``close``) and ``_watch`` (a ``CallWatch``, or
    None while migrating)."""

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
    def _outermost(self):
        """One transaction on this thread's connection (see
        ``JoinedTransactions``): a return commits, a raise rolls back (as
        twisted's ``adbapi.runInteraction``). The watch cuts a call that
        gets no answer at all; a failure to reach the database is the
        start of an outage, a commit its end (``OutageLog``)."""
        local = self._local
        kept = getattr(local, 'connection', None)
        reused = kept is not None and not kept.closed
        connection, committing = None, False
        watch = self._watch
        try:
            connection = local.txConnection = self._connection()
            if watch is not None:
                watch.begin(connection)
            yield
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
            self.queries[name], params).fetchone())

    def _all(self, name, **params):
        return self._run(lambda connection: connection.execute(
            self.queries[name], params).fetchall())

    def _count(self, name, **params):
        return self._run(lambda connection: connection.execute(
            self.queries[name], params).rowcount)
